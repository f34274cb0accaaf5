package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/tarball"
)

// requireOverlay skips the test unless it can mount overlayfs: it needs
// root, and the overlay file system in the kernel.
func requireOverlay(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: mount(2), mknod(2) of whiteouts and trusted.* xattrs")
	}
	filesystems, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		tb.Skipf("cannot tell whether overlayfs is available: %v", err)
	}
	if !strings.Contains(string(filesystems), "\toverlay\n") {
		tb.Skip("overlayfs is not available: modprobe overlay")
	}
}

// methods are the two ways Mount hands layers to the kernel.
var methods = []struct {
	name   string
	method method
}{
	{"new_api", methodFsconfig},
	{"fallback", methodFdPaths},
}

// forEachMethod runs test once with each mount method forced.
func forEachMethod(t *testing.T, test func(t *testing.T, m method)) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			useMethod(t, m.method)
			test(t, m.method)
		})
	}
}

// useMethod forces Mount to use m until the test ends.
func useMethod(tb testing.TB, m method) {
	old := forceMethod
	forceMethod = m
	tb.Cleanup(func() { forceMethod = old })
}

// testLogger logs at debug level into the test's output.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mountT mounts like Mount and unmounts when the test ends, failed or not.
func mountT(tb testing.TB, layers []string, upper, work, target string) {
	tb.Helper()
	tb.Cleanup(func() {
		if err := Unmount(target); err != nil {
			tb.Errorf("Unmount(%q) = %v, want nil", target, err)
		}
	})
	if err := Mount(layers, upper, work, target, testLogger(tb)); err != nil {
		tb.Fatalf("Mount(%d layers) = %v, want nil", len(layers), err)
	}
}

// bundle is a container's directories, as the container package lays
// them out.
type bundle struct {
	upper, work, rootfs string
}

// newBundle makes a bundle under a fresh temporary directory.
func newBundle(tb testing.TB) bundle {
	tb.Helper()
	dir := tb.TempDir()
	b := bundle{
		upper:  filepath.Join(dir, "upper"),
		work:   filepath.Join(dir, "work"),
		rootfs: filepath.Join(dir, "rootfs"),
	}
	if err := os.Mkdir(b.rootfs, 0o755); err != nil {
		tb.Fatal(err)
	}
	return b
}

// nodeKind is what a node of a hand-made tree is.
type nodeKind int

const (
	kindFile     nodeKind = iota // a regular file holding data
	kindDir                      // a directory with mode
	kindWhiteout                 // overlayfs's whiteout, a 0/0 char device
	kindOpaque                   // a directory marked opaque
)

// node is one entry of a hand-made layer or upper dir.
type node struct {
	path string // relative, such as "etc/passwd"
	kind nodeKind
	data string      // a file's content
	mode fs.FileMode // a directory's permissions; 0 means 0o755
}

func fileNode(path, data string) node { return node{path: path, kind: kindFile, data: data} }
func dirNode(path string, mode fs.FileMode) node {
	return node{path: path, kind: kindDir, mode: mode}
}
func whiteoutNode(path string) node { return node{path: path, kind: kindWhiteout} }
func opaqueNode(path string) node   { return node{path: path, kind: kindOpaque} }

// buildTree creates root and the nodes in it, parents as needed (0o755).
func buildTree(tb testing.TB, root string, nodes []node) {
	tb.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := makeNode(p, n); err != nil {
			tb.Fatalf("make %q: %v", n.path, err)
		}
	}
}

