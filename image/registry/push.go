package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
)

// PushOptions tune [Client.Push].
type PushOptions struct {
	// Progress, when set, is told each step. Calls never overlap.
	Progress func(Progress)
}

// PushResult is what the registry answered to the manifest.
type PushResult struct {
	// Digest is the manifest's digest; Size its length in bytes.
	Digest digest.Digest
	Size   int64
}

// Push uploads the image img of s to the repository and tag that ref
// names. Steps, as the distribution spec has them:
//
//  1. For each blob (the layers, then the config): HEAD it; a registry
//     that has it already needs nothing more.
//  2. Else, if another repository of the same registry holds it (as far
//     as the store's tags say), ask for a cross-repository mount: POST
//     /blobs/uploads/?mount=<digest>&from=<repo>.
//  3. Else upload it: POST /blobs/uploads/ opens a session, then one PUT
//     with the whole blob, or PATCHes of ChunkSize and a closing PUT.
//  4. PUT the manifest, byte for byte as the store has it, under the tag.
func (c *Client) Push(ctx context.Context, s *image.Store, img *image.Image,
	ref image.Reference, opts PushOptions) (*PushResult, error) {

	if ref.Tag == "" {
		return nil, fmt.Errorf("push %s: name a tag to push to", ref)
	}
	manifest, err := s.ReadBlob(img.Digest)
	if err != nil {
		return nil, err
	}
	rp, err := c.repository(ctx, ref, pushScope(ref.Path))
	if err != nil {
		return nil, err
	}
	p := &pusher{rp: rp, s: s, progress: opts.Progress, mounts: mountSources(s, ref)}

	if err := p.pushLayers(ctx, img.Manifest.Layers); err != nil {
		return nil, err
	}
	if _, err := p.pushBlob(ctx, img.Manifest.Config, ""); err != nil {
		return nil, fmt.Errorf("push config of %s: %w", ref, err)
	}
	mediaType := img.ManifestMediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	if err := p.putManifest(ctx, ref.Tag, manifest, mediaType); err != nil {
		return nil, err
	}
	return &PushResult{Digest: img.Digest, Size: int64(len(manifest))}, nil
}

// pusher uploads one image's blobs to a repository.
type pusher struct {
	rp *repository
	s  *image.Store

	// mounts lists, per blob digest, the other repositories of the same
	// registry known to hold it.
	mounts map[digest.Digest][]string

	mu       sync.Mutex
	progress func(Progress)
}

func (p *pusher) report(id, status string, current, total int64) {
	if p.progress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress(Progress{ID: id, Status: status, Current: current, Total: total})
}

// mountSources finds, in the store's tags, the repositories on ref's
// registry other than ref's own that hold each layer blob: images pulled
// from there or pushed there before.
//
// Limitation: Docker records each blob's source repositories as it pulls
// and pushes; the store's tags only know the images still tagged.
func mountSources(s *image.Store, ref image.Reference) map[digest.Digest][]string {
	mounts := map[digest.Digest][]string{}
	images, err := s.Images()
	if err != nil {
		return mounts
	}
	for _, img := range images {
		for _, tag := range img.Tags {
			if tag.Domain != ref.Domain || tag.Path == ref.Path {
				continue
			}
			for _, layer := range img.Manifest.Layers {
				if !slices.Contains(mounts[layer.Digest], tag.Path) {
					mounts[layer.Digest] = append(mounts[layer.Digest], tag.Path)
				}
			}
		}
	}
	return mounts
}

// pushLayers pushes the layers Parallel at a time, listed top layer first
// as Docker lists them.
func (p *pusher) pushLayers(ctx context.Context, layers []ocispec.Descriptor) error {
	var unique []ocispec.Descriptor
	for i := len(layers) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(unique, func(d ocispec.Descriptor) bool {
			return d.Digest == layers[i].Digest
		}) {
			unique = append(unique, layers[i])
		}
	}
	for _, layer := range unique {
		p.report(shortDigest(layer.Digest), "Preparing", 0, layer.Size)
	}
	for _, layer := range unique[min(Parallel, len(unique)):] {
		p.report(shortDigest(layer.Digest), "Waiting", 0, layer.Size)
	}

	return inParallel(ctx, len(unique), func(ctx context.Context, i int) error {
		layer := unique[i]
		id := shortDigest(layer.Digest)
		status, err := p.pushBlob(ctx, layer, id)
		if err != nil {
			return fmt.Errorf("push layer %s: %w", id, err)
		}
		p.report(id, status, layer.Size, layer.Size)
		return nil
	})
}

