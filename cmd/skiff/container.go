package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"time"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
)

// This file holds the commands that move containers through their life
// once they exist: start, stop, kill, restart, rm, wait and container
// prune, and the "skiff container" group that gathers every container
// command.

// openStores opens the image store and the container store on top of it.
// Opening the containers tells the image store which images they use, so
// any command that can remove images (rmi, image prune) must come here
// rather than to openStore.
func (a *app) openStores() (*image.Store, *container.Store, error) {
	images, err := a.openStore()
	if err != nil {
		return nil, nil, err
	}
	a.log.Debug("open container store", "path", filepath.Join(a.root, "containers"))
	containers, err := container.Open(a.root, images, a.log)
	if err != nil {
		return nil, nil, err
	}
	return images, containers, nil
}

// openContainers opens the container store, for commands that need no
// image store of their own.
func (a *app) openContainers() (*container.Store, error) {
	_, s, err := a.openStores()
	return s, err
}

// containerFunc is what a command does to one container.
type containerFunc func(s *container.Store, c *container.Container) error

// eachContainer runs fn on every container the user named, in order. Like
// docker, it goes on after a failure, prints one error line for it, and
// fails at the end; on success it prints the name as the user typed it.
func (a *app) eachContainer(refs []string, fn containerFunc) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		c, err := s.Get(ref)
		if err == nil {
			err = fn(s, c)
		}
		if err != nil {
			fmt.Fprintln(a.stderr, errorLine(containerError(ref, err)))
			failed = true
			continue
		}
		fmt.Fprintln(a.stdout, ref)
	}
	if failed {
		return errReported
	}
	return nil
}

// startOptions are the flags of skiff start.
type startOptions struct {
	attach bool
	stdin  bool
}

// newStartCommand builds "skiff start".
func newStartCommand(name string, also ...string) *command {
	var opts startOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Start one or more stopped containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff start web\nskiff start -ai shell",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	c.flags.BoolVarP(&opts.stdin, "interactive", "i", false, "Attach container's STDIN")
	c.run = func(a *app, args []string) error { return runStart(a, c.path, opts, args) }
	return c
}

func runStart(a *app, path string, opts startOptions, refs []string) error {
	if !opts.attach && !opts.stdin {
		return a.eachContainer(refs, func(s *container.Store, c *container.Container) error {
			// Starting a running container is not an error, as in docker.
			if c.State.Status == container.Running {
				return nil
			}
			return s.StartDetached(c)
		})
	}

	// Attached, this process becomes the container's watcher, as with run.
	if len(refs) > 1 {
		err := errors.New("you cannot start and attach multiple containers at once")
		return &usageError{path: path, err: err}
	}
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	c, err := s.Get(refs[0])
	if err != nil {
		return containerError(refs[0], err)
	}
	return a.runForeground(s, c, attachOptions{
		stdin:    opts.stdin && c.Options.OpenStdin,
		sigProxy: true,
	})
}

// stopOptions are the flags of skiff stop and skiff restart.
type stopOptions struct {
	signal  string
	timeout int
}

// newStopCommand builds "skiff stop".
func newStopCommand(name string, also ...string) *command {
	var opts stopOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Stop one or more running containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff stop web\nskiff stop -t 1 web db",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	addStopFlags(c, &opts)
	c.run = func(a *app, args []string) error {
		return a.eachContainer(args, func(s *container.Store, ctr *container.Container) error {
			return stopContainer(s, ctr, c, opts)
		})
	}
	return c
}

func addStopFlags(c *command, opts *stopOptions) {
	c.flags.StringVarP(&opts.signal, "signal", "s", "",
		"Signal to send to the container (default: its stop signal, else SIGTERM)")
	c.flags.IntVarP(&opts.timeout, "time", "t", 0,
		"Seconds to wait before killing the container (default: its stop timeout, else 10)")
}

// stopContainer stops ctr with the signal and timeout of the flags, or
// else those the container was created with (--stop-signal,
// --stop-timeout, the image's STOPSIGNAL).
func stopContainer(s *container.Store, ctr *container.Container, c *command,
	opts stopOptions) error {

	if opts.signal != "" {
		// Store.Stop sends the container's stop signal; setting it on this
		// in-memory copy applies -s to this stop only (the record on disk
		// is not rewritten).
		if _, err := container.ParseSignal(opts.signal); err != nil {
			return err
		}
		ctr.Options.StopSignal = opts.signal
	}
	timeout := time.Duration(ctr.Options.StopTimeout) * time.Second
	if c.flags.Changed("time") {
		timeout = time.Duration(opts.timeout) * time.Second
	}
	if timeout < 0 {
		timeout = math.MaxInt64 // docker stop -t -1 waits for as long as it takes
	}
	return s.Stop(ctr, timeout)
}

