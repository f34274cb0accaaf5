// Package build turns a Dockerfile into an image, one step per
// instruction, reusing the steps it has done before: what `skiff build`
// does.
//
// # Steps make images, images make the cache
//
// A build starts from the image FROM names (or from nothing, for FROM
// scratch) and does one step per instruction. Every step makes a new
// image on top of the previous one, recording that one as its parent:
//
//	FROM busybox                      07c6d97fe2a7  busybox
//	RUN mkdir -p /var/log && ...      94ff53f36002  + layer: var/log/apt.log
//	RUN mkdir -p /var/www/html ...    06a7c551846e  + layer: var/www/html/...
//	COPY index.html /var/www/html/    c0d9bb83c571  + layer: index.html
//
// The last image gets the tags (-t); the ones before it are "intermediate
// images": untagged, hidden by `skiff images` but listed by `images -a`,
// and removed with the final image when nothing else needs them.
//
// A step makes a layer only when it changes the file system: RUN, COPY,
// ADD, and WORKDIR when the directory is new. The other instructions (ENV,
// LABEL, CMD, EXPOSE, ...) change only the image config: their image has
// the same layers as its parent and a history entry marked empty_layer, as
// Docker records them.
//
// # Where a layer comes from
//
// RUN runs its command in a container of the current image (package
// container): an overlay of the image's layers, read-only, under a fresh
// upper dir. Whatever the command writes, or deletes (as a whiteout), ends
// up in that upper dir and nowhere else. Once the command has exited with
// 0, the upper dir is written as a tar stream (tarball.WriteDir) straight
// into the store (image.Store.Commit): the step's layer is exactly what
// the step changed, and its cost grows with that, not with the size of the
// image below. The container has the network any container has (a bridge,
// unless --network says host, none or another network) and sees the ARG
// values as environment variables.
//
// COPY and ADD need no container. Their layer is written directly as a tar
// stream: the files, and before them the directories on their way, which
// the image already has or which the step creates. To know which exist
// (and to follow symbolic links in the destination as the container
// would), the build mounts the current image read-only for the step; the
// same view serves COPY --from, --chown user names (/etc/passwd of the
// image) and WORKDIR.
//
// # The cache
//
// Before doing a step, the build computes its cache key: a SHA-256 of
//
//   - the image the step starts from (its ID: the digest of its config,
//     which covers every layer and setting below);
//   - the instruction after variable substitution, as the history shows it
//     ("RUN /bin/sh -c apt-get update", "COPY index.html /var/www/...");
//   - the build arguments in effect (ARG values, from --build-arg or the
//     defaults);
//   - for COPY and ADD, a digest of what they read: each file's path, type,
//     mode, link target, size and content, but not its modification time
//     (a fresh checkout must not bust the cache); for COPY --from, the ID of
//     the image the files come from; for a URL, the downloaded content;
//   - the SOURCE_DATE_EPOCH, when set, which changes every timestamp.
//
// The cache is a directory, <root>/buildcache/, of one small file per key
// holding the ID of the image the step made. If the image is still in the
// store, the step is a hit: " ---> Using cache", and the build goes on from
// that image. The first miss in a stage ends the lookups for the rest of
// the stage, as in Docker: every later step starts from a new parent
// anyway. Hence the rule for writing Dockerfiles: put what changes least
// first. Editing a file that only the last COPY reads rebuilds only that
// step; editing the first RUN rebuilds everything after it.
//
// # Reproducible builds
//
// Two builds of the same inputs differ in their time stamps: the config
// records when each step ran, and the files a step writes carry the time
// they were written. Everything else in a layer is the same every time
// (entries sorted, numeric owners, no access times). With SOURCE_DATE_EPOCH
// set, that time is used instead of now, and no file time in a new layer
// is later than it: the same inputs then give the same layers and the same
// image ID. See https://reproducible-builds.org/specs/source-date-epoch/.
//
// # Stages
//
// Every FROM starts a stage. A stage can start from an earlier stage
// (FROM build) and copy files from one (COPY --from=build), which keeps
// compilers out of the final image. The stages are built in order, up to
// --target or the last one; the last one built is the result.
//
// References: https://docs.docker.com/reference/dockerfile/ and
// https://docs.docker.com/build/cache/.
//
// # Limitations
//
//   - Stages are built in order up to the target, all of them, as Docker's
//     classic builder does; BuildKit builds only the stages the target
//     needs, and in parallel.
//   - VOLUME only records the volume: a RUN after it can still change the
//     directory's content, which Docker would throw away.
//   - A RUN here-document that is the whole command runs with the shell,
//     even when it starts with "#!"; BuildKit runs it as a script file.
//   - ADD does not fetch Git repositories, and unpacks tar archives that are
//     plain, gzip or zstd (not bzip2 or xz); COPY does not keep hard links
//     between copied files (neither does Docker's classic builder).
//   - WORKDIR creates its directory owned by root, as the classic builder
//     did; BuildKit gives it to USER.
//   - RUN takes no flags: no --mount for caches and secrets. A cache miss
//     reruns the step from scratch.
//   - FROM --platform is only passed on to a pull; an image already in the
//     store is used whatever its platform.
//   - Cache entries are small files that are never pruned; one whose image
//     was removed is simply a miss. Docker has `builder prune`.
//   - Without a context directory (a Dockerfile from standard input), COPY
//     and ADD of local files fail; docker build also takes a tar stream of
//     a context on standard input.
package build
