"""WAIT numreplicas timeout on a 3-node cluster (docs/cluster.md "WAIT").

On the leader WAIT counts the other voters that acknowledged (synced) the connection's latest
write; it blocks until numreplicas did or the timeout passed. Checked here: with every node up
WAIT 2 returns 2; with one follower paused (SIGSTOP) WAIT 2 <t> returns 1 only after the
timeout, WAIT 1 at once, WAIT 2 0 blocks until the follower is resumed, and the commands
pipelined behind a blocked WAIT wait for its reply; CLIENT UNBLOCK answers a waiting client
with its count; inside MULTI WAIT never blocks; a follower answers the lower bound
(quorum - 1) at once; argument errors as Redis 7.0.
"""

import threading
import time

import pytest
import redis

from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=10.0):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=timeout,
                       socket_connect_timeout=2.0, decode_responses=True)  # fmt: skip


def test_wait_counts_acknowledging_replicas(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    r = rc(leader)
    r.set("k", "v")
    assert r.execute_command("WAIT", 2, 5000) == 2
    assert r.execute_command("WAIT", 0, 0) == 2

    for bad, err in ((("1", "-1"), "timeout is negative"),
                     (("x", "1"), "value is not an integer or out of range"),
                     (("1", "x"), "timeout is not an integer or out of range"),
                     (("1",), "wrong number of arguments for 'wait' command")):  # fmt: skip
        with pytest.raises(redis.ResponseError, match=err):
            r.execute_command("WAIT", *bad)

    # a follower: the connection's writes went through the leader; the lower bound, at once
    rf = rc(f1)
    rf.set("kf", "1")
    t0 = time.monotonic()
    assert rf.execute_command("WAIT", 2, 2000) == 1
    assert time.monotonic() - t0 < 1.5

    f2.pause()
    try:
        r.set("k2", "v2")  # committed by the leader and f1
        t0 = time.monotonic()
        assert r.execute_command("WAIT", 1, 0) == 1
        assert r.execute_command("WAIT", 2, 400) == 1
        assert time.monotonic() - t0 >= 0.35, "WAIT 2 returned before its timeout"

        # inside MULTI: no blocking, the count now
        p = r.pipeline(transaction=True)
        p.set("k3", "v3")
        p.execute_command("WAIT", 2, 0)
        t0 = time.monotonic()
        assert p.execute() == [True, 1]
        assert time.monotonic() - t0 < 1.5

        # CLIENT UNBLOCK answers a waiting WAIT with its count
        w = rc(leader)
        wid = w.client_id()
        w.set("kw", "1")
        out = []
        th = threading.Thread(target=lambda: out.append(w.execute_command("WAIT", 2, 0)))
        th.start()
        wait_for(lambda: r.info("clients")["blocked_clients"] == 1, 5, what="WAIT to block")
        time.sleep(0.3)
        assert th.is_alive(), "WAIT 2 0 returned with a follower paused"
        assert r.execute_command("CLIENT", "UNBLOCK", wid) == 1
        th.join(5)
        assert out == [1]

        # WAIT 2 0 blocks until the paused follower acknowledges; a GET pipelined behind it
        # is answered after it
        p = r.pipeline(transaction=False)
        p.set("k4", "v4")
        p.execute_command("WAIT", 2, 0)
        p.get("k4")
        res = []
        th = threading.Thread(target=lambda: res.append(p.execute()))
        th.start()
        time.sleep(0.5)
        assert th.is_alive(), "WAIT 2 0 returned while a follower was paused"
    finally:
        f2.resume()
    th.join(10)
    assert res == [[True, 2, "v4"]]
