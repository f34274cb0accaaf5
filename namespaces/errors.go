package namespaces

import (
	"errors"
	"syscall"
)

// ExecError reports that the container's command could not be run. Code is
// the exit code Docker uses for the case: 127 when the command was not found
// (no such file, nothing on the PATH), 126 when it was found but cannot be
// executed (permission denied, a directory, not a regular file, a wrong
// format).
type ExecError struct {
	Code int
	Err  error
}

// Error returns the cause, which names the command.
func (e *ExecError) Error() string {
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *ExecError) Unwrap() error {
	return e.Err
}

// Exit codes for commands that cannot be run, as in Docker and POSIX shells.
const (
	codeNotExecutable = 126
	codeNotFound      = 127
)

// errNotFound is the cause of a code 127 [ExecError] for a bare name.
var errNotFound = errors.New("executable file not found in $PATH")

// ErrJoinUnsupported is returned by Join in a binary without the
// constructor of package nsenter: one built without cgo, or one that does
// not import the package, as skiff-init.
var ErrJoinUnsupported = errors.New("joining a container needs a binary built with cgo")

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code, or 128+n after signal n, as a shell and
	// Docker report it.
	Code int
	// Signal is the signal that killed the process we waited for, or 0
	// when it exited. A container started with Spec.Init, or joined with
	// Join, reports a signal only as Code: the process in the middle
	// turns it into 128+n.
	Signal syscall.Signal
}

// exitStatus converts a wait(2) status.
func exitStatus(ws syscall.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// initReport is what the container's init writes on the error pipe when it
// fails: one JSON object. The C constructor of package nsenter writes the
// same shape.
type initReport struct {
	Message string `json:"message"`
	Errno   int    `json:"errno,omitempty"`
	Code    int    `json:"code,omitempty"`
}

// newInitReport describes err for the parent, keeping the errno if there is
// one so that errors.Is(err, syscall.EPERM) still works on the other side.
func newInitReport(err error) initReport {
	r := initReport{Message: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = int(errno)
	}
	var execErr *ExecError
	if errors.As(err, &execErr) {
		r.Code = execErr.Code
	}
	return r
}

// err rebuilds an error from a report read by the parent.
func (r initReport) err() error {
	var err error = &initError{msg: r.Message, errno: syscall.Errno(r.Errno)}
	if r.Code != 0 {
		err = &ExecError{Code: r.Code, Err: err}
	}
	return err
}

// initError is a failure of the container's init, rebuilt in the parent from
// its text and errno: the error values themselves cannot cross the pipe.
type initError struct {
	msg   string
	errno syscall.Errno
}

func (e *initError) Error() string {
	return e.msg
}

func (e *initError) Unwrap() error {
	if e.errno == 0 {
		return nil
	}
	return e.errno
}
