"""Leases, locks and fencing on a 3-node cluster (issue 11; docs/coordination.md).

- test_lock_fencing_under_leader_faults: workers on every node take a lease and a lock (blocking,
  FIFO on the leader, relayed by followers), then append "token:worker:step" to a list twice,
  each append guarded by LOCK CHECK inside MULTI/EXEC; some workers stall between the two
  appends for longer than their lease (a client GC pause), while the leader is killed (-9) and
  paused (SIGSTOP). check_lock_history then requires: every grant's token is unique and grants
  that did not overlap in real time got increasing tokens; the list's tokens never decrease and
  each token's entries come from its one holder (a stale holder's write after a newer holder's
  never got through); every stalled holder whose lock moved on was FENCED. Finally the replicas'
  coordination state and the list are identical (INFO consensus coord_digest, stale reads).
  A holder whose connection fails while it holds the lock retries its guarded append once
  through another node with the old token (a holder back from a partition or a dead node).
- test_lock_fencing_under_partitions: the same workers and checks while the network is cut
  (harness.NetLab): the leader isolated, then the node a current lock holder is connected to
  (its lease runs out on the majority side; its later write must be FENCED);
  COORD_PARTITION_ROUNDS=n repeats the pair.
- test_lease_keeps_remaining_time_across_leaders: the three nodes' clocks are 0, +60 s and
  -60 s apart (SYNOD_TEST_CLOCK_OFFSET_MS); leadership moves to each of them in turn and then
  the leader is killed: a lease keeps its remaining time on every new leader, its lock stays
  held, and it ends no earlier than its remaining time after the last KEEPALIVE (and not much
  later).
- test_checker_catches_bad_histories: the checker on hand-made histories.

Seen failing on planted bugs (scripts/build_coord_bug.sh DEFINE OUT, then SYNOD_BIN=OUT):
COORD_BUG_TOKEN_REUSE (every grant gets token 1) fails the fencing test ("token 1 granted
twice") and the lease test; COORD_BUG_NO_REBASE (deadlines stay on the old leader's clock) fails
the lease test ("lease ended at the failover to the +60 s clock"); COORD_BUG_FREE_LOCK_PASSES
(LOCK CHECK passes while nobody holds the lock) fails both fencing tests ("fenced write 119:1:2
accepted after a write with token 122"). Replay: COORD_SEED=<n>.
"""

import os
import random
import socket
import threading
import time

import pytest
import redis

from harness import redis_client, wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")

LOCK = "jobs-lock"


def rc(node, timeout=10.0):
    return redis_client(node.host, node.port, node.client_netns, timeout)


def stale(node, *cmd):
    c = node.conn(timeout=2.0)
    try:
        c.call("SYNOD", "CONSISTENCY", "stale")
        return c.call(*cmd)
    finally:
        c.close()


# ---- the checker -------------------------------------------------------------------------------


def check_lock_history(grants, fenced, stalls):
    """grants: [(worker, token, t_invoked, t_returned)] for every LOCK ACQUIRE that returned a
    token; fenced: the guarded list, in apply order, of "token:worker:step" strings; stalls:
    [(worker, token, t_invoked, outcome)] for the second append of a holder that stalled past
    its lease ("ok" / "fenced" / "unknown"); times are time.monotonic(). Returns a list of violations (empty = the history is fine)."""
    bad = []
    by_token = {}
    for w, t, _, _ in grants:
        if t in by_token and by_token[t] != w:
            bad.append(f"token {t} granted twice (workers {by_token[t]} and {w})")
        by_token[t] = w
    # grants that did not overlap in real time: the later one has the larger token
    order = sorted(grants, key=lambda g: g[3])
    for i, (w1, t1, _, r1) in enumerate(order):
        for w2, t2, inv2, _ in order[i + 1:]:
            if inv2 > r1 and t2 <= t1:
                bad.append(f"token {t2} (worker {w2}) granted after token {t1} (worker {w1}) "
                           f"returned, but is not larger")  # fmt: skip
    last = 0
    for entry in fenced:
        t, w = (int(x) for x in entry.split(":")[:2])
        if t < last:
            bad.append(f"fenced write {entry} accepted after a write with token {last}")
        last = max(last, t)
        if t not in by_token:
            # an ACQUIRE whose reply was lost may still have been granted: its writer knows it
            continue
        if by_token[t] != w:
            bad.append(f"fenced write {entry} by worker {w}, but token {t} is worker "
                       f"{by_token[t]}'s")  # fmt: skip
    for w, t, t_inv, outcome in stalls:
        # a newer grant had returned before this write was sent: the write had to be FENCED
        newer = [g for g in grants if g[1] > t and g[3] < t_inv]
        if outcome == "ok" and newer:
            bad.append(f"stalled worker {w}'s write with token {t} accepted after token "
                       f"{newer[0][1]} was granted to worker {newer[0][0]}")  # fmt: skip
    return bad


