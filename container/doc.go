// Package container runs images as containers and keeps them until they
// are removed: create, start, stop, kill, exec, remove, list, logs, diff,
// commit and export, with no daemon.
//
// # Image and container: the class and the object
//
// An image is a read-only stack of layers plus a config. A container is one
// instance of it: a record (ID, name, run options), one writable layer of
// its own (the overlay upperdir), and, while it runs, a process tree in new
// namespaces and a cgroup. Two containers of one image share every layer
// directory and differ only in their upper dirs:
//
//	containers/<id>/rootfs   ← overlay mount: what the container sees as /
//	  upperdir  containers/<id>/upper      (writable, this container only)
//	  lowerdir  layers/<diffID n>/diff     (read-only, shared by all)
//	            ...
//	            layers/<diffID 1>/diff
//
// Stopping a container keeps its upper dir; starting it again mounts the
// same upper dir, so what it wrote is still there. Removing it deletes the
// upper dir: the image is untouched.
//
// # Starting, step by step
//
// [Store.Start] mounts the root filesystem (the image's layers, the init
// layer of mount points shared by all containers, its upper dir), creates
// the cgroup (package cgroups), and starts the init in new namespaces
// (package namespaces), born in the cgroup's v2 directory where there is
// one. The init is skiff-init, or skiff itself again: while its Go
// runtime starts, skiff writes /etc/hostname, hosts and resolv.conf into
// the bundle, moves the init into the v1 hierarchies that enforce a limit
// and attaches its network namespace to a bridge (package network). Then
// it is released, so the command is limited and connected from its first
// instruction; the init looks the user up in the container's own
// /etc/passwd. The state goes to state.json with the PID and its start
// time from /proc/<pid>/stat.
//
// # Who watches a container: no daemon
//
// Docker has dockerd and a shim per container; skiff has the process that
// started the container. In the foreground (`skiff run`), that is the
// client itself: it relays the terminal, waits, records the exit code and
// unmounts. Detached (`-d`, `start`), skiff re-executes itself as a monitor
// in its own session (setsid(2)): it writes the output to log.json in
// Docker's json-file format, waits, records and cleans up, while the client
// prints the ID and returns.
//
// A watcher can be killed. So no command trusts "running" in state.json:
// a PID counts only together with its start time (PIDs are reused), and a
// container whose process and watcher are both gone is marked exited and
// its mounts and cgroup are released by the next command that looks at it
// (reconcile). Its exit code is then unknown: 255, as Docker reports it.
// The same goes for a skiff killed half-way through Start: it held the
// container's lock, which the kernel drops with it, so a container still
// "created" whose rootfs is mounted and whose lock is free is cleaned up,
// and whatever runs in its cgroup is killed.
//
// # Exit codes
//
// The container's own code; 128+n after signal n (137 after SIGKILL, also
// after an OOM kill, with OOMKilled set); 126 when the command cannot be
// executed; 127 when it is not found; 125 when skiff fails.
//
// # Limitations
//
//   - A foreground container's watcher is the client: if the client is
//     killed, the container runs on unwatched and its exit code is lost
//     (255). Docker's daemon and shim avoid this; a foreground monitor with
//     a socket for attaching would too.
//   - `attach` and restart policies are not implemented; stdin of a
//     detached container is /dev/null.
//   - Logs grow without rotation.
//   - No user namespaces: root in the container is root on the host,
//     limited by capabilities, as in Docker's default.
//   - [Store.Connect] lasts until the container stops: a restart attaches
//     it to its first network only. [Store.Disconnect] refuses a network
//     the container publishes ports on, whose forwarders run in its
//     watcher. Docker's daemon records every network and owns every port.
package container
