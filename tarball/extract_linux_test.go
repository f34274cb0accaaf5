package tarball

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// TestExtractHostile feeds Extract layers built to write outside the layer
// directory. Each must be refused with an error naming the entry, or
// contained inside the layer.
func TestExtractHostile(t *testing.T) {
	// A name that must never appear outside the layer.
	escape := "skiff-tarball-escape-" + strconv.Itoa(os.Getpid())

	tests := []struct {
		name    string
		entries []tarEntry
		// wantErr is a substring of the error, naming the refused entry.
		wantErr string
		// want is the layer's tree when there is no error.
		want map[string]string
	}{
		{
			name:    "dotdot name",
			entries: []tarEntry{fileEntry("../"+escape, "x")},
			wantErr: fmt.Sprintf("tar entry %q: path escapes the layer", "../"+escape),
		},
		{
			name:    "dotdot after a directory",
			entries: []tarEntry{fileEntry("a/../../"+escape, "x")},
			wantErr: fmt.Sprintf("tar entry %q: path escapes the layer", "a/../../"+escape),
		},
		{
			name:    "absolute name is inside the layer",
			entries: []tarEntry{fileEntry("/"+escape, "x")},
			want:    map[string]string{escape: `file 0644 "x"`},
		},
		{
			name: "absolute symlink resolves inside the layer",
			entries: []tarEntry{
				dirEntry("etc/"),
				symlinkEntry("link", "/etc"),
				fileEntry("link/"+escape, "x"),
			},
			want: map[string]string{
				"etc":           "dir 0755",
				"etc/" + escape: `file 0644 "x"`,
				"link":          "symlink -> /etc",
			},
		},
		{
			name: "absolute symlink to a directory the layer lacks",
			entries: []tarEntry{
				symlinkEntry("link", "/etc"),
				fileEntry("link/"+escape, "x"),
			},
			wantErr: fmt.Sprintf("tar entry %q: openat2 link: no such file", "link/"+escape),
		},
		{
			name: "symlink to itself through the root",
			entries: []tarEntry{
				symlinkEntry("etc", "/etc"),
				fileEntry("etc/"+escape, "x"),
			},
			wantErr: fmt.Sprintf("tar entry %q: openat2 etc: too many levels", "etc/"+escape),
		},
		{
			name: "relative symlink climbing out stops at the root",
			entries: []tarEntry{
				symlinkEntry("up", "../../../../../.."),
				fileEntry("up/"+escape, "x"),
			},
			want: map[string]string{
				"up":   "symlink -> ../../../../../..",
				escape: `file 0644 "x"`,
			},
		},
		{
			name:    "hard link climbing out",
			entries: []tarEntry{hardlinkEntry("h", "../../etc/passwd")},
			wantErr: `tar entry "h": link target "../../etc/passwd": path escapes the layer`,
		},
		{
			name: "hard link to a symlink pointing out links the symlink",
			entries: []tarEntry{
				symlinkEntry("s", "../sentinel"),
				hardlinkEntry("h", "s"),
			},
			want: map[string]string{
				"s": "symlink -> ../sentinel",
				"h": "symlink -> ../sentinel",
			},
		},
		{
			name: "hard link through a symlinked directory",
			entries: []tarEntry{
				symlinkEntry("d", ".."),
				hardlinkEntry("h", "d/sentinel"),
			},
			wantErr: `tar entry "h": linkat h: no such file or directory`,
		},
		{
			name: "directory replaced by a symlink, then written through",
			entries: []tarEntry{
				dirEntry("d/"),
				fileEntry("d/f", "1"),
				symlinkEntry("d", "../.."),
				fileEntry("d/"+escape, "x"),
			},
			want: map[string]string{
				"d":    "symlink -> ../..",
				escape: `file 0644 "x"`,
			},
		},
		{
			name: "symlink loop",
			entries: []tarEntry{
				symlinkEntry("loop", "loop"),
				fileEntry("loop/x", "x"),
			},
			wantErr: `tar entry "loop/x": openat2 loop: too many levels of symbolic links`,
		},
		{
			name: "file below a file",
			entries: []tarEntry{
				fileEntry("f", "1"),
				fileEntry("f/g", "2"),
			},
			wantErr: `tar entry "f/g": openat2 f: not a directory`,
		},
		{
			name: "whiteout of the parent directory",
			entries: []tarEntry{
				dirEntry("a/"),
				fileEntry("a/.wh...", ""),
			},
			wantErr: `tar entry "a/.wh...": whiteout deletes ".."`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t)
			layer := buildTar(t, tt.entries...)
			_, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{})
			sb.checkContained(t, escape)

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Extract() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, listTree(t, sb.dir, false)); diff != "" {
				t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractBadStreams checks that broken headers and compressed streams
// are errors, even when the damage is after the tar's end.
func TestExtractBadStreams(t *testing.T) {
	layer := buildTar(t, fileEntry("a", strings.Repeat("abc", 10000)), fileEntry("b", "b"))
	gz := compress(t, layer, Gzip)
	zst := compress(t, layer, Zstd)

	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{
			name:    "huge size",
			in:      hugeFileTar(t),
			wantErr: `tar entry "huge": size 2199023255552 out of range`,
		},
		{
			name:    "negative size",
			in:      negativeSizeTar(t),
			wantErr: "read first tar header: archive/tar: invalid tar header",
		},
		{
			name:    "truncated tar",
			in:      layer[:700],
			wantErr: `tar entry "a": read content: unexpected EOF`,
		},
		{name: "truncated gzip", in: gz[:len(gz)/2], wantErr: "unexpected EOF"},
		{name: "corrupt gzip", in: flipByte(gz, len(gz)/2), wantErr: "read first tar header"},
		{
			name:    "gzip checksum after the tar's end",
			in:      flipByte(gz, len(gz)-6),
			wantErr: "read layer stream after the tar's end: gzip: invalid checksum",
		},
		{name: "truncated zstd", in: zst[:len(zst)-8], wantErr: "unexpected EOF"},
		{name: "junk", in: bytes.Repeat([]byte("no tar "), 99), wantErr: "read first tar header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t)
			_, err := Extract(bytes.NewReader(tt.in), sb.dir, ExtractOptions{})
			sb.checkContained(t, "")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Extract() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// hugeFileTar returns the header of a 2 TiB file and no content.
func hugeFileTar(t testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: "huge", Size: 1 << 41, Mode: 0o644}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), make([]byte, 1024)...)
}