// makeNode creates n at p.
func makeNode(p string, n node) error {
	switch n.kind {
	case kindFile:
		return os.WriteFile(p, []byte(n.data), 0o644)
	case kindDir:
		mode := n.mode
		if mode == 0 {
			mode = 0o755
		}
		if err := os.Mkdir(p, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return os.Chmod(p, mode)
	case kindWhiteout:
		return unix.Mknod(p, unix.S_IFCHR, 0)
	case kindOpaque:
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return unix.Setxattr(p, tarball.OpaqueXattr, []byte("y"), 0)
	}
	return fmt.Errorf("unknown node kind %d", n.kind)
}

// buildLayers creates one layer dir per node list, lowest first, and
// returns their paths in that order, as Mount takes them.
func buildLayers(tb testing.TB, layers ...[]node) []string {
	tb.Helper()
	base := tb.TempDir()
	dirs := make([]string, len(layers))
	for i, nodes := range layers {
		dirs[i] = filepath.Join(base, fmt.Sprintf("layer%d", i), "diff")
		buildTree(tb, dirs[i], nodes)
	}
	return dirs
}

// imageLayers is a two-layer image: a base, and a layer that replaces a
// file, deletes one with a whiteout and replaces a directory's content
// with an opaque directory.
func imageLayers(tb testing.TB) []string {
	base := []node{
		fileNode("etc/passwd", "root:0"),
		fileNode("etc/group", "root:g"),
		fileNode("etc/hostname", "base"),
		fileNode("bin/sh", "sh"),
		fileNode("bin/old", "old"),
		fileNode("opt/app/a", "a"),
		fileNode("opt/app/b", "b"),
		fileNode("var/log/messages", "m"),
	}
	top := []node{
		fileNode("etc/passwd", "root:1"),
		whiteoutNode("etc/hostname"),
		opaqueNode("opt/app"),
		fileNode("opt/app/c", "c"),
	}
	return buildLayers(tb, base, top)
}

// readMerged describes path in the merged view: "missing", the content of
// a file, or "dir:" and the names in a directory.
func readMerged(tb testing.TB, root, path string) string {
	tb.Helper()
	p := filepath.Join(root, path)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		tb.Fatal(err)
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(p)
		if err != nil {
			tb.Fatal(err)
		}
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		return "dir:" + strings.Join(names, ",")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func TestMountMergedView(t *testing.T) {
	requireOverlay(t)
	forEachMethod(t, func(t *testing.T, _ method) {
		layers := imageLayers(t)
		b := newBundle(t)
		mountT(t, layers, b.upper, b.work, b.rootfs)

		tests := []struct {
			name, path, want string
		}{
			{"upper layer wins", "etc/passwd", "root:1"},
			{"lower layer shows through", "etc/group", "root:g"},
			{"whiteout hides the lower file", "etc/hostname", "missing"},
			{"directories merge", "etc", "dir:group,passwd"},
			{"opaque dir hides lower content", "opt/app", "dir:c"},
			{"untouched lower dir", "bin", "dir:old,sh"},
		}
		for _, tt := range tests {
			if got := readMerged(t, b.rootfs, tt.path); got != tt.want {
				t.Errorf("%s: merged %q = %q, want %q", tt.name, tt.path, got, tt.want)
			}
		}
	})
}

// fileState is what must not change in a lower dir.
type fileState struct {
	Mode     fs.FileMode
	UID, GID uint32
	Rdev     uint64
	Size     int64
	Mtime    int64
	Data     string // a file's content
	Opaque   string // the opaque xattr's value
}

// snapshot records the state of every path under root.
func snapshot(tb testing.TB, root string) map[string]fileState {
	tb.Helper()
	states := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fileState{
			Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, Rdev: st.Rdev,
			Size: fi.Size(), Mtime: st.Mtim.Nano(),
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s.Data = string(data)
		}
		var buf [8]byte
		if n, err := unix.Lgetxattr(p, tarball.OpaqueXattr, buf[:]); err == nil {
			s.Opaque = string(buf[:n])
		}
		rel, _ := filepath.Rel(root, p)
		states[rel] = s
		return nil
	})
	if err != nil {
		tb.Fatalf("snapshot %q: %v", root, err)
	}
	return states
}

