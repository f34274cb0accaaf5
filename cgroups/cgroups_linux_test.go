package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests use the real kernel: they make groups under the root of each
// hierarchy, named skiff-test-<pid>-<test>/c, put /bin/sh children in them
// and watch the kernel enforce the limits. They need root and skip
// without it.
//
// On a hybrid host (this project's CI) each layout's code runs for real:
//   - "host": the hybrid layout, limits on v1, membership, cgroup.freeze
//     and cgroup.kill on v2;
//   - "v1 only": the v1 hierarchies alone, as on a pure v1 host, so the
//     v1 freezer and the freeze-signal-thaw kill run;
//   - "v2 only": the cgroup2 mount alone, as on a pure v2 host whose
//     controllers are bound elsewhere.
//
// What cannot run here: the v2 limit files (memory.max, memory.swap.max,
// cpu.max, pids.max) and v2 memory.events, which appear only where those
// controllers are bound to cgroup2. fake_linux_test.go checks what is
// written to them; on a unified host the "host" runs below use them.

// requireHost skips the test unless it runs as root on a host with cgroup
// hierarchies, and returns their layout.
func requireHost(t *testing.T) layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: making cgroups needs root")
	}
	l, err := hostLayout()
	if err != nil {
		t.Skipf("skipping: no usable cgroup hierarchy: %v", err)
	}
	return l
}

// variant is a layout a test runs in.
type variant struct {
	name string
	l    layout
}

// variants returns the host's layout and, on a hybrid host, its v1 half
// and its v2 half alone.
func variants(t *testing.T) []variant {
	t.Helper()
	l := requireHost(t)
	vs := []variant{{"host " + l.mode.String(), l}}
	if l.mode == Hybrid {
		vs = append(vs,
			variant{"v1 only", layout{mode: Legacy, v1: l.v1}},
			variant{"v2 only", layout{mode: Unified, v2: l.v2, v2Controllers: l.v2Controllers}},
		)
	}
	return vs
}

// testLog returns a logger writing debug lines to the test's output.
func testLog(t *testing.T) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(slog.NewTextHandler(t.Output(), opts))
}

// groupName returns a name unique to this test process and test.
func groupName(t *testing.T) string {
	safe := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")
	return fmt.Sprintf("skiff-test-%d-%s/c", os.Getpid(), safe)
}

// newGroup creates the test's group in l and removes it, and its parent,
// when the test ends.
func newGroup(t *testing.T, l layout, r Resources) *Cgroup {
	t.Helper()
	c, err := create(l, groupName(t), r, testLog(t))
	if errors.Is(err, ErrNoController) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("create(%q) error: %v", groupName(t), err)
	}
	t.Cleanup(func() { removeGroup(t, c) })
	return c
}

