//go:build !linux || !cgo

package nsenter

// Supported reports whether this binary carries the C constructor. It is
// false here: the package was built without cgo, or not for Linux.
const Supported = false

// Entered reports whether the constructor joined a container's namespaces in
// this process; without the constructor it never has.
func Entered() bool {
	return false
}
