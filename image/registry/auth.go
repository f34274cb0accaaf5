package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Credentials are what a user logs in with.
type Credentials struct {
	Username string
	Password string
	// IdentityToken is a refresh token that some registries hand out at
	// login instead of keeping the password (Docker's "identitytoken").
	IdentityToken string
}

// The scopes a token is asked for: Docker's token auth spec names a
// resource as type:name:actions.
func pullScope(path string) string     { return "repository:" + path + ":pull" }
func pushScope(path string) string     { return "repository:" + path + ":pull,push" }
func catalogScope() string             { return "registry:catalog:*" }
func scopesOf(scopes ...string) string { return strings.Join(scopes, " ") }

// authenticator answers a registry's challenge on every request: Basic
// sends the credentials themselves; Bearer sends a token obtained from the
// realm the challenge names, one per set of scopes, kept until it expires.
type authenticator struct {
	r     *registry
	creds func() (Credentials, error)

	mu        sync.Mutex
	challenge *Challenge // nil: the registry wants no authentication
	tokens    map[string]token
}

type token struct {
	value   string
	expires time.Time
}

// setChallenge takes the challenge of a ping's 401. Bearer is preferred
// when both schemes are offered.
func (a *authenticator) setChallenge(rawHeaders []string) error {
	var chosen *Challenge
	for _, raw := range rawHeaders {
		challenges, err := ParseChallenges(raw)
		if err != nil {
			return err
		}
		for _, c := range challenges {
			switch {
			case c.Scheme == "bearer" && c.Params["realm"] != "":
				chosen = &c
			case c.Scheme == "basic" && chosen == nil:
				chosen = &c
			}
		}
	}
	if chosen == nil {
		return fmt.Errorf("registry %s wants authentication by a scheme skiff does not know: %s",
			a.r.host, strings.Join(rawHeaders, "; "))
	}
	a.mu.Lock()
	a.challenge = chosen
	a.mu.Unlock()
	return nil
}

// renew handles a 401 on a request: the registry may have sent a new
// challenge (another realm, or error="insufficient_scope"), and the
// token for these scopes is no good any more.
func (a *authenticator) renew(rawHeaders []string, scopes []string) error {
	a.mu.Lock()
	delete(a.tokens, scopesOf(scopes...))
	a.mu.Unlock()
	return a.setChallenge(rawHeaders)
}

// authorize sets the Authorization header of req for scopes.
func (a *authenticator) authorize(ctx context.Context, req *http.Request, scopes []string) error {
	a.mu.Lock()
	challenge := a.challenge
	a.mu.Unlock()
	if challenge == nil {
		return nil
	}
	creds, err := a.creds()
	if err != nil {
		return fmt.Errorf("read credentials for %s: %w", a.r.domain, err)
	}

	if challenge.Scheme == "basic" {
		if creds.Username != "" {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
		return nil
	}
	tok, err := a.token(ctx, challenge, creds, scopes)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// token returns a bearer token for scopes, from the cache while it is
// valid, else from the challenge's realm.
func (a *authenticator) token(ctx context.Context, c *Challenge, creds Credentials,
	scopes []string) (string, error) {

	key := scopesOf(scopes...)
	a.mu.Lock()
	cached, ok := a.tokens[key]
	a.mu.Unlock()
	if ok && time.Now().Before(cached.expires) {
		return cached.value, nil
	}

	tok, err := a.fetchToken(ctx, c, creds, scopes)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.tokens[key] = tok
	a.mu.Unlock()
	return tok.value, nil
}

// tokenResponse is the JSON a token server answers with. "token" is
// Docker's name, "access_token" OAuth2's; servers often send both.
type tokenResponse struct {
	Token       string    `json:"token"`
	AccessToken string    `json:"access_token"`
	ExpiresIn   int       `json:"expires_in"`
	IssuedAt    time.Time `json:"issued_at"`
}

// fetchToken asks the realm for a token: GET realm?service=S&scope=...,
// with the user's credentials as Basic auth when there are any, else
// anonymously (Docker's token authentication specification).
func (a *authenticator) fetchToken(ctx context.Context, c *Challenge, creds Credentials,
	scopes []string) (token, error) {

	realm, err := url.Parse(c.Params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") {
		return token{}, fmt.Errorf("read challenge of %s: bad realm %q", a.r.host,
			c.Params["realm"])
	}
	query := realm.Query()
	if service := c.Params["service"]; service != "" {
		query.Set("service", service)
	}
	for _, scope := range scopes {
		query.Add("scope", scope)
	}
	realm.RawQuery = query.Encode()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return token{}, err
	}
	if creds.IdentityToken != "" {
		// Limitation: an identity token is sent as Basic auth; Docker
		// trades it for a token with an OAuth2 POST (grant_type
		// refresh_token), which some registries require.
		req.SetBasicAuth("<token>", creds.IdentityToken)
	} else if creds.Username != "" {
		req.SetBasicAuth(creds.Username, creds.Password)
	}
	return a.readToken(req)
}

// readToken sends a token request and reads the answer.
func (a *authenticator) readToken(req *http.Request) (token, error) {
	resp, err := a.r.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return token{}, req.Context().Err()
		}
		return token{}, &UnreachableError{Host: req.URL.Host, Err: transportCause(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return token{}, fmt.Errorf("get token from %s: %w", req.URL.Host, responseError(resp))
	}
	defer resp.Body.Close()

	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return token{}, fmt.Errorf("read token from %s: %w", req.URL.Host, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return token{}, fmt.Errorf("read token from %s: %w", req.URL.Host,
			errors.New("the answer holds no token"))
	}

	// The spec: without expires_in a token lasts 60 seconds. A margin of a
	// tenth keeps us from sending one that expires on its way.
	lifetime := time.Duration(max(tr.ExpiresIn, 60)) * time.Second
	issued := time.Now()
	if !tr.IssuedAt.IsZero() && tr.IssuedAt.Before(issued) {
		issued = tr.IssuedAt
	}
	return token{value: tr.Token, expires: issued.Add(lifetime * 9 / 10)}, nil
}

// Login checks credentials against the registry named domain, as docker
// login does: it pings the registry, and answers its challenge with creds
// (Basic: GET /v2/ again; Bearer: ask the realm for a token without a
// scope). It returns an error wrapping [ErrUnauthorized] when they are
// refused.
func (c *Client) Login(ctx context.Context, domain string, creds Credentials) error {
	r, err := c.connect(ctx, domain, &creds)
	if err != nil {
		return err
	}
	r.auth.mu.Lock()
	challenge := r.auth.challenge
	r.auth.mu.Unlock()
	if challenge == nil {
		c.log.Debug("registry asks for no authentication", "registry", r.host)
		return nil
	}

	if challenge.Scheme == "bearer" {
		_, err := r.auth.fetchToken(ctx, challenge, creds, nil)
		if err != nil {
			return fmt.Errorf("log in to %s: %w", r.host, err)
		}
		return nil
	}
	resp, err := r.do(ctx, nil, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, r.url("/v2/"), nil)
	})
	if err != nil {
		return fmt.Errorf("log in to %s: %w", r.host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("log in to %s: %w", r.host, responseError(resp))
	}
	resp.Body.Close()
	return nil
}
