"""Streams as a durable queue on a 3-node cluster (issue 12; docs/cluster.md "Blocking commands").

- test_blocking_streams_through_every_node: XREAD BLOCK `$` and XREADGROUP BLOCK `>` relayed by
  followers and woken by an XADD on another node; consumers of one group served FIFO, each
  entry to one of them; the delivery is a log entry (every replica's XINFO STREAM FULL is the
  same); timeouts, CLIENT UNBLOCK on a follower, XGROUP DESTROY (-NOGROUP), and leadership
  loss (the blocked clients get an error, as for BLPOP).
- test_queue_under_faults: producers XADD (ids from the leader), consumers XREADGROUP BLOCK `>`
  + XACK in one group (each re-reads its own pending list after an error), all through random
  nodes, while a seeded nemesis kills, pauses and partitions the leader away. After healing and
  draining: queuecheck.check (every acknowledged XADD present, ids increasing in real-time
  order, every entry delivered, none twice through `>`, none after its XACK) and every
  replica's stream + group state identical. QUEUE_SECONDS (default 12; `make test-long` runs
  300), SEED=n replays the schedule.
- test_queue_checker_catches_broken_histories: the checker on histories broken one way each.

Seen failing with a planted bug (scripts/build_queue_bug.sh QUEUE_BUG_DELIVERY_NOT_REPLICATED:
replicas do not record deliveries, as with Redis's asynchronous replication): the fault test
reports entries delivered twice through `>` after a leader change, and differing replicas.
"""

import hashlib
import os
import random
import socket
import threading
import time

import pytest
import redis

from harness import wait_for
from history import Nemesis, seed_from_env
from queuecheck import QueueHistory, check

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=30.0):
    return node.client(timeout=timeout)


def blocked_clients(node):
    return int(rc(node, 2.0).info("clients")["blocked_clients"])


class Call(threading.Thread):
    def __init__(self, client, *cmd):
        super().__init__(daemon=True)
        self.client, self.cmd = client, cmd
        self.result = self.error = None

    def run(self):
        try:
            self.result = self.client.execute_command(*self.cmd)
        except redis.RedisError as e:
            self.error = e


def start_blocked(client, where, n, *cmd):
    t = Call(client, *cmd)
    t.start()
    wait_for(lambda: blocked_clients(where) >= n, 5, what=f"{cmd} to block")
    return t


def stale(node, *cmd):
    c = node.conn(timeout=2.0)
    try:
        c.call("SYNOD", "CONSISTENCY", "stale")
        return c.call(*cmd)
    finally:
        c.close()


def state_digest(node, key):
    """The stream and its groups as this node holds them (stale read): entries, XINFO STREAM
    FULL (groups, PELs with delivery times and counts, consumers with seen times), and SYNOD
    DIGEST of the whole dataset."""
    full = stale(node, "XINFO", "STREAM", key, "FULL", "COUNT", "0")
    entries = stale(node, "XRANGE", key, "-", "+")
    dg = stale(node, "SYNOD", "DIGEST")[0]
    return hashlib.sha256(repr((entries, full)).encode()).hexdigest()[:16], dg, len(entries)


def wait_same_state(c, key, timeout=30.0, must=True):
    """Waits until every node has applied the same index and holds the same stream state;
    returns {node id: (digest, entries)}. must=False: returns the last disagreement instead of
    raising (None in place of a node that did not answer)."""
    last = {}

    def same():
        infos = c.infos()
        idx = {nid: (i.get("commit_index"), i.get("last_applied")) if i else None
               for nid, i in infos.items()}  # fmt: skip
        if None in idx.values() or len(set(idx.values())) != 1:
            last["idx"] = idx
            return False
        try:
            last["digests"] = {n.id: state_digest(n, key) for n in c.nodes}
        except (redis.RedisError, OSError) as e:
            last["err"] = repr(e)
            return False
        return len(set(last["digests"].values())) == 1

    try:
        wait_for(same, timeout, interval=0.2, what=lambda: f"identical replicas: {last}")
    except AssertionError:
        if must:
            raise
    return last.get("digests") or last


