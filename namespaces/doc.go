// Package namespaces starts container processes: it creates Linux
// namespaces, builds the container's root filesystem inside them, reduces
// the process's privileges and executes the container's command. It also
// enters a running container to start another process in it (docker exec).
// It teaches namespaces and root filesystems.
//
// A container is not a thing the kernel knows about. It is an ordinary
// process that was given its own view of some global resources
// (namespaces), its own root directory (pivot_root), fewer privileges
// (capabilities, no_new_privs) and limits (cgroups, in package cgroups).
//
// # The namespaces
//
// A namespace wraps a global resource so that the processes inside see
// their own instance of it (namespaces(7)). A process gets new ones when it
// is created by clone(2) with these flags:
//
//   - CLONE_NEWNS, mount: its own mount table. Mounting /proc or pivoting
//     the root changes nothing on the host. (The first namespace, 2002, so
//     the flag just says "new namespace".)
//   - CLONE_NEWUTS, UTS: its own hostname and domain name.
//   - CLONE_NEWIPC, IPC: its own System V IPC objects and POSIX message
//     queues.
//   - CLONE_NEWPID, PID: its own process numbers. The first process is
//     PID 1, the init of the namespace, and sees only its descendants.
//   - CLONE_NEWNET, network: its own interfaces, addresses, routes and
//     ports; it starts with a lone loopback device. docker run
//     --network host simply does not ask for one.
//   - CLONE_NEWCGROUP, cgroup: its own root in /proc/self/cgroup and in a
//     cgroup2 mount, so the container sees its own group as "/".
//
// The names in [Spec.Namespaces] map to these flags; user and time
// namespaces are not used (see Limitations).
//
// # Why execute a Go program again
//
// In C a runtime can fork(2), and the child, a copy of the parent with a
// single thread, can unshare(2) namespaces and set itself up before exec.
// Go cannot fork without exec: the runtime runs many threads (scheduler,
// garbage collector, signal handling), and a forked copy would contain only
// the forking one, with the runtime's locks in unknown states. And
// unshare(2) and setns(2) act on the calling thread only, while a goroutine
// may move between threads; some operations refuse a multi-threaded
// caller outright (joining a mount namespace, creating or joining a user
// namespace).
//
// So [Start] executes a Go program through [os/exec] with
// SysProcAttr.Cloneflags: the kernel creates the child directly in the new
// namespaces, and the child's Go runtime starts there. The program is
// skiff-init ([InitProgram]), which holds nothing but this package's init
// and so starts sooner, or, where it is not installed beside skiff, this
// same binary again, [SelfExe]. A hidden argv[0] marks the child as an
// init; [IsInit] recognises it and [Init] runs the steps below. This is
// the shape of every Go runtime, from runc to the 77 lines of
// "containers from scratch".
//
// # The handshake
//
// The child gets three descriptors besides stdio: a memfd with the
// [Spec] as JSON, the read end of a sync pipe and the write end of an
// error pipe. It first blocks on the sync pipe. Meanwhile the parent
// knows the child's PID, and the namespaces exist: it puts the PID into a
// cgroup (so everything the container does is accounted from its first
// instruction) and moves a network interface into the network namespace.
// Then [Process.Resume] writes one byte, and the child goes on. The error
// pipe is close-on-exec: if the child reaches execve(2), the kernel closes
// it and the parent reads end-of-file, which means success; if a step
// fails, the child writes the error as JSON first. A fourth pipe carries
// the child's log records to the parent's logger, because the child's
// stderr is the container's.
//
// # Mount propagation
//
// A new mount namespace starts as a copy of its parent's, and mounts that
// were shared (peer groups, see mount_namespaces(7)) stay shared: a mount
// made under a shared mount in the container would appear on the host, and
// an unmount would disappear from it. The init therefore first makes every
// mount private (MS_REC|MS_PRIVATE on "/"), before it mounts anything. The
// tests compare the host's mount table before and after every container.
//
// # The root filesystem: chroot versus pivot_root
//
// chroot(2) only changes where path lookups of one process start. The old
// root is still mounted in the namespace, and a root process can get back:
// chroot into a subdirectory, then ".." walks past the new root, or an
// open directory descriptor from before leads outside. pivot_root(2)
// instead makes another mount the root mount of the whole namespace and
// moves the old root aside, and once the old root is unmounted it is gone
// from the namespace: there is nothing left to escape to.
//
// The init bind-mounts the rootfs on itself (pivot_root needs a mount
// point), mounts /proc, /dev and /sys inside it, then calls
// pivot_root(".", ".") from within it: the old root ends up stacked on the
// new one, and umount2(".", MNT_DETACH) removes it, after making it a
// slave so that the unmount cannot propagate to the host. Paths inside the
// rootfs come from an untrusted image, so they are resolved with
// openat2(2) RESOLVE_IN_ROOT and mounts are put on the resulting
// descriptors (/proc/self/fd/N): a symlink in the image cannot redirect a
// mount onto the host.
//
// # /dev, devpts and masked paths
//
// The container's /dev is a small tmpfs, not the host's (which holds every
// disk, /dev/mem and /dev/kmsg): the nodes null, zero, full, random,
// urandom and tty, made with mknod(2); links fd, stdin, stdout, stderr and
// core into /proc; /dev/shm (tmpfs), /dev/mqueue (mqueue); and a private
// devpts instance at /dev/pts (mount option newinstance) with /dev/ptmx
// pointing into it, so the container sees its own terminals only. With a
// terminal, /dev/console is the pseudo-terminal the parent allocated.
//
// Some files in /proc and /sys describe or control the host even inside
// namespaces. Like Docker, the init hides [DefaultMaskedPaths] (a file
// under /dev/null, a directory under an empty read-only tmpfs) and makes
// [DefaultReadonlyPaths] read-only (/proc/sys among them: the kernel's
// tunables are global). /sys itself is mounted read-only.
//
// # Capabilities and no_new_privs
//
// Root's power is split into about forty capabilities (capabilities(7)),
// and each thread carries five sets of them: permitted (what it may use),
// effective (what it is using), inheritable and ambient (what may pass
// through execve), and the bounding set, a ceiling no descendant can rise
// above. A container gets Docker's fourteen [DefaultCapabilities] (CHOWN,
// KILL, NET_BIND_SERVICE, ...; not SYS_ADMIN, SYS_MODULE or SYS_TIME):
// every other capability is dropped from the bounding set, the effective
// and permitted sets are reduced to the kept ones, inheritable and ambient
// are emptied. After execve(2) root has the kept capabilities; any other
// user has none in effect, as in Docker. The order of these steps around
// the switch of user is dictated by the kernel; dropPrivileges explains
// it. PR_SET_NO_NEW_PRIVS (prctl(2)) finally makes execve(2) unable to
// grant anything: setuid binaries and file capabilities stop working.
//
// The user itself ([Spec.User], "app" or "1000:1000") is looked up by the
// init, in the container's /etc/passwd and /etc/group, once pivot_root
// has made them its own: a name means what the image says, and nothing
// of the container has to be mounted on the host side to find it out.
//
// # Running the command: 126 and 127
//
// The command is looked up on the PATH of the container's environment
// (Docker's default PATH if it has none), after the switch of user so that
// permission checks are the user's. A command that is not found makes
// [Process.Resume] return an [*ExecError] with code 127; one that is found
// but cannot be executed (not executable, a directory, a wrong format),
// code 126. These are the shell's codes, which Docker uses too.
//
// With [Spec.Init] the init does not exec the command but starts it as its
// child and stays PID 1, forwarding signals and reaping orphans (docker
// run --init). PID 1 gets only the signals it has handlers for, so a plain
// program as PID 1 ignores docker stop's SIGTERM; the reaper handles all
// and forwards them.
//
// # Entering a running container: Join
//
// docker exec needs a new process inside the namespaces of a running
// container. A Go program cannot get there by itself: setns(2) into a
// mount namespace fails with EINVAL in a multi-threaded process, and after
// setns(2) into a PID namespace the runtime could create no more threads.
// [Join] therefore re-executes this binary with an environment variable
// that a C constructor in package
// [github.com/skiff-dev/skiff/namespaces/nsenter] sees before the Go
// runtime starts, while the process has one thread. The constructor enters
// the container's namespaces (only those that differ from the host's:
// with --network host the network namespace is shared), waits for
// [Process.Resume], and forks: the child is the first process created in
// the container's PID namespace, and the Go runtime starts in it. That
// child runs the same code as the end of a container's init (user,
// capabilities, no_new_privs, working directory, PATH lookup, exec) but no
// mounts, which the container's init did already. The parent stays behind
// in C as a relay, which is what [Process.Pid] returns: it forwards signals
// to the child and exits the way the child did. Moving Pid into the
// container's cgroup before Resume puts the command there too.
//
// Why not re-execute the binary once more from inside, as [Start] does?
// Inside the container's mount namespace the binary's own dynamic loader
// and C library are gone (a busybox or alpine image has neither at the
// host's paths), so a cgo binary cannot be executed there; forking an
// already running image needs no loader.
//
// Further reading: namespaces(7), clone(2), setns(2), unshare(2),
// pivot_root(2), mount_namespaces(7), pid_namespaces(7), capabilities(7),
// prctl(2), openat2(2), https://man7.org/linux/man-pages/.
//
// # Limitations
//
//   - No user namespaces: root in the container is root on the host, held
//     back by capabilities, masked paths and no_new_privs only. Runtimes
//     map container root to an unprivileged host user for defence in depth.
//   - No seccomp filter, no AppArmor or SELinux profile: the container may
//     make any system call its capabilities allow. Docker adds a seccomp
//     profile that blocks about 50 more (keyctl, unshare, mount, ...).
//   - No rlimits are set or raised: the container inherits skiff's. Raising
//     a hard limit needs CAP_SYS_RESOURCE, which many hosts and CI machines
//     (this one included) do not give.
//   - No time namespace, and no sysctls.
//   - Read-only bind mounts are read-only at the top mount only; mounts
//     below the source stay writable (mount_setattr(2) with AT_RECURSIVE
//     would fix that).
//   - The container's init is this binary until it executes the command,
//     and stays it with Spec.Init. It is marked non-dumpable so the
//     container cannot open /proc/1/exe, but runc goes further and runs
//     from a sealed copy of itself in a memfd.
//   - Errors from the init cross a pipe as text and an errno: errors.Is
//     works for errnos and [*ExecError], not for other error types.
//   - A SIGURG sent to a container with Spec.Init is not forwarded: the Go
//     runtime uses that signal itself.
//   - Join needs cgo ([ErrJoinUnsupported] otherwise) and finds the
//     container's namespaces by PID, so the caller must make sure the PID
//     still is the container's init (DESIGN.md: PID plus start time).
package namespaces
