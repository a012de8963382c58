"""FLUSHALL / FLUSHDB ASYNC on a cluster (docs/data.md "Lazy free"): every node gets the flushed
keyspace's memory back in the background, a follower too, with no further writes."""

import pytest
from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def _mem(node):
    inf = node.client().info()
    return int(inf["lazyfree_pending_objects"]), int(inf["used_memory"])


def test_flush_async_frees_on_every_node(make_cluster):
    """Before, a follower freed a flushed keyspace only 64 entries per applied command (the
    leader's expiry cycle freed the rest on the leader): with no writes after FLUSHDB ASYNC, a
    follower kept the memory (and lazyfree_pending_objects 1) for ever."""
    c = make_cluster(3)
    leader = c.wait_leader()
    r = leader.client(timeout=30.0)
    before = {n.id: _mem(n)[1] for n in c.nodes}
    r.sadd("big", *range(100000))
    c.wait_converged([], timeout=20)
    peak = {n.id: _mem(n)[1] for n in c.nodes}
    for n in c.nodes:
        assert peak[n.id] > before[n.id] + 1_000_000, (n.id, before, peak)
    r.flushdb(asynchronous=True)
    for n in c.nodes:
        wait_for(lambda: _mem(n)[0] == 0 and _mem(n)[1] < before[n.id] * 2 + 100_000, 10,
                 what=lambda: f"node{n.id} to free the flushed set: {_mem(n)}")  # fmt: skip
