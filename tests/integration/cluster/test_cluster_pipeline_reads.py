"""Reads pipelined behind writes of the same client (docs/cluster.md "Reads behind writes").

A client pipelining writes and reads (SET, GET, INCR, GET, ...) used to wait, at every change
from writes to reads, for its writes to be committed and applied, and then for a ReadIndex
round: one or two round trips per change (a pipeline of 2,000 SET/GET pairs took ~2 s). Such a
read now goes through the log right behind the writes (NENTRY_READ) and is answered when the
leader applies it: its place in the log is its linearization point. Checked here, through the
leader and through a follower: every read sees exactly the writes before it in the pipeline
(and the concurrent writes of another client no later than its place), the reads went through
the log (INFO log_reads), and the replicas end identical.

Replay: PIPE_SEED=<n>.
"""

import os
import random
import socket
import threading

import pytest
import redis

from harness import assert_same_digest, resp_command, resp_replies

pytestmark = pytest.mark.usefixtures("cluster_required")


def _pipeline(node, cmds, timeout=30):
    s = socket.create_connection((node.host, node.port), timeout=timeout)
    try:
        s.sendall(b"".join(resp_command(*c) for c in cmds))
        out = resp_replies(s, len(cmds), timeout)
        assert len(out) == len(cmds), f"{len(out)} of {len(cmds)} replies"
        return out
    finally:
        s.close()


def test_reads_behind_writes_see_exactly_what_came_before(make_cluster):
    seed = int(os.environ.get("PIPE_SEED", random.randrange(1 << 30)))
    print(f"PIPE_SEED={seed}")
    rnd = random.Random(seed)
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    lr = redis.Redis(host=leader.host, port=leader.port, socket_timeout=10, decode_responses=True)
    stop = threading.Event()

    def other_writer():  # concurrent writes of another client: never seen out of order
        r = redis.Redis(host=leader.host, port=leader.port, socket_timeout=10)
        i = 0
        while not stop.is_set():
            i += 1
            r.set("other", i)

    t = threading.Thread(target=other_writer, daemon=True)
    t.start()
    try:
        for node in (leader, follower):
            reads0 = int(lr.info("consensus")["log_reads"])
            cmds, want = [], []
            model = {}
            tag = f"n{node.id}"
            for i in range(600):
                op = rnd.random()
                key = f"{tag}:k{rnd.randrange(20)}"
                if op < 0.35:
                    v = f"v{i}"
                    cmds.append(("SET", key, v))
                    want.append("OK")
                    model[key] = v
                elif op < 0.5:
                    cmds.append(("INCR", f"{tag}:ctr"))
                    model[f"{tag}:ctr"] = int(model.get(f"{tag}:ctr", 0)) + 1
                    want.append(model[f"{tag}:ctr"])
                elif op < 0.6:
                    cmds.append(("DEL", key))
                    want.append(1 if key in model else 0)
                    model.pop(key, None)
                elif op < 0.8:
                    cmds.append(("GET", key))
                    want.append(model.get(key))
                elif op < 0.9:
                    k2 = f"{tag}:ctr"
                    cmds.append(("MGET", key, k2))
                    want.append([model.get(key), None if k2 not in model else str(model[k2])])
                else:
                    cmds.append(("GET", "other"))
                    want.append(None)  # checked below: never decreasing
            got = _pipeline(node, cmds)
            last_other = 0
            for i, (cmd, w, g) in enumerate(zip(cmds, want, got)):
                if cmd[:2] == ("GET", "other"):
                    o = int(g or 0)
                    assert o >= last_other, f"PIPE_SEED={seed}: node {node.id} #{i}: {o} < {last_other}"
                    last_other = o
                    continue
                if isinstance(w, int) and isinstance(g, str):
                    g = int(g)
                assert g == w, f"PIPE_SEED={seed}: node {node.id} #{i} {cmd}: got {g!r}, want {w!r}"
            reads = int(lr.info("consensus")["log_reads"]) - reads0
            assert reads > 50, f"node {node.id}: only {reads} reads went through the log"
    finally:
        stop.set()
        t.join(10)
    c.wait_converged([], timeout=20)
    assert_same_digest(c)
