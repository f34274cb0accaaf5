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
# and then, with the layer pushed as an image to a docker-registry started
# on 127.0.0.1 for the run, a cold pull into an empty store:
#
#   skiff pull      download, verify and unpack, layers streamed to disk
#   skopeo+umoci    skopeo copy docker://... oci:DIR, then umoci unpack:
#                   the same job done by two standard tools (docker pull
#                   and podman pull took as long as they do)
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
# GNU time measures peak memory; the registry, skopeo and umoci make the
# pull rows.
missing=()
for pkg in time docker-registry skopeo umoci curl; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
	echo "Installing ${missing[*]}."
	apt-get install -y -q "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
		die "cannot install ${missing[*]}"
fi

# Everything is unpacked below one scratch directory on /var/tmp (or
# $BENCH_TMPDIR): a disk, not a tmpfs, as a real store would be.
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/skiff-bench.XXXXXX")
registry_pid=
cleanup() {
	[[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
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

# The registry for the pull rows: Debian's docker-registry on a port of
# 127.0.0.1, its storage under $WORK. The image is the layer imported into
# a scratch store and pushed there.
echo "Starting a registry and pushing the layer to it as an image."
registry=127.0.0.1:$((20000 + RANDOM % 20000))
mkdir -p "$WORK/registry"
printf '%s\n' 'version: 0.1' 'log:' '  level: error' '  accesslog:' '    disabled: true' \
	'storage:' '  filesystem:' "    rootdirectory: $WORK/registry/storage" \
	'http:' "  addr: $registry" >"$WORK/registry/config.yml"
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
registry_pid=$!
for ((i = 0; i < 100; i++)); do
	curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://$registry/v2/" >/dev/null ||
	die "the registry did not start: $(cat "$WORK/registry/log")"
image=$registry/bench/layer:1
"$WORK/skiff" --root "$WORK/push-store" import "$layer" "$image" >/dev/null
"$WORK/skiff" --root "$WORK/push-store" push -q "$image" >/dev/null
rm -rf "$WORK/push-store"

echo "Timing $RUNS runs of each tool, taking turns."
mkdir "$WORK/times"
for ((i = 1; i <= RUNS; i++)); do
	measure tar tar -xzf "$layer" -C "$WORK/target"
	measure skiff env SKIFF_ROOT="$WORK/target" "$WORK/skiff" import "$layer"
	measure gunzip sh -c 'gzip -dc "$0" >/dev/null' "$layer"
	measure pull "$WORK/skiff" --root "$WORK/target" pull -q "$image"
	measure skopeo-umoci sh -c 'skopeo --insecure-policy copy -q --src-tls-verify=false \
		"docker://$0" "oci:$1/oci:1" && umoci unpack --image "$1/oci:1" "$1/bundle"' \
		"$image" "$WORK/target"
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

echo
printf 'Cold pull of that layer as an image from a docker-registry on %s.\n\n' "$registry"
printf '%-14s %9s %9s %16s %14s\n' tool seconds MB/s "vs skopeo+umoci" "peak RSS MiB"
theirs_s=$(seconds skopeo-umoci)
for row in "pull:skiff pull" "skopeo-umoci:skopeo+umoci"; do
	name=${row%%:*}
	s=$(seconds "$name")
	printf '%-14s %9.2f %9.1f %15.2fx %14s\n' "${row#*:}" "$s" \
		"$(calc "$tar_bytes / 1e6 / $s")" "$(calc "$s / $theirs_s")" "$(peak_mib "$name")"
done
echo "(skopeo+umoci's peak RSS is the larger of the two programs'.)"

skiff_s=$(seconds skiff)
skiff_rss=$(peak_mib skiff)
pull_s=$(seconds pull)
pull_rss=$(peak_mib pull)
echo
verdict() { if (($(calc "($1) ? 1 : 0"))); then echo met; else echo "not met"; fi; }
printf 'Targets: skiff import >= 1.5x tar -xzf: %s; skiff peak RSS <= 64 MiB: %s.\n' \
	"$(verdict "$tar_s / $skiff_s >= 1.5")" "$(verdict "$skiff_rss <= 64")"
printf 'Targets: skiff pull <= 0.5x skopeo+umoci: %s; skiff pull peak RSS <= 64 MiB: %s.\n' \
	"$(verdict "$pull_s / $theirs_s <= 0.5")" "$(verdict "$pull_rss <= 64")"
