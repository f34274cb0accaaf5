package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's names for the media types that OCI also defines.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// layerTypes maps each layer media type Load accepts to the OCI name it gets
// in the manifests skiff writes. A layer of any other type (a foreign layer
// to download, an artifact that is no tar) is refused.
var layerTypes = map[string]string{
	ocispec.MediaTypeImageLayer:     ocispec.MediaTypeImageLayer,
	ocispec.MediaTypeImageLayerGzip: ocispec.MediaTypeImageLayerGzip,
	ocispec.MediaTypeImageLayerZstd: ocispec.MediaTypeImageLayerZstd,
	// Non-distributable ("foreign") layers: the spec deprecates making new
	// ones, but old images still carry them. Spelled out here because the
	// spec package marks its constants deprecated.
	"application/vnd.oci.image.layer.nondistributable.v1.tar":      ocispec.MediaTypeImageLayer,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": ocispec.MediaTypeImageLayerGzip,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": ocispec.MediaTypeImageLayerZstd,
	mediaTypeDockerLayer:     ocispec.MediaTypeImageLayer,
	mediaTypeDockerLayerGzip: ocispec.MediaTypeImageLayerGzip,
}

// Load reads an image archive from r and adds its images to the store with
// the names the archive gives them, as `docker load` does. The archive is a
// tar, plain or compressed with gzip or zstd, in either layout described at
// the top of this file; Load tells them apart by their contents.
//
// Load is all or nothing: it checks and stores every config and layer
// first, and names the images in index.json in one step at the end. After
// a failure the store's images and tags are as they were; the content
// stored on the way is collected as garbage later.
func (s *Store) Load(r io.Reader) ([]Loaded, error) {
	in, err := s.beginIngest()
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer in.end()

	a, err := openArchive(r, in.work)
	if err != nil {
		return nil, err
	}
	defer a.close()
	images, err := a.images()
	if err != nil {
		return nil, err
	}

	l := &loader{in: in, a: a, known: s.knownLayerBlobs()}
	staged := make([]stagedImage, 0, len(images))
	for _, img := range images {
		st, err := l.load(img)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", img.what, err)
		}
		staged = append(staged, st)
	}
	return s.nameLoaded(staged)
}

// archiveImage is what an archive's table of contents says about one image.
type archiveImage struct {
	// what names the image in errors: "image 2 of manifest.json".
	what   string
	config archiveBlob
	layers []archiveBlob
	tags   []Reference
}

// archiveBlob is one file of an archive and what the archive promises
// about its content: a digest when the archive names one (else ""), and a
// size when it gives one (else -1).
type archiveBlob struct {
	name string
	desc ocispec.Descriptor
}

// images reads the archive's table of contents: manifest.json if there is
// one, since Docker 25 writes an index.json beside it without RepoTags,
// and otherwise the OCI index.json.
func (a *archive) images() ([]archiveImage, error) {
	var images []archiveImage
	var err error
	switch {
	case a.has(dockerManifestFile):
		images, err = a.dockerImages()
	case a.has(indexFile):
		images, err = a.ociImages()
	default:
		return nil, fmt.Errorf("read image archive: it has neither %s nor %s",
			dockerManifestFile, indexFile)
	}
	if err == nil && len(images) == 0 {
		err = fmt.Errorf("read image archive: it lists no images")
	}
	return images, err
}

// dockerImages reads the manifest.json of a `docker save` archive.
func (a *archive) dockerImages() ([]archiveImage, error) {
	data, err := a.readFile(dockerManifestFile)
	if err != nil {
		return nil, err
	}
	var manifests []dockerManifest
	if err := json.Unmarshal(data, &manifests); err != nil {
		return nil, fmt.Errorf("parse %s: %w", dockerManifestFile, err)
	}

	images := make([]archiveImage, 0, len(manifests))
	for i, m := range manifests {
		img, err := dockerImage(m)
		img.what = fmt.Sprintf("image %d of %s", i+1, dockerManifestFile)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", img.what, err)
		}
		images = append(images, img)
	}
	return images, nil
}

