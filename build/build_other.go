//go:build !linux

package build

import (
	"archive/tar"
	"errors"
	"io/fs"

	"github.com/skiff-dev/skiff/build/dockerfile"
)

// Building runs containers and reads Linux file metadata.
var errRequiresLinux = errors.New("building images requires Linux")

func fileHeader(fi fs.FileInfo, host string) (*tar.Header, error) {
	return nil, errRequiresLinux
}

func (r *buildRun) run(st *stageState, in *dockerfile.Instruction) error {
	return errRequiresLinux
}
