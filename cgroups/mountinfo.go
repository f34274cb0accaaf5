package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// errMalformed marks a line of a /proc file that does not parse.
var errMalformed = errors.New("malformed line")

// mount is one cgroup file system from /proc/self/mountinfo.
type mount struct {
	// root is the group of the hierarchy shown at the mount point: "/"
	// unless only a subtree is mounted (a container without a cgroup
	// namespace sees its own group here).
	root string
	// point is where it is mounted, e.g. /sys/fs/cgroup/memory.
	point string
	// v2 is set for a cgroup2 mount.
	v2 bool
	// options are the super options, e.g. [rw memory]; for v1 they name
	// the hierarchy's controllers.
	options []string
}

// parseMountinfo returns the cgroup and cgroup2 mounts listed in r, which
// holds proc_pid_mountinfo(5) lines:
//
//	41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
//	(1)(2) (3) (4)  (5)                 (6)        (7)(8)    (9)    (10)
//
// Field 4 is the root, 5 the mount point, 7 zero or more optional fields
// ended by "-", 8 the file system type and 10 the super options.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var mounts []mount
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		m, ok, err := parseMountLine(s.Text())
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo line %d: %w", n, err)
		}
		if ok {
			mounts = append(mounts, m)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// parseMountLine parses one mountinfo line; ok is false for a mount that
// is not a cgroup file system.
func parseMountLine(line string) (m mount, ok bool, err error) {
	fields := strings.Fields(line)
	sep := slices.Index(fields, "-")

	// Six fixed fields before the optional ones, three after the "-".
	if sep < 6 || len(fields) < sep+4 {
		return mount{}, false, fmt.Errorf("%q: %w", line, errMalformed)
	}
	fstype := fields[sep+1]
	if fstype != "cgroup" && fstype != "cgroup2" {
		return mount{}, false, nil
	}

	m = mount{
		root:    unescape(fields[3]),
		point:   unescape(fields[4]),
		v2:      fstype == "cgroup2",
		options: strings.Split(fields[sep+3], ","),
	}
	return m, true, nil
}

// unescape undoes the octal escapes (\040 for a space, \011, \012, \134)
// the kernel puts in paths of mountinfo so that fields stay separated.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Membership is a process's group in one hierarchy: one line of
// /proc/<pid>/cgroup, such as "4:memory:/process_api/5e38".
type Membership struct {
	// ID numbers the hierarchy as in /proc/cgroups; 0 is the cgroup v2
	// hierarchy.
	ID int
	// Controllers are the v1 controllers bound to the hierarchy, or a
	// name such as "name=systemd" for a hierarchy without any; empty for
	// v2.
	Controllers []string
	// Path is the group below the root of the hierarchy, as seen from the
	// reader's cgroup namespace.
	Path string
}

// Memberships returns the groups process pid belongs to, one per
// hierarchy, as listed in /proc/<pid>/cgroup (see cgroups(7)).
func Memberships(pid int) ([]Membership, error) {
	p := "/proc/" + strconv.Itoa(pid) + "/cgroup"
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseProcCgroup(f)
}

// parseProcCgroup parses "hierarchy-ID:controller-list:cgroup-path"
// lines. The path goes last because it may itself contain colons.
func parseProcCgroup(r io.Reader) ([]Membership, error) {
	var ms []Membership
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("parse cgroup line %d %q: %w", n, s.Text(), errMalformed)
		}
		id, err := strconv.Atoi(parts[0])
		if err != nil {
			return nil, fmt.Errorf("parse cgroup line %d %q: %w", n, s.Text(), err)
		}

		m := Membership{ID: id, Path: parts[2]}
		if parts[1] != "" {
			m.Controllers = strings.Split(parts[1], ",")
		}
		ms = append(ms, m)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup memberships: %w", err)
	}
	return ms, nil
}
