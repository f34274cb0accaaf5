# shellcheck shell=bash
# lib.sh holds what the scripts share: the Debian packages that skiff's
# tests and labs use, how to install them, and how skiff is built. test.sh
# and provision.sh source it, so a package added here reaches CI and the
# course's VM alike; demo.sh and bench.sh build skiff with build_skiff.

# SKIFF_PACKAGES lists the Debian packages, each with what it is for.
SKIFF_PACKAGES=(
	busybox-static  # the base image, made offline by scripts/mkbusybox.sh
	gcc             # cgo: skiff's nsenter part, and go test -race
	skopeo          # reads skiff's images, to check them against the specs
	docker-registry # a real registry on 127.0.0.1, for push and pull
	apache2-utils   # htpasswd, for the registry tests that log in
	iproute2        # ip: network namespaces, veth pairs, bridges
	nftables        # outbound NAT for containers on a bridge
	iptables        # the same, on hosts without nftables
	util-linux      # nsenter, unshare, mount
	curl            # the registries chapter speaks HTTP to a registry by hand
	ruby            # checks the Vagrantfile's syntax
	unzip           # provision.sh unpacks the Go toolchain with it
)

# STATICCHECK and STATICCHECK_VERSION pin the linter that test.sh runs;
# provision.sh fetches it once, so that test.sh works offline afterwards.
# shellcheck disable=SC2034 # used by the scripts that source this file
STATICCHECK=honnef.co/go/tools/cmd/staticcheck
# shellcheck disable=SC2034
STATICCHECK_VERSION=v0.8.2

# missing_packages prints, one a line, the packages of SKIFF_PACKAGES that
# are not installed.
missing_packages() {
	local pkg
	for pkg in "${SKIFF_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			echo "$pkg"
	done
}

# install_packages installs the missing packages, as root, and says "All
# there." when none is. It refreshes the package lists only when an install
# fails, so a machine that has everything is left as it is. It returns
# non-zero if a package cannot be installed.
install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		echo "All there."
		return 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" ||
		{ apt-get update -q && apt-get install -y -q "${missing[@]}"; }
}

# SKIFF_BUILD_TAGS select Go's own DNS resolver and user lookup (netgo,
# osusergo) over glibc's. skiff needs neither from glibc: it reads the
# container's /etc/passwd itself, and Go's resolver reads /etc/hosts and
# /etc/resolv.conf as glibc's does. Without the cgo code of package net and
# os/user, each skiff process starts about 0.5 ms sooner (perf stat of
# `skiff --version` here, 100 runs each): the client, and the monitor of a
# detached container. A plain `go build ./cmd/skiff` works too.
SKIFF_BUILD_TAGS=netgo,osusergo

# build_skiff OUT [GO BUILD FLAGS...] builds ./cmd/skiff into OUT with
# SKIFF_BUILD_TAGS, and ./cmd/skiff-init beside it: the small program that
# is each container's first process, which skiff runs when it finds it
# there (see package namespaces, InitProgram). Run it from the top of the
# checkout.
build_skiff() {
	local out=$1
	shift
	go build -tags "$SKIFF_BUILD_TAGS" "$@" -o "$out" ./cmd/skiff &&
		go build -tags "$SKIFF_BUILD_TAGS" "$@" -o "$(dirname "$out")/skiff-init" ./cmd/skiff-init
}
