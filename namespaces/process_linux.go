package namespaces

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// Stdio are the container process's descriptors 0, 1 and 2. An *os.File
// (a pipe, a pseudo-terminal, a log file) is passed to the process as it
// is; anything else is copied through a pipe by [exec.Cmd]. A nil field
// means /dev/null.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a container process started by [Start] or [Join]. It is
// created waiting: the caller can put [Process.Pid] into a cgroup and wire
// the network before [Process.Resume] lets it run.
type Process struct {
	cmd     *exec.Cmd
	log     *slog.Logger
	logDone chan struct{}

	mu      sync.Mutex
	sync    *os.File // write end of the sync pipe, until Resume
	errPipe *os.File // read end of the error pipe, until Resume

	waitOnce sync.Once
	status   ExitStatus
	waitErr  error
}

// cloneFlags maps namespaces to their clone(2) flags.
var cloneFlags = map[Namespace]struct {
	flag uintptr
	name string
}{
	MountNS:   {unix.CLONE_NEWNS, "CLONE_NEWNS"},
	UTSNS:     {unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	IPCNS:     {unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	PIDNS:     {unix.CLONE_NEWPID, "CLONE_NEWPID"},
	NetworkNS: {unix.CLONE_NEWNET, "CLONE_NEWNET"},
	CgroupNS:  {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
}

// Start re-executes this binary (/proc/self/exe) as the init of a new
// container, in new namespaces as listed in spec.Namespaces, and returns as
// soon as the child exists. The child can do nothing until
// [Process.Resume]: it blocks on the sync pipe before its first step. In
// between, the caller puts [Process.Pid] into a cgroup and moves a veth
// into its network namespace.
//
// The spec must ask for a mount namespace (the init mounts), and for a UTS
// namespace if it sets a hostname. The binary must call [IsInit] and [Init]
// at the start of main. Start needs root.
func Start(spec *Spec, stdio Stdio, log *slog.Logger) (*Process, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	var flags uintptr
	var names []string
	for _, ns := range spec.Namespaces {
		flags |= cloneFlags[ns].flag
		names = append(names, cloneFlags[ns].name)
	}
	hostNS, err := nsInode("/proc/self/ns/mnt")
	if err != nil {
		return nil, err
	}

	// Pdeathsig is not set: a detached container's parent is a monitor
	// that may outlive the client, and the init must not die with
	// whoever happened to start it.
	attr := &syscall.SysProcAttr{Cloneflags: flags}
	if spec.Terminal {
		// A session of its own; with the pseudo-terminal as stdin,
		// that terminal becomes its controlling terminal.
		attr.Setsid = true
		if f, ok := stdio.Stdin.(*os.File); ok && isTerminal(int(f.Fd())) {
			attr.Setctty = true
			attr.Ctty = 0
		}
	}
	if spec.CgroupDir != "" {
		// Go's forkExec turns this into clone3(2) with CLONE_INTO_CGROUP.
		fd, err := unix.Open(spec.CgroupDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: spec.CgroupDir, Err: err}
		}
		defer unix.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
		names = append(names, "CLONE_INTO_CGROUP")
	}
	log = orDiscard(log)
	msg := &initMessage{Spec: spec, LogLevel: childLevel(log), HostMountNS: hostNS}
	program := initProgram()
	p, err := spawn(program, modeStart, msg, attr, nil, nil, stdio, log)
	if err != nil {
		return nil, err
	}
	into := ""
	if spec.CgroupDir != "" {
		into = ", cgroup=" + spec.CgroupDir
	}
	explain.Step(log, explain.Namespaces,
		"the container's init: skiff-init (or skiff again) in new namespaces, waiting to be let go",
		"clone3(%s%s) + execve(%q) = pid %d", strings.Join(names, "|"), into, program, p.Pid())
	return p, nil
}

// checkSpec refuses specs the init could only half apply.
func checkSpec(spec *Spec) error {
	if len(spec.Args) == 0 {
		return errors.New("start container: no command")
	}
	if !filepath.IsAbs(spec.Rootfs) {
		return fmt.Errorf("start container: rootfs %q is not an absolute path", spec.Rootfs)
	}
	for _, ns := range spec.Namespaces {
		if _, ok := cloneFlags[ns]; !ok {
			return fmt.Errorf("start container: unknown namespace %q", ns)
		}
	}
	// Without a mount namespace every mount would land on the host.
	if !slices.Contains(spec.Namespaces, MountNS) {
		return errors.New("start container: a mount namespace is required")
	}
	if spec.Hostname != "" && !slices.Contains(spec.Namespaces, UTSNS) {
		return errors.New("start container: a hostname needs a UTS namespace")
	}
	_, err := parseCapabilities(spec.Capabilities)
	return err
}

// joinOrder is the order in which Join enters namespaces. The mount
// namespace comes last: entering it changes the root directory, after
// which nothing more could be looked up by host path. The PID namespace
// only applies to children, which is why nsenter forks after all of them.
var joinOrder = []string{"ipc", "uts", "net", "cgroup", "pid", "mnt"}

// Join starts a new process inside the namespaces of the running container
// whose init has the host PID pid (docker exec). It uses spec.Args, Env,
// Cwd, User, Terminal, Capabilities and NoNewPrivileges; the rest of the
// spec is the container's business, done already.
//
// The process is a re-execution of this binary whose C constructor (package
// nsenter) enters the namespaces before the Go runtime starts, waits for
// [Process.Resume], then forks the command's process into the container's
// PID namespace and relays signals and the exit status for it. [Process.Pid]
// is that relay: a caller that moves it into the container's cgroup before
// Resume gets the command there too, since the fork happens after. Only
// namespaces that differ from the caller's are entered (a container on the
// host network shares ours).
//
// Join needs root, and a binary that links package nsenter's constructor
// (built with cgo, see [EnableJoin]): otherwise it returns
// [ErrJoinUnsupported].
func Join(pid int, spec *Spec, stdio Stdio, log *slog.Logger) (*Process, error) {
	if joinEntered == nil {
		return nil, fmt.Errorf("join container process %d: %w", pid, ErrJoinUnsupported)
	}
	if len(spec.Args) == 0 {
		return nil, fmt.Errorf("join container process %d: no command", pid)
	}
	if _, err := parseCapabilities(spec.Capabilities); err != nil {
		return nil, err
	}
	log = orDiscard(log)

	files, err := openNamespaces(pid, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()

	// nsenter's environment variable: sync and error descriptors, then
	// the namespace files in the order to enter them.
	fds := []string{strconv.Itoa(fdSync), strconv.Itoa(fdError)}
	for i := range files {
		fds = append(fds, strconv.Itoa(fdNamespaces+i))
	}
	env := []string{NsenterEnvVar + "=" + strings.Join(fds, ",")}
	msg := &initMessage{Spec: spec, LogLevel: childLevel(log)}
	// Our own binary: the constructor that enters the namespaces is in it.
	return spawn(SelfExe, modeJoin, msg, &syscall.SysProcAttr{}, files, env, stdio, log)
}

// openNamespaces opens the namespaces of process pid that differ from ours.
func openNamespaces(pid int, log *slog.Logger) (files []*os.File, err error) {
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	for _, name := range joinOrder {
		path := fmt.Sprintf("/proc/%d/ns/%s", pid, name)
		theirs, err := nsInode(path)
		if err != nil {
			return files, fmt.Errorf("join container process %d: %w", pid, err)
		}
		ours, err := nsInode("/proc/self/ns/" + name)
		if err != nil {
			return files, err
		}
		if theirs == ours {
			log.Debug("namespace shared with the host, not entered", "namespace", name,
				"pid", pid)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return files, fmt.Errorf("join container process %d: %w", pid, err)
		}
		explain.Step(log, explain.Namespaces, "exec joins the container's namespaces",
			"open(%q) for setns(2): namespace %s:[%d]", path, name, theirs)
		files = append(files, f)
	}
	return files, nil
}

// spawn starts program (skiff-init, or /proc/self/exe: see [InitProgram])
// as an init in the given mode, with the message in a memfd, the sync,
// error and log pipes, and extra files after them.
func spawn(program, mode string, msg *initMessage, attr *syscall.SysProcAttr,
	extra []*os.File, env []string, stdio Stdio, log *slog.Logger) (p *Process, err error) {
	message, err := messageFile(msg)
	if err != nil {
		return nil, err
	}
	defer message.Close()

	// The child's ends are closed here once it has them; the parent's
	// ends too if anything fails.
	var childEnds, parentEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
		if err != nil {
			for _, f := range parentEnds {
				f.Close()
			}
		}
	}()
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		return r, w
	}
	syncR, syncW := pipe()
	errR, errW := pipe()
	logR, logW := pipe()
	if err != nil {
		return nil, fmt.Errorf("make init pipes: %w", err)
	}
	childEnds = []*os.File{syncR, errW, logW}
	parentEnds = []*os.File{syncW, errR, logR}

	cmd := &exec.Cmd{
		Path:        program,
		Args:        []string{initArg0, mode},
		Env:         append([]string{schemaEnvVar + "=" + messageSchema()}, env...),
		Stdin:       stdio.Stdin,
		Stdout:      stdio.Stdout,
		Stderr:      stdio.Stderr,
		ExtraFiles:  append([]*os.File{message, syncR, errW, logW}, extra...),
		SysProcAttr: attr,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start init %q: %w", mode, err)
	}
	log.Debug("init started, waiting on the sync pipe", "pid", cmd.Process.Pid, "mode", mode)

	p = &Process{cmd: cmd, log: log, sync: syncW, errPipe: errR, logDone: make(chan struct{})}
	go relayLogs(logR, log, cmd.Process.Pid, p.logDone)
	return p, nil
}

// messageName names the memfd of the init message, which the init checks.
const messageName = "skiff-init-message"

// messageFile writes msg as JSON into a memfd, ready to be read from its
// start. A memfd rather than a pipe: it never blocks the writer, however
// large the spec.
func messageFile(msg *initMessage) (*os.File, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode init message: %w", err)
	}
	fd, err := unix.MemfdCreate(messageName, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "init message")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write init message: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("write init message: %w", err)
	}
	return f, nil
}

