package dockerfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary text. It must never panic, and what it
// returns must hold together: either no error, or an ErrorList whose every
// line names the file and a line that exists; instructions lie within the
// file; and substituting any argument must not panic either.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.Dockerfile")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, s := range []string{
		"", "FROM a\n", "# escape=`\nFROM a\nRUN a `\n b\n", "FROM a\nRUN <<EOF\nx\nEOF\n",
		"FROM a\nENV A=\"${B:-c}\" \\\n D=e\n", "ONBUILD ONBUILD",
		"FROM a AS b\nCOPY --from=b a b",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, src string) {
		df, err := Parse(strings.NewReader(src), "Dockerfile")
		lines := strings.Count(src, "\n") + 1
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse error %v is not a non-empty ErrorList", err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Line > lines || !strings.HasPrefix(e.Error(), "Dockerfile:") {
					t.Fatalf("error %q names line %d of %d", e.Error(), e.Line, lines)
				}
			}
		}
		if df == nil {
			return
		}
		for _, st := range df.Stages {
			for _, in := range append([]*Instruction{st.From}, st.Instructions...) {
				checkInstruction(t, in, lines, df.Escape)
			}
		}
	})
}

func checkInstruction(t *testing.T, in *Instruction, lines int, escape rune) {
	if in.Line < 1 || in.EndLine < in.Line || in.EndLine > lines {
		t.Fatalf("%s spans lines %d-%d of %d", in.Keyword, in.Line, in.EndLine, lines)
	}
	lookup := func(string) (string, bool) { return "v a l", true }
	for _, a := range in.Args {
		ExpandWord(a, escape, lookup)
		ExpandFields(a, escape, lookup)
		ExpandRaw(a, escape, lookup)
	}
	for _, kv := range in.Pairs {
		ExpandWord(kv.Key, escape, lookup)
		ExpandWord(kv.Value, escape, lookup)
	}
}
