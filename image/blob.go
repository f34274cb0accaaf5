package image

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
)

// blobWriter receives one blob's bytes into a temporary file while it
// computes their digest. Nothing is visible in blobs/ until commit has
// checked the digest and renamed the file into place.
type blobWriter struct {
	f        *os.File
	digester digest.Digester
	size     int64
}

func newBlobWriter(w workDir) (*blobWriter, error) {
	f, err := os.CreateTemp(string(w), "blob-*")
	if err != nil {
		return nil, err
	}
	return &blobWriter{f: f, digester: digest.Canonical.Digester()}, nil
}

func (b *blobWriter) Write(p []byte) (int, error) {
	n, err := b.f.Write(p)
	b.digester.Hash().Write(p[:n])
	b.size += int64(n)
	return n, err
}

// commit checks the blob against want (when not "") and wantSize (when not
// negative), makes it durable, and moves it to its place in blobs/.
func (b *blobWriter) commit(s *Store, want digest.Digest, wantSize int64) (digest.Digest, error) {
	got := b.digester.Digest()
	if want != "" && got != want {
		b.abort()
		return "", fmt.Errorf("blob %s: content has digest %s: %w", want, got, ErrDigestMismatch)
	}
	if wantSize >= 0 && b.size != wantSize {
		b.abort()
		return "", fmt.Errorf("blob %s: %d bytes, but %d were announced: %w",
			got, b.size, wantSize, ErrDigestMismatch)
	}

	// fsync before rename: after a crash the name must never point at
	// content that did not reach the disk.
	if err := b.f.Sync(); err != nil {
		b.abort()
		return "", err
	}
	if err := b.f.Close(); err != nil {
		os.Remove(b.f.Name())
		return "", err
	}
	if err := os.Rename(b.f.Name(), s.blobPath(got)); err != nil {
		os.Remove(b.f.Name())
		return "", err
	}
	return got, nil
}

func (b *blobWriter) abort() {
	b.f.Close()
	os.Remove(b.f.Name())
}

// putBlob stores a small blob (a manifest, a config) held in memory.
func (s *Store) putBlob(w workDir, data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if s.hasBlob(d) {
		return d, nil
	}
	bw, err := newBlobWriter(w)
	if err != nil {
		return "", err
	}
	if _, err := bw.Write(data); err != nil {
		bw.abort()
		return "", err
	}
	return bw.commit(s, d, int64(len(data)))
}

func (s *Store) hasBlob(d digest.Digest) bool {
	_, err := os.Stat(s.blobPath(d))
	return err == nil
}

// readBlob reads a small blob and checks it against its digest: a bit flip
// on disk must not become a different image config.
func (s *Store) readBlob(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.blobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s is missing from the store", d)
	}
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(data); got != d {
		return nil, fmt.Errorf("blob %s: content has digest %s: %w", d, got, ErrDigestMismatch)
	}
	return data, nil
}

// openBlob opens a blob for streaming. The reader fails at the end of the
// stream if the bytes read do not match the digest.
func (s *Store) openBlob(d digest.Digest) (io.ReadCloser, int64, error) {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return &verifyingReader{f: f, want: d, verifier: d.Verifier()}, fi.Size(), nil
}

type verifyingReader struct {
	f        *os.File
	want     digest.Digest
	verifier digest.Verifier
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.verifier.Write(p[:n])
	if err == io.EOF && !v.verifier.Verified() {
		return n, fmt.Errorf("blob %s: content on disk does not match: %w", v.want, ErrDigestMismatch)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.f.Close() }
