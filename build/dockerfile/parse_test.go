package dockerfile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePositions leaves line numbers and the original text out of a
// comparison of instructions; the tests that are about them check them.
var ignorePositions = cmpopts.IgnoreFields(Instruction{}, "Line", "EndLine", "Original")

func parse(t *testing.T, src string) *Dockerfile {
	t.Helper()
	df, err := Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", src, err)
	}
	return df
}

func TestParseInstructions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []*Instruction
	}{{
		name: "shell and exec forms",
		src:  "FROM x\nRUN echo hi\nCMD [\"sh\", \"-c\", \"a b\"]\nENTRYPOINT [\"x\" bad\n",
		want: []*Instruction{
			{Keyword: "RUN", Args: []string{"echo hi"}},
			{Keyword: "CMD", Args: []string{"sh", "-c", "a b"}, JSON: true},
			{Keyword: "ENTRYPOINT", Args: []string{`["x" bad`}},
		},
	}, {
		name: "keywords in any case",
		src:  "from x\nrun true\nWorkDir /app\n",
		want: []*Instruction{
			{Keyword: "RUN", Args: []string{"true"}},
			{Keyword: "WORKDIR", Args: []string{"/app"}},
		},
	}, {
		name: "continuations and comments inside them",
		src:  "FROM x\nRUN apt-get update && \\\n  # a comment\n\n    apt-get install -y a\n",
		want: []*Instruction{
			{Keyword: "RUN", Args: []string{"apt-get update &&     apt-get install -y a"}},
		},
	}, {
		name: "escape directive",
		src:  "# escape=`\nFROM x\nRUN dir c:\\ `\n  /w\nCOPY a\\b c:\\dst\\\n",
		want: []*Instruction{
			{Keyword: "RUN", Args: []string{`dir c:\   /w`}},
			{Keyword: "COPY", Args: []string{`a\b`, `c:\dst\`}},
		},
	}, {
		name: "env and label pairs, old form, quotes kept for later",
		src: "FROM x\nENV A=1 B=\"two words\" C=a\\ b\nENV OLD the rest of it\n" +
			"LABEL \"com.example\"=v other=\"x y\"\n",
		want: []*Instruction{
			{Keyword: "ENV", Pairs: []KeyValue{{"A", "1", true}, {"B", `"two words"`, true},
				{"C", `a\ b`, true}}},
			{Keyword: "ENV", Pairs: []KeyValue{{"OLD", "the rest of it", true}}},
			{Keyword: "LABEL", Pairs: []KeyValue{{`"com.example"`, "v", true},
				{"other", `"x y"`, true}}},
		},
	}, {
		name: "arg with and without default",
		src:  "FROM x\nARG A B=2 C=\n",
		want: []*Instruction{
			{Keyword: "ARG", Pairs: []KeyValue{{"A", "", false}, {"B", "2", true},
				{"C", "", true}}},
		},
	}, {
		name: "copy flags, words and exec form",
		src:  "FROM x\nCOPY --from=build --chown=app:app a b /dst/\nADD [\"a b\", \"/c\"]\n",
		want: []*Instruction{
			{Keyword: "COPY", Flags: []Flag{{"from", "build", true}, {"chown", "app:app", true}},
				Args: []string{"a", "b", "/dst/"}},
			{Keyword: "ADD", Args: []string{"a b", "/c"}, JSON: true},
		},
	}, {
		name: "heredocs",
		src: "FROM x\nRUN <<EOF\necho a\n  echo b\nEOF\n" +
			"COPY <<-'END' <<two /dst/\n\tliteral $X\n\tEND\nsecond\ntwo\nCMD x\n",
		want: []*Instruction{
			{Keyword: "RUN", Args: []string{"<<EOF"},
				Heredocs: []Heredoc{{Name: "EOF", Body: "echo a\n  echo b\n", Expand: true}}},
			{Keyword: "COPY", Args: []string{"<<-'END'", "<<two", "/dst/"},
				Heredocs: []Heredoc{{Name: "END", Body: "literal $X\n"},
					{Name: "two", Body: "second\n", Expand: true}}},
			{Keyword: "CMD", Args: []string{"x"}},
		},
	}, {
		name: "metadata instructions",
		src: "FROM x\nEXPOSE 80 53/udp\nUSER app:app\nSTOPSIGNAL SIGINT\nVOLUME /a /b\n" +
			"VOLUME [\"/c\"]\nMAINTAINER Ada <ada@example.com>\nSHELL [\"/bin/bash\", \"-c\"]\n",
		want: []*Instruction{
			{Keyword: "EXPOSE", Args: []string{"80", "53/udp"}},
			{Keyword: "USER", Args: []string{"app:app"}},
			{Keyword: "STOPSIGNAL", Args: []string{"SIGINT"}},
			{Keyword: "VOLUME", Args: []string{"/a", "/b"}},
			{Keyword: "VOLUME", Args: []string{"/c"}, JSON: true},
			{Keyword: "MAINTAINER", Args: []string{"Ada <ada@example.com>"}},
			{Keyword: "SHELL", Args: []string{"/bin/bash", "-c"}, JSON: true},
		},
	}, {
		name: "healthcheck and onbuild",
		src: "FROM x\nHEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\n" +
			"HEALTHCHECK NONE\nONBUILD copy . /src\n",
		want: []*Instruction{
			{Keyword: "HEALTHCHECK",
				Flags: []Flag{{"interval", "5s", true}, {"retries", "3", true}},
				Args:  []string{"CMD", "wget -q localhost"}},
			{Keyword: "HEALTHCHECK", Args: []string{"NONE"}},
			{Keyword: "ONBUILD",
				Trigger: &Instruction{Keyword: "COPY", Args: []string{".", "/src"}}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df := parse(t, tt.src)
			got := df.Stages[0].Instructions
			if diff := cmp.Diff(tt.want, got, ignorePositions, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%q) instructions mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestParseLineNumbers(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n\nFROM busybox\n# comment\nRUN a \\\n  b\n" +
		"COPY <<EOF /f\nbody\nEOF\nCMD [\"sh\"]\n"
	df := parse(t, src)
	type pos struct {
		Keyword, Original string
		Line, EndLine     int
	}
	var got []pos
	for _, in := range append([]*Instruction{df.Stages[0].From}, df.Stages[0].Instructions...) {
		got = append(got, pos{in.Keyword, in.Original, in.Line, in.EndLine})
	}
	want := []pos{
		{"FROM", "FROM busybox", 3, 3},
		{"RUN", "RUN a   b", 5, 6},
		{"COPY", "COPY <<EOF /f", 7, 9},
		{"CMD", `CMD ["sh"]`, 10, 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(%q) positions mismatch (-want +got):\n%s", src, diff)
	}
}

func TestParseStages(t *testing.T) {
	src := "ARG V=1\nFROM busybox:$V AS Build\nRUN true\nFROM scratch\nCOPY --from=build /a /a\n" +
		"FROM build AS final\n"
	df := parse(t, src)
	if len(df.MetaArgs) != 1 || df.MetaArgs[0].Pairs[0].Key != "V" {
		t.Errorf("MetaArgs = %+v, want one ARG V", df.MetaArgs)
	}
	var names []string
	for _, st := range df.Stages {
		names = append(names, st.Name+"="+st.From.Args[0])
	}
	if want := []string{"build=busybox:$V", "=scratch", "final=build"}; !cmp.Equal(names, want) {
		t.Errorf("stages = %q, want %q", names, want)
	}
	for _, q := range []struct {
		ref    string
		before int
		want   *Stage
	}{
		{"build", 3, df.Stages[0]}, {"BUILD", 3, df.Stages[0]}, {"1", 3, df.Stages[1]},
		{"final", 2, nil}, {"2", 2, nil}, {"busybox", 3, nil},
	} {
		if got := df.Stage(q.ref, q.before); got != q.want {
			t.Errorf("Stage(%q, %d) = %v, want %v", q.ref, q.before, got, q.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown instruction", "FROM x\nRUNN echo\n", []string{"2: unknown instruction: RUNN"}},
		{"every problem at once", "FROM x\nCMD\nCOPY a\nEXPOSE 99999\nFOO\n", []string{
			"2: CMD requires at least one argument",
			"3: COPY requires at least two arguments",
			`4: invalid port "99999" in EXPOSE`,
			"5: unknown instruction: FOO",
		}},
		{"before from", "RUN x\nFROM y\n",
			[]string{"1: no build stage in current context: " +
				"RUN must come after a FROM instruction"}},
		{"no from", "# nothing\nARG A\n", []string{"2: the Dockerfile has no FROM instruction"}},
		{"empty", "", []string{"1: the Dockerfile has no FROM instruction"}},
		{"from arity", "FROM a b\n", []string{"1: FROM requires either one or three arguments"}},
		{"bad stage name", "FROM a AS 1x\n", []string{`1: invalid name for build stage: "1x", ` +
			"name can't start with a number or contain symbols"}},
		{"duplicate stage", "FROM a AS s\nFROM b AS S\n", []string{`2: duplicate stage name "s"`}},
		{"copy from itself", "FROM a AS s\nCOPY --from=s /a /b\n",
			[]string{"2: circular dependency detected on stage: s"}},
		{"unknown flag", "FROM a\nCOPY --form=x a b\n",
			[]string{"2: unknown flag for COPY: --form"}},
		{"run mount", "FROM a\nRUN --mount=type=cache,target=/c make\n",
			[]string{"2: unknown flag for RUN: --mount"}},
		{"duplicate flag", "FROM a\nCOPY --from=a --from=b a b\n",
			[]string{"2: duplicate flag specified: from"}},
		{"bad chmod", "FROM a\nCOPY --chmod=u+x a b\n",
			[]string{`2: invalid --chmod value "u+x": want an octal mode such as 0755`}},
		{"env without =", "FROM a\nENV A=1 B\n",
			[]string{`2: syntax error - can't find = in "B": must be of the form name=value`}},
		{"env old form without value", "FROM a\nENV A\n",
			[]string{"2: ENV must have two arguments"}},
		{"blank label", "FROM a\nLABEL =x\n", []string{"2: LABEL names can not be blank"}},
		{"arg name", "FROM a\nARG 1A=2\n", []string{`2: invalid ARG name "1A"`}},
		{"shell not json", "FROM a\nSHELL /bin/sh -c\n",
			[]string{"2: SHELL requires the arguments to be in JSON form"}},
		{"user two words", "FROM a\nUSER a b\n",
			[]string{"2: USER requires exactly one argument"}},
		{"healthcheck interval", "FROM a\nHEALTHCHECK --interval=1us CMD true\n", []string{
			`2: invalid --interval value "1us": want a duration of at least 1ms such as 30s`}},
		{"healthcheck none with options", "FROM a\nHEALTHCHECK --retries=1 NONE\n",
			[]string{"2: HEALTHCHECK NONE takes no arguments and no options"}},
		{"healthcheck type", "FROM a\nHEALTHCHECK RUN true\n",
			[]string{`2: unknown type "RUN" in HEALTHCHECK (try CMD)`}},
		{"onbuild onbuild", "FROM a\nONBUILD ONBUILD RUN x\n",
			[]string{"2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"}},
		{"onbuild from", "FROM a\nONBUILD FROM b\n",
			[]string{"2: FROM isn't allowed as an ONBUILD trigger"}},
		{"onbuild bad trigger", "FROM a\nONBUILD NOPE x\n",
			[]string{"2: unknown instruction: NOPE"}},
		{"unterminated heredoc", "FROM a\nRUN <<EOF\necho\n",
			[]string{"2: unterminated heredoc EOF"}},
		{"bad escape", "# escape=x\nFROM a\n",
			[]string{"1: invalid escape token 'x' does not match ` or \\"}},
		{"continued error line", "FROM a\nRUN true\nEXPOSE \\\n  80 \\\n  http\n",
			[]string{`3: invalid port "http" in EXPOSE`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.src), "Dockerfile")
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse(%q) error = %v, want an ErrorList", tt.src, err)
			}
			var got []string
			for _, e := range list {
				got = append(got, strings.TrimPrefix(e.Error(), "Dockerfile:"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) errors mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestParseHealthcheck(t *testing.T) {
	df := parse(t, "FROM a\nHEALTHCHECK --interval=5s --timeout=2s --start-period=1m "+
		"--start-interval=1s --retries=4 CMD [\"wget\", \"-q\", \"x\"]\n"+
		"HEALTHCHECK CMD test -f /x\n")
	var got []*Healthcheck
	for _, in := range df.Stages[0].Instructions {
		h, err := ParseHealthcheck(in)
		if err != nil {
			t.Fatalf("ParseHealthcheck(%s) error: %v", in.Original, err)
		}
		got = append(got, h)
	}
	want := []*Healthcheck{
		{Test: []string{"CMD", "wget", "-q", "x"}, Interval: 5 * time.Second,
			Timeout: 2 * time.Second, StartPeriod: time.Minute, StartInterval: time.Second,
			Retries: 4},
		{Test: []string{"CMD-SHELL", "test -f /x"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseHealthcheck mismatch (-want +got):\n%s", diff)
	}
}

func TestExposedPorts(t *testing.T) {
	tests := []struct {
		word    string
		want    []string
		wantErr bool
	}{
		{"80", []string{"80/tcp"}, false},
		{"53/UDP", []string{"53/udp"}, false},
		{"8000-8002/tcp", []string{"8000/tcp", "8001/tcp", "8002/tcp"}, false},
		{"0", nil, true},
		{"70000", nil, true},
		{"80/icmp", nil, true},
		{"9-8", nil, true},
		{"http", nil, true},
	}
	for _, tt := range tests {
		got, err := ExposedPorts(tt.word)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("ExposedPorts(%q) = %q, %v, want %q (error %t)",
				tt.word, got, err, tt.want, tt.wantErr)
		}
	}
}
