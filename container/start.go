package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/namespaces"
)

// Stdio is where a container's standard streams go while this process
// watches it. A nil Stdin gives the container /dev/null.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Rows and Cols, when set, are the initial size of a container's
	// terminal, so that its first output already fits the window.
	Rows, Cols uint16
}

// Process is a container started by this process, which watches it until
// it exits: the foreground `skiff run`, or the monitor of a detached one.
type Process struct {
	s      *Store
	c      *Container
	proc   *namespaces.Process
	cgroup *cgroups.Cgroup
	// term is the pseudo-terminal of a container started with -t.
	term *terminal
	// log receives a copy of everything the container writes.
	log *logWriter
	// attached is set once the container has an endpoint on a network.
	attached bool
}

// Container returns the container being watched.
func (p *Process) Container() *Container { return p.c }

// Start starts a created or exited container and returns once its command
// runs (or could not be run: an *namespaces.ExecError carries Docker's
// 126 or 127). The steps, in order: mount the root filesystem, create the
// cgroup, start the init in new namespaces (born in the cgroup, it starts
// its runtime and waits), meanwhile write the /etc files, add the init to
// the v1 cgroups, attach it to its network, release it, record the state.
// On failure every step is undone.
func (s *Store) Start(c *Container, stdio Stdio) (_ *Process, err error) {
	// A skiff that died starting c earlier left its rootfs mounted.
	if err := s.reconcile(c); err != nil {
		return nil, err
	}
	unlock, err := s.lock(c.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.reloadState(c); err != nil {
		return nil, err
	}
	if c.State.Status == Running {
		return nil, fmt.Errorf("cannot start container %s: %w", c.Name, ErrRunning)
	}

	p := &Process{s: s, c: c}
	defer func() {
		if err == nil {
			return
		}
		p.release()
		c.State.Status, c.State.Error = Exited, err.Error()
		c.State.ExitCode = exitCodeOf(err)
		c.State.FinishedAt = time.Now().UTC()
		s.saveState(c)
		if c.Options.AutoRemove {
			// docker run --rm removes a container that could not start, too.
			s.removeBundle(c)
		}
	}()

	// The overlay is mounted before the init is cloned: its new mount
	// namespace starts as a copy of ours, and a mount made in ours later
	// would not reach it.
	if err := s.mountRootfs(c); err != nil {
		return nil, err
	}
	spec, err := s.spec(c)
	if err != nil {
		return nil, err
	}
	p.cgroup, err = cgroups.Create(cgroupName(c), resourcesOf(&c.Options), s.log)
	if err != nil {
		return nil, err
	}
	// Born in the v2 group where there is one; moved into v1 ones.
	spec.CgroupDir = p.cgroup.V2Path()
	if p.cgroup.Mode() == cgroups.Unified {
		spec.Namespaces = append(spec.Namespaces, namespaces.CgroupNS)
	}

	// Output goes to the log as well as to the caller, foreground or not,
	// so that `skiff logs` shows it either way.
	if p.log, err = openLog(s.bundle(c.ID, logFile)); err != nil {
		return nil, err
	}
	stdio.Stdout = teeLog(stdio.Stdout, p.log.stream("stdout"))
	stdio.Stderr = teeLog(stdio.Stderr, p.log.stream("stderr"))
	nsStdio, err := p.connect(stdio)
	if err != nil {
		return nil, err
	}
	p.proc, err = namespaces.Start(spec, nsStdio, s.log)
	p.term.started()
	if err != nil {
		return nil, err
	}
	// From here on a failure must stop the waiting init too.
	abort := func(err error) (*Process, error) {
		p.proc.Kill()
		p.proc.Wait()
		return nil, err
	}

	// The init binds the /etc files over the image's only once it is
	// released, and starting its Go runtime takes longer than writing
	// them: done now, they cost no time.
	if err := s.writeEtcFiles(c); err != nil {
		return abort(err)
	}
	// The cgroup and the network before the command: limits hold from its
	// first instruction, and eth0 is up when it looks.
	if err := p.cgroup.AddV1(p.proc.Pid()); err != nil {
		return abort(err)
	}
	if err := p.attach(p.proc.Pid()); err != nil {
		return abort(err)
	}
	if err := p.proc.Resume(); err != nil {
		p.proc.Wait()
		return nil, err
	}

	now := time.Now().UTC()
	c.State = State{
		Status:       Running,
		Pid:          p.proc.Pid(),
		PidStart:     processStart(p.proc.Pid()),
		MonitorPid:   os.Getpid(),
		MonitorStart: processStart(os.Getpid()),
		StartedAt:    now,
	}
	s.log.Info("container started", "container_id", c.ID, "pid", c.State.Pid)
	explain.Step(s.log, explain.Lifecycle,
		"the state a later skiff reads: pid and start time tell a live process from a reused PID",
		"write %s: running, pid %d, watched by pid %d", s.bundle(c.ID, "state.json"), c.State.Pid,
		c.State.MonitorPid)
	return p, s.saveState(c)
}

// connect decides what the container's fds 0, 1 and 2 are: the given
// streams, or the slave side of a new pseudo-terminal.
func (p *Process) connect(stdio Stdio) (namespaces.Stdio, error) {
	if !p.c.Options.Tty {
		return namespaces.Stdio{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr}, nil
	}
	term, err := newTerminal(stdio)
	if err != nil {
		return namespaces.Stdio{}, err
	}
	p.term = term
	return term.stdio(), nil
}

// Resize sets the container terminal's size (after SIGWINCH on the host).
func (p *Process) Resize(rows, cols uint16) error { return p.term.resize(rows, cols) }

// Signal sends a signal to the container's first process.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Wait waits for the container's process to exit, records how it ended,
// and releases what the running container held (mounts, cgroup). With
// --rm it removes the container too.
func (p *Process) Wait() (State, error) {
	status, waitErr := p.proc.Wait()
	p.term.drain()

	unlock, err := p.s.lock(p.c.ID)
	if err != nil {
		return p.c.State, err
	}
	defer unlock()

	p.s.reloadState(p.c)
	st := &p.c.State
	st.Status, st.ExitCode, st.FinishedAt = Exited, status.Code, time.Now().UTC()
	st.Pid, st.PidStart, st.MonitorPid, st.MonitorStart = 0, 0, 0, 0
	if oom, _ := p.cgroup.OOMKilled(); oom {
		st.OOMKilled = true
	}
	p.s.log.Info("container exited", "container_id", p.c.ID, "exit_code", st.ExitCode)
	err = errors.Join(waitErr, p.release())
	// With --rm the record goes with the bundle: it is written only if the
	// bundle stays, so that the exit code is not lost.
	if p.c.Options.AutoRemove {
		rmErr := p.s.removeBundle(p.c)
		if rmErr == nil {
			return *st, err
		}
		err = errors.Join(err, rmErr)
	}
	return *st, errors.Join(err, p.s.saveState(p.c))
}

// release undoes what a running container holds: its cgroup and its
// root filesystem mount. The upper dir stays: it is the container.
func (p *Process) release() error {
	var errs []error
	if p.attached {
		errs = append(errs, p.s.networks.Detach(p.c.ID))
	}
	if p.cgroup != nil {
		errs = append(errs, p.cgroup.Delete())
	}
	errs = append(errs, p.s.unmountRootfs(p.c))
	p.term.close()
	if p.log != nil {
		errs = append(errs, p.log.Close())
	}
	return errors.Join(errs...)
}

func cgroupName(c *Container) string { return "skiff/" + c.ID }

func resourcesOf(o *Options) cgroups.Resources {
	r := cgroups.Resources{Memory: o.Memory, PidsMax: o.PidsLimit}
	if o.CPUs > 0 {
		r.CPUQuota, r.CPUPeriod = cgroups.CPUs(o.CPUs)
	}
	return r
}

// exitCodeOf maps a start failure to Docker's exit codes: 126 when the
// command cannot be invoked, 127 when it is not found, 125 otherwise.
func exitCodeOf(err error) int {
	var execErr *namespaces.ExecError
	if errors.As(err, &execErr) {
		return execErr.Code
	}
	return 125
}

// reloadState rereads state.json under the container's lock.
func (s *Store) reloadState(c *Container) error {
	fresh, err := s.load(c.ID)
	if err != nil {
		return err
	}
	c.State = fresh.State
	return nil
}
