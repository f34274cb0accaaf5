package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// These tests need no unpacking of layers. The ones that load and save real
// images are in archive_linux_test.go.

// archiveEntry is one entry of an image archive built or taken apart by a
// test.
type archiveEntry struct {
	hdr  tar.Header
	data []byte
}

// archiveEntries is an image archive taken apart, in its order, so that a
// test can damage it and put it back together.
type archiveEntries []archiveEntry

func readArchiveEntries(t testing.TB, data []byte) archiveEntries {
	t.Helper()
	var entries archiveEntries
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read archive entry %q: %v", hdr.Name, err)
		}
		entries = append(entries, archiveEntry{hdr: *hdr, data: body})
	}
}

func (entries archiveEntries) bytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("write archive entry %q: %v", hdr.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (entries archiveEntries) names() []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
	}
	return names
}

func (entries archiveEntries) get(t testing.TB, name string) []byte {
	t.Helper()
	for _, e := range entries {
		if e.hdr.Name == name {
			return e.data
		}
	}
	t.Fatalf("archive has no entry %q; it has %q", name, entries.names())
	return nil
}

// set replaces the content of the entry name, or adds a file with it.
func (entries archiveEntries) set(name string, data []byte) archiveEntries {
	for i, e := range entries {
		if e.hdr.Name == name {
			entries[i].data = data
			return entries
		}
	}
	return append(entries, fileEntry(name, string(data)))
}

func (entries archiveEntries) remove(name string) archiveEntries {
	return slices.DeleteFunc(entries, func(e archiveEntry) bool { return e.hdr.Name == name })
}

func fileEntry(name, content string) archiveEntry {
	return archiveEntry{
		hdr:  tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: time.Unix(0, 0)},
		data: []byte(content),
	}
}

func linkEntry(typ byte, name, target string) archiveEntry {
	return archiveEntry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

// archiveFile writes data to a file and returns it open, as `skiff load -i`
// passes an archive to Load.
func archiveFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "archive.tar")
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestCleanEntryName(t *testing.T) {
	for _, tt := range []struct {
		unsafeName string
		want       string // "" when refused
	}{
		{"manifest.json", "manifest.json"},
		{"./manifest.json", "manifest.json"},
		{"blobs//sha256/./abc", "blobs/sha256/abc"},
		{"a/../b", "b"},
		{"blobs/", "blobs"},
		{"../x", ""},
		{"a/../../x", ""},
		{"..", ""},
		{"/etc/passwd", ""},
		{"", ""},
		{".", ""},
	} {
		got, err := cleanEntryName(tt.unsafeName)
		if tt.want == "" && err == nil {
			t.Errorf("cleanEntryName(%q) = %q, want an error", tt.unsafeName, got)
		}
		if tt.want != "" && (got != tt.want || err != nil) {
			t.Errorf("cleanEntryName(%q) = %q, %v; want %q", tt.unsafeName, got, err, tt.want)
		}
	}
}

