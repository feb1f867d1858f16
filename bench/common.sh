# Shared by the bench scripts, sourced from the repository's root after `set -eu`, with
# RUNS set: packages (Podman from Debian, hyperfine), Podman configured for these machines
# (runc; ulimits within the hard limit, as there is no CAP_SYS_RESOURCE), skiff built and
# installed in a fresh work directory, the busybox image imported into skiff and Podman,
# root and rootless, and the helpers below. Speed is checked by benchmarks, never by tests.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
[ "$(id -u)" = 0 ] || { echo "bench scripts must run as root" >&2; exit 1; }
sh tests/setup.sh >/dev/null
sh scripts/apt-install.sh podman hyperfine iptables conmon
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
sh build.sh >/dev/null 2>&1 || sh build.sh

work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
chmod 755 "$work"
install -m 0755 target/release/skiff target/release/skiff-monitor "$work/"
S="$work/skiff --root $work/root --runroot $work/run"
P="podman --root $work/podman-root --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
user=skiff-test
uhome="$work/home"
mkdir -p "$uhome" && chown "$user" "$uhome"
RS="runuser -u $user -- env HOME=$uhome XDG_RUNTIME_DIR=$uhome/xdg $work/skiff"
RP="runuser -u $user -- env HOME=$uhome XDG_RUNTIME_DIR=$uhome/xdg podman --runtime runc --cgroup-manager cgroupfs --events-backend none"
cleanup() {
  $S pod rm -a -f >/dev/null 2>&1 || true
  $P pod rm -a -f >/dev/null 2>&1 || true
  $S rm -a -f >/dev/null 2>&1 || true
  $P rm -a -f >/dev/null 2>&1 || true
  $RS rm -a -f >/dev/null 2>&1 || true
  $RP rm -a -f >/dev/null 2>&1 || true
  $RP system reset -f >/dev/null 2>&1 || true
  $RS rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

sh tests/image/make-busybox-rootfs.sh "$work/busybox.tar"
chmod 644 "$work/busybox.tar"
$S import "$work/busybox.tar" localhost/busybox >/dev/null
$P import "$work/busybox.tar" localhost/busybox >/dev/null
$RS import "$work/busybox.tar" localhost/busybox >/dev/null
$RP import "$work/busybox.tar" localhost/busybox >/dev/null

median() { # hyperfine JSON → median in ms
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}
measure() { # NAME COMMAND → median ms (the command runs once first, and must work)
  if ! out=$(sh -c "$2" 2>&1); then
    echo "bench: '$2' failed: $out" >&2
    exit 1
  fi
  hyperfine --style none --warmup 3 --runs "$RUNS" -N --export-json "$work/$1.json" "$2" >/dev/null 2>&1 \
    || hyperfine --style none --warmup 3 --runs "$RUNS" --export-json "$work/$1.json" "$2" >/dev/null
  median "$work/$1.json"
}
row() { # LABEL SKIFF PODMAN UNIT
  python3 -c 'import sys; l,s,p,u=sys.argv[1:]; print("%-40s %10s %10s %-4s %8.3f" % (l,s,p,u,float(s)/float(p)))' "$1" "$2" "$3" "$4"
}
header() {
  echo
  echo "skiff $($S version --format '{{.Client.Version}}') beside $(podman --version), same machine, same run (median of $RUNS)"
  printf '%-40s %10s %10s %-4s %8s\n' "measure" "skiff" "podman" "unit" "ratio"
}
start_services() { # skiff's and Podman's `system service` on sockets in $work, answering
  $S system service --time 0 "unix://$work/skiff.sock" 2>/dev/null &
  skiff_pid=$!
  $P system service --time 0 "unix://$work/podman.sock" 2>/dev/null &
  podman_pid=$!
  trap 'kill $skiff_pid $podman_pid 2>/dev/null || true; cleanup' EXIT
  for socket in "$work/skiff.sock" "$work/podman.sock"; do
    i=0
    until [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null; do
      i=$((i + 1)); [ "$i" -lt 200 ] || { echo "bench: $socket never answered" >&2; exit 1; }
      sleep 0.05
    done
  done
}
