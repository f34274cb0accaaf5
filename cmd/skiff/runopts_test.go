package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/skiff-dev/skiff/container"
)

func TestParseMemory(t *testing.T) {
	tests := []struct {
		raw     string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"512b", 512, false},
		{"512k", 512 << 10, false},
		{"512m", 512 << 20, false},
		{"512M", 512 << 20, false},
		{"512mb", 512 << 20, false},
		{"512MiB", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1.5g", 3 << 29, false},
		{"2t", 2 << 40, false},
		{"64 m", 64 << 20, false},
		{"0", 0, false},
		{"", 0, true},
		{"m", 0, true},
		{"-1g", 0, true},
		{"1x", 0, true},
		{"1e3", 0, true},
		{"0x10", 0, true},
		{"inf", 0, true},
		{"twelve", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseMemory(tt.raw)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseMemory(%q) = %d, %v; want %d, error %v",
					tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMemoryFlagMinimum(t *testing.T) {
	var m memoryValue
	if err := m.Set("4m"); err == nil {
		t.Errorf("memoryValue.Set(4m) = nil, want the 6MB minimum error")
	}
	if err := m.Set("6m"); err != nil || m != 6<<20 {
		t.Errorf("memoryValue.Set(6m) = %v (value %d), want nil (value %d)", err, m, 6<<20)
	}
}

func TestParseCPUs(t *testing.T) {
	tests := []struct {
		raw     string
		want    float64
		wantErr bool
	}{
		{"0.5", 0.5, false},
		{"1", 1, false},
		{"1.5", 1.5, false},
		{"2", 2, false},
		{"0", 0, false},
		{"0.001", 0, true},
		{"3", 0, true},
		{"-1", 0, true},
		{"half", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseCPUs(tt.raw, 2)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseCPUs(%q, 2) = %v, %v; want %v, error %v",
					tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// hostEnv is a fake host environment for the lookups of a bare KEY.
func hostEnv(vars map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := vars[key]
		return v, ok
	}
}

func TestParseEnvFile(t *testing.T) {
	lookup := hostEnv(map[string]string{"HOME": "/root", "EMPTY": ""})
	tests := []struct {
		name    string
		file    string
		want    []string
		wantErr string
	}{
		{
			name: "pairs, comments and blank lines",
			file: "# settings\nA=1\n\n   \nB=two words\n  # indented comment\nC=\n",
			want: []string{"A=1", "B=two words", "C="},
		},
		{
			name: "values are literal: quotes, spaces, equals signs",
			file: "Q=\"quoted\"\nS=  padded  \nURL=a=b=c\n",
			want: []string{`Q="quoted"`, "S=  padded  ", "URL=a=b=c"},
		},
		{
			name: "leading space before the key is dropped",
			file: "   INDENTED=yes\n",
			want: []string{"INDENTED=yes"},
		},
		{
			name: "bare key passes the host's value through",
			file: "HOME\nEMPTY\nUNSET\n",
			want: []string{"HOME=/root", "EMPTY="},
		},
		{
			name: "windows line ends are not part of the value",
			file: "A=1\r\nB=2\r\n",
			want: []string{"A=1", "B=2"},
		},
		{name: "no key", file: "=value\n", wantErr: "line 1: no variable name"},
		{name: "space in key", file: "OK=1\nBAD KEY=1\n", wantErr: "line 2: variable \"BAD KEY\""},
		{name: "not UTF-8", file: "A=\xff\n", wantErr: "line 1: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvFile(strings.NewReader(tt.file), lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseEnvFile(%q) error = %v, want one containing %q",
						tt.file, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseEnvFile(%q) error = %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseEnvFile(%q) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestRunEnvOrder(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/env"
	if err := os.WriteFile(file, []byte("A=from-file\nB=from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lookup := hostEnv(map[string]string{"USER": "alice"})

	got, err := runEnv([]string{file}, []string{"B=from-flag", "USER", "NOPE"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	// The files first, then the flags: a later entry wins when the
	// container package merges them.
	want := []string{"A=from-file", "B=from-file", "B=from-flag", "USER=alice"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runEnv mismatch (-want +got):\n%s", diff)
	}

	if _, err := runEnv([]string{dir + "/missing"}, nil, lookup); err == nil {
		t.Errorf("runEnv(missing file) = nil error, want one")
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		raw     string
		want    string
		wantErr bool
	}{
		{"/srv/data:/data", "/srv/data:/data", false},
		{"/srv/data:/data:ro", "/srv/data:/data:ro", false},
		{"/srv/data:/data:rw", "/srv/data:/data:rw", false},
		{"/srv/data/:/data", "/srv/data:/data", false},
		{"./data:/data", "/home/me/data:/data", false},
		{"../data:/data:ro", "/home/data:/data:ro", false},
		{".:/src", "/home/me:/src", false},
		{"data:/data", "", true},         // a named volume
		{"/srv/data", "", true},          // no container path
		{"/srv/data:data", "", true},     // relative container path
		{"/srv/data:/data:rx", "", true}, // unknown mode
		{"/a:/b:ro:extra", "", true},
		{":/data", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseVolume(tt.raw, "/home/me")
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseVolume(%q) = %q, %v; want %q, error %v",
					tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCreateOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want container.CreateOptions
	}{
		{
			name: "defaults keep the image's entrypoint",
			args: []string{"busybox"},
			want: container.CreateOptions{Options: container.Options{Network: "bridge"}},
		},
		{
			name: "flags after the image belong to the command",
			args: []string{"--rm", "-it", "busybox", "ls", "-l", "--rm"},
			want: container.CreateOptions{
				Args: []string{"ls", "-l", "--rm"},
				Options: container.Options{
					AutoRemove: true, Tty: true, OpenStdin: true, Network: "bridge",
				},
			},
		},
		{
			name: "an empty entrypoint is not a missing one",
			args: []string{"--entrypoint", "", "busybox"},
			want: container.CreateOptions{
				Entrypoint: []string{""},
				Options:    container.Options{Network: "bridge"},
			},
		},
		{
			name: "published ports, in the order given",
			args: []string{"-p", "8080:80", "--publish", "127.0.0.1::53/udp", "-P",
				"--network", "labnet", "busybox"},
			want: container.CreateOptions{
				Publish:    []string{"8080:80", "127.0.0.1::53/udp"},
				PublishAll: true,
				Options:    container.Options{Network: "labnet"},
			},
		},
		{
			name: "limits and names",
			args: []string{
				"--name", "web", "-m", "512m", "--cpus", "0.5", "--pids-limit", "-1",
				"--network", "host", "-e", "A=1", "-w", "/srv", "-u", "nobody",
				"--hostname", "box", "--read-only", "--tmpfs", "/run:size=1m",
				"--init", "--stop-signal", "USR1", "--stop-timeout", "3", "busybox",
			},
			want: container.CreateOptions{
				Name: "web",
				Options: container.Options{
					Memory: 512 << 20, CPUs: 0.5, Network: "host", Env: []string{"A=1"},
					WorkingDir: "/srv", User: "nobody", Hostname: "box", ReadOnly: true,
					Tmpfs: []string{"/run:size=1m"}, Init: true, StopSignal: "USR1",
					StopTimeout: 3,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f runFlags
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			addRunFlags(fs, &f, true)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			got, err := f.createOptions(fs, fs.Args()[1:])
			if err != nil {
				t.Fatalf("createOptions(%q) = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("createOptions(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseTail(t *testing.T) {
	tests := []struct {
		raw     string
		want    int
		wantErr bool
	}{
		{"all", -1, false},
		{"", -1, false},
		{"0", 0, false},
		{"10", 10, false},
		{"-5", -1, false},
		{"ten", 0, true},
	}
	for _, tt := range tests {
		got, err := parseTail(tt.raw)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTail(%q) = %d, %v; want %d, error %v",
				tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSplitCpArg(t *testing.T) {
	tests := []struct {
		arg, wantCtr, wantPath string
	}{
		{"web:/etc/hostname", "web", "/etc/hostname"},
		{"web:etc", "web", "etc"},
		{"/tmp/a:b", "", "/tmp/a:b"},
		{"./a:b", "", "./a:b"},
		{"file.txt", "", "file.txt"},
		{"abc123:/", "abc123", "/"},
	}
	for _, tt := range tests {
		ctr, path := splitCpArg(tt.arg)
		if ctr != tt.wantCtr || path != tt.wantPath {
			t.Errorf("splitCpArg(%q) = %q, %q; want %q, %q",
				tt.arg, ctr, path, tt.wantCtr, tt.wantPath)
		}
	}
}