def test_checker_catches_bad_histories():
    good_grants = [(1, 5, 0.0, 1.0), (2, 9, 0.5, 2.0), (1, 12, 2.5, 3.0)]
    good = ["5:1:1", "5:1:2", "9:2:1", "12:1:1"]
    assert check_lock_history(good_grants, good, [(1, 5, 0.9, "ok")]) == []
    # a token granted twice (what a reused token looks like)
    assert check_lock_history(good_grants + [(2, 5, 4.0, 4.1)], good, [])
    # a later grant with a smaller token
    assert check_lock_history([(1, 9, 0.0, 1.0), (2, 5, 2.0, 3.0)], [], [])
    # a stale holder's write after the newer holder's
    assert check_lock_history(good_grants, ["5:1:1", "9:2:1", "5:1:2"], [])
    # a stale holder's write accepted after a newer grant, even before the new holder wrote
    assert check_lock_history(good_grants, ["5:1:1", "5:1:2"], [(1, 5, 2.2, "ok")])
    # a write under a token by a worker that does not hold it
    assert check_lock_history(good_grants, ["5:2:1"], [])


# ---- the fencing test -------------------------------------------------------------------------


class Worker(threading.Thread):
    def __init__(self, wid, cluster, rnd, stop, lease_ms):
        super().__init__(daemon=True)
        self.wid, self.c, self.r, self.stop, self.lease_ms = wid, cluster, rnd, stop, lease_ms
        self.grants, self.stalls, self.errors, self.fenced_n = [], [], 0, 0
        self.cl, self.node, self.holding = None, None, None

    def client(self):
        if self.cl is None:
            alive = [n for n in self.c.nodes if n.alive() and not n.paused]
            self.node = self.r.choice(alive)
            self.cl = rc(self.node, timeout=6.0)
        return self.cl

    def fenced_append(self, token, step):
        p = self.client().pipeline(transaction=True)
        p.execute_command("LOCK", "CHECK", LOCK, token)
        p.rpush("fenced", f"{token}:{self.wid}:{step}")
        try:
            p.execute()
            return "ok"
        except redis.ResponseError as e:
            if "FENCED" in str(e):
                self.fenced_n += 1
                return "fenced"
            raise

    def run(self):
        while not self.stop.is_set():
            try:
                self.cycle()
            except (redis.RedisError, OSError):
                self.errors += 1
                self.cl = None
                time.sleep(0.05)
                if self.holding is not None:
                    self.retry_after_error()

    def retry_after_error(self):
        """A holder whose connection failed (its node was killed, paused or cut off) tries its
        guarded append once more through another node, with the token it had: it must be
        FENCED if a newer holder was granted the lock before this write was sent."""
        token, self.holding = self.holding, None
        t_inv = time.monotonic()
        try:
            out = self.fenced_append(token, 3)
        except (redis.RedisError, OSError):
            out = "unknown"
            self.cl = None
        self.stalls.append((self.wid, token, t_inv, out))

    def cycle(self):
        cl = self.client()
        lease = int(cl.execute_command("LEASE", "GRANT", self.lease_ms))
        t0 = time.monotonic()
        token = cl.execute_command("LOCK", "ACQUIRE", LOCK, lease, "TIMEOUT", 3000)
        t1 = time.monotonic()
        if token is None:
            cl.execute_command("LEASE", "REVOKE", lease)
            return
        token = int(token)
        self.grants.append((self.wid, token, t0, t1))
        self.holding = token
        self.fenced_append(token, 1)
        stall = self.r.random() < 0.25
        if stall:  # a client pause: the lease runs out, another worker may take the lock
            self.holding = None
            time.sleep(self.lease_ms / 1000.0 + 0.4)
            t_inv = time.monotonic()
            try:
                out = self.fenced_append(token, 2)
            except (redis.RedisError, OSError):
                out = "unknown"
                self.cl = None
            self.stalls.append((self.wid, token, t_inv, out))
            return
        cl.execute_command("LEASE", "KEEPALIVE", lease)
        time.sleep(self.r.uniform(0, 0.05))
        self.fenced_append(token, 2)
        self.holding = None
        cl.execute_command("LOCK", "RELEASE", LOCK, token)
        cl.execute_command("LEASE", "REVOKE", lease)


