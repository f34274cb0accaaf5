package overlay

import (
	"os"
	"strings"
	"testing"
)

// readSample returns testdata/mountinfo, a mount table with overlays made
// both ways, escaped paths and a file system that is not an overlay.
func readSample(t *testing.T) *strings.Reader {
	t.Helper()
	data, err := os.ReadFile("testdata/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(data))
}

func TestHasMountPoint(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   bool
	}{
		{"root", "/", true},
		{"overlay", "/var/lib/skiff/containers/abc/rootfs", true},
		{"parent of a mount", "/var/lib/skiff/containers/abc", false},
		{"escaped space", "/mnt/with space", true},
		{"escaped backslash", `/mnt/back\slash`, true},
		{"escape not undone", `/mnt/with\040space`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hasMountPoint(readSample(t), tt.target)
			if err != nil || got != tt.want {
				t.Errorf("hasMountPoint(%q) = %v, %v, want %v, nil", tt.target, got, err, tt.want)
			}
		})
	}
}

func TestOverlayUsing(t *testing.T) {
	const abcRootfs = "/var/lib/skiff/containers/abc/rootfs"
	tests := []struct {
		name           string
		dirs           []string
		wantMountPoint string
		wantUsed       bool
	}{
		{"upper dir", []string{"/c/abc/upper"}, abcRootfs, true},
		{"work dir", []string{"/c/x", "/c/abc/work"}, abcRootfs, true},
		{"escaped twice", []string{`/c/up,per: x\y`}, "/c/def/rootfs", true},
		{"unused", []string{"/c/ghi/upper", "/c/ghi/work"}, "", false},
		{"lower dir is not in use", []string{"/l"}, "", false},
		{"only overlay counts", []string{"/c/fuse/upper"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mountPoint, used, err := overlayUsing(readSample(t), tt.dirs...)
			if err != nil || used != tt.wantUsed || mountPoint != tt.wantMountPoint {
				t.Errorf("overlayUsing(%q) = %q, %v, %v, want %q, %v, nil",
					tt.dirs, mountPoint, used, err, tt.wantMountPoint, tt.wantUsed)
			}
		})
	}
}

func TestHasMountPointBadLine(t *testing.T) {
	if _, err := hasMountPoint(strings.NewReader("22 1 253:0\n"), "/"); err == nil {
		t.Error("hasMountPoint(short line) = nil error, want one")
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/plain`, `/plain`},
		{`/a\040b`, `/a b`},
		{`/tab\011x\012`, "/tab\tx\n"},
		{`/trailing\04`, `/trailing\04`},
		{`/not\999octal`, `/not\999octal`},
	}
	for _, tt := range tests {
		if got := unescapeMountinfo(tt.in); got != tt.want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
