package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/network"
)

func TestStatusColumn(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state container.State
		want  string
	}{
		{"created", container.State{Status: container.Created}, "Created"},
		{
			"just started",
			container.State{Status: container.Running, StartedAt: now.Add(-300 * time.Millisecond)},
			"Up Less than a second",
		},
		{
			"up seconds",
			container.State{Status: container.Running, StartedAt: now.Add(-5 * time.Second)},
			"Up 5 seconds",
		},
		{
			"up a minute",
			container.State{Status: container.Running, StartedAt: now.Add(-70 * time.Second)},
			"Up About a minute",
		},
		{
			"up hours",
			container.State{Status: container.Running, StartedAt: now.Add(-3 * time.Hour)},
			"Up 3 hours",
		},
		{
			"exited",
			container.State{Status: container.Exited, FinishedAt: now.Add(-2 * time.Minute)},
			"Exited (0) 2 minutes ago",
		},
		{
			"killed",
			container.State{
				Status: container.Exited, ExitCode: 137, FinishedAt: now.Add(-1 * time.Second),
			},
			"Exited (137) 1 second ago",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusColumn(tt.state, now); got != tt.want {
				t.Errorf("statusColumn(%+v) = %q, want %q", tt.state, got, tt.want)
			}
		})
	}
}

func TestCommandColumn(t *testing.T) {
	tests := []struct {
		args    []string
		noTrunc bool
		want    string
	}{
		{[]string{"sh"}, false, `"sh"`},
		{[]string{"httpd", "-f"}, false, `"httpd -f"`},
		{[]string{"sh", "-c", "exactly twenty ch"}, false, `"sh -c exactly twent…"`},
		{[]string{"sh", "-c", "while true; do sleep 1; done"}, false, `"sh -c while true; d…"`},
		{[]string{"sh", "-c", "while true; do sleep 1; done"}, true,
			`"sh -c while true; do sleep 1; done"`},
		{[]string{"echo", `say "hi"`}, false, `"echo say \"hi\""`},
		{nil, false, `""`},
	}
	for _, tt := range tests {
		if got := commandColumn(tt.args, tt.noTrunc); got != tt.want {
			t.Errorf("commandColumn(%q, %v) = %s, want %s", tt.args, tt.noTrunc, got, tt.want)
		}
	}
}

func TestPsTable(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	busybox := &image.Image{ID: testID("b"), Tags: []image.Reference{mustRef(t, "busybox")}}
	retagged := testID("c") // an image that busybox:latest named before

	web := &container.Container{
		ID: "0123456789ab" + "cdef0123456789abcdef0123456789abcdef0123456789abcdef", Name: "web",
		Image: busybox.ID, ImageRef: "busybox", Created: now.Add(-time.Minute),
		Options: container.Options{Cmd: []string{"httpd", "-f"}},
		State:   container.State{Status: container.Running, StartedAt: now.Add(-50 * time.Second)},
	}
	old := &container.Container{
		ID: "fedcba987654" + "3210fedcba9876543210fedcba9876543210fedcba9876543210", Name: "old",
		Image: retagged, ImageRef: "busybox", Created: now.Add(-3 * time.Hour),
		Options: container.Options{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"exit 3"}},
		State: container.State{
			Status: container.Exited, ExitCode: 3, FinishedAt: now.Add(-2 * time.Hour),
		},
	}

	// Ports of a container that is no longer running are not shown.
	ports := map[string][]network.PortMapping{
		web.ID: {
			{ContainerPort: 53, HostPort: 5353, Proto: "udp"},
			{ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
		},
		old.ID: {{ContainerPort: 80, HostPort: 8081, Proto: "tcp"}},
	}
	got := psTable([]*container.Container{web, old}, []*image.Image{busybox}, ports, false, now)
	want := [][]string{
		{"0123456789ab", "busybox", `"httpd -f"`, "About a minute ago", "Up 50 seconds",
			"0.0.0.0:5353->53/udp, 0.0.0.0:8080->80/tcp", "web"},
		{"fedcba987654", shortID(retagged), `"/bin/sh -c exit 3"`, "3 hours ago",
			"Exited (3) 2 hours ago", "", "old"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("psTable mismatch (-want +got):\n%s", diff)
	}
}

func TestNamesImage(t *testing.T) {
	img := &image.Image{ID: testID("a"), Tags: []image.Reference{mustRef(t, "busybox:1.36")}}
	imgs := []*image.Image{img}
	tests := []struct {
		rawRef string
		id     digest.Digest
		want   bool
	}{
		{"busybox:1.36", img.ID, true},
		{"docker.io/library/busybox:1.36", img.ID, true},
		{"busybox", img.ID, false}, // busybox:latest is another name
		{img.ID.Encoded()[:12], img.ID, true},
		{img.ID.String(), img.ID, true},
		{"busybox:1.36", testID("f"), false},
	}
	for _, tt := range tests {
		if got := namesImage(tt.rawRef, tt.id, imgs); got != tt.want {
			t.Errorf("namesImage(%q, %s) = %v, want %v", tt.rawRef, shortID(tt.id), got, tt.want)
		}
	}
}

func mustRef(t *testing.T, rawRef string) image.Reference {
	t.Helper()
	ref, err := image.ParseReference(rawRef)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
