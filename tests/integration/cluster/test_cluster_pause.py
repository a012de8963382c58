"""CLIENT PAUSE on a cluster (docs/server.md, CLIENT): through any node it is the leader's,
where every write of the cluster runs."""

import threading
import time

import pytest
import redis

pytestmark = pytest.mark.usefixtures("cluster_required")


def test_client_pause_through_a_follower_is_the_clusters(make_cluster):
    """CLIENT PAUSE WRITE through a follower pauses the leader, where every write of the cluster
    runs: a write through the other follower waits for the pause's end (6 s, past the 5 s after
    which a follower used to give up on a silent leader: the leader is heard from on the peer
    link, so it waits), a read is answered at once. Before, the pause held only the clients of
    the follower it was sent to."""

    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    assert f2.client().set("k", "before")
    assert f1.client().execute_command("CLIENT", "PAUSE", "6000", "WRITE") == "OK"
    t0 = time.monotonic()
    out = {}

    def write():
        try:
            out["r"] = f2.client(timeout=30.0).set("k", "after")
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
    assert f1.client().get("k") == "after"
