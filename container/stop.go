package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/explain"
)

// Stop stops a running container as `docker stop` does: its stop signal
// (the image's STOPSIGNAL, else SIGTERM) to its first process, then, if it
// is still running after timeout, SIGKILL to every process in its cgroup.
// It returns once the container is recorded as exited.
func (s *Store) Stop(c *Container, timeout time.Duration) error {
	if err := s.reconcile(c); err != nil || c.State.Status != Running {
		return err
	}
	sig, err := ParseSignal(c.Options.StopSignal)
	if err != nil {
		return err
	}
	if err := s.markStopped(c); err != nil {
		return err
	}
	explain.Step(s.log, explain.Lifecycle,
		"ask first; a process that does not end in time is killed",
		"pidfd_send_signal(pid %d, %s), SIGKILL after %s", c.State.Pid, unix.SignalName(sig),
		timeout)
	if err := s.signal(c, sig); err != nil {
		return err
	}
	if !waitExit(c.State.Pid, c.State.PidStart, timeout) {
		s.log.Info("container ignored its stop signal, killing it", "container_id", c.ID)
		if err := s.killAll(c); err != nil {
			return err
		}
	}
	return s.waitRecorded(c)
}

// Kill sends sig to a running container's first process (docker kill).
func (s *Store) Kill(c *Container, sig syscall.Signal) error {
	if err := s.reconcile(c); err != nil {
		return err
	}
	if c.State.Status != Running {
		return fmt.Errorf("cannot kill container %s: %w", c.Name, ErrNotRunning)
	}
	if err := s.markStopped(c); err != nil {
		return err
	}
	if err := s.signal(c, sig); err != nil {
		return err
	}
	if sig == syscall.SIGKILL {
		return s.waitRecorded(c)
	}
	return nil
}

func (s *Store) markStopped(c *Container) error {
	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.reloadState(c); err != nil {
		return err
	}
	c.State.StoppedByUser = true
	return s.saveState(c)
}

// killAll kills every process of the container through its cgroup, so
// that nothing the container forked survives it.
func (s *Store) killAll(c *Container) error {
	cg, err := cgroups.Open(cgroupName(c), s.log)
	if err != nil {
		return s.signal(c, syscall.SIGKILL)
	}
	return cg.Kill()
}

