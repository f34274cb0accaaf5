package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/namespaces"
	"github.com/skiff-dev/skiff/tarball"
)

// A COPY, ADD or WORKDIR layer is written directly as a tar stream: the
// files it adds, and before them every directory on their way. Directories
// the image already has are repeated with their own mode, owner and time,
// so that unpacking the layer (and stacking it in an overlay, where the
// upper directory's attributes win) leaves them as they were: COPY into
// /tmp keeps /tmp at mode 1777.

// layerPlan is a layer about to be written.
type layerPlan struct {
	// existing are the image's directories on the way to the destination.
	existing map[string]*tar.Header
	// newDir is the header of a directory the layer creates.
	newDir  tar.Header
	entries []layerEntry
	clamp   time.Time
}

// layerEntry is one entry of the layer, with where its content comes from.
type layerEntry struct {
	hdr *tar.Header
	// host is the file a regular file's content is read from; data is
	// an inline file's content.
	host string
	data []byte
	// archive, for ADD, is a tar archive to unpack into the directory
	// hdr names; archiveOwner, when set, owns everything in it.
	archive      string
	archiveOwner *owner
	// ensure marks a directory that is written only if nothing has
	// written it yet.
	ensure bool
}

// owner is who new files belong to (--chown).
type owner struct{ uid, gid int }

// layerEntries works out a COPY or ADD layer once the cache missed: where
// the destination lands in the image, who owns the files, and which file
// goes where.
func (r *buildRun) layerEntries(st *stageState, op *copyOp) (*layerPlan, error) {
	dst, err := r.view(st.img)
	if err != nil {
		return nil, err
	}
	pl, err := dst.place(op.dest)
	if err != nil {
		return nil, err
	}
	own, err := lookupOwner(dst, op.chown)
	if err != nil {
		return nil, err
	}
	src, err := r.sourceTree(op)
	if err != nil {
		return nil, err
	}

	// Several sources can only go into a directory, and the Dockerfile
	// must say so with a trailing slash; one file goes into an existing
	// directory, or becomes the destination.
	total := 0
	for _, src := range op.sources {
		total += max(1, len(src.found))
	}
	if total > 1 && !op.intoDir {
		const msg = "%s of several files needs a destination directory ending in /"
		return nil, fmt.Errorf(msg, op.keyword)
	}
	c := &copier{r: r, op: op, own: own, src: src, dest: pl.real,
		intoDir: op.intoDir || pl.isDir}
	c.plan = &layerPlan{existing: pl.dirs, newDir: r.newDirHeader(own), clamp: r.clamp()}
	for _, src := range op.sources {
		if err := c.add(src); err != nil {
			return nil, err
		}
	}
	return c.plan, nil
}

