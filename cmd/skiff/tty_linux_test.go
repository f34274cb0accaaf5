package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRunInteractiveTerminal drives "skiff run -it busybox sh" through a
// pseudo-terminal, as a user at a terminal would: the prompt appears, typed
// keys are echoed by the container's terminal, Ctrl-C interrupts the
// container's foreground command (not skiff), the window size follows
// ours, the exit code is the shell's, and our terminal is back in the mode
// it was in before.
func TestRunInteractiveTerminal(t *testing.T) {
	root := busyboxStore(t)
	master, slave := openTestPty(t)
	setWinsize(t, slave, 40, 100)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}

	// The test binary is skiff when its argv[0] says so (see TestMain). It
	// gets the terminal as its controlling terminal, in a session of its
	// own, as a login shell would give it. --network none: the test runs in
	// the host's network namespace, which no container may touch.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{
		Path: self,
		Args: []string{"skiff", "--root", root, "run", "-it", "--rm", "--network", "none",
			"busybox", "sh"},
		Stdin:  slave,
		Stdout: slave,
		Stderr: slave,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid: true, Setctty: true, Ctty: 0,
		},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	out := newScreen(master)
	out.expect(t, `/ # `)

	// skiff put our terminal into raw mode: no echo, no line editing here;
	// the container's own terminal does both.
	raw, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("host terminal while attached: lflag %#x, want ICANON, ECHO, ISIG off", raw.Lflag)
	}

	// The typed line comes back once, echoed by the container's terminal,
	// then the command's output.
	out.send(t, master, "echo hel''lo\r")
	out.expect(t, `echo hel''lo\r\n`)
	out.expect(t, `hello\r\n`)

	// The window size is ours, and follows when ours changes (SIGWINCH
	// to skiff, which resizes the container's terminal: asked until the
	// signal has made its way).
	out.send(t, master, "stty size\r")
	out.expect(t, `40 100\r\n`)
	out.resizeAndWait(t, master, slave, 50, 120)

	// Ctrl-C is a byte (0x03) in raw mode; the container's terminal turns
	// it into SIGINT for its foreground process: sleep, not the shell.
	out.send(t, master, "sleep 30\r")
	out.expect(t, `sleep 30\r\n`)
	waitForProcess(t, "sleep\x0030\x00")
	out.send(t, master, "\x03")
	out.expect(t, `\^C`)
	out.send(t, master, "echo rc=$?\r")
	out.expect(t, `rc=130\r\n`)

	// The shell's exit code is skiff's.
	out.send(t, master, "exit 7\r")
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
			t.Errorf("skiff run -it ... exit 7: %v, want exit status 7\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("skiff run -it did not exit after the shell did\n%s", out)
	}

	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Lflag != before.Lflag {
		t.Errorf("host terminal after exit: iflag %#x oflag %#x lflag %#x, want %#x %#x %#x",
			after.Iflag, after.Oflag, after.Lflag, before.Iflag, before.Oflag, before.Lflag)
	}
}

// busyboxStore makes a store holding busybox:latest, a root filesystem of
// the host's static busybox, and returns its root. It skips the test where
// containers cannot run.
func busyboxStore(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containers need root: namespaces, mounts and cgroups")
	}
	if ok, err := isStatic("/bin/busybox"); err != nil || !ok {
		t.Skip("no static /bin/busybox here: apt-get install busybox-static")
	}

	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs.tar")
	if err := os.WriteFile(rootfs, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	var stderr strings.Builder
	args := []string{"--root", root, "import", "-c", `CMD ["sh"]`, rootfs, "busybox:latest"}
	if code := runCLI(args, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("skiff import: exit %d: %s", code, stderr.String())
	}
	t.Cleanup(func() { removeContainers(t, dir, "") })
	return root
}

