package namespaces

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// setupRootfs builds the container's view of the filesystem in spec.Rootfs
// and makes it the root: propagation, proc, dev, sys, the caller's mounts,
// pivot_root(2), then masked and read-only paths. Every path inside the
// rootfs is resolved with openat2(2) RESOLVE_IN_ROOT (see rootDir), and
// mounts are put on the descriptors it returns, never on a path string that
// the image could redirect with a symlink.
//
// Preconditions: the process is in a mount namespace of its own, is real
// root (no user namespace), and its umask is 0.
func setupRootfs(spec *Spec, log *slog.Logger) error {
	// Mount events propagate between peers of a shared mount, and a new
	// mount namespace starts with the same peer groups as the host (see
	// mount_namespaces(7)). Making every mount private, before anything
	// else, keeps what we mount from showing up on the host.
	if err := mount(log, "no mount event crosses between the host and the container",
		"", "/", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}

	// pivot_root(2) needs the new root to be a mount point. A bind mount
	// of the rootfs on itself makes it one, whatever it is (an overlay
	// mount already is, a plain directory is not).
	bind := uintptr(unix.MS_BIND | unix.MS_REC)
	if err := mount(log, "pivot_root needs the new root to be a mount point",
		spec.Rootfs, spec.Rootfs, spec.Rootfs, "", bind, ""); err != nil {
		return err
	}
	// Opened after the bind mount, so it refers to the new mount.
	root, err := openRoot(spec.Rootfs)
	if err != nil {
		return err
	}
	defer root.Close()

	// A fresh procfs: it belongs to the new PID namespace, so it lists
	// only the container's processes.
	procFlags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV)
	if err := root.mkdirMount(log, "a procfs of the new PID namespace: only the container's processes",
		"proc", "/proc", "proc", procFlags, ""); err != nil {
		return err
	}
	if err := setupDev(root, spec.Terminal, log); err != nil {
		return err
	}
	if err := mountSys(root, slices.Contains(spec.Namespaces, CgroupNS), log); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		if err := mountUser(root, m, log); err != nil {
			return err
		}
	}

	// The working directory is made now, as root and while the rootfs is
	// still writable (docker run -w creates it the same way).
	if spec.Cwd != "" {
		fd, err := root.mkdirAll(spec.Cwd)
		if err != nil {
			return fmt.Errorf("make working directory %q: %w", spec.Cwd, err)
		}
		unix.Close(fd)
	}

	if err := pivotRoot(root, log); err != nil {
		return err
	}
	return finishRootfs(spec, log)
}

// finishRootfs applies what is easier to do once the rootfs is "/": masked
// paths, read-only paths and the read-only root.
func finishRootfs(spec *Spec, log *slog.Logger) error {
	root, err := openRoot("/")
	if err != nil {
		return err
	}
	defer root.Close()

	if err := maskPaths(root, spec.MaskedPaths, log); err != nil {
		return err
	}
	if err := readonlyPaths(root, spec.ReadonlyPaths, log); err != nil {
		return err
	}
	// A bind remount changes this mount only, not the filesystem below,
	// so the host's view of the rootfs stays writable.
	if spec.ReadonlyRootfs {
		return root.remountReadonly(log, "--read-only: the container cannot write to its root", "/", 0)
	}
	return nil
}

// devices are the nodes of a container's /dev: the ones programs expect to
// exist, and nothing that reaches hardware. mknod(2) rather than bind mounts
// of the host's nodes: skiff runs as real root, which may create device
// nodes, so the nodes are plain files in our tmpfs with no link to the
// host's /dev. In a user namespace mknod is refused, which is why rootless
// runtimes bind-mount the host's nodes onto empty files instead.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3},
	{"zero", 1, 5},
	{"full", 1, 7},
	{"random", 1, 8},
	{"urandom", 1, 9},
	{"tty", 5, 0},
}

// devLinks are the symlinks of a container's /dev, pointing into /proc (so
// they follow each process's own descriptors) and into /dev/pts.
var devLinks = []struct{ name, target string }{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"core", "/proc/kcore"},
	{"ptmx", "pts/ptmx"},
}

