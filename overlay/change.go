package overlay

import (
	"cmp"
	"fmt"
	"slices"
)

// ChangeKind says how a path differs between the layers and the merged
// view.
type ChangeKind int

// The kinds of change, as `docker diff` prints them.
const (
	Added    ChangeKind = iota + 1 // A: the path is new
	Modified                       // C: the path existed below and changed
	Deleted                        // D: the path existed below and is gone
)

// String returns the letter `docker diff` prints: "A", "C" or "D".
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "A"
	case Modified:
		return "C"
	case Deleted:
		return "D"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one line of `docker diff`.
type Change struct {
	Kind ChangeKind
	// Path is absolute inside the container, such as "/etc/passwd".
	Path string
}

// String returns the change as `docker diff` prints it: "C /etc/passwd".
func (c Change) String() string {
	return c.Kind.String() + " " + c.Path
}

// sortChanges orders changes by path, a directory right before what is in
// it.
func sortChanges(changes []Change) {
	slices.SortFunc(changes, func(a, b Change) int {
		return comparePaths(a.Path, b.Path)
	})
}

// comparePaths orders slash-separated paths as a walk of the tree meets
// them: "/" sorts before every other byte, so "/etc/x" comes before
// "/etc-old", and a directory's entries stay together after it.
func comparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		switch {
		case a[i] == '/':
			return -1
		case b[i] == '/':
			return 1
		}
		return cmp.Compare(a[i], b[i])
	}
	return cmp.Compare(len(a), len(b))
}
