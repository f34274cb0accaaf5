package tarball

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
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

// String returns the name used in media types: "tar", "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "tar"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// The magic numbers that open a compressed stream: RFC 1952 section 2.3.1
// for gzip, RFC 8878 section 3.1.1 for a zstd frame. A tar stream opens with
// a file name, so it cannot be mistaken for either in practice.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

const (
	// peekSize is the read buffer in front of the decompressor; larger reads
	// from a file or socket cost fewer system calls.
	peekSize = 128 << 10

	// zstdMaxWindow bounds the memory a zstd frame may ask the decoder for.
	// Levels 1 to 19 of the reference encoder use at most 8 MiB; anything
	// larger is refused rather than allowed to grow without limit.
	zstdMaxWindow = 32 << 20
)

// Detect reads the first bytes of r, tells its compression, and returns a
// reader that yields the uncompressed tar stream. Closing it releases the
// decompressor; it does not close r. A gzip or zstd stream is checked as it
// is read: a corrupt or truncated one makes Read fail, at the latest when
// the end of the stream is reached.
func Detect(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, peekSize)

	// A stream shorter than the longest magic number is simply not
	// compressed; Peek then returns what there is.
	magic, err := br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		return nil, Uncompressed, fmt.Errorf("read layer stream: %w", err)
	}

	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, Gzip, fmt.Errorf("read gzip header: %w", err)
		}
		return zr, Gzip, nil

	case bytes.HasPrefix(magic, zstdMagic):
		// One decoder goroutine: Extract already decompresses on its own
		// goroutine, and on two cores the writer needs the other one.
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, Zstd, fmt.Errorf("start zstd decoder: %w", err)
		}
		return zstdReadCloser{zr}, Zstd, nil
	}
	return io.NopCloser(br), Uncompressed, nil
}

// zstdReadCloser adapts [zstd.Decoder], whose Close returns nothing.
type zstdReadCloser struct{ *zstd.Decoder }

// Close stops the decoder and frees its buffers.
func (z zstdReadCloser) Close() error {
	z.Decoder.Close()
	return nil
}

// NewWriter returns a writer that compresses what it is given into w with
// c's default level. Close flushes the stream's end; it does not close w.
func NewWriter(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Uncompressed:
		return nopWriteCloser{w}, nil
	case Gzip:
		return gzip.NewWriter(w), nil
	case Zstd:
		zw, err := zstd.NewWriter(w)
		if err != nil {
			return nil, fmt.Errorf("start zstd encoder: %w", err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("compress with %v: unknown compression", c)
}

// nopWriteCloser passes writes through and has nothing to flush.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
