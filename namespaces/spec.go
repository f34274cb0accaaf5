package namespaces

// Spec describes one container process and the world it is started in. It
// is plain data: the parent fills it in, encodes it as JSON, and the init
// process applies it step by step inside the new namespaces.
type Spec struct {
	// Rootfs is the host path of the container's root filesystem (the
	// merged overlay mount); init pivots into it.
	Rootfs string `json:"rootfs"`
	// Hostname is set in the new UTS namespace.
	Hostname string `json:"hostname"`
	// Namespaces are the namespaces to create; see [Namespace].
	Namespaces []Namespace `json:"namespaces"`

	// Args is the command and its arguments; Args[0] is looked up on the
	// PATH from Env inside the container when it has no slash.
	Args []string `json:"args"`
	Env  []string `json:"env"`
	// Cwd is the working directory inside the container, created if missing.
	Cwd string `json:"cwd"`
	// User is who the process runs as, as docker run -u takes it: "name",
	// "uid", "name:group" or "uid:gid", or "" for root. The process looks
	// it up itself, in the container's own /etc/passwd and /etc/group
	// once its root is in place (see [LookupUser]), as runc does: a name
	// means what the image says it means.
	User string `json:"user"`
	// Terminal means stdio is a pseudo-terminal the parent made: the process
	// gets a new session with it as its controlling terminal.
	Terminal bool `json:"terminal"`
	// Init runs a tiny reaper as PID 1 that starts Args as its child,
	// forwards signals to it and reaps orphans (docker run --init).
	Init bool `json:"init"`

	// Mounts are added after /proc, /dev and /sys, in order: bind mounts
	// (volumes, /etc/hosts, /etc/resolv.conf, /etc/hostname) and tmpfs.
	Mounts []Mount `json:"mounts"`
	// ReadonlyRootfs remounts / read-only (docker run --read-only).
	ReadonlyRootfs bool `json:"readonlyRootfs"`
	// MaskedPaths are hidden (a file gets /dev/null bound over it, a
	// directory an empty read-only tmpfs); ReadonlyPaths are bound
	// read-only over themselves. Docker's defaults are in [DefaultMaskedPaths]
	// and [DefaultReadonlyPaths].
	MaskedPaths   []string `json:"maskedPaths"`
	ReadonlyPaths []string `json:"readonlyPaths"`

	// Capabilities the process keeps, by name (CAP_CHOWN, ...): its
	// bounding set is reduced to these, and so are its effective and
	// permitted sets when the user is root (another user has none in
	// effect, as in Docker); the inheritable and ambient sets are empty.
	// See [DefaultCapabilities].
	Capabilities []string `json:"capabilities"`
	// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS before the exec.
	NoNewPrivileges bool `json:"noNewPrivileges"`

	// CgroupDir, when set, is a cgroup v2 directory that [Start] creates
	// the init in, with clone3(2)'s CLONE_INTO_CGROUP (Linux 5.7): the
	// process is born in the group instead of being moved there, which
	// spares the caller a migration and the RCU grace period the first
	// one waits for. Used on the host side only; the init never sees it.
	CgroupDir string `json:"-"`
}

// Namespace names one kind of Linux namespace by its clone(2) flag name.
type Namespace string

// The namespaces a container can have.
const (
	MountNS   Namespace = "mount"
	UTSNS     Namespace = "uts"
	IPCNS     Namespace = "ipc"
	PIDNS     Namespace = "pid"
	NetworkNS Namespace = "network"
	CgroupNS  Namespace = "cgroup"
)

// User is a resolved user: numeric IDs, as [LookupUser] finds them in a
// root filesystem's /etc/passwd and /etc/group.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGIDs []uint32 `json:"additionalGids,omitempty"`
	// Home is the user's home directory from /etc/passwd ("/" when the
	// user has no entry). The init sets HOME to it when Env has no HOME,
	// as Docker does.
	Home string `json:"home,omitempty"`
}

// Mount is one extra mount inside the container.
type Mount struct {
	// Type is "bind" or "tmpfs".
	Type string `json:"type"`
	// Source is the host path of a bind mount; unused for tmpfs.
	Source string `json:"source,omitempty"`
	// Target is the absolute path inside the container, created if missing.
	Target string `json:"target"`
	// Readonly makes the mount read-only.
	Readonly bool `json:"readonly,omitempty"`
	// Options are the options of a tmpfs, comma-separated as for
	// docker run --tmpfs: mount flags (ro, rw, exec, noexec, suid, nosuid,
	// dev, nodev, ...) and filesystem data such as "size=64m,mode=1777".
	// Without flags a tmpfs is nosuid, nodev and noexec, as in Docker.
	Options string `json:"options,omitempty"`
}
