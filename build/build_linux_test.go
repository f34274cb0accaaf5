package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/image"
)

// tutorial is the example of the tutorial skiff follows, on busybox: four
// steps, two of them RUN.
var tutorial = map[string]string{
	"Dockerfile": "FROM busybox\n" +
		"RUN mkdir -p /var/log && echo 'apt-get update' > /var/log/apt.log\n" +
		"RUN mkdir -p /var/www/html && echo apache2 > /var/www/html/installed\n" +
		"COPY index.html /var/www/html/index.html\n",
	"index.html": "<h1>hello</h1>\n",
}

func TestTutorialBuildTwice(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, tutorial)

	first, out := f.mustBuild(t, dir, Options{Tags: []string{"busybox-web"}})
	for _, want := range []string{
		"Sending build context to skiff  3.072kB\n",
		"Step 1/4 : FROM busybox\n ---> " + f.busybox.ShortID() + "\n",
		"Step 2/4 : RUN mkdir -p /var/log && echo 'apt-get update' > /var/log/apt.log\n" +
			" ---> Running in ",
		"Step 4/4 : COPY index.html /var/www/html/index.html\n",
		"Removing intermediate container ",
		"Successfully built " + first.ShortID() + "\nSuccessfully tagged busybox-web:latest\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first build output lacks %q:\n%s", want, out)
		}
	}
	if got := f.run(t, first, "cat", "/var/www/html/index.html", "/var/log/apt.log"); got !=
		"<h1>hello</h1>\napt-get update\n" {
		t.Errorf("files of the image = %q", got)
	}

	second, out := f.mustBuild(t, dir, Options{Tags: []string{"busybox-web"}})
	if want := []bool{false, true, true, true}; !cmp.Equal(cachedSteps(out), want) {
		t.Errorf("second build: steps from the cache = %v, want %v:\n%s",
			cachedSteps(out), want, out)
	}
	if second.ID != first.ID {
		t.Errorf("second build made %s, want the same image %s", second.ShortID(), first.ShortID())
	}

	// The intermediate images are in the store, one per step, each the
	// parent of the next: what images -a lists.
	var chain []digest.Digest
	images, err := f.images.Images()
	if err != nil {
		t.Fatal(err)
	}
	for id := second.ID; id != ""; id = findParent(images, id) {
		chain = append(chain, id)
	}
	if len(chain) != 4 || chain[3] != f.busybox.ID || len(images) != 4 {
		t.Errorf("image chain = %v (of %d images), want final, 2 intermediates, busybox",
			chain, len(images))
	}
	if layers := len(second.Config.RootFS.DiffIDs); layers != 4 {
		t.Errorf("image has %d layers, want busybox's and 3 more", layers)
	}

	// rmi of the image removes the intermediates only it needed.
	deleted, err := f.images.Remove("busybox-web", false)
	if err != nil {
		t.Fatal(err)
	}
	gone := 0
	for _, d := range deleted {
		if slicesContains(chain[:3], d.Deleted) {
			gone++
		}
	}
	if gone != 3 {
		t.Errorf("rmi busybox-web deleted %+v, want the image and its 2 intermediates", deleted)
	}
}

func findParent(images []*image.Image, id digest.Digest) digest.Digest {
	for _, img := range images {
		if img.ID == id {
			return img.Parent
		}
	}
	return ""
}

func slicesContains(list []digest.Digest, d digest.Digest) bool {
	for _, x := range list {
		if x == d {
			return true
		}
	}
	return false
}

