package image

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions tunes [Store.Commit].
type CommitOptions struct {
	// Ref names the new image; empty leaves it untagged.
	Ref string
	// Config replaces the parent's run config when not nil (a container's
	// run options, for docker commit).
	Config *ocispec.ImageConfig
	// Changes are applied after Config; see [ApplyChange].
	Changes []string
	// CreatedBy and Comment make the new history entry.
	CreatedBy string
	Comment   string
	Author    string
	// EmptyLayer records a step that changed only the config: layer is
	// then not read and the image gets no new layer.
	EmptyLayer bool
	// Created, when not zero, is the time recorded in the config and its
	// history entry instead of now (SOURCE_DATE_EPOCH, for reproducible
	// builds).
	Created time.Time
	// ConfigExtra adds fields that ocispec.ImageConfig lacks to the config's
	// "config" object, by JSON key: Docker's Healthcheck, OnBuild, Shell.
	ConfigExtra map[string]json.RawMessage
}

// Commit makes a new image from parent plus one layer read from the
// uncompressed tar stream layer (docker commit, and each build step). The
// new image records parent as its parent, so `images` can hide it while it
// is an intermediate image and `rmi` can remove it with its child.
func (s *Store) Commit(parent *Image, layer io.Reader, opts CommitOptions) (*Image, error) {
	var tags []Reference
	if opts.Ref != "" {
		ref, err := ParseReference(opts.Ref)
		if err != nil {
			return nil, err
		}
		tags = append(tags, ref)
	}
	config := ocispec.Image{
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	var layers []ocispec.Descriptor
	var parentID digest.Digest
	if parent != nil {
		config = parent.Config
		config.RootFS.DiffIDs = slices.Clone(config.RootFS.DiffIDs)
		config.History = slices.Clone(config.History)
		layers = slices.Clone(parent.Manifest.Layers)
		parentID = parent.ID
	}
	if opts.Config != nil {
		config.Config = *opts.Config
	}
	for _, change := range opts.Changes {
		if err := ApplyChange(&config.Config, change); err != nil {
			return nil, err
		}
	}

	in, err := s.beginIngest()
	if err != nil {
		return nil, err
	}
	defer in.end()

	if !opts.EmptyLayer {
		desc, info, err := s.ingestLayer(in.work, layer, ocispec.Descriptor{}, "")
		if err != nil {
			return nil, fmt.Errorf("commit layer: %w", err)
		}
		layers = append(layers, desc)
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, info.DiffID)
	}
	now := time.Now().UTC()
	if !opts.Created.IsZero() {
		now = opts.Created.UTC()
	}
	config.Created, config.Author = &now, opts.Author
	config.History = append(config.History, ocispec.History{
		Created: &now, CreatedBy: opts.CreatedBy, Comment: opts.Comment,
		Author: opts.Author, EmptyLayer: opts.EmptyLayer,
	})
	data, err := marshalConfig(config, opts.ConfigExtra)
	if err != nil {
		return nil, err
	}
	return in.addImage(data, layers, tags, parentID)
}
