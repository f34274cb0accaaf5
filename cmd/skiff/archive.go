package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/skiff-dev/skiff/image"
)

// This file holds the commands that move images in and out of the store as
// files: import (a root filesystem tarball), load and save (image archives).

// importOptions are the flags of skiff import.
type importOptions struct {
	changes []string
	message string
}

// newImportCommand builds "skiff import".
func newImportCommand(name string, also ...string) *command {
	var opts importOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Import the contents from a tarball to create a filesystem image",
		usage:   "[OPTIONS] file|- [REPOSITORY[:TAG]]",
		example: "skiff import --change 'CMD [\"sh\"]' rootfs.tar busybox:latest\n" +
			"gzip -dc rootfs.tar.gz | skiff import - mybase",
		args:  argRule{min: 1, max: 2},
		flags: newFlagSet(name),
	}
	c.flags.StringArrayVarP(&opts.changes, "change", "c", nil,
		"Apply Dockerfile instruction to the created image")
	c.flags.StringVarP(&opts.message, "message", "m", "", "Set commit message for imported image")
	c.run = func(a *app, args []string) error { return runImport(a, opts, args) }
	return c
}

func runImport(a *app, opts importOptions, args []string) error {
	src := args[0]
	// Limitation: docker import also fetches a URL; skiff reads files and
	// stdin only, so that nothing reaches the network behind the user's back.
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return errors.New("import from a URL is not supported: download it and import the file")
	}
	r, closeInput, err := openInput(a, src, "import")
	if err != nil {
		return err
	}
	defer closeInput()

	s, err := a.openStore()
	if err != nil {
		return err
	}
	importOpts := image.ImportOptions{
		Changes: opts.changes,
		Message: opts.message,
		Source:  src,
	}
	if len(args) == 2 {
		importOpts.Ref = args[1]
	}
	img, err := s.Import(r, importOpts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, img.ID)
	return err
}

// loadOptions are the flags of skiff load.
type loadOptions struct {
	input string
	quiet bool
}

// newLoadCommand builds "skiff load".
func newLoadCommand(name string, also ...string) *command {
	var opts loadOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Load an image from a tar archive or STDIN",
		usage:   "[OPTIONS]",
		example: "skiff load -i busybox.tar\nskiff load < busybox.tar",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.flags.StringVarP(&opts.input, "input", "i", "",
		"Read from tar archive file, instead of STDIN")
	// skiff prints no progress bars yet, so --quiet changes nothing; it is
	// accepted because scripts written for docker pass it.
	c.flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the load output")
	c.run = func(a *app, _ []string) error { return runLoad(a, opts) }
	return c
}

func runLoad(a *app, opts loadOptions) error {
	src := opts.input
	if src == "" {
		src = "-"
	}
	r, closeInput, err := openInput(a, src, "load")
	if err != nil {
		return err
	}
	defer closeInput()

	s, err := a.openStore()
	if err != nil {
		return err
	}
	loaded, err := s.Load(r)
	if err != nil {
		return err
	}

	for _, l := range loaded {
		if len(l.Tags) == 0 {
			fmt.Fprintf(a.stdout, "Loaded image ID: %s\n", l.ID)
		}
		for _, ref := range l.Tags {
			fmt.Fprintf(a.stdout, "Loaded image: %s\n", ref.FamiliarString())
		}
	}
	return nil
}

// openInput opens the file name, or stdin for "-". Like docker, it refuses
// to wait for an archive typed on a terminal.
func openInput(a *app, name, verb string) (io.Reader, func(), error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		return bufio.NewReaderSize(f, 1<<20), func() { f.Close() }, nil
	}
	if isTerminal(a.stdin) {
		return nil, nil, fmt.Errorf("requested %s from stdin, but stdin is a terminal", verb)
	}
	return a.stdin, func() {}, nil
}

// isTerminal reports whether the stream is a terminal (a tty device).
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// saveOptions are the flags of skiff save.
type saveOptions struct {
	output string
	format string
}

// newSaveCommand builds "skiff save".
func newSaveCommand(name string, also ...string) *command {
	var opts saveOptions
	c := &command{
		name:    name,
		also:    also,
		summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		usage:   "[OPTIONS] IMAGE [IMAGE...]",
		example: "skiff save -o busybox.tar busybox\n" +
			"skiff save --format oci busybox:latest > busybox-oci.tar",
		args:  argRule{min: 1, max: -1},
		flags: newFlagSet(name),
	}
	c.flags.StringVarP(&opts.output, "output", "o", "",
		"Write to a file, instead of STDOUT")
	c.flags.StringVar(&opts.format, "format", string(image.FormatDocker),
		"Archive layout: docker (as docker save) or oci (an OCI image layout)")
	c.run = func(a *app, args []string) error { return runSave(a, c.path, opts, args) }
	return c
}

func runSave(a *app, path string, opts saveOptions, rawRefs []string) error {
	format := image.ArchiveFormat(opts.format)
	if format != image.FormatDocker && format != image.FormatOCI {
		err := fmt.Errorf("invalid --format %q: want docker or oci", opts.format)
		return &usageError{path: path, err: err}
	}
	if opts.output == "" && isTerminal(a.stdout) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}

	// Look every image up first, so that a typo fails before any output
	// file is created, with the name the user typed.
	s, err := a.openStore()
	if err != nil {
		return err
	}
	for _, rawRef := range rawRefs {
		if _, err := s.Lookup(rawRef); err != nil {
			return imageError(rawRef, err)
		}
	}

	save := func(w io.Writer) error { return s.Save(w, rawRefs, format) }
	if opts.output == "" {
		return save(a.stdout)
	}
	return writeFileAtomic(opts.output, save)
}

// writeFileAtomic writes name through a temporary file in the same
// directory, synced and renamed into place, so a failure or a crash never
// leaves a half-written archive under the name the user asked for.
func writeFileAtomic(name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err == nil {
			return
		}
		if !closed {
			err = errors.Join(err, f.Close())
		}
		err = errors.Join(err, os.Remove(f.Name()))
	}()

	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}

	// CreateTemp makes the file private (0600); an archive is as readable
	// as any file the user creates.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
