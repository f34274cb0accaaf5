package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/network"
)

// This file holds the "skiff network" group: create, ls, inspect, rm,
// connect, disconnect and prune, with Docker's words, columns and JSON.
// The networks themselves are the network package's: a Linux bridge each,
// a subnet, and the containers attached to it (go doc
// github.com/skiff-dev/skiff/network tells the whole story).

// newNetworkGroup builds "skiff network".
func newNetworkGroup() *command {
	ls := newNetworkLsCommand("ls")
	ls.aliases = []string{"list"}
	rm := newNetworkRmCommand("rm")
	rm.aliases = []string{"remove"}
	return &command{
		name:    "network",
		summary: "Manage networks",
		usage:   "COMMAND",
		example: "skiff network create labnet\n" +
			"skiff run -d --network labnet --name web busybox httpd -f",
		management: true,
		subcommands: []*command{
			newNetworkConnectCommand("connect"),
			newNetworkCreateCommand("create"),
			newNetworkDisconnectCommand("disconnect"),
			newNetworkInspectCommand("inspect"),
			ls,
			newNetworkPruneCommand("prune"),
			rm,
		},
	}
}

// driverBridge is the only network driver skiff has: a Linux bridge on
// this host, which Docker calls "bridge" with scope "local".
const (
	driverBridge = "bridge"
	scopeLocal   = "local"
)

// noSuchNetworkError is a network name or ID that names no network, in
// Docker's words.
type noSuchNetworkError struct {
	ref string
	err error
}

func (e *noSuchNetworkError) Error() string { return "No such network: " + e.ref }
func (e *noSuchNetworkError) Unwrap() error { return e.err }

// findNetwork finds a network by its name, its ID, or a prefix of its ID
// that no other network shares, as docker network commands do.
func findNetwork(nets *network.Manager, ref string) (*network.Config, error) {
	cfgs, err := nets.List()
	if err != nil {
		return nil, err
	}
	var found []network.Config
	for _, cfg := range cfgs {
		if cfg.Name == ref || cfg.ID == ref {
			return &cfg, nil
		}
		if ref != "" && strings.HasPrefix(cfg.ID, ref) {
			found = append(found, cfg)
		}
	}
	switch len(found) {
	case 0:
		return nil, &noSuchNetworkError{ref: ref, err: network.ErrNotFound}
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix)",
		ref, len(found))
}

