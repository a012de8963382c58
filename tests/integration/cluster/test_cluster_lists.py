"""Lists on a 3-node cluster: every replica applies the same list commands (issue 10).

A seeded sequence of pushes, pops (with counts), LMOVE, RPOPLPUSH, LMPOP, LINSERT, LREM, LTRIM
and LSET runs against the leader while a Python model predicts every reply. A follower is
killed (SIGKILL) in the middle and restarted later; with --snapshot-count 40 the nodes also take
snapshots holding lists, so the restarted follower recovers from its own snapshot plus its log,
or from the leader's. At the end every node, read locally (stale reads, no forwarding), must
hold exactly the model's lists, and agree with each other.

Replay: LISTS_SEED=<n>.
"""

import os
import random
import time

import pytest
import redis

from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")

KEYS = ["q0", "q1", "q2", "q3"]
VALUES = ["a", "b", "c", "job", "", "x" * 300]


class Model:
    def __init__(self):
        self.lists = {}

    def get(self, k):
        return self.lists.setdefault(k, [])

    def tidy(self, *keys):
        for k in keys:
            if k in self.lists and not self.lists[k]:
                del self.lists[k]


def _norm(i, n):
    return i + n if i < 0 else i


def step(r, m):
    """One random command and the reply the model predicts for it."""
    k, k2 = r.choice(KEYS), r.choice(KEYS)
    lst = m.get(k)
    op = r.randrange(14)  # 11-13: more pushes, so lists grow across several nodes
    if op >= 11:
        op = op % 2
    if op <= 1:
        vals = [r.choice(VALUES) for _ in range(r.randint(1, 5))]
        for v in vals:
            if op == 0:
                lst.insert(0, v)
            else:
                lst.append(v)
        return ["LPUSH" if op == 0 else "RPUSH", k, *vals], len(lst)
    if op == 2:
        n = r.randint(1, 3)
        cmd = ["LPOP", k, str(n)]
        if not lst:
            want = None
        else:
            want, lst[:] = lst[:n], lst[n:]
        m.tidy(k)
        return cmd, want
    if op == 3:
        cmd = ["RPOP", k]
        want = lst.pop() if lst else None
        m.tidy(k)
        return cmd, want
    if op == 4:
        a, b = r.choice(["LEFT", "RIGHT"]), r.choice(["LEFT", "RIGHT"])
        cmd = ["LMOVE", k, k2, a, b]
        if not lst:
            m.tidy(k)
            return cmd, None
        v = lst.pop(0) if a == "LEFT" else lst.pop()
        dst = m.get(k2)
        if b == "LEFT":
            dst.insert(0, v)
        else:
            dst.append(v)
        m.tidy(k, k2)
        return cmd, v
    if op == 5:
        pivot, v = r.choice(VALUES), r.choice(VALUES)
        where = r.choice(["BEFORE", "AFTER"])
        cmd = ["LINSERT", k, where, pivot, v]
        if not lst:
            want = 0
        elif pivot not in lst:
            want = -1
        else:
            i = lst.index(pivot) + (where == "AFTER")
            lst.insert(i, v)
            want = len(lst)
        m.tidy(k)
        return cmd, want
    if op == 6:
        cnt, v = r.randint(-2, 2), r.choice(VALUES)
        removed = 0
        idx = range(len(lst)) if cnt >= 0 else range(len(lst) - 1, -1, -1)
        drop = []
        for i in idx:
            if lst[i] == v and (cnt == 0 or removed < abs(cnt)):
                drop.append(i)
                removed += 1
        for i in sorted(drop, reverse=True):
            del lst[i]
        m.tidy(k)
        return ["LREM", k, str(cnt), v], removed
    if op == 7:
        s, e = r.randint(-60, 2), r.randint(-2, 80)
        n = len(lst)
        s2, e2 = max(_norm(s, n), 0), _norm(e, n)
        lst[:] = [] if s2 > e2 or s2 >= n else lst[s2:min(e2, n - 1) + 1]
        m.tidy(k)
        return ["LTRIM", k, str(s), str(e)], True  # redis-py: +OK is True
    if op == 8:
        i, v = r.randint(-4, 4), r.choice(VALUES)
        cmd = ["LSET", k, str(i), v]
        if not lst:
            m.tidy(k)
            return cmd, "no such key"  # redis-py strips "ERR "
        j = _norm(i, len(lst))
        if not 0 <= j < len(lst):
            return cmd, "index out of range"
        lst[j] = v
        return cmd, True
    if op == 9:
        cmd = ["RPOPLPUSH", k, k2]
        if not lst:
            m.tidy(k)
            return cmd, None
        v = lst.pop()
        m.get(k2).insert(0, v)
        m.tidy(k, k2)
        return cmd, v
    n, side = r.randint(1, 4), r.choice(["LEFT", "RIGHT"])
    cmd = ["LMPOP", "2", k, k2, side, "COUNT", str(n)]
    m.tidy(k, k2)
    src = k if m.lists.get(k) else k2 if m.lists.get(k2) else None
    if src is None:
        return cmd, None
    sl = m.lists[src]
    if side == "LEFT":
        got, sl[:] = sl[:n], sl[n:]
    else:
        got = sl[::-1][:n]
        del sl[len(sl) - len(got):]
    m.tidy(src)
    return cmd, [src, got]


def run_steps(client, r, m, n):
    for i in range(n):
        cmd, want = step(r, m)
        try:
            got = client.execute_command(*cmd)
        except redis.ResponseError as e:
            got = str(e)
        assert got == want, f"{cmd}: got {got!r}, the model says {want!r}"


def local_lists(node):
    c = node.conn(timeout=2.0)
    try:
        c.call("SYNOD", "CONSISTENCY", "stale")
        out = {}
        for k in KEYS:
            v = c.call("LRANGE", k, "0", "-1")
            if v:
                out[k] = v
        return out
    finally:
        c.close()


def test_lists_identical_on_every_replica(make_cluster):
    seed = int(os.environ.get("LISTS_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"test_cluster_lists: LISTS_SEED={seed}")
    r, m = random.Random(seed), Model()
    c = make_cluster(3, extra_args=("--snapshot-count", "40"))
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    client = leader.client()
    run_steps(client, r, m, 150)
    follower.kill()
    run_steps(client, r, m, 300)  # the two others are a quorum
    follower.start()
    follower.wait_serving()
    run_steps(client, r, m, 150)
    want = {k: v for k, v in m.lists.items() if v}
    assert want, "the run ended with no lists: it would prove nothing"

    seen = {}

    def converged():
        infos = c.infos()
        if any(not i or i.get("last_applied") != infos[leader.id].get("commit_index")
               for i in infos.values()):  # fmt: skip
            return False
        try:
            for n in c.nodes:
                seen[n.id] = local_lists(n)
        except (redis.RedisError, OSError) as e:
            seen["error"] = str(e)
            return False
        return all(v == want for k, v in seen.items() if k != "error")

    wait_for(converged, 20, interval=0.2,
             what=lambda: f"every node to hold the model's lists {want}; they hold {seen}")
    print(f"converged: {sum(len(v) for v in want.values())} elements in {len(want)} lists; "
          f"node{follower.id} was killed and restarted")  # fmt: skip
