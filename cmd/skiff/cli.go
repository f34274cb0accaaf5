package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/explain"
	"github.com/skiff-dev/skiff/image"
)

// version is the release printed by --version. Release builds set it with
// go build -ldflags "-X main.version=1.2.3"; otherwise it comes from the
// module's build information, or is "dev".
var version string

// defaultRoot is where skiff keeps its state unless --root or SKIFF_ROOT
// says otherwise.
const defaultRoot = "/var/lib/skiff"

// app is what every command receives: the standard streams, the logger and
// the store's root directory, all decided once by the global flags.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	root   string
	// insecureRegistries come from --insecure-registry (registry.go).
	insecureRegistries []string
}

// openStore opens the image store under the root chosen by --root.
func (a *app) openStore() (*image.Store, error) {
	a.log.Debug("open image store", "path", a.root)
	return image.Open(a.root, a.log)
}

// runCLI runs one skiff command line (without the program name) and returns
// the process exit code. main and the scenario tests both call it.
func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	return exitCode(stderr, a.main(args))
}

// main parses the global flags, which stand before the command name, and
// hands the rest of the line to the dispatcher.
func (a *app) main(args []string) error {
	top := newTopCommand()
	var debugLog, explainSteps, showVersion, help bool
	var root string

	// SetInterspersed(false) stops at the first word that is not a flag:
	// the command name. Everything after it belongs to the command.
	fs := newFlagSet("skiff")
	fs.SetInterspersed(false)
	fs.StringVar(&root, "root", defaultRoot, "Root directory of the image store (env SKIFF_ROOT)")
	fs.BoolVarP(&debugLog, "debug", "D", false, "Enable debug logging on stderr")
	fs.BoolVar(&explainSteps, "explain", false,
		"Narrate each kernel and registry step on stderr (env SKIFF_EXPLAIN=1)")
	fs.BoolVarP(&showVersion, "version", "v", false, "Print version information and quit")
	fs.BoolVarP(&help, "help", "h", false, "Print usage")
	fs.StringArrayVar(&a.insecureRegistries, "insecure-registry", nil,
		"Reach this registry (host:port or CIDR) over HTTP or without TLS checks")
	top.flags = fs
	if err := fs.Parse(args); err != nil {
		return &usageError{path: top.path, err: err}
	}

	switch {
	case help:
		return printHelp(a.stdout, top)
	case showVersion:
		_, err := fmt.Fprintf(a.stdout, "skiff version %s\n", skiffVersion())
		return err
	}

	if env := os.Getenv("SKIFF_ROOT"); env != "" && !fs.Changed("root") {
		root = env
	}
	a.root = root
	if !fs.Changed("explain") {
		explainSteps = explainFromEnv()
	}
	var narration io.Writer
	if explainSteps {
		narration = narrationWriter(a.stderr)
	}
	a.log = newLogger(a.stderr, debugLog, narration)
	return a.dispatch(top, fs.Args())
}

// dispatch finds the command named by args[0] among parent's subcommands and
// runs it; a group such as "image" dispatches again one level down.
func (a *app) dispatch(parent *command, args []string) error {
	if len(args) == 0 {
		return printHelp(a.stdout, parent)
	}

	name := args[0]
	switch {
	case name == "help":
		return a.help(parent, args[1:])
	case name == "-h" || name == "--help":
		return printHelp(a.stdout, parent)
	case strings.HasPrefix(name, "-"):
		return &usageError{path: parent.path, err: fmt.Errorf("unknown flag: %s", name)}
	}

	c := parent.find(name)
	if c == nil {
		err := fmt.Errorf("'%s' is not a %s command", name, parent.path)
		return &usageError{path: parent.path, err: err}
	}
	if len(c.subcommands) > 0 {
		return a.dispatch(c, args[1:])
	}
	return a.runCommand(c, args[1:])
}

// help prints the help of the command that the words in path name, as
// "skiff help image ls" does.
func (a *app) help(parent *command, path []string) error {
	c := parent
	for _, name := range path {
		next := c.find(name)
		if next == nil {
			err := fmt.Errorf("'%s' is not a %s command", name, c.path)
			return &usageError{path: c.path, err: err}
		}
		c = next
	}
	return printHelp(a.stdout, c)
}

// runCommand parses the command's own flags, checks the number of
// arguments and runs it.
func (a *app) runCommand(c *command, args []string) error {
	help := c.flags.BoolP("help", "h", false, "Print usage")
	if err := c.flags.Parse(args); err != nil {
		return &usageError{path: c.path, err: err}
	}
	if *help {
		return printHelp(a.stdout, c)
	}

	rest := c.flags.Args()
	if err := c.args.check(c.path, len(rest)); err != nil {
		return &usageError{path: c.path, err: err}
	}
	a.log.Debug("run command", "command", c.path, "args", rest)
	return c.run(a, rest)
}

// newFlagSet returns a flag set that reports errors instead of printing
// them or exiting: the dispatcher decides what the user sees.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = true
	return fs
}

// newLogger builds the one logger of the process: text on stderr, at debug
// level with --debug and otherwise only warnings and worse. With a
// narration writer, a narrator in front of it prints each step there
// (--explain, package explain).
func newLogger(w io.Writer, debugLog bool, narration io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if debugLog {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	if narration != nil {
		h = explain.NewHandler(narration, h)
	}
	return slog.New(h)
}

// narrationWriter is where the narration of --explain goes: a duplicate of
// w's descriptor when w is a file such as our stderr. A narration piped
// into `head` must not end skiff half-way through starting a container:
// the Go runtime lets SIGPIPE kill the process for a write to a closed
// pipe on descriptors 1 and 2 only, and on any other descriptor the write
// just fails.
func narrationWriter(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return w
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return w
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// explainFromEnv reports whether SKIFF_EXPLAIN asks for narration: any
// value but "", "0" and "false".
func explainFromEnv() bool {
	switch os.Getenv(explain.EnvVar) {
	case "", "0", "false":
		return false
	}
	return true
}

// skiffVersion returns the version set at link time, else the module
// version recorded by the go command, else "dev".
func skiffVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
