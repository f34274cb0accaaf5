package tarball

// This file fixes the package's API so that the image store and the CLI can be
// written against it while the implementation lands. The function bodies are
// placeholders to be replaced by the real implementation.

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"
)

// Compression names how a layer tarball is compressed.
type Compression int

// The compressions a layer tarball may have. The zero value means a plain
// tar stream.
const (
	Uncompressed Compression = iota
	Gzip
	Zstd
)

// ExtractOptions tunes [Extract]. The zero value is ready to use.
type ExtractOptions struct {
	// Logger receives debug lines for each kernel-facing step; nil discards them.
	Logger *slog.Logger
}

// ExtractResult is what [Extract] learned while it unpacked a layer.
type ExtractResult struct {
	// DiffID is the sha256 digest of the uncompressed tar stream.
	DiffID digest.Digest
	// TarSize is the length of the uncompressed tar stream in bytes.
	TarSize int64
	// ContentSize is the sum of the sizes of the regular files in the layer.
	ContentSize int64
}

// WriteOptions tunes [WriteDir]. The zero value is ready to use.
type WriteOptions struct {
	// Clamp, when not zero, caps every mtime at this time (SOURCE_DATE_EPOCH).
	Clamp  time.Time
	Logger *slog.Logger
}

var errTODO = errors.New("tarball: not implemented yet")

// Detect reads the first bytes of r, tells its compression, and returns a
// reader that yields the uncompressed tar stream.
func Detect(r io.Reader) (io.ReadCloser, Compression, error) { return nil, 0, errTODO }

// Extract unpacks the layer tarball r (plain, gzip or zstd, detected) into
// the existing empty directory dir.
func Extract(r io.Reader, dir string, opts ExtractOptions) (ExtractResult, error) {
	return ExtractResult{}, errTODO
}

// WriteDir writes the tree under dir to w as a plain layer tar, sorted and
// deterministic; overlayfs whiteouts become .wh. entries again.
func WriteDir(w io.Writer, dir string, opts WriteOptions) (ExtractResult, error) {
	return ExtractResult{}, errTODO
}

// NewWriter returns a writer that compresses what it is given into w.
func NewWriter(w io.Writer, c Compression) (io.WriteCloser, error) { return nil, errTODO }

// Sync flushes the filesystem that holds dir with syncfs(2).
func Sync(dir string) error { return errTODO }
