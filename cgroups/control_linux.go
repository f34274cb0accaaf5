package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// How long Freeze, Thaw and Kill wait for the kernel to finish. Both take
// milliseconds unless a task is stuck in an uninterruptible sleep (state
// D), on a hung NFS server for instance.
const (
	freezeTimeout = 5 * time.Second
	killTimeout   = 5 * time.Second
)

// Freeze stops every process of the group where it stands, without a
// signal the processes could see, and returns once all have stopped. Use
// it to pause a container, or to take a consistent list of its processes.
func (c *Cgroup) Freeze() error {
	if err := c.setFrozen(true); err != nil {
		return fmt.Errorf("freeze cgroup %q: %w", c.name, err)
	}
	return nil
}

// Thaw lets the processes stopped by Freeze run again.
func (c *Cgroup) Thaw() error {
	if err := c.setFrozen(false); err != nil {
		return fmt.Errorf("thaw cgroup %q: %w", c.name, err)
	}
	return nil
}

// setFrozen freezes or thaws the group with v2's cgroup.freeze (Linux
// 5.2) if the group is in a v2 hierarchy, as on hybrid hosts, else with
// the v1 freezer controller.
func (c *Cgroup) setFrozen(frozen bool) error {
	if d, ok := c.unified(); ok && exists(filepath.Join(d.path, "cgroup.freeze")) {
		return c.freezeV2(d.path, frozen)
	}
	if d, ok := c.where("freezer"); ok {
		return c.freezeV1(d.path, frozen)
	}
	return ErrNoController
}

// freezeV2 writes 1 (freeze) or 0 (thaw) to cgroup.freeze. The write only
// starts the change; it is complete when cgroup.events says "frozen 1"
// (or 0), once every task has reached (or left) the freezer's trap.
func (c *Cgroup) freezeV2(path string, frozen bool) error {
	want := int64(0)
	if frozen {
		want = 1
	}
	v := strconv.FormatInt(want, 10)
	if err := write(c.log, filepath.Join(path, "cgroup.freeze"), v); err != nil {
		return err
	}

	events := filepath.Join(path, "cgroup.events")
	return poll(freezeTimeout, fmt.Sprintf("frozen %d in %s", want, events), func() (bool, error) {
		v, _, err := readKey(events, "frozen")
		return v == want, err
	})
}

// freezeV1 writes FROZEN or THAWED to freezer.state until it reads back
// the same. While some task has not stopped yet it reads FREEZING; each
// new write of FROZEN tries those tasks again.
func (c *Cgroup) freezeV1(path string, frozen bool) error {
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}

	state := filepath.Join(path, "freezer.state")
	return poll(freezeTimeout, want+" in "+state, func() (bool, error) {
		if err := write(c.log, state, want); err != nil {
			return false, err
		}
		got, err := readString(state)
		return got == want, err
	})
}

// Kill sends SIGKILL to every process of the group and waits until the
// group is empty, so that Delete can follow. A group already deleted has
// nothing left to kill: that is not an error.
//
// With cgroup.kill (v2, Linux 5.14; on hybrid hosts too), one write kills
// the whole group at once, processes forked during the write included.
// Without it, Kill repeats rounds of freeze, list, signal, thaw: frozen
// processes cannot fork, so no child escapes the list.
func (c *Cgroup) Kill() error {
	var err error
	if d, ok := c.unified(); ok && exists(filepath.Join(d.path, "cgroup.kill")) {
		err = c.killV2(d.path)
	} else {
		err = poll(killTimeout, "an empty group", c.killRound)
	}
	// ENODEV: the group was removed while we read it, by whoever reaped
	// its last process. Either way there is nothing left to kill.
	if errors.Is(err, unix.ENODEV) || errors.Is(err, fs.ErrNotExist) && c.gone() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill cgroup %q: %w", c.name, err)
	}
	return nil
}

// killV2 writes 1 to cgroup.kill, then waits for the processes to be gone:
// dying takes a moment (memory to free, files to close).
func (c *Cgroup) killV2(path string) error {
	if err := write(c.log, filepath.Join(path, "cgroup.kill"), "1"); err != nil {
		return err
	}
	return poll(killTimeout, "an empty group", c.empty)
}

