package registrytest

import "syscall"

// dieWithParent asks the kernel to kill the registry when the test process
// dies, so that a crashed test leaves no server behind (prctl(2),
// PR_SET_PDEATHSIG).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
