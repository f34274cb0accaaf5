package main

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/image"
)

// imagesOptions are the flags of skiff images.
type imagesOptions struct {
	all     bool
	quiet   bool
	digests bool
	noTrunc bool
}

// newImagesCommand builds "skiff images" and its twin "skiff image ls".
func newImagesCommand(name string, also ...string) *command {
	var opts imagesOptions
	c := &command{
		name:    name,
		summary: "List images",
		usage:   "[OPTIONS] [REPOSITORY[:TAG]]",
		example: "skiff images\nskiff images --digests busybox",
		args:    argRule{min: 0, max: 1},
		flags:   newFlagSet(name),
	}
	if name == "ls" {
		c.aliases = []string{"list"}
	}
	c.also = also
	c.flags.BoolVarP(&opts.all, "all", "a", false,
		"Show all images (default hides intermediate images)")
	c.flags.BoolVar(&opts.digests, "digests", false, "Show digests")
	c.flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	c.run = func(a *app, args []string) error { return runImages(a, opts, args) }
	return c
}

func runImages(a *app, opts imagesOptions, args []string) error {
	var filter *repoFilter
	if len(args) == 1 {
		f, err := parseRepoFilter(args[0])
		if err != nil {
			return err
		}
		filter = &f
	}

	s, err := a.openStore()
	if err != nil {
		return err
	}
	imgs, err := s.Images()
	if err != nil {
		return err
	}

	rows := imageRows(visibleImages(imgs, opts.all), filter)
	if opts.quiet {
		return printIDs(a, rows, opts.noTrunc)
	}
	return writeTable(a.stdout, imagesHeader(opts), imagesTable(rows, opts, time.Now()))
}

// visibleImages drops the intermediate images of builds unless all is set:
// an untagged image that is the parent of another image. An untagged image
// that nothing builds on ("dangling") stays visible, as in Docker.
func visibleImages(imgs []*image.Image, all bool) []*image.Image {
	if all {
		return imgs
	}
	parents := make(map[digest.Digest]bool)
	for _, img := range imgs {
		if img.Parent != "" {
			parents[img.Parent] = true
		}
	}
	var visible []*image.Image
	for _, img := range imgs {
		if len(img.Tags) == 0 && parents[img.ID] {
			continue
		}
		visible = append(visible, img)
	}
	return visible
}

// repoFilter is the REPOSITORY[:TAG] argument of skiff images; both parts
// may be shell patterns as understood by [path.Match].
type repoFilter struct {
	repo string
	tag  string // "" matches every tag
}

// parseRepoFilter splits rawFilter into repository and tag. A colon before
// the last slash belongs to a registry port (localhost:5000/app).
func parseRepoFilter(rawFilter string) (repoFilter, error) {
	f := repoFilter{repo: rawFilter}
	if i := strings.LastIndex(rawFilter, ":"); i > strings.LastIndex(rawFilter, "/") {
		f.repo, f.tag = rawFilter[:i], rawFilter[i+1:]
	}

	// A plain name is normalized the way the store names images, so that
	// "busybox" and "docker.io/library/busybox" find the same rows.
	if !strings.ContainsAny(f.repo, "*?[\\") {
		ref, err := image.ParseReference(f.repo)
		if err != nil {
			return repoFilter{}, err
		}
		f.repo = ref.FamiliarName()
	}
	if _, err := path.Match(f.repo, ""); err != nil {
		return repoFilter{}, fmt.Errorf("parse repository pattern %q: %w", rawFilter, err)
	}
	return f, nil
}

// match reports whether ref is selected by the filter.
func (f *repoFilter) match(ref image.Reference) bool {
	if ok, _ := path.Match(f.repo, ref.FamiliarName()); !ok {
		return false
	}
	if f.tag == "" {
		return true
	}
	ok, _ := path.Match(f.tag, ref.Tag)
	return ok
}

// imageRow is one line of skiff images: an image under one of its names,
// or an untagged image (repo and tag empty).
type imageRow struct {
	img  *image.Image
	repo string
	tag  string
}

// imageRows gives one row per tag of each image, and one row for an image
// without tags unless a filter asks for a repository.
func imageRows(imgs []*image.Image, filter *repoFilter) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		if len(img.Tags) == 0 && filter == nil {
			rows = append(rows, imageRow{img: img})
		}
		for _, ref := range img.Tags {
			if filter != nil && !filter.match(ref) {
				continue
			}
			rows = append(rows, imageRow{img: img, repo: ref.FamiliarName(), tag: ref.Tag})
		}
	}
	return rows
}

func imagesHeader(opts imagesOptions) []string {
	if opts.digests {
		return []string{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"}
	}
	return []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}
}

// imagesTable renders rows as the cells of the table, with "<none>" where
// a name is missing, as Docker shows untagged images.
func imagesTable(rows []imageRow, opts imagesOptions, now time.Time) [][]string {
	orNone := func(s string) string {
		if s == "" {
			return "<none>"
		}
		return s
	}

	var table [][]string
	for _, r := range rows {
		cells := []string{orNone(r.repo), orNone(r.tag)}
		if opts.digests {
			cells = append(cells, orNone(r.img.Digest.String()))
		}
		cells = append(cells,
			displayID(r.img.ID, opts.noTrunc),
			createdAgo(r.img.Config.Created, now),
			humanSize(r.img.Size, 3),
		)
		table = append(table, cells)
	}
	return table
}

// printIDs prints each image's ID once, in table order (skiff images -q).
func printIDs(a *app, rows []imageRow, noTrunc bool) error {
	seen := make(map[digest.Digest]bool)
	for _, r := range rows {
		if seen[r.img.ID] {
			continue
		}
		seen[r.img.ID] = true
		if _, err := fmt.Fprintln(a.stdout, displayID(r.img.ID, noTrunc)); err != nil {
			return err
		}
	}
	return nil
}
