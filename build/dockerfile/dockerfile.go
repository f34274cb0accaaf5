package dockerfile

// Dockerfile is a parsed Dockerfile: the ARG instructions before the first
// FROM, then its build stages in order. Nothing in it is substituted yet:
// variables get their values only while the stages are built.
type Dockerfile struct {
	// Name is the file name that every error starts with ("Dockerfile").
	Name string
	// Escape is the escape character: '\\', or '`' after "# escape=`".
	Escape rune
	// MetaArgs are the ARG instructions before the first FROM. Their values
	// are seen only by FROM lines, and by an ARG of the same name without a
	// default inside a stage.
	MetaArgs []*Instruction
	Stages   []*Stage
}

// Stage is one build stage: a FROM instruction and the instructions that
// follow it, up to the next FROM.
type Stage struct {
	// Name is the name given by "FROM image AS name", in lower case, or "".
	Name string
	// Index is the stage's position, from 0; COPY --from=0 names it so.
	Index int
	// From is the FROM instruction. Its Args are the base image and, with
	// AS, the stage name.
	From *Instruction
	// Instructions are the stage's other instructions, in order.
	Instructions []*Instruction
}

// Instruction is one instruction as written, split into its parts.
//
// How Args are laid out depends on the keyword:
//   - RUN, CMD, ENTRYPOINT, SHELL, VOLUME, COPY, ADD: the exec (JSON) form's
//     elements, with JSON set; otherwise for RUN, CMD and ENTRYPOINT the
//     whole command line as one element (shell form), and for VOLUME, COPY
//     and ADD the words, quotes still in place.
//   - FROM: the base image, then the stage name if AS was given.
//   - EXPOSE: the words. USER, WORKDIR, STOPSIGNAL, MAINTAINER: the rest of
//     the line as one element.
//   - HEALTHCHECK: "NONE", or "CMD" followed by the command in exec or
//     shell form (JSON tells which).
//   - ENV, LABEL and ARG use Pairs instead; ONBUILD uses Trigger.
type Instruction struct {
	// Keyword is the instruction's name in upper case, "RUN".
	Keyword string
	// Line and EndLine are the first and the last line of the instruction,
	// counted from 1; continuation lines and heredoc bodies are included.
	Line, EndLine int
	// Original is the instruction as written, continuation lines joined
	// (without heredoc bodies): what `Step 2/4 : ...` shows.
	Original string

	Flags    []Flag
	Args     []string
	JSON     bool
	Pairs    []KeyValue
	Heredocs []Heredoc
	// Trigger is the instruction that ONBUILD records.
	Trigger *Instruction
}

// Flag is one "--name=value" or "--name" option of an instruction, its
// value with quotes removed but not yet substituted.
type Flag struct {
	Name     string
	Value    string
	HasValue bool
}

// KeyValue is one name=value pair of ENV or LABEL, or one ARG name with its
// optional default. Both parts are as written: quotes and variables are
// processed when the stage is built.
type KeyValue struct {
	Key      string
	Value    string
	HasValue bool
}

// Heredoc is the body of a here-document ("<<EOF" up to a line "EOF") that
// follows RUN, COPY or ADD.
type Heredoc struct {
	// Name is the delimiter word, without quotes.
	Name string
	// Body is the lines between the instruction and the delimiter, each
	// ending in a newline; with "<<-" their leading tabs are removed.
	Body string
	// Expand is false when the delimiter was quoted ("<<'EOF'"): then the
	// body is taken literally.
	Expand bool
}

// Flag returns the value of the flag called name and whether it was given.
func (in *Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Heredoc returns the here-document whose delimiter is name, or nil.
func (in *Instruction) Heredoc(name string) *Heredoc {
	for i := range in.Heredocs {
		if in.Heredocs[i].Name == name {
			return &in.Heredocs[i]
		}
	}
	return nil
}

// Stage finds a stage by name (case does not matter) or by index, as FROM
// and COPY --from name stages. Only stages before the one at index before
// count, so that a stage cannot depend on itself or a later one; pass
// len(d.Stages) to search them all.
func (d *Dockerfile) Stage(nameOrIndex string, before int) *Stage {
	for _, st := range d.Stages[:min(before, len(d.Stages))] {
		if st.Name != "" && st.Name == lower(nameOrIndex) {
			return st
		}
	}
	if n, ok := atoi(nameOrIndex); ok && n < min(before, len(d.Stages)) {
		return d.Stages[n]
	}
	return nil
}

// atoi reads a small decimal number without sign.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// lower is strings.ToLower for ASCII names.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
