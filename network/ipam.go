package network

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// state is what <root>/networks/<name>/endpoints.json holds: the
// endpoints, which are also the IPAM's record of the addresses handed out,
// and the last address handed out, where the next search starts.
type state struct {
	Last      netip.Addr           `json:"last,omitzero"`
	Endpoints map[string]*Endpoint `json:"endpoints"`
}

// sorted returns the endpoints ordered by address.
func (st *state) sorted() []*Endpoint {
	eps := slices.Collect(maps.Values(st.Endpoints))
	slices.SortFunc(eps, func(a, b *Endpoint) int { return a.IP().Compare(b.IP()) })
	return eps
}

// allocate hands out a free address of the network's subnet: never the
// network address, the gateway, the broadcast address, or one held by an
// endpoint. It searches from the address after the last one handed out and
// wraps around, so a released address is reused as late as possible: a
// peer's ARP cache may still map it to the old container's MAC address.
//
// Each address free in st is offered to take, which leases it on the
// network's bridge for all stores (see leases.take) and returns true, or
// returns false when a container of another store has it there.
//
// Precondition: the caller holds the network's lock and records the
// address in st before releasing it.
func (st *state) allocate(cfg *Config, take func(netip.Addr) (bool, error)) (
	netip.Addr, error) {
	used := map[netip.Addr]bool{cfg.Gateway: true}
	for _, ep := range st.Endpoints {
		used[ep.IP()] = true
	}
	first, last := hostRange(cfg.Subnet)

	addr := first
	if st.Last.IsValid() && cfg.Subnet.Contains(st.Last) && st.Last != last {
		addr = st.Last.Next()
	}
	for range addressCount(cfg.Subnet) {
		if !used[addr] {
			ok, err := take(addr)
			if err != nil {
				return netip.Addr{}, err
			}
			if ok {
				st.Last = addr
				return addr, nil
			}
		}
		if addr = addr.Next(); addr == last.Next() {
			addr = first
		}
	}
	return netip.Addr{}, fmt.Errorf("allocate address in %s: %w", cfg.Subnet, ErrNoAddresses)
}

// hostRange returns the first and last usable addresses of an IPv4 subnet:
// all but the network address (all host bits 0) and the broadcast address
// (all host bits 1).
func hostRange(subnet netip.Prefix) (first, last netip.Addr) {
	network := subnet.Masked().Addr().As4()
	var broadcast [4]byte
	hostBits := 32 - subnet.Bits()
	binary.BigEndian.PutUint32(broadcast[:], binary.BigEndian.Uint32(network[:])|(1<<hostBits-1))
	return netip.AddrFrom4(network).Next(), netip.AddrFrom4(broadcast).Prev()
}

// addressCount returns how many host addresses a subnet has.
func addressCount(subnet netip.Prefix) int { return 1<<(32-subnet.Bits()) - 2 }

// checkSubnet refuses what skiff cannot use as a network: not IPv4, host
// bits set, or too small to hold a gateway and one container.
func checkSubnet(subnet netip.Prefix) error {
	switch {
	case !subnet.IsValid() || !subnet.Addr().Is4():
		return fmt.Errorf("check subnet %q: want an IPv4 prefix such as 172.30.5.0/24", subnet)
	case subnet.Masked() != subnet:
		return fmt.Errorf("check subnet %q: host bits set, did you mean %s",
			subnet, subnet.Masked())
	case subnet.Bits() < 8 || subnet.Bits() > 30:
		return fmt.Errorf("check subnet %q: want a prefix length from 8 to 30", subnet)
	}
	return nil
}

// pickSubnet returns the first /24 of the user pool that overlaps none of
// taken (other networks' subnets and the host's routes).
func pickSubnet(taken []netip.Prefix) (netip.Prefix, error) {
	p := netip.PrefixFrom(userPool.Addr(), userBits)
	for range 1 << (userBits - userPool.Bits()) {
		if !overlapsAny(p, taken) {
			return p, nil
		}
		_, last := hostRange(p)
		p = netip.PrefixFrom(last.Next().Next(), userBits)
	}
	return netip.Prefix{}, fmt.Errorf("pick subnet in %s: %w: all taken", userPool, ErrNoAddresses)
}

func overlapsAny(p netip.Prefix, others []netip.Prefix) bool {
	return slices.ContainsFunc(others, p.Overlaps)
}
