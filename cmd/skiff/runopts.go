package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/network"
)

// This file turns the flags of skiff run and skiff create into the
// container package's CreateOptions: memory sizes in Docker's units, env
// files, bind mount specs. It is plain parsing, tested without a kernel.

// runFlags are the flags run and create share.
type runFlags struct {
	name       string
	autoRemove bool
	detach     bool // run only
	sigProxy   bool // run only
	stdin      bool
	tty        bool
	env        []string
	envFiles   []string
	workdir    string
	user       string
	hostname   string
	entrypoint string
	volumes    []string
	readOnly   bool
	tmpfs      []string
	memory     memoryValue
	cpus       cpusValue
	pidsLimit  int64
	network    string
	publish    []string
	publishAll bool
	init       bool
	stopSignal string
	stopTime   int
}

// addRunFlags declares the flags of run (withRun) or create on fs, with
// Docker's names and help texts.
func addRunFlags(fs *pflag.FlagSet, f *runFlags, withRun bool) {
	// Everything after IMAGE is the container's command line, even if it
	// looks like a flag: skiff run busybox ls -l.
	fs.SetInterspersed(false)

	if withRun {
		fs.BoolVarP(&f.detach, "detach", "d", false,
			"Run container in background and print container ID")
		fs.BoolVar(&f.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	}
	fs.StringVar(&f.name, "name", "", "Assign a name to the container")
	fs.BoolVar(&f.autoRemove, "rm", false,
		"Automatically remove the container when it exits")
	fs.BoolVarP(&f.stdin, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "",
		"Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVar(&f.hostname, "hostname", "", "Container host name")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil,
		"Bind mount a volume (HOST-DIR:CONTAINER-DIR[:ro])")
	fs.BoolVar(&f.readOnly, "read-only", false,
		"Mount the container's root filesystem as read only")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory (PATH[:OPTIONS])")
	fs.VarP(&f.memory, "memory", "m", "Memory limit")
	fs.Var(&f.cpus, "cpus", "Number of CPUs")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0,
		"Tune container pids limit (set -1 for unlimited)")
	fs.StringVar(&f.network, "network", network.DefaultNetwork,
		"Connect a container to a network (bridge, host, none or a network's name)")
	fs.VarP((*publishValue)(&f.publish), "publish", "p",
		"Publish a container's port(s) to the host ([IP:][HOST:]CONTAINER[/PROTO])")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false,
		"Publish all exposed ports to random ports")
	fs.BoolVar(&f.init, "init", false,
		"Run an init inside the container that forwards signals and reaps processes")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&f.stopTime, "stop-timeout", 0,
		"Timeout (in seconds) to stop a container")
}

// createOptions turns the parsed flags and the words after IMAGE into what
// container.Store.Create takes. fs tells a flag given as "" (such as
// --entrypoint "") from one not given at all.
func (f *runFlags) createOptions(fs *pflag.FlagSet,
	args []string) (container.CreateOptions, error) {

	env, err := runEnv(f.envFiles, f.env, os.LookupEnv)
	if err != nil {
		return container.CreateOptions{}, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return container.CreateOptions{}, err
	}
	var volumes []string
	for _, raw := range f.volumes {
		v, err := parseVolume(raw, cwd)
		if err != nil {
			return container.CreateOptions{}, err
		}
		volumes = append(volumes, v)
	}
	for _, raw := range f.tmpfs {
		if err := checkTmpfs(raw); err != nil {
			return container.CreateOptions{}, err
		}
	}

	opts := container.CreateOptions{
		Name:       f.name,
		Publish:    f.publish,
		PublishAll: f.publishAll,
		Options: container.Options{
			Env:         env,
			WorkingDir:  f.workdir,
			User:        f.user,
			Hostname:    f.hostname,
			Tty:         f.tty,
			OpenStdin:   f.stdin,
			AutoRemove:  f.autoRemove,
			Init:        f.init,
			Volumes:     volumes,
			Tmpfs:       f.tmpfs,
			ReadOnly:    f.readOnly,
			Memory:      int64(f.memory),
			CPUs:        float64(f.cpus),
			PidsLimit:   max(f.pidsLimit, 0), // Docker's -1 and 0 both mean no limit
			Network:     f.network,
			StopSignal:  f.stopSignal,
			StopTimeout: f.stopTime,
		},
	}
	if len(args) > 0 {
		opts.Args = args
	}
	// --entrypoint "" clears the image's entrypoint; not giving it keeps it.
	if fs.Changed("entrypoint") {
		opts.Entrypoint = []string{f.entrypoint}
	}
	return opts, nil
}

// runEnv is the environment the user asked for: the files of --env-file
// in order, then each -e, later ones overriding earlier ones (the
// container package merges them over the image's). lookup reads the
// host's environment for a bare KEY.
func runEnv(envFiles, flags []string, lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, name := range envFiles {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		fromFile, err := parseEnvFile(f, lookup)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read env file %s: %w", name, err)
		}
		env = append(env, fromFile...)
	}
	for _, kv := range flags {
		if v, ok := envEntry(kv, lookup); ok {
			env = append(env, v)
		}
	}
	return env, nil
}

// envEntry completes one KEY=VALUE entry. A bare KEY takes its value from
// the host's environment, as with docker run -e KEY; it is left out when
// the host does not set it.
func envEntry(kv string, lookup func(string) (string, bool)) (string, bool) {
	if strings.Contains(kv, "=") {
		return kv, true
	}
	if v, ok := lookup(kv); ok {
		return kv + "=" + v, true
	}
	return "", false
}

