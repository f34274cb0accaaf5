// Package explain narrates what skiff asks of the kernel and of
// registries, one step at a time, as it happens: the syscall or file
// write with its real arguments, one line of why, and the chapter of the
// course (docs/) that explains it. `skiff --explain run …` (or
// SKIFF_EXPLAIN=1) prints the narration on stderr:
//
//	[explain] clone3(CLONE_NEWNS|CLONE_NEWUTS|…|CLONE_INTO_CGROUP) = pid 4242
//	          the container's init: skiff-init (or skiff again) in new namespaces, … (docs/01-namespaces.md)
//	[explain] init: pivot_root(".", ".") in /var/lib/skiff/containers/…/rootfs
//	          the overlay becomes the root; … (docs/02-root-filesystems.md)
//
// # How it works
//
// A narrated step is a log/slog record at its own level, [Level], which
// sits between Debug and Info: the packages that do the work already take
// a *slog.Logger, so [Step] needs nothing new from them, and a --debug log
// shows the steps among its details. [Handler] is the narrator: it prints
// records of [Level] in the form above and hands every other record to the
// handler behind it.
//
// Steps taken in other processes reach the same narrator. A container's
// init sends its log records to the parent through a pipe (see package
// namespaces), and they arrive prefixed "init: ". A detached container's
// monitor narrates on the client's stderr until it reports that the
// container runs (see package container).
//
// # Cost
//
// When narration is off, [Step] is one call to [slog.Logger.Enabled] and
// returns: the arguments are not formatted. Steps are taken per syscall
// of a container's start or per registry request, never per file of a
// layer.
package explain
