package network

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// DefaultNetwork is the network a container joins unless told otherwise,
// as Docker's "bridge". It exists from the first [Open] and cannot be
// removed.
const DefaultNetwork = "bridge"

// DefaultBridge is the Linux bridge of [DefaultNetwork], as Docker's
// docker0.
const DefaultBridge = "skiff0"

// DefaultSubnet is the subnet of [DefaultNetwork] unless
// [Options.DefaultSubnet] says otherwise. Docker takes 172.17.0.0/16 and
// its user networks the ranges above it; skiff stays clear of the first
// ones and of 10/8 and 192.168/16, which home and office networks use.
var DefaultSubnet = netip.MustParsePrefix("172.29.0.0/16")

// userPool is where user-defined networks created without a subnet get one,
// a /24 each: 256 networks.
var userPool = netip.MustParsePrefix("172.30.0.0/16")

const userBits = 24

// Errors callers branch on, with [errors.Is].
var (
	// ErrNotFound: no network of that name.
	ErrNotFound = errors.New("no such network")
	// ErrExists: a network of that name exists already.
	ErrExists = errors.New("network exists")
	// ErrInUse: the network still has containers attached.
	ErrInUse = errors.New("network has active endpoints")
	// ErrOverlap: the subnet overlaps another network's or a host route's.
	ErrOverlap = errors.New("subnet overlaps")
	// ErrNoAddresses: every address of the subnet is handed out.
	ErrNoAddresses = errors.New("no free address in subnet")
	// ErrNotAttached: the container has no endpoint on the network.
	ErrNotAttached = errors.New("container is not attached to network")
	// ErrPredefined: the default network cannot be removed.
	ErrPredefined = errors.New("predefined network cannot be removed")
)

// Config is a network as persisted under <root>/networks/<name>/: its
// bridge, subnet and gateway. The gateway is the bridge's own address, the
// first of the subnet, and every container's default route.
type Config struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Bridge  string       `json:"bridge"`
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	// MTU of the bridge and of every veth on it: that of the host's
	// interface holding the default route when the network was created.
	MTU     int       `json:"mtu"`
	Created time.Time `json:"created"`
}

// UserDefined reports whether containers on the network see each other by
// name: on every network but [DefaultNetwork], as in Docker.
func (c *Config) UserDefined() bool { return c.Name != DefaultNetwork }

// Network is a network and the containers attached to it, as `skiff
// network inspect` shows it.
type Network struct {
	Config
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one container's attachment to one network: the veth pair,
// its address and the ports published to it.
type Endpoint struct {
	Network       string `json:"network"`
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	Hostname      string `json:"hostname,omitempty"`
	// Interface is the container's side of the veth pair, in its network
	// namespace: eth0 on its first network, eth1 on the next.
	Interface string `json:"interface"`
	// HostVeth is the host's side, a port of the bridge.
	HostVeth string       `json:"host_veth"`
	MAC      string       `json:"mac"`
	Address  netip.Prefix `json:"address"`
	Gateway  netip.Addr   `json:"gateway"`
	// Ports are the published ports, host ports resolved (no zeros) once
	// Attach returns.
	Ports []PortMapping `json:"ports,omitempty"`
	// HostsFile is the container's /etc/hosts on the host, kept up to date
	// with its peers; empty if the caller manages it alone.
	HostsFile string `json:"hosts_file,omitempty"`
	// DefaultRoute reports whether the container's default route goes
	// through this network's gateway.
	DefaultRoute bool `json:"default_route"`
	// Pid and NetNS identify the container's network namespace: the
	// process Attach was given, and the inode number of its namespace
	// (as in `readlink /proc/PID/ns/net`, "net:[NetNS]").
	Pid   int    `json:"pid"`
	NetNS uint64 `json:"netns"`
	// Peers are the other containers of a user-defined network, by name,
	// when Attach returned. The hosts file follows later changes.
	Peers []Host `json:"-"`
}

// IP returns the container's address on the network.
func (e *Endpoint) IP() netip.Addr { return e.Address.Addr() }

// Host is one line of /etc/hosts: an address and its names.
type Host struct {
	Addr  netip.Addr
	Names []string
}

// hosts returns the names a container is known by: its name and its
// hostname (by default its short ID), each once.
func (e *Endpoint) hosts() Host {
	h := Host{Addr: e.IP()}
	for _, n := range []string{e.ContainerName, e.Hostname} {
		if n != "" && !slices.Contains(h.Names, n) {
			h.Names = append(h.Names, n)
		}
	}
	return h
}

// AttachRequest says which container to attach to which network.
type AttachRequest struct {
	// Network is the network's name; empty means [DefaultNetwork].
	Network       string
	ContainerID   string
	ContainerName string
	// Hostname is the container's host name, for its own line in the
	// hosts file.
	Hostname string
	// Pid is a process in the container's network namespace, normally its
	// init: the namespace is /proc/<Pid>/ns/net.
	Pid int
	// Ports are published on the host. Their forwarders run in the calling
	// process until Detach: only the container's watcher should pass them.
	Ports []PortMapping
	// HostsFile, if set, is the host path of the container's /etc/hosts.
	// Attach adds a block to it with the container's address under its
	// name and hostname, and on a user-defined network the addresses of
	// its peers; it keeps the peers' files up to date as containers come
	// and go. The caller writes the rest (localhost) and should not map the
	// hostname to another address (no "127.0.1.1 hostname" line): the
	// first line that names it wins.
	HostsFile string
}

// Options tune [Open].
type Options struct {
	// DefaultSubnet is the subnet of [DefaultNetwork]; zero means
	// [DefaultSubnet]. Changing it takes effect once the network is unused.
	DefaultSubnet netip.Prefix
	// Firewall picks the tool that installs the outbound NAT rules: "nft",
	// "iptables", "none", or "" to take the first found in $PATH.
	Firewall string
	// LeaseDir is where the addresses in use on each bridge are leased,
	// for all stores of the host; empty means [DefaultLeaseDir].
	LeaseDir string
}

// DefaultLeaseDir holds the leases of the addresses in use on skiff's
// bridges, shared by every store. It is on a tmpfs: the leases go at
// reboot, as the bridges do.
const DefaultLeaseDir = "/run/skiff/leases"

// validName matches network names: as container names in Docker.
var validName = lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// checkName refuses a name that cannot be a directory, an nft table name
// or a hosts file entry.
func checkName(rawName string) error {
	if !validName().MatchString(rawName) {
		return fmt.Errorf("check network name %q: must match %s", rawName, validName())
	}
	return nil
}
