package tarball

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// The largest device numbers Linux encodes: 12 bits of major and 20 bits
// of minor (see MAJOR and MINOR in linux/kdev_t.h).
const (
	maxDevMajor = 1<<12 - 1
	maxDevMinor = 1<<20 - 1
)

// create makes e.base in parent with mk, which returns a bare errno. When
// the name is taken, what holds it is removed (with its content, for a
// directory) and mk runs once more: in a layer, the later entry wins.
func (a *rootedApplier) create(parent *dirHandle, e entry, op string, mk func() error) error {
	err := mk()
	if err == unix.EEXIST {
		if err := a.remove(parent, e); err != nil {
			return err
		}
		err = mk()
	}
	if err != nil {
		return &os.PathError{Op: op, Path: e.name, Err: err}
	}
	return nil
}

// remove deletes e.base from parent, recursively, so that e can take its
// place.
func (a *rootedApplier) remove(parent *dirHandle, e entry) error {
	a.trace("unlinkat", e.name, "recursive", true)
	a.invalidate()
	if err := removeAt(parent.fd, e.base, a.rootDev); err != nil {
		return fmt.Errorf("remove %q to replace it: %w", e.name, err)
	}
	return nil
}

// mkdir creates a directory.
func (a *rootedApplier) mkdir(parent *dirHandle, e entry) error {
	a.trace("mkdirat", e.name, "mode", octal(modeOf(e.hdr)))
	fresh := true
	err := unix.Mkdirat(parent.fd, e.base, 0o755)
	switch {
	case err == unix.EEXIST:
		fresh, err = a.keepOrReplaceDir(parent, e)
	case err != nil:
		err = &os.PathError{Op: "mkdirat", Path: e.name, Err: err}
	}
	if err != nil {
		return err
	}

	if err := a.chown(parent, e, fresh); err != nil {
		return err
	}
	if err := a.setXattrsAt(parent, e); err != nil {
		return err
	}
	return a.rememberDir(parent, e)
}

// keepOrReplaceDir handles a directory entry whose name is taken. A
// directory over a directory keeps the old one and its content, and takes
// the new owner and xattrs now and the new mode and times in finish;
// anything else is replaced. It reports whether the directory is new.
func (a *rootedApplier) keepOrReplaceDir(parent *dirHandle, e entry) (bool, error) {
	st, err := statAt(parent.fd, e.base)
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false, nil
	}

	if err := a.remove(parent, e); err != nil {
		return false, err
	}
	if err := unix.Mkdirat(parent.fd, e.base, 0o755); err != nil {
		return false, &os.PathError{Op: "mkdirat", Path: e.name, Err: err}
	}
	return true, nil
}

// rememberDir records a directory's mode and times for finish. Until then
// it keeps mode 0755, so that even without root its entries can be written.
func (a *rootedApplier) rememberDir(parent *dirHandle, e entry) error {
	st, err := statAt(parent.fd, e.base)
	if err != nil {
		return &os.PathError{Op: "fstatat", Path: e.name, Err: err}
	}
	d := dirMeta{name: e.name, ino: st.Ino, mode: modeOf(e.hdr), times: timesOf(e.hdr)}
	a.dirs = append(a.dirs, d)
	return nil
}

// createFile creates a regular file and writes its content.
func (a *rootedApplier) createFile(parent *dirHandle, e entry, data *content) (err error) {
	mode := modeOf(e.hdr)
	if a.debug {
		a.trace("openat", e.name, "size", e.hdr.Size, "mode", octal(mode))
	}

	// O_EXCL|O_NOFOLLOW: never write through something already there, be
	// it a symlink, a hard link to another file or a device.
	fd := -1
	err = a.create(parent, e, "openat", func() error {
		var err error
		flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
		fd, err = unix.Openat(parent.fd, e.base, flags, mode&0o777)
		return err
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := unix.Close(fd); cerr != nil && err == nil {
			err = &os.PathError{Op: "close", Path: e.name, Err: cerr}
		}
	}()

	if err := a.copyData(fd, e.name, data); err != nil {
		return err
	}
	if err := a.setFileMeta(fd, parent, e); err != nil {
		return err
	}

	ts := timesOf(e.hdr)
	if err := futimens(fd, &ts); err != nil {
		return &os.PathError{Op: "utimensat", Path: e.name, Err: err}
	}
	return nil
}

// copyData writes the file's content to fd, piece by piece, straight from
// the parser's buffers.
func (a *rootedApplier) copyData(fd int, name string, data *content) error {
	for {
		piece, err := data.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read content of %q: %w", name, err)
		}
		if err := writeAll(fd, piece); err != nil {
			return &os.PathError{Op: "write", Path: name, Err: err}
		}
	}
}

