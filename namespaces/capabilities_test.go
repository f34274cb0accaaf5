package namespaces

import (
	"testing"
)

func TestParseCapabilities(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		want    capSet
		wantErr bool
	}{
		{name: "docker defaults", names: DefaultCapabilities, want: 0xa80425fb},
		{name: "none", names: nil, want: 0},
		{name: "without prefix, any case", names: []string{"chown", "Net_Raw"},
			want: 1<<0 | 1<<13},
		{name: "highest known", names: []string{"CAP_CHECKPOINT_RESTORE"}, want: 1 << 40},
		{name: "unknown name", names: []string{"CAP_FLY"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCapabilities(tt.names)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseCapabilities(%q) error = %v, want error %v",
					tt.names, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseCapabilities(%q) = %#x, want %#x", tt.names, got, tt.want)
			}
		})
	}
}

func TestCapSetString(t *testing.T) {
	got := capSet(1<<0 | 1<<21).String()
	if want := "CAP_CHOWN,CAP_SYS_ADMIN"; got != want {
		t.Errorf("capSet.String() = %q, want %q", got, want)
	}
}
