package network

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Manager creates networks and attaches containers to them. Every skiff
// process opens its own; they share the state on disk.
//
// A Manager works in the network namespace of the thread that called
// [Open], normally the host's: bridges, host-side veths, NAT rules and the
// listening sockets of published ports go there, whichever goroutine
// calls a method later.
type Manager struct {
	store    store
	log      *slog.Logger
	hostNS   netns.NsHandle
	host     *netlink.Handle
	firewall firewall
	noNAT    sync.Once
	// leaseDir holds the leases of the addresses on the bridges of all
	// namespaces; hostInode names the Manager's namespace among them.
	leaseDir  string
	hostInode uint64

	mu sync.Mutex
	// forwarders are the published ports served by this process, by
	// network and container ID.
	forwarders map[endpointKey][]io.Closer
}

type endpointKey struct{ network, containerID string }

// Open opens the networks kept under <root>/networks, creating the
// directory and the default network's record on first use (no bridge yet:
// that waits for the first container). It needs root.
func Open(root string, opts Options, log *slog.Logger) (_ *Manager, err error) {
	dir := filepath.Join(root, "networks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open networks %q: %w", dir, err)
	}
	m := &Manager{
		store:      store{dir},
		log:        log,
		leaseDir:   cmp.Or(opts.LeaseDir, DefaultLeaseDir),
		forwarders: map[endpointKey][]io.Closer{},
	}

	// The namespace of this thread, the one every later call works in.
	m.hostNS, err = netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open network namespace of thread: %w", err)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if m.hostInode, err = nsInode(m.hostNS); err != nil {
		return nil, fmt.Errorf("identify network namespace of thread: %w", err)
	}
	m.host, err = netlink.NewHandleAt(m.hostNS, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	if m.firewall, err = newFirewall(opts.Firewall, m.hostNS, log); err != nil {
		return nil, err
	}
	log.Debug("networks opened", "path", dir, "firewall", m.firewall.String(),
		"lease_dir", m.leaseDir)

	if err := m.ensureDefault(opts.DefaultSubnet); err != nil {
		return nil, err
	}
	return m, nil
}

// Close stops the published ports this process still serves and releases
// the manager's handles. It does not detach anything: call [Manager.Detach]
// first.
func (m *Manager) Close() error {
	m.mu.Lock()
	for key, fs := range m.forwarders {
		closeAll(fs)
		delete(m.forwarders, key)
	}
	m.mu.Unlock()
	if m.host != nil {
		m.host.Close()
	}
	return m.hostNS.Close()
}

// ensureDefault writes the default network's record, or changes its
// subnet when asked to and nobody uses it.
func (m *Manager) ensureDefault(subnet netip.Prefix) error {
	unlock, err := m.store.lockAll()
	if err != nil {
		return fmt.Errorf("lock networks: %w", err)
	}
	defer unlock()

	cfg, err := m.store.readConfig(DefaultNetwork)
	switch {
	case errors.Is(err, ErrNotFound):
		if !subnet.IsValid() {
			subnet = DefaultSubnet
		}
		_, err = m.create(DefaultNetwork, DefaultBridge, subnet)
		return err
	case err != nil:
		return err
	case !subnet.IsValid() || subnet == cfg.Subnet:
		return nil
	}
	return m.changeDefaultSubnet(cfg, subnet)
}

// changeDefaultSubnet gives the default network a new subnet, if nobody
// uses it; its bridge is rebuilt with the new gateway address by the next
// Attach.
//
// Precondition: the caller holds the lock of all networks.
func (m *Manager) changeDefaultSubnet(cfg *Config, subnet netip.Prefix) error {
	if err := checkSubnet(subnet); err != nil {
		return err
	}
	taken, err := m.subnets()
	if err != nil {
		return err
	}
	taken = slices.DeleteFunc(taken, func(p netip.Prefix) bool { return p == cfg.Subnet })
	if overlapsAny(subnet, taken) {
		return fmt.Errorf("change subnet of network %q to %s: %w another network's",
			cfg.Name, subnet, ErrOverlap)
	}
	return m.view(DefaultNetwork, func(cfg *Config, st *state) error {
		if len(st.Endpoints) > 0 {
			return fmt.Errorf("change subnet of network %q to %s: %w",
				cfg.Name, subnet, ErrInUse)
		}
		m.teardown(cfg)
		m.log.Info("changing subnet of network", "network", cfg.Name,
			"old_subnet", cfg.Subnet, "subnet", subnet)
		cfg.Subnet, cfg.Gateway = subnet, subnet.Addr().Next()
		return m.store.writeConfig(cfg)
	})
}

