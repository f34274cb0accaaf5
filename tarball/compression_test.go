package tarball

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// compress returns data compressed with c by [NewWriter].
func compress(t testing.TB, data []byte, c Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, c)
	if err != nil {
		t.Fatalf("NewWriter(%v) error = %v", c, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDetect(t *testing.T) {
	plain := []byte(strings.Repeat("a tar stream, or so we pretend ", 1000))
	tests := []struct {
		name string
		in   []byte
		want Compression
		out  []byte
	}{
		{name: "plain", in: plain, want: Uncompressed, out: plain},
		{name: "gzip", in: compress(t, plain, Gzip), want: Gzip, out: plain},
		{name: "zstd", in: compress(t, plain, Zstd), want: Zstd, out: plain},
		{name: "empty", in: nil, want: Uncompressed, out: nil},
		{name: "shorter than a magic", in: zstdMagic[:2], want: Uncompressed, out: zstdMagic[:2]},
		{name: "empty gzip", in: compress(t, nil, Gzip), want: Gzip, out: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, got, err := Detect(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Detect() error = %v", err)
			}
			defer rc.Close()
			if got != tt.want {
				t.Errorf("Detect() = %v, want %v", got, tt.want)
			}
			out, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("reading Detect()'s reader: %v", err)
			}
			if !bytes.Equal(out, tt.out) {
				t.Errorf("Detect() yields %d bytes, want %d", len(out), len(tt.out))
			}
		})
	}
}

func TestDetectCorrupt(t *testing.T) {
	plain := []byte(strings.Repeat("0123456789", 10000))
	gz := compress(t, plain, Gzip)
	zst := compress(t, plain, Zstd)
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "gzip header only", in: gz[:5]},
		{name: "truncated gzip", in: gz[:len(gz)-10]},
		{name: "gzip with bad checksum", in: flipByte(gz, len(gz)-6)},
		{name: "truncated zstd", in: zst[:len(zst)-10]},
		{name: "corrupt zstd", in: flipByte(zst, len(zst)/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _, err := Detect(bytes.NewReader(tt.in))
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if err == nil {
				t.Errorf("Detect() and reading = nil error, want one")
			}
		})
	}
}

// flipByte returns a copy of b with the byte at i inverted.
func flipByte(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

func TestNewWriterUnknown(t *testing.T) {
	if _, err := NewWriter(io.Discard, Compression(7)); err == nil {
		t.Errorf("NewWriter(Compression(7)) error = nil, want one")
	}
}

func TestCompressionString(t *testing.T) {
	tests := []struct {
		c    Compression
		want string
	}{
		{Uncompressed, "tar"},
		{Gzip, "gzip"},
		{Zstd, "zstd"},
		{Compression(9), "Compression(9)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Compression(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}
