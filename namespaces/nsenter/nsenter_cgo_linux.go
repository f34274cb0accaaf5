//go:build linux && cgo

package nsenter

/*
extern int skiff_nsenter_entered;
*/
import "C"

import "github.com/skiff-dev/skiff/namespaces"

// A binary that imports this package can join running containers: tell
// package namespaces so, and how to know whether the constructor did.
func init() { namespaces.EnableJoin(Entered) }

// Entered reports whether the constructor joined a container's namespaces in
// this process, that is whether this process is the child it forked inside
// them.
func Entered() bool {
	return C.skiff_nsenter_entered != 0
}
