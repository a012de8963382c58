#!/bin/sh
# build_queue_bug.sh DEFINE OUT — a synod whose stream_group.c is compiled with a planted bug
# (QUEUE_BUG_DELIVERY_NOT_REPLICATED), to see tests/integration/cluster/test_cluster_queue.py
# fail on it. Needs build/rel (make build/rel/synod) first.
set -e
def=$1
out=$2
tmp=$(mktemp -d)
gcc -Isrc -I/usr/include/lua5.1 -D_GNU_SOURCE -std=c11 -O2 -D"$def" -c src/data/stream_group.c -o "$tmp/stream_group.o"
cp build/rel/libsynod.a "$tmp/lib.a"
ar d "$tmp/lib.a" stream_group.o
ar rcs "$tmp/lib.a" "$tmp/stream_group.o"
gcc build/rel/src/server/main.o "$tmp/lib.a" /usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a \
    /usr/lib/x86_64-linux-gnu/liblua5.1-bitop.a -llua5.1 -lm -lssl -lcrypto -o "$out"
rm -rf "$tmp"
