"""A long write script on a 3-node cluster (docs/scripting.md "Script timeouts").

Every replica runs a write script as it applies its entry, in its event loop, and answers its
own clients -BUSY meanwhile; no Raft traffic is handled on a busy node, so a leader stuck past the
election timeout may be deposed (once past busy-reply-threshold: before, its keepalives keep it
leader; the last two tests). None of that may break anything: the script is never killed
midway (SCRIPT KILL answers UNKILLABLE on every node), it ends with the same effects on every
replica, the cluster has a leader afterwards, and writes made around it (through every node) end
identical everywhere: SYNOD DIGEST ([digest, last_applied]) is the same on the three nodes.

Seen failing with the kill of a replicated run that has not written yet allowed (the engine's and
busy.c's killable checks removed): SCRIPT KILL is accepted on busy nodes, whose runs then lack
the script's writes.
"""

import threading
import time

import pytest
import redis
from harness import assert_same_digest

pytestmark = pytest.mark.usefixtures("cluster_required")

# ~2-3 s of Lua here, several election timeouts (240..480 ms), far below the instruction bound;
# its first data command (the GET) comes before the loop, so its prelude ends there and the loop
# runs in the replicated run only (a loop before any data command is killable: the prelude)
LONG = """
redis.call('GET', KEYS[1])
local n, i = tonumber(ARGV[1]), 0
while i < n do i = i + 1 end
redis.call('SET', KEYS[1], 'started')
local t = redis.call('TIME')
redis.call('SET', KEYS[2], t[1] .. '.' .. t[2] .. ':' .. math.random(1000000))
return redis.call('INCRBY', 'long-counter', i)
"""
LOOPS = 100_000_000


def _writer(c, stop, stats, errors):
    """SET / INCR through every node in turn (followers forward to the leader)."""
    i = 0
    while not stop.is_set():
        n = c.nodes[i % 3]
        r = redis.Redis(host=n.host, port=n.port, socket_timeout=15.0, decode_responses=True)
        try:
            r.set("w%d" % (i % 50), i)
            r.incr("writes")
            stats["ok"] += 1
        except redis.ResponseError as e:
            if not str(e).startswith(("BUSY", "TRYAGAIN", "CLUSTERDOWN")):
                errors.append(str(e))
            time.sleep(0.02)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            time.sleep(0.05)
        finally:
            r.close()
        i += 1


def _prober(node, stop, stats, seen):
    """PING on its own connection to one node; when it is busy, SCRIPT KILL (never accepted)."""
    r = None
    while not stop.is_set():
        try:
            if r is None:
                r = redis.Redis(host=node.host, port=node.port, socket_timeout=5.0,
                                decode_responses=True)  # fmt: skip
            r.ping()
        except redis.ResponseError as e:
            if str(e).startswith("BUSY"):
                stats["busy"] += 1
                try:
                    r.execute_command("SCRIPT", "KILL")
                    seen.append("OK")  # a replicated run was killed: must not happen
                except redis.ResponseError as k:
                    seen.append(str(k).split(" ")[0])
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            r = None
        time.sleep(0.01)


