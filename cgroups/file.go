package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/explain"
)

// Control files are small text files in a pseudo file system (cgroupfs,
// built on kernfs): a read returns the current value, a write(2) of a
// value applies it at once, or fails with the kernel's reason as errno.
// Every helper here returns an *os.PathError naming the file.

// controlFiles says what writing each control file that skiff writes
// does, for the narration of --explain.
var controlFiles = map[string]string{
	"cgroup.subtree_control":      "v2: the group's children may use the controller",
	"cgroup.procs":                "moves the process into the group",
	"cgroup.freeze":               "v2: stops or resumes every process of the group (pause)",
	"cgroup.kill":                 "v2: SIGKILL to every process of the group at once",
	"freezer.state":               "v1: stops or resumes every process of the group (pause)",
	"memory.max":                  "--memory: past it the kernel reclaims, then OOM-kills",
	"memory.swap.max":             "v2 counts swap apart: none, so --memory is all it gets",
	"memory.limit_in_bytes":       "--memory: past it the kernel reclaims, then OOM-kills",
	"memory.memsw.limit_in_bytes": "v1 counts memory+swap: the same limit, so no swap",
	"cpu.max":                     "--cpus: quota µs of CPU time per period µs",
	"cpu.cfs_period_us":           "--cpus: the period, v1",
	"cpu.cfs_quota_us":            "--cpus: the CPU time allowed per period, v1",
	"pids.max":                    "--pids-limit: fork(2) fails with EAGAIN past it",
	"devices.deny":                "v1: \"a\" denies every device; the allow-list follows",
	"devices.allow":               "v1: one rule of the device allow-list: type major:minor access",
}

// write writes value to the control file at path in one write(2) call,
// and narrates it (package explain).
func write(log *slog.Logger, path, value string) error {
	explain.Step(log, explain.Cgroups, controlFiles[filepath.Base(path)],
		"write(%q, %q)", path, value)

	// No O_CREATE: a missing control file means a missing controller or
	// kernel feature, which a new regular file would only hide.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeIfExists is write for a control file that only some kernels or
// configurations have; it does nothing when the file is missing.
func writeIfExists(log *slog.Logger, path, value string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		log.Debug("cgroup file absent, not written", "path", path, "value", value)
		return nil
	}
	return write(log, path, value)
}

// exists reports whether the control file at path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readString returns the content of the file at path without the
// trailing newline.
func readString(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readWords returns the space-separated words of the file at path, as in
// cgroup.controllers: "cpu io memory pids".
func readWords(path string) ([]string, error) {
	s, err := readString(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

// readInt returns the one number the file at path holds, such as
// memory.current or pids.current.
func readInt(path string) (int64, error) {
	s, err := readString(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &os.PathError{Op: "parse", Path: path, Err: err}
	}
	return n, nil
}

// readKey returns the value of key in a flat keyed file at path, whose
// lines are "key value", as memory.events or cpu.stat. found is false when
// the kernel does not report the key.
func readKey(path, key string) (v int64, found bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()

	s := bufio.NewScanner(f)
	for s.Scan() {
		k, value, ok := strings.Cut(s.Text(), " ")
		if !ok || k != key {
			continue
		}
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return 0, false, &os.PathError{Op: "parse", Path: path, Err: err}
		}
		return v, true, nil
	}
	if err := s.Err(); err != nil {
		return 0, false, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return 0, false, nil
}

// poll calls done until it reports true or fails, sleeping a little
// longer after each call, and gives up after timeout. The kernel has no
// blocking "wait until frozen" or "wait until empty" call for these
// files, short of poll(2) on cgroup.events, which v1 lacks.
func poll(timeout time.Duration, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	sleep := time.Millisecond
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait %v for %s: %w", timeout, what, os.ErrDeadlineExceeded)
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 50*time.Millisecond)
	}
}
