package build

import (
	"archive/tar"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fileHeader describes a file for a layer tar, from lstat(2): type, mode
// with the set-user-ID, set-group-ID and sticky bits, owner, size, link
// target, device numbers and modification time. It returns nil for a
// socket, which a tar cannot hold.
func fileHeader(fi fs.FileInfo, host string) (*tar.Header, error) {
	hdr := &tar.Header{Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime(), Format: tar.FormatPAX}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		hdr.Mode = int64(st.Mode & 0o7777)
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		hdr.ModTime = time.Unix(st.Mtim.Unix())
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	case m.IsDir():
		hdr.Typeflag = tar.TypeDir
	case m&fs.ModeSymlink != 0:
		link, err := os.Readlink(host)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
	case m&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	case m&fs.ModeCharDevice != 0:
		hdr.Typeflag = tar.TypeChar
	case m&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
	default:
		return nil, nil
	}
	if hdr.Typeflag != tar.TypeChar && hdr.Typeflag != tar.TypeBlock {
		hdr.Devmajor, hdr.Devminor = 0, 0
	}
	return hdr, nil
}
