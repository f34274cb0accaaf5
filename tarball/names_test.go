package tarball

import (
	"archive/tar"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{name: "plain", in: "etc/passwd", want: "etc/passwd"},
		{name: "dot slash", in: "./usr/bin/", want: "usr/bin"},
		{name: "root entry", in: "./", want: "."},
		{name: "leading slash is the root", in: "/abs", want: "abs"},
		{name: "many leading slashes", in: "///abs//x", want: "abs/x"},
		{name: "dotdot inside", in: "a/b/../c", want: "a/c"},
		{name: "dotdot to the root", in: "a/..", want: "."},
		{name: "dotdot", in: "..", wantErr: errPathEscapes},
		{name: "dotdot prefix", in: "../x", wantErr: errPathEscapes},
		{name: "dotdot after a dir", in: "a/../../x", wantErr: errPathEscapes},
		{name: "absolute dotdot", in: "/../x", wantErr: errPathEscapes},
		{name: "dotdot-like name", in: "..x/y", want: "..x/y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanName(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("cleanName(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("cleanName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckEntry(t *testing.T) {
	tests := []struct {
		name string
		hdr  tar.Header
		want entry // hdr left out of the comparison
		// wantErr is a substring of the error; errors must name the entry.
		wantErr string
	}{
		{
			name: "file",
			hdr:  tar.Header{Typeflag: tar.TypeReg, Name: "/usr/bin/sh", Size: 3},
			want: entry{kind: kindFile, name: "usr/bin/sh", dir: "usr/bin", base: "sh"},
		},
		{
			name: "root directory",
			hdr:  tar.Header{Typeflag: tar.TypeDir, Name: "./"},
			want: entry{kind: kindFile, name: ".", dir: ".", base: "."},
		},
		{
			name:    "file replacing the root",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "/"},
			wantErr: `tar entry "/": only a directory may replace the layer root`,
		},
		{
			name:    "escaping name",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "../x"},
			wantErr: `tar entry "../x": path escapes the layer`,
		},
		{
			name: "hard link",
			hdr:  tar.Header{Typeflag: tar.TypeLink, Name: "a", Linkname: "/b/c"},
			want: entry{kind: kindFile, name: "a", dir: ".", base: "a", linkname: "b/c"},
		},
		{
			name:    "escaping hard link",
			hdr:     tar.Header{Typeflag: tar.TypeLink, Name: "a", Linkname: "../../etc/passwd"},
			wantErr: `tar entry "a": link target "../../etc/passwd": path escapes the layer`,
		},
		{
			name:    "hard link to the root",
			hdr:     tar.Header{Typeflag: tar.TypeLink, Name: "a", Linkname: "./"},
			wantErr: `tar entry "a": link target "./": cannot link to the layer root`,
		},
		{
			name: "symlink target is data",
			hdr:  tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "../../.."},
			want: entry{kind: kindFile, name: "l", dir: ".", base: "l"},
		},
		{
			name: "whiteout",
			hdr:  tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.motd"},
			want: entry{kind: kindWhiteout, name: "etc/.wh.motd", dir: "etc", base: "motd"},
		},
		{
			name: "opaque whiteout",
			hdr:  tar.Header{Typeflag: tar.TypeReg, Name: "var/cache/.wh..wh..opq"},
			want: entry{
				kind: kindOpaque,
				name: "var/cache/.wh..wh..opq",
				dir:  "var/cache",
				base: ".wh..wh..opq",
			},
		},
		{
			name: "aufs bookkeeping",
			hdr:  tar.Header{Typeflag: tar.TypeDir, Name: ".wh..wh.plnk/"},
			want: entry{kind: kindSkip, name: ".wh..wh.plnk", dir: ".", base: ".wh..wh.plnk"},
		},
		{
			name:    "whiteout of the parent",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "a/.wh..."},
			wantErr: `tar entry "a/.wh...": whiteout deletes ".."`,
		},
		{
			name:    "whiteout of the directory itself",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: ".wh.."},
			wantErr: `tar entry ".wh..": whiteout deletes "."`,
		},
		{
			name:    "whiteout of nothing",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "a/.wh."},
			wantErr: `tar entry "a/.wh.": whiteout deletes ""`,
		},
		{
			name:    "huge size",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "big", Size: 1 << 41},
			wantErr: `tar entry "big": size 2199023255552 out of range`,
		},
		{
			name:    "negative size",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "neg", Size: -1},
			wantErr: `tar entry "neg": size -1 out of range`,
		},
		{
			name:    "owner out of range",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "f", Uid: 1 << 32},
			wantErr: `tar entry "f": owner 4294967296:0 out of range`,
		},
		{
			name:    "unsupported type",
			hdr:     tar.Header{Typeflag: 'Z', Name: "z"},
			wantErr: `tar entry "z": unsupported entry type 'Z'`,
		},
		{
			name:    "NUL in name",
			hdr:     tar.Header{Typeflag: tar.TypeReg, Name: "a\x00b"},
			wantErr: "name contains a NUL byte",
		},
		{
			name: "global header",
			hdr:  tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "../pax_global_header"},
			want: entry{kind: kindSkip},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkEntry(&tt.hdr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("checkEntry(%q) error = %v, want one containing %q",
						tt.hdr.Name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkEntry(%q) error = %v", tt.hdr.Name, err)
			}
			got.hdr = nil
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(entry{})); diff != "" {
				t.Errorf("checkEntry(%q) mismatch (-want +got):\n%s", tt.hdr.Name, diff)
			}
		})
	}
}
