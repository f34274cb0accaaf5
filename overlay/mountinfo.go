package overlay

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// mountinfoEntry is what skiff reads of one line of /proc/self/mountinfo;
// see proc_pid_mountinfo(5).
type mountinfoEntry struct {
	mountPoint   string // unescaped
	fsType       string
	superOptions string // escaped, as the kernel wrote them
}

// findMount reads the mountinfo table from r and returns the first entry
// for which match is true.
func findMount(r io.Reader, match func(mountinfoEntry) bool) (mountinfoEntry, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		e, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return mountinfoEntry{}, false, err
		}
		if match(e) {
			return e, true, nil
		}
	}
	return mountinfoEntry{}, false, sc.Err()
}

// parseMountinfoLine splits one line: ID, parent ID, major:minor, root,
// mount point, mount options, optional fields ended by "-", then file
// system type, source and super block options.
func parseMountinfoLine(line string) (mountinfoEntry, error) {
	fields := strings.Fields(line)
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+3 >= len(fields) {
		return mountinfoEntry{}, fmt.Errorf("parse mountinfo line %q: malformed", line)
	}
	return mountinfoEntry{
		mountPoint:   unescapeMountinfo(fields[4]),
		fsType:       fields[sep+1],
		superOptions: fields[sep+3],
	}, nil
}

// hasMountPoint reports whether the mountinfo table read from r has a mount
// at target, a clean absolute path.
func hasMountPoint(r io.Reader, target string) (bool, error) {
	_, found, err := findMount(r, func(e mountinfoEntry) bool {
		return e.mountPoint == target
	})
	return found, err
}

// overlayUsing returns the mount point of an overlay in the mountinfo table
// read from r whose upperdir or workdir is one of dirs, as given to the
// kernel.
func overlayUsing(r io.Reader, dirs ...string) (string, bool, error) {
	e, found, err := findMount(r, func(e mountinfoEntry) bool {
		if e.fsType != "overlay" {
			return false
		}
		// overlayfs shows each dir as it was given, escaped for its own
		// option parser (see escapeOption), and mountinfo escapes that
		// again, "," included, so the split is safe.
		for opt := range strings.SplitSeq(e.superOptions, ",") {
			key, value, _ := strings.Cut(opt, "=")
			used := unescapeOption(unescapeMountinfo(value))
			if (key == "upperdir" || key == "workdir") && slices.Contains(dirs, used) {
				return true
			}
		}
		return false
	})
	return e.mountPoint, found, err
}

// unescapeMountinfo undoes the kernel's escaping of a mountinfo field:
// characters such as space, tab, newline, backslash (and in options "," and
// "=") are written as three octal digits after a backslash, such as "\040"
// for a space.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
