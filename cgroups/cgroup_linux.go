package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// deleteTimeout bounds how long Delete waits for the last tasks of a group
// to finish exiting.
const deleteTimeout = 2 * time.Second

// Create makes the group name, such as "skiff/<container-id>", in every
// hierarchy skiff uses on this host, below the root of each, sets the
// limits r, and lets the group use only the devices of Docker's default
// allow-list (see the package doc). On error nothing Create made is left
// behind. A nil log discards the debug lines.
//
// A group of the same name left behind by an earlier run, which Delete
// should have removed, is reused: limits that are zero in r keep the value
// they had there.
//
// Create needs root (or write access to the hierarchies' roots).
func Create(name string, r Resources, log *slog.Logger) (*Cgroup, error) {
	l, err := hostLayout()
	if err != nil {
		return nil, err
	}
	return create(l, name, r, log)
}

// create is Create in the hierarchies of l.
func create(l layout, name string, r Resources, log *slog.Logger) (_ *Cgroup, err error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := l.check(r); err != nil {
		return nil, fmt.Errorf("create cgroup %q: %w", name, err)
	}
	c := &Cgroup{name: name, mode: l.mode, dirs: l.dirsFor(name, r), log: orDiscard(log)}
	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("create cgroup %q: %w", name, ErrNoController)
	}

	// Limitation: the cgroupfs way, files written directly; runc's systemd
	// driver asks systemd over D-Bus for a transient scope instead.
	var made []string
	defer func() {
		if err != nil {
			err = errors.Join(err, c.unmake(made))
		}
	}()

	for i, d := range c.dirs {
		var before func(parent string) error
		if d.v2 {
			before = func(parent string) error { return c.enable(parent, l.v2Controllers) }
			c.dirs[i].controllers = l.v2Controllers
		}
		m, err := c.mkdirs(d.mount, before)
		made = append(made, m...)
		if err != nil {
			return nil, fmt.Errorf("create cgroup %q: %w", name, err)
		}
	}

	if err := c.limit(r); err != nil {
		return nil, fmt.Errorf("limit cgroup %q: %w", name, err)
	}
	if err := c.allowDevices(allowedDevices, l.programs); err != nil {
		return nil, fmt.Errorf("allow devices in cgroup %q: %w", name, err)
	}
	return c, nil
}

// mkdirs creates the group's directories below the mount point top, one
// level at a time ("skiff", then "skiff/<id>"), and returns those it
// made. before, if set, runs on each parent before its child is made.
func (c *Cgroup) mkdirs(top string, before func(parent string) error) ([]string, error) {
	var made []string
	parent := top
	for _, elem := range strings.Split(c.name, "/") {
		if before != nil {
			if err := before(parent); err != nil {
				return made, err
			}
		}

		// mkdir(2) in cgroupfs makes a group, its control files included.
		p := filepath.Join(parent, elem)
		err := os.Mkdir(p, 0o755)
		switch {
		case err == nil:
			explain.Step(c.log, explain.Cgroups,
				"a new group: the kernel makes its control files", "mkdir(%q)", p)
			made = append(made, p)
		case !errors.Is(err, fs.ErrExist):
			return made, err
		}
		parent = p
	}
	return made, nil
}

