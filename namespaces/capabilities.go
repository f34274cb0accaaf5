package namespaces

import (
	"fmt"
	"strings"
)

// capabilityNames lists the capabilities by number, as in
// <linux/capability.h> and capabilities(7).
var capabilityNames = [...]string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// capSet is a set of capabilities as the kernel stores it: bit n stands for
// capability number n.
type capSet uint64

// parseCapabilities turns names such as "CAP_CHOWN" (or "chown", as
// docker run --cap-add accepts them) into a set.
func parseCapabilities(names []string) (capSet, error) {
	var set capSet
	for _, name := range names {
		n, ok := capabilityNumber(name)
		if !ok {
			return 0, fmt.Errorf("parse capability %q: unknown name", name)
		}
		set |= 1 << n
	}
	return set, nil
}

// capabilityNumber looks a capability name up, with or without its CAP_
// prefix, in any case.
func capabilityNumber(name string) (int, bool) {
	upper := strings.ToUpper(name)
	if !strings.HasPrefix(upper, "CAP_") {
		upper = "CAP_" + upper
	}
	for n, known := range capabilityNames {
		if known == upper {
			return n, true
		}
	}
	return 0, false
}

// has reports whether capability number n is in the set.
func (s capSet) has(n int) bool {
	return n < 64 && s&(1<<n) != 0
}

// String lists the set's names, for logs.
func (s capSet) String() string {
	var names []string
	for n, name := range capabilityNames {
		if s.has(n) {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}
