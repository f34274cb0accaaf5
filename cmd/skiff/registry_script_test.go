package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/skiff-dev/skiff/image/registry/registrytest"
)

// registryCommands are the scenario scripts' commands beyond the built-in
// ones. "registry start [-basic|-token]" starts Debian's docker-registry
// on 127.0.0.1 for the rest of the script and sets $REGISTRY to its
// host:port. -basic protects it with htpasswd Basic auth, -token with
// Docker's token auth (a token server is started too); either way the
// only user is alice, password wonderland. A script that uses it starts
// with [!exec:docker-registry] skip.
func registryCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"registry": scriptRegistry,
	}
}

func scriptRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 || args[0] != "start" {
		ts.Fatalf("usage: registry start [-basic|-token]")
	}
	fs := flag.NewFlagSet("registry start", flag.ContinueOnError)
	basic := fs.Bool("basic", false, "htpasswd Basic auth")
	token := fs.Bool("token", false, "token auth")
	if err := fs.Parse(args[1:]); err != nil {
		ts.Fatalf("registry start: %v", err)
	}

	opts := registrytest.Options{Token: *token}
	if *basic || *token {
		opts.Users = map[string]string{"alice": "wonderland"}
	}
	dir, err := os.MkdirTemp(ts.MkAbs("."), "registry-")
	ts.Check(err)
	reg, err := registrytest.Start(dir, opts)
	ts.Check(err)
	ts.Defer(func() { reg.Close() })
	// The registry listens on the host's loopback; the lab's skiff
	// processes run in the lab's network namespace, which has a loopback
	// of its own: the same address there leads here.
	if nsPath := ts.Getenv(netnsEnv); nsPath != "" {
		forwardRegistry(ts, reg, nsPath)
	}
	ts.Setenv("REGISTRY", reg.Host)
	// Scripts match it in regular expressions, where its dots must not
	// match any character.
	ts.Setenv("REGISTRY_RE", strings.ReplaceAll(reg.Host, ".", `\.`))
	ts.Logf("registry at %s, data in %s", reg.Host, filepath.Base(dir))
}
