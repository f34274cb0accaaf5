// Command genlayer writes a gzip-compressed layer tarball for benchmarks:
// a deterministic tree of many small files and a few large ones, like the
// root filesystem of a small distribution.
//
//	genlayer -o layer.tar.gz -size 170000000 -seed 1
//
// The same flags always give the same bytes, so benchmark runs on different
// days, or machines, unpack the same layer. It prints what it wrote as
// key=value pairs (files, dirs, tar_bytes, gz_bytes) for scripts/bench.sh.
//
// File sizes follow a rough picture of /usr: two thirds under 4 KiB, a
// third up to 16 KiB, a few percent up to 256 KiB. Half the files hold
// lines of words, half hold binary-like blocks (random, zero or repeated),
// so the layer compresses about as well as a real one (close to 3:1).
//
// # Limitations
//
//   - Only directories, regular files and symbolic links; no hard links,
//     device nodes or extended attributes, which the tar reader's own tests
//     cover.
//   - Compression uses the standard library's gzip at the default level.
package main
