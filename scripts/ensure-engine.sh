#!/usr/bin/env bash
# Makes sure a container engine answers. No-op when one does (any engine testcontainers would find:
# DOCKER_HOST or the socket). Otherwise, on a Debian/Ubuntu host as root: installs Debian's docker.io
# (and debootstrap, for offline base images) and starts dockerd. Idempotent.
set -euo pipefail

log() { echo "[ensure-engine] $*"; }
answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  log "an engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-engine: no container engine answers and this is not root: start Docker (or set DOCKER_HOST), then retry" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-engine: no container engine answers and this host has no apt-get: install and start Docker yourself" >&2
  exit 2
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io ca-certificates iptables
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  log "starting docker with systemd"
  systemctl start docker
else
  log "starting dockerd (log: /var/log/redis-repro-dockerd.log)"
  nohup dockerd >/var/log/redis-repro-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if answers; then
    log "engine up ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "ensure-engine: dockerd did not answer within 60 s: see /var/log/redis-repro-dockerd.log" >&2
exit 2
