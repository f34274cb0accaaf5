package registry

import (
	"fmt"
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is what an index entry is built for: os/architecture[/variant],
// e.g. linux/amd64 or linux/arm/v7.
type Platform struct {
	OS           string
	Architecture string
	Variant      string
}

// HostPlatform is the platform of this machine: Linux on the architecture
// this program was built for.
func HostPlatform() Platform {
	return Platform{OS: "linux", Architecture: runtime.GOARCH}.normalize()
}

// ParsePlatform parses os/arch[/variant] as --platform takes it.
func ParsePlatform(rawPlatform string) (Platform, error) {
	parts := strings.Split(strings.ToLower(rawPlatform), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("parse platform %q: want os/arch or os/arch/variant",
			rawPlatform)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p.normalize(), nil
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// normalize spells a platform as image indexes do: arm64's only variant
// v8 is left out, and 32-bit arm without a variant means v7, as containerd
// and Docker read it.
func (p Platform) normalize() Platform {
	switch {
	case p.Architecture == "aarch64":
		p.Architecture = "arm64"
	case p.Architecture == "x86_64" || p.Architecture == "x86-64":
		p.Architecture = "amd64"
	}
	switch {
	case p.Architecture == "arm64" && p.Variant == "v8":
		p.Variant = ""
	case p.Architecture == "arm" && p.Variant == "":
		p.Variant = "v7"
	case p.Architecture == "amd64" && p.Variant == "v1":
		p.Variant = ""
	}
	return p
}

// matches reports whether an index entry's platform is p. An entry
// without a variant matches any variant we want; amd64's microarchitecture
// levels (v2, v3) are ignored, as every amd64 machine runs v1 code.
func (p Platform) matches(entry *ocispec.Platform) bool {
	if entry == nil {
		return false
	}
	e := Platform{OS: entry.OS, Architecture: entry.Architecture, Variant: entry.Variant}
	e = e.normalize()
	if e.OS != p.OS || e.Architecture != p.Architecture {
		return false
	}
	return p.Variant == "" || e.Variant == "" || e.Variant == p.Variant ||
		p.Architecture == "amd64"
}
