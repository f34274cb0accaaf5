package explain

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Level is the slog level of a narrated step: above Debug, below Info.
const Level = slog.LevelDebug + 2

// Attribute keys of a step's record, besides its message (what was done).
const (
	WhyKey     = "why"
	ChapterKey = "chapter"
)

// EnvVar is the environment variable that turns narration on, as
// --explain does; skiff passes it on to the processes it starts.
const EnvVar = "SKIFF_EXPLAIN"

// Chapter names a chapter of the course, a file docs/NAME.md.
type Chapter string

// The chapters of the course, in its order.
const (
	Namespaces      Chapter = "01-namespaces"
	RootFilesystems Chapter = "02-root-filesystems"
	Cgroups         Chapter = "03-cgroups"
	Layers          Chapter = "04-layers"
	Overlayfs       Chapter = "05-overlayfs"
	Registries      Chapter = "06-registries"
	BuildCache      Chapter = "07-build-cache"
	Lifecycle       Chapter = "08-lifecycle"
	Networking      Chapter = "09-networking"
	Security        Chapter = "10-security"
)

// Path returns the chapter's file in the repository.
func (c Chapter) Path() string { return "docs/" + string(c) + ".md" }

// Step narrates one step on log: what was done, written like a call with
// its real arguments (format and args, as for fmt.Sprintf), why it was
// done in one line, and the chapter that explains it. When log does not
// narrate, Step formats nothing.
func Step(log *slog.Logger, ch Chapter, why, format string, args ...any) {
	ctx := context.Background()
	if log == nil || !log.Enabled(ctx, Level) {
		return
	}
	log.LogAttrs(ctx, Level, fmt.Sprintf(format, args...),
		slog.String(WhyKey, why), slog.String(ChapterKey, string(ch)))
}

// On reports whether log narrates, for a caller that must gather the
// arguments of a step before it can call [Step].
func On(log *slog.Logger) bool {
	return log != nil && log.Enabled(context.Background(), Level)
}

// Handler prints narrated steps to w and passes every other record to the
// handler it wraps. It is safe for concurrent use: a pull narrates from
// several goroutines.
type Handler struct {
	w    io.Writer
	mu   *sync.Mutex
	next slog.Handler
}

// NewHandler returns a narrator on w in front of next.
func NewHandler(w io.Writer, next slog.Handler) *Handler {
	return &Handler{w: w, mu: new(sync.Mutex), next: next}
}

// Enabled reports true for Level and for what next enables.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l == Level || h.next.Enabled(ctx, l)
}

// Handle prints a step, or passes any other record on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != Level {
		if !h.next.Enabled(ctx, r.Level) {
			return nil
		}
		return h.next.Handle(ctx, r)
	}
	var why, chapter string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case WhyKey:
			why = a.Value.String()
		case ChapterKey:
			chapter = a.Value.String()
		}
		return true
	})
	var b strings.Builder
	b.WriteString("[explain] " + r.Message + "\n")
	if why != "" || chapter != "" {
		b.WriteString("          " + why)
		if chapter != "" {
			b.WriteString(" (" + Chapter(chapter).Path() + ")")
		}
		b.WriteString("\n")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs returns a narrator whose other records carry attrs. Steps do
// not show them: a step says all it means in its message.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{w: h.w, mu: h.mu, next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a narrator whose other records are grouped under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{w: h.w, mu: h.mu, next: h.next.WithGroup(name)}
}
