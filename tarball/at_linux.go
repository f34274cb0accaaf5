package tarball

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds thin wrappers around the *at system calls that Extract and
// WriteDir use. They take a directory file descriptor and one path
// component, and never follow a symlink in that last component.

// errNoOpenat2 explains an ENOSYS from openat2(2).
var errNoOpenat2 = errors.New("openat2(2) is not available: Linux 5.6 or later is needed")

// openat2Retries bounds how often a lookup is retried after EAGAIN, which
// RESOLVE_IN_ROOT returns when a rename elsewhere raced with it.
const openat2Retries = 64

// openDirFD opens the directory at path, given by the caller and trusted,
// for the *at system calls. The error names the failed call.
func openDirFD(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("open", err)
	}
	return fd, nil
}

// openInRoot opens the directory at path inside root as an O_PATH file
// descriptor. The lookup happens as if root were "/": ".." stops at root,
// an absolute symlink starts again at root, and /proc magic links are
// refused (openat2(2), RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS). The
// error is the bare errno, for the caller to wrap.
func openInRoot(root int, path string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range openat2Retries {
		fd, err := unix.Openat2(root, path, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EAGAIN, unix.EINTR:
			continue
		case unix.ENOSYS:
			return -1, errNoOpenat2
		}
		return -1, err
	}
	return -1, unix.EAGAIN
}

// procPath names what fd refers to through /proc/self/fd, plus base when it
// is not empty. The xattr calls need it: they have no *at form, and
// fsetxattr(2) refuses O_PATH descriptors.
func procPath(fd int, base string) string {
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	if base != "" {
		p += "/" + base
	}
	return p
}

// setXattrAt sets the xattr attr on base in the directory dirfd without
// following a symlink, or on the directory itself when base is "".
func setXattrAt(dirfd int, base, attr string, value []byte) error {
	if base == "" {
		return unix.Setxattr(procPath(dirfd, ""), attr, value, 0)
	}
	return unix.Lsetxattr(procPath(dirfd, base), attr, value, 0)
}

// statAt is fstatat(2) on base in dirfd, not following a symlink.
func statAt(dirfd int, base string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// chmodAt sets the mode of base in dirfd, which the caller knows is no
// symlink. fchmodat2(2) (Linux 6.6) can refuse to follow one; where it is
// missing, plain fchmodat(2) is the only choice.
func chmodAt(dirfd int, base string, mode uint32) error {
	err := unix.Fchmodat(dirfd, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.EOPNOTSUPP {
		err = unix.Fchmodat(dirfd, base, mode, 0)
	}
	return err
}

// futimens sets the access and modification times of the open file fd.
// It is utimensat(2) with a NULL path, as the C library's futimens(3); the
// x/sys wrapper always passes a path.
func futimens(fd int, ts *[2]unix.Timespec) error {
	times := uintptr(unsafe.Pointer(ts))
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, times, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// hasDefaultACL reports whether the directory dirfd has a default ACL,
// which replaces the umask for what is created in it (acl(5)). When in
// doubt it says yes.
func hasDefaultACL(dirfd int) bool {
	size, err := unix.Getxattr(procPath(dirfd, ""), "system.posix_acl_default", nil)
	if err == unix.ENODATA || err == unix.ENOTSUP {
		return false
	}
	return err != nil || size > 0
}

// readUmask returns the process's umask from /proc/self/status (Linux 4.7
// and later), which unlike umask(2) reads it without changing it. ok is
// false when it cannot be known.
func readUmask() (mask uint32, ok bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		value, found := bytes.CutPrefix(line, []byte("Umask:"))
		if !found {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 8, 32)
		return uint32(mask), err == nil
	}
	return 0, false
}

// writeAll writes all of p to fd, resuming after short writes and EINTR.
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		p = p[n:]
	}
	return nil
}

// removeAt removes base from the directory dirfd, with everything under it
// when it is a directory. It descends only through real directories on
// the device dev, never through a symlink or into another mount, so it
// cannot reach outside the directory it started in.
func removeAt(dirfd int, base string, dev uint64) error {
	err := unix.Unlinkat(dirfd, base, 0)
	switch err {
	case nil, unix.ENOENT:
		return nil
	case unix.EISDIR:
		return removeDirAt(dirfd, base, dev)
	}
	return &os.PathError{Op: "unlinkat", Path: base, Err: err}
}

// removeDirAt removes the directory base in dirfd and its content.
func removeDirAt(dirfd int, base string, dev uint64) error {
	fd, err := openSubdir(dirfd, base)
	if err != nil {
		return &os.PathError{Op: "openat", Path: base, Err: err}
	}
	dir := os.NewFile(uintptr(fd), base)
	defer dir.Close()

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: base, Err: err}
	}
	if st.Dev != dev {
		return &os.PathError{Op: "remove", Path: base, Err: unix.EXDEV}
	}

	// Removing entries while reading the directory may make getdents(2)
	// skip some; read it again from the start until it is empty.
	for range 8 {
		if err := removeEntries(dir, dev); err != nil {
			return err
		}
		err := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
		if err != unix.ENOTEMPTY {
			if err != nil {
				return &os.PathError{Op: "unlinkat", Path: base, Err: err}
			}
			return nil
		}
		if _, err := dir.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return &os.PathError{Op: "unlinkat", Path: base, Err: unix.ENOTEMPTY}
}

// openSubdir opens the directory base in dirfd for reading, failing if it
// is a symlink or not a directory.
func openSubdir(dirfd int, base string) (int, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	return unix.Openat(dirfd, base, flags, 0)
}

// removeEntries removes what dir lists, a batch of names at a time so that
// a huge directory does not need its whole listing in memory.
func removeEntries(dir *os.File, dev uint64) error {
	fd := int(dir.Fd())
	for {
		names, err := dir.Readdirnames(256)
		for _, name := range names {
			if err := removeAt(fd, name, dev); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