def test_long_write_script_keeps_replicas_identical(make_cluster):
    c = make_cluster(3, extra_args=("--busy-reply-threshold", "100"))
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    stop = threading.Event()
    stats, errors, kills = {"ok": 0, "busy": 0}, [], []
    threads = [threading.Thread(target=_writer, args=(c, stop, stats, errors))]
    threads += [threading.Thread(target=_prober, args=(n, stop, stats, kills)) for n in c.nodes]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        # one through the leader, one forwarded by a follower
        replies = {}

        def run(node, tag):
            r = redis.Redis(host=node.host, port=node.port, socket_timeout=60.0,
                            decode_responses=True)  # fmt: skip
            try:
                replies[tag] = r.execute_command("EVAL", LONG, "2", tag + "-a", tag + "-b",
                                                 LOOPS)  # fmt: skip
            except redis.RedisError as e:
                replies[tag] = e

        runs = [threading.Thread(target=run, args=(leader, "L")),
                threading.Thread(target=run, args=(follower, "F"))]  # fmt: skip
        for t in runs:
            t.start()
        for t in runs:
            t.join(timeout=90)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:5]
    c.wait_leader(timeout=20)  # the cluster has a leader afterwards ...
    r = c.wait_leader().client(timeout=10.0)
    assert r.set("after", "1")  # ... that commits writes
    c.wait_converged(["after", "writes"], timeout=30)
    digest = assert_same_digest(c, "replicas differ")
    assert "OK" not in kills, f"a replicated script was killed: {kills}"
    assert "UNKILLABLE" in kills, f"no SCRIPT KILL reached a busy node: {set(kills)}"
    assert stats["busy"] > 0, f"no client saw -BUSY: {stats}"
    # a script ran to its end; the other may have been refused -BUSY (the leader was busy with
    # the first when the follower relayed it) or lost its reply with a leader change
    done = [tag for tag, rep in replies.items() if rep in (LOOPS, 2 * LOOPS)]
    assert done, replies
    for tag, rep in replies.items():
        assert tag in done or str(rep).startswith(("BUSY", "TRYAGAIN")), (tag, rep)
    for tag in done:
        a, b = c.stale_get(c.nodes[0], [tag + "-a", tag + "-b"])
        assert a == "started" and b and ":" in b, (tag, a, b)
    print(f"{stats}, kills {set(kills)}, replies {replies}, digest {digest}")


