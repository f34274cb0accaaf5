package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/skiff-dev/skiff/tarball"
)

// tree is a directory that COPY and ADD read from: the build context, or
// the root file system of an image mounted read-only (COPY --from). A
// path in it is resolved as if the tree were "/": no symbolic link in it
// can lead outside.
type tree struct {
	// root is the tree's directory, with symbolic links resolved; "" for an
	// image that has no layers, in which nothing exists.
	root string
	// what names the tree in errors: "build context", "stage build".
	what string
	// ignore holds the .dockerignore rules of a build context.
	ignore *patternmatcher.PatternMatcher
}

// found is one path that a COPY source names.
type found struct {
	// rel is the path in the tree as named, slash-separated, without a
	// leading slash; "" is the root.
	rel string
	// host is where it is on the host, symbolic links followed inside the
	// tree, and info is what is there.
	host string
	info fs.FileInfo
}

// openContext opens a build context directory and reads its .dockerignore.
func openContext(dir string) (*tree, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open build context %q: %w", dir, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("open build context %q: not a directory", dir)
	}
	t := &tree{root: root, what: "build context"}

	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", f.Name(), err)
	}
	if t.ignore, err = patternmatcher.New(patterns); err != nil {
		return nil, fmt.Errorf("read %q: %w", f.Name(), err)
	}
	return t, nil
}

// excluded reports whether .dockerignore leaves rel out of the context.
func (t *tree) excluded(rel string) (bool, error) {
	if t.ignore == nil || rel == "" {
		return false, nil
	}
	return t.ignore.MatchesOrParentMatches(filepath.FromSlash(rel))
}

// skipDir says whether a walk can skip an excluded directory as a whole:
// not when a "!" rule may bring back something inside it.
func (t *tree) skipDir() bool { return t.ignore == nil || !t.ignore.Exclusions() }

// notFound is the error for a source that is not there.
func (t *tree) notFound(src string) error {
	if t.ignore != nil {
		return fmt.Errorf("file not found in %s or excluded by .dockerignore: %s", t.what, src)
	}
	return fmt.Errorf("file not found in %s: %s", t.what, src)
}

// treePath turns a COPY source into a path in the tree, refusing one that
// climbs out of it ("../secret").
func treePath(src string) (string, error) {
	if c := path.Clean(src); c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("forbidden path outside the build context: %s", src)
	}
	return strings.TrimPrefix(path.Clean("/"+src), "/"), nil
}

// hasMeta reports whether a path holds wildcard characters.
func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// match finds what a COPY source names: one path, or every path that a
// wildcard pattern matches with [path.Match] rules ('*' does not cross
// '/'), in lexical order. A pattern that matches nothing is an error, as
// is a path that is not there.
func (t *tree) match(src string) ([]found, error) {
	rel, err := treePath(src)
	if err != nil {
		return nil, err
	}
	if !hasMeta(rel) {
		f, err := t.lookup(rel, src)
		if err != nil {
			return nil, err
		}
		return []found{f}, nil
	}
	if _, err := path.Match(rel, ""); err != nil {
		return nil, fmt.Errorf("match pattern %q: %w", src, err)
	}

	matches, err := t.glob(rel)
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("no source files were specified: nothing in the %s matches %s",
			t.what, src)
	}
	return matches, nil
}

// lookup finds one path; src is how the Dockerfile named it.
func (t *tree) lookup(rel, src string) (found, error) {
	if out, err := t.excluded(rel); err != nil || out {
		return found{}, errors.Join(err, t.notFound(src))
	}
	host, err := tarball.ResolveInRoot(t.root, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return found{}, t.notFound(src)
	}
	if err != nil {
		return found{}, err
	}
	fi, err := os.Lstat(host)
	if err != nil {
		return found{}, err
	}
	return found{rel: rel, host: host, info: fi}, nil
}

// glob walks the tree below the pattern's fixed leading directories, as
// deep as the pattern goes, and returns what it matches.
func (t *tree) glob(pattern string) ([]found, error) {
	depth := strings.Count(pattern, "/") + 1
	var matches []found
	start := t.root
	if t.root == "" {
		return nil, nil
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(p, t.root), "/"))
		if rel == "" {
			return nil
		}
		if out, err := t.excluded(rel); err != nil || out {
			if err == nil && d.IsDir() && t.skipDir() {
				err = filepath.SkipDir
			}
			return err
		}
		if ok, _ := path.Match(pattern, rel); ok {
			f, err := t.lookup(rel, rel)
			if err != nil {
				return err
			}
			matches = append(matches, f)
		}
		if d.IsDir() && strings.Count(rel, "/")+1 >= depth {
			return filepath.SkipDir
		}
		return nil
	})
	return matches, err
}

// walk calls fn for everything inside the directory f, parents before
// their contents, in lexical order; rel is the path below f. Symbolic
// links are reported, never followed. What .dockerignore excludes is left
// out.
func (t *tree) walk(f found, fn func(rel, host string, fi fs.FileInfo) error) error {
	return filepath.WalkDir(f.host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(p, f.host), "/"))
		if rel == "" {
			return nil
		}
		if out, err := t.excluded(path.Join(f.rel, rel)); err != nil || out {
			if err == nil && d.IsDir() && t.skipDir() {
				err = filepath.SkipDir
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(rel, p, fi)
	})
}

// tarSize returns about how large the context would be as a tar stream,
// .dockerignore applied: the number the classic builder prints.
func (t *tree) tarSize() (int64, error) {
	size := int64(1024)
	root := found{host: t.root}
	err := t.walk(root, func(rel, host string, fi fs.FileInfo) error {
		size += 512
		if fi.Mode().IsRegular() {
			size += (fi.Size() + 511) / 512 * 512
		}
		return nil
	})
	return size, err
}
