package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/namespaces"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/tarball"
)

// This file holds skiff info, which describes the host as skiff sees it,
// and skiff doctor, which checks that it has what skiff needs. Both only
// read: /proc and /sys files, $PATH, the store. Neither creates the store
// root nor touches the network.

// newInfoCommand builds "skiff info".
func newInfoCommand(name string) *command {
	c := &command{
		name:    name,
		summary: "Display system-wide information",
		usage:   "[OPTIONS]",
		example: "skiff info\nskiff --root /tmp/skiff info",
		args:    argRule{min: 0, max: 0},
		flags:   newFlagSet(name),
	}
	c.run = func(a *app, _ []string) error { return runInfo(a) }
	return c
}

// newDoctorCommand builds "skiff doctor".
func newDoctorCommand(name string) *command {
	return &command{
		name:     name,
		summary:  "Check that this host has what skiff needs, and say how to fix what is missing",
		usage:    "[OPTIONS]",
		example:  "skiff doctor\nsudo skiff doctor || echo 'see the FAIL lines'",
		args:     argRule{min: 0, max: 0},
		flags:    newFlagSet(name),
		run:      func(a *app, _ []string) error { return runDoctor(a) },
		exitHelp: doctorExitHelp,
	}
}

// doctorExitHelp replaces the usual exit codes in doctor's help: a failed
// check is not a failed command, but scripts still need to tell them apart.
const doctorExitHelp = `Exit status:
  0 when nothing skiff requires is missing (WARN lines name optional tools),
  1 when a check printed FAIL, 125 for a usage error.
`

// The files info and doctor read. /proc/sys/kernel/osrelease holds the
// release that uname(2) reports, uname -r.
const (
	osReleasePath    = "/proc/sys/kernel/osrelease"
	filesystemsPath  = "/proc/filesystems"
	procCgroupsPath  = "/proc/cgroups"
	unifiedCtrlsPath = "/sys/fs/cgroup/cgroup.controllers"
	ipForwardPath    = "/proc/sys/net/ipv4/ip_forward"
	mountinfoPath    = "/proc/self/mountinfo"
	maxUserNSPath    = "/proc/sys/user/max_user_namespaces"
	// Debian and Ubuntu kernels add this switch; upstream has none.
	usernsClonePath = "/proc/sys/kernel/unprivileged_userns_clone"
)

// infoLine is one "Key: value" line of skiff info.
type infoLine struct{ key, value string }

func runInfo(a *app) error {
	lines := []infoLine{{"Store root", storeRootInfo(a.root)}}
	counts, err := storeCounts(a)
	if err != nil {
		return err
	}
	lines = append(lines, counts...)
	lines = append(lines, hostInfo()...)

	s, err := readSettings()
	if err != nil {
		return err
	}
	insecure := append(s.InsecureRegistries, a.insecureRegistries...)
	lines = append(lines, infoLine{"Insecure registries", listOrNone(insecure)})

	for _, l := range lines {
		if _, err := fmt.Fprintf(a.stdout, "%s: %s\n", l.key, l.value); err != nil {
			return err
		}
	}
	return nil
}

// storeRootInfo is the store root and the file system it lives on.
func storeRootInfo(root string) string {
	fsType, err := fsTypeOf(root)
	if err != nil {
		return fmt.Sprintf("%s (file system unknown: %v)", root, err)
	}
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("%s (not created yet, on %s)", root, fsType)
	}
	return fmt.Sprintf("%s (%s)", root, fsType)
}

// storeCounts counts images and containers. A store that does not exist
// yet holds nothing, and is not made just to be counted.
func storeCounts(a *app) ([]infoLine, error) {
	if _, err := os.Stat(a.root); errors.Is(err, os.ErrNotExist) {
		return []infoLine{{"Images", "0"}, {"Containers", "0"}, {" Running", "0"},
			{" Stopped", "0"}}, nil
	}
	images, containers, err := a.openStores()
	if err != nil {
		return nil, err
	}
	imgs, err := images.Images()
	if err != nil {
		return nil, err
	}
	cs, err := containers.List(true)
	if err != nil {
		return nil, err
	}
	running := 0
	for _, c := range cs {
		if c.State.Status == container.Running {
			running++
		}
	}
	return []infoLine{
		{"Images", strconv.Itoa(len(imgs))},
		{"Containers", strconv.Itoa(len(cs))},
		{" Running", strconv.Itoa(running)},
		{" Stopped", strconv.Itoa(len(cs) - running)},
	}, nil
}

