// Package cgroups puts each container in its own control group, limits its
// memory, CPU time and number of tasks, lets it use only a few devices,
// and freezes, counts and kills its processes as one unit. It works on the
// three layouts found on Linux hosts: cgroup v1, cgroup v2, and the hybrid
// of both.
//
// # Control groups
//
// A control group (cgroup) is a set of processes. Groups form a tree, a
// hierarchy, shown as directories of a pseudo file system: mkdir(2) makes
// a group, rmdir(2) removes an empty one, and writing a PID to the file
// cgroup.procs moves that process, with all its threads, into the group.
// A child process starts in its parent's group.
//
// Controllers (memory, cpu, pids, freezer, ...) act on the groups of the
// hierarchy they are bound to. Each adds control files to every group:
// memory.max or memory.limit_in_bytes caps memory, pids.max caps the task
// count. Reading a file reports; writing applies at once, or fails with
// the kernel's reason as errno (EINVAL, EBUSY). A controller is bound to
// exactly one hierarchy at a time.
//
// # v1, v2 and hybrid
//
// cgroup v1 ("legacy") has one hierarchy per controller, each its own
// mount of file system type cgroup; the super options name the
// controllers, and some are mounted together (rw,cpu,cpuacct). A process
// has a group in each hierarchy, possibly different ones. cgroup v2
// ("unified") has a single hierarchy, type cgroup2, for all controllers.
// A hybrid host mounts both: the controllers stay on v1, and a cgroup2
// mount without them (or with a few) is there for process tracking.
//
// This machine is hybrid, the layout systemd used for years:
//
//	/sys/fs/cgroup/               tmpfs
//	├── memory/                   cgroup  rw,memory
//	│   └── skiff/<id>/           memory.limit_in_bytes, memory.oom_control
//	├── cpu/                      cgroup  rw,cpu
//	│   └── skiff/<id>/           cpu.cfs_quota_us, cpu.cfs_period_us
//	├── cpuacct/                  cgroup  rw,cpuacct   (cpuacct.usage)
//	├── pids/                     cgroup  rw,pids      (pids.max)
//	├── freezer/                  cgroup  rw,freezer   (freezer.state)
//	├── devices/                  cgroup  rw,devices
//	│   └── skiff/<id>/           devices.deny, devices.allow
//	├── cpuset/ blkio/            cgroup  (not used by skiff)
//	├── systemd/                  cgroup  rw,name=systemd (no controller)
//	└── unified/                  cgroup2 (cgroup.controllers: hugetlb)
//	    └── skiff/                the eBPF device program
//	        └── <id>/             cgroup.procs, cgroup.freeze,
//	                              cgroup.kill; inherits the program
//
// Most VMs today are unified:
//
//	/sys/fs/cgroup/               cgroup2
//	├── cgroup.controllers        "cpuset cpu io memory hugetlb pids"
//	├── cgroup.subtree_control    "cpu memory pids" (what children get)
//	└── skiff/                    the eBPF device program
//	    ├── cgroup.subtree_control  "cpu memory pids"
//	    └── <id>/                 memory.max, cpu.max, pids.max,
//	                              cgroup.procs, cgroup.freeze, cgroup.kill;
//	                              inherits the program
//
// [Detect] tells the layouts apart from the cgroup and cgroup2 mounts in
// /proc/self/mountinfo (checked with statfs(2)), not from guessed paths.
// A process's groups are listed in /proc/<pid>/cgroup, one line per
// hierarchy: "4:memory:/process_api/5e38" for v1, "0::/" for v2 (see
// [Memberships]).
//
// # Where skiff puts a group
//
// A group is named like "skiff/<container-id>" and made below the root of
// every hierarchy skiff uses, as Docker's cgroupfs driver does with
// "docker/<id>", not below the group skiff itself runs in. On this
// machine skiff runs in the memory group /process_api/<hex>. Nesting
// containers under it would work on v1, but not on v2: there a group
// other than the root may hold processes or hand controllers to its
// children, not both ("no internal processes"), and skiff's own group
// holds skiff. Being root, skiff may make groups at every root (checked on
// this machine, where the memory root is writable although skiff's group
// is nested); a container then leaves skiff's group in every hierarchy.
//
// In v2 a controller reaches a group only if every ancestor lists it in
// cgroup.subtree_control, so [Create] writes "+memory", "+cpu" and
// "+pids" there level by level: the root, then "skiff". The root offers
// a controller (lists it in cgroup.controllers) only if no v1 hierarchy
// holds it; that is why a hybrid host's v2 groups get no controllers.
//
// On a hybrid host a group is made in the v2 hierarchy, where it gets no
// limits but what v2 does better: one list of its processes,
// cgroup.kill, cgroup.freeze, a device program (its parent's), and a clean
// root for a cgroup namespace. It joins a v1 hierarchy (memory, cpu,
// pids) only for a limit that hierarchy's controller enforces. Pure v1
// hosts join every hierarchy skiff uses (memory, cpu, cpuacct, pids,
// freezer, devices), since nothing else can list or kill the group there,
// or hold its device rules.
//
// # Born in the group, or moved there
//
// Writing a PID to cgroup.procs moves a process; the first move waits for
// an RCU grace period (cgroup_threadgroup_rwsem), about 10 ms, which was
// the largest single cost of starting a container here. clone3(2) with
// CLONE_INTO_CGROUP (Linux 5.7) creates the process directly in a v2
// group instead: [Cgroup.V2Path] names the directory, and [Cgroup.AddV1]
// then moves the process into the v1 hierarchies only. A container on a
// pure v2 host is never moved at all, nor on a hybrid host unless it has a
// limit: its device rules are a program its v2 group inherits (see Device
// rules). Joining the v1 devices hierarchy as well would cost that grace
// period on every start (from about 24 to 30 ms here) for nothing.
//
// # The files skiff writes
//
//	                v1 (legacy, hybrid)             v2 (unified)
//	memory          memory.limit_in_bytes = N       memory.max = N
//	no swap escape  memory.memsw.limit_in_bytes = N memory.swap.max = 0
//	--cpus 0.5      cpu.cfs_period_us = 100000      cpu.max = "50000 100000"
//	                cpu.cfs_quota_us = 50000
//	--pids-limit    pids.max = N                    pids.max = N
//	devices         devices.deny = a                (an eBPF program,
//	                devices.allow = "c 1:3 rwm"...  see Device rules)
//	join            cgroup.procs = PID (each)       cgroup.procs = PID
//	freeze          freezer.state = FROZEN          cgroup.freeze = 1
//	kill            (freeze, SIGKILL each, thaw)    cgroup.kill = 1
//
// The swap files exist only where the kernel accounts swap; skiff skips
// them when absent. Every write is logged at debug level with its path and
// value, so `skiff --debug run -m 32m` shows exactly what the kernel was
// told.
//
// # Device rules
//
// A device node is a file that names a driver: a type, character or
// block, and two numbers, major and minor (/dev/null is c 1:3). Root in a
// container keeps CAP_MKNOD, as in Docker, so it can make a node for any
// driver: /dev/kmsg (c 1:11) to write to the host's kernel log, a host
// disk (b 8:0) to read it raw. The device controller closes that door. At
// each mknod(2) and each open(2) of a device node it checks what the
// process's group allows, and refuses anything else with EPERM,
// "Operation not permitted".
//
// Every group gets Docker's default allow-list: any node may be made
// ("c *:* m", "b *:* m"), and only these opened, to read and write:
//
//	c 1:3 null   c 1:5 zero   c 1:7 full   c 1:8 random   c 1:9 urandom
//	c 5:0 tty    c 5:1 console   c 5:2 ptmx   c 136:* pts/N   c 10:200 net/tun
//
// A node by itself reaches nothing: what matters is whether it opens.
//
// v1 has a devices controller with files: writing "a" to devices.deny
// drops the rules inherited from the parent and denies everything, then
// each write of a rule to devices.allow adds an exception, one per
// write(2). v2 has no such files. Its device controller is an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE, attached to a group's
// directory with bpf(2) BPF_PROG_ATTACH: the kernel runs it at each
// mknod(2) and open(2) of a device node by a process of that group or of
// any group below it, with the device type, numbers and the access asked
// for, and allows the access if it returns 1. skiff assembles the program
// from the same list, a few instructions per rule (see bpf_linux.go for
// the listing, instruction by instruction), loads it with BPF_PROG_LOAD,
// attaches it, and closes its descriptor: the attachment keeps the
// program for as long as the group exists.
//
// The list is the same for every container, so one program serves them
// all. It goes on the parent of the container groups, "skiff" for
// "skiff/<id>", and every container group below inherits it. [Create]
// first asks the kernel with BPF_PROG_QUERY whether the parent has a
// device program, and loads and attaches one only if it has none: the
// first container pays for the verifier (about 0.35 ms here), the next
// ones do not. Create does this before it returns, so the program is in
// place before the container's process is born in its group. Deleting a
// container's group leaves the parent's program alone. The parent can be
// removed only once it is empty, and its program goes with it; the next
// Create attaches a new one. A group named by one element, whose parent
// is the root, gets a program of its own: one on the root would hold for
// every process of the host.
//
// Which mechanism applies follows where the process lives. The kernel
// runs the programs of its v2 group and of the groups above it, then asks
// the v1 devices controller if one is mounted, and either refuses alone.
// So skiff puts the program above every group that has a v2 directory:
// on pure v2 hosts, and in the unified hierarchy of hybrid ones, where
// the container is born, even though no controller is enabled there
// (device programs need none). Only a pure v1 host gets the v1 files, in
// the container's own group, and the process joins its devices
// hierarchy. A group that can have neither is not created.
//
// # Out of memory
//
// A group over its memory limit first has its pages reclaimed; when
// nothing more can be reclaimed the kernel's OOM killer kills a process of
// the group (the largest) with SIGKILL, and counts it in oom_kill: v2
// memory.events, v1 memory.oom_control (Linux 4.13 and later). The
// process's parent only sees "killed by signal 9", which Docker reports
// as exit code 137; [Cgroup.OOMKilled] tells that it was the OOM killer.
//
// # Killing a whole group
//
// Signalling each PID read from cgroup.procs races with fork(2): a child
// born after the read escapes. Linux 5.14 added cgroup.kill to v2: one
// write kills every process of the group and its descendants. Without it,
// [Cgroup.Kill] freezes the group (frozen tasks cannot fork), signals
// every listed process, thaws it so that the signals are acted on, and
// repeats until the group is empty. Zombies are not listed in
// cgroup.procs, but pids.current counts them until they are reaped.
//
// # References
//
//   - cgroups(7): https://man7.org/linux/man-pages/man7/cgroups.7.html
//   - Documentation/admin-guide/cgroup-v2.rst:
//     https://docs.kernel.org/admin-guide/cgroup-v2.html
//   - Documentation/admin-guide/cgroup-v1/ (cgroups.rst, memory.rst,
//     freezer-subsystem.rst, pids.rst):
//     https://docs.kernel.org/admin-guide/cgroup-v1/
//   - Documentation/scheduler/sched-bwc.rst (CFS bandwidth, cfs_quota_us):
//     https://docs.kernel.org/scheduler/sched-bwc.html
//   - proc_pid_mountinfo(5), statfs(2)
//   - Device controller: Documentation/admin-guide/cgroup-v1/devices.rst,
//     and the "Device controller" section of cgroup-v2.rst; bpf(2),
//     Documentation/bpf/standardization/instruction-set.rst (the eBPF
//     instructions), include/uapi/linux/bpf.h (struct bpf_insn, struct
//     bpf_cgroup_dev_ctx):
//     https://docs.kernel.org/admin-guide/cgroup-v1/devices.html
//
// # Limitations
//
//   - Memory, CPU quota and task count only: no block I/O (blkio, io), no
//     cpuset pinning, CPU shares or weights, no hugetlb, no memory
//     reservation or oom.group.
//   - One device allow-list for every container, Docker's default: no
//     --device to give a container a host device, no --privileged to lift
//     the list.
//   - One device program on the parent of all container groups, which
//     works because every container has the same rules. Docker and runc
//     attach one per container, to its own group, as --device and
//     --privileged make the rules differ from one container to the next.
//     Any device program found on the parent is taken for skiff's: its
//     name and instructions are not checked.
//   - The device program is attached with BPF_PROG_ATTACH and no flags,
//     so it replaces any program attached to the same group before, and
//     a group below cannot attach one of its own. runc attaches with
//     BPF_F_ALLOW_MULTI, so that a program systemd attached runs too, and
//     swaps its own old program with BPF_F_REPLACE; newer tools use a BPF
//     link (BPF_LINK_CREATE).
//   - RLIMIT_MEMLOCK is not raised: kernels before 5.11 charge a loaded
//     program to it, a page or two here, within the usual 64 KiB.
//   - The cgroupfs way only: skiff writes the files itself. A host whose
//     groups systemd manages would rather have it asked over D-Bus for a
//     transient scope, as runc's systemd driver does.
//   - Root only. Rootless containers need a group delegated by systemd
//     (user@.service), below skiff's own, which means first moving skiff
//     into a leaf of it because of "no internal processes".
//   - No fallback when the root of a hierarchy cannot be written (a
//     read-only /sys/fs/cgroup in an unprivileged container): Create fails.
//   - v1 hierarchies other than memory, cpu, cpuacct, pids, freezer and
//     devices are not joined: a container stays in skiff's group for
//     cpuset, blkio and systemd's name=systemd.
//   - When a hierarchy is mounted twice, the first mount in mountinfo is
//     used; statfs(2) catches one that has been mounted over.
//   - Threaded v2 groups (cgroup.type "threaded") are not supported.
//
// # What this machine cannot test
//
// The tests run on a hybrid host whose cgroup2 mount holds no controller
// skiff uses (only hugetlb). There the v2 code runs for real where the
// kernel allows it: making groups, enabling a controller level by level
// through cgroup.subtree_control (with hugetlb, since memory, cpu and pids
// are bound to v1), moving processes, cgroup.freeze with cgroup.events,
// cgroup.kill, cpu.stat. The v2 limit files memory.max, memory.swap.max,
// cpu.max and pids.max, and v2 memory.events and memory.current, exist
// only where those controllers are bound to cgroup2: here they are checked
// against a fake tree in a temporary directory, as are co-mounted v1
// hierarchies (cpu,cpuacct). The kernel's EBUSY for "no internal
// processes" is not reached. The v1 code runs in full, limits and all, and
// the pure-v1 path (freezer.state, freeze-and-kill without cgroup.kill)
// runs by leaving out the cgroup2 mount. The device rules run for real
// both ways: the program attached to the parent of groups of the unified
// hierarchy, and inherited by them, and the v1 devices files of the
// pure-v1 path.
package cgroups
