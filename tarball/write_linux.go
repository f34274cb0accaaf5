package tarball

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// treeWriter walks a directory tree with *at system calls, never following
// a symlink, and writes one tar entry per file.
type treeWriter struct {
	tw    *tar.Writer
	clamp time.Time
	log   *slog.Logger

	// links maps an inode with several names to the first one written.
	links map[fileID]string
	// contentSize adds up the regular files written.
	contentSize int64
}

// xattrs maps extended attribute names to values.
type xattrs = map[string]string

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

// writeTree writes the entries under dir to tw and returns the total size
// of the regular files.
func writeTree(tw *tar.Writer, dir string, opts WriteOptions) (int64, error) {
	fd, err := openDirFD(dir)
	if err != nil {
		return 0, err
	}
	root := os.NewFile(uintptr(fd), dir)
	defer root.Close()

	t := &treeWriter{tw: tw, clamp: opts.Clamp, log: opts.Logger, links: make(map[fileID]string)}
	if err := t.walk(root, ""); err != nil {
		return 0, err
	}
	return t.contentSize, nil
}

// walk writes the entries of dir, whose path in the layer is rel ("" for
// the root), in lexical order.
func (t *treeWriter) walk(dir *os.File, rel string) error {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("list directory %q: %w", rel, err)
	}
	slices.Sort(names)

	dirfd := int(dir.Fd())
	for _, base := range names {
		if err := t.add(dirfd, base, path.Join(rel, base)); err != nil {
			return err
		}
	}
	return nil
}

// add writes the entry for base in dirfd, which is name in the layer.
func (t *treeWriter) add(dirfd int, base, name string) error {
	st, err := statAt(dirfd, base)
	if err != nil {
		return &os.PathError{Op: "fstatat", Path: name, Err: err}
	}
	attrs, err := readXattrs(procPath(dirfd, base), name)
	if err != nil {
		return err
	}

	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
	}
	kind := st.Mode & unix.S_IFMT
	switch {
	case kind == unix.S_IFDIR:
		return t.addDir(dirfd, base, hdr, attrs)
	case kind == unix.S_IFCHR && st.Rdev == 0:
		return t.addWhiteout(hdr)
	case kind == unix.S_IFSOCK:
		t.log.Warn("skipping socket: a tar cannot hold one", "path", name)
		return nil
	}

	setXattrRecords(hdr, attrs)
	if first, ok := t.firstName(st, name); ok {
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
		return t.writeHeader(hdr)
	}

	switch kind {
	case unix.S_IFREG:
		return t.addFile(dirfd, base, st, hdr)
	case unix.S_IFLNK:
		return t.addSymlink(dirfd, base, hdr)
	}
	return t.addDevice(st, hdr)
}

// firstName returns the name an inode with several names was first written
// under, or else records name as that one.
func (t *treeWriter) firstName(st unix.Stat_t, name string) (string, bool) {
	if st.Nlink < 2 {
		return "", false
	}
	id := fileID{dev: st.Dev, ino: st.Ino}
	first, ok := t.links[id]
	if !ok {
		t.links[id] = name
	}
	return first, ok
}

// addDir writes a directory, its opaque marker if any, then its content.
func (t *treeWriter) addDir(dirfd int, base string, hdr *tar.Header, attrs xattrs) error {
	fd, err := openSubdir(dirfd, base)
	if err != nil {
		return &os.PathError{Op: "openat", Path: hdr.Name, Err: err}
	}
	dir := os.NewFile(uintptr(fd), hdr.Name)
	defer dir.Close()

	name := hdr.Name
	hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	setXattrRecords(hdr, attrs)
	if err := t.writeHeader(hdr); err != nil {
		return err
	}

	// Overlayfs marks a directory that hides the lower layers' content with
	// an xattr; the layer format says so with an entry inside it.
	if attrs[OpaqueXattr] == "y" {
		t.log.Debug("opaque directory to whiteout", "path", name)
		marker := markerHeader(path.Join(name, OpaqueWhiteout), hdr)
		if err := t.writeHeader(marker); err != nil {
			return err
		}
	}
	return t.walk(dir, name)
}

