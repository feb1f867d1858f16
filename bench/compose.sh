#!/bin/sh
# Compose, skiff's built-in `compose` beside Debian's docker-compose (1.29.2) driving Podman's
# `system service`, in the same run (root), on a three-service file (a web server, a worker
# and a database stand-in on the project's network, one published port, one named volume):
#   compose up -d                                 median, ms   (target ≤ 100 ms)
#   compose down                                  median, ms
# and, for the REST API, the same docker-compose driving skiff's `system service`.
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-20}"
. bench/common.sh
sh scripts/apt-install.sh docker-compose

project="$work/bench"
mkdir -p "$project"
cat > "$project/compose.yaml" <<'YAML'
services:
  web:
    image: localhost/busybox
    command: httpd -f -p 80
    ports: ["18480:80"]
    stop_signal: SIGKILL
    depends_on: [db]
  worker:
    image: localhost/busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on: [db]
  db:
    image: localhost/busybox
    command: sleep 1000
    stop_signal: SIGKILL
    volumes: [data:/data]
volumes:
  data: {}
YAML

start_services

CS="$S compose -f $project/compose.yaml -p bench"
DCP="env DOCKER_HOST=unix://$work/podman.sock docker-compose -f $project/compose.yaml -p bench"
DCS="env DOCKER_HOST=unix://$work/skiff.sock docker-compose -f $project/compose.yaml -p bench"

# up -d measured from nothing (each run is prepared by a down), down measured from up.
cycle() { # NAME UP DOWN → "up-median down-median"
  if ! out=$(sh -c "$2 && $3" 2>&1); then
    echo "bench: '$2 && $3' failed: $out" >&2
    exit 1
  fi
  hyperfine --style none --warmup 2 --runs "$RUNS" --prepare "$3 >/dev/null 2>&1" \
    --export-json "$work/$1-up.json" "$2 >/dev/null 2>&1" >/dev/null
  hyperfine --style none --warmup 2 --runs "$RUNS" --prepare "$2 >/dev/null 2>&1" \
    --export-json "$work/$1-down.json" "$3 >/dev/null 2>&1" >/dev/null
  sh -c "$3" >/dev/null 2>&1
  echo "$(median "$work/$1-up.json") $(median "$work/$1-down.json")"
}
set -- $(cycle skiff "$CS up -d" "$CS down -v -t 0")
up_skiff=$1 down_skiff=$2
set -- $(cycle podman "$DCP up -d" "$DCP down -v -t 0")
up_podman=$1 down_podman=$2
set -- $(cycle api "$DCS up -d" "$DCS down -v -t 0")
up_api=$1 down_api=$2

header
row "compose up -d, 3 services (root)" "$up_skiff" "$up_podman" ms
row "compose down -v (root)" "$down_skiff" "$down_podman" ms
row "docker-compose up -d via the API (root)" "$up_api" "$up_podman" ms
row "docker-compose down -v via the API (root)" "$down_api" "$down_podman" ms
