package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// labParams is the testscript setup every lab shares, the scenario scripts
// in testdata/script and the course's labs in docs/labs alike: the skiff
// command, the [root] and [busybox] conditions, $SKIFF_SRC, a network
// namespace per lab and the removal of the lab's containers at its end.
func labParams(t *testing.T, dir string) testscript.Params {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Condition:           scriptCondition,
		Cmds:                scriptCommands(),
		Setup: func(env *testscript.Env) error {
			// The scripts under scripts/ are part of some labs.
			env.Setenv("SKIFF_SRC", repo)

			// Each lab gets a network namespace of its own, where its
			// bridges, veths and published ports live; it goes when the
			// lab ends, after its containers (defers run last first).
			var nsPath string
			if os.Geteuid() == 0 {
				ns, err := newLabNetns()
				if err != nil {
					return fmt.Errorf("network namespace for the lab: %w", err)
				}
				nsPath = ns.path
				env.Setenv(netnsEnv, nsPath)
				env.Defer(func() {
					if err := ns.remove(); err != nil {
						env.T().Log("clean up: " + err.Error())
					}
				})
			}
			// A lab that fails half-way may leave containers running, with
			// their mounts inside $WORK; remove them before $WORK goes.
			env.Defer(func() { removeContainers(env.T(), env.WorkDir, nsPath) })
			return nil
		},
	}
}
