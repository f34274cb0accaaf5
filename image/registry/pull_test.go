package registry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// TestPullFormats pulls one image in each manifest and layer format the
// client reads, and checks that the store has it under the registry's
// digest, with the config's digest as ID and every file unpacked.
func TestPullFormats(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	tests := []struct {
		name         string
		manifestType string
		compression  compression
	}{
		{"OCI gzip", ocispec.MediaTypeImageManifest, gzipped},
		{"OCI zstd", ocispec.MediaTypeImageManifest, zstded},
		{"OCI plain tar", ocispec.MediaTypeImageManifest, plain},
		{"Docker schema 2", image.MediaTypeDockerManifest, gzipped},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := makeLayer(t, map[string]string{"etc/os-release": "ID=test\n"}, tt.compression)
			top := makeLayer(t, map[string]string{"app/data": tt.name}, tt.compression)
			img := makeImage(t, []testLayer{base, top}, nil)
			img.setManifest(t, tt.manifestType, nil)
			repo := "formats/" + string(rune('a'+i))
			upload(t, reg, repo, "v1", img, nil)

			s := openStore(t)
			var progress statusLines
			res, err := pull(t, newTestClient(t, Options{}), s, reg.Host+"/"+repo+":v1",
				PullOptions{Progress: progress.add})
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != img.digest || res.Image.Digest != img.digest {
				t.Errorf("Pull() digest = %s (image %s), want %s", res.Digest,
					res.Image.Digest, img.digest)
			}
			if res.Image.ID != img.configDesc.Digest {
				t.Errorf("Pull() image ID = %s, want %s", res.Image.ID, img.configDesc.Digest)
			}
			if res.Image.ManifestMediaType != tt.manifestType {
				t.Errorf("Pull() manifest type = %s, want %s", res.Image.ManifestMediaType,
					tt.manifestType)
			}
			stored, err := s.ReadBlob(img.digest)
			if err != nil || string(stored) != string(img.manifest) {
				t.Errorf("stored manifest = %q, %v; want the registry's bytes", stored, err)
			}
			got, err := os.ReadFile(filepath.Join(s.LayerDir(top.diffID), "app/data"))
			if err != nil || string(got) != tt.name {
				t.Errorf("app/data = %q, %v; want %q", got, err, tt.name)
			}
			for _, l := range []testLayer{base, top} {
				id := shortDigest(l.desc.Digest)
				want := []string{"Pulling fs layer", "Downloading", "Verifying Checksum",
					"Download complete", "Extracting", "Pull complete"}
				if diff := cmp.Diff(want, progress.of(id)); diff != "" {
					t.Errorf("progress of %s (-want +got):\n%s", id, diff)
				}
			}
		})
	}
}

// of returns the statuses one layer went through.
func (sl *statusLines) of(id string) []string {
	var statuses []string
	for _, line := range sl.lines {
		if status, ok := strings.CutPrefix(line, id+": "); ok {
			statuses = append(statuses, status)
		}
	}
	return statuses
}

// TestPullAgain checks Docker's three answers to a second pull: nothing
// to do when the tag names the same image; "Already exists" for the
// layers two images share, in order from the bottom; a pull by digest
// that names no tag.
func TestPullAgain(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	base := makeLayer(t, map[string]string{"base": "shared"}, gzipped)
	one := makeImage(t, []testLayer{base, fileLayer(t, "one")}, nil)
	two := makeImage(t, []testLayer{base, fileLayer(t, "two")}, nil)
	upload(t, reg, "again/one", "latest", one, nil)
	upload(t, reg, "again/two", "latest", two, nil)

	s := openStore(t)
	c := newTestClient(t, Options{})
	if _, err := pull(t, c, s, reg.Host+"/again/one", PullOptions{}); err != nil {
		t.Fatal(err)
	}

	var progress statusLines
	res, err := pull(t, c, s, reg.Host+"/again/one", PullOptions{Progress: progress.add})
	if err != nil || !res.UpToDate || len(progress.lines) != 0 {
		t.Errorf("second Pull() = up to date %v, progress %q, %v; want up to date, silent",
			res != nil && res.UpToDate, progress.lines, err)
	}

	progress = statusLines{}
	res, err = pull(t, c, s, reg.Host+"/again/two", PullOptions{Progress: progress.add})
	if err != nil || res.UpToDate {
		t.Fatalf("Pull(two) = up to date %v, %v", res != nil && res.UpToDate, err)
	}
	got := progress.of(shortDigest(base.desc.Digest))
	if !cmp.Equal(got, []string{"Already exists"}) {
		t.Errorf("shared layer progress = %q, want [Already exists]", got)
	}

	byDigest := reg.Host + "/again/two@" + two.digest.String()
	res, err = pull(t, c, s, byDigest, PullOptions{})
	if err != nil || res.Image.Digest != two.digest {
		t.Fatalf("Pull(%s) = %v, %v", byDigest, res, err)
	}
	if _, err := s.Lookup(byDigest); err != nil {
		t.Errorf("Lookup(%s) after pull: %v", byDigest, err)
	}
}

// TestPullIndex builds a multi-platform index (amd64 and arm64) and
// checks that each platform gets its own manifest, and that the digest
// reported is the index's, as Docker reports it.
func TestPullIndex(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	amd := makeImage(t, []testLayer{fileLayer(t, "amd64")}, nil)
	arm := makeImage(t, []testLayer{fileLayer(t, "arm64")}, nil)
	upload(t, reg, "multi/app", amd.digest.String(), amd, nil)
	upload(t, reg, "multi/app", arm.digest.String(), arm, nil)

	entry := func(img *testImage, arch, variant string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: img.manifestType, Digest: img.digest,
			Size:     int64(len(img.manifest)),
			Platform: &ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}}
	}
	index, _ := json.Marshal(ocispec.Index{
		Versioned: specsV2, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{entry(arm, "arm64", "v8"), entry(amd, "amd64", "")},
	})
	putManifest(t, reg, "multi/app", "latest", ocispec.MediaTypeImageIndex, index, nil)

	tests := []struct {
		platform string
		want     *testImage
		wantErr  string
	}{
		{"linux/amd64", amd, ""},
		{"linux/arm64", arm, ""},
		{"linux/arm64/v8", arm, ""},
		{"linux/s390x", nil, "no matching manifest for linux/s390x in the manifest list entries"},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			platform, err := ParsePlatform(tt.platform)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pull(t, newTestClient(t, Options{}), openStore(t),
				reg.Host+"/multi/app", PullOptions{Platform: platform})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Pull(%s) = %v, want error %q", tt.platform, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Image.Digest != tt.want.digest || res.Digest != digest.FromBytes(index) {
				t.Errorf("Pull(%s) = image %s, digest %s; want image %s, digest %s",
					tt.platform, res.Image.Digest, res.Digest, tt.want.digest,
					digest.FromBytes(index))
			}
		})
	}
}
