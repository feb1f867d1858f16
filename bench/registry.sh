#!/bin/sh
# Image transfers, skiff beside Podman (Debian's podman) in the same run, medians in ms:
#   pull of a Debian rootfs image (debootstrap bookworm, ~200 MB, one gzip layer) from a local
#   registry (Debian's docker-registry on 127.0.0.1), into an empty store each time
#   push of that image into an empty registry each time
#   save (docker-archive) to a file, and load of that file into an empty store
# Run as root. The rootfs is built once and cached in $SKIFF_BENCH_CACHE.
# Both engines store into a tmpfs (SKIFF_BENCH_DISK=1: the disk instead): on these machines'
# ext4, creating a file can cost ~0.5 ms of kernel time once many files were deleted (ext4's
# recently-deleted inode scan), which then dominates both engines' figures and says nothing about
# either.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
CACHE="${SKIFF_BENCH_CACHE:-/var/cache/skiff-bench}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
[ "$(id -u)" = 0 ] || { echo "bench/registry.sh must run as root" >&2; exit 1; }
sh tests/setup.sh >/dev/null
sh scripts/apt-install.sh podman hyperfine debootstrap
sh build.sh >/dev/null 2>&1 || sh build.sh

mkdir -p "$CACHE"
if [ ! -f "$CACHE/debian-rootfs.tar" ]; then
  rm -rf "$CACHE/rootfs"
  debootstrap --variant=minbase bookworm "$CACHE/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$CACHE/rootfs" -cf "$CACHE/debian-rootfs.tar.tmp" .
  mv "$CACHE/debian-rootfs.tar.tmp" "$CACHE/debian-rootfs.tar"
  rm -rf "$CACHE/rootfs"
fi

work=$(mktemp -d /tmp/skiff-bench-registry.XXXXXX)
storage="disk"
if [ -z "${SKIFF_BENCH_DISK:-}" ]; then
  mount -t tmpfs -o size=6g tmpfs "$work"
  storage="tmpfs"
fi
install -m 0755 target/release/skiff target/release/skiff-monitor "$work/"
S="$work/skiff --root $work/root --runroot $work/run"
P="podman --root $work/podman-root --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
registry="127.0.0.1:$port"
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $registry
YML
# (Re)starts the registry with empty storage: pushes then upload every blob.
cat > "$work/fresh-registry" <<SH
#!/bin/sh
[ -f $work/registry.pid ] && kill \$(cat $work/registry.pid) 2>/dev/null && sleep 0.2
rm -rf $work/registry
env -u REGISTRY_AUTH_FILE docker-registry serve $work/registry.yml >/dev/null 2>&1 &
echo \$! > $work/registry.pid
for i in \$(seq 100); do curl -sf http://$registry/v2/ >/dev/null && exit 0; sleep 0.05; done
exit 1
SH
chmod +x "$work/fresh-registry"
cleanup() {
  [ -f "$work/registry.pid" ] && kill "$(cat "$work/registry.pid")" 2>/dev/null
  $P rmi -a -f >/dev/null 2>&1 || true
  $S rmi -a -f >/dev/null 2>&1 || true
  [ "$storage" = tmpfs ] && umount "$work"
  rm -rf "$work"
}
trap cleanup EXIT
"$work/fresh-registry"

image="$registry/debian:bookworm"
$S import "$CACHE/debian-rootfs.tar" localhost/debian:bookworm >/dev/null
$S push -q --tls-verify=false --format v2s2 localhost/debian:bookworm "$image"
$P pull -q --tls-verify=false "$image" >/dev/null
layer=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$registry/v2/debian/manifests/bookworm" | python3 -c 'import json,sys; l=json.load(sys.stdin)["layers"][0]; print("%s %.0f MB" % (l["digest"][7:19], l["size"]/1e6))')

median() {
  python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}
measure() { # NAME PREPARE COMMAND → median ms
  sh -c "$2" >/dev/null 2>&1
  if ! out=$(sh -c "$3" 2>&1); then
    echo "bench: '$3' failed: $out" >&2
    exit 1
  fi
  hyperfine --style none --runs "$RUNS" --prepare "$2" --export-json "$work/$1.json" "$3" >/dev/null 2>&1
  median "$work/$1.json"
}
row() {
  python3 -c 'import sys; l,s,p,u=sys.argv[1:]; print("%-44s %8s %8s %-3s %7.2f" % (l,s,p,u,float(s)/float(p)))' "$1" "$2" "$3" "$4"
}

pull_skiff=$(measure pull-skiff "$S rmi -a -f" "$S pull -q --tls-verify=false $image")
pull_podman=$(measure pull-podman "$P rmi -a -f" "$P pull -q --tls-verify=false $image")
gunzip_alone=$(measure gunzip ":" "curl -sf http://$registry/v2/debian/blobs/sha256:$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://$registry/v2/debian/manifests/bookworm | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])') | gzip -dc >/dev/null")

push_skiff=$(measure push-skiff "$work/fresh-registry" "$S push -q --tls-verify=false $image")
push_podman=$(measure push-podman "$work/fresh-registry" "$P push -q --tls-verify=false $image")
"$work/fresh-registry"
$S push -q --tls-verify=false "$image"

save_skiff=$(measure save-skiff "rm -f $work/s.tar" "$S save -o $work/s.tar $image")
save_podman=$(measure save-podman "rm -f $work/p.tar" "$P save -o $work/p.tar $image")
load_skiff=$(measure load-skiff "$S rmi -a -f" "$S load -q -i $work/s.tar")
load_podman=$(measure load-podman "$P rmi -a -f" "$P load -q -i $work/p.tar")

echo
echo "skiff $($S version --format '{{.Client.Version}}') beside $(podman --version), same machine, same run (median of $RUNS)"
echo "image: debootstrap bookworm minbase, $(du -m "$CACHE/debian-rootfs.tar" | cut -f1) MB tar, layer $layer gzip; storage on $storage"
printf '%-44s %8s %8s %-3s %7s\n' "measure" "skiff" "podman" "" "ratio"
row "pull from a local registry" "$pull_skiff" "$pull_podman" ms
row "  (download + gzip -dc of the layer alone)" "$gunzip_alone" "$gunzip_alone" ms
row "push to an empty local registry" "$push_skiff" "$push_podman" ms
row "save -o FILE (docker-archive)" "$save_skiff" "$save_podman" ms
row "load -i FILE" "$load_skiff" "$load_podman" ms
