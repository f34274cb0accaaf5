package container

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/namespaces"
)

// openPty opens a new pseudo-terminal pair: the master stays with skiff,
// the slave becomes the container's stdin, stdout and stderr and its
// controlling terminal. See pty(7): open /dev/ptmx, unlock the slave, learn
// its number, open /dev/pts/<n>.
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()

	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, nil, os.NewSyscallError("ioctl TIOCSPTLCK", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		return nil, nil, os.NewSyscallError("ioctl TIOCGPTN", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	return master, slave, nil
}

// resizePty sets the terminal's window size; the kernel sends SIGWINCH to
// the container's foreground process group.
func resizePty(master *os.File, rows, cols uint16) error {
	ws := &unix.Winsize{Row: rows, Col: cols}
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return os.NewSyscallError("ioctl TIOCSWINSZ", err)
	}
	return nil
}

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
