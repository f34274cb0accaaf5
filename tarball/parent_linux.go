package tarball

import (
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// parentDir returns the directory dir of the layer, open, creating it and
// any missing parents with mode 0755 as Docker does. The handle stays
// valid until the next call.
func (a *rootedApplier) parentDir(dir string) (*dirHandle, error) {
	return a.cachedDir(dir, true)
}

// lookupDir is parentDir without creating anything.
func (a *rootedApplier) lookupDir(dir string) (*dirHandle, error) {
	return a.cachedDir(dir, false)
}

// cachedDir serves dir from the cache or looks it up inside the root.
func (a *rootedApplier) cachedDir(dir string, create bool) (*dirHandle, error) {
	if a.parent.fd >= 0 && !a.parent.stale && a.parent.path == dir {
		return &a.parent, nil
	}
	a.dropParent()

	fd, owned := a.root, false
	if dir != "." {
		var err error
		fd, err = a.openDir(dir, create)
		if err != nil {
			return nil, err
		}
		owned = true
	}

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		if owned {
			unix.Close(fd)
		}
		return nil, &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	newGid := a.gid
	if st.Mode&unix.S_ISGID != 0 {
		newGid = int(st.Gid)
	}

	a.parent = dirHandle{
		path:       dir,
		fd:         fd,
		owned:      owned,
		newGid:     newGid,
		defaultACL: hasDefaultACL(fd),
	}
	return &a.parent, nil
}

// dropParent forgets the cached directory.
func (a *rootedApplier) dropParent() {
	if a.parent.owned {
		unix.Close(a.parent.fd)
	}
	a.parent = dirHandle{fd: -1}
}

// invalidate marks the cached directory stale after an entry removed a path
// or created a symlink. The entry in progress may go on using the handle;
// the next one looks its directory up again. With one directory cached
// this is caution rather than need (an entry only changes paths below its
// own directory), but it keeps a stale descriptor from ever being reused.
func (a *rootedApplier) invalidate() {
	a.parent.stale = true
}

// openDir opens dir inside the root, creating what is missing when asked.
func (a *rootedApplier) openDir(dir string, create bool) (int, error) {
	fd, err := openInRoot(a.root, dir)
	if err == nil {
		return fd, nil
	}
	if err != unix.ENOENT || !create {
		return -1, lookupError(dir, err)
	}
	return a.mkdirAll(dir)
}

// mkdirAll creates the missing directories of dir, one component at a time.
// Each component's parent is itself an openat2(2) result, so a symlink met
// on the way can only lead to another directory inside the root.
func (a *rootedApplier) mkdirAll(dir string) (int, error) {
	cur := a.root
	for end := 0; end < len(dir); {
		next := strings.IndexByte(dir[end+1:], '/')
		if next < 0 {
			end = len(dir)
		} else {
			end += 1 + next
		}
		prefix := dir[:end]

		fd, err := openInRoot(a.root, prefix)
		if err == unix.ENOENT {
			// Its parent is cur, resolved just before. EEXIST means a
			// dangling symlink, which the second lookup reports.
			base := prefix[strings.LastIndexByte(prefix, '/')+1:]
			a.trace("mkdirat", prefix, "mode", octal(0o755))
			if err := unix.Mkdirat(cur, base, 0o755); err != nil && err != unix.EEXIST {
				a.closeUnlessRoot(cur)
				return -1, &os.PathError{Op: "mkdirat", Path: prefix, Err: err}
			}
			fd, err = openInRoot(a.root, prefix)
		}
		a.closeUnlessRoot(cur)
		if err != nil {
			return -1, lookupError(prefix, err)
		}
		cur = fd
	}
	return cur, nil
}

// closeUnlessRoot closes fd unless it is the root's.
func (a *rootedApplier) closeUnlessRoot(fd int) {
	if fd != a.root {
		unix.Close(fd)
	}
}

// lookupError wraps a failed openat2(2) of a directory.
func lookupError(dir string, err error) error {
	if errors.Is(err, errNoOpenat2) {
		return err
	}
	return &os.PathError{Op: "openat2", Path: dir, Err: err}
}
