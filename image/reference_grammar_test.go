package image

import (
	"regexp"
	"strings"
	"testing"
)

// The grammar as distribution's reference package writes it: regular
// expressions. The matchers of reference.go must agree with them on every
// string.
var (
	componentSpec = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagSpec       = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	domainSpec    = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?` +
		`(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
)

// grammarCases are strings near every edge of the three rules.
var grammarCases = []string{
	"", "a", "A", "0", "_", ".", "-", "a.b", "a..b", "a_b", "a__b", "a___b", "a-b", "a--b",
	"a-", "-a", "a.", ".a", "a_", "_a", "a._b", "a-.b", "a.-b", "ab9", "a/b", "a b",
	"localhost", "localhost:5000", "127.0.0.1:5000", "host:", "host:x", "host:5:6",
	"[::1]", "[::1]:5000", "[::1", "::1]", "[]", "[g::1]", "[::1]:", "a.-b.c", "a-b.c-d",
	"ex-ample.com", "-ex.com", "ex-.com", "ex..com", ".ex.com", "ex.com.", "UPPER.io",
	"v1.0", "latest", "1.36-musl", "_x", strings.Repeat("t", 128), strings.Repeat("t", 129),
	"x" + strings.Repeat(".", 127), "é", "a\x00b", "a\nb",
}

func TestGrammarMatchersAgreeWithRegexps(t *testing.T) {
	for _, s := range grammarCases {
		checkGrammar(t, s)
	}
}

func FuzzGrammarMatchers(f *testing.F) {
	for _, s := range grammarCases {
		f.Add(s)
	}
	f.Fuzz(checkGrammar)
}

func checkGrammar(t *testing.T, s string) {
	for _, m := range []struct {
		name string
		got  func(string) bool
		spec *regexp.Regexp
	}{
		{"isComponent", isComponent, componentSpec},
		{"isTag", isTag, tagSpec},
		{"isDomain", isDomain, domainSpec},
	} {
		if got, want := m.got(s), m.spec.MatchString(s); got != want {
			t.Errorf("%s(%q) = %v, the grammar says %v", m.name, s, got, want)
		}
	}
}
