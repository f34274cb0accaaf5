package namespaces_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/namespaces"
	// Join (exec) needs the C constructor linked in the test binary.
	_ "github.com/skiff-dev/skiff/namespaces/nsenter"
)

// TestMain lets the test binary be a container's init: Start re-executes
// /proc/self/exe, which is this binary.
func TestMain(m *testing.M) {
	if namespaces.IsInit() {
		namespaces.Init()
	}
	os.Exit(m.Run())
}

// busybox is the static busybox of Debian's busybox-static package.
const busybox = "/bin/busybox"

// applets are linked to busybox in the test rootfs.
var applets = []string{
	"cat", "echo", "env", "false", "grep", "hostname", "id", "kill", "ls",
	"mkdir", "mount", "ps", "pwd", "readlink", "sh", "sleep", "stat", "test",
	"touch", "tr", "true", "wc",
}

// requireContainers skips the test unless containers can be made here.
func requireContainers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and mounts")
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("needs %s (apt-get install busybox-static): %v", busybox, err)
	}
}

// newRootfs makes a minimal root filesystem: busybox with its applets, an
// /etc/passwd and /etc/group with root, app (1000, also in extra) and
// nobody, and a file that is not executable.
func newRootfs(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root", "home/app", "real"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(root, "home/app"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"bin/busybox": string(data),
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"app:x:1000:1000:app:/home/app:/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group": "root:x:0:\nwheel:x:10:root\ntty:x:5:\napp:x:1000:\n" +
			"extra:x:1001:app\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	notExec := filepath.Join(root, "bin/notexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// newSpec is a container like docker run's defaults: all namespaces but
// cgroup, Docker's capabilities, masked and read-only paths.
func newSpec(rootfs string, args ...string) *namespaces.Spec {
	return &namespaces.Spec{
		Rootfs:   rootfs,
		Hostname: "skiff-test",
		Namespaces: []namespaces.Namespace{namespaces.MountNS, namespaces.UTSNS,
			namespaces.IPCNS, namespaces.PIDNS, namespaces.NetworkNS},
		Args:            args,
		Env:             []string{"PATH=/bin"},
		Cwd:             "/",
		MaskedPaths:     namespaces.DefaultMaskedPaths,
		ReadonlyPaths:   namespaces.DefaultReadonlyPaths,
		Capabilities:    namespaces.DefaultCapabilities,
		NoNewPrivileges: true,
	}
}

// testLogger collects the debug log of a test, the init's included, and
// prints it if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Logf("log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf},
		&slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// result is what a container run produced.
type result struct {
	stdout, stderr string
	resumeErr      error
	status         namespaces.ExitStatus
}

// run starts a container, lets it run and waits for it, and checks that
// the host's mount table is the same before and after.
func run(t *testing.T, spec *namespaces.Spec) result {
	t.Helper()
	before := hostMounts(t)
	var stdout, stderr bytes.Buffer
	p, err := namespaces.Start(spec, namespaces.Stdio{Stdout: &stdout, Stderr: &stderr},
		testLogger(t))
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { p.Kill() })
	defer watchdog.Stop()

	var res result
	res.resumeErr = p.Resume()
	res.status, err = p.Wait()
	if err != nil {
		t.Fatalf("Wait() error = %v", err)
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	checkHostMounts(t, before, spec.Rootfs)
	return res
}

// runOK runs a container that must succeed, and returns its output.
func runOK(t *testing.T, spec *namespaces.Spec) string {
	t.Helper()
	res := run(t, spec)
	if res.resumeErr != nil || res.status.Code != 0 {
		t.Fatalf("run %q: resume error %v, exit %+v, stderr %q",
			spec.Args, res.resumeErr, res.status, res.stderr)
	}
	return res.stdout
}

// hostMounts reads this process's mount table, which is the host's.
func hostMounts(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// checkHostMounts fails if the container left a mount in the host's table
// under its rootfs, or took one away. Other packages' tests may mount and
// unmount at the same time, under the temporary directory and as network
// namespaces in /run/netns/skifftest-*, so only that much is checked: a
// propagation leak shows up as mounts under our rootfs (everything the
// init mounts is there) or as a vanished host mount.
func checkHostMounts(t *testing.T, before []string, rootfs string) {
	t.Helper()
	after := hostMounts(t)
	for _, line := range after {
		if !slices.Contains(before, line) && strings.Contains(line, rootfs) {
			t.Errorf("mount leaked to the host: %s", line)
		}
	}
	for _, line := range before {
		point := strings.Fields(line)[4]
		if !slices.Contains(after, line) && !strings.HasPrefix(point, os.TempDir()) &&
			!strings.HasPrefix(point, "/run/netns/skifftest-") {
			t.Errorf("host mount disappeared: %s", line)
		}
	}
}

func TestIsolation(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	// Kernels differ in which of the masked files they have.
	maskedFile := ""
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list"} {
		if _, err := os.Stat(p); err == nil {
			maskedFile = p
			break
		}
	}
	if maskedFile == "" {
		t.Skip("none of /proc/kcore, /proc/keys, /proc/timer_list exists")
	}
	allowedMounts := append([]string{"/", "/proc", "/dev", "/dev/pts", "/dev/shm",
		"/dev/mqueue", "/sys"}, namespaces.DefaultMaskedPaths...)
	allowedMounts = append(allowedMounts, namespaces.DefaultReadonlyPaths...)

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{{
		name:  "hostname is the spec's",
		args:  []string{"hostname"},
		check: equals("skiff-test\n"),
	}, {
		name:  "the command is PID 1",
		args:  []string{"sh", "-c", "echo $$"},
		check: equals("1\n"),
	}, {
		name: "no host process is visible",
		args: []string{"sh", "-c", "ls -d /proc/[0-9]* | wc -l"},
		check: func(t *testing.T, out string) {
			var n int
			fmt.Sscan(out, &n)
			if n < 1 || n > 3 {
				t.Errorf("processes in /proc = %d, want 1 to 3 (sh, ls, wc)", n)
			}
		},
	}, {
		name: "mount table has only container mounts",
		args: []string{"cat", "/proc/self/mountinfo"},
		check: func(t *testing.T, out string) {
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				fields := strings.Fields(line)
				if !slices.Contains(allowedMounts, fields[4]) {
					t.Errorf("unexpected mount point %q in %q", fields[4], line)
				}
				if fields[4] == "/" && !strings.HasSuffix(fields[3], "/rootfs") {
					t.Errorf("/ is %q, want the rootfs", fields[3])
				}
			}
		},
	}, {
		name: "/dev has exactly the standard nodes",
		args: []string{"sh", "-c", "ls /dev | tr '\\n' ' '; stat -c '%A %t:%T' /dev/null"},
		check: equals("core fd full mqueue null ptmx pts random shm stderr stdin stdout " +
			"tty urandom zero crw-rw-rw- 1:3\n"),
	}, {
		name:  "devpts is a private instance",
		args:  []string{"sh", "-c", "exec 3<>/dev/ptmx; ls /dev/pts | tr '\\n' ' '"},
		check: equals("0 ptmx "),
	}, {
		name:  "/sys is read-only sysfs",
		args:  []string{"grep", " /sys ", "/proc/self/mounts"},
		check: hasPrefix("sysfs /sys sysfs ro,"),
	}, {
		name:  "only lo in the new network namespace",
		args:  []string{"ls", "/sys/class/net"},
		check: equals("lo\n"),
	}, {
		name:  "a masked file is /dev/null",
		args:  []string{"sh", "-c", "wc -c < " + maskedFile + "; stat -c %t:%T " + maskedFile},
		check: equals("0\n1:3\n"),
	}, {
		name:  "a masked directory is empty",
		args:  []string{"ls", "-A", "/sys/firmware"},
		check: equals(""),
	}, {
		name:  "/proc/sys is read-only",
		args:  []string{"sh", "-c", "echo x > /proc/sys/kernel/domainname || echo refused"},
		check: equals("refused\n"),
	}, {
		name: "capabilities are Docker's defaults",
		args: []string{"grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"},
		check: equals("CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n" +
			"CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n" +
			"CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"),
	}, {
		name:  "root has root's groups and home",
		args:  []string{"sh", "-c", "id -u; id -G; echo $HOME"},
		check: equals("0\n0 10\n/root\n"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := newSpec(rootfs, tt.args...)
			tt.check(t, runOK(t, spec))
		})
	}
}

