package tarball

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Sync flushes the whole file system holding dir to stable storage with one
// syncfs(2). [Extract] writes without fsync(2) per file; the image store
// calls Sync once a layer is complete, before it renames the layer into
// place.
func Sync(dir string) error {
	fd, err := openDirFD(dir)
	if err != nil {
		return fmt.Errorf("sync file system of %q: %w", dir, err)
	}
	defer unix.Close(fd)

	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync file system of %q: %w", dir, os.NewSyscallError("syncfs", err))
	}
	return nil
}
