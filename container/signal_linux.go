package container

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// signal sends sig to the container's first process, through a pidfd so
// that the signal cannot reach a process that reused the PID.
func (s *Store) signal(c *Container, sig syscall.Signal) error {
	pidfd, err := unix.PidfdOpen(c.State.Pid, 0)
	if err == unix.ESRCH {
		return nil // it has just exited
	}
	if err != nil {
		return os.NewSyscallError("pidfd_open", err)
	}
	defer unix.Close(pidfd)
	if processStart(c.State.Pid) != c.State.PidStart {
		return nil // it exited and the PID is someone else's now
	}
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil && err != unix.ESRCH {
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	return nil
}

// quietStderr points this process's descriptor 2 at /dev/null.
func quietStderr() error {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devNull.Close()
	return unix.Dup3(int(devNull.Fd()), 2, 0)
}
