#!/usr/bin/env bash
# provision.sh makes a Debian 12 machine ready for the skiff course:
#
#   sudo scripts/provision.sh
#
# The Vagrantfile runs it in the course's VM; it works the same on any
# Debian 12 machine, as root. In order, it
# 1. installs the Debian packages the labs and tests use (scripts/lib.sh);
# 2. disables the docker-registry service the package starts (port 5000);
# 3. installs Go at the version go.mod asks for, from the Go module proxy,
#    unless that Go or a newer one is there, and links go and gofmt into
#    /usr/local/bin, where sudo finds them;
# 4. fetches the Go modules that skiff and its tests need, for root and for
#    the owner of the checkout, so that building and testing need no network;
# 5. installs staticcheck, which scripts/test.sh runs, for root;
# 6. builds skiff and installs it as /usr/local/bin/skiff, with skiff-init
#    (the first process of each container) beside it;
# 7. makes the image busybox:latest in the store (scripts/mkbusybox.sh).
#
# Each step says what it did. Only what is missing or out of date changes:
# a run that changed nothing ends with "Nothing to do", and takes seconds.
# The network is needed only for what is missing: Debian's mirror for the
# packages, the Go module proxy for Go and the modules.
#
# Environment, all optional:
#   SKIFF_SRC     the skiff checkout (default: the one holding this script)
#   SKIFF_PREFIX  skiff, skiff-init, go and gofmt go into $SKIFF_PREFIX/bin
#                 (default /usr/local)
#   SKIFF_GOROOT  where Go is, or goes (default /usr/local/go)
#   SKIFF_ROOT    skiff's store, as for skiff itself (default /var/lib/skiff)
#   GOPROXY       the Go module proxy, as for go
#                 (default https://proxy.golang.org)
set -euo pipefail

SRC=${SKIFF_SRC:-$(dirname "$0")/..}
PREFIX=${SKIFF_PREFIX:-/usr/local}
GOROOT_DIR=${SKIFF_GOROOT:-/usr/local/go}
umask 022

# How Go is fetched and checked. Each Go release is also published on the
# Go module proxy as a version of the module golang.org/toolchain:
# v0.0.1-go1.26.8.linux-amd64 is a zip of the whole Go tree of go1.26.8 for
# linux/amd64. The go command downloads a toolchain from there when a go.mod
# asks for a newer Go than itself (GOTOOLCHAIN=auto), and checks it as it
# checks any module: it hashes the zip's files the way go.sum records a
# module ("h1:", golang.org/x/mod/sumdb/dirhash) and compares that hash with
# the one the checksum database, sum.golang.org, publishes. It always asks
# the database, even with GOSUMDB=off, since a toolchain cannot be listed in
# a go.sum (modfetch's useSumDB).
#
# Checking the database's signed answers takes Ed25519 and Merkle proofs,
# more than a shell script can show clearly. So provision.sh does what go.sum
# does: the hashes below were looked up once through the checksum database,
# by `go mod download -json golang.org/toolchain@VERSION` (its "Sum"), and a
# zip whose hash differs is refused. When go.mod asks for a newer Go, add its
# two lines here the same way.
GO_TOOLCHAIN_SUMS='
golang.org/toolchain v0.0.1-go1.26.8.linux-amd64 h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=
golang.org/toolchain v0.0.1-go1.26.8.linux-arm64 h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc=
'

current="starting"
failed_said=""
work=""
changes=()

step() {
	current=$*
	printf '\n==> %s\n' "$current"
}

die() {
	echo "provision.sh: $*" >&2
	failed_said=1
	exit 1
}

# finish removes the scratch directory and, if a command failed without
# saying why in provision.sh's words, names the step it failed in.
finish() {
	local status=$?
	if [[ -n $work ]]; then
		rm -rf "$work"
	fi
	if ((status != 0)) && [[ -z $failed_said ]]; then
		echo "provision.sh: stopped, this step failed: $current" >&2
	fi
}
trap finish EXIT

[[ $(id -u) == 0 ]] || die "run me as root: sudo scripts/provision.sh"
cd "$SRC" || die "no skiff checkout at $SRC"
[[ -f go.mod ]] || die "no go.mod in $SRC: set SKIFF_SRC to a skiff checkout"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# The go commands below use this Go and never download another.
export PATH=$GOROOT_DIR/bin:$PATH GOTOOLCHAIN=local
export HOME=${HOME:-/root}
SRC=$PWD
mkdir -p "$PREFIX/bin" "$(dirname "$GOROOT_DIR")"
work=$(mktemp -d "$(dirname "$GOROOT_DIR")/.skiff-provision.XXXXXX")