// changeContainer changes the merged view at root as a container would:
// it adds, modifies and deletes files and directories.
func changeContainer(tb testing.TB, root string) {
	tb.Helper()
	steps := []struct {
		name string
		do   func(p func(string) string) error
	}{
		{"add a file", func(p func(string) string) error {
			return os.WriteFile(p("etc/new"), []byte("new"), 0o644)
		}},
		{"modify a lower file", func(p func(string) string) error {
			return os.WriteFile(p("etc/passwd"), []byte("root:2"), 0o644)
		}},
		{"chmod a lower file", func(p func(string) string) error {
			return os.Chmod(p("etc/group"), 0o600)
		}},
		{"delete a lower file", func(p func(string) string) error {
			return os.Remove(p("bin/old"))
		}},
		{"delete a lower dir", func(p func(string) string) error {
			return os.RemoveAll(p("var/log"))
		}},
		{"replace a dir", func(p func(string) string) error {
			return errors.Join(os.RemoveAll(p("opt/app")), os.Mkdir(p("opt/app"), 0o755),
				os.WriteFile(p("opt/app/c"), []byte("c2"), 0o644),
				os.WriteFile(p("opt/app/z"), []byte("z"), 0o644))
		}},
		{"add a dir", func(p func(string) string) error {
			return errors.Join(os.Mkdir(p("srv"), 0o755),
				os.WriteFile(p("srv/index.html"), []byte("hi"), 0o644))
		}},
	}
	inRoot := func(rel string) string { return filepath.Join(root, rel) }
	for _, s := range steps {
		if err := s.do(inRoot); err != nil {
			tb.Fatalf("%s: %v", s.name, err)
		}
	}
}

func TestWritesStayInUpper(t *testing.T) {
	requireOverlay(t)
	forEachMethod(t, func(t *testing.T, _ method) {
		layers := imageLayers(t)
		before := make([]map[string]fileState, len(layers))
		for i, layer := range layers {
			before[i] = snapshot(t, layer)
		}
		b := newBundle(t)
		mountT(t, layers, b.upper, b.work, b.rootfs)

		changeContainer(t, b.rootfs)
		if err := Unmount(b.rootfs); err != nil {
			t.Fatalf("Unmount(%q) = %v, want nil", b.rootfs, err)
		}

		for i, layer := range layers {
			if diff := cmp.Diff(before[i], snapshot(t, layer)); diff != "" {
				t.Errorf("layer %d changed (-before +after):\n%s", i, diff)
			}
		}
		checkUpperMarks(t, b.upper)
		checkChanges(t, layers, b.upper)
	})
}

// checkUpperMarks checks that deletions left whiteouts in the upper dir,
// and that the replaced directory is opaque.
func checkUpperMarks(t *testing.T, upper string) {
	t.Helper()
	for _, rel := range []string{"bin/old", "var/log"} {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(upper, rel), &st)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("upper %q: mode %#o rdev %d (%v), want a 0/0 character device",
				rel, st.Mode, st.Rdev, err)
		}
	}
	var buf [8]byte
	n, err := unix.Lgetxattr(filepath.Join(upper, "opt/app"), tarball.OpaqueXattr, buf[:])
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("upper opt/app: %s = %q (%v), want \"y\"", tarball.OpaqueXattr, buf[:n], err)
	}
}

// checkChanges checks Changes against what `docker diff` prints after
// changeContainer.
func checkChanges(t *testing.T, layers []string, upper string) {
	t.Helper()
	want := []string{
		"C /bin",
		"D /bin/old",
		"C /etc",
		"C /etc/group",
		"A /etc/new",
		"C /etc/passwd",
		"C /opt",
		"C /opt/app",
		"A /opt/app/c",
		"A /opt/app/z",
		"A /srv",
		"A /srv/index.html",
		"C /var",
		"D /var/log",
	}
	changes, err := Changes(layers, upper)
	if err != nil {
		t.Fatalf("Changes() = %v, want nil error", err)
	}
	if diff := cmp.Diff(want, changeStrings(changes)); diff != "" {
		t.Errorf("Changes() mismatch (-want +got):\n%s", diff)
	}
}

// changeStrings prints changes as `docker diff` does.
func changeStrings(changes []Change) []string {
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.String())
	}
	return lines
}

