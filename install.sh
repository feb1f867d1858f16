#!/bin/sh
# Builds and installs skiff on a fresh Debian/Ubuntu machine, then makes the busybox image
# (from Debian's busybox-static) so `skiff run --rm busybox echo hi` works at once.
# Run as root. PREFIX (default /usr/local) chooses where the binary goes.
set -eu
cd "$(dirname "$0")"
PREFIX="${PREFIX:-/usr/local}"
[ "$(id -u)" = 0 ] || { echo "install.sh must run as root (it installs packages)" >&2; exit 1; }

packages="build-essential pkg-config libseccomp-dev uidmap busybox-static catatonit file"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup or Debian's cargo)" >&2; exit 1; }

sh build.sh
install -D -m 0755 target/release/skiff "$PREFIX/bin/skiff"
# The per-container monitor, found by skiff in ../libexec/skiff (as Podman keeps conmon).
install -D -m 0755 target/release/skiff-monitor "$PREFIX/libexec/skiff/skiff-monitor"

rootfs=$(mktemp --suffix=.tar)
trap 'rm -f "$rootfs"' EXIT
sh tests/image/make-busybox-rootfs.sh "$rootfs"
"$PREFIX/bin/skiff" import "$rootfs" localhost/busybox >/dev/null
echo "skiff installed to $PREFIX/bin/skiff; image localhost/busybox imported for root"
echo "(as another user: skiff import $rootfs-like tarball, see tests/image/make-busybox-rootfs.sh)"