// Pid returns the process's PID on the host. For [Join] it is the relay
// process described there.
func (p *Process) Pid() int {
	return p.cmd.Process.Pid
}

// Resume lets the waiting process go on: Start's init sets up the root
// filesystem and drops privileges, Join's process forks into the PID
// namespace; both then execute spec.Args. Resume returns nil once the
// command has been executed (the error pipe is close-on-exec, so
// end-of-file means success), or the error that stopped the init: an
// [*ExecError] with Docker's exit code when the command cannot be run, or
// another error for a failed setup step. Either way the process is on its
// way out; [Process.Wait] reaps it.
//
// An init that dies without a word (killed, say) also gives end-of-file;
// Wait then tells how it ended.
func (p *Process) Resume() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sync == nil {
		return fmt.Errorf("resume process %d: already resumed or killed", p.Pid())
	}

	explain.Step(p.log, explain.Lifecycle,
		"cgroup and network are ready: the init may build the rootfs and run the command",
		"write(sync pipe, \"g\") to pid %d", p.Pid())
	_, writeErr := p.sync.Write([]byte{'g'})
	p.sync.Close()
	p.sync = nil

	report, err := io.ReadAll(p.errPipe)
	p.errPipe.Close()
	p.errPipe = nil
	if err != nil {
		return fmt.Errorf("resume process %d: read error pipe: %w", p.Pid(), err)
	}
	if len(report) == 0 {
		if writeErr != nil {
			return fmt.Errorf("resume process %d: %w", p.Pid(), writeErr)
		}
		p.log.Debug("command executed", "pid", p.Pid())
		return nil
	}
	var r initReport
	if err := json.Unmarshal(report, &r); err != nil {
		return fmt.Errorf("resume process %d: malformed report %q: %w", p.Pid(), report, err)
	}
	return fmt.Errorf("container init: %w", r.err())
}