// Create creates a user-defined network with its own bridge. A zero subnet
// picks the first free /24 of 172.30.0.0/16 that no network and no route
// of the host overlaps. The bridge appears with the first container.
func (m *Manager) Create(name string, subnet netip.Prefix) (*Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	unlock, err := m.store.lockAll()
	if err != nil {
		return nil, fmt.Errorf("lock networks: %w", err)
	}
	defer unlock()

	if _, err := m.store.readConfig(name); err == nil {
		return nil, fmt.Errorf("create network %q: %w", name, ErrExists)
	}
	id := randomHex(32)
	return m.create(name, "skiff-"+id[:8], subnet)
}

// create checks the subnet against the other networks (and, to pick one,
// the host's routes) and writes the record.
//
// Precondition: the caller holds the lock of all networks.
func (m *Manager) create(name, bridge string, subnet netip.Prefix) (*Config, error) {
	taken, err := m.subnets()
	if err != nil {
		return nil, err
	}
	if !subnet.IsValid() {
		if subnet, err = pickSubnet(append(taken, m.hostRoutes()...)); err != nil {
			return nil, fmt.Errorf("create network %q: %w", name, err)
		}
	}
	if err := checkSubnet(subnet); err != nil {
		return nil, err
	}
	if overlapsAny(subnet, taken) {
		return nil, fmt.Errorf("create network %q with subnet %s: %w another network's",
			name, subnet, ErrOverlap)
	}

	cfg := &Config{
		Name:    name,
		ID:      randomHex(32),
		Bridge:  bridge,
		Subnet:  subnet,
		Gateway: subnet.Addr().Next(),
		MTU:     m.uplinkMTU(),
		Created: time.Now().UTC(),
	}
	if err := m.store.writeConfig(cfg); err != nil {
		return nil, fmt.Errorf("create network %q: %w", name, err)
	}
	m.log.Info("network created", "network", name, "subnet", subnet, "bridge", bridge)
	return cfg, nil
}

// subnets returns the subnets of all networks.
func (m *Manager) subnets() ([]netip.Prefix, error) {
	cfgs, err := m.List()
	if err != nil {
		return nil, err
	}
	var subnets []netip.Prefix
	for _, cfg := range cfgs {
		subnets = append(subnets, cfg.Subnet)
	}
	return subnets, nil
}

// List returns every network, sorted by name.
func (m *Manager) List() ([]Config, error) {
	names, err := m.store.names()
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var cfgs []Config
	for _, name := range names {
		cfg, err := m.store.readConfig(name)
		if errors.Is(err, ErrNotFound) {
			continue // being created or removed
		}
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, *cfg)
	}
	return cfgs, nil
}

// Inspect returns a network and its endpoints, sorted by address.
func (m *Manager) Inspect(name string) (*Network, error) {
	n := &Network{}
	err := m.view(name, func(cfg *Config, st *state) error {
		n.Config = *cfg
		for _, ep := range st.sorted() {
			n.Endpoints = append(n.Endpoints, *ep)
		}
		return nil
	})
	return n, err
}

// Endpoints returns the endpoints of a container on all its networks, for
// `skiff port` and the PORTS column of `skiff ps`.
func (m *Manager) Endpoints(containerID string) ([]Endpoint, error) {
	cfgs, err := m.List()
	if err != nil {
		return nil, err
	}
	var eps []Endpoint
	for _, cfg := range cfgs {
		st, err := m.store.readState(cfg.Name)
		if err != nil {
			return nil, err
		}
		if ep, ok := st.Endpoints[containerID]; ok {
			eps = append(eps, *ep)
		}
	}
	return eps, nil
}

// Remove removes a user-defined network: its bridge, its NAT rule and its
// record. It refuses while containers are attached ([ErrInUse]) and for
// the default network ([ErrPredefined]).
func (m *Manager) Remove(name string) error {
	if name == DefaultNetwork {
		return fmt.Errorf("remove network %q: %w", name, ErrPredefined)
	}
	unlock, err := m.store.lockAll()
	if err != nil {
		return fmt.Errorf("lock networks: %w", err)
	}
	defer unlock()

	return m.view(name, func(cfg *Config, st *state) error {
		if len(st.Endpoints) > 0 {
			var names []string
			for _, ep := range st.sorted() {
				names = append(names, ep.ContainerName)
			}
			return fmt.Errorf("remove network %q: %w: %v", name, ErrInUse, names)
		}
		m.teardown(cfg)
		if err := m.store.remove(name); err != nil {
			return fmt.Errorf("remove network %q: %w", name, err)
		}
		m.log.Info("network removed", "network", name)
		return nil
	})
}

// view runs fn with a network's record and state under its lock.
func (m *Manager) view(name string, fn func(*Config, *state) error) error {
	return m.store.view(name, fn)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}
