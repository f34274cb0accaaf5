package namespaces

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// InitProgram is the name of the small program that is a container's
// first process (cmd/skiff-init): [Start] runs it when it is installed
// next to the running binary, and runs the running binary again
// (/proc/self/exe) when it is not.
//
// Both run the same code, [Init]. The small one starts sooner: a Go
// program runs the initialisers of every package it links before main,
// and skiff links HTTP, TLS, compression and netlink, none of which a
// container's init needs. Here `skiff-init` starts in about 2.0 ms and
// skiff in about 3.7 ms, and every container start waits for one of them.
const InitProgram = "skiff-init"

// NsenterEnvVar names the environment variable that asks the C constructor
// of package nsenter to join a container's namespaces; nsenter_linux.c
// reads the same name.
const NsenterEnvVar = "_SKIFF_NSENTER"

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
// /proc/self/exe. It is worked out once per process.
var initProgram = sync.OnceValue(func() string {
	self, err := os.Executable()
	if err != nil {
		return "/proc/self/exe"
	}
	return initProgramBeside(self)
})

// initProgramBeside returns [InitProgram] in the directory of the
// executable self if it is there and executable, or else /proc/self/exe.
func initProgramBeside(self string) string {
	p := filepath.Join(filepath.Dir(self), InitProgram)
	if unix.Access(p, unix.X_OK) == nil {
		return p
	}
	return "/proc/self/exe"
}
