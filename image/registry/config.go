package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/image"
)

// DockerHubServer is the key under which Docker stores the credentials of
// docker.io, a relic of its first registry API.
const DockerHubServer = "https://index.docker.io/v1/"

// ServerAddress returns the key that Docker's config file uses for the
// registry named domain: DockerHubServer for docker.io, else the domain.
func ServerAddress(domain string) string {
	if domain == image.DefaultDomain || domain == "index.docker.io" {
		return DockerHubServer
	}
	return domain
}

// ConfigFile is Docker's client configuration, ~/.docker/config.json, as
// far as credentials go:
//
//	{
//	  "auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"}},
//	  "credsStore": "pass",
//	  "credHelpers": {"ghcr.io": "gh"}
//	}
//
// A credential helper is a program docker-credential-<name> that keeps the
// secrets elsewhere; "credHelpers" picks one per registry, "credsStore"
// one for all others. Every other field of the file is kept as it is.
type ConfigFile struct {
	path string
	// raw holds every top-level field, so writing keeps what skiff does
	// not know.
	raw         map[string]json.RawMessage
	auths       map[string]authEntry
	credsStore  string
	credHelpers map[string]string
}

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// DefaultConfigPath returns where Docker keeps its config file:
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func DefaultConfigPath() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/"
	}
	return filepath.Join(home, ".docker", "config.json")
}

// LoadConfig reads the config file at path; a missing file is an empty
// configuration.
func LoadConfig(path string) (*ConfigFile, error) {
	f := &ConfigFile{path: path, raw: map[string]json.RawMessage{},
		auths: map[string]authEntry{}, credHelpers: map[string]string{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config file %q: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(data, &f.raw); err != nil {
		return nil, fmt.Errorf("read config file %q: %w", path, err)
	}
	fields := []struct {
		name string
		into any
	}{{"auths", &f.auths}, {"credsStore", &f.credsStore}, {"credHelpers", &f.credHelpers}}
	for _, field := range fields {
		if raw, ok := f.raw[field.name]; ok {
			if err := json.Unmarshal(raw, field.into); err != nil {
				return nil, fmt.Errorf("read config file %q: field %s: %w", path, field.name, err)
			}
		}
	}
	return f, nil
}

// Path returns the file's path.
func (f *ConfigFile) Path() string { return f.path }

// helper returns the credential helper for domain, or "".
func (f *ConfigFile) helper(domain string) string {
	if h := f.credHelpers[domain]; h != "" {
		return h
	}
	if h := f.credHelpers[ServerAddress(domain)]; h != "" {
		return h
	}
	return f.credsStore
}

// authKey returns the key of auths that holds domain's entry. Keys are
// compared as Docker does, without scheme and path, so that
// "https://127.0.0.1:5000/v2/" finds 127.0.0.1:5000.
func (f *ConfigFile) authKey(domain string) (string, bool) {
	want := normalizeServer(ServerAddress(domain))
	for key := range f.auths {
		if normalizeServer(key) == want {
			return key, true
		}
	}
	return "", false
}

func normalizeServer(server string) string {
	server = strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	host, _, _ := strings.Cut(server, "/")
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		return image.DefaultDomain
	}
	return host
}

// Credentials returns the credentials stored for the registry named
// domain, or zero Credentials: from its helper if one is configured, else
// from auths.
func (f *ConfigFile) Credentials(domain string) (Credentials, error) {
	if h := f.helper(domain); h != "" {
		return helperGet(h, ServerAddress(domain))
	}
	key, ok := f.authKey(domain)
	if !ok {
		return Credentials{}, nil
	}
	entry := f.auths[key]
	creds := Credentials{IdentityToken: entry.IdentityToken}
	if entry.Auth != "" {
		decoded, err := base64.StdEncoding.DecodeString(entry.Auth)
		if err != nil {
			return Credentials{}, fmt.Errorf("read auth of %s in %q: %w", key, f.path, err)
		}
		user, pass, ok := strings.Cut(string(decoded), ":")
		if !ok {
			return Credentials{}, fmt.Errorf("read auth of %s in %q: not user:password",
				key, f.path)
		}
		creds.Username, creds.Password = user, pass
	}
	return creds, nil
}

// Store saves creds for domain: with its credential helper if one is
// configured, else base64-encoded in auths, and rewrites the file.
func (f *ConfigFile) Store(domain string, creds Credentials) error {
	server := ServerAddress(domain)
	if h := f.helper(domain); h != "" {
		return helperStore(h, server, creds)
	}
	if key, ok := f.authKey(domain); ok {
		delete(f.auths, key)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(creds.Username + ":" + creds.Password))
	f.auths[server] = authEntry{Auth: auth}
	return f.save()
}

// Erase forgets domain's credentials, and reports whether there were any.
func (f *ConfigFile) Erase(domain string) (bool, error) {
	server := ServerAddress(domain)
	if h := f.helper(domain); h != "" {
		return true, helperRun(h, "erase", []byte(server), nil)
	}
	key, ok := f.authKey(domain)
	if !ok {
		return false, nil
	}
	delete(f.auths, key)
	return true, f.save()
}

// save writes the file atomically and readable by its owner only: it holds
// passwords, barely disguised.
func (f *ConfigFile) save() error {
	auths, err := json.Marshal(f.auths)
	if err != nil {
		return err
	}
	f.raw["auths"] = auths
	data, err := json.MarshalIndent(f.raw, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("write config file %q: %w", f.path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".config.json-*")
	if err != nil {
		return fmt.Errorf("write config file %q: %w", f.path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("write config file %q: %w", f.path, err)
	}
	return nil
}

// helperMessage is what credential helpers read and write: Docker's
// docker-credential-helpers protocol.
type helperMessage struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// helperGet runs `docker-credential-<name> get` with the server on stdin.
// A helper that has nothing says "credentials not found"; that is no
// error.
func helperGet(name, server string) (Credentials, error) {
	var out bytes.Buffer
	err := helperRun(name, "get", []byte(server), &out)
	if err != nil && strings.Contains(err.Error(), "credentials not found") {
		return Credentials{}, nil
	}
	if err != nil {
		return Credentials{}, err
	}
	var msg helperMessage
	if err := json.Unmarshal(out.Bytes(), &msg); err != nil {
		return Credentials{}, fmt.Errorf("read answer of docker-credential-%s: %w", name, err)
	}
	if msg.Username == "<token>" {
		return Credentials{IdentityToken: msg.Secret}, nil
	}
	return Credentials{Username: msg.Username, Password: msg.Secret}, nil
}

// helperStore runs `docker-credential-<name> store` with the credentials
// as JSON on stdin.
func helperStore(name, server string, creds Credentials) error {
	msg, err := json.Marshal(helperMessage{ServerURL: server, Username: creds.Username,
		Secret: creds.Password})
	if err != nil {
		return err
	}
	return helperRun(name, "store", msg, nil)
}

// helperRun runs one helper action. Helpers report failures on stdout, so
// the message is taken from there (or stderr) into the error.
func helperRun(name, action string, stdin []byte, stdout *bytes.Buffer) error {
	program := "docker-credential-" + name
	cmd := exec.Command(program, action)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String() + " " + errOut.String())
		if msg != "" {
			return fmt.Errorf("run %s %s: %s: %w", program, action, msg, err)
		}
		return fmt.Errorf("run %s %s: %w", program, action, err)
	}
	if stdout != nil {
		stdout.Write(out.Bytes())
	}
	return nil
}
