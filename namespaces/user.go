package namespaces

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Errors of [LookupUser], for callers that want to tell a user's mistake
// from a broken image. Their texts are Docker's.
var (
	ErrNoSuchUser  = errors.New("no matching entries in passwd file")
	ErrNoSuchGroup = errors.New("no matching entries in group file")
)

// passwdEntry is one line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// groupEntry is one line of /etc/group: name:password:gid:member,member.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// parsePasswd reads the entries of an /etc/passwd file. Lines that are not
// entries (comments, NIS "+" lines, malformed ones) are skipped, as the C
// library's getpwent(3) skips them.
func parsePasswd(data []byte) []passwdEntry {
	var entries []passwdEntry
	for _, fields := range splitEntries(data, 4) {
		uid, err1 := parseID(fields[2])
		gid, err2 := parseID(fields[3])
		if err1 != nil || err2 != nil {
			continue
		}
		e := passwdEntry{name: fields[0], uid: uid, gid: gid}
		if len(fields) > 5 {
			e.home = fields[5]
		}
		entries = append(entries, e)
	}
	return entries
}

// parseGroup reads the entries of an /etc/group file, skipping what is not
// an entry.
func parseGroup(data []byte) []groupEntry {
	var entries []groupEntry
	for _, fields := range splitEntries(data, 3) {
		gid, err := parseID(fields[2])
		if err != nil {
			continue
		}
		e := groupEntry{name: fields[0], gid: gid}
		if len(fields) > 3 && fields[3] != "" {
			e.members = strings.Split(fields[3], ",")
		}
		entries = append(entries, e)
	}
	return entries
}

// splitEntries splits a colon-separated database into lines of at least
// min fields.
func splitEntries(data []byte, min int) [][]string {
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < min || fields[0] == "" {
			continue
		}
		lines = append(lines, fields)
	}
	return lines
}

// parseID parses a user or group ID. (uint32)(-1) is refused: the kernel
// uses it to mean "leave unchanged".
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if n == 1<<32-1 {
		return 0, strconv.ErrRange
	}
	return uint32(n), nil
}

// resolveUser applies docker run -u rules to a "user[:group]" string, given
// the image's parsed passwd and group files (nil when missing):
//
//   - user is a name or a number; an entry matches by name, or by UID for a
//     number. A number with no entry is used as is, with group 0.
//   - Without ":group" the primary group is the entry's, and the
//     supplementary groups are those that list the user as a member.
//   - With ":group" (a name or a number, resolved the same way) that group is
//     the only one.
//   - "" means root: UID 0, GID 0 and root's supplementary groups.
func resolveUser(unsafeSpec string, passwd []passwdEntry, group []groupEntry) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(unsafeSpec, ":")
	if userPart == "" {
		userPart = "0"
	}

	u := User{Home: "/"}
	var name string
	uid, numErr := parseID(userPart)
	i := slices.IndexFunc(passwd, func(e passwdEntry) bool {
		return e.name == userPart || (numErr == nil && e.uid == uid)
	})
	switch {
	case i >= 0:
		e := passwd[i]
		name, u.UID, u.GID = e.name, e.uid, e.gid
		if e.home != "" {
			u.Home = e.home
		}
	case numErr == nil:
		u.UID = uid
	default:
		return User{}, fmt.Errorf("look up user %q: %w", userPart, ErrNoSuchUser)
	}

	if hasGroup {
		gid, err := resolveGroup(groupPart, group)
		if err != nil {
			return User{}, err
		}
		u.GID = gid
		return u, nil
	}
	if name == "" {
		return u, nil
	}
	for _, g := range group {
		if g.gid != u.GID && slices.Contains(g.members, name) &&
			!slices.Contains(u.AdditionalGIDs, g.gid) {
			u.AdditionalGIDs = append(u.AdditionalGIDs, g.gid)
		}
	}
	return u, nil
}

// resolveGroup finds a group by name or number.
func resolveGroup(unsafeGroup string, group []groupEntry) (uint32, error) {
	gid, numErr := parseID(unsafeGroup)
	i := slices.IndexFunc(group, func(g groupEntry) bool {
		return g.name == unsafeGroup || (numErr == nil && g.gid == gid)
	})
	switch {
	case i >= 0:
		return group[i].gid, nil
	case numErr == nil:
		return gid, nil
	default:
		return 0, fmt.Errorf("look up group %q: %w", unsafeGroup, ErrNoSuchGroup)
	}
}
