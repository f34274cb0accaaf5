package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// The benchmarks extract a generated layer of many small files, the shape
// of a distribution's base image: about 180 MB of tar in 2,000 directories
// of 10 files each, between 64 bytes and 64 KiB, text-like or binary-like.
//
// To compare with GNU tar on the same input:
//
//	go test -run '^$' -bench 'ExtractGzip$' ./tarball -args -benchout=/tmp/layer.tar.gz
//	mkdir /tmp/x && time tar -xzf /tmp/layer.tar.gz -C /tmp/x
//
// On ext4 without a journal (as on the development VMs), creating inodes
// soon after deleting many is much slower (the allocator's recently_deleted
// scan), so the extracted trees are only removed when all tests are done,
// and two runs in a row should be some minutes apart.
var (
	benchSize = flag.Int64("benchsize", 180<<20, "uncompressed bytes in the benchmark layer")
	benchOut  = flag.String("benchout", "", "also write the gzip benchmark layer to this file")
)

// benchRoot holds the benchmark layers and trees until TestMain ends.
var benchRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

func BenchmarkExtractGzip(b *testing.B)  { benchmarkExtract(b, Gzip) }
func BenchmarkExtractZstd(b *testing.B)  { benchmarkExtract(b, Zstd) }
func BenchmarkExtractPlain(b *testing.B) { benchmarkExtract(b, Uncompressed) }

// benchmarkExtract extracts the generated layer compressed with c into a new
// directory per iteration, reporting MB/s of uncompressed tar and the peak
// resident set size while extracting.
func benchmarkExtract(b *testing.B, c Compression) {
	blob, tarSize := benchLayer(b, c)
	dirs := benchDir(b, "trees-"+c.String())
	resetPeakRSS(b)

	b.SetBytes(tarSize)
	i := 0
	for b.Loop() {
		dir := filepath.Join(dirs, strconv.Itoa(i))
		i++
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(blob)
		if err != nil {
			b.Fatal(err)
		}
		_, err = Extract(f, dir, ExtractOptions{})
		f.Close()
		if err != nil {
			b.Fatalf("Extract(%s) = %v", blob, err)
		}
	}
	b.ReportMetric(peakRSS(b), "peak-RSS-MiB")
}

// BenchmarkWriteDir writes the tree of the benchmark layer back as a tar.
func BenchmarkWriteDir(b *testing.B) {
	blob, tarSize := benchLayer(b, Uncompressed)
	dir := filepath.Join(benchDir(b, "writedir"), "tree")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(blob)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := Extract(f, dir, ExtractOptions{}); err != nil {
		b.Fatal(err)
	}

	b.SetBytes(tarSize)
	for b.Loop() {
		if _, err := WriteDir(io.Discard, dir, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDir returns a fresh directory under benchRoot.
func benchDir(b *testing.B, name string) string {
	b.Helper()
	if benchRoot == "" {
		root, err := os.MkdirTemp("", "tarball-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchRoot = root
	}
	dir, err := os.MkdirTemp(benchRoot, name+"-")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchLayers caches the generated layer blobs by compression.
var benchLayers = map[Compression]string{}

// benchLayer returns the path of the benchmark layer compressed with c, and
// the size of its tar.
func benchLayer(b *testing.B, c Compression) (string, int64) {
	b.Helper()
	blob, ok := benchLayers[c]
	if !ok {
		blob = filepath.Join(benchDir(b, "blob"), "layer."+c.String())
		if err := writeBenchLayer(blob, c, *benchSize); err != nil {
			b.Fatal(err)
		}
		benchLayers[c] = blob
		if c == Gzip && *benchOut != "" {
			if err := copyFile(*benchOut, blob); err != nil {
				b.Fatal(err)
			}
		}
	}

	r, err := os.Open(blob)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	tr, _, err := Detect(r)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	n, err := io.Copy(io.Discard, tr)
	if err != nil {
		b.Fatal(err)
	}
	return blob, n
}

// writeBenchLayer writes a generated layer of about size bytes to path.
func writeBenchLayer(path string, c Compression, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := NewWriter(bw, c)
	if err != nil {
		return err
	}
	if err := genLayer(zw, size); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// genLayer writes a deterministic tar of directories with ten files each
// until the files add up to size bytes.
func genLayer(w io.Writer, size int64) error {
	tw := tar.NewWriter(w)
	rng := rand.New(rand.NewPCG(1, 2))
	mtime := time.Unix(1700000000, 0)
	var buf bytes.Buffer
	for d, total := 0, int64(0); total < size; d++ {
		dir := fmt.Sprintf("usr/share/d%03d/s%02d/", d/20, d%20)
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		for i := range 10 {
			// Sizes spread evenly on a log scale from 64 B to 64 KiB.
			n := int(64 * pow2(10*rng.Float64()))
			genContent(&buf, rng, n)
			hdr := &tar.Header{
				Typeflag: tar.TypeReg,
				Name:     fmt.Sprintf("%sf%03d", dir, i),
				Mode:     0o644,
				Size:     int64(n),
				ModTime:  mtime,
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(buf.Bytes()); err != nil {
				return err
			}
			total += int64(n)
		}
	}
	return tw.Close()
}

// pow2 returns 2 to the power x.
func pow2(x float64) float64 {
	r := 1.0
	for ; x >= 1; x-- {
		r *= 2
	}
	return r * (1 + x*0.7)
}

// benchWords make up the text-like files.
var benchWords = []string{
	"the", "layer", "container", "file", "system", "kernel", "overlay", "image",
	"digest", "struct", "func", "return", "error", "package", "import", "usr",
}

// genContent fills buf with n bytes: one file in three binary-like (random
// bytes and runs), the others text-like; the whole compresses about 2.7:1.
func genContent(buf *bytes.Buffer, rng *rand.Rand, n int) {
	buf.Reset()
	binary := rng.IntN(3) == 0
	for buf.Len() < n {
		switch {
		case binary && rng.IntN(2) == 0:
			for range 8 + rng.IntN(64) {
				buf.WriteByte(byte(rng.Uint32()))
			}
		case binary:
			buf.Write(bytes.Repeat([]byte{byte(rng.IntN(4))}, 4+rng.IntN(32)))
		default:
			buf.WriteString(benchWords[rng.IntN(len(benchWords))])
			if rng.IntN(8) == 0 {
				buf.WriteByte('\n')
			} else {
				buf.WriteByte(' ')
			}
		}
	}
	buf.Truncate(n)
}

// copyFile copies the file src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// resetPeakRSS returns freed memory to the kernel and resets the process's
// peak RSS (VmHWM) by writing 5 to /proc/self/clear_refs (proc(5)).
func resetPeakRSS(b *testing.B) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS returns VmHWM from /proc/self/status in MiB.
func peakRSS(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		var kib float64
		if _, err := fmt.Sscanf(string(line), "VmHWM: %f kB", &kib); err == nil {
			return kib / 1024
		}
	}
	return 0
}
