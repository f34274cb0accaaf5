package namespaces

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// initArg0 is argv[0] of a re-executed init; argv[1] is its mode.
const initArg0 = "skiff-init"

// The modes of a re-executed init.
const (
	// modeStart: the first process of a new container, started by Start
	// in new namespaces.
	modeStart = "start"
	// modeJoin: the process forked by package nsenter's constructor
	// inside a running container's namespaces, for Join.
	modeJoin = "join"
)

// The descriptors a re-executed init inherits, in exec.Cmd.ExtraFiles
// order. Package nsenter's C code learns the numbers of the sync and error
// pipes from its environment variable.
const (
	fdMessage    = 3 + iota // initMessage as JSON, in a memfd
	fdSync                  // read end: one byte from the parent means "go"
	fdError                 // write end, close-on-exec: an initReport on failure
	fdLog                   // write end: JSON log records for the parent
	fdNamespaces            // Join: the namespace files, in setns order
)

// initMessage is everything the init needs from its parent.
type initMessage struct {
	Spec     *Spec      `json:"spec"`
	LogLevel slog.Level `json:"logLevel"`
	// HostMountNS is the inode of the parent's mount namespace: an init
	// that finds itself still in it refuses to mount anything.
	HostMountNS uint64 `json:"hostMountNS"`
}

// IsInit reports whether this process was re-executed by Start or Join to be
// a container's init. A program that starts containers calls it first thing
// in main (a test binary, in TestMain), and calls [Init] if it returns true.
func IsInit() bool {
	return len(os.Args) == 2 && os.Args[0] == initArg0 &&
		(os.Args[1] == modeStart || os.Args[1] == modeJoin)
}

// Init runs the container's init, inside the new namespaces: it waits for
// [Process.Resume], prepares the root filesystem, drops privileges and
// executes the command. It never returns: on success the process becomes
// the command (or, with Spec.Init, a reaper that exits with the command's
// status); on failure it reports the error to the parent and exits.
func Init() {
	// Capabilities and no_new_privs are set on this thread, and execve(2)
	// keeps only this thread: it must stay ours until the end.
	runtime.LockOSThread()

	errPipe := os.NewFile(fdError, "error pipe")
	logFile := os.NewFile(fdLog, "log pipe")
	unix.CloseOnExec(fdError)
	unix.CloseOnExec(fdLog)

	err := runInit(os.Args[1], errPipe, logFile)
	code := 125
	var execErr *ExecError
	if errors.As(err, &execErr) {
		code = execErr.Code
	}
	if err != nil && !errors.Is(err, errParentGone) {
		report, _ := json.Marshal(newInitReport(err))
		errPipe.Write(report)
	}
	os.Exit(code)
}

// errParentGone means the parent closed the sync pipe without a word: it was
// killed, or called Kill. There is no one to report to.
var errParentGone = errors.New("parent closed the sync pipe")

// runInit reads the message and runs the mode's steps. It returns only on
// failure, or for a reaper whose command has ended.
func runInit(mode string, errPipe, logFile *os.File) error {
	if err := checkSchema(); err != nil {
		return err
	}
	msg, err := readMessage()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: msg.LogLevel}))

	// Until the exec, this process is our binary running inside the
	// container: keep the container's other processes from ptracing it
	// or opening /proc/PID/exe, which is the binary on the host.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_DUMPABLE", err)
	}
	if mode == modeJoin {
		return runJoin(msg.Spec, log)
	}
	return runStart(msg, errPipe, logFile, log)
}

// readMessage reads the initMessage from its memfd.
func readMessage() (*initMessage, error) {
	// Run by hand, with the marker but without a parent, descriptor 3 is
	// not ours to read (or even open): check it is the memfd first.
	name, err := os.Readlink(fdPath(fdMessage))
	if err != nil || !strings.HasPrefix(name, "/memfd:"+messageName) {
		return nil, errors.New("read init message: not started by Start or Join")
	}
	f := os.NewFile(fdMessage, "init message")
	defer f.Close()
	var msg initMessage
	if err := json.NewDecoder(f).Decode(&msg); err != nil {
		return nil, fmt.Errorf("read init message: %w", err)
	}
	if msg.Spec == nil || len(msg.Spec.Args) == 0 {
		return nil, errors.New("read init message: no command")
	}
	return &msg, nil
}