// hostInfo describes the kernel features skiff is made of.
func hostInfo() []infoLine {
	release := readTrimmed(osReleasePath)
	mode, cgErr := cgroups.Detect()
	layout := cgroupLayoutName(mode)
	if cgErr != nil {
		layout = "none (" + cgErr.Error() + ")"
	}
	return []infoLine{
		{"Kernel version", release},
		{"Operating system", operatingSystem()},
		{"Cgroup layout", layout},
		{"Cgroup controllers", listOrNone(cgroupControllers(mode))},
		{"Overlayfs", overlayInfo(release)},
		{"User namespaces", userNamespacesInfo()},
		{"openat2", openat2Info()},
		{"Firewall", firewallName()},
		{"IP forwarding", ipForwardingInfo()},
		{"Default network subnet", network.DefaultSubnet.String()},
		{"Init program", initProgramInfo(namespaces.InitProgramPath())},
	}
}

// initProgramInfo names the program that becomes each container's first
// process: skiff-init, or skiff itself when skiff-init is not beside it.
func initProgramInfo(path string) string {
	if path == namespaces.SelfExe {
		return "skiff itself (" + namespaces.InitProgram + " is not installed beside it)"
	}
	return path
}

// cgroupLayoutName names a layout as people say it: v1, v2 or hybrid.
func cgroupLayoutName(m cgroups.Mode) string {
	switch m {
	case cgroups.Legacy:
		return "v1"
	case cgroups.Unified:
		return "v2"
	case cgroups.Hybrid:
		return "hybrid"
	}
	return "unknown"
}

// cgroupControllers lists the controllers a container's group can use: on
// v2 those of the root's cgroup.controllers; on v1 and hybrid hosts those
// that /proc/cgroups shows enabled and bound to a v1 hierarchy (see
// cgroups(7)).
func cgroupControllers(m cgroups.Mode) []string {
	if m == cgroups.Unified {
		return strings.Fields(readTrimmed(unifiedCtrlsPath))
	}
	data, err := os.ReadFile(procCgroupsPath)
	if err != nil {
		return nil
	}
	return parseProcCgroups(string(data))
}

// parseProcCgroups returns the controllers of /proc/cgroups that are
// enabled and mounted as a v1 hierarchy (hierarchy ID not 0).
func parseProcCgroups(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[1] != "0" && f[3] == "1" {
			names = append(names, f[0])
		}
	}
	return names
}

// overlayInfo says whether overlayfs is registered, and whether it takes
// "lowerdir+" (Linux 6.8), which package overlay uses for deep stacks.
func overlayInfo(release string) string {
	if !hasFilesystem("overlay") {
		return "missing (not in " + filesystemsPath + "; modprobe overlay)"
	}
	v, err := parseKernelVersion(release)
	if err == nil && v.atLeast(kernelVersion{6, 8}) {
		return "yes (lowerdir+ with the new mount API: yes)"
	}
	return "yes (lowerdir+ with the new mount API: no, needs Linux 6.8)"
}

// hasFilesystem reports whether the kernel lists name in /proc/filesystems.
func hasFilesystem(name string) bool {
	data, err := os.ReadFile(filesystemsPath)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == name {
			return true
		}
	}
	return false
}

// userNamespacesInfo reports the limits that decide whether user
// namespaces can be made (see user_namespaces(7)).
func userNamespacesInfo() string {
	maxNS := readTrimmed(maxUserNSPath)
	if maxNS == "" {
		return "missing (no " + maxUserNSPath + ")"
	}
	state := "yes"
	if maxNS == "0" {
		state = "disabled"
	}
	s := fmt.Sprintf("%s (max_user_namespaces %s", state, maxNS)
	if clone := readTrimmed(usernsClonePath); clone != "" {
		s += ", unprivileged_userns_clone " + clone
	}
	return s + ")"
}

// openat2Info tries openat2(2) with RESOLVE_IN_ROOT, which tarball
// extraction and rootfs setup rely on (Linux 5.6).
func openat2Info() string {
	_, err := tarball.ResolveInRoot("/", "/")
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errors.ErrUnsupported):
		return "missing (needs Linux 5.6)"
	}
	return "missing (" + err.Error() + ")"
}

// firewallName is the tool package network would pick for its NAT rules:
// the first of nft and iptables in $PATH.
func firewallName() string {
	for _, tool := range []string{"nft", "iptables"} {
		if _, err := exec.LookPath(tool); err == nil {
			return tool
		}
	}
	return "none found"
}

