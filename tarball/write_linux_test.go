package tarball

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listEntries describes each entry of a tar in one line, in order.
func listEntries(t testing.TB, layer []byte) []string {
	t.Helper()
	var lines []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return lines
		}
		if err != nil {
			t.Fatalf("reading written tar: %v", err)
		}

		line := fmt.Sprintf("%s %c %04o %d:%d size=%d",
			hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Size)
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			line += " -> " + hdr.Linkname
		case tar.TypeChar, tar.TypeBlock:
			line += fmt.Sprintf(" dev=%d:%d", hdr.Devmajor, hdr.Devminor)
		}
		var attrs []string
		for key := range hdr.PAXRecords {
			if attr, ok := strings.CutPrefix(key, xattrPrefix); ok {
				attrs = append(attrs, attr)
			}
		}
		slices.Sort(attrs)
		if len(attrs) > 0 {
			line += " xattrs=" + strings.Join(attrs, ",")
		}
		if hdr.Uname != "" || hdr.Gname != "" {
			line += " NAMES"
		}
		if !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() {
			line += " ATIME/CTIME"
		}
		lines = append(lines, line)
	}
}

// writeDir runs WriteDir on dir and returns the tar.
func writeDir(t testing.TB, dir string, opts WriteOptions) ([]byte, ExtractResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := WriteDir(&buf, dir, opts)
	if err != nil {
		t.Fatalf("WriteDir(%q) error = %v", dir, err)
	}
	return buf.Bytes(), res
}

// TestWriteDir writes a tree made with plain file calls, as any user can.
func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "a", "b"), []byte("hello"), 0o640))
	must(os.Link(filepath.Join(dir, "a", "b"), filepath.Join(dir, "a", "hard")))
	must(os.Symlink("b", filepath.Join(dir, "a", "link")))
	must(os.WriteFile(filepath.Join(dir, "a-b"), []byte("x"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "z"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "z", "late"), nil, 0o600))

	// A socket cannot be in a tar and is skipped.
	l, err := net.Listen("unix", filepath.Join(dir, "z", "socket"))
	must(err)
	defer l.Close()

	clamp := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	past := time.Date(2010, 1, 1, 0, 0, 0, 123, time.UTC)
	must(os.Chtimes(filepath.Join(dir, "a-b"), future, future))
	must(os.Chtimes(filepath.Join(dir, "a", "b"), past, past))

	layer, res := writeDir(t, dir, WriteOptions{Clamp: clamp})
	again, _ := writeDir(t, dir, WriteOptions{Clamp: clamp})
	if !bytes.Equal(layer, again) {
		t.Errorf("WriteDir() twice gave different bytes")
	}

	owner := currentOwner()
	want := []string{
		"a/ 5 0755 " + owner + " size=0",
		"a/b 0 0640 " + owner + " size=5",
		"a/hard 1 0640 " + owner + " size=0 -> a/b",
		"a/link 2 0777 " + owner + " size=0 -> b",
		"a-b 0 0644 " + owner + " size=1",
		"z/ 5 0700 " + owner + " size=0",
		"z/late 0 0600 " + owner + " size=0",
	}
	if diff := cmp.Diff(want, listEntries(t, layer)); diff != "" {
		t.Errorf("WriteDir() entries mismatch (-want +got):\n%s", diff)
	}

	wantRes := ExtractResult{TarSize: int64(len(layer)), ContentSize: 6}
	wantRes.DiffID = digestOf(layer)
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("WriteDir() result mismatch (-want +got):\n%s", diff)
	}

	mtimes := map[string]time.Time{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for hdr, err := tr.Next(); err == nil; hdr, err = tr.Next() {
		mtimes[hdr.Name] = hdr.ModTime.UTC()
	}
	if got := mtimes["a-b"]; !got.Equal(clamp) {
		t.Errorf("mtime of a-b = %v, want it clamped to %v", got, clamp)
	}
	if got, want := mtimes["a/b"], past.Truncate(time.Second); !got.Equal(want) {
		t.Errorf("mtime of a/b = %v, want %v", got, want)
	}
}

