package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// loginOptions are the flags of skiff login.
type loginOptions struct {
	username      string
	password      string
	passwordStdin bool
}

// newLoginCommand builds "skiff login".
func newLoginCommand(name string) *command {
	var opts loginOptions
	c := &command{
		name: name,
		summary: "Log in to a registry; credentials go to Docker's config file " +
			"($DOCKER_CONFIG/config.json or ~/.docker/config.json)",
		usage:   "[OPTIONS] [SERVER]",
		example: "echo \"$PASSWORD\" | skiff login -u alice --password-stdin 127.0.0.1:5000",
		args:    argRule{min: 0, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.StringVarP(&opts.username, "username", "u", "", "Username")
	c.flags.StringVarP(&opts.password, "password", "p", "", "Password")
	c.flags.BoolVar(&opts.passwordStdin, "password-stdin", false, "Take the password from stdin")
	c.run = func(a *app, args []string) error { return runLogin(a, opts, args) }
	return c
}

// serverDomain turns the SERVER argument of login and logout into a
// registry domain: none, or Docker Hub's old address, is docker.io;
// a scheme and path are dropped.
func serverDomain(args []string) string {
	if len(args) == 0 {
		return image.DefaultDomain
	}
	server := strings.TrimPrefix(strings.TrimPrefix(args[0], "https://"), "http://")
	host, _, _ := strings.Cut(server, "/")
	switch host {
	case "index.docker.io", "registry-1.docker.io", "docker.io":
		return image.DefaultDomain
	}
	return host
}

func runLogin(a *app, opts loginOptions, args []string) error {
	domain := serverDomain(args)
	creds, err := loginCredentials(a, opts)
	if err != nil {
		return err
	}
	client, config, err := a.registryClient()
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()

	if err := client.Login(ctx, domain, creds); err != nil {
		return err
	}
	if err := config.Store(domain, creds); err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, "Login Succeeded")
	return err
}

// loginCredentials gathers the user name and password from the flags,
// stdin, or the terminal, as docker login does.
func loginCredentials(a *app, opts loginOptions) (registry.Credentials, error) {
	creds := registry.Credentials{Username: opts.username, Password: opts.password}
	switch {
	case opts.passwordStdin && opts.password != "":
		return creds, &usageError{path: "skiff login",
			err: errors.New("--password and --password-stdin are mutually exclusive")}
	case opts.passwordStdin && opts.username == "":
		return creds, &usageError{path: "skiff login",
			err: errors.New("must provide --username with --password-stdin")}
	case opts.passwordStdin:
		data, err := io.ReadAll(a.stdin)
		if err != nil {
			return creds, fmt.Errorf("read password from stdin: %w", err)
		}
		creds.Password = strings.TrimRight(string(data), "\r\n")
		if creds.Password == "" {
			return creds, errors.New("the password read from stdin is empty")
		}
		return creds, nil
	case opts.password != "":
		fmt.Fprintln(a.stderr, "WARNING! Using --password via the CLI is insecure. "+
			"Use --password-stdin.")
	}
	if creds.Username != "" && creds.Password != "" {
		return creds, nil
	}
	return promptCredentials(a, creds)
}

// promptCredentials asks on the terminal for what is missing; the password
// is read without echo.
func promptCredentials(a *app, creds registry.Credentials) (registry.Credentials, error) {
	in, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return creds, errors.New("cannot perform an interactive login from a non TTY device")
	}
	if creds.Username == "" {
		fmt.Fprint(a.stdout, "Username: ")
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil {
			return creds, fmt.Errorf("read username: %w", err)
		}
		creds.Username = strings.TrimSpace(line)
	}
	fmt.Fprint(a.stdout, "Password: ")
	password, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(a.stdout)
	if err != nil {
		return creds, fmt.Errorf("read password: %w", err)
	}
	creds.Password = string(password)
	if creds.Username == "" || creds.Password == "" {
		return creds, errors.New("username and password are required")
	}
	return creds, nil
}

// newLogoutCommand builds "skiff logout".
func newLogoutCommand(name string) *command {
	c := &command{
		name:    name,
		summary: "Log out from a registry",
		usage:   "[SERVER]",
		example: "skiff logout 127.0.0.1:5000",
		args:    argRule{min: 0, max: 1},
		flags:   newFlagSet(name),
	}
	c.run = runLogout
	return c
}

func runLogout(a *app, args []string) error {
	domain := serverDomain(args)
	config, err := registry.LoadConfig(registry.DefaultConfigPath())
	if err != nil {
		return err
	}
	server := registry.ServerAddress(domain)
	found, err := config.Erase(domain)
	if err != nil {
		return err
	}
	if !found {
		_, err = fmt.Fprintf(a.stdout, "Not logged in to %s\n", server)
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Removing login credentials for %s\n", server)
	return err
}