// setupDev mounts a tmpfs on /dev and fills it: device nodes, devpts, shm,
// mqueue, the std* links, and /dev/console when the process has a terminal.
func setupDev(root *rootDir, terminal bool, log *slog.Logger) error {
	// Not the host's /dev: that would show every disk, /dev/mem and
	// /dev/kmsg to the container.
	devFlags := uintptr(unix.MS_NOSUID | unix.MS_STRICTATIME)
	err := root.mkdirMount(log, "a /dev of its own, not the host's disks and devices",
		"tmpfs", "/dev", "tmpfs", devFlags, "mode=755,size=65536k")
	if err != nil {
		return err
	}
	// Opened after the mount, so it is the tmpfs.
	dev, err := root.open("/dev", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	if err := makeDevNodes(dev, log); err != nil {
		return err
	}

	// devpts with newinstance is a private set of pseudo-terminals: the
	// container sees its own /dev/pts/N only, and /dev/ptmx (a link to
	// pts/ptmx) allocates in it. gid=5 is the "tty" group of most images.
	ptsFlags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC)
	ptsData := "newinstance,ptmxmode=0666,mode=0620,gid=5"
	if err := root.mkdirMount(log, "pseudo-terminals of the container's own",
		"devpts", "/dev/pts", "devpts", ptsFlags, ptsData); err != nil {
		return err
	}
	// POSIX shared memory, shm_open(3), lives in /dev/shm.
	shmFlags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	err = root.mkdirMount(log, "POSIX shared memory, shm_open(3)",
		"shm", "/dev/shm", "tmpfs", shmFlags, "mode=1777,size=65536k")
	if err != nil {
		return err
	}
	// POSIX message queues, mq_overview(7), of the new IPC namespace.
	if err := root.mkdirMount(log, "the POSIX message queues of the new IPC namespace",
		"mqueue", "/dev/mqueue", "mqueue", shmFlags, ""); err != nil {
		return err
	}

	if terminal && isTerminal(0) {
		return mountConsole(root, log)
	}
	return nil
}

