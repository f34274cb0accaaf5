package tarball

import (
	"archive/tar"
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// The tests in this file need root, as Extract does for owners, devices,
// trusted.* and security.* xattrs and whiteouts. CI runs them as root.

// owned returns e with the owner uid:gid.
func owned(e tarEntry, uid, gid int) tarEntry {
	e.hdr.Uid, e.hdr.Gid = uid, gid
	return e
}

// device returns a device or FIFO entry.
func device(typ byte, name string, mode, major, minor int64) tarEntry {
	return tarEntry{hdr: tar.Header{
		Typeflag: typ, Name: name, Mode: mode, Devmajor: major, Devminor: minor, ModTime: testTime,
	}}
}

// withXattrs returns e with extended attributes in its PAX records.
func withXattrs(e tarEntry, attrs map[string]string) tarEntry {
	e.hdr.Format = tar.FormatPAX
	e.hdr.PAXRecords = make(map[string]string)
	for attr, value := range attrs {
		e.hdr.PAXRecords[xattrPrefix+attr] = value
	}
	return e
}

func TestExtractOwnersAndDevices(t *testing.T) {
	requireRoot(t, "change owners and make device nodes")
	layer := buildTar(t,
		owned(fileEntry("owned", "x"), 1234, 5678),
		owned(withMode(fileEntry("setuid", "x"), 0o4755), 1000, 1000),
		owned(withMode(fileEntry("setgid", "x"), 0o2711), 0, 50),
		owned(withMode(dirEntry("shared/"), 0o2775), 42, 43),
		owned(fileEntry("shared/inherits", "x"), 0, 0),
		owned(symlinkEntry("link", "owned"), 7, 8),
		device(tar.TypeChar, "dev/null", 0o666, 1, 3),
		owned(device(tar.TypeBlock, "dev/loop9", 0o660, 7, 9), 0, 6),
		device(tar.TypeFifo, "fifo", 0o600, 0, 0),
	)
	sb := newSandbox(t)
	if _, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{}); err != nil {
		t.Fatalf("Extract() error = %v", err)
	}
	sb.checkContained(t, "")

	want := map[string]string{
		"owned":           `file 0644 "x" 1234:5678`,
		"setuid":          `file 4755 "x" 1000:1000`,
		"setgid":          `file 2711 "x" 0:50`,
		"shared":          "dir 2775 42:43",
		"shared/inherits": `file 0644 "x" 0:0`,
		"link":            "symlink -> owned 7:8",
		"dev":             "dir 0755 0:0",
		"dev/null":        "char 0666 1:3 0:0",
		"dev/loop9":       "block 0660 7:9 0:6",
		"fifo":            "fifo 0600 0:0",
	}
	if diff := cmp.Diff(want, listTree(t, sb.dir, true)); diff != "" {
		t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
	}
}

// netBindService is a security.capability value (struct vfs_cap_data,
// revision 2) granting CAP_NET_BIND_SERVICE, permitted and effective.
var netBindService = string([]byte{
	0x01, 0x00, 0x00, 0x02, // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	0x00, 0x04, 0x00, 0x00, // permitted, bit 10
	0x00, 0x00, 0x00, 0x00, // inheritable
	0x00, 0x00, 0x00, 0x00, // permitted, high word
	0x00, 0x00, 0x00, 0x00, // inheritable, high word
})

func TestExtractXattrs(t *testing.T) {
	requireRoot(t, "set trusted.* and security.* xattrs")
	layer := buildTar(t,
		// Owned by a user: the capability must survive the chown.
		owned(withXattrs(withMode(fileEntry("ping", "x"), 0o4755), map[string]string{
			"security.capability": netBindService,
			"user.origin":         "test",
			"trusted.skiff":       "1",
		}), 1000, 1000),
		withXattrs(dirEntry("dir/"), map[string]string{"user.dir": "yes"}),
		withXattrs(symlinkEntry("link", "ping"), map[string]string{"trusted.link": "2"}),
		withXattrs(fileEntry("sneaky", "x"), map[string]string{
			"trusted.overlay.redirect": "/elsewhere",
			"trusted.overlay.opaque":   "y",
		}),
	)
	sb := newSandbox(t)
	if _, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{}); err != nil {
		t.Fatalf("Extract() error = %v", err)
	}

	tests := []struct {
		path, attr string
		want       string // "" for absent
	}{
		{"ping", "security.capability", netBindService},
		{"ping", "user.origin", "test"},
		{"ping", "trusted.skiff", "1"},
		{"dir", "user.dir", "yes"},
		{"link", "trusted.link", "2"},
		{"sneaky", "trusted.overlay.redirect", ""},
		{"sneaky", "trusted.overlay.opaque", ""},
	}
	for _, tt := range tests {
		if got := getXattr(t, filepath.Join(sb.dir, tt.path), tt.attr); got != tt.want {
			t.Errorf("xattr %s of %s = %q, want %q", tt.attr, tt.path, got, tt.want)
		}
	}
	ping := describe(t, filepath.Join(sb.dir, "ping"), true)
	if got, want := ping, `file 4755 "x" 1000:1000`; got != want {
		t.Errorf("ping = %s, want %s", got, want)
	}
}

// getXattr returns the xattr attr of p, not following a symlink, or "".
func getXattr(t testing.TB, p, attr string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, attr, buf)
	if errors.Is(err, unix.ENODATA) {
		return ""
	}
	if err != nil {
		t.Fatalf("lgetxattr %s %s: %v", p, attr, err)
	}
	return string(buf[:n])
}

// TestExtractWhiteouts applies a layer of whiteouts on top of another, in
// one directory, and checks overlayfs's forms.
func TestExtractWhiteouts(t *testing.T) {
	requireRoot(t, "make whiteout devices and set trusted.overlay.opaque")
	lower := buildTar(t,
		dirEntry("a/"),
		fileEntry("a/gone", "x"),
		dirEntry("b/"),
		fileEntry("b/x", "x"),
		dirEntry("keep/"),
		fileEntry("keep/old", "x"),
		symlinkEntry("up", ".."),
	)
	upper := buildTar(t,
		fileEntry("a/.wh.gone", ""),
		fileEntry(".wh.b", ""),
		fileEntry("keep/.wh..wh..opq", ""),
		fileEntry("keep/new", "y"),
		fileEntry("fresh/.wh.x", ""),
		fileEntry("up/.wh.sentinel", ""), // the layer's root, not the sandbox
		dirEntry(".wh..wh.plnk/"),        // aufs bookkeeping, skipped
	)
	sb := newSandbox(t)
	for _, layer := range [][]byte{lower, upper} {
		if _, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{}); err != nil {
			t.Fatalf("Extract() error = %v", err)
		}
	}
	sb.checkContained(t, "")

	want := map[string]string{
		"a":        "dir 0755",
		"a/gone":   "char 0000 0:0",
		"b":        "char 0000 0:0",
		"keep":     "dir 0755",
		"keep/old": `file 0644 "x"`,
		"keep/new": `file 0644 "y"`,
		"fresh":    "dir 0755",
		"fresh/x":  "char 0000 0:0",
		"up":       "symlink -> ..",
		"sentinel": "char 0000 0:0",
	}
	if diff := cmp.Diff(want, listTree(t, sb.dir, false)); diff != "" {
		t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
	}
	if got := getXattr(t, filepath.Join(sb.dir, "keep"), OpaqueXattr); got != "y" {
		t.Errorf("xattr %s of keep = %q, want %q", OpaqueXattr, got, "y")
	}
}
