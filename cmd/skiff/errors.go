package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skiff-dev/skiff/image"
)

// The exit codes of skiff's own failures. Docker's CLI uses 125 for a
// command line it cannot parse (docker run --bogus); skiff uses it for every
// usage error, so a script can tell "you typed it wrong" (125) from "it
// did not work" (1). Later, commands that run a container will also pass
// on the container's own exit code, with 126 and 127 as Docker has them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 125
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

// errorLine is the one line that err prints on stderr. A joined error
// spans several lines; they are folded into one so that scripts and
// learners always get one line per failure.
func errorLine(err error) string {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	var noSuch *noSuchImageError
	if errors.As(err, &noSuch) {
		return "Error: " + msg
	}
	return "skiff: " + msg
}

// exitCode prints err on stderr, if there is one, and returns the exit
// code it maps to. This is the one place that decides both.
func exitCode(stderr io.Writer, err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitFailure
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s\nSee '%s --help'.\n", errorLine(err), usage.path)
		return exitUsage
	default:
		fmt.Fprintln(stderr, errorLine(err))
		return exitFailure
	}
}
