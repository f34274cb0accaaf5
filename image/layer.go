package image

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/tarball"
)

// layerInfo is kept beside each unpacked layer as layer.json: what was
// learned while unpacking it, so that nothing has to read the layer again.
type layerInfo struct {
	DiffID digest.Digest `json:"diffID"`
	// TarSize is the length of the uncompressed tar stream.
	TarSize int64 `json:"tarSize"`
	// ContentSize is the sum of the layer's regular file sizes.
	ContentSize int64 `json:"contentSize"`
}

const layerInfoFile = "layer.json"

// layerMediaType names the OCI media type of a layer blob from its first
// bytes: gzip and zstd have magic numbers; anything else is a plain tar.
func layerMediaType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return ocispec.MediaTypeImageLayerGzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return ocispec.MediaTypeImageLayerZstd
	}
	return ocispec.MediaTypeImageLayer
}

// ingestLayer stores one layer blob from r and unpacks it, in one pass: the
// bytes go to the blob file and, at the same time, through the decompressor
// into the layer directory, while both digests are computed.
//
// want, when its digest is set, is checked against the blob; wantDiffID, when
// set, against the uncompressed stream. On any mismatch nothing is kept.
func (s *Store) ingestLayer(w workDir, r io.Reader, want ocispec.Descriptor,
	wantDiffID digest.Digest) (ocispec.Descriptor, layerInfo, error) {

	var desc ocispec.Descriptor
	bw, err := newBlobWriter(w)
	if err != nil {
		return desc, layerInfo{}, err
	}
	defer bw.abort() // a no-op once the blob is committed

	// The blob file is written and its digest computed on a goroutine of
	// its own, which reads r ahead, while this one decompresses: the
	// decompressor is the slowest step, and it does nothing else. Stopped
	// before bw is committed or aborted.
	ahead := tarball.ReadAhead(r, bw)
	defer ahead.Close()
	br := bufio.NewReaderSize(ahead, 1<<16)
	head, _ := br.Peek(4)
	desc.MediaType = layerMediaType(head)

	// Unpack into a private directory; it gets its final name only once the
	// whole layer is on disk and checked.
	tmpLayer, err := os.MkdirTemp(string(w), "layer-*")
	if err != nil {
		return desc, layerInfo{}, err
	}
	diffDir := filepath.Join(tmpLayer, "diff")
	if err := os.Mkdir(diffDir, 0o755); err != nil {
		return desc, layerInfo{}, err
	}
	res, err := tarball.Extract(br, diffDir, tarball.ExtractOptions{Logger: s.log})
	if err != nil {
		return desc, layerInfo{}, err
	}
	// Bytes after the end of the compressed stream are part of the blob.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return desc, layerInfo{}, err
	}
	ahead.Close() // r is read to its end: bw has every byte
	if wantDiffID != "" && res.DiffID != wantDiffID {
		return desc, layerInfo{}, fmt.Errorf("layer blob %s: uncompressed content has diffID %s, "+
			"but the image config says %s: %w", blobName(want.Digest), res.DiffID, wantDiffID,
			ErrDigestMismatch)
	}

	wantSize := int64(-1)
	if want.Digest != "" {
		wantSize = want.Size
	}
	desc.Digest, err = bw.commit(s, want.Digest, wantSize)
	if err != nil {
		return desc, layerInfo{}, err
	}
	desc.Size = bw.size

	info := layerInfo{DiffID: res.DiffID, TarSize: res.TarSize, ContentSize: res.ContentSize}
	if err := s.placeLayer(tmpLayer, info); err != nil {
		return desc, layerInfo{}, err
	}
	return desc, info, nil
}

// placeLayer makes an unpacked layer durable and gives it its final name.
// If another command placed the same layer first, ours is simply dropped:
// equal diffIDs mean equal trees.
func (s *Store) placeLayer(tmpLayer string, info layerInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmpLayer, layerInfoFile), data, 0o600); err != nil {
		return err
	}

	// One syncfs(2) flushes every file of the layer at once; an fsync per
	// file would cost more than the unpacking.
	if err := tarball.Sync(tmpLayer); err != nil {
		return err
	}
	err = os.Rename(tmpLayer, s.path(layersDir, info.DiffID.Encoded()))
	if err != nil && s.hasLayer(info.DiffID) {
		s.log.Debug("layer already present", "diff_id", info.DiffID)
		return os.RemoveAll(tmpLayer)
	}
	if err != nil {
		return err
	}
	explain.Step(s.log, explain.Layers, "unpacked once, shared by every image that lists it",
		"syncfs + rename(%q, %q)", tmpLayer, s.path(layersDir, info.DiffID.Encoded()))
	return nil
}

// blobName names a blob in a message, also before its digest is known.
func blobName(d digest.Digest) string {
	if d == "" {
		return "(digest not yet known)"
	}
	return d.String()
}

// hasLayer reports whether the layer with this diffID is unpacked.
func (s *Store) hasLayer(diffID digest.Digest) bool {
	_, err := os.Stat(s.path(layersDir, diffID.Encoded(), layerInfoFile))
	return err == nil
}

func (s *Store) layerInfo(diffID digest.Digest) (layerInfo, error) {
	var info layerInfo
	data, err := os.ReadFile(s.path(layersDir, diffID.Encoded(), layerInfoFile))
	if errors.Is(err, os.ErrNotExist) {
		return info, fmt.Errorf("layer %s is missing from the store", diffID)
	}
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(data, &info)
}

// LayerDirs returns the unpacked layer directories of img, lowest first:
// the order of the config's rootfs.diff_ids.
func (s *Store) LayerDirs(img *Image) ([]string, error) {
	return s.layerDirs(img.ID, img.Config.RootFS.DiffIDs)
}

// LayerDirsOf is [Store.LayerDirs] for the image whose ID is id. It reads
// that image's config blob and nothing else, so starting a container
// costs the same however many images the store holds.
func (s *Store) LayerDirsOf(id digest.Digest) ([]string, error) {
	data, err := s.readBlob(id)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", id, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parse image config %s: %w", id, err)
	}
	return s.layerDirs(id, cfg.RootFS.DiffIDs)
}

func (s *Store) layerDirs(id digest.Digest, diffIDs []digest.Digest) ([]string, error) {
	dirs := make([]string, 0, len(diffIDs))
	for _, diffID := range diffIDs {
		if !s.hasLayer(diffID) {
			return nil, fmt.Errorf("layer %s of image %s is missing from the store", diffID, id)
		}
		dirs = append(dirs, s.LayerDir(diffID))
	}
	return dirs, nil
}
