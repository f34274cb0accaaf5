package network

import (
	"bytes"
	"net/netip"
	"strings"
)

// Name resolution between containers goes through /etc/hosts: each
// container's hosts file gets one block per network it is on, between two
// marker lines, holding its own address under its names and, on a
// user-defined network, the addresses of its peers. The block is rewritten
// in every peer's file whenever a container joins or leaves.

func blockBegin(network string) string { return "# begin skiff network " + network + "\n" }
func blockEnd(network string) string   { return "# end skiff network " + network + "\n" }

// renderBlock formats the hosts block of one network: own first, then the
// peers. A nil own or an empty list leaves no block at all.
func renderBlock(network string, own *Host, peers []Host) string {
	lines := peers
	if own != nil {
		lines = append([]Host{*own}, peers...)
	}
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(blockBegin(network))
	for _, h := range lines {
		b.WriteString(h.Addr.String() + "\t" + strings.Join(h.Names, " ") + "\n")
	}
	b.WriteString(blockEnd(network))
	return b.String()
}

// setBlock replaces a network's block in the content of a hosts file with
// block, or appends it if there is none; an empty block removes it. Lines
// outside the markers are kept as they are.
func setBlock(content, network, block string) string {
	begin, end := blockBegin(network), blockEnd(network)
	if i := strings.Index(content, begin); i >= 0 {
		rest := content[i:]
		if j := strings.Index(rest, end); j >= 0 {
			return content[:i] + block + rest[j+len(end):]
		}
		// A block cut short: drop it to the end of the file.
		return content[:i] + block
	}
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return content + block
}

// fallbackDNS are the name servers a container gets when the host has none
// it can use, as in Docker: Google's public resolvers.
var fallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConf turns the host's /etc/resolv.conf into a container's for a
// bridge network. Name servers on loopback (127.0.0.53 of
// systemd-resolved, a local dnsmasq, ::1) are dropped: inside the
// container's network namespace they are the container itself. If no name
// server is left, the fallback servers are added, as Docker does.
func ResolvConf(host []byte) []byte {
	var out bytes.Buffer
	servers := 0
	for line := range strings.Lines(string(host)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			addr, err := netip.ParseAddr(f[1])
			if err == nil && addr.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteByte('\n')
		}
	}
	if servers == 0 {
		for _, s := range fallbackDNS {
			out.WriteString("nameserver " + s + "\n")
		}
	}
	return out.Bytes()
}
