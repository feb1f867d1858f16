#!/bin/sh
# Prepares a fresh Debian/Ubuntu machine for skiff's tests (run as root): packages, the
# unprivileged test user with subordinate ID ranges. Safe to run again.
set -eu
[ "$(id -u)" = 0 ] || { echo "tests/setup.sh must run as root" >&2; exit 1; }

sh "$(dirname "$0")/../scripts/apt-install.sh" busybox-static uidmap libseccomp-dev pkg-config file catatonit runc \
  docker-registry apache2-utils curl openssl nftables iptables iproute2 passt slirp4netns python3 python3-venv systemd

# The docker CLI and docker-compose drive the REST API's tests (these machines ship the docker
# CLI 28.x in /usr/local/bin; elsewhere Debian's, its daemon kept from starting).
if ! command -v docker >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  command -v docker >/dev/null 2>&1 || sh "$(dirname "$0")/../scripts/apt-install.sh" docker.io
  # Without recommends: compose recommends Docker's daemon.
  command -v docker-compose >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Headless Chromium renders the dashboard's pages in its tests.
command -v chromium >/dev/null 2>&1 ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

# Tools from PyPI, in a venv of the system's Python (any user can run it): kubernetes-validate
# checks what `kube generate` writes; podman-compose drives skiff as it drives Podman.
if [ ! -x /opt/skiff-tools/bin/kubernetes-validate ] || [ ! -x /opt/skiff-tools/bin/podman-compose ]; then
  rm -rf /opt/skiff-tools
  "$(command -v /usr/bin/python3 || command -v python3)" -m venv /opt/skiff-tools
  /opt/skiff-tools/bin/pip install --quiet --disable-pip-version-check kubernetes-validate podman-compose
  chmod -R a+rX /opt/skiff-tools
fi

# The unprivileged user rootless tests run as, with its own subordinate ID ranges.
user=skiff-test
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
grep -q "^$user:" /etc/subuid || echo "$user:300000:65536" >> /etc/subuid
grep -q "^$user:" /etc/subgid || echo "$user:300000:65536" >> /etc/subgid

# Unprivileged user namespaces must be allowed (Ubuntu may restrict them with AppArmor).
if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
  echo 0 > /proc/sys/kernel/apparmor_restrict_unprivileged_userns || true
fi
if [ -e /proc/sys/kernel/unprivileged_userns_clone ]; then
  echo 1 > /proc/sys/kernel/unprivileged_userns_clone || true
fi
# Rootless networking opens /dev/net/tun; distributions ship it 0666, these machines 0600.
if [ -c /dev/net/tun ]; then
  chmod 0666 /dev/net/tun
fi
echo "test setup done: user $user"
