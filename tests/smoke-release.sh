#!/bin/sh
# The release build as installed (build.sh: static skiff, no_std static skiff-monitor) through a
# short workflow, as root and as the test user. The integration tests run the dev build; this
# checks what users and the benchmark get. Run as root after tests/setup.sh.
set -eu
cd "$(dirname "$0")/.."
sh build.sh
work=$(mktemp -d /tmp/skiff-smoke.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
install -m 0755 target/release/skiff target/release/skiff-monitor "$work/"
sh tests/image/make-busybox-rootfs.sh "$work/busybox.tar"
chmod 644 "$work/busybox.tar"
mkdir -p "$work/home" && chown skiff-test "$work/home"

check() { # LABEL EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    echo "smoke: $1: expected '$2', got '$3'" >&2
    exit 1
  fi
}

smoke() { # MODE SKIFF...
  mode=$1; shift
  "$@" import "$work/busybox.tar" localhost/busybox >/dev/null
  check "$mode run" "hello" "$("$@" run --rm busybox echo hello)"
  set +e; "$@" run --rm busybox sh -c 'exit 3'; code=$?; set -e
  check "$mode exit code" 3 "$code"
  "$@" run -d --name web busybox sh -c 'echo ready; exec sleep 1000' >/dev/null
  sleep 0.5
  check "$mode logs" "ready" "$("$@" logs web)"
  monitor=$("$@" inspect --format '{{.State.ConmonPid}}' web)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$monitor/status")
  echo "smoke: $mode monitor RSS ${rss} KiB"
  [ "$rss" -lt 1024 ] || { echo "smoke: $mode monitor holds $rss KiB" >&2; exit 1; }
  "$@" stop -t 0 web >/dev/null
  check "$mode stopped" "137" "$("$@" inspect --format '{{.State.ExitCode}}' web)"
  "$@" rm web >/dev/null
  check "$mode empty" "" "$("$@" ps -aq)"
  "$@" rmi -a -f >/dev/null
}

smoke root "$work/skiff" --root "$work/root" --runroot "$work/run"
smoke rootless runuser -u skiff-test -- env HOME="$work/home" XDG_RUNTIME_DIR="$work/home/xdg" \
  "$work/skiff" --root "$work/home/root" --runroot "$work/home/run"
echo "smoke: release build passed as root and rootless"
