package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/tarball"
)

// Save writes the images that rawRefs name to w as one image archive, in
// the layout format selects (see the top of this file). An image named by
// a tag keeps that tag in the archive; an image named by its ID is saved
// without a name, as Docker does. Blobs that several images share are
// written once.
//
// Every reference is resolved before the first byte is written, so an
// unknown name writes nothing. A failure later (a stored blob that no
// longer matches its digest) leaves a partial archive in w, which the
// caller should delete.
func (s *Store) Save(w io.Writer, rawRefs []string, format ArchiveFormat) error {
	if format != FormatDocker && format != FormatOCI {
		return fmt.Errorf("save images: unknown archive format %q (use %q or %q)",
			format, FormatDocker, FormatOCI)
	}
	if len(rawRefs) == 0 {
		return fmt.Errorf("save images: no image named")
	}
	images, err := s.resolveForSave(rawRefs)
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}

	aw := &archiveWriter{s: s, tw: tar.NewWriter(w)}
	if format == FormatOCI {
		err = aw.writeOCI(images)
	} else {
		var plan *dockerArchive
		if plan, err = s.planDocker(images); err == nil {
			err = aw.writeDocker(plan)
		}
	}
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	return aw.tw.Close()
}

// savedImage is one image to save and the tags it is saved under.
type savedImage struct {
	img  *Image
	tags []Reference
}

// resolveForSave finds the images that rawRefs name, each once, in the
// order they were first named, with the tags they are to be saved under.
func (s *Store) resolveForSave(rawRefs []string) ([]savedImage, error) {
	all, err := s.Images()
	if err != nil {
		return nil, err
	}
	var saved []savedImage
	for _, rawRef := range rawRefs {
		found, err := namedForSave(all, rawRef)
		if err != nil {
			return nil, err
		}
		for _, si := range found {
			saved = addSaved(saved, si)
		}
	}

	// A missing layer blob must stop Save before it writes anything.
	for _, si := range saved {
		for _, layer := range si.img.Manifest.Layers {
			if !s.hasBlob(layer.Digest) {
				return nil, fmt.Errorf("image %s: layer blob %s is missing from the store",
					si.img.ID, layer.Digest)
			}
		}
	}
	return saved, nil
}

// namedForSave returns the images that rawRef names. As with `docker
// save`, a repository name without a tag (busybox) names every tagged image
// of that repository, under each of its tags there.
func namedForSave(all []*Image, rawRef string) ([]savedImage, error) {
	if repo, ok := repositoryOnly(rawRef); ok {
		var found []savedImage
		for _, img := range all {
			for _, tag := range img.Tags {
				if tag.Name() == repo.Name() && tag.Tag != "" {
					found = append(found, savedImage{img: img, tags: []Reference{tag}})
				}
			}
		}
		if len(found) > 0 {
			return found, nil
		}
	}

	img, err := lookupIn(all, rawRef)
	if err != nil {
		return nil, err
	}
	si := savedImage{img: img}
	if ref, ok := requestedTag(img, rawRef); ok {
		si.tags = []Reference{ref}
	}
	return []savedImage{si}, nil
}

// repositoryOnly parses rawRef if it names a repository, with neither a
// tag nor a digest.
func repositoryOnly(rawRef string) (Reference, bool) {
	last := rawRef[strings.LastIndexByte(rawRef, '/')+1:]
	if strings.ContainsAny(last, ":@") {
		return Reference{}, false
	}
	ref, err := ParseReference(rawRef)
	return ref, err == nil
}

// addSaved adds si to saved, or merges its tags into the entry for the
// same image.
func addSaved(saved []savedImage, si savedImage) []savedImage {
	i := slices.IndexFunc(saved, func(o savedImage) bool { return o.img.Digest == si.img.Digest })
	if i < 0 {
		return append(saved, si)
	}
	for _, tag := range si.tags {
		if !slices.Contains(saved[i].tags, tag) {
			saved[i].tags = append(saved[i].tags, tag)
		}
	}
	return saved
}

// requestedTag returns the tag of img that rawRef names, when rawRef named
// img by that tag rather than by its ID or digest.
func requestedTag(img *Image, rawRef string) (Reference, bool) {
	ref, err := ParseReference(rawRef)
	if err != nil || ref.Digest != "" {
		return Reference{}, false
	}
	return ref, slices.Contains(img.Tags, ref)
}

