package image

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

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

// The grammar of distribution's reference package, restated:
// a path component is lower-case alphanumerics joined by separators,
// a tag is up to 128 word characters, dots and dashes.
//
// They are compiled on first use, not at start-up: every skiff process
// (the container init and monitors too) would pay for them otherwise.
var (
	componentRE = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagRE       = lazyRegexp(`^[\w][\w.-]{0,127}$`)
	domainRE    = lazyRegexp(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?` +
		`(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
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
		if !tagRE().MatchString(ref.Tag) {
			return ref, fmt.Errorf("invalid reference format %q: bad tag %q", rawRef, ref.Tag)
		}
	}

	// The first component is a registry host only if it looks like one.
	ref.Domain, ref.Path = DefaultDomain, rest
	if first, path, ok := strings.Cut(rest, "/"); ok &&
		(strings.ContainsAny(first, ".:") || first == "localhost") {
		if !domainRE().MatchString(first) {
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
		if !componentRE().MatchString(c) {
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
