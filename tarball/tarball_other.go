//go:build !linux

package tarball

import (
	"archive/tar"
	"errors"
	"log/slog"
)

// errRequiresLinux is returned by everything that needs Linux system
// calls: openat2(2), mknodat(2), the xattr calls and syncfs(2).
var errRequiresLinux = errors.New("tarball: extracting and writing layers requires Linux")

func newApplier(dir string, log *slog.Logger) (applier, error) {
	return nil, errRequiresLinux
}

func writeTree(tw *tar.Writer, dir string, opts WriteOptions) (int64, error) {
	return 0, errRequiresLinux
}

// Sync flushes the file system holding dir to stable storage. It needs
// syncfs(2), so off Linux it always fails.
func Sync(dir string) error {
	return errRequiresLinux
}

// ResolveInRoot needs openat2(2), which only Linux has.
func ResolveInRoot(root, unsafePath string) (string, error) { return "", errRequiresLinux }
