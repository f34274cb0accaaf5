//go:build !linux

package cgroups

import (
	"errors"
	"log/slog"
)

// errRequiresLinux is returned by everything that needs control groups,
// a Linux kernel feature.
var errRequiresLinux = errors.New("cgroups: control groups require Linux")

// Detect fails: there are no control groups off Linux.
func Detect() (Mode, error) { return 0, errRequiresLinux }

// Create fails: there are no control groups off Linux.
func Create(name string, r Resources, log *slog.Logger) (*Cgroup, error) {
	return nil, errRequiresLinux
}

// Open fails: there are no control groups off Linux.
func Open(name string, log *slog.Logger) (*Cgroup, error) { return nil, errRequiresLinux }

// Add fails: there are no control groups off Linux.
func (c *Cgroup) Add(pid int) error { return errRequiresLinux }

// Procs fails: there are no control groups off Linux.
func (c *Cgroup) Procs() ([]int, error) { return nil, errRequiresLinux }

// OOMKilled fails: there are no control groups off Linux.
func (c *Cgroup) OOMKilled() (bool, error) { return false, errRequiresLinux }

// Stats fails: there are no control groups off Linux.
func (c *Cgroup) Stats() (Stats, error) { return Stats{}, errRequiresLinux }

// Freeze fails: there are no control groups off Linux.
func (c *Cgroup) Freeze() error { return errRequiresLinux }

// Thaw fails: there are no control groups off Linux.
func (c *Cgroup) Thaw() error { return errRequiresLinux }

// Kill fails: there are no control groups off Linux.
func (c *Cgroup) Kill() error { return errRequiresLinux }

// Delete fails: there are no control groups off Linux.
func (c *Cgroup) Delete() error { return errRequiresLinux }

// V2Path is empty: there are no control groups off Linux.
func (c *Cgroup) V2Path() string { return "" }

// AddV1 fails: there are no control groups off Linux.
func (c *Cgroup) AddV1(pid int) error { return errRequiresLinux }
