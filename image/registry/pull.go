package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
)

// Progress is one step of a transfer, for the command line to show as
// Docker does: one line, or one bar, per layer.
type Progress struct {
	// ID is the layer's short digest (12 hex digits).
	ID string
	// Status is Docker's word for the step: "Pulling fs layer",
	// "Waiting", "Downloading", "Verifying Checksum", "Download complete",
	// "Extracting", "Pull complete", "Already exists"; for a push
	// "Preparing", "Pushing", "Pushed", "Layer already exists",
	// "Mounted from <repository>".
	Status string
	// Current and Total count the layer's bytes while it moves.
	Current, Total int64
}

// PullOptions tune [Client.Pull].
type PullOptions struct {
	// Platform picks the manifest from an index; zero means this machine.
	Platform Platform
	// Progress, when set, is told each step. Calls never overlap.
	Progress func(Progress)
}

// PullResult is what [Client.Pull] did.
type PullResult struct {
	// Image is the pulled image as the store lists it.
	Image *image.Image
	// Digest is the registry's digest of what the reference names: the
	// index, for a multi-platform image, else the manifest.
	Digest digest.Digest
	// UpToDate is true when the store had the image under this name.
	UpToDate bool
}

// Parallel is how many layers move at once, as Docker's default.
const Parallel = 3

// maxConfigSize bounds an image config, which is read into memory.
const maxConfigSize = 16 << 20

// Pull downloads the image ref names into s and names it ref (unless ref
// names a digest only). Steps, as the distribution spec has them:
//
//  1. GET the manifest by tag or digest, with Accept listing the types
//     skiff reads; an index leads to the manifest for the platform.
//  2. GET the config blob; its rootfs.diff_ids name the layers' content.
//  3. GET each layer blob the store lacks, Parallel at a time, unpacking
//     it as it arrives, checking digest, size and diffID.
//  4. Store the manifest byte for byte and name the image.
//
// Nothing is named unless every check passed.
func (c *Client) Pull(ctx context.Context, s *image.Store, ref image.Reference,
	opts PullOptions) (*PullResult, error) {

	if opts.Platform == (Platform{}) {
		opts.Platform = HostPlatform()
	}
	rp, err := c.repository(ctx, ref, pullScope(ref.Path))
	if err != nil {
		return nil, err
	}

	reference := ref.Tag
	if ref.Digest != "" {
		reference = ref.Digest.String()
	}
	top, err := rp.fetchManifest(ctx, reference, nil)
	if err != nil {
		return nil, err
	}
	m, err := rp.resolve(ctx, top, opts.Platform)
	if err != nil {
		return nil, err
	}

	var tags []image.Reference
	if ref.Tag != "" {
		tags = []image.Reference{{Domain: ref.Domain, Path: ref.Path, Tag: ref.Tag}}
	}
	p := &puller{rp: rp, s: s, progress: opts.Progress}
	img, upToDate, err := p.pull(ctx, m, tags)
	if err != nil {
		return nil, err
	}
	return &PullResult{Image: img, Digest: top.digest, UpToDate: upToDate}, nil
}

// puller pulls one image manifest's content into a store.
type puller struct {
	rp *repository
	s  *image.Store
	in *image.Ingest

	mu       sync.Mutex // serializes progress calls
	progress func(Progress)
}

func (p *puller) report(id, status string, current, total int64) {
	if p.progress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress(Progress{ID: id, Status: status, Current: current, Total: total})
}

// pull stores what m names and names it with tags. An image the store
// has already, under every one of tags, is up to date.
func (p *puller) pull(ctx context.Context, m *manifest, tags []image.Reference) (
	img *image.Image, upToDate bool, err error) {

	im, err := parseImageManifest(m)
	if err != nil {
		return nil, false, err
	}
	in, err := p.s.NewIngest()
	if err != nil {
		return nil, false, err
	}
	defer func() { err = errors.Join(err, in.Close()) }()
	p.in = in

	existing, _ := p.s.Lookup("image@" + m.digest.String())
	if existing == nil {
		if err := p.pullContent(ctx, im); err != nil {
			return nil, false, err
		}
	}
	img, err = in.Commit(m.data, m.mediaType, tags)
	if err != nil {
		return nil, false, err
	}
	return img, existing != nil && hasTags(existing, tags), nil
}

