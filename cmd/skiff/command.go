package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// A command is one word of the command line that does something (images,
// rmi) or groups other commands (image). Each owns a fresh flag set, so
// nothing a command parses leaks into another.
type command struct {
	// name is the word the user types; aliases are other words for it.
	name    string
	aliases []string
	// path is the full command, "skiff image ls"; setParents fills it in.
	path string
	// also names the same command elsewhere in the tree, for the help text.
	also []string

	summary string // one line for the parent's command list
	usage   string // the arguments after the path: "[OPTIONS] IMAGE [IMAGE...]"
	example string // one or more lines of shell, without indentation
	args    argRule
	flags   *pflag.FlagSet
	run     func(a *app, args []string) error

	// subcommands makes this a group ("skiff image ..."), with no run of
	// its own; management marks groups listed apart in the top-level help.
	subcommands []*command
	management  bool

	// exitHelp replaces exitStatusHelp for commands whose exit code means
	// something else, such as run, which exits with the container's code.
	exitHelp string
}

// find returns the subcommand called name, or nil.
func (c *command) find(name string) *command {
	for _, sub := range c.subcommands {
		if sub.name == name {
			return sub
		}
		for _, alias := range sub.aliases {
			if alias == name {
				return sub
			}
		}
	}
	return nil
}

// setPaths gives every command below c its full path and an empty flag set
// if it has none (groups only know --help).
func (c *command) setPaths() {
	for _, sub := range c.subcommands {
		sub.path = c.path + " " + sub.name
		if sub.flags == nil {
			sub.flags = newFlagSet(sub.name)
		}
		sub.setPaths()
	}
}

// newTopCommand builds the whole command tree. It is built again for every
// command line, so flag values never carry over from one run to the next.
func newTopCommand() *command {
	imageGroup := &command{
		name:       "image",
		summary:    "Manage images",
		usage:      "COMMAND",
		example:    "skiff image ls\nskiff image prune -f",
		management: true,
		subcommands: []*command{
			newBuildCommand("build", "skiff build"),
			newHistoryCommand("history", "skiff history"),
			newImportCommand("import", "skiff import"),
			newInspectCommand("inspect", "skiff inspect"),
			newLoadCommand("load", "skiff load"),
			newImagesCommand("ls", "skiff images"),
			newPruneCommand("prune"),
			newPullCommand("pull", "skiff pull"),
			newPushCommand("push", "skiff push"),
			newRmiCommand("rm", "skiff rmi"),
			newSaveCommand("save", "skiff save"),
			newTagCommand("tag", "skiff tag"),
		},
	}
	containerGroup := newContainerGroup()
	top := &command{
		name:    "skiff",
		path:    "skiff",
		summary: "A daemonless container engine for one Linux machine, written to be read",
		usage:   "[OPTIONS] COMMAND",
		example: "skiff import rootfs.tar busybox:latest\nskiff run --rm busybox echo hello",
		subcommands: []*command{
			newBuildCommand("build", "skiff image build"),
			newCommitCommand("commit", "skiff container commit"),
			containerGroup,
			newCpCommand("cp", "skiff container cp"),
			newCreateCommand("create", "skiff container create"),
			newDiffCommand("diff", "skiff container diff"),
			newDoctorCommand("doctor"),
			newExecCommand("exec", "skiff container exec"),
			newExportCommand("export", "skiff container export"),
			newHistoryCommand("history", "skiff image history"),
			imageGroup,
			newImagesCommand("images", "skiff image ls", "skiff image list"),
			newImportCommand("import", "skiff image import"),
			newInfoCommand("info"),
			newObjectInspectCommand("inspect"),
			newKillCommand("kill", "skiff container kill"),
			newLoadCommand("load", "skiff image load"),
			newLoginCommand("login"),
			newLogoutCommand("logout"),
			newLogsCommand("logs", "skiff container logs"),
			newNetworkGroup(),
			newPortCommand("port", "skiff container port"),
			newPsCommand("ps", "skiff container ls", "skiff container ps", "skiff container list"),
			newPullCommand("pull", "skiff image pull"),
			newPushCommand("push", "skiff image push"),
			newRestartCommand("restart", "skiff container restart"),
			newRmCommand("rm", "skiff container rm", "skiff container remove"),
			newRmiCommand("rmi", "skiff image rm", "skiff image remove"),
			newRunCommand("run", "skiff container run"),
			newSaveCommand("save", "skiff image save"),
			newSearchCommand("search"),
			newStartCommand("start", "skiff container start"),
			newStopCommand("stop", "skiff container stop"),
			newTagCommand("tag", "skiff image tag"),
			newContainerTopCommand("top", "skiff container top"),
			newWaitCommand("wait", "skiff container wait"),
		},
	}
	top.setPaths()
	return top
}

