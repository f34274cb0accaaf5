package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"github.com/skiff-dev/skiff/build/dockerfile"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/namespaces"
	"github.com/skiff-dev/skiff/tarball"
)

// run does a RUN step. The command runs in a container of the stage's
// image, as any container: an overlay of the image's layers under a fresh
// upper dir. What the command changed is then exactly that upper dir, and
// it becomes the step's layer as it is (whiteouts turned back into .wh.
// entries): the cost grows with what the step changed, not with the size
// of the image under it.
func (r *buildRun) run(st *stageState, in *dockerfile.Instruction) error {
	args := runArgs(&st.cfg, in)
	s := step{cfg: st.cfg.clone(), createdBy: "RUN " + argsPrefix(st) + strings.Join(args, " ")}
	k := r.key(st, s)
	if hit, err := r.cached(st, k); hit || err != nil {
		return err
	}
	if st.img == nil {
		const msg = "RUN has nothing to run in: the stage is FROM scratch and has no files yet"
		return errors.New(msg)
	}

	c, err := r.b.containers.Create(st.img, st.img.ID.String(), container.CreateOptions{
		Options:    container.Options{Env: r.runEnv(st), Network: r.opts.Network},
		Entrypoint: []string{""},
		Args:       args,
	})
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	r.printf(" ---> Running in %s\n", c.ShortID())

	// The container goes in every case: with its layer committed, or with
	// the failed step.
	img, err := r.runContainer(st, s, c, args)
	if rmErr := r.b.containers.Remove(c, true); rmErr != nil {
		rmErr = fmt.Errorf("remove intermediate container %s: %w", c.ShortID(), rmErr)
		return errors.Join(err, rmErr)
	}
	if err != nil {
		return err
	}
	r.printf("Removing intermediate container %s\n", c.ShortID())
	return r.record(st, k, img)
}

// runContainer starts the container with its output going to the build's,
// waits for it, and commits its upper dir if the command succeeded.
func (r *buildRun) runContainer(st *stageState, s step, c *container.Container,
	args []string) (*image.Image, error) {

	p, err := r.b.containers.Start(c, container.Stdio{Stdout: r.out, Stderr: r.out})
	var execErr *namespaces.ExecError
	if errors.As(err, &execErr) {
		r.printf("%v\n", err)
		return nil, &ExitError{Args: args, Code: execErr.Code}
	}
	if err != nil {
		return nil, fmt.Errorf("start container: %w", err)
	}

	// Interrupting the build kills the command.
	stop := context.AfterFunc(r.ctx, func() { r.b.containers.Kill(c, syscall.SIGKILL) })
	state, err := p.Wait()
	stop()
	switch {
	case err != nil:
		return nil, fmt.Errorf("wait for container %s: %w", c.ShortID(), err)
	case r.ctx.Err() != nil:
		return nil, r.ctx.Err()
	case state.ExitCode != 0:
		return nil, &ExitError{Args: args, Code: state.ExitCode}
	}

	upper := r.b.containers.UpperDir(c)
	return r.newImage(st, s, func(w io.Writer) error {
		opts := tarball.WriteOptions{Clamp: r.clamp(), Logger: r.b.log}
		_, err := tarball.WriteDir(w, upper, opts)
		return err
	})
}

// runArgs returns the command line of a RUN step: the exec form as
// written, or the shell form after the shell. A here-document that is the
// whole command is the script itself; otherwise the bodies follow the
// line, and the shell reads them as it reads any here-document.
func runArgs(cfg *runConfig, in *dockerfile.Instruction) []string {
	if in.JSON {
		return cfg.command(in)
	}
	script := in.Args[0]
	if len(in.Heredocs) == 1 && dockerfile.HeredocName(strings.TrimSpace(script)) != "" {
		return append(cfg.shell(), in.Heredocs[0].Body)
	}
	for _, h := range in.Heredocs {
		script += "\n" + h.Body + h.Name
	}
	return append(cfg.shell(), script)
}

// argsPrefix is how the classic builder shows the ARGs a RUN step sees in
// its history line: "|2 A=1 B=2 ".
func argsPrefix(st *stageState) string {
	args := st.argsInEffect()
	if len(args) == 0 {
		return ""
	}
	return "|" + strconv.Itoa(len(args)) + " " + strings.Join(args, " ") + " "
}
