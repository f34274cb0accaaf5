package cgroups

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Sample /proc/self/mountinfo excerpts, one per layout.
const (
	// hybridMountinfo is this project's CI machine: v1 controllers each
	// mounted alone, a cgroup2 mount with none of them.
	hybridMountinfo = `22 1 253:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	// unifiedMountinfo is a systemd host in unified mode; note the
	// optional field "shared:9" before the "-".
	unifiedMountinfo = `24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
28 22 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	// legacyMountinfo is an older systemd host: cpu and cpuacct (and
	// net_cls, net_prio) co-mounted, no cgroup2 at all.
	legacyMountinfo = `25 18 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,xattr,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:11 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw shared:12 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/memory rw shared:13 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/pids rw shared:14 - cgroup cgroup rw,pids
33 25 0:30 / /sys/fs/cgroup/freezer rw shared:15 - cgroup cgroup rw,freezer
`
	// nestedMountinfo is inside a container without a cgroup namespace:
	// only its own subtree is mounted, and the path has a space in it.
	nestedMountinfo = `700 650 0:26 /docker/4f1e /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw
701 650 0:27 /my\040group /mnt/my\040cgroup rw - cgroup cgroup rw,memory
`
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      []mount
	}{
		{
			name:      "pure v2",
			mountinfo: unifiedMountinfo,
			want: []mount{{
				root: "/", point: "/sys/fs/cgroup", v2: true,
				options: []string{"rw", "nsdelegate", "memory_recursiveprot"},
			}},
		},
		{
			name:      "nested root and escaped space",
			mountinfo: nestedMountinfo,
			want: []mount{
				{root: "/docker/4f1e", point: "/sys/fs/cgroup", v2: true, options: []string{"rw"}},
				{root: "/my group", point: "/mnt/my cgroup", options: []string{"rw", "memory"}},
			},
		},
		{
			name:      "co-mounted v1 controllers",
			mountinfo: legacyMountinfo[strings.Index(legacyMountinfo, "29 25"):],
			want: []mount{
				{
					root: "/", point: "/sys/fs/cgroup/cpu,cpuacct",
					options: []string{"rw", "cpu", "cpuacct"},
				},
				{
					root: "/", point: "/sys/fs/cgroup/net_cls,net_prio",
					options: []string{"rw", "net_cls", "net_prio"},
				},
				{root: "/", point: "/sys/fs/cgroup/memory", options: []string{"rw", "memory"}},
				{root: "/", point: "/sys/fs/cgroup/pids", options: []string{"rw", "pids"}},
				{root: "/", point: "/sys/fs/cgroup/freezer", options: []string{"rw", "freezer"}},
			},
		},
		{
			name:      "no cgroup mounts",
			mountinfo: "22 1 253:0 / / rw,relatime - ext4 /dev/vda rw\n",
			want:      nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfo(strings.NewReader(tt.mountinfo))
			if err != nil {
				t.Fatalf("parseMountinfo() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(mount{})); diff != "" {
				t.Errorf("parseMountinfo() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMountinfoMalformed(t *testing.T) {
	for _, line := range []string{
		"31 23 0:28 / /sys/fs/cgroup rw,relatime tmpfs tmpfs rw", // no "-"
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2",      // cut short
		"31 23 - cgroup2 cgroup2 rw",                             // fields missing
	} {
		_, err := parseMountinfo(strings.NewReader(line + "\n"))
		if !errors.Is(err, errMalformed) {
			t.Errorf("parseMountinfo(%q) error = %v, want %v", line, err, errMalformed)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := map[string]string{
		`/plain`:          "/plain",
		`/a\040b`:         "/a b",
		`/tab\011nl\012`:  "/tab\tnl\n",
		`/back\134slash`:  `/back\slash`,
		`/not\08octal`:    `/not\08octal`,
		`/short\04`:       `/short\04`,
		`/two\040\040end`: "/two  end",
	}
	for in, want := range tests {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLayoutOf(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      layout
	}{
		{
			name:      "hybrid",
			mountinfo: hybridMountinfo,
			want: layout{
				mode: Hybrid,
				v1: map[string]string{
					"cpu":     "/sys/fs/cgroup/cpu",
					"cpuacct": "/sys/fs/cgroup/cpuacct",
					"cpuset":  "/sys/fs/cgroup/cpuset",
					"memory":  "/sys/fs/cgroup/memory",
					"devices": "/sys/fs/cgroup/devices",
					"freezer": "/sys/fs/cgroup/freezer",
					"blkio":   "/sys/fs/cgroup/blkio",
					"pids":    "/sys/fs/cgroup/pids",
				},
				v2: "/sys/fs/cgroup/unified",
			},
		},
		{
			name:      "pure v2",
			mountinfo: unifiedMountinfo,
			want:      layout{mode: Unified, v1: map[string]string{}, v2: "/sys/fs/cgroup"},
		},
		{
			name:      "pure v1 with co-mounted controllers",
			mountinfo: legacyMountinfo,
			want: layout{
				mode: Legacy,
				v1: map[string]string{
					"cpu":      "/sys/fs/cgroup/cpu,cpuacct",
					"cpuacct":  "/sys/fs/cgroup/cpu,cpuacct",
					"net_cls":  "/sys/fs/cgroup/net_cls,net_prio",
					"net_prio": "/sys/fs/cgroup/net_cls,net_prio",
					"memory":   "/sys/fs/cgroup/memory",
					"pids":     "/sys/fs/cgroup/pids",
					"freezer":  "/sys/fs/cgroup/freezer",
				},
			},
		},
		{
			name: "v2 plus systemd's named v1 hierarchy is still unified",
			mountinfo: unifiedMountinfo +
				"40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n",
			want: layout{mode: Unified, v1: map[string]string{}, v2: "/sys/fs/cgroup"},
		},
		{
			name: "first of two mounts of a hierarchy wins",
			mountinfo: unifiedMountinfo +
				"50 28 0:26 / /mnt/again rw - cgroup2 cgroup2 rw\n",
			want: layout{mode: Unified, v1: map[string]string{}, v2: "/sys/fs/cgroup"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mounts, err := parseMountinfo(strings.NewReader(tt.mountinfo))
			if err != nil {
				t.Fatalf("parseMountinfo() error: %v", err)
			}
			got, err := layoutOf(mounts)
			if err != nil {
				t.Fatalf("layoutOf() error: %v", err)
			}
			opt := cmp.AllowUnexported(layout{}, programCalls{})
			if diff := cmp.Diff(tt.want, got, opt); diff != "" {
				t.Errorf("layoutOf() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayoutOfNone(t *testing.T) {
	mounts := []mount{{point: "/sys/fs/cgroup/systemd", options: []string{"rw", "name=systemd"}}}
	if _, err := layoutOf(mounts); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("layoutOf(only name=systemd) error = %v, want %v", err, fs.ErrNotExist)
	}
}

func TestDirs(t *testing.T) {
	mounts, err := parseMountinfo(strings.NewReader(legacyMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	l, err := layoutOf(mounts)
	if err != nil {
		t.Fatal(err)
	}

	// cpu and cpuacct share one directory; net_cls is not used.
	want := []dir{
		{
			mount:       "/sys/fs/cgroup/memory",
			path:        "/sys/fs/cgroup/memory/skiff/abc",
			controllers: []string{"memory"},
		},
		{
			mount:       "/sys/fs/cgroup/cpu,cpuacct",
			path:        "/sys/fs/cgroup/cpu,cpuacct/skiff/abc",
			controllers: []string{"cpu", "cpuacct"},
		},
		{
			mount:       "/sys/fs/cgroup/pids",
			path:        "/sys/fs/cgroup/pids/skiff/abc",
			controllers: []string{"pids"},
		},
		{
			mount:       "/sys/fs/cgroup/freezer",
			path:        "/sys/fs/cgroup/freezer/skiff/abc",
			controllers: []string{"freezer"},
		},
	}
	if diff := cmp.Diff(want, l.dirs("skiff/abc"), cmp.AllowUnexported(dir{})); diff != "" {
		t.Errorf("dirs(skiff/abc) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name  string
		lines string
		want  []Membership
	}{
		{
			name:  "pure v2",
			lines: "0::/user.slice/user-1000.slice/session-2.scope\n",
			want:  []Membership{{ID: 0, Path: "/user.slice/user-1000.slice/session-2.scope"}},
		},
		{
			name: "hybrid, nested in memory only",
			lines: "9:name=systemd:/\n4:memory:/process_api/5e387285\n" +
				"1:cpu:/\n0::/\n",
			want: []Membership{
				{ID: 9, Controllers: []string{"name=systemd"}, Path: "/"},
				{ID: 4, Controllers: []string{"memory"}, Path: "/process_api/5e387285"},
				{ID: 1, Controllers: []string{"cpu"}, Path: "/"},
				{ID: 0, Path: "/"},
			},
		},
		{
			name:  "pure v1, co-mounted, colon in path",
			lines: "3:cpu,cpuacct:/docker/a:b\n2:pids:/docker/ab\n",
			want: []Membership{
				{ID: 3, Controllers: []string{"cpu", "cpuacct"}, Path: "/docker/a:b"},
				{ID: 2, Controllers: []string{"pids"}, Path: "/docker/ab"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcCgroup(strings.NewReader(tt.lines))
			if err != nil {
				t.Fatalf("parseProcCgroup() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseProcCgroup() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProcCgroupMalformed(t *testing.T) {
	for _, line := range []string{"garbage", "x:memory:/"} {
		if _, err := parseProcCgroup(strings.NewReader(line)); err == nil {
			t.Errorf("parseProcCgroup(%q) error = nil, want one", line)
		}
	}
}

func TestCPUs(t *testing.T) {
	tests := []struct {
		cpus                float64
		wantQuota, wantPerd int64
	}{
		{cpus: 0.5, wantQuota: 50000, wantPerd: 100000},
		{cpus: 1.5, wantQuota: 150000, wantPerd: 100000},
		{cpus: 2, wantQuota: 200000, wantPerd: 100000},
		{cpus: 0.01, wantQuota: 1000, wantPerd: 100000},
		{cpus: 0.333333, wantQuota: 33333, wantPerd: 100000},
		{cpus: 0, wantQuota: 0, wantPerd: 0},
		{cpus: -1, wantQuota: 0, wantPerd: 0},
	}
	for _, tt := range tests {
		q, p := CPUs(tt.cpus)
		if q != tt.wantQuota || p != tt.wantPerd {
			t.Errorf("CPUs(%v) = %d, %d, want %d, %d", tt.cpus, q, p, tt.wantQuota, tt.wantPerd)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"skiff/0123abcd", true},
		{"skiff", true},
		{"", false},
		{".", false},
		{"/skiff/abc", false},
		{"../skiff", false},
		{"skiff/../../etc", false},
		{"skiff//abc", false},
		{"skiff/abc/", false},
		{"cgroup.procs", false},
	}
	for _, tt := range tests {
		err := checkName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("checkName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{
		Legacy: "legacy", Hybrid: "hybrid", Unified: "unified", 0: "unknown",
	} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}