def coord_state(node):
    info = node.info(timeout=2.0) or {}
    return (info.get("last_applied"), info.get("coord_digest"), info.get("coord_revision"))


def run_lock_workers(c, seed, faults):
    """Four workers take the lock over and over while `faults(workers)` runs; then checks the
    history and that every replica ends with the same coordination state and list."""
    print(f"test_cluster_coord: COORD_SEED={seed}")
    r = random.Random(seed)
    c.wait_leader()
    stop = threading.Event()
    workers = [Worker(i, c, random.Random(r.random()), stop, 700) for i in range(4)]
    for w in workers:
        w.start()
    time.sleep(2.0)
    faults(workers, r)
    stop.set()
    for w in workers:
        w.join(15)
    leader = c.wait_leader()
    fenced = rc(leader).lrange("fenced", 0, -1)
    grants = [g for w in workers for g in w.grants]
    stalls = [s for w in workers for s in w.stalls]
    print(f"grants {len(grants)}, fenced writes {len(fenced)}, stalls {stalls}, "
          f"FENCED replies {sum(w.fenced_n for w in workers)}, "
          f"errors {[w.errors for w in workers]}")  # fmt: skip
    assert len(grants) >= 10, "too few grants to judge"
    bad = check_lock_history(grants, fenced, stalls)
    assert not bad, f"COORD_SEED={seed}: " + "; ".join(bad[:10])
    # every replica: the same coordination state and the same list
    state = {}

    def same():
        for n in c.nodes:
            state[n.id] = coord_state(n)
        return len(set(state.values())) == 1 and None not in next(iter(state.values()))

    wait_for(same, 15, what=lambda: f"replicas' coordination state to agree: {state}")
    lists = {n.id: stale(n, "LRANGE", "fenced", "0", "-1") for n in c.nodes}
    assert all(v == lists[leader.id] for v in lists.values()), lists


def seed_from_env():
    return int(os.environ.get("COORD_SEED", random.SystemRandom().randrange(1 << 30)))


def test_lock_fencing_under_leader_faults(make_cluster):
    c = make_cluster(3)

    def faults(workers, r):
        for fault in ("kill", "pause"):
            victim = c.wait_leader()
            if fault == "kill":
                victim.kill()
                c.wait_leader(nodes=[n for n in c.nodes if n is not victim])
                time.sleep(1.0)
                victim.start()
            else:
                victim.pause()
                time.sleep(2.5)  # a new leader is elected meanwhile
                victim.resume()
            time.sleep(2.0)

    run_lock_workers(c, seed_from_env(), faults)


def test_lock_fencing_under_partitions(netlab, make_cluster):
    """The same workers and checks, with the network cut instead: the leader isolated from the
    other two nodes (a new leader is elected; the old one cannot commit), and the node a lock
    holder is connected to isolated while the holder holds the lock (its KEEPALIVE and writes
    stall there, its lease runs out on the majority side, another worker takes the lock; back
    through another node, its write with the old token must be FENCED). Clients live in a
    namespace no cut touches."""
    c = make_cluster(3, lab=netlab)
    held = []

    def faults(workers, r):
        # the gate cuts each once; COORD_PARTITION_ROUNDS=n repeats the pair
        for fault in ("leader", "holder") * int(os.environ.get("COORD_PARTITION_ROUNDS", "1")):
            leader = c.wait_leader()
            victim = leader
            if fault == "holder":
                # the node of a worker holding the lock right now: a follower if one is seen
                # within 5 s (the holder is then cut off alone), else the leader
                def holder(on_follower):
                    hs = [w for w in workers if w.holding is not None and w.node is not None
                          and (w.node is not leader or not on_follower)]  # fmt: skip
                    return hs[0] if hs else None

                try:
                    w = wait_for(lambda: holder(True), 5, interval=0.005)
                except AssertionError:
                    w = wait_for(lambda: holder(False), 10, interval=0.005, what="a holder")
                victim = w.node
                held.append((w.wid, w.holding, victim.id, victim is leader))
            netlab.isolate(c.nodes.index(victim))
            c.wait_leader(nodes=[n for n in c.nodes if n is not victim], exclude=(victim,)
                          if victim is leader else ())  # fmt: skip
            time.sleep(2.5)  # leases of holders stuck behind the cut run out meanwhile
            netlab.heal()
            time.sleep(2.0)
        print(f"holders cut off (worker, token, node, was leader): {held}")

    run_lock_workers(c, seed_from_env(), faults)
    assert len(held) == int(os.environ.get("COORD_PARTITION_ROUNDS", "1"))


