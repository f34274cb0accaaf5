package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// importImage makes an image in s from one layer, named rawRef.
func importImage(t *testing.T, s *image.Store, rawRef string, l testLayer) *image.Image {
	t.Helper()
	img, err := s.Import(bytes.NewReader(l.blob), image.ImportOptions{Ref: rawRef})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func push(t *testing.T, c *Client, s *image.Store, rawRef string) (*PushResult, []string,
	error) {

	t.Helper()
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Lookup(rawRef)
	if err != nil {
		t.Fatal(err)
	}
	var progress statusLines
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Push(ctx, s, img, ref, PushOptions{Progress: progress.add})
	return res, progress.lines, err
}

// TestPush pushes an image, pushes it again, pushes it to a second
// repository (a cross-repository mount) and in chunks to a third, and
// pulls each back into an empty store with the same digest.
func TestPush(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	s := openStore(t)
	layer := makeLayer(t, map[string]string{"data": randomFile(4, 300<<10)}, gzipped)
	img := importImage(t, s, reg.Host+"/push/one:v1", layer)
	id := shortDigest(layer.desc.Digest)

	tests := []struct {
		name      string
		rawRef    string
		chunkSize int64
		want      []string
	}{
		{"first push", reg.Host + "/push/one:v1", 0,
			[]string{id + ": Preparing", id + ": Pushing", id + ": Pushed"}},
		{"again", reg.Host + "/push/one:v1", 0,
			[]string{id + ": Preparing", id + ": Layer already exists"}},
		{"other repository", reg.Host + "/push/two:v1", 0,
			[]string{id + ": Preparing", id + ": Mounted from push/one"}},
		{"in chunks", reg.Host + "/push/three:v1", 100 << 10,
			[]string{id + ": Preparing", id + ": Pushing", id + ": Pushed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Tag(img.ID.String(), tt.rawRef); err != nil {
				t.Fatal(err)
			}
			// The third repository must not get a mount: untag the others.
			if tt.chunkSize > 0 {
				for _, other := range []string{"/push/one:v1", "/push/two:v1"} {
					s.Remove(reg.Host+other, false)
				}
			}
			c := newTestClient(t, Options{ChunkSize: tt.chunkSize})
			res, lines, err := push(t, c, s, tt.rawRef)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("Push(%s) progress (-want +got):\n%s", tt.rawRef, diff)
			}
			if res.Digest != img.Digest {
				t.Errorf("Push(%s) digest = %s, want %s", tt.rawRef, res.Digest, img.Digest)
			}
			back, err := pull(t, newTestClient(t, Options{}), openStore(t), tt.rawRef,
				PullOptions{})
			if err != nil || back.Image.Digest != img.Digest || back.Image.ID != img.ID {
				t.Errorf("pull back = %v, %v; want digest %s, ID %s", back, err, img.Digest,
					img.ID)
			}
		})
	}
}

// TestPushAuth pushes to a registry with token auth: refused without
// credentials, accepted with them.
func TestPushAuth(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{Users: testUsers, Token: true})
	s := openStore(t)
	importImage(t, s, reg.Host+"/private/app:v1",
		makeLayer(t, map[string]string{"x": "y"}, gzipped))

	_, _, err := push(t, newTestClient(t, Options{}), s, reg.Host+"/private/app:v1")
	if err == nil || !strings.Contains(err.Error(), "denied") && !strings.Contains(err.Error(),
		"unauthorized") {
		t.Errorf("anonymous Push() = %v, want an authorization error", err)
	}
	c := newTestClient(t, Options{Credentials: func(string) (Credentials, error) {
		return Credentials{Username: "alice", Password: "wonderland"}, nil
	}})
	if _, _, err := push(t, c, s, reg.Host+"/private/app:v1"); err != nil {
		t.Errorf("Push() with credentials = %v", err)
	}
}

