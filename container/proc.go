package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// processStart returns the start time of a process, field 22 of
// /proc/<pid>/stat (clock ticks after boot), or 0 when it does not exist.
// A PID can be reused as soon as its process is reaped; the pair of PID and
// start time names one process for the life of the machine. See proc(5).
func processStart(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest)
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 || fields[0] == "Z" {
		return 0
	}
	start, _ := strconv.ParseUint(fields[19], 10, 64)
	return start
}

// alive reports whether the process recorded as (pid, start) still runs.
func alive(pid int, start uint64) bool {
	return pid > 0 && start != 0 && processStart(pid) == start
}
