#!/usr/bin/env bash
# Installs what only the queue benchmark (bench/bench_queue.py) needs: Debian's nats-server (the
# JetStream peer it is measured against) and, from the npm registry, the `nats` client pinned in
# bench/queue/package-lock.json (into bench/queue/node_modules). Only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
dpkg-query -W -f='${Status}' nats-server 2>/dev/null | grep -q 'install ok installed' ||
  missing+=(nats-server)
# node and npm: any install that provides the commands will do
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps-bench: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -d bench/queue/node_modules/nats ]; then
  echo "deps-bench: npm ci in bench/queue"
  (cd bench/queue && npm ci --no-audit --no-fund)
fi
