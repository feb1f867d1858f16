#!/bin/sh
# Networking, skiff beside Podman (Debian's podman, with runc) in the same run:
#   run --rm IMG true on the default network: bridge (root), pasta vs Podman's rootless
#     default, slirp4netns (rootless)                                      median, ms
#   throughput into a published port from the host's loopback (-p PORT:80; 1 GiB per run,
#     bench/throughput.py), root and rootless                             median, MiB/s
# Run as root. Speed is checked here, never by timed tests.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-20}"
. bench/common.sh
MIB="${MIB:-1024}"
TP_RUNS="${TP_RUNS:-5}"

run_root_skiff=$(measure run-root-skiff "$S run --rm localhost/busybox true")
run_root_podman=$(measure run-root-podman "$P run --rm localhost/busybox true")
run_user_skiff=$(measure run-user-skiff "$RS run --rm localhost/busybox true")
run_user_podman=$(measure run-user-podman "$RP run --rm localhost/busybox true")

# A server that swallows each connection and answers "ok", again and again.
sink="while true; do nc -l -p 80 -e sh -c 'cat >/dev/null; echo ok'; done"
throughput() { # ENGINE PORT → MiB/s
  $1 run -d --name sink -p "$2:80" localhost/busybox sh -c "$sink" >/dev/null
  rate=$(python3 bench/throughput.py "$2" "$MIB" "$TP_RUNS")
  $1 rm -f sink >/dev/null
  echo "$rate"
}
tp_root_skiff=$(throughput "$S" 18601)
tp_root_podman=$(throughput "$P" 18602)
tp_user_skiff=$(throughput "$RS" 18603)
tp_user_podman=$(throughput "$RP" 18604)

header
row "run --rm true, default network (root)" "$run_root_skiff" "$run_root_podman" ms
row "run --rm true, default network (rootless)" "$run_user_skiff" "$run_user_podman" ms
row "published port throughput (root)" "$tp_root_skiff" "$tp_root_podman" MiB/s
row "published port throughput (rootless)" "$tp_user_skiff" "$tp_user_podman" MiB/s
echo "(throughput: higher is better; a ratio above 1 means skiff is faster)"
