package overlay

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewStackOrder(t *testing.T) {
	s := newStack([]string{"/l/bottom", "/l/middle", "/l/top"}, "/c/upper", "/c/work")
	want := stack{
		lower: []string{"/l/top", "/l/middle", "/l/bottom"},
		upper: "/c/upper",
		work:  "/c/work",
	}
	if diff := cmp.Diff(want, s, cmp.AllowUnexported(stack{})); diff != "" {
		t.Errorf("newStack() mismatch (-want +got):\n%s", diff)
	}
}

func TestMountData(t *testing.T) {
	rw := newStack(nil, "/c/upper", "/c/work").options()
	ro := newStack(nil, "", "").options()
	tests := []struct {
		name  string
		lower []string
		opts  []option
		want  string
	}{
		{
			name:  "upper and work",
			lower: []string{"/proc/self/fd/4", "/proc/self/fd/3"},
			opts:  rw,
			want: "lowerdir=/proc/self/fd/4:/proc/self/fd/3,upperdir=/c/upper,workdir=/c/work," +
				"index=off,redirect_dir=nofollow,metacopy=off",
		},
		{
			name:  "read-only view",
			lower: []string{"/a", "/b"},
			opts:  ro,
			want:  "lowerdir=/a:/b,index=off,redirect_dir=nofollow,metacopy=off",
		},
		{
			name:  "separators escaped",
			lower: []string{"/a:b", `/c\d`},
			opts:  []option{{"upperdir", "/u,1"}},
			want:  `lowerdir=/a\:b:/c\\d,upperdir=/u\,1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountData(tt.lower, tt.opts, 4096)
			if err != nil || got != tt.want {
				t.Errorf("mountData(%q) = %q, %v, want %q, nil", tt.lower, got, err, tt.want)
			}
		})
	}
}

// TestMountDataPageLimit shows the problem the package works around: 120
// store paths do not fit in a page, 120 /proc/self/fd names do.
func TestMountDataPageLimit(t *testing.T) {
	const layers = 120
	var storePaths, fdPaths []string
	for i := range layers {
		hex := strings.Repeat(fmt.Sprintf("%02x", i), 32)
		storePaths = append(storePaths, "/var/lib/skiff/layers/"+hex+"/diff")
		fdPaths = append(fdPaths, fmt.Sprintf("/proc/self/fd/%d", i+3))
	}
	opts := newStack(nil, "/var/lib/skiff/containers/x/upper", "/var/lib/skiff/containers/x/work").
		options()

	if _, err := mountData(storePaths, opts, 4096); err == nil {
		t.Errorf("mountData(%d store paths) = nil error, want one: options exceed a page", layers)
	}
	data, err := mountData(fdPaths, opts, 4096)
	if err != nil {
		t.Fatalf("mountData(%d fd paths) = %v, want nil error", layers, err)
	}
	if len(data) >= 4096 {
		t.Errorf("len(mountData(%d fd paths)) = %d, want < 4096", layers, len(data))
	}
}

func TestMountErrorNamesCall(t *testing.T) {
	cause := errors.New("invalid argument")
	tests := []struct {
		name string
		err  *MountError
		want string
	}{
		{
			name: "mount",
			err: &MountError{Op: "mount", Source: "overlay", Target: "/c/rootfs",
				FSType: "overlay", Flags: 1, Data: "lowerdir=/a:/b", Err: cause},
			want: `mount overlay "overlay" on "/c/rootfs" flags 0x1 data "lowerdir=/a:/b": ` +
				"invalid argument",
		},
		{
			name: "fsconfig with kernel log",
			err: &MountError{Op: "fsconfig", Target: "/c/rootfs", FSType: "overlay",
				Data: "lowerdir+=/a", KernelLog: "e overlay: Unknown parameter", Err: cause},
			want: `fsconfig overlay on "/c/rootfs" data "lowerdir+=/a": invalid argument ` +
				"(kernel: e overlay: Unknown parameter)",
		},
		{
			name: "umount2",
			err:  &MountError{Op: "umount2", Target: "/c/rootfs", Flags: 2, Err: cause},
			want: `umount2 on "/c/rootfs" flags 0x2: invalid argument`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, cause) {
				t.Errorf("errors.Is(%v, cause) = false, want true", tt.err)
			}
		})
	}
}

func TestFsconfigValue(t *testing.T) {
	tests := []struct {
		opt  option
		want string
	}{
		{option{"lowerdir+", `/a\b,c:d`}, `/a\b,c:d`},
		{option{"upperdir", `/u\p,1`}, `/u\\p\,1`},
		{option{"workdir", `/w:1`}, `/w\:1`},
		{option{"index", "off"}, "off"},
	}
	for _, tt := range tests {
		if got := tt.opt.fsconfigValue(); got != tt.want {
			t.Errorf("%v.fsconfigValue() = %q, want %q", tt.opt, got, tt.want)
		}
	}
}

func TestUnescapeOption(t *testing.T) {
	for _, s := range []string{"/plain", `/a\b`, "/c,d:e", `/trailing\`} {
		if got := unescapeOption(escapeOption(s)); got != s {
			t.Errorf("unescapeOption(escapeOption(%q)) = %q, want %q", s, got, s)
		}
	}
}
