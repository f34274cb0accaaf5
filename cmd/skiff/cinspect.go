package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/network"
)

// This file holds skiff container inspect, and skiff inspect, which looks
// for a container first and then for an image, as docker inspect does.

// inspectContainer is one element of the JSON array printed by skiff
// container inspect, in the shape and field names of docker inspect.
type inspectContainer struct {
	ID          string               `json:"Id"`
	Created     string               `json:"Created"`
	Path        string               `json:"Path"`
	Args        []string             `json:"Args"`
	State       inspectState         `json:"State"`
	Image       string               `json:"Image"`
	Name        string               `json:"Name"`
	Driver      string               `json:"Driver"`
	Platform    string               `json:"Platform"`
	HostConfig  inspectHostConfig    `json:"HostConfig"`
	GraphDriver inspectGraphDriver   `json:"GraphDriver"`
	Config      inspectContainerConf `json:"Config"`
	// NetworkSettings is filled in from the network store by
	// containerInspect.
	NetworkSettings inspectNetworkSettings `json:"NetworkSettings"`
	// The files skiff binds over the container's own.
	HostnamePath   string `json:"HostnamePath"`
	HostsPath      string `json:"HostsPath"`
	ResolvConfPath string `json:"ResolvConfPath"`
	LogPath        string `json:"LogPath"`
}

