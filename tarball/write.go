package tarball

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"
)

// WriteOptions tunes [WriteDir]. The zero value is ready to use.
type WriteOptions struct {
	// Clamp, when not zero, caps every mtime at this time (SOURCE_DATE_EPOCH).
	Clamp time.Time
	// Logger receives debug lines and warnings, such as a skipped socket;
	// nil discards them.
	Logger *slog.Logger
}

// WriteDir writes the tree under dir to w as a plain layer tar, sorted and
// deterministic; overlayfs whiteouts become .wh. entries again. It is how a
// container's upperdir becomes a layer: compress w with [NewWriter] for a
// blob.
//
// Entries come in lexical order of their paths, each directory before its
// content, named relative to dir without a leading "./" (directories end in
// "/"); dir itself has no entry. Headers are PAX, with numeric owners only,
// modification times in whole seconds (capped at opts.Clamp), and no access
// or change times, so the same tree always yields the same bytes. A second
// name of an inode becomes a hard link to the first. Xattrs are kept except
// overlayfs's own and security.selinux, a label of the host rather than of
// the image. A 0/0 character device becomes a ".wh.NAME" whiteout, and a
// directory with trusted.overlay.opaque=y is followed by its ".wh..wh..opq"
// entry. Sockets cannot be stored in a tar and are skipped.
//
// The result describes the tar written: its diffID, length and the total
// size of its regular files. The tree is read without following symlinks,
// so it may belong to an untrusted container, but it should not change
// while WriteDir runs.
func WriteDir(w io.Writer, dir string, opts WriteOptions) (ExtractResult, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dw := &digestWriter{w: w, hash: sha256.New()}
	tw := tar.NewWriter(dw)

	contentSize, err := writeTree(tw, dir, opts)
	if err != nil {
		return ExtractResult{}, fmt.Errorf("write layer from %q: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return ExtractResult{}, fmt.Errorf("write layer from %q: %w", dir, err)
	}

	diffID := digest.NewDigest(digest.SHA256, dw.hash)
	opts.Logger.Debug("wrote layer", "path", dir, "diff_id", diffID, "tar_size", dw.size)
	return ExtractResult{DiffID: diffID, TarSize: dw.size, ContentSize: contentSize}, nil
}

// normalize makes hdr reproducible: PAX format, numeric owners only, no
// access or change time, and the modification time in whole seconds and no
// later than clamp (when set).
func normalize(hdr *tar.Header, clamp time.Time) {
	hdr.Format = tar.FormatPAX
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	if !clamp.IsZero() && hdr.ModTime.After(clamp) {
		hdr.ModTime = clamp.Truncate(time.Second)
	}
}

// digestWriter hashes and counts what it passes on to w.
type digestWriter struct {
	w    io.Writer
	hash hash.Hash
	size int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.hash.Write(p[:n])
	d.size += int64(n)
	return n, err
}
