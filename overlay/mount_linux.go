package overlay

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// method is how Mount hands a stack of layers to the kernel.
type method int

const (
	// methodFsconfig uses the new mount API, one fsconfig(2) "lowerdir+"
	// call per layer (Linux 6.8 and later).
	methodFsconfig method = iota + 1
	// methodFdPaths uses mount(2), naming each layer /proc/self/fd/N.
	methodFdPaths
)

func (m method) String() string {
	switch m {
	case methodFsconfig:
		return "fsconfig"
	case methodFdPaths:
		return "fd-paths"
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// forceMethod, when set, replaces the probe; tests set it to run both ways.
var forceMethod method

// maxFsconfigValue is the longest string fsconfig(2) accepts as a value:
// the kernel copies at most 256 bytes, its NUL included.
const maxFsconfigValue = 255

// maxLayers is the deepest stack overlayfs mounts: the kernel's
// OVL_MAX_STACK.
const maxLayers = 500

// errTooManyLayers is returned for a stack deeper than overlayfs allows.
var errTooManyLayers = fmt.Errorf("overlayfs stacks at most %d lower dirs", maxLayers)

// errNoLayers is returned for a mount with neither layers nor an upper dir.
var errNoLayers = errors.New("no layers and no upper dir: nothing to mount")

// errInUse is returned for an upper or work dir that a mounted overlay
// already uses.
var errInUse = errors.New("already in use")

// Mount mounts at target the union of layers, lowest first as in the image
// config's rootfs.diff_ids, with upper as the writable upper dir and work
// as its work dir, both created if missing and on one file system. With
// upper "" the mount is a read-only view of the layers. target must exist.
// At most 500 layers can be stacked. Mount needs root (CAP_SYS_ADMIN) and
// mounts in the caller's mount namespace; log receives one debug line with
// the exact options, and may be nil.
func Mount(layers []string, upper, work, target string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := mount(layers, upper, work, target, log); err != nil {
		return fmt.Errorf("mount overlay on %q: %w", target, err)
	}
	return nil
}

// mount does the work of [Mount].
func mount(layers []string, upper, work, target string, log *slog.Logger) error {
	if len(layers) > maxLayers {
		return fmt.Errorf("%d layers: %w", len(layers), errTooManyLayers)
	}
	if upper != "" {
		if err := makeUpperAndWork(upper, work); err != nil {
			return err
		}
		if err := checkNotInUse(upper, work); err != nil {
			return err
		}
	}

	// overlayfs needs a lower dir, and two without an upper dir; a bind
	// mount shows these stacks just as well.
	switch {
	case len(layers) == 0 && upper == "":
		return errNoLayers
	case len(layers) == 0:
		return bindMount(upper, target, false, log)
	case len(layers) == 1 && upper == "":
		return bindMount(layers[0], target, true, log)
	}

	s := newStack(layers, upper, work)
	if chooseMethod(s) == methodFsconfig {
		return mountFsconfig(s, target, log)
	}
	return mountFdPaths(s, target, log)
}

// makeUpperAndWork creates the upper and work dirs if missing, and checks
// that they share a file system: overlayfs moves copied-up files from work
// to upper with rename(2), which cannot cross file systems.
func makeUpperAndWork(upper, work string) error {
	if work == "" {
		return fmt.Errorf("upper dir %q needs a work dir", upper)
	}
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return fmt.Errorf("create upper dir: %w", err)
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}

	upperDev, err := deviceOf(upper)
	if err != nil {
		return err
	}
	workDev, err := deviceOf(work)
	if err != nil {
		return err
	}
	if upperDev != workDev {
		return fmt.Errorf("work dir %q is on another file system than upper dir %q: "+
			"overlayfs renames files from one to the other", work, upper)
	}
	return nil
}

// checkNotInUse refuses an upper or work dir that a mounted overlay already
// uses. With index=off the kernel only warns about it, and the two mounts
// then corrupt each other's view.
func checkNotInUse(upper, work string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()

	// Limitation: only this mount namespace is searched; a mount that
	// lives on in another namespace after a lazy unmount goes unseen.
	mountPoint, used, err := overlayUsing(f, upper, work)
	if err != nil {
		return err
	}
	if used {
		return fmt.Errorf("upper dir %q or work dir %q: %w by the overlay on %q",
			upper, work, errInUse, mountPoint)
	}
	return nil
}

// deviceOf returns the device number of the file system holding path.
func deviceOf(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Dev, nil
}

// chooseMethod picks how to mount s: the new mount API where the kernel
// has "lowerdir+", mount(2) with short paths otherwise.
func chooseMethod(s stack) method {
	if forceMethod != 0 {
		return forceMethod
	}
	// fsconfig(2) refuses longer values; mount(2) has no such limit per
	// path, only on the whole string.
	if s.longestPath() > maxFsconfigValue {
		return methodFdPaths
	}
	return probeMethod()
}

// longestPath returns the length of the longest directory path in s, as
// fsconfig(2) would be given it.
func (s stack) longestPath() int {
	longest := max(len(escapeOption(s.upper)), len(escapeOption(s.work)))
	for _, dir := range s.lower {
		longest = max(longest, len(dir))
	}
	return longest
}

// probeMethod asks the kernel, once per process, whether overlayfs takes
// "lowerdir+" through fsconfig(2). fsopen(2) fails with ENOSYS before
// Linux 5.2 (or EPERM under some seccomp filters), and fsconfig(2) rejects
// the unknown key with EINVAL before Linux 6.8. Setting a parameter
// creates nothing, so the probe leaves no trace.
var probeMethod = sync.OnceValue(func() method {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return methodFdPaths
	}
	defer unix.Close(fsfd)

	if err := unix.FsconfigSetString(fsfd, "lowerdir+", "/"); err != nil {
		return methodFdPaths
	}
	return methodFsconfig
})

