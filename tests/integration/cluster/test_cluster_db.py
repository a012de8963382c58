"""Databases (SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB) on a 3-node cluster (issue 10;
docs/cluster.md "Databases").

An entry of a database other than 0 carries its database; a follower relays its client's
commands on shared connections to the leader and selects the client's database there first.
Checked here, through followers and the leader:
  - keys land in the client's database on every replica (read back locally on each node);
  - a SELECT inside MULTI moves the rest of the transaction, and the client, to that database,
    but not the client when the transaction is aborted (a WATCH failure), relayed or not, nor
    another client of the same follower;
  - a client blocked in database 3 is not served by a push to the same key in database 0, and is
    by one in database 3;
  - WATCH of a key in database 2 is not touched by a write to that key in database 0, and is by
    one in database 2 after the client selected another database;
  - a key given a short expiry in database 7 is expired by the leader on every replica;
  - random writers (SELECT, SET, INCR, RPUSH, MOVE, SWAPDB, COPY DB, short PX, FLUSHDB) through
    every node while the leader is killed and restarted (from its log or a snapshot) leave every
    replica with the same SYNOD DIGEST (it covers every database) and the same INFO keyspace.
A node that ignored the entry's database (a planted bug: applying every entry to database 0) fails
the first check. Replay the random part with DBC_SEED=<n>.
"""

import os
import random
import threading
import time

import pytest
import redis
from harness import assert_same_digest, wait_for, writers_through_leader_kill

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, db=0, timeout=10.0):
    return redis.Redis(host=node.host, port=node.port, db=db, socket_timeout=timeout,
                       socket_connect_timeout=2.0, decode_responses=True)  # fmt: skip


def local(node, db, *cmd):
    """cmd read from node's own applied state, in database db."""
    r = rc(node, db)
    try:
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
        return r.execute_command(*cmd)
    finally:
        r.close()


def keyspace(node):
    r = rc(node)
    try:
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
        return {k: (v["keys"], v["expires"]) for k, v in r.info("keyspace").items()}
    finally:
        r.close()


