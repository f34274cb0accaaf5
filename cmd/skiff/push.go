package main

import (
	"errors"
	"fmt"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// pushOptions are the flags of skiff push.
type pushOptions struct {
	quiet bool
}

// newPushCommand builds "skiff push".
func newPushCommand(name string, also ...string) *command {
	var opts pushOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Upload an image to a registry",
		usage:   "[OPTIONS] NAME[:TAG]",
		example: "skiff tag busybox 127.0.0.1:5000/busybox:1.0\n" +
			"skiff push 127.0.0.1:5000/busybox:1.0",
		args:  argRule{min: 1, max: 1},
		flags: newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	c.run = func(a *app, args []string) error { return runPush(a, opts, args[0]) }
	return c
}

func runPush(a *app, opts pushOptions, rawRef string) error {
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		return err
	}
	if ref.Digest != "" {
		return &usageError{path: "skiff push",
			err: errors.New("cannot push a digest reference: name a tag")}
	}
	s, err := a.openStore()
	if err != nil {
		return err
	}
	if !hasTag(rawRef) && !opts.quiet {
		fmt.Fprintf(a.stdout, "Using default tag: %s\n", ref.Tag)
	}
	img, err := s.Lookup(ref.String())
	if err != nil {
		return fmt.Errorf("an image does not exist locally with the tag: %s",
			ref.FamiliarName())
	}
	client, _, err := a.registryClient()
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()

	w := a.stdout
	if opts.quiet {
		w = nil
	}
	var display *progressDisplay
	pushOpts := registry.PushOptions{}
	if w != nil {
		fmt.Fprintf(w, "The push refers to repository [%s]\n", ref.FamiliarName())
		display = newProgressDisplay(w)
		pushOpts.Progress = display.update
	}
	res, err := client.Push(ctx, s, img, ref, pushOpts)
	if display != nil {
		display.wait()
	}
	if err != nil {
		return err
	}
	if opts.quiet {
		_, err = fmt.Fprintln(a.stdout, ref.String())
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s: digest: %s size: %d\n", ref.Tag, res.Digest, res.Size)
	return err
}