// gone reports whether the group is in no hierarchy any more.
func (c *Cgroup) gone() bool {
	for _, d := range c.dirs {
		if _, err := os.Stat(d.path); !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// empty reports whether the group has no process left.
func (c *Cgroup) empty() (bool, error) {
	pids, err := c.Procs()
	return len(pids) == 0, err
}

// killRound is one round of freeze, list, signal, thaw. It reports true
// when the group had no process left to signal.
func (c *Cgroup) killRound() (done bool, err error) {
	// Without a freezer, a process forked during the round is caught by
	// the next one.
	err = c.setFrozen(true)
	switch {
	case err == nil:
		// A task frozen by the v1 freezer acts on SIGKILL only once thawed.
		defer func() { err = errors.Join(err, c.setFrozen(false)) }()
	case !errors.Is(err, ErrNoController):
		return false, err
	}

	pids, err := c.Procs()
	if err != nil {
		return false, err
	}
	for _, pid := range pids {
		// ESRCH: it has exited since the list was read.
		err := unix.Kill(pid, unix.SIGKILL)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return false, os.NewSyscallError("kill", err)
		}
	}
	return len(pids) == 0, nil
}

// Stats reads the group's counters: memory in use, tasks, CPU time.
func (c *Cgroup) Stats() (Stats, error) {
	var s Stats
	var err error
	if s.Memory, err = c.memory(); err != nil {
		return Stats{}, fmt.Errorf("read stats of cgroup %q: %w", c.name, err)
	}
	if s.Pids, err = c.pids(); err != nil {
		return Stats{}, fmt.Errorf("read stats of cgroup %q: %w", c.name, err)
	}
	if s.CPU, err = c.cpu(); err != nil {
		return Stats{}, fmt.Errorf("read stats of cgroup %q: %w", c.name, err)
	}
	return s, nil
}

// memory returns the bytes charged to the group, 0 without a memory
// controller.
func (c *Cgroup) memory() (int64, error) {
	d, ok := c.where("memory")
	switch {
	case !ok:
		return 0, nil
	case d.v2:
		return readInt(filepath.Join(d.path, "memory.current"))
	}
	return readInt(filepath.Join(d.path, "memory.usage_in_bytes"))
}

// pids returns the number of tasks in the group, 0 without a pids
// controller.
func (c *Cgroup) pids() (int64, error) {
	d, ok := c.where("pids")
	if !ok {
		return 0, nil
	}
	return readInt(filepath.Join(d.path, "pids.current"))
}

// cpu returns the CPU time used by the group: v1 cpuacct.usage counts
// nanoseconds; v2 cpu.stat counts microseconds and exists in every v2
// group, with or without the cpu controller.
func (c *Cgroup) cpu() (time.Duration, error) {
	if d, ok := c.where("cpuacct"); ok {
		ns, err := readInt(filepath.Join(d.path, "cpuacct.usage"))
		return time.Duration(ns), err
	}
	if d, ok := c.unified(); ok {
		us, _, err := readKey(filepath.Join(d.path, "cpu.stat"), "usage_usec")
		return time.Duration(us) * time.Microsecond, err
	}
	return 0, nil
}

// OOMKilled reports whether the kernel's OOM killer has killed a process
// of the group because the group reached its memory limit. It reads the
// oom_kill counter of v2 memory.events or v1 memory.oom_control (Linux
// 4.13 and later; earlier kernels report false). It fails with
// [ErrNoController] where no memory controller acts on the group.
func (c *Cgroup) OOMKilled() (bool, error) {
	d, ok := c.where("memory")
	if !ok {
		return false, fmt.Errorf("read OOM kills of cgroup %q: %w", c.name, ErrNoController)
	}

	file := "memory.oom_control"
	if d.v2 {
		file = "memory.events"
	}
	n, _, err := readKey(filepath.Join(d.path, file), "oom_kill")
	if err != nil {
		return false, fmt.Errorf("read OOM kills of cgroup %q: %w", c.name, err)
	}
	return n > 0, nil
}
