#!/usr/bin/env bash
# test.sh runs every check and test of skiff, as CI does:
#
#   sudo scripts/test.sh
#
# 1. installs what the tests need (Debian packages, pinned Go tools);
# 2. gofmt, go vet and staticcheck, stopping at the first that complains;
# 3. unit tests and root integration tests with the race detector;
# 4. the CLI tests, with the scenario scripts in cmd/skiff/testdata/script.
#
# It ends with one line "N passed, N failed, N skipped" and exits non-zero
# if anything failed. It needs root: the integration tests really create
# mounts and namespaces, and the scenario tests store files owned by root.
set -Eeuo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

# Pinned Go tools go to a cache of their own, not into the user's GOBIN.
STATICCHECK_VERSION=v0.8.2
TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/skiff-tools
APT_PACKAGES=(skopeo busybox-static docker-registry apache2-utils gcc iproute2 nftables iptables util-linux)

current="setting up"
step() {
	current=$*
	printf '\n==> %s\n' "$current"
}
die() {
	echo "test.sh: $*" >&2
	exit 1
}
trap 'echo "test.sh: stopped, this step failed: $current" >&2' ERR

[[ $(id -u) == 0 ]] || die "run me as root: sudo scripts/test.sh"
# The go command keeps its caches under $HOME; CI may start without one.
export HOME=${HOME:-/root}
command -v go >/dev/null || die "Go is not installed (looked in PATH and /usr/local/go/bin)"

step "Installing the Debian packages the tests use: ${APT_PACKAGES[*]}."
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" ||
		{ apt-get update -q && apt-get install -y -q "${missing[@]}"; } ||
		die "cannot install ${missing[*]}"
else
	echo "All there."
fi

step "Installing staticcheck $STATICCHECK_VERSION into $TOOLS."
mkdir -p "$TOOLS"
GOBIN=$TOOLS go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
go build -o "$TOOLS/testsummary" ./scripts/testsummary

step "Checking formatting with gofmt."
unformatted=$(gofmt -l .)
[[ -z $unformatted ]] || die "gofmt wants to change these files:"$'\n'"$unformatted"

step "Running go vet."
go vet ./...

step "Running staticcheck."
"$TOOLS/staticcheck" ./...

# The test steps all run, even after a failure, so one run shows every
# failing test; their counts add up in $state.
state=$(mktemp)
trap 'rm -f "$state"' EXIT
failed=0

# As root, the root integration tests run here for real rather than skip,
# so they need no second pass. The scenario tests get their own step.
# -count=1: CI's results must come from this run, not from the test cache,
# which cannot see files the tests reach outside Go (scripts, /bin/busybox).
step "Running unit and root integration tests with the race detector."
mapfile -t packages < <(go list ./... | grep -v '/cmd/skiff$')
go test -race -count=1 -json -timeout 10m "${packages[@]}" |
	"$TOOLS/testsummary" -state "$state" || failed=1

step "Running the CLI tests: cmd/skiff's unit tests and scenario scripts."
go test -count=1 -json -timeout 10m ./cmd/skiff | "$TOOLS/testsummary" -state "$state" || failed=1

echo
"$TOOLS/testsummary" -state "$state" -total || failed=1
exit "$failed"
