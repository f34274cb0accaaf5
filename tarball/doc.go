// Package tarball reads and writes layer tarballs, the change sets that
// container images are made of.
//
// # Layers
//
// An image is an ordered list of layers. Each layer is a tar archive, a
// tarball, of the files it adds or changes relative to the layers below
// it, usually compressed with gzip or zstd. Stacked from the bottom up, the
// layers give the root file system of a container. The format is described
// by the OCI image spec's layer.md:
// https://github.com/opencontainers/image-spec/blob/main/layer.md.
//
// [Extract] unpacks a layer tarball into a directory, the layer dir, which
// later becomes one lowerdir of an overlay mount. [WriteDir] goes the other
// way: it turns a directory, such as a container's upperdir, into a layer
// tarball. [Detect] and [NewWriter] deal with the compression.
//
// # DiffID and digest
//
// A layer has two names. Its digest is the sha256 of the blob exactly as it
// is stored and sent, compressed: the manifest lists it, and a registry
// serves the blob by it. Its diffID is the sha256 of the uncompressed tar:
// the image config lists the diffIDs, in order, as rootfs.diff_ids. The
// same tar compressed twice has two digests but one diffID. Extract
// computes the diffID while it unpacks, in the same single pass over the
// stream, and WriteDir while it writes; both return it in [ExtractResult].
//
// # Whiteouts
//
// A tar can add files, but it has no way to say "delete". The layer format
// says it with whiteouts, empty entries with reserved names: ".wh.NAME"
// deletes NAME from the layers below, and an opaque whiteout, ".wh..wh..opq"
// inside directory D, hides everything the layers below have in D while
// keeping D itself (see [WhiteoutPrefix] and [OpaqueWhiteout]).
//
// Overlayfs, which stacks the layer dirs, has its own forms for the same
// two things (https://docs.kernel.org/filesystems/overlayfs.html): a
// whiteout is a character device with device number 0/0, and an opaque
// directory carries the xattr trusted.overlay.opaque=y ([OpaqueXattr]).
// Extract stores whiteouts in overlayfs's forms, so that a layer dir is a
// lowerdir as it is, and WriteDir turns an upperdir's back into the layer
// format. Making a device needs CAP_MKNOD (mknod(2)), and trusted.* xattrs
// need CAP_SYS_ADMIN (xattr(7)): both need root.
//
// # Threat model
//
// A layer comes from the network and may be crafted to attack the host
// that unpacks it: names with ".." or a leading "/", symlinks pointing
// anywhere followed by entries written through them, hard links to files
// outside, absurd sizes. Extract treats every entry as hostile:
//
//   - Names are cleaned. A leading "/" means the layer root, as in Docker;
//     a name that still climbs out with ".." is refused with an error that
//     names the entry.
//   - Every parent directory is opened with openat2(2) and RESOLVE_IN_ROOT,
//     which resolves a path as if the layer dir were "/": ".." stops at it,
//     and an absolute symlink starts again from it, so "/etc" inside a
//     layer is dir/etc, never the host's /etc. RESOLVE_NO_MAGICLINKS
//     refuses /proc's magic links.
//   - The last component is made with the *at system calls relative to
//     that parent's descriptor, without following a symlink (O_NOFOLLOW,
//     O_EXCL, AT_SYMLINK_NOFOLLOW): what is already there, be it a symlink,
//     a hard link or a device, is replaced, never written through.
//   - A hard link's target is looked up the same way, and linkat(2) links
//     a symlink itself, never what it points to.
//   - Sizes over 1 TiB and owners or device numbers out of range are
//     refused, and overlayfs's own xattrs in a layer are dropped.
//
// No path from the layer is ever joined to the layer dir as a string and
// handed to the kernel. These guarantees are about the layer's content:
// the layer dir itself must be private to the caller while Extract runs.
//
// # Speed and memory
//
// Extract streams. One goroutine decompresses; a second hashes the stream,
// parses and checks the tar and batches the file content; the caller's
// goroutine makes the files. Its buffers take about 7 MiB whatever the size
// of the layer, plus the zstd window (at most 32 MiB) for a zstd layer.
// Files are not synced one by one: [Sync] flushes the whole file system
// with one syncfs(2) once the layer is complete. Up to 512 directories of
// recent entries stay open, so that a layer coming back to a directory
// after a subdirectory does not look it up again. A caller that also keeps
// the compressed blob, as the image store does, reads it through
// [ReadAhead], which writes the blob on a goroutine of its own: the
// decompressor, the slowest step, then does nothing else.
//
// # Limitations
//
//   - Without root, Extract cannot make devices or whiteouts or set
//     trusted.* and security.* xattrs, and every file belongs to the user
//     who runs it. Rootless engines map IDs with a user namespace and use
//     overlayfs's userxattr whiteouts instead.
//   - Sparse files are written dense, by Extract and WriteDir alike.
//   - An entry below a symlink to a directory that does not exist yet
//     fails; Docker creates the missing directory.
//   - A hard link may name any file already in the layer dir. Into an
//     empty layer dir, as the image store extracts, that is an earlier
//     entry of the same layer.
//   - Directory modes and times wait in memory for the end of the layer,
//     which costs about 64 bytes plus the path per directory.
//   - WriteDir expects an upperdir mounted without redirect_dir, metacopy
//     and data-only layers, whose xattrs it drops. It keeps every other
//     xattr except security.selinux, a label of the host rather than of
//     the image, and skips sockets, which a tar cannot hold.
//   - Extract needs openat2(2), Linux 5.6. Before Linux 6.6, which added
//     fchmodat2(2), it sets modes with fchmodat(2) on paths it has just
//     made itself.
package tarball
