package network

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/explain"
)

// A published port is served by a forwarder in the process that watches
// the container: it listens on the host and relays every connection (TCP)
// or datagram (UDP) to the container's address, which the host reaches
// through the bridge. See the package documentation for why a forwarder
// rather than DNAT.

const (
	// dialTimeout bounds the connection to the container; a container that
	// does not listen answers at once with a reset.
	dialTimeout = 5 * time.Second
	// udpIdle is how long a UDP flow (one client address) lives without a
	// datagram: UDP has no close, so flows expire.
	udpIdle = 90 * time.Second
)

// forward starts serving one published port, relaying to the container at
// target. It returns the mapping with the host port the kernel chose for
// HostPort 0.
func (m *Manager) forward(p PortMapping, target netip.Addr) (io.Closer, PortMapping, error) {
	host := ""
	if p.HostIP.IsValid() {
		host = p.HostIP.String()
	}
	listenAddr := net.JoinHostPort(host, strconv.Itoa(int(p.HostPort)))
	to := backend{
		addr: net.JoinHostPort(target.String(), strconv.Itoa(int(p.ContainerPort))),
		dial: m.dial,
	}
	to.log = m.log.With("proto", p.Proto, "listen", listenAddr, "backend", to.addr)

	// The listening socket belongs to the namespace it is made in.
	var c io.Closer
	var port int
	err := inNetns(m.hostNS, func() error {
		switch p.Proto {
		case "udp":
			pc, err := net.ListenPacket("udp", listenAddr)
			if err != nil {
				return err
			}
			c, port = newUDPForwarder(pc.(*net.UDPConn), to), localPort(pc.LocalAddr())
		case "tcp":
			ln, err := net.Listen("tcp", listenAddr)
			if err != nil {
				return err
			}
			c, port = newTCPForwarder(ln, to), localPort(ln.Addr())
		default:
			return fmt.Errorf("protocol %q: want tcp or udp", p.Proto)
		}
		return nil
	})
	if err != nil {
		return nil, p, fmt.Errorf("publish port %s: %w", p, err)
	}
	p.HostPort = uint16(port)
	explain.Step(to.log, explain.Networking,
		"-p: the host port's connections are copied to the container's",
		"listen(%s :%d) → %s", p.Proto, port, to.addr)
	return c, p, nil
}

func localPort(a net.Addr) int {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// dial connects to the container from the manager's namespace.
func (m *Manager) dial(network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(m.hostNS, func() error {
		var err error
		// An address literal: no resolver goroutine, the socket is made
		// by this goroutine, on this thread.
		c, err = net.DialTimeout(network, addr, dialTimeout)
		return err
	})
	return c, err
}

// backend is where a forwarder relays to, and how it gets there.
type backend struct {
	addr string
	dial func(network, addr string) (net.Conn, error)
	log  *slog.Logger
}

// tcpForwarder accepts connections and joins each to a new connection to
// the container. Between two TCP sockets, io.Copy moves the bytes with
// splice(2), without copying them into this process.
type tcpForwarder struct {
	ln net.Listener
	to backend

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newTCPForwarder(ln net.Listener, to backend) *tcpForwarder {
	f := &tcpForwarder{ln: ln, to: to, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *tcpForwarder) serve() {
	defer f.wg.Done()
	for {
		client, err := f.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: wait and try again.
			f.to.log.Warn("accept on published port", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		f.wg.Add(1)
		go f.relay(client)
	}
}

// relay copies both ways until each side has closed. A side's end of
// stream is passed on as a half close (shutdown(2) SHUT_WR), so protocols
// that send a request then wait for the answer keep working.
func (f *tcpForwarder) relay(client net.Conn) {
	defer f.wg.Done()
	backend, err := f.to.dial("tcp4", f.to.addr)
	if err != nil {
		f.to.log.Debug("dial container", "error", err)
		client.Close()
		return
	}
	if !f.track(client, backend) {
		return
	}
	defer f.untrack(client, backend)

	done := make(chan struct{})
	go func() {
		io.Copy(backend, client)
		backend.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(client, backend)
	client.(*net.TCPConn).CloseWrite()
	<-done
}

// track records a relay's connections, or closes them if the forwarder is
// closed already.
func (f *tcpForwarder) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		closeConns(conns)
		return false
	}
	for _, c := range conns {
		f.conns[c] = true
	}
	return true
}

func (f *tcpForwarder) untrack(conns ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		delete(f.conns, c)
	}
	closeConns(conns)
}

// Close stops listening, cuts the open connections and waits for the
// relays to end.
func (f *tcpForwarder) Close() error {
	err := f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}

func closeConns(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// udpForwarder relays datagrams. Each client address gets its own socket
// connected to the container, a flow, so that the container's answers can
// be told apart and sent back to the client they belong to.
type udpForwarder struct {
	pc *net.UDPConn
	to backend

	mu     sync.Mutex
	closed bool
	flows  map[netip.AddrPort]net.Conn
	wg     sync.WaitGroup
}

func newUDPForwarder(pc *net.UDPConn, to backend) *udpForwarder {
	f := &udpForwarder{pc: pc, to: to, flows: map[netip.AddrPort]net.Conn{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *udpForwarder) serve() {
	defer f.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, client, err := f.pc.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		flow, err := f.flow(client)
		if err != nil {
			f.to.log.Debug("dial container", "error", err)
			continue
		}
		flow.Write(buf[:n])
		// Traffic either way keeps a flow alive.
		flow.SetReadDeadline(time.Now().Add(udpIdle))
	}
}

// flow returns the client's flow, making it on its first datagram.
func (f *udpForwarder) flow(client netip.AddrPort) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if flow, ok := f.flows[client]; ok {
		return flow, nil
	}
	if f.closed {
		return nil, net.ErrClosed
	}
	flow, err := f.to.dial("udp4", f.to.addr)
	if err != nil {
		return nil, err
	}
	f.flows[client] = flow
	f.wg.Add(1)
	go f.answer(client, flow)
	return flow, nil
}

// answer sends the container's datagrams on a flow back to its client
// until the flow has been idle for udpIdle.
func (f *udpForwarder) answer(client netip.AddrPort, flow net.Conn) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.flows, client)
		f.mu.Unlock()
		flow.Close()
	}()
	buf := make([]byte, 65535)
	for {
		flow.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := flow.Read(buf)
		if err != nil {
			return
		}
		f.pc.WriteToUDPAddrPort(buf[:n], client)
	}
}

// Close stops listening, ends the flows and waits for their goroutines.
func (f *udpForwarder) Close() error {
	err := f.pc.Close()
	f.mu.Lock()
	f.closed = true
	for _, flow := range f.flows {
		flow.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}
