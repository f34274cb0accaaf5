package image

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Store is the image store under one root directory. Its methods are safe to
// call from several processes at once: reference updates are serialized by a
// file lock, and content appears on disk only when it is complete.
type Store struct {
	root string
	log  *slog.Logger

	// InUse, when set, names the containers that use an image, so that
	// Remove refuses to delete it. The container package sets it.
	InUse func(imageID digest.Digest) []string
}

// The store's layout under its root (DESIGN §2).
const (
	blobsDir   = "blobs/sha256"
	layersDir  = "layers"
	tmpDir     = "tmp"
	indexFile  = "index.json"
	layoutFile = "oci-layout"
	// refLock serializes every read-modify-write of index.json.
	refLock = "lock"
	// gcLock is held shared by commands that add content and exclusively by
	// garbage collection, so that content not yet named in index.json is
	// never collected while it is being added.
	gcLock = "gc.lock"
)

// Open opens the store at root, creating its layout if needed, and removes
// what an interrupted command left behind.
func Open(root string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{root: root, log: log}

	for _, dir := range []string{blobsDir, layersDir, tmpDir} {
		if err := os.MkdirAll(s.path(dir), 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	if _, err := os.Stat(s.path(layoutFile)); errors.Is(err, os.ErrNotExist) {
		layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
		if err := writeFileAtomic(s.path(layoutFile), layout, s.path(tmpDir)); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}

	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return s, nil
}

// Root returns the directory the store lives in.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) blobPath(d digest.Digest) string {
	return s.path(blobsDir, d.Encoded())
}

// LayerDir returns where the layer with this diffID is unpacked: the
// directory that an overlay mount uses as a lowerdir.
func (s *Store) LayerDir(diffID digest.Digest) string {
	return s.path(layersDir, diffID.Encoded(), "diff")
}

// lockFile takes flock(2) on one of the store's lock files and returns the
// function that releases it.
func (s *Store) lockFile(name string, how int) (func(), error) {
	f, err := os.OpenFile(s.path(name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return func() { f.Close() }, nil
}

// workDir is a private scratch directory of one command under tmp/, named
// after the process so that a later command can tell when its owner died.
type workDir string

func (s *Store) newWorkDir() (workDir, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
	dir := s.path(tmpDir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	return workDir(dir), nil
}

func (w workDir) path(elem ...string) string {
	return filepath.Join(append([]string{string(w)}, elem...)...)
}

func (w workDir) remove() error { return os.RemoveAll(string(w)) }

// recover deletes the scratch directories of commands that died (a kill -9
// during import or load) and then collects whatever they had already moved
// into blobs/ or layers/ but never named in index.json.
func (s *Store) recover() error {
	entries, err := os.ReadDir(s.path(tmpDir))
	if err != nil {
		return err
	}
	var stale []string
	for _, e := range entries {
		pidText, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && (pid == os.Getpid() || processAlive(pid)) {
			continue
		}
		stale = append(stale, e.Name())
	}
	if len(stale) == 0 {
		return nil
	}

	// Collect only if nobody is adding content right now; otherwise a later
	// command will do it.
	unlock, err := s.lockFile(gcLock, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()

	for _, name := range stale {
		s.log.Info("removing what an interrupted command left", "path", name)
		if err := os.RemoveAll(s.path(tmpDir, name)); err != nil {
			return err
		}
	}
	_, _, err = s.collectGarbage()
	return err
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// writeFileAtomic writes data to a temporary file in tmp, fsyncs it and
// renames it over name, so that readers see the old or the new content and
// never a part of it. The temporary name starts with our PID, like a work
// directory, so that recover knows whose it is.
func writeFileAtomic(name string, data []byte, tmp string) (err error) {
	f, err := os.CreateTemp(tmp, fmt.Sprintf("%d-%s.*", os.Getpid(), filepath.Base(name)))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
