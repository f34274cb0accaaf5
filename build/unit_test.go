package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/build/dockerfile"
)

func TestCacheKey(t *testing.T) {
	base := cacheKey{parent: "sha256:aa", step: "RUN /bin/sh -c make",
		args: []string{"A=1", "B=2"}}
	same := base
	same.args = []string{"B=2", "A=1"}
	if base.String() != same.String() {
		t.Error("the order of the build arguments changed the key")
	}
	for name, change := range map[string]func(k *cacheKey){
		"parent":  func(k *cacheKey) { k.parent = "sha256:bb" },
		"scratch": func(k *cacheKey) { k.parent = "" },
		"step":    func(k *cacheKey) { k.step = "RUN /bin/sh -c make install" },
		"args":    func(k *cacheKey) { k.args = []string{"A=1", "B=3"} },
		"sources": func(k *cacheKey) { k.sources = "sha256:cc" },
		"epoch":   func(k *cacheKey) { k.epoch = 1 },
	} {
		k := base
		change(&k)
		if k.String() == base.String() {
			t.Errorf("a different %s gave the same key", name)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 512: "512B", 2048: "2.048kB", 3072: "3.072kB", 1991000: "1.991MB",
		123456789: "123.5MB",
	} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTreeMatch(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"a.txt": "a", "b.txt": "b", "dir/c.txt": "c", "dir/sub/d.txt": "d",
		"secret.txt": "s", ".dockerignore": "secret.txt\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A link that points out of the context leads nowhere inside it.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("dir/c.txt", filepath.Join(dir, "inside")); err != nil {
		t.Fatal(err)
	}
	ctx, err := openContext(dir)
	if err != nil {
		t.Fatal(err)
	}

	const notFound = "file not found in build context or excluded by .dockerignore: "
	tests := []struct {
		src     string
		want    []string
		wantErr string
	}{
		{"a.txt", []string{"a.txt"}, ""},
		{"/a.txt", []string{"a.txt"}, ""},
		{"./dir/../a.txt", []string{"a.txt"}, ""},
		{"*.txt", []string{"a.txt", "b.txt"}, ""},
		{"dir/*", []string{"dir/c.txt", "dir/sub"}, ""},
		{"*/c.txt", []string{"dir/c.txt"}, ""},
		{".", []string{""}, ""},
		{"inside", []string{"inside"}, ""},
		{"secret.txt", nil, notFound + "secret.txt"},
		{"nope", nil, notFound + "nope"},
		{"escape", nil, notFound + "escape"},
		{"../x", nil, "forbidden path outside the build context: ../x"},
		{"*.go", nil, "no source files were specified: nothing in the build context matches *.go"},
	}
	for _, tt := range tests {
		found, err := ctx.match(tt.src)
		var got []string
		for _, f := range found {
			got = append(got, f.rel)
		}
		if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) ||
			!cmp.Equal(got, tt.want) {
			t.Errorf("match(%q) = %q, %v, want %q, %q", tt.src, got, err, tt.want, tt.wantErr)
		}
	}

	// The link's target is what is copied, and the target is inside.
	found, err := ctx.match("inside")
	if err != nil || found[0].host != filepath.Join(ctx.root, "dir/c.txt") {
		t.Errorf("match(inside) resolves to %v, %v", found, err)
	}
}

func TestRunArgs(t *testing.T) {
	parse := func(src string) *dockerfile.Instruction {
		df, err := dockerfile.Parse(strings.NewReader("FROM x\n"+src), "Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		return df.Stages[0].Instructions[0]
	}
	tests := []struct {
		src   string
		shell []string
		want  []string
	}{
		{"RUN make all", nil, []string{"/bin/sh", "-c", "make all"}},
		{`RUN ["make", "all"]`, nil, []string{"make", "all"}},
		{"RUN make", []string{"/bin/bash", "-exc"}, []string{"/bin/bash", "-exc", "make"}},
		{"RUN <<EOF\necho a\necho b\nEOF", nil, []string{"/bin/sh", "-c", "echo a\necho b\n"}},
		{"RUN cat <<EOF > /f\nx\nEOF", nil, []string{"/bin/sh", "-c", "cat <<EOF > /f\nx\nEOF"}},
		{"RUN cat <<-A <<B\n\tx\n\tA\ny\nB", nil,
			[]string{"/bin/sh", "-c", "cat <<-A <<B\nx\nA\ny\nB"}},
	}
	for _, tt := range tests {
		cfg := &runConfig{Shell: tt.shell}
		if got := runArgs(cfg, parse(tt.src)); !cmp.Equal(got, tt.want) {
			t.Errorf("runArgs(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestArgsPrefix(t *testing.T) {
	st := &stageState{args: []argValue{{"A", "1", true}, {"UNSET", "", false}, {"B", "x y", true}}}
	if got, want := argsPrefix(st), "|2 A=1 B=x y "; got != want {
		t.Errorf("argsPrefix() = %q, want %q", got, want)
	}
	if got := argsPrefix(&stageState{}); got != "" {
		t.Errorf("argsPrefix() without ARGs = %q, want none", got)
	}
}