// runStart is the init of a new container. The steps follow DESIGN.md's
// process model; each one says why it is where it is.
//
// Preconditions: called by Init, on its locked thread, as the first process
// of the namespaces Start created.
func runStart(msg *initMessage, errPipe, logFile *os.File, log *slog.Logger) error {
	spec := msg.Spec

	// Refuse to touch the mount table unless it is a copy of our own:
	// run by hand on the host, the steps below would mount over the host.
	ns, err := nsInode("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	if ns == msg.HostMountNS {
		return errors.New("start init: not in a new mount namespace")
	}

	// The handshake: block until the parent has put us into a cgroup and
	// wired the network. EOF instead of a byte means the parent gave up.
	log.Debug("waiting for the parent on the sync pipe", "pid", os.Getpid())
	if err := waitForParent(); err != nil {
		return err
	}

	// Files we create in the rootfs (directories, device nodes) get the
	// modes we ask for.
	unix.Umask(0)
	if err := setupRootfs(spec, log); err != nil {
		return err
	}

	if slices.Contains(spec.Namespaces, NetworkNS) {
		if err := loopbackUp(log); err != nil {
			return err
		}
	}

	// The UTS namespace is ours: this changes the container's hostname
	// only. Without one it would rename the host, so refuse.
	if spec.Hostname != "" {
		if !slices.Contains(spec.Namespaces, UTSNS) {
			return errors.New("set hostname: no UTS namespace")
		}
		explain.Step(log, explain.Namespaces, "the hostname of the container's UTS namespace",
			"sethostname(%q)", spec.Hostname)
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return os.NewSyscallError("sethostname", err)
		}
	}
	return startCommand(spec, errPipe, logFile, log)
}

// runJoin is the process that package nsenter's constructor forked inside a
// running container's namespaces (docker exec). There is nothing to mount:
// the container's init did it. What is left is the same as the end of a
// start, minus the reaper: user, capabilities, working directory, exec.
//
// Preconditions: called by Init, on its locked thread, in the child forked
// by the constructor.
func runJoin(spec *Spec, log *slog.Logger) error {
	// Without the constructor (a binary built some other way) we would be
	// in the host's namespaces: never run the command there.
	if joinEntered == nil || !joinEntered() {
		return errors.New("join container: the nsenter constructor did not run")
	}
	log.Debug("joined the container's namespaces", "pid", os.Getpid())

	// A new session with the terminal as its controlling terminal, as
	// Start gets from exec.Cmd's Setsid and Setctty.
	if spec.Terminal && isTerminal(0) {
		log.Debug("setsid and TIOCSCTTY", "fd", 0)
		if _, err := unix.Setsid(); err != nil {
			return os.NewSyscallError("setsid", err)
		}
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return os.NewSyscallError("ioctl TIOCSCTTY", err)
		}
	}
	return startCommand(spec, nil, nil, log)
}

// startCommand drops privileges, enters the working directory and executes
// the command, or starts it under a reaper when spec.Init is set. It
// returns only on failure, or when a reaper's command has ended.
//
// Preconditions: the calling goroutine is locked to its OS thread.
func startCommand(spec *Spec, errPipe, logFile *os.File, log *slog.Logger) error {
	// "/" is the container's root by now, for a new container and for a
	// process that joined one alike.
	user, err := LookupUser("/", spec.User)
	if err != nil {
		return fmt.Errorf("unable to find user %s: %w", spec.User, err)
	}
	name := spec.User
	if name == "" {
		name = "root" // no -u, no USER in the image
	}
	explain.Step(log, explain.Security,
		"a user name means what the container's own /etc/passwd and /etc/group say",
		"user %s is uid %d, gid %d, groups %v, home %q", name, user.UID, user.GID,
		user.AdditionalGIDs, user.Home)
	if err := dropPrivileges(spec, user, log); err != nil {
		return err
	}

	// After the switch, so that a directory the user may not enter is an
	// error, as in Docker.
	cwd := spec.Cwd
	if cwd == "" {
		cwd = "/"
	}
	explain.Step(log, explain.Lifecycle, "the working directory (-w, or the image's WORKDIR)",
		"chdir(%q)", cwd)
	if err := unix.Chdir(cwd); err != nil {
		return &os.PathError{Op: "chdir", Path: cwd, Err: err}
	}

	path, err := lookPath(spec.Args[0], spec.Env)
	if err != nil {
		return err
	}
	if spec.Init && errPipe != nil {
		return reap(path, spec, user, errPipe, logFile, log)
	}
	return execCommand(path, spec, user, log)
}

// loopbackUp brings up lo, which a new network namespace has but keeps
// down: 127.0.0.1 then answers inside, with --network none too. The
// interface flags are read and set with ioctl(2) on any socket, as
// ifconfig does.
func loopbackUp(log *slog.Logger) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return os.NewSyscallError("ioctl SIOCGIFFLAGS lo", err)
	}
	if ifr.Uint16()&unix.IFF_UP != 0 {
		return nil
	}
	explain.Step(log, explain.Networking, "a new network namespace has lo, but down",
		"ioctl(SIOCSIFFLAGS, lo, IFF_UP)")
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return os.NewSyscallError("ioctl SIOCSIFFLAGS lo", err)
	}
	return nil
}

// waitForParent reads the parent's go-ahead from the sync pipe.
func waitForParent() error {
	f := os.NewFile(fdSync, "sync pipe")
	defer f.Close()
	var b [1]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return errParentGone
	}
	return nil
}

// nsInode identifies a namespace by the inode of its /proc/PID/ns file.
func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Ino, nil
}
