// Command skiff-init is the first process of every skiff container. skiff
// starts it in the container's new namespaces; it waits there until skiff
// has put it into the container's cgroup and network, then builds the
// container's root filesystem, drops privileges and becomes the
// container's command (see package namespaces, [namespaces.Init]).
//
// It is a program of its own, installed next to skiff, only to start
// sooner: it links nothing but package namespaces, so it has few package
// initialisers to run and no C library to load. Without it skiff starts
// itself again in its place, with the same code. Run by hand, it refuses.
package main

import (
	"fmt"
	"os"

	"github.com/skiff-dev/skiff/namespaces"
)

func main() {
	if !namespaces.IsInit() {
		fmt.Fprintln(os.Stderr, "skiff-init: skiff starts me inside a new container; "+
			"I am not a command to run by hand")
		os.Exit(2)
	}
	namespaces.Init() // never returns
}
