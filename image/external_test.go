package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// externalLayer is a gzip layer of one file, with its descriptor and
// diffID.
func externalLayer(t *testing.T, content string) ([]byte, ocispec.Descriptor, digest.Digest) {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: int64(len(content)),
		Typeflag: tar.TypeReg})
	tw.Write([]byte(content))
	tw.Close()
	var blob bytes.Buffer
	zw := gzip.NewWriter(&blob)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip,
		Digest: digest.FromBytes(blob.Bytes()), Size: int64(blob.Len())}
	return blob.Bytes(), desc, digest.FromBytes(tarBuf.Bytes())
}

// externalImage returns a config listing diffIDs and a Docker schema 2
// manifest naming it and layers.
func externalImage(t *testing.T, layers []ocispec.Descriptor,
	diffIDs []digest.Digest) (config []byte, configDesc ocispec.Descriptor, manifest []byte) {

	t.Helper()
	config, _ = json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers",
		DiffIDs: diffIDs}})
	configDesc = ocispec.Descriptor{MediaType: MediaTypeDockerConfig,
		Digest: digest.FromBytes(config), Size: int64(len(config))}
	manifest, _ = json.Marshal(map[string]any{"schemaVersion": 2,
		"mediaType": MediaTypeDockerManifest, "config": configDesc, "layers": layers})
	return config, configDesc, manifest
}

// TestIngestCommit adds a Docker image through the exported door and
// checks that its manifest is kept byte for byte.
func TestIngestCommit(t *testing.T) {
	s := newIngestStore(t)
	blob, layer, diffID := externalLayer(t, "hello")
	config, configDesc, manifest := externalImage(t, []ocispec.Descriptor{layer},
		[]digest.Digest{diffID})
	ref, _ := ParseReference("127.0.0.1:5000/app:1")

	in, err := s.NewIngest()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.HasLayer(layer, diffID) {
		t.Errorf("HasLayer() before AddLayer = true")
	}
	if err := in.AddLayer(bytes.NewReader(blob), layer, diffID); err != nil {
		t.Fatal(err)
	}
	if !in.HasLayer(layer, diffID) {
		t.Errorf("HasLayer() after AddLayer = false")
	}
	if err := in.AddBlob(config, configDesc); err != nil {
		t.Fatal(err)
	}
	img, err := in.Commit(manifest, MediaTypeDockerManifest, []Reference{ref})
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != digest.FromBytes(manifest) || img.ID != configDesc.Digest {
		t.Errorf("Commit() = digest %s, ID %s; want %s, %s", img.Digest, img.ID,
			digest.FromBytes(manifest), configDesc.Digest)
	}
	stored, err := s.ReadBlob(img.Digest)
	if err != nil || !bytes.Equal(stored, manifest) {
		t.Errorf("ReadBlob(manifest) = %q, %v; want the committed bytes", stored, err)
	}
}

// TestIngestRefuses checks what Commit, AddBlob and AddLayer refuse, and
// that a refused commit names nothing.
func TestIngestRefuses(t *testing.T) {
	blobA, layerA, diffIDA := externalLayer(t, "a")
	_, layerB, diffIDB := externalLayer(t, "b")
	tests := []struct {
		name    string
		run     func(in *Ingest) error
		wantErr string
	}{
		{"layer with another diffID", func(in *Ingest) error {
			return in.AddLayer(bytes.NewReader(blobA), layerA, diffIDB)
		}, "but the image config says"},
		{"blob of the wrong size", func(in *Ingest) error {
			return in.AddBlob([]byte("x"), ocispec.Descriptor{Digest: digest.FromString("x"),
				Size: 2})
		}, "digest mismatch"},
		{"config missing", func(in *Ingest) error {
			_, _, manifest := externalImage(t, []ocispec.Descriptor{layerA},
				[]digest.Digest{diffIDA})
			_, err := in.Commit(manifest, MediaTypeDockerManifest, nil)
			return err
		}, "is missing from the store"},
		{"layer missing", func(in *Ingest) error {
			config, configDesc, manifest := externalImage(t, []ocispec.Descriptor{layerB},
				[]digest.Digest{diffIDB})
			if err := in.AddBlob(config, configDesc); err != nil {
				return err
			}
			_, err := in.Commit(manifest, MediaTypeDockerManifest, nil)
			return err
		}, "is missing from the store"},
		{"index instead of a manifest", func(in *Ingest) error {
			_, err := in.Commit([]byte(`{}`), ocispec.MediaTypeImageIndex, nil)
			return err
		}, "unsupported manifest media type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIngestStore(t)
			in, err := s.NewIngest()
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			err = tt.run(in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if images, _ := s.Images(); len(images) != 0 {
				t.Errorf("Images() = %d images after a refusal, want 0", len(images))
			}
		})
	}
}

// TestHasLayerChecksPairing: a stored blob and a stored layer that belong
// to different layers are not "already there" for a manifest that pairs
// them.
func TestHasLayerChecksPairing(t *testing.T) {
	s := newIngestStore(t)
	blobA, layerA, diffIDA := externalLayer(t, "a")
	blobB, layerB, diffIDB := externalLayer(t, "b")
	in, err := s.NewIngest()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, l := range []struct {
		blob   []byte
		desc   ocispec.Descriptor
		diffID digest.Digest
	}{{blobA, layerA, diffIDA}, {blobB, layerB, diffIDB}} {
		if err := in.AddLayer(bytes.NewReader(l.blob), l.desc, l.diffID); err != nil {
			t.Fatal(err)
		}
	}

	// A fresh ingest knows no pairing but what it can check.
	in2, err := s.NewIngest()
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Close()
	if in2.HasLayer(layerA, diffIDB) {
		t.Errorf("HasLayer(blob A, diffID B) = true, want false")
	}
	if !in2.HasLayer(layerA, diffIDA) {
		t.Errorf("HasLayer(blob A, diffID A) = false, want true")
	}
	if !errors.Is(s.checkPairing(layerB.Digest, diffIDA), ErrDigestMismatch) {
		t.Errorf("checkPairing(B, A) is no digest mismatch")
	}
}

func newIngestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
