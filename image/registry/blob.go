package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
)

// repository is one repository of a registry, with the scopes its
// requests need.
type repository struct {
	r      *registry
	path   string // library/busybox
	scopes []string
}

// repository connects to the registry of ref and returns its repository.
func (c *Client) repository(ctx context.Context, ref image.Reference,
	scopes ...string) (*repository, error) {

	r, err := c.registry(ctx, ref.Domain)
	if err != nil {
		return nil, err
	}
	return &repository{r: r, path: ref.Path, scopes: scopes}, nil
}

// name returns the repository with a tag or digest, for messages.
func (rp *repository) name(reference string) string {
	sep := ":"
	if strings.Contains(reference, ":") {
		sep = "@"
	}
	return rp.r.domain + "/" + rp.path + sep + reference
}

// blobURL is where the registry serves a blob: GET /v2/<name>/blobs/<digest>.
func (rp *repository) blobURL(d digest.Digest) string {
	return rp.r.url("/v2/" + rp.path + "/blobs/" + d.String())
}

// fetchSmallBlob reads a blob that fits in memory, such as a config, and
// checks it against desc's digest and size.
func (rp *repository) fetchSmallBlob(ctx context.Context, desc ocispec.Descriptor,
	limit int64) ([]byte, error) {

	if desc.Size > limit {
		return nil, fmt.Errorf("blob %s: %d bytes is more than the %d allowed", desc.Digest,
			desc.Size, limit)
	}
	r := rp.openBlob(ctx, desc, nil)
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// blobReader streams one blob from a registry and checks it as it goes:
// never more bytes than the descriptor's size, and at the end the digest.
//
// When the transfer breaks (a reset connection, a body cut short, nothing
// received for StallTimeout), it asks again from where it stopped with a
// Range request, after a pause. The bytes before and after the break are
// one stream to the digest and to the reader's consumer, so the check at
// the end covers the whole blob. A server that ignores Range answers with
// the whole blob, and the bytes already read are skipped.
type blobReader struct {
	ctx      context.Context
	rp       *repository
	desc     ocispec.Descriptor
	progress func(status string, current int64)

	// sources are the URLs to try in turn: a foreign layer's own URLs,
	// then the registry.
	sources []string
	source  int

	body     io.ReadCloser
	cancel   context.CancelFunc // of the request that body belongs to
	watchdog *time.Timer
	offset   int64
	digester digest.Digester
	failures int
	err      error // sticky: io.EOF after a verified end, or the failure
}

// openBlob returns a reader of the blob desc. progress, when not nil, is
// told "Downloading" with the bytes so far, "Verifying Checksum" and
// "Download complete".
func (rp *repository) openBlob(ctx context.Context, desc ocispec.Descriptor,
	progress func(status string, current int64)) *blobReader {

	if progress == nil {
		progress = func(string, int64) {}
	}
	b := &blobReader{ctx: ctx, rp: rp, desc: desc, progress: progress,
		digester: digest.Canonical.Digester()}
	if isForeign(desc) {
		for _, raw := range desc.URLs {
			u, err := url.Parse(raw)
			if err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				b.sources = append(b.sources, raw)
			}
		}
	}
	b.sources = append(b.sources, rp.blobURL(desc.Digest))
	return b
}

