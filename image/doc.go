// Package image is skiff's image store: where images live on disk, how
// they are named, and how they are added and removed safely.
//
// # Content addressing
//
// Everything in the store is named by the sha256 digest of its bytes, so a
// name can never point at different content, and content that two images
// share is stored once. An image is three kinds of JSON and tar:
//
//	manifest ─┬─ config  (env, cmd, history, rootfs.diff_ids)   blob
//	          └─ layers  (tar changesets, often compressed)     blobs
//
// A layer has two names. Its digest names the blob as it is stored and sent
// (usually gzip-compressed); its diffID names the uncompressed tar, and is
// what the config lists in rootfs.diff_ids. The image ID, as Docker prints
// it, is the digest of the config.
//
// # On disk (an OCI image layout, plus unpacked layers)
//
//	<root>/oci-layout, index.json   the table of contents; a tag is the
//	                                org.opencontainers.image.ref.name
//	                                annotation holding the full reference
//	<root>/blobs/sha256/<hex>       manifests, configs, layer blobs
//	<root>/layers/<diffID>/diff/    each layer unpacked once (overlay lowerdir)
//	<root>/layers/<diffID>/layer.json  sizes learned while unpacking
//	<root>/tmp/<pid>-<random>/      scratch space of one running command
//	<root>/lock, gc.lock            flock(2) files
//
// Because the store is an OCI image layout, other tools read it: `skopeo
// inspect oci:/var/lib/skiff:docker.io/library/busybox:latest`.
//
// # Nothing half-made
//
// A blob is written to a scratch file while its digest is computed, checked,
// fsync'd and then renamed into blobs/. A layer is unpacked into a scratch
// directory, flushed with syncfs(2) and renamed into layers/. Only then is
// the image named in index.json, itself replaced by rename(2) under an
// exclusive flock. A command killed at any moment leaves at most a scratch
// directory and unnamed content; the next command that opens the store sees
// that the scratch directory's process is dead, removes it, and collects the
// unnamed content (mark and sweep from index.json). Commands that add
// content hold gc.lock shared; collection holds it exclusively, so it never
// takes content that is still on its way to being named.
//
// Every blob is checked against its digest when it is written and when it
// is read, and every layer's diffID against the config.
//
// See the OCI image spec: image-layout.md, manifest.md, config.md and
// descriptor.md at https://github.com/opencontainers/image-spec.
//
// # Limitations
//
//   - Layers are unpacked by diffID, not by chain ID: two images whose layer
//     stacks share a tar share the directory. That is right for overlayfs,
//     which composes layers at mount time; a copy-based driver (vfs) would
//     need one directory per chain, as Docker keeps.
//   - An image whose manifest names the same config as another manifest
//     (the same image compressed differently) is listed twice.
//   - Listing reads and verifies every manifest and config: fine for
//     hundreds of images, slow for many thousands. Docker keeps a database.
//   - A pid counts as the owner of a scratch directory while it is alive; a
//     reused pid delays the clean-up until that process exits.
package image
