package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// logFile holds a detached container's output in Docker's json-file
// format: one JSON object per line of output.
const logFile = "log.json"

type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logWriter turns the container's two output streams into log entries.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func openLog(name string) (*logWriter, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f}, nil
}

func (l *logWriter) Close() error { return l.f.Close() }

// stream returns a writer for one stream; it writes one entry per line,
// holding back a partial line until its end arrives.
func (l *logWriter) stream(name string) io.Writer {
	return &streamWriter{l: l, name: name}
}

type streamWriter struct {
	l       *logWriter
	name    string
	partial []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := w.l.write(w.name, w.partial[:i+1]); err != nil {
			return 0, err
		}
		w.partial = w.partial[i+1:]
	}
}

func (l *logWriter) write(stream string, line []byte) error {
	data, err := json.Marshal(logEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.f.Write(append(data, '\n'))
	return err
}

// teeLog sends a stream to the log and, when w is not nil, also to w.
func teeLog(w, log io.Writer) io.Writer {
	if w == nil {
		return log
	}
	return io.MultiWriter(w, log)
}

// LogOptions are docker logs' flags.
type LogOptions struct {
	Follow     bool
	Timestamps bool
	// Tail is the number of lines from the end to show; negative means all.
	Tail int
}

// Logs copies a container's logged output to stdout and stderr. With
// Follow it keeps copying new lines until the container stops.
func (s *Store) Logs(c *Container, opts LogOptions, stdout, stderr io.Writer) error {
	f, err := os.Open(s.bundle(c.ID, logFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil // never started: no output yet
	}
	if err != nil {
		return err
	}
	defer f.Close()

	r := bufio.NewReader(f)
	var backlog []logEntry
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var e logEntry
			if json.Unmarshal(line, &e) == nil {
				backlog = append(backlog, e)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		break
	}
	if opts.Tail >= 0 && opts.Tail < len(backlog) {
		backlog = backlog[len(backlog)-opts.Tail:]
	}
	for _, e := range backlog {
		writeEntry(e, opts, stdout, stderr)
	}
	if !opts.Follow {
		return nil
	}
	return s.follow(c, r, opts, stdout, stderr)
}

// follow reads entries as the watcher appends them, until the container
// is no longer running and the file has no more.
func (s *Store) follow(c *Container, r *bufio.Reader, opts LogOptions,
	stdout, stderr io.Writer) error {

	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		if len(partial) > 0 && partial[len(partial)-1] == '\n' {
			var e logEntry
			if json.Unmarshal(partial, &e) == nil {
				writeEntry(e, opts, stdout, stderr)
			}
			partial = partial[:0]
			continue
		}
		if err != io.EOF {
			return err
		}

		// At the end of the file: stop once the container has stopped,
		// after one more pass for lines written just before it did.
		wasRunning := c.State.Status == Running
		if err := s.reconcile(c); err != nil {
			return err
		}
		if !wasRunning {
			return nil
		}
		if c.State.Status == Running {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func writeEntry(e logEntry, opts LogOptions, stdout, stderr io.Writer) {
	w := stdout
	if e.Stream == "stderr" {
		w = stderr
	}
	if opts.Timestamps {
		io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" ")
	}
	io.WriteString(w, e.Log)
}
