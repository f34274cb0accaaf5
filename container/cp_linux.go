package container

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// resolveIn resolves unsafePath inside root with openat2(2) and
// RESOLVE_IN_ROOT, so that ".." and symlinks cannot leave root, and
// returns the host path it names.
// Limitation: the returned path is a string; a container that swaps a
// directory for a symlink between this call and its use could redirect the
// copy. Docker has the same window; runc's libpathrs closes it with fds.
func resolveIn(root, unsafePath string) (string, error) {
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
