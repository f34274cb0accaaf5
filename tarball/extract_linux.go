package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// errNeedsRoot explains why a device node cannot be made. Overlayfs
// whiteouts are character devices, so they need root too.
var errNeedsRoot = errors.New("needs root: mknod(2) of a device requires CAP_MKNOD")

// rootedApplier is the Linux [applier]. It holds the layer directory open
// and resolves every parent directory inside it with openat2(2), then acts
// on the entry's last path component with the *at system calls relative to
// that parent, so that no path string is ever followed from outside.
type rootedApplier struct {
	root    int    // the layer directory, O_RDONLY
	rootDev uint64 // its device: removal never crosses into another mount
	log     *slog.Logger
	debug   bool // whether log takes debug lines, checked once

	// Who we are. Only root changes owners; a fresh file that already has
	// the owner its header asks for needs no fchownat(2).
	privileged bool
	uid, gid   int

	// The umask, to tell when a new file already has its final mode; when
	// it is unknown, every file gets an fchmod(2).
	umask      uint32
	umaskKnown bool

	// open caches the directories of recent entries.
	open dirCache

	dirs []dirMeta // directory modes and times, applied by finish
}

// dirHandle is an open directory inside the layer.
type dirHandle struct {
	path  string // cleaned path inside the layer, "." for the root
	fd    int    // O_PATH descriptor, or the root's
	owned bool   // whether fd is closed with the handle (not the root's)

	// newGid is the group a new entry in this directory gets: the
	// directory's own when it is set-group-ID, the creator's otherwise.
	newGid int
	// defaultACL is set when the directory's default ACL, not the umask,
	// decides the mode of new entries.
	defaultACL bool
}

// dirMeta is what finish applies to a directory once all entries are in.
type dirMeta struct {
	name  string
	ino   uint64 // to notice that a later entry replaced the directory
	mode  uint32
	times [2]unix.Timespec
}

// newApplier opens dir and checks that openat2(2) works here.
func newApplier(dir string, log *slog.Logger) (applier, error) {
	root, err := openDirFD(dir)
	if err != nil {
		return nil, fmt.Errorf("open layer directory %q: %w", dir, err)
	}
	a := &rootedApplier{
		root:       root,
		log:        log,
		debug:      log.Enabled(context.Background(), slog.LevelDebug),
		privileged: os.Geteuid() == 0,
		uid:        os.Geteuid(),
		gid:        os.Getegid(),
	}
	a.umask, a.umaskKnown = readUmask()

	// Fail before reading any of the layer if the kernel lacks openat2.
	fd, err := openInRoot(root, ".")
	if err != nil {
		unix.Close(root)
		return nil, fmt.Errorf("open layer directory %q: %w", dir, err)
	}
	unix.Close(fd)

	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		unix.Close(root)
		err = os.NewSyscallError("fstat", err)
		return nil, fmt.Errorf("stat layer directory %q: %w", dir, err)
	}
	a.rootDev = st.Dev
	return a, nil
}

// close releases the cached directories and the root.
func (a *rootedApplier) close() error {
	a.closeDirs()
	if err := unix.Close(a.root); err != nil {
		return &os.PathError{Op: "close", Path: ".", Err: err}
	}
	return nil
}

// entry creates one file, directory, link or device.
func (a *rootedApplier) entry(e entry, data *content) error {
	if e.name == "." {
		return a.rootDir(e)
	}
	parent, err := a.parentDir(e.dir)
	if err != nil {
		return err
	}

	switch e.hdr.Typeflag {
	case tar.TypeDir:
		return a.mkdir(parent, e)
	case tar.TypeReg:
		return a.createFile(parent, e, data)
	case tar.TypeSymlink:
		return a.symlink(parent, e)
	case tar.TypeLink:
		return a.link(parent, e)
	}
	return a.mknod(parent, e)
}

