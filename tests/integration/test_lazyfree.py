"""UNLINK and FLUSHALL ASYNC free big values on a thread (src/data/lazyfree.c): the key is gone
at once, INFO's lazyfree_pending_objects / lazyfreed_objects count the values as Redis's do,
used_memory falls once they are freed, and a node shut down with values queued exits cleanly."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import wait_for  # noqa: E402


def _mem(r):
    return r.info("memory")


def test_unlink_and_flush_async_free_on_the_thread(synod):
    r = synod.client(decode_responses=True)
    base = _mem(r)["used_memory"]
    p = r.pipeline(transaction=False)
    for i in range(0, 100000, 1000):
        p.sadd("big", *[f"m{j}" for j in range(i, i + 1000)])
    p.execute()
    r.sadd("small", "a", "b")
    peak = _mem(r)["used_memory"]
    assert peak > base + 1_000_000
    r.config_resetstat()
    assert r.unlink("big", "small", "nokey") == 2
    assert r.exists("big") == 0
    wait_for(lambda: _mem(r)["lazyfree_pending_objects"] == 0, 10, what="lazy free")
    m = _mem(r)
    assert m["lazyfreed_objects"] == 1  # the small set was freed at once
    assert m["used_memory"] < base + 200_000, m
    # FLUSHALL ASYNC: its big values go to the thread too
    p = r.pipeline(transaction=False)
    for k in range(3):
        for i in range(0, 20000, 1000):
            p.zadd(f"z{k}", {f"m{j}": j for j in range(i, i + 1000)})
    p.execute()
    r.set("plain", "x")
    assert r.flushall(asynchronous=True)
    assert r.dbsize() == 0
    wait_for(lambda: _mem(r)["lazyfree_pending_objects"] == 0, 10, what="flush async")
    assert _mem(r)["lazyfreed_objects"] == 4
    assert _mem(r)["used_memory"] < base + 200_000
    r.config_resetstat()
    assert _mem(r)["lazyfreed_objects"] == 0


def test_shutdown_with_values_queued(synod_server):
    p = synod_server()
    r = p.client()
    for k in range(4):
        pipe = r.pipeline(transaction=False)
        for i in range(0, 50000, 1000):
            pipe.sadd(f"s{k}", *[f"m{j}" for j in range(i, i + 1000)])
        pipe.execute()
    r.unlink("s0", "s1", "s2", "s3")
    assert p.stop() == 0  # joined the thread, freed what was left, accounting checked