// busyboxTar is a tar of the smallest root filesystem a busybox shell is
// happy in: the binary, the applets it needs as links, /etc/passwd.
func busyboxTar(t *testing.T) []byte {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(hdr *tar.Header, data []byte) {
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "root/", "tmp/"} {
		add(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, bin)
	for _, applet := range []string{"sh", "echo", "stty", "sleep"} {
		link := &tar.Header{
			Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777,
		}
		add(link, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644},
		[]byte("root:x:0:0:root:/root:/bin/sh\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// openTestPty opens a pseudo-terminal pair as pty(7) describes it: the
// master stays with the test, which plays the user; the slave becomes
// skiff's terminal.
func openTestPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
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
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func setWinsize(t *testing.T, tty *os.File, rows, cols uint16) {
	t.Helper()
	ws := &unix.Winsize{Row: rows, Col: cols}
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		t.Fatal(err)
	}
}

// screen collects what appears on the terminal, for expect to search.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen int // expect searches after the end of its last match
}

func newScreen(master *os.File) *screen {
	s := &screen{}
	go func() {
		p := make([]byte, 4096)
		for {
			n, err := master.Read(p)
			s.mu.Lock()
			s.buf.Write(p[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// expect waits until pattern appears in the output after the previous
// match, and fails the test after 10 seconds. It returns the first
// parenthesized submatch, if the pattern has one.
func (s *screen) expect(t *testing.T, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		s.mu.Lock()
		m := re.FindSubmatchIndex(s.buf.Bytes()[s.seen:])
		var sub string
		if len(m) >= 4 && m[2] >= 0 {
			sub = string(s.buf.Bytes()[s.seen+m[2] : s.seen+m[3]])
		}
		if m != nil {
			s.seen += m[1]
		}
		s.mu.Unlock()
		if m != nil {
			return sub
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("terminal: no match for %q after 10s; the screen shows:\n%s", pattern, s)
	return ""
}

// waitForProcess waits until a process with this command line (its
// /proc/PID/cmdline, NUL-separated) runs on the host, where the processes
// of containers are visible too.
func waitForProcess(t *testing.T, cmdline string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil && string(data) == cmdline {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no process %q after 10s", cmdline)
}

func (s *screen) send(t *testing.T, master *os.File, keys string) {
	t.Helper()
	if _, err := master.WriteString(keys); err != nil {
		t.Fatal(err)
	}
}

// resizeAndWait gives our terminal a new size and asks the shell in the
// container for its terminal's size until it is the same: SIGWINCH takes
// its time to reach skiff, which then resizes the container's terminal.
func (s *screen) resizeAndWait(t *testing.T, master, slave *os.File, rows, cols uint16) {
	t.Helper()
	setWinsize(t, slave, rows, cols)
	want := fmt.Sprintf("%d %d", rows, cols)
	for i := 0; ; i++ {
		s.send(t, master, "stty size\r")
		if s.expect(t, `(\d+ \d+)\r\n`) == want {
			return
		}
		if i == 50 {
			t.Fatalf("the container's terminal size did not follow ours to %s\n%s", want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%q", s.buf.String())
}

// TestRunTerminalSignal sends SIGTERM to an attached "skiff run -it": skiff
// gives the terminal back at once and passes the signal on to the
// container, whose exit code (128+15) becomes skiff's.
func TestRunTerminalSignal(t *testing.T) {
	root := busyboxStore(t)
	master, slave := openTestPty(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}

	// --init: sleep as PID 1 would ignore SIGTERM, as the kernel protects
	// a namespace's init from signals it has no handler for. --network none
	// keeps the host's network untouched.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{
		Path: self,
		Args: []string{"skiff", "--root", root, "run", "-it", "--rm", "--network", "none",
			"--init", "busybox", "sh"},
		Stdin: slave, Stdout: slave, Stderr: slave,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := newScreen(master)
	out.expect(t, `/ # `)
	out.send(t, master, "exec sleep 29\r")
	out.expect(t, `exec sleep 29\r\n`)
	waitForProcess(t, "sleep\x0029\x00")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 128+15 {
			t.Errorf("skiff run -it after SIGTERM: %v, want exit status 143\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("skiff run -it did not end after SIGTERM\n%s", out)
	}

	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("host terminal after SIGTERM: lflag %#x, want %#x", after.Lflag, before.Lflag)
	}
}

// TestExecInteractiveTerminal drives "skiff exec -it NAME sh" through a
// pseudo-terminal: the command's terminal starts with our window size and
// follows it, and the exit code is the shell's.
func TestExecInteractiveTerminal(t *testing.T) {
	root := busyboxStore(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	skiff := func(args ...string) *exec.Cmd {
		return &exec.Cmd{Path: self, Args: append([]string{"skiff", "--root", root}, args...)}
	}
	if out, err := skiff("run", "-d", "--network", "none", "--name", "box", "busybox",
		"sleep", "600").CombinedOutput(); err != nil {
		t.Fatalf("skiff run -d: %v\n%s", err, out)
	}
	defer skiff("rm", "-f", "box").Run()

	master, slave := openTestPty(t)
	setWinsize(t, slave, 30, 90)
	cmd := skiff("exec", "-it", "box", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	out := newScreen(master)
	out.expect(t, `/ # `)
	out.send(t, master, "stty size\r")
	out.expect(t, `30 90\r\n`)
	out.resizeAndWait(t, master, slave, 45, 110)

	out.send(t, master, "exit 3\r")
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
			t.Errorf("skiff exec -it ... exit 3: %v, want exit status 3\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("skiff exec -it did not exit after the shell did\n%s", out)
	}
}