func equals(want string) func(t *testing.T, out string) {
	return func(t *testing.T, out string) {
		t.Helper()
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	}
}

func hasPrefix(want string) func(t *testing.T, out string) {
	return func(t *testing.T, out string) {
		t.Helper()
		if !strings.HasPrefix(out, want) {
			t.Errorf("output = %q, want prefix %q", out, want)
		}
	}
}

func TestUser(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	spec := newSpec(rootfs, "sh", "-c",
		"id -u; id -g; id -G; echo $HOME; pwd; grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status")
	spec.User = "app"
	spec.Cwd = "/work/dir"

	want := "1000\n1000\n1000 1001\n/home/app\n/work/dir\n" +
		"CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n" +
		"CapBnd:\t00000000a80425fb\n"
	if diff := cmp.Diff(want, runOK(t, spec)); diff != "" {
		t.Errorf("run as app: output mismatch (-want +got):\n%s", diff)
	}
}

// The user is looked up in the container's /etc/passwd, not the host's:
// "app" exists only in the test's rootfs, and a name in neither is an
// error of the start, not of the command.
func TestUnknownUser(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	spec := newSpec(rootfs, "true")
	spec.User = "ghost"
	res := run(t, spec)
	var execErr *namespaces.ExecError
	if res.resumeErr == nil || errors.As(res.resumeErr, &execErr) ||
		!strings.Contains(res.resumeErr.Error(), "unable to find user ghost") {
		t.Errorf("Resume() with user ghost = %v, want \"unable to find user ghost\"",
			res.resumeErr)
	}
}

