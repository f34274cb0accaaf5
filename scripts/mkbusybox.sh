#!/usr/bin/env bash
# mkbusybox.sh makes the image busybox:latest without any network: it puts
# Debian's statically linked busybox into a minimal root filesystem, packs
# it deterministically and imports it with skiff.
#
#   SKIFF=bin/skiff scripts/mkbusybox.sh
#
# SKIFF names the skiff binary (default: skiff on PATH); SKIFF_ROOT, if set,
# chooses the store, as for skiff itself. Safe to run twice: when the store
# already has an image made from the same tree, nothing changes.
set -euo pipefail

SKIFF=${SKIFF:-skiff}
TAG=busybox:latest
umask 022

die() {
	echo "mkbusybox: $*" >&2
	exit 1
}

# A container image holds nothing but what we put in it, so busybox must
# not need a dynamic loader or libc from the host: ldd fails on a static
# binary.
need_busybox() {
	[[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1
}
if need_busybox; then
	echo "Installing Debian's busybox-static package."
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q busybox-static >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q busybox-static >/dev/null; } ||
		die "cannot install busybox-static (are you root?)"
	need_busybox && die "/bin/busybox is still missing or not static"
fi
command -v "$SKIFF" >/dev/null || die "no skiff binary at '$SKIFF': set SKIFF=path/to/skiff"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/rootfs

# The tree: one binary, a link per applet, the files a shell expects.
mkdir -p "$tree"/{bin,etc,proc,sys,dev,root,tmp,var/www}
cp /bin/busybox "$tree/bin/busybox"
for applet in $(/bin/busybox --list); do
	[[ $applet == busybox ]] || ln -s busybox "$tree/bin/$applet"
done
cat >"$tree/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$tree/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
chmod 0755 "$tree" "$tree/bin" "$tree/bin/busybox"
chmod 0700 "$tree/root"
chmod 1777 "$tree/tmp"

# Sorted names, one owner and a fixed mtime: the same tree always gives the
# same tarball, and so the same layer diffID.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
	-C "$tree" -cf "$work/rootfs.tar" .

# The image's label records what it was made from; if the store already
# has busybox:latest with the same label, there is nothing to do.
changes=(
	'CMD ["sh"]'
	'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
)
source_id=$({ sha256sum <"$work/rootfs.tar"; printf '%s\n' "${changes[@]}"; } |
	sha256sum | cut -d' ' -f1)
label=dev.skiff.mkbusybox.source
current=$("$SKIFF" image inspect --format "{{index .Config.Labels \"$label\"}}" "$TAG" \
	2>/dev/null || true)
if [[ $current == "$source_id" ]]; then
	echo "$TAG is up to date."
	exit 0
fi

args=()
for change in "${changes[@]}" "LABEL $label=$source_id"; do
	args+=(--change "$change")
done
version=$(/bin/busybox --help 2>&1 | head -n1 | cut -d' ' -f2 || true)
id=$("$SKIFF" import "${args[@]}" -m "busybox $version from Debian's busybox-static" \
	"$work/rootfs.tar" "$TAG")
echo "Imported $TAG as $id."
