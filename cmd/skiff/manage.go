package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/skiff-dev/skiff/image"
)

// This file holds the commands that change an image's names or remove
// images: tag, rmi and image prune.

// newTagCommand builds "skiff tag".
func newTagCommand(name string, also ...string) *command {
	c := &command{
		name:    name,
		also:    also,
		summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		usage:   "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		example: "skiff tag busybox:latest localhost:5000/busybox:1.35",
		args:    argRule{min: 2, max: 2},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, args []string) error {
		s, err := a.openStore()
		if err != nil {
			return err
		}
		return imageError(args[0], s.Tag(args[0], args[1]))
	}
	return c
}

// newRmiCommand builds "skiff rmi" and its twin "skiff image rm".
func newRmiCommand(name string, also ...string) *command {
	var force bool
	c := &command{
		name:    name,
		also:    also,
		summary: "Remove one or more images",
		usage:   "[OPTIONS] IMAGE [IMAGE...]",
		example: "skiff rmi busybox:latest\nskiff rmi -f 3f57d9401f8d",
		args:    argRule{min: 1, max: -1},
		flags:   newFlagSet(name),
	}
	if name == "rm" {
		c.aliases = []string{"remove"}
	}
	c.flags.BoolVarP(&force, "force", "f", false,
		"Force removal of the image (remove every tag of it)")
	c.run = func(a *app, args []string) error { return runRmi(a, force, args) }
	return c
}

// runRmi removes each image in turn. Like docker rmi it goes on after a
// failure, prints one error line for it, and fails at the end.
func runRmi(a *app, force bool, rawRefs []string) error {
	// Through the container store, so that images containers use are kept.
	s, _, err := a.openStores()
	if err != nil {
		return err
	}
	failed := false
	for _, rawRef := range rawRefs {
		deleted, err := s.Remove(rawRef, force)
		printDeletions(a.stdout, deleted, "Untagged: ", "Deleted: ")
		if err != nil {
			fmt.Fprintln(a.stderr, errorLine(imageError(rawRef, err)))
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// printDeletions prints what the store untagged and deleted, one per line.
func printDeletions(w io.Writer, deleted []image.Deletion, untagged, removed string) {
	for _, d := range deleted {
		if d.Untagged != "" {
			fmt.Fprintf(w, "%s%s\n", untagged, d.Untagged)
		}
		if d.Deleted != "" {
			fmt.Fprintf(w, "%s%s\n", removed, d.Deleted)
		}
	}
}

// pruneOptions are the flags of skiff image prune.
type pruneOptions struct {
	all   bool
	force bool
}

// The questions image prune asks before it removes anything.
const (
	pruneDanglingWarning = "WARNING! This will remove all dangling images."
	pruneAllWarning      = "WARNING! This will remove all images without at least one " +
		"container associated to them."
)

// newPruneCommand builds "skiff image prune".
func newPruneCommand(name string) *command {
	var opts pruneOptions
	c := &command{
		name:    name,
		summary: "Remove unused images",
		usage:   "[OPTIONS]",
		example: "skiff image prune -f\nskiff image prune -a",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.all, "all", "a", false,
		"Remove all unused images, not just dangling ones")
	c.flags.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	c.run = func(a *app, _ []string) error { return runPrune(a, opts) }
	return c
}

func runPrune(a *app, opts pruneOptions) error {
	if !opts.force {
		warning := pruneDanglingWarning
		if opts.all {
			warning = pruneAllWarning
		}
		if !confirm(a, warning) {
			return nil
		}
	}

	// Through the container store, so that images containers use are kept.
	s, _, err := a.openStores()
	if err != nil {
		return err
	}
	deleted, reclaimed, err := s.Prune(opts.all)
	if len(deleted) > 0 {
		fmt.Fprintln(a.stdout, "Deleted Images:")
		printDeletions(a.stdout, deleted, "untagged: ", "deleted: ")
		fmt.Fprintln(a.stdout)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Total reclaimed space: %s\n", humanSize(reclaimed, 4))
	return err
}

// confirm asks the question on stdout and reads the answer from stdin; only
// "y" or "yes" agrees, and no answer at all (no stdin) means no.
func confirm(a *app, warning string) bool {
	fmt.Fprintf(a.stdout, "%s\nAre you sure you want to continue? [y/N] ", warning)
	answer, _ := bufio.NewReader(a.stdin).ReadString('\n')

	// Typed on a terminal, the answer ends the line; piped in, it is not
	// echoed, so end the question's line ourselves.
	if !isTerminal(a.stdin) {
		fmt.Fprintln(a.stdout)
	}
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}
