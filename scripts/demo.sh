#!/usr/bin/env bash
# demo.sh shows skiff at work on this machine, from nothing:
#
#   sudo scripts/demo.sh
#
# It builds skiff, makes the busybox image without any network, then tells
# the tutorial's story: a Dockerfile built into an image, a layer per step;
# the same build again, every step from the cache; the intermediate images;
# a container serving the page on port 8080; ps, stop, start and rm. The
# store is /var/lib/skiff, or $SKIFF_ROOT. It says what it is about to do
# before each step, stops at the first failure (removing the container it
# made), and is safe to run again.
#
# Where the machine can reach Docker Hub, it also pulls busybox from there
# and runs it; it asks Docker Hub first, for at most five seconds, and says
# whether it pulls or skips. SKIFF_DEMO_OFFLINE=1 skips that part without
# asking.
set -Eeuo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

current=""
trap 'echo >&2; echo "demo.sh: stopped, this step failed: $current" >&2' ERR

# step says in one sentence what comes next, then runs it.
step() {
	current=$1
	shift
	printf '\n==> %s\n' "$current"
	"$@"
}

if [[ $(id -u) != 0 ]]; then
	echo "demo.sh: run me as root (sudo scripts/demo.sh): images hold files owned by root" >&2
	exit 1
fi
if ! command -v go >/dev/null; then
	echo "demo.sh: Go is not installed; put Go 1.26 or newer in /usr/local/go" >&2
	exit 1
fi

step "Building skiff, and skiff-init (each container's first process), into bin/." \
	build_skiff bin/skiff
step "Making the busybox:latest image from Debian's busybox-static package." \
	env SKIFF=bin/skiff scripts/mkbusybox.sh
step "Listing the images in the store." \
	bin/skiff images

# The tutorial's Dockerfile: a base image, two RUN steps, COPY index.html.
site=$(mktemp -d)
skiff=$PWD/bin/skiff
cleanup() {
	"$skiff" rm -f web >/dev/null 2>&1 || true
	rm -rf "$site"
}
trap cleanup EXIT
printf '%s\n' 'FROM busybox' \
	'RUN mkdir -p /var/www/html' \
	'RUN echo "built by skiff" > /var/www/html/built.txt' \
	'COPY index.html /var/www/html/index.html' >"$site/Dockerfile"
echo '<h1>Hello from a skiff container</h1>' >"$site/index.html"
"$skiff" rm -f web >/dev/null 2>&1 || true

step "Building the tutorial's Dockerfile: each step makes a layer." \
	"$skiff" build -t web "$site"
step "Building it again: every step comes from the build cache." \
	"$skiff" build -t web "$site"
step "Listing all images, with the intermediate <none> images of the steps." \
	"$skiff" images -a
step "Running httpd in a container, its port 80 published on 8080 (--init passes stop's SIGTERM on)." \
	"$skiff" run -d --init -p 8080:80 --name web web httpd -f -h /var/www/html
fetch() {
	for _ in $(seq 50); do
		wget -qO- http://127.0.0.1:8080/ 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
step "Fetching the page from this machine." fetch
step "Listing the containers." \
	"$skiff" ps -a
step "Stopping the container: its writable layer stays." \
	"$skiff" stop web
step "Starting it again." \
	"$skiff" start web
step "Removing it, writable layer and all." \
	"$skiff" rm -f web

# The optional part: an image from Docker Hub. Its tag is not latest, so the
# busybox:latest made above stays as it is.
hub_image=busybox:1.36

# docker_hub_answers reports whether Docker Hub's registry answers within
# five seconds. Its API root answers 401 Unauthorized to a request with no
# token, which is the answer that says it is there.
docker_hub_answers() {
	command -v curl >/dev/null &&
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			https://registry-1.docker.io/v2/ || true) == 401 ]]
}

echo
if [[ ${SKIFF_DEMO_OFFLINE:-0} != 0 ]]; then
	echo "SKIFF_DEMO_OFFLINE is set, so the demo skips pulling $hub_image from Docker Hub."
elif docker_hub_answers; then
	echo "Docker Hub answers, so the demo pulls $hub_image from it and runs it."
	step "Pulling $hub_image from Docker Hub." \
		"$skiff" pull "$hub_image"
	step "Running it: the first line of its busybox --help names its version." \
		"$skiff" run --rm --network none "$hub_image" sh -c 'busybox --help 2>&1 | head -n 1'
else
	echo "Docker Hub does not answer from this machine, so the demo skips pulling $hub_image."
fi
