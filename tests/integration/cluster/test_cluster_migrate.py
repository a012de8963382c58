"""MIGRATE on a 3-node cluster (docs/cluster.md "MIGRATE").

test_migrate_under_writes_and_leader_kill: three pipelined writers (one starting on the leader,
two on followers, which relay) mix writes of every type (some with TTLs) with MIGRATEs of those
keys (one key or KEYS, COPY, REPLACE) to a redis-server target; the leader is killed meanwhile
and restarted. Every replica must end with the same SYNOD DIGEST (the deletions are log entries,
applied alike everywhere), and every key a MIGRATE acknowledged without COPY and that nobody
wrote again must be on the target. MIGRATE_SEED=n replays the command stream.

test_migrate_keeps_concurrent_writes: a fake target holds its RESTORE replies while the test
writes to migrated keys on the cluster (SET, EXPIRE, INCR, HSET; each acknowledged); when the
target finally answers +OK, MIGRATE replies +OK and deletes only the keys nobody touched: every
acknowledged write survives on the source, and the target got the versions MIGRATE read. Through
the leader and through a follower. Seen failing with the planted bug
SYNOD_BUG_MIGRATE_UNCONDITIONAL (scripts/build_migrate_bug.sh: MIGRATE_DEL deletes whatever the
key holds): the keys written meanwhile are gone.

test_migrate_to_synod_target: MIGRATE from the cluster to a single-node synod (synod RESTOREs
payloads), KEYS with TTLs, then back again; a SET acknowledged through one follower is in what a
MIGRATE through the other one ships (the leader reads after a ReadIndex).
"""

import os
import random
import socket
import sys
import threading
import time

import pytest
import redis

from harness import assert_same_digest, synod_digest, writers_through_leader_kill

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from compat.resp_raw import Incomplete, parse_request  # noqa: E402

pytestmark = pytest.mark.usefixtures("cluster_required")

KEYS = ["m%d" % i for i in range(12)]


def _write(rng, k):
    """A write of k's own type (k's index picks it), so few writes fail with WRONGTYPE."""
    op = KEYS.index(k) % 5
    if op == 0:
        return ("SET", k, "v%d" % rng.randrange(1000))
    if op == 1:
        return ("SET", k, "t%d" % rng.randrange(1000), "PX", str(rng.randrange(20000, 60000)))
    if op == 2:
        return ("HSET", k, "f%d" % rng.randrange(5), str(rng.randrange(100)))
    if op == 3:
        return ("RPUSH", k, *[str(rng.randrange(100)) for _ in range(3)])
    return ("ZADD", k, str(rng.randrange(10)), "m%d" % rng.randrange(20))


def test_migrate_under_writes_and_leader_kill(make_cluster, redis_proc):
    seed = int(os.environ.get("MIGRATE_SEED", random.randrange(1 << 30)))
    print(f"MIGRATE_SEED={seed}")
    _, tport = redis_proc("target")
    c = make_cluster(3)
    migrated = []

    def make_cmd(rng):
        if rng.randrange(3):
            return _write(rng, rng.choice(KEYS))
        opts = []
        if rng.randrange(3) == 0:
            opts.append("COPY")
        if rng.randrange(2):
            opts.append("REPLACE")
        if rng.randrange(2):
            return ("MIGRATE", "127.0.0.1", str(tport), rng.choice(KEYS), "0", "5000", *opts)
        ks = rng.sample(KEYS, 3)
        return ("MIGRATE", "127.0.0.1", str(tport), "", "0", "5000", *opts, "KEYS", *ks)

    def on_reply(cmd, reply, stats):
        if cmd[0] == "MIGRATE":
            stats["migrate_" + str(reply)] = stats.get("migrate_" + str(reply), 0) + 1
            if reply == "OK":
                migrated.append(cmd)

    t0 = time.monotonic()
    stats, errors, _, _ = writers_through_leader_kill(
        c, seed, make_cmd, rounds=80, pipe=12, on_reply=on_reply, kill_after=0.3,
        expected=("BUSYKEY",))  # fmt: skip
    print("%.1f s" % (time.monotonic() - t0))
    assert not errors, f"MIGRATE_SEED={seed}: {errors[:5]}"
    print(stats)
    assert stats.get("migrate_OK", 0) > 20, f"MIGRATE_SEED={seed}: {stats}"
    assert_same_digest(c, f"MIGRATE_SEED={seed}")
    # the source lost only keys the target has: each key absent everywhere is a lost write
    t = redis.Redis(port=tport, decode_responses=True)
    src = c.wait_leader().client()
    for k in KEYS:
        if not src.exists(k):
            ever = any(k in (cmd[3],) + tuple(cmd[cmd.index("KEYS") + 1:] if "KEYS" in cmd else ())
                       for cmd in migrated)  # fmt: skip
            if ever:
                assert t.exists(k), f"MIGRATE_SEED={seed}: {k} is on neither server"


