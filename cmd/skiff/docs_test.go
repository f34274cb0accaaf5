package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

// The course in docs/ keeps its labs from rotting in two steps. Each
// chapter docs/NN-name.md has a lab docs/labs/NN-name.txtar, a testscript
// file that TestDocsLabs runs like the scenario scripts. TestDocsChapters
// then checks that the chapter's "## Lab" section shows exactly that lab:
// the same commands in the same order, and output that the lab's
// assertions accept. The txtar is the truth; the chapter is checked
// against it and never generated from it, so its prose stays hand-written.
//
// How a lab line is shown in a chapter, inside a ```console block:
//
//	exec CMD, ! exec CMD        $ CMD
//	netns-exec CMD              $ CMD      (the lab's netns is the host's)
//	exec in-netns CMD           $ CMD      (the same, as a program)
//	exec sh -c 'SCRIPT'         $ SCRIPT   (pipes, globs, redirections)
//	exec CMD &                  $ CMD &    (a server left running; the lab
//	                                        stops it at its end)
//	cd DIR                      $ cd DIR
//	env NAME=VALUE              $ export NAME=VALUE
//	stdout RE, stderr RE        output lines after the command that RE
//	                            matches, in the order of the assertions
//	cmp stdout FILE             FILE's lines, exactly
//
// Every shown output line must be matched by an assertion of its command,
// and every assertion must match some shown line, so what a learner reads
// is what the test checked. A command in the background has no output to
// check. The forms of exec combine: `exec in-netns sh -c 'SCRIPT' &` is
// shown as `$ SCRIPT &`. A line "..." stands for output left out. A
// ```text file=NAME block shows the lab's archive file NAME, exactly.
// Lines starting with a condition ([root], [busybox]) and negated output
// assertions (! stdout RE) are not shown. Other testscript commands have no
// shell form a learner could type, so a lab may not use them.

const docsDir = "../../docs"

// TestDocsLabs runs every lab of the course, as root on a machine with a
// static busybox; elsewhere the labs skip, as the scenario scripts do.
func TestDocsLabs(t *testing.T) {
	testscript.Run(t, labParams(t, filepath.Join(docsDir, "labs")))
}