// makeDevNodes makes the device nodes and symlinks of /dev in the directory
// dev.
func makeDevNodes(dev int, log *slog.Logger) error {
	for _, d := range devices {
		explain.Step(log, explain.RootFilesystems, "one of the few devices a program expects",
			"mknod(\"/dev/%s\", S_IFCHR|0666, makedev(%d, %d))", d.name, d.major, d.minor)
		err := unix.Mknodat(dev, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if err != nil {
			return &os.PathError{Op: "mknodat", Path: "/dev/" + d.name, Err: err}
		}
	}
	for _, l := range devLinks {
		log.Debug("symlink", "path", "/dev/"+l.name, "target", l.target)
		if err := unix.Symlinkat(l.target, dev, l.name); err != nil {
			return &os.PathError{Op: "symlinkat", Path: "/dev/" + l.name, Err: err}
		}
	}
	return nil
}

// mountConsole binds the pseudo-terminal the parent made (our stdin) on
// /dev/console, as in Docker: programs that write to the console reach the
// user's terminal.
func mountConsole(root *rootDir, log *slog.Logger) error {
	// The source is the terminal's path, not /proc/self/fd/0: that
	// descriptor's mount belongs to the parent's mount namespace, and
	// mount(2) binds only from the caller's own (EINVAL otherwise). The
	// same path in our copy of the host's mounts is the same terminal.
	pty, err := os.Readlink("/proc/self/fd/0")
	if err != nil {
		return err
	}
	console, err := root.mkfile("/dev/console")
	if err != nil {
		return err
	}
	unix.Close(console)
	return root.mountAt(log, "the container's console is its terminal",
		pty, "/dev/console", "", unix.MS_BIND, "")
}

// mountSys mounts /sys read-only, and the cgroup2 filesystem on
// /sys/fs/cgroup when the container has a cgroup namespace.
func mountSys(root *rootDir, cgroupNS bool, log *slog.Logger) error {
	flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	err := root.mkdirMount(log, "a read-only sysfs of the container's network namespace",
		"sysfs", "/sys", "sysfs", flags, "")

	// A sysfs shows the network devices of the mounter's network
	// namespace, and the kernel refuses a new one to a process that does
	// not own that namespace (as in a user namespace sharing the host's
	// network). The fallback is the host's /sys, bound read-only and
	// without MS_REC, so that no mount below it (such as the host's
	// cgroup hierarchies) comes along writable.
	if errors.Is(err, unix.EPERM) {
		log.Debug("sysfs refused, binding the host's /sys read-only")
		if err := root.mountAt(log, "no sysfs of our own: the host's, bound read-only",
			"/sys", "/sys", "", unix.MS_BIND, ""); err != nil {
			return err
		}
		err = root.remountReadonly(log, "the host's /sys, read-only", "/sys", flags)
	}
	if err != nil || !cgroupNS {
		return err
	}

	// In a cgroup namespace the cgroup2 root is the container's own
	// group, so the container can read its limits and no one else's.
	return root.mountAt(log, "the cgroup namespace's root is the container's own group",
		"cgroup2", "/sys/fs/cgroup", "cgroup2", flags, "")
}

// mountUser makes one of the caller's mounts: a bind mount (a volume,
// /etc/hosts, ...) or a tmpfs.
func mountUser(root *rootDir, m Mount, log *slog.Logger) error {
	if !filepath.IsAbs(m.Target) || filepath.Clean(m.Target) == "/" {
		return fmt.Errorf("mount on %q: target must be an absolute path other than /", m.Target)
	}
	switch m.Type {
	case "bind":
		return bindMount(root, m, log)
	case "tmpfs":
		flags, data := tmpfsOptions(m.Options, m.Readonly)
		return root.mkdirMount(log, "--tmpfs: a filesystem in memory", "tmpfs", m.Target, "tmpfs",
			flags, data)
	default:
		return fmt.Errorf("mount on %q: unknown type %q", m.Target, m.Type)
	}
}

// bindMount binds a host path into the container, making the target (a
// directory or an empty file, like the source) if it is missing.
func bindMount(root *rootDir, m Mount, log *slog.Logger) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind mount source: %w", err)
	}
	var target int
	if st.IsDir() {
		target, err = root.mkdirAll(m.Target)
	} else {
		target, err = root.mkfile(m.Target)
	}
	if err != nil {
		return err
	}
	unix.Close(target)

	// MS_REC brings the mounts below the source along, as docker -v does.
	bind := uintptr(unix.MS_BIND | unix.MS_REC)
	if err := root.mountAt(log, "a host path seen inside the container (-v, /etc/hosts, ...)",
		m.Source, m.Target, "", bind, ""); err != nil {
		return err
	}
	// The kernel ignores MS_RDONLY on the call that creates a bind mount:
	// read-only takes a second call, a remount of the new mount.
	// Limitation: mounts below the source stay writable; runc can make
	// them read-only too with mount_setattr(2) AT_RECURSIVE.
	if m.Readonly {
		return root.remountReadonly(log, "a bind mount turns read-only in a second call",
			m.Target, 0)
	}
	return nil
}

