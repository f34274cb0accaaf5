package network

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/explain"
)

// leases are the addresses in use on one bridge, for all the stores of the
// host. A store's endpoints.json records its own containers only, but a
// bridge, and so the subnet on it, belongs to the network namespace: the
// default network of every store is skiff0. So each address in use on a
// bridge also has a lease there, a file named after the address in a
// directory of the bridge's:
//
//	<DefaultLeaseDir>/<netns inode>-<bridge>/<address>
//
// The inode number names the namespace the bridge is in, so that a test or
// a lab in a namespace of its own has leases of its own. A lease names its
// [holder]. All changes are made under flock(2) on the directory, which
// goes with its last lease.
//
// Why a lock: creating a file with O_CREAT|O_EXCL is atomic without one,
// but taking over a stale lease, or releasing one, is a check followed by
// unlink(2), and unlink removes whatever file has the name by then: of two
// stores that found the same stale lease, the second could remove the new
// lease of the first, and both would use the address. Under the lock, each
// check and change is one step.
type leases struct {
	dir string
	log *slog.Logger
}

// holder is what a lease holds: the container, its network namespace (the
// process given to Attach and the inode number of its namespace, as in
// [Endpoint]) and its veth on the bridge.
type holder struct {
	ContainerID string `json:"container_id"`
	Pid         int    `json:"pid"`
	NetNS       uint64 `json:"netns"`
	HostVeth    string `json:"host_veth"`
}

// leasesOn returns the leases of a network's bridge, in the namespace of
// the Manager.
func (m *Manager) leasesOn(cfg *Config) leases {
	name := fmt.Sprintf("%d-%s", m.hostInode, cfg.Bridge)
	return leases{dir: filepath.Join(m.leaseDir, name), log: m.log}
}

func (l leases) path(addr netip.Addr) string { return filepath.Join(l.dir, addr.String()) }

// allocate hands out an address of the network as [state.allocate] does,
// one that no store's container holds on the bridge, and leases it to h.
func (l leases) allocate(st *state, cfg *Config, h holder) (netip.Addr, error) {
	unlock, err := l.lock()
	if err != nil {
		return netip.Addr{}, err
	}
	defer unlock()
	return st.allocate(cfg, func(addr netip.Addr) (bool, error) { return l.take(addr, h) })
}

// take leases addr to h and returns true, or returns false if a container
// whose network namespace still lives holds it. A lease whose holder's
// namespace is gone is stale: its store crashed, or was deleted, before it
// released the address. take replaces it.
//
// Precondition: the caller holds the lock.
func (l leases) take(addr netip.Addr, h holder) (bool, error) {
	path := l.path(addr)
	var old holder
	err := readJSON(path, &old)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("read lease of %s: %w", addr, err)
	case namespaceAlive(old.Pid, old.NetNS):
		l.log.Debug("address leased to another store's container", "address", addr,
			"container_id", old.ContainerID, "pid", old.Pid)
		return false, nil
	default:
		l.log.Warn("replacing stale lease: its container's network namespace is gone",
			"address", addr, "container_id", old.ContainerID, "pid", old.Pid)
	}

	explain.Step(l.log, explain.Networking,
		"every store's containers share the bridge: a lease keeps the others off the address",
		"write %s: container %.12s, pid %d, net:[%d]", path, h.ContainerID, h.Pid, h.NetNS)
	if err := writeJSON(path, h); err != nil {
		return false, fmt.Errorf("lease %s: %w", addr, err)
	}
	return true, nil
}

// release removes the lease of addr if containerID holds it: not if
// another store has taken it over, stale, since the container's namespace
// went.
func (l leases) release(addr netip.Addr, containerID string) error {
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()

	path := l.path(addr)
	var h holder
	err = readJSON(path, &h)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && h.ContainerID != containerID) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read lease of %s: %w", addr, err)
	}
	explain.Step(l.log, explain.Networking, "the address is free again, for every store",
		"unlink(%q)", path)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("release lease of %s: %w", addr, err)
	}
	return nil
}

// veths returns the host veths that the leases name: those of every
// store's containers on the bridge.
func (l leases) veths() (map[string]bool, error) {
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()

	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	veths := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary file of writeJSON, left by a crash
		}
		var h holder
		if err := readJSON(filepath.Join(l.dir, e.Name()), &h); err != nil {
			return nil, fmt.Errorf("read lease: %w", err)
		}
		veths[h.HostVeth] = true
	}
	return veths, nil
}

// lock takes the lock of the leases: flock(2) on their directory, made if
// needed. unlock removes the directory if no lease is left in it, so that
// nothing stays behind of a namespace that may be gone. A process that
// waited for the lock meanwhile then holds that of a removed directory,
// and tries again.
func (l leases) lock() (unlock func(), err error) {
	for {
		if err := os.MkdirAll(l.dir, 0o700); err != nil {
			return nil, fmt.Errorf("lock leases: %w", err)
		}
		dir, err := os.Open(l.dir)
		var unlockDir func()
		if err == nil {
			unlockDir, err = lockOpen(dir)
		}
		if err == nil {
			return func() {
				os.Remove(l.dir) // rmdir(2) fails, as it should, while leases remain
				unlockDir()
			}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("lock leases: %w", err)
		}
	}
}