// archiveWriter writes the entries of an image archive.
type archiveWriter struct {
	s  *Store
	tw *tar.Writer
}

// archiveTime is the date of every entry Save writes: a fixed date, so that
// the same images always give the same archive.
var archiveTime = time.Unix(0, 0)

// writeOCI writes images as an OCI image layout: every blob once, in the
// order of their names, then index.json and oci-layout.
func (aw *archiveWriter) writeOCI(images []savedImage) error {
	blobs := map[digest.Digest]bool{}
	idx := ocispec.Index{Versioned: specsVersion, MediaType: ocispec.MediaTypeImageIndex}
	for _, si := range images {
		blobs[si.img.Digest] = true
		blobs[si.img.ID] = true
		for _, layer := range si.img.Manifest.Layers {
			blobs[layer.Digest] = true
		}
		idx.Manifests = append(idx.Manifests, ociDescriptors(si)...)
	}
	indexJSON, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}

	if err := aw.blobDirs(); err != nil {
		return err
	}
	for _, d := range slices.Sorted(maps.Keys(blobs)) {
		if err := aw.copyBlob(d); err != nil {
			return err
		}
	}
	if err := aw.file(indexFile, indexJSON); err != nil {
		return err
	}
	return aw.file(layoutFile, layoutJSON)
}

// ociDescriptors returns the index.json entries for one image: one per tag,
// each with the full name and the tag, or one without names if it has no
// tag.
func ociDescriptors(si savedImage) []ocispec.Descriptor {
	desc := si.img.descriptor()
	if len(si.tags) == 0 {
		return []ocispec.Descriptor{desc}
	}
	descs := make([]ocispec.Descriptor, 0, len(si.tags))
	for _, tag := range si.tags {
		d := desc
		d.Annotations = map[string]string{
			annotationImageName:       tag.String(),
			ocispec.AnnotationRefName: tag.Tag,
		}
		descs = append(descs, d)
	}
	return descs
}

// dockerArchive is what a Docker archive will hold, worked out before any
// byte of it is written.
type dockerArchive struct {
	manifests []dockerManifest
	// repositories is the legacy table of tags: name → tag → top layer.
	repositories map[string]map[string]string
	configs      map[digest.Digest]bool
	// layers maps each diffID to the stored layer it is written from.
	layers map[digest.Digest]storedLayer
}

type storedLayer struct {
	blob ocispec.Descriptor
	info layerInfo
}

// planDocker works out the entries of a Docker archive of images. Each
// layer is named by its diffID, as Docker 25 names it.
func (s *Store) planDocker(images []savedImage) (*dockerArchive, error) {
	p := &dockerArchive{
		repositories: map[string]map[string]string{},
		configs:      map[digest.Digest]bool{},
		layers:       map[digest.Digest]storedLayer{},
	}
	for _, si := range images {
		img := si.img
		diffIDs := img.Config.RootFS.DiffIDs
		if len(diffIDs) != len(img.Manifest.Layers) {
			return nil, fmt.Errorf("image %s: its config lists %d layers, its manifest %d",
				img.ID, len(diffIDs), len(img.Manifest.Layers))
		}

		m := dockerManifest{Config: blobEntry(img.ID), Layers: []string{}}
		for i, diffID := range diffIDs {
			info, err := s.layerInfo(diffID)
			if err != nil {
				return nil, err
			}
			p.layers[diffID] = storedLayer{blob: img.Manifest.Layers[i], info: info}
			m.Layers = append(m.Layers, blobEntry(diffID))
		}
		for _, tag := range si.tags {
			m.RepoTags = append(m.RepoTags, tag.FamiliarString())
			p.addRepository(tag, diffIDs)
		}
		p.configs[img.ID] = true
		p.manifests = append(p.manifests, m)
	}
	return p, nil
}

// addRepository records a tag in the legacy repositories file, which maps
// it to the image's top layer. Readers of today use manifest.json; the
// file is there for old ones.
func (p *dockerArchive) addRepository(tag Reference, diffIDs []digest.Digest) {
	if len(diffIDs) == 0 {
		return
	}
	name := tag.FamiliarName()
	if p.repositories[name] == nil {
		p.repositories[name] = map[string]string{}
	}
	p.repositories[name][tag.Tag] = diffIDs[len(diffIDs)-1].Encoded()
}

