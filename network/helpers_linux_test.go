package network

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Every test that touches the network runs in a network namespace of its
// own, made by isolate: the test's "host". A Manager opened there puts its
// bridges, rules and listening sockets there, and the test's "containers"
// are sleep processes in further namespaces. The real host's interfaces,
// routes and firewall are never touched, and all traffic stays on loopback
// and on bridges inside these namespaces.
//
// Only the test's own goroutine is locked in its namespace (for Open, which
// binds the Manager to the caller's namespace). Subtests and other
// goroutines run elsewhere, in the real host's namespace: so every helper
// that sends traffic, lists interfaces or runs a command takes the
// namespace explicitly and works on a thread of its own moved there.

// testNS is a network namespace a test made for itself.
type testNS struct{ ns netns.NsHandle }

// isolate skips the test unless it runs as root, then moves the calling
// goroutine, locked to its thread, into a new network namespace with lo
// up, until the test ends. The namespace has no route but lo's: a packet
// sent there by mistake goes nowhere.
func isolate(t testing.TB) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: network namespaces need root")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("netns.Get() error = %v", err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Skipf("skipping: cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		defer ns.Close()
		if err := netns.Set(orig); err != nil {
			// Stay locked: Go ends the thread with the test's goroutine.
			t.Errorf("restore network namespace: %v", err)
			return
		}
		orig.Close()
		runtime.UnlockOSThread()
	})
	if err := setLoopbackUp(nsHandle(t, ns)); err != nil {
		t.Fatal(err)
	}
	return &testNS{ns}
}

// run runs fn on a thread in the namespace.
func (n *testNS) run(t testing.TB, fn func() error) error { return runIn(t, n.ns, fn) }

// handle returns a netlink handle on the namespace.
func (n *testNS) handle(t testing.TB) *netlink.Handle { return nsHandle(t, n.ns) }

// command runs a command in the namespace and returns its output.
func (n *testNS) command(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := n.run(t, func() error {
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	})
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// runIn runs fn on a new thread moved into ns, and waits. The thread is
// never unlocked: Go ends it with its goroutine, so no other goroutine
// ever runs in ns by accident.
func runIn(t testing.TB, ns netns.NsHandle, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// nsHandle returns a netlink handle working in ns, closed with the test.
func nsHandle(t testing.TB, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink.NewHandleAt() error = %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// testLogger returns a logger writing into the test's log, at debug
// level, so that a failing test shows every kernel step.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelDebug,
	}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// openManager opens a Manager on a fresh store in the test's namespace,
// with its leases in a directory of the test's unless opts names one.
//
// Precondition: isolate ran, on this goroutine.
func openManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.LeaseDir == "" {
		opts.LeaseDir = t.TempDir()
	}
	m, err := Open(t.TempDir(), opts, testLogger(t))
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// container is a stand-in for a container's init: a sleep process in a
// network namespace of its own.
type container struct {
	id  string
	pid int
}

// startContainer starts one; clone(2) with CLONE_NEWNET makes its
// namespace, so no thread of the test changes namespace.
func startContainer(t testing.TB, id string) *container {
	t.Helper()
	cmd := startSleep(t)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &container{id: id, pid: cmd.Process.Pid}
}

// startSleep starts the process of startContainer; the caller kills it.
func startSleep(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start container process: %v", err)
	}
	return cmd
}

// ns returns the container's network namespace, closed with the test.
func (c *container) ns(t testing.TB) netns.NsHandle {
	t.Helper()
	ns, err := netns.GetFromPid(c.pid)
	if err != nil {
		t.Fatalf("netns.GetFromPid(%d) error = %v", c.pid, err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// run runs fn on a thread in the container's namespace.
func (c *container) run(t testing.TB, fn func() error) error { return runIn(t, c.ns(t), fn) }

// links returns the names of the interfaces seen through h, sorted.
func links(t testing.TB, h *netlink.Handle) []string {
	t.Helper()
	ls, err := h.LinkList()
	if err != nil {
		t.Fatalf("LinkList() error = %v", err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

// echoTCP listens on addr in ns and echoes every connection until the test
// ends.
func echoTCP(t testing.TB, ns netns.NsHandle, addr string) {
	t.Helper()
	var ln net.Listener
	err := runIn(t, ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(conn, conn)
				conn.Close()
			}()
		}
	}()
}

// echoUDP answers every datagram on addr in ns with "echo: " and the
// datagram.
func echoUDP(t testing.TB, ns netns.NsHandle, addr string) {
	t.Helper()
	var pc net.PacketConn
	err := runIn(t, ns, func() (err error) {
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("echo: "), buf[:n]...), from)
		}
	}()
}

// roundTripTCP connects to addr from ns, sends msg, half-closes and
// returns all that comes back.
func roundTripTCP(t testing.TB, ns netns.NsHandle, addr, msg string) (string, error) {
	t.Helper()
	var got []byte
	err := runIn(t, ns, func() error {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(msg)); err != nil {
			return err
		}
		conn.(*net.TCPConn).CloseWrite()
		got, err = io.ReadAll(conn)
		return err
	})
	return string(got), err
}

// roundTripUDP sends msg to addr from ns and returns the answer.
func roundTripUDP(t testing.TB, ns netns.NsHandle, addr, msg string) (string, error) {
	t.Helper()
	var got []byte
	err := runIn(t, ns, func() error {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, 2048)
		n, err := conn.Read(buf)
		got = buf[:n]
		return err
	})
	return string(got), err
}

// addrPort formats an address and port for net.Dial.
func addrPort(addr netip.Addr, port uint16) string {
	return netip.AddrPortFrom(addr, port).String()
}

// syncBuffer is a log sink that tests can read while the code writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
