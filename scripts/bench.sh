#!/usr/bin/env bash
# bench.sh compares skiff with the standard tools on the same input, in one
# run, and prints the ratios side by side:
#
#   sudo scripts/bench.sh                         # on /var/tmp, 7 runs
#   sudo RUNS=9 BENCH_TMPDIR=/dev/shm scripts/bench.sh   # on tmpfs, 9 runs
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
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

RUNS=${RUNS:-7}
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
build_skiff "$WORK/skiff"

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

# skiff build, on a store of its own: the tutorial's 4-step Dockerfile
# (FROM busybox, RUN, RUN, COPY), fully cached and from scratch
# (--no-cache); then one RUN step that touches one file, on busybox and on
# an image that has the benchmark layer under busybox. A RUN step runs on
# an overlay and commits only its upper dir, so the big base must cost no
# more than the small one. Each timed build's image is removed afterwards,
# so that every run starts from a store of the same size. RUN steps use
# --network none: a bridge must not appear on this host (the container rows
# below measure what the bridge adds, about 7 ms per container).
echo
echo "Timing skiff build, $RUNS runs of each."
build_root=$WORK/build-store
skb() { "$WORK/skiff" --root "$build_root" "$@"; }
SKIFF=$WORK/skiff SKIFF_ROOT=$build_root scripts/mkbusybox.sh >/dev/null
skb import "$layer" bench-layer >/dev/null
printf 'FROM bench-layer\nCOPY --from=busybox / /\n' | skb build -q -t big-base - >/dev/null
mkdir -p "$WORK/web"
printf '%s\n' 'FROM busybox' \
	'RUN mkdir -p /var/log && echo "Hit:1 http://deb.debian.org bookworm InRelease" > /var/log/apt.log' \
	'RUN mkdir -p /var/www/html && echo apache2 > /var/www/html/.installed' \
	'COPY index.html /var/www/html/index.html' >"$WORK/web/Dockerfile"
echo '<h1>Hello from skiff</h1>' >"$WORK/web/index.html"
sync

# time_build NAME ARGS... appends the seconds of one skiff build to
# $WORK/times/NAME; the Dockerfile, if any, comes on stdin.
time_build() {
	local name=$1
	shift
	local start=$EPOCHREALTIME
	skb build -q --network none "$@" >/dev/null
	local end=$EPOCHREALTIME
	calc "$end - $start" >>"$WORK/times/$name"
}

skb build -q --network none -t web "$WORK/web" >/dev/null
for ((i = 1; i <= RUNS; i++)); do
	time_build build-cached -t web "$WORK/web"
done
for ((i = 1; i <= RUNS; i++)); do
	time_build build-cold --no-cache -t web-cold "$WORK/web"
	skb rmi web-cold >/dev/null
	for base in busybox big-base; do
		printf 'FROM %s\nRUN touch /one-file\n' "$base" |
			time_build "run-$base" --no-cache -t run-step -
		skb rmi run-step >/dev/null
	done
done

cold_s=$(seconds build-cold)
cached_s=$(seconds build-cached)
small_s=$(seconds run-busybox)
big_s=$(seconds run-big-base)
big_mb=$(skb image inspect --format '{{.Size}}' big-base | awk '{ printf "%d", $1 / 1e6 }')
echo
printf 'skiff build, median of %d runs each; RUN steps with --network none.\n\n' "$RUNS"
printf '%-48s %9s\n' step seconds
printf '%-48s %9.3f\n' "tutorial Dockerfile, from scratch (--no-cache)" "$cold_s"
printf '%-48s %9.3f\n' "tutorial Dockerfile, fully cached" "$cached_s"
printf '%-48s %9.3f\n' "RUN touching one file, busybox base" "$small_s"
printf '%-48s %9.3f\n' "RUN touching one file, ${big_mb} MB base" "$big_s"
echo "(For comparison, the same Dockerfile with Docker 20.10's classic builder /"
echo " BuildKit / podman: cold 1.38 / 0.42 / 1.31 s, cached 0.138 / 0.167 / 0.372 s.)"
echo
printf 'Targets: build cold <= 0.42 s: %s; build cached <= 0.050 s: %s; ' \
	"$(verdict "$cold_s <= 0.42")" "$(verdict "$cached_s <= 0.050")"
printf 'RUN on the big base <= 1.2x on busybox: %s (%.2fx).\n' \
	"$(verdict "$big_s / $small_s <= 1.2")" "$(calc "$big_s / $small_s")"

# Containers, all of them in a network namespace made for the bench, so
# that skiff's bridge, veths and NAT rule never appear on this host.
# nsenter --net enters only the network namespace; ip netns exec would also
# mount a new /sys, hiding the cgroup hierarchy skiff needs.
#
#   bridge vs none   skiff run --rm busybox true, with --network bridge (a
#                    veth pair, an address, a route) and --network none
#   skiff            skiff run --rm --network none busybox /bin/true
#   runc             runc run of a bundle on the same root filesystem
#   shell            unshare(1) + an overlay mount + chroot(1): the same
#                    kernel work with nothing around it
#   ps               skiff ps with 100 detached containers running
#
# Rows take turns, as above; each is the median of $CONTAINER_RUNS runs.
CONTAINER_RUNS=${CONTAINER_RUNS:-41}
for pkg in runc util-linux iproute2; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		apt-get install -y -q "$pkg" >/dev/null || die "cannot install $pkg"
done

