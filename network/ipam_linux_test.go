package network

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// newIPAMStore returns a store with one network on subnet.
func newIPAMStore(t *testing.T, subnet string) store {
	t.Helper()
	s := store{t.TempDir()}
	cfg := testConfig(subnet)
	if err := s.writeConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDistinct checks that addrs are n distinct host addresses of
// subnet, none of them the network, gateway or broadcast address.
func checkDistinct(t *testing.T, addrs []netip.Addr, n int, subnet string) {
	t.Helper()
	p := netip.MustParsePrefix(subnet)
	first, last := hostRange(p)
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		switch {
		case seen[a]:
			t.Errorf("address %s handed out twice", a)
		case !p.Contains(a) || a.Less(first) || last.Less(a):
			t.Errorf("address %s outside the hosts of %s", a, subnet)
		case a == p.Addr().Next():
			t.Errorf("gateway %s handed out", a)
		}
		seen[a] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct addresses, want %d", len(seen), n)
	}
}

func TestIPAMParallelGoroutines(t *testing.T) {
	const subnet = "10.10.0.0/24"
	s := newIPAMStore(t, subnet)

	var mu sync.Mutex
	var addrs []netip.Addr
	var wg sync.WaitGroup
	for i := range 250 {
		wg.Go(func() {
			a, err := allocateOne(s, "test", fmt.Sprintf("c%d", i))
			if err != nil {
				t.Errorf("allocate #%d: %v", i, err)
				return
			}
			mu.Lock()
			addrs = append(addrs, a)
			mu.Unlock()
		})
	}
	wg.Wait()
	checkDistinct(t, addrs, 250, subnet)

	// A /24 has 253 addresses for containers: 256 less the network
	// address, the gateway and the broadcast address.
	for i := range 3 {
		if _, err := allocateOne(s, "test", fmt.Sprintf("extra%d", i)); err != nil {
			t.Errorf("allocate extra #%d: %v", i, err)
		}
	}
	if a, err := allocateOne(s, "test", "one-too-many"); !errors.Is(err, ErrNoAddresses) {
		t.Errorf("allocate on a full /24 = %v, %v, want ErrNoAddresses", a, err)
	}
}

func TestIPAMParallelProcesses(t *testing.T) {
	const subnet = "10.10.0.0/24"
	s := newIPAMStore(t, subnet)

	// Five processes, 50 addresses each, at the same time.
	type result struct {
		out string
		err error
	}
	results := make(chan result, 5)
	for range 5 {
		go func() {
			cmd := helperCommand("allocate", "SKIFF_ROOT="+s.dir, "SKIFF_NETWORK=test",
				"SKIFF_COUNT=50")
			out, err := cmd.Output()
			results <- result{string(out), err}
		}()
	}
	var addrs []netip.Addr
	for range 5 {
		r := <-results
		if r.err != nil {
			t.Fatalf("helper process: %v", r.err)
		}
		for _, l := range lines(r.out) {
			addrs = append(addrs, netip.MustParseAddr(l))
		}
	}
	checkDistinct(t, addrs, 250, subnet)
	st, err := s.readState("test")
	if err != nil || len(st.Endpoints) != 250 {
		t.Errorf("state holds %d endpoints (%v), want 250", len(st.Endpoints), err)
	}
}
