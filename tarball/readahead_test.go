package tarball

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// The reader gets the stream as it was, and the tee every byte of it, in
// order, across many chunks.
func TestReadAheadTee(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 5*chunkSize/16+123)
	var tee bytes.Buffer
	ra := ReadAhead(bytes.NewReader(data), &tee)
	got, err := io.ReadAll(ra)
	if err != nil {
		t.Fatalf("ReadAll error: %v", err)
	}
	if err := ra.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || !bytes.Equal(tee.Bytes(), data) {
		t.Errorf("read %d bytes and teed %d, want %d of each, the same",
			len(got), tee.Len(), len(data))
	}
}

// A failing tee stops the stream: the reader gets its error after the
// bytes it was given.
func TestReadAheadTeeError(t *testing.T) {
	broken := errors.New("disk full")
	data := bytes.Repeat([]byte{'x'}, 3*chunkSize)
	ra := ReadAhead(bytes.NewReader(data), failingWriter{broken})
	defer ra.Close()
	got, err := io.ReadAll(ra)
	if !errors.Is(err, broken) {
		t.Errorf("ReadAll error = %v, want %v", err, broken)
	}
	if len(got) != chunkSize {
		t.Errorf("read %d bytes before the error, want the first chunk, %d", len(got), chunkSize)
	}
}

// Close before the end stops the goroutine; r is not closed.
func TestReadAheadCloseEarly(t *testing.T) {
	src := &closeCounter{Reader: bytes.NewReader(make([]byte, 20*chunkSize))}
	ra := ReadAhead(src, io.Discard)
	if _, err := ra.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	ra.Close()
	if src.closed != 0 {
		t.Errorf("r was closed %d times, want never: it is the caller's", src.closed)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write(p []byte) (int, error) { return 0, w.err }

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error {
	c.closed++
	return nil
}
