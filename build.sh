#!/bin/sh
# Builds skiff and its per-container monitor, as installed and benchmarked: both linked
# statically and without PIE. A skiff process then starts in ~0.8 ms instead of ~1.7 ms (no
# dynamic loader, no self-relocation), and it runs twice per `skiff run` (the command and the
# cleanup after the container). The monitor lives as long as each container: static, it holds
# ~1 MB resident instead of ~1.9 MB (conmon: ~2.4 MB).
# Output: target/release/skiff and target/release/skiff-monitor.
set -eu
cd "$(dirname "$0")"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# libseccomp from Debian's static library (libseccomp-dev).
export LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
static="-C target-feature=+crt-static -C relocation-model=static"
cargo rustc --release --locked -p skiff --bin skiff -- $static
cargo rustc --release --locked -p skiff --bin skiff-monitor -- $static
cargo rustc --release --locked -p skiff --bin skiff-quadlet -- $static
