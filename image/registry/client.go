package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/image"
)

// Options configure a [Client]. The zero value works: Docker Hub and any
// registry with a certificate from the system's roots, no credentials.
type Options struct {
	// Logger receives a debug line per HTTP request; nil discards.
	Logger *slog.Logger
	// Credentials returns the user name and password to use for a registry
	// (its domain as in a reference: docker.io, 127.0.0.1:5000), or zero
	// Credentials for none. [ConfigFile.Credentials] reads Docker's file.
	Credentials func(domain string) (Credentials, error)
	// Insecure lists registries that may be reached over plain HTTP, or
	// over HTTPS without checking their certificate: "host:port", "host"
	// or a CIDR range such as "10.0.0.0/8". Loopback addresses and
	// localhost always are, as in Docker.
	Insecure []string
	// CertsDir holds extra trust per registry, Docker's convention:
	// CertsDir/HOST:PORT/ca.crt (any *.crt is a CA), and a client
	// certificate as client.cert with client.key. Default
	// /etc/docker/certs.d.
	CertsDir string
	// UserAgent is sent with every request.
	UserAgent string

	// Retries is how often a failed transfer is tried again (default 5).
	Retries int
	// RetryDelay is the first pause before a retry; it doubles with each
	// further one (default 1s).
	RetryDelay time.Duration
	// StallTimeout is how long a transfer may receive nothing before it
	// counts as broken and is resumed (default 60s).
	StallTimeout time.Duration
	// ChunkSize, when positive, makes pushes upload blobs in PATCH
	// requests of this many bytes; otherwise each blob goes in one PUT.
	ChunkSize int64
	// IndexURL is where Docker Hub's search API lives (default
	// https://index.docker.io).
	IndexURL string
}

// Client talks the distribution protocol to registries. It remembers, per
// registry, which URL answered, what authentication it asked for and the
// tokens it got, so one Client should serve one command. Its methods are
// safe for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger

	mu         sync.Mutex
	registries map[string]*registry
}

// The defaults of the tunable Options.
const (
	defaultRetries      = 5
	defaultRetryDelay   = time.Second
	defaultStallTimeout = 60 * time.Second
	defaultCertsDir     = "/etc/docker/certs.d"
	defaultIndexURL     = "https://index.docker.io"

	// dockerHubAPI is where docker.io's registry API is served.
	dockerHubAPI = "registry-1.docker.io"
)

// New returns a client with opts.
func New(opts Options) *Client {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Credentials == nil {
		opts.Credentials = func(string) (Credentials, error) { return Credentials{}, nil }
	}
	if opts.Retries <= 0 {
		opts.Retries = defaultRetries
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = defaultRetryDelay
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = defaultStallTimeout
	}
	if opts.CertsDir == "" {
		opts.CertsDir = defaultCertsDir
	}
	if opts.IndexURL == "" {
		opts.IndexURL = defaultIndexURL
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "skiff"
	}
	return &Client{opts: opts, log: opts.Logger, registries: map[string]*registry{}}
}

// registry is one registry as the client knows it after the first
// contact: where its API answers and how it wants to be authenticated.
type registry struct {
	c      *Client
	domain string   // as references name it: docker.io, 127.0.0.1:5000
	host   string   // where its API is: registry-1.docker.io
	base   *url.URL // scheme and host that answered the ping
	http   *http.Client
	auth   *authenticator
}

// apiHost returns the host serving the API of the registry named domain.
func apiHost(domain string) string {
	if domain == image.DefaultDomain {
		return dockerHubAPI
	}
	return domain
}

// registry returns the registry named domain, pinging it on first use.
func (c *Client) registry(ctx context.Context, domain string) (*registry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.registries[domain]; r != nil {
		return r, nil
	}
	r, err := c.connect(ctx, domain, nil)
	if err != nil {
		return nil, err
	}
	c.registries[domain] = r
	return r, nil
}

