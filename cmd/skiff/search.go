package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/image/registry"
)

// searchOptions are the flags of skiff search.
type searchOptions struct {
	limit   int
	filters []string
	noTrunc bool
}

// newSearchCommand builds "skiff search".
func newSearchCommand(name string) *command {
	var opts searchOptions
	c := &command{
		name:    name,
		summary: "Search Docker Hub, or a registry's catalog, for images",
		usage:   "[OPTIONS] TERM",
		example: "skiff search --filter is-official=true busybox\nskiff search 127.0.0.1:5000/bus",
		args:    argRule{min: 1, max: 1},
		flags:   newFlagSet(name),
	}
	c.flags.IntVar(&opts.limit, "limit", 25, "Max number of search results")
	c.flags.StringArrayVarP(&opts.filters, "filter", "f", nil,
		"Filter output based on conditions provided (is-official=true, stars=N)")
	c.flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	c.run = func(a *app, args []string) error { return runSearch(a, opts, args[0]) }
	return c
}

// searchFilter is what --filter asks for.
type searchFilter struct {
	minStars int
	official *bool
}

// parseSearchFilters reads --filter values as Docker does:
// is-official=true|false, stars=N (at least N stars).
func parseSearchFilters(rawFilters []string) (searchFilter, error) {
	var f searchFilter
	for _, raw := range rawFilters {
		key, value, _ := strings.Cut(raw, "=")
		switch key {
		case "stars":
			n, err := strconv.Atoi(value)
			if err != nil {
				return f, fmt.Errorf("invalid filter 'stars=%s'", value)
			}
			f.minStars = n
		case "is-official":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return f, fmt.Errorf("invalid filter 'is-official=%s'", value)
			}
			f.official = &b
		default:
			return f, fmt.Errorf("invalid filter '%s'", key)
		}
	}
	return f, nil
}

func (f searchFilter) keep(r registry.SearchResult) bool {
	return r.Stars >= f.minStars && (f.official == nil || r.Official == *f.official)
}

// splitSearchTerm splits "127.0.0.1:5000/bus" into registry and term; a
// term without a registry host searches Docker Hub.
func splitSearchTerm(rawTerm string) (domain, term string) {
	first, rest, ok := strings.Cut(rawTerm, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return image.DefaultDomain, rawTerm
}

func runSearch(a *app, opts searchOptions, rawTerm string) error {
	filter, err := parseSearchFilters(opts.filters)
	if err != nil {
		return &usageError{path: "skiff search", err: err}
	}
	if opts.limit < 1 || opts.limit > 100 {
		return &usageError{path: "skiff search",
			err: fmt.Errorf("limit %d is outside the range of [1, 100]", opts.limit)}
	}
	client, _, err := a.registryClient()
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()

	domain, term := splitSearchTerm(rawTerm)
	results, err := client.Search(ctx, domain, term, opts.limit)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(a.stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION\tSTARS\tOFFICIAL")
	for _, r := range results {
		if !filter.keep(r) {
			continue
		}
		description := strings.ReplaceAll(r.Description, "\n", " ")
		if !opts.noTrunc {
			description = truncate(description, 45)
		}
		official := ""
		if r.Official {
			official = "[OK]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Name, description, r.Stars, official)
	}
	return tw.Flush()
}

// truncate shortens s to n characters, the last one an ellipsis.
func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n-1]) + "…"
}
