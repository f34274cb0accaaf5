package cgroups

import (
	"fmt"
	"log/slog"
	"strconv"
)

// A device node is a file that names a driver by two numbers, its major
// and minor, and a type, character or block: /dev/null is character 1:3.
// Whoever may make a node, with mknod(2) and CAP_MKNOD, may reach any
// driver through it, unless the device controller says no. The controller
// checks each mknod(2) of a node and each open(2) of one against the
// group's rules; a refusal is EPERM, "Operation not permitted".

// deviceRule is one entry of a device allow-list, in the words of the v1
// devices controller: "c 1:3 rwm" lets the group make, read and write the
// character device 1:3.
type deviceRule struct {
	// kind is 'c' for a character device, 'b' for a block device.
	kind byte
	// major and minor are the device numbers; anyNumber matches all.
	major, minor int64
	// access lists what the rule allows: r to open for reading, w to open
	// for writing, m to make the node with mknod(2).
	access string
}

// anyNumber in a rule's major or minor matches every number, "*" in v1.
const anyNumber = -1

// allowedDevices is every container's device allow-list, Docker's
// default: anything not allowed here is denied.
//
// Making a node of any device is allowed: a node by itself reaches
// nothing, and programs that unpack archives or set up a /dev make nodes.
// Opening one is allowed for the few devices a program may expect, the
// ones skiff puts in a container's /dev and a few more. A node for
// /dev/kmsg (c 1:11) or a host disk (b 8:0) can be made, but not opened.
//
// Limitation: the list is fixed; Docker adds to it with --device and
// lifts it with --privileged.
var allowedDevices = []deviceRule{
	{'c', anyNumber, anyNumber, "m"}, // mknod(2) of any character device
	{'b', anyNumber, anyNumber, "m"}, // mknod(2) of any block device
	{'c', 1, 3, "rwm"},               // /dev/null
	{'c', 1, 5, "rwm"},               // /dev/zero
	{'c', 1, 7, "rwm"},               // /dev/full
	{'c', 1, 8, "rwm"},               // /dev/random
	{'c', 1, 9, "rwm"},               // /dev/urandom
	{'c', 5, 0, "rwm"},               // /dev/tty, the process's terminal
	{'c', 5, 1, "rwm"},               // /dev/console
	{'c', 5, 2, "rwm"},               // /dev/ptmx, new pseudo-terminals
	{'c', 136, anyNumber, "rwm"},     // /dev/pts/N, pseudo-terminals
	{'c', 10, 200, "rwm"},            // /dev/net/tun, TUN/TAP interfaces
}

// String formats r as a line of v1 devices.allow: "c 1:3 rwm",
// "c *:* m".
func (r deviceRule) String() string {
	return fmt.Sprintf("%c %s:%s %s", r.kind, number(r.major), number(r.minor), r.access)
}

// number formats a device number of a rule, "*" for anyNumber.
func number(n int64) string {
	if n == anyNumber {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// programCalls are the bpf(2) calls that put the device program on a v2
// group. Tests on fake hierarchies, plain directories that bpf(2) cannot
// take, replace them; a nil field means the real call.
type programCalls struct {
	// query returns the IDs of the device programs attached to the v2
	// group directory dir itself (not those of the groups above it).
	query func(dir string) ([]uint32, error)
	// attach loads the device program of rules, attaches it to the v2
	// group directory dir, and narrates both steps to log.
	attach func(log *slog.Logger, dir string, rules []deviceRule) error
}
