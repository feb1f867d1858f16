#!/bin/sh
# skiff's test command (README, .ci/run): set-up, formatting and lint gates, a smoke test of
# the release build, unit and integration tests (as root and as the unprivileged user
# skiff-test). Run as root from the repository.
set -eu
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
sh tests/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The release build users install (static, no_std monitor), as root and rootless.
sh tests/smoke-release.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The exit status of cargo itself (a pipeline's would be tee's), every test binary run.
{ cargo test --workspace --locked --no-fail-fast 2>&1 && echo 0 > "$log.status" || echo "$?" > "$log.status"; } | tee "$log"
status=$(cat "$log.status")
rm -f "$log.status"
# cargo prints one summary per test binary; end with the total on one line.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