// TestCacheRules proves each rule of the cache key: what busts it, what
// does not, and that the first miss rebuilds every step after it.
func TestCacheRules(t *testing.T) {
	base := map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo one > /one\nARG V=1\nRUN echo $V > /v\n" +
			"COPY a.txt /a.txt\nCOPY b.txt /b.txt\n",
		"a.txt": "a\n", "b.txt": "b\n",
	}
	// A change happens between the two builds of a case.
	type change = func(t *testing.T, f *fixture, dir string, opts *Options)
	editB := func(t *testing.T, _ *fixture, dir string, _ *Options) {
		write(t, dir, "b.txt", "B\n")
	}
	editA := func(t *testing.T, _ *fixture, dir string, _ *Options) {
		write(t, dir, "a.txt", "A\n")
	}
	touchA := func(t *testing.T, _ *fixture, dir string, _ *Options) {
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(filepath.Join(dir, "a.txt"), later, later); err != nil {
			t.Fatal(err)
		}
	}
	chmodB := func(t *testing.T, _ *fixture, dir string, _ *Options) {
		if err := os.Chmod(filepath.Join(dir, "b.txt"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	editRun := func(t *testing.T, _ *fixture, _ string, o *Options) {
		o.Dockerfile = []byte(strings.Replace(base["Dockerfile"], "echo one", "echo two", 1))
	}
	newArg := func(t *testing.T, _ *fixture, _ string, o *Options) {
		o.BuildArgs = map[string]string{"V": "2"}
	}
	noCache := func(t *testing.T, _ *fixture, _ string, o *Options) { o.NoCache = true }
	removeImages := func(t *testing.T, f *fixture, _ string, _ *Options) {
		if _, err := f.images.Remove("cache:test", false); err != nil {
			t.Fatal(err)
		}
	}

	all := []bool{false, true, true, true, true, true}
	none := []bool{false, false, false, false, false, false}
	tests := []struct {
		name   string
		change change
		// want tells for each step (FROM first) whether the cache has it.
		want []bool
	}{
		{"nothing changed", nil, all},
		{"a file only the last COPY reads", editB, []bool{false, true, true, true, true, false}},
		{"a file the first COPY reads: every step after it runs again", editA,
			[]bool{false, true, true, true, false, false}},
		{"a new modification time is not a change", touchA, all},
		{"a new mode is", chmodB, []bool{false, true, true, true, true, false}},
		{"another instruction", editRun, none},
		{"another build argument", newArg, []bool{false, true, false, false, false, false}},
		{"--no-cache", noCache, none},
		{"the cached images were removed", removeImages, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			dir := writeContext(t, base)
			first, _ := f.mustBuild(t, dir, Options{Tags: []string{"cache:test"}})

			opts := Options{Tags: []string{"cache:test"}}
			if tt.change != nil {
				tt.change(t, f, dir, &opts)
			}
			second, out := f.mustBuild(t, dir, opts)
			if got := cachedSteps(out); !cmp.Equal(got, tt.want) {
				t.Errorf("steps from the cache = %v, want %v:\n%s", got, tt.want, out)
			}
			allCached := !slicesContainsBool(tt.want[1:], false)
			if (second.ID == first.ID) != allCached {
				t.Errorf("second image %s, first %s: same = %t, want %t",
					second.ShortID(), first.ShortID(), second.ID == first.ID, allCached)
			}
		})
	}
}

func slicesContainsBool(list []bool, b bool) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDockerignoredFilesDoNotBustTheCache(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile":    "FROM busybox\nCOPY . /ctx/\n",
		".dockerignore": "*.log\nbuild/\n!build/keep\n",
		"app.txt":       "app\n", "debug.log": "1\n", "build/out": "x\n", "build/keep": "k\n",
	})
	img, _ := f.mustBuild(t, dir, Options{})
	got := f.run(t, img, "find", "/ctx", "-type", "f")
	want := "/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/app.txt\n/ctx/build/keep\n"
	if sortLines(got) != want {
		t.Errorf("files copied = %q, want %q", sortLines(got), want)
	}

	write(t, dir, "debug.log", "2\n")
	write(t, dir, "build/out", "y\n")
	_, out := f.mustBuild(t, dir, Options{})
	if got := cachedSteps(out); !cmp.Equal(got, []bool{false, true}) {
		t.Errorf("after editing ignored files, steps from the cache = %v, want [false true]", got)
	}
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		for j := i + 1; j < len(lines); j++ {
			if lines[j] < lines[i] {
				lines[i], lines[j] = lines[j], lines[i]
			}
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestFailingRun(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN touch /done\nRUN echo about to fail; exit 3\n" +
			"RUN touch /never\n",
	})
	layersBefore := f.dirEntries(t, "layers")

	_, out, err := f.build(t, dir, Options{Tags: []string{"fail:1"}})
	var exit *ExitError
	var stepErr *StepError
	if !errors.As(err, &exit) || exit.Code != 3 || !errors.As(err, &stepErr) || stepErr.Line != 3 {
		t.Fatalf("Build() error = %v, want an ExitError with code 3 at line 3", err)
	}
	want := "Dockerfile:3: The command '/bin/sh -c echo about to fail; exit 3' " +
		"returned a non-zero code: 3"
	if err.Error() != want {
		t.Errorf("Build() error = %q, want %q", err, want)
	}
	if !strings.Contains(out, "about to fail\n") || strings.Contains(out, "Step 4/4") {
		t.Errorf("output should show the step's output and stop there:\n%s", out)
	}

	// Nothing tagged, no container, no layer of the failed step (only the
	// first RUN's), no mount left.
	if _, err := f.images.Lookup("fail:1"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("Lookup(fail:1) error = %v, want ErrNotFound", err)
	}
	if cs, _ := f.containers.List(true); len(cs) != 0 {
		t.Errorf("%d containers left behind", len(cs))
	}
	if got := f.dirEntries(t, "layers"); got != layersBefore+1 {
		t.Errorf("layers: %d before, %d after, want one more (the first RUN's)", layersBefore, got)
	}
	if n := f.dirEntries(t, cacheDir, "mnt") + f.dirEntries(t, cacheDir, "tmp"); n != 0 {
		t.Errorf("%d mounts or scratch directories left in %s", n, cacheDir)
	}
}

