#!/usr/bin/env bash
# Brings what a run needs on a Debian/Ubuntu host, and says exactly what to do where it cannot:
#   1. a container engine that answers (installs Debian's docker.io and starts dockerd, as root);
#   2. the base images builds start FROM: pulled, or, where no registry answers, made offline with
#      debootstrap (installed here when missing), which needs root once.
# Idempotent: a step already done is skipped. Run it after `npm ci` (which builds dist/); before that,
# step 2 only installs debootstrap where it will be needed and the first run makes the bases.
# Exit: 0 ready, 3 the machine needs something this script cannot do (the message says what).
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/.." && pwd)
cli="$root_dir/dist/harness/cli.js"
builder=${REDIS_REPRO_BUILDER_IMAGE:-buildpack-deps:bookworm}
runtime=${REDIS_REPRO_RUNTIME_IMAGE:-debian:bookworm-slim}

log() { echo "[ensure-engine] $*"; }
fail() {
  echo "ensure-engine: $*" >&2
  exit 3
}
is_root() { [ "$(id -u)" = 0 ]; }
answers() { docker info >/dev/null 2>&1; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# --- 1. the engine -----------------------------------------------------------------------------
if command -v docker >/dev/null 2>&1 && answers; then
  log "an engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
elif ! is_root; then
  user=$(id -un)
  said=$(docker info 2>&1 || true)
  if command -v docker >/dev/null 2>&1 && grep -qi 'permission denied' <<<"$said"; then
    fail "the engine runs but $user may not use its socket: run \`sudo usermod -aG docker $user\`, log in again (or run \`newgrp docker\`), then retry"
  fi
  fail "no container engine answers, and installing or starting one needs root: run \`sudo bash scripts/ensure-engine.sh\` (or start Docker yourself, or set DOCKER_HOST), then add yourself to the docker group: \`sudo usermod -aG docker $user\` and log in again"
elif ! command -v apt-get >/dev/null 2>&1; then
  fail "no container engine answers and this host has no apt-get: install and start Docker yourself, then retry"
else
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
    answers && break
    sleep 1
  done
  answers || fail "dockerd did not answer within 60 s: see /var/log/redis-repro-dockerd.log"
  log "engine up ($(docker version --format '{{.Server.Version}}'))"
fi

# --- 2. the base images ------------------------------------------------------------------------
if { has_image "$builder" || has_image redis-repro/base:bookworm-builder-cxx; } &&
  { has_image "$runtime" || has_image redis-repro/base:bookworm-slim; }; then
  log "base images present"
  exit 0
fi
log "base images missing: trying to pull $runtime"
if timeout 120 docker pull -q "$runtime" >/dev/null 2>&1; then
  log "a registry answers: builds pull their bases (once)"
  exit 0
fi
log "no registry answers: the bases are made offline with debootstrap from Debian's mirror"
if ! is_root; then
  fail "making the offline base images needs root once: run \`sudo bash scripts/ensure-engine.sh\` (it installs debootstrap and makes them; about a minute), then run as yourself again"
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || fail "debootstrap is missing and this host has no apt-get: install debootstrap, then retry"
  log "installing debootstrap"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi
if [ ! -f "$cli" ]; then
  log "dist/ is not built yet (run \`npm ci\`): the first run makes the bases"
  exit 0
fi
command -v node >/dev/null 2>&1 ||
  fail "node is not on root's PATH: run \`sudo env \"PATH=\$PATH\" bash scripts/ensure-engine.sh\`"
log "making the offline base images (about a minute)"
node "$cli" images bases --bases auto
log "ready"