# go_wanted prints the Go release that go.mod asks for: its toolchain line,
# or else its go line ("go 1.26.8" asks for go1.26.8; a language version
# such as "go 1.26" for the first release, go1.26.0).
go_wanted() {
	local toolchain version
	toolchain=$(awk '$1 == "toolchain" { print $2 }' go.mod)
	if [[ -n $toolchain ]]; then
		echo "$toolchain"
		return
	fi
	version=$(awk '$1 == "go" { print $2 }' go.mod)
	if [[ -n $version ]]; then
		[[ $version == *.*.* ]] || version+=.0
		echo "go$version"
	fi
}

# at_least reports whether Go release $1 is release $2 or a newer one.
at_least() {
	[[ $(printf '%s\n' "${1#go}" "${2#go}" | sort -V | head -n1) == "${2#go}" ]]
}

# module_hash prints the go.sum hash of the module zip $1 unpacked into
# directory $2: the SHA-256 of the lines "SHA-256 of a file, two spaces,
# its name in the zip", sorted by name, in base64 after "h1:".
module_hash() {
	local sum
	sum=$(cd "$2" && unzip -Z1 "$1" | LC_ALL=C sort | xargs -d '\n' sha256sum -- | sha256sum)
	echo "h1:$(echo "${sum%% *}" | tr a-f A-F | basenc --base16 -d | base64)"
}

# install_go downloads Go release $1 from the module proxy, checks it
# against GO_TOOLCHAIN_SUMS and puts it in place of GOROOT_DIR.
install_go() {
	local release=$1 arch version want proxy url tree outside got
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) die "provision.sh installs Go for amd64 and arm64 only, not for $(uname -m)" ;;
	esac
	version=v0.0.1-$release.linux-$arch
	want=$(awk -v v="$version" '$2 == v { print $3 }' <<<"$GO_TOOLCHAIN_SUMS")
	[[ -n $want ]] || die "no hash recorded for golang.org/toolchain@$version:" \
		"add the Sum that 'go mod download -json golang.org/toolchain@$version'" \
		"prints to GO_TOOLCHAIN_SUMS in provision.sh"

	# GOPROXY may list several proxies, or "direct" and "off"; Go comes from
	# the first one only.
	proxy=${GOPROXY:-https://proxy.golang.org}
	proxy=${proxy%%[,|]*}
	[[ $proxy == http* ]] || die "GOPROXY=$GOPROXY names no proxy to download Go from"
	url=${proxy%/}/golang.org/toolchain/@v/$version.zip
	echo "Downloading $url."
	curl -fsSL --retry 3 -o "$work/go.zip" "$url" || die "cannot download $url"

	# A module zip holds its files under "module@version/" and nothing
	# else; unzip itself drops any "../" that would climb out of the target.
	tree=golang.org/toolchain@$version
	outside=$(unzip -Z1 "$work/go.zip" |
		awk -v dir="$tree/" 'index($0, dir) != 1 { n++ } END { print n + 0 }')
	((outside == 0)) || die "$url has entries outside $tree/ ($outside): not installing it"
	unzip -q "$work/go.zip" -d "$work/unpacked"
	got=$(module_hash "$work/go.zip" "$work/unpacked")
	[[ $got == "$want" ]] || die "$url has hash $got, want $want: not installing it"
	echo "Its hash is $want, as recorded."

	# The zip may come without execute bits; go sets them on first use, and
	# so does provision.sh.
	if [[ ! -x $work/unpacked/$tree/bin/go ]]; then
		chmod a+x "$work/unpacked/$tree"/bin/* "$work/unpacked/$tree"/pkg/tool/*/*
	fi
	if [[ -e $GOROOT_DIR ]]; then
		mv "$GOROOT_DIR" "$work/old-go"
	fi
	mv "$work/unpacked/$tree" "$GOROOT_DIR"
	echo "Installed $("$GOROOT_DIR/bin/go" version) in $GOROOT_DIR."
}

# link_command makes $PREFIX/bin/$1 a symbolic link to $GOROOT_DIR/bin/$1.
# A file there that is not a link is someone else's and is left alone.
link_command() {
	local link=$PREFIX/bin/$1 target=$GOROOT_DIR/bin/$1
	if [[ $(readlink "$link" || true) == "$target" ]]; then
		echo "$link is a link to $target."
	elif [[ -e $link && ! -L $link ]]; then
		echo "$link is not a link to $target: left as it is."
	else
		ln -sfn "$target" "$link"
		echo "Linked $link to $target."
		changes+=("$link")
	fi
}

