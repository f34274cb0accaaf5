package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/overlay"
	"github.com/skiff-dev/skiff/tarball"
)

// view is an image's root file system mounted read-only, for the build to
// look into: which directories a COPY writes into already exist, what
// /etc/passwd says for --chown, what files COPY --from takes. Views last
// for one step.
type view struct {
	img *image.Image
	// dir is the mount point; "" for an image without layers.
	dir string
}

// view mounts img read-only (once per step) and returns the view of it. An
// image without layers, or none (scratch), has an empty view.
func (r *buildRun) view(img *image.Image) (*view, error) {
	for _, v := range r.views {
		if v.img == img || (v.img != nil && img != nil && v.img.ID == img.ID) {
			return v, nil
		}
	}
	v := &view{img: img}
	if img == nil || len(img.Config.RootFS.DiffIDs) == 0 {
		r.views = append(r.views, v)
		return v, nil
	}

	layers, err := r.b.images.LayerDirs(img)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.cache.dir, "mnt", uniqueName())
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	if err := overlay.Mount(layers, "", "", dir, r.b.log); err != nil {
		return nil, errors.Join(err, os.Remove(dir))
	}
	// The mount point's own path, symbolic links resolved, is the prefix of
	// every path resolveIn returns.
	if v.dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, errors.Join(err, overlay.Unmount(dir), os.Remove(dir))
	}
	r.views = append(r.views, v)
	return v, nil
}

// releaseViews unmounts the step's views and removes their mount points
// (with rmdir(2): never anything through a mount).
func (r *buildRun) releaseViews() error {
	var errs []error
	for _, v := range r.views {
		if v.dir != "" {
			errs = append(errs, overlay.Unmount(v.dir), os.Remove(v.dir))
		}
	}
	r.views = nil
	return errors.Join(errs...)
}

// tree returns the view as a tree to copy from.
func (v *view) tree(what string) *tree { return &tree{root: v.dir, what: what} }

// placement is where a destination path lands in an image.
type placement struct {
	// real is the path without its leading slash, symbolic links in the
	// image followed: the name the layer must use.
	real string
	// exists says the destination is there; isDir that it is a directory.
	exists, isDir bool
	// dirs are the directories on the way that exist (the destination
	// too, if it is one), by real path: the layer repeats them as they are,
	// so that unpacking it changes nothing about them.
	dirs map[string]*tar.Header
}

// place finds where dest (absolute) lands in the image, one component at
// a time: existing components are followed as the kernel follows them,
// missing ones will be created. A component on the way that is not a
// directory is an error.
func (v *view) place(dest string) (placement, error) {
	pl := placement{dirs: map[string]*tar.Header{}}
	parts := strings.Split(strings.Trim(path.Clean(dest), "/"), "/")
	cur := ""
	for i, part := range parts {
		if part == "" {
			continue
		}
		host, err := tarball.ResolveInRoot(v.dir, path.Join(cur, part))
		if errors.Is(err, fs.ErrNotExist) {
			pl.real = path.Join(append([]string{cur}, parts[i:]...)...)
			return pl, nil
		}
		if err != nil {
			return pl, err
		}
		fi, err := os.Lstat(host)
		if err != nil {
			return pl, err
		}
		cur = strings.TrimPrefix(strings.TrimPrefix(host, v.dir), "/")
		if !fi.IsDir() {
			if i < len(parts)-1 {
				return pl, fmt.Errorf("cannot copy to %s: /%s is not a directory", dest, cur)
			}
			pl.real, pl.exists = cur, true
			return pl, nil
		}
		hdr, err := fileHeader(fi, host)
		if err != nil {
			return pl, err
		}
		pl.dirs[cur] = hdr
	}
	pl.real, pl.exists, pl.isDir = cur, true, true
	return pl, nil
}
