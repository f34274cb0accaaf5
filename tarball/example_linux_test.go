package tarball_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/tarball"
)

// A layer arrives as a compressed blob; Extract unpacks it and reports the
// diffID, the digest of the uncompressed tar that the image config lists.
func ExampleExtract() {
	// Make a small gzip layer, as a registry would serve it.
	var blob bytes.Buffer
	zw, _ := tarball.NewWriter(&blob, tarball.Gzip)
	tw := tar.NewWriter(zw)
	motd := "hello from a layer\n"
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(motd))})
	tw.Write([]byte(motd))
	tw.Close()
	zw.Close()
	layerDigest := digest.FromBytes(blob.Bytes())

	dir, err := os.MkdirTemp("", "layer-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	res, err := tarball.Extract(&blob, dir, tarball.ExtractOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// One syncfs(2) for the whole layer, before it is renamed into place.
	if err := tarball.Sync(dir); err != nil {
		fmt.Println(err)
		return
	}

	got, _ := os.ReadFile(filepath.Join(dir, "etc", "motd"))
	fmt.Print(string(got))
	fmt.Println("tar bytes:", res.TarSize, "file bytes:", res.ContentSize)
	fmt.Println("diffID is the layer digest:", res.DiffID == layerDigest)
	// Output:
	// hello from a layer
	// tar bytes: 2560 file bytes: 19
	// diffID is the layer digest: false
}

// WriteDir turns a directory, such as a container's upperdir, into a layer
// tar; compressing it with NewWriter gives the blob to store or push.
func ExampleWriteDir() {
	dir, err := os.MkdirTemp("", "upper-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	os.Mkdir(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "config"), []byte("debug=1\n"), 0o644)
	os.Symlink("config", filepath.Join(dir, "app", "config.link"))

	var blob bytes.Buffer
	zw, _ := tarball.NewWriter(&blob, tarball.Gzip)
	res, err := tarball.WriteDir(zw, dir, tarball.WriteOptions{Clamp: time.Unix(0, 0)})
	if err != nil {
		fmt.Println(err)
		return
	}
	zw.Close()

	rc, compression, _ := tarball.Detect(&blob)
	defer rc.Close()
	fmt.Println("compression:", compression)
	tr := tar.NewReader(rc)
	for hdr, err := tr.Next(); err == nil; hdr, err = tr.Next() {
		fmt.Println(hdr.Name, hdr.ModTime.Unix())
	}
	fmt.Println("file bytes:", res.ContentSize)
	// Output:
	// compression: gzip
	// app/ 0
	// app/config 0
	// app/config.link 0
	// file bytes: 8
}
