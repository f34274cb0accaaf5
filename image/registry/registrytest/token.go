package registrytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The names the registry and the token server agree on.
const (
	tokenService = "registrytest"
	tokenIssuer  = "registrytest-issuer"
)

// tokenServer issues the JSON Web Tokens of Docker's token auth spec: the
// registry's challenge sends the client here with service and scope; the
// answer is a token, signed with a key whose certificate the registry
// trusts (its rootcertbundle), listing the access granted.
type tokenServer struct {
	reg      *Registry
	users    map[string]string
	key      *ecdsa.PrivateKey
	certDER  []byte
	certFile string
	url      string
	srv      *http.Server
}

func startTokenServer(reg *Registry, users map[string]string) (*tokenServer, error) {
	certFile, keyFile, err := writeCertificate(reg.Dir, "token")
	if err != nil {
		return nil, err
	}
	key, certDER, err := readKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &tokenServer{reg: reg, users: users, key: key, certDER: certDER,
		certFile: certFile, url: "http://" + l.Addr().String()}
	ts.srv = &http.Server{Handler: http.HandlerFunc(ts.serveToken),
		ReadHeaderTimeout: 10 * time.Second}
	go ts.srv.Serve(l)
	return ts, nil
}

func (ts *tokenServer) close() { ts.srv.Close() }

// access is one grant in a token: a resource and the actions allowed on it.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// serveToken answers GET /token?service=S&scope=type:name:actions... A
// known user (Basic auth) gets what they ask for; anyone else gets pull
// only; a wrong password gets 401.
func (ts *tokenServer) serveToken(w http.ResponseWriter, req *http.Request) {
	ts.reg.TokenRequests.Add(1)
	user, password, hasAuth := req.BasicAuth()
	if hasAuth && (ts.users[user] == "" || ts.users[user] != password) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`)
		return
	}
	if !hasAuth {
		user = ""
	}

	var grants []access
	for _, scope := range req.URL.Query()["scope"] {
		typ, rest, _ := strings.Cut(scope, ":")
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		a := access{Type: typ, Name: rest[:i]}
		for _, action := range strings.Split(rest[i+1:], ",") {
			if user != "" || action == "pull" {
				a.Actions = append(a.Actions, action)
			}
		}
		grants = append(grants, a)
	}
	token, err := ts.sign(user, grants)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token": token, "access_token": token, "expires_in": 300,
		"issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

// sign makes a JWT (RFC 7519) signed with ES256 (RFC 7518 section 3.4):
// base64url(header).base64url(claims).base64url(r || s). The header
// carries the signing certificate (x5c), which the registry checks
// against its rootcertbundle.
func (ts *tokenServer) sign(subject string, grants []access) (string, error) {
	now := time.Now()
	header := map[string]any{"typ": "JWT", "alg": "ES256",
		"x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)}}
	claims := map[string]any{
		"iss": tokenIssuer, "sub": subject, "aud": tokenService,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(),
		"iat": now.Unix(), "jti": fmt.Sprint(now.UnixNano()), "access": grants,
	}
	var parts []string
	for _, v := range []any{header, claims} {
		data, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, base64.RawURLEncoding.EncodeToString(data))
	}
	signed := strings.Join(parts, ".")
	hash := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, ts.key, hash[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// writeCertificate makes an ECDSA key and a self-signed certificate for
// 127.0.0.1 and localhost, and writes them as PEM files NAME.crt and
// NAME.key in dir.
func writeCertificate(dir, name string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "registrytest " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign |
			x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, keyPEM, 0o600)
}

// readKeyPair reads back what writeCertificate wrote.
func readKeyPair(certFile, keyFile string) (*ecdsa.PrivateKey, []byte, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, nil, fmt.Errorf("read key pair %s: no PEM data", certFile)
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	return key, certBlock.Bytes, err
}
