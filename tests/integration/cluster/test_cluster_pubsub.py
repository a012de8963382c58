"""Pub/sub and keyspace notifications on a 3-node cluster (issue 12, docs/server.md "Pub/sub").

test_one_order_everywhere: two subscribers on every node (SUBSCRIBE ch, PSUBSCRIBE c*), a
publisher on every node (followers relay their PUBLISHes to the leader) publishing pipelined
batches concurrently. Every subscriber must receive every acknowledged message exactly once and
all six must see the SAME sequence (a PUBLISH is a log entry; each node delivers as it applies).
Each PUBLISH returns the receivers on the node the publisher is connected to: 2 here.
Seen failing with the planted bug SYNOD_BUG_PUBSUB_LOCAL (scripts/build_pubsub_bug.sh: the node
a PUBLISH reaches delivers it at once, as Redis Cluster does): the sequences differ.

test_keyspace_events_on_a_follower: notify-keyspace-events (a node-local setting, like all of
CONFIG) on a follower; a subscriber there sees the events of writes made through the leader, in
the order they were applied, including "expired" (the leader's expiry entry) and nothing for
entries the follower replays from its own log at restart.

PUBSUB_SEED=n replays the same publish stream (timing still varies).
"""

import os
import random
import socket
import threading
import time

import pytest
import redis
from harness import connect, resp_replies, wait_for
from harness import resp_command as _enc

pytestmark = pytest.mark.usefixtures("cluster_required")

PER_PUBLISHER = 150
BATCH = 10


class Sub:
    """A raw RESP2 subscriber: collects pushed messages on a thread."""

    def __init__(self, node, *cmd):
        self.sock = socket.create_connection((node.host, node.port), timeout=10)
        self.buf = b""
        self.msgs = []
        self.closed = False
        self.sock.sendall(_enc(*cmd))
        n = len(cmd) - 1
        for _ in range(n):  # the confirmations
            self._read_one()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_one(self):
        head = self._line()
        assert head[:1] == b"*", head
        out = []
        for _ in range(int(head[1:])):
            h = self._line()
            if h[:1] == b":":
                out.append(int(h[1:]))
                continue
            n = int(h[1:])
            while len(self.buf) < n + 2:
                self._fill()
            out.append(self.buf[:n].decode())
            self.buf = self.buf[n + 2 :]
        return out

    def _run(self):
        try:
            self.sock.settimeout(None)
            while True:
                m = self._read_one()
                self.msgs.append(m[-1] if m[0] in ("message", "pmessage") else m)
        except (EOFError, OSError):
            self.closed = True

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _publisher(node, tag, seed, acked, replies, errors):
    rng = random.Random(seed)
    r = node.client(timeout=10.0)
    i = 0
    try:
        while i < PER_PUBLISHER:
            n = min(BATCH, PER_PUBLISHER - i)
            p = r.pipeline(transaction=False)
            msgs = ["%s-%d" % (tag, i + k) for k in range(n)]
            for m in msgs:
                p.execute_command("PUBLISH", "ch", m)
            for m, rep in zip(msgs, p.execute(raise_on_error=False)):
                if isinstance(rep, Exception):
                    errors.append((m, str(rep)))
                else:
                    acked.append(m)
                    replies.append(rep)
            i += n
            time.sleep(rng.random() * 0.01)
    finally:
        r.close()


