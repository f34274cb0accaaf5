package namespaces

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// reap runs the command as a child of this process, which stays PID 1 of
// the container (docker run --init). PID 1 has two duties a normal program
// does not know about:
//
//   - Orphans are re-parented to it, and it must wait(2) for them, or they
//     stay zombies until the container ends.
//   - The kernel delivers to it only the signals it has a handler for (see
//     pid_namespaces(7)), so `docker stop` would do nothing to a program
//     that never installed a SIGTERM handler. A reaper handles every signal
//     and forwards it to the command, which then gets the default actions.
//
// It exits with the command's status, 128+n when a signal n killed it, like
// tini and docker-init. It returns only if the command cannot be started.
//
// Preconditions: the calling goroutine is locked to its OS thread, with the
// privileges dropped (the child is forked from this thread and inherits
// them).
func reap(path string, spec *Spec, u User, errPipe, logFile *os.File,
	log *slog.Logger) error {
	// Every signal, SIGCHLD included, comes here from now on; subscribed
	// before the child exists, so none of its SIGCHLDs is missed.
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)

	// Should the container have no PID namespace, orphans still come to
	// us rather than to the host's init.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_CHILD_SUBREAPER", err)
	}

	cmd := &exec.Cmd{
		Path:   path,
		Args:   spec.Args,
		Env:    commandEnv(spec, u),
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
	// With a terminal the command gets its own process group in the
	// foreground, so Ctrl-C reaches it once, from the terminal, and not a
	// second time through us.
	if spec.Terminal && isTerminal(0) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Foreground: true, Ctty: 0}
	}
	// The umask of a container's processes, as in Docker.
	unix.Umask(0o022)
	log.Debug("fork and execve under the reaper", "path", path, "args", spec.Args)
	if err := cmd.Start(); err != nil {
		return execError(spec.Args[0], err)
	}
	child := cmd.Process.Pid

	// The command runs: tell the parent (end-of-file on the error pipe is
	// success, as after an exec) and stop logging into its pipe.
	errPipe.Close()
	logFile.Close()

	for sig := range signals {
		switch sig {
		case unix.SIGCHLD:
			if code, done := reapChildren(child); done {
				os.Exit(code)
			}
		case unix.SIGURG:
			// Limitation: the Go runtime preempts goroutines with
			// SIGURG, so a SIGURG sent to the container is not
			// forwarded; tini, written in C, forwards it.
		default:
			err := unix.Kill(child, sig.(syscall.Signal))
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return os.NewSyscallError("kill", err)
			}
		}
	}
	return nil
}

// reapChildren waits for every child that has ended. It reports the exit
// code of the command once the command itself has ended.
func reapChildren(command int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == command {
			return exitStatus(syscall.WaitStatus(ws)).Code, true
		}
	}
}