// TestWriteDirRoundTrip extracts a layer with every kind of entry, writes
// the tree back, and extracts and writes that again: the two written
// layers must be the same bytes, and Extract must agree with WriteDir on
// the diffID.
func TestWriteDirRoundTrip(t *testing.T) {
	requireRoot(t, "extract owners, devices, xattrs and whiteouts")
	subsecond := fileEntry("etc/subsecond", "x")
	subsecond.hdr.ModTime = testTime.Add(123456789)
	subsecond.hdr.Format = tar.FormatPAX
	layer := buildTar(t,
		dirEntry("etc/"),
		owned(withMode(fileEntry("etc/shadow", "secret"), 0o640), 0, 42),
		subsecond,
		hardlinkEntry("etc/shadow-", "etc/shadow"),
		symlinkEntry("etc/localtime", "/usr/share/zoneinfo/UTC"),
		owned(withXattrs(withMode(fileEntry("bin/ping", "ELF"), 0o4755), map[string]string{
			"security.capability": netBindService,
			"user.note":           "kept",
		}), 1000, 1000),
		device(tar.TypeChar, "dev/null", 0o666, 1, 3),
		device(tar.TypeBlock, "dev/loop9", 0o660, 7, 9),
		device(tar.TypeFifo, "run/fifo", 0o600, 0, 0),
		fileEntry("var/.wh.gone", ""),
		dirEntry("opaque/"),
		fileEntry("opaque/.wh..wh..opq", ""),
		fileEntry("opaque/kept", "k"),
	)

	first := newSandbox(t)
	if _, err := Extract(bytes.NewReader(layer), first.dir, ExtractOptions{}); err != nil {
		t.Fatalf("Extract() error = %v", err)
	}
	written, res := writeDir(t, first.dir, WriteOptions{})

	second := newSandbox(t)
	blob := compress(t, written, Gzip)
	extracted, err := Extract(bytes.NewReader(blob), second.dir, ExtractOptions{})
	if err != nil {
		t.Fatalf("Extract(WriteDir()) error = %v", err)
	}
	if diff := cmp.Diff(res, extracted); diff != "" {
		t.Errorf("Extract(WriteDir()) result mismatch (-WriteDir +Extract):\n%s", diff)
	}
	rewritten, _ := writeDir(t, second.dir, WriteOptions{})
	if !bytes.Equal(written, rewritten) {
		t.Errorf("WriteDir(Extract(WriteDir())) differs from WriteDir():\n%s",
			cmp.Diff(listEntries(t, written), listEntries(t, rewritten)))
	}

	want := []string{
		"bin/ 5 0755 0:0 size=0",
		"bin/ping 0 4755 1000:1000 size=3 xattrs=security.capability,user.note",
		"dev/ 5 0755 0:0 size=0",
		"dev/loop9 4 0660 0:0 size=0 dev=7:9",
		"dev/null 3 0666 0:0 size=0 dev=1:3",
		"etc/ 5 0755 0:0 size=0",
		"etc/localtime 2 0777 0:0 size=0 -> /usr/share/zoneinfo/UTC",
		"etc/shadow 0 0640 0:42 size=6",
		"etc/shadow- 1 0640 0:42 size=0 -> etc/shadow",
		"etc/subsecond 0 0644 0:0 size=1",
		"opaque/ 5 0755 0:0 size=0",
		"opaque/.wh..wh..opq 0 0600 0:0 size=0",
		"opaque/kept 0 0644 0:0 size=1",
		"run/ 5 0755 0:0 size=0",
		"run/fifo 6 0600 0:0 size=0",
		"var/ 5 0755 0:0 size=0",
		"var/.wh.gone 0 0600 0:0 size=0",
	}
	if diff := cmp.Diff(want, listEntries(t, written)); diff != "" {
		t.Errorf("WriteDir() entries mismatch (-want +got):\n%s", diff)
	}
}