func hasTags(img *image.Image, tags []image.Reference) bool {
	for _, want := range tags {
		found := false
		for _, t := range img.Tags {
			found = found || t == want
		}
		if !found {
			return false
		}
	}
	return true
}

// pullContent fetches the config and every layer the store lacks.
func (p *puller) pullContent(ctx context.Context, im *imageManifest) error {
	config, err := p.rp.fetchSmallBlob(ctx, im.Config, maxConfigSize)
	if err != nil {
		return fmt.Errorf("get config of %s: %w", p.rp.path, err)
	}
	diffIDs, err := image.ConfigDiffIDs(config, len(im.Layers))
	if err != nil {
		return fmt.Errorf("read config %s: %w", im.Config.Digest, err)
	}
	if err := p.pullLayers(ctx, im.Layers, diffIDs); err != nil {
		return err
	}
	// The config goes in last: a pull that fails leaves nothing but the
	// layers it completed, which the next pull can use.
	return p.in.AddBlob(config, im.Config)
}

// layerJob is one layer to download.
type layerJob struct {
	desc   ocispec.Descriptor
	diffID digest.Digest
	id     string
}

// pullLayers reports what is there and downloads the rest, Parallel at a
// time. The first failure cancels the others.
func (p *puller) pullLayers(ctx context.Context, layers []ocispec.Descriptor,
	diffIDs []digest.Digest) error {

	jobs := p.plan(layers, diffIDs)

	return inParallel(ctx, len(jobs), func(ctx context.Context, i int) error {
		return p.pullLayer(ctx, jobs[i])
	})
}

// plan says, in order, which layers exist and which must come, and returns
// those, each blob once. As Docker says it, a layer "Already exists" when
// it and every layer below it are in the store.
func (p *puller) plan(layers []ocispec.Descriptor, diffIDs []digest.Digest) []layerJob {
	var jobs []layerJob
	seen := map[digest.Digest]bool{}
	below := true
	for i, layer := range layers {
		id := shortDigest(layer.Digest)
		below = below && p.in.HasLayer(layer, diffIDs[i])
		if seen[layer.Digest] {
			continue
		}
		seen[layer.Digest] = true
		if below {
			p.report(id, "Already exists", 0, 0)
			continue
		}
		p.report(id, "Pulling fs layer", 0, layer.Size)
		jobs = append(jobs, layerJob{desc: layer, diffID: diffIDs[i], id: id})
	}
	for _, job := range jobs[min(Parallel, len(jobs)):] {
		p.report(job.id, "Waiting", 0, job.desc.Size)
	}
	return jobs
}

// pullLayer streams one layer from the registry into the store: the
// extraction runs while the bytes arrive.
func (p *puller) pullLayer(ctx context.Context, job layerJob) error {
	total := job.desc.Size
	body := p.rp.openBlob(ctx, job.desc, func(status string, current int64) {
		p.report(job.id, status, current, total)
		// The unpacking has been running all along; what is left of it
		// (the last files, the flush to disk) follows the download.
		if status == "Download complete" {
			p.report(job.id, "Extracting", current, total)
		}
	})
	defer body.Close()

	err := p.in.AddLayer(body, job.desc, job.diffID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pull layer %s of %s: %w", job.id, p.rp.path, err)
	}
	p.report(job.id, "Pull complete", total, total)
	return nil
}

// shortDigest is the 12 hex digits Docker shows for a layer.
func shortDigest(d digest.Digest) string {
	e := d.Encoded()
	return e[:min(12, len(e))]
}

// Tags lists the tags of the repository ref names: GET
// /v2/<name>/tags/list, following Link headers page by page.
func (c *Client) Tags(ctx context.Context, ref image.Reference) ([]string, error) {
	rp, err := c.repository(ctx, ref, pullScope(ref.Path))
	if err != nil {
		return nil, err
	}
	var tags []string
	err = rp.r.pages(ctx, rp.scopes, "/v2/"+rp.path+"/tags/list", func(body io.Reader) error {
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.NewDecoder(body).Decode(&page); err != nil {
			return err
		}
		tags = append(tags, page.Tags...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", ref.Name(), err)
	}
	return tags, nil
}
