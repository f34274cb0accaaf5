package build

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
)

// runConfig is the "config" object of an image config as Docker writes
// it: the OCI fields, plus three that the OCI spec does not define but
// Docker's tools read. They are written by [image.CommitOptions.ConfigExtra]
// and read back from the config blob, since [ocispec.ImageConfig] drops them.
type runConfig struct {
	ocispec.ImageConfig
	Healthcheck *healthConfig `json:"Healthcheck,omitempty"`
	OnBuild     []string      `json:"OnBuild,omitempty"`
	Shell       []string      `json:"Shell,omitempty"`
}

// healthConfig is HEALTHCHECK in Docker's config: durations in
// nanoseconds, zero meaning the default.
type healthConfig struct {
	Test          []string      `json:",omitempty"`
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

// extra returns the fields the OCI types lack, by JSON key, for
// [image.CommitOptions.ConfigExtra]; empty ones are left out.
func (c *runConfig) extra() (map[string]json.RawMessage, error) {
	fields := map[string]any{}
	if c.Healthcheck != nil {
		fields["Healthcheck"] = c.Healthcheck
	}
	if len(c.OnBuild) > 0 {
		fields["OnBuild"] = c.OnBuild
	}
	if len(c.Shell) > 0 {
		fields["Shell"] = c.Shell
	}
	extra := map[string]json.RawMessage{}
	for key, v := range fields {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		extra[key] = data
	}
	return extra, nil
}

// clone returns a copy that shares no slice or map with c.
func (c runConfig) clone() runConfig {
	c.Env, c.Cmd = slices.Clone(c.Env), slices.Clone(c.Cmd)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.OnBuild, c.Shell = slices.Clone(c.OnBuild), slices.Clone(c.Shell)
	c.Labels, c.Volumes = maps.Clone(c.Labels), maps.Clone(c.Volumes)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		c.Healthcheck = &h
	}
	return c
}

// readConfig reads an image's run config from its config blob, with the
// fields the OCI types lack. A nil image (scratch) has an empty one.
func (r *buildRun) readConfig(img *image.Image) (runConfig, error) {
	if img == nil {
		return runConfig{}, nil
	}
	data, err := r.b.images.ReadBlob(img.ID)
	if err != nil {
		return runConfig{}, err
	}
	var config struct {
		Config runConfig `json:"config"`
	}
	if err := json.Unmarshal(data, &config); err != nil {
		return runConfig{}, fmt.Errorf("read config of image %s: %w", img.ShortID(), err)
	}
	return config.Config, nil
}

// shell returns the shell that runs the shell form of RUN, CMD and
// ENTRYPOINT: SHELL's, or /bin/sh -c.
func (c *runConfig) shell() []string {
	if len(c.Shell) > 0 {
		return slices.Clone(c.Shell)
	}
	return []string{"/bin/sh", "-c"}
}

// command returns the argument list of a RUN, CMD or ENTRYPOINT: the exec
// form as written, the shell form after the shell.
func (c *runConfig) command(in *dockerfile.Instruction) []string {
	if in.JSON {
		return slices.Clone(in.Args)
	}
	return append(c.shell(), in.Args[0])
}

// metadata works out a step that changes only the config. Most of them
// substitute variables in their arguments first; CMD, ENTRYPOINT, SHELL,
// HEALTHCHECK and ONBUILD keep their text.
func (r *buildRun) metadata(st *stageState, in *dockerfile.Instruction) (step, error) {
	s := step{cfg: st.cfg.clone()}
	cfg := &s.cfg
	var err error
	switch in.Keyword {
	case "ENV", "LABEL":
		s.createdBy, err = r.pairs(st, in, cfg)
	case "ARG":
		err = r.declareArgs(st, in)
		s.createdBy = "ARG " + argNames(in)
	case "CMD":
		cfg.Cmd, st.cmdSet = cfg.command(in), true
		s.createdBy = "CMD " + jsonList(cfg.Cmd)
	case "ENTRYPOINT":
		// An ENTRYPOINT drops the CMD inherited from the base image: it was
		// meant for the base's entrypoint.
		cfg.Entrypoint = cfg.command(in)
		if !st.cmdSet {
			cfg.Cmd = nil
		}
		s.createdBy = "ENTRYPOINT " + jsonList(cfg.Entrypoint)
	case "SHELL":
		cfg.Shell = slices.Clone(in.Args)
		s.createdBy = "SHELL " + jsonList(cfg.Shell)
	case "MAINTAINER":
		st.maintainer = in.Args[0]
		s.createdBy = "MAINTAINER " + st.maintainer
	case "ONBUILD":
		cfg.OnBuild = append(cfg.OnBuild, in.Trigger.Original)
		s.createdBy = "ONBUILD " + in.Trigger.Original
	case "HEALTHCHECK":
		s.createdBy, err = healthcheck(in, cfg)
	default:
		s.createdBy, err = r.words(st, in, cfg)
	}
	return s, err
}

