#!/bin/sh
# build_migrate_bug.sh OUT — a synod with the planted MIGRATE bug SYNOD_BUG_MIGRATE_UNCONDITIONAL
# (src/data/dump.c: MIGRATE_DEL deletes a migrated key whatever it holds now, not only when its
# digest is still the one MIGRATE read), to see
# tests/integration/cluster/test_cluster_migrate.py::test_migrate_keeps_concurrent_writes fail
# on it (acknowledged writes lost). Needs build/rel (make build/rel/synod) first.
set -e
out=$1
tmp=$(mktemp -d)
gcc -Isrc -I/usr/include/lua5.1 -D_GNU_SOURCE -std=c11 -O2 -DSYNOD_BUG_MIGRATE_UNCONDITIONAL \
    -c src/data/dump.c -o "$tmp/dump.o"
cp build/rel/libsynod.a "$tmp/lib.a"
ar d "$tmp/lib.a" dump.o
ar rcs "$tmp/lib.a" "$tmp/dump.o"
gcc build/rel/src/server/main.o "$tmp/lib.a" /usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a \
    /usr/lib/x86_64-linux-gnu/liblua5.1-bitop.a -llua5.1 -lm -lssl -lcrypto -o "$out"
rm -rf "$tmp"
