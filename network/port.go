package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping publishes one container port on the host: connections to
// HostIP:HostPort reach the container's ContainerPort.
type PortMapping struct {
	// HostIP is the host address to listen on; the zero value means all
	// of them (0.0.0.0 and ::).
	HostIP netip.Addr `json:"host_ip,omitzero"`
	// HostPort 0 asks for a free port, chosen when the port is published
	// (`-p 80`, `-P`).
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	// Proto is "tcp" or "udp".
	Proto string `json:"proto"`
}

// String formats a mapping as `docker ps` does: 0.0.0.0:8080->80/tcp.
func (p PortMapping) String() string {
	host := "0.0.0.0"
	if p.HostIP.IsValid() {
		host = p.HostIP.String()
	}
	return fmt.Sprintf("%s->%d/%s", joinHostPort(host, p.HostPort), p.ContainerPort, p.Proto)
}

func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// ParsePort parses a -p value, [IP:][HOST:]CONTAINER[/tcp|/udp], into one
// mapping per port. HOST and CONTAINER may be ranges of equal length
// (8000-8009:80-89); a missing or empty HOST gives HostPort 0, a free port
// chosen at start. An IPv6 address goes in brackets: [::1]:8080:80. An
// image's EXPOSE entry ("80/tcp") parses to a mapping for -P.
func ParsePort(rawSpec string) ([]PortMapping, error) {
	ms, err := parsePort(rawSpec)
	if err != nil {
		return nil, fmt.Errorf("parse port spec %q: %w", rawSpec, err)
	}
	return ms, nil
}

func parsePort(spec string) ([]PortMapping, error) {
	// The protocol after the last slash.
	proto := "tcp"
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		spec, proto = spec[:i], strings.ToLower(spec[i+1:])
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("protocol %q: want tcp or udp", proto)
		}
	}

	ip, hostPart, containerPart, err := splitPortSpec(spec)
	if err != nil {
		return nil, err
	}
	cFirst, cLast, err := parseRange(containerPart)
	if err != nil {
		return nil, err
	}
	hFirst, hLast := uint16(0), uint16(0)
	if hostPart != "" {
		if hFirst, hLast, err = parseRange(hostPart); err != nil {
			return nil, err
		}
		if hLast-hFirst != cLast-cFirst {
			return nil, fmt.Errorf("host range %s and container range %s differ in length",
				hostPart, containerPart)
		}
	}

	var ms []PortMapping
	for i := 0; i <= int(cLast-cFirst); i++ {
		m := PortMapping{HostIP: ip, ContainerPort: cFirst + uint16(i), Proto: proto}
		if hostPart != "" {
			m.HostPort = hFirst + uint16(i)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// splitPortSpec splits [IP:][HOST:]CONTAINER. The address is whatever
// precedes the last two colons, so that an unbracketed IPv6 address is
// refused rather than misread.
func splitPortSpec(spec string) (ip netip.Addr, host, container string, err error) {
	parts := strings.Split(spec, ":")
	switch {
	case len(parts) == 1:
		return ip, "", parts[0], nil
	case len(parts) == 2:
		return ip, parts[0], parts[1], nil
	}
	rawIP := strings.Join(parts[:len(parts)-2], ":")
	host, container = parts[len(parts)-2], parts[len(parts)-1]
	if strings.HasPrefix(rawIP, "[") && strings.HasSuffix(rawIP, "]") {
		rawIP = rawIP[1 : len(rawIP)-1]
	} else if strings.Contains(rawIP, ":") {
		return ip, "", "", fmt.Errorf("address %q: put an IPv6 address in brackets", rawIP)
	}
	ip, err = netip.ParseAddr(rawIP)
	if err != nil {
		return ip, "", "", fmt.Errorf("host address %q: %w", rawIP, err)
	}
	if ip.Zone() != "" {
		return ip, "", "", fmt.Errorf("host address %q: zones are not supported", rawIP)
	}
	if ip.IsUnspecified() {
		// 0.0.0.0 and :: both mean every address, the zero value.
		ip = netip.Addr{}
	}
	return ip, host, container, nil
}

// parseRange parses "80" or "8000-8009".
func parseRange(s string) (first, last uint16, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if first, err = parsePortNumber(lo); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, first, nil
	}
	if last, err = parsePortNumber(hi); err != nil {
		return 0, 0, err
	}
	if last < first {
		return 0, 0, fmt.Errorf("port range %q: end before start", s)
	}
	return first, last, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q: want a number from 1 to 65535", s)
	}
	return uint16(n), nil
}
