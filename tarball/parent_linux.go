package tarball

import (
	"container/list"
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// maxOpenDirs bounds the directories the applier keeps open: a few
// hundred descriptors, far below any limit on open files.
const maxOpenDirs = 512

// dirCache keeps the directories of recent entries open, the most recently
// used first. A layer lists a directory's entries close together, but not
// one after another: tar(1) descends into each subdirectory as it meets
// it, and comes back. Each lookup saved is an openat2(2), an fstat(2), a
// getxattr(2) and a close(2).
type dirCache struct {
	byPath map[string]*list.Element // of *dirHandle
	order  list.List                // most recently used in front
	// stale is set when an entry removed a path: a cached directory may
	// be gone from the tree, and another entry may be in its place.
	stale bool
}

// parentDir returns the directory dir of the layer, open, creating it and
// any missing parents with mode 0755 as Docker does. The handle stays
// valid until a later call.
func (a *rootedApplier) parentDir(dir string) (*dirHandle, error) {
	return a.cachedDir(dir, true)
}

// lookupDir is parentDir without creating anything.
func (a *rootedApplier) lookupDir(dir string) (*dirHandle, error) {
	return a.cachedDir(dir, false)
}

// cachedDir serves dir from the cache or looks it up inside the root.
func (a *rootedApplier) cachedDir(dir string, create bool) (*dirHandle, error) {
	c := &a.open
	if c.stale {
		a.closeDirs()
	}
	if el, ok := c.byPath[dir]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*dirHandle), nil
	}

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

	if c.order.Len() >= maxOpenDirs {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		h := oldest.Value.(*dirHandle)
		delete(c.byPath, h.path)
		h.close()
	}
	h := &dirHandle{
		path:       dir,
		fd:         fd,
		owned:      owned,
		newGid:     newGid,
		defaultACL: hasDefaultACL(fd),
	}
	if c.byPath == nil {
		c.byPath = map[string]*list.Element{}
	}
	c.byPath[dir] = c.order.PushFront(h)
	return h, nil
}

// close closes the handle's descriptor unless it is the root's.
func (h *dirHandle) close() {
	if h.owned {
		unix.Close(h.fd)
	}
}

// closeDirs forgets every cached directory.
func (a *rootedApplier) closeDirs() {
	c := &a.open
	for el := c.order.Front(); el != nil; el = el.Next() {
		el.Value.(*dirHandle).close()
	}
	c.order.Init()
	clear(c.byPath)
	c.stale = false
}

// invalidate empties the cache at the next lookup, after an entry removed
// a path: a cached descriptor still names the directory it was opened on,
// which may now be out of the tree, with something else in its place. The
// entry in progress may go on using its handle. Creating an entry, a
// symlink included, changes what no existing path leads to, and keeps the
// cache.
func (a *rootedApplier) invalidate() {
	a.open.stale = true
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
