package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/tarball"
)

// TestEveryMetadataInstruction builds one Dockerfile with every instruction
// that changes the config, and checks the config and history it made.
func TestEveryMetadataInstruction(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": `ARG BASE=busybox
FROM $BASE
MAINTAINER Ada <ada@example.com>
ARG APP=demo
ENV APP_HOME=/srv/$APP \
    PATH=/usr/local/bin:/usr/bin:/bin
ENV OLD legacy form, $APP
LABEL org.example.app=$APP "quoted key"="a b" single='$APP'
WORKDIR $APP_HOME
WORKDIR sub
USER nobody
EXPOSE 80 53/udp ${APP:+8080}
VOLUME /data /cache
VOLUME ["/json"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=2s --retries=2 CMD wget -q -O- localhost || exit 1
ONBUILD COPY . /src
SHELL ["/bin/sh", "-ec"]
CMD echo $APP_HOME
ENTRYPOINT ["/bin/sh", "-c"]
`,
	})
	img, _ := f.mustBuild(t, dir, Options{BuildArgs: map[string]string{"APP": "web"}})

	want := runConfig{
		ImageConfig: ocispec.ImageConfig{
			User:         "nobody",
			ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8080/tcp": {}},
			Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "APP_HOME=/srv/web",
				"OLD=legacy form, web"},
			Entrypoint: []string{"/bin/sh", "-c"},
			Cmd:        []string{"/bin/sh", "-ec", "echo $APP_HOME"},
			Volumes:    map[string]struct{}{"/data": {}, "/cache": {}, "/json": {}},
			WorkingDir: "/srv/web/sub",
			Labels: map[string]string{"org.example.app": "web", "quoted key": "a b",
				"single": "$APP"},
			StopSignal: "SIGQUIT",
		},
		Healthcheck: &healthConfig{
			Test:     []string{"CMD-SHELL", "wget -q -O- localhost || exit 1"},
			Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 2,
		},
		OnBuild: []string{"COPY . /src"},
		Shell:   []string{"/bin/sh", "-ec"},
	}
	if diff := cmp.Diff(want, f.config(t, img)); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if img.Config.Author != "Ada <ada@example.com>" {
		t.Errorf("author = %q, want MAINTAINER's", img.Config.Author)
	}

	// Only WORKDIR, which created directories, made a layer.
	var history []string
	for _, h := range img.Config.History[1:] {
		history = append(history, fmt.Sprintf("%s (empty %t)", h.CreatedBy, h.EmptyLayer))
	}
	wantHistory := []string{
		"MAINTAINER Ada <ada@example.com> (empty true)",
		"ARG APP (empty true)",
		"ENV APP_HOME=/srv/web PATH=/usr/local/bin:/usr/bin:/bin (empty true)",
		"ENV OLD=legacy form, web (empty true)",
		"LABEL org.example.app=web quoted key=a b single=$APP (empty true)",
		"WORKDIR /srv/web (empty false)",
		"WORKDIR /srv/web/sub (empty false)",
		"USER nobody (empty true)",
		"EXPOSE 80/tcp 53/udp 8080/tcp (empty true)",
		`VOLUME ["/data","/cache"] (empty true)`,
		`VOLUME ["/json"] (empty true)`,
		"STOPSIGNAL SIGQUIT (empty true)",
		`HEALTHCHECK --interval=5s --timeout=2s --retries=2 ` +
			`["CMD-SHELL","wget -q -O- localhost || exit 1"] (empty true)`,
		"ONBUILD COPY . /src (empty true)",
		`SHELL ["/bin/sh","-ec"] (empty true)`,
		`CMD ["/bin/sh","-ec","echo $APP_HOME"] (empty true)`,
		`ENTRYPOINT ["/bin/sh","-c"] (empty true)`,
	}
	if diff := cmp.Diff(wantHistory, history); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}
	if n := len(img.Config.RootFS.DiffIDs); n != 3 {
		t.Errorf("image has %d layers, want busybox's and one per WORKDIR", n)
	}
	got := f.run(t, img, "stat", "-c", "%n %a %u", "/srv/web/sub")
	if got != "/srv/web/sub 755 0\n" {
		t.Errorf("WORKDIR made %q", got)
	}
}

func TestEntrypointAndCmd(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		entrypoint, cmd  []string
	}{
		{"cmd inherited", "FROM busybox\n", nil, []string{"sh"}},
		{"entrypoint drops the inherited cmd", "FROM busybox\nENTRYPOINT [\"echo\"]\n",
			[]string{"echo"}, nil},
		{"entrypoint keeps a cmd set before it", "FROM busybox\nCMD [\"hi\"]\nENTRYPOINT echo\n",
			[]string{"/bin/sh", "-c", "echo"}, []string{"hi"}},
		{"cmd after entrypoint", "FROM busybox\nENTRYPOINT [\"echo\"]\nCMD [\"hi\"]\n",
			[]string{"echo"}, []string{"hi"}},
		{"shell form with SHELL", "FROM busybox\nSHELL [\"/bin/ash\", \"-c\"]\nCMD date\n",
			nil, []string{"/bin/ash", "-c", "date"}},
	}
	f := newFixture(t)
	dir := writeContext(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _ := f.mustBuild(t, dir, Options{Dockerfile: []byte(tt.dockerfile)})
			cfg := f.config(t, img)
			if !cmp.Equal(cfg.Entrypoint, tt.entrypoint, cmpopts.EquateEmpty()) ||
				!cmp.Equal(cfg.Cmd, tt.cmd, cmpopts.EquateEmpty()) {
				t.Errorf("entrypoint %q cmd %q, want %q %q", cfg.Entrypoint, cfg.Cmd,
					tt.entrypoint, tt.cmd)
			}
		})
	}
}

// TestCopyAndAdd checks where COPY and ADD put files and how: one build
// with every form, then one look at the result from inside a container.
func TestCopyAndAdd(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"Dockerfile": `FROM busybox
ARG NAME=world
COPY index.html /www/
COPY index.html /www/renamed.html
COPY dir /d1
COPY dir/ /d2/
COPY *.conf /conf/
COPY --chmod=700 --chown=nobody index.html /owned
COPY --chown=1234:5678 dir/sub /numeric/
COPY index.html /tmp/
RUN mkdir /real && ln -s /real /linkdir && mkdir /existing
COPY index.html /linkdir/
COPY index.html /existing
ADD arch.tar.gz /a1/
ADD plain.tar /a2
ADD arch.tar.zst /a3/
ADD notarchive.gz /a4/
COPY ["with space.txt", "/spaced/"]
WORKDIR /work
COPY index.html rel/
COPY <<EOF /inline.txt
hello $NAME "quoted"
EOF
COPY <<'EOF' <<two /inline/
literal $HOME
EOF
second
two
RUN <<EOF
echo script > /from-heredoc
EOF
RUN cat <<EOF > /cat-heredoc
line $((1+1))
EOF
`,
		"index.html": "hello\n", "dir/a.txt": "a\n", "dir/sub/b.txt": "b\n", "dir/link@": "a.txt",
		"one.conf": "1", "two.conf": "2", "with space.txt": "s",
		"arch.tar.gz": tarOf(t, tarball.Gzip), "plain.tar": tarOf(t, tarball.Uncompressed),
		"arch.tar.zst": tarOf(t, tarball.Zstd), "notarchive.gz": gzipOf(t, "not a tar\n"),
	}
	dir := writeContext(t, files)
	img, out := f.mustBuild(t, dir, Options{})

	paths := []string{"/www/index.html", "/www/renamed.html", "/d1", "/d1/a.txt", "/d1/sub/b.txt",
		"/d1/link", "/d2/a.txt", "/conf/one.conf", "/conf/two.conf", "/owned",
		"/numeric", "/numeric/b.txt", "/tmp", "/tmp/index.html", "/real/index.html",
		"/existing/index.html", "/a1/x/y.txt", "/a2/x/y.txt", "/a3/x/y.txt",
		"/a4/notarchive.gz", "/spaced/with space.txt", "/work/rel/index.html", "/inline.txt",
		"/inline/EOF", "/inline/two", "/from-heredoc", "/cat-heredoc"}
	got := f.run(t, img, append([]string{"stat", "-c", "%n %F %a %u:%g"}, paths...)...)
	want := `/www/index.html regular file 644 0:0
/www/renamed.html regular file 644 0:0
/d1 directory 755 0:0
/d1/a.txt regular file 644 0:0
/d1/sub/b.txt regular file 644 0:0
/d1/link symbolic link 777 0:0
/d2/a.txt regular file 644 0:0
/conf/one.conf regular file 644 0:0
/conf/two.conf regular file 644 0:0
/owned regular file 700 65534:65534
/numeric directory 755 1234:5678
/numeric/b.txt regular file 644 1234:5678
/tmp directory 1777 0:0
/tmp/index.html regular file 644 0:0
/real/index.html regular file 644 0:0
/existing/index.html regular file 644 0:0
/a1/x/y.txt regular file 640 0:0
/a2/x/y.txt regular file 640 0:0
/a3/x/y.txt regular file 640 0:0
/a4/notarchive.gz regular file 644 0:0
/spaced/with space.txt regular file 644 0:0
/work/rel/index.html regular file 644 0:0
/inline.txt regular file 644 0:0
/inline/EOF regular file 644 0:0
/inline/two regular file 644 0:0
/from-heredoc regular file 644 0:0
/cat-heredoc regular file 644 0:0
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s\nbuild output:\n%s", diff, out)
	}

	got = f.run(t, img, "cat", "/inline.txt", "/inline/EOF", "/inline/two", "/from-heredoc",
		"/cat-heredoc", "/a4/notarchive.gz")
	want = "hello world \"quoted\"\nliteral $HOME\nsecond\nscript\nline 2\n" +
		gzipOf(t, "not a tar\n")
	if got != want {
		t.Errorf("file contents = %q, want %q", got, want)
	}
	got = f.run(t, img, "sh", "-c", "readlink /d1/link; readlink /linkdir")
	if got != "a.txt\n/real\n" {
		t.Errorf("links = %q", got)
	}
}

