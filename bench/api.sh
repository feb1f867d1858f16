#!/bin/sh
# The REST API, skiff's `system service` beside Podman's, driven by the same docker CLI in the
# same run (root):
#   docker run --rm IMG true                      median, ms   (target ≤ 40 ms)
#   docker ps -a (10 containers)                  median, ms   (target ≤ 12 ms)
#   docker version                                median, ms
#   1000 sequential GET /containers/json on one keep-alive connection, requests/s (target ≥ 5000)
#   the service's resident memory, idle after start and after the runs, MB (target ≤ 15 MB)
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh

start_services
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_idle_skiff=$(rss $skiff_pid)
rss_idle_podman=$(rss $podman_pid)

DS="env DOCKER_HOST=unix://$work/skiff.sock DOCKER_CONFIG=$work/docker docker"
DP="env DOCKER_HOST=unix://$work/podman.sock DOCKER_CONFIG=$work/docker docker"
run_skiff=$(measure api-run-skiff "$DS run --rm localhost/busybox true")
run_podman=$(measure api-run-podman "$DP run --rm localhost/busybox true")
for i in 1 2 3 4 5 6 7 8 9 10; do
  $DS create localhost/busybox true >/dev/null
  $DP create localhost/busybox true >/dev/null
done
ps_skiff=$(measure api-ps-skiff "$DS ps -a")
ps_podman=$(measure api-ps-podman "$DP ps -a")
version_skiff=$(measure api-version-skiff "$DS version")
version_podman=$(measure api-version-podman "$DP version")
requests_skiff=$(python3 bench/api_requests.py "$work/skiff.sock" 1000)
requests_podman=$(python3 bench/api_requests.py "$work/podman.sock" 1000)
rss_after_skiff=$(rss $skiff_pid)
rss_after_podman=$(rss $podman_pid)

header
row "docker run --rm true (root)" "$run_skiff" "$run_podman" ms
row "docker ps -a, 10 containers (root)" "$ps_skiff" "$ps_podman" ms
row "docker version (root)" "$version_skiff" "$version_podman" ms
row "GET /containers/json keep-alive" "$requests_skiff" "$requests_podman" "r/s"
row "service RSS idle" "$rss_idle_skiff" "$rss_idle_podman" MB
row "service RSS after the runs" "$rss_after_skiff" "$rss_after_podman" MB
