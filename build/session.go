package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/image"
)

// buildRun is the state of one Build, from start to close.
type buildRun struct {
	b    *Builder
	ctx  context.Context
	df   *dockerfile.Dockerfile
	opts Options
	out  io.Writer

	// step counts the steps printed so far, of steps.
	step, steps int
	// images are the store's images by ID, read once and kept up to date
	// with the images this build makes: the cache's hits are looked up here.
	images map[digest.Digest]*image.Image
	// stageImages is the image each stage built, by stage index (nil for a
	// stage that is FROM scratch and nothing else).
	stageImages map[int]*image.Image
	// meta holds the values of the ARGs before the first FROM (and the
	// automatic platform ARGs), which FROM lines see.
	meta map[string]string
	// usedArgs are the --build-arg names some ARG declared.
	usedArgs map[string]bool

	cache   *cache
	context *tree
	// work is this build's scratch directory (downloads), removed at the end.
	work string
	// views are the read-only mounts of images made during the current step.
	views []*view
}

// start prepares a build: the build context and its .dockerignore, the
// cache, a scratch directory, and the list of images.
func (b *Builder) start(ctx context.Context, df *dockerfile.Dockerfile,
	opts Options) (*buildRun, error) {

	r := &buildRun{
		b: b, ctx: ctx, df: df, opts: opts, out: opts.Output,
		stageImages: map[int]*image.Image{}, meta: platformArgs(), usedArgs: map[string]bool{},
		cache: &cache{dir: filepath.Join(b.images.Root(), cacheDir)},
	}
	if r.out == nil {
		r.out = io.Discard
	}

	if err := r.cache.init(b.log); err != nil {
		return nil, err
	}
	work, err := r.cache.newWorkDir()
	if err != nil {
		return nil, err
	}
	r.work = work

	if opts.ContextDir != "" {
		if r.context, err = openContext(opts.ContextDir); err != nil {
			return nil, errors.Join(err, r.close())
		}
	}
	images, err := b.images.Images()
	if err != nil {
		return nil, errors.Join(err, r.close())
	}
	r.images = make(map[digest.Digest]*image.Image, len(images))
	for _, img := range images {
		r.images[img.ID] = img
	}
	return r, nil
}

// close unmounts what the build mounted and removes its scratch directory.
func (r *buildRun) close() error {
	err := r.releaseViews()
	if r.work != "" {
		err = errors.Join(err, os.RemoveAll(r.work))
	}
	return err
}

// sendContext prints the size of the build context as the classic builder
// does ("Sending build context to Docker daemon  2.048kB"), though here
// nothing is sent: skiff reads the context where it is.
func (r *buildRun) sendContext() error {
	if r.context == nil {
		return nil
	}
	size, err := r.context.tarSize()
	if err != nil {
		return err
	}
	r.printf("Sending build context to skiff  %s\n", humanSize(size))
	return nil
}

// created returns the time a new image is stamped with.
func (r *buildRun) created() time.Time {
	if !r.opts.SourceDateEpoch.IsZero() {
		return r.opts.SourceDateEpoch.UTC()
	}
	return time.Now().UTC()
}

// clamp returns the latest modification time a layer may record: the
// SOURCE_DATE_EPOCH, or zero for no limit.
func (r *buildRun) clamp() time.Time { return r.opts.SourceDateEpoch }

// warnUnusedArgs says which --build-arg values no ARG asked for, as the
// classic builder does; the proxy variables do not need an ARG.
func (r *buildRun) warnUnusedArgs() {
	var unused []string
	for name := range r.opts.BuildArgs {
		if !r.usedArgs[name] && !proxyArgs[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		r.printf("[Warning] One or more build-args %v were not consumed\n", unused)
	}
}

// humanSize formats a size as Docker's progress does: decimal units with
// four significant digits, "2.048kB".
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	return fmt.Sprintf("%.4g%s", v, units[u])
}
