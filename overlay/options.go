package overlay

import (
	"fmt"
	"strings"
)

// option is one overlayfs mount option, as fsconfig(2) sets it.
type option struct {
	key, value string
}

// String gives the option as "key=value", unescaped.
func (o option) String() string {
	return o.key + "=" + o.value
}

// fsconfigValue returns the value to pass to fsconfig(2). overlayfs runs
// the values of upperdir and workdir through its unescaping even when they
// come one by one, as it does with mount(2)'s string, so a backslash in
// them must be escaped; "lowerdir+" values are taken as they are.
func (o option) fsconfigValue() string {
	if o.key == "upperdir" || o.key == "workdir" {
		return escapeOption(o.value)
	}
	return o.value
}

// fixedOptions are set on every overlay skiff mounts; the package doc says
// why each one.
var fixedOptions = []option{
	{"index", "off"},
	{"redirect_dir", "nofollow"},
	{"metacopy", "off"},
}

// stack is one overlay to mount, in the kernel's terms.
type stack struct {
	lower []string // layer dirs, topmost first, as lowerdir lists them
	upper string   // the upper dir, "" for a read-only view
	work  string   // the work dir, unused without upper
}

// newStack turns Mount's arguments, layers lowest first, into a stack.
func newStack(layers []string, upper, work string) stack {
	lower := make([]string, len(layers))
	for i, layer := range layers {
		lower[len(layers)-1-i] = layer
	}
	return stack{lower: lower, upper: upper, work: work}
}

// options returns every option but the lower dirs, which the two ways of
// mounting pass differently.
func (s stack) options() []option {
	var opts []option
	if s.upper != "" {
		opts = append(opts, option{"upperdir", s.upper}, option{"workdir", s.work})
	}
	return append(opts, fixedOptions...)
}

// mountData builds the option string of mount(2) from the lower dirs,
// topmost first, and the other options. The kernel copies at most one page
// of it, so a longer string is refused here rather than cut short there.
func mountData(lower []string, opts []option, pageSize int) (string, error) {
	escaped := make([]string, len(lower))
	for i, dir := range lower {
		escaped[i] = escapeOption(dir)
	}
	fields := []string{"lowerdir=" + strings.Join(escaped, ":")}
	for _, o := range opts {
		fields = append(fields, o.key+"="+escapeOption(o.value))
	}
	data := strings.Join(fields, ",")

	// The string must fit with its terminating NUL byte.
	if len(data) >= pageSize {
		return "", fmt.Errorf("overlay options take %d bytes, more than the %d that "+
			"mount(2) accepts (one page)", len(data)+1, pageSize)
	}
	return data, nil
}

// escapeOption escapes the characters that overlayfs's option parser
// splits on, "," between options and ":" between lower dirs, with a
// backslash, as the kernel documentation describes.
func escapeOption(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ",", `\,`, ":", `\:`)
	return r.Replace(s)
}

// unescapeOption undoes [escapeOption] as overlayfs does: a backslash
// takes the next character as it is.
func unescapeOption(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
