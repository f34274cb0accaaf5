package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]string
	}{
		{
			name: "debian double quotes",
			text: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n" +
				"NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
			want: map[string]string{
				"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
				"NAME":        "Debian GNU/Linux",
				"VERSION_ID":  "12",
				"ID":          "debian",
			},
		},
		{
			name: "single quotes, comments and blank lines",
			text: "# made by hand\n\nPRETTY_NAME='My Linux 1.0'\n",
			want: map[string]string{"PRETTY_NAME": "My Linux 1.0"},
		},
		{
			name: "escaped quote inside double quotes",
			text: `NAME="say \"hi\""`,
			want: map[string]string{"NAME": `say "hi"`},
		},
		{
			name: "line without equals sign",
			text: "garbage\nID=alpine",
			want: map[string]string{"ID": "alpine"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOSRelease(tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseOSRelease(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseKernelVersion(t *testing.T) {
	tests := []struct {
		release string
		want    kernelVersion
		wantErr bool
	}{
		{release: "6.1.0-18-amd64", want: kernelVersion{6, 1}},
		{release: "5.15.0-91-generic", want: kernelVersion{5, 15}},
		{release: "6.18.44-fc-v1147", want: kernelVersion{6, 18}},
		{release: "5.6", want: kernelVersion{5, 6}},
		{release: "4.19-rc1", want: kernelVersion{4, 19}},
		{release: "6", wantErr: true},
		{release: "", wantErr: true},
		{release: "six.one", wantErr: true},
		{release: "6.x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			got, err := parseKernelVersion(tt.release)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseKernelVersion(%q) error = %v, want error %v", tt.release, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseKernelVersion(%q) = %v, want %v", tt.release, got, tt.want)
			}
		})
	}
}

func TestKernelVersionAtLeast(t *testing.T) {
	tests := []struct {
		name      string
		v, want   kernelVersion
		wantFresh bool
	}{
		{name: "same", v: kernelVersion{5, 6}, want: kernelVersion{5, 6}, wantFresh: true},
		{name: "newer minor", v: kernelVersion{5, 15}, want: kernelVersion{5, 6}, wantFresh: true},
		{name: "older minor", v: kernelVersion{5, 4}, want: kernelVersion{5, 6}},
		{name: "newer major, smaller minor", v: kernelVersion{6, 1}, want: kernelVersion{5, 6},
			wantFresh: true},
		{name: "older major, larger minor", v: kernelVersion{4, 19}, want: kernelVersion{5, 6}},
		{name: "minor compared as a number", v: kernelVersion{6, 10}, want: kernelVersion{6, 8},
			wantFresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.atLeast(tt.want); got != tt.wantFresh {
				t.Errorf("%v.atLeast(%v) = %v, want %v", tt.v, tt.want, got, tt.wantFresh)
			}
		})
	}
}

func TestParseProcCgroups(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{
			name: "hybrid: v1 hierarchies, one disabled, one on v2",
			text: "#subsys_name\thierarchy\tnum_cgroups\tenabled\n" +
				"cpuset\t4\t1\t1\ncpu\t2\t1\t1\nmemory\t5\t90\t1\nhugetlb\t0\t1\t1\nrdma\t7\t1\t0\n",
			want: []string{"cpuset", "cpu", "memory"},
		},
		{
			name: "unified: every hierarchy 0",
			text: "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t80\t1\nmemory\t0\t80\t1\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProcCgroups(tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseProcCgroups mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMountFSType(t *testing.T) {
	const mountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 22 0:28 / /var/lib rw,relatime - xfs /dev/sdb1 rw
32 22 0:29 / /var/lib/my\040store rw,relatime - btrfs /dev/sdc1 rw
33 31 0:30 / /var/lib rw,relatime - tmpfs tmpfs rw
`
	tests := []struct {
		dir  string
		want string
	}{
		{dir: "/", want: "ext4"},
		{dir: "/home/user", want: "ext4"},
		{dir: "/var/lib/skiff", want: "tmpfs"}, // the later mount on /var/lib hides xfs
		{dir: "/var/library", want: "ext4"},
		{dir: "/var/lib/my store/x", want: "btrfs"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			got, err := mountFSType(strings.NewReader(mountinfo), tt.dir)
			if err != nil || got != tt.want {
				t.Errorf("mountFSType(%q) = %q, %v, want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}

func TestDoctorCheckLine(t *testing.T) {
	tests := []struct {
		name  string
		check doctorCheck
		want  string
	}{
		{
			name:  "passed",
			check: doctorCheck{what: "overlayfs", fix: "modprobe overlay"},
			want:  "ok   overlayfs",
		},
		{
			name: "required and missing",
			check: doctorCheck{what: "overlayfs", missing: "not in /proc/filesystems",
				fix: "modprobe overlay"},
			want: "FAIL overlayfs: not in /proc/filesystems — fix: modprobe overlay",
		},
		{
			name: "optional and missing",
			check: doctorCheck{what: "skopeo", missing: "not found in $PATH",
				fix: "apt-get install -y skopeo", optional: true},
			want: "WARN skopeo: not found in $PATH — fix: apt-get install -y skopeo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check.line(); got != tt.want {
				t.Errorf("line() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckKernel(t *testing.T) {
	tests := []struct {
		release  string
		wantFail bool
	}{
		{release: "5.4.0-150-generic", wantFail: true},
		{release: "5.6.19", wantFail: true}, // openat2, but no CLONE_INTO_CGROUP
		{release: "not-a-version", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			got := checkKernel(tt.release)
			if (got.missing != "") != tt.wantFail {
				t.Errorf("checkKernel(%q).missing = %q, want failure %v", tt.release, got.missing, tt.wantFail)
			}
		})
	}
}
