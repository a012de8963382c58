#!/usr/bin/env bash
# run-cluster.sh — `make run`: a 3-node synod cluster on 127.0.0.1 in the foreground.
#
# Clients on 127.0.0.1:7001-7003, peers on 127.0.0.1:17001-17003, data in $RUN_DIR/nodeN.
# Every node's log lines are prefixed with [nodeN]. Ctrl-C stops every node (by PID).
# Environment: SYNOD_BIN (default build/rel/synod), RUN_DIR (default build/run),
# NODES (default 3), FSYNC (default always).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SYNOD_BIN:-build/rel/synod}
RUN_DIR=${RUN_DIR:-build/run}
NODES=${NODES:-3}
FSYNC=${FSYNC:-always}
[ -x "$BIN" ] || { echo "run-cluster: $BIN not built (run: make)" >&2; exit 1; }
mkdir -p "$RUN_DIR"

CLUSTER=""
for i in $(seq 1 "$NODES"); do
    CLUSTER="${CLUSTER:+$CLUSTER,}$i=127.0.0.1:1700$i"
done

PIDS=()
stop() {
    trap - INT TERM
    echo
    echo "== stopping ${#PIDS[@]} synod nodes (pids ${PIDS[*]})"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    echo "== stopped"
    exit 0
}
trap stop INT TERM

for i in $(seq 1 "$NODES"); do
    "$BIN" --id "$i" --listen "127.0.0.1:700$i" --peer-listen "127.0.0.1:1700$i" \
        --cluster "$CLUSTER" --data-dir "$RUN_DIR/node$i" --fsync "$FSYNC" \
        > >(sed -u "s/^/[node$i] /") 2>&1 &
    PIDS+=($!)
done

cat <<MSG
== synod: $NODES-node cluster on 127.0.0.1 (fsync $FSYNC, data in $RUN_DIR/node1..$NODES)
   clients:  127.0.0.1:7001 .. 127.0.0.1:700$NODES (any node: followers forward to the leader)
   connect:  redis-cli -p 7001
   try:      redis-cli -p 7002 set hello world && redis-cli -p 7003 get hello
             redis-cli -p 7001 info consensus
             redis-cli -p 7001 synod transfer-leader 2
   stop:     Ctrl-C (stops every node)
MSG

# exit (and stop the others) as soon as one node dies unexpectedly
while :; do
    for p in "${PIDS[@]}"; do
        if ! kill -0 "$p" 2>/dev/null; then
            echo "== a synod node (pid $p) exited; stopping the others" >&2
            trap - INT TERM
            for q in "${PIDS[@]}"; do kill -TERM "$q" 2>/dev/null || true; done
            for q in "${PIDS[@]}"; do wait "$q" 2>/dev/null || true; done
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
