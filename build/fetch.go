package build

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"time"

	"github.com/opencontainers/go-digest"
)

// download is a file that ADD fetched from a URL into the build's scratch
// directory.
type download struct {
	url  string
	file string
	size int64
	// digest is the SHA-256 of the content, for the cache key and
	// --checksum.
	digest digest.Digest
	// fileName is the last element of the URL's path ("" if none), the
	// name the file gets in a destination directory.
	fileName string
	// modTime is the server's Last-Modified, if it sent one.
	modTime time.Time
}

// fetch downloads rawURL, as ADD does on every build: the content is part
// of the cache key, so a changed file busts the cache. The download is
// made by skiff itself, over the host's network, whatever --network says
// for RUN steps. With checksum ("sha256:…") the content must match it.
func (r *buildRun) fetch(rawURL, checksum string) (*download, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", rawURL, err)
	}
	var want digest.Digest
	if checksum != "" {
		if want, err = digest.Parse(checksum); err != nil || want.Algorithm() != digest.SHA256 {
			return nil, fmt.Errorf("invalid --checksum %q: want sha256:<64 hex digits>", checksum)
		}
	}

	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", rawURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: server answered %s", rawURL, resp.Status)
	}

	d, err := r.saveDownload(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", rawURL, err)
	}
	d.url = rawURL
	if base := path.Base(u.Path); base != "/" && base != "." {
		d.fileName = base
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		d.modTime = t
	}
	if want != "" && want != d.digest {
		return nil, fmt.Errorf("download %s: checksum mismatch: got %s, want %s",
			rawURL, d.digest, want)
	}
	return d, nil
}

// saveDownload writes body to a file of the scratch directory while it
// computes its digest.
func (r *buildRun) saveDownload(body io.Reader) (*download, error) {
	f, err := os.CreateTemp(r.work, "download-*")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		return nil, err
	}
	d := &download{file: f.Name(), size: n, digest: digest.NewDigest(digest.SHA256, h)}
	return d, f.Close()
}
