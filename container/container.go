package container

import (
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/network"
)

// Container is one instance of an image: its record on disk, the options it
// was created with, and its state. It outlives its process until it is
// removed.
type Container struct {
	// ID is 64 hex digits; Docker shows the first 12.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Image is the image ID the container was created from; ImageRef is
	// what the user typed (shown by ps, as Docker does).
	Image    digest.Digest `json:"image"`
	ImageRef string        `json:"imageRef"`
	Created  time.Time     `json:"created"`
	// Options are the run options, with the image config's defaults
	// already applied: what the process gets.
	Options Options `json:"options"`
	// State is kept in its own file, state.json, so that the record above
	// is written once.
	State State `json:"-"`
}

// ShortID returns the first 12 hex digits of the ID.
func (c *Container) ShortID() string { return c.ID[:12] }

// Status is where a container is in its life.
type Status string

// The statuses a container goes through: created by create, running after
// start, exited when its process ends (and after stop or kill).
const (
	Created Status = "created"
	Running Status = "running"
	Exited  Status = "exited"
)

// State is the mutable part of a container, in state.json.
type State struct {
	Status Status `json:"status"`
	// Pid is the host PID of the container's first process, while running.
	Pid int `json:"pid,omitempty"`
	// PidStart is that process's start time in clock ticks since boot, from
	// /proc/<pid>/stat: a PID is reused, a (PID, start time) pair is not.
	PidStart uint64 `json:"pidStart,omitempty"`
	// MonitorPid is the process that waits for the container and records
	// its exit: the skiff client in the foreground, or a monitor with -d.
	MonitorPid   int    `json:"monitorPid,omitempty"`
	MonitorStart uint64 `json:"monitorStart,omitempty"`

	ExitCode   int       `json:"exitCode"`
	OOMKilled  bool      `json:"oomKilled"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// StoppedByUser is set by stop/kill, so a restart policy (future) and
	// ps can tell a stop from a crash.
	StoppedByUser bool `json:"stoppedByUser,omitempty"`
}

// Options are what `skiff run` and `skiff create` take, resolved against
// the image config.
type Options struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`

	Tty       bool `json:"tty,omitempty"`
	OpenStdin bool `json:"openStdin,omitempty"`
	// AutoRemove removes the container when its process exits (--rm).
	AutoRemove bool `json:"autoRemove,omitempty"`
	Init       bool `json:"init,omitempty"`

	// Volumes are HOST:CONTAINER[:ro] bind mounts.
	Volumes  []string `json:"volumes,omitempty"`
	Tmpfs    []string `json:"tmpfs,omitempty"`
	ReadOnly bool     `json:"readOnly,omitempty"`

	// Memory is a limit in bytes; CPUs a fraction of cores; PidsLimit a
	// number of tasks. Zero means no limit.
	Memory    int64   `json:"memory,omitempty"`
	CPUs      float64 `json:"cpus,omitempty"`
	PidsLimit int64   `json:"pidsLimit,omitempty"`

	// Network is "bridge" (the default), a user-defined network, "none"
	// (only a loopback interface) or "host" (the host's network stack).
	Network string `json:"network,omitempty"`
	// Ports are the published ports (-p, -P); a HostPort of 0 is chosen
	// when the container starts.
	Ports []network.PortMapping `json:"ports,omitempty"`

	StopSignal  string `json:"stopSignal,omitempty"`
	StopTimeout int    `json:"stopTimeout,omitempty"`
}

// Command returns the command line the container runs: the entrypoint
// followed by the command, as Docker joins them.
func (o *Options) Command() []string {
	return append(append([]string{}, o.Entrypoint...), o.Cmd...)
}
