package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
)

// The media types of manifests and indexes: OCI's, and Docker's that came
// first and are still what most registries serve.
const (
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerSchema1      = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1JWS   = "application/vnd.docker.distribution.manifest.v1+prettyjws"

	mediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

	// OCI's non-distributable layers, deprecated in image-spec 1.1 but
	// still found in registries.
	mediaTypeNonDistributable     = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mediaTypeNonDistributableGzip = mediaTypeNonDistributable + "+gzip"
	mediaTypeNonDistributableZstd = mediaTypeNonDistributable + "+zstd"
)

// manifestAccept is the Accept header of a manifest request: everything
// skiff can use, indexes first. A registry picks the stored form if it is
// listed; schema 1 is not, so a registry that can convert will not.
var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageIndex,
	mediaTypeDockerManifestList,
	ocispec.MediaTypeImageManifest,
	image.MediaTypeDockerManifest,
}, ", ")

// maxManifestSize bounds what is read of a manifest: distribution refuses
// to store larger ones, and it must fit in memory.
const maxManifestSize = 4 << 20

// manifest is a manifest or an index, its bytes exactly as the registry
// sent them.
type manifest struct {
	mediaType string
	data      []byte
	digest    digest.Digest
}

// isIndex reports whether m chooses between manifests per platform.
func (m *manifest) isIndex() bool {
	return m.mediaType == ocispec.MediaTypeImageIndex || m.mediaType == mediaTypeDockerManifestList
}

// fetchManifest gets the manifest that reference (a tag or a digest)
// names, and checks it: against the digest when reference is one or want
// gives one, against the Docker-Content-Digest header when the registry
// sends it, against want's size.
func (rp *repository) fetchManifest(ctx context.Context, reference string,
	want *ocispec.Descriptor) (*manifest, error) {

	u := rp.r.url("/v2/" + rp.path + "/manifests/" + reference)
	resp, err := rp.r.doRetry(ctx, rp.scopes, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Accept", manifestAccept)
		}
		return req, err
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("manifest for %s not found: %w", rp.name(reference),
			responseError(resp))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get manifest of %s: %w", rp.name(reference), responseError(resp))
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("get manifest of %s: %w", rp.name(reference), err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("get manifest of %s: larger than %d bytes", rp.name(reference),
			maxManifestSize)
	}
	m := &manifest{data: data, digest: digest.FromBytes(data)}
	if m.mediaType, err = manifestMediaType(resp.Header.Get("Content-Type"), data); err != nil {
		return nil, fmt.Errorf("get manifest of %s: %w", rp.name(reference), err)
	}
	if err := checkManifestDigest(m, reference, resp.Header.Get("Docker-Content-Digest"),
		want); err != nil {
		return nil, fmt.Errorf("get manifest of %s: %w", rp.name(reference), err)
	}
	return m, nil
}

// manifestMediaType tells what kind of manifest data is: from the
// Content-Type, or from its own mediaType field when a registry sends a
// generic type. Schema 1 is refused here, with the reason.
func manifestMediaType(contentType string, data []byte) (string, error) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	var fields struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &fields); err != nil {
		return "", fmt.Errorf("parse manifest: %w", err)
	}
	if fields.SchemaVersion == 1 || mediaType == mediaTypeDockerSchema1 ||
		mediaType == mediaTypeDockerSchema1JWS {
		return "", fmt.Errorf("the image uses Docker's manifest schema 1, deprecated since " +
			"2017 and not supported: ask its author to push it again with a current tool " +
			"(OCI or Docker schema 2)")
	}
	switch mediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerManifestList,
		ocispec.MediaTypeImageManifest, image.MediaTypeDockerManifest:
		return mediaType, nil
	}
	switch fields.MediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerManifestList,
		ocispec.MediaTypeImageManifest, image.MediaTypeDockerManifest:
		return fields.MediaType, nil
	}
	if fields.MediaType == "" && bytes.Contains(data, []byte(`"manifests"`)) {
		return ocispec.MediaTypeImageIndex, nil
	}
	if fields.MediaType == "" && bytes.Contains(data, []byte(`"config"`)) {
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", fmt.Errorf("unsupported manifest media type %q", mediaType)
}

