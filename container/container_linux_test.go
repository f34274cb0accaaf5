package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
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

	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/namespaces"
	// Join (exec) needs the C constructor linked in the test binary.
	_ "github.com/skiff-dev/skiff/namespaces/nsenter"
)

// The test binary plays every role skiff's binary plays: the container
// init and the monitor of detached containers are re-executions of it.
func TestMain(m *testing.M) {
	if namespaces.IsInit() {
		namespaces.Init()
	}
	if len(os.Args) > 3 && os.Args[1] == MonitorArg {
		if err := Monitor(os.Args[2], os.Args[3], nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireRoot skips a test that needs what only root may do here:
// namespaces, mounts and cgroups, and a static busybox to run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containers need root (namespaces, overlay mounts, cgroups)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox: apt-get install busybox-static")
	}
}

// busyboxTar is a tiny image: Debian's static busybox, a few applets, and
// /etc files for user lookups.
func busyboxTar(t *testing.T) []byte {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
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
	for _, dir := range []string{"bin/", "etc/", "tmp/", "proc/", "sys/", "dev/", "root/", "data/"} {
		add(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bin)
	for _, applet := range []string{"sh", "echo", "cat", "ls", "hostname", "sleep", "rm",
		"touch", "id", "head", "yes", "seq", "true", "ps", "mkdir", "wc", "trap", "httpd", "wget"} {
		add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
		[]byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644},
		[]byte("root:x:0:\nnobody:x:65534:\n"))
	add(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("hi\n"))
	add(&tar.Header{Name: "data/old", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("old\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fixture struct {
	root string
	s    *Store
	img  *image.Image
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	requireRoot(t)
	root := t.TempDir()
	images, err := image.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.Import(bytes.NewReader(busyboxTar(t)),
		image.ImportOptions{Ref: "busybox", Changes: []string{`CMD ["sh"]`}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(root, images, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: root, s: s, img: img}
	t.Cleanup(func() { f.removeAll(t) })
	return f
}

// removeAll removes every container, so no mount or cgroup outlives a test.
func (f *fixture) removeAll(t *testing.T) {
	cs, _ := f.s.List(true)
	for _, c := range cs {
		if err := f.s.Remove(c, true); err != nil {
			t.Errorf("cleanup: Remove(%s): %v", c.Name, err)
		}
	}
}

// create makes a container; with no network asked for, --network none:
// tests outside the network tests must not touch the host's network.
func (f *fixture) create(t *testing.T, o Options, args ...string) *Container {
	t.Helper()
	if o.Network == "" {
		o.Network = "none"
	}
	c, err := f.s.Create(f.img, "busybox", CreateOptions{Options: o, Args: args})
	if err != nil {
		t.Fatalf("Create(%q) error: %v", args, err)
	}
	return c
}

// run runs a container in the foreground and returns its output and state.
func (f *fixture) run(t *testing.T, o Options, args ...string) (string, State) {
	t.Helper()
	c := f.create(t, o, args...)
	var out bytes.Buffer
	p, err := f.s.Start(c, Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("Start(%q) error: %v", args, err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait(%q) error: %v", args, err)
	}
	return out.String(), st
}

func TestRunHostnameAndPID1(t *testing.T) {
	f := newFixture(t)
	// Inside: our hostname, our shell as PID 1, and no host process in
	// /proc: busybox runs hostname and echo inside the shell itself.
	out, st := f.run(t, Options{Hostname: "box"}, "sh", "-c", "hostname; echo $$; echo /proc/[0-9]*")
	if got, want := out, "box\n1\n/proc/1\n"; got != want {
		t.Errorf("hostname, PID and processes inside = %q, want %q", got, want)
	}
	if st.Status != Exited || st.ExitCode != 0 {
		t.Errorf("state after exit = %+v, want exited 0", st)
	}
}

func TestExitCodes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"own code", []string{"sh", "-c", "exit 3"}, 3},
		// PID 1 ignores signals it has no handler for, even SIGKILL from
		// inside its namespace, so a child shell is the one killed.
		{"child killed by a signal", []string{"sh", "-c", "sh -c 'kill -9 $$'; exit $?"}, 137},
		{"not found", []string{"nosuchcommand"}, 127},
		{"not executable", []string{"/etc/motd"}, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.create(t, Options{}, tt.args...)
			p, err := f.s.Start(c, Stdio{})
			var got int
			if err != nil {
				got = exitCodeOf(err)
			} else {
				st, err := p.Wait()
				if err != nil {
					t.Fatal(err)
				}
				got = st.ExitCode
			}
			if got != tt.want {
				t.Errorf("exit code of %q = %d, want %d (start error: %v)", tt.args, got, tt.want, err)
			}
			c, _ = f.s.Get(c.ID)
			if c.State.ExitCode != tt.want {
				t.Errorf("recorded exit code of %q = %d, want %d", tt.args, c.State.ExitCode, tt.want)
			}
		})
	}
}

// The container layer is the only thing a container writes to: its image's
// layer directories stay byte for byte the same, and deletions become
// whiteouts in the upper dir.
func TestWritesStayInTheContainerLayer(t *testing.T) {
	f := newFixture(t)
	layers, _ := f.s.images.LayerDirs(f.img)
	before := treeListing(t, layers[0])

	c := f.create(t, Options{}, "sh", "-c", "rm /data/old; echo new > /data/new; echo x >> /etc/motd")
	p, err := f.s.Start(c, Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Wait(); st.ExitCode != 0 {
		t.Fatalf("exit code %d", st.ExitCode)
	}
	if diff := cmp.Diff(before, treeListing(t, layers[0])); diff != "" {
		t.Errorf("image layer changed by a container (-before +after):\n%s", diff)
	}
	changes, err := f.s.Diff(c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range changes {
		got = append(got, ch.String())
	}
	want := []string{"C /data", "A /data/new", "D /data/old", "C /etc", "C /etc/motd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff() mismatch (-want +got):\n%s", diff)
	}
}

func treeListing(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %v", p, fi.Mode(), fi.Size(), fi.ModTime()))
		return nil
	})
	return out
}

func TestStartAgainKeepsTheContainerLayer(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, Options{}, "sh", "-c", "cat /data/log 2>/dev/null; echo run >> /data/log")
	for _, want := range []string{"", "run\n", "run\nrun\n"} {
		var out bytes.Buffer
		p, err := f.s.Start(c, Stdio{Stdout: &out})
		if err != nil {
			t.Fatal(err)
		}
		p.Wait()
		if out.String() != want {
			t.Errorf("start again printed %q, want %q", out.String(), want)
		}
	}
}

func TestDetachedStopAndRemove(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, Options{}, "sh", "-c", "trap '' TERM; echo up; while true; do sleep 1; done")
	if err := f.s.StartDetached(c); err != nil {
		t.Fatalf("StartDetached() error: %v", err)
	}
	running, _ := f.s.List(false)
	if len(running) != 1 || running[0].ID != c.ID {
		t.Fatalf("List(false) = %v, want the one running container", running)
	}

	if err := f.s.Remove(c, false); !errors.Is(err, ErrRunning) {
		t.Errorf("Remove(running, force=false) = %v, want ErrRunning", err)
	}

	// The container ignores SIGTERM: stop must end in SIGKILL after the timeout.
	start := time.Now()
	if err := f.s.Stop(c, 500*time.Millisecond); err != nil {
		t.Fatalf("Stop() error: %v", err)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("Stop() returned after %v, before its timeout", took)
	}
	c, _ = f.s.Get(c.ID)
	if c.State.Status != Exited || c.State.ExitCode != 137 {
		t.Errorf("state after stop = %+v, want exited 137", c.State)
	}
	var logs bytes.Buffer
	if err := f.s.Logs(c, LogOptions{Tail: -1}, &logs, &logs); err != nil || logs.String() != "up\n" {
		t.Errorf("Logs() = %q, %v; want %q", logs.String(), err, "up\n")
	}
	if err := f.s.Remove(c, false); err != nil {
		t.Errorf("Remove(exited) = %v", err)
	}
	if _, err := os.Stat(f.s.bundle(c.ID)); !os.IsNotExist(err) {
		t.Errorf("bundle still there after Remove: %v", err)
	}
}

