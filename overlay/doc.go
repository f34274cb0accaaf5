// Package overlay mounts the layers of an image as one file system with
// overlayfs, and reports what a container changed on top of them, as
// `docker diff` does.
//
// # Layers, upper dir, work dir, merged view
//
// An image is a stack of layers, each unpacked once into its own layer dir
// (package image keeps them at <root>/layers/<diffID>/diff). overlayfs, the
// union file system of the Linux kernel, shows several directories as one:
//
//	merged   (rootfs/)   what the container sees as /
//	upperdir (upper/)    the container layer: the only one written to
//	lowerdir (layer dirs) read-only, the topmost listed first
//	workdir  (work/)     the kernel's scratch space, next to upperdir
//
// A lookup in the merged view takes the name from the topmost directory that
// has it: the upper dir, then the lower dirs from top to bottom. Directories
// that exist in several of them are merged, so readdir(2) lists the union.
// The image config lists its layers lowest first (rootfs.diff_ids), and the
// lowerdir option lists them topmost first, so [Mount] reverses the order.
//
// # Copy-up, whiteouts and opaque directories
//
// Lower dirs are never modified. The first write to a file that lives in a
// lower dir copies it up: overlayfs copies the file, and every parent
// directory not yet there, into the upper dir, then writes the copy. Each
// layer dir can therefore be shared by every container of every image that
// has it.
//
// Deleting needs a mark, since the lower file cannot go: overlayfs creates a
// whiteout in the upper dir, a character device with device number 0/0 and
// the deleted name, which hides the name below. Removing a directory and
// making a new one with the same name gives an opaque directory: the
// xattr trusted.overlay.opaque=y on the new directory hides everything the
// lower dirs have beneath that name.
//
// These are the same two marks that image layers carry as tar entries, in
// another form: a ".wh.NAME" entry ([tarball.WhiteoutPrefix]) deletes NAME,
// and a ".wh..wh..opq" entry ([tarball.OpaqueWhiteout]) makes its directory
// opaque. Package tarball turns them into the overlayfs form when it unpacks
// a layer, so a layer dir is ready to be a lowerdir, and back when it writes
// a layer from an upper dir. [Changes] reads the overlayfs form to list
// what a container added (A), changed (C) and deleted (D).
//
// # Why the work dir sits next to the upper dir
//
// Copy-up must look atomic: a crash or a concurrent reader must never see a
// half-copied file in the upper dir. overlayfs builds the copy in the work
// dir and then moves it into place with rename(2), which only works within
// one file system. The kernel therefore refuses a work dir on another file
// system than the upper dir; Mount checks it first to say so clearly. The
// work dir also holds the kernel's own temporary files, so nothing else may
// use it, and two mounts may not share one.
//
// # The options skiff sets, and why
//
//   - index=off. With the index, overlayfs records in the upper dir which
//     lower files it came from (by file handle), to keep hard links intact
//     across copy-up. The upper dir is then tied to the exact lower dirs it
//     was made on: moving or unpacking the store again makes the next
//     mount fail. Docker turns it off for the same reason. The price: the
//     kernel then only warns when a second overlay takes an upper dir that
//     is in use, and both mounts misbehave, so Mount looks for such a mount
//     in /proc/self/mountinfo and refuses.
//   - redirect_dir=nofollow. A directory renamed with redirect_dir=on is
//     stored as a pointer (an xattr) to its old lower path instead of being
//     copied, and such an upper dir is no longer a plain changeset that can
//     be diffed or written out as a layer. With "nofollow", rename(2) of a
//     lower directory fails with EXDEV (mv(1) then copies), and redirects
//     found in a layer are never followed, so a crafted layer cannot point
//     a lookup somewhere else.
//   - metacopy=off. With metacopy=on, chmod(2) or chown(2) copies up only
//     the metadata and leaves the data in the lower dir, again making the
//     upper dir incomplete. The kernel documentation warns not to use it
//     with untrusted layers, which pulled images are.
//   - No userxattr. That option makes overlayfs use user.overlay.* xattrs,
//     for mounts made inside a user namespace. skiff mounts as real root
//     and its layers carry trusted.overlay.* xattrs.
//   - No MS_NODEV and no MS_NOSUID. The rootfs is the container's whole
//     file system: set-user-ID programs such as su(1) and passwd(1) must
//     work, and runc and Docker mount it the same way. Device nodes that an
//     image ships are governed by the container's device cgroup and its
//     missing CAP_MKNOD; the container's /dev is a separate tmpfs that the
//     in-container init mounts with only the standard nodes.
//   - A view without an upper dir is mounted read-only.
//
// Every option and the exact mount call are logged at debug level.
//
// # One page of options, and two ways around it
//
// mount(2) takes the file system's options as one string, and the kernel
// copies at most one page of it (4096 bytes on x86-64). A store path such as
// /var/lib/skiff/layers/<64 hex digits>/diff is about 90 bytes, so the
// lowerdir list of a stack of 100 layers no longer fits. overlayfs itself
// accepts up to 500 lower dirs; Mount refuses more with a clear error.
//
//   - The new mount API (Linux 5.2, fsopen(2), fsconfig(2), fsmount(2) and
//     move_mount(2)) configures a file system one parameter per system
//     call. Since Linux 6.8 overlayfs takes "lowerdir+", which appends one
//     lower dir per fsconfig(2) call: no length limit applies to the stack.
//     This is the path Mount takes where the kernel has it. One value may
//     be at most 255 bytes; a stack with a longer path takes the fallback.
//   - On older kernels Mount falls back to mount(2) with short lower paths:
//     it opens each layer dir (O_PATH) and names it /proc/self/fd/N, which
//     the kernel follows to the open directory. That is about 18 bytes per
//     layer, separator included, so about 200 layers fit in a page. Docker
//     does the same job with a directory of short symlinks
//     (<root>/overlay2/l/<26 letters>) and relative paths resolved from the
//     working directory; but the working directory is shared by every
//     thread of a Go program, so chdir(2) would need a re-executed helper
//     process or a promise that nothing else runs. File descriptors need
//     neither, and leave nothing on disk to clean up.
//
// Mount probes once which path the kernel supports: fsopen(2) fails with
// ENOSYS before Linux 5.2, and fsconfig(2) rejects the key "lowerdir+"
// with EINVAL before Linux 6.8.
//
// Two stacks need no overlay at all: a single layer without an upper dir is
// bind-mounted read-only (overlayfs wants two lower dirs when there is no
// upper dir), and an upper dir without layers (an image built FROM scratch)
// is bind-mounted read-write, since there is nothing below it to hide.
//
// # References
//
//   - The kernel's overlayfs documentation:
//     https://docs.kernel.org/filesystems/overlayfs.html
//     (Documentation/filesystems/overlayfs.rst in the kernel tree).
//   - mount(2), umount(2): https://man7.org/linux/man-pages/man2/mount.2.html
//   - fsopen(2), fsconfig(2), fsmount(2), move_mount(2):
//     https://man7.org/linux/man-pages/man2/fsopen.2.html
//   - The OCI image spec's whiteouts:
//     https://github.com/opencontainers/image-spec/blob/main/layer.md
//
// # Limitations
//
//   - Mount needs root (CAP_SYS_ADMIN in the initial user namespace). Rootless
//     engines mount overlayfs in a user namespace with userxattr, or use
//     fuse-overlayfs.
//   - The fallback needs /proc mounted, and the mount table then shows the
//     /proc/self/fd/N names, which mean nothing once the mount is made. It
//     fits about 200 layers in a page, not overlayfs's 500; a helper that
//     chdir(2)s to /proc/self/fd could pass plain numbers instead.
//   - Mount finds an upper dir in use only among the mounts of its own mount
//     namespace. Docker and containerd rely on their own bookkeeping.
//   - [Unmount] falls back to a lazy unmount (MNT_DETACH) when the mount is
//     busy: the mount disappears from view at once, but the overlay lives on
//     until its last user goes, and the upper dir stays in use until then.
//     runc and containerd kill or wait for the users first.
//   - [Changes] reports a directory that was removed and made again (an
//     opaque directory) as changed, and the new entries in it as added, as
//     `docker diff` does; it does not list the hidden lower entries one by
//     one. Changes ignores directory times, as Docker does, and does not
//     understand redirects, metacopy or the xattr whiteouts of nested
//     overlays, none of which skiff's own mounts create.
package overlay