// argRule is how many arguments a command takes after its flags; max < 0
// means no upper limit.
type argRule struct{ min, max int }

// check returns an error in Docker's words when n arguments break the rule.
func (r argRule) check(path string, n int) error {
	plural := func(k int) string {
		if k == 1 {
			return "argument"
		}
		return "arguments"
	}
	switch {
	case r.min == r.max && n != r.min && r.min == 0:
		return fmt.Errorf("%q accepts no arguments", path)
	case r.min == r.max && n != r.min:
		return fmt.Errorf("%q requires exactly %d %s", path, r.min, plural(r.min))
	case n < r.min:
		return fmt.Errorf("%q requires at least %d %s", path, r.min, plural(r.min))
	case r.max >= 0 && n > r.max:
		return fmt.Errorf("%q requires at most %d %s", path, r.max, plural(r.max))
	}
	return nil
}

// exitStatusHelp ends every help text: the exit codes are part of the
// interface scripts rely on.
const exitStatusHelp = `Exit status:
  0 on success, 1 when the command fails (no such image, a bad archive),
  125 for a usage error (unknown command or flag, wrong number of arguments).
`

// printHelp writes c's help in the layout of Docker's: usage line, summary,
// aliases, commands, options, example.
func printHelp(w io.Writer, c *command) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nUsage:  %s %s\n\n%s\n", c.path, c.usage, c.summary)
	if len(c.aliases) > 0 || len(c.also) > 0 {
		names := []string{c.path}
		parent := strings.TrimSuffix(c.path, " "+c.name)
		for _, alias := range c.aliases {
			names = append(names, parent+" "+alias)
		}
		names = append(names, c.also...)
		fmt.Fprintf(&b, "\nAliases:\n  %s\n", strings.Join(names, ", "))
	}

	writeCommandList(&b, "Commands", c.subcommands, false)
	writeCommandList(&b, "Management Commands", c.subcommands, true)

	// A group's flag set only has --help, which the dispatcher handles.
	if c.flags != nil && c.flags.HasFlags() {
		title := "Options"
		if c.path == "skiff" {
			title = "Global Options"
		}
		if c.flags.Lookup("help") == nil {
			c.flags.BoolP("help", "h", false, "Print usage")
		}
		fmt.Fprintf(&b, "\n%s:\n%s", title, flagUsages(c.flags))
	}

	fmt.Fprintf(&b, "\nExample:\n  %s\n", strings.ReplaceAll(c.example, "\n", "\n  "))
	exitHelp := exitStatusHelp
	if c.exitHelp != "" {
		exitHelp = c.exitHelp
	}
	fmt.Fprintf(&b, "\n%s", exitHelp)
	if len(c.subcommands) > 0 {
		fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for more information on a command.\n", c.path)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// flagUsages lists the flags one per line as Docker's help does:
// "-o, --output string   Write to a file". pflag's own listing marks every
// boolean "[=true|false]", which Docker's never does.
func flagUsages(fs *pflag.FlagSet) string {
	type line struct{ flag, usage string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "      --" + f.Name
		if f.Shorthand != "" {
			name = "  -" + f.Shorthand + ", --" + f.Name
		}

		// The value's name comes from `backquotes` in the usage, or its type.
		varname, usage := pflag.UnquoteUsage(f)
		switch {
		case f.Value.Type() == "bool":
		case f.Value.Type() == "stringArray":
			name += " list"
		case varname != "":
			name += " " + varname
		}

		switch def := f.DefValue; {
		case def == "" || def == "false" || def == "[]" || def == "0":
		case f.Value.Type() == "string":
			usage += fmt.Sprintf(" (default %q)", def)
		default:
			usage += fmt.Sprintf(" (default %s)", def)
		}
		lines = append(lines, line{name, usage})
		width = max(width, len(name))
	})

	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-*s   %s\n", width, l.flag, l.usage)
	}
	return b.String()
}

// writeCommandList lists the subcommands that are (or are not) management
// groups, one per line with its summary.
func writeCommandList(b *strings.Builder, title string, cmds []*command, management bool) {
	var lines []string
	for _, c := range cmds {
		if c.management == management {
			lines = append(lines, fmt.Sprintf("  %-10s  %s\n", c.name, c.summary))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(b, "\n%s:\n%s", title, strings.Join(lines, ""))
	}
}
