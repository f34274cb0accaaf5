package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/network"
)

// Errors callers branch on with [errors.Is].
var (
	// ErrNotFound means no container has that ID, ID prefix or name.
	ErrNotFound = errors.New("no such container")
	// ErrNameInUse means another container already has the name.
	ErrNameInUse = errors.New("conflict")
	// ErrRunning means the operation needs a stopped container.
	ErrRunning = errors.New("container is running")
	// ErrNotRunning means the operation needs a running container.
	ErrNotRunning = errors.New("container is not running")
)

// Store keeps the containers under <root>/containers, one bundle directory
// each:
//
//	containers/<id>/config.json  the Container record (written once)
//	containers/<id>/state.json   its State (rewritten atomically)
//	containers/<id>/upper, work  the overlay's upperdir and workdir
//	containers/<id>/rootfs       the merged mount point
//	containers/<id>/hosts, hostname, resolv.conf   bound into the container
//	containers/<id>/log.json     output of a detached container
//	containers/<id>/lock         flock(2) held while the state changes
type Store struct {
	root     string
	images   *image.Store
	networks *network.Manager
	log      *slog.Logger
}

// Open opens the containers of the store at root. It also tells images
// which images containers use, so that rmi refuses to remove them.
func Open(root string, images *image.Store, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{root: root, images: images, log: log}
	if err := os.MkdirAll(s.path(), 0o700); err != nil {
		return nil, fmt.Errorf("open container store: %w", err)
	}
	networks, err := network.Open(root, network.Options{}, log)
	if err != nil {
		return nil, fmt.Errorf("open container store: %w", err)
	}
	s.networks = networks
	images.InUse = s.usersOf
	return s, nil
}

// Images returns the image store the containers are made from.
func (s *Store) Images() *image.Store { return s.images }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root, "containers"}, elem...)...)
}

// bundle returns a path inside a container's bundle directory.
func (s *Store) bundle(id string, elem ...string) string {
	return s.path(append([]string{id}, elem...)...)
}

// lock takes the store-wide lock (name checks) or, with an ID, the lock of
// one container; the returned function releases it.
func (s *Store) lock(id string) (func(), error) {
	name := s.path("lock")
	if id != "" {
		name = s.bundle(id, "lock")
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return func() { f.Close() }, nil
}

// validName reports whether name may name a container: a letter or digit,
// then letters, digits, "_", "." and "-", after an optional "/" (Docker
// shows names with one).
func validName(name string) bool {
	name = strings.TrimPrefix(name, "/")
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return name != ""
}

// newContainer writes the record of a new container under a fresh ID,
// with a unique name (generated when name is "") and, unless one was
// given, the short ID as its hostname.
func (s *Store) newContainer(c *Container, name string) error {
	unlock, err := s.lock("")
	if err != nil {
		return err
	}
	defer unlock()

	existing, err := s.list()
	if err != nil {
		return err
	}
	owner := func(n string) *Container {
		i := slices.IndexFunc(existing, func(o *Container) bool { return o.Name == n })
		if i < 0 {
			return nil
		}
		return existing[i]
	}
	switch {
	case name == "":
		name = generateName(func(n string) bool { return owner(n) != nil })
	case !validName(name):
		return fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	case owner(strings.TrimPrefix(name, "/")) != nil:
		return fmt.Errorf("%w: the container name %q is already in use by container %q; "+
			"remove (or rename) that container to reuse the name", ErrNameInUse,
			"/"+strings.TrimPrefix(name, "/"), owner(strings.TrimPrefix(name, "/")).ID)
	}
	c.Name = strings.TrimPrefix(name, "/")

	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	c.ID = hex.EncodeToString(b[:])
	if c.Options.Hostname == "" {
		// Docker's default hostname is the short ID, known only now.
		c.Options.Hostname = c.ShortID()
	}
	c.Created = time.Now().UTC()
	c.State = State{Status: Created}

	if err := os.Mkdir(s.bundle(c.ID), 0o700); err != nil {
		return err
	}
	if err := s.rewriteRecord(c); err != nil {
		return err
	}
	return s.saveState(c)
}

// rewriteRecord writes config.json, the container's fixed record.
func (s *Store) rewriteRecord(c *Container) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.bundle(c.ID, "config.json"), append(data, '\n'))
}

// saveState writes state.json by rename, so readers never see half of it.
func (s *Store) saveState(c *Container) error {
	data, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.bundle(c.ID, "state.json"), append(data, '\n'))
}

func writeAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// load reads one container's record and state as they are on disk.
func (s *Store) load(id string) (*Container, error) {
	c := &Container{}
	data, err := os.ReadFile(s.bundle(id, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	data, err = os.ReadFile(s.bundle(id, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &c.State); err != nil {
		return nil, fmt.Errorf("read container %s state: %w", id, err)
	}
	return c, nil
}

// list reads every container, skipping bundles being created or removed.
func (s *Store) list() ([]*Container, error) {
	entries, err := os.ReadDir(s.path())
	if err != nil {
		return nil, err
	}
	var all []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := s.load(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // being created or removed right now
		}
		if err != nil {
			return nil, err
		}
		all = append(all, c)
	}
	return all, nil
}

// List returns the containers, newest first; running ones only unless all.
// A container whose process died without anyone recording it (a killed
// monitor) is found out and cleaned up here.
func (s *Store) List(all bool) ([]*Container, error) {
	cs, err := s.list()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range cs {
		if err := s.reconcile(c); err != nil {
			return nil, err
		}
		if c.Options.AutoRemove && c.State.Status == Exited && !s.exists(c) {
			continue // reconcile found it dead and removed it (--rm)
		}
		if all || c.State.Status == Running {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Container) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// exists reports whether c's bundle is still on disk.
func (s *Store) exists(c *Container) bool {
	_, err := os.Stat(s.bundle(c.ID))
	return err == nil
}

// Get finds a container by name, full ID or unique ID prefix.
func (s *Store) Get(ref string) (*Container, error) {
	cs, err := s.list()
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(ref, "/")
	var found []*Container
	for _, c := range cs {
		if c.Name == name || c.ID == ref {
			found = []*Container{c}
			break
		}
		if strings.HasPrefix(c.ID, ref) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0 || ref == "":
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case len(found) > 1:
		return nil, fmt.Errorf("multiple containers found with provided prefix: %s", ref)
	}
	c := found[0]
	return c, s.reconcile(c)
}

// usersOf names the containers made from an image, for image.Store.InUse.
func (s *Store) usersOf(imageID digest.Digest) []string {
	cs, err := s.list()
	if err != nil {
		return nil
	}
	var users []string
	for _, c := range cs {
		if c.Image == imageID {
			users = append(users, c.ShortID())
		}
	}
	return users
}