func (b *blobReader) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			return 0, b.err
		}
		if b.body == nil {
			b.err = b.open()
			continue
		}

		// Ask for one byte more than should be left: a blob longer than
		// its descriptor says is caught without reading all of it.
		if left := b.desc.Size - b.offset + 1; int64(len(p)) > left {
			p = p[:left]
		}
		n, err := b.body.Read(p)
		if n > 0 {
			b.watchdog.Reset(b.rp.r.c.opts.StallTimeout)
			if b.offset+int64(n) > b.desc.Size {
				b.fail(fmt.Errorf("download blob %s: the registry sends more than the %d "+
					"bytes the manifest says: %w", b.desc.Digest, b.desc.Size,
					image.ErrDigestMismatch))
				return 0, b.err
			}
			b.offset += int64(n)
			b.digester.Hash().Write(p[:n])
			b.progress("Downloading", b.offset)
		}
		if err != nil {
			b.handle(err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// handle deals with the error that ended a read of the body: the end of
// the blob is verified; anything else is a broken transfer to resume,
// unless the command itself was cancelled.
func (b *blobReader) handle(err error) {
	b.closeBody()
	switch {
	case err == io.EOF && b.offset == b.desc.Size:
		b.progress("Verifying Checksum", b.offset)
		if got := b.digester.Digest(); got != b.desc.Digest {
			b.err = fmt.Errorf("download blob %s: content has digest %s: %w", b.desc.Digest,
				got, image.ErrDigestMismatch)
			return
		}
		b.progress("Download complete", b.offset)
		b.err = io.EOF
		return
	case b.ctx.Err() != nil:
		b.err = b.ctx.Err()
		return
	case err == io.EOF:
		err = fmt.Errorf("connection closed after %d of %d bytes", b.offset, b.desc.Size)
	}
	b.retry(err)
}

// retry counts a failure and pauses before the next request, or gives up.
func (b *blobReader) retry(err error) {
	b.failures++
	c := b.rp.r.c
	if b.failures > c.opts.Retries {
		b.err = fmt.Errorf("download blob %s: giving up after %d tries: %w", b.desc.Digest,
			b.failures, err)
		return
	}
	c.log.Debug("resuming download", "layer_digest", b.desc.Digest, "offset", b.offset,
		"error", err, "attempt", b.failures)
	if perr := c.pause(b.ctx, b.failures-1); perr != nil {
		b.err = perr
	}
}

// open sends the GET for the current source, from the current offset.
func (b *blobReader) open() error {
	c := b.rp.r.c
	reqCtx, cancel := context.WithCancel(b.ctx)
	// The watchdog cancels a request that receives nothing for too long;
	// Read resets it on every byte.
	b.watchdog = time.AfterFunc(c.opts.StallTimeout, cancel)
	b.cancel = cancel

	resp, err := b.get(reqCtx)
	if err == nil {
		err = b.startBody(resp)
	}
	if err == nil {
		return nil
	}
	b.closeBody()

	var final *Error
	switch {
	case b.ctx.Err() != nil:
		return b.ctx.Err()
	case errors.As(err, &final) && b.source+1 < len(b.sources):
		c.log.Debug("blob source failed, trying the next", "url", b.sources[b.source],
			"error", err)
		b.source++
		return nil
	case errors.As(err, &final) || errors.Is(err, image.ErrDigestMismatch):
		if len(b.sources) > 1 {
			return fmt.Errorf("download foreign layer %s: not at any of its URLs %v, and "+
				"not in the registry: %w", b.desc.Digest, b.desc.URLs, err)
		}
		return fmt.Errorf("download blob %s: %w", b.desc.Digest, err)
	}
	b.retry(err)
	return b.err
}

// get sends the request: through the registry's authorization for the
// registry, as a plain GET for a foreign layer's URL.
func (b *blobReader) get(ctx context.Context) (*http.Response, error) {
	u := b.sources[b.source]
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil && b.offset > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", b.offset))
		}
		return req, err
	}
	if b.source < len(b.sources)-1 {
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		return b.rp.r.http.Do(req)
	}
	return b.rp.r.doRetry(ctx, b.rp.scopes, newReq)
}

// startBody checks the response to a blob request and makes its body the
// one to read from offset on.
func (b *blobReader) startBody(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusPartialContent && b.offset > 0:
		start, err := contentRangeStart(resp.Header.Get("Content-Range"))
		if err != nil || start != b.offset {
			resp.Body.Close()
			return fmt.Errorf("resume blob %s at byte %d: the registry answers with range %q",
				b.desc.Digest, b.offset, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		if resp.ContentLength >= 0 && resp.ContentLength != b.desc.Size {
			resp.Body.Close()
			return fmt.Errorf("download blob %s: the registry sends %d bytes, but the "+
				"manifest says %d: %w", b.desc.Digest, resp.ContentLength, b.desc.Size,
				image.ErrDigestMismatch)
		}
		// No Range support: skip what was read before the break.
		if _, err := io.CopyN(io.Discard, resp.Body, b.offset); err != nil {
			resp.Body.Close()
			return fmt.Errorf("skip %d bytes already read: %w", b.offset, err)
		}
	default:
		return responseError(resp)
	}
	b.body = resp.Body
	return nil
}

// contentRangeStart returns the first byte of "bytes START-END/TOTAL".
func contentRangeStart(header string) (int64, error) {
	spec, ok := strings.CutPrefix(header, "bytes ")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range %q", header)
	}
	first, _, _ := strings.Cut(spec, "-")
	return strconv.ParseInt(first, 10, 64)
}

func (b *blobReader) closeBody() {
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
	if b.watchdog != nil {
		b.watchdog.Stop()
	}
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
}

func (b *blobReader) fail(err error) {
	b.closeBody()
	b.err = err
}

// Close ends the transfer.
func (b *blobReader) Close() error {
	b.closeBody()
	return nil
}
