#!/bin/sh
# Stats, healthchecks and events, skiff beside Podman (Debian's podman, with runc), in the
# same run (root), medians in ms:
#   stats --no-stream CTR                   (target ≤ 5 ms)
#   healthcheck run CTR                     (target ≤ 8 ms)
#   events --stream=false --since 1m        (target ≤ 5 ms; Podman reads its file log here)
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh
# Podman's events go to a file here too (journald is not on these machines).
P="podman --root $work/podman-root --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend file"

$S run -d --name box --health-cmd true --health-interval disable localhost/busybox sleep 1000 >/dev/null
$P run -d --name box --health-cmd true --health-interval disable localhost/busybox sleep 1000 >/dev/null
stats_skiff=$(measure stats-skiff "$S stats --no-stream box")
stats_podman=$(measure stats-podman "$P stats --no-stream box")
health_skiff=$(measure health-skiff "$S healthcheck run box")
health_podman=$(measure health-podman "$P healthcheck run box")
events_skiff=$(measure events-skiff "$S events --stream=false --since 1m")
events_podman=$(measure events-podman "$P events --stream=false --since 1m")

header
row "stats --no-stream CTR (root)" "$stats_skiff" "$stats_podman" ms
row "healthcheck run CTR (root)" "$health_skiff" "$health_podman" ms
row "events --stream=false --since 1m (root)" "$events_skiff" "$events_podman" ms
