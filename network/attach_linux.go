package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// vethPrefix starts the name of every host-side veth skiff makes: "skiff"
// and 7 hex digits, 12 characters of the 15 an interface name may have.
const vethPrefix = "skiff"

// Attach connects a container to a network: an address from the IPAM, a
// veth pair with one end on the bridge and the other in the container's
// namespace as eth0 (eth1 on a second network), loopback up, a default
// route through the gateway unless the container has one, the published
// ports, the hosts files. On failure it undoes what it did.
//
// An endpoint the container still has on the network, left by a run that
// did not detach, is released first. Preconditions: root; the container's
// namespace exists, its process waits to be released.
func (m *Manager) Attach(req AttachRequest) (_ *Endpoint, err error) {
	if req.Network == "" {
		req.Network = DefaultNetwork
	}
	if req.ContainerID == "" || req.Pid <= 0 {
		return nil, fmt.Errorf("attach container %q: need an ID and a PID", req.ContainerID)
	}
	key := endpointKey{req.Network, req.ContainerID}
	ns, err := netns.GetFromPid(req.Pid)
	if err != nil {
		return nil, fmt.Errorf("open network namespace of pid %d: %w", req.Pid, err)
	}
	defer ns.Close()
	inode, err := nsInode(ns)
	if err != nil {
		return nil, fmt.Errorf("identify network namespace of pid %d: %w", req.Pid, err)
	}

	// An address first, recorded before any interface exists: whatever a
	// crash leaves from here on, Reconcile finds through the record.
	ep, bridge, err := m.reserve(req, inode)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		m.stopForwarders(key)
		relErr := m.release(req.Network, req.ContainerID, ep.HostVeth)
		if !errors.Is(relErr, ErrNotAttached) {
			err = errors.Join(err, relErr)
		}
	}()

	// The ports before the veth: a port in use fails fast.
	if ep.Ports, err = m.publish(key, req.Ports, ep.IP()); err != nil {
		return nil, err
	}
	if err := m.plumb(ep, bridge, ns); err != nil {
		return nil, err
	}
	if err := m.complete(ep); err != nil {
		return nil, err
	}
	m.log.Info("container attached", "network", ep.Network, "container_id", ep.ContainerID,
		"address", ep.Address, "host_veth", ep.HostVeth, "ports", len(ep.Ports))
	return ep, nil
}

// nsInode returns the inode number of a namespace, which identifies it
// while it exists.
func nsInode(ns netns.NsHandle) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		return 0, os.NewSyscallError("fstat", err)
	}
	return st.Ino, nil
}

// namespaceAlive reports whether a container still holds its network
// namespace, known by the process given to Attach and the namespace's
// inode: whether the process exists and is still in the namespace of that
// inode (a reused PID is in another). When it does not, the namespace is
// on its way out: the kernel deletes its interfaces, and with each its
// veth peer on the bridge, on its own. A record without the identity
// counts as alive.
func namespaceAlive(pid int, inode uint64) bool {
	if pid <= 0 || inode == 0 {
		return true
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return false
	}
	return st.Ino == inode
}

