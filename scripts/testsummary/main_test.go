package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name       string
		events     string
		want       counts
		wantOutput string
	}{
		{
			name: "passes are counted and kept quiet",
			events: `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}`,
			want:       counts{Passed: 1},
			wantOutput: "ok  \tp\t0.1s\n",
		},
		{
			name: "a failure shows its output",
			events: `{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}`,
			want:       counts{Failed: 1},
			wantOutput: "    b_test.go:9: got 1, want 2\n--- FAIL: TestB (0.00s)\n",
		},
		{
			name: "a skip shows its reason",
			events: `{"Action":"output","Package":"p","Test":"TestC","Output":"    c.go:3: no\n"}
{"Action":"skip","Package":"p","Test":"TestC"}`,
			want:       counts{Skipped: 1},
			wantOutput: "    c.go:3: no\n",
		},
		{
			name: "a package that fails to build counts as one failure",
			events: `{"ImportPath":"p","Action":"build-output","Output":"x.go:1: bad\n"}
{"Action":"fail","Package":"p","FailedBuild":"p [p.test]"}`,
			want:       counts{Failed: 1},
			wantOutput: "x.go:1: bad\n",
		},
		{
			name:       "lines that are not JSON pass through",
			events:     "go: downloading example.com/m v1.0.0",
			wantOutput: "go: downloading example.com/m v1.0.0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			got, err := summarize(strings.NewReader(tt.events), &out)
			if err != nil {
				t.Fatalf("summarize() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summarize() counts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOutput, out.String()); diff != "" {
				t.Errorf("summarize() output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