// checkManifestDigest checks a fetched manifest against every digest that
// names it. A registry (or anything between it and us) that lies is caught
// here, before a byte of its layers is read.
func checkManifestDigest(m *manifest, reference, header string, want *ocispec.Descriptor) error {
	if d, err := digest.Parse(reference); err == nil {
		verifier := d.Verifier()
		verifier.Write(m.data)
		if !verifier.Verified() {
			return fmt.Errorf("content has digest %s, not the %s asked for: %w", m.digest, d,
				image.ErrDigestMismatch)
		}
	}
	if want != nil && (want.Digest != m.digest || want.Size != int64(len(m.data))) {
		return fmt.Errorf("got %d bytes with digest %s, but the index lists %d bytes "+
			"with digest %s: %w", len(m.data), m.digest, want.Size, want.Digest,
			image.ErrDigestMismatch)
	}
	if header == "" {
		return nil
	}
	d, err := digest.Parse(header)
	if err != nil {
		return fmt.Errorf("read Docker-Content-Digest %q: %w", header, err)
	}
	if d.Algorithm().Available() && d.Algorithm().FromBytes(m.data) != d {
		return fmt.Errorf("the registry says its digest is %s, but the content has %s: %w",
			d, m.digest, image.ErrDigestMismatch)
	}
	return nil
}

// imageManifest is an image manifest parsed: OCI and Docker schema 2
// share this shape.
type imageManifest struct {
	SchemaVersion int                  `json:"schemaVersion"`
	Config        ocispec.Descriptor   `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
}

// parseImageManifest parses m and checks that it describes a container
// image skiff can run: a known config type, known layer types, sha256
// digests everywhere.
func parseImageManifest(m *manifest) (*imageManifest, error) {
	var im imageManifest
	if err := json.Unmarshal(m.data, &im); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", m.digest, err)
	}
	switch im.Config.MediaType {
	case ocispec.MediaTypeImageConfig, image.MediaTypeDockerConfig:
	default:
		return nil, fmt.Errorf("manifest %s: config has media type %q: not a container "+
			"image (perhaps another kind of artifact)", m.digest, im.Config.MediaType)
	}
	if err := checkDescriptor(im.Config); err != nil {
		return nil, fmt.Errorf("manifest %s: config: %w", m.digest, err)
	}
	for i, layer := range im.Layers {
		if !isLayerType(layer.MediaType) {
			return nil, fmt.Errorf("manifest %s: layer %d has unsupported media type %q",
				m.digest, i+1, layer.MediaType)
		}
		if err := checkDescriptor(layer); err != nil {
			return nil, fmt.Errorf("manifest %s: layer %d: %w", m.digest, i+1, err)
		}
	}
	return &im, nil
}

// checkDescriptor checks what a descriptor says before it is used to name
// files and size buffers.
func checkDescriptor(d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil || d.Digest.Algorithm() != digest.SHA256 {
		return fmt.Errorf("%q is not a sha256 digest", d.Digest)
	}
	if d.Size < 0 {
		return fmt.Errorf("blob %s has negative size %d", d.Digest, d.Size)
	}
	return nil
}

func isLayerType(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip,
		ocispec.MediaTypeImageLayerZstd,
		mediaTypeNonDistributable, mediaTypeNonDistributableGzip,
		mediaTypeNonDistributableZstd,
		mediaTypeDockerLayer, mediaTypeDockerLayerGzip, mediaTypeDockerForeignLayer:
		return true
	}
	return false
}

// isForeign reports a layer that the registry need not hold: its blob is
// fetched from the URLs its descriptor lists (Windows base layers were).
func isForeign(layer ocispec.Descriptor) bool {
	switch layer.MediaType {
	case mediaTypeDockerForeignLayer, mediaTypeNonDistributable, mediaTypeNonDistributableGzip,
		mediaTypeNonDistributableZstd:
		return true
	}
	return false
}

// resolve follows an index to the manifest for platform; an image
// manifest is its own answer. Nested indexes are followed a few levels.
func (rp *repository) resolve(ctx context.Context, m *manifest, platform Platform) (*manifest,
	error) {

	for depth := 0; m.isIndex(); depth++ {
		if depth == 4 {
			return nil, fmt.Errorf("index %s: indexes nested too deep", m.digest)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(m.data, &idx); err != nil {
			return nil, fmt.Errorf("parse index %s: %w", m.digest, err)
		}
		chosen, err := choosePlatform(idx.Manifests, platform)
		if err != nil {
			return nil, err
		}
		rp.r.c.log.Debug("chose manifest for platform", "platform", platform.String(),
			"digest", chosen.Digest)
		if m, err = rp.fetchManifest(ctx, chosen.Digest.String(), &chosen); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// choosePlatform returns the first entry of an index built for platform,
// in Docker's words when there is none.
func choosePlatform(entries []ocispec.Descriptor, platform Platform) (ocispec.Descriptor,
	error) {

	for _, entry := range entries {
		if platform.matches(entry.Platform) && checkDescriptor(entry) == nil {
			return entry, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest "+
		"list entries", platform)
}
