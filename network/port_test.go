package network

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cmpAddr compares addresses by value (netip.Addr has unexported fields).
var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestParsePort(t *testing.T) {
	localhost := netip.MustParseAddr("127.0.0.1")
	v6 := netip.MustParseAddr("::1")
	tests := []struct {
		name string
		spec string
		want []PortMapping
	}{
		{"container port only", "80",
			[]PortMapping{{ContainerPort: 80, Proto: "tcp"}}},
		{"host and container", "8080:80",
			[]PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"udp", "5353:53/udp",
			[]PortMapping{{HostPort: 5353, ContainerPort: 53, Proto: "udp"}}},
		{"protocol in capitals", "53/UDP",
			[]PortMapping{{ContainerPort: 53, Proto: "udp"}}},
		{"host address", "127.0.0.1:8080:80",
			[]PortMapping{{HostIP: localhost, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"host address, free port", "127.0.0.1::80/tcp",
			[]PortMapping{{HostIP: localhost, ContainerPort: 80, Proto: "tcp"}}},
		{"unspecified address is all", "0.0.0.0:8080:80",
			[]PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"ipv6 address", "[::1]:8080:80",
			[]PortMapping{{HostIP: v6, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"empty host port", ":80",
			[]PortMapping{{ContainerPort: 80, Proto: "tcp"}}},
		{"ranges", "8000-8002:80-82/udp", []PortMapping{
			{HostPort: 8000, ContainerPort: 80, Proto: "udp"},
			{HostPort: 8001, ContainerPort: 81, Proto: "udp"},
			{HostPort: 8002, ContainerPort: 82, Proto: "udp"},
		}},
		{"container range, free ports", "80-81", []PortMapping{
			{ContainerPort: 80, Proto: "tcp"},
			{ContainerPort: 81, Proto: "tcp"},
		}},
		{"highest port", "65535:65535",
			[]PortMapping{{HostPort: 65535, ContainerPort: 65535, Proto: "tcp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePort(tt.spec)
			if err != nil {
				t.Fatalf("ParsePort(%q) error = %v", tt.spec, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpAddr); diff != "" {
				t.Errorf("ParsePort(%q) mismatch (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestParsePortErrors(t *testing.T) {
	tests := []struct {
		name string
		spec string
	}{
		{"empty", ""},
		{"port zero", "0"},
		{"port too big", "65536"},
		{"not a number", "http"},
		{"sctp", "80/sctp"},
		{"range lengths differ", "8000-8001:80"},
		{"range backwards", "90-80"},
		{"bad address", "1.2.3:8080:80"},
		{"unbracketed ipv6", "::1:8080:80"},
		{"hostname", "localhost:8080:80"},
		{"negative", "-1"},
		{"empty container port", "8080:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ParsePort(tt.spec); err == nil {
				t.Errorf("ParsePort(%q) = %v, want an error", tt.spec, got)
			}
		})
	}
}

func TestPortMappingString(t *testing.T) {
	tests := []struct {
		m    PortMapping
		want string
	}{
		{PortMapping{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, "0.0.0.0:8080->80/tcp"},
		{PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 53,
			ContainerPort: 53, Proto: "udp"}, "127.0.0.1:53->53/udp"},
		{PortMapping{HostIP: netip.MustParseAddr("::1"), HostPort: 8080,
			ContainerPort: 80, Proto: "tcp"}, "[::1]:8080->80/tcp"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}
