package dockerfile

import (
	"fmt"
	"strings"
)

// Error is one problem in a Dockerfile, at one line.
type Error struct {
	// File is the Dockerfile's name, as given to [Parse].
	File string
	// Line is the first line of the instruction, counted from 1.
	Line int
	Msg  string
}

// Error returns the problem as "Dockerfile:LINE: message".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ErrorList is every problem [Parse] found, in the order of the lines.
type ErrorList []*Error

// Error returns one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems one by one, for [errors.As].
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns the list as an error, or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
