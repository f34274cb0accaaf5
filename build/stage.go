package build

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/image"
)

// stageState is where a stage is: the image of its last step and that
// image's run config, and what the Dockerfile declared so far.
type stageState struct {
	stage *dockerfile.Stage
	// img is the image of the last step; nil while the stage is FROM
	// scratch with no step yet.
	img *image.Image
	cfg runConfig
	// args are the ARGs declared in this stage, in order.
	args []argValue
	// cmdSet says CMD was set in this stage: ENTRYPOINT then keeps it.
	cmdSet bool
	// maintainer is MAINTAINER's author, for every image after it.
	maintainer string
	// cacheBusted is set at the first step the cache did not have: every
	// step after it is built again, as in the classic builder.
	cacheBusted bool
}

// argValue is one declared ARG and its value, if it has one.
type argValue struct {
	name, value string
	set         bool
}

// step is what a build step does, worked out before it is done, so that
// the cache can be asked first.
type step struct {
	// createdBy is the instruction after substitution: the history line of
	// the image, and the heart of the cache key.
	createdBy string
	// cfg is the run config of the image the step makes.
	cfg runConfig
	// sources is the digest of what COPY or ADD reads ("" for others).
	sources digest.Digest
}

// buildStage builds one stage: FROM, the base image's ONBUILD triggers,
// then each instruction. It returns the stage's last image.
func (r *buildRun) buildStage(stage *dockerfile.Stage) (*image.Image, error) {
	r.stepLine(stage.From)
	st, err := r.from(stage)
	if err != nil {
		return nil, r.stepError(stage.From, err)
	}
	if err := r.stepError(stage.From, r.triggers(st)); err != nil {
		return nil, err
	}
	for _, in := range stage.Instructions {
		if err := r.ctx.Err(); err != nil {
			return nil, fmt.Errorf("build interrupted: %w", err)
		}
		r.stepLine(in)
		err := r.instruction(st, in)
		err = errors.Join(err, r.releaseViews())
		if err != nil {
			return nil, r.stepError(in, err)
		}
	}
	return st.img, nil
}

// from starts a stage on its base: nothing for scratch, an earlier stage's
// image, or an image of the store (pulled if missing and Pull is set).
func (r *buildRun) from(stage *dockerfile.Stage) (*stageState, error) {
	ref, err := dockerfile.ExpandWord(stage.From.Args[0], r.df.Escape, r.metaLookup)
	if err != nil {
		return nil, err
	}
	platform, _ := stage.From.Flag("platform")
	if platform, err = dockerfile.ExpandWord(platform, r.df.Escape, r.metaLookup); err != nil {
		return nil, err
	}

	st := &stageState{stage: stage}
	switch earlier := r.df.Stage(ref, stage.Index); {
	case strings.ToLower(ref) == "scratch":
	case earlier != nil && earlier.Name == strings.ToLower(ref):
		st.img = r.stageImages[earlier.Index]
	case ref == "":
		return nil, errors.New("FROM names no image (is an ARG empty?)")
	default:
		if st.img, err = r.baseImage(ref, platform); err != nil {
			return nil, err
		}
	}
	if st.img != nil {
		r.printf(" ---> %s\n", st.img.ShortID())
	}
	st.cfg, err = r.readConfig(st.img)
	return st, err
}

// baseImage finds a FROM image in the store, or pulls it.
func (r *buildRun) baseImage(ref, platform string) (*image.Image, error) {
	img, err := r.b.images.Lookup(ref)
	if errors.Is(err, image.ErrNotFound) && r.opts.Pull != nil {
		img, err = r.opts.Pull(r.ctx, ref, platform, r.out)
	}
	if err != nil {
		return nil, fmt.Errorf("find image %q: %w", ref, err)
	}
	r.images[img.ID] = img
	return img, nil
}

