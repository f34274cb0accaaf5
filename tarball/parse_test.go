package tarball

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestParserBatches runs the parse stage alone and checks every entry and
// byte that comes out, in order. Tiny files first fill a batch by count,
// then larger ones fill batches by content, and some span several. The
// reader pauses at the start of each batch, so that the parser runs ahead
// and reuses the batches it is given back.
func TestParserBatches(t *testing.T) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	var want []string
	for i := range 6000 {
		data := fmt.Sprintf("%d;", i)
		switch {
		case i%1000 == 999:
			data = strings.Repeat(data, 300_000/len(data)) // across arenas
		case i >= batchItems:
			data = strings.Repeat(data, 2000/len(data))
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("f%d", i), Size: int64(len(data))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, data); err != nil {
			t.Fatal(err)
		}
		want = append(want, hdr.Name+" "+data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	p := startParser(io.NopCloser(bytes.NewReader(layer.Bytes())))
	defer p.stop()
	var got []string
	for {
		it, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parser.next() error = %v", err)
		}
		if p.outIdx == 1 {
			time.Sleep(5 * time.Millisecond)
		}
		// it is valid only until the content spills into the next batch.
		name := it.e.name
		data, err := io.ReadAll(&readContent{c: &content{p: p, first: it.data, more: it.more}})
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		got = append(got, name+" "+string(data))
	}

	if len(got) != len(want) {
		t.Fatalf("parser gave %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d = %.40q..., want %.40q...", i, got[i], want[i])
		}
	}
	if p.tarSize != int64(layer.Len()) {
		t.Errorf("parser tar size = %d, want %d", p.tarSize, layer.Len())
	}
}

// readContent adapts content to io.Reader for the test.
type readContent struct {
	c    *content
	rest []byte
}

func (r *readContent) Read(b []byte) (int, error) {
	for len(r.rest) == 0 {
		piece, err := r.c.next()
		if err != nil {
			return 0, err
		}
		r.rest = piece
	}
	n := copy(b, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}