// Wait waits for the process to end and returns how it ended. Exit codes
// are not errors; an error means waiting or copying stdio failed. Wait may
// be called from several goroutines and any number of times. A process
// that is never resumed never ends by itself: Resume or Kill it.
func (p *Process) Wait() (ExitStatus, error) {
	p.waitOnce.Do(func() {
		err := p.cmd.Wait()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			p.waitErr = fmt.Errorf("wait for process %d: %w", p.Pid(), err)
		}
		if ps := p.cmd.ProcessState; ps != nil {
			p.status = exitStatus(ps.Sys().(syscall.WaitStatus))
		}
		p.closePipes()
		<-p.logDone
		p.log.Debug("process ended", "pid", p.Pid(), "exit_code", p.status.Code)
	})
	return p.status, p.waitErr
}

// Signal sends sig to the process. For a container with Spec.Init, and for
// a joined process, the process in the middle forwards it to the command.
func (p *Process) Signal(sig os.Signal) error {
	p.log.Debug("kill", "pid", p.Pid(), "signal", sig)
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal process %d: %w", p.Pid(), err)
	}
	return nil
}

// Kill kills the process with SIGKILL and waits for it. Killing a
// container's init ends every process of its PID namespace; a joined
// process's relay takes its child along (parent-death signal). Use it when
// Resume is never going to be called, or to end a container at once.
func (p *Process) Kill() error {
	err := p.cmd.Process.Kill()
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill process %d: %w", p.Pid(), err)
	}
	p.closePipes()
	_, err = p.Wait()
	return err
}

