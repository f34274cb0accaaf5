package namespaces

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// rootDir is a directory in which paths are resolved as if it were "/": no
// symlink and no ".." leads out of it. A container image is untrusted input:
// a layer may ship /etc as a symlink to the host's /etc, or a volume target
// such as /data -> ../../../../root, and following those with ordinary path
// operations would read or mount over the host. openat2(2) with
// RESOLVE_IN_ROOT makes the kernel do the resolution, so the answer cannot
// be raced either.
type rootDir struct {
	fd   int    // O_PATH descriptor of the directory
	path string // its path, for messages only
}

// openRoot opens path as a rootDir.
func openRoot(path string) (*rootDir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &rootDir{fd: fd, path: path}, nil
}

// Close closes the directory.
func (r *rootDir) Close() error {
	return unix.Close(r.fd)
}

// hostPath shows where unsafePath is, for messages.
func (r *rootDir) hostPath(unsafePath string) string {
	return filepath.Join(r.path, filepath.Clean("/"+unsafePath))
}

// open opens unsafePath inside the root with openat2(2). Magic links such as
// /proc/self/root are refused too: they would jump anywhere.
func (r *rootDir) open(unsafePath string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, unsafePath, &how)
		// EAGAIN: a rename raced with a ".." lookup; the kernel asks us
		// to try again.
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "openat2", Path: r.hostPath(unsafePath), Err: err}
		}
		return fd, nil
	}
}

// maxLinks bounds how many dangling symlinks mkdirAll and mkfile follow, as
// the kernel bounds symlink resolution (40, see path_resolution(7)).
const maxLinks = 40

// mkdirAll makes unsafePath and its missing parents (mode 0755) inside the
// root, like mkdir -p, and returns an O_PATH descriptor of it. Each
// component is resolved in the root before a child is made in it, so a
// symlink in the image can redirect the path only to somewhere else in the
// same root. A symlink to a directory that does not exist yet is followed,
// and the directory made, as the kernel would resolve the link inside the
// root.
func (r *rootDir) mkdirAll(unsafePath string) (int, error) {
	path := filepath.Clean("/" + unsafePath)
	for range maxLinks {
		next, fd, err := r.mkdirWalk(path)
		if next == "" {
			return fd, err
		}
		path = next
	}
	return -1, &os.PathError{Op: "mkdir", Path: r.hostPath(unsafePath), Err: unix.ELOOP}
}

// mkdirWalk makes the components of the clean path one by one. When one is
// a dangling symlink, it returns instead the path with the link's target
// put in place of the link, to be walked again.
func (r *rootDir) mkdirWalk(path string) (next string, fd int, err error) {
	dir, err := unix.Dup(r.fd)
	if err != nil {
		return "", -1, os.NewSyscallError("dup", err)
	}
	if path == "/" {
		return "", dir, nil
	}
	parts := strings.Split(path[1:], "/")
	for i, part := range parts {
		sub := "/" + strings.Join(parts[:i+1], "/")
		fd, err := r.open(sub, unix.O_PATH|unix.O_DIRECTORY, 0)
		if errors.Is(err, unix.ENOENT) {
			err = unix.Mkdirat(dir, part, 0o755)
			if err == unix.EEXIST {
				// Something openat2 could not follow is there: a
				// symlink to a place that does not exist yet.
				target, lerr := readlinkat(dir, part)
				unix.Close(dir)
				if lerr != nil {
					return "", -1, &os.PathError{Op: "readlinkat", Path: r.hostPath(sub),
						Err: lerr}
				}
				parent := "/" + strings.Join(parts[:i], "/")
				rest := strings.Join(parts[i+1:], "/")
				return linkTarget(parent, target) + "/" + rest, -1, nil
			}
			if err != nil {
				unix.Close(dir)
				return "", -1, &os.PathError{Op: "mkdirat", Path: r.hostPath(sub), Err: err}
			}
			fd, err = r.open(sub, unix.O_PATH|unix.O_DIRECTORY, 0)
		}
		unix.Close(dir)
		if err != nil {
			return "", -1, err
		}
		dir = fd
	}
	return "", dir, nil
}

// mkfile makes an empty file at unsafePath inside the root if nothing is
// there, with its parents, and returns an O_PATH descriptor of what is
// there. A bind mount of a file needs a file to be mounted on.
func (r *rootDir) mkfile(unsafePath string) (int, error) {
	path := filepath.Clean("/" + unsafePath)
	for range maxLinks {
		fd, err := r.open(path, unix.O_PATH, 0)
		if err == nil || !errors.Is(err, unix.ENOENT) {
			return fd, err
		}
		dir, err := r.mkdirAll(filepath.Dir(path))
		if err != nil {
			return -1, err
		}
		flags := unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		fd, err = unix.Openat(dir, filepath.Base(path), flags, 0o644)
		if err == unix.EEXIST {
			// A dangling symlink: make its target instead.
			target, lerr := readlinkat(dir, filepath.Base(path))
			unix.Close(dir)
			if lerr != nil {
				return -1, &os.PathError{Op: "readlinkat", Path: r.hostPath(path), Err: lerr}
			}
			path = linkTarget(filepath.Dir(path), target)
			continue
		}
		unix.Close(dir)
		if err != nil {
			return -1, &os.PathError{Op: "openat", Path: r.hostPath(path), Err: err}
		}
		unix.Close(fd)
		return r.open(path, unix.O_PATH, 0)
	}
	return -1, &os.PathError{Op: "create", Path: r.hostPath(unsafePath), Err: unix.ELOOP}
}

// linkTarget is where a symlink found in dir leads, inside the root: an
// absolute target starts at the root, and ".." stops there.
func linkTarget(dir, target string) string {
	if filepath.IsAbs(target) {
		return filepath.Clean(target)
	}
	return filepath.Clean("/" + dir + "/" + target)
}

// readlinkat reads the symlink name in the directory dirfd.
func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// readFile reads the regular file at unsafePath inside the root, refusing
// files larger than limit. It never opens anything but a regular file for
// reading: an image could ship a FIFO (which would block us) or a device
// node at that path.
func (r *rootDir) readFile(unsafePath string, limit int64) ([]byte, error) {
	fd, err := r.open(unsafePath, unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: r.hostPath(unsafePath), Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("read %q: not a regular file", r.hostPath(unsafePath))
	}

	// Reopen the very inode we checked, through its descriptor.
	f, err := os.Open(fdPath(fd))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", r.hostPath(unsafePath), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %q: larger than %d bytes", r.hostPath(unsafePath), limit)
	}
	return data, nil
}

// fdPath names an open descriptor as a path. The kernel resolves it to
// exactly what the descriptor refers to, which is how a mount can be put on a
// directory that was found safely with openat2(2).
func fdPath(fd int) string {
	return fmt.Sprintf("/proc/self/fd/%d", fd)
}
