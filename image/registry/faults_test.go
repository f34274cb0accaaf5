package registry

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// faultProxy stands between the client and a real registry and breaks the
// answers to one path the way networks and registries break them.
type faultProxy struct {
	t      *testing.T
	target string
	srv    *httptest.Server

	mu       sync.Mutex
	path     string // the path suffix to break, e.g. /blobs/sha256:…
	kind     string // what to do to it; see serve
	times    int    // how many answers to break; -1: all
	requests []string
	// beforeFault, when set, runs before a broken answer is sent, so a
	// test can order the fault after something else has happened.
	beforeFault func()
}

func startProxy(t *testing.T, reg *registrytest.Registry) *faultProxy {
	p := &faultProxy{t: t, target: reg.URL()}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// Host is where the proxy listens, 127.0.0.1:PORT.
func (p *faultProxy) Host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// breakPath makes the next times answers to paths ending in path faulty.
func (p *faultProxy) breakPath(path, kind string, times int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path, p.kind, p.times = path, kind, times
}

// requestsTo lists the requests whose path ends in path, with their
// Range header.
func (p *faultProxy) requestsTo(path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var matching []string
	for _, r := range p.requests {
		if strings.Contains(r, path) {
			matching = append(matching, r)
		}
	}
	return matching
}

func (p *faultProxy) serve(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, fmt.Sprintf("%s %s range=%q", req.Method, req.URL.Path,
		req.Header.Get("Range")))
	kind := ""
	if strings.HasSuffix(req.URL.Path, p.path) && p.path != "" && p.times != 0 {
		kind = p.kind
		p.times--
	}
	beforeFault := p.beforeFault
	p.mu.Unlock()
	if kind != "" && beforeFault != nil {
		beforeFault()
	}

	if kind == "500" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"errors":[{"code":"UNKNOWN","message":"the proxy says no"}]}`)
		return
	}

	out, _ := http.NewRequestWithContext(req.Context(), req.Method, p.target+req.URL.RequestURI(),
		req.Body)
	out.Header = req.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	p.write(w, resp.StatusCode, body, kind)
}

// write sends the answer, broken as kind says.
func (p *faultProxy) write(w http.ResponseWriter, status int, body []byte, kind string) {
	switch kind {
	case "flip":
		body = bytes.Clone(body)
		body[len(body)/2] ^= 0x01
	case "digest-header":
		w.Header().Set("Docker-Content-Digest", digest.FromString("something else").String())
	case "manifest-body":
		body = append(bytes.Clone(body), ' ')
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)

	switch kind {
	case "truncate", "reset":
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			p.t.Errorf("hijack: %v", err)
			return
		}
		// SO_LINGER 0: close(2) sends a TCP reset instead of a FIN.
		if kind == "reset" {
			conn.(*net.TCPConn).SetLinger(0)
		}
		conn.Close()
	case "slow":
		for len(body) > 0 {
			n := min(16<<10, len(body))
			w.Write(body[:n])
			w.(http.Flusher).Flush()
			body = body[n:]
			time.Sleep(20 * time.Millisecond)
		}
	case "stall":
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		time.Sleep(3 * time.Second)
	default:
		w.Write(body)
	}
}

// TestPullFaults pulls an image of one 1 MB layer through a proxy that
// breaks the layer's (or the manifest's) transfer, and checks that each
// fault ends in a successful retry or a clear error, and never in a store
// holding something half-made.
func TestPullFaults(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	layer := makeLayer(t, map[string]string{"big": randomFile(1, 1<<20)}, gzipped)
	img := makeImage(t, []testLayer{layer}, nil)
	upload(t, reg, "faults/app", "v1", img, nil)
	blobPath := "/blobs/" + layer.desc.Digest.String()
	plainLayer := makeLayer(t, map[string]string{"big": randomFile(1, 1<<20)}, plain)
	upload(t, reg, "faults/plain", "v1", makeImage(t, []testLayer{plainLayer}, nil), nil)

	tests := []struct {
		name      string
		repo      string // default faults/app
		path      string
		kind      string
		times     int
		byDigest  bool
		wantErr   string
		wantRange bool // the retry resumed with a Range request
	}{
		{name: "HTTP 500 twice, then success", path: blobPath, kind: "500", times: 2},
		{name: "HTTP 500 on the manifest, then success", path: "/manifests/v1", kind: "500",
			times: 1},
		{name: "HTTP 500 for ever", path: blobPath, kind: "500", times: -1,
			wantErr: "unknown: the proxy says no"},
		{name: "truncated body, resumed", path: blobPath, kind: "truncate", times: 1,
			wantRange: true},
		{name: "truncated for ever", path: blobPath, kind: "truncate", times: -1,
			wantErr: "giving up after 4 tries"},
		{name: "connection reset mid-layer, resumed", path: blobPath, kind: "reset", times: 1,
			wantRange: true},
		{name: "stalled transfer, resumed", path: blobPath, kind: "stall", times: 1,
			wantRange: true},
		{name: "slow server", path: blobPath, kind: "slow", times: 1},
		{name: "one flipped byte, gzip", path: blobPath, kind: "flip", times: 1,
			wantErr: "gzip: invalid checksum"},
		{name: "one flipped byte, plain tar", repo: "faults/plain",
			path: "/blobs/" + plainLayer.desc.Digest.String(), kind: "flip", times: 1,
			wantErr: "content has digest"},
		{name: "wrong Docker-Content-Digest", path: "/manifests/v1", kind: "digest-header",
			times: 1, wantErr: "the registry says its digest is"},
		{name: "manifest not matching the digest asked for", byDigest: true,
			path: "/manifests/" + img.digest.String(), kind: "manifest-body", times: 1,
			wantErr: "not the " + img.digest.String() + " asked for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := startProxy(t, reg)
			proxy.breakPath(tt.path, tt.kind, tt.times)
			s := openStore(t)
			before := storeFiles(t, s)
			c := newTestClient(t, Options{Retries: 3, StallTimeout: 500 * time.Millisecond})

			rawRef := proxy.Host() + "/faults/app:v1"
			if tt.repo != "" {
				rawRef = proxy.Host() + "/" + tt.repo + ":v1"
			}
			if tt.byDigest {
				rawRef = proxy.Host() + "/faults/app@" + img.digest.String()
			}
			res, err := pull(t, c, s, rawRef, PullOptions{})
			if tt.wantErr != "" {
				checkFailedPull(t, s, before, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Pull() = %v, want success", err)
			}
			if res.Image.Digest != img.digest {
				t.Errorf("Pull() = image %s, want %s", res.Image.Digest, img.digest)
			}
			requests := proxy.requestsTo(blobPath)
			resumed := len(requests) > 1 && !strings.HasSuffix(requests[1], `range=""`)
			if resumed != tt.wantRange {
				t.Errorf("blob requests = %q; resumed with Range: %v, want %v", requests,
					resumed, tt.wantRange)
			}
		})
	}
}

// checkFailedPull checks that err is the error wanted and that the store
// is as it was before: no image, no blob, no layer, no scratch files.
func checkFailedPull(t *testing.T, s *image.Store, before []string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Pull() = %v, want error containing %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Pull() error spans lines: %q", err)
	}
	if diff := cmp.Diff(before, storeFiles(t, s)); diff != "" {
		t.Errorf("store after the failed pull (-before +after):\n%s", diff)
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Errorf("Images() after the failed pull = %d images, want none", len(images))
	}
}

// TestPullLies pulls images whose manifest or config lie, which the
// registry stores without complaint: every lie is caught, and nothing is
// stored.
func TestPullLies(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	layer := makeLayer(t, map[string]string{"f": randomFile(2, 64<<10)}, gzipped)
	other := makeLayer(t, map[string]string{"g": "other"}, gzipped)

	tests := []struct {
		name    string
		image   func() *testImage
		wantErr string
	}{
		{"layer size too small", func() *testImage {
			img := makeImage(t, []testLayer{layer}, nil)
			img.setManifest(t, ocispec.MediaTypeImageManifest, func(l []ocispec.Descriptor) {
				l[0].Size -= 10
			})
			return img
		}, "but the manifest says"},
		{"layer size too large", func() *testImage {
			img := makeImage(t, []testLayer{layer}, nil)
			img.setManifest(t, ocispec.MediaTypeImageManifest, func(l []ocispec.Descriptor) {
				l[0].Size += 10
			})
			return img
		}, "but the manifest says"},
		{"diff_id of another layer", func() *testImage {
			return makeImage(t, []testLayer{layer}, []digest.Digest{other.diffID})
		}, "but the image config says " + other.diffID.String()},
		{"fewer diff_ids than layers", func() *testImage {
			return makeImage(t, []testLayer{layer, other}, []digest.Digest{layer.diffID})
		}, "rootfs.diff_ids lists 1 layers, but the manifest lists 2"},
		{"more diff_ids than layers", func() *testImage {
			return makeImage(t, []testLayer{layer}, []digest.Digest{layer.diffID, other.diffID})
		}, "rootfs.diff_ids lists 2 layers, but the manifest lists 1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.image()
			repo := fmt.Sprintf("lies/%d", i)
			upload(t, reg, repo, "v1", img, nil)
			s := openStore(t)
			before := storeFiles(t, s)
			_, err := pull(t, newTestClient(t, Options{}), s, reg.Host+"/"+repo+":v1",
				PullOptions{})
			checkFailedPull(t, s, before, err, tt.wantErr)
		})
	}
}

// TestPullFailureKeepsCompletedLayers breaks the second of two layers for
// good: the pull fails and names nothing, the first layer stays as
// unnamed content, and the next pull, with the fault gone, reuses it.
func TestPullFailureKeepsCompletedLayers(t *testing.T) {
	reg := startRegistry(t, registrytest.Options{})
	first := makeLayer(t, map[string]string{"one": "1"}, gzipped)
	second := makeLayer(t, map[string]string{"two": randomFile(3, 256<<10)}, gzipped)
	img := makeImage(t, []testLayer{first, second}, nil)
	upload(t, reg, "partial/app", "v1", img, nil)
	proxy := startProxy(t, reg)
	proxy.breakPath("/blobs/"+second.desc.Digest.String(), "flip", -1)

	s := openStore(t)
	// The layers download in parallel: the corrupt one fails only once
	// the first is in the store, however slow this machine is today.
	proxy.beforeFault = func() {
		for range 1000 {
			if _, err := os.Stat(s.LayerDir(first.diffID)); err == nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	c := newTestClient(t, Options{})
	if _, err := pull(t, c, s, proxy.Host()+"/partial/app:v1", PullOptions{}); err == nil {
		t.Fatal("Pull() of a corrupt layer succeeded")
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Fatalf("Images() after the failed pull = %d, want 0", len(images))
	}

	proxy.breakPath("", "", 0)
	var progress statusLines
	if _, err := pull(t, c, s, proxy.Host()+"/partial/app:v1",
		PullOptions{Progress: progress.add}); err != nil {
		t.Fatal(err)
	}
	got := progress.of(shortDigest(first.desc.Digest))
	if !cmp.Equal(got, []string{"Already exists"}) {
		t.Errorf("first layer after the failed pull: %q, want [Already exists]", got)
	}
}