// reserve makes sure the network's bridge exists, releases a stale
// endpoint of the container, and records a new one with a free address,
// leased on the bridge first.
func (m *Manager) reserve(req AttachRequest, netNS uint64) (
	ep *Endpoint, bridge netlink.Link, err error) {
	err = m.view(req.Network, func(cfg *Config, st *state) error {
		br, err := m.ensureBridge(cfg)
		if err != nil {
			return err
		}
		bridge = br
		if old := st.Endpoints[req.ContainerID]; old != nil {
			m.log.Warn("releasing stale endpoint", "network", cfg.Name,
				"container_id", old.ContainerID, "address", old.Address)
			if err := m.drop(cfg, st, old); err != nil {
				return err
			}
		}

		hostVeth := vethPrefix + randomHex(4)[:7]
		leases := m.leasesOn(cfg)
		h := holder{ContainerID: req.ContainerID, Pid: req.Pid, NetNS: netNS, HostVeth: hostVeth}
		addr, err := leases.allocate(st, cfg, h)
		if err != nil {
			return err
		}
		ep = &Endpoint{
			Network:       cfg.Name,
			ContainerID:   req.ContainerID,
			ContainerName: req.ContainerName,
			Hostname:      req.Hostname,
			HostVeth:      hostVeth,
			MAC:           macOf(addr).String(),
			Address:       netip.PrefixFrom(addr, cfg.Subnet.Bits()),
			Gateway:       cfg.Gateway,
			HostsFile:     req.HostsFile,
			Pid:           req.Pid,
			NetNS:         netNS,
		}
		st.Endpoints[req.ContainerID] = ep
		explain.Step(m.log, explain.Networking,
			"the first free address, recorded under a file lock",
			"allocate %s in network %q", ep.Address, cfg.Name)
		if err := m.store.writeState(cfg.Name, st); err != nil {
			return errors.Join(err, leases.release(addr, req.ContainerID))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attach container %q to network %q: %w",
			req.ContainerID, req.Network, err)
	}
	return ep, bridge, nil
}

// publish starts a forwarder for each published port, owned by this
// process.
func (m *Manager) publish(key endpointKey, ports []PortMapping, target netip.Addr) (
	[]PortMapping, error) {
	var published []PortMapping
	var closers []io.Closer
	for _, p := range ports {
		c, resolved, err := m.forward(p, target)
		if err != nil {
			closeAll(closers)
			return nil, err
		}
		closers = append(closers, c)
		published = append(published, resolved)
	}
	m.mu.Lock()
	m.forwarders[key] = closers
	m.mu.Unlock()
	return published, nil
}

// plumb makes the veth pair and sets up the container's side, in ns.
func (m *Manager) plumb(ep *Endpoint, bridge netlink.Link, ns netns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink socket in namespace of pid %d: %w", ep.Pid, err)
	}
	defer h.Close()
	if ep.Interface, err = freeInterface(h); err != nil {
		return err
	}

	// One request makes both ends, the peer directly in the container's
	// namespace under its final name: ip link add HOST_VETH mtu MTU up
	// master BRIDGE type veth peer name eth0 address MAC netns PID.
	mac, _ := net.ParseMAC(ep.MAC)
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.Flags = ep.HostVeth, bridge.Attrs().MTU, net.FlagUp
	attrs.MasterIndex = bridge.Attrs().Index
	veth := &netlink.Veth{
		LinkAttrs:        attrs,
		PeerName:         ep.Interface,
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(ns),
	}
	explain.Step(m.log, explain.Networking,
		"a virtual cable: one end on the bridge, the other the container's "+ep.Interface,
		"ip link add %s mtu %d up master %s type veth peer name %s address %s netns %d",
		ep.HostVeth, attrs.MTU, bridge.Attrs().Name, ep.Interface, ep.MAC, ep.Pid)
	if err := m.host.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth pair %q: %w", ep.HostVeth, err)
	}
	return m.configure(h, ep)
}

// configure sets up the container's side, in its namespace: address, link
// up, loopback up, default route.
func (m *Manager) configure(h *netlink.Handle, ep *Endpoint) error {
	log := m.log.With("container_id", ep.ContainerID, "interface", ep.Interface)
	link, err := h.LinkByName(ep.Interface)
	if err != nil {
		return fmt.Errorf("find interface %q in container: %w", ep.Interface, err)
	}
	explain.Step(log, explain.Networking, "the container's address, from the network's pool",
		"ip addr add %s dev %s (in the container's netns)", ep.Address, ep.Interface)
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(ep.Address)}); err != nil {
		return fmt.Errorf("add address %s to %q: %w", ep.Address, ep.Interface, err)
	}
	explain.Step(log, explain.Networking, "the container's end of the cable goes up",
		"ip link set %s up", ep.Interface)
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %q up: %w", ep.Interface, err)
	}
	explain.Step(log, explain.Networking, "a new network namespace starts with lo down",
		"ip link set lo up")
	if err := setLoopbackUp(h); err != nil {
		return err
	}

	// The first network gives the default route; a second one only its
	// subnet, which the address brought along.
	if hasDefaultRoute(h) {
		return nil
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: ep.Gateway.AsSlice()}
	explain.Step(log, explain.Networking, "what is not on the bridge goes through the host",
		"ip route add default via %s dev %s", ep.Gateway, ep.Interface)
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %s: %w", ep.Gateway, err)
	}
	ep.DefaultRoute = true
	return nil
}

func setLoopbackUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback in container: %w", err)
	}
	if lo.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set loopback up: %w", err)
	}
	return nil
}

