#!/usr/bin/env bash
# bench.sh compares skiff with the standard tools on the same input, in one
# run, and prints the ratios side by side:
#
#   sudo scripts/bench.sh                         # on /var/tmp, 5 runs
#   sudo RUNS=7 BENCH_TMPDIR=/dev/shm scripts/bench.sh   # on tmpfs, 7 runs
#
# Row by row, each tool does the same job on the same generated layer
# (scripts/genlayer: ~185 MB of tar, ~20,000 files, gzip-compressed):
#
#   tar -xzf        unpack the layer into a fresh directory
#   skiff import    unpack it into a fresh store, computing its diffID and
#                   keeping the compressed blob, as an image layer needs
#   gzip -dc        only decompress it: the floor for anyone reading gzip
#
# The tools take turns (tar, skiff, gzip, tar, ...) so that a change in the
# machine's load hits all of them alike; the table shows the median of the
# runs. Page caches are not dropped: the layer file is read from the cache
# by every run alike. On a slow disk, the disk's own cost can swamp the
# difference between the tools; BENCH_TMPDIR=/dev/shm unpacks on tmpfs and
# compares only what the tools do. Later issues add rows (runc, skopeo,
# podman).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

RUNS=${RUNS:-5}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/skiff-bench
LAYER_SIZE=170000000
LAYER_SEED=1

die() {
	echo "bench.sh: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "run me as root (sudo scripts/bench.sh): layers hold root's files"
command -v go >/dev/null || die "Go is not installed (looked in PATH and /usr/local/go/bin)"
if [[ ! -x /usr/bin/time ]]; then
	echo "Installing GNU time, to measure peak memory."
	apt-get install -y -q time >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; } ||
		die "cannot install the time package"
fi

# Everything is unpacked below one scratch directory on /var/tmp (or
# $BENCH_TMPDIR): a disk, not a tmpfs, as a real store would be.
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/skiff-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CACHE"

echo "Building skiff."
go build -o "$WORK/skiff" ./cmd/skiff

# The layer is made once and kept: the same seed gives the same bytes.
layer=$CACHE/layer-$LAYER_SEED-$LAYER_SIZE.tar.gz
if [[ ! -s $layer || ! -s $layer.info ]]; then
	echo "Generating the benchmark layer (once; kept in $CACHE)."
	go run ./scripts/genlayer -o "$layer.tmp" -size "$LAYER_SIZE" -seed "$LAYER_SEED" \
		>"$layer.info.tmp"
	mv "$layer.tmp" "$layer"
	mv "$layer.info.tmp" "$layer.info"
fi
# files=N dirs=N links=N tar_bytes=N gz_bytes=N
read -r files dirs links tar_bytes gz_bytes < <(sed 's/[a-z_]*=//g' "$layer.info")

# calc prints the value of an arithmetic expression with decimals.
calc() { awk "BEGIN { print $* }"; }

# measure NAME CMD... runs CMD once, with $WORK/target fresh and empty, and
# appends "seconds peak_rss_kib" to $WORK/times/NAME.
measure() {
	local name=$1
	shift
	rm -rf "$WORK/target"
	mkdir -p "$WORK/target"
	sync
	local start=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null
	local end=$EPOCHREALTIME
	echo "$(calc "$end - $start") $(cat "$WORK/rss")" >>"$WORK/times/$name"
	rm -rf "$WORK/target"
}

echo "Timing $RUNS runs of each tool, taking turns."
mkdir "$WORK/times"
for ((i = 1; i <= RUNS; i++)); do
	measure tar tar -xzf "$layer" -C "$WORK/target"
	measure skiff env SKIFF_ROOT="$WORK/target" "$WORK/skiff" import "$layer"
	measure gunzip sh -c 'gzip -dc "$0" >/dev/null' "$layer"
	printf '  run %d of %d done\n' "$i" "$RUNS"
done

# median of the numbers on stdin, one per line.
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
seconds() { cut -d' ' -f1 "$WORK/times/$1" | median; }
peak_mib() {
	cut -d' ' -f2 "$WORK/times/$1" | sort -g | tail -n1 | awk '{ printf "%.1f", $1 / 1024 }'
}

tar_s=$(seconds tar)
echo
printf 'Layer: %.1f MB of tar (%d files, %d dirs, %d symlinks), %.1f MB gzip-compressed.\n' \
	"$(calc "$tar_bytes / 1e6")" "$files" "$dirs" "$links" "$(calc "$gz_bytes / 1e6")"
printf 'Unpacked on %s (%s); median of %d runs each; MB/s is tar bytes per second.\n\n' \
	"$(findmnt -n -o FSTYPE --target "$WORK" | head -n1)" "$WORK" "$RUNS"
printf '%-14s %9s %9s %14s %14s\n' tool seconds MB/s "vs tar -xzf" "peak RSS MiB"
for row in "tar:tar -xzf" "skiff:skiff import" "gunzip:gzip -dc"; do
	name=${row%%:*}
	s=$(seconds "$name")
	printf '%-14s %9.2f %9.1f %13.2fx %14s\n' "${row#*:}" "$s" \
		"$(calc "$tar_bytes / 1e6 / $s")" "$(calc "$tar_s / $s")" "$(peak_mib "$name")"
done

skiff_s=$(seconds skiff)
skiff_rss=$(peak_mib skiff)
echo
verdict() { if (($(calc "($1) ? 1 : 0"))); then echo met; else echo "not met"; fi; }
printf 'Targets: skiff import >= 1.5x tar -xzf: %s; skiff peak RSS <= 64 MiB: %s.\n' \
	"$(verdict "$tar_s / $skiff_s >= 1.5")" "$(verdict "$skiff_rss <= 64")"