func TestInvalidDockerfileRunsNothing(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN touch /ran\nCOPY onlyone\nFOO bar\nEXPOSE 80/icmp\n",
	})
	imagesBefore, _ := f.images.Images()

	_, out, err := f.build(t, dir, Options{Tags: []string{"bad"}})
	var list dockerfile.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Build() error = %v, want a dockerfile.ErrorList", err)
	}
	want := "Dockerfile:3: COPY requires at least two arguments\n" +
		"Dockerfile:4: unknown instruction: FOO\n" +
		`Dockerfile:5: invalid protocol "icmp" in EXPOSE 80/icmp`
	if err.Error() != want {
		t.Errorf("Build() error =\n%s\nwant\n%s", err, want)
	}
	if out != "" {
		t.Errorf("an invalid Dockerfile printed steps:\n%s", out)
	}
	imagesAfter, _ := f.images.Images()
	if len(imagesAfter) != len(imagesBefore) || f.dirEntries(t, "containers") != 0 {
		t.Errorf("an invalid Dockerfile made images (%d → %d) or containers",
			len(imagesBefore), len(imagesAfter))
	}
}

func TestBuildErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, dockerfile, want string
	}{
		{"missing file", "FROM busybox\nCOPY nope.txt /\n",
			"Dockerfile:2: file not found in build context: nope.txt"},
		{"outside the context", "FROM busybox\nCOPY ../etc/passwd /\n",
			"Dockerfile:2: forbidden path outside the build context: ../etc/passwd"},
		{"glob without match", "FROM busybox\nCOPY *.go /src/\n",
			"Dockerfile:2: no source files were specified: " +
				"nothing in the build context matches *.go"},
		{"several files into a file", "FROM busybox\nCOPY a.txt b.txt /dst\n",
			"Dockerfile:2: COPY of several files needs a destination directory ending in /"},
		{"unknown image", "FROM nosuchimage\n",
			`Dockerfile:1: find image "nosuchimage": no such image: nosuchimage`},
		{"unknown stage", "FROM busybox\nCOPY --from=nostage /a /b\n",
			`Dockerfile:2: find image "nostage": no such image: nostage`},
		{"bad substitution", "FROM busybox\nENV A=\"${B:?must be set}\"\n",
			"Dockerfile:2: B: must be set"},
		{"run on scratch", "FROM scratch\nRUN true\n",
			"Dockerfile:2: RUN has nothing to run in: " +
				"the stage is FROM scratch and has no files yet"},
		{"unknown user", "FROM busybox\nCOPY --chown=nobody2 a.txt /\n",
			`Dockerfile:2: unable to convert --chown=nobody2: look up user "nobody2": ` +
				"no matching entries in passwd file"},
		{"bad stop signal", "FROM busybox\nARG S=SIGNOPE\nSTOPSIGNAL $S\n", "Dockerfile:3: "},
		{"command not found", "FROM busybox\nRUN [\"/nope\"]\n",
			"Dockerfile:2: The command '/nope' returned a non-zero code: 127"},
	}
	f := newFixture(t)
	dir := writeContext(t, map[string]string{"a.txt": "a", "b.txt": "b"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out, err := f.build(t, dir, Options{Dockerfile: []byte(tt.dockerfile)})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Build(%q) error = %v, want %q\n%s", tt.dockerfile, err, tt.want, out)
			}
		})
	}
	if cs, _ := f.containers.List(true); len(cs) != 0 {
		t.Errorf("%d containers left behind", len(cs))
	}
}

