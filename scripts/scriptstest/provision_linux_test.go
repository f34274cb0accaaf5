package scriptstest

import (
	"bufio"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProvision runs scripts/provision.sh twice, as `vagrant up` and then
// `vagrant provision` do, with skiff installed under a temporary prefix and
// the busybox image made in a temporary store, so that the machine's own
// /usr/local/bin/skiff and /var/lib/skiff stay as they are. Go is the one in
// /usr/local/go, which must already be the version go.mod asks for: the test
// checks that provision.sh does not download it again.
func TestProvision(t *testing.T) {
	requireProvisionable(t)
	prefix := t.TempDir()
	store := filepath.Join(t.TempDir(), "store")
	env := append(os.Environ(), "SKIFF_PREFIX="+prefix, "SKIFF_ROOT="+store)
	skiff := filepath.Join(prefix, "bin", "skiff")
	skiffInit := filepath.Join(prefix, "bin", "skiff-init")

	first := runProvision(t, env)
	if strings.Contains(first, "Downloading") {
		t.Errorf("provision.sh downloaded Go, though /usr/local/go has it:\n%s", first)
	}
	for _, want := range []string{
		"Installed " + skiff, "Installed " + skiffInit, "Imported busybox:latest",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first provision.sh run: no %q in its output:\n%s", want, first)
		}
	}
	binary, err := os.Stat(skiff)
	if err != nil {
		t.Fatalf("provision.sh installed no skiff: %v", err)
	}
	if fi, err := os.Stat(skiffInit); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("provision.sh installed no executable skiff-init beside skiff: %v", err)
	}
	imageID := inspectBusybox(t, skiff, store)

	// A second run finds everything in place and touches nothing.
	second := runProvision(t, env)
	if !strings.Contains(second, "Nothing to do") {
		t.Errorf("second provision.sh run: no %q in its output:\n%s", "Nothing to do", second)
	}
	again, err := os.Stat(skiff)
	if err != nil {
		t.Fatal(err)
	}
	if !again.ModTime().Equal(binary.ModTime()) {
		t.Errorf("second run replaced %s: modified %v, then %v",
			skiff, binary.ModTime(), again.ModTime())
	}
	if id := inspectBusybox(t, skiff, store); id != imageID {
		t.Errorf("second run changed busybox:latest: image ID %s, then %s", imageID, id)
	}

	// What a learner types first in the new VM.
	out, err := skiffCommand(skiff, store, "images").CombinedOutput()
	if err != nil {
		t.Fatalf("skiff images: %v\n%s", err, out)
	}
	if !hasImage(string(out), "busybox", "latest") {
		t.Errorf("skiff images lists no busybox latest:\n%s", out)
	}
}

// requireProvisionable skips the test where provision.sh cannot run as the
// test needs it to: without root, off Debian, or where it would download Go.
func requireProvisionable(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("provision.sh installs packages and programs: run the test as root")
	}
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("provision.sh installs Debian packages: this is not Debian (no dpkg-query)")
	}
	want, err := goModRelease("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/usr/local/go/VERSION")
	if err != nil {
		t.Skipf("no Go in /usr/local/go (%v): provision.sh would download %s", err, want)
	}
	have, _, _ := strings.Cut(string(data), "\n")
	if version.Compare(have, want) < 0 {
		t.Skipf("/usr/local/go has %s: provision.sh would replace it with %s", have, want)
	}
}

// goModRelease returns the Go release a go.mod file asks for, as
// provision.sh reads it: the toolchain line, or else the go line, with
// ".0" added to a language version such as "1.26".
func goModRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var goLine, toolchainLine string
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 2 && fields[0] == "go" {
			goLine = fields[1]
		}
		if len(fields) == 2 && fields[0] == "toolchain" {
			toolchainLine = fields[1]
		}
	}
	if err := lines.Err(); err != nil {
		return "", err
	}
	switch {
	case toolchainLine != "":
		return toolchainLine, nil
	case strings.Count(goLine, ".") == 1:
		return "go" + goLine + ".0", nil
	case goLine != "":
		return "go" + goLine, nil
	}
	return "", fmt.Errorf("%s has no go line", path)
}

// runProvision runs scripts/provision.sh with env and returns its output,
// stopping the test if it fails.
func runProvision(t *testing.T, env []string) string {
	t.Helper()
	cmd := exec.Command("bash", "../provision.sh")
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("provision.sh took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("provision.sh: %v\n%s", err, out)
	}
	return string(out)
}

// skiffCommand is the skiff command at path with the arguments args, using
// the store at root.
func skiffCommand(path, root string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "SKIFF_ROOT="+root)
	return cmd
}

// inspectBusybox returns the image ID of busybox:latest in the store at
// root.
func inspectBusybox(t *testing.T, skiff, root string) string {
	t.Helper()
	cmd := skiffCommand(skiff, root, "image", "inspect", "--format", "{{.Id}}", "busybox:latest")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skiff image inspect busybox:latest: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// hasImage reports whether the output of skiff images has a row for the
// image repository:tag.
func hasImage(images, repository, tag string) bool {
	for _, line := range strings.Split(images, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == repository && fields[1] == tag {
			return true
		}
	}
	return false
}
