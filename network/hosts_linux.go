package network

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"
)

// writeHostsBlock sets a network's block in a hosts file (an empty block
// removes it). The file is rewritten in place, not replaced: it is bind
// mounted into the running container, and a mount follows the inode, so a
// new file would go unseen. A missing file (a container removed, or not
// written yet) is skipped; other failures are logged, since a stale hosts
// file should not fail a container's start or stop.
func writeHostsBlock(log *slog.Logger, path, network, block string) {
	if path == "" {
		return
	}
	err := rewriteInPlace(path, func(content string) string {
		return setBlock(content, network, block)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		log.Warn("cannot update hosts file", "path", path, "network", network, "error", err)
		return
	}
	log.Debug("hosts file updated", "path", path, "network", network)
}

// rewriteInPlace replaces the content of a file with edit(content) under
// flock(2): a container on two networks has its file written under two
// different network locks.
func rewriteInPlace(path string, edit func(string) string) error {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return &os.PathError{Op: "flock", Path: path, Err: err}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	updated := edit(string(data))
	if updated == string(data) {
		return nil
	}
	if _, err := f.WriteAt([]byte(updated), 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(updated)))
}
