package main

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/network"
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
			PortBindings: map[string][]inspectPortBinding{},
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

func TestInspectPortsAndNetworks(t *testing.T) {
	web := &container.Container{
		ID: strings.Repeat("cd", 32), Name: "web",
		Options: container.Options{
			Network: "bridge",
			Ports: []network.PortMapping{
				{ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
				{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 53, Proto: "udp"},
			},
		},
	}
	bridge := network.Endpoint{
		Network: "bridge", ContainerID: web.ID, MAC: "02:42:ac:1d:00:02",
		Address: netip.MustParsePrefix("172.29.0.2/16"), Gateway: netip.MustParseAddr("172.29.0.1"),
		Ports: []network.PortMapping{
			{ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
			{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 53, HostPort: 40001,
				Proto: "udp"},
		},
	}
	labnet := network.Endpoint{
		Network: "labnet", ContainerID: web.ID, MAC: "02:42:ac:1e:00:03",
		Address: netip.MustParsePrefix("172.30.0.3/24"), Gateway: netip.MustParseAddr("172.30.0.1"),
	}
	ids := map[string]string{"bridge": "b1", "labnet": "l1"}

	// What was asked for: 53/udp on a port chosen at start.
	gotHost := newInspectHostConfig(&web.Options).PortBindings
	wantHost := map[string][]inspectPortBinding{
		"80/tcp": {{HostPort: "8080"}},
		"53/udp": {{HostIP: "127.0.0.1"}},
	}
	if diff := cmp.Diff(wantHost, gotHost); diff != "" {
		t.Errorf("PortBindings mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		eps  []network.Endpoint
		want inspectNetworkSettings
	}{
		{
			name: "not running: the network asked for, no address",
			want: inspectNetworkSettings{
				Ports:    map[string][]inspectPortBinding{},
				Networks: map[string]inspectEndpoint{"bridge": {NetworkID: "b1"}},
			},
		},
		{
			name: "running on two networks",
			eps:  []network.Endpoint{bridge, labnet},
			want: inspectNetworkSettings{
				Ports: map[string][]inspectPortBinding{
					"80/tcp": {{HostIP: "0.0.0.0", HostPort: "8080"}},
					"53/udp": {{HostIP: "127.0.0.1", HostPort: "40001"}},
				},
				IPAddress: "172.29.0.2", IPPrefixLen: 16, Gateway: "172.29.0.1",
				MacAddress: "02:42:ac:1d:00:02",
				Networks: map[string]inspectEndpoint{
					"bridge": {NetworkID: "b1", Gateway: "172.29.0.1", IPAddress: "172.29.0.2",
						IPPrefixLen: 16, MacAddress: "02:42:ac:1d:00:02"},
					"labnet": {NetworkID: "l1", Gateway: "172.30.0.1", IPAddress: "172.30.0.3",
						IPPrefixLen: 24, MacAddress: "02:42:ac:1e:00:03"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newInspectNetworkSettings(web, tt.eps, ids)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("newInspectNetworkSettings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
