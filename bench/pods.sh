#!/bin/sh
# Pods and volumes, skiff beside Podman (Debian's podman, with runc), in the same run (root):
#   pod create                                  median, ms   (target ≤ 10 ms)
#   run --rm --pod P IMG true into a running pod median, ms   (target ≤ 15 ms)
#   volume create                               median, ms   (target ≤ 3 ms)
#   run --rm -v NAME:/d IMG true                median, ms   (target: ≤ run --rm + 1 ms)
#   run --rm IMG true (the same run's baseline for the volume figure)
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh

# The infra image is made on first use by both: not part of the measure.
$S pod create --name warm >/dev/null
$P pod create --name warm >/dev/null
pod_create_skiff=$(measure pod-create-skiff "$S pod create")
pod_create_podman=$(measure pod-create-podman "$P pod create")
$S pod rm -a -f >/dev/null; $P pod rm -a -f >/dev/null

$S pod create --name p >/dev/null; $S pod start p >/dev/null
$P pod create --name p >/dev/null; $P pod start p >/dev/null
run_pod_skiff=$(measure run-pod-skiff "$S run --rm --pod p localhost/busybox true")
run_pod_podman=$(measure run-pod-podman "$P run --rm --pod p localhost/busybox true")
$S pod rm -a -f >/dev/null; $P pod rm -a -f >/dev/null

volume_create_skiff=$(measure volume-create-skiff "$S volume create")
volume_create_podman=$(measure volume-create-podman "$P volume create")
$S volume create data >/dev/null; $P volume create data >/dev/null
run_skiff=$(measure run-skiff "$S run --rm --network none localhost/busybox true")
run_podman=$(measure run-podman "$P run --rm --network none localhost/busybox true")
run_volume_skiff=$(measure run-volume-skiff "$S run --rm --network none -v data:/d localhost/busybox true")
run_volume_podman=$(measure run-volume-podman "$P run --rm --network none -v data:/d localhost/busybox true")

header
row "pod create (root)" "$pod_create_skiff" "$pod_create_podman" ms
row "run --rm --pod P true (root)" "$run_pod_skiff" "$run_pod_podman" ms
row "volume create (root)" "$volume_create_skiff" "$volume_create_podman" ms
row "run --rm --network none true (root)" "$run_skiff" "$run_podman" ms
row "run --rm -v NAME:/d true (root)" "$run_volume_skiff" "$run_volume_podman" ms