// addWhiteout writes overlayfs's whiteout, a 0/0 character device, as the
// layer format's ".wh.NAME" entry.
func (t *treeWriter) addWhiteout(hdr *tar.Header) error {
	name := path.Join(path.Dir(hdr.Name), WhiteoutPrefix+path.Base(hdr.Name))
	t.log.Debug("overlayfs whiteout to whiteout entry", "path", hdr.Name)
	return t.writeHeader(markerHeader(name, hdr))
}

// markerHeader returns the header of an empty whiteout file called name,
// with the owner and time of from. Its mode is 0600, readable by a plain
// tar that extracts it as a file.
func markerHeader(name string, from *tar.Header) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o600,
		Uid:      from.Uid,
		Gid:      from.Gid,
		ModTime:  from.ModTime,
	}
}

// addFile writes a regular file and its content. The file is opened
// without following a symlink and checked to be the inode stat saw, so a
// tree changed under our feet cannot slip another file into the layer.
func (t *treeWriter) addFile(dirfd int, base string, st unix.Stat_t, hdr *tar.Header) error {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, base, flags, 0)
	if err != nil {
		return &os.PathError{Op: "openat", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()

	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return &os.PathError{Op: "fstat", Path: hdr.Name, Err: err}
	}
	if now.Ino != st.Ino || now.Dev != st.Dev || now.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("read %q: file replaced while the layer was written", hdr.Name)
	}

	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	if err := t.writeHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(t.tw, f, st.Size); err != nil {
		return fmt.Errorf("copy content of %q: %w", hdr.Name, err)
	}
	t.contentSize += st.Size
	return nil
}

// addSymlink writes a symbolic link.
func (t *treeWriter) addSymlink(dirfd int, base string, hdr *tar.Header) error {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, base, buf)
		if err != nil {
			return &os.PathError{Op: "readlinkat", Path: hdr.Name, Err: err}
		}
		if n < size {
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
			return t.writeHeader(hdr)
		}
	}
}

// addDevice writes a character or block device or a FIFO.
func (t *treeWriter) addDevice(st unix.Stat_t, hdr *tar.Header) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		hdr.Typeflag = tar.TypeChar
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
	default:
		hdr.Typeflag = tar.TypeFifo
	}
	hdr.Devmajor = int64(unix.Major(st.Rdev))
	hdr.Devminor = int64(unix.Minor(st.Rdev))
	return t.writeHeader(hdr)
}

// writeHeader normalizes hdr and writes it.
func (t *treeWriter) writeHeader(hdr *tar.Header) error {
	normalize(hdr, t.clamp)
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar header for %q: %w", hdr.Name, err)
	}
	return nil
}

// setXattrRecords stores attrs in hdr's PAX records, leaving out those
// that describe the host or overlayfs rather than the image.
func setXattrRecords(hdr *tar.Header, attrs xattrs) {
	for attr, value := range attrs {
		if isOverlayXattr(attr) || attr == "security.selinux" {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = make(map[string]string)
		}
		hdr.PAXRecords[xattrPrefix+attr] = value
	}
}

// readXattrs returns the xattrs of name, found at p, a /proc/self/fd path,
// without following a symlink. A file system without xattrs has none.
func readXattrs(p, name string) (xattrs, error) {
	list, err := readXattr(func(buf []byte) (int, error) {
		return unix.Llistxattr(p, buf)
	})
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "llistxattr", Path: name, Err: err}
	}

	var attrs xattrs
	for attr := range bytes.SplitSeq(list, []byte{0}) {
		if len(attr) == 0 {
			continue
		}
		value, err := readXattr(func(buf []byte) (int, error) {
			return unix.Lgetxattr(p, string(attr), buf)
		})
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			err = &os.PathError{Op: "lgetxattr", Path: name, Err: err}
			return nil, fmt.Errorf("read xattr %q: %w", attr, err)
		}
		if attrs == nil {
			attrs = make(xattrs)
		}
		attrs[string(attr)] = string(value)
	}
	return attrs, nil
}

// readXattr calls get, which wraps llistxattr(2) or lgetxattr(2), first to
// learn the size and then to read; ERANGE means it grew in between.
func readXattr(get func(buf []byte) (int, error)) ([]byte, error) {
	for range 8 {
		size, err := get(nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := get(buf)
		if err == unix.ERANGE {
			continue
		}
		return buf[:n], err
	}
	return nil, unix.ERANGE
}
