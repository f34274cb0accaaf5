package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// pullOptions are the flags of skiff pull.
type pullOptions struct {
	allTags  bool
	quiet    bool
	platform string
}

// newPullCommand builds "skiff pull".
func newPullCommand(name string, also ...string) *command {
	var opts pullOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Download an image from a registry",
		usage:   "[OPTIONS] NAME[:TAG|@DIGEST]",
		example: "skiff pull busybox\nskiff pull --platform linux/arm64 127.0.0.1:5000/app:1.0\n" +
			"skiff pull -a 127.0.0.1:5000/app",
		args:  argRule{min: 1, max: 1},
		flags: newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.allTags, "all-tags", "a", false,
		"Download all tagged images in the repository")
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	c.flags.StringVar(&opts.platform, "platform", "",
		"Set platform if server is multi-platform capable (os/arch[/variant])")
	c.run = func(a *app, args []string) error { return runPull(a, opts, args[0]) }
	return c
}

// signalContext returns a context cancelled by Ctrl-C (SIGINT) or SIGTERM,
// so that a transfer stops cleanly: the store keeps nothing half-made.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runPull(a *app, opts pullOptions, rawRef string) error {
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		return err
	}
	if opts.allTags && (ref.Digest != "" || hasTag(rawRef)) {
		return &usageError{path: "skiff pull",
			err: errors.New("tag can't be used with --all-tags/-a")}
	}
	var platform registry.Platform
	if opts.platform != "" {
		if platform, err = registry.ParsePlatform(opts.platform); err != nil {
			return &usageError{path: "skiff pull", err: err}
		}
	}

	s, err := a.openStore()
	if err != nil {
		return err
	}
	client, _, err := a.registryClient()
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()

	w := a.stdout
	if opts.quiet {
		w = io.Discard
	}
	if opts.allTags {
		return pullAllTags(ctx, a, s, client, ref, w, platform)
	}
	if !hasTag(rawRef) && ref.Digest == "" {
		fmt.Fprintf(w, "Using default tag: %s\n", ref.Tag)
	}
	if _, err := pullImage(ctx, s, client, ref, w, platform); err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, ref.String())
	return err
}

// hasTag reports whether rawRef names a tag: a ':' after the last '/'
// and before any '@'.
func hasTag(rawRef string) bool {
	name, _, _ := strings.Cut(rawRef, "@")
	return strings.LastIndexByte(name, ':') > strings.LastIndexByte(name, '/')
}

// pullAllTags pulls every tag of the repository, as docker pull -a.
func pullAllTags(ctx context.Context, a *app, s *image.Store, client *registry.Client,
	ref image.Reference, w io.Writer, platform registry.Platform) error {

	tags, err := client.Tags(ctx, ref)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return fmt.Errorf("pull %s: the repository has no tags", ref.Name())
	}
	repo := image.Reference{Domain: ref.Domain, Path: ref.Path}
	upToDate := true
	for _, tag := range tags {
		ref.Tag = tag
		res, err := pullQuietly(ctx, s, client, ref, w, platform)
		if err != nil {
			return err
		}
		upToDate = upToDate && res.UpToDate
	}
	status := "Downloaded newer image for"
	if upToDate {
		status = "Image is up to date for"
	}
	fmt.Fprintf(w, "Status: %s %s\n", status, repo.FamiliarName())
	_, err = fmt.Fprintln(a.stdout, repo.Name())
	return err
}

// pullImage pulls the image ref names into s and writes Docker's lines to
// w: "latest: Pulling from library/busybox", one line (or, on a terminal,
// one bar) per layer, the digest and the status. skiff pull prints the
// image's full name after it; skiff run calls it when the image it is to
// run is not in the store, as docker run does.
func pullImage(ctx context.Context, s *image.Store, client *registry.Client,
	ref image.Reference, w io.Writer, platform registry.Platform) (*image.Image, error) {

	res, err := pullQuietly(ctx, s, client, ref, w, platform)
	if err != nil {
		return nil, err
	}
	status := "Downloaded newer image for"
	if res.UpToDate {
		status = "Image is up to date for"
	}
	fmt.Fprintf(w, "Status: %s %s\n", status, ref.FamiliarString())
	return res.Image, nil
}

// pullQuietly is pullImage without the closing status line, which pull -a
// prints once for all tags.
func pullQuietly(ctx context.Context, s *image.Store, client *registry.Client,
	ref image.Reference, w io.Writer, platform registry.Platform) (*registry.PullResult, error) {

	// As Docker, say where the image comes from once the registry has
	// answered with a manifest: before the first layer's line.
	what := ref.Tag
	if ref.Digest != "" {
		what = ref.Digest.String()
	}
	var header sync.Once
	printHeader := func() { fmt.Fprintf(w, "%s: Pulling from %s\n", what, ref.Path) }

	display := newProgressDisplay(w)
	res, err := client.Pull(ctx, s, ref, registry.PullOptions{
		Platform: platform,
		Progress: func(p registry.Progress) {
			header.Do(printHeader)
			display.update(p)
		},
	})
	display.wait()
	if err != nil {
		return nil, pullError(ctx, err)
	}
	header.Do(printHeader)
	fmt.Fprintf(w, "Digest: %s\n", res.Digest)
	return res, nil
}

// pullError says what an interrupted pull left behind; other errors pass
// unchanged.
func pullError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return errors.New("pull interrupted: no image was named; the layers already " +
			"downloaded are kept for the next pull")
	}
	return err
}