// pairs runs ENV and LABEL. Every value is substituted with the variables
// as they were before the instruction: ENV A=1 B=$A gives B the old A.
func (r *buildRun) pairs(st *stageState, in *dockerfile.Instruction,
	cfg *runConfig) (string, error) {

	var shown []string
	for _, kv := range in.Pairs {
		k, err := dockerfile.ExpandWord(kv.Key, r.df.Escape, st.lookup)
		if err != nil {
			return "", err
		}
		v, err := dockerfile.ExpandWord(kv.Value, r.df.Escape, st.lookup)
		if err != nil {
			return "", err
		}
		if in.Keyword == "ENV" {
			cfg.Env = setEnv(cfg.Env, k, v)
		} else {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[k] = v
		}
		shown = append(shown, k+"="+v)
	}
	return in.Keyword + " " + strings.Join(shown, " "), nil
}

// words runs EXPOSE, USER, VOLUME and STOPSIGNAL, whose arguments are
// substituted words.
func (r *buildRun) words(st *stageState, in *dockerfile.Instruction,
	cfg *runConfig) (string, error) {

	words, err := r.expandArgs(st, in)
	if err != nil {
		return "", err
	}
	switch in.Keyword {
	case "EXPOSE":
		return expose(words, cfg)
	case "VOLUME":
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range words {
			cfg.Volumes[path.Clean("/"+v)] = struct{}{}
		}
		return "VOLUME " + jsonList(words), nil
	}

	value := strings.Join(words, " ")
	if in.Keyword == "STOPSIGNAL" {
		if _, err := container.ParseSignal(value); err != nil {
			return "", err
		}
		cfg.StopSignal = value
	} else {
		cfg.User = value
	}
	return in.Keyword + " " + value, nil
}

// expandArgs substitutes variables in an instruction's arguments: each
// element of the exec form, or the words of the rest.
func (r *buildRun) expandArgs(st *stageState, in *dockerfile.Instruction) ([]string, error) {
	var words []string
	for _, a := range in.Args {
		var err error
		if in.JSON {
			a, err = dockerfile.ExpandRaw(a, r.df.Escape, st.lookup)
			words = append(words, a)
		} else {
			var w []string
			w, err = dockerfile.ExpandFields(a, r.df.Escape, st.lookup)
			words = append(words, w...)
		}
		if err != nil {
			return nil, err
		}
	}
	return words, nil
}

func expose(words []string, cfg *runConfig) (string, error) {
	var all []string
	for _, w := range words {
		ports, err := dockerfile.ExposedPorts(w)
		if err != nil {
			return "", err
		}
		all = append(all, ports...)
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range all {
		cfg.ExposedPorts[p] = struct{}{}
	}
	return "EXPOSE " + strings.Join(all, " "), nil
}

// healthcheck records HEALTHCHECK; NONE turns off the base image's.
func healthcheck(in *dockerfile.Instruction, cfg *runConfig) (string, error) {
	h, err := dockerfile.ParseHealthcheck(in)
	if err != nil {
		return "", err
	}
	cfg.Healthcheck = &healthConfig{
		Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
		StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries,
	}
	shown := []string{"HEALTHCHECK"}
	for _, f := range in.Flags {
		shown = append(shown, "--"+f.Name+"="+f.Value)
	}
	return strings.Join(append(shown, jsonList(h.Test)), " "), nil
}

func argNames(in *dockerfile.Instruction) string {
	var names []string
	for _, kv := range in.Pairs {
		names = append(names, kv.Key)
	}
	return strings.Join(names, " ")
}

// jsonList shows a list as the exec form does: ["a","b"].
func jsonList(list []string) string {
	data, _ := json.Marshal(list)
	return string(data)
}

// setEnv sets key in a list of KEY=value, in place if it is there.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}
