package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// layerTar builds a small rootfs tarball in memory: name → content, with
// directories for names ending in "/".
func layerTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		hdr := &tar.Header{Name: name, Mode: 0o644, ModTime: time.Unix(1e9, 0),
			Typeflag: tar.TypeReg, Size: int64(len(files[name]))}
		if strings.HasSuffix(name, "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Open() error: %v", err)
	}
	return s
}

func importTar(t testing.TB, s *Store, data []byte, ref string, changes ...string) *Image {
	t.Helper()
	img, err := s.Import(bytes.NewReader(data), ImportOptions{Ref: ref, Changes: changes})
	if err != nil {
		t.Fatalf("Import(%q) error: %v", ref, err)
	}
	return img
}

// snapshot lists every file under the store root with its size, so that a
// test can prove a failed command left the store exactly as it was.
func snapshot(t testing.TB, s *Store) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(s.Root(), func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Root(), path)
		if fi.Name() == refLock || fi.Name() == gcLock {
			return nil
		}
		files = append(files, rel+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func tagNames(img *Image) []string {
	var names []string
	for _, r := range img.Tags {
		names = append(names, r.FamiliarString())
	}
	slices.Sort(names)
	return names
}

var rootfs = map[string]string{
	"bin/":          "",
	"bin/hello":     "#!/bin/sh\necho hello\n",
	"etc/":          "",
	"etc/hostname":  "skiff\n",
	"var/www/":      "",
	"var/www/index": "<h1>hi</h1>\n",
}

func TestImport(t *testing.T) {
	plain := layerTar(t, rootfs)
	for _, tt := range []struct {
		name      string
		data      []byte
		mediaType string
	}{
		{"plain tar", plain, "application/vnd.oci.image.layer.v1.tar"},
		{"gzip", gzipped(t, plain), "application/vnd.oci.image.layer.v1.tar+gzip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			img := importTar(t, s, tt.data, "web:v1", `CMD ["/bin/hello"]`, "ENV A=1")

			want := []digest.Digest{digest.FromBytes(plain)}
			if got := img.Config.RootFS.DiffIDs; !cmp.Equal(got, want) {
				t.Errorf("Import() diffIDs = %v, want %v", got, want)
			}
			if got, want := img.Manifest.Layers[0].MediaType, tt.mediaType; got != want {
				t.Errorf("Import() layer media type = %q, want %q", got, want)
			}
			if got, want := img.Manifest.Layers[0].Digest, digest.FromBytes(tt.data); got != want {
				t.Errorf("Import() layer digest = %s, want %s (the tarball as given)", got, want)
			}
			if got, want := tagNames(img), []string{"web:v1"}; !cmp.Equal(got, want) {
				t.Errorf("Import() tags = %v, want %v", got, want)
			}
			if got, want := img.Size, int64(len("#!/bin/sh\necho hello\n")+len("skiff\n")+
				len("<h1>hi</h1>\n")); got != want {
				t.Errorf("Import() size = %d, want %d", got, want)
			}
			if got := img.Config.Config.Cmd; !cmp.Equal(got, []string{"/bin/hello"}) {
				t.Errorf("Import() cmd = %q", got)
			}
			if got := img.Config.History[0].Comment; got != "Imported from -" {
				t.Errorf("Import() history comment = %q, want %q", got, "Imported from -")
			}

			dirs, err := s.LayerDirs(img)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dirs[0], "var/www/index"))
			if err != nil || string(data) != "<h1>hi</h1>\n" {
				t.Errorf("unpacked var/www/index = %q, %v", data, err)
			}
			if got, err := s.Lookup("web:v1"); err != nil || got.ID != img.ID {
				t.Errorf("Lookup(web:v1) = %v, %v; want %s", got, err, img.ID)
			}
			if got, err := s.Lookup(img.ShortID()); err != nil || got.ID != img.ID {
				t.Errorf("Lookup(%s) = %v, %v; want %s", img.ShortID(), got, err, img.ID)
			}
		})
	}
}

