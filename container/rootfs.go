package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/overlay"
)

// mountRootfs mounts the container's root filesystem: the image's layers,
// read-only, below the container's own upper dir. This is where "an image
// is the class, a container the object" becomes a mount: every container
// of an image shares the layer dirs and writes only to its upper dir.
func (s *Store) mountRootfs(c *Container) error {
	layers, err := s.layerStack(c)
	if err != nil {
		return err
	}
	rootfs := s.bundle(c.ID, "rootfs")
	if s.rootfsMounted(c) {
		return nil
	}
	for _, dir := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(s.bundle(c.ID, dir), 0o755); err != nil {
			return err
		}
	}
	return overlay.Mount(layers, s.bundle(c.ID, "upper"), s.bundle(c.ID, "work"), rootfs, s.log)
}

// layerStack returns the read-only layers under a container, lowest first
// (see [Store.LowerDirs]), making the init layer if it is not there yet.
func (s *Store) layerStack(c *Container) ([]string, error) {
	layers, err := s.LowerDirs(c)
	if err != nil {
		return nil, err
	}
	if err := s.makeInitLayer(); err != nil {
		return nil, err
	}
	return layers, nil
}

// LowerDirs returns the read-only layers under c's upper dir, lowest
// first: its image's layers, then the init layer.
func (s *Store) LowerDirs(c *Container) ([]string, error) {
	layers, err := s.images.LayerDirsOf(c.Image)
	if err != nil {
		return nil, fmt.Errorf("image of container %s: %w", c.ShortID(), err)
	}
	return append(layers, s.initLayer()), nil
}

// Bundle returns the directory that holds c's record, state, log, upper
// and work dirs and rootfs mount point.
func (s *Store) Bundle(c *Container) string { return s.bundle(c.ID) }

// initLayer is the directory of the init layer.
func (s *Store) initLayer() string { return filepath.Join(s.root, "init-layer") }

// initMountPoints are the files and directories skiff mounts over in every
// container.
var initMountPoints = []string{"dev/", "proc/", "sys/", "etc/", "etc/hostname", "etc/hosts",
	"etc/resolv.conf"}

// makeInitLayer makes the init layer, as Docker's "-init" layers: a
// read-only layer just below each container's own that holds empty mount
// points for what skiff mounts over. Without it, the init would create
// them in the container layer and `skiff diff` would report /etc/hosts as
// added in every container. Its content never varies, so one serves every
// container of the store, as an image layer serves every container of an
// image; Docker makes one per container. It is made once, in a temporary
// directory renamed into place, so a skiff starting a container at the
// same time never sees half of it.
func (s *Store) makeInitLayer() error {
	dir := s.initLayer()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(s.root, ".init-layer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone once renamed; what is left otherwise
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, name := range initMountPoints {
		p := filepath.Join(tmp, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another skiff renamed its own into place first: use that.
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}

// unmountRootfs undoes mountRootfs; it is a no-op when nothing is mounted.
func (s *Store) unmountRootfs(c *Container) error {
	rootfs := s.bundle(c.ID, "rootfs")
	if explain.On(s.log) {
		if mounted, _ := overlay.Mounted(rootfs); mounted {
			explain.Step(s.log, explain.Overlayfs,
				"the container is not running: its rootfs goes, its writable layer stays",
				"umount2(%q, 0)", rootfs)
		}
	}
	return overlay.Unmount(rootfs)
}

// writeEtcFiles writes the files that are bound over /etc/hostname,
// /etc/hosts and /etc/resolv.conf inside the container. They live in the
// bundle, not in the container layer, so `skiff diff` does not show them
// and the image's own copies stay untouched (as Docker does).
func (s *Store) writeEtcFiles(c *Container) error {
	hostname := c.Options.Hostname
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n"
	switch c.Options.Network {
	case "host":
		if data, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = string(data)
		}
	case "none":
		hosts += "127.0.1.1\t" + hostname + "\n"
	}
	// On a network, attaching adds the container's address and peers.
	// The host's resolver works as it is only in the host's network.
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	if c.Options.Network != "host" {
		resolv = network.ResolvConf(resolv)
	}
	files := map[string]string{
		"hostname":    hostname + "\n",
		"hosts":       hosts,
		"resolv.conf": string(resolv),
	}
	for name, content := range files {
		if err := os.WriteFile(s.bundle(c.ID, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// volumeMounts turns -v HOST:CONTAINER[:ro] into bind mounts, refusing a
// relative or missing host path as Docker does for bind mounts.
func volumeMount(spec string) (src, dst string, ro bool, err error) {
	parts := strings.Split(spec, ":")
	switch {
	case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
		ro = parts[2] == "ro"
	case len(parts) != 2:
		return "", "", false, fmt.Errorf("invalid volume specification: %q", spec)
	}
	src, dst = parts[0], parts[1]
	if !filepath.IsAbs(src) {
		return "", "", false, fmt.Errorf("invalid volume specification %q: "+
			"the host path must be absolute (named volumes are not supported)", spec)
	}
	if !filepath.IsAbs(dst) {
		return "", "", false, fmt.Errorf("invalid volume specification %q: "+
			"the container path must be absolute", spec)
	}
	if _, err := os.Stat(src); err != nil {
		return "", "", false, fmt.Errorf("invalid volume specification %q: %w", spec, err)
	}
	return src, filepath.Clean(dst), ro, nil
}