func TestDigestFromName(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name string
		want digest.Digest
	}{
		{"blobs/sha256/" + hex, "sha256:" + digest.Digest(hex)},
		{hex + ".json", "sha256:" + digest.Digest(hex)},
		{"sub/" + hex + ".json", ""},
		{hex + "/json", ""},
		{hex + "/layer.tar", ""},
		{"blobs/sha256/" + hex[:10], ""},
		{"config.json", ""},
	} {
		if got := digestFromName(tt.name); got != tt.want {
			t.Errorf("digestFromName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestArchiveFollowsLinksInside(t *testing.T) {
	data := archiveEntries{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "a/", Mode: 0o755}},
		fileEntry("a/layer.tar", "layer A"),
		linkEntry(tar.TypeSymlink, "b/layer.tar", "../a/layer.tar"),
		linkEntry(tar.TypeLink, "c/layer.tar", "a/layer.tar"),
		linkEntry(tar.TypeSymlink, "d/layer.tar", "../b/layer.tar"),
		linkEntry(tar.TypeSymlink, "loop1", "loop2"),
		linkEntry(tar.TypeSymlink, "loop2", "loop1"),
		linkEntry(tar.TypeSymlink, "dangling", "nowhere"),
		fileEntry("./e", "first"),
		fileEntry("e", "second"),
	}.bytes(t)
	a, err := indexArchive(archiveFile(t, data), 0, false)
	if err != nil {
		t.Fatalf("indexArchive() error: %v", err)
	}

	for _, tt := range []struct {
		name    string
		want    string
		wantErr string
	}{
		{name: "a/layer.tar", want: "layer A"},
		{name: "b/layer.tar", want: "layer A"},
		{name: "c/layer.tar", want: "layer A"},
		{name: "d/layer.tar", want: "layer A"},
		{name: "e", want: "second"},
		{name: "a", wantErr: "not in the archive"},
		{name: "missing", wantErr: "not in the archive"},
		{name: "dangling", wantErr: "not in the archive"},
		{name: "loop1", wantErr: "too many levels of links"},
	} {
		got, err := a.readFile(tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("readFile(%q) = %q, %v; want an error with %q",
					tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("readFile(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestArchiveRefusesHostileEntries(t *testing.T) {
	for _, tt := range []struct {
		name  string
		entry archiveEntry
	}{
		{"climbing name", fileEntry("../x", "x")},
		{"climbing name inside", fileEntry("blobs/../../x", "x")},
		{"absolute name", fileEntry("/etc/passwd", "x")},
		{"symlink out", linkEntry(tar.TypeSymlink, "a/layer.tar", "../../etc/passwd")},
		{"absolute symlink", linkEntry(tar.TypeSymlink, "a/layer.tar", "/etc/passwd")},
		{"hard link out", linkEntry(tar.TypeLink, "a/layer.tar", "../etc/passwd")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := archiveEntries{fileEntry("manifest.json", "[]"), tt.entry}.bytes(t)
			_, err := indexArchive(archiveFile(t, data), 0, false)
			if err == nil || !strings.Contains(err.Error(), "archive entry") {
				t.Errorf("indexArchive() error = %v, want one naming the entry", err)
			}
		})
	}
}

func TestOCITags(t *testing.T) {
	busybox := Reference{Domain: "docker.io", Path: "library/busybox", Tag: "latest"}
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		want        []Reference
		wantErr     bool
	}{
		{name: "none"},
		{
			name: "containerd name",
			annotations: map[string]string{
				annotationImageName: "docker.io/library/busybox:latest",
			},
			want: []Reference{busybox},
		},
		{
			name: "containerd name wins over ref name",
			annotations: map[string]string{
				annotationImageName:       "busybox:latest",
				ocispec.AnnotationRefName: "latest",
			},
			want: []Reference{busybox},
		},
		{
			name:        "full ref name",
			annotations: map[string]string{ocispec.AnnotationRefName: "busybox:latest"},
			want:        []Reference{busybox},
		},
		{
			name:        "tag alone names nothing",
			annotations: map[string]string{ocispec.AnnotationRefName: "latest"},
		},
		{
			name:        "ref name that is no reference",
			annotations: map[string]string{ocispec.AnnotationRefName: "Not:A:Ref"},
		},
		{
			name:        "malformed containerd name",
			annotations: map[string]string{annotationImageName: "Busybox:latest"},
			wantErr:     true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ociTags(tt.annotations)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ociTags(%v) error = %v, want error %v", tt.annotations, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ociTags(%v) mismatch (-want +got):\n%s", tt.annotations, diff)
			}
		})
	}
}

func TestConfigDiffIDs(t *testing.T) {
	good := digest.FromString("layer")
	config := func(rootfsType string, diffIDs ...digest.Digest) []byte {
		data, _ := json.Marshal(ocispec.Image{
			RootFS: ocispec.RootFS{Type: rootfsType, DiffIDs: diffIDs},
		})
		return data
	}
	for _, tt := range []struct {
		name    string
		config  []byte
		layers  int
		wantErr string
	}{
		{name: "good", config: config("layers", good), layers: 1},
		{name: "too few diffIDs", config: config("layers", good), layers: 2,
			wantErr: "lists 1 layers, but the manifest lists 2"},
		{name: "too many diffIDs", config: config("layers", good, good), layers: 1,
			wantErr: "lists 2 layers, but the manifest lists 1"},
		{name: "diffID that climbs", config: config("layers", "sha256:../../etc"), layers: 1,
			wantErr: "is not a sha256 digest"},
		{name: "wrong rootfs type", config: config("tarball", good), layers: 1,
			wantErr: "rootfs.type"},
		{name: "not JSON", config: []byte("{"), layers: 0, wantErr: "unexpected end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configDiffIDs(tt.config, tt.layers)
			if tt.wantErr == "" && err != nil {
				t.Errorf("configDiffIDs() error = %v, want none", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("configDiffIDs() error = %v, want one with %q", err, tt.wantErr)
			}
		})
	}
}