func hasDefaultRoute(h *netlink.Handle) bool {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if ones, _ := maskOf(r.Dst); ones == 0 {
			return true
		}
	}
	return false
}

// freeInterface returns the first name eth0, eth1, ... not taken in the
// container.
func freeInterface(h *netlink.Handle) (string, error) {
	links, err := h.LinkList()
	if err != nil {
		return "", fmt.Errorf("list interfaces in container: %w", err)
	}
	taken := map[string]bool{}
	for _, l := range links {
		taken[l.Attrs().Name] = true
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !taken[name] {
			return name, nil
		}
	}
}

// complete records the interface and the ports of an attached endpoint,
// and writes the hosts files.
func (m *Manager) complete(ep *Endpoint) error {
	return m.view(ep.Network, func(cfg *Config, st *state) error {
		rec := st.Endpoints[ep.ContainerID]
		if rec == nil || rec.HostVeth != ep.HostVeth {
			return fmt.Errorf("attach container %q to network %q: endpoint released meanwhile",
				ep.ContainerID, ep.Network)
		}
		st.Endpoints[ep.ContainerID] = ep
		if err := m.store.writeState(cfg.Name, st); err != nil {
			return err
		}
		ep.Peers = peersOf(cfg, st, ep)
		m.syncHosts(cfg, st, ep)
		return nil
	})
}

// Detach releases everything a container holds on all its networks: the
// forwarders of its ports (if this process runs them), its veth pair, its
// address, its hosts entries. It can be called any number of times, also
// by another process after the watcher died.
func (m *Manager) Detach(containerID string) error {
	names, err := m.store.names()
	if err != nil {
		return fmt.Errorf("detach container %q: %w", containerID, err)
	}
	var errs []error
	for _, name := range names {
		err := m.release(name, containerID, "")
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotAttached) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Disconnect releases a container's endpoint on one network, as Detach
// does on all. It returns [ErrNotAttached] if there is none.
func (m *Manager) Disconnect(network, containerID string) error {
	return m.release(network, containerID, "")
}

// release drops a container's endpoint on a network. With hostVeth set,
// only if the endpoint still has that veth: a reconciler must not release
// the endpoint of a newer run of the same container.
func (m *Manager) release(network, containerID, hostVeth string) error {
	return m.view(network, func(cfg *Config, st *state) error {
		ep := st.Endpoints[containerID]
		if ep == nil || (hostVeth != "" && ep.HostVeth != hostVeth) {
			if hostVeth == "" {
				// Ports this process serves for an endpoint that another
				// one released: they go too.
				m.stopForwarders(endpointKey{network, containerID})
			}
			return fmt.Errorf("detach container %q from network %q: %w",
				containerID, network, ErrNotAttached)
		}
		if err := m.drop(cfg, st, ep); err != nil {
			return err
		}
		if err := m.store.writeState(cfg.Name, st); err != nil {
			return err
		}
		m.syncHosts(cfg, st, nil)
		m.log.Info("container detached", "network", network, "container_id", containerID,
			"address", ep.Address)
		return nil
	})
}

// drop stops an endpoint's forwarders, deletes its veth pair, releases its
// lease, and takes it out of st, and its block out of its hosts file. A
// live container's veth goes before its address is free: a new container
// must not get an address that an interface on the bridge still answers
// for. A dead container's pair may outlive the record by some tens of
// milliseconds, while the kernel tears its namespace down; this store's
// IPAM hands out a freed address only after all the others of the subnet,
// so no one here gets it meanwhile. Another store's search starts
// elsewhere and might; the address then comes with the same MAC address
// (macOf), which keeps peers' ARP caches right.
//
// Precondition: the caller holds the network's lock, and saves st.
func (m *Manager) drop(cfg *Config, st *state, ep *Endpoint) error {
	m.stopForwarders(endpointKey{cfg.Name, ep.ContainerID})

	// Deleting a veth waits for the kernel to let go of it (RCU grace
	// periods, 20-40 ms), which the kernel does anyway, in the background,
	// for a namespace whose last process is gone. Only a live one needs it.
	if namespaceAlive(ep.Pid, ep.NetNS) {
		if err := m.deleteVeth(ep.HostVeth); err != nil {
			return err
		}
	} else {
		m.log.Debug("container's network namespace is gone: the kernel deletes its veth",
			"host_veth", ep.HostVeth, "pid", ep.Pid)
	}
	if err := m.leasesOn(cfg).release(ep.IP(), ep.ContainerID); err != nil {
		return err
	}
	delete(st.Endpoints, ep.ContainerID)
	writeHostsBlock(m.log, ep.HostsFile, cfg.Name, "")
	return nil
}

// deleteVeth deletes a veth pair by its host side. Deleting one end deletes
// both; if the container's namespace is gone, the pair is gone already.
func (m *Manager) deleteVeth(name string) error {
	link, err := m.host.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find veth %q: %w", name, err)
	}
	explain.Step(m.log, explain.Networking, "the container is gone: so is its cable",
		"ip link del %s", name)
	if err := m.host.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete veth %q: %w", name, err)
	}
	return nil
}