def test_one_order_everywhere(make_cluster):
    seed = int(os.environ.get("PUBSUB_SEED", random.randrange(1 << 30)))
    print(f"PUBSUB_SEED={seed}")
    c = make_cluster(3)
    leader = c.wait_leader()
    subs = []
    for n in c.nodes:
        subs.append(Sub(n, "SUBSCRIBE", "ch"))
        subs.append(Sub(n, "PSUBSCRIBE", "c*"))
    acked, replies, errors = [], [], []
    pubs = [
        threading.Thread(
            target=_publisher, args=(n, "n%d" % n.id, seed * 10 + n.id, acked, replies, errors)
        )
        for n in c.nodes
    ]
    try:
        for t in pubs:
            t.start()
        for t in pubs:
            t.join(timeout=120)
        assert not errors, f"PUBSUB_SEED={seed}: publish errors: {errors[:5]}"
        total = len(acked)
        assert total == 3 * PER_PUBLISHER
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(len(s.msgs) < total for s in subs):
            time.sleep(0.05)
        seqs = [list(s.msgs) for s in subs]
    finally:
        for s in subs:
            s.close()
    for i, sq in enumerate(seqs):
        assert len(sq) == len(set(sq)), f"PUBSUB_SEED={seed}: subscriber {i} got duplicates"
        assert set(sq) == set(acked), (
            f"PUBSUB_SEED={seed}: subscriber {i} (node{c.nodes[i // 2].id}) got {len(sq)} of "
            f"{total}; missing e.g. {sorted(set(acked) - set(sq))[:5]}"
        )
    # THE property: one channel, one order, on every node
    for i, sq in enumerate(seqs[1:], 1):
        if sq != seqs[0]:
            k = next(j for j, (a, b) in enumerate(zip(seqs[0], sq)) if a != b)
            pytest.fail(
                f"PUBSUB_SEED={seed}: subscriber {i} (node{c.nodes[i // 2].id}) sees another "
                f"order than subscriber 0 (node{c.nodes[0].id}) from message {k}: "
                f"{seqs[0][k:k + 4]} vs {sq[k:k + 4]}"
            )
    # each publisher's own messages in its order (one connection's writes keep their order)
    for n in c.nodes:
        mine = [m for m in seqs[0] if m.startswith("n%d-" % n.id)]
        assert mine == ["n%d-%d" % (n.id, i) for i in range(PER_PUBLISHER)]
    # PUBLISH counts the receivers on the publisher's node: 2 subscribers on each
    assert set(replies) == {2}, f"PUBLISH replies {sorted(set(replies))} (leader node{leader.id})"


