"""Blocking pops on a 3-node cluster (issue 10; docs/cluster.md "Blocking commands").

A client blocks on the leader only: a follower relays its BLPOP on a connection of the client's
own and keeps the client's connection. The pop that serves a blocked client is a log entry, so
every replica applies it; clients are served FIFO per key; timeouts, CLIENT UNBLOCK (on the
leader and on a follower) and BZPOPMIN work the same through any node. Under leader kills the
BLMOVE-into-a-processing-list pattern loses nothing: every job ends consumed, still queued, or
in the processing list, and the replicas agree.

Replay of the kill test: BLOCK_SEED=<n>.
"""

import os
import random
import socket
import threading
import time

import pytest
import redis

from harness import NULL_ARRAY, assert_same_digest, resp_command, resp_replies, wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=30.0):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=timeout,
                       socket_connect_timeout=2.0, decode_responses=True)  # fmt: skip


def blocked_clients(node):
    return int(rc(node, 2.0).info("clients")["blocked_clients"])


class Call(threading.Thread):
    """One blocking command in a thread of its own; .result or .error once joined."""

    def __init__(self, client, *cmd):
        super().__init__(daemon=True)
        self.client, self.cmd = client, cmd
        self.result = self.error = None

    def run(self):
        try:
            res = self.client.execute_command(*self.cmd)
            self.result = list(res) if isinstance(res, tuple) else res  # redis-py: BLPOP tuples
        except redis.RedisError as e:
            self.error = e


def start_blocked(client, where, expect_leader_blocked, *cmd):
    """Starts cmd in a thread and waits until the leader counts one more blocked client."""
    t = Call(client, *cmd)
    t.start()
    wait_for(lambda: blocked_clients(where) >= expect_leader_blocked, 5,
             what=f"{cmd} to block")  # fmt: skip
    return t


def local(node, cmd):
    c = node.conn(timeout=2.0)
    try:
        c.call("SYNOD", "CONSISTENCY", "stale")
        return c.call(*cmd)
    finally:
        c.close()


def test_blocking_pops_through_every_node(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]

    # FIFO per key across nodes: a follower's client first, then the leader's own
    a = start_blocked(rc(f1), leader, 1, "BLPOP", "q", "other", "0")
    b = start_blocked(rc(leader), leader, 2, "BRPOP", "q", "0")
    assert blocked_clients(f1) == 1  # the follower counts its relayed client too
    assert rc(f2).rpush("q", "x", "y", "z") == 3
    a.join(10)
    b.join(10)
    assert (a.result, a.error) == (["q", "x"], None)
    assert (b.result, b.error) == (["q", "z"], None)
    assert rc(leader).lrange("q", 0, -1) == ["y"]

    # four waiters, two elements: the first two get them, in order, the others still wait
    ws = [start_blocked(rc(leader if i % 2 else f1), leader, i + 1, "BLPOP", "w", "0")
          for i in range(4)]  # fmt: skip
    rc(f2).rpush("w", "e1", "e2")
    ws[0].join(10)
    ws[1].join(10)
    assert [ws[0].result, ws[1].result] == [["w", "e1"], ["w", "e2"]]
    time.sleep(0.3)
    assert ws[2].is_alive() and ws[3].is_alive()
    rc(leader).lpush("w", "e3")
    ws[2].join(10)
    assert ws[2].result == ["w", "e3"] and ws[3].is_alive()

    # CLIENT UNBLOCK on the leader (ERROR) and on a follower (TIMEOUT)
    cl = rc(leader)
    cid = cl.client_id()
    t = Call(cl, "BLPOP", "none", "0")
    t.start()
    wait_for(lambda: blocked_clients(leader) >= 2, 5, what="the leader's client to block")
    assert rc(leader).execute_command("CLIENT", "UNBLOCK", str(cid), "ERROR") == 1
    t.join(5)
    assert t.error is not None and "UNBLOCKED" in str(t.error)
    fl = rc(f2)
    fid = fl.client_id()
    t = Call(fl, "BLMOVE", "none", "dst", "LEFT", "RIGHT", "0")
    t.start()
    wait_for(lambda: blocked_clients(f2) >= 1, 5, what="the follower's client to block")
    assert rc(f2).execute_command("CLIENT", "UNBLOCK", str(fid)) == 1
    t.join(5)
    assert (t.result, t.error) == (None, None)
    assert rc(f2).execute_command("CLIENT", "UNBLOCK", str(fid)) == 0  # not blocked any more
    rc(f2).rpush("w", "e4")
    ws[3].join(10)
    assert ws[3].result == ["w", "e4"]
    # a waiter relayed by a follower leaves: the leader forgets it
    s = socket.create_connection((f1.host, f1.port), timeout=5)
    s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$4\r\ngone\r\n$1\r\n0\r\n")
    wait_for(lambda: blocked_clients(leader) == 1, 5, what="the relayed waiter to block")
    s.close()
    wait_for(lambda: blocked_clients(leader) == 0, 5, what="the leader to forget the waiter")
    wait_for(lambda: blocked_clients(f1) == 0, 5, what="the follower to forget the waiter")

    # timeouts through a follower and the leader
    for node in (f1, leader):
        t0 = time.monotonic()
        assert rc(node).blpop(["empty"], timeout=0.5) is None
        took = time.monotonic() - t0
        assert 0.4 < took < 3, f"BLPOP 0.5 via node{node.id} took {took:.2f}s"

    # sorted sets: BZPOPMIN blocked on a follower, served by a ZADD through the other one
    t = start_blocked(rc(f1), leader, 1, "BZPOPMIN", "z", "0")
    rc(f2).zadd("z", {"m2": 2, "m1": 1})
    t.join(10)
    assert t.result == ["z", "m1", 1.0]  # redis-py converts the score

    # errors are immediate, not blocking
    rc(leader).set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        rc(f1).blpop(["str"], timeout=0)
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        rc(f1).execute_command("BLPOP", "q", "-1")

    # every replica applied the same pops
    keys = ["q", "w", "dst", "z"]
    state = {}

    def same():
        for n in c.nodes:
            state[n.id] = [local(n, ("LRANGE", k, "0", "-1")) if k != "z" else
                           local(n, ("ZRANGE", "z", "0", "-1")) for k in keys]  # fmt: skip
        return len({repr(v) for v in state.values()}) == 1

    wait_for(same, 10, what=lambda: f"replicas to agree: {state}")
    assert state[leader.id] == [["y"], [], [], ["m2"]]


