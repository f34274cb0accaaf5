package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// Every lab runs in a network namespace of its own, made for it by the
// test: containers default to `--network bridge`, and a bridge, veth pairs,
// NAT rules and published ports must never appear on the machine that runs
// the tests. The namespace is named (ip netns add), so that other
// processes can enter it by its path, /run/netns/NAME.
//
// The script sees the path as $SKIFF_TEST_NETNS. Every skiff process the
// script starts re-executes itself through nsenter(1) into that namespace
// first (see reexecInLabNetns), so the whole process lives there: all its
// threads, the monitors it forks, the containers' inits. What a lab runs
// "on the host", such as wget against a published port, it runs with
// netns-exec, which is `nsenter --net=$SKIFF_TEST_NETNS --` in front of
// the command. A server the lab starts and leaves running, such as a
// registry, it runs with `exec in-netns CMD &`: the same, as a program of
// its own that testscript keeps in the background and stops when the lab
// ends (see inNetnsMain).

// netnsEnv names the variable that holds the path of the lab's namespace.
const netnsEnv = "SKIFF_TEST_NETNS"

// labNetns is a named network namespace made for one test.
type labNetns struct {
	name string
	path string
}

// newLabNetns creates a network namespace holding nothing but a loopback
// interface, which it brings up: 127.0.0.1 answers inside, and nothing
// else is reachable. It needs root and iproute2.
func newLabNetns() (*labNetns, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ns := &labNetns{name: "skifftest-" + hex.EncodeToString(b[:])}
	ns.path = filepath.Join("/run/netns", ns.name)
	if err := runIP("netns", "add", ns.name); err != nil {
		return nil, err
	}
	if err := runIP("-n", ns.name, "link", "set", "lo", "up"); err != nil {
		return nil, errors.Join(err, ns.remove())
	}
	return ns, nil
}

// remove deletes the namespace's name. The namespace itself goes when its
// last process does.
func (ns *labNetns) remove() error { return runIP("netns", "del", ns.name) }

func runIP(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err,
			strings.TrimSpace(string(out)))
	}
	return nil
}

// reexecInLabNetns runs before anything else when the test binary runs as
// the skiff command (argv[0] is "skiff", as testscript installs it): if
// $SKIFF_TEST_NETNS names a namespace this process is not in, it replaces
// itself with `nsenter --net=$SKIFF_TEST_NETNS -- skiff ARGS...`. nsenter
// enters the namespace while it is single-threaded and executes skiff
// again, by the path found on $PATH, so argv[0] still says "skiff" and
// the second run finds itself in place. The PID, the standard streams and
// the controlling terminal stay the same.
func reexecInLabNetns() {
	path := os.Getenv(netnsEnv)
	if path == "" || filepath.Base(os.Args[0]) != "skiff" {
		return
	}
	in, err := inNetns(path)
	if err == nil && in {
		return
	}
	if err == nil {
		err = execNsenter(path)
	}
	// No way into the lab's namespace: stop rather than touch the host's.
	fmt.Fprintf(os.Stderr, "skiff (test binary): enter %s=%s: %v\n", netnsEnv, path, err)
	os.Exit(exitUsage)
}

// execNsenter replaces this process with skiff run again by nsenter in the
// network namespace at path. It returns only on failure.
func execNsenter(path string) error {
	self, err := exec.LookPath("skiff")
	if err != nil {
		return err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("%w (apt-get install util-linux)", err)
	}
	argv := append([]string{"nsenter", "--net=" + path, "--", self}, os.Args[1:]...)
	return syscall.Exec(nsenter, argv, os.Environ())
}

// inNetns reports whether this process's network namespace is the one
// bound at path: namespaces are equal when their nsfs inodes are.
func inNetns(path string) (bool, error) {
	var self, target unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return false, &os.PathError{Op: "stat", Path: "/proc/self/ns/net", Err: err}
	}
	if err := unix.Stat(path, &target); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return self.Dev == target.Dev && self.Ino == target.Ino, nil
}

// scriptNetnsExec is the script command "netns-exec PROGRAM [ARGS...]":
// exec, but in the lab's network namespace, which plays the host in the
// labs. A learner on a real machine types the command without it:
//
//	netns-exec busybox wget -qO- http://127.0.0.1:8080/
func scriptNetnsExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: netns-exec program [args...]")
	}
	if backgroundRE.MatchString(args[len(args)-1]) {
		ts.Fatalf("netns-exec: for the background, use the program: exec in-netns %s",
			strings.Join(args, " "))
	}
	path := ts.Getenv(netnsEnv)
	if path == "" {
		ts.Fatalf("netns-exec: the lab has no network namespace ($%s is unset)", netnsEnv)
	}
	err := ts.Exec("nsenter", append([]string{"--net=" + path, "--"}, args...)...)
	switch {
	case err == nil && neg:
		ts.Fatalf("unexpected command success")
	case err != nil && !neg:
		ts.Fatalf("unexpected command failure: %v", err)
	}
}

