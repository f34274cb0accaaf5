package image

// Placeholder bodies for the parts of the API still being written.

import (
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

var errTODO = errors.New("image: not implemented yet")

// Loaded is one image that [Store.Load] added.
type Loaded struct {
	ID   digest.Digest
	Tags []Reference
}

// Load reads an image archive.
func (s *Store) Load(r io.Reader) ([]Loaded, error) { return nil, errTODO }

// ArchiveFormat selects the layout of an image archive written by Save.
type ArchiveFormat string

// The archive formats Save writes.
const (
	FormatDocker ArchiveFormat = "docker"
	FormatOCI    ArchiveFormat = "oci"
)

// Save writes the named images to w as one image archive.
func (s *Store) Save(w io.Writer, rawRefs []string, format ArchiveFormat) error { return errTODO }

