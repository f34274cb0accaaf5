package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
)

// testID makes a well-formed image ID whose hex starts with prefix.
func testID(prefix string) digest.Digest {
	hex := prefix
	for len(hex) < 64 {
		hex += "0"
	}
	return digest.Digest("sha256:" + hex)
}

func TestVisibleImages(t *testing.T) {
	baseTags := []image.Reference{{Path: "library/base", Tag: "1"}}
	base := &image.Image{ID: testID("b"), Tags: baseTags}
	step := &image.Image{ID: testID("5"), Parent: base.ID}
	app := &image.Image{ID: testID("a"), Parent: step.ID, Tags: []image.Reference{{Tag: "v1"}}}
	dangling := &image.Image{ID: testID("d")}
	all := []*image.Image{app, step, dangling, base}

	ids := func(imgs []*image.Image) []digest.Digest {
		var out []digest.Digest
		for _, img := range imgs {
			out = append(out, img.ID)
		}
		return out
	}
	tests := []struct {
		name string
		all  bool
		want []digest.Digest
	}{
		{"hides untagged parents", false, []digest.Digest{app.ID, dangling.ID, base.ID}},
		{"all shows intermediate images", true,
			[]digest.Digest{app.ID, step.ID, dangling.ID, base.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(visibleImages(all, tt.all))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("visibleImages(all=%v) mismatch (-want +got):\n%s", tt.all, diff)
			}
		})
	}
}

func TestImagesTable(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-3 * 7 * 24 * time.Hour)
	img := &image.Image{
		ID:     testID("3f57d9401f8d"),
		Digest: testID("beef"),
		Size:   4264175,
		Config: ocispec.Image{Created: &created},
	}
	rows := []imageRow{{img: img, repo: "busybox", tag: "latest"}, {img: img}}
	manifest := img.Digest.String()

	tests := []struct {
		name string
		opts imagesOptions
		want [][]string
	}{
		{
			name: "default columns",
			want: [][]string{
				{"busybox", "latest", "3f57d9401f8d", "3 weeks ago", "4.26MB"},
				{"<none>", "<none>", "3f57d9401f8d", "3 weeks ago", "4.26MB"},
			},
		},
		{
			name: "digests and full IDs",
			opts: imagesOptions{digests: true, noTrunc: true},
			want: [][]string{
				{"busybox", "latest", manifest, img.ID.String(), "3 weeks ago", "4.26MB"},
				{"<none>", "<none>", manifest, img.ID.String(), "3 weeks ago", "4.26MB"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := imagesTable(rows, tt.opts, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("imagesTable(%+v) mismatch (-want +got):\n%s", tt.opts, diff)
			}
		})
	}
}

func TestHistoryTable(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	longStep := "/bin/sh -c apt-get update && apt-get install -y busybox-static"
	entries := []image.HistoryEntry{
		{ID: testID("abc"), Created: now.Add(-2 * time.Hour), CreatedBy: "CMD [\"sh\"]",
			EmptyLayer: true},
		{Created: now.Add(-2 * time.Hour), CreatedBy: longStep, Size: 1240},
		{Created: now.Add(-2 * time.Hour), CreatedBy: "line one\n\tline two",
			Size: 0, Comment: "Imported from -"},
	}

	tests := []struct {
		name string
		opts historyOptions
		want [][]string
	}{
		{
			name: "human and truncated",
			opts: historyOptions{human: true},
			want: [][]string{
				{"abc000000000", "2 hours ago", `CMD ["sh"]`, "0B", ""},
				{"<missing>", "2 hours ago", "/bin/sh -c apt-get update && apt-get install…",
					"1.24kB", ""},
				{"<missing>", "2 hours ago", "line one  line two", "0B", "Imported from -"},
			},
		},
		{
			name: "raw and whole",
			opts: historyOptions{noTrunc: true},
			want: [][]string{
				{testID("abc").String(), "2024-05-01T10:00:00Z", `CMD ["sh"]`, "0", ""},
				{"<missing>", "2024-05-01T10:00:00Z", longStep, "1240", ""},
				{"<missing>", "2024-05-01T10:00:00Z", "line one  line two", "0",
					"Imported from -"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := historyTable(entries, tt.opts, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("historyTable(%+v) mismatch (-want +got):\n%s", tt.opts, diff)
			}
		})
	}
}

func TestArgRule(t *testing.T) {
	tests := []struct {
		name string
		rule argRule
		n    int
		want string
	}{
		{"none allowed", argRule{0, 0}, 1, `"skiff x" accepts no arguments`},
		{"exactly two", argRule{2, 2}, 1, `"skiff x" requires exactly 2 arguments`},
		{"at least one", argRule{1, -1}, 0, `"skiff x" requires at least 1 argument`},
		{"at most one", argRule{0, 1}, 2, `"skiff x" requires at most 1 argument`},
		{"within range", argRule{1, 2}, 2, ""},
		{"no upper limit", argRule{1, -1}, 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := tt.rule.check("skiff x", tt.n); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("%+v.check(%d) = %q, want %q", tt.rule, tt.n, got, tt.want)
			}
		})
	}
}
