package main

import "os"

// main runs the command line and exits with the code the command chose.
// Everything else happens in runCLI, which the scenario tests call too.
func main() {
	os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
