#!/usr/bin/env bash
# Installs the Debian packages synod's build, tests and benchmarks need; only what is missing.
set -euo pipefail
pkgs=(libcmocka-dev python3-pytest python3-pytest-xdist python3-redis redis-tools redis-server libclang-rt-14-dev clang
      etcd-server etcd-client iproute2 libssl-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
