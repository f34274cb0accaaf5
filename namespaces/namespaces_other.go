//go:build !linux

package namespaces

import (
	"errors"
	"io"
	"log/slog"
	"os"
)

// errNotLinux is returned by everything here: namespaces are a Linux
// feature.
var errNotLinux = errors.New("containers need Linux")

// Stdio are the container process's descriptors 0, 1 and 2.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a container process; on this system there are none.
type Process struct{}

// IsInit reports false: no process is a container's init here.
func IsInit() bool { return false }

// Init exits: it is never called outside Linux.
func Init() { os.Exit(125) }

// Start returns an error: containers need Linux.
func Start(spec *Spec, stdio Stdio, log *slog.Logger) (*Process, error) {
	return nil, errNotLinux
}

// Join returns an error: containers need Linux.
func Join(pid int, spec *Spec, stdio Stdio, log *slog.Logger) (*Process, error) {
	return nil, errNotLinux
}

// LookupUser returns an error: it reads the rootfs with openat2(2).
func LookupUser(rootfs, spec string) (User, error) { return User{}, errNotLinux }

// Pid returns 0.
func (p *Process) Pid() int { return 0 }

// Resume returns an error.
func (p *Process) Resume() error { return errNotLinux }

// Wait returns an error.
func (p *Process) Wait() (ExitStatus, error) { return ExitStatus{}, errNotLinux }

// Signal returns an error.
func (p *Process) Signal(sig os.Signal) error { return errNotLinux }

// Kill returns an error.
func (p *Process) Kill() error { return errNotLinux }

// InitProgramPath returns "": containers need Linux.
func InitProgramPath() string { return "" }
