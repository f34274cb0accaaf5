package container

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-dev/skiff/network"
)

// inTestNetns runs the rest of the test on this goroutine's thread in a
// network namespace of its own: the bridge, veths, rules and published
// ports of the containers it starts never touch the host's network, and
// its traffic stays inside. Processes forked from this thread (the init,
// the monitor) start in that namespace too.
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
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("bring up lo in the test namespace: %v", err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread() // back in the host's namespace: reusable
		}
		orig.Close()
	})
}

// newNetFixture is newFixture with the stores opened inside a test
// network namespace.
func newNetFixture(t *testing.T) *fixture {
	requireRoot(t)
	inTestNetns(t)
	return newFixture(t)
}

func TestBridgeNetworkPublishedPort(t *testing.T) {
	f := newNetFixture(t)
	c, err := f.s.Create(f.img, "busybox", CreateOptions{
		Options: Options{Network: network.DefaultNetwork},
		Args:    []string{"httpd", "-f", "-p", "80", "-h", "/data"},
		Publish: []string{"127.0.0.1:8080:80"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.StartDetached(c); err != nil {
		t.Fatal(err)
	}
	c, _ = f.s.Get(c.ID)
	ports, err := f.s.Ports(c)
	if err != nil || FormatPorts(ports) != "127.0.0.1:8080->80/tcp" {
		t.Errorf("Ports() = %q, %v; want 127.0.0.1:8080->80/tcp", FormatPorts(ports), err)
	}

	// The page, fetched from the (test namespace's) host side.
	body := httpGet(t, "127.0.0.1:8080", "/old")
	if !strings.HasSuffix(body, "\r\n\r\nold\n") {
		t.Errorf("GET /old through the published port = %q, want %q", body, "old\n")
	}

	// The container has eth0 with an address of the bridge's subnet, and
	// /etc/hosts names it.
	var out bytes.Buffer
	_, err = f.s.Exec(c, ExecOptions{Args: []string{"sh", "-c", "cat /etc/hosts; ls /sys/class/net"}},
		Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "172.29.") || !strings.Contains(out.String(), "eth0") {
		t.Errorf("inside: hosts and interfaces = %q, want an address in 172.29.0.0/16 and eth0",
			out.String())
	}

	if err := f.s.Stop(c, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second); err == nil {
		t.Errorf("the published port still answers after stop")
	}
}

// httpGet fetches path from addr with HTTP/1.0 over a socket made on this
// goroutine's thread: net/http would dial from another goroutine, and so
// possibly from another network namespace.
func httpGet(t *testing.T, addr, path string) string {
	t.Helper()
	var lastErr error
	// httpd may need a moment to listen; until then the forwarder accepts
	// and closes, and the answer is empty.
	for range 100 {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			io.WriteString(conn, "GET "+path+" HTTP/1.0\r\n\r\n")
			data, _ := io.ReadAll(conn)
			conn.Close()
			if len(data) > 0 {
				return string(data)
			}
			err = io.ErrUnexpectedEOF
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s%s: %v", addr, path, lastErr)
	return ""
}

func TestNetworkModes(t *testing.T) {
	f := newNetFixture(t)
	tests := []struct {
		network string
		want    []string
	}{
		{"none", []string{"lo"}},
		// The test's namespace has only lo: host mode sees exactly that.
		{"host", []string{"lo"}},
		{network.DefaultNetwork, []string{"eth0", "lo"}},
	}
	// No t.Run: a subtest runs on another goroutine, outside the test's
	// network namespace.
	for _, tt := range tests {
		// /proc/net/dev lists the interfaces of the reader's namespace.
		out, st := f.run(t, Options{Network: tt.network}, "cat", "/proc/net/dev")
		if got := interfaces(out); !slices.Equal(got, tt.want) || st.ExitCode != 0 {
			t.Errorf("--network %s: interfaces %q, exit %d; want %q", tt.network, got, st.ExitCode, tt.want)
		}
	}
}

// interfaces reads the names out of /proc/net/dev, sorted.
func interfaces(procNetDev string) []string {
	var names []string
	for _, line := range strings.Split(procNetDev, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	slices.Sort(names)
	return names
}

// TestKilledMonitorReleasesNetwork is TestKilledMonitorIsReconciled on the
// default network, with a published port. The port's forwarder lives in
// the monitor and dies with it, so the port is free as it exits; the
// address stays with the container while it runs, and is released by the
// next command that finds both gone, as the veth is by the kernel.
func TestKilledMonitorReleasesNetwork(t *testing.T) {
	f := newNetFixture(t)
	c, err := f.s.Create(f.img, "busybox", CreateOptions{
		Options: Options{Network: network.DefaultNetwork},
		Args:    []string{"sleep", "30"},
		Publish: []string{"127.0.0.1:8082:80"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.StartDetached(c); err != nil {
		t.Fatal(err)
	}
	c, _ = f.s.Get(c.ID)
	st := c.State
	if canListen("127.0.0.1:8082") {
		t.Fatalf("port 8082 is free while the container publishes it")
	}

	// kill -9 of the monitor: the port goes with it; the container runs
	// on, and keeps its address.
	syscall.Kill(st.MonitorPid, syscall.SIGKILL)
	waitExit(st.MonitorPid, st.MonitorStart, 5*time.Second)
	if !eventually(func() bool { return canListen("127.0.0.1:8082") }) {
		t.Errorf("port 8082 is still bound 5s after kill -9 of the monitor")
	}
	if running, _ := f.s.List(false); len(running) != 1 {
		t.Fatalf("List(false) with the container alive = %d running, want 1", len(running))
	}
	if eps := bridgeEndpoints(t, f); len(eps) != 1 {
		t.Errorf("endpoints of the running container = %d, want 1", len(eps))
	}

	// Then the container dies too: any command releases the address.
	syscall.Kill(st.Pid, syscall.SIGKILL)
	waitExit(st.Pid, st.PidStart, 5*time.Second)
	if running, _ := f.s.List(false); len(running) != 0 {
		t.Errorf("List(false) after kill -9 of both = %d running, want 0", len(running))
	}
	if eps := bridgeEndpoints(t, f); len(eps) != 0 {
		t.Errorf("endpoints after kill -9 of both and List = %v, want none", eps)
	}
	if !eventually(func() bool { return hostVeths(t) == 0 }) {
		t.Errorf("the dead container's veth is still on the bridge after 5s")
	}
}

// eventually reports whether cond becomes true within 5 seconds: what a
// process holds is let go of as it exits, what its network namespace
// holds a moment after.
func eventually(cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// canListen reports whether a TCP port is free in this thread's network
// namespace.
func canListen(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// bridgeEndpoints returns the endpoints recorded on the default network.
func bridgeEndpoints(t *testing.T, f *fixture) []network.Endpoint {
	t.Helper()
	n, err := f.s.Networks().Inspect(network.DefaultNetwork)
	if err != nil {
		t.Fatal(err)
	}
	return n.Endpoints
}

// hostVeths counts the veths on the default bridge in this thread's
// network namespace.
func hostVeths(t *testing.T) int {
	t.Helper()
	br, err := netlink.LinkByName(network.DefaultBridge)
	if err != nil {
		return 0
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			n++
		}
	}
	return n
}