// removeGroup kills and deletes c, then removes its parent directories.
func removeGroup(t *testing.T, c *Cgroup) {
	if err := c.Kill(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := c.Delete(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, d := range c.dirs {
		err := os.Remove(filepath.Dir(d.path))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// child is a /bin/sh process held at its first line until released, so
// that it can be put into a group before it does anything.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// startHeld starts "sh -c script", waiting on stdin before the script.
// The process and everything it starts are killed when the test ends.
func startHeld(t *testing.T, script string) *child {
	t.Helper()
	ch := &child{done: make(chan struct{})}
	ch.cmd = exec.Command("/bin/sh", "-c", "read go || exit 1\n"+script)
	ch.cmd.Stderr = &ch.stderr
	ch.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ch.cmd.WaitDelay = 2 * time.Second

	var err error
	if ch.stdin, err = ch.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := ch.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch.stdout = bufio.NewReader(stdout)
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}

	go func() {
		ch.err = ch.cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(func() {
		unix.Kill(-ch.cmd.Process.Pid, unix.SIGKILL)
		<-ch.done
	})
	return ch
}

// pid returns the child's process ID.
func (ch *child) pid() int { return ch.cmd.Process.Pid }

// release lets the child run its script.
func (ch *child) release(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(ch.stdin, "go\n"); err != nil {
		t.Fatalf("release child: %v", err)
	}
}

// wait waits for the child to exit and returns its wait status.
func (ch *child) wait(t *testing.T, timeout time.Duration) syscall.WaitStatus {
	t.Helper()
	select {
	case <-ch.done:
	case <-time.After(timeout):
		t.Fatalf("child %d still running after %v", ch.pid(), timeout)
	}
	return ch.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// readLine returns the child's next line of output.
func (ch *child) readLine(t *testing.T, timeout time.Duration) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := ch.stdout.ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		return s
	case <-time.After(timeout):
		t.Fatalf("no output from child %d after %v", ch.pid(), timeout)
	}
	return ""
}

// procStat returns the state letter of process pid and the CPU time it
// has used, from /proc/<pid>/stat (proc_pid_stat(5)): fields 3, 14, 15.
func procStat(t *testing.T, pid int) (string, time.Duration) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)

	// Clock ticks are USER_HZ, 100 a second on every Linux architecture.
	return fields[0], time.Duration(utime+stime) * 10 * time.Millisecond
}

func TestDetect(t *testing.T) {
	v1, v2 := mountedVersions(t)
	got, err := Detect()

	var want Mode
	switch {
	case v1 && v2:
		want = Hybrid
	case v1:
		want = Legacy
	case v2:
		want = Unified
	default:
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Detect() = %v, %v, want an fs.ErrNotExist error", got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("Detect() = %v, %v, want %v (v1 controllers mounted: %v, cgroup2: %v)",
			got, err, want, v1, v2)
	}
	t.Logf("Detect() = %v", got)
}

// mountedVersions reads the mount table independently of the package's
// parser: is a cgroup2 file system mounted, and a cgroup (v1) one whose
// options name a controller listed in /proc/cgroups?
func mountedVersions(t *testing.T) (v1, v2 bool) {
	t.Helper()
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	var controllers []string
	for _, line := range strings.Split(string(known), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			controllers = append(controllers, f[0])
		}
	}

	for _, line := range strings.Split(string(mountinfo), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		f := strings.Fields(after)
		switch {
		case !ok || len(f) < 3:
		case f[0] == "cgroup2":
			v2 = true
		case f[0] == "cgroup":
			for _, opt := range strings.Split(f[2], ",") {
				v1 = v1 || slices.Contains(controllers, opt)
			}
		}
	}
	return v1, v2
}

func TestRoundTrip(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			c := newGroup(t, v.l, Resources{})
			ch := startHeld(t, "sleep 100")
			if err := c.Add(ch.pid()); err != nil {
				t.Fatalf("Add(%d) error: %v", ch.pid(), err)
			}

			// Procs lists it; /proc/<pid>/cgroup shows it in every hierarchy.
			if got, err := c.Procs(); err != nil || !slices.Equal(got, []int{ch.pid()}) {
				t.Errorf("Procs() = %v, %v, want [%d]", got, err, ch.pid())
			}
			checkMembership(t, c, ch.pid())

			// Another process finds it by name.
			opened, err := open(v.l, c.Name(), nil)
			if err != nil {
				t.Fatalf("open(%q) error: %v", c.Name(), err)
			}
			if !slices.Equal(opened.Paths(), c.Paths()) {
				t.Errorf("open(%q).Paths() = %v, want %v", c.Name(), opened.Paths(), c.Paths())
			}

			// Once the process is gone, Delete leaves nothing, and is
			// idempotent.
			unix.Kill(ch.pid(), unix.SIGKILL)
			ch.wait(t, 5*time.Second)
			if err := opened.Delete(); err != nil {
				t.Fatalf("Delete() error: %v", err)
			}
			for _, p := range c.Paths() {
				if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after Delete, stat %s: %v, want not exist", p, err)
				}
			}
			if err := c.Delete(); err != nil {
				t.Errorf("second Delete() error: %v", err)
			}
			if _, err := open(v.l, c.Name(), nil); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("open after Delete error = %v, want %v", err, fs.ErrNotExist)
			}
		})
	}
}

