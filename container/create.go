package container

import (
	"fmt"
	"strings"

	"github.com/skiff-dev/skiff/image"
)

// CreateOptions are the options given on the command line before they are
// merged with the image config. Entrypoint is nil when --entrypoint was not
// given, and a one-element slice holding "" when it was given as "".
type CreateOptions struct {
	Name       string
	Options    Options
	Entrypoint []string
	// Args are the COMMAND and ARGs after the image name.
	Args []string
	// Publish are the -p specs; PublishAll is -P.
	Publish    []string
	PublishAll bool
}

// Create makes a new container from an image without starting it (docker
// create): its record, its name, and run options that merge the image
// config with what the user asked for, as Docker merges them.
func (s *Store) Create(img *image.Image, imageRef string, opts CreateOptions) (*Container, error) {
	c := &Container{Image: img.ID, ImageRef: imageRef, Options: opts.Options}
	o, cfg := &c.Options, img.Config.Config

	// --entrypoint replaces the image's and drops its CMD; arguments after
	// the image replace CMD.
	o.Entrypoint, o.Cmd = cfg.Entrypoint, cfg.Cmd
	if opts.Entrypoint != nil {
		o.Entrypoint, o.Cmd = nil, nil
		if opts.Entrypoint[0] != "" {
			o.Entrypoint = opts.Entrypoint
		}
	}
	if len(opts.Args) > 0 {
		o.Cmd = opts.Args
	}
	if len(o.Command()) == 0 {
		return nil, fmt.Errorf("no command specified")
	}

	o.Env = mergeEnv(cfg.Env, opts.Options.Env)
	if o.WorkingDir == "" {
		o.WorkingDir = cfg.WorkingDir
	}
	if o.User == "" {
		o.User = cfg.User
	}
	if o.StopSignal == "" {
		o.StopSignal = cfg.StopSignal
	}
	if _, err := ParseSignal(o.StopSignal); err != nil {
		return nil, err
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 10
	}
	if err := s.checkNetwork(o); err != nil {
		return nil, err
	}
	if err := s.resolvePorts(o, img, opts.Publish, opts.PublishAll); err != nil {
		return nil, err
	}
	for _, v := range o.Volumes {
		if _, _, _, err := volumeMount(v); err != nil {
			return nil, err
		}
	}

	if err := s.newContainer(c, opts.Name); err != nil {
		return nil, err
	}
	return c, nil
}

// mergeEnv lays the user's KEY=VALUE pairs over the image's.
func mergeEnv(base, over []string) []string {
	env := append([]string{}, base...)
	for _, kv := range over {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range env {
			if k, _, _ := strings.Cut(old, "="); k == key {
				env[i], replaced = kv, true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}
