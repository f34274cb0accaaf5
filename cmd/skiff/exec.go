package main

import (
	"errors"
	"os"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/namespaces"
)

// execOptions are the flags of skiff exec.
type execOptions struct {
	stdin    bool
	tty      bool
	env      []string
	envFiles []string
	workdir  string
	user     string
}

// newExecCommand builds "skiff exec".
func newExecCommand(name string, also ...string) *command {
	var opts execOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Execute a command in a running container",
		usage:   "[OPTIONS] CONTAINER COMMAND [ARG...]",
		example: "skiff exec web ps\nskiff exec -it web sh",
		args:    argRule{min: 2, max: -1},
		flags:   newFlagSet(name),
		exitHelp: `Exit status:
  the exit code of the command; 126 when it cannot be invoked, 127 when it
  is not found; 1 when the container does not exist or is not running;
  125 for a usage error.
`,
	}
	// Flags after CONTAINER belong to the command: skiff exec web ls -l.
	c.flags.SetInterspersed(false)
	c.flags.StringArrayVarP(&opts.env, "env", "e", nil, "Set environment variables")
	c.flags.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	c.flags.BoolVarP(&opts.stdin, "interactive", "i", false, "Keep STDIN open even if not attached")
	c.flags.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	c.flags.StringVarP(&opts.user, "user", "u", "",
		"Username or UID (format: <name|uid>[:<group|gid>])")
	c.flags.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	c.run = func(a *app, args []string) error { return runExec(a, c.path, opts, args) }
	return c
}

func runExec(a *app, path string, opts execOptions, args []string) error {
	env, err := runEnv(opts.envFiles, opts.env, os.LookupEnv)
	if err != nil {
		return &usageError{path: path, err: err}
	}
	if opts.stdin && opts.tty && !isTerminal(a.stdin) {
		return errors.New("the input device is not a TTY")
	}

	s, err := a.openContainers()
	if err != nil {
		return err
	}
	c, err := s.Get(args[0])
	if err != nil {
		return containerError(args[0], err)
	}
	stdio := container.Stdio{Stdout: a.stdout, Stderr: a.stderr}
	if opts.stdin {
		stdio.Stdin = a.stdin
	}
	var sizes chan container.WindowSize
	if opts.tty {
		// The command's terminal starts with our size and follows it.
		stdio.Rows, stdio.Cols, _ = a.terminalSize()
		sizes = make(chan container.WindowSize, 1)
		stop := a.followWindowSize(sizes)
		defer stop()
	}

	release, err := holdTerminal(a.stdin, opts.tty && opts.stdin)
	if err != nil {
		return err
	}
	status, err := s.Exec(c, container.ExecOptions{
		Args:       args[1:],
		Env:        env,
		WorkingDir: opts.workdir,
		User:       opts.user,
		Tty:        opts.tty,
		Resize:     sizes,
	}, stdio)
	release()

	// The command could not be run at all: Docker's 126 or 127.
	var execErr *namespaces.ExecError
	if errors.As(err, &execErr) {
		return &runError{code: execErr.Code, err: err}
	}
	if err != nil {
		return err
	}
	if status.Code != 0 {
		return &exitStatus{code: status.Code}
	}
	return nil
}