// A container started by skiff-init, the small program built from
// cmd/skiff-init, runs as one started by the test binary itself.
func TestSkiffInitProgram(t *testing.T) {
	requireContainers(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: no go command to build cmd/skiff-init with")
	}
	program := filepath.Join(t.TempDir(), namespaces.InitProgram)
	build := exec.Command(goTool, "build", "-o", program, "../cmd/skiff-init")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/skiff-init: %v\n%s", err, out)
	}
	namespaces.SetInitProgram(t, program)

	rootfs := newRootfs(t)
	spec := newSpec(rootfs, "sh", "-c", "id -u; hostname")
	spec.User = "app"
	var stdout, stderr bytes.Buffer
	p, err := namespaces.Start(spec, namespaces.Stdio{Stdout: &stdout, Stderr: &stderr},
		testLogger(t))
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	// Waiting for Resume, the init is still skiff-init.
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid())); err != nil || exe != program {
		t.Errorf("the waiting init runs %q, %v; want %q", exe, err, program)
	}
	resumeErr := p.Resume()
	st, err := p.Wait()
	if resumeErr != nil || err != nil || st.Code != 0 {
		t.Fatalf("resume %v, wait %v, exit %+v; stderr %q", resumeErr, err, st, &stderr)
	}
	if got, want := stdout.String(), "1000\n"+spec.Hostname+"\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// A skiff-init of another build than the skiff that starts it (one was
// rebuilt, the other not) refuses to go on, and says what to do.
func TestOtherBuildIsRefused(t *testing.T) {
	requireContainers(t)
	namespaces.SetMessageSchema(t, "0123456789abcdef")
	res := run(t, newSpec(newRootfs(t), "true"))
	if res.resumeErr == nil || !strings.Contains(res.resumeErr.Error(), "different builds") {
		t.Errorf("Resume() = %v, want the init's \"different builds\" error", res.resumeErr)
	}
	if res.status.Code != 125 {
		t.Errorf("exit status %+v, want 125", res.status)
	}
}