// writeDocker writes a Docker archive: configs and layers once each, in the
// order of their names, then manifest.json and repositories.
func (aw *archiveWriter) writeDocker(p *dockerArchive) error {
	manifestJSON, err := json.Marshal(p.manifests)
	if err != nil {
		return err
	}
	repositoriesJSON, err := json.Marshal(p.repositories)
	if err != nil {
		return err
	}

	if err := aw.blobDirs(); err != nil {
		return err
	}
	names := slices.Collect(maps.Keys(p.configs))
	names = slices.AppendSeq(names, maps.Keys(p.layers))
	slices.Sort(names)
	for _, d := range slices.Compact(names) {
		if layer, ok := p.layers[d]; ok {
			err = aw.copyLayerTar(d, layer)
		} else {
			err = aw.copyBlob(d)
		}
		if err != nil {
			return err
		}
	}
	if err := aw.file(dockerManifestFile, manifestJSON); err != nil {
		return err
	}
	if len(p.repositories) == 0 {
		return nil
	}
	return aw.file(repositoriesFile, repositoriesJSON)
}

// copyBlob writes a stored blob, byte for byte, as blobs/sha256/<hex>.
func (aw *archiveWriter) copyBlob(d digest.Digest) error {
	rc, size, err := aw.s.openBlob(d)
	if err != nil {
		return fmt.Errorf("read blob %s: %w", d, err)
	}
	defer rc.Close()

	if err := aw.header(blobEntry(d), size); err != nil {
		return err
	}
	// Reading to the end is what makes openBlob check the digest.
	if _, err := io.Copy(aw.tw, rc); err != nil {
		return fmt.Errorf("copy blob %s: %w", d, err)
	}
	return nil
}

// copyLayerTar writes a layer as the uncompressed tar that its diffID
// names, which is how Docker archives hold layers. The stored blob may be
// compressed: it is decompressed on the way, and what is written must hash
// to the diffID.
func (aw *archiveWriter) copyLayerTar(diffID digest.Digest, layer storedLayer) error {
	rc, _, err := aw.s.openBlob(layer.blob.Digest)
	if err != nil {
		return fmt.Errorf("read layer %s: %w", diffID, err)
	}
	defer rc.Close()
	stream, _, err := tarball.Detect(rc)
	if err != nil {
		return fmt.Errorf("read layer %s: %w", diffID, err)
	}
	defer stream.Close()

	if err := aw.header(blobEntry(diffID), layer.info.TarSize); err != nil {
		return err
	}
	verifier := diffID.Verifier()
	tee := io.MultiWriter(aw.tw, verifier)
	n, err := io.Copy(tee, io.LimitReader(stream, layer.info.TarSize))
	if err != nil {
		return fmt.Errorf("write layer %s: %w", diffID, err)
	}

	// Read both streams to their ends: the tar must hold nothing more, and
	// openBlob checks the blob's own digest only at its end.
	extra, err := io.Copy(io.Discard, stream)
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
	}
	if err != nil {
		return fmt.Errorf("read layer %s: %w", diffID, err)
	}
	if n != layer.info.TarSize || extra != 0 || !verifier.Verified() {
		return fmt.Errorf("write layer %s: blob %s does not decompress to it: %w",
			diffID, layer.blob.Digest, ErrDigestMismatch)
	}
	return nil
}

// blobDirs writes the directories that hold the blobs.
func (aw *archiveWriter) blobDirs() error {
	for _, name := range []string{"blobs/", "blobs/sha256/"} {
		err := aw.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir,
			Name:     name,
			Mode:     0o755,
			ModTime:  archiveTime,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// file writes a small file held in memory.
func (aw *archiveWriter) file(name string, data []byte) error {
	if err := aw.header(name, int64(len(data))); err != nil {
		return err
	}
	_, err := aw.tw.Write(data)
	return err
}

// header starts a regular file owned by root, with the fixed date.
func (aw *archiveWriter) header(name string, size int64) error {
	return aw.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  archiveTime,
	})
}
