package network

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func mustParsePorts(t testing.TB, specs ...string) []PortMapping {
	t.Helper()
	var ms []PortMapping
	for _, s := range specs {
		m, err := ParsePort(s)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m...)
	}
	return ms
}

func TestPublishedPorts(t *testing.T) {
	host := isolate(t)
	m := openManager(t, Options{})
	web, client := startContainer(t, "web"), startContainer(t, "client")
	echoTCP(t, web.ns(t), ":80")
	echoUDP(t, web.ns(t), ":53")

	ports := mustParsePorts(t, "8080:80", "127.0.0.1::80", "5353:53/udp", "127.0.0.1::53/udp")
	ep := attach(t, m, AttachRequest{ContainerID: web.id, Pid: web.pid, Ports: ports})
	attach(t, m, AttachRequest{ContainerID: client.id, Pid: client.pid})

	// The resolved ports: the given ones kept, the free ones chosen.
	if len(ep.Ports) != 4 {
		t.Fatalf("Attach().Ports = %v, want 4", ep.Ports)
	}
	for i, p := range ep.Ports {
		if p.HostPort == 0 || (ports[i].HostPort != 0 && p.HostPort != ports[i].HostPort) {
			t.Errorf("Attach().Ports[%d] = %v, want host port %d or a chosen one", i, p,
				ports[i].HostPort)
		}
	}
	tcpAll, tcpLocal, udpAll, udpLocal := ep.Ports[0], ep.Ports[1], ep.Ports[2], ep.Ports[3]
	localhost := netip.MustParseAddr("127.0.0.1")
	gw := ep.Gateway

	tests := []struct {
		name   string
		from   *container // nil: the host
		proto  string
		addr   netip.Addr
		port   uint16
		answer bool
	}{
		{"tcp from host loopback", nil, "tcp", localhost, tcpAll.HostPort, true},
		{"tcp from host bridge address", nil, "tcp", gw, tcpAll.HostPort, true},
		{"tcp from another container", client, "tcp", gw, tcpAll.HostPort, true},
		{"tcp from the container itself", web, "tcp", gw, tcpAll.HostPort, true},
		{"tcp on 127.0.0.1 only, from loopback", nil, "tcp", localhost, tcpLocal.HostPort, true},
		{"tcp on 127.0.0.1 only, not from bridge", nil, "tcp", gw, tcpLocal.HostPort, false},
		{"udp from host loopback", nil, "udp", localhost, udpAll.HostPort, true},
		{"udp from host bridge address", nil, "udp", gw, udpAll.HostPort, true},
		{"udp from another container", client, "udp", gw, udpAll.HostPort, true},
		{"udp on 127.0.0.1 only", nil, "udp", localhost, udpLocal.HostPort, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := host.ns
			if tt.from != nil {
				ns = tt.from.ns(t)
			}
			addr := addrPort(tt.addr, tt.port)
			var got, want string
			var err error
			if tt.proto == "tcp" {
				want = "GET / over tcp"
				got, err = roundTripTCP(t, ns, addr, want)
			} else {
				want = "echo: query over udp"
				got, err = roundTripUDP(t, ns, addr, "query over udp")
			}
			if tt.answer && (err != nil || got != want) {
				t.Errorf("%s %s = %q, %v, want %q", tt.proto, addr, got, err, want)
			}
			if !tt.answer && err == nil {
				t.Errorf("%s %s = %q, want no answer", tt.proto, addr, got)
			}
		})
	}

	t.Run("many connections at once", func(t *testing.T) {
		checkConcurrentConnections(t, host, addrPort(localhost, tcpAll.HostPort))
	})

	detach(t, m, web.id)
	detach(t, m, client.id)
	t.Run("closed after detach", func(t *testing.T) { checkPortsClosed(t, host, ep.Ports) })
	checkNothingLeft(t, host, m, web, client)
}

func TestPublishedPortNotListening(t *testing.T) {
	host := isolate(t)
	m := openManager(t, Options{})
	c := startContainer(t, "quiet")
	ep := attach(t, m, AttachRequest{ContainerID: c.id, Pid: c.pid,
		Ports: mustParsePorts(t, "127.0.0.1::9/tcp")})
	// The forwarder accepts, the container refuses: the client sees the
	// connection closed, as with docker-proxy.
	got, err := roundTripTCP(t, host.ns, addrPort(netip.MustParseAddr("127.0.0.1"),
		ep.Ports[0].HostPort), "hello")
	if got != "" {
		t.Errorf("round trip to a port nobody listens on = %q, %v, want nothing", got, err)
	}
	detach(t, m, c.id)
	checkNothingLeft(t, host, m, c)
}

// checkConcurrentConnections sends 20 messages of 100 kB at once through a
// published TCP port to an echo server and checks that each comes back
// whole.
func checkConcurrentConnections(t *testing.T, host *testNS, addr string) {
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			msg := fmt.Sprintf("message %d ", i) + strings.Repeat("x", 100_000)
			got, err := roundTripTCP(t, host.ns, addr, msg)
			if err == nil && got != msg {
				err = fmt.Errorf("connection %d: got %d bytes, want %d", i, len(got), len(msg))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// checkPortsClosed checks that published ports no longer answer on
// 127.0.0.1 and that the first one can be listened on again.
func checkPortsClosed(t *testing.T, host *testNS, ports []PortMapping) {
	localhost := netip.MustParseAddr("127.0.0.1")
	for _, p := range ports {
		var err error
		addr := addrPort(localhost, p.HostPort)
		if p.Proto == "tcp" {
			_, err = roundTripTCP(t, host.ns, addr, "anyone?")
		} else {
			_, err = roundTripUDP(t, host.ns, addr, "anyone?")
		}
		if err == nil {
			t.Errorf("%s %s still answers after Detach", p.Proto, addr)
		}
	}
	err := host.run(t, func() error {
		ln, err := net.Listen("tcp", addrPort(netip.IPv4Unspecified(), ports[0].HostPort))
		if err == nil {
			ln.Close()
		}
		return err
	})
	if err != nil {
		t.Errorf("listen on %d after Detach: %v", ports[0].HostPort, err)
	}
}