# ---- leases across leaders with different clocks ------------------------------------------------


def transfer_to(c, target):
    leader = c.wait_leader()
    if leader is target:
        return
    rc(leader).execute_command("SYNOD", "TRANSFER-LEADER", str(target.id))
    wait_for(lambda: c.leader() is target, 10, what=f"node{target.id} to lead")


def test_lease_keeps_remaining_time_across_leaders(make_cluster):
    c = make_cluster(3, start=False)
    for node, off in zip(c.nodes, (0, 60000, -60000)):
        node.env = dict(os.environ, SYNOD_TEST_CLOCK_OFFSET_MS=str(off))
    c.start()
    n1, n2, n3 = c.nodes
    transfer_to(c, n1)
    cl = rc(n1)
    lease = int(cl.execute_command("LEASE", "GRANT", 6000))
    token = int(cl.execute_command("LOCK", "ACQUIRE", "L", lease))
    time.sleep(1.0)
    for target, name in ((n2, "+60 s"), (n3, "-60 s")):
        before = int(rc(target).execute_command("LEASE", "TTL", lease))
        t_before = time.monotonic()
        transfer_to(c, target)
        # the new leader's first LEASE command rebases the deadlines onto its clock
        left = int(rc(target).execute_command("LEASE", "TTL", lease))
        waited_ms = (time.monotonic() - t_before) * 1000
        assert left > 0, f"lease ended at the failover to the {name} clock (ttl {left})"
        assert left <= 6000, f"lease ttl {left} above its ttl on the {name} clock"
        assert left >= before - waited_ms - 1500, (f"lease lost time at the failover to the "
                                                   f"{name} clock: {before} -> {left}")  # fmt: skip
        owner = rc(target).execute_command("LOCK", "OWNER", "L")
        assert [int(x) for x in owner] == [token, lease]
        assert rc(target).execute_command("LEASE", "KEEPALIVE", lease) == 6000
    # kill -9 of the leader right after a KEEPALIVE: the next one keeps the remaining time
    t_keep = time.monotonic()
    assert rc(n3).execute_command("LEASE", "KEEPALIVE", lease) == 6000
    n3.kill()
    new = c.wait_leader(nodes=[n1, n2])
    cl = rc(new)

    def gone():
        try:
            return int(cl.execute_command("LEASE", "TTL", lease)) == -2
        except redis.RedisError:
            return False

    time.sleep(1.0)
    owner = cl.execute_command("LOCK", "OWNER", "L")
    assert owner and [int(x) for x in owner] == [token, lease], "lock lost at the kill"
    wait_for(gone, 30, interval=0.02, what="the lease to end")
    lived_ms = (time.monotonic() - t_keep) * 1000
    assert lived_ms >= 6000, f"lease ended {6000 - lived_ms:.0f} ms early after a kill"
    assert lived_ms < 6000 + 10000, f"lease outlived its ttl by {lived_ms - 6000:.0f} ms"
    assert cl.execute_command("LOCK", "OWNER", "L") is None
    # a waiter gets the lock with a larger token once the lease is gone
    l2 = int(cl.execute_command("LEASE", "GRANT", 5000))
    assert int(cl.execute_command("LOCK", "ACQUIRE", "L", l2, "TIMEOUT", 2000)) > token
    n3.start()
    wait_for(lambda: len({coord_state(n) for n in c.nodes}) == 1, 15,
             what="replicas' coordination state to agree")  # fmt: skip


# ---- elections ----------------------------------------------------------------------------------


