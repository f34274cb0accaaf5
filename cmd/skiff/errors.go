package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/namespaces"
)

// The exit codes of skiff's own failures. Docker's CLI uses 125 for a
// command line it cannot parse (docker run --bogus); skiff uses it for every
// usage error, so a script can tell "you typed it wrong" (125) from "it
// did not work" (1). Commands that run a container (run, start -a, exec)
// pass on the container's own exit code instead, and use 125, 126 and 127
// for what went wrong before its command ran, as Docker does.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 125
	// exitCannotRun: skiff could not make or start the container (no
	// image, a name in use, a mount that failed), as in docker run. The
	// init reports 126 (cannot execute) and 127 (not found) itself.
	exitCannotRun = 125
)

// usageError is a command line that skiff cannot act on: an unknown
// command or flag, a bad flag value, the wrong number of arguments. path is
// the command whose --help would have helped.
type usageError struct {
	path string
	err  error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// noSuchImageError is an image reference that names nothing in the store,
// reported in Docker's words with the reference as the user typed it.
type noSuchImageError struct {
	rawRef string
	err    error
}

func (e *noSuchImageError) Error() string { return "No such image: " + e.rawRef }
func (e *noSuchImageError) Unwrap() error { return e.err }

// noSuchContainerError is a container name or ID (prefix) that names no
// container, in Docker's words.
type noSuchContainerError struct {
	ref string
	err error
}

func (e *noSuchContainerError) Error() string { return "No such container: " + e.ref }
func (e *noSuchContainerError) Unwrap() error { return e.err }

// noSuchObjectError is a name that skiff inspect found neither as a
// container nor as an image.
type noSuchObjectError struct{ ref string }

func (e *noSuchObjectError) Error() string { return "No such object: " + e.ref }

// exitStatus ends a command with the exit code of the container or exec'd
// process it ran. Nothing is printed: the process has spoken for itself.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// runError is a failure of a command that runs a container, before or
// instead of its process: it is printed like any error, but its exit code
// is Docker's 125, 126 or 127 rather than 1.
type runError struct {
	code int
	err  error
}

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// startFailure wraps an error of starting a container into a runError
// with the exit code Docker gives it: the init's 126 (cannot execute) or
// 127 (not found), a detached container's code as its monitor reported
// it, else 125.
func startFailure(err error) error {
	if err == nil {
		return nil
	}
	var execErr *namespaces.ExecError
	var detached *container.StartError
	switch {
	case errors.As(err, &execErr):
		return &runError{code: execErr.Code, err: err}
	case errors.As(err, &detached):
		return &runError{code: detached.ExitCode(), err: err}
	}
	return &runError{code: exitCannotRun, err: err}
}

// errReported ends a command that has already printed its own error lines,
// such as rmi with several images, and only needs a failing exit code.
var errReported = errors.New("errors already reported")

// imageError turns the store's "not found" for rawRef into Docker's
// "No such image" and passes every other error through.
func imageError(rawRef string, err error) error {
	if errors.Is(err, image.ErrNotFound) {
		return &noSuchImageError{rawRef: rawRef, err: err}
	}
	return err
}

// containerError turns the container store's "not found" for ref into
// Docker's "No such container" and passes every other error through.
func containerError(ref string, err error) error {
	if errors.Is(err, container.ErrNotFound) {
		return &noSuchContainerError{ref: ref, err: err}
	}
	return err
}

// errorLine is the one line that err prints on stderr. A joined error
// spans several lines; they are folded into one so that scripts and
// learners always get one line per failure.
func errorLine(err error) string {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	var noSuchImage *noSuchImageError
	var noSuchContainer *noSuchContainerError
	var noSuchObject *noSuchObjectError
	var noSuchNetwork *noSuchNetworkError
	var noSuchPort *noSuchPortError
	if errors.As(err, &noSuchImage) || errors.As(err, &noSuchContainer) ||
		errors.As(err, &noSuchObject) || errors.As(err, &noSuchNetwork) ||
		errors.As(err, &noSuchPort) {
		return "Error: " + msg
	}
	return "skiff: " + msg
}

// exitCode prints err on stderr, if there is one, and returns the exit
// code it maps to. This is the one place that decides both.
func exitCode(stderr io.Writer, err error) int {
	var usage *usageError
	var status *exitStatus
	var run *runError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitFailure
	case errors.As(err, &status):
		return status.code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s\nSee '%s --help'.\n", errorLine(err), usage.path)
		return exitUsage
	case errors.As(err, &run):
		fmt.Fprintln(stderr, errorLine(err))
		return run.code
	default:
		fmt.Fprintln(stderr, errorLine(err))
		return exitFailure
	}
}
