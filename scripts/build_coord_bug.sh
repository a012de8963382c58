#!/bin/sh
# build_coord_bug.sh DEFINE OUT — a synod whose coord.c is compiled with a planted bug
# (COORD_BUG_TOKEN_REUSE, COORD_BUG_NO_REBASE,
# COORD_BUG_FREE_LOCK_PASSES), to see tests/integration/cluster/
# test_cluster_coord.py fail on it. Needs build/rel (make build/rel/synod) first.
set -e
def=$1
out=$2
tmp=$(mktemp -d)
gcc -Isrc -I/usr/include/lua5.1 -D_GNU_SOURCE -std=c11 -O2 -D"$def" -c src/data/coord.c -o "$tmp/coord.o"
cp build/rel/libsynod.a "$tmp/lib.a"
ar d "$tmp/lib.a" coord.o
ar rcs "$tmp/lib.a" "$tmp/coord.o"
gcc build/rel/src/server/main.o "$tmp/lib.a" /usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a \
    /usr/lib/x86_64-linux-gnu/liblua5.1-bitop.a -llua5.1 -lm -lssl -lcrypto -o "$out"
rm -rf "$tmp"
