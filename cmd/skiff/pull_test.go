package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// TestPullInterrupted sends Ctrl-C (SIGINT) to a skiff pull in the middle
// of a slow transfer: skiff stops with one line, the store names nothing
// and keeps no scratch files, and the next pull succeeds.
func TestPullInterrupted(t *testing.T) {
	if err := registrytest.Available(); err != nil {
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the test image holds files owned by root; storing them needs root")
	}
	reg, err := registrytest.Start(t.TempDir(), registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rawRef := reg.Host + "/big/app:1"
	pushRandomImage(t, rawRef, 8<<20)

	// A proxy that lets blobs through at about 2 MB/s.
	proxy := httptest.NewServer(slowProxy(reg.URL()))
	defer proxy.Close()
	slowRef := strings.TrimPrefix(proxy.URL, "http://") + "/big/app:1"

	root := t.TempDir()
	skiff := filepath.Join(t.TempDir(), "skiff")
	if err := os.Symlink(os.Args[0], skiff); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(skiff, "--root", root, "pull", slowRef)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, stdout, ": Downloading")
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	go io.Copy(io.Discard, stdout)

	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitFailure {
		t.Errorf("interrupted pull: %v, want exit status %d", err, exitFailure)
	}
	if got := stderr.String(); !strings.HasPrefix(got, "skiff: pull interrupted") ||
		strings.Count(got, "\n") != 1 {
		t.Errorf("interrupted pull stderr = %q, want one line: pull interrupted", got)
	}
	checkNoImages(t, root)

	var out, errOut bytes.Buffer
	if code := runCLI([]string{"--root", root, "pull", rawRef}, nil, &out, &errOut); code != 0 {
		t.Fatalf("pull after the interrupted one: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Status: Downloaded newer image for") {
		t.Errorf("pull after the interrupted one:\n%s", out.String())
	}
}

// pushRandomImage imports an image of one file of n random bytes (which
// do not compress) into a scratch store and pushes it as rawRef.
func pushRandomImage(t *testing.T, rawRef string, n int) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	tw.WriteHeader(&tar.Header{Name: "data", Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	tarFile := filepath.Join(t.TempDir(), "layer.tar")
	os.WriteFile(tarFile, buf.Bytes(), 0o644)

	src := t.TempDir()
	for _, args := range [][]string{{"import", tarFile, rawRef}, {"push", rawRef}} {
		var out, errOut bytes.Buffer
		args = append([]string{"--root", src}, args...)
		if code := runCLI(args, nil, &out, &errOut); code != 0 {
			t.Fatalf("skiff %v: exit %d: %s", args, code, errOut.String())
		}
	}
}

// slowProxy forwards requests to target, sending response bodies in
// 16 KiB pieces every 8 ms.
func slowProxy(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		out, _ := http.NewRequestWithContext(req.Context(), req.Method,
			target+req.URL.RequestURI(), req.Body)
		out.Header = req.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 16<<10)
		for {
			n, err := resp.Body.Read(buf)
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			w.(http.Flusher).Flush()
			if err != nil {
				return
			}
			time.Sleep(8 * time.Millisecond)
		}
	})
}

// waitForLine reads r until a line contains substr, for at most a minute.
func waitForLine(t *testing.T, r io.Reader, substr string) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), substr) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("output ended without a line containing %q", substr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no line containing %q within a minute", substr)
	}
}

// checkNoImages checks that the store at root names no image and that no
// command left scratch files in it.
func checkNoImages(t *testing.T, root string) {
	t.Helper()
	// Before Open, which would clean up after a dead command.
	if entries, _ := os.ReadDir(filepath.Join(root, "tmp")); len(entries) != 0 {
		t.Errorf("scratch files left after the interrupted pull: %v", entries)
	}
	s, err := image.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if images, err := s.Images(); err != nil || len(images) != 0 {
		t.Errorf("Images() after the interrupted pull = %d images, %v; want none",
			len(images), err)
	}
}
