package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParallelContainersLeaveNothing starts 50 containers on the default
// network at once, each with a published port, as 50 skiff processes
// racing for addresses, then removes them all at once. Afterwards the
// network must be as it was before: no endpoint, no veth, no address, no
// listening socket, no firewall rule beyond the network's own. Everything
// happens in a network namespace made for the test.
func TestParallelContainersLeaveNothing(t *testing.T) {
	root := busyboxStore(t)
	ns, err := newLabNetns()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		removeContainers(t, filepath.Dir(root), ns.path)
		if err := ns.remove(); err != nil {
			t.Error(err)
		}
	})
	skiff := func(args ...string) (string, error) {
		var stdout, stderr strings.Builder
		args = append([]string{"--root", root}, args...)
		if code := runSkiffIn(ns.path, args, &stdout, &stderr); code != 0 {
			return stdout.String(), fmt.Errorf("skiff %s: exit %d: %s",
				strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String(), nil
	}

	// One container first: the bridge and its NAT rule appear with it,
	// and stay after it, as docker0 does. That is the state to return to.
	if _, err := skiff("run", "--rm", "busybox", "echo"); err != nil {
		t.Fatal(err)
	}
	waitNoVeths(t, ns.path)
	before := netnsState(t, ns.path)

	const n = 50
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%02d", i)
	}
	eachInParallel(t, names, func(name string) error {
		_, err := skiff("run", "-d", "--name", name, "-p", "127.0.0.1::80",
			"busybox", "sleep", "300")
		return err
	})

	// 50 endpoints with 50 different addresses, 50 veths on the bridge,
	// 50 listening ports.
	addrs := bridgeAddresses(t, skiff)
	if got := len(slices.Compact(slices.Sorted(slices.Values(addrs)))); got != n {
		t.Errorf("after %d parallel runs: %d distinct addresses on the bridge %v, want %d",
			n, got, addrs, n)
	}
	veths := ipOut(t, ns.path, "-o", "link", "show", "master", "skiff0")
	if got := strings.Count(veths, "\n"); got != n {
		t.Errorf("after %d parallel runs: %d veths on skiff0, want %d", n, got, n)
	}
	if got := strings.Count(ssListening(t, ns.path), "\n"); got != n {
		t.Errorf("after %d parallel runs: %d listening sockets, want %d", n, got, n)
	}

	eachInParallel(t, names, func(name string) error {
		_, err := skiff("rm", "-f", name)
		return err
	})

	// The kernel deletes the veth of a namespace that is gone by itself,
	// a moment later.
	waitNoVeths(t, ns.path)
	if addrs := bridgeAddresses(t, skiff); len(addrs) != 0 {
		t.Errorf("after rm -f of all: endpoints %v are still recorded", addrs)
	}
	if got := ssListening(t, ns.path); got != "" {
		t.Errorf("after rm -f of all: sockets still listen:\n%s", got)
	}
	if after := netnsState(t, ns.path); after != before {
		t.Errorf("network namespace after rm -f of all:\n%s\nwant as before the runs:\n%s",
			after, before)
	}
}

// waitNoVeths waits until no veth is left on the default bridge: when a
// container's namespace goes, the kernel deletes its veth pair on its
// own, within some tens of milliseconds.
func waitNoVeths(t *testing.T, nsPath string) {
	t.Helper()
	var veths string
	for range 200 {
		if veths = ipOut(t, nsPath, "-o", "link", "show", "master", "skiff0"); veths == "" {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Errorf("veths still on skiff0 after 5s:\n%s", veths)
}

// eachInParallel runs fn on every name at once and fails the test with
// every error.
func eachInParallel(t *testing.T, names []string, fn func(string) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() { errs[i] = fn(name) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// bridgeAddresses returns the addresses of the containers on the default
// network, as skiff network inspect lists them.
func bridgeAddresses(t *testing.T, skiff func(...string) (string, error)) []string {
	t.Helper()
	out, err := skiff("network", "inspect", "bridge")
	if err != nil {
		t.Fatal(err)
	}
	var nets []struct {
		Containers map[string]struct{ IPv4Address string }
	}
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("skiff network inspect bridge: %v\n%s", err, out)
	}
	var addrs []string
	for _, c := range nets[0].Containers {
		addrs = append(addrs, c.IPv4Address)
	}
	return addrs
}

// netnsState describes what a network namespace holds: the names of its
// interfaces, their IPv4 addresses, its routes and its nftables rules.
// Link states are left out: a bridge loses its carrier when its last port
// goes, a moment after the container does.
func netnsState(t *testing.T, nsPath string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(ipOut(t, nsPath, "-o", "link", "show"), "\n") {
		if fields := strings.Fields(line); len(fields) > 1 {
			fmt.Fprintln(&b, "link", fields[1])
		}
	}
	for _, line := range strings.Split(ipOut(t, nsPath, "-o", "-4", "addr", "show"), "\n") {
		if fields := strings.Fields(line); len(fields) > 3 {
			fmt.Fprintln(&b, "addr", fields[1], fields[3])
		}
	}
	for _, line := range strings.Split(ipOut(t, nsPath, "route", "show"), "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), "linkdown")
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintln(&b, "route", line)
		}
	}
	b.WriteString(nsOut(t, nsPath, "nft", "list", "ruleset"))
	return b.String()
}

// ipOut runs ip(8) in the namespace at nsPath.
func ipOut(t *testing.T, nsPath string, args ...string) string {
	t.Helper()
	return nsOut(t, nsPath, "ip", args...)
}

// ssListening lists the TCP and UDP sockets listening in the namespace.
func ssListening(t *testing.T, nsPath string) string {
	t.Helper()
	return nsOut(t, nsPath, "ss", "-H", "-l", "-t", "-u", "-n")
}

// nsOut runs a command in the network namespace at nsPath and returns its
// output. nsenter enters the network namespace only, so that the command
// sees the host's /sys and cgroups as skiff does.
func nsOut(t *testing.T, nsPath, name string, args ...string) string {
	t.Helper()
	argv := append([]string{"--net=" + nsPath, "--", name}, args...)
	out, err := exec.Command("nsenter", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}