func TestImportBadInputLeavesStoreAsItWas(t *testing.T) {
	s := newStore(t)
	importTar(t, s, layerTar(t, rootfs), "busybox")
	good := gzipped(t, layerTar(t, map[string]string{"big": strings.Repeat("x", 1<<20)}))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff

	tests := []struct {
		name    string
		data    []byte
		opts    ImportOptions
		wantErr string
	}{
		{"truncated gzip", good[:len(good)/2], ImportOptions{Ref: "x"}, "EOF"},
		{"corrupt gzip", corrupt, ImportOptions{Ref: "x"}, ""},
		{"malformed reference", good, ImportOptions{Ref: "Bad:Ref:"}, "invalid reference format"},
		{"digest reference", good, ImportOptions{Ref: "x@sha256:" + hex64}, "digest"},
		{"bad change", good, ImportOptions{Changes: []string{"RUN x"}}, "unknown instruction"},
		{"not a tar", []byte("hello, this is not a tarball at all; " + strings.Repeat("y", 600)),
			ImportOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, s)
			_, err := s.Import(bytes.NewReader(tt.data), tt.opts)
			if err == nil {
				t.Fatalf("Import() = nil error, want one")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Import() error = %q, want it to mention %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(before, snapshot(t, s)); diff != "" {
				t.Errorf("store changed by a failed import (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSharedLayerIsUnpackedOnceAndRemovedLast(t *testing.T) {
	s := newStore(t)
	data := layerTar(t, rootfs)
	a := importTar(t, s, data, "a", "CMD a")
	b := importTar(t, s, data, "b", "CMD b")
	if a.ID == b.ID {
		t.Fatalf("two imports with different configs have one ID %s", a.ID)
	}
	layers, _ := os.ReadDir(s.path(layersDir))
	if len(layers) != 1 {
		t.Fatalf("layers/ has %d entries, want 1 shared layer", len(layers))
	}

	if _, err := s.Remove("a", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LayerDirs(b); err != nil {
		t.Errorf("after rmi a, image b lost its layer: %v", err)
	}
	dels, err := s.Remove("b", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Deletion{{Untagged: "b:latest"}, {Deleted: b.ID}, {Deleted: b.Config.RootFS.DiffIDs[0]}}
	if diff := cmp.Diff(want, dels); diff != "" {
		t.Errorf("Remove(b) mismatch (-want +got):\n%s", diff)
	}
	for _, dir := range []string{layersDir, blobsDir} {
		if entries, _ := os.ReadDir(s.path(dir)); len(entries) != 0 {
			t.Errorf("%s not empty after the last image went: %v", dir, entries)
		}
	}
}

func TestRemoveRules(t *testing.T) {
	s := newStore(t)
	importTar(t, s, layerTar(t, rootfs), "one")
	if err := s.Tag("one", "two:v2"); err != nil {
		t.Fatal(err)
	}
	img, _ := s.Lookup("one")
	if got, want := tagNames(img), []string{"one:latest", "two:v2"}; !cmp.Equal(got, want) {
		t.Fatalf("tags after Tag() = %v, want %v", got, want)
	}

	// By ID, an image with two names needs force.
	if _, err := s.Remove(img.ShortID(), false); !errors.Is(err, ErrConflict) {
		t.Errorf("Remove(ID of a twice-tagged image) = %v, want ErrConflict", err)
	}
	// By tag, only the tag goes.
	dels, err := s.Remove("two:v2", false)
	if diff := cmp.Diff([]Deletion{{Untagged: "two:v2"}}, dels); err != nil || diff != "" {
		t.Errorf("Remove(two:v2) = %v, %v", dels, err)
	}
	// A container using it blocks removal.
	s.InUse = func(id digest.Digest) []string {
		if id == img.ID {
			return []string{"0123456789ab"}
		}
		return nil
	}
	if _, err := s.Remove("one", false); !errors.Is(err, ErrConflict) {
		t.Errorf("Remove(image in use) = %v, want ErrConflict", err)
	}
	s.InUse = nil
	if _, err := s.Remove("nosuch", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(nosuch) = %v, want ErrNotFound", err)
	}
	if _, err := s.Remove("one", false); err != nil {
		t.Errorf("Remove(one) = %v", err)
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Errorf("Images() after removing everything = %d images", len(images))
	}
}

func TestRetagLeavesDanglingImageForPrune(t *testing.T) {
	s := newStore(t)
	old := importTar(t, s, layerTar(t, rootfs), "app", "CMD old")
	importTar(t, s, layerTar(t, map[string]string{"new": "x"}), "app", "CMD new")

	old, err := s.Lookup(old.ID.String())
	if err != nil {
		t.Fatalf("the image that lost its tag is gone: %v", err)
	}
	if len(old.Tags) != 0 {
		t.Errorf("old image tags = %v, want none (dangling)", old.Tags)
	}
	dels, freed, err := s.Prune(false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Deletion{{Deleted: old.ID}}, dels); diff != "" {
		t.Errorf("Prune() mismatch (-want +got):\n%s", diff)
	}
	if freed <= 0 {
		t.Errorf("Prune() reclaimed %d bytes, want > 0", freed)
	}
	if _, err := s.Lookup("app"); err != nil {
		t.Errorf("Prune() removed the tagged image: %v", err)
	}
	if dels, _, _ := s.Prune(true); len(dels) != 2 {
		t.Errorf("Prune(all) = %v, want the tag and the image", dels)
	}
}

// addChild makes an untagged image on top of parent, as a build step does.
func addChild(t *testing.T, s *Store, parent *Image, files map[string]string,
	tags ...string) *Image {

	t.Helper()
	in, err := s.beginIngest()
	if err != nil {
		t.Fatal(err)
	}
	defer in.end()
	layer, info, err := s.ingestLayer(in.work, bytes.NewReader(layerTar(t, files)), zeroDesc, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := parent.Config
	cfg.RootFS.DiffIDs = append(slices.Clone(cfg.RootFS.DiffIDs), info.DiffID)
	cfg.History = append(slices.Clone(cfg.History), historyStep("RUN step"))
	var refs []Reference
	for _, tag := range tags {
		ref, _ := ParseReference(tag)
		refs = append(refs, ref)
	}
	img, err := in.addImage(mustJSON(t, cfg), append(slices.Clone(parent.Manifest.Layers), layer),
		refs, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestIntermediateImages(t *testing.T) {
	s := newStore(t)
	base := importTar(t, s, layerTar(t, rootfs), "busybox")
	step1 := addChild(t, s, base, map[string]string{"one": "1"})
	final := addChild(t, s, step1, map[string]string{"two": "2"}, "web")

	if _, err := s.Remove(step1.ID.String(), true); !errors.Is(err, ErrConflict) {
		t.Errorf("Remove(an image with a child) = %v, want ErrConflict", err)
	}
	hist, err := s.History("web")
	if err != nil {
		t.Fatal(err)
	}
	var ids []digest.Digest
	for _, h := range hist {
		ids = append(ids, h.ID)
	}
	if diff := cmp.Diff([]digest.Digest{final.ID, step1.ID, base.ID}, ids); diff != "" {
		t.Errorf("History(web) image IDs mismatch (-want +got):\n%s", diff)
	}
	if hist[0].Size != 1 || hist[0].CreatedBy != "RUN step" {
		t.Errorf("History(web)[0] = %+v, want size 1, RUN step", hist[0])
	}

	dels, err := s.Remove("web", false)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []digest.Digest
	for _, d := range dels[1:3] {
		deleted = append(deleted, d.Deleted)
	}
	if diff := cmp.Diff([]digest.Digest{final.ID, step1.ID}, deleted); diff != "" {
		t.Errorf("Remove(web) deleted images mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.Lookup("busybox"); err != nil {
		t.Errorf("Remove(web) took the tagged base image too: %v", err)
	}
}

func TestCorruptBlobIsDetected(t *testing.T) {
	s := newStore(t)
	img := importTar(t, s, layerTar(t, rootfs), "x")
	path := s.blobPath(img.ID)
	data, _ := os.ReadFile(path)
	data[len(data)-2] ^= 1
	os.WriteFile(path, data, 0o600)
	if _, err := s.Lookup("x"); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Lookup() with a corrupt config blob = %v, want ErrDigestMismatch", err)
	}
}

func TestConcurrentImports(t *testing.T) {
	s := newStore(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens the store itself, as a separate command would.
			other, err := Open(s.Root(), nil)
			if err == nil {
				_, err = other.Import(bytes.NewReader(layerTar(t, rootfs)),
					ImportOptions{Ref: "img:" + string(rune('a'+i))})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("import %d: %v", i, err)
		}
	}
	images, err := s.Images()
	if err != nil || len(images) != n {
		t.Fatalf("Images() = %d images, %v; want %d", len(images), err, n)
	}
	if layers, _ := os.ReadDir(s.path(layersDir)); len(layers) != 1 {
		t.Errorf("layers/ has %d entries, want the one shared layer", len(layers))
	}
}

// A name or a digest is found by reading that one image: a damaged config
// of another image does not stop it, while an ID, which only the images
// themselves tell, still needs them all. LayerDirsOf reads the one config.
func TestLookupReadsOnlyTheNamedImage(t *testing.T) {
	s := newStore(t)
	web := importTar(t, s, layerTar(t, map[string]string{"index": "web"}), "web:v1")
	other := importTar(t, s, layerTar(t, map[string]string{"other": "x"}), "other")
	if err := os.WriteFile(s.blobPath(other.ID), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{"web:v1", "web@" + web.Digest.String()} {
		if got, err := s.Lookup(ref); err != nil || got.ID != web.ID ||
			len(got.Tags) != 1 || got.Tags[0].FamiliarString() != "web:v1" {
			t.Errorf("Lookup(%q) = %v, %v; want %s tagged web:v1", ref, got, err, web.ID)
		}
	}
	if _, err := s.Lookup(web.ShortID()); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Lookup(%s) error = %v, want the damaged config's %v", web.ShortID(), err,
			ErrDigestMismatch)
	}
	dirs, err := s.LayerDirsOf(web.ID)
	if want, _ := s.LayerDirs(web); err != nil || !slices.Equal(dirs, want) {
		t.Errorf("LayerDirsOf(%s) = %q, %v; want %q", web.ShortID(), dirs, err, want)
	}
	if _, err := s.LayerDirsOf(other.ID); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("LayerDirsOf(damaged) error = %v, want %v", err, ErrDigestMismatch)
	}
}
