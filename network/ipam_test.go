package network

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostRange(t *testing.T) {
	tests := []struct {
		subnet      string
		first, last string
		count       int
	}{
		{"172.29.0.0/16", "172.29.0.1", "172.29.255.254", 65534},
		{"10.0.0.0/24", "10.0.0.1", "10.0.0.254", 254},
		{"192.0.2.8/29", "192.0.2.9", "192.0.2.14", 6},
		{"192.0.2.4/30", "192.0.2.5", "192.0.2.6", 2},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.subnet)
		first, last := hostRange(p)
		if first.String() != tt.first || last.String() != tt.last {
			t.Errorf("hostRange(%s) = %s, %s, want %s, %s", p, first, last, tt.first, tt.last)
		}
		if got := addressCount(p); got != tt.count {
			t.Errorf("addressCount(%s) = %d, want %d", p, got, tt.count)
		}
	}
}

// testConfig returns a network on subnet with its gateway first.
func testConfig(subnet string) *Config {
	p := netip.MustParsePrefix(subnet)
	return &Config{Name: "test", Subnet: p, Gateway: p.Addr().Next()}
}

// free is the take function of allocate for a bridge no other store uses.
func free(netip.Addr) (bool, error) { return true, nil }

func TestAllocate(t *testing.T) {
	cfg := testConfig("192.0.2.0/29") // hosts .1-.6, gateway .1
	st := &state{Endpoints: map[string]*Endpoint{}}
	take := func(id string) string {
		addr, err := st.allocate(cfg, free)
		if err != nil {
			t.Fatalf("allocate() for %s error = %v", id, err)
		}
		st.Endpoints[id] = &Endpoint{ContainerID: id, Address: netip.PrefixFrom(addr, 29)}
		return addr.String()
	}

	var got []string
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		got = append(got, take(id))
	}
	want := []string{"192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first allocations mismatch (-want +got):\n%s", diff)
	}
	if addr, err := st.allocate(cfg, free); !errors.Is(err, ErrNoAddresses) {
		t.Fatalf("allocate() on a full subnet = %v, %v, want ErrNoAddresses", addr, err)
	}

	// A released address comes back only after the search wraps around.
	delete(st.Endpoints, "b")
	if got := take("f"); got != "192.0.2.3" {
		t.Errorf("allocate() after releasing .3 = %s, want 192.0.2.3", got)
	}
	delete(st.Endpoints, "a")
	delete(st.Endpoints, "d")
	if got := take("g"); got != "192.0.2.5" {
		t.Errorf("allocate() after releasing .2 and .5 = %s, want 192.0.2.5 (next after .3)", got)
	}
	if got := take("h"); got != "192.0.2.2" {
		t.Errorf("allocate() then = %s, want 192.0.2.2 (wrapped)", got)
	}
}

func TestAllocateSkipsAddressesLeasedElsewhere(t *testing.T) {
	cfg := testConfig("192.0.2.0/29") // hosts .1-.6, gateway .1
	st := &state{Endpoints: map[string]*Endpoint{
		"a": {ContainerID: "a", Address: netip.MustParsePrefix("192.0.2.2/29")},
	}}
	// Another store's containers hold .3 and .4 on the bridge.
	elsewhere := map[string]bool{"192.0.2.3": true, "192.0.2.4": true}
	var asked []string
	take := func(addr netip.Addr) (bool, error) {
		asked = append(asked, addr.String())
		return !elsewhere[addr.String()], nil
	}

	addr, err := st.allocate(cfg, take)
	if err != nil || addr.String() != "192.0.2.5" {
		t.Errorf("allocate() = %v, %v, want 192.0.2.5", addr, err)
	}
	// Never the gateway or the store's own addresses; .3 and .4 refused.
	if want := []string{"192.0.2.3", "192.0.2.4", "192.0.2.5"}; !cmp.Equal(asked, want) {
		t.Errorf("allocate() asked take for %v, want %v", asked, want)
	}
	if st.Last.String() != "192.0.2.5" {
		t.Errorf("state.Last = %v, want 192.0.2.5", st.Last)
	}

	// All leased elsewhere: no address; a failing take: its error.
	none := func(netip.Addr) (bool, error) { return false, nil }
	if addr, err := st.allocate(cfg, none); !errors.Is(err, ErrNoAddresses) {
		t.Errorf("allocate(all leased elsewhere) = %v, %v, want ErrNoAddresses", addr, err)
	}
	errDisk := errors.New("disk on fire")
	broken := func(netip.Addr) (bool, error) { return false, errDisk }
	if addr, err := st.allocate(cfg, broken); !errors.Is(err, errDisk) {
		t.Errorf("allocate(failing take) = %v, %v, want %v", addr, err, errDisk)
	}
}

func TestPickSubnet(t *testing.T) {
	tests := []struct {
		name  string
		taken []string
		want  string
	}{
		{"nothing taken", nil, "172.30.0.0/24"},
		{"first taken", []string{"172.30.0.0/24"}, "172.30.1.0/24"},
		{"host route over two", []string{"172.30.0.0/23"}, "172.30.2.0/24"},
		{"unrelated", []string{"10.0.0.0/8", "172.29.0.0/16"}, "172.30.0.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var taken []netip.Prefix
			for _, s := range tt.taken {
				taken = append(taken, netip.MustParsePrefix(s))
			}
			got, err := pickSubnet(taken)
			if err != nil || got.String() != tt.want {
				t.Errorf("pickSubnet(%v) = %v, %v, want %s", tt.taken, got, err, tt.want)
			}
		})
	}
	if got, err := pickSubnet([]netip.Prefix{userPool}); !errors.Is(err, ErrNoAddresses) {
		t.Errorf("pickSubnet(whole pool) = %v, %v, want ErrNoAddresses", got, err)
	}
}

func TestCheckSubnet(t *testing.T) {
	tests := []struct {
		subnet string
		ok     bool
	}{
		{"172.30.5.0/24", true},
		{"10.0.0.0/8", true},
		{"172.30.5.1/24", false},
		{"fd00::/64", false},
		{"192.0.2.0/31", false},
		{"10.0.0.0/7", false},
	}
	for _, tt := range tests {
		err := checkSubnet(netip.MustParsePrefix(tt.subnet))
		if (err == nil) != tt.ok {
			t.Errorf("checkSubnet(%s) = %v, want ok %v", tt.subnet, err, tt.ok)
		}
	}
}
