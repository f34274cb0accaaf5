package overlay

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChangeString(t *testing.T) {
	tests := []struct {
		name   string
		change Change
		want   string
	}{
		{"added", Change{Added, "/etc/new"}, "A /etc/new"},
		{"modified", Change{Modified, "/etc"}, "C /etc"},
		{"deleted", Change{Deleted, "/bin/old"}, "D /bin/old"},
		{"unknown kind", Change{ChangeKind(9), "/x"}, "ChangeKind(9) /x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.change.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.change, got, tt.want)
			}
		})
	}
}

func TestSortChanges(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{
			name:  "directory before its entries",
			paths: []string{"/etc/passwd", "/etc", "/bin/old", "/bin"},
			want:  []string{"/bin", "/bin/old", "/etc", "/etc/passwd"},
		},
		{
			name:  "entries stay together after their directory",
			paths: []string{"/etc-old", "/etc/x", "/etc", "/etc.d"},
			want:  []string{"/etc", "/etc/x", "/etc-old", "/etc.d"},
		},
		{
			name:  "prefix first",
			paths: []string{"/ab", "/a", "/a/b/c", "/a/b"},
			want:  []string{"/a", "/a/b", "/a/b/c", "/ab"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := make([]Change, len(tt.paths))
			for i, p := range tt.paths {
				changes[i] = Change{Modified, p}
			}
			sortChanges(changes)
			got := make([]string, len(changes))
			for i, c := range changes {
				got[i] = c.Path
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sortChanges(%q) mismatch (-want +got):\n%s", tt.paths, diff)
			}
		})
	}
}
