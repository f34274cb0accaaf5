package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// deviceScript makes device nodes in the current directory and opens
// them, one line of output per step: "STEP: ok", or the reason the shell
// gives for the failure. An open that the rules refuse fails with EPERM,
// "Operation not permitted"; a redirection of ":" opens a file and writes
// nothing to it.
const deviceScript = `
step() {
	if err=$( { eval "$2"; } 2>&1 ); then echo "$1: ok"; else echo "$1: ${err##*: }"; fi
}
step "mknod c 1:11" "mknod kmsg c 1 11"
step "read c 1:11" ": <kmsg"
step "write c 1:11" ": >kmsg"
step "mknod c 1:3" "mknod null c 1 3"
step "read and write c 1:3" ": <>null"
step "mknod b 7:0" "mknod loop b 7 0"
step "read b 7:0" ": <loop"
`

// wantDevices is what deviceScript prints in a group with skiff's rules:
// any node can be made, only the allowed ones opened.
var wantDevices = []string{
	"mknod c 1:11: ok",
	"read c 1:11: Operation not permitted",
	"write c 1:11: Operation not permitted",
	"mknod c 1:3: ok",
	"read and write c 1:3: ok",
	"mknod b 7:0: ok",
	"read b 7:0: Operation not permitted",
}

// checkDevices runs deviceScript in c, in a new directory on a file
// system that allows device nodes, and compares its output with want.
func checkDevices(t *testing.T, c *Cgroup, want []string) {
	t.Helper()
	dir := t.TempDir()
	if err := allowsDeviceNodes(dir); err != nil {
		t.Skipf("skipping: %v", err)
	}

	ch := startHeld(t, fmt.Sprintf("cd '%s' || exit 1\n%s", dir, deviceScript))
	if err := c.Add(ch.pid()); err != nil {
		t.Fatal(err)
	}
	ch.release(t)
	var got []string
	for range want {
		got = append(got, ch.readLine(t, 5*time.Second))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("device nodes in cgroup %s (-want +got):\n%s\nstderr: %s",
			c.Name(), diff, &ch.stderr)
	}
	ch.wait(t, 5*time.Second)
}

// allowsDeviceNodes fails if the file system at dir is mounted nodev,
// where every device node fails to open, with or without rules.
func allowsDeviceNodes(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	if st.Flags&unix.ST_NODEV != 0 {
		return fmt.Errorf("%s is on a file system mounted nodev", dir)
	}
	return nil
}

// Each mechanism alone refuses the open: "v1 only" leaves the process in
// the v2 root group, which has no program, and "v2 only" in the root of
// the v1 devices hierarchy, which allows everything.
func TestDeviceRules(t *testing.T) {
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			c := newGroup(t, v.l, Resources{})
			checkDevices(t, c, wantDevices)
		})
	}
}

// Outside skiff's groups nothing refuses with EPERM: the refusals above
// are the rules' doing, not the file system's or the shell's. (Opening
// b 7:0 may still fail, with ENXIO, where no loop device driver is loaded.)
func TestDeviceScriptWithoutRules(t *testing.T) {
	requireHost(t)
	dir := t.TempDir()
	if err := allowsDeviceNodes(dir); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ch := startHeld(t, fmt.Sprintf("cd '%s' || exit 1\n%s", dir, deviceScript))
	ch.release(t)
	for range wantDevices {
		got := ch.readLine(t, 5*time.Second)
		if strings.HasSuffix(got, "Operation not permitted") ||
			strings.HasPrefix(got, "mknod") && !strings.HasSuffix(got, ": ok") {
			t.Errorf("outside skiff's groups: %q, want no refusal", got)
		}
	}
	ch.wait(t, 5*time.Second)
}

// A group left behind by an earlier run is reused: its parent still has
// the program from the first Create, or, on a pure v1 host, the rules are
// written again.
func TestDeviceRulesReused(t *testing.T) {
	l := requireHost(t)
	c := newGroup(t, l, Resources{})
	again, err := create(l, c.Name(), Resources{}, testLog(t))
	if err != nil {
		t.Fatalf("create(%q) again error: %v", c.Name(), err)
	}
	checkDevices(t, again, wantDevices)
}

