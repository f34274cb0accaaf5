package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/container"
)

func TestNewContainerInspect(t *testing.T) {
	started := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	pids := int64(50)
	init := true
	timeout := 10
	c := &container.Container{
		ID: strings.Repeat("ab", 32), Name: "web", Image: testID("c"), ImageRef: "busybox",
		Created: started.Add(-time.Second),
		Options: container.Options{
			Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"httpd -f"},
			Env: []string{"PATH=/bin"}, Hostname: "abababababab", Tty: true,
			Volumes: []string{"/srv:/srv:ro"}, Tmpfs: []string{"/run:size=1m", "/tmp"},
			Memory: 64 << 20, CPUs: 1.5, PidsLimit: 50, Network: "none", Init: true,
			StopTimeout: 10,
		},
		State: container.State{Status: container.Running, Pid: 4242, StartedAt: started},
	}
	got := newContainerInspect(c, []string{"/l/1", "/l/2"}, "/b")

	want := inspectContainer{
		ID: c.ID, Created: "2026-08-01T11:59:59Z", Path: "/bin/sh", Args: []string{"-c", "httpd -f"},
		State: inspectState{
			Status: "running", Running: true, Pid: 4242,
			StartedAt: "2026-08-01T12:00:00Z", FinishedAt: "0001-01-01T00:00:00Z",
		},
		Image: testID("c").String(), Name: "/web", Driver: "overlay", Platform: "linux",
		HostConfig: inspectHostConfig{
			Binds: []string{"/srv:/srv:ro"}, NetworkMode: "none",
			Tmpfs:  map[string]string{"/run": "size=1m", "/tmp": ""},
			Memory: 64 << 20, NanoCpus: 1_500_000_000, PidsLimit: &pids, Init: &init,
		},
		GraphDriver: inspectGraphDriver{Name: "overlay", Data: map[string]string{
			"LowerDir": "/l/2:/l/1", "UpperDir": "/b/upper", "WorkDir": "/b/work",
			"MergedDir": "/b/rootfs",
		}},
		Config: inspectContainerConf{
			Hostname: "abababababab", Tty: true, Env: []string{"PATH=/bin"},
			Cmd: []string{"httpd -f"}, Image: "busybox", Entrypoint: []string{"/bin/sh", "-c"},
			StopTimeout: &timeout,
		},
		HostnamePath: "/b/hostname", HostsPath: "/b/hosts", ResolvConfPath: "/b/resolv.conf",
		LogPath: "/b/log.json",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newContainerInspect mismatch (-want +got):\n%s", diff)
	}

	// Unset limits are null in the JSON, as docker shows them.
	c.Options.PidsLimit, c.Options.Init = 0, false
	raw, err := json.Marshal(newContainerInspect(c, nil, "/b"))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"PidsLimit":null`, `"Init":null`, `"LowerDir":""`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("inspect JSON lacks %s:\n%s", field, raw)
		}
	}
}
