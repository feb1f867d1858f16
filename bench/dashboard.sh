#!/bin/sh
# The web dashboard's targets, root, in headless Chromium driven through the DevTools protocol
# (bench/dashboard_cdp.py), medians in ms:
#   first render of the containers page with 100 containers   (target ≤ 300 ms)
#   a container created by the CLI shown in the page          (target ≤ 200 ms after it returned)
#   RSS of the idle dashboard process, its page open           (target ≤ 20 MB)
# Podman has no dashboard of its own (Podman Desktop is a separate application), so these
# figures stand beside their targets. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-10}"
. bench/common.sh
sh scripts/apt-install.sh chromium

i=0
while [ "$i" -lt 100 ]; do
  $S create --name "box-$i" localhost/busybox true >/dev/null
  i=$((i + 1))
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$S dashboard --no-browser --port "$port" > "$work/dashboard.url" 2>/dev/null &
dashboard=$!
trap 'kill $dashboard 2>/dev/null || true; cleanup' EXIT
n=0
until [ -s "$work/dashboard.url" ]; do
  n=$((n + 1)); [ "$n" -lt 200 ] || { echo "bench: the dashboard never printed its address" >&2; exit 1; }
  sleep 0.05
done
url=$(head -n 1 "$work/dashboard.url")
# shellcheck disable=SC2086
set -- $(python3 bench/dashboard_cdp.py "$url" "$RUNS" $S create --name '{}' localhost/busybox true)
render=$1 event=$2
sleep 3
rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$dashboard/status")

echo
echo "skiff $($S version --format '{{.Client.Version}}') dashboard, $(chromium --version 2>/dev/null | head -n 1) (median of $RUNS)"
printf '%-52s %10s %10s\n' "measure" "skiff" "target"
printf '%-52s %7s ms %7s ms\n' "first render, containers page, 100 containers" "$render" "300"
printf '%-52s %7s ms %7s ms\n' "CLI create shown in the page, after it returned" "$event" "200"
printf '%-52s %7s MB %7s MB\n' "RSS of the idle dashboard process" "$rss" "20"
