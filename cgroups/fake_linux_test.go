package cgroups

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/explain"
)

// These tests run the code of every layout against fake hierarchies:
// plain directories and files in a temporary directory, listed in a fake
// mountinfo. They need no root, and reach what this host's kernel cannot
// show: v2 limit files, and v1 hierarchies mounted together.

// fakeMount is a hierarchy of a fake host: its mount point below the
// fake root, and its v1 super options, or "" for cgroup2.
type fakeMount struct {
	point, options string
}

// fakeHost writes files (path below the root: content) into a new
// temporary root, and the layout of mounts into a fake mountinfo, then
// reads that layout back as readLayout does for the real host.
func fakeHost(t *testing.T, mounts []fakeMount, files map[string]string) (string, layout) {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var b strings.Builder
	for i, m := range mounts {
		if err := os.MkdirAll(filepath.Join(root, m.point), 0o755); err != nil {
			t.Fatal(err)
		}
		fstype, options := "cgroup", m.options
		if options == "" {
			fstype, options = "cgroup2", "rw"
		}
		fmt.Fprintf(&b, "%d 1 0:%d / %s rw,relatime - %s %s %s\n",
			30+i, 30+i, filepath.Join(root, m.point), fstype, fstype, options)
	}
	mountinfo := filepath.Join(root, "mountinfo")
	if err := os.WriteFile(mountinfo, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	l, err := readLayout(mountinfo)
	if err != nil {
		t.Fatalf("readLayout() error: %v", err)
	}
	progs := &fakePrograms{}
	l.programs = programCalls{query: progs.query, attach: progs.attach}
	return root, l
}

// fakePrograms stands for the kernel's record of the device programs
// attached to groups, which a plain directory cannot take: the
// directories attach was called for. It does not notice a directory
// removed and made again, as the kernel would by dropping the program.
type fakePrograms struct {
	mu  sync.Mutex
	has map[string]bool
}

// query stands for bpf(BPF_PROG_QUERY): one program ID if dir has a
// program, none if not.
func (f *fakePrograms) query(dir string) ([]uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.has[dir] {
		return []uint32{1}, nil
	}
	return nil, nil
}

// attach stands for the bpf(2) calls that load and attach the device
// program: it checks that the rules compile, narrates the attach as the
// real one does, and records it.
func (f *fakePrograms) attach(log *slog.Logger, dir string, rules []deviceRule) error {
	if len(deviceProgram(rules)) == 0 {
		return errors.New("no device program")
	}
	explain.Step(log, explain.Cgroups, "fake", "bpf(BPF_PROG_ATTACH, %q, BPF_CGROUP_DEVICE)", dir)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.has == nil {
		f.has = map[string]bool{}
	}
	f.has[dir] = true
	return nil
}

// writeLog is a [slog.Handler] that keeps the control-file writes that
// package cgroups narrates (explain.Step: write("PATH", "VALUE")) as
// "path=value", and the device programs it attaches (bpf(BPF_PROG_ATTACH,
// "PATH", ...)) as "path=<device program>", with path relative to root.
// It keeps every narrated bpf(2) call in bpf too, with root left out.
type writeLog struct {
	root   string
	mu     sync.Mutex
	writes []string
	bpf    []string
}

var (
	narratedWrite  = regexp.MustCompile(`^write\(("[^"]*"), ("[^"]*")\)$`)
	narratedAttach = regexp.MustCompile(`^bpf\(BPF_PROG_ATTACH, ("[^"]*"), BPF_CGROUP_DEVICE\)$`)
)

// attached is how writeLog shows an attached device program.
const attached = "<device program>"

func (w *writeLog) Enabled(context.Context, slog.Level) bool { return true }
func (w *writeLog) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *writeLog) WithGroup(string) slog.Handler            { return w }

func (w *writeLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level == explain.Level && strings.HasPrefix(r.Message, "bpf(") {
		w.mu.Lock()
		w.bpf = append(w.bpf, strings.ReplaceAll(r.Message, w.root+"/", ""))
		w.mu.Unlock()
	}
	m := narratedWrite.FindStringSubmatch(r.Message)
	if m == nil {
		if m = narratedAttach.FindStringSubmatch(r.Message); m != nil {
			m = append(m, strconv.Quote(attached))
		}
	}
	if r.Level != explain.Level || m == nil {
		return nil
	}
	path, err := strconv.Unquote(m[1])
	if err != nil {
		return err
	}
	value, err := strconv.Unquote(m[2])
	if err != nil {
		return err
	}
	path, _ = filepath.Rel(w.root, path)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, path+"="+value)
	return nil
}

