package namespaces

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// dropPrivileges turns the calling thread into the container's user, with
// only the capabilities the spec keeps, in the one order the kernel allows:
//
//  1. PR_SET_KEEPCAPS, so the permitted set survives the switch away from
//     UID 0 (the kernel otherwise clears it, see capabilities(7), "Effect of
//     user ID changes on capabilities");
//  2. PR_CAPBSET_DROP of every capability not kept: dropping from the
//     bounding set needs CAP_SETPCAP in the effective set, which the
//     switch clears;
//  3. setgroups(2), setresgid(2), setresuid(2): groups first, because
//     changing groups needs CAP_SETGID, gone after the UID change;
//  4. capset(2) to the kept set in effective and permitted, none in
//     inheritable, and an empty ambient set;
//  5. the parent-death signal again, which the kernel clears on a
//     credential change, then PR_SET_NO_NEW_PRIVS if asked.
//
// The kept set then reaches the command through execve(2) as in Docker:
// for root, every capability of the bounding set becomes permitted and
// effective; for another user, none does, since the ambient set is empty
// (the command runs with CapEff 0, and setcap'ed files still work).
// Inheritable is empty as in Docker since CVE-2022-24769: a non-empty one
// would grant file-inheritable capabilities to non-root users.
//
// Preconditions: the calling goroutine is locked to its OS thread, since
// capabilities, keep-caps and no_new_privs belong to a thread and execve(2)
// keeps the calling thread's; the process is real root.
func dropPrivileges(spec *Spec, u User, log *slog.Logger) error {
	keep, err := parseCapabilities(spec.Capabilities)
	if err != nil {
		return err
	}
	keep, err = heldCapabilities(keep, log)
	if err != nil {
		return err
	}
	var pdeathsig int
	err = unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&pdeathsig)), 0, 0, 0)
	if err != nil {
		return os.NewSyscallError("prctl PR_GET_PDEATHSIG", err)
	}

	if u.UID != 0 {
		explain.Step(log, explain.Security, "keep the capabilities across the switch from root",
			"prctl(PR_SET_KEEPCAPS, 1)")
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return os.NewSyscallError("prctl PR_SET_KEEPCAPS", err)
		}
	}
	if err := dropBoundingSet(keep, log); err != nil {
		return err
	}
	// A reaper stays alive as PID 1 next to the command, so all its
	// threads must give up root; a command exec'd right away needs only
	// this thread to.
	if spec.Init {
		err = setAllThreadIDs(u, log)
	} else {
		err = setIDs(u, log)
	}
	if err != nil {
		return err
	}
	if err := setCapabilities(keep, log); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_KEEPCAPS", err)
	}

	if pdeathsig != 0 {
		log.Debug("prctl", "option", "PR_SET_PDEATHSIG", "signal", pdeathsig)
		err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(pdeathsig), 0, 0, 0)
		if err != nil {
			return os.NewSyscallError("prctl PR_SET_PDEATHSIG", err)
		}
	}
	if spec.NoNewPrivileges {
		// From here on execve(2) can grant nothing: setuid bits and file
		// capabilities are ignored, for us and every descendant.
		explain.Step(log, explain.Security,
			"no setuid binary or file capability can grant more from now on",
			"prctl(PR_SET_NO_NEW_PRIVS, 1)")
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return os.NewSyscallError("prctl PR_SET_NO_NEW_PRIVS", err)
		}
	}
	return nil
}

// heldCapabilities leaves out of keep what this process does not hold
// itself: no one can grant a capability they lack (a host that took
// CAP_SYS_RESOURCE away from skiff cannot hand it to a container).
func heldCapabilities(keep capSet, log *slog.Logger) (capSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, os.NewSyscallError("capget", err)
	}
	held := capSet(data[0].Permitted) | capSet(data[1].Permitted)<<32
	if missing := keep &^ held; missing != 0 {
		log.Warn("leaving out capabilities skiff does not hold", "capabilities", missing.String())
	}
	return keep & held, nil
}

// dropBoundingSet removes every capability not in keep from the bounding
// set, the limit on what this thread and its descendants can ever gain.
func dropBoundingSet(keep capSet, log *slog.Logger) error {
	last := lastCapability()
	var dropped capSet
	for c := 0; c <= last; c++ {
		if keep.has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return os.NewSyscallError("prctl PR_CAPBSET_DROP "+capabilityNames[c], err)
		}
		dropped |= 1 << c
	}
	explain.Step(log, explain.Security,
		"what leaves the bounding set can never come back, not even by exec",
		"prctl(PR_CAPBSET_DROP, %s)", dropped)
	return nil
}

// lastCapability is the highest capability number the running kernel
// knows, from /proc/sys/kernel/cap_last_cap; it may be lower or higher than
// what this program was compiled with.
func lastCapability() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return len(capabilityNames) - 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 0 || n > 63 {
		return len(capabilityNames) - 1
	}
	return n
}

