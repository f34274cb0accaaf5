package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/skiff-dev/skiff/image"
)

// This file holds the commands that look inside one image: inspect prints
// its config and names as JSON, history lists the steps that made it.

// inspectImage is one element of the JSON array printed by skiff image
// inspect, in the shape and field names of docker image inspect.
type inspectImage struct {
	ID           string        `json:"Id"`
	RepoTags     []string      `json:"RepoTags"`
	RepoDigests  []string      `json:"RepoDigests"`
	Parent       string        `json:"Parent"`
	Comment      string        `json:"Comment"`
	Created      string        `json:"Created"`
	Author       string        `json:"Author"`
	Config       inspectConfig `json:"Config"`
	Architecture string        `json:"Architecture"`
	Variant      string        `json:"Variant,omitempty"`
	Os           string        `json:"Os"`
	Size         int64         `json:"Size"`
	RootFS       inspectRootFS `json:"RootFS"`
}

// inspectConfig is the part of the image config that a container starts
// from; the OCI config calls the same fields by the same names.
type inspectConfig struct {
	User         string              `json:"User"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Entrypoint   []string            `json:"Entrypoint"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
}

// inspectRootFS lists the layers by diffID, lowest first.
type inspectRootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

// newInspect converts a store image to Docker's inspect shape.
func newInspect(img *image.Image) inspectImage {
	cfg := img.Config
	out := inspectImage{
		ID:           img.ID.String(),
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Parent:       img.Parent.String(),
		Author:       cfg.Author,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		Size:         img.Size,
		RootFS:       inspectRootFS{Type: "layers", Layers: []string{}},
	}
	if cfg.Created != nil {
		out.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	// Docker keeps the commit or import message as the image's comment;
	// the OCI config keeps it only in the newest history entry.
	if n := len(cfg.History); n > 0 {
		out.Comment = cfg.History[n-1].Comment
	}

	// The store keeps images under their manifest digest, which is the
	// digest a registry knows the image by: Docker's RepoDigests.
	seenRepo := make(map[string]bool)
	for _, ref := range img.Tags {
		if ref.Tag != "" {
			out.RepoTags = append(out.RepoTags, ref.FamiliarString())
		}
		if name := ref.FamiliarName(); img.Digest != "" && !seenRepo[name] {
			seenRepo[name] = true
			out.RepoDigests = append(out.RepoDigests, name+"@"+img.Digest.String())
		}
	}
	for _, diffID := range cfg.RootFS.DiffIDs {
		out.RootFS.Layers = append(out.RootFS.Layers, diffID.String())
	}

	c := cfg.Config
	out.Config = inspectConfig{
		User:         c.User,
		ExposedPorts: c.ExposedPorts,
		Env:          c.Env,
		Cmd:          c.Cmd,
		Entrypoint:   c.Entrypoint,
		Volumes:      c.Volumes,
		WorkingDir:   c.WorkingDir,
		Labels:       c.Labels,
		StopSignal:   c.StopSignal,
	}
	return out
}

// newInspectCommand builds "skiff image inspect" and "skiff inspect".
func newInspectCommand(name string, also ...string) *command {
	var format string
	c := &command{
		name:    name,
		also:    also,
		summary: "Display detailed information on one or more images",
		usage:   "[OPTIONS] IMAGE [IMAGE...]",
		example: "skiff image inspect busybox\n" +
			"skiff image inspect --format '{{json .Config.Cmd}}' busybox",
		args:  argRule{min: 1, max: -1},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&format, "format", "f", "",
		"Format output using a Go template (fields as in the JSON output)")
	c.run = func(a *app, args []string) error { return runInspect(a, c.path, format, args) }
	return c
}

// runInspect prints every image it finds, then one error line for each it
// does not, and fails if any was missing, as docker image inspect does.
func runInspect(a *app, path, format string, rawRefs []string) error {
	var tmpl *template.Template
	if format != "" {
		var err error
		tmpl, err = parseFormat(format)
		if err != nil {
			return &usageError{path: path, err: err}
		}
	}

	s, err := a.openStore()
	if err != nil {
		return err
	}
	found := []any{}
	var failed []error
	for _, rawRef := range rawRefs {
		img, err := s.Lookup(rawRef)
		if err != nil {
			failed = append(failed, imageError(rawRef, err))
			continue
		}
		found = append(found, newInspect(img))
	}

	return a.printInspected(tmpl, found, failed)
}

// printInspected prints what an inspect command found, as one JSON array
// or one --format line per object, then one error line per object it could
// not find; it fails if any was missing, as docker inspect does.
func (a *app) printInspected(tmpl *template.Template, found []any, failed []error) error {
	var err error
	if tmpl != nil {
		err = printEachTemplate(a.stdout, tmpl, found)
	} else {
		err = printJSON(a.stdout, found)
	}
	if err != nil {
		return err
	}
	for _, err := range failed {
		fmt.Fprintln(a.stderr, errorLine(err))
	}
	if len(failed) > 0 {
		return errReported
	}
	return nil
}

// parseFormat compiles a --format template with the helpers Docker's
// templates offer most often.
func parseFormat(format string) (*template.Template, error) {
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
	}
	tmpl, err := template.New("format").Funcs(funcs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("parse --format template: %w", err)
	}
	return tmpl, nil
}

// printJSON prints v indented with four spaces, as docker inspect does.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// historyOptions are the flags of skiff history.
type historyOptions struct {
	human   bool
	noTrunc bool
	quiet   bool
}

// newHistoryCommand builds "skiff history".
func newHistoryCommand(name string, also ...string) *command {
	var opts historyOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Show the history of an image",
		usage:   "[OPTIONS] IMAGE",
		example: "skiff history busybox\nskiff history --no-trunc -H=false busybox",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.BoolVarP(&opts.human, "human", "H", true,
		"Print sizes and dates in human readable format")
	c.flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	c.run = func(a *app, args []string) error { return runHistory(a, opts, args[0]) }
	return c
}

func runHistory(a *app, opts historyOptions, rawRef string) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	entries, err := s.History(rawRef)
	if err != nil {
		return imageError(rawRef, err)
	}

	rows := historyTable(entries, opts, time.Now())
	if opts.quiet {
		for _, row := range rows {
			fmt.Fprintln(a.stdout, row[0])
		}
		return nil
	}
	header := []string{"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}
	return writeTable(a.stdout, header, rows)
}

// historyCreatedByWidth is how much of a step's command docker history
// shows before it cuts the rest off with "…".
const historyCreatedByWidth = 45

// historyTable renders history entries as table cells. Only the newest
// entry is an image of its own; the steps below it show "<missing>", as
// Docker shows them for images that were pulled or loaded.
func historyTable(entries []image.HistoryEntry, opts historyOptions, now time.Time) [][]string {
	var rows [][]string
	for _, e := range entries {
		id := "<missing>"
		if e.ID != "" {
			id = displayID(e.ID, opts.noTrunc)
		}

		created := e.Created.UTC().Format(time.RFC3339)
		size := strconv.FormatInt(e.Size, 10)
		if opts.human {
			created = createdAgo(&e.Created, now)
			size = humanSize(e.Size, 3)
		}

		// A step may span lines (a RUN with continuations): keep one row.
		createdBy := strings.NewReplacer("\t", " ", "\n", " ").Replace(e.CreatedBy)
		if !opts.noTrunc {
			createdBy = ellipsis(createdBy, historyCreatedByWidth)
		}
		rows = append(rows, []string{id, created, createdBy, size, e.Comment})
	}
	return rows
}
