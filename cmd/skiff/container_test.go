package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/namespaces"
)

// TestContainerCommandsUsage covers container command lines that fail, or
// succeed, before any container runs: usage errors, names that match
// nothing, an empty store. None of them needs root.
func TestContainerCommandsUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // all of stdout
		wantStderr string // all of stderr
	}{
		{
			"run needs an image", []string{"run"}, 125, "",
			"skiff: \"skiff run\" requires at least 1 argument\nSee 'skiff run --help'.\n",
		},
		{
			"exec needs a command", []string{"exec", "web"}, 125, "",
			"skiff: \"skiff exec\" requires at least 2 arguments\nSee 'skiff exec --help'.\n",
		},
		{
			"bad memory size", []string{"run", "-m", "1q", "busybox"}, 125, "",
			"skiff: invalid argument \"1q\" for \"-m, --memory\" flag: invalid size: \"1q\"\n" +
				"See 'skiff run --help'.\n",
		},
		{
			"named volume", []string{"create", "-v", "data:/data", "busybox"}, 125, "",
			"skiff: invalid volume specification: \"data:/data\": skiff has no named volumes; " +
				"use /path or ./path\nSee 'skiff create --help'.\n",
		},
		{
			"attach to two", []string{"start", "-a", "one", "two"}, 125, "",
			"skiff: you cannot start and attach multiple containers at once\n" +
				"See 'skiff start --help'.\n",
		},
		{
			"cp without a container", []string{"cp", "a", "b"}, 125, "",
			"skiff: must specify at least one container source\nSee 'skiff cp --help'.\n",
		},
		{
			"cp between containers", []string{"container", "cp", "one:/a", "two:/b"}, 125, "",
			"skiff: copying between containers is not supported\n" +
				"See 'skiff container cp --help'.\n",
		},
		{
			"bad tail", []string{"logs", "--tail", "ten", "web"}, 125, "",
			"skiff: invalid --tail \"ten\": want a number of lines or \"all\"\n" +
				"See 'skiff logs --help'.\n",
		},
		{
			"bad signal", []string{"kill", "-s", "SIGBOGUS", "web"}, 125, "",
			"skiff: invalid signal: SIGBOGUS\nSee 'skiff kill --help'.\n",
		},
		{
			"bad inspect type", []string{"inspect", "--type", "volume", "x"}, 125, "",
			"skiff: invalid --type \"volume\": want container or image\n" +
				"See 'skiff inspect --help'.\n",
		},
		{
			"rm of nothing", []string{"rm", "nosuch"}, 1, "",
			"Error: No such container: nosuch\n",
		},
		{"rm -f of nothing is fine", []string{"rm", "-f", "nosuch"}, 0, "", ""},
		{
			"stop goes on after a failure", []string{"stop", "one", "two"}, 1, "",
			"Error: No such container: one\nError: No such container: two\n",
		},
		{
			"wait for nothing", []string{"container", "wait", "nosuch"}, 1, "",
			"Error: No such container: nosuch\n",
		},
		{
			"container inspect of nothing", []string{"container", "inspect", "nosuch"}, 1, "[]\n",
			"Error: No such container: nosuch\n",
		},
		{
			"inspect of nothing", []string{"inspect", "nosuch"}, 1, "[]\n",
			"Error: No such object: nosuch\n",
		},
		{
			"ps of an empty store", []string{"ps", "-a"}, 0,
			"CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES\n", "",
		},
		{"ps -q of an empty store", []string{"container", "ls", "-q"}, 0, "", ""},
		{
			"prune an empty store", []string{"container", "prune", "-f"}, 0,
			"Total reclaimed space: 0B\n", "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SKIFF_ROOT", t.TempDir())
			var stdout, stderr strings.Builder
			code := runCLI(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("runCLI(%q) = %d, want %d (stderr %q)",
					tt.args, code, tt.wantCode, stderr.String())
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("runCLI(%q) stdout = %q, want %q", tt.args, stdout.String(), tt.wantOut)
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("runCLI(%q) stderr = %q, want %q", tt.args, stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestContainerExitCodes(t *testing.T) {
	notFound := fmt.Errorf("get web: %w", container.ErrNotFound)
	execErr := &namespaces.ExecError{Code: 127, Err: errors.New(`exec "x": not found`)}
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"container's own code", &exitStatus{code: 3}, 3, ""},
		{"killed container", &exitStatus{code: 137}, 137, ""},
		{"no such container", containerError("web", notFound), 1, "Error: No such container: web\n"},
		{"other container errors pass", containerError("web", errors.New("busy")), 1, "skiff: busy\n"},
		{"not found on PATH", startFailure(execErr), 127, "skiff: exec \"x\": not found\n"},
		{
			"detached start failure",
			startFailure(&container.StartError{Code: 126, Msg: "permission denied"}),
			126, "skiff: permission denied\n",
		},
		{"other start failure", startFailure(errors.New("mount: busy")), 125, "skiff: mount: busy\n"},
		{"no such object", &noSuchObjectError{ref: "x"}, 1, "Error: No such object: x\n"},
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

// TestRunMissingImage runs an image the store lacks from a registry that
// is not there (port 1 on the loopback refuses at once; no network is
// used): run says it looks for the image, tries to pull it, and fails
// with 125 and one line for the pull's error.
func TestRunMissingImage(t *testing.T) {
	t.Setenv("SKIFF_ROOT", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("SKIFF_CONFIG", "/nonexistent")
	var stdout, stderr strings.Builder
	args := []string{"run", "--rm", "127.0.0.1:1/nosuch"}
	code := runCLI(args, strings.NewReader(""), &stdout, &stderr)

	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	want := "Unable to find image '127.0.0.1:1/nosuch:latest' locally"
	if code != 125 || stdout.String() != "" || lines[0] != want ||
		!strings.HasPrefix(lines[len(lines)-1], "skiff: ") {
		t.Errorf("runCLI(%q) = %d, stdout %q, stderr %q; want 125, nothing, %q then an error",
			args, code, stdout.String(), stderr.String(), want)
	}
}