// setIDs switches groups, GID and UID of the calling thread only, with
// raw system calls.
//
// Preconditions: the thread is locked (runtime.LockOSThread) and execs the
// command right after. Credentials are per thread in Linux; the syscall
// package's Setresuid and friends change every thread of the process, by
// signalling each one (in a cgo binary, through the C library's setxid
// broadcast), which costs milliseconds. It is not needed here: execve(2)
// ends every other thread, and the new program runs with the credentials
// of the thread that called it. If the exec fails the init exits.
func setIDs(u User, log *slog.Logger) error {
	groups := make([]uint32, len(u.AdditionalGIDs))
	copy(groups, u.AdditionalGIDs)
	var list unsafe.Pointer
	if len(groups) > 0 {
		list = unsafe.Pointer(&groups[0])
	}
	explain.Step(log, explain.Security, "the user's supplementary groups (-u)",
		"setgroups(%v)", groups)
	_, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(list), 0)
	if errno != 0 {
		return os.NewSyscallError("setgroups", errno)
	}
	gid, uid := uintptr(u.GID), uintptr(u.UID)
	explain.Step(log, explain.Security, "the user's group (-u)", "setresgid(%d, %[1]d, %[1]d)",
		u.GID)
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, gid, gid, gid); errno != 0 {
		return os.NewSyscallError("setresgid", errno)
	}
	explain.Step(log, explain.Security, "the user (-u); root in a container is root on the host",
		"setresuid(%d, %[1]d, %[1]d)", u.UID)
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uid, uid, uid); errno != 0 {
		return os.NewSyscallError("setresuid", errno)
	}
	return nil
}

// setAllThreadIDs switches groups, GID and UID of every thread of the
// process: the syscall package signals each thread to make the change.
func setAllThreadIDs(u User, log *slog.Logger) error {
	groups := make([]int, len(u.AdditionalGIDs))
	for i, g := range u.AdditionalGIDs {
		groups[i] = int(g)
	}
	explain.Step(log, explain.Security, "the user's supplementary groups, on every thread",
		"setgroups(%v)", groups)
	if err := syscall.Setgroups(groups); err != nil {
		return os.NewSyscallError("setgroups", err)
	}
	explain.Step(log, explain.Security, "the user's group, on every thread",
		"setresgid(%d, %[1]d, %[1]d)", u.GID)
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return os.NewSyscallError("setresgid", err)
	}
	explain.Step(log, explain.Security, "the user, on every thread",
		"setresuid(%d, %[1]d, %[1]d)", u.UID)
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return os.NewSyscallError("setresuid", err)
	}
	return nil
}

// setCapabilities sets the thread's effective and permitted sets to keep,
// clears the inheritable set and the ambient set.
func setCapabilities(keep capSet, log *slog.Logger) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(keep), Permitted: uint32(keep)},
		{Effective: uint32(keep >> 32), Permitted: uint32(keep >> 32)},
	}
	explain.Step(log, explain.Security, "root keeps only Docker's default capabilities",
		"capset(effective=permitted=%s, inheritable=none)", keep)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capset", err)
	}
	explain.Step(log, explain.Security, "no capability is handed on to the command as ambient",
		"prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)")
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil {
		return os.NewSyscallError("prctl PR_CAP_AMBIENT_CLEAR_ALL", err)
	}
	return nil
}

// lookPath finds the command as a shell would, on the PATH of the
// container's environment (Docker's default PATH when there is none), and
// classifies failures with Docker's exit codes: 127 when nothing is found,
// 126 when something is found that cannot be executed.
//
// Preconditions: runs as the container's user, so that permission checks
// are the user's.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", execError(file, err)
		}
		return file, nil
	}
	path, ok := lookupEnv(env, "PATH")
	if !ok {
		path = defaultPath
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, file)
		err := checkExecutable(candidate)
		if err == nil {
			return candidate, nil
		}
		if denied == nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			denied = err
		}
	}
	if denied != nil {
		return "", execError(file, denied)
	}
	return "", &ExecError{Code: codeNotFound, Err: fmt.Errorf("exec %q: %w", file, errNotFound)}
}

// checkExecutable reports why path cannot be executed, if it cannot.
func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return unix.EISDIR
	}
	if !st.Mode().IsRegular() {
		return unix.EACCES
	}
	// access(2) checks with the real IDs, which are the user's now.
	if err := unix.Access(path, unix.X_OK); err != nil {
		return &os.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}

// execError classifies a failure to execute file: not found is 127,
// anything else 126.
func execError(file string, err error) *ExecError {
	code := codeNotExecutable
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		code = codeNotFound
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno
	}
	return &ExecError{Code: code, Err: fmt.Errorf("exec %q: %w", file, err)}
}

// lookupEnv finds key in a KEY=value list; the last one wins, as in the
// C library.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// commandEnv is the command's environment: spec.Env, plus HOME from the
// passwd entry of u when Env has none, as Docker does.
func commandEnv(spec *Spec, u User) []string {
	env := spec.Env
	if _, ok := lookupEnv(env, "HOME"); !ok {
		home := u.Home
		if home == "" {
			home = "/"
		}
		env = append(env[:len(env):len(env)], "HOME="+home)
	}
	return env
}

// execCommand replaces this process with the container's command. It
// returns only on failure.
//
// Preconditions: the calling goroutine is locked to its OS thread, and the
// privileges are dropped already.
func execCommand(path string, spec *Spec, u User, log *slog.Logger) error {
	// Descriptors we did not mean to pass (a leaked host directory
	// descriptor let a container escape runc in CVE-2024-21626) are
	// closed by the kernel at execve(2).
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return os.NewSyscallError("close_range", err)
	}
	// The umask of a container's processes, as in Docker.
	unix.Umask(0o022)
	explain.Step(log, explain.Namespaces,
		"the init becomes the container's command, PID 1 of its namespace",
		"execve(%q, %q)", path, spec.Args)
	err := unix.Exec(path, spec.Args, commandEnv(spec, u))
	return execError(spec.Args[0], err)
}