// tarOf makes a small archive holding x/y.txt (mode 0640, owned by 7:7,
// which ADD makes root's), compressed as c.
func tarOf(t *testing.T, c tarball.Compression) string {
	var buf bytes.Buffer
	w, err := tarball.NewWriter(&buf, c)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(w)
	tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./x/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 7, Gid: 7})
	tw.WriteHeader(&tar.Header{Name: "./x/y.txt", Typeflag: tar.TypeReg, Mode: 0o640, Size: 2,
		Uid: 7, Gid: 7})
	tw.Write([]byte("y\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func gzipOf(t *testing.T, s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.ModTime = time.Unix(0, 0)
	zw.Write([]byte(s))
	zw.Close()
	return buf.String()
}

func TestAddURL(t *testing.T) {
	content := "downloaded\n"
	modified := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/tool.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
		fmt.Fprint(w, content)
	}))
	defer srv.Close()

	f := newFixture(t)
	dir := writeContext(t, nil)
	dockerfile := func(extra string) []byte {
		return []byte(fmt.Sprintf("FROM busybox\nADD %s %s/files/tool.txt /dl/\n", extra, srv.URL))
	}
	img, _ := f.mustBuild(t, dir, Options{Dockerfile: dockerfile("")})
	got := f.run(t, img, "stat", "-c", "%n %a %u %Y", "/dl/tool.txt")
	if want := fmt.Sprintf("/dl/tool.txt 600 0 %d\n", modified.Unix()); got != want {
		t.Errorf("downloaded file: %q, want %q", got, want)
	}

	// The same content is a cache hit; new content is not.
	_, out := f.mustBuild(t, dir, Options{Dockerfile: dockerfile("")})
	if !cmp.Equal(cachedSteps(out), []bool{false, true}) {
		t.Errorf("same download: steps from the cache = %v, want [false true]", cachedSteps(out))
	}
	content = "changed\n"
	_, out = f.mustBuild(t, dir, Options{Dockerfile: dockerfile("")})
	if !cmp.Equal(cachedSteps(out), []bool{false, false}) {
		t.Errorf("changed download: steps from the cache = %v, want [false false]",
			cachedSteps(out))
	}

	sum := "sha256:" + fmt.Sprintf("%x", sha256Sum(content))
	_, out, err := f.build(t, dir, Options{Dockerfile: dockerfile("--checksum=" + sum)})
	if err != nil {
		t.Errorf("ADD --checksum with the right digest: %v\n%s", err, out)
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	_, _, err = f.build(t, dir, Options{Dockerfile: dockerfile("--checksum=" + wrong)})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("ADD --checksum with a wrong digest: error = %v", err)
	}
	missing := []byte("FROM busybox\nADD " + srv.URL + "/nope /x\n")
	if _, _, err := f.build(t, dir, Options{Dockerfile: missing}); err == nil ||
		!strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("ADD of a missing URL: error = %v", err)
	}
}

