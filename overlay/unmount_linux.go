package overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Unmount unmounts target with umount2(2). A target that is not mounted,
// or does not exist, is not an error. When the mount is busy (a process
// has its working directory or an open file in it), Unmount falls back to a
// lazy unmount (MNT_DETACH): the mount leaves the tree at once, but the
// file system, and its hold on the upper and work dirs, lasts until its
// last user is gone.
func Unmount(target string) error {
	flags := 0
	err := unix.Unmount(target, flags)
	if errors.Is(err, unix.EBUSY) {
		// Limitation: a lazy unmount hides the busy users; runc and
		// containerd kill them, or retry, before they unmount.
		flags = unix.MNT_DETACH
		err = unix.Unmount(target, flags)
	}

	// EINVAL: target is not a mount point; ENOENT: it does not exist.
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return &MountError{Op: "umount2", Target: target, Flags: uintptr(flags), Err: err}
}

// Mounted reports whether something is mounted at target, according to
// /proc/self/mountinfo. A target that does not exist is not mounted.
func Mounted(target string) (bool, error) {
	// The mount table holds absolute paths without symbolic links.
	abs, err := filepath.Abs(target)
	if err != nil {
		return false, fmt.Errorf("resolve mount point %q: %w", target, err)
	}
	path, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resolve mount point %q: %w", target, err)
	}

	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	return hasMountPoint(f, path)
}