// negativeSizeTar returns a tar whose one header has the size -1, in the
// base-256 encoding of GNU tar, with a correct checksum.
func negativeSizeTar(t testing.TB) []byte {
	layer := buildTar(t, fileEntry("neg", ""))
	hdr := layer[:512]
	for i := 124; i < 136; i++ {
		hdr[i] = 0xff
	}
	copy(hdr[148:156], "        ")
	sum := 0
	for _, b := range hdr {
		sum += int(b)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return layer
}

// TestExtractReplaces checks how a later entry replaces an earlier one with
// the same name, as when a tar repeats a name.
func TestExtractReplaces(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		want    map[string]string
	}{
		{
			name:    "file over file",
			entries: []tarEntry{fileEntry("f", "one"), fileEntry("f", "two")},
			want:    map[string]string{"f": `file 0644 "two"`},
		},
		{
			name: "directory over directory keeps its content",
			entries: []tarEntry{
				dirEntry("d/"),
				fileEntry("d/a", "a"),
				withMode(dirEntry("d/"), 0o700),
			},
			want: map[string]string{"d": "dir 0700", "d/a": `file 0644 "a"`},
		},
		{
			name: "file over directory",
			entries: []tarEntry{
				dirEntry("d/"),
				dirEntry("d/e/"),
				fileEntry("d/e/a", "a"),
				fileEntry("d", "x"),
			},
			want: map[string]string{"d": `file 0644 "x"`},
		},
		{
			name:    "directory over symlink replaces the symlink",
			entries: []tarEntry{symlinkEntry("d", "/"), dirEntry("d/"), fileEntry("d/a", "a")},
			want:    map[string]string{"d": "dir 0755", "d/a": `file 0644 "a"`},
		},
		{
			name:    "symlink over file",
			entries: []tarEntry{fileEntry("l", "x"), symlinkEntry("l", "target")},
			want:    map[string]string{"l": "symlink -> target"},
		},
		{
			name:    "hard link over its own name",
			entries: []tarEntry{fileEntry("f", "x"), hardlinkEntry("f", "f")},
			want:    map[string]string{"f": `file 0644 "x"`},
		},
		{
			name:    "missing parents are created",
			entries: []tarEntry{fileEntry("a/b/c", "x")},
			want: map[string]string{
				"a":     "dir 0755",
				"a/b":   "dir 0755",
				"a/b/c": `file 0644 "x"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t)
			layer := buildTar(t, tt.entries...)
			if _, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{}); err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			sb.checkContained(t, "")
			if diff := cmp.Diff(tt.want, listTree(t, sb.dir, false)); diff != "" {
				t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractMetadata checks modes and times, which need no root.
func TestExtractMetadata(t *testing.T) {
	atime := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	withAtime := fileEntry("atime", "x")
	withAtime.hdr.AccessTime = atime
	withAtime.hdr.Format = tar.FormatPAX

	layer := buildTar(t,
		withMode(dirEntry("ro/"), 0o555),
		withMode(fileEntry("ro/file", "x"), 0o444),
		withMode(dirEntry("tmp/"), 0o1777),
		withMode(fileEntry("setuid", "x"), 0o4755),
		withMode(fileEntry("none", "x"), 0o000),
		withMode(fileEntry("group-write", "x"), 0o664),
		symlinkEntry("link", "setuid"),
		withAtime,
	)
	sb := newSandbox(t)
	if _, err := Extract(bytes.NewReader(layer), sb.dir, ExtractOptions{}); err != nil {
		t.Fatalf("Extract() error = %v", err)
	}

	// Every mtime and atime is the header's, directories' included though
	// files were written into them after they were made. They are checked
	// before listTree reads the files, which would update the atimes.
	for _, name := range []string{"ro", "ro/file", "tmp", "setuid", "link", "atime"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(sb.dir, name), &st); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(testTime) {
			t.Errorf("mtime of %s = %v, want %v", name, got, testTime)
		}
		wantAtime := testTime
		if name == "atime" {
			wantAtime = atime
		}
		if got := time.Unix(st.Atim.Unix()); !got.Equal(wantAtime) {
			t.Errorf("atime of %s = %v, want %v", name, got, wantAtime)
		}
	}

	want := map[string]string{
		"ro":          "dir 0555",
		"ro/file":     `file 0444 "x"`,
		"tmp":         "dir 1777",
		"setuid":      `file 4755 "x"`,
		"none":        `file 0000 "x"`,
		"group-write": `file 0664 "x"`,
		"link":        "symlink -> setuid",
		"atime":       `file 0644 "x"`,
	}
	if diff := cmp.Diff(want, listTree(t, sb.dir, false)); diff != "" {
		t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
	}
}

// TestExtractResult checks the diffID and sizes for each compression, on
// a layer larger than the parser's batches, with trailing bytes after the
// tar's end that the diffID must cover.
func TestExtractResult(t *testing.T) {
	var entries []tarEntry
	var contentSize int64
	for i := range 1500 {
		data := strings.Repeat(strconv.Itoa(i), i%50)
		entries = append(entries, fileEntry(fmt.Sprintf("d%02d/f%04d", i%7, i), data))
		contentSize += int64(len(data))
	}
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB, across batches
	entries = append(entries, fileEntry("big", big), fileEntry("empty", ""))
	contentSize += int64(len(big))

	layer := append(buildTar(t, entries...), bytes.Repeat([]byte("trailing"), 1000)...)
	want := ExtractResult{
		DiffID:      digest.NewDigestFromBytes(digest.SHA256, sha256Sum(layer)),
		TarSize:     int64(len(layer)),
		ContentSize: contentSize,
	}

	for _, c := range []Compression{Uncompressed, Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			sb := newSandbox(t)
			got, err := Extract(bytes.NewReader(compress(t, layer, c)), sb.dir, ExtractOptions{})
			if err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Extract() result mismatch (-want +got):\n%s", diff)
			}

			tree := listTree(t, sb.dir, false)
			if got := len(tree); got != 1500+7+2 {
				t.Errorf("Extract() made %d paths, want %d", got, 1500+7+2)
			}
			data, err := os.ReadFile(filepath.Join(sb.dir, "big"))
			if err != nil || string(data) != big {
				t.Errorf("big file: %d bytes, error %v; want %d bytes", len(data), err, len(big))
			}
			want := fmt.Sprintf("file 0644 %q", strings.Repeat("1499", 1499%50))
			if got := tree["d01/f1499"]; got != want {
				t.Errorf("d01/f1499 = %s, want %s", got, want)
			}
		})
	}
}

func sha256Sum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// TestExtractNotADirectory checks the errors for a bad target.
func TestExtractNotADirectory(t *testing.T) {
	sb := newSandbox(t)
	_, err := Extract(bytes.NewReader(nil), sb.sentinel, ExtractOptions{})
	want := fmt.Sprintf("open layer directory %q", sb.sentinel)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Extract(into a file) error = %v, want one containing %q", err, want)
	}
}

func TestSync(t *testing.T) {
	dir := t.TempDir()
	if err := Sync(dir); err != nil {
		t.Errorf("Sync(%q) = %v", dir, err)
	}
	missing := filepath.Join(dir, "missing")
	if err := Sync(missing); err == nil {
		t.Errorf("Sync(%q) = nil, want an error", missing)
	}
}

// TestExtractWithoutRoot checks what Extract does when it runs without
// root, whoever runs the test.
func TestExtractWithoutRoot(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		wantErr string
		want    map[string]string
	}{
		{
			name:    "device",
			entries: []tarEntry{device(tar.TypeChar, "null", 0o666, 1, 3)},
			wantErr: `tar entry "null": needs root: mknod(2) of a device requires CAP_MKNOD`,
		},
		{
			name:    "whiteout",
			entries: []tarEntry{fileEntry(".wh.gone", "")},
			wantErr: `tar entry ".wh.gone": store whiteout as a character device: needs root`,
		},
		{
			name:    "fifo needs no root",
			entries: []tarEntry{device(tar.TypeFifo, "fifo", 0o640, 0, 0)},
			want:    map[string]string{"fifo": "fifo 0640 " + currentOwner()},
		},
		{
			name:    "owners are ignored",
			entries: []tarEntry{owned(fileEntry("f", ""), 1234, 0)},
			want:    map[string]string{"f": `file 0644 "" ` + currentOwner()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t)
			_, err := extractAsUser(t, buildTar(t, tt.entries...), sb.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Extract() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, listTree(t, sb.dir, true)); diff != "" {
				t.Errorf("Extract() tree mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// currentOwner is "uid:gid" of this process, as describe prints it.
func currentOwner() string {
	return fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid())
}
