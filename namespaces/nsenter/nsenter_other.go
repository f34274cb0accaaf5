//go:build !linux || !cgo

package nsenter

// Without cgo, or off Linux, there is no constructor: the package does not
// register itself with package namespaces, whose Join then returns
// ErrJoinUnsupported rather than run a command outside the container.
