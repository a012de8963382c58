"""WATCH / MULTI / EXEC on a 3-node cluster (issue 11; docs/cluster.md "WATCH").

The leader decides every watched EXEC (with its log applied), whichever node the client is
connected to. Checked here: a key modified through another node after WATCH on a follower makes
EXEC return nil and changes nothing; an untouched key lets it run; FLUSHALL touches existing
watched keys only; a transaction pipelined behind a relayed read is answered after it; and
optimistic increments from clients spread over every node (the classic WATCH/GET/MULTI/SET/EXEC
retry loop) lose no update: the final counter equals the number of EXECs that succeeded, on
every replica.

Replay: WATCH_SEED=<n>.
"""

import os
import random
import socket
import threading

import pytest
import redis

from harness import resp_command, wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=10.0):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=timeout,
                       socket_connect_timeout=2.0, decode_responses=True)  # fmt: skip


def local_get(node, key):
    c = node.conn(timeout=2.0)
    try:
        c.call("SYNOD", "CONSISTENCY", "stale")
        return c.call("GET", key)
    finally:
        c.close()


def test_watch_through_followers(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rc(leader).set("k", "v0")
    wait_for(lambda: local_get(f1, "k") == "v0", 5, what="f1 to apply k")

    # modified through the other follower after WATCH: nil, nothing applied
    p = rc(f1).pipeline()
    p.watch("k")
    rc(f2).set("k", "v1")
    p.multi()
    p.set("k", "mine")
    p.set("side", "effect")
    with pytest.raises(redis.WatchError):
        p.execute()
    assert rc(leader).mget("k", "side") == ["v1", None]

    # untouched: runs (relayed with its watched keys)
    p = rc(f1).pipeline()
    p.watch("k", "absent")
    p.multi()
    p.set("k", "mine")
    assert p.execute() == [True]
    assert rc(f2).get("k") == "mine"

    # FLUSHALL touches a watched key that existed, not one that did not
    for existed, want in ((True, None), (False, [True])):
        key = "e" if existed else "n"
        if existed:
            rc(leader).set(key, "1")
        p = rc(f2).pipeline()
        p.watch(key)
        rc(f1).flushall()
        p.multi()
        p.set(key, "2")
        if want is None:
            with pytest.raises(redis.WatchError):
                p.execute()
        else:
            assert p.execute() == want

    # UNWATCH and DISCARD forget the watched keys
    cl = rc(f1)
    p = cl.pipeline()
    p.watch("u")
    p.unwatch()
    rc(f2).set("u", "x")
    p.multi()
    p.set("u", "y")
    assert p.execute() == [True]

    # a transaction pipelined right behind a relayed read: its MULTI and QUEUED come after the
    # read's reply, in request order
    conn = redis.Connection(host="127.0.0.1", port=f1.port, decode_responses=True)
    cmds = [("GET", "u"), ("MULTI",), ("SET", "u", "z"), ("EXEC",), ("GET", "u")]
    conn.send_packed_command(conn.pack_commands(cmds))  # one write
    out = [conn.read_response() for _ in cmds]
    conn.disconnect()
    assert out == ["y", "OK", "QUEUED", ["OK"], "z"], out


def test_optimistic_increments_lose_nothing(make_cluster):
    seed = int(os.environ.get("WATCH_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"test_cluster_watch: WATCH_SEED={seed}")
    c = make_cluster(3)
    leader = c.wait_leader()
    rc(leader).set("counter", "0")
    done = {"ok": 0, "aborted": 0}
    lock = threading.Lock()

    def worker(i):
        r = random.Random(seed + i)
        cl = rc(c.nodes[i % 3])
        for _ in range(40):
            while True:
                p = cl.pipeline()
                try:
                    p.watch("counter")
                    v = int(p.get("counter"))
                    p.multi()
                    p.set("counter", str(v + 1))
                    if r.random() < 0.5:
                        p.incr(f"side{i}")
                    p.execute()
                    with lock:
                        done["ok"] += 1
                    break
                except redis.WatchError:
                    with lock:
                        done["aborted"] += 1
                finally:
                    p.reset()

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    assert not any(t.is_alive() for t in ths)
    print(f"increments: {done}")
    assert done["ok"] == 240
    assert done["aborted"] > 0, "no contention: the test proved nothing"
    vals = c.wait_converged(["counter"])
    assert vals["counter"] == "240", f"lost updates: {vals} after {done}"


def test_watch_across_a_leader_change(make_cluster):
    """WATCH on a follower, the key modified through another node while it is still a follower,
    then that follower becomes leader and decides the EXEC: it must return nil. Followers keep
    no stamps (only the leader decides), so the new leader must count everything it applied
    before its leadership as unknown (its horizon). Seen failing (the EXEC ran: a lost update)
    with the horizon left where it was when the node became leader."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rc(leader).set("k", "v0")
    wait_for(lambda: local_get(f1, "k") == "v0", 5, what="f1 to apply k")
    p = rc(f1).pipeline()
    p.watch("k")
    rc(f2).set("k", "v1")  # applied by f1 as a follower
    wait_for(lambda: local_get(f1, "k") == "v1", 5, what="f1 to apply the change")
    rc(leader).execute_command("SYNOD", "TRANSFER-LEADER", str(f1.id))
    wait_for(lambda: c.leader() is f1, 10, what="f1 to lead")
    p.multi()
    p.set("k", "mine")
    with pytest.raises(redis.WatchError):
        p.execute()
    assert rc(f1).get("k") == "v1"
    # a WATCH taken once it leads is decided by its own stamps
    p = rc(f1).pipeline()
    p.watch("k")
    p.multi()
    p.set("k", "mine")
    assert p.execute() == [True]
    p = rc(f2).pipeline()
    p.watch("k")
    rc(leader).set("k", "v2")
    p.multi()
    p.set("k", "lost")
    with pytest.raises(redis.WatchError):
        p.execute()
    assert rc(f1).get("k") == "v2"


def test_a_watched_exec_whose_client_left_holds_no_write_back(make_cluster):
    """A watched EXEC on the leader waits for the log to be applied and holds other writes back
    meanwhile (node_watch.c: the barrier). Clients that send WATCH / MULTI / SET / EXEC and
    close at once, while another client keeps entries in flight, leave while their EXEC waits:
    the barrier goes with them. Left behind, it held every later write (and blocked-client
    wake-up, expiry) of the leader back for ever: a client connected before them (whose
    memory no departed client's can be) writes after each."""
    c = make_cluster(3)
    leader = c.wait_leader()
    stop = threading.Event()

    def writer():
        with socket.create_connection((leader.host, leader.port), timeout=10) as s:
            while not stop.is_set():
                s.sendall(resp_command("INCR", "busy") * 16)
                got = b""
                while got.count(b"\r\n") < 16:
                    got += s.recv(65536)

    chk = rc(leader, timeout=3.0)
    assert chk.ping()
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        for i in range(40):
            with socket.create_connection((leader.host, leader.port), timeout=10) as s:
                s.sendall(resp_command("WATCH", "w") + resp_command("MULTI")
                          + resp_command("SET", "w", str(i)) + resp_command("EXEC"))  # fmt: skip
            try:
                assert chk.incr("probe") == i + 1
            except redis.TimeoutError:
                pytest.fail(f"round {i}: a write held back for ever")
    finally:
        stop.set()
        t.join(10)
