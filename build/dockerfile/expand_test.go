package dockerfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testEnv is the variables the expansion tests see: EMPTY is set but empty,
// UNSET is not set.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"A": "apple", "EMPTY": "", "SP": "a b", "X": "1"}[name]
	return v, ok
}

func TestExpandWord(t *testing.T) {
	tests := []struct {
		word, want string
	}{
		{"plain", "plain"},
		{"$A", "apple"},
		{"${A}pie", "applepie"},
		{"$Apie", ""},
		{"$UNSET", ""},
		{"a $A b", "a apple b"},
		{"${UNSET:-dflt}", "dflt"},
		{"${EMPTY:-dflt}", "dflt"},
		{"${EMPTY-dflt}", ""},
		{"${UNSET-dflt}", "dflt"},
		{"${A:-dflt}", "apple"},
		{"${A:+alt}", "alt"},
		{"${EMPTY:+alt}", ""},
		{"${EMPTY+alt}", "alt"},
		{"${UNSET+alt}", ""},
		{"${UNSET:-$A}", "apple"},
		{"${UNSET:-${X:+nested}}", "nested"},
		{"${UNSET:-a b}", "a b"},
		{"'$A'", "$A"},
		{`"$A"`, "apple"},
		{`"it's $A"`, "it's apple"},
		{`'say "hi"'`, `say "hi"`},
		{`\$A`, "$A"},
		{`"\$A \"q\" \x"`, `$A "q" \x`},
		{`a\ b`, "a b"},
		{`trailing\`, "trailing"},
		{"$", "$"},
		{"$1", "$1"},
		{"cost: 5$", "cost: 5$"},
		{`"${A:-"x y"}"`, "apple"},
	}
	for _, tt := range tests {
		got, err := ExpandWord(tt.word, '\\', testEnv)
		if err != nil || got != tt.want {
			t.Errorf("ExpandWord(%q) = %q, %v, want %q", tt.word, got, err, tt.want)
		}
	}
}

func TestExpandWordBacktick(t *testing.T) {
	got, err := ExpandWord("c:\\dir `$A", '`', testEnv)
	if want := `c:\dir $A`; err != nil || got != want {
		t.Errorf("ExpandWord with escape ` = %q, %v, want %q", got, err, want)
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct{ word, want string }{
		{"${A", "missing '}' after ${A"},
		{"${A:-x", "missing '}' after ${A"},
		{"${}", "bad substitution: ${ must be followed by a variable name"},
		{"${A#x}", "unsupported modifier (#) in substitution ${A"},
		{"${UNSET?must be set}", "UNSET: must be set"},
		{"${EMPTY:?}", "EMPTY: parameter not set"},
		{"'open", "unexpected end of statement while looking for matching single-quote"},
		{`"open`, "unexpected end of statement while looking for matching double-quote"},
	}
	for _, tt := range tests {
		_, err := ExpandWord(tt.word, '\\', testEnv)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ExpandWord(%q) error = %v, want %q", tt.word, err, tt.want)
		}
	}
}

func TestExpandFields(t *testing.T) {
	tests := []struct {
		s    string
		want []string
	}{
		{"a b  c", []string{"a", "b", "c"}},
		{"$SP c", []string{"a", "b", "c"}},
		{`"$SP" c`, []string{"a b", "c"}},
		{`'' x`, []string{"", "x"}},
		{"$EMPTY x", []string{"x"}},
		{`a\ b c`, []string{"a b", "c"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := ExpandFields(tt.s, '\\', testEnv)
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("ExpandFields(%q) = %q, %v, want %q", tt.s, got, err, tt.want)
		}
	}
}

func TestExpandRaw(t *testing.T) {
	got, err := ExpandRaw(`it's "$A" \$X`, '\\', testEnv)
	if want := `it's "apple" $X`; err != nil || got != want {
		t.Errorf("ExpandRaw = %q, %v, want %q", got, err, want)
	}
}
