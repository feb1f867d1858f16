#!/bin/sh
# Builds, skiff beside Podman (Debian's podman, with runc) in the same run, medians in ms:
#   a 7-step Containerfile (FROM busybox, ENV, 2x RUN, COPY, WORKDIR, LABEL, CMD)
#   cached (everything unchanged) and --no-cache, root; skiff rootless beside Podman root
#   (rootless Podman falls back to vfs on these machines, which says nothing about builds).
# Both give RUN the host's network (--network host), so neither spends time setting one up.
# Run as root. Speed is checked here, never by timed tests.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-20}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
[ "$(id -u)" = 0 ] || { echo "bench/build.sh must run as root" >&2; exit 1; }
sh tests/setup.sh >/dev/null
sh scripts/apt-install.sh podman hyperfine iptables conmon
mkdir -p /etc/containers
[ -f /etc/containers/containers.conf ] || cat > /etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
sh build.sh >/dev/null 2>&1 || sh build.sh

work=$(mktemp -d /tmp/skiff-bench-build.XXXXXX)
chmod 755 "$work"
install -m 0755 target/release/skiff target/release/skiff-monitor "$work/"
S="$work/skiff --root $work/root --runroot $work/run"
P="podman --root $work/podman-root --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
user=skiff-test
uhome="$work/home"
mkdir -p "$uhome" && chown "$user" "$uhome"
RS="runuser -u $user -- env HOME=$uhome XDG_RUNTIME_DIR=$uhome/xdg $work/skiff"
cleanup() {
  $RS rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

sh tests/image/make-busybox-rootfs.sh "$work/busybox.tar"
chmod 644 "$work/busybox.tar"
$S import "$work/busybox.tar" localhost/busybox >/dev/null
$P import "$work/busybox.tar" localhost/busybox >/dev/null
$RS import "$work/busybox.tar" localhost/busybox >/dev/null

ctx="$work/context"
mkdir -p "$ctx"
echo "hello" > "$ctx/app.txt"
cat > "$ctx/Containerfile" <<'FILE'
FROM localhost/busybox
ENV APP_MODE=production
RUN echo "$APP_MODE" > /mode
RUN mkdir -p /srv/data && echo ready > /srv/data/state
COPY app.txt /app/
WORKDIR /app
LABEL org.example.bench=build
CMD ["cat", "/app/app.txt"]
FILE
chmod -R a+rX "$ctx"

median() {
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}
measure() { # NAME COMMAND → median ms (the command runs once first, and must work)
  if ! out=$(sh -c "$2" 2>&1); then
    echo "bench: '$2' failed: $out" >&2
    exit 1
  fi
  hyperfine --style none --warmup 2 --runs "$RUNS" -N --export-json "$work/$1.json" "$2" >/dev/null 2>&1 \
    || hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$work/$1.json" "$2" >/dev/null
  median "$work/$1.json"
}
row() {
  python3 -c 'import sys; l,s,p,u=sys.argv[1:]; print("%-40s %10s %10s %-4s %8.3f" % (l,s,p,u,float(s)/float(p)))' "$1" "$2" "$3" "$4"
}

cached_skiff=$(measure cached-skiff "$S build -q --network host -t app $ctx")
cached_podman=$(measure cached-podman "$P build -q --network host -t app $ctx")
cached_user=$(measure cached-user "$RS build -q --network host -t app $ctx")
uncached_skiff=$(measure uncached-skiff "$S build -q --no-cache --network host -t app $ctx")
uncached_podman=$(measure uncached-podman "$P build -q --no-cache --network host -t app $ctx")
uncached_user=$(measure uncached-user "$RS build -q --no-cache --network host -t app $ctx")

echo
echo "skiff $($S version --format '{{.Client.Version}}') beside $(podman --version), same machine, same run (median of $RUNS)"
printf '%-40s %10s %10s %-4s %8s\n' "measure" "skiff" "podman" "unit" "ratio"
row "build, 7 steps, cached (root)" "$cached_skiff" "$cached_podman" ms
row "build, 7 steps, --no-cache (root)" "$uncached_skiff" "$uncached_podman" ms
row "build, cached (rootless skiff)" "$cached_user" "$cached_podman" ms
row "build, --no-cache (rootless skiff)" "$uncached_user" "$uncached_podman" ms
