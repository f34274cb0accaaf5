package namespaces

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// joinEntered is set by [EnableJoin]; nil means this binary cannot join.
var joinEntered func() bool

// EnableJoin is called by package nsenter, from its init function, in a
// binary that links its C constructor: only such a binary can [Join] a
// running container, since only the constructor can enter its mount and
// PID namespaces. entered reports whether the constructor did, in this
// process. skiff imports package nsenter; skiff-init does not, and so
// needs neither cgo nor the C library.
func EnableJoin(entered func() bool) { joinEntered = entered }

// initProgram returns the path of the program [Start] executes as the
// init: [InitProgram] beside our own executable if it is there, or
// [SelfExe]. It is worked out once per process.
var initProgram = sync.OnceValue(func() string {
	self, err := os.Executable()
	if err != nil {
		return SelfExe
	}
	return initProgramBeside(self)
})

// initProgramBeside returns [InitProgram] in the directory of the
// executable self if it is there and executable, or else [SelfExe].
func initProgramBeside(self string) string {
	p := filepath.Join(filepath.Dir(self), InitProgram)
	if unix.Access(p, unix.X_OK) == nil {
		return p
	}
	return SelfExe
}

// InitProgramPath returns the program [Start] runs as a container's init
// in this process: skiff-init beside the running binary, or [SelfExe] when
// there is none. skiff info shows it.
func InitProgramPath() string { return initProgram() }