// closePipes closes the parent's ends of the sync and error pipes if
// Resume has not.
func (p *Process) closePipes() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sync != nil {
		p.sync.Close()
		p.sync = nil
	}
	if p.errPipe != nil {
		p.errPipe.Close()
		p.errPipe = nil
	}
}

// childLevel is the lowest level the parent's logger records: the init
// need not even encode records below it.
func childLevel(log *slog.Logger) slog.Level {
	levels := []slog.Level{slog.LevelDebug, explain.Level, slog.LevelInfo, slog.LevelWarn}
	for _, l := range levels {
		if log.Enabled(context.Background(), l) {
			return l
		}
	}
	return slog.LevelError
}

// relayLogs re-emits the init's JSON log records through the parent's
// logger until the pipe closes (at the exec). The init writes into a pipe
// of its own, not to stderr, which is the container's.
func relayLogs(r *os.File, log *slog.Logger, pid int, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var fields map[string]any
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			log.Warn("unreadable log record from init", "pid", pid, "record", sc.Text())
			continue
		}
		rec := logRecord(fields, pid)
		if log.Handler().Enabled(context.Background(), rec.Level) {
			log.Handler().Handle(context.Background(), rec)
		}
	}
}

// logRecord rebuilds a slog record from the fields of a JSON one.
func logRecord(fields map[string]any, pid int) slog.Record {
	t := time.Now()
	if s, ok := fields[slog.TimeKey].(string); ok {
		if parsed, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t = parsed
		}
	}
	var level slog.Level
	if s, ok := fields[slog.LevelKey].(string); ok {
		level.UnmarshalText([]byte(s))
	}
	msg, _ := fields[slog.MessageKey].(string)
	rec := slog.NewRecord(t, level, "init: "+msg, 0)
	rec.AddAttrs(slog.Int("init_pid", pid))

	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != slog.TimeKey && k != slog.LevelKey && k != slog.MessageKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		rec.AddAttrs(slog.Any(k, fields[k]))
	}
	return rec
}

// orDiscard makes a nil logger usable.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
