package namespaces

import (
	"errors"
	"io/fs"
)

// maxUserDBSize bounds what LookupUser reads of an image's /etc/passwd and
// /etc/group.
const maxUserDBSize = 4 << 20

// LookupUser resolves a docker run -u value against the image's /etc/passwd
// and /etc/group under rootfs: "name", "uid", "name:group", "uid:gid", or ""
// for root. Names must exist in the files; numbers need not (a missing
// /etc/passwd is fine for them). Without an explicit group the user also
// gets the supplementary groups that list it as a member. The rootfs is
// untrusted: the files are read with openat2(2) RESOLVE_IN_ROOT, so symlinks
// in the image cannot make skiff read the host's files.
//
// A name that matches nothing wraps [ErrNoSuchUser] or [ErrNoSuchGroup].
func LookupUser(rootfs, spec string) (User, error) {
	root, err := openRoot(rootfs)
	if err != nil {
		return User{}, err
	}
	defer root.Close()

	passwd, err := readOptional(root, "/etc/passwd")
	if err != nil {
		return User{}, err
	}
	group, err := readOptional(root, "/etc/group")
	if err != nil {
		return User{}, err
	}
	return resolveUser(spec, parsePasswd(passwd), parseGroup(group))
}

// readOptional reads a file of the root that may be missing.
func readOptional(root *rootDir, unsafePath string) ([]byte, error) {
	data, err := root.readFile(unsafePath, maxUserDBSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}
