package tarball

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// testTime is the modification time of the entries the tests build.
var testTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// tarEntry is one entry of a layer built by a test.
type tarEntry struct {
	hdr  tar.Header
	data string
}

// newEntry returns an entry of type typ with mode 0644 and testTime.
func newEntry(typ byte, name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o644, ModTime: testTime}}
}

func fileEntry(name, data string) tarEntry {
	e := newEntry(tar.TypeReg, name)
	e.hdr.Size, e.data = int64(len(data)), data
	return e
}

func dirEntry(name string) tarEntry {
	return withMode(newEntry(tar.TypeDir, name), 0o755)
}

func symlinkEntry(name, target string) tarEntry {
	e := withMode(newEntry(tar.TypeSymlink, name), 0o777)
	e.hdr.Linkname = target
	return e
}

func hardlinkEntry(name, target string) tarEntry {
	e := newEntry(tar.TypeLink, name)
	e.hdr.Linkname = target
	return e
}

// withMode returns e with another mode.
func withMode(e tarEntry, mode int64) tarEntry {
	e.hdr.Mode = mode
	return e
}

// buildTar returns a plain tar of entries.
func buildTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("building test tar: %v", err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatalf("building test tar: %v", err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("building test tar: %v", err)
	}
	return buf.Bytes()
}

// sandbox is a layer directory whose parent holds nothing but a sentinel
// file, so that a test can tell whether anything was written outside the
// layer.
type sandbox struct {
	parent, dir, sentinel string
}

const sentinelData = "nothing may touch this file"

// newSandbox makes a sandbox in a new temporary directory.
func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	parent := t.TempDir()
	sb := &sandbox{
		parent:   parent,
		dir:      filepath.Join(parent, "layer"),
		sentinel: filepath.Join(parent, "sentinel"),
	}
	if err := os.Mkdir(sb.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sb.sentinel, []byte(sentinelData), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { makeRemovable(sb.dir) })
	return sb
}

// checkContained fails the test if anything but the layer directory and the
// untouched sentinel is in the sandbox's parent, or if the file name escape
// appeared in any ancestor of the layer.
func (sb *sandbox) checkContained(t testing.TB, escape string) {
	t.Helper()
	entries, err := os.ReadDir(sb.parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "layer" && e.Name() != "sentinel" {
			t.Errorf("found %s beside the layer directory", filepath.Join(sb.parent, e.Name()))
		}
	}

	var st unix.Stat_t
	if err := unix.Lstat(sb.sentinel, &st); err != nil {
		t.Fatalf("sentinel: %v", err)
	}
	data, _ := os.ReadFile(sb.sentinel)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || string(data) != sentinelData {
		t.Errorf("sentinel changed: mode %#o, %d links, content %q", st.Mode, st.Nlink, data)
	}

	if escape == "" {
		return
	}
	for d := sb.parent; ; d = filepath.Dir(d) {
		for _, sub := range []string{"", "etc"} {
			p := filepath.Join(d, sub, escape)
			if _, err := os.Lstat(p); err == nil {
				os.RemoveAll(p)
				t.Errorf("extraction escaped the layer: %s exists", p)
			}
		}
		if d == "/" {
			break
		}
	}
}

// makeRemovable gives every directory under dir owner rwx, so that a test
// run without root can remove what it extracted.
func makeRemovable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// listTree describes every path under root, by its path relative to root.
func listTree(t testing.TB, root string, owners bool) map[string]string {
	t.Helper()
	tree := make(map[string]string)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			tree[rel] = describe(t, p, owners)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// describe sums a file up in one line: type, mode, details, owner.
func describe(t testing.TB, p string, owners bool) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}

	perm := st.Mode & 0o7777
	var s string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s = fmt.Sprintf("file %04o %q", perm, data)
	case unix.S_IFDIR:
		s = fmt.Sprintf("dir %04o", perm)
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		s = "symlink -> " + target
	case unix.S_IFCHR:
		s = fmt.Sprintf("char %04o %d:%d", perm, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		s = fmt.Sprintf("block %04o %d:%d", perm, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		s = fmt.Sprintf("fifo %04o", perm)
	default:
		s = fmt.Sprintf("mode %#o", st.Mode)
	}
	if owners {
		s += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
	}
	return s
}

// requireRoot skips a test that needs root.
func requireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to %s", why)
	}
}

// extractAsUser is Extract as it behaves without root, whoever runs it.
func extractAsUser(t testing.TB, layer []byte, dir string) (ExtractResult, error) {
	t.Helper()
	app, err := newApplier(dir, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.close()
	app.(*rootedApplier).privileged = false
	return extract(bytes.NewReader(layer), app, dir, discardLogger())
}

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// digestOf returns the sha256 digest of b.
func digestOf(b []byte) digest.Digest {
	return digest.FromBytes(b)
}
