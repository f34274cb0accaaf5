package image

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The crash tests run an import in a child process (this test binary again,
// in the mode TestMain selects) and kill it with SIGKILL at a chosen moment.
const childRootEnv = "SKIFF_TEST_CHILD_ROOT"

func TestMain(m *testing.M) {
	if root := os.Getenv(childRootEnv); root != "" {
		os.Exit(childImport(root))
	}
	os.Exit(m.Run())
}

// childImport imports standard input into the store at root. With
// SKIFF_TEST_PAUSE=index it stops, forever, just before naming the image.
func childImport(root string) int {
	if os.Getenv("SKIFF_TEST_PAUSE") == "index" {
		testHookBeforeIndex = func() {
			fmt.Println("paused")
			select {}
		}
	}
	s, err := Open(root, nil)
	if err == nil {
		_, err = s.Import(os.Stdin, ImportOptions{Ref: "crashed"})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestKillDuringImport(t *testing.T) {
	layer := gzipped(t, layerTar(t, map[string]string{
		"a/": "", "a/big": strings.Repeat("skiff ", 1<<20), "b": "small",
	}))
	tests := []struct {
		name  string
		pause string
		// written is how much of the layer the child gets before the kill.
		written int
	}{
		{"while unpacking", "", len(layer) / 2},
		{"with content in place but not named", "index", len(layer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			importTar(t, s, layerTar(t, rootfs), "busybox")
			before := snapshot(t, s)

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childRootEnv+"="+s.Root(), "SKIFF_TEST_PAUSE="+tt.pause)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(stdin, bytes.NewReader(layer[:tt.written])); err != nil {
				t.Fatal(err)
			}
			if tt.pause != "" {
				stdin.Close()
				line, _ := bufio.NewReader(stdout).ReadString('\n')
				if line != "paused\n" {
					t.Fatalf("child said %q, want paused", line)
				}
			} else {
				waitForScratch(t, s)
			}
			cmd.Process.Kill()
			cmd.Wait()

			// The next command cleans up after the dead one.
			s2, err := Open(s.Root(), nil)
			if err != nil {
				t.Fatalf("Open() after a crash: %v", err)
			}
			if diff := cmp.Diff(before, snapshot(t, s2)); diff != "" {
				t.Errorf("store after kill -9 and reopen differs (-before +after):\n%s", diff)
			}
			if _, err := s2.Lookup("crashed"); err == nil {
				t.Errorf("the killed import's image is visible")
			}
		})
	}
}

// waitForScratch waits until the child has begun writing in tmp/.
func waitForScratch(t *testing.T, s *Store) {
	for range 1000 {
		entries, _ := os.ReadDir(s.path(tmpDir))
		for _, e := range entries {
			sub, _ := os.ReadDir(s.path(tmpDir, e.Name()))
			if len(sub) > 0 {
				return
			}
		}
		sleepBriefly()
	}
	t.Fatal("the child never started writing")
}
