package image

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var specsVersion = specs.Versioned{SchemaVersion: 2}

// Image is one image in the store: a manifest, the config it names, and the
// references that name it. Its layers are the config's rootfs.diff_ids,
// each unpacked once under layers/.
type Image struct {
	// ID is the digest of the image config, as Docker's image ID.
	ID digest.Digest
	// Digest is the digest of the manifest: what a registry calls the image.
	Digest digest.Digest
	// ManifestMediaType is the media type the manifest is stored with.
	ManifestMediaType string
	Manifest          ocispec.Manifest
	Config            ocispec.Image
	// Tags are the references that name this image, in full form.
	Tags []Reference
	// Parent is the image ID of the image this one was built on, or "".
	Parent digest.Digest
	// Size is the sum of the layers' unpacked content sizes.
	Size int64

	manifestSize int64
}

// ShortID returns the first 12 hex digits of the image ID, as Docker shows it.
func (img *Image) ShortID() string { return shortID(img.ID) }

func shortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}

// Images lists every image in the store, newest first.
func (s *Store) Images() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	return s.imagesIn(&idx)
}

// imagesIn reads the images that idx names.
func (s *Store) imagesIn(idx *ocispec.Index) ([]*Image, error) {
	var err error
	byDigest := map[digest.Digest]*Image{}
	var images []*Image
	for _, m := range idx.Manifests {
		img := byDigest[m.Digest]
		if img == nil {
			if img, err = s.loadImage(m); err != nil {
				return nil, err
			}
			byDigest[m.Digest] = img
			images = append(images, img)
		}
		if name := m.Annotations[ocispec.AnnotationRefName]; name != "" {
			ref, err := ParseReference(name)
			if err != nil {
				return nil, fmt.Errorf("index.json names image %s %q: %w", m.Digest, name, err)
			}
			img.Tags = append(img.Tags, ref)
		}
	}
	slices.SortStableFunc(images, func(a, b *Image) int {
		return created(b).Compare(created(a))
	})
	return images, nil
}

// created returns when the image was created, or the zero time when its
// config does not say.
func created(img *Image) time.Time {
	if img.Config.Created == nil {
		return time.Time{}
	}
	return *img.Config.Created
}

// imageIn reads the image whose manifest digest is d, with the tags that
// idx gives it.
func (s *Store) imageIn(idx *ocispec.Index, d digest.Digest) (*Image, error) {
	var img *Image
	for _, m := range idx.Manifests {
		if m.Digest != d {
			continue
		}
		if img == nil {
			var err error
			if img, err = s.loadImage(m); err != nil {
				return nil, err
			}
		}
		if name := m.Annotations[ocispec.AnnotationRefName]; name != "" {
			if ref, err := ParseReference(name); err == nil {
				img.Tags = append(img.Tags, ref)
			}
		}
	}
	if img == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	return img, nil
}

// loadImage reads the manifest that desc points at and the config it
// names, checking both against their digests.
func (s *Store) loadImage(desc ocispec.Descriptor) (*Image, error) {
	img := &Image{Digest: desc.Digest, ManifestMediaType: desc.MediaType}
	if p := desc.Annotations[annotationParent]; p != "" {
		img.Parent = digest.Digest(p)
	}
	data, err := s.readBlob(desc.Digest)
	if err != nil {
		return nil, err
	}
	img.manifestSize = int64(len(data))
	if err := json.Unmarshal(data, &img.Manifest); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", desc.Digest, err)
	}
	img.ID = img.Manifest.Config.Digest
	if data, err = s.readBlob(img.ID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &img.Config); err != nil {
		return nil, fmt.Errorf("parse image config %s: %w", img.ID, err)
	}
	for _, diffID := range img.Config.RootFS.DiffIDs {
		info, err := s.layerInfo(diffID)
		if err != nil {
			return nil, err
		}
		img.Size += info.ContentSize
	}
	return img, nil
}

// Lookup finds an image by reference (busybox, busybox:1.36,
// host:5000/app@sha256:…), or else by image ID: full, with or without
// "sha256:", or any unique prefix of its hex digits.
func (s *Store) Lookup(rawRef string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	// A name or a digest picks one entry of the index: only that image is
	// read, however many the store holds. An ID is found in the images.
	if ref, err := ParseReference(rawRef); err == nil {
		if d, ok := indexEntry(&idx, ref); ok {
			return s.imageIn(&idx, d)
		}
	}
	images, err := s.imagesIn(&idx)
	if err != nil {
		return nil, err
	}
	return lookupID(images, rawRef)
}

// indexEntry returns the manifest digest of the entry of idx that ref
// names: by its digest, or by the tag annotated on it; the same rule as
// lookupIn's, read from the index instead of loaded images.
func indexEntry(idx *ocispec.Index, ref Reference) (digest.Digest, bool) {
	for _, m := range idx.Manifests {
		if ref.Digest != "" && ref.Digest == m.Digest {
			return m.Digest, true
		}
		name := m.Annotations[ocispec.AnnotationRefName]
		if ref.Tag == "" || name == "" {
			continue
		}
		if tagged, err := ParseReference(name); err == nil && tagged == ref {
			return m.Digest, true
		}
	}
	return "", false
}

func lookupIn(images []*Image, rawRef string) (*Image, error) {
	if ref, err := ParseReference(rawRef); err == nil {
		for _, img := range images {
			if ref.Digest != "" && ref.Digest == img.Digest {
				return img, nil
			}
			for _, t := range img.Tags {
				if t.Tag != "" && t == ref {
					return img, nil
				}
			}
		}
	}
	return lookupID(images, rawRef)
}

// lookupID finds the image whose ID is rawRef: full, with or without
// "sha256:", or any unique prefix of its hex digits.
func lookupID(images []*Image, rawRef string) (*Image, error) {
	prefix := strings.TrimPrefix(rawRef, "sha256:")
	if !isHex(prefix) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, rawRef)
	}
	var found *Image
	for _, img := range images {
		if strings.HasPrefix(img.ID.Encoded(), prefix) {
			if found != nil && found.ID != img.ID {
				return nil, fmt.Errorf("%w: %s", ErrAmbiguous, rawRef)
			}
			found = img
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, rawRef)
	}
	return found, nil
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Tag gives the image named by rawSource the additional reference
// rawTarget. If rawTarget named another image, that image loses the tag.
func (s *Store) Tag(rawSource, rawTarget string) error {
	target, err := ParseReference(rawTarget)
	if err != nil {
		return err
	}
	if target.Digest != "" {
		return fmt.Errorf("refusing to create a tag with a digest reference: %s", rawTarget)
	}
	img, err := s.Lookup(rawSource)
	if err != nil {
		return err
	}
	return s.updateIndex(func(idx *ocispec.Index) error {
		addRefs(idx, img.descriptor(), []Reference{target}, img.Parent)
		return nil
	})
}

func (img *Image) descriptor() ocispec.Descriptor {
	mt := img.ManifestMediaType
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
	}
	return ocispec.Descriptor{MediaType: mt, Digest: img.Digest, Size: img.manifestSize}
}
