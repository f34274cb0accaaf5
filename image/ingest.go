package image

import (
	"encoding/json"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// An ingest is one command's addition of content to the store (an import,
// a load, later a pull or a build step). It owns a scratch directory and
// holds the garbage-collection lock shared, so that blobs and layers it has
// placed but not yet named in index.json cannot be collected under it.
type ingest struct {
	s      *Store
	work   workDir
	unlock func()
}

func (s *Store) beginIngest() (*ingest, error) {
	unlock, err := s.lockFile(gcLock, unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	work, err := s.newWorkDir()
	if err != nil {
		unlock()
		return nil, err
	}
	return &ingest{s: s, work: work, unlock: unlock}, nil
}

// end removes the scratch directory and releases the lock. Content the
// ingest placed but did not name is collected by the next garbage
// collection.
func (in *ingest) end() error {
	err := in.work.remove()
	in.unlock()
	return err
}

// testHookBeforeIndex, set only by tests, runs when an image's content is
// all in place but not yet named: the worst moment for a crash.
var testHookBeforeIndex func()

// addImage stores config and a manifest naming it and layers (whose blobs
// must already be in the store), then names the manifest in index.json
// with tags. The image becomes visible to other commands only at this last
// step.
func (in *ingest) addImage(config []byte, layers []ocispec.Descriptor, tags []Reference,
	parent digest.Digest) (*Image, error) {

	desc, err := in.storeImage(config, layers)
	if err != nil {
		return nil, err
	}
	if testHookBeforeIndex != nil {
		testHookBeforeIndex()
	}
	var named ocispec.Index
	err = in.s.updateIndex(func(idx *ocispec.Index) error {
		addRefs(idx, desc, tags, parent)
		named = *idx
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Only this image is read back, not the whole store: a build commits
	// an image per step, and the store grows with every one.
	return in.s.imageIn(&named, desc.Digest)
}

// storeImage stores config and a manifest naming it and layers (whose blobs
// must already be in the store), and returns the manifest's descriptor.
// Nothing names the image yet: addImage names it at once, and Load names
// all the images of an archive together at the end.
func (in *ingest) storeImage(config []byte,
	layers []ocispec.Descriptor) (ocispec.Descriptor, error) {

	configDigest, err := in.s.putBlob(in.work, config)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	manifest := ocispec.Manifest{
		Versioned: specsVersion,
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    configDigest,
			Size:      int64(len(config)),
		},
		Layers: layers,
	}
	if layers == nil {
		manifest.Layers = []ocispec.Descriptor{}
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	manifestDigest, err := in.s.putBlob(in.work, data)
	if err != nil {
		return ocispec.Descriptor{}, err
	}

	desc := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    manifestDigest,
		Size:      int64(len(data)),
	}
	return desc, nil
}