// triggers runs the ONBUILD instructions the base image recorded, right
// after FROM, as Docker does; the new images do not inherit them.
func (r *buildRun) triggers(st *stageState) error {
	triggers := st.cfg.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	st.cfg.OnBuild = nil
	r.printf("# Executing %d build trigger%s\n", len(triggers), plural(len(triggers)))
	for _, text := range triggers {
		in, err := dockerfile.ParseInstruction(text, r.df.Name, st.stage.From.Line, r.df.Escape)
		if err != nil {
			return fmt.Errorf("parse ONBUILD trigger %q: %w", text, err)
		}
		err = errors.Join(r.instruction(st, in), r.releaseViews())
		if err != nil {
			return fmt.Errorf("run ONBUILD trigger %q: %w", text, err)
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// instruction does one step.
func (r *buildRun) instruction(st *stageState, in *dockerfile.Instruction) error {
	switch in.Keyword {
	case "RUN":
		return r.run(st, in)
	case "COPY", "ADD":
		return r.copy(st, in)
	case "WORKDIR":
		return r.workdir(st, in)
	}
	s, err := r.metadata(st, in)
	if err != nil {
		return err
	}
	return r.finish(st, s, nil)
}

// key is the cache key of a step in a stage.
func (r *buildRun) key(st *stageState, s step) cacheKey {
	k := cacheKey{step: s.createdBy, args: st.argsInEffect(), sources: s.sources}
	if st.img != nil {
		k.parent = st.img.ID
	}
	if !r.opts.SourceDateEpoch.IsZero() {
		k.epoch = r.opts.SourceDateEpoch.Unix()
	}
	return k
}

// cached looks the step up in the cache. On a hit it moves the stage to the
// image found and says so (" ---> Using cache"); on the first miss it stops
// asking for the rest of the stage. An image recorded but since removed
// is a miss.
func (r *buildRun) cached(st *stageState, k cacheKey) (bool, error) {
	if r.opts.NoCache || st.cacheBusted {
		return false, nil
	}
	key := k.String()
	id, ok := r.cache.get(key)
	img := r.images[id]
	if !ok || img == nil || img.Parent != k.parent {
		explain.Step(r.b.log, explain.BuildCache,
			"no image made by this step on this parent: it runs, and so do all after it",
			"cache lookup %.19s (parent %s, %q) → miss", key, shortOrScratch(k.parent), k.step)
		st.cacheBusted = true
		return false, nil
	}
	explain.Step(r.b.log, explain.BuildCache,
		"the same step on the same parent made this image before: it is reused",
		"cache lookup %.19s (parent %s, %q) → hit %s", key, shortOrScratch(k.parent), k.step,
		img.ID)
	r.printf(" ---> Using cache\n")
	return true, r.advance(st, img)
}

// finish does a step that the cache may have: if not, it commits the new
// image, with the layer that writeLayer writes (nil for none).
func (r *buildRun) finish(st *stageState, s step, writeLayer func(io.Writer) error) error {
	k := r.key(st, s)
	if hit, err := r.cached(st, k); hit || err != nil {
		return err
	}
	return r.commit(st, s, k, writeLayer)
}

// commit makes the step's image on top of the stage's, records it in the
// cache, and moves the stage to it.
func (r *buildRun) commit(st *stageState, s step, k cacheKey,
	writeLayer func(io.Writer) error) error {

	img, err := r.newImage(st, s, writeLayer)
	if err != nil {
		return err
	}
	return r.record(st, k, img)
}

// newImage makes the step's image on top of the stage's. The layer is
// written by writeLayer on one goroutine while the store reads it on
// another: no temporary file, however large the layer. A nil writeLayer
// makes an image without a new layer.
func (r *buildRun) newImage(st *stageState, s step,
	writeLayer func(io.Writer) error) (*image.Image, error) {

	extra, err := s.cfg.extra()
	if err != nil {
		return nil, err
	}
	opts := image.CommitOptions{
		Config: &s.cfg.ImageConfig, ConfigExtra: extra, CreatedBy: s.createdBy,
		Author: st.maintainer, Created: r.created(), EmptyLayer: writeLayer == nil,
	}

	var layer io.Reader
	var wg sync.WaitGroup
	if writeLayer != nil {
		pr, pw := io.Pipe()
		defer wg.Wait()
		defer pr.CloseWithError(errors.New("commit ended"))
		wg.Go(func() { pw.CloseWithError(writeLayer(pw)) })
		layer = pr
	}
	img, err := r.b.images.Commit(st.img, layer, opts)
	if err != nil {
		return nil, err
	}
	r.b.log.Info("build step committed", "image_id", img.ID, "created_by", s.createdBy)
	why := "the step's changes, as a layer on top of the image before it"
	if writeLayer == nil {
		why = "the step changes only the config: a new image, no new layer"
	}
	explain.Step(r.b.log, explain.BuildCache, why, "commit %q → image %s, parent %s",
		s.createdBy, img.ID, shortOrScratch(img.Parent))
	return img, nil
}

// record remembers in the cache that the step with key k made img, and
// moves the stage to it.
func (r *buildRun) record(st *stageState, k cacheKey, img *image.Image) error {
	if err := r.cache.put(k.String(), img.ID); err != nil {
		return err
	}
	return r.advance(st, img)
}

// advance moves the stage to img, the image of the step just done.
func (r *buildRun) advance(st *stageState, img *image.Image) error {
	cfg, err := r.readConfig(img)
	if err != nil {
		return err
	}
	st.img, st.cfg = img, cfg
	r.images[img.ID] = img
	r.printf(" ---> %s\n", img.ShortID())
	return nil
}

// platformArgs are the ARGs BuildKit defines on its own, for this machine:
// a stage sees them after "ARG TARGETARCH" and the like.
func platformArgs() map[string]string {
	platform := "linux/" + runtime.GOARCH
	return map[string]string{
		"TARGETPLATFORM": platform, "TARGETOS": "linux", "TARGETARCH": runtime.GOARCH,
		"TARGETVARIANT": "", "BUILDPLATFORM": platform, "BUILDOS": "linux",
		"BUILDARCH": runtime.GOARCH, "BUILDVARIANT": "",
	}
}

// shortOrScratch names an image by its short ID, or "scratch" for none.
func shortOrScratch(id digest.Digest) string {
	if id == "" {
		return "scratch"
	}
	return id.Encoded()[:12]
}
