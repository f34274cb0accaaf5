package image

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Reference is a parsed, normalized image reference: what a user types,
// completed the way Docker completes it.
type Reference struct {
	// Domain is the registry host, e.g. docker.io or 127.0.0.1:5000.
	Domain string
	// Path is the repository path inside the registry, e.g. library/busybox.
	Path string
	// Tag is the tag, or "" when the reference pins a digest only.
	Tag string
	// Digest pins the manifest, or is "".
	Digest digest.Digest
}

// DefaultDomain is the registry a reference names when it names none.
const DefaultDomain = "docker.io"

// defaultTag is the tag a reference names when it names neither tag nor digest.
const defaultTag = "latest"

// The grammar of distribution's reference package, restated as three small
// matchers rather than regular expressions: compiling those cost every
// `skiff run` a few hundred microseconds, and the rules read as plainly in
// code. reference_test.go checks each matcher against the regular
// expression it stands for.

// isComponent reports whether s is a path component: runs of lower-case
// letters and digits, joined by one separator each, which is ".", "_",
// "__" or any number of "-" (`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`).
func isComponent(s string) bool {
	sepStart, inSep := 0, false
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if inSep && !validSeparator(s[sepStart:i]) {
				return false
			}
			inSep = false
			continue
		}
		if i == 0 {
			return false // a component starts with a letter or a digit
		}
		if !inSep {
			sepStart, inSep = i, true
		}
	}
	return s != "" && !inSep
}

// validSeparator reports whether sep may join two runs of a component.
func validSeparator(sep string) bool {
	switch sep {
	case ".", "_", "__":
		return true
	}
	return strings.Trim(sep, "-") == ""
}

// isTag reports whether s is a tag: a word character, then up to 127 word
// characters, dots and dashes (`[\w][\w.-]{0,127}`).
func isTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isWordChar(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isWordChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// isDomain reports whether s is a registry host: a host name of
// dot-separated labels, or an IPv6 address in brackets, then an optional
// ":port".
func isDomain(s string) bool {
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		host, port = s[:i], s[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") {
		addr, ok := strings.CutSuffix(host[1:], "]")
		return ok && addr != "" && strings.Trim(addr, "0123456789abcdefABCDEF:.") == ""
	}
	for _, label := range strings.Split(host, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

// isLabel reports whether s is one label of a host name: letters, digits
// and dashes, neither starting nor ending with a dash.
func isLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParseReference parses rawRef and normalizes it as Docker does:
// "busybox" becomes docker.io/library/busybox:latest, "user/app" becomes
// docker.io/user/app:latest, and a first component with a dot, a colon or the
// name localhost is a registry host.
func ParseReference(rawRef string) (Reference, error) {
	var ref Reference
	rest := rawRef
	if rest == "" {
		return ref, fmt.Errorf("invalid reference format: empty reference")
	}

	// A digest follows '@'; a tag follows the last ':' after the last '/'.
	if name, dgst, ok := strings.Cut(rest, "@"); ok {
		d, err := digest.Parse(dgst)
		if err != nil {
			return ref, fmt.Errorf("invalid reference format %q: %w", rawRef, err)
		}
		ref.Digest, rest = d, name
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		ref.Tag, rest = rest[i+1:], rest[:i]
		if !isTag(ref.Tag) {
			return ref, fmt.Errorf("invalid reference format %q: bad tag %q", rawRef, ref.Tag)
		}
	}

	// The first component is a registry host only if it looks like one.
	ref.Domain, ref.Path = DefaultDomain, rest
	if first, path, ok := strings.Cut(rest, "/"); ok &&
		(strings.ContainsAny(first, ".:") || first == "localhost") {
		if !isDomain(first) {
			return ref, fmt.Errorf("invalid reference format %q: bad registry host %q", rawRef, first)
		}
		ref.Domain, ref.Path = first, path
	}
	if ref.Domain == "index.docker.io" {
		ref.Domain = DefaultDomain
	}
	if ref.Domain == DefaultDomain && !strings.Contains(ref.Path, "/") {
		ref.Path = "library/" + ref.Path
	}

	if err := checkPath(ref.Path); err != nil {
		return ref, fmt.Errorf("invalid reference format %q: %w", rawRef, err)
	}
	if len(ref.Domain)+1+len(ref.Path) > 255 {
		return ref, fmt.Errorf("invalid reference format %q: repository name too long", rawRef)
	}
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = defaultTag
	}
	return ref, nil
}

// checkPath reports whether every component of a repository path is valid.
func checkPath(path string) error {
	for _, c := range strings.Split(path, "/") {
		if !isComponent(c) {
			if strings.ToLower(c) != c {
				return fmt.Errorf("repository name must be lowercase")
			}
			return fmt.Errorf("bad repository name component %q", c)
		}
	}
	return nil
}

// Name returns the full repository name, docker.io/library/busybox.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// String returns the full form, docker.io/library/busybox:latest.
func (r Reference) String() string { return r.Name() + r.suffix() }

// FamiliarName returns the repository as Docker shows it: busybox,
// user/app, 127.0.0.1:5000/app.
func (r Reference) FamiliarName() string {
	if r.Domain != DefaultDomain {
		return r.Name()
	}
	return strings.TrimPrefix(r.Path, "library/")
}

// FamiliarString returns FamiliarName followed by :tag and/or @digest.
func (r Reference) FamiliarString() string { return r.FamiliarName() + r.suffix() }

func (r Reference) suffix() string {
	s := ""
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