// TestLoadRefusesBeforeUnpacking covers archives that Load must refuse from
// their table of contents alone: nothing of them is stored.
func TestLoadRefusesBeforeUnpacking(t *testing.T) {
	configHex := strings.Repeat("0", 64)
	manifest := func(m dockerManifest) archiveEntry {
		data, _ := json.Marshal([]dockerManifest{m})
		return fileEntry("manifest.json", string(data))
	}
	for _, tt := range []struct {
		name    string
		entries archiveEntries
		wantErr string
	}{
		{"hostile entry name", archiveEntries{
			manifest(dockerManifest{Config: configHex + ".json"}),
			fileEntry("../x", "x"),
		}, `archive entry "../x" points outside the archive`},
		{"hostile name in manifest.json", archiveEntries{
			manifest(dockerManifest{Config: "../../etc/passwd"}),
		}, `points outside the archive`},
		{"malformed RepoTag", archiveEntries{
			manifest(dockerManifest{
				Config:   configHex + ".json",
				RepoTags: []string{"Busy:box:1"},
			}),
		}, `RepoTags: invalid reference format "Busy:box:1"`},
		{"missing config", archiveEntries{
			manifest(dockerManifest{Config: configHex + ".json"}),
		}, `"` + configHex + `.json": not in the archive`},
		{"config with the wrong digest", archiveEntries{
			manifest(dockerManifest{Config: configHex + ".json"}),
			fileEntry(configHex+".json", `{"rootfs":{"type":"layers","diff_ids":[]}}`),
		}, "digest mismatch"},
		{"neither manifest.json nor index.json", archiveEntries{
			fileEntry("hello", "world"),
		}, "neither manifest.json nor index.json"},
		{"no images", archiveEntries{fileEntry("manifest.json", "[]")}, "lists no images"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := s.Load(archiveFile(t, tt.entries.bytes(t)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load() = %v, %v; want an error with %q", loaded, err, tt.wantErr)
			}
			if images, err := s.Images(); len(images) != 0 || err != nil {
				t.Errorf("Images() after a failed Load = %v, %v; want none", images, err)
			}
		})
	}
}

func TestSaveResolvesEveryNameFirst(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		refs    []string
		format  ArchiveFormat
		wantErr error
	}{
		{"unknown image", []string{"nope:latest"}, FormatDocker, ErrNotFound},
		{"unknown ID", []string{"sha256:" + strings.Repeat("a", 64)}, FormatOCI, ErrNotFound},
		{"no image", nil, FormatOCI, nil},
		{"unknown format", []string{"busybox"}, "zip", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := s.Save(&buf, tt.refs, tt.format)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Save(%q, %q) error = %v, want %v", tt.refs, tt.format, err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("Save(%q, %q) wrote %d bytes, want none", tt.refs, tt.format, buf.Len())
			}
		})
	}
}

// TestOpenArchiveReadsPlainFileInPlace checks that a plain archive in a file
// is read where it is, from the file's current offset, without a copy.
func TestOpenArchiveReadsPlainFileInPlace(t *testing.T) {
	prefix := []byte("bytes before the archive")
	data := archiveEntries{fileEntry("manifest.json", "[]")}.bytes(t)
	f := archiveFile(t, append(prefix, data...))
	if _, err := f.Seek(int64(len(prefix)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	work := workDir(t.TempDir())

	a, err := openArchive(f, work)
	if err != nil {
		t.Fatalf("openArchive() error: %v", err)
	}
	if a.owned || a.f != f {
		t.Errorf("openArchive() copied the archive, want it read in place")
	}
	if got, err := a.readFile("manifest.json"); string(got) != "[]" || err != nil {
		t.Errorf("readFile(manifest.json) = %q, %v; want %q", got, err, "[]")
	}
	if entries, _ := os.ReadDir(string(work)); len(entries) != 0 {
		t.Errorf("openArchive() wrote %d files to the scratch directory, want none", len(entries))
	}
}