// whiteout replaces e.base in e.dir by overlayfs's whiteout, a character
// device with device number 0/0.
func (a *rootedApplier) whiteout(e entry) error {
	// Limitation: without root there are no whiteouts; rootless engines
	// use overlayfs's userxattr option and xattr-marked whiteouts instead.
	if !a.privileged {
		return fmt.Errorf("store whiteout as a character device: %w", errNeedsRoot)
	}
	parent, err := a.parentDir(e.dir)
	if err != nil {
		return err
	}

	a.trace("mknodat", e.name, "whiteout", e.base)
	err = a.create(parent, e, "mknodat", func() error {
		return unix.Mknodat(parent.fd, e.base, unix.S_IFCHR, 0)
	})
	if err != nil {
		return err
	}
	if err := a.chown(parent, e, true); err != nil {
		return err
	}
	return a.setTimes(parent, e)
}

// opaque marks the directory e.dir opaque with the xattr overlayfs reads,
// trusted.overlay.opaque=y, so that lower layers' content there is hidden.
func (a *rootedApplier) opaque(e entry) error {
	parent, err := a.parentDir(e.dir)
	if err != nil {
		return err
	}

	a.trace("setxattr", e.dir, "xattr", OpaqueXattr)
	if err := setXattrAt(parent.fd, "", OpaqueXattr, []byte("y")); err != nil {
		err = &os.PathError{Op: "setxattr", Path: e.dir, Err: err}
		return a.xattrError(OpaqueXattr, err)
	}
	return nil
}

// finish applies each directory's mode and times, now that no entry will
// be written into it any more. A directory that a later entry replaced
// lost its metadata with it.
func (a *rootedApplier) finish() error {
	for _, d := range a.dirs {
		if err := a.finishDir(d); err != nil {
			return fmt.Errorf("set mode and times of directory %q: %w", d.name, err)
		}
	}
	a.dirs = nil
	return nil
}

// finishDir applies one directory's mode and times.
func (a *rootedApplier) finishDir(d dirMeta) error {
	dirfd, base := a.root, "."
	if d.name != "." {
		// A parent that cannot be looked up any more (removed, replaced by
		// a file or a symlink loop) took the directory with it.
		parent, err := a.lookupDir(path.Dir(d.name))
		if err != nil {
			return nil
		}
		dirfd, base = parent.fd, path.Base(d.name)
	}

	st, err := statAt(dirfd, base)
	if err == unix.ENOENT || err == nil && !d.is(st) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fstatat", Path: d.name, Err: err}
	}

	if err := chmodAt(dirfd, base, d.mode); err != nil {
		return &os.PathError{Op: "fchmodat", Path: d.name, Err: err}
	}
	err = unix.UtimesNanoAt(dirfd, base, d.times[:], unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: d.name, Err: err}
	}
	return nil
}

// is reports whether st is still the directory d was recorded for.
func (d dirMeta) is(st unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Ino == d.ino
}

// rootDir applies a directory entry that names the layer root itself.
func (a *rootedApplier) rootDir(e entry) error {
	if e.hdr.Typeflag != tar.TypeDir {
		return errors.New("only a directory may replace the layer root")
	}
	root := &dirHandle{path: ".", fd: a.root}
	if err := a.chown(root, e, false); err != nil {
		return err
	}
	if err := a.setXattrsAt(root, e); err != nil {
		return err
	}
	return a.rememberDir(root, e)
}

// trace logs one kernel-facing step at debug level.
func (a *rootedApplier) trace(op, name string, args ...any) {
	if a.debug {
		a.log.Debug(op, append([]any{"path", name}, args...)...)
	}
}

// octal prints a file mode the way chmod(1) takes it, in debug lines.
type octal uint32

func (o octal) String() string { return fmt.Sprintf("%#o", uint32(o)) }

// modeOf returns the permission bits of hdr, with setuid, setgid and sticky.
func modeOf(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// timesOf returns the access and modification times for utimensat(2). A
// header without an access time gets its modification time.
func timesOf(hdr *tar.Header) [2]unix.Timespec {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	return [2]unix.Timespec{
		{Sec: atime.Unix(), Nsec: int64(atime.Nanosecond())},
		{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())},
	}
}