func TestChanges(t *testing.T) {
	requireOverlay(t)
	tests := []struct {
		name   string
		layers [][]node // lowest first
		upper  []node
		want   []string
	}{
		{
			name:   "nothing changed",
			layers: [][]node{{fileNode("etc/passwd", "x")}},
			want:   nil,
		},
		{
			name:   "copied-up directory with nothing changed is not reported",
			layers: [][]node{{fileNode("etc/passwd", "x")}},
			upper:  []node{dirNode("etc", 0o755)},
			want:   nil,
		},
		{
			name:   "directory mode changed",
			layers: [][]node{{fileNode("etc/passwd", "x")}},
			upper:  []node{dirNode("etc", 0o700)},
			want:   []string{"C /etc"},
		},
		{
			name:   "modified file and its parent",
			layers: [][]node{{fileNode("etc/passwd", "x")}},
			upper:  []node{fileNode("etc/passwd", "y")},
			want:   []string{"C /etc", "C /etc/passwd"},
		},
		{
			name:   "new directory and everything in it",
			layers: [][]node{{fileNode("etc/passwd", "x")}},
			upper:  []node{fileNode("srv/www/index.html", "hi")},
			want:   []string{"A /srv", "A /srv/www", "A /srv/www/index.html"},
		},
		{
			name:   "whiteout",
			layers: [][]node{{fileNode("usr/bin/old", "x"), fileNode("usr/bin/new", "y")}},
			upper:  []node{whiteoutNode("usr/bin/old")},
			want:   []string{"C /usr", "C /usr/bin", "D /usr/bin/old"},
		},
		{
			name: "file made again where a higher layer deleted it",
			layers: [][]node{
				{fileNode("a/x", "1")},
				{whiteoutNode("a/x")},
			},
			upper: []node{fileNode("a/x", "2")},
			want:  []string{"C /a", "A /a/x"},
		},
		{
			name: "under a lower opaque dir only the higher layer counts",
			layers: [][]node{
				{fileNode("d/old", "1")},
				{opaqueNode("d"), fileNode("d/keep", "k")},
			},
			upper: []node{fileNode("d/old", "2"), fileNode("d/keep", "k2")},
			want:  []string{"C /d", "C /d/keep", "A /d/old"},
		},
		{
			name:   "opaque upper dir is changed, its content added",
			layers: [][]node{{fileNode("d/x", "1"), fileNode("d/y", "1")}},
			upper:  []node{opaqueNode("d"), fileNode("d/x", "2")},
			want:   []string{"C /d", "A /d/x"},
		},
		{
			name:   "file replaced by a directory",
			layers: [][]node{{fileNode("f", "1")}},
			upper:  []node{fileNode("f/g", "2")},
			want:   []string{"C /f", "A /f/g"},
		},
		{
			name: "a higher layer's file hides a lower dir",
			layers: [][]node{
				{fileNode("d/x", "1")},
				{fileNode("d", "now a file")},
			},
			upper: []node{fileNode("d/x", "2")},
			want:  []string{"C /d", "A /d/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := buildLayers(t, tt.layers...)
			upper := filepath.Join(t.TempDir(), "upper")
			buildTree(t, upper, tt.upper)

			changes, err := Changes(layers, upper)
			if err != nil {
				t.Fatalf("Changes() = %v, want nil error", err)
			}
			got := changeStrings(changes)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Changes() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// longLayers makes n layer dirs whose paths are as long as the store's,
// <base>/layers/<64 hex digits>/diff. Layer i holds the file fNNN and the
// file "top", both containing i, so the merged "top" tells which layer is
// on top.
func longLayers(tb testing.TB, n int) []string {
	tb.Helper()
	base := tb.TempDir()
	dirs := make([]string, n)
	for i := range n {
		hex := fmt.Sprintf("%064x", 0xabcdef0000+i)
		dirs[i] = filepath.Join(base, "layers", hex, "diff")
		data := strconv.Itoa(i)
		nodes := []node{fileNode(fmt.Sprintf("f%03d", i), data), fileNode("top", data)}
		buildTree(tb, dirs[i], nodes)
	}
	return dirs
}

func TestMountManyLayers(t *testing.T) {
	requireOverlay(t)
	const n = 120
	forEachMethod(t, func(t *testing.T, _ method) {
		layers := longLayers(t, n)
		if len(layers[0]) < 90 {
			t.Fatalf("layer path %q has %d bytes, want at least 90", layers[0], len(layers[0]))
		}
		if _, err := mountData(layers, nil, os.Getpagesize()); err == nil {
			t.Fatalf("the plain paths of %d layers fit in a page: the test proves nothing", n)
		}
		b := newBundle(t)
		mountT(t, layers, b.upper, b.work, b.rootfs)

		entries, err := os.ReadDir(b.rootfs)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != n+1 {
			t.Errorf("merged view has %d entries, want %d", len(entries), n+1)
		}
		for i := range n {
			name := fmt.Sprintf("f%03d", i)
			if got, want := readMerged(t, b.rootfs, name), strconv.Itoa(i); got != want {
				t.Errorf("merged %q = %q, want %q", name, got, want)
			}
		}
		if got, want := readMerged(t, b.rootfs, "top"), strconv.Itoa(n-1); got != want {
			t.Errorf("merged \"top\" = %q, want %q (from the last layer)", got, want)
		}
	})
}

func TestMountTooManyLayers(t *testing.T) {
	layers := make([]string, maxLayers+1)
	for i := range layers {
		layers[i] = fmt.Sprintf("/nonexistent/layer%d", i)
	}
	target := t.TempDir()

	err := Mount(layers, "", "", target, nil)
	if !errors.Is(err, errTooManyLayers) {
		t.Errorf("Mount(%d layers) = %v, want %v", len(layers), err, errTooManyLayers)
	}
}

func TestMountNothing(t *testing.T) {
	err := Mount(nil, "", "", t.TempDir(), nil)
	if !errors.Is(err, errNoLayers) {
		t.Errorf("Mount(no layers, no upper) = %v, want %v", err, errNoLayers)
	}
}

func TestMountReadOnlyView(t *testing.T) {
	requireOverlay(t)
	tests := []struct {
		name   string
		layers [][]node
	}{
		{"one layer: bind mount", [][]node{{fileNode("a", "1")}}},
		{"two layers: overlay", [][]node{{fileNode("a", "0")}, {fileNode("a", "1")}}},
	}
	forEachMethod(t, func(t *testing.T, _ method) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				layers := buildLayers(t, tt.layers...)
				target := t.TempDir()
				mountT(t, layers, "", "", target)

				if got := readMerged(t, target, "a"); got != "1" {
					t.Errorf("merged \"a\" = %q, want \"1\"", got)
				}
				err := os.WriteFile(filepath.Join(target, "b"), nil, 0o644)
				if !errors.Is(err, unix.EROFS) {
					t.Errorf("write in a read-only view = %v, want EROFS", err)
				}
			})
		}
	})
}

