package dockerfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// spec says how one instruction is read.
type spec struct {
	// flags are the flags the instruction takes; nil means that words
	// starting with "--" are plain arguments (CMD --help).
	flags []string
	// heredocs is set for the instructions that may open here-documents.
	heredocs bool
	parse    func(p *parser, in *Instruction, rest string) error
}

// instructions are the keywords skiff knows. They are set in init because
// ONBUILD's parser parses another instruction through this table.
var instructions map[string]spec

func init() {
	instructions = map[string]spec{
		"FROM":        {flags: []string{"platform"}, parse: parseFrom},
		"RUN":         {flags: []string{}, heredocs: true, parse: parseCommand},
		"CMD":         {parse: parseCommand},
		"ENTRYPOINT":  {parse: parseCommand},
		"SHELL":       {parse: parseShell},
		"COPY":        {flags: copyFlags, heredocs: true, parse: parseCopy},
		"ADD":         {flags: addFlags, heredocs: true, parse: parseCopy},
		"ENV":         {parse: parsePairs},
		"LABEL":       {parse: parsePairs},
		"ARG":         {parse: parseArg},
		"EXPOSE":      {parse: parseExpose},
		"USER":        {parse: parseOneWord},
		"STOPSIGNAL":  {parse: parseOneWord},
		"WORKDIR":     {parse: parseRest},
		"MAINTAINER":  {parse: parseRest},
		"VOLUME":      {parse: parseVolume},
		"HEALTHCHECK": {flags: healthFlags, parse: parseHealthcheck},
		"ONBUILD":     {parse: parseOnbuild},
	}
}

// The flags of COPY and ADD. --link changes nothing here: a layer never
// depends on the layers below it.
var (
	copyFlags = []string{"from", "chown", "chmod", "link"}
	addFlags  = []string{"chown", "chmod", "checksum", "link"}
)

// errReported means the problem was already reported (by a nested parse).
var errReported = errors.New("reported")

func needArgs(in *Instruction, what string) error {
	return fmt.Errorf("%s requires %s", in.Keyword, what)
}

// stageNameRE is what a stage may be called (after lower-casing).
var stageNameRE = lazyRegexp(`^[a-z][a-z0-9_.-]*$`)

// parseFrom reads "FROM image" or "FROM image AS name".
func parseFrom(p *parser, in *Instruction, rest string) error {
	words := strings.Fields(rest)
	switch {
	case len(words) == 1:
	case len(words) == 3 && lower(words[1]) == "as":
		if !stageNameRE().MatchString(lower(words[2])) {
			return fmt.Errorf("invalid name for build stage: %q, "+
				"name can't start with a number or contain symbols", words[2])
		}
		words = []string{words[0], words[2]}
	default:
		return errors.New("FROM requires either one or three arguments")
	}
	in.Args = words
	return nil
}

// parseCommand reads RUN, CMD and ENTRYPOINT: the exec form (a JSON array)
// or the shell form (the rest of the line).
func parseCommand(p *parser, in *Instruction, rest string) error {
	if rest == "" {
		return needArgs(in, "at least one argument")
	}
	if args, ok := parseJSON(rest); ok {
		if len(args) == 0 && in.Keyword == "RUN" {
			return needArgs(in, "at least one argument")
		}
		in.Args, in.JSON = args, true
		return nil
	}
	in.Args = []string{rest}
	return nil
}

// parseShell reads SHELL, which takes the exec form only.
func parseShell(p *parser, in *Instruction, rest string) error {
	args, ok := parseJSON(rest)
	switch {
	case !ok:
		return errors.New("SHELL requires the arguments to be in JSON form")
	case len(args) == 0:
		return needArgs(in, "at least one argument")
	}
	in.Args, in.JSON = args, true
	return nil
}

// parseCopy reads COPY and ADD: sources and a destination, in the exec
// form or as words; "<<NAME" sources are here-documents.
func parseCopy(p *parser, in *Instruction, rest string) error {
	if args, ok := parseJSON(rest); ok {
		in.Args, in.JSON = args, true
	} else {
		in.Args = splitWords(rest, p.lr.escape)
	}
	if len(in.Args) < 2 {
		return needArgs(in, "at least two arguments")
	}
	if mode, ok := in.Flag("chmod"); ok && !strings.Contains(mode, "$") {
		if _, err := ParseMode(mode); err != nil {
			return err
		}
	}
	return nil
}

