package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary double as the skiff command: the scripts
// run "exec skiff ...", which starts this binary again as skiff. skiff
// also re-executes itself (/proc/self/exe) as a container's init and as the
// monitor of a detached container; here that is this test binary, so it
// must answer to those first.
//
// A lab's skiff processes run in the lab's network namespace: when
// $SKIFF_TEST_NETNS is set, the skiff command first re-executes itself
// into it (labnetns_linux_test.go). The binary is also the program
// in-netns, which runs another program there.
func TestMain(m *testing.M) {
	runHiddenEntryPoints()
	reexecInLabNetns()
	testscript.Main(m, map[string]func(){
		"skiff":    func() { os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"in-netns": func() { os.Exit(inNetnsMain(os.Args[1:])) },
	})
}

// TestScripts runs the scenario scripts in testdata/script. Each reads like
// a lab: a learner can type its commands in a shell and see the same output.
func TestScripts(t *testing.T) {
	testscript.Run(t, labParams(t, "testdata/script"))
}

// scriptCommands are the commands the scripts have beyond testscript's:
// registry (registry_script_test.go) and netns-exec, which runs a program
// on the lab's side of the containers' network.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := registryCommands()
	cmds["netns-exec"] = scriptNetnsExec
	return cmds
}

// scriptCondition answers the conditions the scripts use beyond the
// built-in ones:
//   - [root]: running as root, which storing files of any owner needs;
//   - [busybox]: a statically linked /bin/busybox (Debian's busybox-static),
//     from which scripts/mkbusybox.sh makes an image.
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "root":
		return os.Geteuid() == 0, nil
	case "busybox":
		return isStatic("/bin/busybox")
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// isStatic reports whether path is an ELF executable that needs no dynamic
// loader (it has no PT_INTERP program header): one that can run inside an
// image holding nothing else.
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// removeContainers force-removes every container of every store directly
// under work (the labs keep theirs in $WORK/root and the like). With
// nsPath set, the containers are a lab's, attached to networks in that
// namespace: the skiff commands run there too.
func removeContainers(t interface{ Log(...any) }, work, nsPath string) {
	skiff := runCLI
	if nsPath != "" {
		skiff = func(args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runSkiffIn(nsPath, args, stdout, stderr)
		}
	}
	roots, _ := filepath.Glob(filepath.Join(work, "*", "containers"))
	for _, dir := range roots {
		root := filepath.Dir(dir)
		var ids, stderr strings.Builder
		skiff([]string{"--root", root, "ps", "-aq", "--no-trunc"}, nil, &ids, &stderr)
		for _, id := range strings.Fields(ids.String()) {
			args := []string{"--root", root, "rm", "-f", id}
			if code := skiff(args, nil, io.Discard, &stderr); code != 0 {
				t.Log("clean up: skiff rm -f " + id + ": " + stderr.String())
			}
		}
	}
}
