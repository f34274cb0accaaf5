package dockerfile

import (
	"fmt"
	"io"
	"strings"
)

// maxSize bounds what Parse reads: a Dockerfile is a small text file.
const maxSize = 16 << 20

// Parse reads a Dockerfile and checks everything that can be checked
// before the build: the keywords, how many arguments each instruction has
// and in which form, flags, here-documents, stage names, and that every
// instruction but ARG follows a FROM. name is used in errors
// ("Dockerfile:3: unknown instruction: RUNN").
//
// On problems Parse returns an [ErrorList] holding all of them, and the
// instructions it could read; a build must not start then.
func Parse(r io.Reader, name string) (*Dockerfile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, maxSize)
	}

	p := &parser{df: &Dockerfile{Name: name}, lr: newLineReader(string(data))}
	p.lr.directives(p.report)
	p.df.Escape = p.lr.escape
	for {
		ll, ok := p.lr.nextLine()
		if !ok {
			break
		}
		if in := p.instruction(ll); in != nil {
			p.place(in)
		}
	}
	p.check()
	return p.df, p.errs.err()
}

// ParseInstruction parses one instruction that is not in a file: an ONBUILD
// trigger recorded in a base image, run when a build starts FROM it. line
// is the line the problems are reported at (the FROM's).
func ParseInstruction(text, file string, line int, escape rune) (*Instruction, error) {
	p := &parser{df: &Dockerfile{Name: file}, lr: newLineReader("")}
	p.lr.escape = escape
	in := p.instruction(logicalLine{text: text, start: line, end: line})
	return in, p.errs.err()
}

// parser is the state of one Parse.
type parser struct {
	df   *Dockerfile
	lr   *lineReader
	errs ErrorList
	// stage is the stage being read; nil before the first FROM.
	stage *Stage
}

func (p *parser) report(line int, msg string) {
	p.errs = append(p.errs, &Error{File: p.df.Name, Line: line, Msg: msg})
}

// keywordRE is an instruction's first word.
var keywordRE = lazyRegexp(`^[A-Za-z]+$`)

// instruction parses one logical line: the keyword, the flags, any
// here-document bodies (read from the lines that follow), then the
// arguments as the keyword wants them. It returns nil for a line it cannot
// make sense of, after reporting why.
func (p *parser) instruction(ll logicalLine) *Instruction {
	text := strings.TrimSpace(ll.text)
	word, rest := text, ""
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		word, rest = text[:i], strings.TrimSpace(text[i:])
	}
	in := &Instruction{
		Keyword: strings.ToUpper(word), Line: ll.start, EndLine: ll.end,
		Original: strings.TrimSpace(ll.text),
	}
	spec, known := instructions[in.Keyword]
	if !known || !keywordRE().MatchString(word) {
		p.report(in.Line, "unknown instruction: "+word)
		return nil
	}

	var err error
	if spec.flags != nil {
		if in.Flags, rest, err = extractFlags(rest, p.lr.escape); err != nil {
			p.report(in.Line, err.Error())
			return nil
		}
		if err := checkFlags(in, spec.flags); err != nil {
			p.report(in.Line, err.Error())
			return nil
		}
	}
	if spec.heredocs {
		p.readHeredocs(in, rest)
	}
	if err := spec.parse(p, in, rest); err != nil {
		if err != errReported {
			p.report(in.Line, err.Error())
		}
		return nil
	}
	return in
}

// checkFlags refuses flags the instruction does not take.
func checkFlags(in *Instruction, allowed []string) error {
	for _, f := range in.Flags {
		ok := false
		for _, a := range allowed {
			ok = ok || f.Name == a
		}
		if !ok {
			return fmt.Errorf("unknown flag for %s: --%s", in.Keyword, f.Name)
		}
	}
	return nil
}

// readHeredocs reads the bodies of the here-documents the instruction
// opens, from the lines after it.
func (p *parser) readHeredocs(in *Instruction, rest string) {
	for _, m := range findHeredocs(rest, p.lr.escape) {
		body, ok := p.lr.heredocBody(m.name, m.stripTabs)
		if !ok {
			p.report(in.Line, "unterminated heredoc "+m.name)
		}
		in.Heredocs = append(in.Heredocs, Heredoc{Name: m.name, Body: body, Expand: m.expand})
	}
	in.EndLine = max(in.EndLine, p.lr.next)
}

// place adds an instruction to the Dockerfile: FROM opens a stage, ARG
// before the first FROM is a meta argument, and anything else belongs to
// the current stage.
func (p *parser) place(in *Instruction) {
	switch {
	case in.Keyword == "FROM":
		p.stage = &Stage{Index: len(p.df.Stages), From: in}
		if len(in.Args) > 1 {
			p.stage.Name = lower(in.Args[1])
		}
		p.df.Stages = append(p.df.Stages, p.stage)
	case p.stage != nil:
		p.stage.Instructions = append(p.stage.Instructions, in)
	case in.Keyword == "ARG":
		p.df.MetaArgs = append(p.df.MetaArgs, in)
	default:
		p.report(in.Line, "no build stage in current context: "+
			in.Keyword+" must come after a FROM instruction")
	}
}

// check does what needs the whole file: there is a stage; stage names are
// unique; COPY --from does not name its own stage.
func (p *parser) check() {
	if len(p.df.Stages) == 0 && len(p.errs) == 0 {
		p.report(max(1, len(p.lr.lines)-1), "the Dockerfile has no FROM instruction")
		return
	}
	seen := map[string]bool{}
	for _, st := range p.df.Stages {
		if st.Name != "" && seen[st.Name] {
			p.report(st.From.Line, fmt.Sprintf("duplicate stage name %q", st.Name))
		}
		seen[st.Name] = true
		for _, in := range st.Instructions {
			from, ok := in.Flag("from")
			if ok && in.Keyword == "COPY" && p.df.Stage(from, len(p.df.Stages)) == st {
				p.report(in.Line, "circular dependency detected on stage: "+from)
			}
		}
	}
}
