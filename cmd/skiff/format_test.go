package main

import (
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		name      string
		n         int64
		precision int
		want      string
	}{
		{"zero", 0, 3, "0B"},
		{"bytes", 512, 3, "512B"},
		{"one kilobyte is 1000 bytes", 1000, 3, "1kB"},
		{"kilobytes keep three digits", 1240, 3, "1.24kB"},
		{"megabytes round to three digits", 4264175, 3, "4.26MB"},
		{"whole megabytes drop the zeros", 1200000, 4, "1.2MB"},
		{"four digits for reclaimed space", 1234567, 4, "1.235MB"},
		{"rounding carries into the next unit", 999999, 3, "1MB"},
		{"rounding to four digits carries too", 999999999, 4, "1GB"},
		{"three digit kilobytes", 123456, 3, "123kB"},
		{"gigabytes", 5_500_000_000, 3, "5.5GB"},
		{"negative is shown as zero", -5, 3, "0B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := humanSize(tt.n, tt.precision); got != tt.want {
				t.Errorf("humanSize(%d, %d) = %q, want %q", tt.n, tt.precision, got, tt.want)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"no time", 0, "Less than a second"},
		{"in the future", -time.Hour, "Less than a second"},
		{"one second", time.Second, "1 second"},
		{"seconds", 42 * time.Second, "42 seconds"},
		{"one minute", 90 * time.Second, "About a minute"},
		{"minutes", 59 * time.Minute, "59 minutes"},
		{"an hour", 60 * time.Minute, "About an hour"},
		{"89 minutes round down to an hour", 89 * time.Minute, "About an hour"},
		{"90 minutes round up to two hours", 90 * time.Minute, "2 hours"},
		{"hours up to two days", 47 * time.Hour, "47 hours"},
		{"days", 3 * 24 * time.Hour, "3 days"},
		{"weeks", 3 * 7 * 24 * time.Hour, "3 weeks"},
		{"months", 100 * 24 * time.Hour, "3 months"},
		{"years", 3 * 365 * 24 * time.Hour, "3 years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := humanDuration(tt.d); got != tt.want {
				t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestCreatedAgo(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	twoHoursEarlier := now.Add(-2 * time.Hour)
	tests := []struct {
		name    string
		created *time.Time
		want    string
	}{
		{"unknown", nil, "N/A"},
		{"zero time", &time.Time{}, "N/A"},
		{"two hours", &twoHoursEarlier, "2 hours ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := createdAgo(tt.created, now); got != tt.want {
				t.Errorf("createdAgo(%v) = %q, want %q", tt.created, got, tt.want)
			}
		})
	}
}

func TestEllipsis(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"short enough", "/bin/sh -c echo hi", 45, "/bin/sh -c echo hi"},
		{"exactly the width", "abcde", 5, "abcde"},
		{"one too long", "abcdef", 5, "abcd…"},
		{"counts characters, not bytes", "ééééééé", 5, "éééé…"},
		{"width of one", "abc", 1, "…"},
		{"empty", "", 45, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ellipsis(tt.s, tt.max); got != tt.want {
				t.Errorf("ellipsis(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
			}
		})
	}
}

func TestDisplayID(t *testing.T) {
	const full = "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741"
	tests := []struct {
		name    string
		id      digest.Digest
		noTrunc bool
		want    string
	}{
		{"short", full, false, "3f57d9401f8d"},
		{"no-trunc keeps the algorithm", full, true, full},
		{"short hex stays whole", "sha256:abc", false, "abc"},
		{"no separator does not panic", "abcdef0123456789", false, "abcdef012345"},
		{"empty", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := displayID(tt.id, tt.noTrunc); got != tt.want {
				t.Errorf("displayID(%q, %v) = %q, want %q", tt.id, tt.noTrunc, got, tt.want)
			}
		})
	}
}
