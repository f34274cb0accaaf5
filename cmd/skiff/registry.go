package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/skiff-dev/skiff/image/registry"
)

// This file holds what the registry commands (pull, push, search, login,
// logout) share: the client with its settings, and the progress display.

// defaultConfigFile is skiff's own settings file, in the format of Docker's
// daemon.json as far as it goes:
//
//	{"insecure-registries": ["myregistry:5000", "10.0.0.0/8"]}
//
// SKIFF_CONFIG names another file.
const defaultConfigFile = "/etc/skiff/config.json"

// settings are the fields of skiff's settings file.
type settings struct {
	InsecureRegistries []string `json:"insecure-registries"`
}

// readSettings reads skiff's settings file; a missing file is no settings.
func readSettings() (settings, error) {
	var s settings
	path := os.Getenv("SKIFF_CONFIG")
	if path == "" {
		path = defaultConfigFile
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("read settings %q: %w", path, err)
	}
	return s, nil
}

// registryClient returns a client for the registry commands: credentials
// from Docker's config file, insecure registries from --insecure-registry
// and skiff's settings file.
func (a *app) registryClient() (*registry.Client, *registry.ConfigFile, error) {
	config, err := registry.LoadConfig(registry.DefaultConfigPath())
	if err != nil {
		return nil, nil, err
	}
	s, err := readSettings()
	if err != nil {
		return nil, nil, err
	}
	client := registry.New(registry.Options{
		Logger:      a.log,
		Credentials: config.Credentials,
		Insecure:    append(s.InsecureRegistries, a.insecureRegistries...),
		UserAgent:   "skiff/" + skiffVersion(),
	})
	return client, config, nil
}

// progressDisplay shows per-layer progress as Docker does: on a terminal,
// one live bar per layer; otherwise one line each time a layer's status
// changes ("a3ed95caeb02: Pull complete").
type progressDisplay struct {
	w   io.Writer
	tty bool

	// On a terminal, made at the first event, after any line printed
	// before it:
	bars   *mpb.Progress
	layers map[string]*layerBar

	// Otherwise, the last status printed per layer.
	last map[string]string
}

// layerBar is one layer's bar and the status shown before it.
type layerBar struct {
	bar    *mpb.Bar
	mu     sync.Mutex
	status string
}

func (lb *layerBar) text() string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.status
}

func newProgressDisplay(w io.Writer) *progressDisplay {
	return &progressDisplay{w: w, tty: isTerminal(w), last: map[string]string{},
		layers: map[string]*layerBar{}}
}

// finished reports the statuses after which a layer does not change.
func finished(status string) bool {
	switch status {
	case "Pull complete", "Already exists", "Pushed", "Layer already exists":
		return true
	}
	return strings.HasPrefix(status, "Mounted from ")
}

// update shows one progress event; the registry client never calls it
// twice at once.
func (d *progressDisplay) update(p registry.Progress) {
	if !d.tty {
		if d.last[p.ID] != p.Status {
			d.last[p.ID] = p.Status
			fmt.Fprintf(d.w, "%s: %s\n", p.ID, p.Status)
		}
		return
	}

	if d.bars == nil {
		d.bars = mpb.New(mpb.WithOutput(d.w), mpb.WithWidth(50))
	}
	lb := d.layers[p.ID]
	if lb == nil {
		lb = &layerBar{}
		id := p.ID
		lb.bar = d.bars.AddBar(max(p.Total, 1),
			mpb.BarFillerClearOnComplete(),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				return id + ": " + lb.text()
			}, decor.WC{W: 34, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.OnComplete(
				decor.Counters(decor.SizeB1024(0), "% .1f / % .1f"), "")))
		d.layers[p.ID] = lb
	}
	lb.mu.Lock()
	lb.status = p.Status
	lb.mu.Unlock()
	switch {
	case finished(p.Status):
		lb.bar.SetTotal(-1, true)
	case p.Current > 0:
		lb.bar.SetCurrent(p.Current)
	}
}

// wait draws the bars one last time. Bars of a transfer that stopped half
// way are left as they are.
func (d *progressDisplay) wait() {
	if d.bars == nil {
		return
	}
	for _, lb := range d.layers {
		if !lb.bar.Completed() {
			lb.bar.Abort(false)
		}
	}
	d.bars.Wait()
}