// checkMembership checks that /proc/<pid>/cgroup puts pid in c in each
// hierarchy of c, wherever the test process itself is.
func checkMembership(t *testing.T, c *Cgroup, pid int) {
	t.Helper()
	ms, err := Memberships(pid)
	if err != nil {
		t.Fatalf("Memberships(%d) error: %v", pid, err)
	}
	self, _ := Memberships(os.Getpid())
	t.Logf("test process groups: %v", self)

	for _, d := range c.dirs {
		i := slices.IndexFunc(ms, func(m Membership) bool {
			if d.v2 {
				return m.ID == 0
			}
			return slices.Contains(m.Controllers, d.controllers[0])
		})
		if i < 0 || ms[i].Path != "/"+c.Name() {
			t.Errorf("Memberships(%d) = %v, want /%s in the hierarchy of %s",
				pid, ms, c.Name(), d.path)
		}
	}
}

func TestLimitsReadBack(t *testing.T) {
	l := requireHost(t)
	c := newGroup(t, l, Resources{Memory: 64 << 20, CPUQuota: 25000, CPUPeriod: 50000, PidsMax: 7})

	tests := []struct {
		ctrl           string
		v1File, v1Want string
		v2File, v2Want string
	}{
		{"memory", "memory.limit_in_bytes", "67108864", "memory.max", "67108864"},
		{"memory", "memory.memsw.limit_in_bytes", "67108864", "memory.swap.max", "0"},
		{"cpu", "cpu.cfs_quota_us", "25000", "cpu.max", "25000 50000"},
		{"cpu", "cpu.cfs_period_us", "50000", "cpu.max", "25000 50000"},
		{"pids", "pids.max", "7", "pids.max", "7"},
	}
	for _, tt := range tests {
		d, ok := c.where(tt.ctrl)
		if !ok {
			t.Fatalf("no hierarchy holds %s", tt.ctrl)
		}
		file, want := tt.v1File, tt.v1Want
		if d.v2 {
			file, want = tt.v2File, tt.v2Want
		}

		// The swap files exist only where the kernel accounts swap.
		p := filepath.Join(d.path, file)
		got, err := readString(p)
		if errors.Is(err, fs.ErrNotExist) && strings.Contains(file, "sw") {
			t.Logf("%s: absent, no swap accounting", p)
			continue
		}
		if err != nil || got != want {
			t.Errorf("read %s = %q, %v, want %q", p, got, err, want)
		}
	}
}

func TestCreateUndoesOnKernelError(t *testing.T) {
	l := requireHost(t)
	name := groupName(t)

	// The kernel refuses a CFS quota under 1 ms with EINVAL, after the
	// directories are made: Create must remove them again.
	_, err := create(l, name, Resources{CPUQuota: 500}, testLog(t))
	var pe *os.PathError
	if !errors.As(err, &pe) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("create(quota 500) error = %v, want an *os.PathError with EINVAL", err)
	}
	for _, d := range l.dirs(name) {
		for _, p := range []string{d.path, filepath.Dir(d.path)} {
			if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after failed create, stat %s: %v, want not exist", p, err)
				os.Remove(p)
			}
		}
	}
}

func TestOOMKill(t *testing.T) {
	l := requireHost(t)
	c := newGroup(t, l, Resources{Memory: 32 << 20})
	if oom, err := c.OOMKilled(); err != nil || oom {
		t.Fatalf("OOMKilled() of a new group = %v, %v, want false", oom, err)
	}

	// The shell keeps the command's output in memory: 300 MB, in a group
	// allowed 32 MiB, with no swap to escape to.
	ch := startHeld(t, `x=$(head -c 300000000 /dev/zero | tr '\0' a); echo survived`)
	if err := c.Add(ch.pid()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ch.release(t)
	ws := ch.wait(t, 20*time.Second)

	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("memory hog exit = %v, want killed by SIGKILL; stderr: %s", ws, &ch.stderr)
	}
	oom, err := c.OOMKilled()
	if err != nil || !oom {
		t.Errorf("OOMKilled() = %v, %v, want true", oom, err)
	}
	t.Logf("memory hog under 32 MiB: %v after %v; OOMKilled() = %v",
		ch.err, time.Since(start).Round(time.Millisecond), oom)
}

