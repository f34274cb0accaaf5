package explain

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// counter counts how often it is formatted.
type counter struct{ n *int }

func (c counter) String() string { *c.n++; return "formatted" }

func TestStepNarrates(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(NewHandler(&out, slog.NewTextHandler(&out, nil)))
	Step(log, Namespaces, "a new hostname", "sethostname(%q)", "box")

	want := "[explain] sethostname(\"box\")\n" +
		"          a new hostname (docs/01-namespaces.md)\n"
	if out.String() != want {
		t.Errorf("narration:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestOtherRecordsPassThrough(t *testing.T) {
	var out bytes.Buffer
	next := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})
	log := slog.New(NewHandler(&out, next)).With("container_id", "abc")
	log.Debug("a detail")
	log.Warn("a warning")
	Step(log, Cgroups, "why", "write(%q, %q)", "pids.max", "10")

	got := out.String()
	if strings.Contains(got, "a detail") {
		t.Errorf("a debug record got past a warn-level handler:\n%s", got)
	}
	if !strings.Contains(got, "level=WARN msg=\"a warning\" container_id=abc") {
		t.Errorf("the warning did not reach the next handler with its attrs:\n%s", got)
	}
	if !strings.Contains(got, "[explain] write(\"pids.max\", \"10\")\n") {
		t.Errorf("the step is missing:\n%s", got)
	}
	if strings.Contains(got, "[explain] write(\"pids.max\", \"10\") container_id") {
		t.Errorf("a step shows the logger's attrs:\n%s", got)
	}
}

// With narration off a step costs an Enabled call: its arguments are never
// formatted.
func TestStepOffFormatsNothing(t *testing.T) {
	n := 0
	for _, log := range []*slog.Logger{
		nil,
		slog.New(slog.DiscardHandler),
		slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	} {
		Step(log, Layers, "why", "%v", counter{&n})
		if On(log) {
			t.Errorf("On(%v) = true", log)
		}
	}
	if n != 0 {
		t.Errorf("arguments formatted %d times with narration off", n)
	}
}

// A debug log shows the steps too, among the details.
func TestDebugLogShowsSteps(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	Step(log, Overlayfs, "why", "mount(%q)", "overlay")
	if !strings.Contains(out.String(), `level=DEBUG+2 msg="mount(\"overlay\")" why=why`) {
		t.Errorf("debug log: %s", out.String())
	}
}

// Every chapter a step can name is a file of the course.
func TestChaptersExist(t *testing.T) {
	for _, ch := range []Chapter{Namespaces, RootFilesystems, Cgroups, Layers, Overlayfs,
		Registries, BuildCache, Lifecycle, Networking, Security} {
		if _, err := os.Stat(filepath.Join("..", ch.Path())); err != nil {
			t.Errorf("chapter %s: %v", ch, err)
		}
	}
}
