// Command skiff is the command-line front end of the skiff container
// engine: it turns what the user types into calls on the packages below it
// and turns their answers and errors into text and an exit code.
//
// # How a tool like docker is put together
//
// A command line such as
//
//	skiff --root /tmp/store image ls --digests busybox
//
// is read in three passes.
//
//  1. Global flags. Everything before the first word that is not a flag
//     belongs to skiff itself (--root, --debug, --version). The global
//     flag set is told to stop at that word (pflag's SetInterspersed(false)),
//     so a flag after the command name is never mistaken for a global one.
//     --root falls back to the SKIFF_ROOT environment variable and then to
//     /var/lib/skiff.
//  2. The dispatcher. The next words name a command in a small tree: a
//     command either acts (images, rmi) or groups others (image). Docker
//     keeps old top-level names such as "docker images" next to the newer
//     grouped "docker image ls"; skiff does the same, and both names build
//     the same command. The tree is built afresh for every command line.
//  3. The command's own flags. Each command owns a [pflag.FlagSet], parsed
//     with ContinueOnError so that the dispatcher, not the flag package,
//     decides what the user sees. What remains are the arguments, whose
//     count each command declares.
//
// Every command gets the same small context: the standard streams, one
// [log/slog] logger (debug level with --debug, warnings otherwise) and the
// store root. Nothing is global, which is what lets the scenario tests run
// the whole program in-process.
//
// # The hidden roles of the binary
//
// There is no daemon, so skiff re-executes itself (/proc/self/exe) for the
// processes a container needs: the monitor of a detached container
// ([container.MonitorArg]), and the container's init (package namespaces:
// [namespaces.IsInit], [namespaces.Init]) where skiff-init, the small
// program of cmd/skiff-init made for that role, is not installed beside
// skiff. main checks for those before it parses any flag. The cgo
// constructor of package namespaces/nsenter runs even earlier, before the
// Go runtime starts, for skiff exec.
//
// # Output
//
// Tables are written through [text/tabwriter] with Docker's columns, sizes
// in decimal units (4.26MB) and ages in coarse words ("2 hours ago"). JSON
// from inspect has the field names of docker image inspect, so the same
// --format templates work.
//
// # Errors and exit codes
//
// Packages return errors; only this command prints them, in exactly one
// line on stderr: "skiff: <message>", or Docker's "Error: No such image:
// <name>" for a reference that names nothing. The mapping from error to
// exit code lives in one function, [exitCode]:
//
//   - 0: success.
//   - 1: the command ran and failed (no such image or container, a corrupt
//     archive, an unreachable registry).
//   - 125: a usage error (unknown command or flag, bad flag value, wrong
//     number of arguments), for which a second line names the --help to
//     read; or skiff itself failed to run a container.
//   - run, start -a and exec end with the container's own code: 126 when
//     its command cannot be executed, 127 when it is not found, 128+n
//     after signal n.
//
// Docker itself uses 125 for usage errors of docker run and 1 or 125
// elsewhere; skiff uses 125 for every usage error, so that later commands
// that run containers can pass the container's own exit code through
// without it ever being confused with a typing mistake.
//
// # Limitations
//
//   - No daemon and no API: each command opens the store, acts and exits.
//     Docker's CLI talks to dockerd over a socket instead.
//   - import reads files and stdin only, never a URL.
//   - No shell completion, no --filter flags and no table templates for
//     images or history (docker images --format); inspect --format exists.
//   - load and save print no progress bars; load --quiet is accepted and
//     changes nothing.
//   - network ls lists the bridge networks only: host and none are modes
//     of a container here, not networks with an ID, as Docker shows them.
//   - network create has the bridge driver only, and no --gateway,
//     --ip-range or --internal.
package main