func TestMountUpperWithoutLayers(t *testing.T) {
	requireOverlay(t)
	b := newBundle(t)
	mountT(t, nil, b.upper, b.work, b.rootfs)

	if err := os.WriteFile(filepath.Join(b.rootfs, "hello"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readMerged(t, b.upper, "hello"); got != "hi" {
		t.Errorf("upper \"hello\" = %q, want \"hi\"", got)
	}
}

func TestMountSpecialCharacters(t *testing.T) {
	requireOverlay(t)
	forEachMethod(t, func(t *testing.T, _ method) {
		base := t.TempDir()
		lower := []string{filepath.Join(base, "lay:er,0"), filepath.Join(base, `lay\er 1`)}
		buildTree(t, lower[0], []node{fileNode("a", "0")})
		buildTree(t, lower[1], []node{fileNode("b", "1")})
		upper, work := filepath.Join(base, "up,per:"), filepath.Join(base, `wo\rk,`)
		target := filepath.Join(base, "root fs")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		mountT(t, lower, upper, work, target)

		if got := readMerged(t, target, "."); got != "dir:a,b" {
			t.Errorf("merged view = %q, want \"dir:a,b\"", got)
		}
		if mounted, err := Mounted(target); !mounted || err != nil {
			t.Errorf("Mounted(%q) = %v, %v, want true, nil", target, mounted, err)
		}

		// The mount table escapes the upper dir; the in-use check must
		// still recognise it.
		second := t.TempDir()
		t.Cleanup(func() { Unmount(second) })
		err := Mount(lower, upper, work+"2", second, nil)
		if !errors.Is(err, errInUse) {
			t.Errorf("Mount(upper dir %q again) = %v, want %v", upper, err, errInUse)
		}
	})
}

func TestMountUpperInUse(t *testing.T) {
	requireOverlay(t)
	forEachMethod(t, func(t *testing.T, _ method) {
		layers := imageLayers(t)
		b := newBundle(t)
		mountT(t, layers, b.upper, b.work, b.rootfs)
		second := t.TempDir()
		t.Cleanup(func() { Unmount(second) })

		err := Mount(layers, b.upper, b.work+"2", second, nil)
		if !errors.Is(err, errInUse) {
			t.Errorf("Mount(upper dir of a mounted overlay) = %v, want %v", err, errInUse)
		}
		if !strings.Contains(fmt.Sprint(err), b.rootfs) {
			t.Errorf("Mount(upper dir of a mounted overlay) = %v, want it to name %q",
				err, b.rootfs)
		}
	})
}

func TestMountWorkOnOtherFileSystem(t *testing.T) {
	requireOverlay(t)
	layers := buildLayers(t, []node{fileNode("a", "1")})
	b := newBundle(t)
	tmpfs := t.TempDir()
	if err := unix.Mount("tmpfs", tmpfs, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(tmpfs, 0) })

	err := Mount(layers, b.upper, filepath.Join(tmpfs, "work"), b.rootfs, nil)
	if err == nil {
		Unmount(b.rootfs)
		t.Fatal("Mount(work dir on tmpfs) = nil, want an error")
	}
	if !strings.Contains(err.Error(), "another file system") {
		t.Errorf("Mount(work dir on tmpfs) = %v, want it to name the file system rule", err)
	}
}

func TestMountErrorNamesFailingCall(t *testing.T) {
	requireOverlay(t)
	tests := []struct {
		name          string
		missingLayer  bool
		wantOp        map[method]string
		wantDataStart map[method]string
	}{
		{
			name:          "missing layer dir",
			missingLayer:  true,
			wantOp:        map[method]string{methodFsconfig: "fsconfig", methodFdPaths: "open"},
			wantDataStart: map[method]string{methodFsconfig: "lowerdir+="},
		},
		{
			name:          "missing mount point",
			wantOp:        map[method]string{methodFsconfig: "move_mount", methodFdPaths: "mount"},
			wantDataStart: map[method]string{methodFdPaths: "lowerdir=/proc/self/fd/"},
		},
	}
	forEachMethod(t, func(t *testing.T, m method) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				layers := buildLayers(t, []node{fileNode("a", "1")}, []node{fileNode("b", "2")})
				b := newBundle(t)
				if tt.missingLayer {
					layers[0] += "-missing"
				} else {
					b.rootfs += "-missing"
				}
				t.Cleanup(func() { Unmount(b.rootfs) })

				err := Mount(layers, b.upper, b.work, b.rootfs, nil)
				checkFailedCall(t, err, tt.wantOp[m], tt.wantDataStart[m])
			})
		}
	})
}

