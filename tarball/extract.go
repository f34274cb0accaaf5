package tarball

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/explain"
)

// ExtractOptions tunes [Extract]. The zero value is ready to use.
type ExtractOptions struct {
	// Logger receives debug lines for each kernel-facing step; nil discards
	// them.
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

// applier is the file-system side of [Extract]: it turns checked entries
// into files under the layer directory. The Linux implementation resolves
// every path with openat2(2) inside that directory.
type applier interface {
	// entry creates e.name, replacing what has that name unless both are
	// directories. A regular file's content comes from data.
	entry(e entry, data *content) error
	// whiteout stores e, a ".wh.NAME" entry, in overlayfs's form.
	whiteout(e entry) error
	// opaque marks e.dir opaque in overlayfs's form.
	opaque(e entry) error
	// finish applies what has to wait for the last entry: directory modes
	// and times, which writing into a directory would otherwise change.
	finish() error
	// close releases the applier's file descriptors.
	close() error
}

// Extract unpacks the layer tarball r (plain, gzip or zstd, detected) into
// the existing empty directory dir.
//
// The stream is read once, by three goroutines: one decompresses it, one
// computes the diffID, parses and checks the tar, and the caller's writes
// the files. The bytes after the tar's end are read too, so the diffID
// covers the whole stream and a corrupt or truncated compressed stream is
// an error. Whiteouts are stored as overlayfs expects them (see the package
// documentation), which needs root, as do device nodes, ownership and
// trusted.* xattrs. Files are not synced: call [Sync] once the layer is
// complete.
//
// Every entry is treated as hostile: names are cleaned, those climbing out
// of dir are refused, and all paths are resolved inside dir with openat2(2),
// so no symlink or hard link in the layer can make Extract write outside
// dir. On error, dir holds part of the layer; the caller removes it.
// Extract returns only once it no longer reads r.
func Extract(r io.Reader, dir string, opts ExtractOptions) (res ExtractResult, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	app, err := newApplier(dir, log)
	if err != nil {
		return ExtractResult{}, err
	}
	defer func() { err = errors.Join(err, app.close()) }()
	return extract(r, app, dir, log)
}

// extract is [Extract] with its applier made; dir is only for logs.
func extract(r io.Reader, app applier, dir string, log *slog.Logger) (ExtractResult, error) {
	src, compression, err := Detect(r)
	if err != nil {
		return ExtractResult{}, err
	}
	log.Debug("extracting layer", "path", dir, "compression", compression)

	p := startParser(src)
	defer p.stop()

	if err := applyAll(p, app, log); err != nil {
		return ExtractResult{}, err
	}
	if err := app.finish(); err != nil {
		return ExtractResult{}, err
	}

	explain.Step(log, explain.Layers,
		"a layer is a tar stream; its diffID is the sha256 of the uncompressed tar",
		"untar a %s stream into %s: %d tar bytes, diffID %s", compression, dir, p.tarSize, p.diffID)
	return ExtractResult{DiffID: p.diffID, TarSize: p.tarSize, ContentSize: p.contentSize}, nil
}

// applyAll applies the parser's items in order until the layer's end.
func applyAll(p *parser, app applier, log *slog.Logger) error {
	for {
		it, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if it.cont {
			return errors.New("tarball: parser sent file content without its entry")
		}

		// The name is taken now: reading a large file's content moves the
		// parser on, and the batch that holds it may be reused.
		name := it.e.hdr.Name
		if err := applyItem(app, it, p, log); err != nil {
			return fmt.Errorf("tar entry %q: %w", name, err)
		}
	}
}

// applyItem hands one checked entry to the applier.
func applyItem(app applier, it *item, p *parser, log *slog.Logger) error {
	e := it.e
	switch e.kind {
	case kindWhiteout:
		return app.whiteout(e)
	case kindOpaque:
		return app.opaque(e)
	case kindSkip:
		if e.hdr.Typeflag != tar.TypeXGlobalHeader {
			log.Warn("skipping whiteout bookkeeping entry", "path", e.hdr.Name)
		}
		return nil
	}

	// A file's pieces are consumed even if the applier did not read them
	// all, so that the next item is an entry again.
	data := &content{p: p, first: it.data, more: it.more}
	if err := app.entry(e, data); err != nil {
		return err
	}
	return data.discard()
}