def _got(sub, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(sub.msgs) < len(want):
        time.sleep(0.02)
    return [m[-1] if isinstance(m, list) else m for m in sub.msgs]


def test_publish_counts_the_receivers_on_the_publishers_node(make_cluster):
    """PUBLISH and SPUBLISH answer how many clients of the node the publisher is connected to
    receive the message (Redis Cluster's definition; on one node, Redis's), and they do get it.
    Through a follower that is the follower's subscribers, counted as it relays the PUBLISH,
    not the leader's (which executed it). Seen failing before: through a follower with one
    subscriber there, PUBLISH answered 0 (the leader's count), where redis-server answers 1."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    subs = [Sub(f1, "SUBSCRIBE", "news"), Sub(f1, "PSUBSCRIBE", "n*"),
            Sub(leader, "SUBSCRIBE", "news"), Sub(f1, "SSUBSCRIBE", "shard"),
            Sub(f1, "PSUBSCRIBE", "sh*")]  # fmt: skip
    try:
        r1, r2, rl = f1.client(), f2.client(), leader.client()
        assert r1.publish("news", "a") == 2  # the channel's and the pattern's subscriber
        assert r2.publish("news", "b") == 0  # nobody on f2
        assert rl.publish("news", "c") == 1  # the leader's own
        # shard channels: no patterns (sh* on f1 neither counts nor gets it)
        assert r1.execute_command("SPUBLISH", "shard", "d") == 1
        assert r2.execute_command("SPUBLISH", "shard", "e") == 0
        p = r1.pipeline(transaction=False)
        p.publish("news", "f")
        p.set("k", "v")
        p.publish("other", "g")
        assert p.execute() == [2, True, 0]
        assert _got(subs[0], "abcf") == list("abcf")
        assert _got(subs[1], "abcf") == list("abcf")  # n* does not match "other"
        assert _got(subs[2], "abcf") == list("abcf")
        assert _got(subs[3], "de") == list("de")
        time.sleep(0.2)  # "g" (channel "other") would have come by now
        assert len(subs[1].msgs) == 4, subs[1].msgs
        assert subs[4].msgs == [], subs[4].msgs
    finally:
        for sb in subs:
            sb.close()


def _wait_msgs(sub, n, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(sub.msgs) < n:
        time.sleep(0.05)
    return list(sub.msgs)


def test_keyspace_events_on_a_follower(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    rf = f.client()
    rf.config_set("notify-keyspace-events", "KEA")
    assert rf.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    sub = Sub(f, "PSUBSCRIBE", "__keyspace@0__:*")
    sub_ev = Sub(f, "SUBSCRIBE", "__keyevent@0__:expired")
    rl = leader.client()
    try:
        rl.set("k", "v")
        rl.lpush("l", "a", "b")
        rl.rpop("l")
        rl.rpop("l")  # emptied: rpop, then del
        rl.sadd("s", "m")
        rl.set("t", "x", px=150)  # expired by the leader: an entry every node applies
        rl.delete("k")
        want = ["set", "lpush", "rpop", "rpop", "del", "sadd", "set", "expire", "del", "expired"]
        got = _wait_msgs(sub, len(want))
        # "expired" comes whenever the leader's expiry cycle logs it: after the DEL of k
        assert got == want, got
        assert _wait_msgs(sub_ev, 1) == ["t"]
        # the setting is the cluster's (docs/cluster.md "Cluster settings"): the leader has it
        assert rl.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    finally:
        sub.close()
        sub_ev.close()
    # restart the follower: its log is replayed at start; a subscriber that connects as soon as
    # it serves must not get the events (or messages) of those old entries
    f.stop()
    f.start()
    f.wait_serving()
    rf = f.client()
    rf.config_set("notify-keyspace-events", "KEA")
    sub = Sub(f, "PSUBSCRIBE", "*")
    try:
        time.sleep(1.0)
        rl.publish("after", "restart")
        got = _wait_msgs(sub, 1, timeout=10)
        assert got == ["restart"], f"old entries delivered again after the restart: {got}"
    finally:
        sub.close()


def test_a_node_restarted_alone_delivers_nothing_of_its_old_log(make_cluster):
    """A node's log ends with a PUBLISH it stored but never saw committed (3 of the 5 are down).
    Started again while the others are down, it serves its subscribers before it can apply
    that entry (the commit comes with a leader); when it does, the entry was its previous
    life's: its message is not delivered again (node.replayed_index)."""
    c = make_cluster(5)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    down = [n for n in c.nodes if n is not leader and n is not f]
    for n in down:
        n.kill()
    before = int(f.info()["wal_entries_written"])
    p = leader.conn(timeout=0.5)
    with pytest.raises((redis.RedisError, OSError)):
        p.call("PUBLISH", "ch", "old")  # stored by the leader and f, never committed
    p.close()
    wait_for(lambda: int(f.info()["wal_entries_written"]) > before, 5, what="f to store it")
    leader.kill()
    assert f.stop() == 0
    f.start()
    f.wait_serving()
    sub = Sub(f, "SUBSCRIBE", "ch")
    try:
        # with one of the three: the entry wins the election (a node of the three could win
        # with the votes of the other two and overwrite it) and is applied here
        up = [f, leader, down[0]]
        for n in up[1:]:
            n.start()
        ld = c.wait_leader(nodes=up)
        c.wait_converged(["x"], nodes=up)
        ld.client().publish("ch", "new")
        got = _wait_msgs(sub, 1)
        time.sleep(0.2)
        # before the fix of A03 / R02 (docs/persist-mutants.md): ["old", "new"]
        assert list(sub.msgs) == ["new"], f"the old log's message delivered again: {got}"
    finally:
        sub.close()


class Resp3:
    """A raw RESP3 connection that reads replies and pushes in order."""

    def __init__(self, node):
        self.s = socket.create_connection((node.host, node.port), timeout=10)
        self.buf = b""
        self.call("HELLO", "3")

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        h = self._line()
        t, rest = h[:1], h[1:]
        if t in (b"+", b"-", b":"):
            return rest.decode()
        if t == b"_":
            return None
        if t == b"$":
            n = int(rest)
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            v, self.buf = self.buf[:n].decode(), self.buf[n + 2 :]
            return v
        if t in (b"*", b">", b"~"):
            return None if int(rest) < 0 else [self.read() for _ in range(int(rest))]
        if t == b"%":
            return [self.read() for _ in range(2 * int(rest))]
        raise AssertionError(h)

    def call(self, *args):
        self.s.sendall(_enc(*args))
        return self.read()

    def close(self):
        self.s.close()


def test_tracking_on_a_follower(make_cluster):
    """CLIENT TRACKING on a follower: its reads (relayed to the leader, or served by ReadIndex)
    are remembered there, and a write through the leader invalidates them when the follower
    applies it; BCAST too."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    rl = leader.client()
    rl.set("k1", "v1")
    t = Resp3(f)
    b = Resp3(f)
    try:
        assert t.call("CLIENT", "TRACKING", "on") == "OK"
        assert t.call("GET", "k1") == "v1"
        assert b.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:") == "OK"
        rl.set("k1", "v2")
        rl.set("user:7", "x")
        t.s.settimeout(10)
        assert t.read() == ["invalidate", ["k1"]]
        assert b.read() == ["invalidate", ["user:7"]]
        rl.set("k1", "v3")  # forgotten after one invalidation: nothing until read again
        st = Resp3(f)  # wait until the follower applied it (else the GET could re-track first)
        st.call("READONLY")
        deadline = time.monotonic() + 10
        while st.call("GET", "k1") != "v3" and time.monotonic() < deadline:
            time.sleep(0.02)
        st.close()
        assert t.call("GET", "k1") == "v3"
        rl.delete("k1")
        assert t.read() == ["invalidate", ["k1"]]
    finally:
        t.close()
        b.close()


def _applied_here(node, key, want, timeout=10):
    """Waits until node itself (a stale read, no ReadIndex) has key at want."""
    st = Resp3(node)
    try:
        st.call("READONLY")
        deadline = time.monotonic() + timeout
        while st.call("GET", key) != want:
            assert time.monotonic() < deadline, f"{key} never became {want!r} on node{node.id}"
            time.sleep(0.01)
    finally:
        st.close()


def test_tracking_through_a_follower_as_on_one_redis(make_cluster):
    """A tracking client of a follower gets the invalidations one Redis would send, no more, in
    Redis's order, although its writes and scripts run on the leader: its relayed requests name
    it (SYNOD ORIGIN) and the entries they make carry that (NENTRY_ORIGIN), so the follower
    knows them as its when it applies them. The first three parts failed on the build before
    (NOLOOP got its own writes' invalidations; a script's reads were never tracked: Redis's
    unit/tracking hung; the invalidation of a key written in MULTI came before the EXEC reply).
    The last is a race (a read right after an own write got that write's invalidation when the
    follower applied it after the read: Redis's unit/tracking saw it, this loop rarely does)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    rl = leader.client()
    t = Resp3(f)
    t.s.settimeout(10)
    try:
        # NOLOOP: its own writes invalidate nothing for it; others' do
        assert t.call("CLIENT", "TRACKING", "on", "NOLOOP") == "OK"
        rl.set("k", "0")
        _applied_here(f, "k", "0")
        assert t.call("GET", "k") == "0"
        assert t.call("SET", "k", "1") == "OK"
        _applied_here(f, "k", "1")
        assert t.call("PING") == "PONG"  # no push came before it
        assert t.call("GET", "k") == "1"
        rl.set("k", "2")
        assert t.read() == ["invalidate", ["k"]]
        assert t.call("CLIENT", "TRACKING", "off") == "OK"

        # a script that reads tracks its keys; one that does not, none
        assert t.call("CLIENT", "TRACKING", "on") == "OK"
        assert t.call("EVAL", "redis.call('set', 'w', 'x')", "1", "w0") is None
        assert t.call("EVAL", "return redis.call('get', KEYS[1])", "1", "s") is None
        rl.set("w0", "y")  # not tracked: no invalidation (the next push is s's)
        rl.set("s", "z")
        assert t.read() == ["invalidate", ["s"]]

        # the reply of a write comes before the invalidation it causes, every time
        for i in range(20):
            assert t.call("GET", f"m{i}") is None
            assert t.call("MULTI") == "OK"
            assert t.call("INCR", f"m{i}") == "QUEUED"
            assert t.call("EXEC") == ["1"]
            assert t.read() == ["invalidate", [f"m{i}"]]

        # an own write acknowledged before a read does not invalidate what the read tracked
        for i in range(20):
            assert t.call("SET", f"r{i}", "1") == "OK"
            assert t.call("GET", f"r{i}") == "1"
        _applied_here(f, "r19", "1")
        assert t.call("PING") == "PONG"
    finally:
        t.close()


def test_another_clients_write_through_a_follower_invalidates_before_its_reply(make_cluster):
    """A tracking client t and a writer w on the same follower: once w has its reply, t's next
    request gets the invalidation first, as on one Redis (w could tell t it wrote, and t must
    then never answer from its cache). Held since a follower answers every relayed write once
    it has applied the entry while a client there tracks. Failed before (as Redis's
    unit/tracking BCAST test through a follower did, now and then): w's reply left as the
    leader's came, the invalidation when the follower applied the entry, which the follower
    the leader does not wait for (sync later: 20 ms here) applies later. Run through both."""
    c = make_cluster(3, env={"SYNOD_TEST_SYNC_LATER_US": "20000"})
    leader = c.wait_leader()
    for f in (n for n in c.nodes if n is not leader):
        t = Resp3(f)
        w = Resp3(f)
        w.call("HELLO", "2")
        t.s.settimeout(10)
        try:
            assert t.call("CLIENT", "TRACKING", "on") == "OK"
            for i in range(10):  # a read tracked, another client's write, then in its MULTI
                key = f"k{f.id}-{i}"
                assert t.call("GET", key) is None
                assert w.call("SET", key, "1") == "OK"
                assert t.call("PING") == ["invalidate", [key]], (f.id, i)
                assert t.read() == "PONG"
                assert t.call("GET", key) == "1"
                assert w.call("MULTI") == "OK"
                assert w.call("INCR", key) == "QUEUED"
                assert w.call("EXEC") == ["2"]
                assert t.call("PING") == ["invalidate", [key]], (f.id, i)
                assert t.read() == "PONG"
            assert t.call("CLIENT", "TRACKING", "off") == "OK"
            assert t.call("CLIENT", "TRACKING", "on", "BCAST") == "OK"
            for i in range(10):
                key = f"b{f.id}-{i}"
                assert w.call("INCR", key) == "1"
                assert t.call("PING") == ["invalidate", [key]], (f.id, i)
                assert t.read() == "PONG"
            # an EXEC its WATCH aborted makes no entry: answered at once, not held (its null is
            # *-1 in RESP2, _ in RESP3)
            for proto in ("2", "3"):
                key = f"x{f.id}-{proto}"
                w.call("HELLO", proto)
                assert w.call("WATCH", key) == "OK"
                assert leader.client().set(key, "x")
                _applied_here(f, key, "x")
                assert t.call("PING") == ["invalidate", [key]]
                assert t.read() == "PONG"
                assert w.call("MULTI") == "OK"
                assert w.call("SET", key, "y") == "QUEUED"
                t0 = time.monotonic()
                assert w.call("EXEC") is None
                assert time.monotonic() - t0 < 0.5, proto
            w.call("HELLO", "2")
            # an EXEC with a command the follower runs itself: its reply rewritten, not held
            # (held, it answered PONG, the stand-in the leader ran, and the name was never set)
            assert w.call("MULTI") == "OK"
            assert w.call("CLIENT", "SETNAME", f"w{f.id}") == "QUEUED"
            assert w.call("SET", key, "z") == "QUEUED"
            assert w.call("EXEC") == ["OK", "OK"]
            assert w.call("CLIENT", "GETNAME") == f"w{f.id}"
        finally:
            t.close()
            w.close()


def test_a_lost_relay_answers_the_held_reply_before_the_failed_request(make_cluster):
    """A writer on a follower where a client tracks: its SET's reply, back from the leader, is
    held until the follower applies the entry (late here: that follower syncs 1.5 s after the
    commit quorum). Its next SET waits on the leader (CLIENT PAUSE WRITE there) when the
    leader drops the relay connection (CLIENT KILL): the follower answers the first SET's OK,
    then the second's TRYAGAIN (outcome unknown), in request order. Answering the TRYAGAIN
    first gave the first SET's error to the first request and the OK to the second, whose
    outcome is unknown. Run through both followers (the leader makes one of them sync late)."""
    c = make_cluster(3, env={"SYNOD_TEST_SYNC_LATER_US": "1500000"})
    leader = c.wait_leader()
    adm = leader.client()
    for f in (n for n in c.nodes if n is not leader):
        t = Resp3(f)
        w = socket.create_connection((f.host, f.port), timeout=10)
        try:
            assert t.call("CLIENT", "TRACKING", "on") == "OK"  # relayed writes are held here
            w.sendall(_enc("SET", f"a{f.id}", "1"))
            deadline = time.monotonic() + 5
            while adm.get(f"a{f.id}") != "1":  # the leader applied it and answered the follower
                assert time.monotonic() < deadline, "the first SET never reached the leader"
                time.sleep(0.01)
            assert adm.execute_command("CLIENT", "PAUSE", "10000", "WRITE")
            w.sendall(_enc("SET", f"b{f.id}", "2"))
            time.sleep(0.2)  # relayed meanwhile: it waits on the leader (not checked here)
            assert adm.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") >= 1
            adm.execute_command("CLIENT", "UNPAUSE")
            got = resp_replies(w, 2, 10)
            assert got[0] == "OK", (f.id, got)
            assert got[1] == "OK" or "TRYAGAIN" in str(got[1]), (f.id, got)
        finally:
            adm.execute_command("CLIENT", "UNPAUSE")
            t.close()
            w.close()


def test_an_invalidation_held_for_a_reply_lost_with_the_relay_is_sent(make_cluster):
    """A tracking client's SET through a follower is applied there before its reply comes (the
    leader's fsync hangs, SYNOD_FAILPOINT_FSYNC_STALL: the followers commit it, the leader
    cannot apply it and answer), so its own invalidation waits for that reply. The relay
    connection is then lost (CLIENT KILL on the leader): the SET gets -TRYAGAIN, and the
    invalidation goes out with the next entry this follower applies, before the client's next
    reply. Kept held, it waited for the client's next relayed reply, and a read served here
    meanwhile could be cached without it."""
    c = make_cluster(3, start=False)
    stalls = c.fsync_stall_files()
    c.start()
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    stall = stalls[leader.id]
    adm = leader.client()
    t = Resp3(f)
    try:
        assert t.call("CLIENT", "TRACKING", "on") == "OK"
        assert t.call("GET", "k") is None  # tracked
        with open(stall, "w") as fh:
            fh.write("stall\n")
        t.s.sendall(_enc("SET", "k", "1"))
        _applied_here(f, "k", "1")  # committed by the followers, not applied by the leader
        assert adm.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") >= 1
        assert t.read().startswith("TRYAGAIN")
        os.unlink(stall)
        assert adm.set("other", "1")
        _applied_here(f, "other", "1")  # the next entry applied here
        assert t.call("PING") == ["invalidate", ["k"]]
        assert t.read() == "PONG"
    finally:
        if os.path.exists(stall):
            os.unlink(stall)
        t.close()


@pytest.mark.parametrize("cmd", [("MONITOR",), ("CLIENT", "REPLY", "OFF"),
                                 ("CLIENT", "TRACKING", "ON")],
                         ids=lambda c: "-".join(c[:2]).lower())  # fmt: skip
def test_connection_state_in_a_relayed_transaction_leaves_the_relay_working(make_cluster, cmd):
    """MULTI / MONITOR / EXEC through a follower is relayed to the leader as one transaction on
    the follower's relay connection, shared by its clients. A connection state there would break
    it for every request the follower relays after it (subscribed mode refused them all until
    the follower restarted; CLIENT REPLY OFF made every later relayed request time out). The
    leader refuses such a command inside it; the rest of the transaction runs, other clients go
    on. (SUBSCRIBE, AUTH, CLIENT SETNAME ... run on the follower instead: the next test.)"""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    r = f.client()
    p = r.pipeline(transaction=True)
    p.execute_command(*cmd)
    p.set("k", "in-multi")
    replies = p.execute(raise_on_error=False)
    assert isinstance(replies[0], redis.ResponseError), replies
    assert "not supported through a follower" in str(replies[0])
    assert replies[1] is True
    other = f.client(timeout=3.0)
    assert other.set("after", "1") and other.get("k") == "in-multi"
    assert other.flushall() and other.dbsize() == 0


class _Conn:
    """A raw connection and the bytes read but not consumed yet."""

    def __init__(self, node):
        self.sock = socket.create_connection((node.host, node.port), timeout=10)
        self.buf = b""

    def sendall(self, b):
        self.sock.sendall(b)

    def recv(self, n):
        return self.sock.recv(n)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        self.sock.close()


def _raw(node):
    return _Conn(node)


def _send(s, *cmds):
    s.sendall(b"".join(_enc(*c) for c in cmds))


def _expect(s, want, timeout=10):
    """Reads exactly the bytes want (and fails on anything else)."""
    deadline = time.time() + timeout
    while len(s.buf) < len(want) and time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        s.buf += d
    got, s.buf = s.buf[: len(want)], s.buf[len(want) :]
    assert got == want, (got, want)


def _nothing_more(s, wait=0.3):
    s.settimeout(wait)
    try:
        d = s.recv(65536)
    except socket.timeout:
        d = b""
    assert s.buf + d == b"", s.buf + d


def test_connection_commands_in_a_relayed_transaction_run_on_the_follower(make_cluster):
    """The leader runs a follower's MULTI ... EXEC on the follower's relay connection: SUBSCRIBE,
    AUTH, CLIENT SETNAME there would act on the relay (they were refused: "not supported through
    a follower"; CLIENT PAUSE paused the leader). The follower relays PING in their place and
    runs them for its client as EXEC's array comes, their replies in PING's place: the bytes are
    redis-server 7.0's (compared in compat test_compat_pubsub "transactions" through a follower).
    A PUBLISH in it answers this node's receivers, counted after the SUBSCRIBE before it (but
    unlike Redis, the message of a PUBLISH in the same transaction may not reach that SUBSCRIBE:
    this node delivers it as it applies the entry, which may be before EXEC's reply came). An
    EXEC that does not run (a WATCHed key changed) runs none of them."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    a, other = _raw(f), _raw(f)
    try:
        _send(other, ("SUBSCRIBE", "t9"))
        _expect(other, b"*3\r\n$9\r\nsubscribe\r\n$2\r\nt9\r\n:1\r\n")
        _send(a, ("MULTI",), ("SET", "k", "v"), ("CLIENT", "SETNAME", "conn-a"),
              ("SUBSCRIBE", "t1"), ("CLIENT", "GETNAME"), ("PUBLISH", "t9", "m"), ("EXEC",))
        _expect(a, b"+OK\r\n" + b"+QUEUED\r\n" * 5)
        # PUBLISH: this node's receivers (1), not the leader's (0)
        _expect(a, b"*5\r\n+OK\r\n+OK\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nt1\r\n:1\r\n"
                   b"$6\r\nconn-a\r\n:1\r\n")
        _expect(other, b"*3\r\n$7\r\nmessage\r\n$2\r\nt9\r\n$1\r\nm\r\n")
        # subscribed here: a message from another node's client reaches it
        assert leader.client().publish("t1", "from-leader") == 0  # no subscriber there
        _expect(a, b"*3\r\n$7\r\nmessage\r\n$2\r\nt1\r\n$11\r\nfrom-leader\r\n")
        assert f.client().publish("t1", "x") == 1
        _expect(a, b"*3\r\n$7\r\nmessage\r\n$2\r\nt1\r\n$1\r\nx\r\n")
        # the name is this connection's here, and the relay's name on the leader is not it
        names = [cl["name"] for cl in f.client().client_list()]
        assert "conn-a" in names, names
        assert "conn-a" not in [cl["name"] for cl in leader.client().client_list()]
        assert f.client().get("k") == "v"
    finally:
        a.close()
        other.close()

    # AUTH: its error takes PING's place; a right password authenticates this connection
    f.client().config_set("requirepass", "pw")
    b = _raw(f)
    try:
        _send(b, ("AUTH", "pw"), ("MULTI",), ("AUTH", "wrong"), ("SET", "k2", "1"),
              ("AUTH", "pw"), ("EXEC",), ("CLIENT", "ID"))
        _expect(b, b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                   b"*3\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                   b"+OK\r\n+OK\r\n")
        b.settimeout(5)
        while b"\r\n" not in b.buf:
            b.buf += b.recv(100)
        assert b.buf.startswith(b":"), b.buf
    finally:
        b.close()
    r = f.client()
    r.execute_command("AUTH", "pw")
    assert r.config_set("requirepass", "")

    # a user who may not PING: the SUBSCRIBE is relayed as it is (and refused there), the
    # rest of the transaction runs instead of being aborted for the PING
    assert leader.client().acl_setuser("np", enabled=True, passwords=["+p"],
                                       commands=["+@all", "-ping"], keys=["*"], channels=["*"])
    u = _raw(f)
    try:
        _send(u, ("AUTH", "np", "p"), ("MULTI",), ("SUBSCRIBE", "t3"), ("SET", "k3", "1"),
              ("EXEC",))
        _expect(u, b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR 'SUBSCRIBE' inside MULTI "
                   b"is not supported through a follower: run it outside the transaction, or on "
                   b"the leader\r\n+OK\r\n")
    finally:
        u.close()

    # WATCH failed: EXEC is null, the SUBSCRIBE in it did not run
    w = _raw(f)
    try:
        _send(w, ("WATCH", "wk"))
        _expect(w, b"+OK\r\n")
        assert leader.client().set("wk", "changed")
        _send(w, ("MULTI",), ("SUBSCRIBE", "t2"), ("CLIENT", "SETNAME", "never"), ("EXEC",))
        _expect(w, b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*-1\r\n")
        _send(w, ("CLIENT", "GETNAME"), ("PING",))
        _expect(w, b"$-1\r\n+PONG\r\n")  # not subscribed: PING answers +PONG
        assert f.client().publish("t2", "x") == 0
        _nothing_more(w)
    finally:
        w.close()


def test_own_messages_come_before_the_reply_through_a_follower(make_cluster):
    """A RESP3 client subscribed on a follower that PUBLISHes to its own channel, or writes a
    key whose keyspace events it hears, gets the message before the reply, as from one Redis
    (a follower answered the relayed write at once and pushed the message when it applied the
    entry: after the reply; found by compat/test_compat_pubsub_random.py through a follower).
    Its writes that push nothing to it are answered as before."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    f.client().config_set("notify-keyspace-events", "K$")
    s = _raw(f)
    _send(s, ("HELLO", "3"), ("PING", "hello-done"))
    s.settimeout(10)
    while not s.buf.endswith(b"hello-done\r\n"):
        s.buf += s.recv(65536)
    s.buf = b""
    _send(s, ("SUBSCRIBE", "ch"), ("PSUBSCRIBE", "__keyspace@0__:k*"))
    _expect(s, b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
               b">3\r\n$10\r\npsubscribe\r\n$17\r\n__keyspace@0__:k*\r\n:2\r\n")  # fmt: skip
    for i in range(20):
        msg = b"m%d" % i
        _send(s, ("PUBLISH", "ch", msg), ("SET", "k%d" % i, "v"), ("SET", "other", "v"))
        key = b"__keyspace@0__:k%d" % i
        _expect(s, b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n:1\r\n" % (len(msg), msg)
                + b">4\r\n$8\r\npmessage\r\n$17\r\n__keyspace@0__:k*\r\n$%d\r\n%s\r\n$3\r\nset\r\n+OK\r\n"
                % (len(key), key) + b"+OK\r\n")  # fmt: skip
    _nothing_more(s)


def test_a_blocked_move_through_a_follower_is_the_tracking_clients_own_write(make_cluster):
    """BLMOVE of a tracking client on a follower blocks on the leader; when another client's
    push serves it, the leader's retry entry names the blocked client's connection (SYNOD ORIGIN,
    node_block.c), as its first entry did. So on the follower the move is that client's own
    write: with NOLOOP it gets no invalidation for it; without, the invalidation comes after
    BLMOVE's reply, as on one Redis (Redis's unit/tracking "Unblocked BLMOVE gets notification
    after response" through a follower failed 1 to 4 runs in 10). The NOLOOP case fails
    every time when the retry does not name the client."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)

    def call(s, *args):
        s.sendall(_enc(*args))
        got = resp_replies(s, 1, 5.0)
        assert len(got) == 1, f"{args}: no reply"
        return got[0]

    orders = []
    for i, noloop in enumerate([True] + [False] * 5):
        r = connect(f.host, f.port, timeout=5.0)
        rd = connect(f.host, f.port, timeout=5.0)
        try:
            src, dst = f"src{i}", f"dst{i}"
            assert call(r, "RPUSH", dst, "a") == 1
            assert len(call(rd, "HELLO", "3")) > 0
            assert call(rd, "CLIENT", "TRACKING", "on", *(["NOLOOP"] if noloop else [])) == "OK"
            assert call(rd, "LRANGE", dst, "0", "-1") == ["a"]  # tracked
            rd.sendall(_enc("BLMOVE", src, dst, "left", "left", "0"))
            deadline = time.time() + 5
            while int(redis.Redis(host=leader.host, port=leader.port).info("clients")[
                    "blocked_clients"]) < 1:  # fmt: skip
                assert time.time() < deadline, "BLMOVE never blocked on the leader"
                time.sleep(0.01)
            assert call(r, "RPUSH", src, "foo") == 1
            if noloop:
                assert resp_replies(rd, 2, 0.5) == ["foo"], "NOLOOP: its own move invalidated it"
                # tracked again (a write drops the key from the table, as in Redis); another
                # client's write invalidates it
                assert call(rd, "LRANGE", dst, "0", "-1") == ["foo", "a"]
                assert call(r, "RPUSH", dst, "b") == 3
                assert resp_replies(rd, 1, 5.0) == [["invalidate", [dst]]]
            else:
                orders.append(resp_replies(rd, 2, 5.0))
        finally:
            r.close()
            rd.close()
    assert all(o == ["foo", ["invalidate", [f"dst{i + 1}"]]] for i, o in enumerate(orders)), orders

