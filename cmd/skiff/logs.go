package main

import (
	"fmt"
	"strconv"

	"github.com/skiff-dev/skiff/container"
)

// logsOptions are the flags of skiff logs.
type logsOptions struct {
	follow     bool
	tail       string
	timestamps bool
}

// newLogsCommand builds "skiff logs".
func newLogsCommand(name string, also ...string) *command {
	var opts logsOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Fetch the logs of a container",
		usage:   "[OPTIONS] CONTAINER",
		example: "skiff logs web\nskiff logs -f --tail 10 web",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	c.flags.StringVarP(&opts.tail, "tail", "n", "all",
		"Number of lines to show from the end of the logs")
	c.flags.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	c.run = func(a *app, args []string) error {
		tail, err := parseTail(opts.tail)
		if err != nil {
			return &usageError{path: c.path, err: err}
		}
		s, err := a.openContainers()
		if err != nil {
			return err
		}
		ctr, err := s.Get(args[0])
		if err != nil {
			return containerError(args[0], err)
		}
		logOpts := container.LogOptions{Follow: opts.follow, Timestamps: opts.timestamps, Tail: tail}
		return s.Logs(ctr, logOpts, a.stdout, a.stderr)
	}
	return c
}

// parseTail reads --tail: "all" (or any negative number) for every line,
// else how many lines from the end. The container package takes -1 for
// all.
func parseTail(raw string) (int, error) {
	if raw == "all" || raw == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, fmt.Errorf("invalid --tail %q: want a number of lines or \"all\"", raw)
	}
	return max(n, -1), nil
}