// pushBlob makes sure the registry has one blob, and returns Docker's word
// for how: "Layer already exists", "Mounted from <repo>" or "Pushed". id,
// when not "", names the blob in progress reports.
func (p *pusher) pushBlob(ctx context.Context, desc ocispec.Descriptor, id string) (string,
	error) {

	exists, err := p.rp.hasBlob(ctx, desc.Digest)
	if err != nil {
		return "", err
	}
	if exists {
		return "Layer already exists", nil
	}

	var lastErr error
	for attempt := 0; attempt <= p.rp.r.c.opts.Retries; attempt++ {
		if attempt > 0 {
			p.rp.r.c.log.Debug("retrying upload", "layer_digest", desc.Digest, "error", lastErr)
			if err := p.rp.r.c.pause(ctx, attempt-1); err != nil {
				return "", err
			}
		}
		status, err := p.uploadOnce(ctx, desc, id)
		if err == nil {
			return status, nil
		}
		lastErr = err
		var final *Error
		if ctx.Err() != nil || errors.As(err, &final) && final.StatusCode < 500 {
			return "", err
		}
	}
	return "", lastErr
}

// uploadOnce mounts or uploads a blob, in one session.
func (p *pusher) uploadOnce(ctx context.Context, desc ocispec.Descriptor, id string) (string,
	error) {

	// One mount is asked for: a registry that refuses it opens an upload
	// session instead, which is then used.
	if sources := p.mounts[desc.Digest]; len(sources) > 0 {
		location, mounted, err := p.rp.mount(ctx, desc.Digest, sources[0])
		if err != nil {
			return "", err
		}
		if mounted {
			return "Mounted from " + familiarPath(p.rp.r.domain, sources[0]), nil
		}
		return "Pushed", p.upload(ctx, location, desc, id)
	}
	location, err := p.rp.startUpload(ctx)
	if err != nil {
		return "", err
	}
	return "Pushed", p.upload(ctx, location, desc, id)
}

// familiarPath shows a repository as Docker does: library/busybox on
// docker.io is busybox.
func familiarPath(domain, path string) string {
	ref := image.Reference{Domain: domain, Path: path}
	if domain == image.DefaultDomain {
		return ref.FamiliarName()
	}
	return path
}

// hasBlob asks HEAD /v2/<name>/blobs/<digest>.
func (rp *repository) hasBlob(ctx context.Context, d digest.Digest) (bool, error) {
	resp, err := rp.r.doRetry(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodHead, rp.blobURL(d), nil)
	})
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, responseError(resp)
}

// mount asks the registry to link blob d from repository from into this
// one. 201 means done; 202 means it would not, and opened an upload
// session instead, whose location is returned.
func (rp *repository) mount(ctx context.Context, d digest.Digest, from string) (string, bool,
	error) {

	query := url.Values{"mount": {d.String()}, "from": {from}}
	u := rp.r.url("/v2/"+rp.path+"/blobs/uploads/") + "?" + query.Encode()
	// Mounting needs pull access to the source repository too.
	scopes := append(slices.Clone(rp.scopes), pullScope(from))
	resp, err := rp.r.do(ctx, scopes, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	})
	if err != nil {
		return "", false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		resp.Body.Close()
		return "", true, nil
	case http.StatusAccepted:
		resp.Body.Close()
		location, err := resolveLocation(resp)
		return location, false, err
	}
	return "", false, responseError(resp)
}

// startUpload opens an upload session: POST /v2/<name>/blobs/uploads/
// answers 202 with the session's URL in Location.
func (rp *repository) startUpload(ctx context.Context) (string, error) {
	u := rp.r.url("/v2/" + rp.path + "/blobs/uploads/")
	resp, err := rp.r.do(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", responseError(resp)
	}
	resp.Body.Close()
	return resolveLocation(resp)
}

