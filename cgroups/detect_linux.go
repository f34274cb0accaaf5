package cgroups

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// mountinfoPath lists the mounts of the calling process's mount namespace.
const mountinfoPath = "/proc/self/mountinfo"

// Detect reports how this host lays out its cgroup hierarchies, from the
// cgroup and cgroup2 mounts in /proc/self/mountinfo, each confirmed with
// statfs(2). It fails with an error matching [io/fs.ErrNotExist] when no
// hierarchy is mounted.
func Detect() (Mode, error) {
	l, err := hostLayout()
	if err != nil {
		return 0, err
	}
	return l.mode, nil
}

// hostLayout reads and checks the layout of the calling process's mount
// namespace.
func hostLayout() (layout, error) {
	l, err := readLayout(mountinfoPath)
	if err != nil {
		return layout{}, err
	}
	if err := l.verify(); err != nil {
		return layout{}, err
	}
	return l, nil
}

// verify checks that each mount point still holds a cgroup file system,
// by the magic number statfs(2) reports. mountinfo lists every mount ever
// stacked on a path, but only the last one is seen through it.
func (l layout) verify() error {
	var points []string
	for _, p := range l.v1 {
		if !slices.Contains(points, p) {
			points = append(points, p)
		}
	}
	for _, p := range points {
		if err := checkMagic(p, unix.CGROUP_SUPER_MAGIC); err != nil {
			return err
		}
	}
	if l.v2 != "" {
		return checkMagic(l.v2, unix.CGROUP2_SUPER_MAGIC)
	}
	return nil
}

// checkMagic checks that the file system at path has the magic number
// want (see statfs(2)).
func checkMagic(path string, want int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	if int64(st.Type) != want {
		return fmt.Errorf("check cgroup mount %q: file system magic %#x, want %#x",
			path, st.Type, want)
	}
	return nil
}
