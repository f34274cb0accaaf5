package build

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/image"
)

// copyOp is a COPY or ADD with its words substituted and its sources
// known: what the cache key needs, worked out without touching the image.
type copyOp struct {
	keyword string
	// dest is the destination as an absolute path; intoDir says it was
	// written as a directory ("/dst/", "."), which the files then go into.
	dest    string
	intoDir bool
	chown   string
	// checksum is ADD --checksum, the digest a download must have.
	checksum string
	mode     uint32
	hasMode  bool
	// from is the image of --from, or nil for the build context.
	from     *image.Image
	fromName string
	sources  []source
	// shown is the instruction as the image's history shows it.
	shown string
}

// sourceKind tells where a source's bytes come from.
type sourceKind int

const (
	// fromTree: files of the build context or of the --from image.
	fromTree sourceKind = iota
	// inline: a here-document (COPY <<EOF /file).
	inline
	// fromURL: a file ADD downloaded.
	fromURL
)

// source is one source of a COPY or ADD.
type source struct {
	kind sourceKind
	// name is the source as written, substituted.
	name string
	// found are the paths a fromTree source matched; for --from they are
	// found only once the cache missed.
	found []found
	// data is an inline source's content.
	data []byte
	// download is what ADD fetched for a URL.
	download *download
}

// copy does a COPY or ADD step.
func (r *buildRun) copy(st *stageState, in *dockerfile.Instruction) error {
	op, err := r.copyOp(st, in)
	if err != nil {
		return err
	}
	s := step{cfg: st.cfg.clone(), createdBy: op.shown}
	if s.sources, err = r.sourcesDigest(op); err != nil {
		return err
	}
	k := r.key(st, s)
	if hit, err := r.cached(st, k); hit || err != nil {
		return err
	}

	entries, err := r.layerEntries(st, op)
	if err != nil {
		return err
	}
	return r.commit(st, s, k, func(w io.Writer) error { return r.writeLayer(w, entries) })
}

// copyOp substitutes variables in a COPY or ADD and finds its sources:
// here-documents, URLs (downloaded, for ADD), files of another image (only
// named for now), or files of the build context.
func (r *buildRun) copyOp(st *stageState, in *dockerfile.Instruction) (*copyOp, error) {
	op := &copyOp{keyword: in.Keyword}
	flags, err := r.copyFlags(st, in, op)
	if err != nil {
		return nil, err
	}

	words := make([]string, len(in.Args))
	for i, a := range in.Args {
		switch {
		case !in.JSON && dockerfile.HeredocName(a) != "":
			words[i] = a
		case in.JSON:
			words[i], err = dockerfile.ExpandRaw(a, r.df.Escape, st.lookup)
		default:
			words[i], err = dockerfile.ExpandWord(a, r.df.Escape, st.lookup)
		}
		if err != nil {
			return nil, err
		}
	}
	op.shown = strings.Join(append(append([]string{in.Keyword}, flags...), words...), " ")

	dest := words[len(words)-1]
	op.intoDir = strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	if !path.IsAbs(dest) {
		dest = path.Join("/", st.cfg.WorkingDir, dest)
	}
	op.dest = path.Clean(dest)

	for _, w := range words[:len(words)-1] {
		src, err := r.source(st, in, op, w)
		if err != nil {
			return nil, err
		}
		op.sources = append(op.sources, src)
	}
	return op, nil
}

// copyFlags reads --from, --chown, --chmod and --checksum, substituted,
// and returns them as the history line shows them.
func (r *buildRun) copyFlags(st *stageState, in *dockerfile.Instruction,
	op *copyOp) ([]string, error) {

	var shown []string
	for _, f := range in.Flags {
		v, err := dockerfile.ExpandWord(f.Value, r.df.Escape, st.lookup)
		if err != nil {
			return nil, err
		}
		switch f.Name {
		case "from":
			op.fromName = v
			if op.from, err = r.copyFrom(st, v); err != nil {
				return nil, err
			}
		case "chown":
			op.chown = v
		case "checksum":
			op.checksum = v
		case "chmod":
			op.mode, err = dockerfile.ParseMode(v)
			op.hasMode = true
		case "link":
			// Layers here never depend on the layers below: nothing to do.
			continue
		}
		if err != nil {
			return nil, err
		}
		shown = append(shown, "--"+f.Name+"="+v)
	}
	return shown, nil
}

