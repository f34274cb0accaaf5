package cgroups

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// v1Controllers are the names of the kernel's v1 controllers, as they
// appear among the super options of a v1 mount. Other options (rw, xattr,
// name=systemd, clone_children) are not controllers.
var v1Controllers = []string{
	"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
	"memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
}

// usedV1 are the v1 controllers skiff puts its groups under: memory, cpu
// and pids for limits, cpuacct for CPU time, freezer to freeze and kill,
// devices for the device rules.
//
// Limitation: runc joins every mounted hierarchy, cpuset and blkio too.
var usedV1 = []string{"memory", "cpu", "cpuacct", "pids", "freezer", "devices"}

// wantedV2 are the controllers skiff enables for its groups in the v2
// hierarchy, when the host offers them there.
var wantedV2 = []string{"cpu", "memory", "pids"}

// layout is where this host's hierarchies live.
type layout struct {
	mode Mode
	// v1 maps each v1 controller to the mount point of its hierarchy;
	// co-mounted controllers share one.
	v1 map[string]string
	// v2 is the mount point of the cgroup2 hierarchy, or "".
	v2 string
	// v2Controllers are the controllers enabled for skiff's groups in the
	// v2 hierarchy: those of wantedV2 that are not bound to v1.
	v2Controllers []string
	// programs, if its fields are set, replaces the bpf(2) calls that
	// query and attach the device program of a v2 group: tests on fake
	// hierarchies, plain directories, set it.
	programs programCalls
}

// readLayout reads the cgroup mounts from the mountinfo file at path and,
// if there is a v2 hierarchy, the controllers its root offers.
func readLayout(path string) (layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return layout{}, err
	}
	defer f.Close()

	mounts, err := parseMountinfo(f)
	if err != nil {
		return layout{}, fmt.Errorf("read %q: %w", path, err)
	}
	l, err := layoutOf(mounts)
	if err != nil {
		return layout{}, fmt.Errorf("read %q: %w", path, err)
	}

	// A controller is in one hierarchy only: those bound to v1 are never
	// listed here, so this is exactly what v2 can do for us.
	if l.v2 != "" {
		offered, err := readWords(filepath.Join(l.v2, "cgroup.controllers"))
		if err != nil {
			return layout{}, err
		}
		for _, c := range wantedV2 {
			if slices.Contains(offered, c) {
				l.v2Controllers = append(l.v2Controllers, c)
			}
		}
	}
	return l, nil
}

// layoutOf finds the hierarchies among mounts and names their layout. When
// a hierarchy is mounted twice, the first mount is used.
//
// Limitation: runc prefers the mount whose root holds its own group.
func layoutOf(mounts []mount) (layout, error) {
	l := layout{v1: map[string]string{}}
	for _, m := range mounts {
		if m.v2 {
			if l.v2 == "" {
				l.v2 = m.point
			}
			continue
		}
		for _, o := range m.options {
			_, seen := l.v1[o]
			if slices.Contains(v1Controllers, o) && !seen {
				l.v1[o] = m.point
			}
		}
	}

	// A v1 mount with no controller, such as systemd's name=systemd, only
	// labels processes: it does not make a host "v1".
	switch {
	case len(l.v1) == 0 && l.v2 == "":
		// `ip netns exec` is a common cause: it mounts a fresh /sys.
		return layout{}, fmt.Errorf("find cgroup hierarchies: no cgroup or cgroup2 "+
			"filesystem is mounted (is /sys/fs/cgroup mounted?): %w", fs.ErrNotExist)
	case len(l.v1) == 0:
		l.mode = Unified
	case l.v2 == "":
		l.mode = Legacy
	default:
		l.mode = Hybrid
	}
	return l, nil
}

// dirs returns where a group called name lives in this layout: one
// directory per v1 hierarchy skiff uses, then one in v2 if mounted. Every
// directory is relative to the root of its hierarchy, not to skiff's own
// group (see the package doc).
//
// Limitation: root only; rootless runtimes use a subtree systemd delegates.
func (l layout) dirs(name string) []dir {
	var ds []dir
	for _, c := range usedV1 {
		point, ok := l.v1[c]
		if !ok {
			continue
		}
		i := slices.IndexFunc(ds, func(d dir) bool { return d.mount == point })
		if i >= 0 {
			ds[i].controllers = append(ds[i].controllers, c)
			continue
		}
		ds = append(ds, dir{
			mount:       point,
			path:        filepath.Join(point, name),
			controllers: []string{c},
		})
	}
	if l.v2 != "" {
		ds = append(ds, dir{mount: l.v2, path: filepath.Join(l.v2, name), v2: true})
	}
	return ds
}

// dirsFor is dirs, trimmed to what a group with limits r needs. Where a
// v2 hierarchy exists, it alone lists, freezes and kills the group, so a
// v1 hierarchy is joined only for a limit that its controller enforces;
// the device rules are a program the v2 group inherits from its parent.
// Every v1 hierarchy joined costs a migration, and the first migration of
// a process waits for an RCU grace period (about 10 ms). Pure v1 hosts
// join every hierarchy, as they have nothing else to list, kill or hold
// device rules with.
func (l layout) dirsFor(name string, r Resources) []dir {
	all := l.dirs(name)
	if l.v2 == "" {
		return all
	}
	needed := map[string]bool{"memory": r.Memory > 0, "cpu": r.CPUQuota > 0, "pids": r.PidsMax > 0}
	return slices.DeleteFunc(all, func(d dir) bool {
		return !d.v2 && !slices.ContainsFunc(d.controllers, func(c string) bool { return needed[c] })
	})
}

// check fails with [ErrNoController] if a limit of r needs a controller
// that neither a v1 hierarchy nor the v2 one has for skiff's groups, or if
// there is no way to apply device rules: neither a v1 devices hierarchy
// nor a v2 one for the device program.
func (l layout) check(r Resources) error {
	need := []struct {
		ctrl string
		set  bool
	}{{"memory", r.Memory > 0}, {"cpu", r.CPUQuota > 0}, {"pids", r.PidsMax > 0}}

	for _, n := range need {
		_, v1 := l.v1[n.ctrl]
		if n.set && !v1 && !slices.Contains(l.v2Controllers, n.ctrl) {
			return fmt.Errorf("limit %s: %w", n.ctrl, ErrNoController)
		}
	}
	if _, v1 := l.v1["devices"]; !v1 && l.v2 == "" {
		return fmt.Errorf("allow devices: %w", ErrNoController)
	}
	return nil
}

// checkName accepts a group name that stays below the root of a
// hierarchy: relative, clean, without "..".
func checkName(name string) error {
	if name == "." || !filepath.IsLocal(name) || filepath.Clean(name) != name ||
		strings.HasPrefix(name, "cgroup.") {
		return fmt.Errorf("check cgroup name %q: %w", name, fs.ErrInvalid)
	}
	return nil
}
