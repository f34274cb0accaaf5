package image

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChange(t *testing.T) {
	tests := []struct {
		name    string
		changes []string
		want    ocispec.ImageConfig
	}{
		{"cmd exec form", []string{`CMD ["sh", "-c", "echo hi"]`},
			ocispec.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}}},
		{"cmd shell form", []string{`CMD echo hi`},
			ocispec.ImageConfig{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"entrypoint", []string{`ENTRYPOINT ["/bin/app"]`},
			ocispec.ImageConfig{Entrypoint: []string{"/bin/app"}}},
		{"env pairs and override", []string{`ENV A=1 B="two words"`, `ENV A=3`},
			ocispec.ImageConfig{Env: []string{"A=3", "B=two words"}}},
		{"env legacy form", []string{`ENV GREETING hello world`},
			ocispec.ImageConfig{Env: []string{"GREETING=hello world"}}},
		{"label", []string{`label maintainer="a b" version=1`},
			ocispec.ImageConfig{Labels: map[string]string{"maintainer": "a b", "version": "1"}}},
		{"expose", []string{`EXPOSE 80 53/udp`},
			ocispec.ImageConfig{ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}}},
		{"workdir relative", []string{`WORKDIR /srv`, `WORKDIR www`},
			ocispec.ImageConfig{WorkingDir: "/srv/www"}},
		{"user and stopsignal", []string{`USER nobody`, `STOPSIGNAL SIGQUIT`},
			ocispec.ImageConfig{User: "nobody", StopSignal: "SIGQUIT"}},
		{"volume", []string{`VOLUME ["/data"]`},
			ocispec.ImageConfig{Volumes: map[string]struct{}{"/data": {}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ocispec.ImageConfig
			for _, c := range tt.changes {
				if err := ApplyChange(&got, c); err != nil {
					t.Fatalf("ApplyChange(%q) error: %v", c, err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ApplyChange(%q) mismatch (-want +got):\n%s", tt.changes, diff)
			}
		})
	}
}

func TestApplyChangeRejects(t *testing.T) {
	for _, change := range []string{
		"RUN echo", "CMD", "ENV =x", `LABEL a="open`, "EXPOSE 0", "EXPOSE 80/icmp",
		"EXPOSE http", "", "FROM busybox",
	} {
		var cfg ocispec.ImageConfig
		if err := ApplyChange(&cfg, change); err == nil {
			t.Errorf("ApplyChange(%q) = nil, want an error", change)
		}
	}
}
