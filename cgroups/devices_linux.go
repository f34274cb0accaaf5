package cgroups

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// allowDevices lets the group's processes use only what rules allow. Where
// the group has a v2 directory, which is where its processes are born
// (pure v2 and hybrid hosts), that is an eBPF program on the v2 group
// above it, which the group inherits (see [programDir]); otherwise it is
// the files devices.deny and devices.allow of the group's own v1 devices
// group (pure v1 hosts). calls are the bpf(2) calls; a nil field means
// the real one.
//
// The program must be in place before the container's process is born in
// the group, so that the rules hold from its first instruction: Create
// calls allowDevices as its last step, before it returns.
func (c *Cgroup) allowDevices(rules []deviceRule, calls programCalls) error {
	if d, ok := c.unified(); ok {
		// Limitation: one program for every container, on their parent;
		// runc attaches one per container, whose rules --device changes.
		return c.attachOnce(programDir(d.path, c.name), rules, calls)
	}
	if d, ok := c.where("devices"); ok && !d.v2 {
		return c.allowDevicesV1(d.path, rules)
	}
	return nil
}

// programDir returns the v2 directory that holds the device program for
// the group name, whose v2 directory is path: its parent, such as "skiff"
// for "skiff/<id>". The kernel runs a group's device program for the
// processes of every group below it too, so one program there serves
// every container, and a group made later needs nothing of its own.
//
// A name of one element has no parent but the root of the hierarchy, and
// a program there would hold for every process of the host: such a group
// gets the program itself.
func programDir(path, name string) string {
	if !strings.Contains(name, "/") {
		return path
	}
	return filepath.Dir(path)
}

// attachOnce makes sure the v2 group directory dir has a device program
// of its own: it asks the kernel which are attached there, and loads and
// attaches one only if there is none, which is once per parent group, not
// once per container.
func (c *Cgroup) attachOnce(dir string, rules []deviceRule, calls programCalls) error {
	query, attach := calls.query, calls.attach
	if query == nil {
		query = attachedPrograms
	}
	if attach == nil {
		attach = attachDevices
	}

	// Narrated every time, so that a start whose program is already in
	// place shows why no program is loaded.
	why := "v2: the device rules are one program on the parent group, which every " +
		"container group below it inherits: is it there yet?"
	if !strings.Contains(c.name, "/") {
		why = "v2: a group with no parent below the root holds the device program " +
			"itself: is it there yet?"
	}
	explain.Step(c.log, explain.Cgroups, why, "bpf(BPF_PROG_QUERY, %q, BPF_CGROUP_DEVICE)", dir)
	ids, err := query(dir)
	if err != nil {
		return fmt.Errorf("query device programs: %w", err)
	}
	// Limitation: any device program there counts as skiff's, unread;
	// runc always attaches its current rules, replacing the old program.
	if len(ids) > 0 {
		return nil
	}

	// Two skiffs starting containers at once may both find no program
	// and both attach one. That is harmless: attaching with no flags
	// replaces the program in one step, with an identical one, and the
	// group is never without a program in between.
	return attach(c.log, dir, rules)
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
		"v2: the processes of this group and of every group below it may use "+
			"the devices the program allows, no others",
		"bpf(BPF_PROG_ATTACH, %q, BPF_CGROUP_DEVICE)", dir)
	if err := attachDeviceProgram(dir, fd); err != nil {
		return fmt.Errorf("attach device program: %w", err)
	}
	return nil
}
