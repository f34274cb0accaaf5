package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// sizeUnits are the decimal units Docker prints sizes in: 1kB is 1000 bytes.
var sizeUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}

// humanSize formats n bytes as Docker does, in decimal units with at most
// precision significant digits: 0B, 512B, 1.24kB, 4.26MB. docker images and
// docker history use 3 digits, the "reclaimed space" line uses 4.
func humanSize(n int64, precision int) string {
	v := math.Max(float64(n), 0)
	unit := 0
	for v >= 1000 && unit < len(sizeUnits)-1 {
		v /= 1000
		unit++
	}

	// Rounding can carry into the next unit: 999,999 bytes to three digits
	// is 1000kB (Docker prints "1e+03kB"); say 1MB instead.
	s := strconv.FormatFloat(v, 'g', precision, 64)
	if r, _ := strconv.ParseFloat(s, 64); r >= 1000 && unit < len(sizeUnits)-1 {
		unit++
		s = strconv.FormatFloat(v/1000, 'g', precision, 64)
	}
	return s + sizeUnits[unit]
}

// humanDuration describes d in the coarse words Docker uses for CREATED
// columns ("About a minute", "2 hours", "3 weeks"); callers add " ago".
func humanDuration(d time.Duration) string {
	switch seconds := int(d.Seconds()); {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}

	switch minutes := int(d.Minutes()); {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}

	// From here on Docker rounds to the nearest hour.
	switch hours := int(math.Round(d.Hours())); {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// createdAgo is the CREATED column: "2 hours ago", or "N/A" when the image
// does not record when it was made.
func createdAgo(created *time.Time, now time.Time) string {
	if created == nil || created.IsZero() {
		return "N/A"
	}
	return humanDuration(now.Sub(*created)) + " ago"
}

// ellipsis shortens s to at most max characters, ending it with "…" when
// something was cut, as the CREATED BY column of docker history does.
func ellipsis(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 1 {
		return "…"
	}
	runes := []rune(s)
	return string(runes[:max-1]) + "…"
}

// shortID is an image ID as Docker shows it by default: the first 12 hex
// digits, without "sha256:".
func shortID(id digest.Digest) string {
	// Not id.Encoded(), which panics on a malformed digest.
	hex := string(id)
	if i := strings.IndexByte(hex, ':'); i >= 0 {
		hex = hex[i+1:]
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// displayID is shortID, or the whole digest with --no-trunc.
func displayID(id digest.Digest, noTrunc bool) string {
	if noTrunc {
		return id.String()
	}
	return shortID(id)
}

// writeTable prints a header and rows as columns separated by at least
// three spaces, the layout of Docker's tables.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
