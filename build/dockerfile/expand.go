package dockerfile

import (
	"errors"
	"fmt"
	"strings"
)

// Lookup returns a variable's value and whether it is set at all: ${X-y}
// and ${X:-y} differ for a variable that is set but empty.
type Lookup func(name string) (string, bool)

// ExpandWord processes one word the way Docker processes the arguments of
// FROM, COPY, ADD, ENV, LABEL, ARG, WORKDIR, USER, EXPOSE, VOLUME and
// STOPSIGNAL (never those of RUN, CMD and ENTRYPOINT: the shell in the
// container does that):
//
//   - 'single quotes' keep everything literally; "double quotes" keep all
//     but variables, and the escape character escapes only ", $ and itself;
//   - outside quotes the escape character makes the next character plain;
//   - $NAME and ${NAME} are replaced by the value, "" when unset;
//     ${NAME:-word} gives word when NAME is unset or empty, ${NAME-word}
//     only when unset; ${NAME:+word} gives word when NAME is set and not
//     empty, ${NAME+word} when set; ${NAME:?message} and ${NAME?message}
//     are an error when NAME is unset (or empty, with the colon).
//
// Blanks stay as they are: the result is one word.
func ExpandWord(word string, escape rune, lookup Lookup) (string, error) {
	out := &wordSink{}
	l := &lexer{src: []rune(word), escape: escape, lookup: lookup, quotes: true}
	if _, err := l.run(out, noStop); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// ExpandFields is [ExpandWord] for a list of words: the result is split at
// blanks outside quotes, also at blanks that come from an unquoted
// variable's value, as Docker splits EXPOSE $PORTS.
func ExpandFields(s string, escape rune, lookup Lookup) ([]string, error) {
	out := &fieldsSink{}
	l := &lexer{src: []rune(s), escape: escape, lookup: lookup, quotes: true}
	if _, err := l.run(out, noStop); err != nil {
		return nil, err
	}
	out.end()
	return out.words, nil
}

// ExpandRaw substitutes variables in s but keeps quotes as they are: for
// the elements of an exec-form (JSON) list, whose quoting JSON has already
// done. The escape character only keeps a $ from starting a variable.
func ExpandRaw(s string, escape rune, lookup Lookup) (string, error) {
	out := &wordSink{}
	l := &lexer{src: []rune(s), escape: escape, lookup: lookup}
	if _, err := l.run(out, noStop); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// noStop is a stop character that never occurs: process to the end.
const noStop = rune(-1)

// lexer walks the characters of a word once, sending what it makes of
// them to a sink.
type lexer struct {
	src    []rune
	pos    int
	escape rune
	lookup Lookup
	// quotes is false in raw mode: quote characters are plain.
	quotes bool
}

// sink receives the lexer's output: text that is part of the current word,
// a variable's value from outside quotes, and blanks from outside quotes.
type sink interface {
	text(s string)
	value(s string)
	blank(r rune)
	// quoted says a quote opened here: even "" makes a word.
	quoted()
}

// run processes characters up to stop (which it leaves unread) or the end,
// and reports whether it met stop.
func (l *lexer) run(out sink, stop rune) (bool, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		var err error
		switch {
		case c == stop:
			return true, nil
		case c == l.escape:
			l.escaped(out)
		case l.quotes && c == '\'':
			err = l.singleQuoted(out)
		case l.quotes && c == '"':
			err = l.doubleQuoted(out)
		case c == '$':
			err = l.dollar(out, false)
		case c == ' ' || c == '\t' || c == '\n':
			out.blank(c)
			l.pos++
		default:
			out.text(string(c))
			l.pos++
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// escaped handles the escape character outside quotes: the next character
// is plain. A trailing escape character is dropped, as Docker drops it.
func (l *lexer) escaped(out sink) {
	l.pos++
	if l.pos >= len(l.src) {
		return
	}
	next := l.src[l.pos]
	l.pos++
	if !l.quotes && next != '$' {
		out.text(string(l.escape))
	}
	out.text(string(next))
}

func (l *lexer) singleQuoted(out sink) error {
	l.pos++
	out.quoted()
	start := l.pos
	for l.pos < len(l.src) && l.src[l.pos] != '\'' {
		l.pos++
	}
	if l.pos >= len(l.src) {
		return errors.New("unexpected end of statement while looking for matching single-quote")
	}
	out.text(string(l.src[start:l.pos]))
	l.pos++
	return nil
}

func (l *lexer) doubleQuoted(out sink) error {
	l.pos++
	out.quoted()
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '"':
			l.pos++
			return nil
		case c == '$':
			if err := l.dollar(out, true); err != nil {
				return err
			}
			continue
		case c == l.escape && l.pos+1 < len(l.src):
			next := l.src[l.pos+1]
			if next != '"' && next != '$' && next != l.escape {
				out.text(string(c))
			}
			out.text(string(next))
			l.pos += 2
			continue
		}
		out.text(string(c))
		l.pos++
	}
	return errors.New("unexpected end of statement while looking for matching double-quote")
}

// dollar handles $NAME and ${...}. A $ that starts neither is plain.
func (l *lexer) dollar(out sink, quoted bool) error {
	l.pos++
	var v string
	switch {
	case l.pos < len(l.src) && l.src[l.pos] == '{':
		l.pos++
		var err error
		if v, err = l.braced(); err != nil {
			return err
		}
	default:
		name := l.name()
		if name == "" {
			out.text("$")
			return nil
		}
		v, _ = l.lookup(name)
	}
	if quoted {
		out.text(v)
	} else {
		out.value(v)
	}
	return nil
}

// name reads a variable name: a letter or _, then letters, digits and _.
func (l *lexer) name() string {
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		isLetter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !isLetter && (l.pos == start || c < '0' || c > '9') {
			break
		}
		l.pos++
	}
	return string(l.src[start:l.pos])
}

// braced reads what follows "${" up to the matching "}" and returns the
// substitution's value.
func (l *lexer) braced() (string, error) {
	name := l.name()
	if name == "" {
		return "", errors.New("bad substitution: ${ must be followed by a variable name")
	}
	missing := fmt.Errorf("missing '}' after ${%s", name)
	if l.pos >= len(l.src) {
		return "", missing
	}
	value, set := l.lookup(name)
	op, colon := l.src[l.pos], false
	l.pos++
	if op == '}' {
		return value, nil
	}
	if op == ':' && l.pos < len(l.src) {
		op, colon = l.src[l.pos], true
		l.pos++
	}
	if op != '-' && op != '+' && op != '?' {
		return "", fmt.Errorf("unsupported modifier (%c) in substitution ${%s", op, name)
	}

	// The word may itself hold quotes and variables.
	word := &wordSink{}
	if stopped, err := l.run(word, '}'); err != nil || !stopped {
		return "", errors.Join(err, missing)
	}
	l.pos++
	return substitute(name, value, set && (!colon || value != ""), op, word.b.String())
}

// substitute applies ${NAME-word}, ${NAME+word} or ${NAME?word}; present
// says whether NAME counts as set.
func substitute(name, value string, present bool, op rune, word string) (string, error) {
	switch {
	case op == '-' && !present:
		return word, nil
	case op == '+' && present:
		return word, nil
	case op == '+':
		return "", nil
	case op == '?' && !present:
		if word == "" {
			word = "parameter not set"
		}
		return "", fmt.Errorf("%s: %s", name, word)
	}
	return value, nil
}

// wordSink keeps everything: the result is one word.
type wordSink struct{ b strings.Builder }

func (w *wordSink) text(s string)  { w.b.WriteString(s) }
func (w *wordSink) value(s string) { w.b.WriteString(s) }
func (w *wordSink) blank(r rune)   { w.b.WriteRune(r) }
func (w *wordSink) quoted()        {}

// fieldsSink splits at blanks from outside quotes.
type fieldsSink struct {
	words  []string
	cur    strings.Builder
	inWord bool
}

func (f *fieldsSink) text(s string) {
	f.cur.WriteString(s)
	f.inWord = f.inWord || s != ""
}

func (f *fieldsSink) value(s string) {
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' {
			f.end()
			continue
		}
		f.cur.WriteRune(r)
		f.inWord = true
	}
}

func (f *fieldsSink) blank(rune) { f.end() }
func (f *fieldsSink) quoted()    { f.inWord = true }

// end closes the current word, if there is one.
func (f *fieldsSink) end() {
	if f.inWord {
		f.words = append(f.words, f.cur.String())
	}
	f.cur.Reset()
	f.inWord = false
}
