package registry

import (
	"fmt"
	"strings"
)

// Challenge is one authentication scheme a registry offers in a
// WWW-Authenticate header, with its parameters:
//
//	Bearer realm="https://auth.docker.io/token",service="registry.docker.io"
//	Basic realm="Registry Realm"
type Challenge struct {
	// Scheme is the scheme in lower case: "bearer" or "basic".
	Scheme string
	// Params holds the auth-params by lower-case name: realm, service,
	// scope, error.
	Params map[string]string
}

// ParseChallenges parses the value of a WWW-Authenticate header, which
// RFC 7235 section 4.1 defines as one or more challenges: a scheme, then
// comma-separated name=value parameters whose values are tokens or quoted
// strings. rawHeader comes from the network and may be anything; an error
// says where it stops making sense.
func ParseChallenges(rawHeader string) ([]Challenge, error) {
	p := &headerParser{s: rawHeader}
	var challenges []Challenge
	for {
		p.skip(" \t,")
		if p.done() {
			break
		}
		scheme := p.token()
		if scheme == "" {
			return nil, fmt.Errorf("parse WWW-Authenticate %q: unexpected %q at offset %d",
				rawHeader, p.s[p.i], p.i)
		}
		c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		if err := p.params(c.Params); err != nil {
			return nil, fmt.Errorf("parse WWW-Authenticate %q: %w", rawHeader, err)
		}
		challenges = append(challenges, c)
	}
	if len(challenges) == 0 {
		return nil, fmt.Errorf("parse WWW-Authenticate %q: no challenge", rawHeader)
	}
	return challenges, nil
}

// headerParser walks through a header value one grammar element at a time.
type headerParser struct {
	s string
	i int
}

func (p *headerParser) done() bool { return p.i >= len(p.s) }

func (p *headerParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *headerParser) skip(chars string) {
	for !p.done() && strings.IndexByte(chars, p.s[p.i]) >= 0 {
		p.i++
	}
}

// token reads an RFC 7230 token: visible ASCII except separators.
func (p *headerParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

// params reads name=value pairs into params until the next challenge (a
// token not followed by '=') or the end.
func (p *headerParser) params(params map[string]string) error {
	for {
		p.skip(" \t")
		start := p.i
		name := p.token()
		p.skip(" \t")
		if name == "" || p.peek() != '=' {
			// The start of the next challenge, or the end.
			p.i = start
			return nil
		}
		p.i++ // '='
		p.skip(" \t")
		value, err := p.value()
		if err != nil {
			return err
		}
		params[strings.ToLower(name)] = value
		p.skip(" \t")
		switch {
		case p.done():
			return nil
		case p.peek() == ',':
			p.i++
		default:
			return fmt.Errorf("unexpected %q at offset %d", p.peek(), p.i)
		}
	}
}

// value reads a token or a quoted string, whose backslash escapes any
// character.
func (p *headerParser) value() (string, error) {
	if p.peek() != '"' {
		return p.token(), nil
	}
	start := p.i
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\' && !p.done():
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quoted string at offset %d", start)
}