def test_blmove_queue_loses_nothing_under_leader_kills(make_cluster):
    seed = int(os.environ.get("BLOCK_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"test_cluster_blocking: BLOCK_SEED={seed}")
    r = random.Random(seed)
    c = make_cluster(3)
    c.wait_leader()
    jobs = [f"job{i}" for i in range(150)]
    consumed, stop = [], threading.Event()
    errors = {"producer": 0, "consumer": 0}

    def live_client():
        alive = [n for n in c.nodes if n.alive()]
        return rc(r.choice(alive), timeout=10.0)

    def consumer():
        cl = live_client()
        while not stop.is_set():
            try:
                v = cl.execute_command("BLMOVE", "jobs", "processing", "LEFT", "RIGHT", "0.5")
                if v is not None:
                    consumed.append(v)
                    cl.lrem("processing", 1, v)
            except redis.RedisError:
                errors["consumer"] += 1
                time.sleep(0.05)
                cl = live_client()

    th = threading.Thread(target=consumer, daemon=True)
    th.start()
    cl = live_client()
    kills = 0
    for i, job in enumerate(jobs):
        if i in (40, 100):
            victim = c.wait_leader()
            victim.kill()
            kills += 1
            c.wait_leader(nodes=[n for n in c.nodes if n is not victim])
            victim.start()
        while True:
            try:
                cl.rpush("jobs", job)
                break
            except redis.RedisError:
                errors["producer"] += 1  # outcome unknown: pushed again (a duplicate is fine)
                time.sleep(0.05)
                cl = live_client()
    for n in c.nodes:
        n.wait_serving()

    def drained():
        try:
            return rc(c.wait_leader(), 2.0).llen("jobs") == 0
        except redis.RedisError:
            return False

    wait_for(drained, 30, interval=0.2, what="the consumer to drain the queue")
    stop.set()
    th.join(10)
    state = {}

    def same():
        for n in c.nodes:
            state[n.id] = (local(n, ("LRANGE", "jobs", "0", "-1")),
                           local(n, ("LRANGE", "processing", "0", "-1")))  # fmt: skip
        return len({repr(v) for v in state.values()}) == 1

    wait_for(same, 20, what=lambda: f"replicas to agree: {state}")
    queued, processing = next(iter(state.values()))
    lost = set(jobs) - set(consumed) - set(queued) - set(processing)
    print(f"consumed {len(consumed)} ({len(set(consumed))} distinct), processing {processing}, "
          f"{kills} leader kills, retries {errors}")  # fmt: skip
    assert not lost, f"jobs lost: {sorted(lost)}"
    assert kills == 2


def test_a_push_serves_chained_waiters_before_the_next_read(make_cluster):
    """Redis serves blocked clients before it runs the next command: after RPUSH list1 returns,
    a BLMOVE list1 -> list2 waiter and a BLMOVE list2 -> list3 waiter behind it have both been
    served, so LRANGEs from any node see the element in list3 only. Here the pops are retry
    entries proposed after the push; a read waits until they are applied (Redis's
    unit/type/list 'Linked LMOVEs' through a cluster)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    for rnd in range(3):
        l1, l2, l3 = f"a{rnd}", f"b{rnd}", f"c{rnd}"
        t1 = start_blocked(rc(f1), leader, 1, "BLMOVE", l1, l2, "RIGHT", "LEFT", "0")
        t2 = start_blocked(rc(leader), leader, 2, "BLMOVE", l2, l3, "LEFT", "RIGHT", "0")
        pusher = rc([leader, f2, f1][rnd])
        assert pusher.rpush(l1, "foo") == 1
        reader = rc([leader, f1, f2][rnd])
        assert reader.lrange(l1, 0, -1) == []
        assert reader.lrange(l2, 0, -1) == []
        assert reader.lrange(l3, 0, -1) == ["foo"]
        t1.join(10)
        t2.join(10)
        assert (t1.result, t2.result) == ("foo", "foo")


def test_woken_plain_xread_follows_redis(make_cluster):
    """A blocked XREAD (no group), on the leader or relayed by a follower, is woken as Redis 7.0
    wakes it: by the key that was written only (two keys written in one transaction: the first
    one's entries, not both), once that stream's last id passes the client's, even when the
    entry is gone at once (XADD MAXLEN 0: [[key, []]]); not by XSETID or XGROUP."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rc(leader).execute_command("XADD", "s", "1-1", "a", "1")
    rc(leader).execute_command("XADD", "t", "1-1", "a", "1")
    # through a follower, woken by an XADD (through the other follower) trimmed at once
    a = start_blocked(rc(f1), leader, 1, "XREAD", "BLOCK", "10000", "STREAMS", "s", "$")
    rc(f2).execute_command("XADD", "s", "MAXLEN", "0", "2-1", "f", "v")
    a.join(10)
    assert (a.result, a.error) == ([["s", []]], None)
    # on the leader: XSETID and XGROUP wake nobody; then two keys in one transaction
    b = start_blocked(rc(leader), leader, 1, "XREAD", "BLOCK", "10000", "STREAMS", "s", "t",
                      "$", "$")  # fmt: skip
    rc(f2).execute_command("XSETID", "s", "9-0")
    rc(f1).execute_command("XGROUP", "CREATE", "s", "g", "$")
    rc(leader).execute_command("XGROUP", "SETID", "s", "g", "0")
    time.sleep(0.3)
    assert b.is_alive() and blocked_clients(leader) == 1
    p = rc(f1).pipeline(transaction=True)
    p.execute_command("XADD", "t", "10-1", "b", "2")
    p.execute_command("XADD", "s", "10-2", "c", "3")
    p.execute()
    b.join(10)
    assert (b.result, b.error) == ([["t", [("10-1", {"b": "2"})]]], None)
    c.wait_converged([])
    assert len({local(n, ("SYNOD", "DIGEST"))[0] for n in c.nodes}) == 1


def test_woken_xreadgroup_that_reads_nothing_creates_the_consumer(make_cluster):
    """Redis 7.0 serves a blocked XREADGROUP once the stream's last id passes the group's, even
    if that entry is already gone (XADD MAXLEN 0; XADD + XDEL in one MULTI): the reply is
    [[key, []]] and the consumer is created. That is a group change, so it goes through the log:
    every node then lists the consumer, also after the leader is killed and restarted."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    assert rc(leader).execute_command("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == "OK"
    # through a follower (relayed), woken by an XADD trimmed at once
    a = start_blocked(rc(f1), leader, 1, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "10000",
                      "STREAMS", "s", ">")  # fmt: skip
    rc(f2).execute_command("XADD", "s", "MAXLEN", "0", "*", "f", "v")
    a.join(10)
    assert (a.result, a.error) == ([["s", []]], None)
    # on the leader, woken by an entry added and deleted in one transaction
    b = start_blocked(rc(leader), leader, 1, "XREADGROUP", "GROUP", "g", "bob", "BLOCK",
                      "10000", "STREAMS", "s", ">")  # fmt: skip
    p = rc(f2).pipeline(transaction=True)
    p.execute_command("XADD", "s", "*", "f", "v")
    p.execute_command("XLEN", "s")
    res = p.execute()
    rc(f2).execute_command("XDEL", "s", res[0])
    b.join(10)
    # bob may be served by the XADD (an entry) or, if the XDEL came first, with nothing
    assert b.error is None and b.result in ([["s", []]], [["s", [(res[0], {"f": "v"})]]]), b.result
    # a read that finds nothing without blocking creates no one (Redis 7.0 too)
    assert rc(f1).execute_command("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">") in (
        None, [])

    def consumers(node):
        rows = local(node, ("XINFO", "CONSUMERS", "s", "g"))
        return sorted(r[1] for r in rows)

    def digest(node):
        return local(node, ("SYNOD", "DIGEST"))[0]

    c.wait_converged([])
    assert {n.id: consumers(n) for n in c.nodes} == {n.id: ["alice", "bob"] for n in c.nodes}
    assert len({digest(n) for n in c.nodes}) == 1
    leader.kill()
    c.wait_leader(nodes=[f1, f2], exclude=(leader.id,))
    leader.start()
    leader.wait_serving()
    c.wait_converged([])
    assert {n.id: consumers(n) for n in c.nodes} == {n.id: ["alice", "bob"] for n in c.nodes}
    assert len({digest(n) for n in c.nodes}) == 1


def test_pipelined_pops_replicate_alike(make_cluster):
    """Consumers pipeline 16 identical BLMOVEs at a time, into a list of their own per round
    (the leader logs each run of them as one entry, run until one finds nothing: node_block.c)
    while producers push through the leader and a follower and a follower is killed and
    restarted. Every request gets exactly one reply, no element is moved twice or lost, and the
    replicas end with the same data (the same digest): each entry ran the same pops on every
    node (a replica that ran one pop fewer per entry left elements for a later round's list)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    victim = next(n for n in c.nodes if n is not leader and n is not follower)
    items = [f"it{i}" for i in range(600)]
    moved, replies, errors = [], [0], []
    stop = threading.Event()

    def consumer(node, tid):
        cl = rc(node, timeout=30.0)
        try:
            rnd = 0
            while not stop.is_set():
                rnd += 1
                p = cl.pipeline(transaction=False)
                for _ in range(16):  # a list per round: a pop run differently stays visible
                    p.execute_command("BLMOVE", "q", f"p{tid}:{rnd}", "LEFT", "RIGHT", "0.2")
                out = p.execute()
                replies[0] += len(out)
                moved.extend(v for v in out if v is not None)
        except redis.RedisError as e:
            errors.append(e)

    pushers = [rc(leader), rc(follower)]
    pushers[0].rpush("q", *items[:300])  # runs of 16 that all find something
    consumers = [threading.Thread(target=consumer, args=(leader, i), daemon=True) for i in range(3)]
    for t in consumers:
        t.start()
    for i in range(300, len(items), 20):
        if i == 300:
            victim.kill()
        if i == 400:
            victim.start()
        pushers[(i // 20) % 2].rpush("q", *items[i:i + 20])
    victim.wait_serving()
    wait_for(lambda: len(moved) >= len(items), 30, interval=0.1,
             what=lambda: f"all elements moved ({len(moved)} of {len(items)})")  # fmt: skip
    stop.set()
    for t in consumers:
        t.join(30)
    assert not errors, errors[:3]
    assert replies[0] % 16 == 0 and replies[0] >= len(items)
    assert len(moved) == len(set(moved)) == len(items), "an element moved twice or lost"
    assert set(moved) == set(items)
    assert_same_digest(c)
    lists = local(leader, ("KEYS", "p*"))
    held = [v for k in lists for v in local(leader, ("LRANGE", k, "0", "-1"))]
    assert sorted(held) == sorted(items)


def test_pipelined_pops_answered_once_each_on_leader_change(make_cluster):
    """A client whose 16 pipelined identical BRPOPs wait on the leader (the first blocked, 15
    behind it in the same run) gets 16 replies when leadership moves: one -TRYAGAIN per
    request, none lost (the client would wait for ever) and none extra. Two elements first:
    the first two pops are answered with them. Then the same for 3 pops left behind one that
    CLIENT UNBLOCK answered while a leadership transfer keeps them from being proposed: a PING
    pipelined behind them gets its own reply, not a fourth -TRYAGAIN."""
    c = make_cluster(3)
    leader = c.wait_leader()
    target = next(n for n in c.nodes if n is not leader)
    rc(leader).rpush("q", "a", "b")
    s = socket.create_connection((leader.host, leader.port), timeout=10.0)
    s.sendall(b"*3\r\n$5\r\nBRPOP\r\n$1\r\nq\r\n$1\r\n0\r\n" * 16)
    wait_for(lambda: blocked_clients(leader) >= 1, 5, what="the third BRPOP to block")
    rc(leader).execute_command("SYNOD", "TRANSFER-LEADER", str(target.id))
    buf = b""
    deadline = time.monotonic() + 10
    while buf.count(b"\r\n-") + buf.startswith(b"-") < 14 and time.monotonic() < deadline:
        buf += s.recv(65536)
    time.sleep(0.3)  # nothing more may come
    s.settimeout(0.2)
    try:
        buf += s.recv(65536)
    except socket.timeout:
        pass
    s.close()
    assert buf.startswith(b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n*2\r\n$1\r\nq\r\n$1\r\na\r\n"), buf[:80]
    rest = buf[len(b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n") * 2:]
    errs = rest.split(b"\r\n")[:-1]
    assert len(errs) == 14 and all(e.startswith(b"-TRYAGAIN") for e in errs), rest[:300]

    # the same for the pops left behind one that CLIENT UNBLOCK answered while a transfer keeps
    # the leader from proposing them (unblock and transfer in one write): 1 null, 3 -TRYAGAIN
    wait_for(lambda: c.leader() is not None and c.leader() is not leader, 10, what="new leader")
    leader = c.leader()
    target = next(n for n in c.nodes if n is not leader)
    s = socket.create_connection((leader.host, leader.port), timeout=10.0)
    s.sendall(resp_command("CLIENT", "ID"))
    cid = resp_replies(s, 1, 5)[0]
    s.sendall(resp_command("BRPOP", "q2", 0) * 4 + resp_command("PING"))  # PING's is fifth
    wait_for(lambda: blocked_clients(leader) >= 1, 5, what="the first BRPOP to block")
    with socket.create_connection((leader.host, leader.port), timeout=10) as a:
        a.sendall(resp_command("SYNOD", "TRANSFER-LEADER", target.id)
                  + resp_command("CLIENT", "UNBLOCK", cid))  # fmt: skip
        assert resp_replies(a, 2, 5)[1] == 1
    got = resp_replies(s, 5, 10)
    s.close()
    assert got[0] == NULL_ARRAY and got[4] == "PONG", got
    assert all("TRYAGAIN" in str(e) for e in got[1:4]), got


def test_pipelined_pops_through_a_follower_go_together(make_cluster):
    """A consumer on a follower pipelining 16 BRPOPs: the follower relays them together on the
    client's own connection, so the leader runs them as one entry (node_block.c), instead of one
    log entry per round trip. Seen failing (16 entries) with the follower relaying one blocking
    request at a time."""
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    rc(leader).rpush("q", *[f"j{i}" for i in range(16)])
    applied0 = int(rc(leader).info("consensus")["last_applied"])
    s = socket.create_connection((follower.host, follower.port), timeout=10)
    try:
        s.sendall(resp_command("BRPOP", "q", 0) * 16)
        got = resp_replies(s, 16, 10)
    finally:
        s.close()
    assert got == [["q", f"j{i}"] for i in range(15, -1, -1)]
    entries = int(rc(leader).info("consensus")["last_applied"]) - applied0
    assert entries <= 3, f"16 pipelined pops took {entries} log entries"
    c.wait_converged(["q"], timeout=10)
    assert_same_digest(c)


def test_client_unblock_through_a_follower_with_pops_behind(make_cluster):
    """CLIENT UNBLOCK, on a follower, of a client of that follower with 4 pipelined BRPOPs
    blocked (relayed): the follower asks the leader (SYNOD UNBLOCK-SELF on the client's own relay
    connection), so the first gets its null at once and the 3 behind go on as in Redis: one
    push of 3 serves them. The same on the leader for its own client. Seen failing: the first
    null held back until the next reply (on the leader too), and a follower closing the relay
    connection, which lost the 3 requests behind. Two CLIENT UNBLOCKs in one write unblock the
    first only (1, then 0, as Redis: the second finds it answered), and a later pop of the same
    client, blocked again, is unblocked too."""
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    for node in (leader, follower):  # the leader's own clients, and a follower's
        key = f"q{node.id}"
        s = socket.create_connection((node.host, node.port), timeout=10)
        try:
            s.sendall(resp_command("CLIENT", "ID"))
            cid = resp_replies(s, 1, 5)[0]
            s.sendall(resp_command("BRPOP", key, 0) * 4)
            wait_for(lambda: blocked_clients(leader) >= 1, 5, what="the pops to block")
            with socket.create_connection((node.host, node.port), timeout=10) as a:
                a.sendall(resp_command("CLIENT", "UNBLOCK", cid) * 2)
                assert resp_replies(a, 2, 5) == [1, 0], f"node {node.id}"
            assert resp_replies(s, 1, 3) == [NULL_ARRAY], f"node {node.id}: no prompt null"
            wait_for(lambda: blocked_clients(leader) >= 1, 5, what="the next pop to block")
            rc(leader).lpush(key, "a", "b", "c")
            assert resp_replies(s, 3, 5) == [[key, "a"], [key, "b"], [key, "c"]]
            s.sendall(resp_command("BRPOP", key, 0))  # blocks again: unblocked again
            wait_for(lambda: blocked_clients(leader) >= 1, 5, what="the last pop to block")
            assert rc(node).execute_command("CLIENT", "UNBLOCK", cid) == 1, f"node {node.id}"
            assert resp_replies(s, 1, 3) == [NULL_ARRAY], f"node {node.id}"
            assert rc(node).execute_command("CLIENT", "UNBLOCK", cid) == 0  # none blocked
        finally:
            s.close()


@pytest.mark.parametrize("where", ["follower", "leader"])
def test_client_unblock_through_a_follower_loses_no_item(make_cluster, where):
    """A consumer on a follower BLPOPs in a loop while another client of that follower keeps
    unblocking it and a producer pushes N items through the leader: every item ends consumed or
    still in the list. A follower that answered CLIENT UNBLOCK itself by closing the relay
    connection lost the items the leader had popped for it just before (their replies were
    dropped with the connection). The same with consumer and unblocker on the leader: a
    CLIENT UNBLOCK that comes while the pop that serves the consumer is in the log waits for
    it (answered at once, the consumer got its null, then the pop took an item for it)."""
    seed = int(os.environ.get("BLOCK_SEED", random.randrange(1 << 30)))
    print(f"BLOCK_SEED={seed}")
    rnd = random.Random(seed)
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader) if where == "follower" else leader
    n_items = 400
    consumed = []
    done = threading.Event()
    cons = rc(follower, 10.0)
    cid = cons.client_id()

    def consume():
        while not done.is_set():
            try:
                r = cons.blpop("items", 0)
            except redis.ResponseError:  # UNBLOCKED
                continue
            if r:
                consumed.append(r[1])

    def unblock():
        u = rc(follower, 10.0)
        while not done.is_set():
            u.execute_command("CLIENT", "UNBLOCK", cid, rnd.choice(["TIMEOUT", "ERROR"]))
            time.sleep(rnd.random() * 0.002)

    threads = [threading.Thread(target=consume, daemon=True),
               threading.Thread(target=unblock, daemon=True)]  # fmt: skip
    for t in threads:
        t.start()
    p = rc(leader)
    for i in range(n_items):
        p.rpush("items", f"i{i}")
        if rnd.random() < 0.3:
            time.sleep(0.001)
    last, since = -1, time.monotonic()
    while len(consumed) + p.llen("items") < n_items:  # until all are seen or none comes for 3 s
        total = len(consumed) + p.llen("items")
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since > 3:
            break
        time.sleep(0.05)
    done.set()
    p.rpush("items", "stop")  # wakes the consumer if it blocks again
    for t in threads:
        t.join(10)
    left = [x for x in p.lrange("items", 0, -1) if x != "stop"]
    seen = [x for x in consumed if x != "stop"]
    assert sorted(seen + left) == sorted(f"i{i}" for i in range(n_items)), (
        f"BLOCK_SEED={seed}: {n_items - len(seen) - len(left)} items lost"
    )


def test_pushes_in_flight_with_a_serving_pop_serve_every_waiter(make_cluster):
    """Four clients blocked on one list, then four pushes of one item each, a fraction of a
    millisecond apart: some land in the log after the first push but before the pop that serves
    the first waiter (proposed once the first push is applied), so they append to a list that
    exists and create no key. The served pop then leaves items for the next waiter, which it
    must make ready (else that waiter stays blocked beside an item for ever). Every waiter is
    served, in rounds with different spacings."""
    c = make_cluster(3)
    leader = c.wait_leader()
    p = socket.create_connection((leader.host, leader.port), timeout=10)
    try:
        for rnd in range(6):
            key = f"q{rnd}"
            waiters = []
            for i in range(4):
                w = socket.create_connection((leader.host, leader.port), timeout=10)
                w.sendall(resp_command("BLPOP", key, 0))
                waiters.append(w)
                wait_for(lambda: blocked_clients(leader) >= i + 1, 5, interval=0.005,
                         what="the waiter to block")  # fmt: skip
            for i in range(4):
                p.sendall(resp_command("RPUSH", key, f"i{i}"))
                time.sleep(0.0003 * rnd)
            assert len(resp_replies(p, 4, 5)) == 4
            got = []
            for w in waiters:
                got += resp_replies(w, 1, 3)
                w.close()
            assert got == [[key, f"i{i}"] for i in range(4)], (rnd, got)
    finally:
        p.close()


def test_timeouts_racing_pushes_lose_no_item(make_cluster):
    """Consumers BLPOP with a 10 ms timeout in a loop (on the leader and through a follower)
    while a producer pushes N items: a timeout that falls while the pop serving the consumer
    is in the log waits for it (answered at once, the consumer got its null and the pop then
    took an item for a request already answered). Every item ends consumed or still in the
    list, and every call gets its own reply."""
    seed = int(os.environ.get("BLOCK_SEED", random.randrange(1 << 30)))
    print(f"BLOCK_SEED={seed}")
    rnd = random.Random(seed)
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    n_items = 300
    consumed, bad = [], []
    done = threading.Event()

    def consume(node):
        cons = rc(node, 10.0)
        while not done.is_set():
            r = cons.blpop("items", 0.01)
            if r is not None and (len(r) != 2 or r[0] != "items"):
                bad.append(r)
            elif r:
                consumed.append(r[1])

    threads = [threading.Thread(target=consume, args=(n,), daemon=True)
               for n in (leader, leader, leader, leader, follower, follower)]  # fmt: skip
    for t in threads:
        t.start()
    p = rc(leader)
    for i in range(n_items):
        p.rpush("items", f"i{i}")
        time.sleep(rnd.random() * 0.004)
    wait_for(lambda: len(consumed) + p.llen("items") >= n_items, 5, what="every item seen")
    done.set()
    for t in threads:
        t.join(10)
    left = p.lrange("items", 0, -1)
    assert not bad, f"BLOCK_SEED={seed}: replies of other calls: {bad[:3]}"
    assert sorted(consumed + left) == sorted(f"i{i}" for i in range(n_items)), (
        f"BLOCK_SEED={seed}: {n_items - len(consumed) - len(left)} items lost"
    )


@pytest.mark.parametrize("secret,proto", [(None, 2), ("s3cret-for-the-relay-proof", 2), (None, 3)])
def test_blocking_command_keeps_its_place_through_a_follower(make_cluster, secret, proto):
    """A blocking command sent to a follower before another client's write (to the same
    follower) reaches the leader before that write (fwd.c "Blocking commands keep their
    place"): the follower relays the blocking command on a connection of its own, and the write
    that follows on its shared relay waits on the leader for it (SYNOD AFTER). Redis's
    unit/type/stream-cgroups 'Blocking XREADGROUP: key deleted': XREADGROUP BLOCK 0, then a DEL
    from another client without waiting, must answer the group's 'no longer exists' error,
    not NOGROUP (the DEL overtook it); a BLPOP on a list with an item, then a DEL, must get the
    item (overtaken, it blocked for ever). Also with cluster-secret (a relay connection proves
    itself first, with a challenge: the marked command waits behind the proof). And with the
    DEL from a RESP3 client (HELLO 3), which the follower relays on its other shared
    connection: that one waits for the mark too."""
    c = make_cluster(3, extra_args=("--cluster-secret", secret) if secret else ())
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    r = rc(f, 10.0)
    w = socket.create_connection((f.host, f.port), timeout=5)
    w.sendall(resp_command("HELLO", proto))
    assert resp_replies(w, 1, 5.0)[0]

    def delete(key):  # the write that must not overtake the blocking command
        w.sendall(resp_command("DEL", key))
        assert resp_replies(w, 1, 5.0)[0] in (0, 1)

    wrong = []
    for i in range(30):
        r.delete("s")
        r.xadd("s", {"f": "v"}, id="666-0")
        r.xgroup_create("s", "g", id="$")
        with socket.create_connection((f.host, f.port), timeout=5) as s:  # a new client each
            s.sendall(resp_command("PING"))  # as Redis's deferring client: its SELECT answered
            assert resp_replies(s, 1, 5.0) == ["PONG"]
            s.sendall(resp_command("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0",
                                   "STREAMS", "s", ">"))  # fmt: skip
            delete("s")
            got = resp_replies(s, 1, 5.0)
        if not (got and isinstance(got[0], RuntimeError) and "no longer exists" in str(got[0])):
            wrong.append(("xreadgroup", i, got))
        r.rpush("l", "item")
        with socket.create_connection((f.host, f.port), timeout=5) as s:
            s.sendall(resp_command("PING"))
            assert resp_replies(s, 1, 5.0) == ["PONG"]
            s.sendall(resp_command("BLPOP", "l", "0"))
            delete("l")
            got = resp_replies(s, 1, 2.0)
        if got != [["l", "item"]]:
            wrong.append(("blpop", i, got))
    w.close()
    assert not wrong, f"{len(wrong)} of 60 blocking commands overtaken: {wrong[:4]}"
    assert_same_digest(c)


def test_relay_waits_for_a_mark_only_so_long(make_cluster):
    """SYNOD AFTER (fwd.c "Blocking commands keep their place") holds a relay's later requests
    until the marked blocking command was taken, and no longer than 250 ms when it never comes
    (its connection failed, a new leader): a relay is never stuck. It has no reply, and a
    SYNOD MARK runs the command it wraps. The marks of several relays (tokens) are kept side by
    side: a later mark of another relay leaves an earlier one found."""
    c = make_cluster(3)
    leader = c.wait_leader()
    s = socket.create_connection((leader.host, leader.port), timeout=5)
    try:
        s.sendall(resp_command("SYNOD", "RELAY-HELLO", "2"))  # a relay from this host
        assert resp_replies(s, 1, 5) == ["OK"]
        t = time.monotonic()
        s.sendall(resp_command("SYNOD", "AFTER", "7", "99") + resp_command("PING"))
        assert resp_replies(s, 1, 5) == ["PONG"]
        waited = time.monotonic() - t
        assert 0.2 <= waited < 2.0, f"waited {waited:.3f} s for a mark that never came"
        rc(leader).set("x", "1")
        t = time.monotonic()
        s.sendall(resp_command("SYNOD", "MARK", "7", "100", "GET", "x")
                  + resp_command("SYNOD", "AFTER", "7", "100") + resp_command("PING"))  # fmt: skip
        assert resp_replies(s, 2, 5) == ["1", "PONG"]
        assert time.monotonic() - t < 0.2, "waited for a mark already taken"
        # the marks of every relay are kept: another relay's later one does not push it out
        t = time.monotonic()
        s.sendall(resp_command("SYNOD", "MARK", "7", "101", "GET", "x")
                  + resp_command("SYNOD", "MARK", "8", "5", "GET", "x")
                  + resp_command("SYNOD", "AFTER", "7", "101") + resp_command("PING"))  # fmt: skip
        assert resp_replies(s, 3, 5) == ["1", "1", "PONG"]
        assert time.monotonic() - t < 0.2, "waited for a mark pushed out by another relay's"
    finally:
        s.close()
    # from a client that is no relay, they are SYNOD's unknown subcommands
    r = rc(leader)
    with pytest.raises(redis.ResponseError, match="unknown subcommand"):
        r.execute_command("SYNOD", "AFTER", "7", "100")
