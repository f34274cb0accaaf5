package cgroups

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// limit writes the non-zero limits of r, each in the hierarchy that holds
// its controller: a v1 one if the controller is bound to v1 (legacy and
// hybrid hosts), else the v2 one.
//
// Limitation: three limits; runc applies the whole OCI resources block
// (I/O, cpusets, shares, devices, hugetlb, ...).
func (c *Cgroup) limit(r Resources) error {
	if r.Memory > 0 {
		if err := c.limitMemory(r.Memory); err != nil {
			return fmt.Errorf("limit memory to %d bytes: %w", r.Memory, err)
		}
	}
	if r.CPUQuota > 0 {
		period := r.CPUPeriod
		if period == 0 {
			period = defaultPeriod
		}
		if err := c.limitCPU(r.CPUQuota, period); err != nil {
			return fmt.Errorf("limit cpu to %d/%d µs: %w", r.CPUQuota, period, err)
		}
	}
	if r.PidsMax > 0 {
		if err := c.limitPids(r.PidsMax); err != nil {
			return fmt.Errorf("limit pids to %d: %w", r.PidsMax, err)
		}
	}
	return nil
}

// limitMemory caps the group's memory at bytes, and memory plus swap at
// the same, so that the limit cannot be escaped by swapping out. The swap
// file exists only when the kernel accounts swap (CONFIG_MEMCG_SWAP, and
// on v1 the boot option swapaccount=1).
func (c *Cgroup) limitMemory(bytes int64) error {
	d, ok := c.where("memory")
	if !ok {
		return ErrNoController
	}
	v := strconv.FormatInt(bytes, 10)

	if d.v2 {
		// v2 counts swap apart from memory: memory.swap.max is swap alone.
		if err := write(c.log, filepath.Join(d.path, "memory.max"), v); err != nil {
			return err
		}
		return writeIfExists(c.log, filepath.Join(d.path, "memory.swap.max"), "0")
	}

	// v1 counts memory+swap together, and refuses a memsw limit below the
	// memory limit: set memory first.
	if err := write(c.log, filepath.Join(d.path, "memory.limit_in_bytes"), v); err != nil {
		return err
	}
	return writeIfExists(c.log, filepath.Join(d.path, "memory.memsw.limit_in_bytes"), v)
}

// limitCPU lets the group run quota µs of CPU time in every period µs,
// across all CPUs; once spent, its tasks are throttled until the next
// period (the CFS bandwidth controller).
func (c *Cgroup) limitCPU(quota, period int64) error {
	d, ok := c.where("cpu")
	if !ok {
		return ErrNoController
	}
	q, p := strconv.FormatInt(quota, 10), strconv.FormatInt(period, 10)

	if d.v2 {
		return write(c.log, filepath.Join(d.path, "cpu.max"), q+" "+p)
	}

	// The period first: a quota is checked against the current period.
	if err := write(c.log, filepath.Join(d.path, "cpu.cfs_period_us"), p); err != nil {
		return err
	}
	return write(c.log, filepath.Join(d.path, "cpu.cfs_quota_us"), q)
}

// limitPids caps the number of tasks in the group. The file has the same
// name and meaning in v1 and v2.
func (c *Cgroup) limitPids(n int64) error {
	d, ok := c.where("pids")
	if !ok {
		return ErrNoController
	}
	return write(c.log, filepath.Join(d.path, "pids.max"), strconv.FormatInt(n, 10))
}