// dockerImage checks one element of manifest.json. The archive names a
// config by its digest in most layouts; layers, which are named in
// different ways, are checked against the config's diffIDs instead.
func dockerImage(m dockerManifest) (archiveImage, error) {
	var img archiveImage
	for _, rawTag := range m.RepoTags {
		ref, err := ParseReference(rawTag)
		if err != nil {
			return img, fmt.Errorf("read RepoTags: %w", err)
		}
		if ref.Digest != "" {
			return img, fmt.Errorf("read RepoTags: %q pins a digest; a tag is needed", rawTag)
		}
		img.tags = append(img.tags, ref)
	}

	config, err := cleanEntryName(m.Config)
	if err != nil {
		return img, fmt.Errorf("read Config: %w", err)
	}
	img.config = archiveBlob{name: config, desc: ocispec.Descriptor{
		Digest: digestFromName(config),
		Size:   -1,
	}}
	for _, rawName := range m.Layers {
		name, err := cleanEntryName(rawName)
		if err != nil {
			return img, fmt.Errorf("read Layers: %w", err)
		}
		layer := archiveBlob{name: name, desc: ocispec.Descriptor{Size: -1}}
		img.layers = append(img.layers, layer)
	}
	return img, nil
}

// ociImages reads the index.json of an OCI image layout archive.
func (a *archive) ociImages() ([]archiveImage, error) {
	data, err := a.readFile(indexFile)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parse %s: %w", indexFile, err)
	}

	images := make([]archiveImage, 0, len(idx.Manifests))
	for i, desc := range idx.Manifests {
		what := fmt.Sprintf("image %d of %s", i+1, indexFile)
		img, err := a.ociImage(desc)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		img.what = what
		images = append(images, img)
	}
	return images, nil
}

// ociImage follows one descriptor of index.json to its manifest and lists
// the config and layers that manifest names, with the digests and sizes it
// promises for them.
func (a *archive) ociImage(desc ocispec.Descriptor) (archiveImage, error) {
	var img archiveImage
	tags, err := ociTags(desc.Annotations)
	if err != nil {
		return img, err
	}
	img.tags = tags
	m, err := a.ociManifest(desc, 0)
	if err != nil {
		return img, err
	}

	if t := m.Config.MediaType; t != ocispec.MediaTypeImageConfig && t != mediaTypeDockerConfig {
		return img, fmt.Errorf("read config %s: unknown media type %q", m.Config.Digest, t)
	}
	if img.config, err = ociBlob(m.Config); err != nil {
		return img, err
	}
	for i, layer := range m.Layers {
		if _, ok := layerTypes[layer.MediaType]; !ok {
			return img, fmt.Errorf("read layer %d: unknown media type %q", i+1, layer.MediaType)
		}
		b, err := ociBlob(layer)
		if err != nil {
			return img, fmt.Errorf("read layer %d: %w", i+1, err)
		}
		img.layers = append(img.layers, b)
	}
	return img, nil
}

// ociManifest reads the manifest that desc points at. If desc points at an
// index instead, it chooses the manifest for this machine's platform.
func (a *archive) ociManifest(desc ocispec.Descriptor, depth int) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	isIndex := desc.MediaType == ocispec.MediaTypeImageIndex ||
		desc.MediaType == mediaTypeDockerManifestList
	isManifest := desc.MediaType == ocispec.MediaTypeImageManifest ||
		desc.MediaType == mediaTypeDockerManifest
	if !isIndex && !isManifest {
		return m, fmt.Errorf("read manifest %s: unknown media type %q",
			desc.Digest, desc.MediaType)
	}
	b, err := ociBlob(desc)
	if err != nil {
		return m, err
	}
	data, err := a.readBlob(b)
	if err != nil {
		return m, err
	}

	if isManifest {
		if err := json.Unmarshal(data, &m); err != nil {
			return m, fmt.Errorf("parse manifest %s: %w", desc.Digest, err)
		}
		return m, nil
	}
	// An index within an index is legal; a deeper chain is only a trap.
	if depth > 1 {
		return m, fmt.Errorf("read index %s: indexes nested too deep", desc.Digest)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return m, fmt.Errorf("parse index %s: %w", desc.Digest, err)
	}
	chosen, err := choosePlatform(idx.Manifests)
	if err != nil {
		return m, fmt.Errorf("read index %s: %w", desc.Digest, err)
	}
	return a.ociManifest(chosen, depth+1)
}

// choosePlatform picks the manifest for linux on this machine's
// architecture, or the only manifest there is.
func choosePlatform(manifests []ocispec.Descriptor) (ocispec.Descriptor, error) {
	for _, m := range manifests {
		if p := m.Platform; p != nil && p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return m, nil
		}
	}
	if len(manifests) == 1 {
		return manifests[0], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("no manifest for linux/%s", runtime.GOARCH)
}

