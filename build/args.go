package build

import (
	"maps"
	"slices"
	"strings"

	"github.com/skiff-dev/skiff/build/dockerfile"
)

// proxyArgs are the build arguments Docker predefines: a --build-arg may set
// them without an ARG, RUN steps see them, and, since they describe the
// network of the machine rather than the image, they stay out of the
// image's history and the cache key.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// metaLookup is what FROM lines see: the ARGs before the first FROM.
func (r *buildRun) metaLookup(name string) (string, bool) {
	v, ok := r.meta[name]
	return v, ok
}

// metaArg runs an ARG before the first FROM.
func (r *buildRun) metaArg(in *dockerfile.Instruction) error {
	for _, kv := range in.Pairs {
		v, set, err := r.argValue(kv, r.metaLookup, r.metaLookup)
		if err != nil {
			return err
		}
		if set {
			r.meta[kv.Key] = v
		} else {
			delete(r.meta, kv.Key)
		}
	}
	return nil
}

// argValue decides an ARG's value: the --build-arg if given, else its
// default (substituted with lookup), else, for an ARG without default, the
// value of the meta ARG of the same name.
func (r *buildRun) argValue(kv dockerfile.KeyValue,
	lookup, meta dockerfile.Lookup) (string, bool, error) {

	if v, ok := r.opts.BuildArgs[kv.Key]; ok {
		r.usedArgs[kv.Key] = true
		return v, true, nil
	}
	if kv.HasValue {
		v, err := dockerfile.ExpandWord(kv.Value, r.df.Escape, lookup)
		return v, err == nil, err
	}
	v, ok := meta(kv.Key)
	return v, ok, nil
}

// declareArgs runs an ARG inside a stage.
func (r *buildRun) declareArgs(st *stageState, in *dockerfile.Instruction) error {
	for _, kv := range in.Pairs {
		v, set, err := r.argValue(kv, st.lookup, r.metaLookup)
		if err != nil {
			return err
		}
		a := argValue{name: kv.Key, value: v, set: set}
		replaced := false
		for i := range st.args {
			if st.args[i].name == kv.Key {
				st.args[i], replaced = a, true
			}
		}
		if !replaced {
			st.args = append(st.args, a)
		}
	}
	return nil
}

// lookup is what a stage's instructions see: ENV values first (an ENV
// hides an ARG of the same name), then the ARGs declared with a value.
func (st *stageState) lookup(name string) (string, bool) {
	if v, ok := envValue(st.cfg.Env, name); ok {
		return v, true
	}
	for _, a := range st.args {
		if a.name == name {
			return a.value, a.set
		}
	}
	return "", false
}

// argsInEffect lists NAME=value for the declared ARGs that have a value:
// they are part of every cache key of the stage and of RUN's history line.
func (st *stageState) argsInEffect() []string {
	var out []string
	for _, a := range st.args {
		if a.set {
			out = append(out, a.name+"="+a.value)
		}
	}
	return out
}

// runEnv is what a RUN step adds to the image's environment: the ARGs in
// effect and the proxy --build-args, unless an ENV sets the same name.
func (r *buildRun) runEnv(st *stageState) []string {
	var env []string
	add := func(name, value string) {
		if _, ok := envValue(st.cfg.Env, name); !ok {
			env = append(env, name+"="+value)
		}
	}
	for _, a := range st.args {
		if a.set {
			add(a.name, a.value)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.opts.BuildArgs)) {
		if proxyArgs[name] {
			r.usedArgs[name] = true
			add(name, r.opts.BuildArgs[name])
		}
	}
	return env
}

// envValue finds NAME in a list of NAME=value.
func envValue(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == name {
			return v, true
		}
	}
	return "", false
}
