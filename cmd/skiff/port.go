package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/network"
)

// This file holds skiff port, which lists the ports a running container
// publishes on the host, and what skiff ps shows of them in its PORTS
// column.

// newPortCommand builds "skiff port" and its twin "skiff container port".
func newPortCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "List port mappings or a specific mapping for the container",
		usage:   "CONTAINER [PRIVATE_PORT[/PROTO]]",
		example: "skiff port web\nskiff port web 80/tcp",
		args:    argRule{min: 1, max: 2},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error { return runPort(a, c.path, args) }
	return c
}

func runPort(a *app, path string, args []string) error {
	var private *privatePort
	if len(args) == 2 {
		p, err := parsePrivatePort(args[1])
		if err != nil {
			return &usageError{path: path, err: err}
		}
		private = &p
	}
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	c, err := s.Get(args[0])
	if err != nil {
		return containerError(args[0], err)
	}
	ports, err := s.Ports(c)
	if err != nil {
		return err
	}

	lines := portLines(ports, private)
	if private != nil && len(lines) == 0 {
		return &noSuchPortError{port: *private, ref: args[0]}
	}
	for _, line := range lines {
		fmt.Fprintln(a.stdout, line)
	}
	return nil
}

// privatePort is a port of the container as skiff port takes it: 80 or
// 80/tcp, or 53/udp.
type privatePort struct {
	port  uint16
	proto string
}

func (p privatePort) String() string { return fmt.Sprintf("%d/%s", p.port, p.proto) }

// parsePrivatePort reads PRIVATE_PORT[/PROTO]; the protocol defaults to
// tcp, as in docker port.
func parsePrivatePort(raw string) (privatePort, error) {
	num, proto, hasProto := strings.Cut(raw, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" {
		return privatePort{}, fmt.Errorf("invalid port %q: the protocol must be tcp or udp", raw)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return privatePort{}, fmt.Errorf("invalid port %q: want a number from 1 to 65535", raw)
	}
	return privatePort{port: uint16(n), proto: proto}, nil
}

// noSuchPortError is a container port that skiff port was asked about and
// that the container does not publish, in Docker's words.
type noSuchPortError struct {
	port privatePort
	ref  string
}

func (e *noSuchPortError) Error() string {
	return fmt.Sprintf("No public port '%s' published for %s", e.port, e.ref)
}

// portLines are the lines of skiff port: "80/tcp -> 0.0.0.0:8080" for
// every published port, or, when asked about one container port, only
// the host addresses it is published on ("0.0.0.0:8080").
func portLines(ports []network.PortMapping, private *privatePort) []string {
	var lines []string
	for _, p := range sortPorts(ports) {
		host := hostAddress(p)
		switch {
		case private == nil:
			lines = append(lines, fmt.Sprintf("%d/%s -> %s", p.ContainerPort, p.Proto, host))
		case p.ContainerPort == private.port && p.Proto == private.proto:
			lines = append(lines, host)
		}
	}
	return lines
}

// hostAddress is where a published port listens on the host: 0.0.0.0:8080
// for every address, 127.0.0.1:8080, [::1]:8080.
func hostAddress(p network.PortMapping) string {
	ip := netip.IPv4Unspecified()
	if p.HostIP.IsValid() {
		ip = p.HostIP
	}
	return netip.AddrPortFrom(ip, p.HostPort).String()
}

// sortPorts returns ports sorted as docker shows them: by container port,
// then protocol, then host address and port.
func sortPorts(ports []network.PortMapping) []network.PortMapping {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, func(a, b network.PortMapping) int {
		return cmp.Or(
			cmp.Compare(a.ContainerPort, b.ContainerPort),
			strings.Compare(a.Proto, b.Proto),
			a.HostIP.Compare(b.HostIP),
			cmp.Compare(a.HostPort, b.HostPort),
		)
	})
	return sorted
}

// portsColumn is the PORTS column of skiff ps: "0.0.0.0:8080->80/tcp",
// several joined by ", ".
func portsColumn(ports []network.PortMapping) string {
	return container.FormatPorts(sortPorts(ports))
}

// publishedPorts returns the ports published by every container attached
// to a network, by container ID: one read of each network's endpoints, so
// that skiff ps costs the same with one container or a hundred.
func publishedPorts(s *container.Store) (map[string][]network.PortMapping, error) {
	nets := s.Networks()
	cfgs, err := nets.List()
	if err != nil {
		return nil, err
	}
	ports := map[string][]network.PortMapping{}
	for _, cfg := range cfgs {
		n, err := nets.Inspect(cfg.Name)
		if errors.Is(err, network.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		for _, ep := range n.Endpoints {
			ports[ep.ContainerID] = append(ports[ep.ContainerID], ep.Ports...)
		}
	}
	return ports, nil
}