def read_pushes(sock, want, timeout=10.0):
    """Reads RESP pushes (">4 election name value token", or RESP2's "*4") from a raw socket
    until `want` election messages arrived; returns [(value, token)] (None, None: no leader)."""
    buf, out = b"", []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while len(out) < want and time.monotonic() < deadline:
        try:
            buf += sock.recv(65536)
        except socket.timeout:
            continue
        lines = buf.split(b"\r\n")
        out = []
        i = 0
        while i + 6 < len(lines):
            if lines[i][:1] in (b">", b"*") and lines[i + 2] == b"election":
                if lines[i + 5] in (b"_", b"$-1"):
                    out.append((None, None))
                    i += 7
                elif i + 7 < len(lines):
                    out.append((lines[i + 6].decode(), int(lines[i + 7][1:])))
                    i += 8
                else:
                    break
            else:
                i += 1
    return out


def test_election_through_followers_and_observe(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    obs = socket.create_connection((f2.host, f2.port), timeout=5)
    obs.sendall(b"HELLO 3\r\n*3\r\n$8\r\nELECTION\r\n$7\r\nOBSERVE\r\n$1\r\ne\r\n")
    assert read_pushes(obs, 1) == [(None, None)]
    a, b = rc(f1), rc(leader)
    la = int(a.execute_command("LEASE", "GRANT", 10000))
    lb = int(b.execute_command("LEASE", "GRANT", 10000))
    ta = int(a.execute_command("ELECTION", "CAMPAIGN", "e", la, "A"))
    res = {}
    th = threading.Thread(target=lambda: res.setdefault(
        "b", b.execute_command("ELECTION", "CAMPAIGN", "e", lb, "B", "TIMEOUT", 10000)))
    th.start()
    time.sleep(0.5)
    assert th.is_alive(), "a second candidate must wait"
    assert rc(f2).execute_command("ELECTION", "LEADER", "e") == ["A", ta]
    assert a.execute_command("ELECTION", "PROCLAIM", "e", ta, "A2") == "OK"
    with pytest.raises(redis.ResponseError, match="not the leader"):
        b.execute_command("ELECTION", "PROCLAIM", "e", ta + 100, "x")
    assert a.execute_command("ELECTION", "RESIGN", "e", ta) == 1
    th.join(10)
    tb = int(res["b"])
    assert tb > ta
    # B's lease ends: the election has no leader
    assert b.execute_command("LEASE", "REVOKE", lb) == 1
    got = read_pushes(obs, 5)  # after the first one, read above
    assert got == [("A", ta), ("A2", ta), (None, None), ("B", tb), (None, None)]
    obs.close()


def test_fencing_in_transactions_and_scripts_through_followers(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    a, b = rc(f1), rc(f2)
    la = int(a.execute_command("LEASE", "GRANT", 30000))
    ta = int(a.execute_command("LOCK", "ACQUIRE", "res", la))
    a.set("guarded", "by-a")
    assert a.execute_command("LEASE", "ATTACH", la, "guarded", "other") == 2
    p = a.pipeline(transaction=True)
    p.execute_command("LOCK", "CHECK", "res", ta)
    p.rpush("log", f"a{ta}")
    assert p.execute() == ["OK", 1]
    # the lock moves on: a's lease is revoked through the other follower
    assert b.execute_command("LEASE", "REVOKE", la) == 1
    lb = int(b.execute_command("LEASE", "GRANT", 30000))
    tb = int(b.execute_command("LOCK", "ACQUIRE", "res", lb))
    assert tb > ta
    # a's stale token fails the whole transaction: nothing of it is applied
    p = a.pipeline(transaction=True)
    p.rpush("log", "stale-before")
    p.execute_command("LOCK", "CHECK", "res", ta)
    p.rpush("log", "stale-after")
    with pytest.raises(redis.ResponseError, match="FENCED Transaction discarded"):
        p.execute()
    # and a script that checks first writes nothing
    script = "redis.call('LOCK', 'CHECK', 'res', ARGV[1]) return redis.call('RPUSH', KEYS[1], ARGV[2])"
    with pytest.raises(redis.ResponseError, match="FENCED"):
        a.eval(script, 1, "log", ta, "stale-script")
    assert b.eval(script, 1, "log", tb, f"b{tb}") == 2
    with pytest.raises(redis.ResponseError, match="not allowed from script"):
        a.eval("return redis.call('LOCK', 'ACQUIRE', 'x', ARGV[1])", 0, lb)
    # the attached key went with a's lease, on every replica
    want = [f"a{ta}", f"b{tb}"]
    for n in c.nodes:
        wait_for(lambda n=n: stale(n, "LRANGE", "log", "0", "-1") == want, 10,
                 what=f"node{n.id}'s log")  # fmt: skip
        assert stale(n, "EXISTS", "guarded") == 0