// overlayWhy is the narration's reason for an overlay mount.
const overlayWhy = "the image's layers, read-only, under the container's own writable one"

// mountFsconfig mounts s at target with the new mount API: fsopen(2)
// makes an overlayfs context, fsconfig(2) sets one parameter per call,
// fsmount(2) creates the file system as a detached mount and
// move_mount(2) attaches it at target.
func mountFsconfig(s stack, target string, log *slog.Logger) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return &MountError{Op: "fsopen", FSType: "overlay", Target: target, Err: err}
	}
	defer unix.Close(fsfd)

	// Each lower dir is its own call, topmost first: no page limit.
	params := []option{{"source", "overlay"}}
	for _, dir := range s.lower {
		params = append(params, option{"lowerdir+", dir})
	}
	params = append(params, s.options()...)
	explain.Step(log, explain.Overlayfs, overlayWhy,
		"fsopen(\"overlay\"), fsconfig(%s), fsmount, move_mount(→ %q)",
		joinOptions(params[1:]), target)

	for _, p := range params {
		if err := unix.FsconfigSetString(fsfd, p.key, p.fsconfigValue()); err != nil {
			return fsError(fsfd, "fsconfig", p.key+"="+p.fsconfigValue(), target, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fsError(fsfd, "fsconfig", "create", target, err)
	}
	return attach(fsfd, s.upper == "", target)
}

// attach creates the mount of the configured context fsfd and moves it to
// target.
func attach(fsfd int, readOnly bool, target string) error {
	attrs := 0
	if readOnly {
		attrs = unix.MOUNT_ATTR_RDONLY
	}
	mntfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fsError(fsfd, "fsmount", "", target, err)
	}

	// The mount fd holds a reference to the mount: before move_mount(2)
	// closing it unmounts, after it an open fd would keep umount2(2)
	// failing with EBUSY. It is closed either way.
	defer unix.Close(mntfd)
	err = unix.MoveMount(mntfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
	if err != nil {
		return &MountError{Op: "move_mount", FSType: "overlay", Target: target, Err: err}
	}
	return nil
}

// fsError records a failed step of the new mount API, with the messages
// the kernel left in the file system context.
func fsError(fsfd int, op, param, target string, err error) error {
	return &MountError{
		Op: op, FSType: "overlay", Target: target, Data: param,
		KernelLog: readKernelLog(fsfd), Err: err,
	}
}

// readKernelLog reads the messages queued on a file system context, one
// per read(2), such as "e overlay: Unknown parameter 'lowerdir+'".
func readKernelLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			return strings.Join(msgs, "; ")
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
}

// mountFdPaths mounts s at target with one mount(2) call, naming each
// lower dir /proc/self/fd/N after opening it, so that even a deep stack of
// long store paths fits in the one page mount(2) copies. The names are
// resolved by mount(2) itself; the fds are closed afterwards.
func mountFdPaths(s stack, target string, log *slog.Logger) error {
	fds, err := openDirs(s.lower)
	defer closeAll(fds)
	if err != nil {
		return err
	}

	names := make([]string, len(fds))
	for i, fd := range fds {
		names[i] = "/proc/self/fd/" + strconv.Itoa(fd)
	}
	data, err := mountData(names, s.options(), os.Getpagesize())
	if err != nil {
		return err
	}

	var flags uintptr
	if s.upper == "" {
		flags = unix.MS_RDONLY
	}
	if explain.On(log) {
		flagName := "0"
		if flags != 0 {
			flagName = "MS_RDONLY"
		}
		explain.Step(log, explain.Overlayfs, overlayWhy,
			"mount(\"overlay\", %q, \"overlay\", %s, %q), lowerdir %s",
			target, flagName, data, strings.Join(s.lower, ":"))
	}
	if err := unix.Mount("overlay", target, "overlay", flags, data); err != nil {
		return &MountError{Op: "mount", Source: "overlay", Target: target,
			FSType: "overlay", Flags: flags, Data: data, Err: err}
	}
	return nil
}

// openDirs opens each directory with O_PATH, which grants no access to the
// content but can name it. On error it returns the fds opened so far.
func openDirs(dirs []string) ([]int, error) {
	fds := make([]int, 0, len(dirs))
	for _, dir := range dirs {
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fds, &os.PathError{Op: "open", Path: dir, Err: err}
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// closeAll closes fds; closing an O_PATH fd cannot lose data.
func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// bindMount shows source at target, read-only if asked.
func bindMount(source, target string, readOnly bool, log *slog.Logger) error {
	log.Debug("bind mount", "source", source, "target", target, "read_only", readOnly)
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return &MountError{Op: "mount", Source: source, Target: target,
			Flags: unix.MS_BIND, Err: err}
	}
	if !readOnly {
		return nil
	}

	// A new bind mount keeps the flags of its source; making it read-only
	// takes a second call that changes only this mount (see mount(2),
	// "Creating a bind mount").
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		mountErr := &MountError{Op: "mount", Target: target, Flags: flags, Err: err}
		return errors.Join(mountErr, Unmount(target))
	}
	return nil
}

// joinOptions writes params as one string, for logs: each as fsconfig(2)
// is given it.
func joinOptions(params []option) string {
	fields := make([]string, len(params))
	for i, p := range params {
		fields[i] = p.key + "=" + p.fsconfigValue()
	}
	return strings.Join(fields, ",")
}