// waitExit waits up to timeout for the process (pid, start) to end.
func waitExit(pid int, start uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid, start) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitRecorded waits until the container's watcher has recorded its exit;
// if the watcher is gone too, reconcile records it.
func (s *Store) waitRecorded(c *Container) error {
	for i := 0; ; i++ {
		if err := s.reconcile(c); err != nil || c.State.Status != Running {
			return err
		}
		if i > 1000 {
			return fmt.Errorf("container %s: its exit was not recorded in 10s", c.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reconcile rereads a container's state and brings it in line with the
// kernel's. Two kinds of skiff process may die and leave a container
// behind: the watcher of a running one (see [Store.reconcileRunning]), and
// the one that was starting it (see [Store.reconcileStarting]). Every
// command that acts on a container calls reconcile.
func (s *Store) reconcile(c *Container) error {
	if err := s.reloadState(c); err != nil {
		return err
	}
	switch c.State.Status {
	case Running:
		return s.reconcileRunning(c)
	case Created:
		return s.reconcileStarting(c)
	}
	return nil
}

// reconcileRunning handles a container recorded as running whose process
// and watcher are both gone (the watcher was killed): it is marked exited
// and its mounts and cgroup are released.
func (s *Store) reconcileRunning(c *Container) error {
	if alive(c.State.Pid, c.State.PidStart) ||
		alive(c.State.MonitorPid, c.State.MonitorStart) {
		return nil
	}

	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.reloadState(c); err != nil || c.State.Status != Running {
		return err
	}
	s.log.Warn("container's watcher died; cleaning up after it", "container_id", c.ID)
	return s.cleanUpAfter(c, "the process watching the container died")
}

// reconcileStarting handles a container still recorded as created whose
// root filesystem is mounted: a skiff began to start it and died before it
// recorded it running (killed, or by SIGPIPE on a closed stderr). Start
// holds the container's lock from the mount to the record, so once the
// lock is ours, a created container with a mounted rootfs has no one
// starting it any more. Its init may have been released already: whatever
// runs in its cgroup is killed, since no one would ever reap or record it.
func (s *Store) reconcileStarting(c *Container) error {
	// The cheap test first, as `skiff ps` runs it on every created
	// container: an overlay mounted on rootfs has a device of its own.
	if !s.rootfsMounted(c) {
		return nil
	}
	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	err = s.reloadState(c)
	if err != nil || c.State.Status != Created || !s.rootfsMounted(c) {
		return err
	}
	s.log.Warn("the skiff starting the container died; cleaning up after it",
		"container_id", c.ID)
	if cg, err := cgroups.Open(cgroupName(c), s.log); err == nil {
		if err := cg.Kill(); err != nil {
			return err
		}
	}
	return s.cleanUpAfter(c, "the process starting the container died")
}

// cleanUpAfter records c as exited for the reason why, after the skiff
// process that should have recorded it died, and releases what the
// container held: its cgroup, network, rootfs mount, and with --rm the
// container itself.
func (s *Store) cleanUpAfter(c *Container, why string) error {
	st := &c.State
	st.Status, st.FinishedAt = Exited, time.Now().UTC()
	// The exit status went with that process: Docker reports 255 when a
	// container's exit code is unknown.
	st.ExitCode, st.Error = 255, why
	st.Pid, st.PidStart, st.MonitorPid, st.MonitorStart = 0, 0, 0, 0
	var errs []error
	if cg, err := cgroups.Open(cgroupName(c), s.log); err == nil {
		errs = append(errs, cg.Delete())
	}
	errs = append(errs, s.networks.Detach(c.ID), s.unmountRootfs(c), s.saveState(c))
	if c.Options.AutoRemove {
		errs = append(errs, s.removeBundle(c))
	}
	return errors.Join(errs...)
}

// rootfsMounted reports whether something is mounted on the container's
// rootfs directory, by comparing its device with the bundle's: two
// stat(2) calls, where reading the mount table would cost far more.
func (s *Store) rootfsMounted(c *Container) bool {
	var bundle, rootfs unix.Stat_t
	if unix.Stat(s.bundle(c.ID), &bundle) != nil ||
		unix.Stat(s.bundle(c.ID, "rootfs"), &rootfs) != nil {
		return false
	}
	return rootfs.Dev != bundle.Dev
}

// Remove removes a container and its writable layer (docker rm). A running
// container is refused unless force, which kills it first.
func (s *Store) Remove(c *Container, force bool) error {
	if err := s.reconcile(c); err != nil {
		return err
	}
	if c.State.Status == Running {
		if !force {
			return fmt.Errorf("cannot remove container %q: %w: "+
				"stop the container before removing or force remove", c.Name, ErrRunning)
		}
		if err := s.killAll(c); err != nil {
			return err
		}
		if err := s.waitRecorded(c); err != nil {
			return err
		}
	}
	return s.removeBundle(c)
}

// removeBundle deletes the container's directory after making sure nothing
// is mounted in it. Leftover cgroups of a crash go too.
func (s *Store) removeBundle(c *Container) error {
	if err := s.networks.Detach(c.ID); err != nil {
		return err
	}
	if err := s.unmountRootfs(c); err != nil {
		return err
	}
	if cg, err := cgroups.Open(cgroupName(c), s.log); err == nil {
		if err := cg.Delete(); err != nil {
			return err
		}
	}
	explain.Step(s.log, explain.Lifecycle, "rm: the container's writable layer and state go",
		"rm -r %s", s.bundle(c.ID))
	return os.RemoveAll(s.bundle(c.ID))
}

// ParseSignal reads a signal as docker kill -s and STOPSIGNAL take it:
// "SIGTERM", "TERM", "term" or "15". Empty means SIGTERM.
func ParseSignal(raw string) (syscall.Signal, error) {
	if raw == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(raw); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(raw)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", raw)
}
