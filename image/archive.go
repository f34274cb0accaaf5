package image

// Image archives
//
// An image archive is one tar file that carries images and their names from
// one machine to another without a registry: `skiff save` writes one and
// `skiff load` reads one. Two layouts are in use, and Load reads both.
//
// An OCI image layout archive is an OCI image layout (image-spec,
// image-layout.md) packed into a tar: the file oci-layout, then index.json,
// whose descriptors point at manifests (or at indexes that choose a manifest
// per platform), and blobs/sha256/<hex>, which holds every manifest, config
// and layer exactly as a registry would serve it. A descriptor in index.json
// may carry the annotation io.containerd.image.name, the image's full name
// (docker.io/library/busybox:latest), and org.opencontainers.image.ref.name,
// which is often only the tag (latest).
//
// A Docker image archive, as `docker save` writes it, is described by
// manifest.json: a list of {"Config", "RepoTags", "Layers"} objects whose
// values are paths inside the archive. Each layer is an uncompressed tar, so
// the config's rootfs.diff_ids check it directly. The paths differ by
// writer: Docker before version 25 writes <id>/layer.tar and <image-id>.json,
// with a symlink where two images share a layer; skopeo writes
// <diffID-hex>.tar and <config-hex>.json; Docker 25 writes blobs/sha256/<hex>
// and adds an OCI index.json beside manifest.json. When both are present,
// Load reads manifest.json, for its RepoTags.
//
// Save writes either layout ([FormatOCI], [FormatDocker]). Its entries are
// sorted, owned by 0:0 and dated 1970-01-01, so saving the same images twice
// gives the same bytes.
//
// Limitations (for doc.go): Load ignores the legacy files of a Docker archive
// (repositories, <id>/json, VERSION) and refuses foreign layers, which it
// would have to download; Docker does the same for the first and fetches the
// second. Save writes repositories only for old readers and no legacy <id>/
// directories, as Docker 25 does.

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/tarball"
)

// Loaded is one image that [Store.Load] added, with the names the archive
// gave it.
type Loaded struct {
	// ID is the image ID: the digest of the config, as in the archive.
	ID digest.Digest
	// Tags are the names the archive gives the image; none if it gives none
	// (`docker load` then prints "Loaded image ID: sha256:…").
	Tags []Reference
}

// ArchiveFormat selects the layout of an image archive written by
// [Store.Save].
type ArchiveFormat string

// The archive layouts Save writes.
const (
	// FormatDocker is the layout of `docker save`: manifest.json, the
	// configs, and each layer as an uncompressed tar named by its diffID.
	FormatDocker ArchiveFormat = "docker"
	// FormatOCI is an OCI image layout in a tar: oci-layout, index.json,
	// and every blob exactly as it is stored.
	FormatOCI ArchiveFormat = "oci"
)

// The well-known names in an image archive.
const (
	dockerManifestFile = "manifest.json"
	repositoriesFile   = "repositories"
	// annotationImageName holds an image's full name in an OCI index, as
	// containerd, Docker 25 and skopeo write it.
	annotationImageName = "io.containerd.image.name"
)

// dockerManifest is one element of a Docker archive's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// maxJSONSize bounds the manifests, indexes and configs read into memory: a
// hostile archive must not make Load allocate whatever it claims.
const maxJSONSize = 32 << 20

// maxLinkHops bounds how many symlinks and hard links naming other entries
// are followed to find a file, so that a loop of links ends.
const maxLinkHops = 16

// errNotInArchive says that an archive lacks an entry its manifest names.
var errNotInArchive = errors.New("not in the archive")

// archive is an image archive opened for random access. Its tar headers are
// read once, and each regular entry is then read where it lies through an
// [io.SectionReader], so a layer goes from the archive straight into the
// store.
type archive struct {
	f     *os.File
	owned bool // f is a spooled copy that close closes
	// files maps each regular entry's cleaned name to where its data is.
	files map[string]archiveSpan
	// links maps each symlink's or hard link's cleaned name to the cleaned
	// name of the entry it points at.
	links map[string]string
}

type archiveSpan struct{ offset, size int64 }

// openArchive prepares r for random access. A plain tar in a regular file is
// used where it is; anything else (a pipe, a compressed archive) is first
// decompressed into the scratch directory work.
func openArchive(r io.Reader, work workDir) (*archive, error) {
	if f, ok := r.(*os.File); ok {
		base, plain, err := plainTarAt(f)
		if err != nil {
			return nil, err
		}
		if plain {
			return indexArchive(f, base, false)
		}
	}

	f, err := spool(r, work)
	if err != nil {
		return nil, err
	}
	a, err := indexArchive(f, 0, true)
	if err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// plainTarAt reports whether f is a regular file that can be read at any
// offset and holds an uncompressed archive, and the offset where it starts.
func plainTarAt(f *os.File) (int64, bool, error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, false, nil
	}
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, base)
	if err := checkCompression(head[:n]); err != nil {
		return 0, false, err
	}
	// An archive is compressed as a layer is, and told apart the same way.
	return base, layerMediaType(head[:n]) == ocispec.MediaTypeImageLayer, nil
}