// connect builds the HTTP client for a registry and pings it. creds, when
// not nil, replace the stored credentials (as login needs).
func (c *Client) connect(ctx context.Context, domain string,
	creds *Credentials) (*registry, error) {

	host := apiHost(domain)
	insecure := c.isInsecure(host)
	tlsConfig, err := c.tlsConfig(domain, host, insecure)
	if err != nil {
		return nil, err
	}
	r := &registry{c: c, domain: domain, host: host, http: c.httpClient(tlsConfig)}
	r.auth = &authenticator{r: r, tokens: map[string]token{}}
	r.auth.creds = func() (Credentials, error) { return c.opts.Credentials(domain) }
	if creds != nil {
		fixed := *creds
		r.auth.creds = func() (Credentials, error) { return fixed, nil }
	}

	// Docker's order: HTTPS first; plain HTTP only for an insecure
	// registry whose HTTPS did not answer.
	schemes := []string{"https"}
	if insecure {
		schemes = append(schemes, "http")
	}
	var pingErr error
	for _, scheme := range schemes {
		r.base = &url.URL{Scheme: scheme, Host: host}
		if pingErr = r.ping(ctx); pingErr == nil {
			return r, nil
		}
		var unreachable *UnreachableError
		if !errors.As(pingErr, &unreachable) {
			break
		}
	}
	return nil, pingErr
}

// ping asks GET /v2/, the distribution spec's "API version check": 200
// means no authentication is needed, 401 carries the WWW-Authenticate
// challenge to answer on every later request.
func (r *registry) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url("/v2/"), nil)
	if err != nil {
		return err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Host: r.host, Err: transportCause(err)}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return r.auth.setChallenge(resp.Header.Values("WWW-Authenticate"))
	}
	return fmt.Errorf("ping registry %s: %s answers GET /v2/ with status %d, "+
		"which is not a registry's answer", r.host, r.base.Scheme, resp.StatusCode)
}

// transportCause strips the "Get "https://...": " that net/http puts in
// front of a transport error: the host is already named once.
func transportCause(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

func (r *registry) url(path string) string {
	u := *r.base
	u.Path = path
	return u.String()
}

// isInsecure reports whether host may be reached without TLS checks:
// loopback and localhost always, others when Options.Insecure names them.
func (c *Client) isInsecure(host string) bool {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.Trim(hostname, "[]")
	addr, addrErr := netip.ParseAddr(hostname)
	if hostname == "localhost" || addrErr == nil && addr.IsLoopback() {
		return true
	}
	for _, entry := range c.opts.Insecure {
		if entry == host || entry == hostname {
			return true
		}
		if prefix, err := netip.ParsePrefix(entry); err == nil && addrErr == nil &&
			prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// tlsConfig trusts the system's roots plus, as Docker does, every *.crt in
// CertsDir/<host>/, and presents client.cert/client.key when present there.
func (c *Client) tlsConfig(domain, host string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
	dir := filepath.Join(c.opts.CertsDir, host)
	if _, err := os.Stat(dir); err != nil {
		dir = filepath.Join(c.opts.CertsDir, domain)
	}
	cas, _ := filepath.Glob(filepath.Join(dir, "*.crt"))
	if len(cas) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, name := range cas {
			pem, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("read CA certificate %q: %w", name, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("read CA certificate %q: no PEM certificate in it", name)
			}
		}
		cfg.RootCAs = pool
	}

	certFile, keyFile := filepath.Join(dir, "client.cert"), filepath.Join(dir, "client.key")
	if _, err := os.Stat(certFile); err == nil {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %q: %w", certFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// httpClient builds the HTTP client for one registry. It sets no overall
// timeout, since a layer may take minutes; instead connecting, the TLS
// handshake and waiting for response headers are bounded, and a stalled
// body is caught by the blob reader.
func (c *Client) httpClient(tlsConfig *tls.Config) *http.Client {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: &loggingTransport{next: transport, c: c}}
}

// loggingTransport writes one debug line per HTTP request (redirects and
// token requests included) and sets the User-Agent.
type loggingTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", t.c.opts.UserAgent)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.c.log.Debug("http request", "method", req.Method, "url", req.URL.Redacted(),
			"error", err)
		return nil, err
	}
	t.c.log.Debug("http request", "method", req.Method, "url", req.URL.Redacted(),
		"status", resp.StatusCode, "duration", time.Since(start).Round(time.Millisecond))
	explain.Step(t.c.log, explain.Registries, requestWhy(req), "%s %s → %s",
		req.Method, req.URL.Redacted(), resp.Status)
	return resp, nil
}