// newNetworkCreateCommand builds "skiff network create".
func newNetworkCreateCommand(name string) *command {
	var driver, subnet string
	c := &command{
		name:    name,
		summary: "Create a network",
		usage:   "[OPTIONS] NETWORK",
		example: "skiff network create labnet\nskiff network create --subnet 10.10.0.0/24 labnet",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.StringVarP(&driver, "driver", "d", driverBridge, "Driver to manage the Network")
	c.flags.StringVar(&subnet, "subnet", "",
		"Subnet in CIDR format, such as 10.10.0.0/24 (default: a free /24 of 172.30.0.0/16)")
	c.run = func(a *app, args []string) error {
		prefix, err := parseSubnet(driver, subnet)
		if err != nil {
			return &usageError{path: c.path, err: err}
		}
		// --network host and none name modes, not networks: a network of
		// either name could never be chosen.
		if args[0] == "host" || args[0] == "none" {
			return fmt.Errorf("%s is a pre-defined network mode and cannot be created", args[0])
		}
		s, err := a.openContainers()
		if err != nil {
			return err
		}
		cfg, err := s.Networks().Create(args[0], prefix)
		if errors.Is(err, network.ErrExists) {
			return fmt.Errorf("network with name %s already exists", args[0])
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(a.stdout, cfg.ID)
		return err
	}
	return c
}

// parseSubnet checks the flags of network create: the driver must be
// bridge, and the subnet, if given, an IPv4 prefix in CIDR notation. The
// zero prefix lets the network package pick one.
func parseSubnet(driver, rawSubnet string) (netip.Prefix, error) {
	if driver != driverBridge {
		err := fmt.Errorf("invalid --driver %q: skiff has only the bridge driver", driver)
		return netip.Prefix{}, err
	}
	if rawSubnet == "" {
		return netip.Prefix{}, nil
	}
	prefix, err := netip.ParsePrefix(rawSubnet)
	if err != nil || !prefix.Addr().Is4() {
		err := fmt.Errorf("invalid --subnet %q: want an IPv4 CIDR such as 10.10.0.0/24", rawSubnet)
		return netip.Prefix{}, err
	}
	return prefix.Masked(), nil
}

// networkLsOptions are the flags of skiff network ls.
type networkLsOptions struct {
	quiet   bool
	noTrunc bool
}

// newNetworkLsCommand builds "skiff network ls".
func newNetworkLsCommand(name string) *command {
	var opts networkLsOptions
	c := &command{
		name:    name,
		summary: "List networks",
		usage:   "[OPTIONS]",
		example: "skiff network ls\nskiff network ls -q",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display network IDs")
	c.flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the output")
	c.run = func(a *app, _ []string) error {
		s, err := a.openContainers()
		if err != nil {
			return err
		}
		cfgs, err := s.Networks().List()
		if err != nil {
			return err
		}
		if opts.quiet {
			for _, cfg := range cfgs {
				fmt.Fprintln(a.stdout, networkID(cfg.ID, opts.noTrunc))
			}
			return nil
		}
		header := []string{"NETWORK ID", "NAME", "DRIVER", "SCOPE"}
		return writeTable(a.stdout, header, networkTable(cfgs, opts.noTrunc))
	}
	return c
}

// networkTable renders the rows of skiff network ls.
func networkTable(cfgs []network.Config, noTrunc bool) [][]string {
	var rows [][]string
	for _, cfg := range cfgs {
		id := networkID(cfg.ID, noTrunc)
		rows = append(rows, []string{id, cfg.Name, driverBridge, scopeLocal})
	}
	return rows
}

// networkID is a network's ID as docker shows it: 12 hex digits, or all 64
// with --no-trunc.
func networkID(id string, noTrunc bool) string {
	if !noTrunc && len(id) > 12 {
		return id[:12]
	}
	return id
}

// inspectNetwork is one element of the JSON array printed by skiff network
// inspect, in the shape and field names of docker network inspect.
type inspectNetwork struct {
	Name       string                     `json:"Name"`
	ID         string                     `json:"Id"`
	Created    string                     `json:"Created"`
	Scope      string                     `json:"Scope"`
	Driver     string                     `json:"Driver"`
	EnableIPv6 bool                       `json:"EnableIPv6"`
	IPAM       inspectIPAM                `json:"IPAM"`
	Internal   bool                       `json:"Internal"`
	Attachable bool                       `json:"Attachable"`
	Containers map[string]inspectAttached `json:"Containers"`
	Options    map[string]string          `json:"Options"`
	Labels     map[string]string          `json:"Labels"`
}

// inspectIPAM is where a network's addresses come from: its subnet, and
// the gateway, the bridge's own address.
type inspectIPAM struct {
	Driver  string              `json:"Driver"`
	Options map[string]string   `json:"Options"`
	Config  []inspectIPAMConfig `json:"Config"`
}

type inspectIPAMConfig struct {
	Subnet  string `json:"Subnet"`
	Gateway string `json:"Gateway"`
}

// inspectAttached is a container on the network: its address with the
// subnet's length, as Docker writes it (172.29.0.2/16), and its MAC.
type inspectAttached struct {
	Name        string `json:"Name"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
}

// newInspectNetwork converts a network and its endpoints to docker network
// inspect's shape.
func newInspectNetwork(n *network.Network) inspectNetwork {
	out := inspectNetwork{
		Name:    n.Name,
		ID:      n.ID,
		Created: n.Created.UTC().Format(time.RFC3339Nano),
		Scope:   scopeLocal,
		Driver:  driverBridge,
		IPAM: inspectIPAM{
			Driver: "default",
			Config: []inspectIPAMConfig{{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()}},
		},
		Containers: map[string]inspectAttached{},
		Options: map[string]string{
			"com.docker.network.bridge.name": n.Bridge,
			"com.docker.network.driver.mtu":  strconv.Itoa(n.MTU),
		},
		Labels: map[string]string{},
	}
	if n.Name == network.DefaultNetwork {
		out.Options["com.docker.network.bridge.default_bridge"] = "true"
	}
	for _, ep := range n.Endpoints {
		out.Containers[ep.ContainerID] = inspectAttached{
			Name:        ep.ContainerName,
			MacAddress:  ep.MAC,
			IPv4Address: ep.Address.String(),
		}
	}
	return out
}

// newNetworkInspectCommand builds "skiff network inspect".
func newNetworkInspectCommand(name string) *command {
	var format string
	c := &command{
		name:    name,
		summary: "Display detailed information on one or more networks",
		usage:   "[OPTIONS] NETWORK [NETWORK...]",
		example: "skiff network inspect bridge\n" +
			"skiff network inspect --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' bridge",
		args:  argRule{min: 1, max: -1},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&format, "format", "f", "",
		"Format output using a Go template (fields as in the JSON output)")
	c.run = func(a *app, args []string) error {
		var tmpl *template.Template
		if format != "" {
			var err error
			if tmpl, err = parseFormat(format); err != nil {
				return &usageError{path: c.path, err: err}
			}
		}
		return runNetworkInspect(a, tmpl, args)
	}
	return c
}

// runNetworkInspect prints every network it finds, then one error line for
// each name it does not, and fails if any was missing.
func runNetworkInspect(a *app, tmpl *template.Template, refs []string) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	nets := s.Networks()
	found := []any{}
	var failed []error
	for _, ref := range refs {
		cfg, err := findNetwork(nets, ref)
		var n *network.Network
		if err == nil {
			n, err = nets.Inspect(cfg.Name)
		}
		if err != nil {
			failed = append(failed, err)
			continue
		}
		found = append(found, newInspectNetwork(n))
	}

	return a.printInspected(tmpl, found, failed)
}

// newNetworkRmCommand builds "skiff network rm".
func newNetworkRmCommand(name string) *command {
	c := &command{
		name:    name,
		summary: "Remove one or more networks",
		usage:   "NETWORK [NETWORK...]",
		example: "skiff network rm labnet",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		return a.eachNetwork(args, func(nets *network.Manager, cfg *network.Config) error {
			return nets.Remove(cfg.Name)
		})
	}
	return c
}

// eachNetwork runs fn on every network the user named, in order. Like
// eachContainer, it goes on after a failure, prints one error line for it,
// and fails at the end; on success it prints the name as the user typed
// it.
func (a *app) eachNetwork(refs []string, fn func(*network.Manager, *network.Config) error) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	nets := s.Networks()
	failed := false
	for _, ref := range refs {
		cfg, err := findNetwork(nets, ref)
		if err == nil {
			err = fn(nets, cfg)
		}
		if err != nil {
			fmt.Fprintln(a.stderr, errorLine(err))
			failed = true
			continue
		}
		fmt.Fprintln(a.stdout, ref)
	}
	if failed {
		return errReported
	}
	return nil
}

// newNetworkConnectCommand builds "skiff network connect".
func newNetworkConnectCommand(name string) *command {
	c := &command{
		name:    name,
		summary: "Connect a container to a network",
		usage:   "NETWORK CONTAINER",
		example: "skiff network connect labnet web",
		args:    argRule{min: 2, max: 2},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		return a.networkAndContainer(args[0], args[1],
			func(s *container.Store, cfg *network.Config, c *container.Container) error {
				return s.Connect(c, cfg.Name)
			})
	}
	return c
}

// newNetworkDisconnectCommand builds "skiff network disconnect".
func newNetworkDisconnectCommand(name string) *command {
	c := &command{
		name:    name,
		summary: "Disconnect a container from a network",
		usage:   "NETWORK CONTAINER",
		example: "skiff network disconnect labnet web",
		args:    argRule{min: 2, max: 2},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		return a.networkAndContainer(args[0], args[1],
			func(s *container.Store, cfg *network.Config, c *container.Container) error {
				err := s.Disconnect(c, cfg.Name)
				if errors.Is(err, network.ErrNotAttached) {
					return fmt.Errorf("container %s is not connected to network %s",
						args[1], args[0])
				}
				return err
			})
	}
	return c
}

// networkAndContainer finds a network and a container by what the user
// typed and runs fn on them. Like docker, it prints nothing on success.
func (a *app) networkAndContainer(netRef, ctrRef string,
	fn func(*container.Store, *network.Config, *container.Container) error) error {

	s, err := a.openContainers()
	if err != nil {
		return err
	}
	cfg, err := findNetwork(s.Networks(), netRef)
	if err != nil {
		return err
	}
	c, err := s.Get(ctrRef)
	if err != nil {
		return containerError(ctrRef, err)
	}
	return fn(s, cfg, c)
}

// newNetworkPruneCommand builds "skiff network prune".
func newNetworkPruneCommand(name string) *command {
	var force bool
	c := &command{
		name:    name,
		summary: "Remove all unused networks",
		usage:   "[OPTIONS]",
		example: "skiff network prune -f",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.run = func(a *app, _ []string) error {
		if !force && !confirm(a, networkPruneWarning) {
			return nil
		}
		return runNetworkPrune(a)
	}
	return c
}

// networkPruneWarning is what network prune asks before it removes
// anything, in Docker's words.
const networkPruneWarning = "WARNING! This will remove all custom networks " +
	"not used by at least one container."

// runNetworkPrune removes every user-defined network that no running
// container is attached to, and lists them.
func runNetworkPrune(a *app) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	nets := s.Networks()
	cfgs, err := nets.List()
	if err != nil {
		return err
	}

	var deleted []string
	var errs []error
	for _, cfg := range cfgs {
		if !cfg.UserDefined() {
			continue
		}
		err := nets.Remove(cfg.Name)
		switch {
		case errors.Is(err, network.ErrInUse) || errors.Is(err, network.ErrNotFound):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, cfg.Name)
	}
	if len(deleted) > 0 {
		fmt.Fprintf(a.stdout, "Deleted Networks:\n%s\n", strings.Join(deleted, "\n"))
	}
	return errors.Join(errs...)
}