// skopeo runs Debian's skopeo, or skips the test without it.
func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is missing: apt-get install skopeo")
	}
	args = append([]string{"--insecure-policy"}, args...)
	cmd := exec.Command("skopeo", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// writeOCILayout writes img as an OCI image layout directory, tagged tag.
func writeOCILayout(t *testing.T, dir, tag string, img *testImage) {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	os.MkdirAll(blobs, 0o755)
	write := func(data []byte) {
		os.WriteFile(filepath.Join(blobs, digest.FromBytes(data).Encoded()), data, 0o644)
	}
	for _, l := range img.layers {
		write(l.blob)
	}
	write(img.config)
	write(img.manifest)
	index, _ := json.Marshal(ocispec.Index{Versioned: specsV2,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{MediaType: img.manifestType, Digest: img.digest,
			Size: int64(len(img.manifest)), Annotations: map[string]string{
				ocispec.AnnotationRefName: tag}}}})
	os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`),
		0o644)
}

// TestSkopeoInterop: an image skopeo pushes, skiff pulls with the same
// manifest digest and image ID; an image skiff pushes, skopeo inspects and
// copies back byte for byte.
func TestSkopeoInterop(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	img := makeImage(t, []testLayer{
		makeLayer(t, map[string]string{"etc/hostname": "interop\n"}, gzipped),
		makeLayer(t, map[string]string{"bin/tool": randomFile(5, 100<<10)}, gzipped),
	}, nil)
	layout := t.TempDir()
	writeOCILayout(t, layout, "v1", img)

	// skopeo → registry → skiff.
	skopeo(t, "copy", "-q", "--dest-tls-verify=false", "oci:"+layout+":v1",
		"docker://"+reg.Host+"/interop/from-skopeo:v1")
	raw := skopeo(t, "inspect", "--tls-verify=false", "--raw",
		"docker://"+reg.Host+"/interop/from-skopeo:v1")
	s := openStore(t)
	res, err := pull(t, newTestClient(t, Options{}), s, reg.Host+"/interop/from-skopeo:v1",
		PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.Digest != digest.FromBytes(raw) || res.Image.ID != img.configDesc.Digest {
		t.Errorf("pulled from skopeo's push: digest %s, ID %s; want %s, %s",
			res.Image.Digest, res.Image.ID, digest.FromBytes(raw), img.configDesc.Digest)
	}

	// skiff → registry → skopeo.
	target := reg.Host + "/interop/from-skiff:v2"
	if err := s.Tag(res.Image.ID.String(), target); err != nil {
		t.Fatal(err)
	}
	if _, _, err := push(t, newTestClient(t, Options{}), s, target); err != nil {
		t.Fatal(err)
	}
	raw2 := skopeo(t, "inspect", "--tls-verify=false", "--raw", "docker://"+target)
	if !bytes.Equal(raw2, raw) {
		t.Errorf("skopeo inspect --raw after skiff's push:\n%s\nwant:\n%s", raw2, raw)
	}
	var info struct {
		Digest digest.Digest
		Layers []digest.Digest
	}
	json.Unmarshal(skopeo(t, "inspect", "--tls-verify=false", "docker://"+target), &info)
	if info.Digest != res.Image.Digest || len(info.Layers) != 2 {
		t.Errorf("skopeo inspect = %+v, want digest %s and 2 layers", info, res.Image.Digest)
	}
	back := t.TempDir()
	skopeo(t, "copy", "-q", "--src-tls-verify=false", "docker://"+target, "oci:"+back+":v2")
	for _, d := range []digest.Digest{res.Image.Digest, img.configDesc.Digest,
		img.layers[0].desc.Digest, img.layers[1].desc.Digest} {
		data, err := os.ReadFile(filepath.Join(back, "blobs", "sha256", d.Encoded()))
		if err != nil || digest.FromBytes(data) != d {
			t.Errorf("skopeo's copy back lacks blob %s unchanged: %v", d, err)
		}
	}
}

// TestSkopeoMultiArch pushes a two-platform index with skopeo --all and
// pulls the amd64 manifest.
func TestSkopeoMultiArch(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	amd := makeImage(t, []testLayer{fileLayer(t, "amd64")}, nil)
	arm := makeImage(t, []testLayer{fileLayer(t, "arm64")}, nil)
	layout := t.TempDir()
	writeOCILayout(t, layout, "unused", amd)
	blobs := filepath.Join(layout, "blobs", "sha256")
	for _, data := range [][]byte{arm.layers[0].blob, arm.config, arm.manifest} {
		os.WriteFile(filepath.Join(blobs, digest.FromBytes(data).Encoded()), data, 0o644)
	}
	entry := func(img *testImage, arch string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: img.manifestType, Digest: img.digest,
			Size: int64(len(img.manifest)), Platform: &ocispec.Platform{OS: "linux",
				Architecture: arch}}
	}
	inner, _ := json.Marshal(ocispec.Index{Versioned: specsV2,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{entry(arm, "arm64"), entry(amd, "amd64")}})
	os.WriteFile(filepath.Join(blobs, digest.FromBytes(inner).Encoded()), inner, 0o644)
	outer, _ := json.Marshal(ocispec.Index{Versioned: specsV2,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageIndex,
			Digest: digest.FromBytes(inner), Size: int64(len(inner)),
			Annotations: map[string]string{ocispec.AnnotationRefName: "multi"}}}})
	os.WriteFile(filepath.Join(layout, "index.json"), outer, 0o644)

	skopeo(t, "copy", "-q", "--all", "--dest-tls-verify=false", "oci:"+layout+":multi",
		"docker://"+reg.Host+"/interop/multi:latest")
	res, err := pull(t, newTestClient(t, Options{}), openStore(t), reg.Host+"/interop/multi",
		PullOptions{Platform: Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.Digest != amd.digest || res.Digest != digest.FromBytes(inner) {
		t.Errorf("Pull(multi) = image %s, digest %s; want %s, %s", res.Image.Digest, res.Digest,
			amd.digest, digest.FromBytes(inner))
	}
}

// TestSearchCatalog lists the registry's repositories matching a term.
func TestSearchCatalog(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	img := makeImage(t, []testLayer{makeLayer(t, map[string]string{"a": "b"}, gzipped)}, nil)
	for _, repo := range []string{"tools/busybox", "busybox", "alpine"} {
		upload(t, reg, repo, "latest", img, nil)
	}
	got, err := newTestClient(t, Options{}).Search(context.Background(), reg.Host, "busy", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []SearchResult{{Name: reg.Host + "/busybox"}, {Name: reg.Host + "/tools/busybox"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Search(busy) (-want +got):\n%s", diff)
	}
}

// TestSearchHub answers Docker Hub's /v1/search from a test server, which
// stands in for index.docker.io (unreachable from tests).
func TestSearchHub(t *testing.T) {
	srv := newHubServer(t)
	c := newTestClient(t, Options{IndexURL: srv})
	got, err := c.Search(context.Background(), image.DefaultDomain, "busybox", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []SearchResult{{Name: "busybox", Description: "Busybox base image.", Stars: 3000,
		Official: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Search(busybox) (-want +got):\n%s", diff)
	}
}

func newHubServer(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/search", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Get("q") != "busybox" || req.URL.Query().Get("n") != "1" {
			t.Errorf("search query = %s", req.URL.RawQuery)
		}
		io.WriteString(w, `{"num_results":2,"query":"busybox","results":[`+
			`{"name":"busybox","description":"Busybox base image.","star_count":3000,`+
			`"is_official":true,"is_automated":false},`+
			`{"name":"user/busybox","description":"","star_count":1}]}`)
	})
	srv := startHTTP(t, mux)
	return srv
}
