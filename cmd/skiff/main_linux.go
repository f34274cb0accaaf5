package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/namespaces"
	// The C constructor that moves skiff exec's helper into a running
	// container's namespaces before the Go runtime starts.
	_ "github.com/skiff-dev/skiff/namespaces/nsenter"
)

// main runs the command line and exits with the code the command chose.
// Everything else happens in runCLI, which the scenario tests call too.
func main() {
	runHiddenEntryPoints()
	os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// runHiddenEntryPoints runs skiff as one of the processes it starts by
// re-executing itself (/proc/self/exe), which users never type: a
// container's init (when skiff-init is not beside skiff), or the monitor of
// a detached container. It does not
// return if this process is one of them. main calls it first thing, and so
// does the test binary, which re-executes itself the same way.
func runHiddenEntryPoints() {
	if namespaces.IsInit() {
		namespaces.Init() // never returns
	}
	if len(os.Args) == 4 && os.Args[1] == container.MonitorArg {
		// The monitor's stderr is /dev/null, or with --explain the
		// client's until the container runs. Its outcome is in the
		// container's state.
		var narration io.Writer
		if explainFromEnv() {
			narration = os.Stderr
			// A closed pipe there must not kill the monitor: with
			// SIGPIPE caught, the write just fails. Caught, not
			// ignored, which the container's processes would inherit.
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
		}
		log := newLogger(os.Stderr, false, narration)
		if err := container.Monitor(os.Args[2], os.Args[3], log); err != nil {
			fmt.Fprintln(os.Stderr, errorLine(err))
			os.Exit(exitFailure)
		}
		os.Exit(exitOK)
	}
}
