package dockerfile

import (
	"encoding/json"
	"errors"
	"strings"
)

// splitWords splits s at blanks that are outside quotes, keeping the
// quotes and escapes in the words: they are processed later, together with
// variables, by [ExpandWord]. An unterminated quote runs to the end.
func splitWords(s string, escape rune) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == escape && quote != '\'':
			escaped = true
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		}
		w.WriteRune(c)
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// parseJSON reads the exec form: a JSON array of strings. Anything else,
// even a line that starts with '[', is the shell form, as Docker has it.
func parseJSON(rest string) ([]string, bool) {
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return nil, false
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(rest), &raw); err != nil {
		return nil, false
	}
	args := make([]string, 0, len(raw))
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, false
		}
		args = append(args, s)
	}
	return args, true
}

// flagNameRE is what may follow "--" in an instruction's flag.
var flagNameRE = lazyRegexp(`^[a-z][a-z0-9-]*$`)

// extractFlags takes the "--name=value" words off the front of an
// instruction's arguments, as Docker does for FROM, RUN, COPY, ADD and
// HEALTHCHECK. A lone "--" ends the flags.
func extractFlags(rest string, escape rune) ([]Flag, string, error) {
	var flags []Flag
	for {
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, "--") {
			return flags, rest, nil
		}
		word := firstWord(rest, escape)
		rest = rest[len(word):]
		if word == "--" {
			return flags, strings.TrimLeft(rest, " \t"), nil
		}

		name, value, hasValue := strings.Cut(word[2:], "=")
		if !flagNameRE().MatchString(name) {
			return nil, "", errors.New("invalid flag " + word)
		}
		for _, f := range flags {
			if f.Name == name {
				return nil, "", errors.New("duplicate flag specified: " + name)
			}
		}
		flags = append(flags, Flag{Name: name, Value: unquote(value), HasValue: hasValue})
	}
}

// firstWord returns the first word of s (which starts with no blank),
// quotes and escapes included: up to the first blank outside quotes. It
// follows splitWords' rules but returns a slice of s, so that callers can
// cut exactly that many bytes off s (splitWords rebuilds its words rune by
// rune, which changes invalid UTF-8).
func firstWord(s string, escape rune) string {
	var quote rune
	escaped := false
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == escape && quote != '\'':
			escaped = true
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ' ' || c == '\t' || c == '\n':
			return s[:i]
		}
	}
	return s
}

// unquote removes the quotes around (parts of) a flag's value:
// --chown="app user" is app user.
func unquote(s string) string {
	var b strings.Builder
	var quote rune
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// heredocMarker is one "<<NAME" found in an instruction.
type heredocMarker struct {
	name      string
	stripTabs bool
	expand    bool
}

// heredocRE matches a word that opens a here-document: an optional file
// descriptor, "<<", an optional "-", and the delimiter, perhaps quoted.
var heredocRE = lazyRegexp(`^[0-9]*<<(-?)(?:"([^"<]+)"|'([^'<]+)'|([^"'<\s]+))$`)

// findHeredocs lists the here-documents that an instruction opens, in the
// order their bodies follow it.
func findHeredocs(rest string, escape rune) []heredocMarker {
	var markers []heredocMarker
	for _, w := range splitWords(rest, escape) {
		m := heredocRE().FindStringSubmatch(w)
		if m == nil {
			continue
		}
		h := heredocMarker{stripTabs: m[1] == "-", name: m[4], expand: true}
		if m[4] == "" {
			h.name, h.expand = m[2]+m[3], false
		}
		markers = append(markers, h)
	}
	return markers
}

// HeredocName returns the delimiter of a "<<NAME" word, or "" if word does
// not open a here-document. COPY and ADD use it to tell inline files from
// paths.
func HeredocName(word string) string {
	m := heredocRE().FindStringSubmatch(word)
	if m == nil {
		return ""
	}
	return m[2] + m[3] + m[4]
}