def test_blocking_streams_through_every_node(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rc(leader).xadd("s", {"a": "0"}, id="1-1")

    # XREAD BLOCK $ through a follower, woken by an XADD through the other follower
    a = start_blocked(rc(f1), leader, 1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert blocked_clients(f1) == 1  # the follower counts its relayed client
    rc(f2).xadd("s", {"b": "1"}, id="2-1")
    a.join(10)
    assert (a.result, a.error) == ([["s", [("2-1", {"b": "1"})]]], None)

    # RESP3 through a follower: the relayed reply is the client's protocol (a map)
    sk = socket.create_connection((f1.host, f1.port), timeout=10)
    sk.sendall(b"HELLO 3\r\n")
    time.sleep(0.2)
    sk.recv(65536)
    sk.sendall(b"XREAD BLOCK 0 STREAMS s $\r\n")
    wait_for(lambda: blocked_clients(leader) >= 1, 5, what="RESP3 XREAD to block")
    rc(f2).xadd("s", {"f": "v"}, id="2-2")
    want = b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    got = b""
    while len(got) < len(want):
        chunk = sk.recv(65536)
        if not chunk:
            break
        got += chunk
    sk.close()
    assert got == want

    # two consumers of one group (a follower's first, then the leader's): FIFO, one entry each
    rc(leader).xgroup_create("s", "g", id="$")
    x = start_blocked(rc(f1), leader, 1, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
                      "STREAMS", "s", ">")  # fmt: skip
    y = start_blocked(rc(leader), leader, 2, "XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0",
                      "STREAMS", "s", ">")  # fmt: skip
    rc(f2).xadd("s", {"c": "2"}, id="3-1")
    x.join(10)
    assert (x.result, x.error) == ([["s", [("3-1", {"c": "2"})]]], None)
    assert blocked_clients(leader) == 1 and y.is_alive()
    rc(f2).xadd("s", {"d": "3"}, id="4-1")
    y.join(10)
    assert (y.result, y.error) == ([["s", [("4-1", {"d": "3"})]]], None)
    # the deliveries are log entries: every replica has the same PELs and consumers
    digests = wait_same_state(c, "s")
    pend = [stale(n, "XPENDING", "s", "g") for n in c.nodes]
    assert all(p == [2, "3-1", "4-1", [["c1", "1"], ["c2", "1"]]] for p in pend), pend
    print(f"replicas agree after blocked deliveries: {digests}")

    # timeout through a follower; nothing delivered, nothing changed
    t0 = time.monotonic()
    assert rc(f2).execute_command("XREADGROUP", "GROUP", "g", "c3", "BLOCK", "300", "STREAMS",
                                  "s", ">") in (None, [])  # fmt: skip (redis-py: [])
    assert 0.25 <= time.monotonic() - t0 < 3

    # CLIENT UNBLOCK on the follower the client is connected to (answers like a timeout)
    cl = rc(f2)
    cid = cl.client_id()
    t = start_blocked(cl, leader, 1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert rc(f2).execute_command("CLIENT", "UNBLOCK", str(cid)) == 1
    t.join(10)
    assert t.result in (None, []) and t.error is None, (t.result, t.error)

    # XGROUP DESTROY: a blocked XREADGROUP gets -NOGROUP
    t = start_blocked(rc(f1), leader, 1, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
                      "STREAMS", "s", ">")  # fmt: skip
    assert rc(f2).xgroup_destroy("s", "g") == 1
    t.join(10)
    assert str(t.error) == "NOGROUP the consumer group this client was blocked on no longer exists"

    # leadership lost: the blocked clients (leader's own, a follower's relayed) get an error
    rc(leader).xgroup_create("s", "g", id="$")
    p = start_blocked(rc(leader), leader, 1, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
                      "STREAMS", "s", ">")  # fmt: skip
    q = start_blocked(rc(f1), leader, 2, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    rc(leader).execute_command("SYNOD", "TRANSFER-LEADER", str(f2.id))
    wait_for(lambda: c.leader() is f2, 10, what=f"node{f2.id} to lead")
    p.join(10)
    q.join(10)
    assert p.error is not None and q.error is not None, (p.result, q.result)
    print(f"after the leader change: {p.error!r} / {q.error!r}")
    # and the new leader serves blocking reads
    r = start_blocked(rc(f1), f2, 1, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS",
                      "s", ">")  # fmt: skip
    rc(leader).xadd("s", {"e": "4"}, id="5-1")
    r.join(10)
    assert (r.result, r.error) == ([["s", [("5-1", {"e": "4"})]]], None)
    wait_same_state(c, "s")


def test_node_max_entries_is_the_leaders(make_cluster):
    """stream-node-max-entries may differ between nodes (started with other values; CONFIG SET
    makes it the cluster's), but only the leader's counts: it travels in the XADD / XTRIM entries
    it logs, so replicas with another value build the same chunks and `~` trims the same entries
    everywhere."""
    c = make_cluster(3, start=False)
    leader, f1, f2 = c.nodes
    leader.argv += ["--stream-node-max-entries", "2"]
    f1.argv += ["--stream-node-max-entries", "50"]
    c.start()
    if c.wait_leader() is not leader:
        rc(c.leader()).execute_command("SYNOD", "TRANSFER-LEADER", str(leader.id))
        wait_for(lambda: c.leader() is leader, 10, what=f"node{leader.id} to lead")
    for i in range(1, 8):  # through a follower: the leader rewrites what it logs
        rc(f1).xadd("n", {"f": "v"}, id=f"{i}-1")
    assert rc(f2).xtrim("n", maxlen=2, approximate=True) == 4  # chunks of 2: 7 -> 3
    wait_same_state(c, "n")
    assert [stale(n, "XLEN", "n") for n in c.nodes] == [3, 3, 3]
    # a new leader with the default: chunks of 100 from now on, the same on every replica
    rc(leader).execute_command("SYNOD", "TRANSFER-LEADER", str(f2.id))
    wait_for(lambda: c.leader() is f2, 10, what=f"node{f2.id} to lead")
    for i in range(8, 12):
        rc(f1).xadd("n", {"f": "v"}, id=f"{i}-1")
    assert rc(leader).xtrim("n", maxlen=1, approximate=True) == 2  # 2 full chunks of 2 go
    wait_same_state(c, "n")
    assert [stale(n, "XLEN", "n") for n in c.nodes] == [5, 5, 5]


def test_empty_group_reads_create_consumers_alike(make_cluster):
    """An XREADGROUP that delivers nothing creates its consumer exactly when Redis 7.0 does (a
    history read: an id, not `>`), with the log entry's time as its seen time, so every replica
    holds the same consumers; `>` with nothing new, blocked or not, creates none."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rc(leader).xgroup_create("e", "g", id="$", mkstream=True)
    for i, node in enumerate([f1, leader, f2, f1]):
        r = rc(node)
        assert r.execute_command("XREADGROUP", "GROUP", "g", f"h{i}", "STREAMS", "e", "0") == [
            ["e", []]]
        assert not r.execute_command("XREADGROUP", "GROUP", "g", f"n{i}", "STREAMS", "e", ">")
        assert not r.execute_command("XREADGROUP", "GROUP", "g", f"b{i}", "BLOCK", "30",
                                     "STREAMS", "e", ">")  # fmt: skip
    wait_same_state(c, "e")
    for n in c.nodes:
        names = [x[1] for x in stale(n, "XINFO", "CONSUMERS", "e", "g")]
        names = sorted(x.decode() if isinstance(x, bytes) else x for x in names)
        assert names == ["h0", "h1", "h2", "h3"], (n.id, names)


# ---- the queue under faults ----

KEY, GROUP = "q", "g"


class Queue:
    """Producers and consumers on random nodes, recording a QueueHistory."""

    def __init__(self, nodes, seed, producers=3, consumers=3, op_timeout=2.0):
        self.nodes, self.seed = nodes, seed
        self.n_prod, self.n_cons = producers, consumers
        self.op_timeout = op_timeout
        self.h = QueueHistory()
        self.stop_prod = threading.Event()
        self.stop_cons = threading.Event()
        self.threads = []
        self.counts = {"add_ok": 0, "add_unknown": 0, "read_err": 0, "acks": 0}
        self.lock = threading.Lock()

    def _count(self, k, n=1):
        with self.lock:
            self.counts[k] += n

    def _producer(self, pid):
        rng = random.Random(self.seed * 100 + pid)
        conns = {}
        seq = 0
        while not self.stop_prod.is_set():
            node = rng.choice(self.nodes)
            conn = conns.get(node.id) or conns.setdefault(node.id, node.conn(self.op_timeout))
            val = f"p{pid}-{seq}"
            seq += 1
            rec = {"val": val, "invoke": time.monotonic(), "ret": None, "id": None}
            try:
                rec["id"] = conn.call("XADD", KEY, "*", "v", val)
                rec["ret"] = time.monotonic()
                self._count("add_ok")
            except redis.ConnectionError as e:
                if "Error" in str(e) and "connecting" in str(e):
                    continue  # nothing was sent
                self._count("add_unknown")
                conns.pop(node.id, None)
            except (redis.RedisError, OSError):
                self._count("add_unknown")
                conns.pop(node.id, None)
            self.h.add(rec)
            time.sleep(rng.uniform(0.002, 0.02))

    def _read(self, conn, cname, via, *cmd):
        inv = time.monotonic()
        res = conn.call(*cmd)
        ret = time.monotonic()
        recs = []
        for _key, entries in res or []:
            for eid, fields in entries:
                if fields is None:  # deleted entry in a PEL read
                    continue
                val = dict(zip(fields[::2], fields[1::2])).get("v")
                recs.append({"id": eid, "val": val, "via": via, "invoke": inv, "ret": ret,
                             "consumer": cname})  # fmt: skip
        self.h.delivered(recs)
        return recs

    def _ack(self, conn, recs):
        for r in recs:
            inv = time.monotonic()
            try:
                n = conn.call("XACK", KEY, GROUP, r["id"])
            except (redis.RedisError, OSError):
                return False  # re-read from the PEL later
            if n == 1:
                self.h.acked({"id": r["id"], "invoke": inv, "ret": time.monotonic()})
                self._count("acks")
        return True

    def consume_once(self, conn, cname, pel):
        """One round: the consumer's own pending entries (pel) or new ones; acks them. False
        on an error (outcome unknown: read the pending list next time)."""
        try:
            if pel:
                recs = self._read(conn, cname, "pel", "XREADGROUP", "GROUP", GROUP, cname,
                                  "COUNT", "50", "STREAMS", KEY, "0")  # fmt: skip
            else:
                recs = self._read(conn, cname, ">", "XREADGROUP", "GROUP", GROUP, cname,
                                  "COUNT", "5", "BLOCK", "300", "STREAMS", KEY, ">")  # fmt: skip
        except (redis.RedisError, OSError):
            self._count("read_err")
            return False, 0
        return self._ack(conn, recs), len(recs)

    def _consumer(self, cid):
        rng = random.Random(self.seed * 1000 + cid)
        cname = f"c{cid}"
        conns = {}
        pel = True
        while not self.stop_cons.is_set():
            node = rng.choice(self.nodes)
            try:
                conn = conns.get(node.id) or conns.setdefault(node.id, node.conn(self.op_timeout))
            except (redis.RedisError, OSError):
                continue
            ok, n = self.consume_once(conn, cname, pel)
            if not ok:
                conns.pop(node.id, None)
                conn.close()
                time.sleep(0.05)
            pel = not ok or (pel and n > 0)  # after an error: drain the own PEL first

    def start(self):
        for i in range(self.n_prod):
            self.threads.append(threading.Thread(target=self._producer, args=(i,), daemon=True))
        for i in range(self.n_cons):
            self.threads.append(threading.Thread(target=self._consumer, args=(i,), daemon=True))
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_prod.set()
        self.stop_cons.set()
        for t in self.threads:
            t.join(timeout=30)
            assert not t.is_alive(), "a queue client is stuck"

    def drain(self, node, timeout=30.0):
        """After healing: every consumer empties its pending list, then new entries are read
        until none is left (through `node`)."""
        conn = node.conn(timeout=10.0)
        deadline = time.monotonic() + timeout
        try:
            for cid in range(self.n_cons):
                while time.monotonic() < deadline:
                    ok, n = self.consume_once(conn, f"c{cid}", True)
                    assert ok, "drain failed"
                    if n == 0:
                        break
            while time.monotonic() < deadline:
                ok, n = self.consume_once(conn, "c0", False)
                assert ok, "drain failed"
                if n == 0:
                    break
        finally:
            conn.close()


def run_queue(c, lab, seed, seconds):
    ld = c.wait_leader()
    cl = ld.client(timeout=10)
    cl.xgroup_create(KEY, GROUP, id="$", mkstream=True)
    cl.close()

    def restart(node):
        node.start()
        node.wait_serving()

    def leader():
        return c.leader(infos=c.infos(timeout=0.5))

    actions = ["kill_leader", "pause_leader", "kill"]
    if lab:
        actions += ["isolate_leader", "partition"]
    qu = Queue(c.nodes, seed)
    nem = Nemesis(seed, c.nodes, actions, leader_fn=leader, lab=lab, restart=restart,
                  gap_s=(0.5, 1.5), fault_s=(0.5, 2.5), cycle=True)  # fmt: skip
    qu.start()
    nem.start()
    try:
        nem.stop_event.wait(seconds)
        nem.stop()
        c.wait_leader()
        time.sleep(2.0)  # the queue works again after healing
        qu.stop_prod.set()
        time.sleep(1.0)
    finally:
        nem.stop_event.set()
        qu.stop()
    ld = c.wait_leader()
    qu.drain(ld)
    digests = wait_same_state(c, KEY, timeout=20.0, must=False)
    final = [(i, dict(zip(f[::2], f[1::2]))["v"]) for i, f in
             stale(ld, "XRANGE", KEY, "-", "+")]  # fmt: skip
    return qu, final, digests, nem.log


def test_queue_under_faults(request, make_cluster, _netlab_available):
    seconds = float(os.environ.get("QUEUE_SECONDS", "12"))
    seed = seed_from_env()
    ok, why = _netlab_available
    lab = request.getfixturevalue("netlab") if ok else None
    if not lab:
        print(f"no network namespaces ({why}): kills and pauses only, no partitions")
    c = make_cluster(3, lab=lab)
    qu, final, digests, log = run_queue(c, lab, seed, seconds)
    h = qu.h
    n_gt = sum(1 for d in h.deliveries if d["via"] == ">")
    print(f"seed {seed}: {qu.counts}; {len(final)} entries, {len(h.deliveries)} deliveries "
          f"({n_gt} through '>'), {len(h.acks)} acks; {len(log)} faults; "
          f"replicas {digests}")  # fmt: skip
    bad = check(h, final)
    if len({str(d) for d in digests.values()}) != 1:
        bad.append(f"replicas differ: {digests}")
    kinds = {}
    for b in bad:
        for k in ("lost", "never added", "not greater", "never delivered", "twice through",
                  "after its XACK", "in the stream twice", "delivered with value", "replicas"):
            if k in b:
                kinds[k] = kinds.get(k, 0) + 1
    shown = bad[:20] + [b for b in bad[20:] if "replicas" in b]
    assert not bad, f"SEED={seed}: {len(bad)} violations {kinds}:\n" + "\n".join(shown)
    assert qu.counts["add_ok"] >= 50 and len(h.acks) >= 50, qu.counts


# ---- the checker on broken histories ----


def _good():
    h = QueueHistory()
    for k in range(4):
        h.add({"val": f"v{k}", "invoke": 10.0 * k, "ret": 10.0 * k + 1, "id": f"{k + 1}-0"})
        h.delivered([{"id": f"{k + 1}-0", "val": f"v{k}", "via": ">", "invoke": 10.0 * k + 2,
                      "ret": 10.0 * k + 3, "consumer": "c0"}])  # fmt: skip
        h.acked({"id": f"{k + 1}-0", "invoke": 10.0 * k + 4, "ret": 10.0 * k + 5})
    final = [(f"{k + 1}-0", f"v{k}") for k in range(4)]
    return h, final


def test_queue_checker_catches_broken_histories():
    h, final = _good()
    assert check(h, final) == []
    # an unknown-outcome XADD that did happen, delivered late through the PEL: fine
    h.add({"val": "u", "invoke": 50.0, "ret": None, "id": None})
    h.delivered([{"id": "9-0", "val": "u", "via": "pel", "invoke": 60, "ret": 61,
                  "consumer": "c1"}])  # fmt: skip
    assert check(h, final + [("9-0", "u")]) == []

    cases = {
        "lost": lambda h, f: f.pop(1),
        "never added": lambda h, f: f.append(("7-0", "zz")) or h.delivered(
            [{"id": "7-0", "val": "zz", "via": ">", "invoke": 1, "ret": 2, "consumer": "c"}]),
        "not greater": lambda h, f: h.adds[3].update(id="2-5") or f.__setitem__(3, ("2-5", "v3")),
        "never delivered": lambda h, f: h.deliveries.pop(2),
        "twice through": lambda h, f: h.delivered([dict(h.deliveries[0], consumer="c9",
                                                        invoke=3.5)]),
        "after its XACK": lambda h, f: h.delivered([dict(h.deliveries[1], via="pel",
                                                         invoke=100.0)]),
        "in the stream twice": lambda h, f: f.append(("8-0", "v0")),
    }
    for what, breakit in cases.items():
        h, final = _good()
        breakit(h, final)
        bad = check(h, final)
        assert any(what in b for b in bad), f"checker missed '{what}': {bad}"