// copyFrom finds the image of COPY --from: an earlier stage by name or
// number, or else an image of the store.
func (r *buildRun) copyFrom(st *stageState, name string) (*image.Image, error) {
	if stage := r.df.Stage(name, st.stage.Index); stage != nil {
		img := r.stageImages[stage.Index]
		if img == nil {
			return nil, fmt.Errorf("COPY --from=%s: the stage made no image", name)
		}
		return img, nil
	}
	return r.baseImage(name, "")
}

// source works out one source of a COPY or ADD.
func (r *buildRun) source(st *stageState, in *dockerfile.Instruction, op *copyOp,
	word string) (source, error) {

	src := source{name: word}
	if name := dockerfile.HeredocName(word); name != "" && !in.JSON {
		return r.inlineSource(st, in, name)
	}
	if isURL(word) {
		if in.Keyword != "ADD" {
			return src, fmt.Errorf("source can't be a URL for COPY: %s (ADD downloads)", word)
		}
		d, err := r.fetch(word, op.checksum)
		src.kind, src.download = fromURL, d
		return src, err
	}
	if op.checksum != "" {
		return src, fmt.Errorf("ADD --checksum works only for URLs, not %s", word)
	}

	switch {
	case op.from != nil:
		// Named only: the image's ID stands for its content in the cache key,
		// and its files are looked at once the cache missed.
		return src, nil
	case r.context == nil:
		const msg = "%s %s needs a build context: the Dockerfile came from standard input"
		return src, fmt.Errorf(msg, in.Keyword, word)
	}
	var err error
	src.found, err = r.context.match(word)
	return src, err
}

// inlineSource is a here-document: a file whose content is in the
// Dockerfile. Its variables are substituted unless its delimiter was
// quoted; quotes in it are kept.
func (r *buildRun) inlineSource(st *stageState, in *dockerfile.Instruction,
	name string) (source, error) {

	h := in.Heredoc(name)
	if h == nil {
		return source{}, fmt.Errorf("no here-document %s", name)
	}
	body := h.Body
	if h.Expand {
		var err error
		if body, err = dockerfile.ExpandRaw(body, r.df.Escape, st.lookup); err != nil {
			return source{}, err
		}
	}
	return source{kind: inline, name: name, data: []byte(body)}, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// sourcesDigest sums up everything COPY or ADD reads: the content and
// metadata of every file (modification times left out, so that touching
// a file or checking it out again does not bust the cache), each
// here-document, each download; for --from, the image ID, which stands for
// all of its content.
func (r *buildRun) sourcesDigest(op *copyOp) (digest.Digest, error) {
	h := sha256.New()
	if op.from != nil {
		fmt.Fprintf(h, "from %s\n", op.from.ID)
	}
	for _, src := range op.sources {
		switch src.kind {
		case inline:
			fmt.Fprintf(h, "inline %q %d\n", src.name, len(src.data))
			h.Write(src.data)
		case fromURL:
			fmt.Fprintf(h, "url %q %s\n", src.name, src.download.digest)
		default:
			fmt.Fprintf(h, "source %q\n", src.name)
			for _, f := range src.found {
				if err := hashFound(h, r.context, f); err != nil {
					return "", err
				}
			}
		}
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

// hashFound adds one matched path, and everything under it if it is a
// directory, to h.
func hashFound(h io.Writer, t *tree, f found) error {
	if err := hashEntry(h, f.rel, f.host, f.info); err != nil {
		return err
	}
	if !f.info.IsDir() {
		return nil
	}
	return t.walk(f, func(rel, host string, fi fs.FileInfo) error {
		return hashEntry(h, f.rel+"/"+rel, host, fi)
	})
}

// hashEntry adds one file's name, type, mode, link target, size and
// content to h.
func hashEntry(h io.Writer, name, host string, fi fs.FileInfo) error {
	hdr, err := fileHeader(fi, host)
	if err != nil || hdr == nil {
		return err
	}
	fmt.Fprintf(h, "%q %c %o %q %d\n", name, hdr.Typeflag, hdr.Mode, hdr.Linkname, hdr.Size)
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}
