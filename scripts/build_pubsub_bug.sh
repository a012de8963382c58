#!/bin/sh
# build_pubsub_bug.sh OUT — a synod with the planted pub/sub bug SYNOD_BUG_PUBSUB_LOCAL
# (src/node/node_pubsub.c: a PUBLISH is delivered at once on the node it reaches, not when its
# entry is applied), to see tests/integration/cluster/test_cluster_pubsub.py fail on it.
# Needs build/rel (make build/rel/synod) first.
set -e
out=$1
tmp=$(mktemp -d)
for f in node node_pubsub; do
    gcc -Isrc -I/usr/include/lua5.1 -D_GNU_SOURCE -std=c11 -O2 -DSYNOD_BUG_PUBSUB_LOCAL \
        -c src/node/$f.c -o "$tmp/$f.o"
done
cp build/rel/libsynod.a "$tmp/lib.a"
ar d "$tmp/lib.a" node.o node_pubsub.o
ar rcs "$tmp/lib.a" "$tmp/node.o" "$tmp/node_pubsub.o"
gcc build/rel/src/server/main.o "$tmp/lib.a" /usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a \
    /usr/lib/x86_64-linux-gnu/liblua5.1-bitop.a -llua5.1 -lm -lssl -lcrypto -o "$out"
rm -rf "$tmp"