func (m *Manager) stopForwarders(key endpointKey) {
	m.mu.Lock()
	closers := m.forwarders[key]
	delete(m.forwarders, key)
	m.mu.Unlock()
	closeAll(closers)
}

// Reconcile releases the endpoints of containers that are gone, as told by
// alive, and deletes veths left on skiff's bridges without an endpoint.
// Call it when a watcher was found dead (killed, so it could not Detach):
// its forwarders died with it, but the veth, the address and the hosts
// entries stay until then. alive must report true for a container that is
// being started, or its new endpoint could go.
func (m *Manager) Reconcile(alive func(containerID string) bool) error {
	names, err := m.store.names()
	if err != nil {
		return fmt.Errorf("reconcile networks: %w", err)
	}
	var errs []error
	for _, name := range names {
		// alive may take the caller's own locks: ask it without ours.
		st, err := m.store.readState(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for id, ep := range st.Endpoints {
			if alive(id) {
				continue
			}
			err := m.release(name, id, ep.HostVeth)
			if err != nil && !errors.Is(err, ErrNotAttached) && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
		}
		if err := m.sweep(name); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweep deletes the veths on a network's bridge that no endpoint records,
// in this store or, through the bridge's leases, in another.
func (m *Manager) sweep(network string) error {
	return m.view(network, func(cfg *Config, st *state) error {
		br, err := m.host.LinkByName(cfg.Bridge)
		if err != nil {
			return nil // no bridge, no ports
		}
		links, err := m.host.LinkList()
		if err != nil {
			return fmt.Errorf("list interfaces: %w", err)
		}

		// The leases are read after the links are listed: a lease is
		// written before its veth is made, and removed once the veth is
		// deleted or its namespace gone, so every veth listed of a live
		// container of another store is in them.
		recorded, err := m.leasesOn(cfg).veths()
		if err != nil {
			return err
		}
		for _, ep := range st.Endpoints {
			recorded[ep.HostVeth] = true
		}
		var errs []error
		for _, l := range links {
			a := l.Attrs()
			if a.MasterIndex != br.Attrs().Index || recorded[a.Name] ||
				!strings.HasPrefix(a.Name, vethPrefix) {
				continue
			}
			m.log.Warn("deleting orphaned veth", "network", network, "host_veth", a.Name)
			errs = append(errs, m.deleteVeth(a.Name))
		}
		return errors.Join(errs...)
	})
}

// syncHosts rewrites the hosts block of this network in the files of the
// endpoints that need it: on a user-defined network all of them, since
// each lists its peers; on the default network only that of changed, the
// one just attached (nil: none).
//
// Precondition: the caller holds the network's lock.
func (m *Manager) syncHosts(cfg *Config, st *state, changed *Endpoint) {
	targets := []*Endpoint{}
	if cfg.UserDefined() {
		targets = st.sorted()
	} else if changed != nil {
		targets = append(targets, changed)
	}
	for _, ep := range targets {
		own := ep.hosts()
		block := renderBlock(cfg.Name, &own, peersOf(cfg, st, ep))
		writeHostsBlock(m.log, ep.HostsFile, cfg.Name, block)
	}
}

// peersOf returns the other endpoints of a user-defined network as hosts
// entries, sorted by address; none on the default network.
func peersOf(cfg *Config, st *state, self *Endpoint) []Host {
	if !cfg.UserDefined() {
		return nil
	}
	var peers []Host
	for _, ep := range st.sorted() {
		if ep.ContainerID != self.ContainerID {
			peers = append(peers, ep.hosts())
		}
	}
	return peers
}
