package container

import (
	"io"
	"os"
	"sync"

	"github.com/skiff-dev/skiff/namespaces"
)

// terminal is a pty between a container process and this process's
// streams: input is copied to the master, output from it. All methods are
// no-ops on a nil terminal, so callers need not ask whether there is one.
type terminal struct {
	master, slave *os.File
	copies        sync.WaitGroup
}

func newTerminal(stdio Stdio) (*terminal, error) {
	master, slave, err := openPty()
	if err != nil {
		return nil, err
	}
	t := &terminal{master: master, slave: slave}
	if stdio.Rows > 0 && stdio.Cols > 0 {
		if err := resizePty(master, stdio.Rows, stdio.Cols); err != nil {
			t.close()
			return nil, err
		}
	}
	if stdio.Stdin != nil {
		go io.Copy(master, stdio.Stdin)
	}
	out := stdio.Stdout
	if out == nil {
		out = io.Discard
	}
	t.copies.Add(1)
	go func() {
		defer t.copies.Done()
		// Reading the master fails with EIO once every slave fd is closed:
		// that is the end of the output.
		io.Copy(out, master)
	}()
	return t, nil
}

// stdio gives the slave side as all three standard streams.
func (t *terminal) stdio() namespaces.Stdio {
	return namespaces.Stdio{Stdin: t.slave, Stdout: t.slave, Stderr: t.slave}
}

// started closes this process's copy of the slave once the child has its
// own; otherwise the master would never see the end of the output.
func (t *terminal) started() {
	if t != nil {
		t.slave.Close()
	}
}

func (t *terminal) resize(rows, cols uint16) error {
	if t == nil {
		return nil
	}
	return resizePty(t.master, rows, cols)
}

// drain waits until all output has been copied.
func (t *terminal) drain() {
	if t != nil {
		t.copies.Wait()
	}
}

func (t *terminal) close() {
	if t != nil {
		t.slave.Close() // an error here means it was already closed
		t.master.Close()
	}
}
