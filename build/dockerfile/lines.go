package dockerfile

import (
	"strings"
)

// lineReader turns the physical lines of a Dockerfile into logical ones:
// it reads the parser directives at the top, drops comments and blank
// lines, and joins continuation lines.
type lineReader struct {
	lines []string
	// next is the index of the next physical line; its number is next+1.
	next   int
	escape rune
}

// logicalLine is one instruction's text with its line numbers.
type logicalLine struct {
	text       string
	start, end int
}

// directiveRE matches a parser directive: "# name=value" on one of the
// first lines, before anything else.
var directiveRE = lazyRegexp(`^#[ \t]*([a-zA-Z][a-zA-Z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$`)

func newLineReader(src string) *lineReader {
	src = strings.TrimPrefix(src, "\ufeff")
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &lineReader{lines: lines, escape: '\\'}
}

// directives reads the parser directives at the top of the file: escape
// changes the escape character; syntax and check are read and ignored, as
// are names Docker does not know. They end at the first line that is not
// one: an instruction, a plain comment or a blank line.
func (lr *lineReader) directives(report func(line int, msg string)) {
	seen := map[string]bool{}
	for ; lr.next < len(lr.lines); lr.next++ {
		m := directiveRE().FindStringSubmatch(strings.TrimLeft(lr.lines[lr.next], " \t"))
		if m == nil {
			return
		}
		name, value := lower(m[1]), m[2]
		if seen[name] {
			report(lr.next+1, "only one "+name+" parser directive can be used")
			continue
		}
		seen[name] = true
		if name != "escape" {
			continue
		}
		switch value {
		case "\\":
			lr.escape = '\\'
		case "`":
			lr.escape = '`'
		default:
			report(lr.next+1, "invalid escape token '"+value+"' does not match ` or \\")
		}
	}
}

// isComment reports whether a physical line is a comment: '#' first, after
// any blanks. Comments are removed even between continuation lines.
func isComment(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), "#")
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

// trimContinuation removes a trailing escape character (and the blanks
// after it) and reports whether there was one: the instruction then goes
// on on the next line.
func (lr *lineReader) trimContinuation(line string) (string, bool) {
	trimmed := strings.TrimRight(line, " \t")
	if strings.HasSuffix(trimmed, string(lr.escape)) {
		return trimmed[:len(trimmed)-len(string(lr.escape))], true
	}
	return line, false
}

// nextLine returns the next instruction's text, continuation lines joined
// as Docker joins them (the escape character and line break removed,
// nothing added), or false at the end of the file.
func (lr *lineReader) nextLine() (logicalLine, bool) {
	for lr.next < len(lr.lines) && (isBlank(lr.lines[lr.next]) || isComment(lr.lines[lr.next])) {
		lr.next++
	}
	if lr.next >= len(lr.lines) {
		return logicalLine{}, false
	}

	ll := logicalLine{start: lr.next + 1}
	text, more := lr.trimContinuation(strings.TrimLeft(lr.lines[lr.next], " \t"))
	lr.next++

	// Comments and blank lines inside a continued instruction are skipped,
	// as Docker skips them.
	for more && lr.next < len(lr.lines) {
		line := lr.lines[lr.next]
		lr.next++
		if isComment(line) || isBlank(line) {
			continue
		}
		var part string
		part, more = lr.trimContinuation(line)
		text += part
	}
	ll.text, ll.end = text, lr.next
	return ll, true
}

// heredocBody reads the lines after an instruction up to the line that is
// exactly name (after removing leading tabs when stripTabs), and returns
// them with their newlines. Nothing in a body is a comment or continuation.
func (lr *lineReader) heredocBody(name string, stripTabs bool) (string, bool) {
	var body strings.Builder
	for lr.next < len(lr.lines) {
		line := lr.lines[lr.next]
		lr.next++
		if stripTabs {
			line = strings.TrimLeft(line, "\t")
		}
		if line == name {
			return body.String(), true
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	return body.String(), false
}
