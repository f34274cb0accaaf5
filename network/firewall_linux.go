package network

import (
	"bytes"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"

	"github.com/vishvananda/netns"

	"github.com/skiff-dev/skiff/explain"
)

// firewall installs and removes a network's outbound NAT rule: packets
// from the subnet that leave through any interface but the network's
// bridge get the address of that interface as their source (masquerade),
// so that replies find their way back to the host, which undoes the
// translation for them (conntrack) and hands them to the container.
type firewall interface {
	String() string
	add(cfg *Config) error
	remove(cfg *Config) error
}

// newFirewall returns the firewall named by choice ("nft", "iptables",
// "none"), or for "" the first of nft and iptables found in $PATH, or none.
func newFirewall(choice string, ns netns.NsHandle, log *slog.Logger) (firewall, error) {
	if choice == "" {
		choice = "none"
		for _, tool := range []string{"nft", "iptables"} {
			if _, err := exec.LookPath(tool); err == nil {
				choice = tool
				break
			}
		}
	}
	switch choice {
	case "nft":
		return nftables{run: tool{"nft", ns, log}}, nil
	case "iptables":
		return iptables{run: tool{"iptables", ns, log}}, nil
	case "none":
		return noFirewall{}, nil
	}
	return nil, fmt.Errorf("choose firewall %q: want nft, iptables or none", choice)
}

// nftables keeps each network's rule in a table of its own, "ip
// skiff-<name>", so that removing the network deletes the table and
// nothing else, and skiff never edits a chain that another program owns.
type nftables struct{ run tool }

func (nftables) String() string { return "nft" }

func nftTable(cfg *Config) string { return "skiff-" + cfg.Name }

// add replaces the network's table in one transaction: "add table" makes
// the "delete table" that follows succeed whether or not it existed.
func (f nftables) add(cfg *Config) error {
	t := nftTable(cfg)
	script := fmt.Sprintf(`add table ip %[1]s
delete table ip %[1]s
table ip %[1]s {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr %[2]s oifname != "%[3]s" masquerade comment "skiff network %[4]s"
	}
}
`, t, cfg.Subnet, cfg.Bridge, cfg.Name)
	return f.run.script(script)
}

func (f nftables) remove(cfg *Config) error {
	t := nftTable(cfg)
	return f.run.script(fmt.Sprintf("add table ip %[1]s\ndelete table ip %[1]s\n", t))
}

// iptables appends the rule to the nat table's POSTROUTING chain, marked
// with a comment, unless it is there already (-C checks).
type iptables struct{ run tool }

func (iptables) String() string { return "iptables" }

func iptablesRule(cfg *Config) []string {
	return []string{
		"POSTROUTING", "-s", cfg.Subnet.String(), "!", "-o", cfg.Bridge,
		"-m", "comment", "--comment", "skiff network " + cfg.Name, "-j", "MASQUERADE",
	}
}

func (f iptables) add(cfg *Config) error {
	rule := iptablesRule(cfg)
	if f.run.args(append([]string{"-t", "nat", "-C"}, rule...)...) == nil {
		return nil
	}
	return f.run.args(append([]string{"-t", "nat", "-A"}, rule...)...)
}

// remove deletes every copy of the rule: -D deletes one at a time and
// fails once none is left.
func (f iptables) remove(cfg *Config) error {
	rule := iptablesRule(cfg)
	for range 16 {
		if f.run.args(append([]string{"-t", "nat", "-D"}, rule...)...) != nil {
			return nil
		}
	}
	return fmt.Errorf("remove iptables rule of network %q: still present", cfg.Name)
}

// noFirewall is used when the host has neither nft nor iptables: containers
// then reach the host and each other, but nothing beyond.
type noFirewall struct{}

func (noFirewall) String() string       { return "none" }
func (noFirewall) add(*Config) error    { return nil }
func (noFirewall) remove(*Config) error { return nil }

// tool runs a firewall command in the network namespace the manager
// works in: the child inherits the namespace of the thread that forks it.
type tool struct {
	name string
	ns   netns.NsHandle
	log  *slog.Logger
}

func (t tool) script(script string) error {
	explain.Step(t.log, explain.Networking, "NAT: packets from the containers leave with "+
		"the host's address", "nft -f - <<< %q", script)
	return t.exec(strings.NewReader(script), "-f", "-")
}

func (t tool) args(args ...string) error {
	explain.Step(t.log, explain.Networking, "NAT: packets from the containers leave with "+
		"the host's address", "%s %s", t.name, strings.Join(args, " "))
	return t.exec(nil, args...)
}

func (t tool) exec(stdin *strings.Reader, args ...string) error {
	var stderr bytes.Buffer
	err := inNetns(t.ns, func() error {
		cmd := exec.Command(t.name, args...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		cmd.Stderr = &stderr
		return cmd.Run()
	})
	if msg := strings.TrimSpace(stderr.String()); err != nil && msg != "" {
		return fmt.Errorf("run %s %s: %w: %s", t.name, strings.Join(args, " "), err, msg)
	}
	if err != nil {
		return fmt.Errorf("run %s %s: %w", t.name, strings.Join(args, " "), err)
	}
	return nil
}
