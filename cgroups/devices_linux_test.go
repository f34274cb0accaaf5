package cgroups

import (
	"errors"
	"fmt"
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

// A group left behind by an earlier run is reused: attaching the program
// again replaces the one attached before.
func TestDeviceRulesReused(t *testing.T) {
	l := requireHost(t)
	c := newGroup(t, l, Resources{})
	again, err := create(l, c.Name(), Resources{}, testLog(t))
	if err != nil {
		t.Fatalf("create(%q) again error: %v", c.Name(), err)
	}
	checkDevices(t, again, wantDevices)
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