// ParseMode reads the octal mode of --chmod ("644", "0755").
func ParseMode(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("invalid --chmod value %q: want an octal mode such as 0755", s)
	}
	return uint32(n), nil
}

// parsePairs reads ENV and LABEL: name=value pairs, or the old form
// "ENV NAME the rest of the line", which sets one variable.
func parsePairs(p *parser, in *Instruction, rest string) error {
	words := splitWords(rest, p.lr.escape)
	if len(words) == 0 {
		return needArgs(in, "at least one argument")
	}
	if !strings.Contains(words[0], "=") {
		value := strings.TrimLeft(strings.TrimPrefix(rest, words[0]), " \t")
		if value == "" {
			return fmt.Errorf("%s must have two arguments", in.Keyword)
		}
		in.Pairs = []KeyValue{{Key: words[0], Value: value, HasValue: true}}
		return nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case !ok:
			const msg = "syntax error - can't find = in %q: must be of the form name=value"
			return fmt.Errorf(msg, w)
		case k == "":
			return fmt.Errorf("%s names can not be blank", in.Keyword)
		}
		in.Pairs = append(in.Pairs, KeyValue{Key: k, Value: v, HasValue: true})
	}
	return nil
}

// argNameRE is what an ARG may be called.
var argNameRE = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseArg reads ARG: one or more names, each with an optional default.
func parseArg(p *parser, in *Instruction, rest string) error {
	words := splitWords(rest, p.lr.escape)
	if len(words) == 0 {
		return needArgs(in, "at least one argument")
	}
	for _, w := range words {
		k, v, has := strings.Cut(w, "=")
		if !argNameRE().MatchString(k) {
			return fmt.Errorf("invalid ARG name %q", k)
		}
		in.Pairs = append(in.Pairs, KeyValue{Key: k, Value: v, HasValue: has})
	}
	return nil
}

