package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// store keeps networks on disk, one directory each:
//
//	<root>/networks/.lock                 taken to create or remove a network
//	<root>/networks/<name>/lock           taken to change the network's state
//	<root>/networks/<name>/network.json   the [Config]
//	<root>/networks/<name>/endpoints.json the endpoints: the IPAM's record
//
// Every skiff process opens the same files, so changes are serialized by
// flock(2) on the lock files, and written to a temporary file renamed over
// the old one: a reader sees the old or the new state, never half of one.
type store struct{ dir string }

func (s store) netDir(name string) string { return filepath.Join(s.dir, name) }

// lockAll takes the lock for creating and removing networks.
func (s store) lockAll() (unlock func(), err error) {
	// A dot: no network can be named so.
	return flock(filepath.Join(s.dir, ".lock"))
}

// lock takes a network's lock. It returns [ErrNotFound] when the network
// does not exist, also when it was removed while this process waited.
func (s store) lock(name string) (unlock func(), err error) {
	unlock, err = flock(filepath.Join(s.netDir(name), "lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lock network %q: %w", name, ErrNotFound)
	}
	return unlock, err
}

// flock opens (creating it if needed) and locks a lock file.
func flock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return lockOpen(f)
}

// lockOpen locks an open file, or directory, with flock(2); it closes f
// if that fails. A remover unlinks the file while holding the lock, so
// once locked the file must still be the one at its path: a waiter that
// got the lock on an unlinked file reports it gone.
func lockOpen(f *os.File) (unlock func(), err error) {
	path := f.Name()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}

	held, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	current, err := os.Stat(path)
	if err != nil || !os.SameFile(held, current) {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: fs.ErrNotExist}
	}
	return func() { f.Close() }, nil
}

// names returns the names of all networks, sorted.
func (s store) names() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (s store) readConfig(name string) (*Config, error) {
	var cfg Config
	err := readJSON(filepath.Join(s.netDir(name), "network.json"), &cfg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read network %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read network %q: %w", name, err)
	}
	return &cfg, nil
}

func (s store) writeConfig(cfg *Config) error {
	if err := os.MkdirAll(s.netDir(cfg.Name), 0o700); err != nil {
		return err
	}
	return writeJSON(filepath.Join(s.netDir(cfg.Name), "network.json"), cfg)
}

// readState reads a network's endpoints; a network without any has no
// file yet.
func (s store) readState(name string) (*state, error) {
	st := &state{}
	err := readJSON(filepath.Join(s.netDir(name), "endpoints.json"), st)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read endpoints of network %q: %w", name, err)
	}
	if st.Endpoints == nil {
		st.Endpoints = map[string]*Endpoint{}
	}
	return st, nil
}

func (s store) writeState(name string, st *state) error {
	return writeJSON(filepath.Join(s.netDir(name), "endpoints.json"), st)
}

// remove deletes a network's directory, its lock file included.
func (s store) remove(name string) error {
	return os.RemoveAll(s.netDir(name))
}

// view runs fn with a network's record and state under its lock. fn
// saves the state with writeState if it changes it.
func (s store) view(name string, fn func(*Config, *state) error) error {
	unlock, err := s.lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := s.readConfig(name)
	if err != nil {
		return err
	}
	st, err := s.readState(name)
	if err != nil {
		return err
	}
	return fn(cfg, st)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %q: %w", path, err)
	}
	return nil
}

// writeJSON replaces path with v through a temporary file and rename(2).
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
