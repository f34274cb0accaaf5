package container

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/tarball"
)

// CopyTo copies the host file or directory hostSrc into the container, as
// `docker cp SRC CONTAINER:DST` does: into ctrDst when it is an existing
// directory, else as ctrDst. It goes through a tar stream unpacked by
// [tarball.Extract], so a symlink planted in the container cannot send the
// copy out of the container's root filesystem.
func (s *Store) CopyTo(c *Container, hostSrc, ctrDst string) error {
	return s.withRootfs(c, func(rootfs string) error {
		dir, name, err := copyTarget(rootfs, ctrDst, filepath.Base(hostSrc))
		if err != nil {
			return err
		}
		return copyThroughTar(hostSrc, name, dir)
	})
}

// CopyFrom copies the file or directory ctrSrc out of the container to the
// host, as `docker cp CONTAINER:SRC DST` does. ctrSrc is resolved inside
// the container's root, where its symlinks point.
func (s *Store) CopyFrom(c *Container, ctrSrc, hostDst string) error {
	return s.withRootfs(c, func(rootfs string) error {
		src, err := tarball.ResolveInRoot(rootfs, ctrSrc)
		if err != nil {
			return err
		}
		dir, name := hostDst, path.Base(ctrSrc)
		if fi, err := os.Stat(hostDst); err != nil || !fi.IsDir() {
			dir, name = filepath.Dir(hostDst), filepath.Base(hostDst)
		}
		return copyThroughTar(src, name, dir)
	})
}

// copyTarget finds where a copy into the container lands: the host path of
// the directory to unpack into (resolved inside rootfs) and the name the
// copy gets there.
func copyTarget(rootfs, ctrDst, srcName string) (dir, name string, err error) {
	if real, err := tarball.ResolveInRoot(rootfs, ctrDst); err == nil {
		if fi, err := os.Stat(real); err == nil && fi.IsDir() {
			return real, srcName, nil
		}
	}
	parent, err := tarball.ResolveInRoot(rootfs, path.Dir(path.Clean("/"+ctrDst)))
	if err != nil {
		return "", "", fmt.Errorf("copy to %s: %w", ctrDst, err)
	}
	return parent, path.Base(ctrDst), nil
}

// copyThroughTar writes src as a tar stream whose top entry is called name
// and unpacks it into dir.
func copyThroughTar(src, name, dir string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, src, name)) }()
	_, err := tarball.Extract(pr, dir, tarball.ExtractOptions{})
	pr.CloseWithError(errors.New("copy ended"))
	return err
}

// writeTree writes the file or tree at src to w as a tar stream, entries
// renamed from src to name; symlinks are stored, not followed.
func writeTree(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		hdr.Name = filepath.ToSlash(filepath.Join(name, rel))
		if fi.IsDir() {
			hdr.Name = strings.TrimSuffix(hdr.Name, "/") + "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
