package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// These tests unpack layers, so they need the tarball package's Extract.

// twoImages fills a new store with busybox:latest (one layer, also tagged
// busybox:1.36) and app:v1, which adds a layer on top of it.
func twoImages(t *testing.T) (s *Store, base, app *Image) {
	t.Helper()
	s = newStore(t)
	base = importTar(t, s, gzipped(t, layerTar(t, rootfs)), "busybox:latest")
	if err := s.Tag("busybox:latest", "busybox:1.36"); err != nil {
		t.Fatal(err)
	}
	app = addChild(t, s, base, map[string]string{"app/": "", "app/run": "echo run\n"}, "app:v1")
	base, err := s.Lookup("busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	return s, base, app
}

func save(t *testing.T, s *Store, format ArchiveFormat, refs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf, refs, format); err != nil {
		t.Fatalf("Save(%q, %s) error: %v", refs, format, err)
	}
	return buf.Bytes()
}

// imageSummary is what a round trip through an archive must keep.
type imageSummary struct {
	ID      digest.Digest
	Tags    []string
	DiffIDs []digest.Digest
}

func summarize(t *testing.T, s *Store) []imageSummary {
	t.Helper()
	images, err := s.Images()
	if err != nil {
		t.Fatalf("Images() error: %v", err)
	}
	var sums []imageSummary
	for _, img := range images {
		if _, err := s.LayerDirs(img); err != nil {
			t.Errorf("LayerDirs(%s) error: %v", img.ID, err)
		}
		sums = append(sums, imageSummary{img.ID, tagNames(img), img.Config.RootFS.DiffIDs})
	}
	slices.SortFunc(sums, func(a, b imageSummary) int {
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return sums
}

func zstdCompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(data, nil)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src, base, app := twoImages(t)
	want := summarize(t, src)

	for _, format := range []ArchiveFormat{FormatDocker, FormatOCI} {
		data := save(t, src, format, "busybox:latest", "busybox:1.36", "app:v1")
		for _, tt := range []struct {
			name string
			r    func() io.Reader
		}{
			{"file read in place", func() io.Reader { return archiveFile(t, data) }},
			{"stream", func() io.Reader { return bytes.NewReader(data) }},
			{"gzip stream", func() io.Reader { return bytes.NewReader(gzipped(t, data)) }},
			{"zstd file", func() io.Reader { return archiveFile(t, zstdCompressed(t, data)) }},
		} {
			t.Run(string(format)+"/"+tt.name, func(t *testing.T) {
				dst := newStore(t)
				loaded, err := dst.Load(tt.r())
				if err != nil {
					t.Fatalf("Load() error: %v", err)
				}
				wantLoaded := []Loaded{
					{ID: base.ID, Tags: base.Tags},
					{ID: app.ID, Tags: app.Tags},
				}
				sortTags := cmp.Transformer("sort", func(refs []Reference) []Reference {
					return slices.SortedFunc(slices.Values(refs), func(a, b Reference) int {
						return strings.Compare(a.String(), b.String())
					})
				})
				if diff := cmp.Diff(wantLoaded, loaded, sortTags); diff != "" {
					t.Errorf("Load() mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want, summarize(t, dst)); diff != "" {
					t.Errorf("images after Load() mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestSaveByIDLoadsUntagged(t *testing.T) {
	src, base, _ := twoImages(t)
	for _, format := range []ArchiveFormat{FormatDocker, FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			dst := newStore(t)
			loaded, err := dst.Load(bytes.NewReader(save(t, src, format, base.ShortID())))
			if err != nil {
				t.Fatalf("Load() error: %v", err)
			}
			if diff := cmp.Diff([]Loaded{{ID: base.ID}}, loaded); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSaveWritesEachBlobOnceAndTheSameBytes(t *testing.T) {
	s, base, app := twoImages(t)
	hex := func(d digest.Digest) string { return "blobs/sha256/" + d.Encoded() }
	dockerNames := []string{hex(base.ID), hex(app.ID)}
	for _, diffID := range app.Config.RootFS.DiffIDs {
		dockerNames = append(dockerNames, hex(diffID))
	}
	ociNames := []string{hex(base.ID), hex(app.ID), hex(base.Digest), hex(app.Digest)}
	for _, layer := range app.Manifest.Layers {
		ociNames = append(ociNames, hex(layer.Digest))
	}
	slices.Sort(dockerNames)
	slices.Sort(ociNames)

	for _, tt := range []struct {
		format ArchiveFormat
		want   []string
	}{
		{FormatDocker, slices.Concat([]string{"blobs/", "blobs/sha256/"}, dockerNames,
			[]string{"manifest.json", "repositories"})},
		{FormatOCI, slices.Concat([]string{"blobs/", "blobs/sha256/"}, ociNames,
			[]string{"index.json", "oci-layout"})},
	} {
		t.Run(string(tt.format), func(t *testing.T) {
			data := save(t, s, tt.format, "app:v1", "busybox:latest")
			entries := readArchiveEntries(t, data)
			if diff := cmp.Diff(tt.want, entries.names()); diff != "" {
				t.Errorf("Save() entries mismatch (-want +got):\n%s", diff)
			}
			for _, e := range entries {
				if e.hdr.Uid != 0 || e.hdr.Gid != 0 || e.hdr.ModTime.Unix() != 0 {
					t.Errorf("entry %q: uid %d gid %d mtime %v, want 0 0 1970",
						e.hdr.Name, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime)
				}
			}
			again := save(t, s, tt.format, "app:v1", "busybox:latest")
			if !bytes.Equal(data, again) {
				t.Errorf("Save() twice gave different archives")
			}
		})
	}
}

func TestSaveDockerLayersAreTheirDiffIDs(t *testing.T) {
	s, _, app := twoImages(t)
	entries := readArchiveEntries(t, save(t, s, FormatDocker, "app:v1"))

	var manifests []dockerManifest
	if err := json.Unmarshal(entries.get(t, "manifest.json"), &manifests); err != nil {
		t.Fatal(err)
	}
	want := []dockerManifest{{
		Config:   "blobs/sha256/" + app.ID.Encoded(),
		RepoTags: []string{"app:v1"},
		Layers: []string{
			"blobs/sha256/" + app.Config.RootFS.DiffIDs[0].Encoded(),
			"blobs/sha256/" + app.Config.RootFS.DiffIDs[1].Encoded(),
		},
	}}
	if diff := cmp.Diff(want, manifests); diff != "" {
		t.Errorf("manifest.json mismatch (-want +got):\n%s", diff)
	}
	for _, diffID := range app.Config.RootFS.DiffIDs {
		layer := entries.get(t, "blobs/sha256/"+diffID.Encoded())
		if got := digest.FromBytes(layer); got != diffID {
			t.Errorf("layer %s in the archive has digest %s", diffID, got)
		}
	}
}

// TestSaveRepositoryNameSavesAllItsTags follows `docker save busybox`:
// a repository name alone saves every tag of that repository.
func TestSaveRepositoryNameSavesAllItsTags(t *testing.T) {
	s, base, _ := twoImages(t)
	for _, tt := range []struct {
		rawRef string
		want   []string
	}{
		{"busybox", []string{"busybox:latest", "busybox:1.36"}},
		{"busybox:1.36", []string{"busybox:1.36"}},
		{base.ShortID(), nil},
	} {
		entries := readArchiveEntries(t, save(t, s, FormatDocker, tt.rawRef))
		var manifests []dockerManifest
		if err := json.Unmarshal(entries.get(t, "manifest.json"), &manifests); err != nil {
			t.Fatal(err)
		}
		if len(manifests) != 1 {
			t.Fatalf("Save(%q) wrote %d images, want 1", tt.rawRef, len(manifests))
		}
		got := slices.Sorted(slices.Values(manifests[0].RepoTags))
		if want := slices.Sorted(slices.Values(tt.want)); !cmp.Equal(got, want) {
			t.Errorf("Save(%q) RepoTags = %q, want %q", tt.rawRef, got, want)
		}
	}
}

func TestSaveDockerRefusesALayerThatDoesNotMatch(t *testing.T) {
	s, base, _ := twoImages(t)

	// Record a wrong diffID for the layer: what the stored blob gives no
	// longer matches it, and Save must notice while it writes.
	diffID := base.Config.RootFS.DiffIDs[0]
	infoFile := filepath.Join(s.root, layersDir, diffID.Encoded(), layerInfoFile)
	info, err := s.layerInfo(diffID)
	if err != nil {
		t.Fatal(err)
	}
	info.TarSize -= 512
	if err := os.WriteFile(infoFile, mustJSON(t, info), 0o600); err != nil {
		t.Fatal(err)
	}

	err = s.Save(io.Discard, []string{"busybox:latest"}, FormatDocker)
	if err == nil || !strings.Contains(err.Error(), "does not decompress to it") {
		t.Errorf("Save() error = %v, want a mismatch for layer %s", err, diffID)
	}
}

// damage describes one way to break a good archive.
type damage struct {
	name    string
	format  ArchiveFormat
	change  func(t *testing.T, data []byte) []byte
	wantErr string
}

func TestLoadBadArchiveLeavesStoreAsItWas(t *testing.T) {
	src, base, app := twoImages(t)
	baseLayer := "blobs/sha256/" + base.Config.RootFS.DiffIDs[0].Encoded()
	appLayerBlob := "blobs/sha256/" + app.Manifest.Layers[1].Digest.Encoded()

	for _, tt := range []damage{
		{"truncated", FormatDocker, func(t *testing.T, data []byte) []byte {
			return data[:len(data)/2]
		}, "unexpected EOF"},
		{"truncated gzip", FormatOCI, func(t *testing.T, data []byte) []byte {
			z := gzipped(t, data)
			return z[:len(z)-100]
		}, "unexpected EOF"},
		{"manifest naming a missing blob", FormatDocker, func(t *testing.T, data []byte) []byte {
			return readArchiveEntries(t, data).remove(baseLayer).bytes(t)
		}, `"` + baseLayer + `": not in the archive`},
		{"diff_ids not matching a layer", FormatDocker, func(t *testing.T, data []byte) []byte {
			return changeDockerConfig(t, data, 1, func(cfg *ocispec.Image) {
				cfg.RootFS.DiffIDs[1] = digest.FromString("something else")
			})
		}, "digest mismatch"},
		{"more layers than diff_ids", FormatDocker, func(t *testing.T, data []byte) []byte {
			return changeDockerConfig(t, data, 1, func(cfg *ocispec.Image) {
				cfg.RootFS.DiffIDs = cfg.RootFS.DiffIDs[:1]
			})
		}, "rootfs.diff_ids lists 1 layers, but the manifest lists 2"},
		{"unknown layer media type", FormatOCI, func(t *testing.T, data []byte) []byte {
			return changeOCIManifest(t, data, 1, func(m *ocispec.Manifest) {
				m.Layers[1].MediaType = "application/vnd.example.not-a-layer"
			})
		}, `unknown media type "application/vnd.example.not-a-layer"`},
		{"corrupt layer blob", FormatOCI, func(t *testing.T, data []byte) []byte {
			entries := readArchiveEntries(t, data)
			blob := bytes.Replace(entries.get(t, appLayerBlob), []byte("echo run"),
				[]byte("echo RUN"), 1)
			return entries.set(appLayerBlob, blob).bytes(t)
		}, "digest mismatch"},
		{"malformed RepoTag", FormatDocker, func(t *testing.T, data []byte) []byte {
			return changeDockerManifest(t, data, func(m []dockerManifest) {
				m[1].RepoTags = []string{"App:V1"}
			})
		}, `invalid reference format "App:V1"`},
		{"hostile entry name", FormatDocker, func(t *testing.T, data []byte) []byte {
			entries := readArchiveEntries(t, data)
			return append(entries, fileEntry("../x", "escape")).bytes(t)
		}, `"../x" points outside the archive`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := newStore(t)
			importTar(t, dst, layerTar(t, map[string]string{"keep": "me"}), "keep:me")
			before := summarize(t, dst)

			data := tt.change(t, save(t, src, tt.format, "busybox:latest", "app:v1"))
			loaded, err := dst.Load(bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load() = %v, %v; want an error with %q", loaded, err, tt.wantErr)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("Load() error %q has more than one line", err)
			}
			t.Logf("Load() error: %v", err)
			if diff := cmp.Diff(before, summarize(t, dst)); diff != "" {
				t.Errorf("images after a failed Load() changed (-before +after):\n%s", diff)
			}
		})
	}
}

// changeDockerManifest rewrites manifest.json of a Docker archive.
func changeDockerManifest(t *testing.T, data []byte, change func([]dockerManifest)) []byte {
	t.Helper()
	entries := readArchiveEntries(t, data)
	var manifests []dockerManifest
	if err := json.Unmarshal(entries.get(t, "manifest.json"), &manifests); err != nil {
		t.Fatal(err)
	}
	change(manifests)
	return entries.set("manifest.json", mustJSON(t, manifests)).bytes(t)
}

// changeDockerConfig rewrites the config of image i of a Docker archive,
// under the name of its new digest.
func changeDockerConfig(t *testing.T, data []byte, i int, change func(*ocispec.Image)) []byte {
	t.Helper()
	entries := readArchiveEntries(t, data)
	var manifests []dockerManifest
	if err := json.Unmarshal(entries.get(t, "manifest.json"), &manifests); err != nil {
		t.Fatal(err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(entries.get(t, manifests[i].Config), &cfg); err != nil {
		t.Fatal(err)
	}
	change(&cfg)
	config := mustJSON(t, cfg)
	manifests[i].Config = "blobs/sha256/" + digest.FromBytes(config).Encoded()
	entries = entries.set(manifests[i].Config, config)
	return entries.set("manifest.json", mustJSON(t, manifests)).bytes(t)
}

// changeOCIManifest rewrites the manifest of image i of an OCI archive and
// points index.json at the new one.
func changeOCIManifest(t *testing.T, data []byte, i int, change func(*ocispec.Manifest)) []byte {
	t.Helper()
	entries := readArchiveEntries(t, data)
	var idx ocispec.Index
	if err := json.Unmarshal(entries.get(t, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(entries.get(t, blobEntry(idx.Manifests[i].Digest)), &m); err != nil {
		t.Fatal(err)
	}
	change(&m)
	manifest := mustJSON(t, m)
	idx.Manifests[i].Digest = digest.FromBytes(manifest)
	idx.Manifests[i].Size = int64(len(manifest))
	entries = entries.set(blobEntry(idx.Manifests[i].Digest), manifest)
	return entries.set("index.json", mustJSON(t, idx)).bytes(t)
}

// TestLoadAllOrNothing breaks the second image of an archive: the first,
// fully stored by then, must not be named either.
func TestLoadAllOrNothing(t *testing.T) {
	src, base, _ := twoImages(t)
	data := changeDockerConfig(t, save(t, src, FormatDocker, "busybox:latest", "app:v1"), 1,
		func(cfg *ocispec.Image) { cfg.RootFS.DiffIDs[1] = digest.FromString("wrong") })

	dst := newStore(t)
	if _, err := dst.Load(bytes.NewReader(data)); err == nil {
		t.Fatal("Load() succeeded, want a diffID mismatch")
	}
	if _, err := dst.Lookup(base.ID.String()); err == nil {
		t.Errorf("Lookup(%s) found the first image of a failed Load", base.ID)
	}
}

// TestLoadDockerClassicLayout reads the layout of Docker before version 25:
// <id>/layer.tar, <image-id>.json, and a symlink or a hard link where two
// images share a layer.
func TestLoadDockerClassicLayout(t *testing.T) {
	layerA := layerTar(t, map[string]string{"a": "A"})
	layerB := layerTar(t, map[string]string{"b": "B"})
	config := func(layers ...[]byte) []byte {
		var diffIDs []digest.Digest
		for _, l := range layers {
			diffIDs = append(diffIDs, digest.FromBytes(l))
		}
		return mustJSON(t, ocispec.Image{
			Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		})
	}
	config1, config2, config3 := config(layerA), config(layerA, layerB), config(layerA)
	config3 = append(config3, ' ') // another image ID with the same layer
	name := func(config []byte) string { return digest.FromBytes(config).Encoded() + ".json" }
	manifests := []dockerManifest{
		{Config: name(config1), RepoTags: []string{"one:latest"},
			Layers: []string{"aaa/layer.tar"}},
		{Config: name(config2), RepoTags: []string{"two:latest", "two:2"},
			Layers: []string{"./bbb/layer.tar", "ccc/layer.tar"}},
		{Config: name(config3), Layers: []string{"ddd/layer.tar"}},
	}
	data := archiveEntries{
		fileEntry("aaa/layer.tar", string(layerA)),
		fileEntry("aaa/VERSION", "1.0"),
		linkEntry(tar.TypeSymlink, "bbb/layer.tar", "../aaa/layer.tar"),
		fileEntry("ccc/layer.tar", string(layerB)),
		linkEntry(tar.TypeLink, "ddd/layer.tar", "aaa/layer.tar"),
		fileEntry(name(config1), string(config1)),
		fileEntry(name(config2), string(config2)),
		fileEntry(name(config3), string(config3)),
		fileEntry("manifest.json", string(mustJSON(t, manifests))),
		fileEntry("repositories", `{"one":{"latest":"aaa"}}`),
	}.bytes(t)

	s := newStore(t)
	loaded, err := s.Load(archiveFile(t, data))
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	var got [][]string
	for _, l := range loaded {
		tags := []string{shortID(l.ID)}
		for _, ref := range l.Tags {
			tags = append(tags, ref.FamiliarString())
		}
		got = append(got, tags)
	}
	want := [][]string{
		{shortID(digest.FromBytes(config1)), "one:latest"},
		{shortID(digest.FromBytes(config2)), "two:latest", "two:2"},
		{shortID(digest.FromBytes(config3))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}
	if n := countFiles(t, s.path(blobsDir)); n != 2+3+3 {
		t.Errorf("store has %d blobs, want 8: two layers, three configs, three manifests", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestLoadReusesStoredLayers loads a Docker archive, whose layers are
// uncompressed, into the store it came from, whose layers are gzip blobs:
// the stored blobs serve, and nothing new is added.
func TestLoadReusesStoredLayers(t *testing.T) {
	s, base, app := twoImages(t)
	blobs := countFiles(t, s.path(blobsDir))
	for _, format := range []ArchiveFormat{FormatDocker, FormatOCI} {
		loaded, err := s.Load(bytes.NewReader(save(t, s, format, "app:v1", "busybox:latest")))
		if err != nil {
			t.Fatalf("Load(%s) error: %v", format, err)
		}
		if len(loaded) != 2 || loaded[0].ID != app.ID || loaded[1].ID != base.ID {
			t.Errorf("Load(%s) = %v, want %s and %s", format, loaded, app.ID, base.ID)
		}
		if n := countFiles(t, s.path(blobsDir)); n != blobs {
			t.Errorf("after Load(%s) the store has %d blobs, want %d as before", format, n, blobs)
		}
	}
}

// TestLoadDocker25Layout reads an archive with both manifest.json and an
// OCI index.json, as Docker 25 writes it: the names come from RepoTags.
func TestLoadDocker25Layout(t *testing.T) {
	src, base, _ := twoImages(t)
	entries := readArchiveEntries(t, save(t, src, FormatDocker, "busybox:latest"))
	ociEntries := readArchiveEntries(t, save(t, src, FormatOCI, "busybox:latest"))
	index := ociEntries.get(t, "index.json")
	index = bytes.ReplaceAll(index, []byte("busybox"), []byte("elsewhere"))
	entries = entries.set("index.json", index)
	entries = entries.set("oci-layout", ociEntries.get(t, "oci-layout"))

	loaded, err := newStore(t).Load(bytes.NewReader(entries.bytes(t)))
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	busybox := Reference{Domain: "docker.io", Path: "library/busybox", Tag: "latest"}
	want := []Loaded{{ID: base.ID, Tags: []Reference{busybox}}}
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}
}

// TestLoadOCIIndexChoosesPlatform wraps an image's manifest in an index
// that also lists another platform, whose blobs the archive lacks.
func TestLoadOCIIndexChoosesPlatform(t *testing.T) {
	src, base, _ := twoImages(t)
	entries := readArchiveEntries(t, save(t, src, FormatOCI, "busybox:latest"))
	var idx ocispec.Index
	if err := json.Unmarshal(entries.get(t, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}

	ours := idx.Manifests[0]
	ours.Annotations = nil
	ours.Platform = &ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	other := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromString("elsewhere"),
		Size:      9,
		Platform:  &ocispec.Platform{OS: "linux", Architecture: "elsewhere"},
	}
	list := mustJSON(t, ocispec.Index{
		Versioned: specsVersion,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{other, ours},
	})
	entries = entries.set(blobEntry(digest.FromBytes(list)), list)
	idx.Manifests[0].MediaType = ocispec.MediaTypeImageIndex
	idx.Manifests[0].Digest = digest.FromBytes(list)
	idx.Manifests[0].Size = int64(len(list))
	entries = entries.set("index.json", mustJSON(t, idx))

	loaded, err := newStore(t).Load(bytes.NewReader(entries.bytes(t)))
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	if len(loaded) != 1 || loaded[0].ID != base.ID {
		t.Errorf("Load() = %v, want image %s", loaded, base.ID)
	}
}

// TestConcurrentLoads loads the same archive twice at once: both succeed,
// and the store holds each image and layer once.
func TestConcurrentLoads(t *testing.T) {
	src, _, _ := twoImages(t)
	want := summarize(t, src)
	data := save(t, src, FormatOCI, "busybox:latest", "busybox:1.36", "app:v1")

	dst := newStore(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := dst.Load(bytes.NewReader(data))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Load() error: %v", err)
		}
	}
	if diff := cmp.Diff(want, summarize(t, dst)); diff != "" {
		t.Errorf("images after two Loads mismatch (-want +got):\n%s", diff)
	}
	if n := countFiles(t, dst.path(layersDir)); n != 2 {
		t.Errorf("store has %d layer directories, want 2", n)
	}
}

// TestSkopeoInterop checks both archive layouts against skopeo, which reads
// and writes them as the docker-archive: and oci-archive: transports.
func TestSkopeoInterop(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed (apt-get install skopeo)")
	}
	src, base, _ := twoImages(t)
	busybox, _ := ParseReference("busybox:latest")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...).
			CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	for _, tt := range []struct {
		format   ArchiveFormat
		from, to string // skopeo transports
		wantTags []Reference
	}{
		{FormatDocker, "docker-archive:", "oci-archive:", nil},
		{FormatOCI, "oci-archive:", "docker-archive:", []Reference{busybox}},
	} {
		t.Run(string(tt.format), func(t *testing.T) {
			saved := filepath.Join(dir, string(tt.format)+".tar")
			copied := filepath.Join(dir, string(tt.format)+"-copied.tar")
			data := save(t, src, tt.format, "busybox:latest")
			if err := os.WriteFile(saved, data, 0o600); err != nil {
				t.Fatal(err)
			}
			run("inspect", tt.from+saved)
			dest := tt.to + copied
			if tt.to == "docker-archive:" {
				dest += ":busybox:latest"
			}
			run("copy", tt.from+saved, dest)

			f, err := os.Open(copied)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			loaded, err := newStore(t).Load(f)
			if err != nil {
				t.Fatalf("Load(skopeo's %s) error: %v", tt.to, err)
			}
			if diff := cmp.Diff([]Loaded{{ID: base.ID, Tags: tt.wantTags}}, loaded); diff != "" {
				t.Errorf("Load(skopeo's %s) mismatch (-want +got):\n%s", tt.to, diff)
			}
		})
	}
}
