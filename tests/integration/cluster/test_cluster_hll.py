"""HyperLogLogs on a 3-node cluster: every replica ends with the same HLL strings (issue 10).

Writers pipeline random PFADD / PFMERGE / PFDEBUG TODENSE and PFCOUNT (single and multi-key) on
a few keys, through the leader and through a follower (which forwards): some keys stay sparse,
some grow dense, merges mix both. The leader is killed (SIGKILL) halfway through; the writers
move to the surviving nodes, a new leader takes over, and the old leader is restarted and
catches up (--snapshot-count 40: from a snapshot holding HLL strings, or from the log). Once
every node has applied the same index, each node's strings are read locally (stale reads) and
their digests must be identical, as must each node's PFCOUNT of every key.

What it guards: the HLL bytes are a pure function of the log. PFADD/PFMERGE leave the cached
count stale and a PFCOUNT of one stale key stores the count, as Redis does; that PFCOUNT is
logged, so every replica stores it, never only the node that served it. Seen failing (digests
differ, node by node) with a planted build whose PFCOUNT is served as a read and stores the
count into the serving node's string. The seed
is printed (HLL_SEED=n replays the same command stream; timing still varies).
"""

import hashlib
import os
import random

import pytest
import redis
from harness import assert_same_digest, writers_through_leader_kill

pytestmark = pytest.mark.usefixtures("cluster_required")

KEYS = ["hll%d" % i for i in range(6)]
ROUNDS = 50  # pipelines per writer
PIPE = 20  # commands per pipeline
DENSE_BYTES = 12304


def _command(rng):
    k = rng.choice(KEYS)
    op = rng.randrange(12)
    if op <= 5:
        # small keys stay sparse; hll4/hll5 get many elements and turn dense
        n = rng.choice([1, 3, 10]) if k not in ("hll4", "hll5") else rng.choice([50, 300])
        return ("PFADD", k, *[str(rng.randrange(100000)) for _ in range(n)])
    # PFMERGE's destination is always dense (Redis 7.0): hll0 and hll1 are never merged into
    # nor made dense, so they stay sparse and are merged from
    dense_ok = KEYS[2:]
    if op <= 7:
        return ("PFMERGE", rng.choice(dense_ok), *rng.sample(KEYS, rng.randint(1, 3)))
    if op == 8 and rng.random() < 0.2:
        return ("PFDEBUG", "TODENSE", rng.choice(dense_ok))
    if op <= 9:
        return ("PFCOUNT", k)
    return ("PFCOUNT", *rng.sample(KEYS, 3))


def _digest_on(node):
    """sha256 over every key's string, and each key's PFCOUNT, read locally on node."""
    # bytes, not text: the strings are binary (the harness's connections decode replies)
    r = redis.Redis(host=node.host, port=node.port, socket_timeout=5.0, decode_responses=False)
    try:
        try:
            r.execute_command("SYNOD", "CONSISTENCY", "stale")
        except redis.ResponseError:
            r.execute_command("READONLY")
        h = hashlib.sha256()
        counts, lens = {}, {}
        for k in KEYS:
            v = r.execute_command("GET", k)
            h.update(k.encode() + b"=" + (v if v is not None else b"<nil>") + b";")
            lens[k] = len(v) if v is not None else None
            counts[k] = r.execute_command("PFCOUNT", k)
        return h.hexdigest(), counts, lens
    finally:
        r.close()


def test_replicas_end_with_identical_hlls(make_cluster):
    seed = int(os.environ.get("HLL_SEED", random.randrange(1 << 30)))
    print(f"HLL_SEED={seed}")
    c = make_cluster(3, extra_args=("--snapshot-count", "40"))
    stats, errors, leader, new = writers_through_leader_kill(
        c, seed, _command, ROUNDS, PIPE, expected=("specified key does not exist",),
        kill_after=0.7, restart_after=1.0)  # fmt: skip
    assert not errors, f"HLL_SEED={seed}: unexpected errors: {errors[:5]}"
    assert stats["ok"] > 1000, f"too few commands took effect to prove anything: {stats}"
    c.wait_converged([], timeout=30)
    states = {n.id: _digest_on(n) for n in c.nodes}
    ref = states[new.id]
    lens = ref[2]
    assert any(v == DENSE_BYTES for v in lens.values()), f"no dense HLL: {lens}"
    assert any(v is not None and v < DENSE_BYTES for v in lens.values()), f"no sparse HLL: {lens}"
    for nid, st in states.items():
        assert st[0] == ref[0], (f"HLL_SEED={seed}: node{nid} digest differs from node{new.id}: "
                                 f"counts {st[1]} vs {ref[1]}, lengths {st[2]} vs {ref[2]}")
        assert st[1] == ref[1], f"HLL_SEED={seed}: node{nid} counts {st[1]} vs {ref[1]}"
    assert_same_digest(c, f"HLL_SEED={seed}")  # and nothing else differs
    print(f"{stats}; leader node{leader.id} killed, node{new.id} took over; lengths {lens}; "
          f"counts {ref[1]}")
