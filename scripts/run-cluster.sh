#!/usr/bin/env bash
# run-cluster.sh — `make run`: start synod locally in the foreground with readable logs.
#
# For now this is one node (the single-node server of issue 2) on 127.0.0.1:7001; the
# 3-node cluster on ports 7001-7003 arrives with the replicated server (issue 4).
# Ctrl-C stops it. Environment: SYNOD_BIN (default build/rel/synod), RUN_DIR (default
# build/run, where the node's data directory goes).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SYNOD_BIN:-build/rel/synod}
RUN_DIR=${RUN_DIR:-build/run}
PORT=7001
[ -x "$BIN" ] || { echo "run-cluster: $BIN not built (run: make)" >&2; exit 1; }
mkdir -p "$RUN_DIR"

cat <<MSG
== synod: starting 1 node (single-node mode; the 3-node cluster comes with issue 4)
   node 1: clients on 127.0.0.1:$PORT, data in $RUN_DIR/node1
   connect:  redis-cli -p $PORT
   try:      redis-cli -p $PORT set hello world && redis-cli -p $PORT info consensus
   stop:     Ctrl-C
MSG

"$BIN" --id 1 --listen "127.0.0.1:$PORT" --peer-listen "127.0.0.1:1$PORT" \
    --data-dir "$RUN_DIR/node1" > >(sed -u 's/^/[node1] /') 2>&1 &
NODE_PID=$!

stop() {
    trap - INT TERM
    echo
    echo "== stopping synod (pid $NODE_PID)"
    kill -TERM "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    echo "== stopped"
    exit 0
}
trap stop INT TERM
wait "$NODE_PID" || { echo "== synod exited with status $?" >&2; exit 1; }
