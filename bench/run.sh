#!/bin/sh
# skiff beside Podman (Debian's podman package, with runc), measured in the same run:
#   run --rm --network none IMG true   (root and rootless)     median, ms
#   run --rm IMG true on the default bridge network (root)     median, ms
#   create IMG true                    (root)                  median, ms
#   ps -a over 100 containers          (root)                  median, ms
#   exec CONTAINER true                (root and rootless)     median, ms
#   run -it --rm IMG sh: time to prompt (root)                 median, ms
#   monitor RSS (skiff's monitor vs conmon) for a running container, KiB
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
# Speed is checked here, never by timed tests.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh

run_root_skiff=$(measure run-root-skiff "$S run --rm --network none localhost/busybox true")
run_root_podman=$(measure run-root-podman "$P run --rm --network none localhost/busybox true")
run_user_skiff=$(measure run-user-skiff "$RS run --rm --network none localhost/busybox true")
run_user_podman=$(measure run-user-podman "$RP run --rm --network none localhost/busybox true")
run_bridge_skiff=$(measure run-bridge-skiff "$S run --rm localhost/busybox true")
run_bridge_podman=$(measure run-bridge-podman "$P run --rm localhost/busybox true")

create_skiff=$(measure create-skiff "$S create localhost/busybox true")
create_podman=$(measure create-podman "$P create localhost/busybox true")
$S rm -a -f >/dev/null; $P rm -a -f >/dev/null
for i in $(seq 100); do $S create localhost/busybox true >/dev/null; $P create localhost/busybox true >/dev/null; done
ps_skiff=$(measure ps-skiff "$S ps -a")
ps_podman=$(measure ps-podman "$P ps -a")
$S rm -a -f >/dev/null; $P rm -a -f >/dev/null

$S run -d --network none --name execbox localhost/busybox sleep 1000 >/dev/null
$P run -d --network none --name execbox localhost/busybox sleep 1000 >/dev/null
$RS run -d --network none --name execbox localhost/busybox sleep 1000 >/dev/null
$RP run -d --network none --name execbox localhost/busybox sleep 1000 >/dev/null
exec_root_skiff=$(measure exec-root-skiff "$S exec execbox true")
exec_root_podman=$(measure exec-root-podman "$P exec execbox true")
exec_user_skiff=$(measure exec-user-skiff "$RS exec execbox true")
exec_user_podman=$(measure exec-user-podman "$RP exec execbox true")
$S rm -a -f >/dev/null; $P rm -a -f >/dev/null; $RS rm -a -f >/dev/null; $RP rm -a -f >/dev/null
prompt_runs=$(( RUNS < 10 ? RUNS : 10 ))
prompt_skiff=$(python3 bench/prompt.py "$prompt_runs" $S run -it --rm --network none localhost/busybox sh)
prompt_podman=$(python3 bench/prompt.py "$prompt_runs" $P run -it --rm --network none localhost/busybox sh)

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
$S run -d --name rss localhost/busybox sleep 1000 >/dev/null
$P run -d --name rss localhost/busybox sleep 1000 >/dev/null
sleep 1
monitor_skiff=$(rss "$($S inspect --format '{{.State.ConmonPid}}' rss)")
monitor_podman=$(rss "$($P inspect --format '{{.State.ConmonPid}}' rss)")

header
row "run --rm --network none true (root)" "$run_root_skiff" "$run_root_podman" ms
row "run --rm --network none true (rootless)" "$run_user_skiff" "$run_user_podman" ms
row "run --rm true, default bridge (root)" "$run_bridge_skiff" "$run_bridge_podman" ms
row "create (root)" "$create_skiff" "$create_podman" ms
row "ps -a, 100 containers (root)" "$ps_skiff" "$ps_podman" ms
row "exec CONTAINER true (root)" "$exec_root_skiff" "$exec_root_podman" ms
row "exec CONTAINER true (rootless)" "$exec_user_skiff" "$exec_user_podman" ms
row "run -it --rm sh: time to prompt (root)" "$prompt_skiff" "$prompt_podman" ms
row "monitor RSS (conmon for podman)" "$monitor_skiff" "$monitor_podman" KiB
