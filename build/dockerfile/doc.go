// Package dockerfile reads the Dockerfile language: the text a build turns
// into an image, one instruction per step.
//
// # From lines to instructions
//
// A Dockerfile is read in three passes over its lines:
//
//  1. Parser directives. Lines of the form "# name=value" at the very top
//     are directives, not comments. "# escape=`" makes the backtick the
//     escape character instead of the backslash (Windows paths are full of
//     backslashes); "# syntax=" and "# check=" are read and ignored. The
//     first line that is not a directive ends them, even a blank one.
//  2. Logical lines. Blank lines and comments ('#' first on the line) are
//     dropped. A line ending in the escape character goes on on the next
//     line: the two are joined with the escape character and the line break
//     removed. Comments between continuation lines are dropped too.
//  3. Instructions. The first word is the keyword, in any case (run = RUN).
//     FROM, RUN, COPY, ADD and HEALTHCHECK take flags (--from=build) before
//     their arguments.
//
// The rest of an instruction is read the way its keyword wants it:
//
//   - exec form or shell form: RUN ["echo", "hi"] is a JSON array, run as
//     it is; RUN echo hi is handed to a shell (/bin/sh -c, or SHELL's);
//   - name=value pairs: ENV, LABEL and ARG; ENV NAME value (no '=') is the
//     old form that sets one variable to the rest of the line;
//   - words: COPY, ADD, EXPOSE, VOLUME; or the rest of the line: WORKDIR,
//     USER, STOPSIGNAL, MAINTAINER.
//
// RUN, COPY and ADD may open here-documents, as BuildKit allows: "RUN
// <<EOF" followed by lines up to one that is exactly "EOF". Their bodies
// are read verbatim: no comments, no continuations. "<<-EOF" strips leading
// tabs; a quoted delimiter ("<<'EOF'") turns off variable substitution in
// a COPY body.
//
// # Stages
//
// Every FROM opens a build stage. ARG is the only instruction allowed
// before the first FROM: such "meta" ARGs parameterise the FROM lines
// (FROM alpine:${VERSION}). A stage named with AS can be the base of a
// later stage (FROM build) or the source of COPY --from=build.
//
// # Variables
//
// Parse leaves variables alone: their values are known only while a stage
// is built (an ENV sets one for the instructions after it). [ExpandWord]
// and [ExpandFields] substitute them the way Docker does, for the
// instructions where Docker does: FROM, COPY, ADD, ENV, LABEL, ARG,
// WORKDIR, USER, EXPOSE, VOLUME and STOPSIGNAL. RUN, CMD and ENTRYPOINT
// are not substituted: the shell inside the container does that, with
// the variables ENV and ARG give it.
//
// # Errors
//
// Every problem is reported as "Dockerfile:LINE: message", with the line
// where the instruction starts, and [Parse] reports all the problems of a
// file at once, so that `skiff build --check` lists everything to fix.
//
// Reference: https://docs.docker.com/reference/dockerfile/
//
// # Limitations
//
//   - RUN takes no flags: BuildKit's --mount (caches, secrets), --network
//     and --security are refused.
//   - COPY --parents and --exclude and ADD --keep-git-dir are refused;
//     COPY --chmod takes octal modes only (BuildKit also takes u+x).
//   - Substitution knows ${NAME-word}, ${NAME+word} and ${NAME?word} with
//     and without the colon, but not BuildKit's ${NAME#pattern},
//     ${NAME%pattern} and ${NAME/old/new}.
//   - A here-document delimiter is recognised only as a word of its own
//     ("cat <<EOF >file", not "cat <<EOF>file").
package dockerfile
