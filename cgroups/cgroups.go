package cgroups

import (
	"errors"
	"log/slog"
	"math"
	"time"
)

// ErrNoController means a limit or a statistic needs a controller that is
// not available to skiff's groups on this host: not mounted as a v1
// hierarchy, and not offered in the v2 hierarchy's cgroup.controllers.
var ErrNoController = errors.New("cgroup controller not available")

// Mode says how a host lays out its cgroup hierarchies.
type Mode int

// The three layouts found in the wild. The zero Mode means "unknown".
const (
	// Legacy is cgroup v1 only: one hierarchy per controller, or per group
	// of co-mounted controllers such as cpu,cpuacct.
	Legacy Mode = iota + 1
	// Hybrid has v1 hierarchies holding the controllers and a cgroup2
	// hierarchy (usually at /sys/fs/cgroup/unified) holding few or none.
	Hybrid
	// Unified is cgroup v2 only: a single hierarchy holding every
	// controller, usually mounted at /sys/fs/cgroup.
	Unified
)

// String returns "legacy", "hybrid" or "unified".
func (m Mode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	}
	return "unknown"
}

// Resources are the limits of one container. A zero field means "no
// limit" and leaves the kernel's default in place.
type Resources struct {
	// Memory is the most memory, in bytes, the group may use before the
	// kernel reclaims and, failing that, OOM-kills one of its processes.
	// Swap is not allowed on top of it.
	Memory int64
	// CPUQuota is the CPU time, in microseconds, the group may use in
	// every CPUPeriod. Quota 50000 in period 100000 is half a core.
	CPUQuota int64
	// CPUPeriod is the length of the accounting period in microseconds;
	// zero with a non-zero CPUQuota means the kernel default, 100000.
	CPUPeriod int64
	// PidsMax is the most tasks (processes and threads, zombies included)
	// the group may hold; fork(2) and clone(2) fail with EAGAIN beyond it.
	PidsMax int64
}

// defaultPeriod is the kernel's default CFS period: 100 ms.
const defaultPeriod = 100000

// CPUs converts Docker's --cpus value (a number of cores, possibly
// fractional) into a CFS quota and period in microseconds: 0.5 becomes
// 50000 in 100000. A value of zero or less means no limit and returns
// zeros. The kernel refuses quotas under 1000 µs, that is below 0.01 CPUs.
func CPUs(cpus float64) (quota, period int64) {
	if cpus <= 0 {
		return 0, 0
	}
	return int64(math.Round(cpus * defaultPeriod)), defaultPeriod
}

// Stats are a group's counters at one moment. A counter whose controller
// is not available reads zero.
type Stats struct {
	// Memory is the memory charged to the group now, in bytes: page cache
	// included (v1 memory.usage_in_bytes, v2 memory.current).
	Memory int64
	// Pids is the number of tasks in the group now (pids.current).
	Pids int64
	// CPU is the CPU time, user and system, the group's tasks have used
	// since it was created (v1 cpuacct.usage, v2 cpu.stat usage_usec).
	CPU time.Duration
}

// Cgroup is one container's control group: a directory of the same name
// in every hierarchy skiff uses on this host.
type Cgroup struct {
	name string
	mode Mode
	dirs []dir
	log  *slog.Logger
}

// dir is the group's directory in one hierarchy.
type dir struct {
	// mount is the hierarchy's mount point, path the group's directory.
	mount, path string
	// v2 is set for the directory in the cgroup2 hierarchy.
	v2 bool
	// controllers are the controllers that act on the group here: those
	// of the v1 hierarchy (cpu and cpuacct when co-mounted), or those
	// enabled for it in v2 (its cgroup.controllers).
	controllers []string
}

// Name returns the group's name, its path below the root of each
// hierarchy, such as "skiff/<container-id>".
func (c *Cgroup) Name() string { return c.name }

// Mode returns the layout of the hierarchies the group lives in.
func (c *Cgroup) Mode() Mode { return c.mode }

// Paths returns the group's directory in each hierarchy, v1 ones first.
func (c *Cgroup) Paths() []string {
	paths := make([]string, len(c.dirs))
	for i, d := range c.dirs {
		paths[i] = d.path
	}
	return paths
}
