package tarball

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// ResolveInRoot resolves unsafePath inside root the way [Extract] resolves
// tar entries, with openat2(2) and RESOLVE_IN_ROOT: ".." stops at root and
// an absolute symlink is taken relative to root, so the result is always
// inside it. It returns the host path of what unsafePath names there.
//
// Limitation: the result is a path, not a file descriptor; something that
// swaps a directory for a symlink between this call and the path's use
// could redirect it. Callers use it on trees they do not expect to change
// under them (a stopped container's rootfs, a read-only image view);
// runc's libpathrs keeps file descriptors to close that window.
func ResolveInRoot(root, unsafePath string) (string, error) {
	if root == "" {
		return "", &os.PathError{Op: "openat2", Path: unsafePath, Err: fs.ErrNotExist}
	}
	if unsafePath == "" {
		unsafePath = "."
	}
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(rootFd)
	fd, err := unix.Openat2(rootFd, unsafePath, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return "", &os.PathError{Op: "openat2", Path: unsafePath, Err: err}
	}
	defer unix.Close(fd)
	return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
}