// newKillCommand builds "skiff kill".
func newKillCommand(name string, also ...string) *command {
	var signal string
	c := &command{
		name:    name,
		also:    also,
		summary: "Kill one or more running containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff kill web\nskiff kill -s HUP web",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	c.flags.StringVarP(&signal, "signal", "s", "KILL", "Signal to send to the container")
	c.run = func(a *app, args []string) error {
		sig, err := container.ParseSignal(signal)
		if err != nil {
			return &usageError{path: c.path, err: err}
		}
		return a.eachContainer(args, func(s *container.Store, ctr *container.Container) error {
			return s.Kill(ctr, sig)
		})
	}
	return c
}

// newRestartCommand builds "skiff restart": stop (as skiff stop), then
// start detached. A container that is not running is just started.
func newRestartCommand(name string, also ...string) *command {
	var opts stopOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Restart one or more containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff restart web\nskiff restart -t 0 web",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	addStopFlags(c, &opts)
	c.run = func(a *app, args []string) error {
		return a.eachContainer(args, func(s *container.Store, ctr *container.Container) error {
			if err := stopContainer(s, ctr, c, opts); err != nil {
				return err
			}
			return s.StartDetached(ctr)
		})
	}
	return c
}

// newRmCommand builds "skiff rm" and its twin "skiff container rm".
func newRmCommand(name string, also ...string) *command {
	var force bool
	c := &command{
		name:    name,
		also:    also,
		summary: "Remove one or more containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff rm web\nskiff rm -f web",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&force, "force", "f", false,
		"Force the removal of a running container (uses SIGKILL)")
	c.run = func(a *app, args []string) error { return runRm(a, force, args) }
	return c
}

// runRm removes each container. With -f, a name that matches nothing is
// not an error, so that "skiff rm -f web" can clean up unconditionally,
// as docker rm -f does.
func runRm(a *app, force bool, refs []string) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		c, err := s.Get(ref)
		if errors.Is(err, container.ErrNotFound) && force {
			continue
		}
		if err == nil {
			err = s.Remove(c, force)
		}
		if err != nil {
			fmt.Fprintln(a.stderr, errorLine(containerError(ref, err)))
			failed = true
			continue
		}
		fmt.Fprintln(a.stdout, ref)
	}
	if failed {
		return errReported
	}
	return nil
}

// newWaitCommand builds "skiff wait".
func newWaitCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "Block until one or more containers stop, then print their exit codes",
		usage:   "CONTAINER [CONTAINER...]",
		example: "skiff wait web",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, refs []string) error {
		s, err := a.openContainers()
		if err != nil {
			return err
		}
		failed := false
		for _, ref := range refs {
			c, err := s.Get(ref)
			var st container.State
			if err == nil {
				st, err = s.Wait(c)
			}
			if err != nil {
				fmt.Fprintln(a.stderr, errorLine(containerError(ref, err)))
				failed = true
				continue
			}
			fmt.Fprintln(a.stdout, st.ExitCode)
		}
		if failed {
			return errReported
		}
		return nil
	}
	return c
}

// newContainerPruneCommand builds "skiff container prune".
func newContainerPruneCommand(name string) *command {
	var force bool
	c := &command{
		name:    name,
		summary: "Remove all stopped containers",
		usage:   "[OPTIONS]",
		example: "skiff container prune -f",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.run = func(a *app, _ []string) error {
		if !force && !confirm(a, "WARNING! This will remove all stopped containers.") {
			return nil
		}
		return runContainerPrune(a)
	}
	return c
}

// runContainerPrune removes every container that is not running and
// reports the space their writable layers took.
func runContainerPrune(a *app) error {
	s, err := a.openContainers()
	if err != nil {
		return err
	}
	all, err := s.List(true)
	if err != nil {
		return err
	}

	var deleted []string
	var reclaimed int64
	var errs []error
	for _, c := range all {
		if c.State.Status == container.Running {
			continue
		}
		size := dirSize(filepath.Join(a.root, "containers", c.ID, "upper"))
		if err := s.Remove(c, false); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ShortID(), err))
			continue
		}
		deleted = append(deleted, c.ID)
		reclaimed += size
	}

	if len(deleted) > 0 {
		fmt.Fprintln(a.stdout, "Deleted Containers:")
		for _, id := range deleted {
			fmt.Fprintln(a.stdout, id)
		}
		fmt.Fprintln(a.stdout)
	}
	fmt.Fprintf(a.stdout, "Total reclaimed space: %s\n", humanSize(reclaimed, 4))
	return errors.Join(errs...)
}

// dirSize adds up the sizes of the regular files under dir, as Docker
// counts a container's writable layer (SizeRw). Errors count as nothing:
// the number is informational.
func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}

// newContainerGroup builds "skiff container", which holds every container
// command under one word, as docker container does; most of them also
// exist at the top level.
func newContainerGroup() *command {
	ls := newPsCommand("ls", "skiff ps")
	ls.aliases = []string{"ps", "list"}
	rm := newRmCommand("rm", "skiff rm")
	rm.aliases = []string{"remove"}
	return &command{
		name:       "container",
		summary:    "Manage containers",
		usage:      "COMMAND",
		example:    "skiff container ls -a\nskiff container prune -f",
		management: true,
		subcommands: []*command{
			newCommitCommand("commit", "skiff commit"),
			newCpCommand("cp", "skiff cp"),
			newCreateCommand("create", "skiff create"),
			newDiffCommand("diff", "skiff diff"),
			newExecCommand("exec", "skiff exec"),
			newExportCommand("export", "skiff export"),
			newContainerInspectCommand("inspect"),
			newKillCommand("kill", "skiff kill"),
			newLogsCommand("logs", "skiff logs"),
			ls,
			newPortCommand("port", "skiff port"),
			newContainerPruneCommand("prune"),
			newRestartCommand("restart", "skiff restart"),
			rm,
			newRunCommand("run", "skiff run"),
			newStartCommand("start", "skiff start"),
			newStopCommand("stop", "skiff stop"),
			newContainerTopCommand("top", "skiff top"),
			newWaitCommand("wait", "skiff wait"),
		},
	}
}