// ipForwardingInfo reports net.ipv4.ip_forward, which containers on a
// bridge need to reach beyond the host.
func ipForwardingInfo() string {
	switch readTrimmed(ipForwardPath) {
	case "1":
		return "on"
	case "0":
		return "off"
	}
	return "unknown"
}

// operatingSystem is PRETTY_NAME from os-release(5), which lives in
// /etc/os-release or else /usr/lib/os-release.
func operatingSystem() string {
	for _, path := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		fields := parseOSRelease(string(data))
		if name := fields["PRETTY_NAME"]; name != "" {
			return name
		}
		if name := fields["NAME"]; name != "" {
			return name
		}
	}
	return "Linux"
}

// parseOSRelease reads os-release(5) text: KEY=value lines, values maybe
// in shell quotes; comments and blank lines are skipped.
func parseOSRelease(text string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if unquoted, err := strconv.Unquote(value); err == nil && strings.HasPrefix(value, `"`) {
			value = unquoted
		} else if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
			value = value[1 : len(value)-1]
		}
		fields[key] = value
	}
	return fields
}

// kernelVersion is the major and minor number of a Linux release.
type kernelVersion struct{ major, minor int }

// parseKernelVersion reads the start of a release such as
// "6.1.0-18-amd64" or "5.15.0-91-generic".
func parseKernelVersion(release string) (kernelVersion, error) {
	majorText, rest, ok := strings.Cut(release, ".")
	minorText := strings.TrimLeftFunc(rest, func(r rune) bool { return r >= '0' && r <= '9' })
	minorText = rest[:len(rest)-len(minorText)]
	major, err1 := strconv.Atoi(majorText)
	minor, err2 := strconv.Atoi(minorText)
	if !ok || err1 != nil || err2 != nil {
		return kernelVersion{}, fmt.Errorf("parse kernel release %q: want MAJOR.MINOR at its start",
			release)
	}
	return kernelVersion{major, minor}, nil
}

// atLeast reports whether v is want or later.
func (v kernelVersion) atLeast(want kernelVersion) bool {
	if v.major != want.major {
		return v.major > want.major
	}
	return v.minor >= want.minor
}