// requestWhy says what a request of the distribution protocol is for, from
// its method and path, for the narration of --explain.
func requestWhy(req *http.Request) string {
	path := req.URL.Path
	switch {
	case path == "/v2/" || path == "/v2":
		return "ping: is this a registry, and which credentials does it want?"
	case strings.Contains(path, "/blobs/uploads/") && req.Method == http.MethodPost:
		return "open an upload session for a blob"
	case strings.Contains(path, "/blobs/uploads/"):
		return "send a blob's bytes; the PUT names its digest, which the registry checks"
	case strings.Contains(path, "/blobs/") && req.Method == http.MethodHead:
		return "does the registry have this blob already?"
	case strings.Contains(path, "/blobs/"):
		return "a blob by digest, checked against it as it arrives"
	case strings.Contains(path, "/manifests/") && req.Method == http.MethodPut:
		return "the manifest last: it names blobs the registry now has"
	case strings.Contains(path, "/manifests/"):
		return "the manifest: the image's config and layers, by digest"
	case strings.HasSuffix(path, "/tags/list"):
		return "the repository's tags"
	case path == "/v2/_catalog" || strings.HasPrefix(path, "/v1/search"):
		return "what the registry holds"
	case req.URL.Query().Get("scope") != "" || req.URL.Query().Get("service") != "":
		return "a bearer token for the scope the registry's challenge named"
	}
	return "a request of the distribution protocol"
}

// do sends the request that newReq builds, authorized for scopes, once.
// A 401 with a new challenge is answered with a fresh token and the
// request sent again. The caller checks the status and closes the body.
func (r *registry) do(ctx context.Context, scopes []string,
	newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {

	return r.doAuthorized(ctx, scopes, newReq)
}

// doRetry is do for requests that may be repeated (GET, HEAD): one that
// fails in transit or gets a 5xx or 429 is tried again after a pause, up
// to Options.Retries times.
func (r *registry) doRetry(ctx context.Context, scopes []string,
	newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {

	for attempt := 0; ; attempt++ {
		resp, err := r.doAuthorized(ctx, scopes, newReq)
		retryable := err != nil && !isFinal(err) ||
			err == nil && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests)
		if ctx.Err() != nil || !retryable || attempt >= r.c.opts.Retries {
			return resp, err
		}
		if err == nil {
			r.c.log.Debug("retrying request", "url", resp.Request.URL.Redacted(),
				"status", resp.StatusCode, "attempt", attempt+1)
			resp.Body.Close()
		} else {
			r.c.log.Debug("retrying request", "error", err, "attempt", attempt+1)
		}
		if err := r.c.pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// isFinal reports errors that a retry cannot cure.
func isFinal(err error) bool {
	var e *Error
	var unreachable *UnreachableError
	return errors.As(err, &e) || errors.As(err, &unreachable)
}

// pause waits before retry number attempt+1: RetryDelay, doubling each
// time, at most 30s; it returns early with the context's error.
func (c *Client) pause(ctx context.Context, attempt int) error {
	delay := c.opts.RetryDelay << min(attempt, 5)
	delay = min(delay, 30*time.Second)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// doAuthorized sends one request with authorization; on a 401 that brings
// a challenge, it takes a fresh token and sends the request once more.
func (r *registry) doAuthorized(ctx context.Context, scopes []string,
	newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {

	for try := 0; ; try++ {
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		if err := r.auth.authorize(ctx, req, scopes); err != nil {
			return nil, err
		}
		resp, err := r.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(),
				transportCause(err))
		}
		if resp.StatusCode != http.StatusUnauthorized || try > 0 {
			return resp, nil
		}
		challenge := resp.Header.Values("WWW-Authenticate")
		if len(challenge) == 0 {
			return resp, nil
		}
		resp.Body.Close()
		if err := r.auth.renew(challenge, scopes); err != nil {
			return nil, err
		}
	}
}
