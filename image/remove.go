package image

import (
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Deletion is one line of what rmi or prune did: exactly one of Untagged
// and Deleted is set, as in Docker's "Untagged: busybox:latest" and
// "Deleted: sha256:…" lines.
type Deletion struct {
	// Untagged is the reference that was removed, in familiar form.
	Untagged string
	// Deleted is the image ID, or the diffID of a layer, that was deleted.
	Deleted digest.Digest
}

// Remove untags and deletes an image as `docker rmi` does:
//   - by tag: the tag goes; the image goes with its last tag, unless child
//     images or containers still need it;
//   - by ID: every tag goes and the image with them; an image with several
//     tags needs force, an image with child images is never deleted;
//   - an image that containers use is kept (untagged with force).
//
// Untagged parent images that only this image needed (a build's
// intermediate images) are deleted with it, and then every layer and blob
// no image needs.
func (s *Store) Remove(rawRef string, force bool) ([]Deletion, error) {
	var deletions []Deletion
	_, removedLayers, err := s.changeImages(func(t *imageTable) error {
		img, err := lookupIn(t.images, rawRef)
		if err != nil {
			return err
		}
		deletions, err = t.remove(img, rawRef, force, s.users(img.ID))
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, diffID := range removedLayers {
		deletions = append(deletions, Deletion{Deleted: diffID})
	}
	return deletions, nil
}

// Prune deletes dangling images: untagged and not the parent of another
// image. With all, it deletes every image that no container uses and no
// other image is built on, repeatedly, so whole unused chains go. It
// returns what it deleted and the bytes reclaimed.
func (s *Store) Prune(all bool) ([]Deletion, int64, error) {
	var deletions []Deletion
	freed, _, err := s.changeImages(func(t *imageTable) error {
		for {
			victim := slices.IndexFunc(t.images, func(img *Image) bool {
				unused := len(s.users(img.ID)) == 0 && len(t.children(img.ID)) == 0
				return unused && (all || len(img.Tags) == 0)
			})
			if victim < 0 {
				return nil
			}
			img := t.images[victim]
			for _, ref := range img.Tags {
				deletions = append(deletions, Deletion{Untagged: ref.FamiliarString()})
			}
			t.delete(img)
			deletions = append(deletions, Deletion{Deleted: img.ID})
		}
	})
	if err != nil {
		return nil, 0, err
	}
	return deletions, freed, nil
}

func (s *Store) users(imageID digest.Digest) []string {
	if s.InUse == nil {
		return nil
	}
	return s.InUse(imageID)
}

// imageTable is the list of images while a removal edits index.json.
type imageTable struct {
	idx    *ocispec.Index
	images []*Image
}

// changeImages runs change on the images of index.json while holding both
// locks: the garbage-collection lock first, so that no command is adding
// content, then the reference lock. Afterwards it collects what no image
// needs any more and returns what the collection freed.
func (s *Store) changeImages(change func(t *imageTable) error) (int64, []digest.Digest, error) {
	unlock, err := s.lockFile(gcLock, unix.LOCK_EX)
	if err != nil {
		return 0, nil, err
	}
	defer unlock()

	err = s.updateIndex(func(idx *ocispec.Index) error {
		images, err := s.imagesIn(idx)
		if err != nil {
			return err
		}
		return change(&imageTable{idx: idx, images: images})
	})
	if err != nil {
		return 0, nil, err
	}
	return s.collectGarbage()
}

func (t *imageTable) children(id digest.Digest) []*Image {
	var kids []*Image
	for _, img := range t.images {
		if img.Parent == id {
			kids = append(kids, img)
		}
	}
	return kids
}

func (t *imageTable) remove(img *Image, rawRef string, force bool,
	users []string) ([]Deletion, error) {

	short := img.ShortID()
	byTag := slices.ContainsFunc(img.Tags, func(r Reference) bool {
		ref, err := ParseReference(rawRef)
		return err == nil && r == ref
	})
	hasChildren := len(t.children(img.ID)) > 0

	switch {
	case byTag && (len(img.Tags) > 1 || hasChildren || len(users) > 0 && force):
		ref, _ := ParseReference(rawRef)
		t.untag(img, ref)
		return []Deletion{{Untagged: ref.FamiliarString()}}, nil
	case len(users) > 0 && !force:
		return nil, fmt.Errorf("%w: unable to delete %s (must be forced) - "+
			"image is being used by container %s", ErrConflict, short, users[0])
	case !byTag && hasChildren:
		return nil, fmt.Errorf("%w: unable to delete %s (cannot be forced) - "+
			"image has dependent child images", ErrConflict, short)
	case !byTag && len(img.Tags) > 1 && !force:
		return nil, fmt.Errorf("%w: unable to delete %s (must be forced) - "+
			"image is referenced in multiple repositories", ErrConflict, short)
	}

	var deletions []Deletion
	for _, ref := range img.Tags {
		deletions = append(deletions, Deletion{Untagged: ref.FamiliarString()})
	}
	if len(users) > 0 {
		// Forced, but containers still stand on its layers: keep it untagged.
		for _, ref := range img.Tags {
			t.untag(img, ref)
		}
		return deletions, nil
	}
	t.delete(img)
	deletions = append(deletions, Deletion{Deleted: img.ID})

	// Intermediate images that only this one needed go with it.
	for p := t.find(img.Parent); p != nil && len(p.Tags) == 0 &&
		len(t.children(p.ID)) == 0; p = t.find(p.Parent) {
		t.delete(p)
		deletions = append(deletions, Deletion{Deleted: p.ID})
	}
	return deletions, nil
}

func (t *imageTable) find(id digest.Digest) *Image {
	return findImage(t.images, id)
}

// untag removes one reference; the image stays, untagged if it was its last.
func (t *imageTable) untag(img *Image, ref Reference) {
	name := ref.String()
	for i, m := range t.idx.Manifests {
		if m.Digest == img.Digest && m.Annotations[ocispec.AnnotationRefName] == name {
			if countEntries(t.idx, img.Digest) == 1 {
				delete(t.idx.Manifests[i].Annotations, ocispec.AnnotationRefName)
			} else {
				t.idx.Manifests = slices.Delete(t.idx.Manifests, i, i+1)
			}
			break
		}
	}
	img.Tags = slices.DeleteFunc(img.Tags, func(r Reference) bool { return r == ref })
}

// delete removes every index entry of the image.
func (t *imageTable) delete(img *Image) {
	t.idx.Manifests = slices.DeleteFunc(t.idx.Manifests, func(m ocispec.Descriptor) bool {
		return m.Digest == img.Digest
	})
	t.images = slices.DeleteFunc(t.images, func(i *Image) bool { return i == img })
}
