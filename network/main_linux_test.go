package network

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary double as a helper process for the tests
// that need a second process: one that attaches a container and is then
// killed, and the ones that allocate addresses concurrently with others.
func TestMain(m *testing.M) {
	switch os.Getenv("SKIFF_NETWORK_HELPER") {
	case "":
		os.Exit(m.Run())
	case "attach":
		helperAttach()
	case "allocate":
		helperAllocate()
	}
	os.Exit(2)
}

// helperAttach attaches the container described by the environment,
// prints the endpoint as JSON, and serves its ports until killed.
func helperAttach() {
	var req AttachRequest
	if err := json.Unmarshal([]byte(os.Getenv("SKIFF_REQUEST")), &req); err != nil {
		fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := Options{LeaseDir: os.Getenv("SKIFF_LEASES")}
	m, err := Open(os.Getenv("SKIFF_ROOT"), opts, log)
	if err != nil {
		fail(err)
	}
	ep, err := m.Attach(req)
	if err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(ep)
	time.Sleep(time.Hour)
}

// helperAllocate allocates SKIFF_COUNT addresses on a network, as
// containers helper-<i>-<n>, leased in SKIFF_LEASES, and prints them one a
// line. The leases are held in the name of the parent, the test, which
// lives on after this process: they stay live until the test ends.
func helperAllocate() {
	s := store{os.Getenv("SKIFF_ROOT")}
	l := leases{dir: os.Getenv("SKIFF_LEASES"), log: slog.New(slog.DiscardHandler)}
	count, _ := strconv.Atoi(os.Getenv("SKIFF_COUNT"))
	for i := range count {
		id := fmt.Sprintf("helper-%d-%d", os.Getpid(), i)
		addr, err := allocateOne(s, l, os.Getenv("SKIFF_NETWORK"), id, os.Getppid())
		if err != nil {
			fail(err)
		}
		fmt.Println(addr)
	}
	os.Exit(0)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// helperCommand returns a command running this test binary as a helper.
func helperCommand(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"SKIFF_NETWORK_HELPER=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// allocateOne takes an address for id under the network's lock, leased
// in l, as Attach's reserve step does. The lease's holder is id in the
// network namespace of process pid.
func allocateOne(s store, l leases, network, id string, pid int) (netip.Addr, error) {
	h, err := holderOf(id, pid)
	if err != nil {
		return netip.Addr{}, err
	}
	var addr netip.Addr
	err = s.view(network, func(cfg *Config, st *state) error {
		a, err := l.allocate(st, cfg, h)
		if err != nil {
			return err
		}
		addr = a
		prefix := netip.PrefixFrom(a, cfg.Subnet.Bits())
		st.Endpoints[id] = &Endpoint{ContainerID: id, Address: prefix}
		return s.writeState(network, st)
	})
	return addr, err
}

// holderOf returns the holder of a lease for container id whose network
// namespace is that of process pid.
func holderOf(id string, pid int) (holder, error) {
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return holder{}, os.NewSyscallError("stat", err)
	}
	return holder{ContainerID: id, Pid: pid, NetNS: st.Ino}, nil
}

func lines(s string) []string { return strings.Fields(s) }