step "Installing the Debian packages the labs and tests use: ${SKIFF_PACKAGES[*]}."
if [[ -n $(missing_packages) ]]; then
	changes+=("Debian packages")
fi
install_packages || die "cannot install $(missing_packages | xargs)"

step "Stopping Debian's docker-registry service, which the registries chapter starts by hand."
# Installing the package enables a registry on port 5000, every address;
# the chapter's lab runs its own on 127.0.0.1:5000. Only on a machine that
# runs systemd, and only if it is enabled.
if [[ -d /run/systemd/system ]] && systemctl -q is-enabled docker-registry.service 2>/dev/null; then
	systemctl disable --now docker-registry.service
	changes+=("docker-registry service disabled")
else
	echo "Not enabled, or no systemd here."
fi

step "Installing Go at the version go.mod asks for, into $GOROOT_DIR."
release=$(go_wanted)
[[ -n $release ]] || die "go.mod has no go line"
have=""
if [[ -x $GOROOT_DIR/bin/go && -f $GOROOT_DIR/VERSION ]]; then
	have=$(head -n1 "$GOROOT_DIR/VERSION")
fi
if [[ -n $have ]] && at_least "$have" "$release"; then
	echo "go.mod asks for $release; $GOROOT_DIR has $have already."
else
	echo "go.mod asks for $release; $GOROOT_DIR has ${have:-no Go}."
	install_go "$release"
	changes+=("Go $release")
fi
link_command go
link_command gofmt

step "Fetching the Go modules that skiff and its tests need."
# The module cache is per user: root's for the labs and tests, and the
# checkout owner's for building as that user. GOPROXY=off finds out,
# without the network, whether a cache has them all.
users=(root)
owner=$(stat -c %U .)
if [[ $owner != root ]] && id "$owner" >/dev/null 2>&1; then
	users+=("$owner")
fi
for user in "${users[@]}"; do
	if runuser -u "$user" -- env GOPROXY=off "$GOROOT_DIR/bin/go" mod download 2>/dev/null; then
		echo "$user's module cache has them all."
	else
		runuser -u "$user" -- "$GOROOT_DIR/bin/go" mod download ||
			die "cannot fetch the Go modules for $user"
		echo "Fetched them into $user's module cache."
		changes+=("$user's Go modules")
	fi
done

tools=/root/.cache/skiff-tools
step "Installing staticcheck $STATICCHECK_VERSION, which scripts/test.sh runs, into $tools."
# Once installed, its module is in root's cache: test.sh's own go install
# of it then needs no network.
if "$tools/staticcheck" -version 2>/dev/null | grep -qF "(${STATICCHECK_VERSION#v})"; then
	echo "$tools/staticcheck is $STATICCHECK_VERSION already."
else
	GOBIN=$tools go install "$STATICCHECK@$STATICCHECK_VERSION" ||
		die "cannot install staticcheck $STATICCHECK_VERSION"
	changes+=("staticcheck $STATICCHECK_VERSION")
fi

skiff=$PREFIX/bin/skiff
step "Building skiff and installing it as $skiff, with skiff-init beside it."
# -trimpath and no VCS stamp: the same source gives the same binary, so an
# unchanged checkout leaves the installed files as they are.
build_skiff "$work/skiff" -trimpath -buildvcs=false
for program in skiff-init skiff; do
	if cmp -s "$work/$program" "$PREFIX/bin/$program"; then
		echo "$PREFIX/bin/$program is up to date."
	else
		install -m 0755 "$work/$program" "$PREFIX/bin/$program"
		echo "Installed $PREFIX/bin/$program."
		changes+=("$PREFIX/bin/$program")
	fi
done

step "Making the image busybox:latest in the store ${SKIFF_ROOT:-/var/lib/skiff}."
image_id() {
	"$skiff" image inspect --format '{{.Id}}' busybox:latest 2>/dev/null || true
}
before=$(image_id)
SKIFF=$skiff bash scripts/mkbusybox.sh
if [[ $(image_id) != "$before" ]]; then
	changes+=("busybox:latest")
fi

echo
if ((${#changes[@]} == 0)); then
	echo "Nothing to do: this machine was provisioned already (${SECONDS}s)."
else
	printf -v changed '%s, ' "${changes[@]}"
	echo "Provisioned in ${SECONDS}s; changed: ${changed%, }."
fi
