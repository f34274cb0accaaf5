#!/usr/bin/env bash
# test.sh runs every check and test of skiff, as CI does:
#
#   sudo scripts/test.sh
#
# 1. installs what the tests need (the Debian packages in scripts/lib.sh,
#    pinned Go tools);
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

# The Debian packages and the pinned Go tools, shared with provision.sh,
# are listed in lib.sh. The tools go to a cache of their own, not into the
# user's GOBIN.
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/skiff-tools

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

step "Installing the Debian packages the tests use: ${SKIFF_PACKAGES[*]}."
install_packages || die "cannot install $(missing_packages | xargs)"

step "Installing staticcheck $STATICCHECK_VERSION into $TOOLS."
mkdir -p "$TOOLS"
GOBIN=$TOOLS go install "$STATICCHECK@$STATICCHECK_VERSION"
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
