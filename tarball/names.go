package tarball

import (
	"archive/tar"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
)

// The whiteout names of the OCI image spec's layer format. A whiteout is a
// tar entry that deletes a path of the layers below it; on overlayfs it is
// stored as a 0/0 character device (see [Extract]).
const (
	// WhiteoutPrefix starts the base name of a whiteout: ".wh.NAME" deletes
	// NAME from the lower layers.
	WhiteoutPrefix = ".wh."

	// WhiteoutMetaPrefix starts names the whiteout scheme reserves for its
	// own bookkeeping (aufs wrote ".wh..wh.plnk" and ".wh..wh.aufs"). Apart
	// from [OpaqueWhiteout], such entries carry no file and are skipped.
	WhiteoutMetaPrefix = WhiteoutPrefix + WhiteoutPrefix

	// OpaqueWhiteout is the base name of an opaque whiteout: "D/.wh..wh..opq"
	// hides everything the lower layers have under directory D.
	OpaqueWhiteout = WhiteoutMetaPrefix + ".opq"

	// OpaqueXattr is the extended attribute with which overlayfs marks an
	// opaque directory, with the value "y".
	OpaqueXattr = "trusted.overlay.opaque"
)

// xattrPrefix starts the PAX record keys that carry extended attributes, as
// GNU tar and star write them.
const xattrPrefix = "SCHILY.xattr."

// maxEntrySize is the largest file a layer may hold (1 TiB). A header
// claiming more is treated as hostile rather than trusted to fill the disk.
const maxEntrySize = 1 << 40

// errPathEscapes reports an entry name or link target that leads outside the
// layer once cleaned.
var errPathEscapes = errors.New("path escapes the layer")

// entryKind says what an entry asks of the file system.
type entryKind int

const (
	kindSkip     entryKind = iota // nothing to do (global headers, aufs notes)
	kindFile                      // a file, directory, link or device
	kindWhiteout                  // ".wh.NAME": delete NAME below
	kindOpaque                    // ".wh..wh..opq": hide the directory below
)

// entry is a tar header that passed the checks of [checkEntry].
type entry struct {
	hdr  *tar.Header
	kind entryKind

	// name is the cleaned path inside the layer, "." for the layer root.
	name string
	// dir and base split name; for a whiteout, base is the name it deletes.
	dir, base string
	// linkname is the cleaned target of a hard link.
	linkname string
}

// cleanName turns an entry name from a tar header into a clean, relative
// path inside the layer. Like Docker and containerd, it reads a leading "/"
// as the layer root; a name that still climbs out with ".." is refused.
func cleanName(unsafeName string) (string, error) {
	if strings.IndexByte(unsafeName, 0) >= 0 {
		return "", errors.New("name contains a NUL byte")
	}

	name := path.Clean(strings.TrimLeft(unsafeName, "/"))
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", errPathEscapes
	}
	return name, nil
}

// checkEntry validates a header read from an untrusted layer and says what
// it asks for. Errors name the entry as it appears in the tar.
func checkEntry(hdr *tar.Header) (entry, error) {
	e, err := classify(hdr)
	if err != nil {
		return entry{}, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
	}
	return e, nil
}

// classify does the work of [checkEntry].
func classify(hdr *tar.Header) (entry, error) {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return entry{hdr: hdr, kind: kindSkip}, nil
	}

	name, err := cleanName(hdr.Name)
	if err != nil {
		return entry{}, err
	}
	e := entry{hdr: hdr, kind: kindFile, name: name, dir: path.Dir(name), base: path.Base(name)}

	// archive/tar refuses most negative sizes itself; a huge size passes
	// it, and would let one header claim the whole disk.
	if hdr.Size < 0 || hdr.Size > maxEntrySize {
		return entry{}, fmt.Errorf("size %d out of range [0, %d]", hdr.Size, int64(maxEntrySize))
	}

	// chown(2) takes 32-bit IDs, and -1 means "leave unchanged".
	if hdr.Uid < 0 || hdr.Uid >= math.MaxUint32 || hdr.Gid < 0 || hdr.Gid >= math.MaxUint32 {
		return entry{}, fmt.Errorf("owner %d:%d out of range", hdr.Uid, hdr.Gid)
	}

	if strings.HasPrefix(e.base, WhiteoutPrefix) {
		return classifyWhiteout(e)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
	case tar.TypeReg, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if name == "." {
			return entry{}, errors.New("only a directory may replace the layer root")
		}
	case tar.TypeLink:
		return classifyLink(e)
	default:
		return entry{}, fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	return e, nil
}

// classifyLink checks the target of a hard link, which must name a path of
// the layer that is not its root.
func classifyLink(e entry) (entry, error) {
	if e.name == "." {
		return entry{}, errors.New("only a directory may replace the layer root")
	}

	target, err := cleanName(e.hdr.Linkname)
	if err != nil {
		return entry{}, fmt.Errorf("link target %q: %w", e.hdr.Linkname, err)
	}
	if target == "." {
		return entry{}, fmt.Errorf("link target %q: cannot link to the layer root", e.hdr.Linkname)
	}
	e.linkname = target
	return e, nil
}

// classifyWhiteout sorts an entry whose base name starts with
// [WhiteoutPrefix]; its type and content do not matter.
func classifyWhiteout(e entry) (entry, error) {
	switch {
	case e.base == OpaqueWhiteout:
		e.kind = kindOpaque
		return e, nil
	case strings.HasPrefix(e.base, WhiteoutMetaPrefix):
		e.kind = kindSkip
		return e, nil
	}

	// The deleted name is one path component in the whiteout's own
	// directory: ".wh.." and ".wh..." would name the directory itself or
	// its parent.
	deleted := strings.TrimPrefix(e.base, WhiteoutPrefix)
	if deleted == "" || deleted == "." || deleted == ".." {
		return entry{}, fmt.Errorf("whiteout deletes %q: not a file in its directory", deleted)
	}
	e.kind = kindWhiteout
	e.base = deleted
	return e, nil
}
