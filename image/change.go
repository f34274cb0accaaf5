package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChange applies one Dockerfile instruction that only changes the
// image config, as `docker import --change` and `docker commit --change`
// accept them: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER,
// VOLUME and WORKDIR.
func ApplyChange(cfg *ocispec.ImageConfig, change string) error {
	keyword, args, _ := strings.Cut(strings.TrimSpace(change), " ")
	args = strings.TrimSpace(args)
	if err := applyChange(cfg, strings.ToUpper(keyword), args); err != nil {
		return fmt.Errorf("invalid change %q: %w", change, err)
	}
	return nil
}

func applyChange(cfg *ocispec.ImageConfig, keyword, args string) error {
	if args == "" && keyword != "" {
		return fmt.Errorf("%s requires at least one argument", keyword)
	}
	switch keyword {
	case "CMD":
		cfg.Cmd = commandForm(args)
	case "ENTRYPOINT":
		cfg.Entrypoint = commandForm(args)
	case "ENV":
		return keyValues(args, true, func(k, v string) { cfg.Env = setEnv(cfg.Env, k, v) })
	case "LABEL":
		return keyValues(args, false, func(k, v string) {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[k] = v
		})
	case "EXPOSE":
		return expose(cfg, args)
	case "STOPSIGNAL":
		cfg.StopSignal = args
	case "USER":
		cfg.User = args
	case "VOLUME":
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range commandForm(args) {
			cfg.Volumes[v] = struct{}{}
		}
	case "WORKDIR":
		// A relative WORKDIR continues from the previous one.
		cfg.WorkingDir = path.Join("/", cfg.WorkingDir, args)
	default:
		return fmt.Errorf("unknown instruction %s (a change may be CMD, ENTRYPOINT, ENV, "+
			"EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR)", keyword)
	}
	return nil
}

// commandForm reads CMD and ENTRYPOINT arguments: a JSON array is the exec
// form, run as given; anything else is the shell form, run by /bin/sh -c.
// VOLUME takes a JSON array or words.
func commandForm(args string) []string {
	var exec []string
	if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &exec) == nil {
		return exec
	}
	return []string{"/bin/sh", "-c", args}
}

// keyValues reads `K=V K2="v 2"` pairs, or with legacy set the old form
// `K the rest is the value` that ENV accepts.
func keyValues(args string, legacy bool, set func(k, v string)) error {
	words, err := splitWords(args)
	if err != nil {
		return err
	}
	if legacy && !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(args, " ")
		set(k, strings.TrimSpace(v))
		return nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not of the form KEY=VALUE", w)
		}
		set(k, v)
	}
	return nil
}

// splitWords splits on blanks, honouring double and single quotes and
// backslash escapes, as the Dockerfile parser does for ENV and LABEL.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, c := range s {
		switch {
		case escaped:
			w.WriteRune(c)
			escaped = false
		case c == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unmatched quote %c", quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

func expose(cfg *ocispec.ImageConfig, args string) error {
	for _, p := range strings.Fields(args) {
		port, proto, ok := strings.Cut(p, "/")
		if !ok {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("invalid protocol %q in %q", proto, p)
		}
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 ||
			fmt.Sprint(n) != port {
			return fmt.Errorf("invalid port %q", p)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[port+"/"+proto] = struct{}{}
	}
	return nil
}
