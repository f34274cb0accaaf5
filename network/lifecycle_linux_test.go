package network

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func TestParallelAttachDetach(t *testing.T) {
	host := isolate(t)
	m := openManager(t, Options{})
	const n = 50
	cs := make([]*container, n)
	for i := range cs {
		cs[i] = startContainer(t, fmt.Sprintf("par%02d", i))
		echoTCP(t, cs[i].ns(t), ":80")
	}

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range cs {
		wg.Go(func() { errs <- attachUseDetach(t, host, m, c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	checkNothingLeft(t, host, m, cs...)
	// One NAT rule for the network, none per container.
	rules := host.command(t, "nft", "list", "ruleset")
	if got := strings.Count(rules, "masquerade"); got != 1 {
		t.Errorf("nft ruleset has %d masquerade rules, want 1:\n%s", got, rules)
	}
}

// attachUseDetach attaches c with a published port, talks to it through
// the port, and detaches it.
func attachUseDetach(t *testing.T, host *testNS, m *Manager, c *container) error {
	ep, err := m.Attach(AttachRequest{ContainerID: c.id, ContainerName: c.id, Pid: c.pid,
		Ports: []PortMapping{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80,
			Proto: "tcp"}}})
	if err != nil {
		return fmt.Errorf("Attach(%s): %w", c.id, err)
	}
	msg := "hello " + c.id
	got, err := roundTripTCP(t, host.ns, addrPort(ep.Ports[0].HostIP, ep.Ports[0].HostPort), msg)
	if err != nil || got != msg {
		err = fmt.Errorf("%s through %v = %q, %v, want the echo", c.id, ep.Ports[0], got, err)
	}
	if detachErr := m.Detach(c.id); detachErr != nil {
		return fmt.Errorf("Detach(%s): %w", c.id, detachErr)
	}
	return err
}

func TestReconcileAfterCrash(t *testing.T) {
	host := isolate(t)
	root, leaseDir := t.TempDir(), t.TempDir()
	m, err := Open(root, Options{LeaseDir: leaseDir}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create("app", netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostsOf := func(c *container) string { return filepath.Join(dir, c.id) }
	keep, victim := startContainer(t, "keep"), startContainer(t, "victim")
	for _, c := range []*container{keep, victim} {
		os.WriteFile(hostsOf(c), []byte("127.0.0.1\tlocalhost\n"), 0o644)
	}
	echoTCP(t, victim.ns(t), ":80")
	attach(t, m, AttachRequest{Network: "app", ContainerID: keep.id, ContainerName: "keep",
		Pid: keep.pid, HostsFile: hostsOf(keep)})

	// The victim's watcher: another process, which attaches the container
	// with a published port and is then killed, so it never detaches.
	ep, kill := attachInHelper(t, host, root, leaseDir, AttachRequest{Network: "app",
		ContainerID: victim.id, ContainerName: "victim", Pid: victim.pid,
		HostsFile: hostsOf(victim), Ports: mustParsePorts(t, "127.0.0.1::80")})
	port := addrPort(netip.MustParseAddr("127.0.0.1"), ep.Ports[0].HostPort)
	if got, err := roundTripTCP(t, host.ns, port, "before"); got != "before" {
		t.Fatalf("published port before the crash = %q, %v, want the echo", got, err)
	}
	if !strings.Contains(readFile(t, hostsOf(keep)), "victim") {
		t.Fatalf("keep's hosts file does not name victim")
	}
	kill()

	// The crash left the veth, the address and the hosts entry; the
	// forwarder died with its process.
	if _, err := host.handle(t).LinkByName(ep.HostVeth); err != nil {
		t.Fatalf("veth %s gone before Reconcile: %v", ep.HostVeth, err)
	}
	if _, err := roundTripTCP(t, host.ns, port, "after"); err == nil {
		t.Errorf("published port answers after its watcher died")
	}
	orphan := addOrphanVeth(t, host, mustInspect(t, m, "app").Bridge)
	leases := m.leasesOn(&mustInspect(t, m, "app").Config)
	if _, ok := readLease(t, leases, ep.IP()); !ok {
		t.Fatalf("victim's lease of %s gone before Reconcile", ep.IP())
	}

	if err := m.Reconcile(func(id string) bool { return id != victim.id }); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	n := mustInspect(t, m, "app")
	if len(n.Endpoints) != 1 || n.Endpoints[0].ContainerID != keep.id {
		t.Errorf("endpoints after Reconcile = %v, want only keep's", n.Endpoints)
	}
	for _, name := range []string{ep.HostVeth, orphan} {
		if _, err := host.handle(t).LinkByName(name); err == nil {
			t.Errorf("veth %s still there after Reconcile", name)
		}
	}
	if got := links(t, nsHandle(t, victim.ns(t))); len(got) != 1 {
		t.Errorf("victim's interfaces after Reconcile = %v, want [lo]", got)
	}
	if strings.Contains(readFile(t, hostsOf(keep)), "victim") {
		t.Errorf("keep's hosts file still names victim:\n%s", readFile(t, hostsOf(keep)))
	}
	if h, ok := readLease(t, leases, ep.IP()); ok {
		t.Errorf("lease of %s after Reconcile = %+v, want none", ep.IP(), h)
	}

	detach(t, m, keep.id)
	checkNothingLeft(t, host, m, keep, victim)
}

func mustInspect(t *testing.T, m *Manager, name string) *Network {
	t.Helper()
	n, err := m.Inspect(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// attachInHelper attaches a container from a helper process started in
// the test's namespace, on the store at root with its leases in leaseDir,
// and returns the endpoint it reports and a function that kills the helper
// with SIGKILL.
func attachInHelper(t *testing.T, host *testNS, root, leaseDir string, req AttachRequest) (
	*Endpoint, func()) {
	t.Helper()
	data, _ := json.Marshal(req)
	cmd := helperCommand("attach", "SKIFF_ROOT="+root, "SKIFF_LEASES="+leaseDir,
		"SKIFF_REQUEST="+string(data))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The helper inherits the namespace of the thread that forks it.
	if err := host.run(t, cmd.Start); err != nil {
		t.Fatal(err)
	}
	var ep Endpoint
	err = json.NewDecoder(bufio.NewReader(stdout)).Decode(&ep)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper's endpoint: %v", err)
	}
	kill := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Cleanup(kill)
	return &ep, kill
}

// addOrphanVeth adds a veth pair on a bridge that no endpoint records, as
// a crash of some older skiff could leave, and returns its name.
func addOrphanVeth(t *testing.T, host *testNS, bridge string) string {
	t.Helper()
	h := host.handle(t)
	br, err := h.LinkByName(bridge)
	if err != nil {
		t.Fatal(err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MasterIndex = vethPrefix+"dead000", br.Attrs().Index
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "orphanpeer"}); err != nil {
		t.Fatal(err)
	}
	return attrs.Name
}

func TestOutboundNAT(t *testing.T) {
	for _, fw := range []string{"nft", "iptables", "none"} {
		t.Run(fw, func(t *testing.T) { testOutboundNAT(t, fw) })
	}
}

// testOutboundNAT gives the test's host an uplink to an "outside"
// namespace and checks that a container reaches a server there, seen from
// the outside with the host's uplink address: masqueraded. The outside
// has no route to the containers' subnet, so without NAT the answer could
// not come back.
func testOutboundNAT(t *testing.T, fw string) {
	if fw != "none" {
		if _, err := exec.LookPath(fw); err != nil {
			t.Skipf("skipping: no %s: %v", fw, err)
		}
	}
	host := isolate(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := Open(t.TempDir(), Options{Firewall: fw, LeaseDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	outside := startContainer(t, "outside")
	uplink := addUplink(t, host, outside)
	serveRemoteAddr(t, outside, "198.51.100.2:9000")

	cfg, err := m.Create("out", netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	c := startContainer(t, "c")
	attach(t, m, AttachRequest{Network: "out", ContainerID: c.id, Pid: c.pid})

	got, err := roundTripTCP(t, c.ns(t), "198.51.100.2:9000", "")
	switch {
	case fw == "none" && err == nil:
		t.Errorf("container -> outside without NAT = %q, want no answer", got)
	case fw != "none" && (err != nil || !strings.HasPrefix(got, uplink+":")):
		t.Errorf("container -> outside: server saw %q, %v, want %s:port", got, err, uplink)
	}

	if fw == "none" {
		if n := strings.Count(logs.String(), "neither nft nor iptables"); n != 1 {
			t.Errorf("warning about missing firewall logged %d times, want 1", n)
		}
	} else {
		checkNATRule(t, host, fw, cfg, true)
	}
	forward, err := readIn(t, host, ipForward)
	if err != nil || forward != "1" {
		t.Errorf("%s in the test's namespace = %q, %v, want 1", ipForward, forward, err)
	}

	detach(t, m, c.id)
	if err := m.Remove("out"); err != nil {
		t.Fatal(err)
	}
	if fw != "none" {
		checkNATRule(t, host, fw, cfg, false)
	}
}

// checkNATRule checks that the network's masquerade rule is there, or not.
func checkNATRule(t *testing.T, host *testNS, fw string, cfg *Config, want bool) {
	t.Helper()
	var out, rule string
	switch fw {
	case "nft":
		out = host.command(t, "nft", "list", "ruleset")
		rule = fmt.Sprintf(`ip saddr %s oifname != "%s" masquerade`, cfg.Subnet, cfg.Bridge)
	case "iptables":
		out = host.command(t, "iptables", "-t", "nat", "-S", "POSTROUTING")
		rule = fmt.Sprintf("-A POSTROUTING -s %s ! -o %s -m comment "+
			`--comment "skiff network %s" -j MASQUERADE`, cfg.Subnet, cfg.Bridge, cfg.Name)
	}
	if got := strings.Contains(out, rule); got != want {
		t.Errorf("%s rules contain %q = %v, want %v:\n%s", fw, rule, got, want, out)
	}
}

// addUplink links the test's host to outside with a veth pair,
// 198.51.100.1/24 (a documentation range) on the host, .2 outside, and
// returns the host's address.
func addUplink(t *testing.T, host *testNS, outside *container) string {
	t.Helper()
	h, oh := host.handle(t), nsHandle(t, outside.ns(t))
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "uplink0"
	err := h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(outside.ns(t))})
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		h    *netlink.Handle
		name string
		addr string
	}{{h, "uplink0", "198.51.100.1/24"}, {oh, "eth0", "198.51.100.2/24"}} {
		link, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := side.h.AddrAdd(link, &netlink.Addr{
			IPNet: ipNet(netip.MustParsePrefix(side.addr))}); err != nil {
			t.Fatal(err)
		}
		if err := side.h.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
	}
	return "198.51.100.1"
}

// serveRemoteAddr answers every connection to addr in c's namespace with
// the address the connection came from.
func serveRemoteAddr(t *testing.T, c *container, addr string) {
	t.Helper()
	var ln net.Listener
	err := c.run(t, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte(conn.RemoteAddr().String()))
			conn.Close()
		}
	}()
}

// readIn reads a file from a thread in the namespace: a file under
// /proc/sys/net shows the namespace of the thread that opens it.
func readIn(t *testing.T, host *testNS, path string) (string, error) {
	var data []byte
	err := host.run(t, func() (err error) {
		data, err = os.ReadFile(path)
		return err
	})
	return strings.TrimSpace(string(data)), err
}

func TestDetachExitedContainer(t *testing.T) {
	host := isolate(t)
	m := openManager(t, Options{})
	cmd := startSleep(t)
	c := &container{id: "exited", pid: cmd.Process.Pid}
	ep := attach(t, m, AttachRequest{ContainerID: c.id, Pid: c.pid})

	// As the watcher does: the container's process has exited and been
	// waited for, then Detach.
	cmd.Process.Kill()
	cmd.Wait()
	detach(t, m, c.id)
	if n := mustInspect(t, m, DefaultNetwork); len(n.Endpoints) != 0 {
		t.Errorf("endpoints after Detach = %v, want none", n.Endpoints)
	}
	// The kernel deletes the pair with the namespace, shortly.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := host.handle(t).LinkByName(ep.HostVeth)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("veth %s still there 5s after its container exited", ep.HostVeth)
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkNothingLeft(t, host, m)
}
