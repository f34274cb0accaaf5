package network

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetBlock(t *testing.T) {
	base := "127.0.0.1\tlocalhost\n"
	own := Host{netip.MustParseAddr("172.30.0.2"), []string{"web", "0123456789ab"}}
	peer := Host{netip.MustParseAddr("172.30.0.3"), []string{"db"}}
	block := renderBlock("app", &own, []Host{peer})
	wantBlock := "# begin skiff network app\n" +
		"172.30.0.2\tweb 0123456789ab\n" +
		"172.30.0.3\tdb\n" +
		"# end skiff network app\n"
	if block != wantBlock {
		t.Fatalf("renderBlock() = %q, want %q", block, wantBlock)
	}
	other := renderBlock("other", &own, nil)

	tests := []struct {
		name, content, network, block, want string
	}{
		{"append", base, "app", block, base + block},
		{"append after missing newline", "127.0.0.1\tlocalhost", "app", block, base + block},
		{"replace", base + renderBlock("app", &own, nil) + "# tail\n", "app", block,
			base + block + "# tail\n"},
		{"remove", base + block, "app", "", base},
		{"remove keeps other network", base + other + block, "app", "", base + other},
		{"replace keeps other network", base + block + other, "app", "", base + other},
		{"cut short block", base + "# begin skiff network app\n1.2.3.4 x\n", "app", block,
			base + block},
		{"empty file", "", "app", block, block},
		{"remove absent", base, "app", "", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := setBlock(tt.content, tt.network, tt.block)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("setBlock(%q, %q, ...) mismatch (-want +got):\n%s",
					tt.content, tt.network, diff)
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	tests := []struct {
		name, host, want string
	}{
		{"systemd-resolved", "nameserver 127.0.0.53\noptions edns0\n",
			"options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"real servers kept", "search example.org\nnameserver 192.0.2.53\nnameserver ::1\n",
			"search example.org\nnameserver 192.0.2.53\n"},
		{"empty", "", "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"no final newline", "nameserver 192.0.2.53", "nameserver 192.0.2.53\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(ResolvConf([]byte(tt.host)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolvConf(%q) mismatch (-want +got):\n%s", tt.host, diff)
			}
		})
	}
}
