package overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/tarball"
)

// Changes lists what the upper dir changes in the stack of layers, lowest
// first as for [Mount], sorted by path as `docker diff` prints them:
//
//   - a whiteout in upper is a deleted path (D);
//   - any other entry is added (A) if the layers below do not show it, and
//     changed (C) if they do; a path under an opaque directory is added,
//     since the opaque directory hides whatever lies below it;
//   - a directory that the layers show is changed only if its mode or
//     owner changed, if it is opaque (removed and made again), or if
//     something inside it changed. Its times do not count: copy-up
//     creates a directory in upper whenever a file in it is written.
//
// Whether the layers show a path is decided as overlayfs decides it: the
// topmost layer that has the name wins, a whiteout hides the name, a file
// hides what is below it, and an opaque directory hides the lower content
// of that directory. Changes reads trusted.* xattrs, so it needs root; the
// overlay need not be mounted.
func Changes(layers []string, upper string) ([]Change, error) {
	root, err := rootStack(newStack(layers, upper, "").lower, upper)
	if err != nil {
		return nil, fmt.Errorf("diff upper dir %q: %w", upper, err)
	}

	d := differ{upper: upper}
	if _, err := d.dir("/", root); err != nil {
		return nil, fmt.Errorf("diff upper dir %q: %w", upper, err)
	}
	sortChanges(d.changes)
	return d.changes, nil
}

// rootStack returns the lower dirs, topmost first, whose content shows
// below the root of upper: all of them, unless a root is opaque.
func rootStack(lower []string, upper string) ([]string, error) {
	if opaque, err := isOpaque(upper); err != nil || opaque {
		return nil, err
	}
	for i, dir := range lower {
		opaque, err := isOpaque(dir)
		if err != nil {
			return nil, err
		}
		if opaque {
			return lower[:i+1], nil
		}
	}
	return lower, nil
}

// differ walks an upper dir and collects its changes.
type differ struct {
	upper   string
	changes []Change
}

// dir compares the entries of the directory rel (absolute inside the
// container) of the upper dir with lower, the layer dirs, topmost first,
// whose rel is merged below it. It reports whether anything inside
// changed.
func (d *differ) dir(rel string, lower []string) (bool, error) {
	entries, err := os.ReadDir(filepath.Join(d.upper, rel))
	if err != nil {
		return false, err
	}

	changed := false
	for _, e := range entries {
		c, err := d.entry(path.Join(rel, e.Name()), lower)
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	return changed, nil
}

// entry records the change of the upper dir's entry rel, whose parent has
// lower below it, and reports whether there is one.
func (d *differ) entry(rel string, lower []string) (bool, error) {
	fi, err := os.Lstat(filepath.Join(d.upper, rel))
	if err != nil {
		return false, err
	}
	if isWhiteout(fi) {
		d.add(Deleted, rel)
		return true, nil
	}

	below, belowDirs, err := lookup(lower, rel)
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		return d.changedDir(rel, fi, below, belowDirs)
	}

	// A file in upper was written, or at least copied up by a change.
	if below == nil {
		d.add(Added, rel)
	} else {
		d.add(Modified, rel)
	}
	return true, nil
}

// changedDir walks the upper dir's directory rel and records its own
// change, if any. below is what the layers show at rel (nil for nothing),
// and belowDirs are the layer dirs merged under it.
func (d *differ) changedDir(rel string, fi, below fs.FileInfo, belowDirs []string) (bool, error) {
	opaque, err := isOpaque(filepath.Join(d.upper, rel))
	if err != nil {
		return false, err
	}
	if opaque {
		belowDirs = nil
	}

	inner, err := d.dir(rel, belowDirs)
	if err != nil {
		return false, err
	}
	switch {
	case below == nil:
		d.add(Added, rel)
	case opaque || inner || !below.IsDir() || attrsDiffer(fi, below):
		d.add(Modified, rel)
	default:
		return false, nil
	}
	return true, nil
}

// add records one change.
func (d *differ) add(kind ChangeKind, rel string) {
	d.changes = append(d.changes, Change{Kind: kind, Path: rel})
}

// lookup finds rel in lower, the layer dirs topmost first whose parent of
// rel is merged, as overlayfs does. It returns what the topmost layer
// having rel holds (nil if none, or if a whiteout hides it), and, when
// that is a directory, the layer dirs merged there: down to the first
// opaque one, and not past a whiteout or a file.
func lookup(lower []string, rel string) (fs.FileInfo, []string, error) {
	var found fs.FileInfo
	var dirs []string
	for _, layer := range lower {
		fi, err := os.Lstat(filepath.Join(layer, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if isWhiteout(fi) || (found != nil && !fi.IsDir()) {
			break
		}
		if found == nil {
			found = fi
		}
		if !fi.IsDir() {
			break
		}

		dirs = append(dirs, layer)
		opaque, err := isOpaque(filepath.Join(layer, rel))
		if err != nil {
			return nil, nil, err
		}
		if opaque {
			break
		}
	}
	return found, dirs, nil
}

// isWhiteout reports whether fi is overlayfs's whiteout: a character
// device with device number 0/0.
func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// isOpaque reports whether the directory at path carries overlayfs's
// opaque mark, the xattr trusted.overlay.opaque=y.
func isOpaque(path string) (bool, error) {
	var buf [8]byte
	n, err := unix.Lgetxattr(path, tarball.OpaqueXattr, buf[:])
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
		return false, nil
	case errors.Is(err, unix.ERANGE):
		return false, nil // a longer value is not "y"
	case err != nil:
		return false, &os.PathError{Op: "getxattr " + tarball.OpaqueXattr, Path: path, Err: err}
	}
	return string(buf[:n]) == "y", nil
}

// attrsDiffer reports whether two directories differ in mode or owner.
func attrsDiffer(a, b fs.FileInfo) bool {
	if a.Mode() != b.Mode() {
		return true
	}
	sa, okA := a.Sys().(*syscall.Stat_t)
	sb, okB := b.Sys().(*syscall.Stat_t)
	return okA && okB && (sa.Uid != sb.Uid || sa.Gid != sb.Gid)
}
