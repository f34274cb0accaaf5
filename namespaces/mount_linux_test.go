package namespaces

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestTmpfsOptions(t *testing.T) {
	const defaults = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	tests := []struct {
		name      string
		options   string
		readonly  bool
		wantFlags uintptr
		wantData  string
	}{
		{name: "empty", wantFlags: defaults},
		{name: "data only", options: "size=64m,mode=1777", wantFlags: defaults,
			wantData: "size=64m,mode=1777"},
		{name: "exec lifts noexec", options: "rw,exec,size=1m",
			wantFlags: unix.MS_NOSUID | unix.MS_NODEV, wantData: "size=1m"},
		{name: "ro word", options: "ro", wantFlags: defaults | unix.MS_RDONLY},
		{name: "readonly field", readonly: true, wantFlags: defaults | unix.MS_RDONLY},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, data := tmpfsOptions(tt.options, tt.readonly)
			if flags != tt.wantFlags || data != tt.wantData {
				t.Errorf("tmpfsOptions(%q, %v) = %s, %q, want %s, %q", tt.options, tt.readonly,
					mountFlags(flags), data, mountFlags(tt.wantFlags), tt.wantData)
			}
		})
	}
}

func TestMountFlags(t *testing.T) {
	tests := []struct {
		flags uintptr
		want  string
	}{
		{0, "0"},
		{unix.MS_BIND | unix.MS_REC, "MS_BIND|MS_REC"},
		{unix.MS_RDONLY | 1<<30, "MS_RDONLY|0x40000000"},
	}
	for _, tt := range tests {
		if got := mountFlags(tt.flags); got != tt.want {
			t.Errorf("mountFlags(%#x) = %q, want %q", tt.flags, got, tt.want)
		}
	}
}
