package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"time"
)

func main() {
	out := flag.String("o", "layer.tar.gz", "write the layer to `file`")
	size := flag.Int64("size", 170_000_000, "file content to write, in `bytes` (headers add ~8%)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same layer")
	flag.Parse()

	if err := run(*out, *size, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genlayer:", err)
		os.Exit(1)
	}
}

// stats is what run reports about the layer it wrote.
type stats struct {
	files, dirs, links int
	tarBytes, gzBytes  int64
}

func run(out string, size int64, seed uint64) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()

	gzCount := &countingWriter{w: f}
	bw := bufio.NewWriterSize(gzCount, 1<<20)
	zw := gzip.NewWriter(bw)
	tarCount := &countingWriter{w: zw}
	tw := tar.NewWriter(tarCount)

	g := newGenerator(seed)
	st, err := g.writeTree(tw, size)
	if err != nil {
		return err
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}

	st.tarBytes, st.gzBytes = tarCount.n, gzCount.n
	fmt.Printf("files=%d dirs=%d links=%d tar_bytes=%d gz_bytes=%d\n",
		st.files, st.dirs, st.links, st.tarBytes, st.gzBytes)
	return nil
}

// generator makes names, sizes and contents from one seeded source.
type generator struct {
	rng   *rand.Rand
	bytes *rand.ChaCha8 // fast random bytes for binary-like files
	words []string
}

func newGenerator(seed uint64) *generator {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	g := &generator{
		rng:   rand.New(rand.NewPCG(seed, seed^0x5eed)),
		bytes: rand.NewChaCha8(key),
	}
	// A small vocabulary gives text the redundancy that real files have.
	for range 512 {
		word := make([]byte, 2+g.rng.IntN(9))
		for i := range word {
			word[i] = byte('a' + g.rng.IntN(26))
		}
		g.words = append(g.words, string(word))
	}
	return g
}

// mtime is fixed so the tar, and the layer's diffID, never change.
var mtime = time.Unix(1_700_000_000, 0)

// writeTree writes directories of files until about size bytes of file
// content are written.
func (g *generator) writeTree(tw *tar.Writer, size int64) (stats, error) {
	var st stats
	var written int64
	dirs := []string{"usr"}
	if err := writeDir(tw, "usr"); err != nil {
		return st, err
	}
	st.dirs++

	for written < size {
		// Now and then open a new directory below an existing one.
		if g.rng.IntN(40) == 0 || len(dirs) < 4 {
			parent := dirs[g.rng.IntN(len(dirs))]
			dir := path.Join(parent, fmt.Sprintf("d%04d", len(dirs)))
			if err := writeDir(tw, dir); err != nil {
				return st, err
			}
			dirs = append(dirs, dir)
			st.dirs++
		}

		dir := dirs[g.rng.IntN(len(dirs))]
		name := path.Join(dir, fmt.Sprintf("f%06d", st.files))
		if g.rng.IntN(50) == 0 && st.files > 0 {
			// A symbolic link to an earlier file, as /usr has many.
			target := fmt.Sprintf("f%06d", g.rng.IntN(st.files))
			if err := writeLink(tw, name+".lnk", target); err != nil {
				return st, err
			}
			st.links++
		}

		n := g.fileSize()
		if err := g.writeFile(tw, name, n); err != nil {
			return st, err
		}
		written += n
		st.files++
	}
	return st, nil
}

// fileSize draws a size: mostly small files, some medium, a few large.
func (g *generator) fileSize() int64 {
	switch p := g.rng.IntN(100); {
	case p < 65:
		return g.rng.Int64N(4 << 10)
	case p < 97:
		return 4<<10 + g.rng.Int64N(12<<10)
	default:
		return 16<<10 + g.rng.Int64N(240<<10)
	}
}

func (g *generator) writeFile(tw *tar.Writer, name string, n int64) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     n,
		Mode:     0o644,
		ModTime:  mtime,
		Format:   tar.FormatPAX,
	}
	if g.rng.IntN(10) == 0 {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}

	var content io.Reader = io.LimitReader(&binaryReader{g: g}, n)
	if g.rng.IntN(2) == 0 {
		content = io.LimitReader(&textReader{g: g}, n)
	}
	_, err := io.Copy(tw, content)
	return err
}

func writeDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir,
		Name:     name + "/",
		Mode:     0o755,
		ModTime:  mtime,
		Format:   tar.FormatPAX,
	})
}

func writeLink(tw *tar.Writer, name, target string) error {
	return tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeSymlink,
		Name:     name,
		Linkname: target,
		Mode:     0o777,
		ModTime:  mtime,
		Format:   tar.FormatPAX,
	})
}

// textReader yields endless lines of words from the generator's vocabulary.
type textReader struct {
	g       *generator
	pending []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.pending) < len(p) {
		for range 8 {
			t.pending = append(t.pending, t.g.words[t.g.rng.IntN(len(t.g.words))]...)
			t.pending = append(t.pending, ' ')
		}
		t.pending = append(t.pending, '\n')
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}

// binaryReader yields data shaped like compiled code: blocks that are
// fresh random bytes, zeros, or repeats of recent blocks.
type binaryReader struct {
	g       *generator
	recent  [][]byte
	pending []byte
}

const binaryBlock = 64

func (b *binaryReader) Read(p []byte) (int, error) {
	for len(b.pending) < len(p) {
		block := make([]byte, binaryBlock)
		switch k := b.g.rng.IntN(8); {
		case k < 3 || len(b.recent) == 0:
			b.g.bytes.Read(block)
			if len(b.recent) < 64 {
				b.recent = append(b.recent, block)
			} else {
				b.recent[b.g.rng.IntN(len(b.recent))] = block
			}
		case k < 5:
			// zeros: padding and empty tables
		default:
			copy(block, b.recent[b.g.rng.IntN(len(b.recent))])
		}
		b.pending = append(b.pending, block...)
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// countingWriter counts the bytes that pass through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
