package namespaces

// InitProgram is the name of the small program that is a container's
// first process (cmd/skiff-init): [Start] runs it when it is installed
// next to the running binary, and runs the running binary again
// (/proc/self/exe) when it is not.
//
// Both run the same code, [Init]. The small one starts sooner: a Go
// program runs the initialisers of every package it links before main,
// and skiff links HTTP, TLS, compression and netlink, none of which a
// container's init needs. Here `skiff-init` starts and exits in 2.0 ms and
// skiff in 3.7 ms (each run by sh, 300 times), and every container start
// waits for one of them.
const InitProgram = "skiff-init"

// SelfExe is how a process names its own executable: the kernel's link
// /proc/self/exe, which a process can execute to start its own program
// again, whatever its path or name.
const SelfExe = "/proc/self/exe"

// NsenterEnvVar names the environment variable that asks the C constructor
// of package nsenter to join a container's namespaces; nsenter_linux.c
// reads the same name.
const NsenterEnvVar = "_SKIFF_NSENTER"