// parseExpose reads EXPOSE's ports, checking those without variables.
func parseExpose(p *parser, in *Instruction, rest string) error {
	in.Args = strings.Fields(rest)
	if len(in.Args) == 0 {
		return needArgs(in, "at least one argument")
	}
	for _, w := range in.Args {
		if !strings.Contains(w, "$") {
			if _, _, _, err := portRange(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// ExposedPorts reads one EXPOSE word ("80", "53/udp", "8000-8002/tcp") as
// the image config's keys for it: "80/tcp" ...
func ExposedPorts(word string) ([]string, error) {
	lo, hi, proto, err := portRange(word)
	if err != nil {
		return nil, err
	}
	ports := make([]string, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		ports = append(ports, strconv.Itoa(n)+"/"+proto)
	}
	return ports, nil
}

// portRange reads one EXPOSE word as a range of ports and a protocol.
func portRange(word string) (lo, hi int, proto string, err error) {
	port, proto, hasProto := strings.Cut(word, "/")
	proto = lower(proto)
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return 0, 0, "", fmt.Errorf("invalid protocol %q in EXPOSE %s", proto, word)
	}
	first, last, isRange := strings.Cut(port, "-")
	lo, err1 := strconv.Atoi(first)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(last)
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || hi < lo {
		return 0, 0, "", fmt.Errorf("invalid port %q in EXPOSE", word)
	}
	return lo, hi, proto, nil
}

// parseOneWord reads USER and STOPSIGNAL: exactly one word.
func parseOneWord(p *parser, in *Instruction, rest string) error {
	if len(strings.Fields(rest)) != 1 {
		return needArgs(in, "exactly one argument")
	}
	in.Args = []string{rest}
	return nil
}

// parseRest reads WORKDIR and MAINTAINER: the rest of the line.
func parseRest(p *parser, in *Instruction, rest string) error {
	if rest == "" {
		return needArgs(in, "exactly one argument")
	}
	in.Args = []string{rest}
	return nil
}

// parseVolume reads VOLUME: a JSON array or words.
func parseVolume(p *parser, in *Instruction, rest string) error {
	if args, ok := parseJSON(rest); ok {
		in.Args, in.JSON = args, true
	} else {
		in.Args = strings.Fields(rest)
	}
	if len(in.Args) == 0 {
		return needArgs(in, "at least one argument")
	}
	for _, v := range in.Args {
		if strings.TrimSpace(v) == "" {
			return errors.New("VOLUME specified can not be an empty string")
		}
	}
	return nil
}

// parseOnbuild reads ONBUILD and the instruction it records, which must
// itself be valid and may not be ONBUILD, FROM or MAINTAINER.
func parseOnbuild(p *parser, in *Instruction, rest string) error {
	if rest == "" {
		return needArgs(in, "at least one argument")
	}
	// The trigger is parsed on its own: it cannot read lines after it.
	sub := &parser{df: p.df, lr: &lineReader{escape: p.lr.escape}}
	trigger := sub.instruction(logicalLine{text: rest, start: in.Line, end: in.EndLine})
	p.errs = append(p.errs, sub.errs...)
	if trigger == nil || len(sub.errs) > 0 {
		return errReported
	}
	switch trigger.Keyword {
	case "ONBUILD":
		return errors.New("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "FROM", "MAINTAINER":
		return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", trigger.Keyword)
	}
	in.Trigger = trigger
	return nil
}

// Healthcheck is what a HEALTHCHECK instruction asks for.
type Healthcheck struct {
	// Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command], as in
	// Docker's image config.
	Test                                          []string
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries                                       int
}

// healthFlags are HEALTHCHECK's options.
var healthFlags = []string{"interval", "timeout", "start-period", "start-interval", "retries"}

// parseHealthcheck reads "HEALTHCHECK NONE" or "HEALTHCHECK [flags] CMD
// command" and checks the flags' values.
func parseHealthcheck(p *parser, in *Instruction, rest string) error {
	kind, cmd, _ := strings.Cut(rest, " ")
	cmd = strings.TrimSpace(cmd)
	switch strings.ToUpper(kind) {
	case "":
		return needArgs(in, "at least one argument")
	case "NONE":
		if cmd != "" || len(in.Flags) > 0 {
			return errors.New("HEALTHCHECK NONE takes no arguments and no options")
		}
		in.Args = []string{"NONE"}
	case "CMD":
		if cmd == "" {
			return errors.New("missing command after HEALTHCHECK CMD")
		}
		args, ok := parseJSON(cmd)
		if !ok {
			args = []string{cmd}
		}
		in.Args, in.JSON = append([]string{"CMD"}, args...), ok
	default:
		return fmt.Errorf("unknown type %q in HEALTHCHECK (try CMD)", kind)
	}
	_, err := ParseHealthcheck(in)
	return err
}

// ParseHealthcheck reads a parsed HEALTHCHECK instruction into the test and
// timings that the image config records. Durations under a millisecond
// other than 0 (the default) are refused, as Docker refuses them.
func ParseHealthcheck(in *Instruction) (*Healthcheck, error) {
	h := &Healthcheck{}
	switch {
	case len(in.Args) == 0:
		return nil, needArgs(in, "at least one argument")
	case in.Args[0] == "NONE":
		h.Test = []string{"NONE"}
		return h, nil
	case in.JSON:
		h.Test = append([]string{"CMD"}, in.Args[1:]...)
	default:
		h.Test = []string{"CMD-SHELL", strings.Join(in.Args[1:], " ")}
	}

	durations := map[string]*time.Duration{"interval": &h.Interval, "timeout": &h.Timeout,
		"start-period": &h.StartPeriod, "start-interval": &h.StartInterval}
	for _, f := range in.Flags {
		if f.Name == "retries" {
			n, err := strconv.Atoi(f.Value)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid --retries value %q: want a number >= 0", f.Value)
			}
			h.Retries = n
			continue
		}
		target, ok := durations[f.Name]
		if !ok {
			return nil, fmt.Errorf("unknown flag for HEALTHCHECK: --%s", f.Name)
		}
		d, err := time.ParseDuration(f.Value)
		if err != nil || d < 0 || (d > 0 && d < time.Millisecond) {
			return nil, fmt.Errorf("invalid --%s value %q: want a duration of at least 1ms "+
				"such as 30s", f.Name, f.Value)
		}
		*target = d
	}
	return h, nil
}
