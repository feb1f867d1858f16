#!/bin/sh
# Kubernetes YAML and systemd units, skiff beside Podman (Debian's podman, with runc), in the
# same run (root):
#   kube generate CTR                      median, ms   (target ≤ 5 ms)
#   generate systemd CTR                   median, ms
#   kube play of a one-container pod       median, ms   (target ≤ 40 ms; the pod is taken
#                                                         down between runs, not measured)
# Prints each figure beside Podman's with the ratio skiff/podman. Run as root.
set -eu
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
. bench/common.sh

$S create --name web -p 18090:80 -e MODE=fast localhost/busybox httpd -f >/dev/null
$P create --name web -p 18090:80 -e MODE=fast localhost/busybox httpd -f >/dev/null
generate_skiff=$(measure kube-generate-skiff "$S kube generate web")
generate_podman=$(measure kube-generate-podman "$P kube generate web")
systemd_skiff=$(measure systemd-skiff "$S generate systemd web")
systemd_podman=$(measure systemd-podman "$P generate systemd web")
$S rm -f web >/dev/null; $P rm -f web >/dev/null

# One container that stops within a second when its pod is taken down.
cat > "$work/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: bench
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: localhost/busybox
    command: [/bin/sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]
    env:
    - name: PATH
      value: /usr/sbin:/usr/bin:/sbin:/bin
YAML
measure_play() { # NAME ENGINE → median ms of kube play, the pod taken down before each run
  sh -c "$2 kube play $work/pod.yaml" >/dev/null
  hyperfine --style none --warmup 2 --runs "$RUNS" -N \
    --prepare "$2 kube down $work/pod.yaml" \
    --export-json "$work/$1.json" "$2 kube play $work/pod.yaml" >/dev/null 2>&1
  median "$work/$1.json"
}
play_skiff=$(measure_play kube-play-skiff "$S")
play_podman=$(measure_play kube-play-podman "$P")

header
row "kube generate CTR (root)" "$generate_skiff" "$generate_podman" ms
row "generate systemd CTR (root)" "$systemd_skiff" "$systemd_podman" ms
row "kube play one-container pod (root)" "$play_skiff" "$play_podman" ms