// sourceTree returns the tree the files come from: the build context, or
// the image of --from, whose sources it finds now.
func (r *buildRun) sourceTree(op *copyOp) (*tree, error) {
	if op.from == nil {
		return r.context, nil
	}
	v, err := r.view(op.from)
	if err != nil {
		return nil, err
	}
	t := v.tree("stage or image " + op.fromName)
	for i := range op.sources {
		src := &op.sources[i]
		if src.kind == fromTree {
			if src.found, err = t.match(src.name); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// newDirHeader is the header of a directory a layer creates: mode 0755,
// owned by --chown's owner or root.
func (r *buildRun) newDirHeader(own *owner) tar.Header {
	hdr := tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: r.created()}
	if own != nil {
		hdr.Uid, hdr.Gid = own.uid, own.gid
	}
	return hdr
}

// lookupOwner reads --chown: numbers as they are, names looked up in the
// image's /etc/passwd and /etc/group. Without a group, the group ID is the
// user ID, as Docker has it.
func lookupOwner(v *view, spec string) (*owner, error) {
	if spec == "" {
		return nil, nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	uid, err1 := strconv.Atoi(userPart)
	gid, err2 := strconv.Atoi(groupPart)
	if err1 == nil && (err2 == nil || !hasGroup) && uid >= 0 && gid >= 0 {
		if !hasGroup {
			gid = uid
		}
		return &owner{uid, gid}, nil
	}
	if v.dir == "" {
		return nil, fmt.Errorf("unable to find user %s: the image has no /etc/passwd", spec)
	}
	u, err := namespaces.LookupUser(v.dir, spec)
	if err != nil {
		return nil, fmt.Errorf("unable to convert --chown=%s: %w", spec, err)
	}
	if !hasGroup {
		return &owner{int(u.UID), int(u.UID)}, nil
	}
	return &owner{int(u.UID), int(u.GID)}, nil
}

// copier places the sources of one COPY or ADD in its layer.
type copier struct {
	r       *buildRun
	op      *copyOp
	own     *owner
	src     *tree
	dest    string
	intoDir bool
	plan    *layerPlan
}

// target is where a file called name goes.
func (c *copier) target(name string) string {
	if c.intoDir {
		return path.Join(c.dest, name)
	}
	return c.dest
}

// add places one source.
func (c *copier) add(src source) error {
	switch src.kind {
	case inline:
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: c.target(src.name), Mode: 0o644,
			Size: int64(len(src.data)), ModTime: c.r.created()}
		e := layerEntry{hdr: c.adjust(hdr, false), data: src.data}
		c.plan.entries = append(c.plan.entries, e)
	case fromURL:
		return c.addDownload(src.download)
	default:
		for _, f := range src.found {
			if err := c.addFound(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// addDownload places a file ADD downloaded: mode 0600, and the
// modification time the server gave, as Docker does.
func (c *copier) addDownload(d *download) error {
	if c.intoDir && d.fileName == "" {
		const msg = "cannot determine a file name from the URL %s: name the destination file"
		return fmt.Errorf(msg, d.url)
	}
	mtime := d.modTime
	if mtime.IsZero() {
		mtime = c.r.created()
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: c.target(d.fileName), Mode: 0o600,
		Size: d.size, ModTime: mtime}
	c.plan.entries = append(c.plan.entries, layerEntry{hdr: c.adjust(hdr, false), host: d.file})
	return nil
}

// addFound places one path of the context or of the --from image: a
// directory's contents go into the destination directory, an archive that
// ADD reads is unpacked there, anything else is one entry.
func (c *copier) addFound(f found) error {
	fromImage := c.op.from != nil
	switch {
	case f.info.IsDir():
		dir := c.plan.newDir
		dir.Name = c.dest
		c.plan.entries = append(c.plan.entries, layerEntry{hdr: &dir, ensure: true})
		return c.src.walk(f, func(rel, host string, fi os.FileInfo) error {
			return c.addFile(path.Join(c.dest, rel), host, fi, fromImage)
		})
	case c.op.keyword == "ADD" && !fromImage && isArchive(f.host):
		dir := c.plan.newDir
		dir.Name = c.dest
		c.plan.entries = append(c.plan.entries,
			layerEntry{hdr: &dir, ensure: true, archive: f.host, archiveOwner: c.own})
		return nil
	}
	return c.addFile(c.target(path.Base("/"+f.rel)), f.host, f.info, fromImage)
}

// addFile places one file, directory, link or device at name.
func (c *copier) addFile(name, host string, fi os.FileInfo, fromImage bool) error {
	hdr, err := fileHeader(fi, host)
	if err != nil || hdr == nil {
		return err
	}
	hdr.Name = name
	e := layerEntry{hdr: c.adjust(hdr, fromImage)}
	if hdr.Typeflag == tar.TypeReg {
		e.host = host
	}
	c.plan.entries = append(c.plan.entries, e)
	return nil
}

// adjust applies --chown and --chmod. Without --chown, files from the
// build context belong to root, as Docker has it; files of another image
// keep their owner.
func (c *copier) adjust(hdr *tar.Header, keepOwner bool) *tar.Header {
	switch {
	case c.own != nil:
		hdr.Uid, hdr.Gid = c.own.uid, c.own.gid
	case !keepOwner:
		hdr.Uid, hdr.Gid = 0, 0
	}
	if c.op.hasMode && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeDir) {
		hdr.Mode = int64(c.op.mode)
	}
	return hdr
}

// isArchive reports whether ADD unpacks the file: a tar stream, plain or
// compressed with gzip or zstd. Anything else is copied as it is.
func isArchive(host string) bool {
	f, err := os.Open(host)
	if err != nil {
		return false
	}
	defer f.Close()
	rc, _, err := tarball.Detect(f)
	if err != nil {
		return false
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err == nil
}

// workdir does a WORKDIR step: it sets the working directory, and makes a
// layer that creates it if the image does not have it.
func (r *buildRun) workdir(st *stageState, in *dockerfile.Instruction) error {
	dir, err := dockerfile.ExpandWord(in.Args[0], r.df.Escape, st.lookup)
	if err != nil {
		return err
	}
	if !path.IsAbs(dir) {
		dir = path.Join("/", st.cfg.WorkingDir, dir)
	}
	dir = path.Clean(dir)
	s := step{cfg: st.cfg.clone(), createdBy: "WORKDIR " + dir}
	s.cfg.WorkingDir = dir
	k := r.key(st, s)
	if hit, err := r.cached(st, k); hit || err != nil {
		return err
	}

	v, err := r.view(st.img)
	if err != nil {
		return err
	}
	pl, err := v.place(dir)
	switch {
	case err != nil:
		return err
	case pl.isDir:
		return r.commit(st, s, k, nil)
	case pl.exists:
		return fmt.Errorf("cannot create WORKDIR %s: it exists and is not a directory", dir)
	}
	lp := &layerPlan{existing: pl.dirs, newDir: r.newDirHeader(nil), clamp: r.clamp()}
	hdr := lp.newDir
	hdr.Name = pl.real
	lp.entries = []layerEntry{{hdr: &hdr, ensure: true}}
	return r.commit(st, s, k, func(w io.Writer) error { return r.writeLayer(w, lp) })
}

// writeLayer writes a layer plan as a tar stream.
func (r *buildRun) writeLayer(w io.Writer, lp *layerPlan) error {
	lw := &layerWriter{tw: tar.NewWriter(w), plan: lp, written: map[string]bool{}}
	for _, e := range lp.entries {
		var err error
		switch {
		case e.archive != "":
			err = lw.unpack(e)
		case e.ensure && lw.written[strings.Trim(e.hdr.Name, "/")]:
		case e.data != nil:
			err = lw.write(*e.hdr, bytes.NewReader(e.data))
		case e.host != "":
			err = lw.writeFile(*e.hdr, e.host)
		default:
			err = lw.write(*e.hdr, nil)
		}
		if err != nil {
			return err
		}
	}
	return lw.tw.Close()
}

// layerWriter writes the entries of one layer, each directory once before
// what is in it.
type layerWriter struct {
	tw      *tar.Writer
	plan    *layerPlan
	written map[string]bool
}

// write writes one entry after its parent directories. Names have no
// leading slash, directories a trailing one; headers are made
// reproducible: PAX, numeric owners, whole seconds, no later than clamp.
func (lw *layerWriter) write(hdr tar.Header, body io.Reader) error {
	name := strings.Trim(path.Clean("/"+hdr.Name), "/")
	if name == "" {
		return nil // the root is the image's, never the layer's
	}
	if err := lw.parents(name); err != nil {
		return err
	}
	hdr.Name = name
	if hdr.Typeflag == tar.TypeDir {
		hdr.Name += "/"
		lw.written[name] = true
	}
	hdr.Format, hdr.Uname, hdr.Gname = tar.FormatPAX, "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	if c := lw.plan.clamp; !c.IsZero() && hdr.ModTime.After(c) {
		hdr.ModTime = c.Truncate(time.Second)
	}
	if err := lw.tw.WriteHeader(&hdr); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if body != nil && hdr.Typeflag == tar.TypeReg {
		if _, err := io.CopyN(lw.tw, body, hdr.Size); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// writeFile writes a regular file read from the host.
func (lw *layerWriter) writeFile(hdr tar.Header, host string) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	return lw.write(hdr, f)
}

// parents writes the directories above name that are not written yet: as
// the image has them, or as new ones.
func (lw *layerWriter) parents(name string) error {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		if lw.written[dir] {
			continue
		}
		hdr, ok := lw.plan.existing[dir]
		if !ok {
			hdr = &lw.plan.newDir
		}
		h := *hdr
		h.Name = dir
		if err := lw.write(h, nil); err != nil {
			return err
		}
	}
	return nil
}

// unpack writes the entries of an archive ADD unpacks, renamed into the
// destination directory. Names are cleaned so that none leaves it, and
// the owner is root (or --chown's), as Docker does.
func (lw *layerWriter) unpack(e layerEntry) error {
	dir := *e.hdr
	if !lw.written[strings.Trim(dir.Name, "/")] {
		if err := lw.write(dir, nil); err != nil {
			return err
		}
	}
	f, err := os.Open(e.archive)
	if err != nil {
		return err
	}
	defer f.Close()
	rc, _, err := tarball.Detect(f)
	if err != nil {
		return err
	}
	defer rc.Close()

	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", path.Base(e.archive), err)
		}
		if err := lw.unpackEntry(dir.Name, hdr, tr, e.archiveOwner); err != nil {
			return err
		}
	}
}

// unpackEntry writes one archive entry under dir.
func (lw *layerWriter) unpackEntry(dir string, hdr *tar.Header, body io.Reader, own *owner) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock,
		tar.TypeFifo:
	default:
		return nil // PAX global headers and the like carry no file
	}
	inside := func(name string) string {
		return path.Join(dir, strings.TrimPrefix(path.Clean("/"+name), "/"))
	}
	hdr.Name = inside(hdr.Name)
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname = inside(hdr.Linkname)
	}
	hdr.Uid, hdr.Gid = 0, 0
	if own != nil {
		hdr.Uid, hdr.Gid = own.uid, own.gid
	}
	hdr.PAXRecords = nil
	return lw.write(*hdr, body)
}