// parseEnvFile reads an --env-file the way Docker does: one KEY=VALUE per
// line, taken literally (no quotes are removed, no variables expanded);
// blank lines and lines starting with # are skipped; a bare KEY is looked
// up in the host's environment.
func parseEnvFile(r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d: invalid UTF-8", n)
		}
		text := strings.TrimLeftFunc(string(line), unicode.IsSpace)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}

		key, _, _ := strings.Cut(text, "=")
		switch {
		case key == "":
			return nil, fmt.Errorf("line %d: no variable name in %q", n, text)
		case strings.IndexFunc(key, unicode.IsSpace) >= 0:
			return nil, fmt.Errorf("line %d: variable %q contains whitespace", n, key)
		}
		if v, ok := envEntry(text, lookup); ok {
			env = append(env, v)
		}
	}
	return env, sc.Err()
}

// parseVolume checks a -v HOST:CONTAINER[:ro|rw] bind mount and makes a
// relative host path (./data, ../data, .) absolute from cwd, as the docker
// CLI does. Named volumes do not exist in skiff: a host path must be a
// path.
func parseVolume(raw, cwd string) (string, error) {
	parts := strings.Split(raw, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return "", fmt.Errorf("invalid volume specification: %q: want HOST-DIR:CONTAINER-DIR[:ro]", raw)
	}
	host, ctr := parts[0], parts[1]
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		return "", fmt.Errorf("invalid volume specification: %q: invalid mode %q", raw, parts[2])
	}
	if host == "" || ctr == "" {
		return "", fmt.Errorf("invalid volume specification: %q", raw)
	}
	if !strings.HasPrefix(ctr, "/") {
		return "", fmt.Errorf("invalid volume specification: %q: "+
			"the container path must be absolute", raw)
	}

	switch {
	case host == "." || host == ".." || strings.HasPrefix(host, "./") ||
		strings.HasPrefix(host, "../"):
		host = filepath.Join(cwd, host)
	case !strings.HasPrefix(host, "/"):
		return "", fmt.Errorf(
			"invalid volume specification: %q: skiff has no named volumes; use /path or ./path", raw)
	}
	parts[0] = filepath.Clean(host)
	return strings.Join(parts, ":"), nil
}

// checkTmpfs checks a --tmpfs PATH[:OPTIONS] argument.
func checkTmpfs(raw string) error {
	target, _, _ := strings.Cut(raw, ":")
	if !strings.HasPrefix(target, "/") {
		return fmt.Errorf("invalid tmpfs specification %q: the path must be absolute", raw)
	}
	return nil
}

// publishValue is -p/--publish, given once per port or range; each value
// is checked as it is read, so that a bad one is a usage error. It
// implements [pflag.Value].
type publishValue []string

func (p *publishValue) String() string { return strings.Join(*p, ",") }

func (p *publishValue) Set(s string) error {
	if _, err := network.ParsePort(s); err != nil {
		return err
	}
	*p = append(*p, s)
	return nil
}

func (p *publishValue) Type() string { return "list" }

// minMemory is the smallest memory limit Docker accepts: below it, a
// container cannot even start.
const minMemory = 6 << 20

// memoryValue is -m/--memory: a size in bytes, written as Docker writes
// it. It implements [pflag.Value].
type memoryValue int64

func (m *memoryValue) String() string {
	if *m == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*m), 10)
}

func (m *memoryValue) Set(s string) error {
	n, err := parseMemory(s)
	if err != nil {
		return err
	}
	if n != 0 && n < minMemory {
		return errors.New("minimum memory limit allowed is 6MB")
	}
	*m = memoryValue(n)
	return nil
}

func (m *memoryValue) Type() string { return "bytes" }

// memoryUnits are the suffixes of Docker's memory sizes. They are binary:
// 1k is 1024 bytes, unlike the decimal units sizes are printed in.
var memoryUnits = map[byte]int64{
	'b': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40, 'p': 1 << 50,
}

// parseMemory reads a size as docker run -m does: a number, perhaps with
// a fraction, then an optional unit b, k, m, g, t or p (any case),
// optionally followed by "b" or "ib": 512m, 1g, 1.5GiB, 1048576.
func parseMemory(raw string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	s = strings.TrimSuffix(s, "ib")
	if len(s) > 1 && s[len(s)-1] == 'b' && memoryUnits[s[len(s)-2]] > 1 {
		s = s[:len(s)-1] // "512mb" is "512m"
	}

	unit := int64(1)
	if n := len(s); n > 0 && memoryUnits[s[n-1]] != 0 {
		unit, s = memoryUnits[s[n-1]], strings.TrimSpace(s[:n-1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || strings.ContainsAny(s, "eEnNxX+-") {
		return 0, fmt.Errorf("invalid size: %q", raw)
	}
	bytes := v * float64(unit)
	if bytes > float64(1<<62) {
		return 0, fmt.Errorf("invalid size: %q is too large", raw)
	}
	return int64(bytes), nil
}

// cpusValue is --cpus: how many CPUs' worth of time the container may use,
// such as 0.5 or 1.5. It implements [pflag.Value].
type cpusValue float64

func (c *cpusValue) String() string {
	if *c == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(*c), 'f', -1, 64)
}

func (c *cpusValue) Set(s string) error {
	v, err := parseCPUs(s, runtime.NumCPU())
	if err != nil {
		return err
	}
	*c = cpusValue(v)
	return nil
}

func (c *cpusValue) Type() string { return "decimal" }

// parseCPUs reads --cpus and checks it against the machine's ncpu CPUs,
// with Docker's message.
func parseCPUs(raw string, ncpu int) (float64, error) {
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || v < 0 || strings.ContainsAny(raw, "eEnNxX") {
		return 0, fmt.Errorf("invalid value %q: want a number of CPUs such as 0.5", raw)
	}
	if v != 0 && (v < 0.01 || v > float64(ncpu)) {
		return 0, fmt.Errorf(
			"range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu)
	}
	return v, nil
}
