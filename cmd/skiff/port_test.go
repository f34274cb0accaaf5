package main

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/network"
)

func TestParsePrivatePort(t *testing.T) {
	tests := []struct {
		raw     string
		want    privatePort
		wantErr bool
	}{
		{"80", privatePort{80, "tcp"}, false},
		{"80/tcp", privatePort{80, "tcp"}, false},
		{"53/UDP", privatePort{53, "udp"}, false},
		{"65535/udp", privatePort{65535, "udp"}, false},
		{"0", privatePort{}, true},
		{"65536", privatePort{}, true},
		{"http", privatePort{}, true},
		{"80/sctp", privatePort{}, true},
		{"", privatePort{}, true},
	}
	for _, tt := range tests {
		got, err := parsePrivatePort(tt.raw)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parsePrivatePort(%q) = %v, %v; want %v, error %v",
				tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPortLines(t *testing.T) {
	loopback := netip.MustParseAddr("127.0.0.1")
	ports := []network.PortMapping{
		{ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
		{ContainerPort: 53, HostPort: 5353, Proto: "udp"},
		{HostIP: loopback, ContainerPort: 80, HostPort: 8081, Proto: "tcp"},
		{HostIP: netip.MustParseAddr("::1"), ContainerPort: 443, HostPort: 8443, Proto: "tcp"},
	}
	tests := []struct {
		name    string
		private *privatePort
		want    []string
	}{
		{"all, sorted by container port", nil, []string{
			"53/udp -> 0.0.0.0:5353",
			"80/tcp -> 0.0.0.0:8080",
			"80/tcp -> 127.0.0.1:8081",
			"443/tcp -> [::1]:8443",
		}},
		{"one port, two host addresses", &privatePort{80, "tcp"},
			[]string{"0.0.0.0:8080", "127.0.0.1:8081"}},
		{"one UDP port", &privatePort{53, "udp"}, []string{"0.0.0.0:5353"}},
		{"same number, other protocol", &privatePort{53, "tcp"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := portLines(ports, tt.private)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("portLines(%v) mismatch (-want +got):\n%s", tt.private, diff)
			}
		})
	}
}

func TestPortsColumn(t *testing.T) {
	tests := []struct {
		name  string
		ports []network.PortMapping
		want  string
	}{
		{"none", nil, ""},
		{"one", []network.PortMapping{{ContainerPort: 80, HostPort: 8080, Proto: "tcp"}},
			"0.0.0.0:8080->80/tcp"},
		{"sorted, joined", []network.PortMapping{
			{ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
			{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 53, HostPort: 5353,
				Proto: "udp"},
		}, "127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portsColumn(tt.ports); got != tt.want {
				t.Errorf("portsColumn(%v) = %q, want %q", tt.ports, got, tt.want)
			}
		})
	}
}
