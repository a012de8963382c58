"""CLIENT PAUSE on a cluster (docs/server.md, CLIENT): on the leader it holds every write of the
cluster, the followers' relayed ones too."""

import threading
import time

import pytest
import redis

pytestmark = pytest.mark.usefixtures("cluster_required")


def test_writes_relayed_to_a_paused_leader_wait_for_it(make_cluster):
    """CLIENT PAUSE WRITE on the leader, where every write of the cluster runs: a write through
    a follower waits for the pause's end (6 s, past the 5 s after which a follower used to give
    up on a silent leader with TRYAGAIN: the leader is heard from on the peer link, so it waits),
    a read through the leader is answered at once."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    assert f.client().set("k", "before")
    assert leader.client().execute_command("CLIENT", "PAUSE", "6000", "WRITE") == "OK"
    t0 = time.monotonic()
    out = {}

    def write():
        try:
            out["r"] = f.client(timeout=30.0).set("k", "after")
        except redis.RedisError as e:
            out["r"] = str(e)
        out["t"] = time.monotonic() - t0

    w = threading.Thread(target=write)
    w.start()
    time.sleep(0.5)
    assert leader.client().get("k") == "before"  # reads go on
    assert "r" not in out, f"the write was not held: {out}"
    w.join(30)
    assert out.get("r") is True, out
    assert out["t"] > 5.0, out
    assert f.client().get("k") == "after"


@pytest.mark.parametrize("in_multi", [False, True])
def test_pause_through_a_follower_pauses_the_cluster(make_cluster, in_multi):
    """CLIENT PAUSE WRITE through a follower pauses the cluster as one Redis is paused: a write
    through the other follower waits, and the leader expires nothing (a key whose time passed
    stays, unread, until CLIENT UNPAUSE through the follower); also when the PAUSE is inside a
    MULTI (Redis's unit/pause through a follower). Was: only that follower's clients waited."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    r1 = f1.client(timeout=30.0)
    if in_multi:
        p = r1.pipeline(transaction=True)
        p.set("gone", "x", px=400)
        p.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
        assert p.execute() == [True, "OK"]
    else:
        assert r1.set("gone", "x", px=400)
        assert r1.execute_command("CLIENT", "PAUSE", "20000", "WRITE") == "OK"
    out = {}

    def write():
        out["r"] = f2.client(timeout=30.0).set("k", "v")
        out["t"] = time.monotonic()

    w = threading.Thread(target=write)
    w.start()
    time.sleep(1.5)  # the leader's expiry cycle runs every 100 ms
    assert "r" not in out, "a write through the other follower was not held"
    dbsize = leader.client().dbsize()
    assert dbsize == 1, "the leader expired a key while paused: dbsize %d" % dbsize
    t_unpause = time.monotonic()
    assert r1.execute_command("CLIENT", "UNPAUSE") == "OK"
    w.join(30)
    assert out.get("r") is True and out["t"] >= t_unpause, out
    deadline = time.monotonic() + 10
    while leader.client().dbsize() != 1 and time.monotonic() < deadline:  # "gone" expires, "k"
        time.sleep(0.05)
    assert leader.client().exists("gone", "k") == 1
