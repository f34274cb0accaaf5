package container

import (
	"errors"
	"strings"

	"github.com/skiff-dev/skiff/namespaces"
)

// defaultPath is the PATH a container gets when its image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spec turns the container's options into what the init process applies:
// the namespaces, mounts, user and privileges of its first process.
func (s *Store) spec(c *Container) (*namespaces.Spec, error) {
	o := &c.Options
	rootfs := s.bundle(c.ID, "rootfs")
	args := o.Command()
	if len(args) == 0 {
		return nil, errors.New("no command specified")
	}
	spec := &namespaces.Spec{
		Rootfs:          rootfs,
		Hostname:        o.Hostname,
		Namespaces:      s.namespacesFor(o),
		Args:            args,
		Env:             processEnv(o),
		Cwd:             o.WorkingDir,
		User:            o.User,
		Terminal:        o.Tty,
		Init:            o.Init,
		ReadonlyRootfs:  o.ReadOnly,
		MaskedPaths:     namespaces.DefaultMaskedPaths,
		ReadonlyPaths:   namespaces.DefaultReadonlyPaths,
		Capabilities:    namespaces.DefaultCapabilities,
		NoNewPrivileges: true,
	}
	if spec.Cwd == "" {
		spec.Cwd = "/"
	}

	// The bundle's /etc files first, then volumes and tmpfs, so that a
	// user's -v over /etc/hosts wins as in Docker.
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		spec.Mounts = append(spec.Mounts, namespaces.Mount{
			Type: "bind", Source: s.bundle(c.ID, name), Target: "/etc/" + name,
			Readonly: o.ReadOnly,
		})
	}
	for _, v := range o.Volumes {
		src, dst, ro, err := volumeMount(v)
		if err != nil {
			return nil, err
		}
		spec.Mounts = append(spec.Mounts,
			namespaces.Mount{Type: "bind", Source: src, Target: dst, Readonly: ro})
	}
	for _, t := range o.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		if opts == "" {
			opts = "mode=1777"
		}
		spec.Mounts = append(spec.Mounts,
			namespaces.Mount{Type: "tmpfs", Target: target, Options: opts})
	}
	return spec, nil
}

// namespacesFor lists the namespaces of a container: all but the network
// namespace with --network host. Start adds a cgroup namespace on a pure
// v2 host, where it hides the host's cgroup paths; on v1 it would hide
// nothing.
func (s *Store) namespacesFor(o *Options) []namespaces.Namespace {
	ns := []namespaces.Namespace{
		namespaces.MountNS, namespaces.UTSNS, namespaces.IPCNS, namespaces.PIDNS,
	}
	if o.Network != "host" {
		ns = append(ns, namespaces.NetworkNS)
	}
	return ns
}

// processEnv is the image's and the user's environment plus what Docker
// always sets: PATH when missing, HOSTNAME, TERM with a terminal. HOME,
// when missing, comes from the user's passwd entry, which only the init
// reads (see namespaces.Spec.User).
func processEnv(o *Options) []string {
	env := append([]string{}, o.Env...)
	has := func(key string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, key+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append([]string{"PATH=" + defaultPath}, env...)
	}
	env = append(env, "HOSTNAME="+o.Hostname)
	if o.Tty && !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	return env
}
