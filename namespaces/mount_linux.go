package namespaces

import (
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
)

// mountError records a failed mount(2) with every argument, so the message
// names the exact call that the kernel refused.
type mountError struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	err                    error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("mount %q on %q (type %q, flags %s, data %q): %v",
		e.source, e.target, e.fstype, mountFlags(e.flags), e.data, e.err)
}

func (e *mountError) Unwrap() error {
	return e.err
}

// mount calls mount(2) and narrates the call with why (package explain).
// target is the path given to the kernel; shown is the same place as a
// reader knows it (a path inside the container rather than
// /proc/self/fd/7), used in the narration and the error.
func mount(log *slog.Logger, why, source, target, shown, fstype string, flags uintptr,
	data string) error {
	explain.Step(log, explain.RootFilesystems, why, "mount(%q, %q, %q, %s, %q)",
		source, shown, fstype, mountFlags(flags), data)
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &mountError{source: source, target: shown, fstype: fstype,
			flags: flags, data: data, err: err}
	}
	return nil
}

// mountFlagNames names the mount(2) flags we use, for logs and errors.
var mountFlagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"},
	{unix.MS_NOSUID, "MS_NOSUID"},
	{unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"},
	{unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_NOATIME, "MS_NOATIME"},
	{unix.MS_NODIRATIME, "MS_NODIRATIME"},
	{unix.MS_BIND, "MS_BIND"},
	{unix.MS_REC, "MS_REC"},
	{unix.MS_PRIVATE, "MS_PRIVATE"},
	{unix.MS_SLAVE, "MS_SLAVE"},
	{unix.MS_SHARED, "MS_SHARED"},
	{unix.MS_RELATIME, "MS_RELATIME"},
	{unix.MS_STRICTATIME, "MS_STRICTATIME"},
	{unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
}

// mountFlags renders flags as "MS_BIND|MS_REC".
func mountFlags(flags uintptr) string {
	var names []string
	for _, f := range mountFlagNames {
		if flags&f.flag != 0 {
			names = append(names, f.name)
			flags &^= f.flag
		}
	}
	if flags != 0 {
		names = append(names, fmt.Sprintf("%#x", flags))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// lockedFlags returns the per-mount flags of the mount holding fd, as
// mount(2) flags. A remount replaces all of them, so remounting read-only
// must repeat the ones already set (nosuid, nodev, ...) or it would quietly
// lift them; in a user namespace the kernel would even refuse with EPERM.
func lockedFlags(fd int) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return 0, fmt.Errorf("statfs %q: %w", fdPath(fd), err)
	}
	statToMount := []struct{ st, ms uintptr }{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		// ST_NOSYMFOLLOW, which has no name in x/sys/unix.
		{0x2000, unix.MS_NOSYMFOLLOW},
	}
	var flags uintptr
	for _, m := range statToMount {
		if uintptr(st.Flags)&m.st != 0 {
			flags |= m.ms
		}
	}
	return flags, nil
}

// tmpfsOptions splits docker run --tmpfs options into mount(2) flags and
// the data string the tmpfs driver understands. Without flags a tmpfs gets
// Docker's defaults, nosuid, nodev and noexec.
func tmpfsOptions(options string, readonly bool) (uintptr, string) {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	words := []struct {
		word      string
		set, drop uintptr
	}{
		{"ro", unix.MS_RDONLY, 0},
		{"rw", 0, unix.MS_RDONLY},
		{"nosuid", unix.MS_NOSUID, 0},
		{"suid", 0, unix.MS_NOSUID},
		{"nodev", unix.MS_NODEV, 0},
		{"dev", 0, unix.MS_NODEV},
		{"noexec", unix.MS_NOEXEC, 0},
		{"exec", 0, unix.MS_NOEXEC},
		{"noatime", unix.MS_NOATIME, 0},
		{"nodiratime", unix.MS_NODIRATIME, 0},
		{"relatime", unix.MS_RELATIME, 0},
		{"strictatime", unix.MS_STRICTATIME, 0},
	}
	var data []string
	for _, opt := range strings.Split(options, ",") {
		if opt == "" {
			continue
		}
		known := false
		for _, w := range words {
			if opt == w.word {
				flags = flags&^w.drop | w.set
				known = true
			}
		}
		if !known {
			data = append(data, opt)
		}
	}
	if readonly {
		flags |= unix.MS_RDONLY
	}
	return flags, strings.Join(data, ",")
}