// ociBlob checks a descriptor from the archive and returns the entry that
// holds its blob. The digest becomes a file name, so it is checked first.
func ociBlob(desc ocispec.Descriptor) (archiveBlob, error) {
	if err := desc.Digest.Validate(); err != nil || desc.Digest.Algorithm() != digest.SHA256 {
		return archiveBlob{}, fmt.Errorf("read descriptor: %q is not a sha256 digest", desc.Digest)
	}
	return archiveBlob{name: blobEntry(desc.Digest), desc: desc}, nil
}

// ociTags returns the name an index.json descriptor gives its image. The
// containerd annotation holds a full name. The OCI one may hold a full
// name too (skopeo's oci-archive:F:busybox:latest), but it is often a tag
// alone ("latest"), which names no repository and so no image.
func ociTags(annotations map[string]string) ([]Reference, error) {
	if rawName := annotations[annotationImageName]; rawName != "" {
		ref, err := ParseReference(rawName)
		if err != nil {
			return nil, fmt.Errorf("read annotation %s: %w", annotationImageName, err)
		}
		if ref.Tag == "" {
			return nil, nil
		}
		return []Reference{ref}, nil
	}

	rawName := annotations[ocispec.AnnotationRefName]
	if !strings.ContainsAny(rawName, ":/") {
		return nil, nil
	}
	// The OCI spec lets a ref name be any string; one that is no image
	// reference names nothing skiff can use.
	ref, err := ParseReference(rawName)
	if err != nil || ref.Tag == "" {
		return nil, nil
	}
	return []Reference{ref}, nil
}

// readBlob reads a small file of the archive, such as a config, and checks
// it against the digest and size the archive promised for it.
func (a *archive) readBlob(b archiveBlob) ([]byte, error) {
	data, err := a.readFile(b.name)
	if err != nil {
		return nil, err
	}
	if b.desc.Size >= 0 && int64(len(data)) != b.desc.Size {
		return nil, fmt.Errorf("read archive entry %q: %d bytes, but %d were announced: %w",
			b.name, len(data), b.desc.Size, ErrDigestMismatch)
	}
	if got := digest.FromBytes(data); b.desc.Digest != "" && got != b.desc.Digest {
		return nil, fmt.Errorf("read archive entry %q: content has digest %s, not %s: %w",
			b.name, got, b.desc.Digest, ErrDigestMismatch)
	}
	return data, nil
}

// loader adds the images of one archive to the store.
type loader struct {
	in    *ingest
	a     *archive
	known layerBlobs
}

// stagedImage is an image whose config, layers and manifest are stored but
// which index.json does not name yet.
type stagedImage struct {
	id   digest.Digest
	desc ocispec.Descriptor
	tags []Reference
}

// load stores one image's config and layers, and a manifest naming them.
func (l *loader) load(img archiveImage) (stagedImage, error) {
	config, err := l.a.readBlob(img.config)
	if err != nil {
		return stagedImage{}, err
	}
	diffIDs, err := configDiffIDs(config, len(img.layers))
	if err != nil {
		return stagedImage{}, fmt.Errorf("read config %q: %w", img.config.name, err)
	}

	layers := make([]ocispec.Descriptor, len(img.layers))
	for i, layer := range img.layers {
		layers[i], err = l.layer(layer, diffIDs[i])
		if err != nil {
			return stagedImage{}, fmt.Errorf("load layer %d: %w", i+1, err)
		}
		l.in.s.log.Info("layer loaded", "layer", fmt.Sprintf("%d/%d", i+1, len(layers)),
			"diff_id", diffIDs[i])
	}

	// The config is stored byte for byte as the archive has it: its digest
	// is the image ID, which must not change on the way.
	desc, err := l.in.storeImage(config, layers)
	if err != nil {
		return stagedImage{}, err
	}
	return stagedImage{id: digest.FromBytes(config), desc: desc, tags: img.tags}, nil
}

// configDiffIDs parses an image config and returns its rootfs.diff_ids,
// after checking that there is one per layer and that each is a digest.
func configDiffIDs(config []byte, layers int) ([]digest.Digest, error) {
	var cfg ocispec.Image
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, err
	}
	if cfg.RootFS.Type != "layers" {
		return nil, fmt.Errorf("rootfs.type is %q, not \"layers\"", cfg.RootFS.Type)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != layers {
		return nil, fmt.Errorf("rootfs.diff_ids lists %d layers, but the manifest lists %d",
			len(diffIDs), layers)
	}
	// A diffID names a directory under layers/, so it must be a digest.
	for _, diffID := range diffIDs {
		if err := diffID.Validate(); err != nil || diffID.Algorithm() != digest.SHA256 {
			return nil, fmt.Errorf("rootfs.diff_ids: %q is not a sha256 digest", diffID)
		}
	}
	return diffIDs, nil
}