// Twenty containers run and removed at once leave no mount, cgroup or
// directory behind.
func TestParallelRunRemoveLeavesNothing(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.s.Create(f.img, "busybox", CreateOptions{
				Options: Options{AutoRemove: true, Network: "none"},
				Args:    []string{"echo", fmt.Sprint(i)},
			})
			if err != nil {
				errs <- err
				return
			}
			p, err := f.s.Start(c, Stdio{})
			if err == nil {
				_, err = p.Wait()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if entries, _ := os.ReadDir(f.s.path()); len(entries) != 1 { // the lock file
		t.Errorf("containers/ after 20 run --rm: %d entries, want only the lock", len(entries))
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), f.root) {
		t.Errorf("mounts under the store remain:\n%s", mounts)
	}
	leftover := exec.Command("sh", "-c", "ls -d /sys/fs/cgroup/*/skiff/* 2>/dev/null")
	if out, _ := leftover.Output(); len(out) > 0 {
		t.Logf("cgroups under skiff/ (may belong to other tests running now):\n%s", out)
	}
}

func TestExecJoinsTheContainer(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, Options{Hostname: "inside"}, "sleep", "30")
	if err := f.s.StartDetached(c); err != nil {
		t.Fatal(err)
	}
	c, _ = f.s.Get(c.ID)
	var out bytes.Buffer
	args := []string{"sh", "-c", "hostname; cat /proc/1/cmdline; exit 4"}
	st, err := f.s.Exec(c, ExecOptions{Args: args}, Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("Exec() error: %v", err)
	}
	if got, want := out.String(), "inside\nsleep\x0030\x00"; got != want {
		t.Errorf("Exec() output = %q, want %q", got, want)
	}
	if st.Code != 4 {
		t.Errorf("Exec() exit code = %d, want 4", st.Code)
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	t.Run("memory hog is OOM-killed", func(t *testing.T) {
		_, st := f.run(t, Options{Memory: 16 << 20},
			"sh", "-c", "x=$(yes | head -c 200000000); echo survived")
		if st.ExitCode != 137 || !st.OOMKilled {
			t.Errorf("state = exit %d, OOMKilled %v; want 137, true", st.ExitCode, st.OOMKilled)
		}
	})
	t.Run("fork bomb stops at the pids limit", func(t *testing.T) {
		out, _ := f.run(t, Options{PidsLimit: 8},
			"sh", "-c", "for i in $(seq 20); do sleep 2 & done 2>&1; wait")
		if !strings.Contains(out, "can't fork") && !strings.Contains(out, "Resource temporarily") {
			t.Errorf("20 forks under --pids-limit 8 printed %q, want fork failures", out)
		}
	})
}