func TestMounts(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	volume := t.TempDir()
	if err := os.WriteFile(filepath.Join(volume, "f"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		modify func(*namespaces.Spec)
		script string
		want   string
	}{{
		name: "read-only bind mount",
		modify: func(s *namespaces.Spec) {
			s.Mounts = []namespaces.Mount{{Type: "bind", Source: volume, Target: "/data",
				Readonly: true}}
		},
		script: "cat /data/f; touch /data/g 2>/dev/null || echo refused",
		want:   "hello\nrefused\n",
	}, {
		name: "writable bind mount of a file",
		modify: func(s *namespaces.Spec) {
			s.Mounts = []namespaces.Mount{{Type: "bind", Source: filepath.Join(volume, "f"),
				Target: "/etc/deep/f"}}
		},
		script: "cat /etc/deep/f; echo more >> /etc/deep/f",
		want:   "hello\n",
	}, {
		name: "tmpfs with options",
		modify: func(s *namespaces.Spec) {
			s.Mounts = []namespaces.Mount{{Type: "tmpfs", Target: "/scratch",
				Options: "size=1m,mode=1777"}}
		},
		script: "echo hi > /scratch/x && cat /scratch/x; " +
			"grep -o ' /scratch tmpfs [^ ]*' /proc/mounts",
		want: "hi\n /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k\n",
	}, {
		name:   "read-only rootfs",
		modify: func(s *namespaces.Spec) { s.ReadonlyRootfs = true },
		script: "touch /x 2>/dev/null || echo refused; touch /dev/shm/x && echo shm ok",
		want:   "refused\nshm ok\n",
	}, {
		name: "bind mount target cannot escape through a symlink",
		modify: func(s *namespaces.Spec) {
			// In the image, /escape points far above the rootfs; on
			// the host it would lead to the real /tmp.
			if err := os.Symlink("../../../../../../../../tmp/skiff-escape",
				filepath.Join(s.Rootfs, "escape")); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			s.Mounts = []namespaces.Mount{{Type: "tmpfs", Target: "/escape/inside"}}
		},
		script: "ls -d /tmp/skiff-escape/inside",
		want:   "/tmp/skiff-escape/inside\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := newSpec(rootfs, "sh", "-c", tt.script)
			tt.modify(spec)
			if diff := cmp.Diff(tt.want, runOK(t, spec)); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}

	got, err := os.ReadFile(filepath.Join(volume, "f"))
	if err != nil || string(got) != "hello\nmore\n" {
		t.Errorf("volume file after the writable bind = %q, %v, want %q",
			got, err, "hello\nmore\n")
	}
	if _, err := os.Stat("/tmp/skiff-escape"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat /tmp/skiff-escape on the host: %v, want it absent", err)
	}
}

func TestNamespaceChoices(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)

	t.Run("host network shows the host's interfaces", func(t *testing.T) {
		spec := newSpec(rootfs, "ls", "/sys/class/net")
		spec.Namespaces = slices.DeleteFunc(slices.Clone(spec.Namespaces),
			func(ns namespaces.Namespace) bool { return ns == namespaces.NetworkNS })
		entries, err := os.ReadDir("/sys/class/net")
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for _, e := range entries {
			want.WriteString(e.Name() + "\n")
		}
		if diff := cmp.Diff(want.String(), runOK(t, spec)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("cgroup namespace mounts cgroup2 read-only", func(t *testing.T) {
		spec := newSpec(rootfs, "grep", "-o", "^cgroup2 /sys/fs/cgroup cgroup2 ro",
			"/proc/mounts")
		spec.Namespaces = append(spec.Namespaces, namespaces.CgroupNS)
		if diff := cmp.Diff("cgroup2 /sys/fs/cgroup cgroup2 ro\n", runOK(t, spec)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("specs that would touch the host are refused", func(t *testing.T) {
		noMountNS := newSpec(rootfs, "true")
		noMountNS.Namespaces = []namespaces.Namespace{namespaces.PIDNS}
		noUTS := newSpec(rootfs, "true")
		noUTS.Namespaces = []namespaces.Namespace{namespaces.MountNS}
		for _, spec := range []*namespaces.Spec{noMountNS, noUTS} {
			if p, err := namespaces.Start(spec, namespaces.Stdio{}, nil); err == nil {
				p.Kill()
				t.Errorf("Start(namespaces %q, hostname %q) succeeded, want an error",
					spec.Namespaces, spec.Hostname)
			}
		}
	})
}

func TestExitCodes(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	tests := []struct {
		name     string
		args     []string
		init     bool
		wantExec int // ExecError code from Resume, 0 for none
		want     namespaces.ExitStatus
	}{
		{name: "exit code", args: []string{"sh", "-c", "exit 3"}, want: status(3)},
		{name: "not found", args: []string{"nosuch"}, wantExec: 127, want: status(127)},
		{name: "absolute path not found", args: []string{"/bin/nosuch"}, wantExec: 127,
			want: status(127)},
		{name: "not executable", args: []string{"/bin/notexec"}, wantExec: 126,
			want: status(126)},
		{name: "not executable on PATH", args: []string{"notexec"}, wantExec: 126,
			want: status(126)},
		{name: "a directory", args: []string{"/bin"}, wantExec: 126, want: status(126)},
		{name: "not found under init", args: []string{"nosuch"}, init: true, wantExec: 127,
			want: status(127)},
		{name: "killed by a signal under init", args: []string{"sh", "-c", "kill -9 $$"},
			init: true, want: status(137)},
		{name: "exit code under init", args: []string{"sh", "-c", "exit 5"}, init: true,
			want: status(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := newSpec(rootfs, tt.args...)
			spec.Init = tt.init
			res := run(t, spec)
			var execErr *namespaces.ExecError
			gotExec := 0
			if errors.As(res.resumeErr, &execErr) {
				gotExec = execErr.Code
			} else if res.resumeErr != nil {
				t.Errorf("Resume() error = %v, want nil or an ExecError", res.resumeErr)
			}
			if gotExec != tt.wantExec {
				t.Errorf("Resume() error = %v, want ExecError code %d", res.resumeErr, tt.wantExec)
			}
			if res.status != tt.want {
				t.Errorf("Wait() = %+v, want %+v", res.status, tt.want)
			}
		})
	}
}

func status(code int) namespaces.ExitStatus {
	return namespaces.ExitStatus{Code: code}
}

func TestKill(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)

	t.Run("before resume", func(t *testing.T) {
		p, err := namespaces.Start(newSpec(rootfs, "true"), namespaces.Stdio{}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Kill(); err != nil {
			t.Fatalf("Kill() error = %v", err)
		}
		st, err := p.Wait()
		want := namespaces.ExitStatus{Code: 137, Signal: syscall.SIGKILL}
		if err != nil || st != want {
			t.Errorf("Wait() = %+v, %v, want %+v, nil", st, err, want)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.Pid())); err == nil {
			t.Errorf("process %d still exists after Kill", p.Pid())
		}
		if err := p.Resume(); err == nil {
			t.Error("Resume() after Kill succeeded, want an error")
		}
	})
	t.Run("running container", func(t *testing.T) {
		p, err := namespaces.Start(newSpec(rootfs, "sleep", "30"), namespaces.Stdio{},
			testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Resume(); err != nil {
			t.Fatal(err)
		}
		if err := p.Kill(); err != nil {
			t.Fatalf("Kill() error = %v", err)
		}
		st, _ := p.Wait()
		if want := (namespaces.ExitStatus{Code: 137, Signal: syscall.SIGKILL}); st != want {
			t.Errorf("Wait() = %+v, want %+v", st, want)
		}
	})
}

func TestInit(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)

	t.Run("reaps orphans", func(t *testing.T) {
		// The subshell exits at once, so its background sleep becomes an
		// orphan of PID 1; after it ends, no zombie may be left.
		script := "(sleep 0.2 &); sleep 1; grep -l '^State:.*Z' /proc/[0-9]*/status; " +
			"tr '\\0' ' ' < /proc/1/cmdline"
		spec := newSpec(rootfs, "sh", "-c", script)
		spec.Init = true
		if diff := cmp.Diff("skiff-init start ", runOK(t, spec)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("forwards SIGTERM", func(t *testing.T) {
		script := `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done`
		spec := newSpec(rootfs, "sh", "-c", script)
		spec.Init = true
		out := signalWhenReady(t, starter(t, spec), syscall.SIGTERM)
		if out.status != status(42) || out.stdout != "ready\ngot TERM\n" {
			t.Errorf("after SIGTERM: %+v, output %q, want exit 42 and %q", out.status,
				out.stdout, "ready\ngot TERM\n")
		}
	})
}

// startFunc starts a container process with the given stdio.
type startFunc func(stdio namespaces.Stdio) (*namespaces.Process, error)

// starter starts spec as a new container.
func starter(t *testing.T, spec *namespaces.Spec) startFunc {
	return func(stdio namespaces.Stdio) (*namespaces.Process, error) {
		return namespaces.Start(spec, stdio, testLogger(t))
	}
}

// joiner runs spec in the running container c.
func joiner(t *testing.T, c *namespaces.Process, spec *namespaces.Spec) startFunc {
	return func(stdio namespaces.Stdio) (*namespaces.Process, error) {
		p, err := namespaces.Join(c.Pid(), spec, stdio, testLogger(t))
		if errors.Is(err, namespaces.ErrJoinUnsupported) {
			t.Skip("built without cgo: Join is not available")
		}
		return p, err
	}
}

// signalWhenReady starts a process whose command prints "ready", sends it
// sig then, and waits for it.
func signalWhenReady(t *testing.T, start startFunc, sig syscall.Signal) result {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := start(namespaces.Stdio{Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { p.Kill() })
	defer watchdog.Stop()
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("first line = %q, %v, want %q", line, err, "ready\n")
	}
	if err := p.Signal(sig); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return result{stdout: line + string(rest), status: st}
}

func TestTerminal(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	c, err := namespaces.Start(newSpec(rootfs, "sleep", "30"), namespaces.Stdio{},
		testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}

	// /dev/tty opens only for a process with a controlling terminal.
	script := "test -t 0 && echo tty; echo via-dev-tty > /dev/tty; " +
		"test -c /dev/console && echo console; true"
	newTerminalSpec := func(init bool) *namespaces.Spec {
		spec := newSpec(rootfs, "sh", "-c", script)
		spec.Terminal, spec.Init = true, init
		return spec
	}
	// The container c was started without a terminal: it has no
	// /dev/console, and a joined process does not add one (as docker
	// exec -t).
	tests := []struct {
		name  string
		start startFunc
		want  string
	}{
		{name: "start", start: starter(t, newTerminalSpec(false)),
			want: "tty\r\nvia-dev-tty\r\nconsole\r\n"},
		{name: "start with init", start: starter(t, newTerminalSpec(true)),
			want: "tty\r\nvia-dev-tty\r\nconsole\r\n"},
		{name: "join", start: joiner(t, c, newTerminalSpec(false)),
			want: "tty\r\nvia-dev-tty\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := runOnTerminal(t, tt.start); out != tt.want {
				t.Errorf("terminal output = %q, want %q", out, tt.want)
			}
		})
	}
}

// runOnTerminal runs a process with a new pseudo-terminal as its stdio and
// returns what it wrote.
func runOnTerminal(t *testing.T, start startFunc) string {
	t.Helper()
	master, slave := openPTY(t)
	p, err := start(namespaces.Stdio{Stdin: slave, Stdout: slave, Stderr: slave})
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { p.Kill() })
	defer watchdog.Stop()
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	// Reading the master ends with EIO once the last slave is closed.
	out, _ := io.ReadAll(master)
	if st, err := p.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("Wait() = %+v, %v, output %q", st, err, out)
	}
	return string(out)
}

// openPTY allocates a pseudo-terminal pair from the host's /dev/ptmx.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

func TestJoin(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	before := hostMounts(t)

	spec := newSpec(rootfs, "sleep", "30")
	spec.Hostname = "joined"
	c, err := namespaces.Start(spec, namespaces.Stdio{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		user     string
		wantOut  string
		wantExec int
		want     namespaces.ExitStatus
	}{{
		name: "sees the container's hostname, PID 1 and root",
		args: []string{"sh", "-c", "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; " +
			"ls / | tr '\\n' ' '; echo; test $$ -ne 1 && echo not-pid-1"},
		wantOut: "joined\nsleep 30 \nbin dev etc home proc real root sys tmp \nnot-pid-1\n",
	}, {
		name: "runs as the user with Docker's capabilities",
		args: []string{"sh", "-c",
			"id -u; id -G; grep -E '^Cap(Eff|Bnd)|NoNew' /proc/self/status"},
		user: "app",
		wantOut: "1000\n1000 1001\nCapEff:\t0000000000000000\n" +
			"CapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n",
	}, {
		name: "exit status is relayed",
		args: []string{"sh", "-c", "exit 7"},
		want: status(7),
	}, {
		name: "a signal is relayed",
		args: []string{"sh", "-c", "kill -9 $$"},
		want: namespaces.ExitStatus{Code: 137, Signal: syscall.SIGKILL},
	}, {
		name:     "not found",
		args:     []string{"nosuch"},
		wantExec: 127,
		want:     status(127),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := newSpec(rootfs, tt.args...)
			js.User = tt.user
			var stdout, stderr bytes.Buffer
			p, err := namespaces.Join(c.Pid(), js,
				namespaces.Stdio{Stdout: &stdout, Stderr: &stderr}, testLogger(t))
			if errors.Is(err, namespaces.ErrJoinUnsupported) {
				t.Skip("built without cgo: Join is not available")
			}
			if err != nil {
				t.Fatalf("Join() error = %v", err)
			}
			watchdog := time.AfterFunc(20*time.Second, func() { p.Kill() })
			defer watchdog.Stop()
			resumeErr := p.Resume()
			st, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}

			var execErr *namespaces.ExecError
			gotExec := 0
			if errors.As(resumeErr, &execErr) {
				gotExec = execErr.Code
			} else if resumeErr != nil {
				t.Errorf("Resume() error = %v", resumeErr)
			}
			if gotExec != tt.wantExec {
				t.Errorf("Resume() error = %v, want ExecError code %d", resumeErr, tt.wantExec)
			}
			if st != tt.want {
				t.Errorf("Wait() = %+v, want %+v (stderr %q)", st, tt.want, stderr.String())
			}
			if diff := cmp.Diff(tt.wantOut, stdout.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("signals are forwarded", func(t *testing.T) {
		script := `trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done`
		out := signalWhenReady(t, joiner(t, c, newSpec(rootfs, "sh", "-c", script)),
			syscall.SIGTERM)
		if out.status != status(9) || out.stdout != "ready\ngot TERM\n" {
			t.Errorf("after SIGTERM: %+v, output %q, want exit 9 and %q", out.status,
				out.stdout, "ready\ngot TERM\n")
		}
	})

	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	checkHostMounts(t, before, rootfs)
}

func TestJoinKillBeforeResume(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	c, err := namespaces.Start(newSpec(rootfs, "sleep", "30"), namespaces.Stdio{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	p, err := namespaces.Join(c.Pid(), newSpec(rootfs, "true"), namespaces.Stdio{},
		testLogger(t))
	if errors.Is(err, namespaces.ErrJoinUnsupported) {
		t.Skip("built without cgo: Join is not available")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill() error = %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.Pid())); err == nil {
		t.Errorf("relay %d still exists after Kill", p.Pid())
	}
}

func TestLookupUser(t *testing.T) {
	requireContainers(t)
	rootfs := newRootfs(t)
	tests := []struct {
		spec    string
		want    namespaces.User
		wantErr error
	}{
		{spec: "", want: namespaces.User{AdditionalGIDs: []uint32{10}, Home: "/root"}},
		{spec: "app", want: namespaces.User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{1001},
			Home: "/home/app"}},
		{spec: "1000", want: namespaces.User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{1001},
			Home: "/home/app"}},
		{spec: "app:extra", want: namespaces.User{UID: 1000, GID: 1001, Home: "/home/app"}},
		{spec: "nobody:nogroup", want: namespaces.User{UID: 65534, GID: 65534,
			Home: "/nonexistent"}},
		{spec: "1234:5678", want: namespaces.User{UID: 1234, GID: 5678, Home: "/"}},
		{spec: "ghost", wantErr: namespaces.ErrNoSuchUser},
		{spec: "app:ghost", wantErr: namespaces.ErrNoSuchGroup},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := namespaces.LookupUser(rootfs, tt.spec)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LookupUser(%q) error = %v, want %v", tt.spec, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LookupUser(%q) mismatch (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestLookupUserUntrustedRootfs(t *testing.T) {
	requireContainers(t)

	t.Run("symlinks resolve inside the rootfs", func(t *testing.T) {
		// On the host, this link leads to /real/passwd, which does not
		// exist; inside the rootfs, to the image's own file.
		rootfs := t.TempDir()
		mkdirs(t, rootfs, "etc", "real")
		write(t, filepath.Join(rootfs, "real/passwd"), "svc:x:123:456::/srv:/bin/sh\n")
		link := "../../../../../../../../../../real/passwd"
		if err := os.Symlink(link, filepath.Join(rootfs, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		got, err := namespaces.LookupUser(rootfs, "svc")
		want := namespaces.User{UID: 123, GID: 456, Home: "/srv"}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("LookupUser(svc) = %+v, %v, want %+v, nil", got, err, want)
		}
	})
	t.Run("numeric users need no passwd file", func(t *testing.T) {
		got, err := namespaces.LookupUser(t.TempDir(), "42:43")
		want := namespaces.User{UID: 42, GID: 43, Home: "/"}
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("LookupUser(42:43) = %+v, %v, want %+v, nil", got, err, want)
		}
	})
	t.Run("a FIFO is refused, not read", func(t *testing.T) {
		rootfs := t.TempDir()
		mkdirs(t, rootfs, "etc")
		if err := unix.Mkfifo(filepath.Join(rootfs, "etc/passwd"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := namespaces.LookupUser(rootfs, "root"); err == nil {
			t.Error("LookupUser with a FIFO passwd succeeded, want an error")
		}
	})
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInitMarker checks that a process started with the init's argv but not
// by Start (no pipes, host namespaces) refuses to do anything.
func TestInitMarker(t *testing.T) {
	requireContainers(t)
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"skiff-init", "start"}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 125 {
		t.Errorf("init without a parent: %v, output %q, want exit 125", err, out)
	}
}

// BenchmarkStartTrue measures a whole container run of /bin/true: clone,
// the init's mounts and pivot_root, privileges, exec, and the wait.
func BenchmarkStartTrue(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates namespaces and mounts")
	}
	if _, err := os.Stat(busybox); err != nil {
		b.Skipf("needs %s: %v", busybox, err)
	}
	spec := newSpec(newRootfs(b), "true")
	for b.Loop() {
		p, err := namespaces.Start(spec, namespaces.Stdio{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Resume(); err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || st.Code != 0 {
			b.Fatalf("Wait() = %+v, %v", st, err)
		}
	}
}
