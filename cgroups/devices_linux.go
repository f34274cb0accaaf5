package cgroups

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// allowDevices lets the group's processes use only what rules allow: with
// an eBPF program where the group has a v2 directory, which is where its
// processes are born (pure v2 and hybrid hosts), and otherwise with the
// files devices.deny and devices.allow of the v1 devices controller (pure
// v1 hosts). attach attaches the program; nil means [attachDevices], the
// real bpf(2) calls.
func (c *Cgroup) allowDevices(rules []deviceRule, attach attachFunc) error {
	if d, ok := c.unified(); ok {
		if attach == nil {
			attach = attachDevices
		}
		return attach(c.log, d.path, rules)
	}
	if d, ok := c.where("devices"); ok && !d.v2 {
		return c.allowDevicesV1(d.path, rules)
	}
	return nil
}

// allowDevicesV1 writes rules to the v1 group directory path, one write
// per rule.
func (c *Cgroup) allowDevicesV1(path string, rules []deviceRule) error {
	// A new group inherits its parent's rules, allow-all at the root. "a"
	// (all devices) in devices.deny drops them and denies by default; the
	// kernel takes it only in a group without child groups, as ours is.
	if err := write(c.log, filepath.Join(path, "devices.deny"), "a"); err != nil {
		return err
	}
	for _, r := range rules {
		if err := write(c.log, filepath.Join(path, "devices.allow"), r.String()); err != nil {
			return err
		}
	}
	return nil
}

// attachDevices compiles rules into an eBPF program (see bpf_linux.go),
// loads it and attaches it to the v2 group directory dir. The program's
// file descriptor is closed afterwards: the attachment holds the program
// until the group is removed.
func attachDevices(log *slog.Logger, dir string, rules []deviceRule) error {
	prog := deviceProgram(rules)
	explain.Step(log, explain.Cgroups,
		"v2: the device rules as a program, which the kernel runs at each mknod and open of a device",
		"bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, %d instructions, %q)",
		len(prog), programName)
	fd, err := loadDeviceProgram(prog)
	if err != nil {
		return fmt.Errorf("load device program: %w", err)
	}
	defer unix.Close(fd)

	explain.Step(log, explain.Cgroups,
		"v2: the group's processes may use the devices the program allows, no others",
		"bpf(BPF_PROG_ATTACH, %q, BPF_CGROUP_DEVICE)", dir)
	if err := attachDeviceProgram(dir, fd); err != nil {
		return fmt.Errorf("attach device program: %w", err)
	}
	return nil
}
