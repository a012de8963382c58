"""COPY on a 3-node cluster: every replica ends with the same values (issue 10).

Pipelined writes of strings, hashes, lists and sets, with COPY (plain and REPLACE) between the
keys, through the leader and through a follower; a follower is killed and restarted meanwhile.
Each node's values are then read locally (stale reads) and must be identical. The workload's
seed is printed (COPY_SEED=n replays the command stream)."""

import os
import random
import threading
import time

import pytest
import redis

pytestmark = pytest.mark.usefixtures("cluster_required")

KEYS = ["k%d" % i for i in range(8)]


def _command(rng):
    k, k2 = rng.choice(KEYS), rng.choice(KEYS)
    op = rng.randrange(10)
    if op == 0:
        return ("SET", k, "v%d" % rng.randrange(100))
    if op == 1:
        return ("HSET", k, "f%d" % rng.randrange(5), str(rng.randrange(100)))
    if op == 2:
        return ("RPUSH", k, *[str(rng.randrange(100)) for _ in range(3)])
    if op == 3:
        return ("SADD", k, *[str(rng.randrange(30)) for _ in range(3)])
    if op == 4:
        return ("DEL", k)
    return ("COPY", k, k2) if op <= 6 else ("COPY", k, k2, "REPLACE")


def _writer(node, seed, rounds, errors, copies):
    rng = random.Random(seed)
    try:
        r = node.client(timeout=10.0)
        for _ in range(rounds):
            p = r.pipeline(transaction=False)
            cmds = [_command(rng) for _ in range(20)]
            for cmd in cmds:
                p.execute_command(*cmd)
            for cmd, reply in zip(cmds, p.execute(raise_on_error=False)):
                if isinstance(reply, Exception):
                    if "WRONGTYPE" not in str(reply) and "same" not in str(reply):
                        errors.append((cmd, reply))
                elif cmd[0] == "COPY" and reply == 1:
                    copies[0] += 1
    except (redis.RedisError, OSError) as e:
        errors.append(("writer", e))


def _dump(node):
    c = node.conn(timeout=5.0)
    try:
        c.call("READONLY")
        out = {}
        for k in KEYS:
            t = c.call("TYPE", k)
            v = {"string": lambda: c.call("GET", k), "hash": lambda: sorted(c.call("HGETALL", k)),
                 "list": lambda: c.call("LRANGE", k, 0, -1),
                 "set": lambda: sorted(c.call("SMEMBERS", k)), "none": lambda: None}[t]()  # fmt: skip
            out[k] = (t, v)
        return out
    finally:
        c.close()


def test_copy_identical_on_every_replica(make_cluster):
    seed = int(os.environ.get("COPY_SEED", random.randrange(1 << 30)))
    print(f"COPY_SEED={seed}")
    c = make_cluster(3)
    leader = c.wait_leader()
    victim, relay = [n for n in c.nodes if n is not leader]
    errors, copies = [], [0]
    writers = [threading.Thread(target=_writer, args=(node, seed * 10 + i, 40, errors, copies))
               for i, node in enumerate([leader, relay])]  # fmt: skip
    for w in writers:
        w.start()
    time.sleep(0.3)
    victim.kill()
    time.sleep(0.7)
    victim.start()
    victim.wait_serving()
    for w in writers:
        w.join(timeout=120)
    assert not errors, f"COPY_SEED={seed}: {errors[:5]}"
    assert copies[0] > 50, f"too few copies took effect: {copies[0]}"
    c.wait_converged([], timeout=30)
    states = {n.id: _dump(n) for n in c.nodes}
    ref = states[leader.id]
    assert any(t != "none" for t, _ in ref.values())
    for nid, st in states.items():
        assert st == ref, f"COPY_SEED={seed}: node{nid} differs from the leader"