func TestPidsLimit(t *testing.T) {
	l := requireHost(t)
	const limit = 10
	c := newGroup(t, l, Resources{PidsMax: limit})

	// dash gives up at the first failed fork; other shells go on.
	ch := startHeld(t, `for i in $(seq 50); do sleep 30 >/dev/null 2>&1 & done
echo spawned; wait`)
	if err := c.Add(ch.pid()); err != nil {
		t.Fatal(err)
	}

	// Watch the group while the shell forks as fast as it can.
	peakProcs := watch(c)
	ch.release(t)
	if got := ch.readLine(t, 10*time.Second); got != "spawned" && got != "" {
		t.Fatalf("fork loop printed %q, want spawned or nothing", got)
	}
	peak := peakProcs()

	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The limit is a ceiling; how close a sample comes to it depends on
	// the machine's load, so only the ceiling is asserted.
	if peak > limit || st.Pids > limit {
		t.Errorf("fork bomb under pids.max %d: peak Procs %d, pids.current %d, want at most %d",
			limit, peak, st.Pids, limit)
	}

	// The kernel counts the forks it refused in pids.events.
	d, _ := c.where("pids")
	refused, _, err := readKey(filepath.Join(d.path, "pids.events"), "max")
	if err != nil || refused == 0 {
		t.Errorf("pids.events max = %d, %v, want refused forks counted", refused, err)
	}

	// End it, then look at what the shell said about its failed forks.
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	ch.wait(t, 5*time.Second)
	if !strings.Contains(strings.ToLower(ch.stderr.String()), "fork") {
		t.Errorf("shell stderr = %q, want a failed fork", ch.stderr.String())
	}
	t.Logf("peak %d processes, pids.current %d, %d forks refused; shell said %q",
		peak, st.Pids, refused, strings.SplitN(ch.stderr.String(), "\n", 2)[0])
}

// watch reads c's processes over and over until the returned function is
// called, which returns the most it saw at once.
func watch(c *Cgroup) (peak func() int) {
	most := make(chan int)
	stop := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				most <- n
				return
			default:
			}
			if pids, err := c.Procs(); err == nil {
				n = max(n, len(pids))
			}
		}
	}()
	return func() int {
		close(stop)
		return <-most
	}
}

func TestCPUQuota(t *testing.T) {
	l := requireHost(t)
	quota, period := CPUs(0.5)
	c := newGroup(t, l, Resources{CPUQuota: quota, CPUPeriod: period})

	ch := startHeld(t, `while :; do :; done`)
	if err := c.Add(ch.pid()); err != nil {
		t.Fatal(err)
	}
	ch.release(t)

	// Measure over 2 s, after a moment to settle, from the group's CPU
	// time and, as a check, from the process's own.
	time.Sleep(200 * time.Millisecond)
	s1, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, p1 := procStat(t, ch.pid())
	t1 := time.Now()
	time.Sleep(2 * time.Second)
	s2, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, p2 := procStat(t, ch.pid())
	elapsed := time.Since(t1)

	got := float64(s2.CPU-s1.CPU) / float64(elapsed)
	proc := float64(p2-p1) / float64(elapsed)
	t.Logf("busy loop under --cpus 0.5: %.3f of a core (group), %.3f (/proc/%d/stat)",
		got, proc, ch.pid())
	if got < 0.35 || got > 0.65 {
		t.Errorf("CPU use under CPUs(0.5) = %.3f of a core, want 0.35..0.65", got)
	}
}

