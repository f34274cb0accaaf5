package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/container"
)

// This file holds the commands that look at or move a container's files
// and processes: diff, commit, export, cp and top.

// withContainer opens the stores, finds the container ref names and runs
// fn on it, with Docker's "No such container" when there is none.
func (a *app) withContainer(ref string, fn containerFunc) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	c, err := s.Get(ref)
	if err != nil {
		return containerError(ref, err)
	}
	return fn(s, c)
}

// newDiffCommand builds "skiff diff".
func newDiffCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "Inspect changes to files or directories on a container's filesystem",
		usage:   "CONTAINER",
		example: "skiff diff web",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		return a.withContainer(args[0], func(s *container.Store, ctr *container.Container) error {
			changes, err := s.Diff(ctr)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Fprintln(a.stdout, ch.String())
			}
			return nil
		})
	}
	return c
}

// commitOptions are the flags of skiff commit.
type commitOptions struct {
	author  string
	changes []string
	message string
}

// newCommitCommand builds "skiff commit".
func newCommitCommand(name string, also ...string) *command {
	var opts commitOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Create a new image from a container's changes",
		usage:   "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		example: "skiff commit web mywebserver:1\n" +
			"skiff commit -m 'add index.html' -c 'CMD [\"httpd\", \"-f\"]' web web:2",
		args:  argRule{min: 1, max: 2},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&opts.author, "author", "a", "",
		`Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	c.flags.StringArrayVarP(&opts.changes, "change", "c", nil,
		"Apply Dockerfile instruction to the created image")
	c.flags.StringVarP(&opts.message, "message", "m", "", "Commit message")
	c.run = func(a *app, args []string) error {
		commitOpts := container.CommitOptions{
			Message: opts.message,
			Author:  opts.author,
			Changes: opts.changes,
		}
		if len(args) == 2 {
			commitOpts.Ref = args[1]
		}
		return a.withContainer(args[0], func(s *container.Store, ctr *container.Container) error {
			img, err := s.Commit(ctr, commitOpts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, img.ID)
			return err
		})
	}
	return c
}

// newExportCommand builds "skiff export".
func newExportCommand(name string, also ...string) *command {
	var output string
	c := &command{
		name:    name,
		also:    also,
		summary: "Export a container's filesystem as a tar archive",
		usage:   "[OPTIONS] CONTAINER",
		example: "skiff export -o web.tar web\nskiff export web | tar -t",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	c.run = func(a *app, args []string) error {
		if output == "" && isTerminal(a.stdout) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return a.withContainer(args[0], func(s *container.Store, ctr *container.Container) error {
			export := func(w io.Writer) error { return s.Export(ctr, w) }
			if output == "" {
				return export(a.stdout)
			}
			return writeFileAtomic(output, export)
		})
	}
	return c
}

// newCpCommand builds "skiff cp".
func newCpCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "Copy files/folders between a container and the local filesystem",
		usage:   "CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH",
		example: "skiff cp web:/etc/hostname .\nskiff cp index.html web:/var/www/",
		args:    argRule{min: 2, max: 2},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error { return runCp(a, c.path, args[0], args[1]) }
	return c
}

func runCp(a *app, path, src, dst string) error {
	srcCtr, srcPath := splitCpArg(src)
	dstCtr, dstPath := splitCpArg(dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return &usageError{path: path, err: errors.New("copying between containers is not supported")}
	case srcCtr == "" && dstCtr == "":
		return &usageError{path: path, err: errors.New("must specify at least one container source")}
	case srcPath == "" || dstPath == "":
		return &usageError{path: path, err: errors.New("filepath can not be empty")}
	}

	if srcCtr != "" {
		return a.withContainer(srcCtr, func(s *container.Store, c *container.Container) error {
			return s.CopyFrom(c, srcPath, dstPath)
		})
	}
	return a.withContainer(dstCtr, func(s *container.Store, c *container.Container) error {
		return s.CopyTo(c, srcPath, dstPath)
	})
}

// splitCpArg splits a cp argument into a container and a path inside it,
// or returns the argument as a local path. As in docker cp, an absolute
// path or one starting with "." is always local, so ./a:b names a file.
func splitCpArg(arg string) (ctr, path string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, path, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, path
}

// newContainerTopCommand builds "skiff top".
func newContainerTopCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "Display the running processes of a container",
		usage:   "CONTAINER",
		example: "skiff top web",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		return a.withContainer(args[0], func(s *container.Store, ctr *container.Container) error {
			rows, err := s.Top(ctr)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return nil
			}
			return writeTable(a.stdout, rows[0], rows[1:])
		})
	}
	return c
}
