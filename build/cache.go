package build

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/overlay"
)

// cacheDir is the build cache's directory under the store's root. It holds
// one small file per cache key, named by the key, whose content is the ID
// of the image the step made; and two directories of running builds:
// mnt/ (read-only mounts of images) and tmp/ (downloads).
const cacheDir = "buildcache"

// cache maps step keys to the images the steps made.
type cache struct{ dir string }

// init creates the cache's directories and removes what builds that died
// left behind: their mounts are unmounted first, and mount points are
// removed with rmdir(2) only, so that nothing is ever deleted through a
// mount.
func (c *cache) init(log *slog.Logger) error {
	for _, dir := range []string{"mnt", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c.dir, dir), 0o700); err != nil {
			return fmt.Errorf("create build cache %q: %w", c.dir, err)
		}
	}
	for _, dir := range []string{"mnt", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(c.dir, dir))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if ownerAlive(e.Name()) {
				continue
			}
			p := filepath.Join(c.dir, dir, e.Name())
			log.Info("removing what an interrupted build left", "path", p)
			if dir == "mnt" {
				err = errors.Join(overlay.Unmount(p), os.Remove(p))
			} else {
				err = os.RemoveAll(p)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ownerAlive reports whether the process whose PID starts name still runs.
func ownerAlive(name string) bool {
	pidText, _, _ := strings.Cut(name, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	err = unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// uniqueName returns "<pid>-<random hex>": a name that init can tell the
// owner of.
func uniqueName() string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
}

// newWorkDir makes a scratch directory for one build.
func (c *cache) newWorkDir() (string, error) {
	dir := filepath.Join(c.dir, "tmp", uniqueName())
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	return dir, nil
}

// get returns the image ID recorded for key, if any.
func (c *cache) get(key string) (digest.Digest, bool) {
	data, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		return "", false
	}
	id := digest.Digest(strings.TrimSpace(string(data)))
	return id, id.Validate() == nil
}

// put records that the step with this key made the image id. The file is
// written under a temporary name and renamed, so a reader sees a whole ID
// or none.
func (c *cache) put(key string, id digest.Digest) error {
	tmp := filepath.Join(c.dir, "tmp", uniqueName()+"-"+key)
	if err := os.WriteFile(tmp, []byte(id.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("record build cache key: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, key)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record build cache key: %w", err)
	}
	return nil
}

// cacheKey is what makes two steps the same step: the image it starts from,
// the instruction after substitution (its history line), the build
// arguments in effect, the digest of what COPY and ADD read, and the
// SOURCE_DATE_EPOCH, which changes every timestamp the step writes.
type cacheKey struct {
	parent  digest.Digest
	step    string
	args    []string
	sources digest.Digest
	epoch   int64
}

// String returns the key's name in the cache: the hex SHA-256 of its
// fields, each on a line of its own.
func (k cacheKey) String() string {
	h := sha256.New()
	parent := k.parent.String()
	if parent == "" {
		parent = "scratch"
	}
	fmt.Fprintf(h, "skiff build cache 1\nparent %s\nstep %q\nsources %s\nepoch %d\n",
		parent, k.step, k.sources, k.epoch)
	args := slices.Clone(k.args)
	slices.Sort(args)
	for _, a := range args {
		fmt.Fprintf(h, "arg %q\n", a)
	}
	return hex.EncodeToString(h.Sum(nil))
}
