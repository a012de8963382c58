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
