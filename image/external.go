package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/tarball"
)

// This file is the door through which another package adds an image that
// was made elsewhere, such as the registry client pulling one: the store
// keeps the manifest exactly as it came, so that the image's digest is the
// one the registry gave it, and keeps checking every byte on the way in.

// The manifest media types that [Ingest.Commit] accepts: OCI's and Docker's
// schema 2, which have the same JSON shape.
const (
	// MediaTypeDockerManifest is Docker's image manifest, schema 2.
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerConfig is Docker's name for an image config.
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
)

// Ingest adds the parts of one image that arrive from outside (its config,
// its layers) and finally names it. Until [Ingest.Commit] names it, nothing
// is visible: a failure or an interrupt leaves only unnamed content, which
// garbage collection takes later. An Ingest holds the store's collection
// lock shared, so that its content is not collected while it is added.
//
// HasLayer, AddLayer and AddBlob may be called from several goroutines at
// once; Commit and Close once, after them.
type Ingest struct {
	in *ingest

	mu    sync.Mutex
	known *layerBlobs // which blob holds which layer; read on first use
}

// NewIngest begins adding an image. The caller must Close it.
func (s *Store) NewIngest() (*Ingest, error) {
	in, err := s.beginIngest()
	if err != nil {
		return nil, fmt.Errorf("begin adding content to the store: %w", err)
	}
	return &Ingest{in: in}, nil
}

// Close removes the ingest's scratch space and releases its lock. Content
// it added but did not name stays until the next garbage collection.
func (in *Ingest) Close() error { return in.in.end() }

// HasLayer reports whether the store can reuse the layer that the blob
// layer holds and whose uncompressed content has diffID: the layer is
// unpacked, and the blob is stored and known to hold it. The pairing of
// blob and diffID is taken from the images in the store, or else checked
// by decompressing the stored blob, so that a manifest cannot pair any
// stored blob with any stored layer.
func (in *Ingest) HasLayer(layer ocispec.Descriptor, diffID digest.Digest) bool {
	s := in.in.s
	if layer.Digest.Validate() != nil || diffID.Validate() != nil || !s.hasLayer(diffID) {
		return false
	}
	fi, err := os.Stat(s.blobPath(layer.Digest))
	if err != nil || fi.Size() != layer.Size {
		return false
	}

	in.mu.Lock()
	if in.known == nil {
		known := s.knownLayerBlobs()
		in.known = &known
	}
	paired := in.known.diffIDOf[layer.Digest] == diffID || layer.Digest == diffID
	in.mu.Unlock()
	if paired {
		return true
	}
	if err := s.checkPairing(layer.Digest, diffID); err != nil {
		s.log.Debug("stored blob does not hold the layer", "layer_digest", layer.Digest,
			"diff_id", diffID, "error", err)
		return false
	}
	in.remember(layer, diffID)
	return true
}

// checkPairing decompresses a stored layer blob and checks that the tar
// inside has diffID. A pull interrupted after some layers were placed
// leaves them unnamed; this lets the next pull reuse them safely.
func (s *Store) checkPairing(layerDigest, diffID digest.Digest) error {
	blob, _, err := s.openBlob(layerDigest)
	if err != nil {
		return err
	}
	defer blob.Close()
	tar, _, err := tarball.Detect(blob)
	if err != nil {
		return err
	}
	defer tar.Close()
	verifier := diffID.Verifier()
	if _, err := io.Copy(verifier, tar); err != nil {
		return err
	}
	if !verifier.Verified() {
		return fmt.Errorf("blob %s does not hold layer %s: %w", layerDigest, diffID,
			ErrDigestMismatch)
	}
	return nil
}

func (in *Ingest) remember(layer ocispec.Descriptor, diffID digest.Digest) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.known != nil {
		in.known.add(layer, diffID)
	}
}

// AddLayer stores the layer blob read from r and unpacks it in the same
// pass. The blob must match layer's digest and size, and its uncompressed
// tar must have diffID; otherwise AddLayer returns an error wrapping
// [ErrDigestMismatch] and keeps nothing. r may be compressed with gzip or
// zstd, or be a plain tar.
func (in *Ingest) AddLayer(r io.Reader, layer ocispec.Descriptor, diffID digest.Digest) error {
	if err := layer.Digest.Validate(); err != nil {
		return fmt.Errorf("add layer %q: %w", layer.Digest, err)
	}
	if err := diffID.Validate(); err != nil {
		return fmt.Errorf("add layer %q: diffID %q: %w", layer.Digest, diffID, err)
	}
	_, _, err := in.in.s.ingestLayer(in.in.work, r, layer, diffID)
	if err != nil {
		return fmt.Errorf("add layer %s: %w", layer.Digest, err)
	}
	in.remember(layer, diffID)
	return nil
}

