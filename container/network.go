package container

import (
	"fmt"
	"strings"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/network"
)

// Networks returns the network manager the containers are attached with
// (skiff network create, ls, ...).
func (s *Store) Networks() *network.Manager { return s.networks }

// usesNetwork reports whether the container gets a veth on a network, as
// opposed to --network none (only lo) or host (the host's stack).
func usesNetwork(o *Options) bool { return o.Network != "none" && o.Network != "host" }

// resolvePorts turns -p specs and -P into port mappings: -P publishes each
// port the image EXPOSEs on a free host port, as Docker does.
func (s *Store) resolvePorts(o *Options, img *image.Image, publish []string, all bool) error {
	for _, spec := range publish {
		ports, err := network.ParsePort(spec)
		if err != nil {
			return err
		}
		o.Ports = append(o.Ports, ports...)
	}
	if all {
		for exposed := range img.Config.Config.ExposedPorts {
			ports, err := network.ParsePort(exposed)
			if err != nil {
				return fmt.Errorf("image exposes %q: %w", exposed, err)
			}
			o.Ports = append(o.Ports, ports...)
		}
	}
	if len(o.Ports) > 0 && !usesNetwork(o) {
		return fmt.Errorf("published ports are discarded when using %s network mode", o.Network)
	}
	return nil
}

// checkNetwork accepts none, host and any network that exists.
func (s *Store) checkNetwork(o *Options) error {
	if o.Network == "" {
		o.Network = network.DefaultNetwork
	}
	if !usesNetwork(o) {
		return nil
	}
	if _, err := s.networks.Inspect(o.Network); err != nil {
		return fmt.Errorf("network %s not found: %w", o.Network, err)
	}
	return nil
}

// attach wires the container's network namespace (its init is waiting, so
// nothing in it runs yet): a veth pair, an address, a default route, the
// published ports, and its entries in /etc/hosts.
func (p *Process) attach(pid int) error {
	c := p.c
	if !usesNetwork(&c.Options) {
		return nil
	}
	_, err := p.s.networks.Attach(network.AttachRequest{
		Network:       c.Options.Network,
		ContainerID:   c.ID,
		ContainerName: c.Name,
		Hostname:      c.Options.Hostname,
		Pid:           pid,
		Ports:         c.Options.Ports,
		HostsFile:     p.s.bundle(c.ID, "hosts"),
	})
	if err == nil {
		p.attached = true
	}
	return err
}

// Ports lists the published ports of a running container, with the host
// ports actually bound (for ps and skiff port).
func (s *Store) Ports(c *Container) ([]network.PortMapping, error) {
	if c.State.Status != Running {
		return nil, nil
	}
	eps, err := s.networks.Endpoints(c.ID)
	if err != nil {
		return nil, err
	}
	var ports []network.PortMapping
	for _, ep := range eps {
		ports = append(ports, ep.Ports...)
	}
	return ports, nil
}

// FormatPorts writes ports as docker ps shows them:
// "0.0.0.0:8080->80/tcp, 53/udp".
func FormatPorts(ports []network.PortMapping) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// Connect attaches a running container to one more network (docker network
// connect): a veth pair named eth1, eth2... inside, an address, and, on a
// user-defined network, its name in its peers' hosts files and theirs in
// its own. No port is published on it. A container with network mode none
// or host has no network of its own to add to.
//
// Limitation: the connection lasts until the container stops; a restart
// attaches it to its first network only. Docker records every network a
// container is connected to and attaches all of them at each start.
func (s *Store) Connect(c *Container, networkName string) error {
	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.reloadState(c); err != nil {
		return err
	}
	if c.State.Status != Running {
		return fmt.Errorf("connect container %s to network %s: %w", c.Name, networkName,
			ErrNotRunning)
	}
	if !usesNetwork(&c.Options) {
		return fmt.Errorf("connect container %s to network %s: "+
			"a container in network mode %s cannot join other networks",
			c.Name, networkName, c.Options.Network)
	}

	// Attach would replace an endpoint left by an earlier run: one of this
	// run must be refused instead.
	eps, err := s.networks.Endpoints(c.ID)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if ep.Network == networkName {
			return fmt.Errorf("endpoint with name %s already exists in network %s",
				c.Name, networkName)
		}
	}
	_, err = s.networks.Attach(network.AttachRequest{
		Network:       networkName,
		ContainerID:   c.ID,
		ContainerName: c.Name,
		Hostname:      c.Options.Hostname,
		Pid:           c.State.Pid,
		HostsFile:     s.bundle(c.ID, "hosts"),
	})
	return err
}

// Disconnect detaches a container from one network (docker network
// disconnect): its veth pair goes, with the address and its hosts entries.
// It returns an error wrapping [network.ErrNotAttached] if the container
// has no endpoint there.
//
// Limitation: an endpoint with published ports is refused. Their
// forwarders run in the container's watcher, not in this process, and
// would go on relaying to an address that is no longer the container's.
// Docker's daemon owns both and removes the ports with the endpoint.
func (s *Store) Disconnect(c *Container, networkName string) error {
	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()

	eps, err := s.networks.Endpoints(c.ID)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if ep.Network == networkName && len(ep.Ports) > 0 {
			return fmt.Errorf("disconnect container %s from network %s: it publishes ports "+
				"there; stop the container to release them", c.Name, networkName)
		}
	}
	if err := s.networks.Disconnect(networkName, c.ID); err != nil {
		return fmt.Errorf("disconnect container %s from network %s: %w", c.Name, networkName, err)
	}
	return nil
}
