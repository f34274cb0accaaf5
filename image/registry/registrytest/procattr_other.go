//go:build !linux

package registrytest

import "syscall"

// dieWithParent has no equivalent here; Close stops the registry.
func dieWithParent() *syscall.SysProcAttr { return nil }
