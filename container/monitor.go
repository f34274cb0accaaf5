package container

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/image"
)

// MonitorArg is the hidden first argument that makes skiff run as the
// monitor of a detached container: `skiff <MonitorArg> <root> <id>`.
const MonitorArg = "__skiff_monitor__"

// startReport is what a monitor tells the client once the container runs
// or could not be started.
type startReport struct {
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// StartDetached starts a container in the background (docker run -d,
// docker start). There is no daemon: skiff re-executes itself as a monitor
// in a new session (setsid(2)), so that it survives the terminal and the
// client; the monitor starts the container, logs its output, waits for it
// and records its exit. The client returns once the monitor reports that
// the command runs, with the same error (and exit code) it would get in
// the foreground.
func (s *Store) StartDetached(c *Container) error {
	ready, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer ready.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devNull.Close()

	cmd := exec.Command("/proc/self/exe", MonitorArg, s.root, c.ID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, devNull
	if explain.On(s.log) {
		// The monitor narrates how it starts the container on our
		// stderr, and stops once it has reported (see Monitor).
		cmd.Stderr = os.Stderr
		cmd.Env = append(os.Environ(), explain.EnvVar+"=1")
	}
	cmd.ExtraFiles = []*os.File{readyW} // fd 3 in the monitor
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	explain.Step(s.log, explain.Lifecycle,
		"no daemon: a monitor in a session of its own owns the detached container",
		"setsid + execve(\"/proc/self/exe\", %q) = pid %d", cmd.Args, cmd.Process.Pid)
	// The monitor is not our child to wait for: it outlives us.
	cmd.Process.Release()

	var report startReport
	if err := json.NewDecoder(ready).Decode(&report); err != nil {
		return fmt.Errorf("container monitor exited before it started the container: %w", err)
	}
	if report.Error != "" {
		return &StartError{Code: report.Code, Msg: report.Error}
	}
	return nil
}

// StartError is a failure to start a container reported by its monitor:
// Code is the exit code Docker would give (125, 126 or 127).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// ExitCode returns the exit code for this failure.
func (e *StartError) ExitCode() int { return e.Code }

// Monitor is the body of the monitor process: it starts the container
// with its output going to the log, reports to the client on fd 3, and
// waits. It is called by cmd/skiff when argv[1] is MonitorArg.
func Monitor(root, id string, log *slog.Logger) error {
	report := os.NewFile(3, "ready")
	defer report.Close()
	tell := func(err error) {
		r := startReport{}
		if err != nil {
			r.Error, r.Code = err.Error(), exitCodeOf(err)
		}
		json.NewEncoder(report).Encode(r)
	}

	p, err := startWatched(root, id, log)
	tell(err)
	if err != nil {
		return err
	}
	report.Close()
	// The client has returned; from now on nobody reads our stderr,
	// which may be its terminal (--explain): point it at /dev/null.
	if err := quietStderr(); err != nil {
		log.Warn("cannot detach stderr from the client", "error", err)
	}
	_, err = p.Wait()
	return err
}

// startWatched starts a container with no streams but its log.
func startWatched(root, id string, log *slog.Logger) (*Process, error) {
	images, err := image.Open(root, log)
	if err != nil {
		return nil, err
	}
	s, err := Open(root, images, log)
	if err != nil {
		return nil, err
	}
	c, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	return s.Start(c, Stdio{})
}
