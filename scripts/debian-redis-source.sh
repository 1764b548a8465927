#!/usr/bin/env bash
# Puts Debian's redis source tarball (bookworm: 7.0.15) into the harness's source cache, verified by
# its files digest (`redis-repro sources add`). This is the one release a machine with only Debian's
# package archive can build, so CI runs a real scenario end to end with it. Needs root and apt-get;
# adds a deb-src entry for the machine's Debian suites when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."

IFS=: read -r -a dirs <<<"${REDIS_REPRO_SOURCES:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-repro/sources}"
for dir in "${dirs[@]}"; do
  if ls "$dir"/redis[-_]7.0.*.tar.gz >/dev/null 2>&1; then
    echo "[debian-source] already in $dir"
    exit 0
  fi
done
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  . /etc/os-release
  echo "[debian-source] adding a deb-src entry for ${VERSION_CODENAME}"
  cat >/etc/apt/sources.list.d/redis-repro-deb-src.sources <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME} ${VERSION_CODENAME}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
command -v dpkg-source >/dev/null 2>&1 || { apt-get update -q; DEBIAN_FRONTEND=noninteractive apt-get install -y -q dpkg-dev; }
apt-get update -q
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source --download-only redis)
node dist/harness/cli.js sources add "$(ls "$work"/redis_*.orig.tar.gz | head -n 1)"
