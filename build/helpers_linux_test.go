package build

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/namespaces"
)

// The test binary plays every role skiff's binary plays: RUN steps start
// containers, whose init is a re-execution of this binary, and so is the
// monitor of a detached container.
func TestMain(m *testing.M) {
	if namespaces.IsInit() {
		namespaces.Init()
	}
	if len(os.Args) > 3 && os.Args[1] == container.MonitorArg {
		if err := container.Monitor(os.Args[2], os.Args[3], nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireRoot skips a test that needs what only root may do: containers
// for RUN steps and read-only mounts of images, and a static busybox.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("builds need root (namespaces and overlay mounts for RUN and COPY)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox: apt-get install busybox-static")
	}
}

// busyboxTar is the base image of the tests, as scripts/mkbusybox.sh makes
// it: Debian's static busybox, a link per applet, /etc/passwd and group.
func busyboxTar(t testing.TB) []byte {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	dirs := []string{"bin/", "etc/", "proc/", "sys/", "dev/", "root/", "var/", "var/www/"}
	for _, dir := range dirs {
		add(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			link := "bin/" + applet
			add(&tar.Header{Name: link, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
		}
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
		[]byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644},
		[]byte("root:x:0:\nnogroup:x:65534:\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fixture is a store with busybox:latest in it, and a builder.
type fixture struct {
	root       string
	images     *image.Store
	containers *container.Store
	b          *Builder
	busybox    *image.Image
	// network is the network of RUN steps when a build names none: "none",
	// so that no test makes a bridge on the host (see inTestNetns).
	network string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	requireRoot(t)
	root := t.TempDir()
	images, err := image.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.Import(bytes.NewReader(busyboxTar(t)), image.ImportOptions{
		Ref: "busybox", Changes: []string{`CMD ["sh"]`,
			"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	containers, err := container.Open(root, images, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: root, images: images, containers: containers,
		b: New(containers, nil), busybox: img, network: "none"}
	t.Cleanup(func() { f.removeContainers(t) })
	return f
}

// inTestNetns moves the test's goroutine, locked to its thread, into a
// network namespace of its own with only a loopback interface: a RUN step
// on the default bridge network then makes its bridge, veths and NAT rule
// there, never on the host. Containers started from this thread start in
// that namespace too. The thread goes back to the host's namespace at the
// end.
func inTestNetns(t *testing.T) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		t.Fatalf("create a network namespace for the test: %v", err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		orig.Close()
	})
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("bring up lo in the test namespace: %v", err)
	}
}

// removeContainers removes what a failed test may have left running.
func (f *fixture) removeContainers(t testing.TB) {
	cs, _ := f.containers.List(true)
	for _, c := range cs {
		if err := f.containers.Remove(c, true); err != nil {
			t.Errorf("cleanup: Remove(%s): %v", c.Name, err)
		}
	}
}

// writeContext makes a build context from name → content; a name ending
// in "@" makes a symbolic link to the content instead.
func writeContext(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, strings.TrimSuffix(name, "@"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if strings.HasSuffix(name, "@") {
			err = os.Symlink(content, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// build builds the Dockerfile of dir (or dockerfile, when given) and
// returns the image, the build's output and its error.
func (f *fixture) build(t testing.TB, dir string, opts Options) (*image.Image, string, error) {
	t.Helper()
	if opts.Dockerfile == nil {
		data, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Dockerfile = data
	}
	opts.ContextDir = dir
	if opts.Network == "" {
		opts.Network = f.network
	}
	var out bytes.Buffer
	opts.Output = &out
	img, err := f.b.Build(context.Background(), opts)
	return img, out.String(), err
}

// mustBuild is build that fails the test on an error.
func (f *fixture) mustBuild(t testing.TB, dir string, opts Options) (*image.Image, string) {
	t.Helper()
	img, out, err := f.build(t, dir, opts)
	if err != nil {
		t.Fatalf("Build() error: %v\noutput:\n%s", err, out)
	}
	return img, out
}

// run runs a command as root in a container of img and returns its output.
func (f *fixture) run(t testing.TB, img *image.Image, args ...string) string {
	t.Helper()
	c, err := f.containers.Create(img, img.ID.String(), container.CreateOptions{
		Options:    container.Options{User: "0", Network: "none"},
		Entrypoint: []string{""}, Args: args,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.containers.Remove(c, true)
	var out bytes.Buffer
	p, err := f.containers.Start(c, container.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("Start(%q) error: %v", args, err)
	}
	st, err := p.Wait()
	if err != nil || st.ExitCode != 0 {
		t.Fatalf("%q in %s exited %d (%v):\n%s", args, img.ShortID(), st.ExitCode, err,
			out.String())
	}
	return out.String()
}

// stepRE matches the start of a step in the output.
var stepRE = regexp.MustCompile(`(?m)^Step \d+/\d+ : `)

// cachedSteps tells, for each step of a build's output, whether the cache
// had it.
func cachedSteps(out string) []bool {
	var cached []bool
	starts := stepRE.FindAllStringIndex(out, -1)
	for i, s := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		cached = append(cached, strings.Contains(out[s[0]:end], " ---> Using cache"))
	}
	return cached
}

// dirEntries counts the entries of a directory under the store's root.
func (f *fixture) dirEntries(t testing.TB, elem ...string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(append([]string{f.root}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// config reads an image's run config, with Docker's extra fields.
func (f *fixture) config(t testing.TB, img *image.Image) runConfig {
	t.Helper()
	r := &buildRun{b: f.b}
	cfg, err := r.readConfig(img)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
