//go:build !linux

package main

import (
	"fmt"
	"os"
)

// main explains why skiff stops here: containers are made of Linux kernel
// features (namespaces, cgroups, overlayfs) that other systems lack.
func main() {
	fmt.Fprintln(os.Stderr, "skiff requires Linux")
	os.Exit(1)
}