// checkCompression refuses the compressions that `docker load` accepts but
// skiff does not, with an error that says so rather than "invalid tar
// header".
func checkCompression(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("BZh")):
		return fmt.Errorf("read image archive: bzip2 compression is not supported")
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return fmt.Errorf("read image archive: xz compression is not supported")
	}
	return nil
}

// spool decompresses r into a file in work and returns it open.
func spool(r io.Reader, work workDir) (*os.File, error) {
	stream, _, err := tarball.Detect(r)
	if err != nil {
		return nil, fmt.Errorf("read image archive: %w", err)
	}
	defer stream.Close()

	f, err := os.Create(work.path("archive.tar"))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, stream); err != nil {
		f.Close()
		return nil, fmt.Errorf("read image archive: %w", err)
	}
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, 0)
	if err := checkCompression(head[:n]); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// indexArchive reads every tar header of the archive that starts at offset
// base in f and records where each entry's data lies.
func indexArchive(f *os.File, base int64, owned bool) (*archive, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a := &archive{f: f, owned: owned, files: map[string]archiveSpan{}, links: map[string]string{}}

	// The section reader can seek, so tar.Reader skips over entry data
	// instead of reading it, and tells where each entry's data begins.
	section := io.NewSectionReader(f, base, fi.Size()-base)
	tr := tar.NewReader(section)
	last := "the start"
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read image archive after %q: %w", last, err)
		}
		dataAt, err := section.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if err := a.add(hdr, base+dataAt); err != nil {
			return nil, fmt.Errorf("read image archive: %w", err)
		}
		last = hdr.Name
	}
}

// add records one tar entry whose data starts at offset.
func (a *archive) add(hdr *tar.Header, offset int64) error {
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	delete(a.files, name)
	delete(a.links, name)

	switch hdr.Typeflag {
	case tar.TypeReg:
		// A sparse file's bytes in the archive are not its content, so it
		// cannot be read in place; no image archive writer makes one.
		for key := range hdr.PAXRecords {
			if strings.HasPrefix(key, "GNU.sparse.") {
				return fmt.Errorf("read archive entry %q: sparse files are not supported", name)
			}
		}
		a.files[name] = archiveSpan{offset: offset, size: hdr.Size}
	case tar.TypeGNUSparse:
		return fmt.Errorf("read archive entry %q: sparse files are not supported", name)
	case tar.TypeSymlink:
		// A symlink's target is relative to the directory that holds it.
		if path.IsAbs(hdr.Linkname) {
			return fmt.Errorf("read archive entry %q: symlink to an absolute path %q",
				name, hdr.Linkname)
		}
		target, err := cleanEntryName(path.Join(path.Dir(name), hdr.Linkname))
		if err != nil {
			return fmt.Errorf("read archive entry %q: symlink: %w", name, err)
		}
		a.links[name] = target
	case tar.TypeLink:
		// A hard link's target is a name from the archive's root.
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("read archive entry %q: hard link: %w", name, err)
		}
		a.links[name] = target
	}
	// Directories and anything else carry nothing an image needs.
	return nil
}

// cleanEntryName turns an entry name from an archive, which is hostile until
// checked, into a clean relative path, and refuses one that is absolute or
// climbs out of the archive with "..".
func cleanEntryName(unsafeName string) (string, error) {
	if path.IsAbs(unsafeName) {
		return "", fmt.Errorf("archive entry %q is an absolute path", unsafeName)
	}
	name := path.Clean(unsafeName)
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("archive entry %q points outside the archive", unsafeName)
	}
	if name == "." {
		return "", fmt.Errorf("archive entry %q has no name", unsafeName)
	}
	return name, nil
}

// has reports whether the archive has a file named name, directly or
// through links.
func (a *archive) has(name string) bool {
	_, err := a.open(name)
	return err == nil
}

// open returns the content of the file name, following symlinks and hard
// links inside the archive. name must be clean.
func (a *archive) open(name string) (*io.SectionReader, error) {
	at := name
	for range maxLinkHops {
		if span, ok := a.files[at]; ok {
			return io.NewSectionReader(a.f, span.offset, span.size), nil
		}
		target, ok := a.links[at]
		if !ok {
			return nil, fmt.Errorf("open archive entry %q: %w", name, errNotInArchive)
		}
		at = target
	}
	return nil, fmt.Errorf("open archive entry %q: too many levels of links", name)
}

// readFile reads the whole of a small file, such as a manifest or a config.
func (a *archive) readFile(name string) ([]byte, error) {
	r, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if r.Size() > maxJSONSize {
		return nil, fmt.Errorf("read archive entry %q: %d bytes is more than the %d allowed",
			name, r.Size(), maxJSONSize)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read archive entry %q: %w", name, err)
	}
	return data, nil
}

func (a *archive) close() error {
	if !a.owned {
		return nil
	}
	return a.f.Close()
}

// blobEntry is the name of the blob with digest d in an OCI image layout.
func blobEntry(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

// digestFromName returns the digest that an entry name promises for its
// content, or "" when the name promises none. Two kinds of names carry a
// sha256 digest: blobs/sha256/<hex> in an OCI layout and in Docker 25's
// archives, and <hex>.json, the config of older Docker archives and of
// skopeo's.
func digestFromName(name string) digest.Digest {
	hex, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok {
		if hex, ok = strings.CutSuffix(name, ".json"); !ok {
			return ""
		}
	}
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return ""
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex)
}