// inspectState is the State object: where the container is in its life.
type inspectState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	Error      string `json:"Error"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
}

// inspectHostConfig is the part of HostConfig that skiff has: limits,
// mounts, network mode.
type inspectHostConfig struct {
	Binds          []string          `json:"Binds"`
	NetworkMode    string            `json:"NetworkMode"`
	AutoRemove     bool              `json:"AutoRemove"`
	ReadonlyRootfs bool              `json:"ReadonlyRootfs"`
	Tmpfs          map[string]string `json:"Tmpfs,omitempty"`
	Memory         int64             `json:"Memory"`
	NanoCpus       int64             `json:"NanoCpus"`
	PidsLimit      *int64            `json:"PidsLimit"`
	Init           *bool             `json:"Init"`
	// PortBindings are the ports asked for with -p and -P; a HostPort of
	// "" is chosen when the container starts.
	PortBindings map[string][]inspectPortBinding `json:"PortBindings"`
}

// inspectPortBinding is where on the host a container port is published.
// HostIp "" (asked for) or "0.0.0.0" (bound) means every address.
type inspectPortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// inspectNetworkSettings is the NetworkSettings object: the container's
// address on each network it is attached to, and the ports it publishes,
// as bound while it runs. Docker's top-level IPAddress, Gateway and
// MacAddress describe the container on the default network, "bridge".
type inspectNetworkSettings struct {
	Ports       map[string][]inspectPortBinding `json:"Ports"`
	IPAddress   string                          `json:"IPAddress"`
	IPPrefixLen int                             `json:"IPPrefixLen"`
	Gateway     string                          `json:"Gateway"`
	MacAddress  string                          `json:"MacAddress"`
	Networks    map[string]inspectEndpoint      `json:"Networks"`
}

// inspectEndpoint is the container on one network; empty but for the
// network's ID while the container does not run.
type inspectEndpoint struct {
	NetworkID   string `json:"NetworkID"`
	Gateway     string `json:"Gateway"`
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	MacAddress  string `json:"MacAddress"`
}

// inspectGraphDriver says where the container's filesystem lives: the
// overlay's lowerdirs (topmost first, as in the mount options), its
// upperdir and workdir, and the merged mount point.
type inspectGraphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

// inspectContainerConf is the container's Config: its run options, with
// the image's defaults applied.
type inspectContainerConf struct {
	Hostname    string   `json:"Hostname"`
	User        string   `json:"User"`
	Tty         bool     `json:"Tty"`
	OpenStdin   bool     `json:"OpenStdin"`
	Env         []string `json:"Env"`
	Cmd         []string `json:"Cmd"`
	Image       string   `json:"Image"`
	WorkingDir  string   `json:"WorkingDir"`
	Entrypoint  []string `json:"Entrypoint"`
	StopSignal  string   `json:"StopSignal,omitempty"`
	StopTimeout *int     `json:"StopTimeout,omitempty"`
}

// newContainerInspect converts a container to docker inspect's shape.
// lowerDirs are its image's layer dirs, lowest first; bundle is its
// directory in the store.
func newContainerInspect(c *container.Container, lowerDirs []string,
	bundle string) inspectContainer {

	out := inspectContainer{
		ID:             c.ID,
		Created:        c.Created.UTC().Format(time.RFC3339Nano),
		Args:           []string{},
		State:          newInspectState(c.State),
		Image:          c.Image.String(),
		Name:           "/" + c.Name,
		Driver:         "overlay",
		Platform:       "linux",
		HostConfig:     newInspectHostConfig(&c.Options),
		GraphDriver:    newInspectGraphDriver(lowerDirs, bundle),
		Config:         newInspectContainerConf(c),
		HostnamePath:   filepath.Join(bundle, "hostname"),
		HostsPath:      filepath.Join(bundle, "hosts"),
		ResolvConfPath: filepath.Join(bundle, "resolv.conf"),
		LogPath:        filepath.Join(bundle, "log.json"),
	}
	// Docker's Path and Args: the entrypoint and command, split after the
	// program.
	if cmd := c.Options.Command(); len(cmd) > 0 {
		out.Path, out.Args = cmd[0], cmd[1:]
	}
	return out
}

func newInspectState(st container.State) inspectState {
	return inspectState{
		Status:     string(st.Status),
		Running:    st.Status == container.Running,
		OOMKilled:  st.OOMKilled,
		Pid:        st.Pid,
		ExitCode:   st.ExitCode,
		Error:      st.Error,
		StartedAt:  st.StartedAt.UTC().Format(time.RFC3339Nano),
		FinishedAt: st.FinishedAt.UTC().Format(time.RFC3339Nano),
	}
}

func newInspectHostConfig(o *container.Options) inspectHostConfig {
	h := inspectHostConfig{
		Binds:          o.Volumes,
		NetworkMode:    o.Network,
		AutoRemove:     o.AutoRemove,
		ReadonlyRootfs: o.ReadOnly,
		Memory:         o.Memory,
		NanoCpus:       int64(o.CPUs * 1e9),
		PortBindings:   map[string][]inspectPortBinding{},
	}
	for _, p := range o.Ports {
		b := inspectPortBinding{}
		if p.HostIP.IsValid() {
			b.HostIP = p.HostIP.String()
		}
		if p.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(p.HostPort))
		}
		key := portKey(p)
		h.PortBindings[key] = append(h.PortBindings[key], b)
	}
	// Docker shows null for a setting that was never made.
	if o.PidsLimit > 0 {
		h.PidsLimit = &o.PidsLimit
	}
	if o.Init {
		h.Init = &o.Init
	}
	for _, t := range o.Tmpfs {
		if h.Tmpfs == nil {
			h.Tmpfs = make(map[string]string)
		}
		target, opts, _ := strings.Cut(t, ":")
		h.Tmpfs[target] = opts
	}
	return h
}

// portKey is how Docker's JSON names a container port: "80/tcp".
func portKey(p network.PortMapping) string {
	return strconv.Itoa(int(p.ContainerPort)) + "/" + p.Proto
}

// newInspectNetworkSettings describes a container's endpoints, eps, on
// the networks whose IDs netIDs gives by name. A container without any
// (not running, or in network mode none or host) is shown on the network
// it asked for, with no address.
func newInspectNetworkSettings(c *container.Container, eps []network.Endpoint,
	netIDs map[string]string) inspectNetworkSettings {

	ns := inspectNetworkSettings{
		Ports:    map[string][]inspectPortBinding{},
		Networks: map[string]inspectEndpoint{},
	}
	if len(eps) == 0 {
		ns.Networks[c.Options.Network] = inspectEndpoint{NetworkID: netIDs[c.Options.Network]}
	}
	for _, ep := range eps {
		e := inspectEndpoint{
			NetworkID:   netIDs[ep.Network],
			Gateway:     ep.Gateway.String(),
			IPAddress:   ep.IP().String(),
			IPPrefixLen: ep.Address.Bits(),
			MacAddress:  ep.MAC,
		}
		ns.Networks[ep.Network] = e
		if ep.Network == network.DefaultNetwork {
			ns.IPAddress, ns.IPPrefixLen = e.IPAddress, e.IPPrefixLen
			ns.Gateway, ns.MacAddress = e.Gateway, e.MacAddress
		}
		for _, p := range sortPorts(ep.Ports) {
			b := inspectPortBinding{HostIP: "0.0.0.0", HostPort: strconv.Itoa(int(p.HostPort))}
			if p.HostIP.IsValid() {
				b.HostIP = p.HostIP.String()
			}
			ns.Ports[portKey(p)] = append(ns.Ports[portKey(p)], b)
		}
	}
	return ns
}

func newInspectGraphDriver(lowerDirs []string, bundle string) inspectGraphDriver {
	// Overlay lists lowerdirs topmost first, the reverse of diff_ids.
	lowers := slices.Clone(lowerDirs)
	slices.Reverse(lowers)
	return inspectGraphDriver{
		Name: "overlay",
		Data: map[string]string{
			"LowerDir":  strings.Join(lowers, ":"),
			"UpperDir":  filepath.Join(bundle, "upper"),
			"WorkDir":   filepath.Join(bundle, "work"),
			"MergedDir": filepath.Join(bundle, "rootfs"),
		},
	}
}

func newInspectContainerConf(c *container.Container) inspectContainerConf {
	o := &c.Options
	conf := inspectContainerConf{
		Hostname:   o.Hostname,
		User:       o.User,
		Tty:        o.Tty,
		OpenStdin:  o.OpenStdin,
		Env:        o.Env,
		Cmd:        o.Cmd,
		Image:      c.ImageRef,
		WorkingDir: o.WorkingDir,
		Entrypoint: o.Entrypoint,
		StopSignal: o.StopSignal,
	}
	if o.StopTimeout != 0 {
		conf.StopTimeout = &o.StopTimeout
	}
	return conf
}

// inspectKinds are the kinds of object skiff inspect --type accepts.
const (
	kindContainer = "container"
	kindImage     = "image"
)

// newContainerInspectCommand builds "skiff container inspect".
func newContainerInspectCommand(name string) *command {
	var format string
	c := &command{
		name:    name,
		summary: "Display detailed information on one or more containers",
		usage:   "[OPTIONS] CONTAINER [CONTAINER...]",
		example: "skiff container inspect web\n" +
			"skiff container inspect --format '{{.State.Pid}}' web",
		args:  argRule{min: 1, max: -1},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&format, "format", "f", "",
		"Format output using a Go template (fields as in the JSON output)")
	c.run = func(a *app, args []string) error {
		return runObjectInspect(a, c.path, format, kindContainer, args)
	}
	return c
}

// newObjectInspectCommand builds "skiff inspect": a container or an image,
// whichever the name finds first, in that order.
func newObjectInspectCommand(name string) *command {
	var format, kind string
	c := &command{
		name:    name,
		summary: "Return low-level information on skiff objects",
		usage:   "[OPTIONS] NAME|ID [NAME|ID...]",
		example: "skiff inspect web\n" +
			"skiff inspect --format '{{.State.ExitCode}}' web\n" +
			"skiff inspect --type image busybox",
		args:  argRule{min: 1, max: -1},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&format, "format", "f", "",
		"Format output using a Go template (fields as in the JSON output)")
	c.flags.StringVar(&kind, "type", "",
		"Only inspect objects of the given type (container or image)")
	c.run = func(a *app, args []string) error {
		if kind != "" && kind != kindContainer && kind != kindImage {
			err := fmt.Errorf("invalid --type %q: want container or image", kind)
			return &usageError{path: c.path, err: err}
		}
		return runObjectInspect(a, c.path, format, kind, args)
	}
	return c
}

// runObjectInspect prints every object it finds, then one error line for
// each name it does not, and fails if any was missing. kind limits the
// search to containers or images; "" tries a container, then an image.
func runObjectInspect(a *app, path, format, kind string, refs []string) error {
	var tmpl *template.Template
	if format != "" {
		var err error
		if tmpl, err = parseFormat(format); err != nil {
			return &usageError{path: path, err: err}
		}
	}
	images, s, err := a.openStores()
	if err != nil {
		return err
	}

	found := []any{}
	var failed []error
	for _, ref := range refs {
		obj, err := a.inspectObject(images, s, kind, ref)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		found = append(found, obj)
	}

	return a.printInspected(tmpl, found, failed)
}

// inspectObject finds ref as a container, then as an image, as kind
// allows, and returns it in docker inspect's shape.
func (a *app) inspectObject(images *image.Store, s *container.Store,
	kind, ref string) (any, error) {

	if kind != kindImage {
		c, err := s.Get(ref)
		switch {
		case err == nil:
			return a.containerInspect(s, c), nil
		case !errors.Is(err, container.ErrNotFound):
			return nil, err
		case kind == kindContainer:
			return nil, containerError(ref, err)
		}
	}
	img, err := images.Lookup(ref)
	switch {
	case err == nil:
		return newInspect(img), nil
	case errors.Is(err, image.ErrNotFound) && kind == "":
		return nil, &noSuchObjectError{ref: ref}
	}
	return nil, imageError(ref, err)
}

// containerInspect gathers what newContainerInspect needs from the stores.
func (a *app) containerInspect(s *container.Store, c *container.Container) inspectContainer {

	lowerDirs, _ := s.LowerDirs(c)
	out := newContainerInspect(c, lowerDirs, s.Bundle(c))

	// Only a running container has endpoints; a stale one of a dead
	// container is not shown.
	var eps []network.Endpoint
	if c.State.Status == container.Running {
		eps, _ = s.Networks().Endpoints(c.ID)
	}
	netIDs := map[string]string{}
	if cfgs, err := s.Networks().List(); err == nil {
		for _, cfg := range cfgs {
			netIDs[cfg.Name] = cfg.ID
		}
	}
	out.NetworkSettings = newInspectNetworkSettings(c, eps, netIDs)
	return out
}

// printEachTemplate runs tmpl once per object, one line each. The template
// sees the JSON document, not the Go struct, so {{.Id}}, {{.State.Pid}} and
// {{.Config.Cmd}} work exactly as they do with docker.
func printEachTemplate(w io.Writer, tmpl *template.Template, objs []any) error {
	for _, obj := range objs {
		raw, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // print a PID as 4242, not 4.242e+03
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return err
		}

		var b bytes.Buffer
		if err := tmpl.Execute(&b, doc); err != nil {
			return fmt.Errorf("execute --format template: %w", err)
		}
		b.WriteByte('\n')
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