// setFileMeta gives the open, fresh file fd its owner, mode and xattrs.
// chown(2) clears the setuid and setgid bits and a write clears file
// capabilities (security.capability), hence this order, after the content.
func (a *rootedApplier) setFileMeta(fd int, parent *dirHandle, e entry) error {
	if a.needChown(parent, true, e.hdr) {
		a.trace("fchown", e.name, "uid", e.hdr.Uid, "gid", e.hdr.Gid)
		if err := unix.Fchown(fd, e.hdr.Uid, e.hdr.Gid); err != nil {
			return &os.PathError{Op: "fchown", Path: e.name, Err: err}
		}
	}

	if mode := modeOf(e.hdr); a.needChmod(parent, mode) {
		if err := unix.Fchmod(fd, mode); err != nil {
			return &os.PathError{Op: "fchmod", Path: e.name, Err: err}
		}
	}

	return a.setXattrs(e, func(attr string, value []byte) error {
		return unix.Fsetxattr(fd, attr, value, 0)
	})
}

// needChmod reports whether a file created in parent with mode&0777 needs
// fchmod(2) to get mode: when the umask or a default ACL took bits away,
// or for the setuid, setgid and sticky bits, which creation ignores.
func (a *rootedApplier) needChmod(parent *dirHandle, mode uint32) bool {
	return !a.umaskKnown || parent.defaultACL || mode&0o7000 != 0 || mode&a.umask != 0
}

// symlink creates a symbolic link. Its target is stored as it is: it is
// data, and every later lookup through it happens inside the root.
func (a *rootedApplier) symlink(parent *dirHandle, e entry) error {
	a.trace("symlinkat", e.name, "target", e.hdr.Linkname)
	err := a.create(parent, e, "symlinkat", func() error {
		return unix.Symlinkat(e.hdr.Linkname, parent.fd, e.base)
	})
	if err != nil {
		return err
	}

	if err := a.chown(parent, e, true); err != nil {
		return err
	}
	if err := a.setXattrsAt(parent, e); err != nil {
		return err
	}
	return a.setTimes(parent, e)
}

// link creates a hard link to a path that already exists in the layer.
// The target's directory is looked up inside the root like any other, and
// linkat(2) without AT_SYMLINK_FOLLOW links the target itself: a symlink
// gets a second name, never what it points to. The inode keeps the
// metadata of the entry that created it.
func (a *rootedApplier) link(parent *dirHandle, e entry) error {
	if e.linkname == e.name {
		return nil
	}

	targetDir, targetBase := path.Dir(e.linkname), path.Base(e.linkname)
	targetFD, err := openInRoot(a.root, targetDir)
	if err != nil {
		return fmt.Errorf("look up link target %q: %w", e.linkname, lookupError(targetDir, err))
	}
	defer unix.Close(targetFD)

	a.trace("linkat", e.name, "target", e.linkname)
	return a.create(parent, e, "linkat", func() error {
		return unix.Linkat(targetFD, targetBase, parent.fd, e.base, 0)
	})
}

