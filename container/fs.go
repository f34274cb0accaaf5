package container

import (
	"errors"
	"io"
	"strings"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/overlay"
	"github.com/skiff-dev/skiff/tarball"
)

// Diff lists what the container changed in its image's filesystem (docker
// diff): everything in its upper dir, compared with the layers below.
func (s *Store) Diff(c *Container) ([]overlay.Change, error) {
	layers, err := s.layerStack(c)
	if err != nil {
		return nil, err
	}
	return overlay.Changes(layers, s.bundle(c.ID, "upper"))
}

// Export writes the container's whole filesystem, as the container sees
// it, as one tar stream (docker export).
func (s *Store) Export(c *Container, w io.Writer) error {
	return s.withRootfs(c, func(rootfs string) error {
		_, err := tarball.WriteDir(w, rootfs, tarball.WriteOptions{Logger: s.log})
		return err
	})
}

// CommitOptions are docker commit's flags.
type CommitOptions struct {
	Ref     string
	Message string
	Author  string
	Changes []string
}

// Commit turns the container's upper dir into a new image on top of the
// container's image (docker commit): the upper dir is written as a layer
// tar, whiteouts turned back into .wh. entries, and the container's run
// options become the new image's config.
func (s *Store) Commit(c *Container, opts CommitOptions) (*image.Image, error) {
	parent, err := s.images.Lookup(c.Image.String())
	if err != nil {
		return nil, err
	}
	cfg := parent.Config.Config
	cfg.Env, cfg.Cmd, cfg.Entrypoint = c.Options.Env, c.Options.Cmd, c.Options.Entrypoint
	cfg.WorkingDir, cfg.User = c.Options.WorkingDir, c.Options.User

	// The layer is produced and consumed at once through a pipe: no
	// temporary tar file, however large the change.
	pr, pw := io.Pipe()
	go func() {
		_, err := tarball.WriteDir(pw, s.bundle(c.ID, "upper"), tarball.WriteOptions{Logger: s.log})
		pw.CloseWithError(err)
	}()
	img, err := s.images.Commit(parent, pr, image.CommitOptions{
		Ref: opts.Ref, Config: &cfg, Changes: opts.Changes,
		Comment: opts.Message, Author: opts.Author,
		CreatedBy: strings.Join(c.Options.Command(), " "),
	})
	// Unblock the writer if the commit stopped reading early.
	pr.CloseWithError(errors.New("commit ended"))
	return img, err
}

// withRootfs runs fn with the container's merged root filesystem mounted:
// it is already mounted while the container runs; otherwise it is mounted
// for the call and unmounted after.
func (s *Store) withRootfs(c *Container, fn func(rootfs string) error) error {
	unlock, err := s.lock(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.reloadState(c); err != nil {
		return err
	}
	rootfs := s.bundle(c.ID, "rootfs")
	if c.State.Status == Running {
		return fn(rootfs)
	}
	if err := s.mountRootfs(c); err != nil {
		return err
	}
	return errors.Join(fn(rootfs), s.unmountRootfs(c))
}
