package namespaces

import (
	"os"
	"path/filepath"
	"testing"
)

// skiff-init is used when it sits executable beside skiff, and skiff
// itself otherwise.
func TestInitProgramBeside(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "skiff")
	if got := initProgramBeside(self); got != "/proc/self/exe" {
		t.Errorf("without skiff-init: init program = %q, want /proc/self/exe", got)
	}
	init := filepath.Join(dir, InitProgram)
	if err := os.WriteFile(init, []byte("#!/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not executable: root too needs an execute bit to run a file.
	if got := initProgramBeside(self); got != "/proc/self/exe" {
		t.Errorf("skiff-init not executable: init program = %q, want /proc/self/exe", got)
	}
	if err := os.Chmod(init, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := initProgramBeside(self); got != init {
		t.Errorf("with skiff-init: init program = %q, want %q", got, init)
	}
}
