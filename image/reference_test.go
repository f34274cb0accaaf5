package image

import "testing"

func TestParseReference(t *testing.T) {
	tests := []struct {
		raw, full, familiar string
	}{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"user/app", "docker.io/user/app:latest", "user/app:latest"},
		{"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"},
		{"ghcr.io/o/r", "ghcr.io/o/r:latest", "ghcr.io/o/r:latest"},
		{
			"busybox@sha256:" + hex64,
			"docker.io/library/busybox@sha256:" + hex64,
			"busybox@sha256:" + hex64,
		},
		{"a_b.c-d__e", "docker.io/library/a_b.c-d__e:latest", "a_b.c-d__e:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			ref, err := ParseReference(tt.raw)
			if err != nil {
				t.Fatalf("ParseReference(%q) error: %v", tt.raw, err)
			}
			if got := ref.String(); got != tt.full {
				t.Errorf("ParseReference(%q).String() = %q, want %q", tt.raw, got, tt.full)
			}
			if got := ref.FamiliarString(); got != tt.familiar {
				t.Errorf("ParseReference(%q).FamiliarString() = %q, want %q", tt.raw, got, tt.familiar)
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseReferenceRejects(t *testing.T) {
	for _, raw := range []string{
		"", "Busybox", "busybox:", "busybox:-x", "a//b", "a/", "/a", "busybox@sha256:123",
		"bad host/x", "a:b:c", "UPPER.io/x/Y", "foo@", ":tag",
	} {
		if ref, err := ParseReference(raw); err == nil {
			t.Errorf("ParseReference(%q) = %v, want an error", raw, ref)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"busybox", "a/b:c", "h:5000/x@sha256:" + hex64} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ref, err := ParseReference(raw)
		if err != nil {
			return
		}
		// A normalized reference parses back to itself.
		again, err := ParseReference(ref.String())
		if err != nil || again != ref {
			t.Fatalf("ParseReference(%q) = %v, then %v, %v", raw, ref, again, err)
		}
	})
}
