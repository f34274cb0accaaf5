//go:build !linux

package overlay

import (
	"errors"
	"log/slog"
)

// errRequiresLinux is returned by every function that needs overlayfs.
var errRequiresLinux = errors.New("overlay: overlayfs requires Linux")

// Mount needs Linux; see the Linux version.
func Mount(layers []string, upper, work, target string, log *slog.Logger) error {
	return errRequiresLinux
}

// Unmount needs Linux; see the Linux version.
func Unmount(target string) error { return errRequiresLinux }

// Mounted needs Linux; see the Linux version.
func Mounted(target string) (bool, error) { return false, errRequiresLinux }

// Changes needs Linux; see the Linux version.
func Changes(layers []string, upper string) ([]Change, error) {
	return nil, errRequiresLinux
}
