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
. bench/common.sh

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

cached_skiff=$(measure cached-skiff "$S build -q --network host -t app $ctx")
cached_podman=$(measure cached-podman "$P build -q --network host -t app $ctx")
cached_user=$(measure cached-user "$RS build -q --network host -t app $ctx")
uncached_skiff=$(measure uncached-skiff "$S build -q --no-cache --network host -t app $ctx")
uncached_podman=$(measure uncached-podman "$P build -q --no-cache --network host -t app $ctx")
uncached_user=$(measure uncached-user "$RS build -q --no-cache --network host -t app $ctx")

header
row "build, 7 steps, cached (root)" "$cached_skiff" "$cached_podman" ms
row "build, 7 steps, --no-cache (root)" "$uncached_skiff" "$uncached_podman" ms
row "build, cached (rootless skiff)" "$cached_user" "$cached_podman" ms
row "build, --no-cache (rootless skiff)" "$uncached_user" "$uncached_podman" ms
