package build

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/image"
)

// BenchmarkTutorial builds the tutorial's four steps (FROM, RUN, RUN, COPY)
// from scratch (--no-cache) and fully cached. Targets: cold ≤ 0.42 s,
// cached ≤ 50 ms (Docker 20.10's classic builder: 1.38 s and 0.138 s).
func BenchmarkTutorial(b *testing.B) {
	f := newFixture(b)
	dir := writeContext(b, tutorial)

	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f.mustBuild(b, dir, Options{NoCache: true, Tags: []string{"web"}})
			// Keep the store as small as at the start.
			b.StopTimer()
			if _, err := f.images.Remove("web", false); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("cached", func(b *testing.B) {
		f.mustBuild(b, dir, Options{Tags: []string{"web"}})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f.mustBuild(b, dir, Options{Tags: []string{"web"}})
		}
	})
}

// BenchmarkRunStep times one RUN step that touches one file, on busybox
// (2 MB) and on an image of 180 MB: the step's cost must not grow with the
// image below it (target: ratio ≤ 1.2).
func BenchmarkRunStep(b *testing.B) {
	f := newFixture(b)
	big, err := f.images.Import(bigImage(b, 180<<20), image.ImportOptions{Ref: "big"})
	if err != nil {
		b.Fatal(err)
	}
	// Let the import's writeback finish: the steps' syncfs(2) must not pay
	// for it.
	unix.Sync()
	for _, base := range []*image.Image{f.busybox, big} {
		name := fmt.Sprintf("%s-%dMB", base.Tags[0].FamiliarName(), base.Size/1e6)
		dockerfile := []byte("FROM " + base.ID.String() + "\nRUN touch /one-file\n")
		b.Run(name, func(b *testing.B) {
			dir := writeContext(b, nil)
			for i := 0; i < b.N; i++ {
				opts := Options{NoCache: true, Dockerfile: dockerfile, Tags: []string{"step"}}
				f.mustBuild(b, dir, opts)
				// Keep the store as small as at the start: the store's
				// lookups cost more with every image it holds.
				b.StopTimer()
				if _, err := f.images.Remove("step", false); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// bigImage streams a root file system of about size bytes: busybox, and
// 4 KiB..1 MiB files in a few hundred directories, as a layer tar.
func bigImage(b *testing.B, size int64) io.Reader {
	small := busyboxTar(b)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tr := tar.NewReader(bytes.NewReader(small))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			tw.WriteHeader(hdr)
			io.Copy(tw, tr)
		}
		chunk := bytes.Repeat([]byte("skiff layer data "), 1<<16)
		for n, written := 0, int64(0); written < size; n++ {
			fileSize := int64(4096 << (n % 9))
			if n%100 == 0 {
				tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/d%03d/", n/100),
					Typeflag: tar.TypeDir, Mode: 0o755})
			}
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/d%03d/f%05d", n/100, n),
				Typeflag: tar.TypeReg, Mode: 0o644, Size: fileSize})
			tw.Write(chunk[:fileSize])
			written += fileSize
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}