// pivotRoot makes root the root of the mount namespace and detaches the old
// root entirely.
//
// chroot(2) would only change the process's idea of "/": the old root stays
// mounted and reachable (a root process can chroot again into a
// subdirectory and climb out with ".." past it, or open a directory
// descriptor before the chroot). pivot_root(2) changes the root mount of the
// whole mount namespace, and once the old root is unmounted there is
// nothing left to climb to.
//
// pivot_root(".", ".") from inside the new root is the trick of not needing
// a directory for the old root: the kernel stacks the old root on top of
// the new one at the same place, where umount2(".", MNT_DETACH) removes it.
// This also works when the rootfs is read-only.
//
// Preconditions: root is a mount point whose propagation is not shared.
func pivotRoot(root *rootDir, log *slog.Logger) error {
	if err := unix.Fchdir(root.fd); err != nil {
		return &os.PathError{Op: "fchdir", Path: root.path, Err: err}
	}
	explain.Step(log, explain.RootFilesystems,
		"the overlay becomes the root; the host's root is stacked on it",
		"pivot_root(\".\", \".\") in %s", root.path)
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: root.path, Err: err}
	}

	// If the old root's mounts were still shared with the host, unmounting
	// them here would unmount them on the host too. As a slave it receives
	// events from the host but sends none. (They are private since the
	// first step already; this keeps the unmount safe on its own.)
	err := mount(log, "unmounting the old root must not unmount anything on the host",
		"", ".", "old root", "", unix.MS_SLAVE|unix.MS_REC, "")
	if err != nil {
		return err
	}
	explain.Step(log, explain.RootFilesystems,
		"the host's root goes: nothing outside the rootfs is left to reach",
		"umount2(\".\", MNT_DETACH)")
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &os.PathError{Op: "umount2", Path: "old root", Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// maskPaths hides paths: a file under /dev/null, a directory under an empty
// read-only tmpfs. Missing paths are skipped (not every kernel has them).
//
// Preconditions: after pivot_root, so /dev/null is the container's.
func maskPaths(root *rootDir, paths []string, log *slog.Logger) error {
	for _, p := range paths {
		fd, err := root.open(p, unix.O_PATH, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return err
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil {
			return &os.PathError{Op: "fstat", Path: p, Err: err}
		}

		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
			err = root.mountAt(log, "a masked path: an empty directory hides it",
				"tmpfs", p, "tmpfs", flags, "mode=555")
		} else {
			err = root.mountAt(log, "a masked path: it reads as empty", "/dev/null", p, "",
				unix.MS_BIND, "")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readonlyPaths binds each path on itself and remounts it read-only.
// Missing paths are skipped.
func readonlyPaths(root *rootDir, paths []string, log *slog.Logger) error {
	for _, p := range paths {
		fd, err := root.open(p, unix.O_PATH, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return err
		}
		bind := uintptr(unix.MS_BIND | unix.MS_REC)
		err = mount(log, "a read-only path: first a bind mount on itself",
			fdPath(fd), fdPath(fd), p, "", bind, "")
		unix.Close(fd)
		if err != nil {
			return err
		}
		if err := root.remountReadonly(log, "then remounted read-only", p, 0); err != nil {
			return err
		}
	}
	return nil
}

// mountAt mounts on unsafeTarget inside the root, which must exist. The
// target is opened afresh on every call, so that a remount reaches the
// mount that is now on top at that place, not the one below.
func (r *rootDir) mountAt(log *slog.Logger, why, source, unsafeTarget, fstype string,
	flags uintptr, data string) error {
	fd, err := r.open(unsafeTarget, unix.O_PATH, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	shown := filepath.Clean("/" + unsafeTarget)
	return mount(log, why, source, fdPath(fd), shown, fstype, flags, data)
}

// mkdirMount makes the directory unsafeTarget inside the root if needed and
// mounts on it.
func (r *rootDir) mkdirMount(log *slog.Logger, why, source, unsafeTarget, fstype string,
	flags uintptr, data string) error {
	fd, err := r.mkdirAll(unsafeTarget)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return r.mountAt(log, why, source, unsafeTarget, fstype, flags, data)
}

// remountReadonly makes the bind mount at unsafeTarget read-only, keeping
// its other flags and adding extra.
func (r *rootDir) remountReadonly(log *slog.Logger, why, unsafeTarget string,
	extra uintptr) error {
	fd, err := r.open(unsafeTarget, unix.O_PATH, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	locked, err := lockedFlags(fd)
	if err != nil {
		return err
	}
	flags := unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | locked | extra
	shown := filepath.Clean("/" + unsafeTarget)
	return mount(log, why, "", fdPath(fd), shown, "", flags, "")
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
