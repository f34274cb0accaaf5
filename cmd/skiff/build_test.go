package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseBuildArgs(t *testing.T) {
	t.Setenv("FROM_ENV", "env value")
	tests := []struct {
		raw     []string
		want    map[string]string
		wantErr bool
	}{
		{[]string{"A=1", "B=x=y", "C="}, map[string]string{"A": "1", "B": "x=y", "C": ""}, false},
		{[]string{"FROM_ENV", "NOT_IN_ENV_AT_ALL"},
			map[string]string{"FROM_ENV": "env value"}, false},
		{[]string{"=1"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseBuildArgs(tt.raw)
		if (err != nil) != tt.wantErr || (err == nil && !cmp.Equal(got, tt.want)) {
			t.Errorf("parseBuildArgs(%q) = %v, %v, want %v (error %t)", tt.raw, got, err,
				tt.want, tt.wantErr)
		}
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	tests := []struct {
		buildArgs map[string]string
		want      time.Time
		wantErr   bool
	}{
		{nil, time.Unix(1700000000, 0).UTC(), false},
		{map[string]string{"SOURCE_DATE_EPOCH": "0"}, time.Unix(0, 0).UTC(), false},
		{map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, time.Time{}, true},
		{map[string]string{"SOURCE_DATE_EPOCH": "-5"}, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := sourceDateEpoch(tt.buildArgs)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("sourceDateEpoch(%v) = %v, %v, want %v (error %t)", tt.buildArgs, got, err,
				tt.want, tt.wantErr)
		}
	}
}
