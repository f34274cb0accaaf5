package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/explain"
)

// ensureBridge returns the network's bridge, making it on first use: the
// bridge with the gateway address, up, then IP forwarding and the NAT rule.
// A bridge that exists is trusted to have them (after a reboot neither the
// bridge nor the rules are left, so both come back together).
//
// Precondition: the caller holds the network's lock.
func (m *Manager) ensureBridge(cfg *Config) (netlink.Link, error) {
	br, err := m.host.LinkByName(cfg.Bridge)
	if err == nil {
		if _, ok := br.(*netlink.Bridge); !ok {
			return nil, fmt.Errorf("use bridge %q: it is a %s device", cfg.Bridge, br.Type())
		}
		return br, nil
	}
	if !errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil, fmt.Errorf("find bridge %q: %w", cfg.Bridge, err)
	}

	br, err = m.addBridge(cfg)
	if err != nil {
		return nil, err
	}
	if err := m.enableForwarding(); err != nil {
		m.log.Warn("cannot enable IP forwarding: containers reach only the host",
			"error", err)
	}
	m.addNAT(cfg)
	return br, nil
}

// addBridge makes the bridge, gives it the gateway address and brings it
// up: ip link add NAME type bridge; ip addr add GW/BITS dev NAME; ip link
// set NAME up.
func (m *Manager) addBridge(cfg *Config) (netlink.Link, error) {
	// A fixed MAC address: otherwise a bridge takes the lowest one of its
	// ports, and the gateway's changes whenever a container comes or goes.
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.HardwareAddr = cfg.Bridge, cfg.MTU, macOf(cfg.Gateway)
	br := &netlink.Bridge{LinkAttrs: attrs}
	explain.Step(m.log, explain.Networking, "a virtual switch for the network's containers",
		"ip link add %s mtu %d address %s type bridge", cfg.Bridge, cfg.MTU,
		attrs.HardwareAddr)
	if err := m.host.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add bridge %q: %w", cfg.Bridge, err)
	}

	gw := netip.PrefixFrom(cfg.Gateway, cfg.Subnet.Bits())
	explain.Step(m.log, explain.Networking, "the host's address on the bridge: the gateway",
		"ip addr add %s dev %s", gw, cfg.Bridge)
	if err := m.host.AddrAdd(br, &netlink.Addr{IPNet: ipNet(gw)}); err != nil {
		m.host.LinkDel(br)
		return nil, fmt.Errorf("add address %s to bridge %q: %w", gw, cfg.Bridge, err)
	}
	if err := m.host.LinkSetUp(br); err != nil {
		m.host.LinkDel(br)
		return nil, fmt.Errorf("set bridge %q up: %w", cfg.Bridge, err)
	}
	m.log.Info("bridge created", "network", cfg.Name, "bridge", cfg.Bridge, "address", gw)
	return br, nil
}

// addNAT installs the network's masquerade rule. Without it containers
// still reach the host and each other, so a missing tool or a failure is
// reported and tolerated.
func (m *Manager) addNAT(cfg *Config) {
	if _, none := m.firewall.(noFirewall); none {
		m.noNAT.Do(func() {
			m.log.Warn("neither nft nor iptables found: containers get no outbound NAT")
		})
		return
	}
	if err := m.firewall.add(cfg); err != nil {
		m.log.Warn("cannot install outbound NAT rule", "network", cfg.Name, "error", err)
		return
	}
	m.log.Debug("outbound NAT rule installed", "network", cfg.Name,
		"firewall", m.firewall.String(), "subnet", cfg.Subnet, "bridge", cfg.Bridge)
}

// teardown removes a network's bridge and NAT rule, whichever exist.
// Deleting the bridge detaches its ports; it does not delete them.
//
// Precondition: no endpoint is left on the network.
func (m *Manager) teardown(cfg *Config) {
	if br, err := m.host.LinkByName(cfg.Bridge); err == nil {
		m.log.Debug("ip link del", "bridge", cfg.Bridge)
		if err := m.host.LinkDel(br); err != nil {
			m.log.Warn("cannot delete bridge", "bridge", cfg.Bridge, "error", err)
		}
	}
	if _, none := m.firewall.(noFirewall); !none {
		m.log.Debug("removing outbound NAT rule", "network", cfg.Name)
		if err := m.firewall.remove(cfg); err != nil {
			m.log.Warn("cannot remove outbound NAT rule", "network", cfg.Name, "error", err)
		}
	}
}

// ipForward is the switch between a host and a router: with 0 the kernel
// drops packets that are addressed to another host, instead of routing
// them on. It is one switch for the whole network namespace, for every
// interface.
const ipForward = "/proc/sys/net/ipv4/ip_forward"

// enableForwarding sets net.ipv4.ip_forward to 1, as Docker does, and
// says so once: the host routes for every interface from now on.
func (m *Manager) enableForwarding() error {
	return inNetns(m.hostNS, func() error {
		// The file shows the namespace of the thread that opens it.
		data, err := os.ReadFile(ipForward)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(data)) == "1" {
			return nil
		}
		explain.Step(m.log, explain.Networking,
			"the host must route packets between the bridge and its other interfaces",
			"write(%q, \"1\")", ipForward)
		if err := os.WriteFile(ipForward, []byte("1\n"), 0o644); err != nil {
			return err
		}
		m.log.Info("enabled IPv4 forwarding (net.ipv4.ip_forward=1) for the whole host")
		return nil
	})
}

// uplinkMTU returns the MTU of the interface of the host's default route:
// packets of that size from a container then leave the host as they are.
// Without a default route, 1500.
func (m *Manager) uplinkMTU() int {
	routes, err := m.host.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 1500
	}
	for _, r := range routes {
		if ones, _ := maskOf(r.Dst); ones != 0 {
			continue
		}
		if link, err := m.host.LinkByIndex(r.LinkIndex); err == nil {
			return link.Attrs().MTU
		}
	}
	return 1500
}

// hostRoutes returns the destinations of the host's IPv4 routes, but the
// default route: a subnet on one of them would hide part of the host's
// network.
func (m *Manager) hostRoutes() []netip.Prefix {
	routes, err := m.host.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil
	}
	var ps []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if p, ok := prefixOf(r.Dst); ok && p.Bits() > 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

// maskOf returns the prefix length of a route's destination; nil is the
// default route.
func maskOf(dst *net.IPNet) (ones, bits int) {
	if dst == nil {
		return 0, 32
	}
	return dst.Mask.Size()
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   p.Addr().AsSlice(),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), bits), true
}

// macOf derives a MAC address from an IPv4 address, as Docker does: the
// locally administered prefix 02:42 (bit 1 of the first byte set: not
// from a vendor) and the address's four bytes. Addresses are unique on a
// network, so are the MACs; a reused address gets the same MAC, so peers'
// ARP caches stay right.
func macOf(ip netip.Addr) net.HardwareAddr {
	b := ip.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}
