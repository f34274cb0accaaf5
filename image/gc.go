package image

import (
	"os"

	"github.com/opencontainers/go-digest"
)

// collectGarbage deletes every blob and unpacked layer that no image in
// index.json needs, and returns the bytes freed. The caller holds gcLock
// exclusively, so no command is adding content at the same time.
//
// This is mark and sweep: mark what the manifests in the index reach
// (manifest, config, layer blobs; diffIDs from the configs), sweep the rest.
func (s *Store) collectGarbage() (freed int64, removedLayers []digest.Digest, err error) {
	idx, err := s.readIndex()
	if err != nil {
		return 0, nil, err
	}
	blobs := map[string]bool{}
	layers := map[string]bool{}
	for _, m := range idx.Manifests {
		img, err := s.loadImage(m)
		if err != nil {
			// Keep everything rather than guess what a damaged image needs.
			return 0, nil, err
		}
		blobs[img.Digest.Encoded()] = true
		blobs[img.ID.Encoded()] = true
		for _, l := range img.Manifest.Layers {
			blobs[l.Digest.Encoded()] = true
		}
		for _, diffID := range img.Config.RootFS.DiffIDs {
			layers[diffID.Encoded()] = true
		}
	}

	freedBlobs, _, err := s.sweep(blobsDir, blobs)
	if err != nil {
		return 0, nil, err
	}
	freedLayers, removed, err := s.sweep(layersDir, layers)
	for _, name := range removed {
		removedLayers = append(removedLayers, digest.NewDigestFromEncoded(digest.SHA256, name))
	}
	return freedBlobs + freedLayers, removedLayers, err
}

// sweep removes the entries of dir whose names are not in keep, and
// returns the bytes freed and the names removed.
func (s *Store) sweep(dir string, keep map[string]bool) (freed int64, removed []string, err error) {
	entries, err := os.ReadDir(s.path(dir))
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if dir == layersDir {
			diffID := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
			if info, err := s.layerInfo(diffID); err == nil {
				freed += info.ContentSize
			}
		} else if fi, err := e.Info(); err == nil {
			freed += fi.Size()
		}
		s.log.Debug("removing unused content", "path", s.path(dir, e.Name()))
		if err := os.RemoveAll(s.path(dir, e.Name())); err != nil {
			return freed, removed, err
		}
		removed = append(removed, e.Name())
	}
	return freed, removed, nil
}
