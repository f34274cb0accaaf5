package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// startRegistry starts a docker-registry for one test, or skips the test
// when the package is not installed.
func startRegistry(t *testing.T, opts registrytest.Options) *registrytest.Registry {
	t.Helper()
	if err := registrytest.Available(); err != nil {
		t.Skipf("no registry to test against: %v", err)
	}
	if len(opts.Users) > 0 && !opts.Token {
		if _, err := os.Stat("/usr/bin/htpasswd"); err != nil {
			t.Skip("htpasswd is missing: apt-get install apache2-utils")
		}
	}
	reg, err := registrytest.Start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// testLogger sends the client's debug lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(slog.NewTextHandler(testWriter{t}, opts))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newTestClient returns a client with short pauses, for tests.
func newTestClient(t *testing.T, opts Options) *Client {
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 10 * time.Millisecond
	}
	return New(opts)
}

func openStore(t *testing.T) *image.Store {
	t.Helper()
	s, err := image.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compression of a test layer.
type compression int

const (
	gzipped compression = iota
	zstded
	plain
)

// testLayer is one layer blob made for a test.
type testLayer struct {
	blob   []byte
	desc   ocispec.Descriptor
	diffID digest.Digest
}

// makeLayer builds a layer tar of files (name → content) and compresses it.
func makeLayer(t *testing.T, files map[string]string, c compression) testLayer {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])),
			Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[name])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	l := testLayer{diffID: digest.FromBytes(tarBuf.Bytes())}
	var blob bytes.Buffer
	switch c {
	case gzipped:
		zw := gzip.NewWriter(&blob)
		zw.Write(tarBuf.Bytes())
		zw.Close()
		l.desc.MediaType = ocispec.MediaTypeImageLayerGzip
	case zstded:
		zw, _ := zstd.NewWriter(&blob)
		zw.Write(tarBuf.Bytes())
		zw.Close()
		l.desc.MediaType = ocispec.MediaTypeImageLayerZstd
	case plain:
		blob = tarBuf
		l.desc.MediaType = ocispec.MediaTypeImageLayer
	}
	l.blob = blob.Bytes()
	l.desc.Digest = digest.FromBytes(l.blob)
	l.desc.Size = int64(len(l.blob))
	return l
}

// randomFile returns n bytes that do not compress, so a layer holding
// them is about n bytes on the wire too.
func randomFile(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// testImage is an image made for a test: blobs and the manifest that
// names them.
type testImage struct {
	layers       []testLayer
	config       []byte
	configDesc   ocispec.Descriptor
	manifest     []byte
	manifestType string
	digest       digest.Digest
}

// makeImage builds an OCI image of layers, its config listing diffIDs
// (the layers' own unless the test passes lies).
func makeImage(t *testing.T, layers []testLayer, diffIDs []digest.Digest) *testImage {
	t.Helper()
	if diffIDs == nil {
		for _, l := range layers {
			diffIDs = append(diffIDs, l.diffID)
		}
	}
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	config, err := json.Marshal(ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Cmd: []string{"sh"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	if err != nil {
		t.Fatal(err)
	}
	img := &testImage{layers: layers, config: config}
	img.configDesc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig,
		Digest: digest.FromBytes(config), Size: int64(len(config))}
	img.setManifest(t, ocispec.MediaTypeImageManifest, nil)
	return img
}

// setManifest writes the manifest, with edit applied to the layer
// descriptors first (to make a manifest lie).
func (img *testImage) setManifest(t *testing.T, mediaType string,
	edit func(layers []ocispec.Descriptor)) {

	t.Helper()
	var descs []ocispec.Descriptor
	for _, l := range img.layers {
		descs = append(descs, l.desc)
	}
	if edit != nil {
		edit(descs)
	}
	configDesc := img.configDesc
	if mediaType == image.MediaTypeDockerManifest {
		configDesc.MediaType = image.MediaTypeDockerConfig
		for i := range descs {
			if descs[i].MediaType == ocispec.MediaTypeImageLayerGzip {
				descs[i].MediaType = mediaTypeDockerLayerGzip
			}
		}
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": mediaType, "config": configDesc,
		"layers": descs}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img.manifest, img.manifestType, img.digest = data, mediaType, digest.FromBytes(data)
}

// upload puts the image into the registry with plain HTTP requests, the
// way any client would, so that pull tests do not depend on skiff's push.
// auth, when set, authorizes each request.
func upload(t *testing.T, reg *registrytest.Registry, repo, tag string, img *testImage,
	auth func(*http.Request)) {

	t.Helper()
	for _, l := range img.layers {
		uploadBlob(t, reg, repo, l.blob, auth)
	}
	uploadBlob(t, reg, repo, img.config, auth)
	putManifest(t, reg, repo, tag, img.manifestType, img.manifest, auth)
}

func uploadBlob(t *testing.T, reg *registrytest.Registry, repo string, blob []byte,
	auth func(*http.Request)) {

	t.Helper()
	hc := reg.HTTPClient()
	req, _ := http.NewRequest(http.MethodPost, reg.URL()+"/v2/"+repo+"/blobs/uploads/", nil)
	if auth != nil {
		auth(req)
	}
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", err, resp)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	q := loc.Query()
	q.Set("digest", digest.FromBytes(blob).String())
	loc.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(blob))
	if auth != nil {
		auth(req)
	}
	resp, err = hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload blob: %v %v", err, resp)
	}
	resp.Body.Close()
}

func putManifest(t *testing.T, reg *registrytest.Registry, repo, ref, mediaType string,
	data []byte, auth func(*http.Request)) {

	t.Helper()
	u := reg.URL() + "/v2/" + repo + "/manifests/" + ref
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(data))
	req.Header.Set("Content-Type", mediaType)
	if auth != nil {
		auth(req)
	}
	resp, err := reg.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("put manifest %s: %s: %s", u, resp.Status, body)
	}
}

// storeFiles lists what is in a store: every path under blobs/ and
// layers/ (one level into a layer), and index.json's bytes, for a test to
// compare before and after a failure.
func storeFiles(t *testing.T, s *image.Store) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"blobs", "layers", "tmp"} {
		root := filepath.Join(s.Root(), dir)
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(s.Root(), path)
			if strings.Count(rel, "/") > 2 {
				return filepath.SkipDir
			}
			files = append(files, rel)
			return nil
		})
	}
	index, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
	return append(files, "index.json="+string(index))
}

// pull pulls rawRef with a fresh context of at most a minute.
func pull(t *testing.T, c *Client, s *image.Store, rawRef string,
	opts PullOptions) (*PullResult, error) {

	t.Helper()
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Pull(ctx, s, ref, opts)
}

// statusLines collects progress as Docker's plain lines, one per change.
type statusLines struct {
	lines []string
	last  map[string]string
}

func (sl *statusLines) add(p Progress) {
	if sl.last == nil {
		sl.last = map[string]string{}
	}
	if sl.last[p.ID] == p.Status {
		return
	}
	sl.last[p.ID] = p.Status
	sl.lines = append(sl.lines, fmt.Sprintf("%s: %s", p.ID, p.Status))
}

var specsV2 = specs.Versioned{SchemaVersion: 2}

func mustParseURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// startHTTP serves h on 127.0.0.1 for one test and returns its URL.
func startHTTP(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// fileLayer is a gzip layer of one small file named after its content.
func fileLayer(t *testing.T, content string) testLayer {
	return makeLayer(t, map[string]string{"file-" + content: content}, gzipped)
}