// checkFailedCall checks that err names the system call op that failed
// with ENOENT and, for a mount call, data starting with dataStart.
func checkFailedCall(t *testing.T, err error, op, dataStart string) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Mount() = %v, want ENOENT", err)
	}
	var pathErr *os.PathError
	if op == "open" {
		if !errors.As(err, &pathErr) || pathErr.Op != op {
			t.Errorf("Mount() = %v, want an *os.PathError from %s", err, op)
		}
		return
	}
	var mountErr *MountError
	if !errors.As(err, &mountErr) {
		t.Fatalf("Mount() = %v, want a *MountError", err)
	}
	if mountErr.Op != op || !strings.HasPrefix(mountErr.Data, dataStart) {
		t.Errorf("Mount() failed in %s with data %q, want %s with data %q...",
			mountErr.Op, mountErr.Data, op, dataStart)
	}
}

// Mount narrates its call (--explain), with the options it gave the kernel
// and the real layer dirs, whichever way it mounts.
func TestMountNarratesOptions(t *testing.T) {
	requireOverlay(t)
	wantOption := map[method]string{
		methodFsconfig: "lowerdir+=",
		methodFdPaths:  "lowerdir=/proc/self/fd/",
	}
	wantCall := map[method]string{
		methodFsconfig: `[explain] fsopen("overlay"), fsconfig(`,
		methodFdPaths:  `[explain] mount("overlay", `,
	}
	forEachMethod(t, func(t *testing.T, m method) {
		layers := imageLayers(t)
		b := newBundle(t)
		var logs bytes.Buffer
		log := slog.New(explain.NewHandler(&logs, slog.DiscardHandler))
		t.Cleanup(func() { Unmount(b.rootfs) })
		if err := Mount(layers, b.upper, b.work, b.rootfs, log); err != nil {
			t.Fatal(err)
		}

		for _, want := range []string{wantCall[m], wantOption[m], "upperdir=" + b.upper,
			"index=off", "redirect_dir=nofollow", "metacopy=off", layers[0]} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("narration %q does not contain %q", logs.String(), want)
			}
		}
	})
}

