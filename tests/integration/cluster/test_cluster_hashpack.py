"""Packed hashes with long values on a 3-node cluster (docs/data.md, "Hashes"): with
hash-max-listpack-value 100000 a hash whose values run to 20,000 bytes stays packed, in insertion
order, on every replica, through forwarding, a leader crash and snapshot installs.

Writers pipeline HSET (values of 0 to 20,000 bytes, across the one-, two- and three-byte length
headers), HDEL and HINCRBY on a few hashes, through the leader and through followers; one hash
also takes a 200,000-byte value now and then, which converts it to a table. The leader is killed
(SIGKILL) halfway and restarted; with --snapshot-count 60 it and the others load snapshots. Once
all have applied the same index, SYNOD DIGEST must be identical on every node, every hash but the
converted one must read OBJECT ENCODING listpack, and HGETALL (insertion order while packed) must
list the fields in the same order everywhere. Seen failing (encoding hashtable on a restarted
node) with the snapshot loader's hash bound left at the default 64. HPACK_SEED=n replays the
command stream (timing still varies).
"""

import os
import random

import pytest
import redis
from harness import assert_same_digest, writers_through_leader_kill

pytestmark = pytest.mark.usefixtures("cluster_required")

PACKED = ["hp%d" % i for i in range(3)]
TABLE = "hx"  # gets an over-the-bound value now and then
ROUNDS = 20  # pipelines per writer
PIPE = 10  # commands per pipeline
SIZES = [0, 1, 60, 127, 128, 300, 16383, 16384, 20000]


def _command(rng):
    key = rng.choice(PACKED + [TABLE])
    field = "f%d" % rng.randrange(12)
    op = rng.randrange(10)
    if op <= 5:
        n = rng.choice(SIZES)
        if key == TABLE and rng.random() < 0.1:
            n = 200000
        return ("HSET", key, field, rng.choice("abcdef") * n)
    if op <= 7:
        return ("HDEL", key, field, "f%d" % rng.randrange(12))
    return ("HINCRBY", key, "n%d" % rng.randrange(3), str(rng.randrange(-5, 6)))


def _state(node):
    r = redis.Redis(host=node.host, port=node.port, socket_timeout=5.0)
    try:
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
        enc, order = {}, {}
        for k in PACKED + [TABLE]:
            if r.exists(k):
                enc[k] = r.object("encoding", k)
                order[k] = [(f, len(v)) for f, v in r.hgetall(k).items()]
        return enc, order
    finally:
        r.close()


def test_packed_hashes_with_long_values(make_cluster):
    seed = int(os.environ.get("HPACK_SEED", random.randrange(1 << 30)))
    print(f"HPACK_SEED={seed}")
    c = make_cluster(3, extra_args=("--snapshot-count", "60", "--hash-max-listpack-value",
                                    "100000"))  # fmt: skip
    stats, errors, _, _ = writers_through_leader_kill(
        c, seed, _command, ROUNDS, PIPE, expected=("not an integer",))  # fmt: skip
    assert not errors, f"HPACK_SEED={seed}: unexpected errors: {errors[:5]}"
    assert stats["ok"] > 200, f"HPACK_SEED={seed}: too few writes to prove anything: {stats}"
    digest = assert_same_digest(c, f"HPACK_SEED={seed}")
    states = {n.id: _state(n) for n in c.nodes}
    ref_id = min(states)
    ref = states[ref_id]
    packed = [k for k in PACKED if k in ref[0]]
    assert packed, f"HPACK_SEED={seed}: every packed hash empty"
    assert any(n > 255 for k in packed for _, n in ref[1][k]), f"HPACK_SEED={seed}: no long value"
    for nid, st in states.items():
        for k in packed:
            assert st[0][k] == b"listpack", f"HPACK_SEED={seed}: node{nid} {k} is {st[0][k]}"
        for k in packed:  # a table's order is its buckets', not part of the value
            assert st[1][k] == ref[1][k], f"HPACK_SEED={seed}: node{nid} {k}'s order differs"
        if TABLE in ref[1]:
            assert sorted(st[1][TABLE]) == sorted(ref[1][TABLE])
    print(f"{stats}; digest {digest}; encodings {ref[0]}")
