package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary double as the skiff command: the scripts
// run "exec skiff ...", which starts this binary again as skiff.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"skiff": func() { os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the scenario scripts in testdata/script. Each reads like
// a lab: a learner can type its commands in a shell and see the same output.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Condition:           scriptCondition,
		Setup: func(env *testscript.Env) error {
			// The scripts under scripts/ are part of some labs.
			env.Setenv("SKIFF_SRC", repo)
			return nil
		},
	})
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