def test_prelude_killed_on_a_follower(make_cluster):
    """A write script's prelude runs on the node the client is connected to (a follower here),
    before anything is relayed or logged: SCRIPT KILL there ends it, nothing is logged, and a
    script that ends within its prelude is answered by the follower alone once it has it
    cached."""
    c = make_cluster(3, extra_args=("--busy-reply-threshold", "50"))
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    rf = redis.Redis(host=follower.host, port=follower.port, socket_timeout=30.0,
                     decode_responses=True)  # fmt: skip
    assert rf.set("before", "1")
    c.wait_converged(["before"], timeout=10)
    applied = int(leader.client().info("consensus")["last_applied"])
    out = {}

    def run():
        r = redis.Redis(host=follower.host, port=follower.port, socket_timeout=60.0,
                        decode_responses=True)  # fmt: skip
        try:
            out["r"] = r.execute_command(
                "EVAL", "local i = 0 while true do i = i + 1 end redis.call('set', 'never', 1)",
                "0")  # fmt: skip
        except redis.RedisError as e:
            out["r"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            rf.ping()
        except redis.ResponseError as e:
            assert str(e).startswith("BUSY")
            break
        time.sleep(0.02)
    assert leader.client().ping()  # only the follower is busy
    assert rf.execute_command("SCRIPT", "KILL") == "OK"
    t.join(30)
    assert str(out.get("r", "")).startswith("Script killed by user with SCRIPT KILL"), out
    assert int(leader.client().info("consensus")["last_applied"]) == applied  # nothing logged
    # a script the follower has not seen is logged once even if it ends in its prelude (so the
    # leader's cache, which SCRIPT EXISTS answers from, has it); once cached, it is answered by
    # the follower alone
    assert rf.execute_command("EVAL", "return redis.call('ping')", "0") == "PONG"
    applied = int(leader.client().info("consensus")["last_applied"])
    c.wait_converged([], timeout=10)
    assert rf.execute_command("EVAL", "return redis.call('ping')", "0") == "PONG"
    assert int(leader.client().info("consensus")["last_applied"]) == applied  # nothing logged
    assert rf.exists("never") == 0


# a read-only loop: the prelude and the run are one (no data command), on the node it reaches
SPIN = "local n, i = tonumber(ARGV[1]), 0 while i < n do i = i + 1 end return i"


def _spin_loops(r, seconds):
    """Loops SPIN needs on this machine to hold a node for about `seconds`."""
    n = 20_000_000
    t0 = time.monotonic()
    assert r.execute_command("EVAL_RO", SPIN, 0, n) == n
    return int(n * seconds / max(time.monotonic() - t0, 0.01))


def _terms(c):
    return [int(n.info()["term"]) for n in c.nodes]


def test_read_only_script_keeps_its_leader(make_cluster):
    """A read-only script holds the leader's event loop for several election timeouts (240..480
    ms; no Raft message is handled meanwhile). Its keepalives (the peer watcher's, node/peer.c,
    every 40 ms from 60 ms into the hold) keep the followers from electing another leader: no term changes,
    the leader stays. Seen failing without them: a new term after a script of 0.4 s."""
    c = make_cluster(3)
    leader = c.wait_leader()
    r = leader.client(timeout=30.0)
    loops = _spin_loops(r, 2.0)
    time.sleep(0.5)  # a calibration run that changed the term would not be this test's
    before = _terms(c)
    sent = int(leader.info()["keepalives_sent"])
    t0 = time.monotonic()
    assert r.execute_command("EVAL_RO", SPIN, 0, loops) == loops
    held = time.monotonic() - t0
    time.sleep(0.3)  # answers the held leader had waiting are handled
    assert held > 0.8, f"the script held the leader only {held:.2f} s: proves nothing"
    assert _terms(c) == before, f"held {held:.2f} s: terms {before} -> {_terms(c)}"
    assert leader.info()["role"] == "leader"
    assert int(leader.info()["keepalives_sent"]) - sent >= 2 * int(held / 0.04) // 2
    follower = next(n for n in c.nodes if n is not leader)
    assert follower.client(timeout=10.0).set("after", "1")


def test_read_only_script_past_busy_threshold_lets_another_lead(make_cluster):
    """Keepalives stop once the script passes busy-reply-threshold (here 200 ms; Redis answers
    -BUSY from then on): a script that may never end does not keep the cluster from electing a
    leader that takes writes. The held leader sent only the first 200 ms' worth."""
    c = make_cluster(3, extra_args=("--busy-reply-threshold", "200"))
    leader = c.wait_leader()
    r = leader.client(timeout=30.0)
    loops = _spin_loops(r, 0.15) * 13  # calibrated below the threshold; then ~2 s
    c.wait_leader()
    leader = c.wait_leader()
    r = leader.client(timeout=30.0)
    before = max(_terms(c))
    sent = int(leader.info()["keepalives_sent"])
    t0 = time.monotonic()
    assert r.execute_command("EVAL_RO", SPIN, 0, loops) == loops
    held = time.monotonic() - t0
    assert held > 0.8, f"the script held the leader only {held:.2f} s: proves nothing"
    new = c.wait_leader(timeout=10)
    assert max(_terms(c)) > before, "no election while the leader was held past the threshold"
    k = int(leader.info()["keepalives_sent"]) - sent
    assert 0 < k <= 2 * (200 // 40 + 2), f"{k} keepalives in {held:.2f} s"
    assert new.client(timeout=10.0).set("after", "1")


def test_read_only_script_runs_on_its_follower(make_cluster):
    """EVAL_RO / FCALL_RO through a follower run on that follower once it has applied what the
    leader had committed (the ReadIndex gate): as on a Redis replica, the follower is the busy
    one (-BUSY to its other clients, SCRIPT KILL there ends it), the leader goes on taking
    writes, and the script's calls are counted in the follower's INFO commandstats. Before,
    they were relayed: the leader was held, and the follower's clients could not kill it."""
    c = make_cluster(3, extra_args=("--busy-reply-threshold", "50"))
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    rf = f.client(timeout=30.0)
    assert rf.set("k", "v")
    out = {}

    def run():
        r = f.client(timeout=60.0)
        try:
            out["r"] = r.execute_command(
                "EVAL_RO", "redis.call('get', KEYS[1]) local i = 0 while true do i = i + 1 end",
                1, "k")  # fmt: skip
        except redis.RedisError as e:
            out["r"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 10
    busy = False
    while not busy and time.monotonic() < deadline:
        try:
            rf.ping()
        except redis.ResponseError as e:
            busy = str(e).startswith("BUSY")
        time.sleep(0.02)
    assert busy, "the follower never answered -BUSY"
    rl = leader.client(timeout=5.0)
    assert rl.ping() and rl.set("during", "1")  # the leader is not held
    assert rf.execute_command("SCRIPT", "KILL") == "OK"
    t.join(30)
    assert str(out.get("r", "")).startswith("Script killed by user with SCRIPT KILL"), out
    stats = rf.info("commandstats")
    assert stats["cmdstat_get"]["calls"] >= 1, stats  # the script's call, counted here
    assert "cmdstat_eval_ro" not in leader.client().info("commandstats")
    assert rf.get("during") == "1"