netns=skiffbench
ctr_root=$WORK/ctr-store
inns() { nsenter --net="/run/netns/$netns" -- "$@"; }
sk() { inns "$WORK/skiff" --root "$ctr_root" "$@"; }
ip netns del "$netns" 2>/dev/null || true
ip netns add "$netns"
ip -n "$netns" link set lo up
# The containers go before the store does, the namespace after them.
container_cleanup() {
	local ids
	ids=$(sk ps -aq 2>/dev/null || true)
	[[ -z $ids ]] || xargs -n 10 -P 4 "$WORK/skiff" --root "$ctr_root" rm -f <<<"$ids" \
		>/dev/null 2>&1 || true
	ip netns del "$netns" 2>/dev/null || true
	cleanup
}
trap container_cleanup EXIT

echo
echo "Timing containers, $CONTAINER_RUNS runs of each, taking turns."
SKIFF=$WORK/skiff SKIFF_ROOT=$ctr_root scripts/mkbusybox.sh >/dev/null

# The same root filesystem for runc and the shell: busybox, exported from
# a container of the image. runc's bundle: its spec, run without a
# terminal, /bin/true as the command, the root read-only.
bundle=$WORK/bundle
ovl=$WORK/ovl
mkdir -p "$bundle/rootfs" "$ovl/upper" "$ovl/work" "$ovl/merged"
sk create --name export --network none busybox >/dev/null
sk export export | tar -x -C "$bundle/rootfs"
sk rm export >/dev/null
(cd "$bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"\/bin\/true"/' \
	"$bundle/config.json"
# The shell's run: the overlay skiff would mount, on the same lowerdir.
ovl_opts=lowerdir=$bundle/rootfs,upperdir=$ovl/upper,workdir=$ovl/work
shell_run="mount -t overlay overlay -o $ovl_opts $ovl/merged && chroot $ovl/merged /bin/true"
shell_run+="; umount $ovl/merged"

# clock NAME CMD... appends the seconds CMD takes to $WORK/times/NAME; its
# output is discarded, a failure stops the bench.
clock() {
	local name=$1
	shift
	local start=$EPOCHREALTIME
	"$@" >/dev/null 2>"$WORK/clock.err" || die "$* failed: $(cat "$WORK/clock.err")"
	local end=$EPOCHREALTIME
	calc "$end - $start" >>"$WORK/times/$name"
}

# One untimed round first: the bridge and its NAT rule are made by the
# first container and stay, as docker0 does; caches warm up.
sk run --rm busybox true >/dev/null
for ((i = 1; i <= CONTAINER_RUNS; i++)); do
	clock run-bridge sk run --rm --network bridge busybox true
	clock run-none sk run --rm --network none busybox true
	clock run-skiff sk run --rm --network none busybox /bin/true
	clock run-runc inns runc --root "$WORK/runc-state" run --bundle "$bundle" "bench-$i"
	clock run-shell inns unshare -m -u -i -n -p -f sh -c "$shell_run"
done

# skiff ps reads every container's state and checks that its processes
# live: with 100 containers running, it must stay quick.
echo "Starting 100 containers for skiff ps."
for ((i = 1; i <= 100; i++)); do
	sk run -d --network none --name "sleeper$i" busybox sleep 300 >/dev/null
done
for ((i = 1; i <= 20; i++)); do
	clock ps sk ps
done
[[ $(sk ps -q | wc -l) == 100 ]] || die "skiff ps does not list the 100 containers"
sk ps -aq | xargs -n 10 -P 4 "$WORK/skiff" --root "$ctr_root" rm -f >/dev/null

ms() { calc "$(seconds "$1") * 1000"; }
bridge_ms=$(ms run-bridge)
none_ms=$(ms run-none)
skiff_ms=$(ms run-skiff)
runc_ms=$(ms run-runc)
shell_ms=$(ms run-shell)
ps_ms=$(ms ps)
echo
printf 'skiff run --rm busybox true, median of %d runs each, in a network namespace.\n\n' \
	"$CONTAINER_RUNS"
printf '%-44s %9s\n' command ms
printf '%-44s %9.1f\n' "skiff run --network bridge" "$bridge_ms"
printf '%-44s %9.1f\n' "skiff run --network none" "$none_ms"
printf '%-44s %9.1f\n' "difference (bridge setup and teardown)" "$(calc "$bridge_ms - $none_ms")"
echo
printf '%-44s %9s %9s\n' "command (/bin/true on busybox)" ms "skiff vs"
printf '%-44s %9.1f\n' "skiff run --rm --network none" "$skiff_ms"
printf '%-44s %9.1f %8.2fx\n' "runc run" "$runc_ms" "$(calc "$skiff_ms / $runc_ms")"
printf '%-44s %9.1f %8.2fx\n' "unshare + mount overlay + chroot" "$shell_ms" \
	"$(calc "$skiff_ms / $shell_ms")"
printf '%-44s %9.1f\n' "skiff ps, 100 containers running (20 runs)" "$ps_ms"
echo
printf 'Targets: bridge adds <= 10 ms: %s; skiff <= 0.6x runc: %s; ' \
	"$(verdict "$bridge_ms - $none_ms <= 10")" "$(verdict "$skiff_ms / $runc_ms <= 0.6")"
printf 'skiff <= 1.7x the shell: %s; skiff ps <= 100 ms: %s.\n' \
	"$(verdict "$skiff_ms / $shell_ms <= 1.7")" "$(verdict "$ps_ms <= 100")"