// A killed monitor must never leave a container that looks running when
// it is not: the next command finds out, records it and cleans up.
func TestKilledMonitorIsReconciled(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, Options{}, "sleep", "30")
	if err := f.s.StartDetached(c); err != nil {
		t.Fatal(err)
	}
	c, _ = f.s.Get(c.ID)
	st := c.State
	syscall.Kill(st.MonitorPid, syscall.SIGKILL)
	syscall.Kill(st.Pid, syscall.SIGKILL)
	waitExit(st.Pid, st.PidStart, 5*time.Second)
	waitExit(st.MonitorPid, st.MonitorStart, 5*time.Second)

	running, err := f.s.List(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 0 {
		t.Errorf("List(false) after kill -9 of container and monitor = %d running, want 0", len(running))
	}
	c, _ = f.s.Get(c.ID)
	if c.State.Status != Exited || c.State.ExitCode != 255 {
		t.Errorf("state = %+v, want exited 255", c.State)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), f.s.bundle(c.ID)) {
		t.Errorf("the dead container's rootfs is still mounted")
	}
}

// A skiff killed half-way through Start (kill -9, or SIGPIPE on a closed
// stderr) leaves the rootfs mounted, the cgroup made, perhaps the command
// released, and the state still "created". The next command finds out,
// kills what runs unwatched, records the container as exited and releases
// everything; with --rm the container goes.
func TestDeadStarterIsReconciled(t *testing.T) {
	for _, autoRemove := range []bool{false, true} {
		t.Run(fmt.Sprintf("rm=%v", autoRemove), func(t *testing.T) {
			f := newFixture(t)
			c := f.create(t, Options{AutoRemove: autoRemove}, "sleep", "30")
			orphan := halfStart(t, f, c)

			listed, err := f.s.List(true)
			if err != nil {
				t.Fatal(err)
			}
			if autoRemove && len(listed) != 0 {
				t.Errorf("List(true) = %d containers, want none: --rm removed it", len(listed))
			}
			if err := waitProcessGone(orphan, 5*time.Second); err != nil {
				t.Error(err)
			}
			if cg, err := cgroups.Open(cgroupName(c), nil); err == nil {
				t.Errorf("cgroup %s is still there: %v", cgroupName(c), cg.Paths())
			}
			mounts, _ := os.ReadFile("/proc/self/mountinfo")
			if strings.Contains(string(mounts), f.s.bundle(c.ID)) {
				t.Errorf("the container's rootfs is still mounted")
			}
			got, err := f.s.Get(c.ID)
			if autoRemove {
				if err == nil {
					t.Errorf("container with --rm is still there: %+v", got.State)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State.Status != Exited || got.State.ExitCode != 255 {
				t.Errorf("state = %+v, want exited 255", got.State)
			}
		})
	}
}

// halfStart leaves c as a skiff killed in the middle of Start leaves it:
// rootfs mounted, cgroup made, a process in the cgroup, state "created".
// It returns that process's pid.
func halfStart(t *testing.T, f *fixture, c *Container) int {
	t.Helper()
	if err := f.s.mountRootfs(c); err != nil {
		t.Fatal(err)
	}
	cg, err := cgroups.Create(cgroupName(c), cgroups.Resources{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	t.Cleanup(func() { cmd.Process.Kill() })
	if err := cg.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// load reads the record as it is; Get would reconcile it already.
	if got, err := f.s.load(c.ID); err != nil || got.State.Status != Created {
		t.Fatalf("half-started container: %v, %v; want created", got, err)
	}
	return cmd.Process.Pid
}

// waitProcessGone waits until pid has exited and been reaped.
func waitProcessGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still runs after %v", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// The init layer of mount points is one for the store, made by the first
// start and shared by every container after it; `diff` still does not
// report the mount points.
func TestInitLayerIsShared(t *testing.T) {
	f := newFixture(t)
	var stacks [][]string
	for range 2 {
		c := f.create(t, Options{}, "true")
		p, err := f.s.Start(c, Stdio{})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || st.ExitCode != 0 {
			t.Fatalf("run true: %+v, %v", st, err)
		}
		lower, err := f.s.LowerDirs(c)
		if err != nil {
			t.Fatal(err)
		}
		stacks = append(stacks, lower)
		if _, err := os.Stat(f.s.bundle(c.ID, "init")); err == nil {
			t.Errorf("container %s has an init layer of its own", c.ShortID())
		}
		changes, err := f.s.Diff(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 0 {
			t.Errorf("diff of a container that ran true = %v, want none", changes)
		}
	}
	if !slices.Equal(stacks[0], stacks[1]) {
		t.Errorf("two containers of one image have lower dirs %q and %q", stacks[0], stacks[1])
	}
	hosts := filepath.Join(stacks[0][len(stacks[0])-1], "etc", "hosts")
	if fi, err := os.Stat(hosts); err != nil || fi.Size() != 0 {
		t.Errorf("init layer's etc/hosts: %v, %v; want an empty mount point", fi, err)
	}
}

func TestRunOptions(t *testing.T) {
	f := newFixture(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "in"), []byte("from host\n"), 0o644)
	tests := []struct {
		name string
		o    Options
		args []string
		want string
	}{
		{"env and workdir", Options{Env: []string{"A=1"}, WorkingDir: "/tmp/w"},
			[]string{"sh", "-c", "echo $A; pwd"}, "1\n/tmp/w\n"},
		{"user", Options{User: "nobody"}, []string{"id", "-u"}, "65534\n"},
		{"read-only rootfs", Options{ReadOnly: true},
			[]string{"sh", "-c", "touch /x 2>/dev/null || echo refused"}, "refused\n"},
		{"volume", Options{Volumes: []string{host + ":/mnt:ro"}},
			[]string{"sh", "-c", "cat /mnt/in; touch /mnt/y 2>/dev/null || echo ro"}, "from host\nro\n"},
		{"tmpfs", Options{Tmpfs: []string{"/scratch"}},
			[]string{"sh", "-c", "echo x > /scratch/f && cat /scratch/f"}, "x\n"},
		{"init as PID 1", Options{Init: true},
			[]string{"sh", "-c", "test $$ != 1 && echo reaper is PID 1"}, "reaper is PID 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := f.run(t, tt.o, tt.args...)
			if out != tt.want || st.ExitCode != 0 {
				t.Errorf("run %q = %q, exit %d; want %q, exit 0", tt.args, out, st.ExitCode, tt.want)
			}
		})
	}
}

func TestCommitAndCopy(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, Options{}, "sh", "-c", "echo made > /data/file; rm /etc/motd")
	p, err := f.s.Start(c, Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()

	img, err := f.s.Commit(c, CommitOptions{Ref: "made:1", Message: "by test"})
	if err != nil {
		t.Fatalf("Commit() error: %v", err)
	}
	if img.Parent != f.img.ID || len(img.Config.RootFS.DiffIDs) != 2 {
		t.Errorf("Commit() image parent %s, %d layers; want %s, 2", img.Parent,
			len(img.Config.RootFS.DiffIDs), f.img.ID)
	}
	child, err := f.s.Create(img, "made:1", CreateOptions{Options: Options{Network: "none"},
		Args: []string{"sh", "-c",
			"cat /data/file; ls /etc/motd 2>&1 >/dev/null | wc -l"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err = f.s.Start(child, Stdio{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	if got, want := out.String(), "made\n1\n"; got != want {
		t.Errorf("container of the committed image printed %q, want %q", got, want)
	}

	host := t.TempDir()
	if err := f.s.CopyFrom(c, "/data/file", host); err != nil {
		t.Fatalf("CopyFrom() error: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(host, "file")); string(data) != "made\n" {
		t.Errorf("copied file = %q", data)
	}
	os.WriteFile(filepath.Join(host, "up"), []byte("up\n"), 0o644)
	if err := f.s.CopyTo(c, filepath.Join(host, "up"), "/data"); err != nil {
		t.Fatalf("CopyTo() error: %v", err)
	}
	changes, _ := f.s.Diff(c)
	if !strings.Contains(fmt.Sprint(changes), "A /data/up") {
		t.Errorf("Diff() after CopyTo = %v, want A /data/up", changes)
	}
}
