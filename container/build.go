package container

// UpperDir returns the container's upper dir: its own writable layer,
// where everything the container changed in its image's file system is.
// A build step turns it into the step's layer once the container exited
// (see [tarball.WriteDir]); it must not be read while the container runs.
func (s *Store) UpperDir(c *Container) string { return s.bundle(c.ID, "upper") }
