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
