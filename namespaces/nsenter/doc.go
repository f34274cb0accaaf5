// Package nsenter moves a freshly started skiff process into the namespaces
// of a running container before the Go runtime starts, so that
// [github.com/skiff-dev/skiff/namespaces.Join] (docker exec) can work.
//
// # Why C, and why before main
//
// setns(2) changes the namespaces of the calling thread only, and the Go
// runtime is multi-threaded from its first instructions. For most namespace
// kinds a Go program can still lock a goroutine to its thread and setns
// there, but two kinds refuse:
//
//   - the mount namespace: the kernel returns EINVAL when the caller shares
//     its filesystem information (root, working directory, umask) with other
//     threads, and every Go thread does, since the runtime creates them with
//     CLONE_FS;
//   - the PID namespace: setns only decides where the caller's future
//     children go, and once it has, clone(2) refuses to create a new thread
//     (CLONE_THREAD) whose PID namespace would differ from its leader's, so
//     the runtime could not start its threads afterwards.
//
// A function marked __attribute__((constructor)) in a cgo package is run by
// the C start-up code of the dynamically linked binary, before main and so
// before the Go runtime exists. There the process has exactly one thread and
// may join any namespace. This is the technique runc uses too (its nsexec);
// the code here is a much smaller version of it.
//
// # Protocol
//
// The parent starts the binary with the environment variable [EnvVar] set
// to a comma-separated list of file descriptor numbers, all inherited:
//
//	sync,error,ns1,ns2,...
//
// The constructor joins ns1, ns2, ... in that order with setns(2) (the parent
// puts the mount namespace last, since after it the host's paths are gone),
// then waits until the parent writes one byte on the sync descriptor: that
// is the moment the parent has put this process into the container's cgroup.
// It then forks. The child is the first process created after the setns of
// the PID namespace, so it is inside the container's PID namespace; it
// returns from the constructor, and the Go runtime starts in it with all of
// the container's namespaces. The parent stays behind in C as a relay: it
// forwards every catchable signal to the child, waits for it, and ends the
// same way the child did (same exit code, or killed by the same signal).
//
// Errors are written as one JSON object, {"message": ..., "errno": ...}, on
// the error descriptor (the same pipe the Go side of the namespaces package
// uses), after which the process exits with status 125.
//
// # Building
//
// The constructor is compiled only when cgo is enabled (the default where a C
// compiler exists). With it, the package's init registers it with package
// namespaces ([namespaces.EnableJoin]); without cgo nothing registers, and
// Join returns an error instead of running a command outside the container.
//
// # Limitations
//
//   - The namespace files are opened by the parent through /proc/PID/ns, so a
//     container that exits and whose PID is reused at that instant could be
//     confused with another process; the caller checks the PID's start time
//     first. runc has the same window; pidfds would close it.
//   - No user or time namespaces are joined: skiff does not create them.
package nsenter
