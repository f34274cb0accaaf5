//go:build linux && cgo

package nsenter

/*
extern int skiff_nsenter_entered;
*/
import "C"

// Supported reports whether this binary carries the C constructor. It is
// true when the package was built with cgo.
const Supported = true

// Entered reports whether the constructor joined a container's namespaces in
// this process, that is whether this process is the child it forked inside
// them.
func Entered() bool {
	return C.skiff_nsenter_entered != 0
}
