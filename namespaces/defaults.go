package namespaces

// DefaultCapabilities are the capabilities Docker leaves to a container's
// process when neither --cap-add nor --cap-drop is given. As a bit mask
// (capabilities(7) numbers) they are 0x00000000a80425fb, the value shown in
// /proc/self/status inside `docker run busybox`.
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// DefaultMaskedPaths are the paths Docker hides from a container: kernel
// memory, keyrings, timers and hardware details that leak information
// about the host or let a process poke at it. A file is covered by
// /dev/null, a directory by an empty read-only tmpfs.
var DefaultMaskedPaths = []string{
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// DefaultReadonlyPaths are the paths Docker makes read-only in a container:
// the kernel's tunables under /proc/sys and friends, which are global to
// the host even inside namespaces, and /proc/sysrq-trigger, which would let
// root in the container reboot the machine.
var DefaultReadonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// defaultPath is searched for the command when the container's environment
// has no PATH, as Docker does.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