// mountinfoHas reports whether /proc/self/mountinfo mentions path.
func mountinfoHas(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), path)
}

func TestUnmount(t *testing.T) {
	requireOverlay(t)
	forEachMethod(t, func(t *testing.T, _ method) {
		layers := imageLayers(t)
		b := newBundle(t)
		mountT(t, layers, b.upper, b.work, b.rootfs)
		if mounted, err := Mounted(b.rootfs); !mounted || err != nil {
			t.Fatalf("Mounted(%q) = %v, %v, want true, nil", b.rootfs, mounted, err)
		}

		if err := Unmount(b.rootfs); err != nil {
			t.Fatalf("Unmount(%q) = %v, want nil", b.rootfs, err)
		}
		if mounted, err := Mounted(b.rootfs); mounted || err != nil {
			t.Errorf("Mounted(%q) = %v, %v, want false, nil", b.rootfs, mounted, err)
		}
		if mountinfoHas(t, b.rootfs) {
			t.Errorf("/proc/self/mountinfo still lists %q", b.rootfs)
		}
		if err := Unmount(b.rootfs); err != nil {
			t.Errorf("Unmount(%q) again = %v, want nil", b.rootfs, err)
		}
	})
}

func TestUnmountNotMounted(t *testing.T) {
	requireOverlay(t)
	dir := t.TempDir()
	for _, target := range []string{dir, filepath.Join(dir, "missing")} {
		if err := Unmount(target); err != nil {
			t.Errorf("Unmount(%q) = %v, want nil", target, err)
		}
		if mounted, err := Mounted(target); mounted || err != nil {
			t.Errorf("Mounted(%q) = %v, %v, want false, nil", target, mounted, err)
		}
	}
}

func TestUnmountBusy(t *testing.T) {
	requireOverlay(t)
	layers := imageLayers(t)
	b := newBundle(t)
	mountT(t, layers, b.upper, b.work, b.rootfs)
	f, err := os.Open(filepath.Join(b.rootfs, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Unmount(b.rootfs, 0); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("umount2(%q) with an open file = %v, want EBUSY", b.rootfs, err)
	}

	if err := Unmount(b.rootfs); err != nil {
		t.Fatalf("Unmount(%q) = %v, want nil (a lazy unmount)", b.rootfs, err)
	}
	if mountinfoHas(t, b.rootfs) {
		t.Errorf("/proc/self/mountinfo still lists %q", b.rootfs)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil || string(data) != "root:1" {
		t.Errorf("read of the open file after detach = %q, %v, want \"root:1\"", data, err)
	}
}

func TestProbePrefersNewAPI(t *testing.T) {
	requireOverlay(t)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("parse kernel release %q: %v", release, err)
	}

	want := methodFdPaths
	if major > 6 || major == 6 && minor >= 8 {
		want = methodFsconfig
	}
	if got := probeMethod(); got != want {
		t.Errorf("probeMethod() on Linux %s = %v, want %v", release, got, want)
	}
}

func TestChooseMethodLongPath(t *testing.T) {
	long := "/" + strings.Repeat("x", maxFsconfigValue)
	s := newStack([]string{"/a", long}, "/u", "/w")
	if got := chooseMethod(s); got != methodFdPaths {
		t.Errorf("chooseMethod(path of %d bytes) = %v, want %v", len(long), got, methodFdPaths)
	}
}

func BenchmarkMount(b *testing.B) {
	requireOverlay(b)
	for _, m := range methods {
		b.Run(m.name, func(b *testing.B) {
			useMethod(b, m.method)
			layers := longLayers(b, 5)
			bd := newBundle(b)
			b.Cleanup(func() { Unmount(bd.rootfs) })

			for b.Loop() {
				if err := Mount(layers, bd.upper, bd.work, bd.rootfs, nil); err != nil {
					b.Fatal(err)
				}
				if err := Unmount(bd.rootfs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
