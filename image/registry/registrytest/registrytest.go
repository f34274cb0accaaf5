// Package registrytest starts real registries for tests: Debian's
// docker-registry (the distribution project's registry, version 2.8) on
// 127.0.0.1 with a free port and its own storage directory, open, with
// htpasswd Basic auth, or with Docker's token auth and a small token server
// written here. Tests of skiff's registry client and of its command line
// use it; nothing here talks to anything but the loopback interface.
//
// # Limitations
//
//   - The registry binary must be installed (apt-get install
//     docker-registry); [Available] says so, and tests skip without it.
//   - Basic auth needs htpasswd from apache2-utils to make bcrypt hashes.
//   - A free port is found by listening on port 0 and closing it again; a
//     process that takes the port in between makes the start fail.
package registrytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Binary is the registry program of Debian's docker-registry package.
const Binary = "/usr/bin/docker-registry"

// Available returns nil when a registry can be started here, else the
// reason it cannot.
func Available() error {
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("%s is missing (apt-get install docker-registry): %w", Binary, err)
	}
	return nil
}

// Options choose how the registry authenticates.
type Options struct {
	// Users, with Token unset, turns on htpasswd Basic auth for these
	// user names and passwords.
	Users map[string]string
	// Token turns on token auth: a token server is started too, which
	// grants pull to anyone and everything to the Users.
	Token bool
	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1.
	TLS bool
}

// Registry is a running registry.
type Registry struct {
	// Host is where it listens: 127.0.0.1:PORT.
	Host string
	// Dir holds its storage, configuration and log.
	Dir string
	// CACert is the PEM certificate of an HTTPS registry, else "".
	CACert string
	// TokenRequests counts the token server's requests.
	TokenRequests atomic.Int64

	cmd    *exec.Cmd
	exited chan error // receives the registry's exit status
	token  *tokenServer
}

// Start starts a registry that keeps everything under dir, and waits until
// it answers.
func Start(dir string, opts Options) (*Registry, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}
	config, err := r.config(opts)
	if err != nil {
		r.Close()
		return nil, err
	}
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.start(configFile); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// URL returns the registry's base URL.
func (r *Registry) URL() string {
	if r.CACert != "" {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Close stops the registry and its token server.
func (r *Registry) Close() error {
	if r.token != nil {
		r.token.close()
	}
	if r.exited == nil {
		return nil
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.exited = nil
	return nil
}

// config writes the registry's YAML configuration and the files it
// names.
func (r *Registry) config(opts Options) (string, error) {
	storage := filepath.Join(r.Dir, "storage")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %s\n", storage)
	fmt.Fprintf(&b, "  delete:\n    enabled: true\n")
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: registrytest\n", r.Host)
	if opts.TLS {
		certFile, keyFile, err := writeCertificate(r.Dir, "tls")
		if err != nil {
			return "", err
		}
		r.CACert = certFile
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile)
	}

	switch {
	case opts.Token:
		ts, err := startTokenServer(r, opts.Users)
		if err != nil {
			return "", err
		}
		r.token = ts
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s/token\n    service: %s\n"+
			"    issuer: %s\n    rootcertbundle: %s\n", ts.url, tokenService, tokenIssuer,
			ts.certFile)
	case len(opts.Users) > 0:
		htpasswd, err := writeHtpasswd(r.Dir, opts.Users)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", htpasswd)
	}
	return b.String(), nil
}

// writeHtpasswd makes a bcrypt htpasswd file with htpasswd -Bbn.
func writeHtpasswd(dir string, users map[string]string) (string, error) {
	var lines []byte
	for user, password := range users {
		out, err := exec.Command("htpasswd", "-Bbn", user, password).Output()
		if err != nil {
			return "", fmt.Errorf("run htpasswd (apt-get install apache2-utils): %w", err)
		}
		lines = append(lines, []byte(strings.TrimSpace(string(out))+"\n")...)
	}
	name := filepath.Join(dir, "htpasswd")
	return name, os.WriteFile(name, lines, 0o600)
}

// start runs the registry and waits for GET /v2/ to answer.
func (r *Registry) start(configFile string) error {
	logFile, err := os.Create(filepath.Join(r.Dir, "registry.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	r.cmd = exec.Command(Binary, "serve", configFile)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = dieWithParent()
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	r.exited = exited

	client := r.HTTPClient()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			r.exited = nil
			log, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("registry exited at start (%v): %s", err, log)
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("registry did not answer within 15s")
}

// HTTPClient returns a client that trusts the registry's certificate.
func (r *Registry) HTTPClient() *http.Client {
	transport := &http.Transport{}
	if r.CACert != "" {
		pem, _ := os.ReadFile(r.CACert)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
