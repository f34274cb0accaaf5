//go:build !linux

package network

import (
	"errors"
	"log/slog"
	"net/netip"
)

// errNotLinux is returned by everything here: network namespaces, veth
// pairs and bridges are Linux features.
var errNotLinux = errors.New("container networking needs Linux")

// Manager creates networks and attaches containers; on this system it
// cannot.
type Manager struct{}

// Open returns an error: container networking needs Linux.
func Open(root string, opts Options, log *slog.Logger) (*Manager, error) {
	return nil, errNotLinux
}

// Close does nothing.
func (m *Manager) Close() error { return nil }

// Create returns an error.
func (m *Manager) Create(name string, subnet netip.Prefix) (*Config, error) {
	return nil, errNotLinux
}

// List returns an error.
func (m *Manager) List() ([]Config, error) { return nil, errNotLinux }

// Inspect returns an error.
func (m *Manager) Inspect(name string) (*Network, error) { return nil, errNotLinux }

// Endpoints returns an error.
func (m *Manager) Endpoints(containerID string) ([]Endpoint, error) { return nil, errNotLinux }

// Remove returns an error.
func (m *Manager) Remove(name string) error { return errNotLinux }

// Attach returns an error.
func (m *Manager) Attach(req AttachRequest) (*Endpoint, error) { return nil, errNotLinux }

// Detach returns an error.
func (m *Manager) Detach(containerID string) error { return errNotLinux }

// Disconnect returns an error.
func (m *Manager) Disconnect(network, containerID string) error { return errNotLinux }

// Reconcile returns an error.
func (m *Manager) Reconcile(alive func(containerID string) bool) error { return errNotLinux }