// layer stores one layer of the archive, unless the store has it already,
// and returns the descriptor of the blob that holds it.
func (l *loader) layer(b archiveBlob, diffID digest.Digest) (ocispec.Descriptor, error) {
	s := l.in.s
	if desc, ok := l.known.reusable(s, b.desc, diffID); ok {
		s.log.Debug("layer already exists", "diff_id", diffID, "layer_digest", desc.Digest)
		return desc, nil
	}

	r, err := l.a.open(b.name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, info, err := s.ingestLayer(l.in.work, r, b.desc, diffID)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("unpack %q: %w", b.name, err)
	}
	l.known.add(desc, info.DiffID)
	return desc, nil
}

// nameLoaded names the staged images in index.json, all in one update, and
// returns what was loaded, one entry per image.
func (s *Store) nameLoaded(staged []stagedImage) ([]Loaded, error) {
	if testHookBeforeIndex != nil {
		testHookBeforeIndex()
	}
	err := s.updateIndex(func(idx *ocispec.Index) error {
		for _, st := range staged {
			addRefs(idx, st.desc, st.tags, "")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}

	var loaded []Loaded
	for _, st := range staged {
		i := slices.IndexFunc(loaded, func(l Loaded) bool { return l.ID == st.id })
		if i < 0 {
			loaded = append(loaded, Loaded{ID: st.id})
			i = len(loaded) - 1
		}
		for _, tag := range st.tags {
			if !slices.Contains(loaded[i].Tags, tag) {
				loaded[i].Tags = append(loaded[i].Tags, tag)
			}
		}
	}
	return loaded, nil
}

// layerBlobs remembers which stored blob holds which layer, so that a load
// reuses what the store has: it learns from the manifests of the images in
// the store, and from the layers the load itself adds.
type layerBlobs struct {
	diffIDOf map[digest.Digest]digest.Digest      // layer digest → diffID
	blobOf   map[digest.Digest]ocispec.Descriptor // diffID → a blob holding it
}

// knownLayerBlobs pairs layer blobs with diffIDs as the store's images do.
func (s *Store) knownLayerBlobs() layerBlobs {
	known := layerBlobs{
		diffIDOf: map[digest.Digest]digest.Digest{},
		blobOf:   map[digest.Digest]ocispec.Descriptor{},
	}
	idx, err := s.readIndex()
	if err != nil {
		return known
	}
	for _, m := range idx.Manifests {
		// A damaged image offers nothing to reuse; loading goes on without.
		img, err := s.loadImage(m)
		if err != nil || len(img.Manifest.Layers) != len(img.Config.RootFS.DiffIDs) {
			continue
		}
		for i, layer := range img.Manifest.Layers {
			known.add(layer, img.Config.RootFS.DiffIDs[i])
		}
	}
	return known
}

func (k layerBlobs) add(layer ocispec.Descriptor, diffID digest.Digest) {
	k.diffIDOf[layer.Digest] = diffID
	if _, ok := k.blobOf[diffID]; !ok {
		k.blobOf[diffID] = layer
	}
}

// reusable returns the stored blob to use for the layer with diffID, when
// that layer is unpacked already. want is what the archive says the blob
// is. If it names a digest (OCI), only that blob will do, so that the
// manifest lists the archive's layers; it must also be known to hold this
// diffID, or an archive could pair any stored blob with any stored layer.
// Without a digest (Docker), any blob known to hold the diffID will do.
func (k layerBlobs) reusable(s *Store, want ocispec.Descriptor,
	diffID digest.Digest) (ocispec.Descriptor, bool) {

	if !s.hasLayer(diffID) {
		return ocispec.Descriptor{}, false
	}
	if want.Digest == "" {
		desc, ok := k.blobOf[diffID]
		return desc, ok && s.hasBlob(desc.Digest)
	}

	// An uncompressed blob's digest is its diffID.
	paired := k.diffIDOf[want.Digest] == diffID || want.Digest == diffID
	fi, err := os.Stat(s.blobPath(want.Digest))
	if !paired || err != nil || fi.Size() != want.Size {
		return ocispec.Descriptor{}, false
	}
	return ocispec.Descriptor{
		MediaType: layerTypes[want.MediaType],
		Digest:    want.Digest,
		Size:      want.Size,
	}, true
}
