package main

import (
	"errors"
	"fmt"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// This file holds the commands that make a container from an image:
// create, and run, which is create + start + attach in one.

// runExitHelp replaces the usual exit status help for the commands that
// run a container: their exit code is the container's.
const runExitHelp = `Exit status:
  the exit code of the container's command; 125 when skiff itself fails
  (a usage error, no such image, a name in use); 126 when the command
  cannot be invoked; 127 when the command is not found.
`

// newRunCommand builds "skiff run" and its twin "skiff container run".
func newRunCommand(name string, also ...string) *command {
	var f runFlags
	c := &command{
		name:    name,
		also:    also,
		summary: "Create and run a new container from an image",
		usage:   "[OPTIONS] IMAGE [COMMAND] [ARG...]",
		example: "skiff run --rm busybox echo hello\n" +
			"skiff run -it busybox sh\n" +
			"skiff run -d --name web busybox httpd -f",
		args:     argRule{min: 1, max: -1},
		flags:    newFlagSet(name),
		exitHelp: runExitHelp,
	}
	addRunFlags(c.flags, &f, true)
	c.run = func(a *app, args []string) error { return runRun(a, c, &f, args) }
	return c
}

// newCreateCommand builds "skiff create".
func newCreateCommand(name string, also ...string) *command {
	var f runFlags
	c := &command{
		name:     name,
		also:     also,
		summary:  "Create a new container",
		usage:    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
		example:  "skiff create --name web busybox httpd -f\nskiff start web",
		args:     argRule{min: 1, max: -1},
		flags:    newFlagSet(name),
		exitHelp: runExitHelp,
	}
	addRunFlags(c.flags, &f, false)
	c.run = func(a *app, args []string) error {
		_, ctr, err := createContainer(a, c, &f, args)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(a.stdout, ctr.ID)
		return err
	}
	return c
}

func runRun(a *app, c *command, f *runFlags, args []string) error {
	s, ctr, err := createContainer(a, c, f, args)
	if err != nil {
		return err
	}

	if f.detach {
		if err := s.StartDetached(ctr); err != nil {
			return startFailure(errors.Join(err, removeIfAuto(s, ctr)))
		}
		_, err := fmt.Fprintln(a.stdout, ctr.ID)
		return err
	}
	return a.runForeground(s, ctr, attachOptions{stdin: f.stdin, sigProxy: f.sigProxy})
}

// removeIfAuto removes a container made with --rm whose start failed: it
// will never run, so nothing else would remove it.
func removeIfAuto(s *container.Store, c *container.Container) error {
	if !c.Options.AutoRemove {
		return nil
	}
	if err := s.Remove(c, true); err != nil && !errors.Is(err, container.ErrNotFound) {
		return fmt.Errorf("remove container %s: %w", c.ShortID(), err)
	}
	return nil
}

// createContainer does what run and create share: check the flags, find
// the image and make the container record. Every failure here is a
// runError with Docker's 125.
func createContainer(a *app, c *command, f *runFlags,
	args []string) (*container.Store, *container.Container, error) {

	opts, err := f.createOptions(c.flags, args[1:])
	if err != nil {
		return nil, nil, &usageError{path: c.path, err: err}
	}
	if f.stdin && f.tty && !f.detach && !isTerminal(a.stdin) {
		err := errors.New("the input device is not a TTY")
		return nil, nil, &runError{code: exitCannotRun, err: err}
	}

	images, s, err := a.openStores()
	if err != nil {
		return nil, nil, &runError{code: exitCannotRun, err: err}
	}
	rawRef := args[0]
	img, err := a.findImage(images, rawRef)
	if err != nil {
		return nil, nil, &runError{code: exitCannotRun, err: err}
	}
	ctr, err := s.Create(img, rawRef, opts)
	if err != nil {
		return nil, nil, &runError{code: exitCannotRun, err: err}
	}
	a.log.Debug("container created", "container_id", ctr.ID, "name", ctr.Name)
	return s, ctr, nil
}

// findImage looks rawRef up in the store and, like docker run, pulls it
// when it is not there, saying so first. The pull's progress goes to
// stderr, so that stdout carries only what the container writes.
func (a *app) findImage(images *image.Store, rawRef string) (*image.Image, error) {
	img, err := images.Lookup(rawRef)
	if !errors.Is(err, image.ErrNotFound) {
		return img, err
	}
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stderr, "Unable to find image '%s' locally\n", ref.FamiliarString())

	client, _, err := a.registryClient()
	if err != nil {
		return nil, err
	}
	ctx, stop := signalContext()
	defer stop()
	return pullImage(ctx, images, client, ref, a.stderr, registry.Platform{})
}
