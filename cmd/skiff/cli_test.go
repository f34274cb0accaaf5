package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/image"
)

// TestRunCLIUsage covers command lines that never reach the image store:
// help, version and every kind of usage error.
func TestRunCLIUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // a substring of stdout
		wantStderr string // all of stderr
	}{
		{"no command prints help", nil, 0, "Usage:  skiff [OPTIONS] COMMAND", ""},
		{"help flag", []string{"--help"}, 0, "Management Commands:", ""},
		{"help command", []string{"help", "image", "ls"}, 0, "Usage:  skiff image ls", ""},
		{"command help", []string{"images", "--help"}, 0, "--digests", ""},
		{"aliases in help", []string{"image", "rm", "-h"}, 0, "skiff image remove, skiff rmi", ""},
		{"group help", []string{"image"}, 0, "Run 'skiff image COMMAND --help'", ""},
		{"version", []string{"--version"}, 0, "skiff version ", ""},
		{
			"unknown flag", []string{"images", "--bogus"}, 125, "",
			"skiff: unknown flag: --bogus\nSee 'skiff images --help'.\n",
		},
		{
			"unknown global flag", []string{"--bogus", "images"}, 125, "",
			"skiff: unknown flag: --bogus\nSee 'skiff --help'.\n",
		},
		{
			"unknown command", []string{"nosuch"}, 125, "",
			"skiff: 'nosuch' is not a skiff command\nSee 'skiff --help'.\n",
		},
		{
			"unknown subcommand", []string{"image", "nosuch"}, 125, "",
			"skiff: 'nosuch' is not a skiff image command\nSee 'skiff image --help'.\n",
		},
		{
			"too few arguments", []string{"tag", "busybox"}, 125, "",
			"skiff: \"skiff tag\" requires exactly 2 arguments\nSee 'skiff tag --help'.\n",
		},
		{
			"bad flag value", []string{"save", "--format", "zip", "busybox"}, 125, "",
			"skiff: invalid --format \"zip\": want docker or oci\nSee 'skiff save --help'.\n",
		},
		{
			"flag needs a value", []string{"image", "load", "-i"}, 125, "",
			"skiff: flag needs an argument: 'i' in -i\nSee 'skiff image load --help'.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SKIFF_ROOT", t.TempDir())
			var stdout, stderr strings.Builder
			code := runCLI(tt.args, strings.NewReader(""), &stdout, &stderr)
			gotOut, gotErr := stdout.String(), stderr.String()
			if code != tt.wantCode {
				t.Errorf("runCLI(%q) = %d, want %d (stderr %q)",
					tt.args, code, tt.wantCode, gotErr)
			}
			if !strings.Contains(gotOut, tt.wantOut) {
				t.Errorf("runCLI(%q) stdout = %q, want it to contain %q",
					tt.args, gotOut, tt.wantOut)
			}
			if gotErr != tt.wantStderr {
				t.Errorf("runCLI(%q) stderr = %q, want %q", tt.args, gotErr, tt.wantStderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	notFound := fmt.Errorf("look up %q: %w", "nosuch", image.ErrNotFound)
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"success", nil, 0, ""},
		{"failure", errors.New("open x: denied"), 1, "skiff: open x: denied\n"},
		{"no such image", imageError("nosuch", notFound), 1, "Error: No such image: nosuch\n"},
		{"already reported", errReported, 1, ""},
		{
			"joined errors stay on one line",
			errors.Join(errors.New("write blob"), errors.New("remove temp")),
			1, "skiff: write blob; remove temp\n",
		},
		{
			"usage",
			&usageError{path: "skiff images", err: errors.New("unknown flag: --x")},
			125, "skiff: unknown flag: --x\nSee 'skiff images --help'.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			code := exitCode(&stderr, tt.err)
			if code != tt.wantCode || stderr.String() != tt.wantStderr {
				t.Errorf("exitCode(%v) = %d, %q; want %d, %q",
					tt.err, code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}
