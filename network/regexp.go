package network

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles expr on first use rather than at start-up, which
// every skiff process (container inits and monitors too) would pay for.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
