package main

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/skiff-dev/skiff/container"
)

// This file connects a container in the foreground to skiff's own
// terminal or streams: skiff run without -d, skiff start -a, skiff exec.
//
// Two cases. With -t the container has a pseudo-terminal of its own, which
// the container package relays to ours; our terminal goes into raw mode so
// that every key, Ctrl-C included, reaches the container's terminal, whose
// line discipline turns it into SIGINT for the container. Without -t the
// container's stdio are plain pipes or files, and a Ctrl-C on our terminal
// is a signal to skiff, which passes it on (Docker's sig-proxy).

// attachOptions say how a foreground container is connected.
type attachOptions struct {
	// stdin gives the container skiff's stdin (-i); otherwise /dev/null.
	stdin bool
	// sigProxy passes the signals skiff receives on to the container.
	sigProxy bool
}

// proxiedSignals are the signals skiff passes on to a foreground
// container: those a user or a service manager sends to end or poke a
// program. SIGKILL and SIGSTOP cannot be caught, so they stay with skiff.
var proxiedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2,
}

// runForeground starts c with skiff's streams, relays until its process
// exits, and ends with the container's exit code (an *exitStatus), or
// with a runError carrying 125, 126 or 127 when it could not start.
func (a *app) runForeground(s *container.Store, c *container.Container, opts attachOptions) error {
	tty := c.Options.Tty
	stdio := container.Stdio{Stdout: a.stdout, Stderr: a.stderr}
	if opts.stdin {
		stdio.Stdin = a.stdin
	}
	if tty {
		stdio.Rows, stdio.Cols, _ = a.terminalSize()
	}

	// Catch the signals before the terminal goes raw: from then on, no
	// signal may end skiff without the terminal being given back.
	sigc := catchSignals(tty, opts.sigProxy || tty)
	defer signal.Stop(sigc)

	// Raw mode only when our keys go to the container (-i -t), as docker.
	raw, err := makeRaw(a.stdin, tty && opts.stdin)
	if err != nil {
		return &runError{code: exitCannotRun, err: errors.Join(err, removeIfAuto(s, c))}
	}
	defer raw.restore()

	p, err := s.Start(c, stdio)
	if err != nil {
		return startFailure(errors.Join(err, removeIfAuto(s, c)))
	}
	r := &relay{p: p, raw: raw, resize: func() {}}
	if tty {
		r.resize = func() { a.resizeTerminal(p) }
		r.resize()
	}

	done, relayed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(relayed)
		r.signals(sigc, done)
	}()
	st, err := p.Wait()
	close(done)
	<-relayed
	raw.restore()

	if err != nil {
		return &runError{code: exitCannotRun, err: err}
	}
	if st.ExitCode != 0 {
		return &exitStatus{code: st.ExitCode}
	}
	return nil
}

// catchSignals starts catching the proxied signals (when proxy is set) and
// SIGWINCH (when the container has a terminal).
func catchSignals(tty, proxy bool) chan os.Signal {
	sigc := make(chan os.Signal, 16)
	if proxy {
		signal.Notify(sigc, proxiedSignals...)
	}
	if tty {
		signal.Notify(sigc, syscall.SIGWINCH)
	}
	return sigc
}

// relay passes what happens to skiff on to a foreground container.
type relay struct {
	p      *container.Process
	raw    *rawTerminal
	resize func()
}

// signals relays signals until done: a window size change becomes a
// resize of the container's terminal, any other signal is sent to its
// first process. A signal meant to end skiff gives the terminal back
// first, in case the container ends skiff's session with it.
func (r *relay) signals(sigc <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigc:
			if sig == syscall.SIGWINCH {
				r.resize()
				continue
			}
			r.raw.restore()
			// The process may be gone already; Wait reports how it ended.
			r.p.Signal(sig)
		}
	}
}

// resizeTerminal gives the container's terminal the size of ours. The
// kernel then sends SIGWINCH to the container's foreground process group.
func (a *app) resizeTerminal(p *container.Process) {
	rows, cols, ok := a.terminalSize()
	if !ok {
		return
	}
	if err := p.Resize(rows, cols); err != nil {
		a.log.Debug("resize container terminal", "rows", rows, "cols", cols, "err", err)
	}
}

// followWindowSize sends the size of our terminal to sizes after each
// SIGWINCH, dropping a size the receiver has not taken yet for the newer
// one, until the returned stop is called.
func (a *app) followWindowSize(sizes chan container.WindowSize) (stop func()) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sigc:
			}
			rows, cols, ok := a.terminalSize()
			if !ok {
				continue
			}
			select {
			case <-sizes:
			default:
			}
			sizes <- container.WindowSize{Rows: rows, Cols: cols}
		}
	}()
	return func() {
		signal.Stop(sigc)
		close(done)
	}
}

// terminalSize is the size of skiff's own terminal, when it has one.
func (a *app) terminalSize() (rows, cols uint16, ok bool) {
	for _, stream := range []any{a.stdout, a.stdin} {
		f, isFile := stream.(*os.File)
		if !isFile || !term.IsTerminal(int(f.Fd())) {
			continue
		}
		c, r, err := term.GetSize(int(f.Fd()))
		if err == nil {
			return uint16(r), uint16(c), true
		}
	}
	return 0, 0, false
}

// rawTerminal is a terminal that skiff put into raw mode, and how to put
// it back. A nil *rawTerminal is a terminal left alone; restore is then a
// no-op.
type rawTerminal struct {
	fd    int
	state *term.State
	once  sync.Once
}

// makeRaw puts stream into raw mode (see termios(3): no echo, no line
// editing, no signals from keys, no output processing) when want is set
// and stream is a terminal.
func makeRaw(stream any, want bool) (*rawTerminal, error) {
	f, ok := stream.(*os.File)
	if !want || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	fd := int(f.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, &os.PathError{Op: "make terminal raw", Path: f.Name(), Err: err}
	}
	return &rawTerminal{fd: fd, state: state}, nil
}

// restore puts the terminal back as it was; it is safe to call more than
// once and from several goroutines.
func (r *rawTerminal) restore() {
	if r == nil {
		return
	}
	r.once.Do(func() { term.Restore(r.fd, r.state) })
}

// holdTerminal is makeRaw for a process that skiff cannot signal (skiff
// exec): on a proxied signal, it gives the terminal back and lets the
// signal end skiff as it would have. The returned function undoes it.
func holdTerminal(stream any, want bool) (func(), error) {
	raw, err := makeRaw(stream, want)
	if err != nil || raw == nil {
		return func() {}, err
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, proxiedSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigc:
			raw.restore()
			signal.Stop(sigc)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		close(done)
		signal.Stop(sigc)
		raw.restore()
	}, nil
}
