package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
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

// newLeases returns leases in a directory of the test's.
func newLeases(t *testing.T) leases {
	return leases{dir: filepath.Join(t.TempDir(), "1-br0"), log: testLogger(t)}
}

func TestIPAMParallelGoroutines(t *testing.T) {
	const subnet = "10.10.0.0/24"
	s, l := newIPAMStore(t, subnet), newLeases(t)
	allocate := func(id string) (netip.Addr, error) {
		return allocateOne(s, l, "test", id, os.Getpid())
	}

	var mu sync.Mutex
	var addrs []netip.Addr
	var wg sync.WaitGroup
	for i := range 250 {
		wg.Go(func() {
			a, err := allocate(fmt.Sprintf("c%d", i))
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
		if _, err := allocate(fmt.Sprintf("extra%d", i)); err != nil {
			t.Errorf("allocate extra #%d: %v", i, err)
		}
	}
	if a, err := allocate("one-too-many"); !errors.Is(err, ErrNoAddresses) {
		t.Errorf("allocate on a full /24 = %v, %v, want ErrNoAddresses", a, err)
	}
}

func TestIPAMParallelProcesses(t *testing.T) {
	const subnet = "10.10.0.0/24"
	s, l := newIPAMStore(t, subnet), newLeases(t)

	// Five processes, 50 addresses each, at the same time.
	addrs := allocateInHelpers(t, l, s, s, s, s, s)
	checkDistinct(t, addrs, 250, subnet)
	st, err := s.readState("test")
	if err != nil || len(st.Endpoints) != 250 {
		t.Errorf("state holds %d endpoints (%v), want 250", len(st.Endpoints), err)
	}
}

// TestIPAMParallelStores allocates in five stores at once, each with its
// own record of a network on the same bridge: the leases keep their
// addresses apart.
func TestIPAMParallelStores(t *testing.T) {
	const subnet = "10.10.0.0/24"
	var stores []store
	for range 5 {
		stores = append(stores, newIPAMStore(t, subnet))
	}
	l := newLeases(t)

	// Five processes, one per store, 50 addresses each, at the same time.
	addrs := allocateInHelpers(t, l, stores...)
	checkDistinct(t, addrs, 250, subnet)
	for i, s := range stores {
		st, err := s.readState("test")
		if err != nil || len(st.Endpoints) != 50 {
			t.Errorf("state of store %d holds %d endpoints (%v), want 50", i,
				len(st.Endpoints), err)
		}
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil || len(entries) != 250 {
		t.Errorf("lease directory holds %d files (%v), want 250", len(entries), err)
	}
}

// allocateInHelpers runs a helper process per store, all at the same
// time, each allocating 50 addresses leased in l, and returns them all.
func allocateInHelpers(t *testing.T, l leases, stores ...store) []netip.Addr {
	t.Helper()
	type result struct {
		out string
		err error
	}
	results := make(chan result, len(stores))
	for _, s := range stores {
		go func() {
			cmd := helperCommand("allocate", "SKIFF_ROOT="+s.dir, "SKIFF_NETWORK=test",
				"SKIFF_COUNT=50", "SKIFF_LEASES="+l.dir)
			out, err := cmd.Output()
			results <- result{string(out), err}
		}()
	}
	var addrs []netip.Addr
	for range stores {
		r := <-results
		if r.err != nil {
			t.Fatalf("helper process: %v", r.err)
		}
		for _, line := range lines(r.out) {
			addrs = append(addrs, netip.MustParseAddr(line))
		}
	}
	return addrs
}