func TestKill(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			c := newGroup(t, v.l, Resources{})
			ch := startHeld(t, `sleep 100 & sleep 100 & sh -c 'sleep 100 & wait' & wait`)
			if err := c.Add(ch.pid()); err != nil {
				t.Fatal(err)
			}
			ch.release(t)

			// sh, two sleeps, an inner sh and its sleep.
			var pids []int
			err := poll(5*time.Second, "5 processes", func() (bool, error) {
				var err error
				pids, err = c.Procs()
				return len(pids) >= 5, err
			})
			if err != nil {
				t.Fatal(err)
			}

			if err := c.Kill(); err != nil {
				t.Fatalf("Kill() error: %v", err)
			}
			if got, err := c.Procs(); err != nil || len(got) != 0 {
				t.Errorf("Procs() after Kill = %v, %v, want none", got, err)
			}
			if ws := ch.wait(t, 5*time.Second); ws.Signal() != syscall.SIGKILL {
				t.Errorf("shell exit = %v, want killed by SIGKILL", ws)
			}
			t.Logf("killed %d processes %v", len(pids), pids)
		})
	}
}

func TestFreeze(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			c := newGroup(t, v.l, Resources{})
			ch := startHeld(t, `while :; do :; done`)
			if err := c.Add(ch.pid()); err != nil {
				t.Fatal(err)
			}
			ch.release(t)
			time.Sleep(100 * time.Millisecond)

			// Frozen: no CPU time used at all.
			if err := c.Freeze(); err != nil {
				t.Fatalf("Freeze() error: %v", err)
			}
			state, before := procStat(t, ch.pid())
			time.Sleep(300 * time.Millisecond)
			_, after := procStat(t, ch.pid())
			if after != before {
				t.Errorf("CPU time while frozen went from %v to %v, want no change", before, after)
			}

			// Thawed: running again.
			if err := c.Thaw(); err != nil {
				t.Fatalf("Thaw() error: %v", err)
			}
			time.Sleep(300 * time.Millisecond)
			_, thawed := procStat(t, ch.pid())
			if thawed-after < 100*time.Millisecond {
				t.Errorf("CPU time in 300 ms after Thaw = %v, want at least 100ms", thawed-after)
			}
			t.Logf("frozen state %s, CPU %v -> %v; after thaw %v", state, before, after, thawed)
		})
	}
}

func TestEnableV2Controllers(t *testing.T) {
	l := requireHost(t)
	if l.v2 == "" {
		t.Skip("skipping: no cgroup2 hierarchy")
	}

	// Use controllers skiff itself never enables (hugetlb on this CI
	// host), so that other groups on the host are not disturbed, and
	// restore the root as it was.
	rootControl := filepath.Join(l.v2, "cgroup.subtree_control")
	offered, err := readWords(filepath.Join(l.v2, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	enabled, err := readWords(rootControl)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(offered, func(ctrl string) bool {
		return slices.Contains(wantedV2, ctrl)
	})
	if len(want) == 0 {
		t.Skipf("skipping: the v2 root offers no spare controller (%v)", offered)
	}
	t.Cleanup(func() {
		for _, ctrl := range want {
			if slices.Contains(enabled, ctrl) {
				continue
			}
			if err := write(testLog(t), rootControl, "-"+ctrl); err != nil {
				t.Errorf("restore root controllers: %v", err)
			}
		}
	})

	// The group gets the controllers, through each level.
	c := newGroup(t, layout{mode: Unified, v2: l.v2, v2Controllers: want}, Resources{})
	leaf := c.Paths()[0]
	for _, p := range []string{
		rootControl,
		filepath.Join(filepath.Dir(leaf), "cgroup.subtree_control"),
		filepath.Join(leaf, "cgroup.controllers"),
	} {
		got, err := readWords(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, ctrl := range want {
			if !slices.Contains(got, ctrl) {
				t.Errorf("read %s = %v, want %s in it", p, got, ctrl)
			}
		}
	}
	t.Logf("enabled %v level by level down to %s", want, leaf)
}
