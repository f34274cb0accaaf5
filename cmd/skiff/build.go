package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// buildOptions are the flags of skiff build.
type buildOptions struct {
	tags      []string
	file      string
	buildArgs []string
	noCache   bool
	target    string
	network   string
	quiet     bool
	check     bool
}

// buildExitHelp replaces the usual exit status help: a failed RUN step
// passes on its command's exit code, as it does in docker build.
const buildExitHelp = `Exit status:
  0 on success; the exit code of a RUN command that failed; 1 when the
  build fails otherwise (a problem in the Dockerfile, a missing file);
  125 for a usage error.
`

// newBuildCommand builds "skiff build" and its twin "skiff image build".
func newBuildCommand(name string, also ...string) *command {
	var opts buildOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Build an image from a Dockerfile",
		usage:   "[OPTIONS] PATH | -",
		example: "skiff build -t web:1.0 .\n" +
			"skiff build --no-cache --build-arg VERSION=2 -f docker/Dockerfile .\n" +
			"skiff build --check .",
		args:     argRule{min: 1, max: 1},
		flags:    newFlagSet(name),
		exitHelp: buildExitHelp,
	}
	f := c.flags
	f.StringArrayVarP(&opts.tags, "tag", "t", nil,
		"Name and optionally a tag in the name:tag format")
	f.StringVarP(&opts.file, "file", "f", "",
		"Name of the Dockerfile (default: PATH/Dockerfile)")
	f.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set a build-time variable (NAME=value)")
	f.BoolVar(&opts.noCache, "no-cache", false, "Do not use the cache when building the image")
	f.StringVar(&opts.target, "target", "", "Build the stage with this name and stop")
	f.StringVar(&opts.network, "network", "",
		"Network of the RUN steps: bridge (the default), host, none or a network's `name`")
	f.BoolVarP(&opts.quiet, "quiet", "q", false,
		"Suppress the build output and print the image ID on success")
	f.BoolVar(&opts.check, "check", false,
		"Check the Dockerfile for problems, without building anything")
	c.run = func(a *app, args []string) error { return runBuild(a, c.path, &opts, args[0]) }
	return c
}

// runBuild reads the Dockerfile, checks it (--check stops there) and builds.
func runBuild(a *app, path string, opts *buildOptions, contextArg string) error {
	data, name, contextDir, err := readDockerfile(a, opts.file, contextArg)
	if err != nil {
		return err
	}
	if opts.check {
		return checkDockerfile(a, data, name)
	}
	buildArgs, err := parseBuildArgs(opts.buildArgs)
	if err != nil {
		return &usageError{path: path, err: err}
	}
	epoch, err := sourceDateEpoch(buildArgs)
	if err != nil {
		return &usageError{path: path, err: err}
	}

	images, containers, err := a.openStores()
	if err != nil {
		return err
	}
	out := a.stdout
	if opts.quiet {
		out = io.Discard
	}
	ctx, stop := signalContext()
	defer stop()

	img, err := build.New(containers, a.log).Build(ctx, build.Options{
		ContextDir: contextDir, Dockerfile: data, DockerfileName: name,
		Tags: opts.tags, BuildArgs: buildArgs, NoCache: opts.noCache, Target: opts.target,
		Network: opts.network, Output: out, SourceDateEpoch: epoch,
		Pull: a.pullForBuild(images),
	})
	if err != nil {
		return buildFailure(a, err)
	}
	if opts.quiet {
		_, err = fmt.Fprintln(a.stdout, img.ID)
	}
	return err
}

// readDockerfile reads the Dockerfile: PATH/Dockerfile, the file -f names
// (relative to the current directory, as docker build has it), or standard
// input for "-f -" or a PATH of "-" (then there is no build context). It
// returns the name errors should use.
func readDockerfile(a *app, file, contextArg string) ([]byte, string, string, error) {
	contextDir := contextArg
	if contextArg == "-" {
		contextDir, file = "", "-"
	} else if fi, err := os.Stat(contextArg); err != nil || !fi.IsDir() {
		const msg = "unable to prepare context: path %q not found or not a directory"
		return nil, "", "", fmt.Errorf(msg, contextArg)
	}

	name := file
	switch file {
	case "-":
		data, err := io.ReadAll(a.stdin)
		return data, "Dockerfile", contextDir, err
	case "":
		file, name = filepath.Join(contextDir, "Dockerfile"), "Dockerfile"
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", "", fmt.Errorf("unable to read the Dockerfile: %w", err)
	}
	return data, name, contextDir, nil
}

// checkDockerfile is --check: every problem on a line of its own.
func checkDockerfile(a *app, data []byte, name string) error {
	if err := build.Check(data, name); err != nil {
		return buildFailure(a, err)
	}
	_, err := fmt.Fprintf(a.stdout, "Check complete: no problems found in %s.\n", name)
	return err
}

// parseBuildArgs reads --build-arg NAME=value. A NAME alone takes the value
// of the environment variable of that name, and is left out if there is
// none, as docker build does.
func parseBuildArgs(raw []string) (map[string]string, error) {
	args := map[string]string{}
	for _, kv := range raw {
		name, value, ok := strings.Cut(kv, "=")
		if name == "" {
			return nil, fmt.Errorf("invalid --build-arg %q: want NAME=value", kv)
		}
		if !ok {
			if value, ok = os.LookupEnv(name); !ok {
				continue
			}
		}
		args[name] = value
	}
	return args, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH, from --build-arg or else the
// environment, as BuildKit takes it: seconds since 1970.
func sourceDateEpoch(buildArgs map[string]string) (time.Time, error) {
	raw, ok := buildArgs["SOURCE_DATE_EPOCH"]
	if !ok {
		raw = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if raw == "" {
		return time.Time{}, nil
	}
	secs, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || secs < 0 {
		const msg = "invalid SOURCE_DATE_EPOCH %q: want seconds since 1970"
		return time.Time{}, fmt.Errorf(msg, raw)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// pullFunc is the type of [build.Options.Pull].
type pullFunc = func(ctx context.Context, rawRef, platform string,
	out io.Writer) (*image.Image, error)

// pullForBuild lets a FROM line pull an image that is not in the store,
// with pull's progress in the build's output.
func (a *app) pullForBuild(images *image.Store) pullFunc {
	return func(ctx context.Context, rawRef, platform string,
		out io.Writer) (*image.Image, error) {

		ref, err := image.ParseReference(rawRef)
		if err != nil {
			return nil, err
		}
		var p registry.Platform
		if platform != "" {
			if p, err = registry.ParsePlatform(platform); err != nil {
				return nil, err
			}
		}
		client, _, err := a.registryClient()
		if err != nil {
			return nil, err
		}
		return pullImage(ctx, images, client, ref, out, p)
	}
}

// buildFailure prints the problems of a Dockerfile one per line, as
// "Dockerfile:LINE: message"; a failed RUN step exits with its command's
// code; anything else is an ordinary error.
func buildFailure(a *app, err error) error {
	var problems dockerfile.ErrorList
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(a.stderr, p.Error())
		}
		return errReported
	}
	var exit *build.ExitError
	if errors.As(err, &exit) {
		return &runError{code: exit.Code, err: err}
	}
	return err
}
