package image

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions tunes [Store.Import].
type ImportOptions struct {
	// Ref names the new image; empty leaves it untagged.
	Ref string
	// Changes are Dockerfile instructions applied to the config, as
	// `docker import --change` takes them; see [ApplyChange].
	Changes []string
	// Message is the history comment; the default says where the tarball
	// came from ("Imported from -" for standard input).
	Message string
	// Source names where the tarball came from, for the default message.
	Source string
}

// Import turns a root filesystem tarball (plain, gzip or zstd) into an
// image of one layer, as `docker import` does. The tarball is stored as it
// came, as the layer blob, and unpacked in the same pass.
func (s *Store) Import(r io.Reader, opts ImportOptions) (*Image, error) {
	// Check every argument before any byte is read or written.
	var tags []Reference
	if opts.Ref != "" {
		ref, err := ParseReference(opts.Ref)
		if err != nil {
			return nil, err
		}
		if ref.Digest != "" {
			return nil, fmt.Errorf("import %s: a new image cannot be named by a digest", opts.Ref)
		}
		tags = append(tags, ref)
	}
	var cfg ocispec.ImageConfig
	for _, change := range opts.Changes {
		if err := ApplyChange(&cfg, change); err != nil {
			return nil, err
		}
	}

	in, err := s.beginIngest()
	if err != nil {
		return nil, err
	}
	defer in.end()

	layer, info, err := s.ingestLayer(in.work, r, ocispec.Descriptor{}, "")
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", sourceName(opts.Source), err)
	}

	comment := opts.Message
	if comment == "" {
		comment = "Imported from " + sourceName(opts.Source)
	}
	now := time.Now().UTC()
	config, err := json.Marshal(ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{info.DiffID}},
		History:  []ocispec.History{{Created: &now, Comment: comment}},
	})
	if err != nil {
		return nil, err
	}
	return in.addImage(config, []ocispec.Descriptor{layer}, tags, "")
}

func sourceName(source string) string {
	if source == "" {
		return "-"
	}
	return source
}