// AddBlob stores a small blob, such as an image config, after checking it
// against want's digest and size.
func (in *Ingest) AddBlob(data []byte, want ocispec.Descriptor) error {
	if got := digest.FromBytes(data); got != want.Digest || int64(len(data)) != want.Size {
		return fmt.Errorf("add blob %s: got %d bytes with digest %s, want %d bytes: %w",
			want.Digest, len(data), got, want.Size, ErrDigestMismatch)
	}
	if _, err := in.in.s.putBlob(in.in.work, data); err != nil {
		return fmt.Errorf("add blob %s: %w", want.Digest, err)
	}
	return nil
}

// rawManifest is the part of an image manifest that the store checks; OCI
// and Docker schema 2 manifests share it.
type rawManifest struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	Config        ocispec.Descriptor   `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
}

// Commit stores the manifest, byte for byte, and names the image it
// describes with tags. The image's config and every layer it lists must
// already be in the store, through this ingest or before; the config must
// list one diffID per layer. Commit returns the image as the store now
// lists it: its Digest is the manifest's digest, its ID the config's.
func (in *Ingest) Commit(manifest []byte, mediaType string, tags []Reference) (*Image, error) {
	s := in.in.s
	manifestDigest := digest.FromBytes(manifest)
	if err := s.checkManifest(manifest, mediaType); err != nil {
		return nil, fmt.Errorf("commit image %s: %w", manifestDigest, err)
	}

	if _, err := s.putBlob(in.in.work, manifest); err != nil {
		return nil, fmt.Errorf("commit image %s: %w", manifestDigest, err)
	}
	desc := ocispec.Descriptor{
		MediaType: mediaType,
		Digest:    manifestDigest,
		Size:      int64(len(manifest)),
	}
	err := s.updateIndex(func(idx *ocispec.Index) error {
		addRefs(idx, desc, tags, "")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("commit image %s: %w", manifestDigest, err)
	}
	return s.Lookup("image@" + manifestDigest.String())
}

// checkManifest checks that a manifest is one the store can use and that
// everything it names is in the store: its config, each layer's blob and
// each layer unpacked, one per diffID of the config.
func (s *Store) checkManifest(manifest []byte, mediaType string) error {
	if mediaType != ocispec.MediaTypeImageManifest && mediaType != MediaTypeDockerManifest {
		return fmt.Errorf("unsupported manifest media type %q", mediaType)
	}
	var m rawManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return fmt.Errorf("parse manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return fmt.Errorf("manifest has schemaVersion %d, not 2", m.SchemaVersion)
	}

	config, err := s.readBlob(m.Config.Digest)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if int64(len(config)) != m.Config.Size {
		return fmt.Errorf("config %s: %d bytes, but the manifest says %d: %w",
			m.Config.Digest, len(config), m.Config.Size, ErrDigestMismatch)
	}
	diffIDs, err := configDiffIDs(config, len(m.Layers))
	if err != nil {
		return fmt.Errorf("read config %s: %w", m.Config.Digest, err)
	}

	for i, layer := range m.Layers {
		if layer.Digest.Validate() != nil || !s.hasBlob(layer.Digest) {
			return fmt.Errorf("layer %d: blob %q is missing from the store", i+1, layer.Digest)
		}
		if !s.hasLayer(diffIDs[i]) {
			return fmt.Errorf("layer %d: %s is not unpacked", i+1, diffIDs[i])
		}
	}
	return nil
}

// HasBlob reports whether the blob with digest d is in the store.
func (s *Store) HasBlob(d digest.Digest) bool {
	return d.Validate() == nil && s.hasBlob(d)
}

// OpenBlob opens the blob with digest d for streaming and returns its size.
// The reader fails at the end of the stream if the bytes do not match d.
func (s *Store) OpenBlob(d digest.Digest) (io.ReadCloser, int64, error) {
	if err := d.Validate(); err != nil {
		return nil, 0, fmt.Errorf("open blob %q: %w", d, err)
	}
	r, size, err := s.openBlob(d)
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", d, err)
	}
	return r, size, nil
}

// ReadBlob reads a small blob, such as a manifest or a config, and checks it
// against its digest.
func (s *Store) ReadBlob(d digest.Digest) ([]byte, error) {
	data, err := s.readBlob(d)
	if err != nil {
		return nil, fmt.Errorf("read blob %q: %w", d, err)
	}
	return data, nil
}

// ConfigDiffIDs parses an image config and returns its rootfs.diff_ids,
// after checking that there is one per layer and that each is a sha256
// digest.
func ConfigDiffIDs(config []byte, layers int) ([]digest.Digest, error) {
	return configDiffIDs(config, layers)
}
