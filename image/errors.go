package image

import "errors"

// Errors that callers branch on with [errors.Is].
var (
	// ErrNotFound means no image matches a reference or an ID.
	ErrNotFound = errors.New("no such image")
	// ErrAmbiguous means an ID prefix matches more than one image.
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
	// ErrConflict means a removal was refused: the image has several tags,
	// child images, or containers that use it.
	ErrConflict = errors.New("conflict")
	// ErrDigestMismatch means content does not match the digest (or the
	// diffID, or the size) that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
)