// TestDocsChapters checks every chapter's Lab section against its lab.
func TestDocsChapters(t *testing.T) {
	chapters, err := filepath.Glob(filepath.Join(docsDir, "[0-9][0-9]-*.md"))
	if err != nil {
		t.Fatal(err)
	}
	labs, err := filepath.Glob(filepath.Join(docsDir, "labs", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(chapters) == 0 {
		t.Fatalf("no chapters docs/NN-name.md in %s", docsDir)
	}
	for _, lab := range labs {
		name := strings.TrimSuffix(filepath.Base(lab), ".txtar")
		if _, err := os.Stat(filepath.Join(docsDir, name+".md")); err != nil {
			t.Errorf("docs/labs/%s.txtar has no chapter docs/%s.md", name, name)
		}
	}
	for _, chapter := range chapters {
		name := strings.TrimSuffix(filepath.Base(chapter), ".md")
		t.Run(name, func(t *testing.T) {
			for _, err := range checkChapter(chapter, filepath.Join(docsDir, "labs", name+".txtar")) {
				t.Error(err)
			}
		})
	}
}

// labStep is one command of a lab, with the assertions on its output.
type labStep struct {
	line       int    // line in the txtar file
	shown      string // the command as a chapter shows it, without "$ "
	background bool   // exec CMD &: nothing to check
	checks     []labCheck
}

// backgroundRE matches the last word of a script line that testscript's
// exec runs in the background: "&", or "&NAME&" for one the script names.
var backgroundRE = regexp.MustCompile(`^&(\w+&)?$`)

// labCheck is an assertion on a command's output: a regular expression, or
// the exact lines of a file (cmp stdout FILE).
type labCheck struct {
	line  int
	text  string // the assertion as written in the txtar
	re    *regexp.Regexp
	exact []string
}

// shownStep is one command of a chapter's Lab section, with the output
// shown under it.
type shownStep struct {
	line   int
	cmd    string
	output []shownLine
}

type shownLine struct {
	line int
	text string
}

// checkChapter compares the chapter's Lab section with the lab and returns
// every difference, each naming the file and line to look at.
func checkChapter(chapterPath, labPath string) []error {
	chapter := "docs/" + filepath.Base(chapterPath)
	lab := "docs/labs/" + filepath.Base(labPath)
	ar, err := txtar.ParseFile(labPath)
	if err != nil {
		return []error{fmt.Errorf("%s: the chapter's lab: %w", chapter, err)}
	}
	steps, err := parseLab(lab, string(ar.Comment))
	if err != nil {
		return []error{err}
	}
	shown, files, err := parseChapterLab(chapterPath, chapter)
	if err != nil {
		return []error{err}
	}

	var errs []error
	for name, f := range files {
		errs = append(errs, checkShownFile(chapter, lab, ar, name, f)...)
	}
	for i := 0; i < len(steps) || i < len(shown); i++ {
		switch {
		case i >= len(shown):
			errs = append(errs, fmt.Errorf("%s:%d: lab command %q is not shown in %s's Lab section",
				lab, steps[i].line, steps[i].shown, chapter))
			return errs
		case i >= len(steps):
			errs = append(errs, fmt.Errorf("%s:%d: command %q is not in %s (the lab ends earlier)",
				chapter, shown[i].line, shown[i].cmd, lab))
			return errs
		case steps[i].shown != shown[i].cmd:
			errs = append(errs, fmt.Errorf("%s:%d: shows command\n\t$ %s\nbut %s:%d runs\n\t$ %s",
				chapter, shown[i].line, shown[i].cmd, lab, steps[i].line, steps[i].shown))
			return errs
		}
		errs = append(errs, checkOutput(chapter, lab, steps[i], shown[i])...)
	}
	return errs
}

// checkOutput checks that every assertion of step matches the shown output
// in order, and that every shown line is matched by one of them.
func checkOutput(chapter, lab string, step labStep, shown shownStep) []error {
	var text strings.Builder
	starts := make([]int, len(shown.output)) // offset of each line in text
	for i, l := range shown.output {
		starts[i] = text.Len()
		text.WriteString(l.text + "\n")
	}
	covered := make([]bool, len(shown.output))
	cover := func(start, end int) {
		for i := range shown.output {
			lineEnd := starts[i] + len(shown.output[i].text)
			if starts[i] < end && lineEnd >= start {
				covered[i] = true
			}
		}
	}

	var errs []error
	from := 0 // assertions match in order: each at or after the previous
	for _, c := range step.checks {
		// A regular expression checks every line it matches (think of
		// stdout -count=3); the first match fixes its place in the order.
		start := -1
		if c.re != nil {
			for _, m := range c.re.FindAllStringIndex(text.String(), -1) {
				if m[0] < from {
					continue
				}
				if start < 0 {
					start = m[0]
				}
				cover(m[0], m[1])
			}
		} else {
			want := strings.Join(c.exact, "\n") + "\n"
			if i := strings.Index(text.String()[from:], want); i >= 0 {
				start = from + i
				cover(start, start+len(want)-1)
			}
		}
		if start < 0 {
			errs = append(errs, fmt.Errorf("%s:%d: %s matches none of the output shown "+
				"in order at %s:%d under\n\t$ %s",
				lab, c.line, c.text, chapter, shown.line, shown.cmd))
			continue
		}
		from = start
	}
	for i, l := range shown.output {
		if !covered[i] && l.text != "..." {
			errs = append(errs, fmt.Errorf("%s:%d: output line %q is checked by no "+
				"stdout/stderr/cmp of %s:%d\n\t$ %s",
				chapter, l.line, l.text, lab, step.line, step.shown))
		}
	}
	return errs
}

// checkShownFile checks that a ```text file=NAME block equals the lab's
// archive file NAME.
func checkShownFile(chapter, lab string, ar *txtar.Archive, name string, f shownFile) []error {
	for _, af := range ar.Files {
		if af.Name != name {
			continue
		}
		if string(af.Data) != f.text {
			return []error{fmt.Errorf("%s:%d: file %s differs from the one in %s:\nshown:\n%s\nlab:\n%s",
				chapter, f.line, name, lab, f.text, af.Data)}
		}
		return nil
	}
	return []error{fmt.Errorf("%s:%d: file %s is not in %s", chapter, f.line, name, lab)}
}

// parseLab reads the script of a lab into its steps.
func parseLab(lab, script string) ([]labStep, error) {
	var steps []labStep
	for i, raw := range strings.Split(script, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		neg := strings.HasPrefix(line, "! ")
		line = strings.TrimPrefix(line, "! ")
		verb, rest, _ := strings.Cut(line, " ")
		args, err := splitScriptArgs(rest)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", lab, i+1, err)
		}

		switch verb {
		case "exec", "netns-exec":
			steps = append(steps, execStep(i+1, verb, rest, args))
			continue
		case "cd":
			steps = append(steps, labStep{line: i + 1, shown: line})
			continue
		case "env":
			steps = append(steps, labStep{line: i + 1, shown: "export " + rest})
			continue
		}

		if len(steps) == 0 {
			return nil, fmt.Errorf("%s:%d: %q comes before any command", lab, i+1, line)
		}
		last := &steps[len(steps)-1]
		if last.background {
			return nil, fmt.Errorf("%s:%d: %q checks a command left in the background, "+
				"which has no output yet", lab, i+1, line)
		}
		check := labCheck{line: i + 1, text: line}
		switch {
		case (verb == "stdout" || verb == "stderr") && neg:
			continue // what must not appear cannot be shown
		case verb == "stdout" || verb == "stderr":
			check.re, err = regexp.Compile("(?m)" + args[len(args)-1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", lab, i+1, err)
			}
		case verb == "cmp" && len(args) == 2 && (args[0] == "stdout" || args[0] == "stderr"):
			check.exact, err = archiveLines(lab, args[1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", lab, i+1, err)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %q has no shell form a chapter could show; use exec",
				lab, i+1, line)
		}
		last.checks = append(last.checks, check)
	}
	return steps, nil
}

// execStep is the step of a line "exec ARGS" or "netns-exec ARGS", where
// rest is ARGS as written and args its words.
func execStep(line int, verb, rest string, args []string) labStep {
	step := labStep{line: line, shown: rest}
	// netns-exec runs a host command inside the lab's network namespace
	// (see labnetns_linux_test.go); on a learner's machine that namespace
	// is the host's, so the chapter shows the bare command. The program
	// in-netns does the same.
	if verb == "exec" && len(args) > 1 && args[0] == "in-netns" {
		step.shown = strings.TrimSpace(strings.TrimPrefix(step.shown, "in-netns"))
		args = args[1:]
	}
	if n := len(args); n > 1 && backgroundRE.MatchString(args[n-1]) {
		step.background = true
		step.shown = strings.TrimSpace(strings.TrimSuffix(step.shown, args[n-1]))
		args = args[:n-1]
	}
	if len(args) == 3 && args[0] == "sh" && args[1] == "-c" {
		step.shown = args[2]
	}
	if step.background {
		step.shown += " &"
	}
	return step
}

// archiveLines returns the lines of the archive file name of the lab.
func archiveLines(lab, name string) ([]string, error) {
	ar, err := txtar.ParseFile(filepath.Join(docsDir, "labs", filepath.Base(lab)))
	if err != nil {
		return nil, err
	}
	for _, f := range ar.Files {
		if f.Name == name {
			return strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n"), nil
		}
	}
	return nil, fmt.Errorf("cmp: no file %s in the lab", name)
}

// splitScriptArgs splits a testscript command line into words as
// testscript does: spaces separate, single quotes group, and ” inside
// quotes is one quote. Variables are left as written.
func splitScriptArgs(line string) ([]string, error) {
	var args []string
	var word strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			word.WriteByte('\'')
			i++
		case c == '\'':
			quoted, inWord = !quoted, true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				args = append(args, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		args = append(args, word.String())
	}
	return args, nil
}

type shownFile struct {
	line int
	text string
}

// parseChapterLab reads the fenced blocks of the chapter's "## Lab"
// section: the commands and output of its ```console blocks, and its
// ```text file=NAME blocks. Any other block there is an error, so nothing
// in the Lab section escapes the check.
func parseChapterLab(path, chapter string) ([]shownStep, map[string]shownFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	var steps []shownStep
	files := map[string]shownFile{}
	inLab, sawLab := false, false
	block, fileName := "", "" // block is the open fence's kind, or ""
	var fileText strings.Builder
	fileLine := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case block == "" && strings.HasPrefix(line, "## "):
			inLab = strings.TrimSpace(line) == "## Lab"
			sawLab = sawLab || inLab
		case !inLab:
		case block == "" && strings.HasPrefix(line, "```"):
			info := strings.TrimPrefix(line, "```")
			switch {
			case info == "console":
				block = "console"
			case strings.HasPrefix(info, "text file="):
				block, fileName, fileLine = "file", strings.TrimPrefix(info, "text file="), n
				fileText.Reset()
			default:
				return nil, nil, fmt.Errorf("%s:%d: the Lab section may hold only "+
					"```console and ```text file=NAME blocks, not %q", chapter, n, line)
			}
		case block != "" && line == "```":
			if block == "file" {
				files[fileName] = shownFile{line: fileLine, text: fileText.String()}
			}
			block = ""
		case block == "file":
			fileText.WriteString(line + "\n")
		case block == "console" && strings.HasPrefix(line, "$ "):
			steps = append(steps, shownStep{line: n, cmd: strings.TrimPrefix(line, "$ ")})
		case block == "console" && strings.TrimSpace(line) != "":
			if len(steps) == 0 {
				return nil, nil, fmt.Errorf("%s:%d: output %q before any command", chapter, n, line)
			}
			last := &steps[len(steps)-1]
			last.output = append(last.output, shownLine{line: n, text: line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if !sawLab {
		return nil, nil, fmt.Errorf("%s: no \"## Lab\" section", chapter)
	}
	if block != "" {
		return nil, nil, fmt.Errorf("%s: a fenced block in the Lab section is not closed", chapter)
	}
	return steps, files, nil
}

// TestParseLab checks how lab lines are shown in a chapter, as the header
// comment of this file lists them.
func TestParseLab(t *testing.T) {
	script := `# A comment, and a condition: neither is shown.
[!root] skip 'needs root'
env SKIFF_ROOT=$WORK/root
cd dir
exec skiff images
stdout '^REPOSITORY'
! exec skiff rmi nope
stderr 'No such image'
! stderr panic
exec sh -c 'ls $SKIFF_ROOT | wc -l'
netns-exec busybox wget -qO- http://127.0.0.1:8080/
exec in-netns curl -s 127.0.0.1:5000/v2/
exec sleep 600 &
exec in-netns sleep 600 &server&
exec in-netns sh -c 'docker-registry serve config.yml >registry.log 2>&1' &
`
	want := []string{
		"export SKIFF_ROOT=$WORK/root",
		"cd dir",
		"skiff images",
		"skiff rmi nope",
		"ls $SKIFF_ROOT | wc -l",
		"busybox wget -qO- http://127.0.0.1:8080/",
		"curl -s 127.0.0.1:5000/v2/",
		"sleep 600 &",
		"sleep 600 &",
		"docker-registry serve config.yml >registry.log 2>&1 &",
	}
	steps, err := parseLab("lab.txtar", script)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.shown)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("shown commands:\n%s\nwant:\n%s", strings.Join(got, "\n"),
			strings.Join(want, "\n"))
	}
	if n := len(steps[2].checks); n != 1 {
		t.Errorf("skiff images has %d checks, want 1", n)
	}
	if n := len(steps[3].checks); n != 1 {
		t.Errorf("skiff rmi has %d checks, want 1 (a negated one is not shown)", n)
	}

	for _, bad := range []string{
		"exec sleep 600 &\nstdout x",        // a background command has no output
		"stdout x",                          // before any command
		"exec skiff images\ncp stdout out",  // testscript's own commands
		"exec skiff images\nexists out.txt", // have no shell form
	} {
		if _, err := parseLab("lab.txtar", bad); err == nil {
			t.Errorf("parseLab accepts\n%s", bad)
		}
	}
}