func TestTarget(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox AS build\nRUN echo built > /artifact\n" +
			"FROM build AS test\nRUN cat /artifact > /tested\n" +
			"FROM busybox\nRUN exit 1\n",
	})
	img, out := f.mustBuild(t, dir, Options{Target: "test"})
	if !strings.Contains(out, "Step 4/4 : RUN cat /artifact > /tested") ||
		strings.Contains(out, "exit 1") {
		t.Errorf("--target test should build two stages, four steps:\n%s", out)
	}
	if got := f.run(t, img, "cat", "/tested"); got != "built\n" {
		t.Errorf("/tested = %q, want built", got)
	}
	if _, _, err := f.build(t, dir, Options{Target: "nope"}); err == nil ||
		err.Error() != `target stage "nope" could not be found` {
		t.Errorf("Build(--target nope) error = %v", err)
	}
}

func TestMultiStage(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox AS build\nRUN mkdir /out && echo compiled > /out/app\n" +
			"FROM busybox AS other\nRUN echo other > /other\n" +
			"FROM scratch\nCOPY --from=build /out /app/\nCOPY --from=1 /other /other\n" +
			"COPY --from=busybox /bin/busybox /bin/sh\n",
	})
	img, _ := f.mustBuild(t, dir, Options{})
	if n := len(img.Config.RootFS.DiffIDs); n != 3 {
		t.Errorf("final image has %d layers, want 3 (no layer of the other stages)", n)
	}
	got := f.run(t, img, "/bin/sh", "-c", "cat /app/app /other")
	if got != "compiled\nother\n" {
		t.Errorf("files from the stages = %q", got)
	}
}

func TestScratchWithAStaticBinary(t *testing.T) {
	f := newFixture(t)
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\n" +
			"ENTRYPOINT [\"/bin/busybox\"]\nCMD [\"echo\", \"static and alone\"]\n",
		"busybox": string(bin),
	})
	if err := os.Chmod(filepath.Join(dir, "busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, _ := f.mustBuild(t, dir, Options{Tags: []string{"static"}})
	if n := len(img.Config.RootFS.DiffIDs); n != 1 || img.Parent == "" {
		t.Errorf("image has %d layers and parent %q, want one layer and a parent", n, img.Parent)
	}
	got := sortLines(f.run(t, img, "/bin/busybox", "ls", "/"))
	if got != "bin\ndev\netc\nproc\nsys\n" {
		t.Errorf("ls / = %q, want only bin and what the runtime mounts", got)
	}
	cfg := f.config(t, img)
	if !cmp.Equal(cfg.Entrypoint, []string{"/bin/busybox"}) ||
		!cmp.Equal(cfg.Cmd, []string{"echo", "static and alone"}) {
		t.Errorf("entrypoint %q, cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
}

func TestOnbuildTriggers(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{"app.txt": "app\n"})
	parent := "FROM busybox\nONBUILD COPY app.txt /app.txt\nONBUILD RUN echo triggered > /trig\n"
	f.mustBuild(t, dir, Options{Dockerfile: []byte(parent), Tags: []string{"base"}})
	child, out := f.mustBuild(t, dir, Options{Dockerfile: []byte("FROM base\nENV CHILD=1\n")})
	if !strings.Contains(out, "# Executing 2 build triggers\n") {
		t.Errorf("output lacks the triggers:\n%s", out)
	}
	if got := f.run(t, child, "cat", "/app.txt", "/trig"); got != "app\ntriggered\n" {
		t.Errorf("files made by the triggers = %q", got)
	}
	if cfg := f.config(t, child); len(cfg.OnBuild) != 0 {
		t.Errorf("child image keeps the triggers %q; Docker does not pass them on", cfg.OnBuild)
	}
}

func TestRunNetwork(t *testing.T) {
	requireRoot(t)
	inTestNetns(t)
	f := newFixture(t)
	f.network = ""
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN ls /sys/class/net > /nets\n",
	})
	tests := []struct{ network, want string }{
		{"", "eth0\nlo\n"}, // a bridge, as in Docker
		{"none", "lo\n"},
	}
	for _, tt := range tests {
		img, _ := f.mustBuild(t, dir, Options{Network: tt.network, NoCache: true})
		if got := f.run(t, img, "cat", "/nets"); got != tt.want {
			t.Errorf("with --network %q, RUN saw interfaces %q, want %q", tt.network, got, tt.want)
		}
	}
	_, _, err := f.build(t, dir, Options{Network: "nosuchnet", NoCache: true})
	if err == nil || !strings.Contains(err.Error(), "network nosuchnet not found") {
		t.Errorf("Build(--network nosuchnet) error = %v", err)
	}
}
