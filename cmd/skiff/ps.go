package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/network"
)

// psOptions are the flags of skiff ps.
type psOptions struct {
	all     bool
	quiet   bool
	noTrunc bool
	latest  bool
	last    int
}

// newPsCommand builds "skiff ps" and its twin "skiff container ls".
func newPsCommand(name string, also ...string) *command {
	var opts psOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "List containers",
		usage:   "[OPTIONS]",
		example: "skiff ps\nskiff ps -a --no-trunc",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	c.flags.BoolVarP(&opts.latest, "latest", "l", false,
		"Show the latest created container (includes all states)")
	c.flags.IntVarP(&opts.last, "last", "n", -1,
		"Show n last created containers (includes all states)")
	c.flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	c.run = func(a *app, _ []string) error { return runPs(a, opts) }
	return c
}

func runPs(a *app, opts psOptions) error {
	images, s, err := a.openStores()
	if err != nil {
		return err
	}
	if opts.latest {
		opts.last = 1
	}
	// -l and -n look at every container, running or not, newest first.
	cs, err := s.List(opts.all || opts.last >= 0)
	if err != nil {
		return err
	}
	if opts.last >= 0 && opts.last < len(cs) {
		cs = cs[:opts.last]
	}

	if opts.quiet {
		for _, c := range cs {
			fmt.Fprintln(a.stdout, containerID(c, opts.noTrunc))
		}
		return nil
	}
	imgs, err := images.Images()
	if err != nil {
		return err
	}
	ports, err := publishedPorts(s)
	if err != nil {
		return err
	}
	header := []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}
	return writeTable(a.stdout, header, psTable(cs, imgs, ports, opts.noTrunc, time.Now()))
}

// psTable renders the rows of skiff ps. ports are the published ports of
// the containers on a network, by container ID.
func psTable(cs []*container.Container, imgs []*image.Image,
	ports map[string][]network.PortMapping, noTrunc bool, now time.Time) [][]string {

	var rows [][]string
	for _, c := range cs {
		var published string
		if c.State.Status == container.Running {
			published = portsColumn(ports[c.ID])
		}
		rows = append(rows, []string{
			containerID(c, noTrunc),
			imageColumn(c, imgs, noTrunc),
			commandColumn(c.Options.Command(), noTrunc),
			humanDuration(now.Sub(c.Created)) + " ago",
			statusColumn(c.State, now),
			published,
			c.Name,
		})
	}
	return rows
}

// containerID is a container's ID as docker ps shows it: 12 hex digits,
// or all 64 with --no-trunc.
func containerID(c *container.Container, noTrunc bool) string {
	if noTrunc {
		return c.ID
	}
	return c.ShortID()
}

// imageColumn is the IMAGE column: the reference the container was made
// from, as the user typed it, while it still names the container's image;
// the image ID once the name has moved on to another image (or is gone),
// as docker ps shows it.
func imageColumn(c *container.Container, imgs []*image.Image, noTrunc bool) string {
	if namesImage(c.ImageRef, c.Image, imgs) {
		return c.ImageRef
	}
	return displayID(c.Image, noTrunc)
}

// namesImage reports whether rawRef, looked up among imgs, is the image id.
func namesImage(rawRef string, id digest.Digest, imgs []*image.Image) bool {
	if strings.HasPrefix(id.Encoded(), strings.TrimPrefix(rawRef, "sha256:")) {
		return true
	}
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		return false
	}
	for _, img := range imgs {
		if img.ID != id {
			continue
		}
		if ref.Digest != "" && ref.Digest == img.Digest {
			return true
		}
		for _, t := range img.Tags {
			if t == ref {
				return true
			}
		}
	}
	return false
}

// psCommandWidth is how much of a command line docker ps shows before it
// cuts the rest off with "…".
const psCommandWidth = 20

// commandColumn is the COMMAND column: the entrypoint and command joined
// by spaces, cut to 20 characters, in double quotes.
func commandColumn(args []string, noTrunc bool) string {
	cmd := strings.Join(args, " ")
	if !noTrunc {
		cmd = ellipsis(cmd, psCommandWidth)
	}
	return strconv.Quote(cmd)
}

// statusColumn is the STATUS column: "Created", "Up 5 seconds",
// "Exited (0) 2 minutes ago".
func statusColumn(st container.State, now time.Time) string {
	switch st.Status {
	case container.Running:
		return "Up " + humanDuration(now.Sub(st.StartedAt))
	case container.Exited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	}
	return "Created"
}
