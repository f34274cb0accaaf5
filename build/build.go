package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
)

// Options are what one build is asked to do: the flags of skiff build.
type Options struct {
	// ContextDir is the build context, the directory COPY and ADD read
	// from; "" means there is none (a Dockerfile from standard input).
	ContextDir string
	// Dockerfile is the Dockerfile's text. DockerfileName is its name in
	// errors: "Dockerfile" unless -f named another file.
	Dockerfile     []byte
	DockerfileName string
	// Tags name the image built (-t); each is a reference without digest.
	Tags []string
	// BuildArgs are --build-arg values, for the ARGs of the Dockerfile.
	BuildArgs map[string]string
	// NoCache builds every step again, even those the cache has.
	NoCache bool
	// Target names the stage to build; "" builds up to the last one.
	Target string
	// Network is the network of RUN steps, as for a container: "" or
	// "bridge" (the default), "host", "none", or a network's name.
	Network string
	// Output receives the build's progress in the classic builder's words
	// ("Step 2/4 : RUN make") and what RUN steps print; nil discards it.
	Output io.Writer
	// SourceDateEpoch, when not zero, is the creation time of every image
	// made and the latest modification time in every layer made, so that
	// the same inputs give the same image ID (reproducible builds).
	SourceDateEpoch time.Time
	// Pull, when set, fetches a FROM image that is not in the store;
	// platform is FROM's --platform ("" for this machine's).
	Pull func(ctx context.Context, rawRef, platform string, out io.Writer) (*image.Image, error)
}

// Builder builds images from Dockerfiles into the store its containers
// are made from. RUN steps run as containers of that store.
type Builder struct {
	images     *image.Store
	containers *container.Store
	log        *slog.Logger
}

// New returns a builder working on containers' stores. log receives debug
// lines for each mount and container; nil discards them.
func New(containers *container.Store, log *slog.Logger) *Builder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Builder{images: containers.Images(), containers: containers, log: log}
}

// StepError is a build step that failed: it names the Dockerfile and the
// line of the instruction.
type StepError struct {
	File string
	Line int
	Err  error
}

// Error returns "Dockerfile:LINE: cause".
func (e *StepError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// ExitError is a RUN step whose command exited with a non-zero code; the
// build exits with that code too.
type ExitError struct {
	Args []string
	Code int
}

// Error returns the classic builder's sentence.
func (e *ExitError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d",
		strings.Join(e.Args, " "), e.Code)
}

// ExitCode returns the command's exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Check parses a Dockerfile and reports every problem that can be found
// without building, as an [dockerfile.ErrorList] of "Dockerfile:LINE:
// message" lines (skiff build --check).
func Check(data []byte, name string) error {
	_, err := dockerfile.Parse(bytes.NewReader(data), name)
	return err
}

// Build builds the image a Dockerfile describes and tags it.
//
// The Dockerfile is parsed and checked first, with the tags, the target
// and the network: if anything is wrong, nothing runs. Then the stages up
// to the target are built in order, each instruction a step that makes an
// intermediate image on top of the previous one: with a layer for RUN,
// COPY, ADD (and WORKDIR when it creates a directory), without one for the
// instructions that only change the config. A step whose inputs the cache
// knows reuses the image it made before. The last stage's image gets the
// tags.
//
// When a step fails, the images of the steps before it stay (they are the
// cache of the next try), nothing is tagged, and no container or layer of
// the failed step is left. The error is a [*StepError]; a RUN command that
// failed is an [*ExitError] inside it.
func (b *Builder) Build(ctx context.Context, opts Options) (_ *image.Image, err error) {
	if opts.DockerfileName == "" {
		opts.DockerfileName = "Dockerfile"
	}
	df, err := dockerfile.Parse(bytes.NewReader(opts.Dockerfile), opts.DockerfileName)
	if err != nil {
		return nil, err
	}
	plan, err := makePlan(df, opts)
	if err != nil {
		return nil, err
	}

	r, err := b.start(ctx, df, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, r.close()) }()

	img, err := r.build(plan)
	if err != nil {
		return nil, err
	}
	return img, r.tag(img, plan.tags)
}

// plan is what Build checks before it starts: the stages to build and the
// tags to give the result.
type plan struct {
	stages []*dockerfile.Stage
	tags   []image.Reference
	steps  int
}

// makePlan picks the stages up to the target, counts the steps (the meta
// ARGs, then each stage's FROM and instructions, as the classic builder
// numbers them) and checks the tags and the network.
func makePlan(df *dockerfile.Dockerfile, opts Options) (*plan, error) {
	p := &plan{stages: df.Stages, steps: len(df.MetaArgs)}
	if opts.Target != "" {
		st := df.Stage(opts.Target, len(df.Stages))
		if st == nil || st.Name != strings.ToLower(opts.Target) {
			return nil, fmt.Errorf("target stage %q could not be found", opts.Target)
		}
		p.stages = df.Stages[:st.Index+1]
	}
	for _, st := range p.stages {
		p.steps += 1 + len(st.Instructions)
	}

	for _, raw := range opts.Tags {
		ref, err := image.ParseReference(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", raw, err)
		}
		if ref.Digest != "" {
			return nil, fmt.Errorf("invalid tag %q: a tag cannot name a digest", raw)
		}
		p.tags = append(p.tags, ref)
	}
	return p, nil
}

// build runs the meta ARGs and the stages, and returns the last stage's
// image.
func (r *buildRun) build(p *plan) (*image.Image, error) {
	r.steps = p.steps
	if err := r.sendContext(); err != nil {
		return nil, err
	}
	for _, in := range r.df.MetaArgs {
		r.stepLine(in)
		if err := r.stepError(in, r.metaArg(in)); err != nil {
			return nil, err
		}
	}

	var img *image.Image
	for _, st := range p.stages {
		var err error
		if img, err = r.buildStage(st); err != nil {
			return nil, err
		}
		r.stageImages[st.Index] = img
	}
	r.warnUnusedArgs()
	if img == nil {
		return nil, errors.New("no image was generated: the last stage is FROM scratch " +
			"with no instructions")
	}
	r.printf("Successfully built %s\n", img.ShortID())
	return img, nil
}

// tag gives the image its names, once everything else succeeded.
func (r *buildRun) tag(img *image.Image, tags []image.Reference) error {
	for _, ref := range tags {
		if err := r.b.images.Tag(img.ID.String(), ref.String()); err != nil {
			return fmt.Errorf("tag image %s as %q: %w", img.ShortID(), ref.FamiliarString(), err)
		}
		r.printf("Successfully tagged %s\n", ref.FamiliarString())
	}
	return nil
}

// printf writes one line of progress.
func (r *buildRun) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format, args...)
}

// stepLine prints "Step N/M : INSTRUCTION", the instruction as written.
func (r *buildRun) stepLine(in *dockerfile.Instruction) {
	r.step++
	r.printf("Step %d/%d : %s\n", r.step, r.steps, in.Original)
}

// stepError names the instruction's line in err, unless it is nil or
// already names one.
func (r *buildRun) stepError(in *dockerfile.Instruction, err error) error {
	var stepErr *StepError
	if err == nil || errors.As(err, &stepErr) {
		return err
	}
	return &StepError{File: r.df.Name, Line: in.Line, Err: err}
}
