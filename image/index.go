package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// index.json is the store's table of contents, as in any OCI image layout:
// one descriptor per (manifest, name) pair. A tag is the annotation
// org.opencontainers.image.ref.name holding the full reference; an image
// without a tag has one descriptor without that annotation.

// annotationParent records, for an image made by a build step, the image ID
// of the image it was built on. Docker keeps the same link ("Parent") so
// that `images` can hide intermediate images and `rmi` can remove them.
const annotationParent = "io.skiff.image.parent"

func (s *Store) readIndex() (ocispec.Index, error) {
	idx := ocispec.Index{Versioned: specsVersion, MediaType: ocispec.MediaTypeImageIndex}
	data, err := os.ReadFile(s.path(indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, fmt.Errorf("read %s: %w", s.path(indexFile), err)
	}
	return idx, nil
}

// updateIndex applies change to index.json under the reference lock and
// replaces the file atomically: readers without the lock see the old or
// the new table of contents, never a mixture.
func (s *Store) updateIndex(change func(idx *ocispec.Index) error) error {
	unlock, err := s.lockFile(refLock, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()

	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := change(&idx); err != nil {
		return err
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(indexFile), data, s.path(tmpDir))
}

// addRefs names the image whose manifest is desc in the index. Each tag is
// taken from whatever image had it before; an image that loses its last
// tag stays, untagged, as Docker keeps a "dangling" image.
func addRefs(idx *ocispec.Index, desc ocispec.Descriptor, tags []Reference, parent digest.Digest) {
	for _, ref := range tags {
		name := ref.String()
		for i, m := range idx.Manifests {
			if m.Annotations[ocispec.AnnotationRefName] != name {
				continue
			}
			if countEntries(idx, m.Digest) == 1 {
				delete(idx.Manifests[i].Annotations, ocispec.AnnotationRefName)
			} else {
				idx.Manifests = slices.Delete(idx.Manifests, i, i+1)
			}
			break
		}
	}

	entry := func(name string) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
		d.Annotations = map[string]string{}
		if name != "" {
			d.Annotations[ocispec.AnnotationRefName] = name
		}
		if parent != "" {
			d.Annotations[annotationParent] = parent.String()
		}
		return d
	}
	for _, ref := range tags {
		idx.Manifests = append(idx.Manifests, entry(ref.String()))
	}

	// An untagged entry is kept only while the image has no tag.
	untagged := slices.IndexFunc(idx.Manifests, func(m ocispec.Descriptor) bool {
		return m.Digest == desc.Digest && m.Annotations[ocispec.AnnotationRefName] == ""
	})
	switch {
	case untagged >= 0 && countEntries(idx, desc.Digest) > 1:
		idx.Manifests = slices.Delete(idx.Manifests, untagged, untagged+1)
	case countEntries(idx, desc.Digest) == 0:
		idx.Manifests = append(idx.Manifests, entry(""))
	}
}

func countEntries(idx *ocispec.Index, d digest.Digest) int {
	n := 0
	for _, m := range idx.Manifests {
		if m.Digest == d {
			n++
		}
	}
	return n
}