// resolveLocation returns the Location header as an absolute URL: the
// spec lets it be relative to the request.
func resolveLocation(resp *http.Response) (string, error) {
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("read upload location: %w", err)
	}
	return loc.String(), nil
}

// upload sends the blob's bytes to the session at location and closes it
// with the digest, in one PUT or, with ChunkSize set, in PATCHes first.
func (p *pusher) upload(ctx context.Context, location string, desc ocispec.Descriptor,
	id string) error {

	blob, size, err := p.s.OpenBlob(desc.Digest)
	if err != nil {
		return err
	}
	defer blob.Close()
	if size != desc.Size {
		return fmt.Errorf("blob %s: %d bytes in the store, but the manifest says %d: %w",
			desc.Digest, size, desc.Size, image.ErrDigestMismatch)
	}
	var body io.Reader = blob
	if id != "" {
		body = &progressReader{r: blob, report: func(n int64) {
			p.report(id, "Pushing", n, size)
		}}
	}

	chunk := p.rp.r.c.opts.ChunkSize
	if chunk > 0 && size > chunk {
		if location, err = p.rp.patchChunks(ctx, location, body, size, chunk); err != nil {
			return err
		}
		return p.rp.finishUpload(ctx, location, desc.Digest, http.NoBody, 0)
	}
	return p.rp.finishUpload(ctx, location, desc.Digest, body, size)
}

// patchChunks sends the blob in chunks: PATCH <location> with
// Content-Range start-end; each answer (202) gives the next location.
func (rp *repository) patchChunks(ctx context.Context, location string, body io.Reader,
	size, chunk int64) (string, error) {

	for start := int64(0); start < size; start += chunk {
		n := min(chunk, size-start)
		part := io.LimitReader(body, n)
		resp, err := rp.r.do(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPatch, location, part)
			if err == nil {
				req.ContentLength = n
				req.Header.Set("Content-Type", "application/octet-stream")
				req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", start, start+n-1))
			}
			return req, err
		})
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusAccepted {
			return "", responseError(resp)
		}
		resp.Body.Close()
		if location, err = resolveLocation(resp); err != nil {
			return "", err
		}
	}
	return location, nil
}

// finishUpload closes an upload session: PUT <location>?digest=<digest>,
// with the rest of the bytes as body. The registry checks the digest and
// answers 201.
func (rp *repository) finishUpload(ctx context.Context, location string, d digest.Digest,
	body io.Reader, size int64) error {

	u, err := url.Parse(location)
	if err != nil {
		return fmt.Errorf("read upload location %q: %w", location, err)
	}
	query := u.Query()
	query.Set("digest", d.String())
	u.RawQuery = query.Encode()

	resp, err := rp.r.do(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
		if err == nil {
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return responseError(resp)
	}
	resp.Body.Close()
	return nil
}

// putManifest stores the manifest under tag: PUT /v2/<name>/manifests/<tag>
// with its media type as Content-Type. The registry answers with the
// digest it computed, which must be ours.
func (p *pusher) putManifest(ctx context.Context, tag string, manifest []byte,
	mediaType string) error {

	rp := p.rp
	u := rp.r.url("/v2/" + rp.path + "/manifests/" + tag)
	resp, err := rp.r.do(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(manifest))
		if err == nil {
			req.Header.Set("Content-Type", mediaType)
		}
		return req, err
	})
	if err != nil {
		return fmt.Errorf("put manifest %s: %w", rp.name(tag), err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("put manifest %s: %w", rp.name(tag), responseError(resp))
	}
	resp.Body.Close()

	want := digest.FromBytes(manifest)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want.String() {
		return fmt.Errorf("put manifest %s: the registry computed digest %s, not %s",
			rp.name(tag), got, want)
	}
	return nil
}

// progressReader reports how many bytes have passed through it.
type progressReader struct {
	r      io.Reader
	n      int64
	report func(n int64)
}

func (pr *progressReader) Read(p []byte) (int, error) {
	n, err := pr.r.Read(p)
	pr.n += int64(n)
	if n > 0 {
		pr.report(pr.n)
	}
	return n, err
}