func TestReproducibleBuild(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN mkdir -p /var/www && touch /var/www/stamp\n" +
			"COPY index.html /var/www/\nCOPY <<EOF /inline\nx\nEOF\nWORKDIR /app\nENV A=1\n",
		"index.html": "hi\n",
	})
	// The steps write files with the current time; the epoch caps them.
	epoch := time.Unix(1700000000, 0)
	first, _ := f.mustBuild(t, dir, Options{NoCache: true, SourceDateEpoch: epoch})
	time.Sleep(1100 * time.Millisecond)
	second, _ := f.mustBuild(t, dir, Options{NoCache: true, SourceDateEpoch: epoch})
	if first.ID != second.ID {
		t.Errorf("two builds with SOURCE_DATE_EPOCH made %s and %s, want the same image",
			first.ShortID(), second.ShortID())
	}
	if diff := cmp.Diff(first.Manifest.Layers, second.Manifest.Layers); diff != "" {
		t.Errorf("layer digests differ (-first +second):\n%s", diff)
	}
	if !first.Config.Created.Equal(epoch) {
		t.Errorf("created = %v, want the epoch %v", first.Config.Created, epoch)
	}

	// Without it, the times differ.
	plain, _ := f.mustBuild(t, dir, Options{NoCache: true})
	if plain.ID == first.ID {
		t.Error("a build without SOURCE_DATE_EPOCH made the same image as one with it")
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TestSkopeoReadsBuiltImages saves a built image in both archive formats
// and has skopeo, an independent implementation, read them.
func TestSkopeoReadsBuiltImages(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed: apt-get install skopeo")
	}
	f := newFixture(t)
	dir := writeContext(t, tutorial)
	img, _ := f.mustBuild(t, dir, Options{Tags: []string{"busybox-web:1"}})

	for _, format := range []image.ArchiveFormat{image.FormatDocker, image.FormatOCI} {
		archive := filepath.Join(t.TempDir(), "image.tar")
		out, err := os.Create(archive)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.images.Save(out, []string{"busybox-web:1"}, format); err != nil {
			t.Fatal(err)
		}
		out.Close()

		transport := map[image.ArchiveFormat]string{image.FormatDocker: "docker-archive:",
			image.FormatOCI: "oci-archive:"}[format]
		inspect := exec.Command(skopeo, "inspect", "--config", "--raw", transport+archive)
		raw, err := inspect.Output()
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v", format, err)
		}
		if id := sha256Sum(string(raw)); fmt.Sprintf("sha256:%x", id) != img.ID.String() {
			t.Errorf("%s archive: skopeo reads a config with digest sha256:%x, want %s",
				format, id, img.ID)
		}
		info, err := exec.Command(skopeo, "inspect", transport+archive).Output()
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v", format, err)
		}
		if n := strings.Count(string(info), `"sha256:`); n < 5 {
			t.Errorf("%s archive: skopeo sees %d digests, want the image's and 4 layers:\n%s",
				format, n, info)
		}
	}
}

