package overlay

import (
	"fmt"
	"strings"
)

// MountError records a mount system call that failed, with its arguments,
// so that the message names the exact call: mount(2) or umount2(2), or a
// step of the new mount API, fsopen(2), fsconfig(2), fsmount(2) or
// move_mount(2).
type MountError struct {
	Op     string  // the system call, e.g. "mount" or "fsconfig"
	Source string  // mount(2)'s source, if any
	Target string  // the mount point
	FSType string  // "overlay", or "" for a bind mount
	Flags  uintptr // MS_* flags of mount(2), MNT_* of umount2(2)
	// Data is the option string of mount(2), or the one parameter that
	// fsconfig(2) was setting, as "key=value".
	Data string
	// KernelLog holds the messages the kernel left in the file system
	// context (see fsopen(2)), when there were any.
	KernelLog string
	Err       error
}

// Error names the call and its arguments, then the cause.
func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.FSType != "" {
		fmt.Fprintf(&b, " %s", e.FSType)
	}
	if e.Source != "" {
		fmt.Fprintf(&b, " %q", e.Source)
	}
	fmt.Fprintf(&b, " on %q", e.Target)
	if e.Flags != 0 {
		fmt.Fprintf(&b, " flags %#x", e.Flags)
	}
	if e.Data != "" {
		fmt.Fprintf(&b, " data %q", e.Data)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.KernelLog != "" {
		fmt.Fprintf(&b, " (kernel: %s)", e.KernelLog)
	}
	return b.String()
}

// Unwrap returns the cause, usually a [syscall.Errno].
func (e *MountError) Unwrap() error { return e.Err }
