package container

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
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
		t.Errorf("inside: hosts and interfaces = %q, want an address in 172.29.0.0/16 and eth0", out.String())
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