// TestBuildArgs checks where ARG values come from and who sees them.
func TestBuildArgs(t *testing.T) {
	f := newFixture(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "ARG TAG=latest\nARG FROM_META=meta\nFROM busybox:$TAG\n" +
			"ARG FROM_META\nARG DEFAULTED=dflt\nARG OVERRIDDEN=dflt\nARG SHADOWED=arg\n" +
			"ENV SHADOWED=env\nARG TARGETARCH\n" +
			"RUN echo $FROM_META $DEFAULTED $OVERRIDDEN $SHADOWED $HTTP_PROXY > /seen && " +
			"test -n \"$TARGETARCH\"\n",
	})
	img, out := f.mustBuild(t, dir, Options{BuildArgs: map[string]string{
		"OVERRIDDEN": "given", "HTTP_PROXY": "http://proxy:3128", "UNUSED": "x",
	}})
	if got := f.run(t, img, "cat", "/seen"); got != "meta dflt given env http://proxy:3128\n" {
		t.Errorf("RUN saw %q", got)
	}
	if !strings.Contains(out, "[Warning] One or more build-args [UNUSED] were not consumed\n") {
		t.Errorf("output lacks the warning about UNUSED:\n%s", out)
	}

	// The ARGs a RUN sees are in its history line (and its cache key); the
	// proxy, which describes the host, is not.
	last := img.Config.History[len(img.Config.History)-1].CreatedBy
	if !strings.HasPrefix(last, "RUN |5 FROM_META=meta DEFAULTED=dflt OVERRIDDEN=given "+
		"SHADOWED=arg TARGETARCH=") || strings.Contains(last, "proxy") {
		t.Errorf("history of the RUN step = %q", last)
	}
}