func (v kernelVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// fsTypeOf returns the type of the file system that holds path, or would
// hold it once made: that of the mount with the longest mount point
// containing path's nearest existing ancestor, as /proc/self/mountinfo
// lists it (see proc_pid_mountinfo(5)).
func fsTypeOf(path string) (string, error) {
	dir, err := existingAncestor(path)
	if err != nil {
		return "", err
	}
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return mountFSType(f, dir)
}

// mountFSType picks from mountinfo the file system type of the last
// mount (the one on top) with the longest mount point containing dir.
func mountFSType(mountinfo io.Reader, dir string) (string, error) {
	best, fsType := -1, ""
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		before, after, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(before), strings.Fields(after)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		point := unescapeOctal(f[4])
		if within(dir, point) && len(point) >= best {
			best, fsType = len(point), g[0]
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if best < 0 {
		return "", fmt.Errorf("find mount of %q: not in %s", dir, mountinfoPath)
	}
	return fsType, nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeOctal undoes mountinfo's escapes of space, tab, newline and
// backslash as \040, \011, \012 and \134.
func unescapeOctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// existingAncestor returns path itself if it exists, else its nearest
// ancestor that does.
func existingAncestor(path string) (string, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for {
		_, err := os.Stat(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) || path == "/" {
			return path, err
		}
		path = filepath.Dir(path)
	}
}

// readTrimmed returns the content of a one-line file such as a sysctl, or
// "" when it cannot be read.
func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// listOrNone joins names with commas, or says "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// A doctorCheck is one line of skiff doctor. An empty missing means the
// check passed; optional checks print WARN instead of FAIL.
type doctorCheck struct {
	what     string
	missing  string
	fix      string
	optional bool
}

// line renders the check as skiff doctor prints it.
func (c doctorCheck) line() string {
	switch {
	case c.missing == "":
		return "ok   " + c.what
	case c.optional:
		return "WARN " + c.what + ": " + c.missing + " — fix: " + c.fix
	}
	return "FAIL " + c.what + ": " + c.missing + " — fix: " + c.fix
}

func runDoctor(a *app) error {
	checks := []doctorCheck{
		checkRoot(),
		checkKernel(readTrimmed(osReleasePath)),
		checkOverlay(),
		checkCgroups(),
		checkStoreWritable(a.root),
		checkBusybox("/bin/busybox"),
		checkInitProgram(namespaces.InitProgramPath()),
		checkTools("nft or iptables (container networks reach out via NAT)",
			"apt-get install -y nftables", "nft", "iptables"),
		checkTools("skopeo (registry tests)", "apt-get install -y skopeo", "skopeo"),
		checkTools("docker-registry (registry tests)", "apt-get install -y docker-registry",
			"docker-registry"),
	}

	failed := false
	for _, c := range checks {
		if _, err := fmt.Fprintln(a.stdout, c.line()); err != nil {
			return err
		}
		failed = failed || (c.missing != "" && !c.optional)
	}
	if failed {
		return errReported
	}
	return nil
}

func checkRoot() doctorCheck {
	c := doctorCheck{what: "running as root", fix: "sudo skiff doctor"}
	if uid := os.Geteuid(); uid != 0 {
		c.missing = fmt.Sprintf("effective user ID is %d; mounts, namespaces and cgroups need root", uid)
	}
	return c
}

// checkKernel wants Linux 5.7: openat2(2) came in 5.6, clone3(2)'s
// CLONE_INTO_CGROUP, which starts containers in their v2 cgroup, in 5.7.
// It tries openat2 too.
func checkKernel(release string) doctorCheck {
	want := kernelVersion{5, 7}
	c := doctorCheck{
		what: "Linux " + want.String() + " or later (openat2, CLONE_INTO_CGROUP)",
		fix:  "apt-get install -y linux-image-$(dpkg --print-architecture) && reboot",
	}
	v, err := parseKernelVersion(release)
	switch {
	case err != nil:
		c.missing = err.Error()
	case !v.atLeast(want):
		c.missing = "running Linux " + release
	case openat2Info() != "ok":
		c.missing = "openat2 with RESOLVE_IN_ROOT: " + openat2Info()
	default:
		c.what += ": " + release
	}
	return c
}

func checkOverlay() doctorCheck {
	c := doctorCheck{what: "overlayfs", fix: "modprobe overlay"}
	if !hasFilesystem("overlay") {
		c.missing = "\"overlay\" is not in " + filesystemsPath
	}
	return c
}

func checkCgroups() doctorCheck {
	c := doctorCheck{
		what: "a cgroup hierarchy mounted at /sys/fs/cgroup",
		fix:  "mount -t cgroup2 none /sys/fs/cgroup",
	}
	mode, err := cgroups.Detect()
	if err != nil {
		c.missing = err.Error()
		return c
	}
	c.what += " (" + cgroupLayoutName(mode) + ")"
	return c
}

// checkStoreWritable makes and removes a file in the store root, or in its
// nearest existing ancestor when skiff has yet to create it.
func checkStoreWritable(root string) doctorCheck {
	c := doctorCheck{what: "store root " + root + " writable", fix: "sudo skiff doctor"}
	dir, err := existingAncestor(root)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".skiff-doctor-"); err == nil {
			f.Close()
			err = os.Remove(f.Name())
		}
	}
	switch {
	case err == nil:
	case os.Geteuid() != 0:
		c.missing = err.Error()
	case errors.Is(err, syscall.EROFS):
		c.missing = err.Error()
		c.fix = "mount -o remount,rw " + dir
	default:
		c.missing = err.Error()
		c.fix = "skiff --root " + defaultRoot + " ... (or another directory root can write)"
	}
	return c
}

// checkBusybox wants a statically linked busybox, the one program the
// labs' base image is made of: a static binary needs no loader (no
// PT_INTERP program header, see elf(5)) inside the image.
func checkBusybox(path string) doctorCheck {
	c := doctorCheck{
		what:     path + " (static, for the busybox image)",
		fix:      "apt-get install -y busybox-static",
		optional: true,
	}
	f, err := elf.Open(path)
	if err != nil {
		c.missing = err.Error()
		return c
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			c.missing = "it is dynamically linked"
		}
	}
	return c
}

// checkInitProgram wants skiff-init beside skiff; without it containers
// still start, with skiff itself as their init, only later.
func checkInitProgram(path string) doctorCheck {
	c := doctorCheck{what: namespaces.InitProgram + " beside skiff (containers start sooner)"}
	if path == namespaces.SelfExe {
		c.missing = "not found"
		c.fix = "go build -o $(dirname $(command -v skiff))/ ./cmd/skiff-init"
		c.optional = true
	}
	return c
}

// checkTools wants one of tools in $PATH; they are all optional.
func checkTools(what, fix string, tools ...string) doctorCheck {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err == nil {
			return doctorCheck{what: what + ": " + tool}
		}
	}
	return doctorCheck{
		what:     what,
		missing:  "not found in $PATH",
		fix:      fix,
		optional: true,
	}
}
