package container

import (
	"fmt"

	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/namespaces"
)

// ExecOptions are docker exec's flags.
type ExecOptions struct {
	Args []string
	// Env is added to the container's environment.
	Env        []string
	WorkingDir string
	User       string
	Tty        bool
	// Resize, with Tty, brings new sizes of the caller's terminal (after
	// a SIGWINCH); each is given to the command's terminal while it runs.
	Resize <-chan WindowSize
}

// WindowSize is the size of a terminal, in characters.
type WindowSize struct{ Rows, Cols uint16 }

// Exec runs another process in a running container (docker exec): in its
// namespaces, its cgroup and its root filesystem, with the same reduced
// privileges as its first process. It waits for the process and returns
// its exit status.
func (s *Store) Exec(c *Container, opts ExecOptions, stdio Stdio) (namespaces.ExitStatus, error) {
	var status namespaces.ExitStatus
	if err := s.reconcile(c); err != nil {
		return status, err
	}
	if c.State.Status != Running {
		return status, fmt.Errorf("cannot exec in container %s: %w", c.ShortID(), ErrNotRunning)
	}

	spec, err := s.execSpec(c, opts)
	if err != nil {
		return status, err
	}
	nsStdio := namespaces.Stdio{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr}
	var term *terminal
	if opts.Tty {
		if term, err = newTerminal(stdio); err != nil {
			return status, err
		}
		defer term.close()
		nsStdio = term.stdio()
	}

	proc, err := namespaces.Join(c.State.Pid, spec, nsStdio, s.log)
	term.started()
	if err != nil {
		return status, err
	}
	if cg, err := cgroups.Open(cgroupName(c), s.log); err == nil {
		if err := cg.Add(proc.Pid()); err != nil {
			proc.Kill()
			return status, err
		}
	}
	if err := proc.Resume(); err != nil {
		proc.Wait()
		return status, err
	}
	if term != nil && opts.Resize != nil {
		done := make(chan struct{})
		defer close(done) // before term.close, deferred earlier
		go followResizes(term, opts.Resize, done)
	}
	status, err = proc.Wait()
	term.drain()
	return status, err
}

// execSpec is the container's own spec with the exec's command, user,
// working directory and extra environment.
func (s *Store) execSpec(c *Container, opts ExecOptions) (*namespaces.Spec, error) {
	o := c.Options
	if opts.User != "" {
		o.User = opts.User
	}
	if opts.WorkingDir != "" {
		o.WorkingDir = opts.WorkingDir
	}
	o.Env = mergeEnv(o.Env, opts.Env)
	o.Tty = opts.Tty
	o.Entrypoint, o.Cmd = nil, opts.Args
	o.Init = false
	probe := *c
	probe.Options = o
	return s.spec(&probe)
}

// followResizes gives term each size from sizes until done. The kernel
// then sends SIGWINCH to the terminal's foreground process group.
func followResizes(term *terminal, sizes <-chan WindowSize, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case ws := <-sizes:
			term.resize(ws.Rows, ws.Cols)
		}
	}
}
