package main

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/network"
)

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		driver, subnet string
		want           netip.Prefix
		wantErr        bool
	}{
		{"bridge", "", netip.Prefix{}, false},
		{"bridge", "10.10.0.0/24", netip.MustParsePrefix("10.10.0.0/24"), false},
		{"bridge", "10.10.0.7/24", netip.MustParsePrefix("10.10.0.0/24"), false}, // host bits go
		{"bridge", "10.10.0.0", netip.Prefix{}, true},
		{"bridge", "fd00::/64", netip.Prefix{}, true},
		{"overlay", "", netip.Prefix{}, true},
	}
	for _, tt := range tests {
		got, err := parseSubnet(tt.driver, tt.subnet)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseSubnet(%q, %q) = %v, %v; want %v, error %v",
				tt.driver, tt.subnet, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNetworkTable(t *testing.T) {
	cfgs := []network.Config{
		{Name: "bridge", ID: strings.Repeat("ab", 32)},
		{Name: "labnet", ID: strings.Repeat("cd", 32)},
	}
	tests := []struct {
		name    string
		noTrunc bool
		want    [][]string
	}{
		{"short IDs", false, [][]string{
			{"abababababab", "bridge", "bridge", "local"},
			{"cdcdcdcdcdcd", "labnet", "bridge", "local"},
		}},
		{"--no-trunc", true, [][]string{
			{strings.Repeat("ab", 32), "bridge", "bridge", "local"},
			{strings.Repeat("cd", 32), "labnet", "bridge", "local"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, networkTable(cfgs, tt.noTrunc)); diff != "" {
				t.Errorf("networkTable mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewInspectNetwork checks the JSON of skiff network inspect against
// the field names and shapes of docker network inspect.
func TestNewInspectNetwork(t *testing.T) {
	created := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	n := &network.Network{
		Config: network.Config{
			Name: "labnet", ID: strings.Repeat("cd", 32), Bridge: "skiff-cdcdcdcd",
			Subnet:  netip.MustParsePrefix("172.30.0.0/24"),
			Gateway: netip.MustParseAddr("172.30.0.1"), MTU: 1500, Created: created,
		},
		Endpoints: []network.Endpoint{{
			Network: "labnet", ContainerID: strings.Repeat("01", 32), ContainerName: "web",
			MAC: "02:42:ac:1e:00:02", Address: netip.MustParsePrefix("172.30.0.2/24"),
		}},
	}
	raw, err := json.Marshal(newInspectNetwork(n))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Name": "labnet", "Id": strings.Repeat("cd", 32), "Created": "2026-08-01T12:00:00Z",
		"Scope": "local", "Driver": "bridge", "EnableIPv6": false,
		"IPAM": map[string]any{
			"Driver": "default", "Options": nil,
			"Config": []any{map[string]any{"Subnet": "172.30.0.0/24", "Gateway": "172.30.0.1"}},
		},
		"Internal": false, "Attachable": false,
		"Containers": map[string]any{
			strings.Repeat("01", 32): map[string]any{
				"Name": "web", "MacAddress": "02:42:ac:1e:00:02",
				"IPv4Address": "172.30.0.2/24", "IPv6Address": "",
			},
		},
		"Options": map[string]any{
			"com.docker.network.bridge.name": "skiff-cdcdcdcd",
			"com.docker.network.driver.mtu":  "1500",
		},
		"Labels": map[string]any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("network inspect JSON mismatch (-want +got):\n%s", diff)
	}
}

// TestNetworkCommandsUsage covers network and port command lines that fail
// before they reach a store: usage errors (exit code 125, one line and a
// pointer to --help), and a name skiff keeps for itself (exit code 1).
func TestNetworkCommandsUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{
			"a mode is not a network", []string{"network", "create", "host"}, exitFailure,
			"skiff: host is a pre-defined network mode and cannot be created\n",
		},
		{
			"create needs a name", []string{"network", "create"}, exitUsage,
			"skiff: \"skiff network create\" requires exactly 1 argument\n" +
				"See 'skiff network create --help'.\n",
		},
		{
			"bad subnet", []string{"network", "create", "--subnet", "10.0.0.0", "labnet"}, exitUsage,
			"skiff: invalid --subnet \"10.0.0.0\": want an IPv4 CIDR such as 10.10.0.0/24\n" +
				"See 'skiff network create --help'.\n",
		},
		{
			"other driver", []string{"network", "create", "-d", "overlay", "labnet"}, exitUsage,
			"skiff: invalid --driver \"overlay\": skiff has only the bridge driver\n" +
				"See 'skiff network create --help'.\n",
		},
		{
			"connect needs two", []string{"network", "connect", "labnet"}, exitUsage,
			"skiff: \"skiff network connect\" requires exactly 2 arguments\n" +
				"See 'skiff network connect --help'.\n",
		},
		{
			"port of a protocol skiff lacks", []string{"port", "web", "80/sctp"}, exitUsage,
			"skiff: invalid port \"80/sctp\": the protocol must be tcp or udp\n" +
				"See 'skiff port --help'.\n",
		},
		{
			"bad -p", []string{"run", "-p", "8080:http", "busybox"}, exitUsage,
			"skiff: invalid argument \"8080:http\" for \"-p, --publish\" flag: " +
				"parse port spec \"8080:http\": port \"http\": want a number from 1 to 65535\n" +
				"See 'skiff run --help'.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SKIFF_ROOT", t.TempDir())
			var stdout, stderr strings.Builder
			code := runCLI(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != "" || stderr.String() != tt.wantStderr {
				t.Errorf("runCLI(%q) = %d, stdout %q, stderr %q; want %d, nothing, %q",
					tt.args, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}
