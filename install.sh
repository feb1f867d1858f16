#!/bin/sh
# Builds and installs skiff on a fresh Debian/Ubuntu machine, then makes the busybox image
# (from Debian's busybox-static) so `skiff run --rm busybox echo hi` works at once.
# Run as root. PREFIX (default /usr/local) chooses where the binary goes.
set -eu
cd "$(dirname "$0")"
PREFIX="${PREFIX:-/usr/local}"
[ "$(id -u)" = 0 ] || { echo "install.sh must run as root (it installs packages)" >&2; exit 1; }

sh scripts/apt-install.sh build-essential pkg-config libseccomp-dev uidmap busybox-static catatonit file nftables iproute2 passt slirp4netns
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup or Debian's cargo)" >&2; exit 1; }

sh build.sh
install -D -m 0755 target/release/skiff "$PREFIX/bin/skiff"
# The per-container monitor, found by skiff in ../libexec/skiff (as Podman keeps conmon).
install -D -m 0755 target/release/skiff-monitor "$PREFIX/libexec/skiff/skiff-monitor"

# The Quadlet generator, as systemd's system and user generators (Podman's are
# podman-system-generator and podman-user-generator).
install -D -m 0755 target/release/skiff-quadlet "$PREFIX/bin/skiff-quadlet"
for kind in system user; do
  mkdir -p "/usr/lib/systemd/$kind-generators"
  ln -sf "$PREFIX/bin/skiff-quadlet" "/usr/lib/systemd/$kind-generators/skiff-$kind-generator"
done

# The API's socket-activated units, for root and for every user (`systemctl [--user] enable
# --now skiff.socket`), as Podman ships podman.socket.
for dir in /usr/lib/systemd/system /usr/lib/systemd/user; do
  mkdir -p "$dir"
  install -m 0644 contrib/systemd/skiff.socket "$dir/skiff.socket"
  sed "s|@BINDIR@|$PREFIX/bin|" contrib/systemd/skiff.service > "$dir/skiff.service"
  chmod 0644 "$dir/skiff.service"
done

# The test image's root filesystem, kept so any user can import it too.
rootfs="$PREFIX/share/skiff/busybox-rootfs.tar"
mkdir -p "$(dirname "$rootfs")"
sh tests/image/make-busybox-rootfs.sh "$rootfs"
chmod 644 "$rootfs"
"$PREFIX/bin/skiff" import "$rootfs" localhost/busybox >/dev/null
echo "skiff installed to $PREFIX/bin/skiff (monitor: $PREFIX/libexec/skiff/skiff-monitor)"
echo "image localhost/busybox imported for root; any other user: skiff import $rootfs localhost/busybox"
