package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` output; see `go doc test2json`.
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output events name the package here
	Test       string
	Output     string
}

// counts is what the state file holds between runs.
type counts struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

func (c counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

func main() {
	state := flag.String("state", "", "add this run's counts to `file` (JSON)")
	total := flag.Bool("total", false, "print the total kept in -state and exit")
	flag.Parse()

	code, err := run(*state, *total)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(state string, total bool) (int, error) {
	sum, err := readState(state)
	if err != nil {
		return 0, err
	}
	if total {
		fmt.Println(sum)
		if sum.Failed > 0 {
			return 1, nil
		}
		return 0, nil
	}

	this, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		return 0, err
	}
	fmt.Printf("  step total: %s\n", this)

	sum.Passed += this.Passed
	sum.Failed += this.Failed
	sum.Skipped += this.Skipped
	if err := writeState(state, sum); err != nil {
		return 0, err
	}
	if this.Failed > 0 {
		return 1, nil
	}
	return 0, nil
}

// summarize reads events from r, writes the lines worth reading to w and
// counts the tests. Output of a test is held back until the test ends and
// shown only if it failed or was skipped.
func summarize(r io.Reader, w io.Writer) (counts, error) {
	var c counts
	held := make(map[string][]string) // package + test → output lines
	failedTests := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints a few lines that are not JSON (such as
			// "go: downloading ..."); pass them through.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := e.Package + " " + e.Test

		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" {
				fmt.Fprint(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail" && failedTests[e.Package] == 0:
			// The package failed, yet no test did.
			c.Failed++
		case e.Test == "":
		case e.Action == "output":
			held[key] = append(held[key], e.Output)
		case e.Action == "pass":
			c.Passed++
			delete(held, key)
		case e.Action == "fail", e.Action == "skip":
			if e.Action == "fail" {
				c.Failed++
				failedTests[e.Package]++
			} else {
				c.Skipped++
			}
			printHeld(w, held[key])
			delete(held, key)
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	return c, nil
}

// printHeld writes a test's output without the progress lines ("=== RUN").
func printHeld(w io.Writer, lines []string) {
	for _, line := range lines {
		if strings.HasPrefix(line, "=== ") {
			continue
		}
		fmt.Fprint(w, line)
	}
}

func readState(name string) (counts, error) {
	var c counts
	if name == "" {
		return c, nil
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil || len(data) == 0 {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("read state %s: %w", name, err)
	}
	return c, nil
}

func writeState(name string, c counts) error {
	if name == "" {
		return nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}
