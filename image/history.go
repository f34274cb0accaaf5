package image

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// HistoryEntry is one line of `skiff history`: one step that made the image.
type HistoryEntry struct {
	// ID is the image that this step produced, when it is in the store
	// (always for the top entry; for lower ones only after a local build).
	// "" is shown as <missing>, as Docker does.
	ID        digest.Digest
	Created   time.Time
	CreatedBy string
	Comment   string
	// Size is the unpacked size of the layer this step made; 0 when the
	// step only changed the config (EmptyLayer).
	Size       int64
	EmptyLayer bool
}

// History lists the steps that made an image, newest first. Each step
// recorded in the config's history that made a layer is matched with the
// next diffID of rootfs.diff_ids, in order.
func (s *Store) History(rawRef string) ([]HistoryEntry, error) {
	images, err := s.Images()
	if err != nil {
		return nil, err
	}
	img, err := lookupIn(images, rawRef)
	if err != nil {
		return nil, err
	}

	// The image at the top of each prefix of the history, when known
	// locally: a build's intermediate images are this image's ancestors.
	stepImage := map[int]digest.Digest{}
	for p := img; p != nil; p = findImage(images, p.Parent) {
		stepImage[len(p.Config.History)-1] = p.ID
	}

	entries := make([]HistoryEntry, 0, len(img.Config.History))
	layer := 0
	for i, h := range img.Config.History {
		e := HistoryEntry{
			ID:         stepImage[i],
			CreatedBy:  h.CreatedBy,
			Comment:    h.Comment,
			EmptyLayer: h.EmptyLayer,
		}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && layer < len(img.Config.RootFS.DiffIDs) {
			info, err := s.layerInfo(img.Config.RootFS.DiffIDs[layer])
			if err != nil {
				return nil, err
			}
			e.Size = info.ContentSize
			layer++
		}
		entries = append(entries, e)
	}
	if len(entries) > 0 {
		entries[len(entries)-1].ID = img.ID
	}

	// Newest first, as Docker prints it.
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, nil
}

func findImage(images []*Image, id digest.Digest) *Image {
	for _, img := range images {
		if id != "" && img.ID == id {
			return img
		}
	}
	return nil
}
