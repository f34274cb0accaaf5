#!/usr/bin/env bash
# demo.sh shows skiff at work on this machine, from nothing:
#
#   sudo scripts/demo.sh
#
# It builds skiff, makes the busybox image without any network, and lists
# the images in the store (/var/lib/skiff, or $SKIFF_ROOT). It says what it
# is about to do before each step, stops at the first failure, and is safe
# to run again.
set -Eeuo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

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

step "Building skiff into bin/skiff." \
	go build -o bin/skiff ./cmd/skiff
step "Making the busybox:latest image from Debian's busybox-static package." \
	env SKIFF=bin/skiff scripts/mkbusybox.sh
step "Listing the images in the store." \
	bin/skiff images
