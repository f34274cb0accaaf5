package network

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests need no root: the holders of their leases are this test
// process, alive in its own network namespace, and processes that have
// exited.

// exitedPid returns the PID of a process that has exited.
func exitedPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// take takes a lease as allocate does, under the lock.
func take(t *testing.T, l leases, addr netip.Addr, h holder) (bool, error) {
	t.Helper()
	unlock, err := l.lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	return l.take(addr, h)
}

// readLease returns the holder of addr's lease, or false if there is none.
func readLease(t *testing.T, l leases, addr netip.Addr) (holder, bool) {
	t.Helper()
	var h holder
	err := readJSON(l.path(addr), &h)
	if errors.Is(err, fs.ErrNotExist) {
		return holder{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return h, true
}

func TestLeaseTake(t *testing.T) {
	me, err := holderOf("me", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	live := me
	live.ContainerID = "live-elsewhere"
	exited := holder{ContainerID: "exited", Pid: exitedPid(t), NetNS: me.NetNS}
	// A PID now used by another process, in another namespace.
	reused := holder{ContainerID: "reused", Pid: os.Getpid(), NetNS: me.NetNS + 1}
	anonymous := holder{ContainerID: "anonymous"}

	tests := []struct {
		name     string
		held     *holder // the lease that exists, if any
		wantTake bool
	}{
		{"free", nil, true},
		{"held by a live container", &live, false},
		{"held by a container without identity", &anonymous, false},
		{"stale: its process exited", &exited, true},
		{"stale: its PID was reused", &reused, true},
	}
	addr := netip.MustParseAddr("172.29.0.2")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLeases(t)
			if tt.held != nil {
				if ok, err := take(t, l, addr, *tt.held); !ok || err != nil {
					t.Fatalf("take(%s, %v) on a free address = %v, %v, want true",
						addr, *tt.held, ok, err)
				}
			}

			ok, err := take(t, l, addr, me)
			if err != nil || ok != tt.wantTake {
				t.Errorf("take(%s) = %v, %v, want %v", addr, ok, err, tt.wantTake)
			}
			want := me
			if !tt.wantTake {
				want = *tt.held
			}
			if got, _ := readLease(t, l, addr); got != want {
				t.Errorf("lease of %s holds %+v, want %+v", addr, got, want)
			}
		})
	}
}

func TestLeaseRelease(t *testing.T) {
	me, err := holderOf("me", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	l := newLeases(t)
	a, b := netip.MustParseAddr("172.29.0.2"), netip.MustParseAddr("172.29.0.3")
	for _, addr := range []netip.Addr{a, b} {
		if ok, err := take(t, l, addr, me); !ok || err != nil {
			t.Fatalf("take(%s) = %v, %v, want true", addr, ok, err)
		}
	}

	// Only the holder's container releases a lease.
	if err := l.release(a, "someone-else"); err != nil {
		t.Fatalf("release(%s, someone-else) = %v", a, err)
	}
	if _, ok := readLease(t, l, a); !ok {
		t.Errorf("release(%s, someone-else) removed the lease of %q", a, me.ContainerID)
	}
	if err := l.release(a, me.ContainerID); err != nil {
		t.Fatalf("release(%s, %s) = %v", a, me.ContainerID, err)
	}
	if _, ok := readLease(t, l, a); ok {
		t.Errorf("release(%s, %s) left the lease", a, me.ContainerID)
	}
	if err := l.release(a, me.ContainerID); err != nil {
		t.Errorf("release(%s) again = %v, want nil", a, err)
	}

	// The directory goes with its last lease.
	if err := l.release(b, me.ContainerID); err != nil {
		t.Fatalf("release(%s, %s) = %v", b, me.ContainerID, err)
	}
	if _, err := os.Stat(l.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lease directory after the last release: %v, want it gone", err)
	}
}

func TestLeaseVeths(t *testing.T) {
	l := newLeases(t)
	for i, veth := range []string{"skiff0000001", "skiff0000002"} {
		addr := netip.AddrFrom4([4]byte{172, 29, 0, byte(2 + i)})
		h := holder{ContainerID: "c" + veth, HostVeth: veth}
		if ok, err := take(t, l, addr, h); !ok || err != nil {
			t.Fatalf("take(%s) = %v, %v, want true", addr, ok, err)
		}
	}
	got, err := l.veths()
	want := map[string]bool{"skiff0000001": true, "skiff0000002": true}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("veths() = %v, %v, want %v", got, err, want)
	}
}