// mknod creates a character or block device or a FIFO.
func (a *rootedApplier) mknod(parent *dirHandle, e entry) error {
	kind := uint32(unix.S_IFIFO)
	switch e.hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	}
	// Limitation: without root, device entries fail; rootless engines
	// skip them or bind-mount the host's device instead.
	if kind != unix.S_IFIFO && !a.privileged {
		return errNeedsRoot
	}
	major, minor := e.hdr.Devmajor, e.hdr.Devminor
	if major < 0 || major > maxDevMajor || minor < 0 || minor > maxDevMinor {
		return fmt.Errorf("device number %d:%d out of range", major, minor)
	}

	dev := int(unix.Mkdev(uint32(major), uint32(minor)))
	a.trace("mknodat", e.name, "type", string(e.hdr.Typeflag), "major", major, "minor", minor)
	err := a.create(parent, e, "mknodat", func() error {
		return unix.Mknodat(parent.fd, e.base, kind|0o600, dev)
	})
	if err != nil {
		return err
	}

	// Owner, then mode (chown(2) clears setuid and setgid), xattrs, times.
	if err := a.chown(parent, e, true); err != nil {
		return err
	}
	if err := chmodAt(parent.fd, e.base, modeOf(e.hdr)); err != nil {
		return &os.PathError{Op: "fchmodat", Path: e.name, Err: err}
	}
	if err := a.setXattrsAt(parent, e); err != nil {
		return err
	}
	return a.setTimes(parent, e)
}

// needChown reports whether an entry needs fchownat(2) to get hdr's owner.
// A fresh entry belongs to us, in the parent's group if that is set-group-ID.
func (a *rootedApplier) needChown(parent *dirHandle, fresh bool, hdr *tar.Header) bool {
	// Limitation: without root, every file belongs to whoever extracts;
	// rootless engines map the layer's IDs with a user namespace instead.
	if !a.privileged {
		return false
	}
	return !fresh || hdr.Uid != a.uid || hdr.Gid != parent.newGid
}

// chown gives e.base in parent the owner of e's header, if it needs one.
func (a *rootedApplier) chown(parent *dirHandle, e entry, fresh bool) error {
	if !a.needChown(parent, fresh, e.hdr) {
		return nil
	}
	a.trace("fchownat", e.name, "uid", e.hdr.Uid, "gid", e.hdr.Gid)
	err := unix.Fchownat(parent.fd, e.base, e.hdr.Uid, e.hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "fchownat", Path: e.name, Err: err}
	}
	return nil
}

// setTimes sets the access and modification times of e.base in parent.
func (a *rootedApplier) setTimes(parent *dirHandle, e entry) error {
	ts := timesOf(e.hdr)
	err := unix.UtimesNanoAt(parent.fd, e.base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: e.name, Err: err}
	}
	return nil
}

// setXattrsAt sets e's xattrs on e.base in parent, without following it.
func (a *rootedApplier) setXattrsAt(parent *dirHandle, e entry) error {
	if len(e.hdr.PAXRecords) == 0 {
		return nil
	}
	return a.setXattrs(e, func(attr string, value []byte) error {
		return setXattrAt(parent.fd, e.base, attr, value)
	})
}

// setXattrs sets the xattrs of e's PAX records with set. Overlayfs's own
// attributes are skipped: in a lowerdir they could redirect lookups or
// fake whiteouts and opaque directories.
func (a *rootedApplier) setXattrs(e entry, set func(attr string, value []byte) error) error {
	for key, value := range e.hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, xattrPrefix)
		if !ok {
			continue
		}
		if isOverlayXattr(attr) {
			a.log.Warn("skipping overlayfs xattr in layer", "path", e.name, "xattr", attr)
			continue
		}

		a.trace("setxattr", e.name, "xattr", attr)
		if err := set(attr, []byte(value)); err != nil {
			err = &os.PathError{Op: "setxattr", Path: e.name, Err: err}
			return a.xattrError(attr, err)
		}
	}
	return nil
}

// isOverlayXattr reports whether attr belongs to overlayfs itself.
func isOverlayXattr(attr string) bool {
	return strings.HasPrefix(attr, "trusted.overlay.") || strings.HasPrefix(attr, "user.overlay.")
}

// xattrError wraps a failed setxattr(2), saying when root would have helped.
func (a *rootedApplier) xattrError(attr string, err error) error {
	privileged := strings.HasPrefix(attr, "trusted.") || strings.HasPrefix(attr, "security.")
	if !a.privileged && privileged && errors.Is(err, unix.EPERM) {
		return fmt.Errorf("set xattr %q: trusted.* and security.* xattrs need root: %w", attr, err)
	}
	return fmt.Errorf("set xattr %q: %w", attr, err)
}