// inNetnsMain is the program in-netns, which the test binary also is
// (TestMain installs it on the scripts' $PATH). `exec in-netns PROGRAM
// [ARGS...]` runs the program in the lab's network namespace, as the
// script command netns-exec does, but as a process that testscript can
// keep in the background and interrupt when the lab ends:
//
//	exec in-netns sh -c 'docker-registry serve config.yml >reg.log 2>&1' &
//
// (The two cannot share a name: testscript makes every program of
// TestMain a script command too.)
// It stays the program's parent rather than becoming it. The shell above
// starts the server as its child, which a signal to the shell alone would
// leave running; so the program gets a process group of its own, and the
// signal that stops in-netns goes to the whole group, then SIGKILL to
// whatever is left of it once the program has exited (or after 10s). The
// kernel sends in-netns SIGTERM when the test process dies (prctl(2),
// PR_SET_PDEATHSIG), so that a crashed test leaves no server behind
// either.
func inNetnsMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: in-netns program [args...]")
		return exitUsage
	}
	path := os.Getenv(netnsEnv)
	if path == "" {
		fmt.Fprintf(os.Stderr, "in-netns: the lab has no network namespace ($%s is unset)\n",
			netnsEnv)
		return exitUsage
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "in-netns: prctl(PR_SET_PDEATHSIG): %v\n", err)
		return exitUsage
	}

	cmd := exec.Command("nsenter", append([]string{"--net=" + path, "--"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "in-netns: %v\n", err)
		return exitUsage
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	group := -cmd.Process.Pid // a negative PID names the process group
	select {
	case err = <-done:
	case sig := <-signals:
		unix.Kill(group, sig.(syscall.Signal))
		select {
		case err = <-done:
		case <-time.After(10 * time.Second): // it ignores the signal
			unix.Kill(group, unix.SIGKILL)
			err = <-done
		}
		unix.Kill(group, unix.SIGKILL)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()) // as a shell reports it
		}
		return exitErr.ExitCode()
	case err != nil:
		fmt.Fprintf(os.Stderr, "in-netns: %v\n", err)
		return exitUsage
	}
	return 0
}

// forwardRegistry makes a registry that listens on the host's loopback
// answer at the same address inside the lab's namespace, where skiff runs:
// its port, and that of its token server if it has one.
func forwardRegistry(ts *testscript.TestScript, reg *registrytest.Registry, nsPath string) {
	addrs := []string{reg.Host}
	if realm := tokenRealm(reg); realm != "" && realm != reg.Host {
		addrs = append(addrs, realm)
	}
	for _, addr := range addrs {
		fwd, err := forwardIntoNetns(nsPath, addr)
		ts.Check(err)
		ts.Defer(func() { fwd.Close() })
	}
}

// realmRE finds the token server in a registry's challenge:
// `Bearer realm="http://127.0.0.1:40111/token",service="..."`.
var realmRE = regexp.MustCompile(`realm="([^"]+)"`)

// tokenRealm returns the host:port of the registry's token server, as its
// answer to an anonymous GET /v2/ names it, or "" if it has none.
func tokenRealm(reg *registrytest.Registry) string {
	resp, err := reg.HTTPClient().Get(reg.URL() + "/v2/")
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return ""
	}
	m := realmRE.FindStringSubmatch(resp.Header.Get("Www-Authenticate"))
	if m == nil {
		return ""
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Host == "" {
		return "" // Basic auth: the realm is a name, not a URL
	}
	return u.Host
}

// loopbackForwarder accepts TCP connections on an address inside a
// namespace and relays each to the same address in the test process's
// own namespace. Both ends are loopback addresses.
type loopbackForwarder struct {
	ln    net.Listener
	addr  string
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// forwardIntoNetns listens on addr in the namespace at nsPath and relays
// to addr here.
func forwardIntoNetns(nsPath, addr string) (io.Closer, error) {
	ln, err := listenInNetns(nsPath, addr)
	if err != nil {
		return nil, err
	}
	f := &loopbackForwarder{ln: ln, addr: addr, conns: map[net.Conn]bool{}}
	go f.serve()
	return f, nil
}

func (f *loopbackForwarder) serve() {
	for {
		client, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.relay(client)
	}
}

// relay dials the address on this side from an ordinary goroutine, whose
// thread is in the test process's namespace (a thread that switched
// namespaces is locked to its goroutine and never runs this one).
func (f *loopbackForwarder) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", f.addr)
	if err != nil {
		return
	}
	defer server.Close()
	f.track(client, server, true)
	defer f.track(client, server, false)

	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tcp, ok := dst.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
		done <- struct{}{}
	}
	go copyHalf(server, client)
	go copyHalf(client, server)
	<-done
	<-done
}

func (f *loopbackForwarder) track(a, b net.Conn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range []net.Conn{a, b} {
		if add {
			f.conns[c] = true
		} else {
			delete(f.conns, c)
		}
	}
}

// Close stops listening and cuts the connections in progress.
func (f *loopbackForwarder) Close() error {
	err := f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
	}
	return err
}

// listenInNetns listens on a TCP address in the network namespace at
// path. A socket belongs for life to the namespace of the thread that
// created it, so the listener is made by a goroutine locked to a thread
// that enters the namespace and comes back; if it cannot come back, the
// goroutine ends locked and the thread ends with it.
func listenInNetns(path, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter %s: %w", path, err)}
			return
		}

		ln, err := net.Listen("tcp", addr)

		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}

// runSkiffIn runs the test binary as the skiff command in the network
// namespace at nsPath, and returns its exit code (-1 if it did not run).
func runSkiffIn(nsPath string, args []string, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return -1
	}
	cmd := &exec.Cmd{
		Path:   self,
		Args:   append([]string{"skiff"}, args...),
		Env:    append(os.Environ(), netnsEnv+"="+nsPath),
		Stdout: stdout,
		Stderr: stderr,
	}
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	case err != nil:
		fmt.Fprintln(stderr, err)
		return -1
	}
	return 0
}
