package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/cgroups"
)

// Wait blocks until the container is no longer running and returns its
// recorded state (docker wait prints State.ExitCode).
func (s *Store) Wait(c *Container) (State, error) {
	for {
		if err := s.reconcile(c); err != nil {
			return c.State, err
		}
		if c.State.Status != Running {
			return c.State, nil
		}
		time.Sleep(20 * time.Millisecond)
		if err := s.reloadState(c); err != nil {
			return c.State, err
		}
	}
}

// Top lists the container's processes as `ps -ef` shows them (docker top):
// the PIDs come from the container's cgroup, the columns from the host's
// ps, as Docker does it. The first row is the header.
func (s *Store) Top(c *Container) ([][]string, error) {
	if err := s.reconcile(c); err != nil {
		return nil, err
	}
	if c.State.Status != Running {
		return nil, fmt.Errorf("cannot list the processes of container %s: %w",
			c.ShortID(), ErrNotRunning)
	}
	cg, err := cgroups.Open(cgroupName(c), s.log)
	if err != nil {
		return nil, err
	}
	pids, err := cg.Procs()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ps", "-ef").Output()
	if err != nil {
		return nil, fmt.Errorf("run ps -ef: %w", err)
	}
	return psRows(out, pids), nil
}

// psRows keeps the header and the rows of ps -ef output whose PID column
// is one of pids. The last column (CMD) may contain spaces.
func psRows(out []byte, pids []int) [][]string {
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for i := 0; sc.Scan(); i++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		row := append(fields[:7:7], strings.Join(fields[7:], " "))
		pid, err := strconv.Atoi(row[1])
		if i == 0 || err == nil && slices.Contains(pids, pid) {
			rows = append(rows, row)
		}
	}
	return rows
}
