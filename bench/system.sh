#!/bin/sh
# Storage accounting, mounts and limits, skiff beside Podman (Debian's podman, with runc), in
# the same run (root), medians in ms:
#   system df                      (a store with one image, two containers, one volume)
#   mount CTR + umount CTR         (a stopped container's root filesystem, for the user)
#   update --memory M CTR          (a running container's cgroup)
#   cp FILE CTR:/tmp, cp CTR:/etc DIR   (a running container, both ways)
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh

for E in "$S" "$P"; do
  $E volume create data >/dev/null
  $E create --name stopped -v data:/d localhost/busybox true >/dev/null
  $E run -d --name busy --memory 64m localhost/busybox sleep 1000 >/dev/null
done
df_skiff=$(measure df-skiff "$S system df")
df_podman=$(measure df-podman "$P system df")
mount_skiff=$(measure mount-skiff "sh -c '$S mount stopped >/dev/null && $S umount stopped >/dev/null'")
mount_podman=$(measure mount-podman "sh -c '$P mount stopped >/dev/null && $P umount stopped >/dev/null'")
update_skiff=$(measure update-skiff "$S update --memory 96m busy")
update_podman=$(measure update-podman "$P update --memory 96m busy")
head -c 1000000 /dev/urandom > "$work/payload"
mkdir -p "$work/out-skiff" "$work/out-podman"
cpin_skiff=$(measure cpin-skiff "$S cp $work/payload busy:/tmp")
cpin_podman=$(measure cpin-podman "$P cp $work/payload busy:/tmp")
cpout_skiff=$(measure cpout-skiff "$S cp busy:/etc $work/out-skiff")
cpout_podman=$(measure cpout-podman "$P cp busy:/etc $work/out-podman")

header
row "system df (root)" "$df_skiff" "$df_podman" ms
row "mount + umount CTR (root)" "$mount_skiff" "$mount_podman" ms
row "update --memory CTR (root, running)" "$update_skiff" "$update_podman" ms
row "cp 1 MB file into a running CTR (root)" "$cpin_skiff" "$cpin_podman" ms
row "cp CTR:/etc to the host (root)" "$cpout_skiff" "$cpout_podman" ms