// unmake removes the directories Create made, deepest first. A shared
// parent such as "skiff" may have gained another container's group in the
// meantime: EBUSY and ENOTEMPTY are expected then, and it stays.
func (c *Cgroup) unmake(made []string) error {
	var errs []error
	for _, p := range slices.Backward(made) {
		err := rmdir(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) ||
			errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY) {
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// enable lets the children of the v2 group parent use controllers want,
// by writing "+name" to parent's cgroup.subtree_control. A controller can
// be enabled only where it is available (listed in cgroup.controllers),
// and it is available only where the parent's parent enabled it: so the
// walk goes from the root down. The kernel refuses (EBUSY) in a non-root
// group that has processes of its own: "no internal processes".
func (c *Cgroup) enable(parent string, want []string) error {
	if len(want) == 0 {
		return nil
	}
	offered, err := readWords(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return err
	}
	control := filepath.Join(parent, "cgroup.subtree_control")
	enabled, err := readWords(control)
	if err != nil {
		return err
	}

	for _, ctrl := range want {
		if slices.Contains(enabled, ctrl) {
			continue
		}
		if !slices.Contains(offered, ctrl) {
			return fmt.Errorf("enable controller %q in %q: %w", ctrl, parent, ErrNoController)
		}
		if err := write(c.log, control, "+"+ctrl); err != nil {
			return fmt.Errorf("enable controller %q: %w", ctrl, err)
		}
	}
	return nil
}

// Open finds the existing group name, made by Create in this or another
// process, so that a later command can stop, inspect or remove it. It
// fails with an error matching [fs.ErrNotExist] if the group is in no
// hierarchy. A nil log discards the debug lines.
func Open(name string, log *slog.Logger) (*Cgroup, error) {
	l, err := hostLayout()
	if err != nil {
		return nil, err
	}
	return open(l, name, log)
}

// open is Open in the hierarchies of l.
func open(l layout, name string, log *slog.Logger) (*Cgroup, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	c := &Cgroup{name: name, mode: l.mode, log: orDiscard(log)}

	// Keep the directories that exist: a group half-removed by an
	// interrupted Delete is still opened, so that it can be finished.
	for _, d := range l.dirs(name) {
		if _, err := os.Stat(d.path); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		if d.v2 {
			ctrls, err := readWords(filepath.Join(d.path, "cgroup.controllers"))
			if err != nil {
				return nil, err
			}
			d.controllers = ctrls
		}
		c.dirs = append(c.dirs, d)
	}

	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("open cgroup %q: %w", name, fs.ErrNotExist)
	}
	return c, nil
}

// Add moves process pid, all its threads, into the group in every
// hierarchy. Its future children are born in the group. Add it before it
// runs the container's command, so that limits hold from the start.
func (c *Cgroup) Add(pid int) error {
	for _, d := range c.dirs {
		err := write(c.log, filepath.Join(d.path, "cgroup.procs"), strconv.Itoa(pid))
		if err != nil {
			return fmt.Errorf("add process %d to cgroup %q: %w", pid, c.name, err)
		}
	}
	return nil
}

// V2Path returns the group's directory in the v2 hierarchy, or "" when the
// host has none. A process can be born there: clone3(2) with
// CLONE_INTO_CGROUP and a descriptor of this directory.
func (c *Cgroup) V2Path() string {
	d, ok := c.unified()
	if !ok {
		return ""
	}
	return d.path
}

// AddV1 moves process pid into the group in the v1 hierarchies only: for a
// process that was born in the group's v2 directory (see [Cgroup.V2Path]).
func (c *Cgroup) AddV1(pid int) error {
	for _, d := range c.dirs {
		if d.v2 {
			continue
		}
		err := write(c.log, filepath.Join(d.path, "cgroup.procs"), strconv.Itoa(pid))
		if err != nil {
			return fmt.Errorf("add process %d to cgroup %q: %w", pid, c.name, err)
		}
	}
	return nil
}

// Procs returns the processes (thread group IDs, as seen from the caller's
// PID namespace) in the group, in ascending order. Zombies are not listed,
// although pids.current still counts them.
//
// It reads one hierarchy, v2 if the group has a directory there: Add puts
// a process in every hierarchy and its children are born there too, so
// all list the same processes, and reading several one after the other
// would mix different moments of a group whose processes come and go.
func (c *Cgroup) Procs() ([]int, error) {
	d, ok := c.unified()
	if !ok {
		d = c.dirs[0]
	}

	words, err := readWords(filepath.Join(d.path, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %q: %w", c.name, err)
	}
	pids := make([]int, len(words))
	for i, w := range words {
		if pids[i], err = strconv.Atoi(w); err != nil {
			return nil, fmt.Errorf("list processes of cgroup %q: %w", c.name, err)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// Delete removes the group from every hierarchy; the parent ("skiff")
// stays for other containers, with the device program they inherit from
// it (see the package doc). A group must be empty to be removed, so
// Delete retries while the last tasks finish exiting; stop or Kill them
// first. A group already gone is not an error.
func (c *Cgroup) Delete() error {
	var errs []error
	for _, d := range c.dirs {
		errs = append(errs, c.remove(d.path))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete cgroup %q: %w", c.name, err)
	}
	return nil
}

// remove removes the group directory at path, retrying while the last
// tasks of the group finish exiting.
func (c *Cgroup) remove(path string) error {
	deadline := time.Now().Add(deleteTimeout)
	for {
		err := rmdir(path)
		switch {
		case err == nil:
			explain.Step(c.log, explain.Cgroups, "the group is empty: it goes",
				"rmdir(%q)", path)
			return nil
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case !errors.Is(err, unix.EBUSY) || time.Now().After(deadline):
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rmdir removes a group directory with rmdir(2), the only way to remove a
// group: its control files cannot be unlinked. It fails with EBUSY while
// the group has tasks or child groups.
func rmdir(path string) error {
	if err := unix.Rmdir(path); err != nil {
		return &os.PathError{Op: "rmdir", Path: path, Err: err}
	}
	return nil
}

// where returns the group's directory in the hierarchy that holds
// controller ctrl; ok is false where no hierarchy does.
func (c *Cgroup) where(ctrl string) (d dir, ok bool) {
	i := slices.IndexFunc(c.dirs, func(d dir) bool { return slices.Contains(d.controllers, ctrl) })
	if i < 0 {
		return dir{}, false
	}
	return c.dirs[i], true
}

// unified returns the group's directory in the v2 hierarchy, if any.
func (c *Cgroup) unified() (d dir, ok bool) {
	i := slices.IndexFunc(c.dirs, func(d dir) bool { return d.v2 })
	if i < 0 {
		return dir{}, false
	}
	return c.dirs[i], true
}

// orDiscard returns log, or a logger that discards everything if nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