def test_databases_through_followers(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]

    rc(f1, 5).set("k", "five")
    rc(f2, 0).set("k", "zero")
    rc(leader, 9).set("k", "nine")
    for n in c.nodes:
        wait_for(lambda: local(n, 9, "GET", "k") == "nine", 5, what=f"{n.name} to apply")
        assert [local(n, d, "GET", "k") for d in (0, 5, 9, 1)] == ["zero", "five", "nine", None]

    # SELECT inside MULTI (relayed by a follower): the rest of it, and the client, move
    r = rc(f1, 2)
    p = r.pipeline(transaction=True)
    p.set("t", "two")
    p.execute_command("SELECT", "3")
    p.set("t", "three")
    p.execute_command("SELECT", "99")
    assert p.execute(raise_on_error=False)[:3] == [True, True, True]
    # another client of f1 in database 2: its request shares the relay connection, whose side
    # on the leader EXEC moved to database 3
    assert rc(f1, 2).get("t") == "two"
    assert r.get("t") == "three"  # the connection is in database 3 now
    for n in c.nodes:
        wait_for(lambda: local(n, 3, "GET", "t") == "three", 5, what=f"{n.name} to apply MULTI")
        assert local(n, 2, "GET", "t") == "two"

    # ... unless the leader aborts it (a WATCH failure): the client stays where it was, and a
    # command pipelined right behind EXEC runs in the database EXEC's outcome says
    conn = redis.Connection(host="127.0.0.1", port=f1.port, db=2, decode_responses=True)
    cmds = [("WATCH", "w"), ("SET", "w", "touched"), ("MULTI",), ("SELECT", "4"), ("EXEC",),
            ("GET", "t")] * 2 + [("MULTI",), ("SELECT", "4"), ("EXEC",), ("SET", "after", "x"),
                                 ("GET", "after")]  # fmt: skip
    conn.send_packed_command(conn.pack_commands(cmds))  # one write: pipelined
    out = [conn.read_response() for _ in cmds]
    conn.disconnect()
    assert out[4] is None and out[10] is None, out  # aborted: the watched key changed
    assert out[5] == "two" and out[11] == "two", out  # still in database 2
    assert out[14] == ["OK"] and out[15] == "OK" and out[16] == "x", out  # moved to 4
    wait_for(lambda: local(f1, 4, "GET", "after") == "x", 5, what="f1 to apply SET after")

    # MOVE / SWAPDB / COPY DB through a follower
    r = rc(f2, 5)
    assert r.move("k", 6) is True
    assert r.execute_command("COPY", "k", "k", "DB", "6") == 0
    assert r.execute_command("SWAPDB", "0", "6") is True  # redis-py parses +OK
    for n in c.nodes:
        wait_for(lambda: local(n, 0, "GET", "k") == "five", 5, what=f"{n.name} to apply SWAPDB")
        assert local(n, 6, "GET", "k") == "zero"
        assert local(n, 5, "EXISTS", "k") == 0

    # a client blocked in database 3 (through a follower) is served by a push in database 3 only
    got = {}

    def blpop():
        got["v"] = rc(f1, 3, timeout=15).blpop("q", 10)

    t = threading.Thread(target=blpop)
    t.start()
    time.sleep(0.5)
    rc(f2, 0).rpush("q", "wrong-db")
    time.sleep(0.5)
    assert "v" not in got, "served by a push to database 0"
    rc(leader, 3).rpush("q", "right")
    t.join(15)
    assert tuple(got.get("v") or ()) == ("q", "right")
    for n in c.nodes:  # (the pop's entry may still be on its way to a follower)
        wait_for(lambda: local(n, 0, "LLEN", "q") == 1, 5, what=f"{n.name} to apply")
        wait_for(lambda: local(n, 3, "EXISTS", "q") == 0, 5, what=f"{n.name} to apply the pop")

    # WATCH in database 2 (on a follower): a write to the key in database 0 leaves it alone
    p = rc(f1, 2).pipeline()
    p.watch("w")
    rc(f2, 0).set("w", "other-db")
    p.multi()
    p.set("w", "mine")
    assert p.execute() == [True]
    p = rc(f1, 2).pipeline()
    p.watch("w")
    rc(f2, 2).set("w", "same-db")
    p.multi()
    p.set("w", "lost")
    with pytest.raises(redis.WatchError):
        p.execute()
    assert rc(leader, 2).get("w") == "same-db"
    # ... and it stays on database 2 after the client moves to another one (SYNOD WATCHED names
    # the key's database)
    conn = redis.Connection(host="127.0.0.1", port=f1.port, db=2, decode_responses=True)
    out = []
    for cmd in [("WATCH", "w"), ("SELECT", "0"), ("MULTI",), ("SET", "x", "1"), ("EXEC",)]:
        if cmd[0] == "MULTI":
            rc(f2, 2).set("w", "moved-on")
        conn.send_command(*cmd)
        out.append(conn.read_response())
    conn.disconnect()
    assert out[4] is None, out

    # the leader's active expiry of a key in database 7 reaches every replica
    rc(f2, 7).set("e", "v", px=200)
    rc(f2, 7).set("keep", "v")
    for n in c.nodes:
        wait_for(lambda: local(n, 7, "DBSIZE") == 1, 10, what=f"{n.name}: database 7 expiry")
    assert_same_digest(c, "databases")


def _command(rng):
    db = str(rng.randrange(4))
    k = "k%d" % rng.randrange(8)
    op = rng.randrange(20)
    if op < 4:
        return ("SELECT", db)
    if op < 8:
        return ("SET", k, "v%d" % rng.randrange(100))
    if op < 10:
        return ("INCR", "n%d" % rng.randrange(3))
    if op < 12:
        return ("RPUSH", "l%d" % rng.randrange(3), str(rng.randrange(100)))
    if op < 14:
        return ("MOVE", k, db)
    if op == 14:
        return ("SWAPDB", db, str(rng.randrange(4)))
    if op == 15:
        return ("COPY", k, "c" + k, "DB", db, "REPLACE")
    if op < 19:
        return ("SET", "x" + k, "v", "PX", str(rng.randrange(20, 400)))
    return ("FLUSHDB",) if rng.random() < 0.3 else ("DEL", k)


def test_databases_through_leader_kill(make_cluster):
    seed = int(os.environ.get("DBC_SEED", random.randrange(1 << 30)))
    print(f"DBC_SEED={seed}")
    c = make_cluster(3, extra_args=("--snapshot-count", "80"))
    stats, errors, _, _ = writers_through_leader_kill(
        c, seed, _command, 30, 15, expected=("source and destination objects are the same",
                                             "value is not an integer"))  # fmt: skip
    assert not errors, f"DBC_SEED={seed}: unexpected errors: {errors[:5]}"
    assert stats["ok"] > 500, f"DBC_SEED={seed}: too few commands applied: {stats}"
    digest = assert_same_digest(c, f"DBC_SEED={seed}")
    spaces = [keyspace(n) for n in c.nodes]
    assert spaces[0] == spaces[1] == spaces[2], f"DBC_SEED={seed}: INFO keyspace {spaces}"
    assert len(spaces[0]) >= 2, f"DBC_SEED={seed}: keys in too few databases: {spaces[0]}"
    print(f"{stats}; digest {digest}; keyspace {spaces[0]}")