// requireV2 is requireHost for the tests of the device program: it skips
// unless the host has a cgroup2 hierarchy, where the program lives.
func requireV2(t *testing.T) layout {
	t.Helper()
	l := requireHost(t)
	if l.v2 == "" {
		t.Skip("skipping: no cgroup2 hierarchy for a device program")
	}
	return l
}

// newSibling creates the group leaf next to c, below the same parent, and
// kills and deletes it when the test ends. c's cleanup, registered before
// and so run after, removes the parent.
func newSibling(t *testing.T, l layout, c *Cgroup, leaf string, log *slog.Logger) *Cgroup {
	t.Helper()
	name := path.Join(path.Dir(c.Name()), leaf)
	sib, err := create(l, name, Resources{}, log)
	if err != nil {
		t.Fatalf("create(%q) error: %v", name, err)
	}
	t.Cleanup(func() {
		if err := errors.Join(sib.Kill(), sib.Delete()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return sib
}

// checkPrograms fails the test unless the v2 group directory dir has want
// device programs of its own, and returns their IDs.
func checkPrograms(t *testing.T, dir string, want int) []uint32 {
	t.Helper()
	ids, err := attachedPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != want {
		t.Errorf("attachedPrograms(%s) = %v, want %d programs", dir, ids, want)
	}
	return ids
}

// The program goes on the parent of the container groups, once: a second
// Create below the same parent finds it there, and loads and attaches
// none.
func TestDeviceProgramAttachedOnce(t *testing.T) {
	l := requireV2(t)
	first := newGroup(t, l, Resources{})
	parent := filepath.Dir(first.V2Path())
	before := checkPrograms(t, parent, 1)
	checkPrograms(t, first.V2Path(), 0)

	log := &writeLog{root: l.v2}
	second := newSibling(t, l, first, "c2", slog.New(log))
	query := fmt.Sprintf("bpf(BPF_PROG_QUERY, %q, BPF_CGROUP_DEVICE)", path.Dir(first.Name()))
	if diff := cmp.Diff([]string{query}, log.bpf); diff != "" {
		t.Errorf("second create() bpf calls mismatch (-want +got):\n%s", diff)
	}

	after := checkPrograms(t, parent, 1)
	checkPrograms(t, second.V2Path(), 0)
	if !slices.Equal(before, after) {
		t.Errorf("program of %s = %v after the second create, want %v still", parent, after, before)
	}
}

// A container group made after its parent got the program inherits it,
// and keeps it when the group that brought it there is deleted: the
// program belongs to the parent, not to the first container's group.
func TestDeviceRulesInherited(t *testing.T) {
	l := requireV2(t)
	first := newGroup(t, l, Resources{})
	second := newSibling(t, l, first, "c2", testLog(t))
	if err := first.Delete(); err != nil {
		t.Fatal(err)
	}
	checkPrograms(t, filepath.Dir(second.V2Path()), 1)
	checkDevices(t, second, wantDevices)
}

// A group named by one element has no parent but the root of the
// hierarchy, where a program would hold for the whole host: it gets the
// program itself.
func TestDeviceRulesWithoutParent(t *testing.T) {
	l := requireV2(t)
	name := path.Dir(groupName(t))
	c, err := create(l, name, Resources{}, testLog(t))
	if err != nil {
		t.Fatalf("create(%q) error: %v", name, err)
	}
	t.Cleanup(func() {
		if err := errors.Join(c.Kill(), c.Delete()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	checkPrograms(t, c.V2Path(), 1)
	checkPrograms(t, l.v2, 0)
	checkDevices(t, c, wantDevices)
}

// The verifier's reason is in the error: here a read past the end of the
// context.
func TestLoadDeviceProgramRefused(t *testing.T) {
	requireHost(t)
	prog := []insn{loadCtx(regType, 12), move(regAnswer, 1), exit()}
	fd, err := loadDeviceProgram(prog)
	if err == nil {
		unix.Close(fd)
		t.Fatalf("loadDeviceProgram(read at offset 12) succeeded, want an error")
	}
	if !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "invalid bpf_context access") {
		t.Errorf("loadDeviceProgram(read at offset 12) error = %v, "+
			"want EACCES and the verifier's \"invalid bpf_context access\"", err)
	}
	t.Logf("loadDeviceProgram(read at offset 12) error: %v", err)
}
