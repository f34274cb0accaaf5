//go:build !linux

package container

import (
	"errors"
	"os"
	"syscall"
)

// Containers need Linux: namespaces, cgroups, overlayfs, pseudo-terminals.
var errRequiresLinux = errors.New("containers require Linux")

func openPty() (master, slave *os.File, err error) { return nil, nil, errRequiresLinux }

func resizePty(master *os.File, rows, cols uint16) error { return errRequiresLinux }

func (s *Store) signal(c *Container, sig syscall.Signal) error { return errRequiresLinux }

func quietStderr() error { return errRequiresLinux }
