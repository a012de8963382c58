"""Blocked clients are served before the next command, as in Redis 7.0 (one node; the cluster
version is in cluster/test_cluster_blocking.py): after RPUSH returns, chained BLMOVE waiters have
moved the element, and a WATCH on the destination of a served BRPOPLPUSH is broken (Redis's
unit/type/list 'Linked LMOVEs' and 'PUSH resulting from BRPOPLPUSH affect WATCH')."""

import threading
import time

import pytest
import redis


def blocked(c):
    return int(c.info("clients")["blocked_clients"])


def wait_blocked(c, n):
    deadline = time.monotonic() + 5
    while blocked(c) < n:
        assert time.monotonic() < deadline, "client did not block"
        time.sleep(0.01)


def test_linked_lmoves(synod):
    r = synod.client(decode_responses=True)
    for rnd in range(5):
        l1, l2, l3 = f"a{rnd}", f"b{rnd}", f"c{rnd}"
        c1 = synod.client(decode_responses=True)
        c2 = synod.client(decode_responses=True)
        out = []
        t1 = threading.Thread(target=lambda: out.append(c1.blmove(l1, l2, 0, "RIGHT", "LEFT")))
        t1.start()
        wait_blocked(r, 1)
        t2 = threading.Thread(target=lambda: out.append(c2.blmove(l2, l3, 0, "LEFT", "RIGHT")))
        t2.start()
        wait_blocked(r, 2)
        assert r.rpush(l1, "foo") == 1
        assert (r.lrange(l1, 0, -1), r.lrange(l2, 0, -1), r.lrange(l3, 0, -1)) == (
            [], [], ["foo"])  # fmt: skip
        t1.join(5)
        t2.join(5)
        assert out == ["foo", "foo"]


def test_push_resulting_from_brpoplpush_breaks_watch(synod):
    r = synod.client(decode_responses=True)
    b = synod.client(decode_responses=True)
    w = synod.client(decode_responses=True)
    r.set("somekey", "somevalue")
    t = threading.Thread(target=lambda: b.brpoplpush("src", "dst", 0))
    t.start()
    wait_blocked(r, 1)
    p = w.pipeline()
    p.watch("dst")
    p.multi()
    p.get("somekey")
    r.lpush("src", "element")
    with pytest.raises(redis.WatchError):
        p.execute()
    t.join(5)