// leaf returns empty control files for the group skiff/c1 below mount.
func leaf(mount string, names ...string) map[string]string {
	files := map[string]string{}
	for _, n := range names {
		files[filepath.Join(mount, "skiff/c1", n)] = ""
	}
	return files
}

// merge returns the union of file sets.
func merge(sets ...map[string]string) map[string]string {
	all := map[string]string{}
	for _, s := range sets {
		for k, v := range s {
			all[k] = v
		}
	}
	return all
}

var (
	// v2Root is a v2 root offering every controller, with none enabled.
	v2Root = map[string]string{
		"cg/cgroup.controllers":           "cpuset cpu io memory hugetlb pids",
		"cg/cgroup.subtree_control":       "",
		"cg/skiff/cgroup.controllers":     "cpu memory pids",
		"cg/skiff/cgroup.subtree_control": "",
	}
	v2Leaf = leaf("cg",
		"cgroup.procs", "memory.max", "memory.swap.max", "cpu.max", "pids.max")
	v2LeafNoSwap = leaf("cg", "cgroup.procs", "memory.max", "cpu.max", "pids.max")

	// v1Leaves are the control files of separately mounted hierarchies.
	v1Leaves = merge(
		leaf("memory", "cgroup.procs", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
		leaf("cpu", "cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us"),
		leaf("cpuacct", "cgroup.procs"),
		leaf("pids", "cgroup.procs", "pids.max"),
		leaf("freezer", "cgroup.procs", "freezer.state"),
		leaf("devices", "cgroup.procs", "devices.deny", "devices.allow"),
	)
	v1Mounts = []fakeMount{
		{"memory", "rw,memory"}, {"cpu", "rw,cpu"}, {"cpuacct", "rw,cpuacct"},
		{"pids", "rw,pids"}, {"freezer", "rw,freezer"}, {"devices", "rw,devices"},
	}

	// v1Writes are the limits of testResources on v1.
	v1Writes = []string{
		"memory/skiff/c1/memory.limit_in_bytes=33554432",
		"memory/skiff/c1/memory.memsw.limit_in_bytes=33554432",
		"cpu/skiff/c1/cpu.cfs_period_us=100000",
		"cpu/skiff/c1/cpu.cfs_quota_us=50000",
		"pids/skiff/c1/pids.max=10",
	}
	testResources = Resources{Memory: 32 << 20, CPUQuota: 50000, CPUPeriod: 100000, PidsMax: 10}

	// v1DeviceWrites are the device rules in a v1 devices hierarchy.
	v1DeviceWrites = []string{
		"devices/skiff/c1/devices.deny=a",
		"devices/skiff/c1/devices.allow=c *:* m",
		"devices/skiff/c1/devices.allow=b *:* m",
		"devices/skiff/c1/devices.allow=c 1:3 rwm",
		"devices/skiff/c1/devices.allow=c 1:5 rwm",
		"devices/skiff/c1/devices.allow=c 1:7 rwm",
		"devices/skiff/c1/devices.allow=c 1:8 rwm",
		"devices/skiff/c1/devices.allow=c 1:9 rwm",
		"devices/skiff/c1/devices.allow=c 5:0 rwm",
		"devices/skiff/c1/devices.allow=c 5:1 rwm",
		"devices/skiff/c1/devices.allow=c 5:2 rwm",
		"devices/skiff/c1/devices.allow=c 136:* rwm",
		"devices/skiff/c1/devices.allow=c 10:200 rwm",
	}
)

func TestCreateWritesFake(t *testing.T) {
	tests := []struct {
		name   string
		mounts []fakeMount
		files  map[string]string
		mode   Mode
		want   []string
	}{
		{
			name:   "unified enables controllers level by level",
			mounts: []fakeMount{{"cg", ""}},
			files:  merge(v2Root, v2Leaf),
			mode:   Unified,
			want: []string{
				"cg/cgroup.subtree_control=+cpu",
				"cg/cgroup.subtree_control=+memory",
				"cg/cgroup.subtree_control=+pids",
				"cg/skiff/cgroup.subtree_control=+cpu",
				"cg/skiff/cgroup.subtree_control=+memory",
				"cg/skiff/cgroup.subtree_control=+pids",
				"cg/skiff/c1/memory.max=33554432",
				"cg/skiff/c1/memory.swap.max=0",
				"cg/skiff/c1/cpu.max=50000 100000",
				"cg/skiff/c1/pids.max=10",
				"cg/skiff=" + attached,
			},
		},
		{
			name:   "unified with controllers already enabled, no swap accounting",
			mounts: []fakeMount{{"cg", ""}},
			files: merge(v2Root, v2LeafNoSwap, map[string]string{
				"cg/cgroup.subtree_control":       "cpu memory pids",
				"cg/skiff/cgroup.subtree_control": "memory pids cpu",
			}),
			mode: Unified,
			want: []string{
				"cg/skiff/c1/memory.max=33554432",
				"cg/skiff/c1/cpu.max=50000 100000",
				"cg/skiff/c1/pids.max=10",
				"cg/skiff=" + attached,
			},
		},
		{
			name: "legacy with cpu and cpuacct co-mounted, device rules in v1",
			mounts: []fakeMount{
				{"memory", "rw,memory"}, {"cpu,cpuacct", "rw,cpu,cpuacct"},
				{"pids", "rw,pids"}, {"devices", "rw,devices"},
				{"systemd", "rw,name=systemd"},
			},
			files: merge(
				leaf("memory", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
				leaf("cpu,cpuacct", "cpu.cfs_period_us", "cpu.cfs_quota_us"),
				leaf("pids", "pids.max"),
				leaf("devices", "devices.deny", "devices.allow"),
			),
			mode: Legacy,
			want: slices.Concat([]string{
				"memory/skiff/c1/memory.limit_in_bytes=33554432",
				"memory/skiff/c1/memory.memsw.limit_in_bytes=33554432",
				"cpu,cpuacct/skiff/c1/cpu.cfs_period_us=100000",
				"cpu,cpuacct/skiff/c1/cpu.cfs_quota_us=50000",
				"pids/skiff/c1/pids.max=10",
			}, v1DeviceWrites),
		},
		{
			name:   "hybrid: limits on v1, the device program on v2, no v1 device rules",
			mounts: slices.Concat(v1Mounts, []fakeMount{{"unified", ""}}),
			files: merge(v1Leaves, map[string]string{
				"unified/cgroup.controllers":     "hugetlb",
				"unified/cgroup.subtree_control": "",
			}),
			mode: Hybrid,
			want: slices.Concat(v1Writes, []string{"unified/skiff=" + attached}),
		},
		{
			name: "hybrid with memory on v2 (cgroup_no_v1=memory)",
			mounts: []fakeMount{
				{"cpu", "rw,cpu"}, {"pids", "rw,pids"}, {"unified", ""},
			},
			files: merge(
				leaf("cpu", "cpu.cfs_period_us", "cpu.cfs_quota_us"),
				leaf("pids", "pids.max"),
				leaf("unified", "memory.max", "memory.swap.max"),
				map[string]string{
					"unified/cgroup.controllers":           "memory",
					"unified/cgroup.subtree_control":       "",
					"unified/skiff/cgroup.controllers":     "memory",
					"unified/skiff/cgroup.subtree_control": "",
				},
			),
			mode: Hybrid,
			want: []string{
				"unified/cgroup.subtree_control=+memory",
				"unified/skiff/cgroup.subtree_control=+memory",
				"unified/skiff/c1/memory.max=33554432",
				"unified/skiff/c1/memory.swap.max=0",
				"cpu/skiff/c1/cpu.cfs_period_us=100000",
				"cpu/skiff/c1/cpu.cfs_quota_us=50000",
				"pids/skiff/c1/pids.max=10",
				"unified/skiff=" + attached,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, l := fakeHost(t, tt.mounts, tt.files)
			if l.mode != tt.mode {
				t.Errorf("layout mode = %v, want %v", l.mode, tt.mode)
			}
			log := &writeLog{root: root}

			if _, err := create(l, "skiff/c1", testResources, slog.New(log)); err != nil {
				t.Fatalf("create() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, log.writes); diff != "" {
				t.Errorf("create() writes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// On a hybrid host a group joins a v1 hierarchy only for a limit its
// controller enforces: the v2 directory lists, freezes and kills, and its
// program holds the device rules.
func TestAddFake(t *testing.T) {
	tests := []struct {
		name string
		r    Resources
		add  func(c *Cgroup) error
		want []string
	}{
		{"no limits", Resources{}, func(c *Cgroup) error { return c.Add(42) },
			[]string{"unified/skiff/c1/cgroup.procs=42"}},
		{"every limit", Resources{Memory: 1 << 20, CPUQuota: 50000, CPUPeriod: 100000, PidsMax: 9},
			func(c *Cgroup) error { return c.Add(42) },
			[]string{
				"memory/skiff/c1/cgroup.procs=42",
				"cpu/skiff/c1/cgroup.procs=42",
				"pids/skiff/c1/cgroup.procs=42",
				"unified/skiff/c1/cgroup.procs=42",
			}},
		{"born in the v2 group", Resources{Memory: 1 << 20},
			func(c *Cgroup) error { return c.AddV1(42) },
			[]string{"memory/skiff/c1/cgroup.procs=42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mounts := slices.Concat(v1Mounts, []fakeMount{{"unified", ""}})
			root, l := fakeHost(t, mounts, merge(v1Leaves, map[string]string{
				"unified/cgroup.controllers":     "",
				"unified/cgroup.subtree_control": "",
				"unified/skiff/c1/cgroup.procs":  "",
			}))
			c, err := create(l, "skiff/c1", tt.r, nil)
			if err != nil {
				t.Fatalf("create() error: %v", err)
			}
			log := &writeLog{root: root}
			c.log = slog.New(log)

			if err := tt.add(c); err != nil {
				t.Fatalf("adding 42: %v", err)
			}
			var procs []string
			for _, w := range log.writes {
				if strings.Contains(w, "cgroup.procs") {
					procs = append(procs, w)
				}
			}
			if diff := cmp.Diff(tt.want, procs); diff != "" {
				t.Errorf("cgroup.procs writes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateFailsFake(t *testing.T) {
	tests := []struct {
		name   string
		mounts []fakeMount
		files  map[string]string
		r      Resources
		want   error
		// left are the directories that must still exist afterwards.
		left []string
	}{
		{
			name:   "v1 memory limit without a memory hierarchy",
			mounts: []fakeMount{{"pids", "rw,pids"}, {"freezer", "rw,freezer"}},
			files:  map[string]string{"pids/skiff/other/cgroup.procs": ""},
			r:      Resources{Memory: 1 << 20},
			want:   ErrNoController,
			left:   []string{"pids/skiff", "pids/skiff/other"},
		},
		{
			name:   "v2 memory limit where the root does not offer memory",
			mounts: []fakeMount{{"cg", ""}},
			files: map[string]string{
				"cg/cgroup.controllers":     "cpu pids",
				"cg/cgroup.subtree_control": "",
			},
			r:    Resources{Memory: 1 << 20},
			want: ErrNoController,
		},
		{
			name:   "v2 controller not offered one level down",
			mounts: []fakeMount{{"cg", ""}},
			files: map[string]string{
				"cg/cgroup.controllers":           "memory",
				"cg/cgroup.subtree_control":       "memory",
				"cg/skiff/cgroup.controllers":     "",
				"cg/skiff/cgroup.subtree_control": "",
			},
			want: ErrNoController,
			left: []string{"cg/skiff"},
		},
		{
			name:   "legacy without a devices hierarchy",
			mounts: []fakeMount{{"pids", "rw,pids"}, {"freezer", "rw,freezer"}},
			files:  map[string]string{"pids/skiff/other/cgroup.procs": ""},
			want:   ErrNoController,
			left:   []string{"pids/skiff", "pids/skiff/other"},
		},
		{
			name: "missing control file",
			mounts: []fakeMount{
				{"pids", "rw,pids"}, {"freezer", "rw,freezer"}, {"devices", "rw,devices"},
			},
			files: map[string]string{"freezer/skiff/other/freezer.state": ""},
			r:     Resources{PidsMax: 5},
			want:  fs.ErrNotExist,
			left:  []string{"freezer/skiff", "freezer/skiff/other"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, l := fakeHost(t, tt.mounts, tt.files)
			_, err := create(l, "skiff/c1", tt.r, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("create() error = %v, want %v", err, tt.want)
			}

			// Only what create made is gone: the pre-existing stays.
			var left []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				rel, _ := filepath.Rel(root, p)
				if d.IsDir() && strings.Contains(rel, "skiff") {
					left = append(left, rel)
				}
				return nil
			})
			if diff := cmp.Diff(tt.left, left); diff != "" {
				t.Errorf("directories left (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateWriteErrorIsPathError(t *testing.T) {
	_, l := fakeHost(t, []fakeMount{{"pids", "rw,pids"}, {"devices", "rw,devices"}}, nil)
	_, err := create(l, "skiff/c1", Resources{PidsMax: 5}, nil)

	var pe *os.PathError
	if !errors.As(err, &pe) || filepath.Base(pe.Path) != "pids.max" {
		t.Errorf("create() error = %v, want an *os.PathError for pids.max", err)
	}
}

// A group whose device program cannot be attached, or whose parent cannot
// be asked for one, is not left behind: a container must not run without
// its device rules.
func TestCreateFailsWithoutDeviceProgram(t *testing.T) {
	refused := errors.New("refused")
	tests := []struct {
		name  string
		calls programCalls
	}{
		{"attach refused", programCalls{
			attach: func(*slog.Logger, string, []deviceRule) error { return refused },
		}},
		{"query refused", programCalls{
			query: func(string) ([]uint32, error) { return nil, refused },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, l := fakeHost(t, []fakeMount{{"unified", ""}}, map[string]string{
				"unified/cgroup.controllers":     "",
				"unified/cgroup.subtree_control": "",
			})
			if tt.calls.query != nil {
				l.programs.query = tt.calls.query
			}
			if tt.calls.attach != nil {
				l.programs.attach = tt.calls.attach
			}

			if _, err := create(l, "skiff/c1", Resources{}, nil); !errors.Is(err, refused) {
				t.Fatalf("create() error = %v, want %v", err, refused)
			}
			_, err := os.Stat(filepath.Join(root, "unified/skiff"))
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after failed create, stat unified/skiff: %v, want not exist", err)
			}
		})
	}
}

// The device program goes on the parent of the container groups, once:
// each Create asks whether it is there, and only the first attaches it. A
// group without a parent below the root gets a program of its own.
func TestDeviceProgramOnceFake(t *testing.T) {
	query := func(dir string) string {
		return fmt.Sprintf("bpf(BPF_PROG_QUERY, %q, BPF_CGROUP_DEVICE)", dir)
	}
	attach := func(dir string) string {
		return fmt.Sprintf("bpf(BPF_PROG_ATTACH, %q, BPF_CGROUP_DEVICE)", dir)
	}
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{
			name:  "two containers below skiff",
			names: []string{"skiff/c1", "skiff/c2"},
			want:  []string{query("cg/skiff"), attach("cg/skiff"), query("cg/skiff")},
		},
		{
			name:  "the immediate parent of a deeper name",
			names: []string{"skiff/pod/c1", "skiff/pod/c2", "skiff/other/c3"},
			want: []string{
				query("cg/skiff/pod"), attach("cg/skiff/pod"),
				query("cg/skiff/pod"),
				query("cg/skiff/other"), attach("cg/skiff/other"),
			},
		},
		{
			name:  "names without a parent",
			names: []string{"c1", "c2", "c1"},
			want: []string{
				query("cg/c1"), attach("cg/c1"),
				query("cg/c2"), attach("cg/c2"),
				query("cg/c1"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, l := fakeHost(t, []fakeMount{{"cg", ""}}, map[string]string{
				"cg/cgroup.controllers":     "",
				"cg/cgroup.subtree_control": "",
			})
			log := &writeLog{root: root}
			for _, name := range tt.names {
				if _, err := create(l, name, Resources{}, slog.New(log)); err != nil {
					t.Fatalf("create(%q) error: %v", name, err)
				}
			}
			if diff := cmp.Diff(tt.want, log.bpf); diff != "" {
				t.Errorf("create(%q) bpf calls mismatch (-want +got):\n%s", tt.names, diff)
			}
		})
	}
}

func TestStatsFake(t *testing.T) {
	tests := []struct {
		name      string
		mounts    []fakeMount
		files     map[string]string
		want      Stats
		wantOOM   bool
		wantOOMEr error
	}{
		{
			name:   "unified",
			mounts: []fakeMount{{"cg", ""}},
			files: map[string]string{
				"cg/cgroup.controllers":          "cpu memory pids",
				"cg/skiff/c1/cgroup.controllers": "cpu memory pids",
				"cg/skiff/c1/memory.current":     "1048576\n",
				"cg/skiff/c1/pids.current":       "3\n",
				"cg/skiff/c1/cpu.stat":           "usage_usec 2500\nuser_usec 2000\n",
				"cg/skiff/c1/memory.events":      "low 0\nmax 7\noom 1\noom_kill 1\n",
			},
			want:    Stats{Memory: 1 << 20, Pids: 3, CPU: 2500 * time.Microsecond},
			wantOOM: true,
		},
		{
			name:   "unified without controllers",
			mounts: []fakeMount{{"cg", ""}},
			files: map[string]string{
				"cg/cgroup.controllers":          "hugetlb",
				"cg/skiff/c1/cgroup.controllers": "",
				"cg/skiff/c1/cpu.stat":           "usage_usec 7\n",
			},
			want:      Stats{CPU: 7 * time.Microsecond},
			wantOOMEr: ErrNoController,
		},
		{
			name:   "hybrid reads v1, cpuacct before v2 cpu.stat",
			mounts: slices.Concat(v1Mounts, []fakeMount{{"unified", ""}}),
			files: map[string]string{
				"unified/cgroup.controllers":            "",
				"unified/skiff/c1/cgroup.controllers":   "",
				"unified/skiff/c1/cpu.stat":             "usage_usec 999\n",
				"memory/skiff/c1/memory.usage_in_bytes": "2097152\n",
				"memory/skiff/c1/memory.oom_control":    "under_oom 0\noom_kill 0\n",
				"cpuacct/skiff/c1/cpuacct.usage":        "123456789\n",
				"pids/skiff/c1/pids.current":            "2\n",
			},
			want: Stats{Memory: 2 << 20, Pids: 2, CPU: 123456789},
		},
		{
			name:   "legacy kernel before 4.13 has no oom_kill",
			mounts: []fakeMount{{"memory", "rw,memory"}},
			files: map[string]string{
				"memory/skiff/c1/memory.usage_in_bytes": "4096\n",
				"memory/skiff/c1/memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\n",
			},
			want: Stats{Memory: 4096},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, l := fakeHost(t, tt.mounts, tt.files)
			c, err := open(l, "skiff/c1", nil)
			if err != nil {
				t.Fatalf("open() error: %v", err)
			}

			got, err := c.Stats()
			if err != nil {
				t.Fatalf("Stats() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
			}

			oom, err := c.OOMKilled()
			if !errors.Is(err, tt.wantOOMEr) || oom != tt.wantOOM {
				t.Errorf("OOMKilled() = %v, %v, want %v, %v", oom, err, tt.wantOOM, tt.wantOOMEr)
			}
		})
	}
}

func TestOpenFake(t *testing.T) {
	root, l := fakeHost(t, []fakeMount{{"memory", "rw,memory"}, {"pids", "rw,pids"}},
		map[string]string{"pids/skiff/half/cgroup.procs": ""})

	// A group half-deleted (still in pids, gone from memory) opens, so
	// that its removal can be finished.
	c, err := open(l, "skiff/half", nil)
	if err != nil {
		t.Fatalf("open(skiff/half) error: %v", err)
	}
	want := []string{filepath.Join(root, "pids/skiff/half")}
	if diff := cmp.Diff(want, c.Paths()); diff != "" {
		t.Errorf("open(skiff/half).Paths() mismatch (-want +got):\n%s", diff)
	}

	if _, err := open(l, "skiff/none", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open(skiff/none) error = %v, want %v", err, fs.ErrNotExist)
	}
	if _, err := open(l, "../escape", nil); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("open(../escape) error = %v, want %v", err, fs.ErrInvalid)
	}
}