class HoldingTarget:
    """A target that reads MIGRATE's commands and answers SELECT at once, RESTOREs only once
    release() is called (+OK each). restored: {key: (ttl, payload)} as received."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.restored = {}
        self.got_restores = threading.Event()
        self.go = threading.Event()
        self.want = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        c, _ = self.sock.accept()
        c.settimeout(30)
        buf, pending = b"", 0
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                try:
                    cmd, end = parse_request(buf)
                except Incomplete:
                    break
                buf = buf[end:]
                if cmd[0].upper() == b"RESTORE":
                    self.restored[cmd[1].decode()] = (int(cmd[2]), cmd[3])
                    pending += 1
                    if len(self.restored) == self.want:
                        self.got_restores.set()
                        self.go.wait(30)
                        c.sendall(b"+OK\r\n" * pending)
                        pending = 0
                else:
                    c.sendall(b"+OK\r\n")

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("via", ["leader", "follower"])
def test_migrate_keeps_concurrent_writes(make_cluster, via):
    c = make_cluster(3)
    leader = c.wait_leader()
    node = leader if via == "leader" else next(n for n in c.nodes if n is not leader)
    w = node.client()
    w.mset({"set": "old", "exp": "old", "incr": "10", "untouched": "u1", "untouched2": "u2"})
    w.hset("hash", "f", "1")
    keys = ["set", "exp", "incr", "hash", "untouched", "untouched2"]
    target = HoldingTarget()
    target.want = len(keys)
    result = []

    def migrate():
        m = node.client(timeout=30)
        try:
            result.append(m.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 20000,
                                            "KEYS", *keys))  # fmt: skip
        except redis.RedisError as e:
            result.append(e)

    th = threading.Thread(target=migrate)
    th.start()
    try:
        assert target.got_restores.wait(15), "the target never got the RESTOREs"
        # MIGRATE has read the keys and waits for the target: acknowledged writes meanwhile
        other = c.nodes[(c.nodes.index(node) + 1) % 3].client()
        assert other.set("set", "new") is True
        assert other.expire("exp", 1000) is True
        assert other.incr("incr") == 11
        assert other.hset("hash", "g", "2") == 1
        target.go.set()
        th.join(30)
    finally:
        target.go.set()
        target.close()
    assert result == ["OK"], result
    assert target.restored["set"][1] != b"" and target.restored["set"][0] == 0
    assert_same_digest(c, f"via {via}")
    for n in c.nodes:  # every replica: the writes survived, the untouched keys moved
        r = redis.Redis(host=n.host, port=n.port, decode_responses=True)
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
        assert r.get("set") == "new", n.name
        assert r.get("exp") == "old" and 0 < r.ttl("exp") <= 1000, n.name
        assert r.get("incr") == "11", n.name
        assert r.hgetall("hash") == {"f": "1", "g": "2"}, n.name
        assert r.exists("untouched", "untouched2") == 0, n.name
        r.close()


def test_migrate_to_synod_target(make_cluster):
    c = make_cluster(3)
    t = make_cluster(1).nodes[0]
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    src = follower.client()
    src.set("a", "1")
    src.set("b", "2", px=50000)
    src.rpush("l", "x", "y")
    src.zadd("z", {"m": 1.5})
    assert src.execute_command("MIGRATE", t.host, t.port, "", 3, 5000, "KEYS", "a", "b", "l",
                               "z", "nope") == "OK"  # fmt: skip
    tc = redis.Redis(host=t.host, port=t.port, db=3, decode_responses=True)
    assert tc.get("a") == "1" and tc.get("b") == "2" and 40000 < tc.pttl("b") <= 50000
    assert tc.lrange("l", 0, -1) == ["x", "y"] and tc.zscore("z", "m") == 1.5
    assert src.exists("a", "b", "l", "z") == 0
    # and back, to the cluster's database 0, through its leader
    assert tc.execute_command("MIGRATE", leader.host, leader.port, "", 0, 5000, "KEYS", "a",
                              "b") == "OK"  # fmt: skip
    assert src.get("a") == "1" and src.get("b") == "2"
    assert tc.exists("a", "b") == 0
    # every acknowledged write is in what MIGRATE ships: a SET acknowledged by one follower,
    # then a MIGRATE through the other one, finds it
    other = next(n for n in c.nodes if n is not leader and n is not follower).client()
    for i in range(30):
        assert src.set("lin", str(i)) is True
        assert other.execute_command("MIGRATE", t.host, t.port, "lin", 3, 5000, "COPY",
                                     "REPLACE") == "OK"  # fmt: skip
        assert tc.get("lin") == str(i)
    assert_same_digest(c, "to synod")
    assert synod_digest(c.nodes[0]) == synod_digest(leader)
