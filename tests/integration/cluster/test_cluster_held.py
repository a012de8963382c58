"""A node whose event loop is held by its own work (a KEYS over millions of keys, a big SORT,
DEL or FLUSHALL, a long transaction, the apply of a big entry; here DEBUG SLEEP, as Redis's)
is spoken for by its peer watcher (node/peer.c, "the held-loop watcher"): a thread that, while
the loop has not passed through the peer module for 60 ms, keeps its links alive with pings
and sends a leader's keepalives, for at most busy-reply-threshold of the hold.

Seen before it: KEYS * over 3 million keys on the leader changed the term every time (about
2 s held, election timeout 240..480 ms); a follower held 2 s had its links closed as silent by
both ends (what was in flight lost); two followers applying long entries together deposed a
leader by CheckQuorum. Each test runs the same hold without the watcher too
(SYNOD_TEST_NO_PEER_WATCH=1) and asserts that the harm is then seen: the tests can fail.
"""

import os
import threading
import time

import pytest

from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")

DEBUG = ("--enable-debug-command", "yes")


def _env(watch):
    return None if watch else dict(os.environ, SYNOD_TEST_NO_PEER_WATCH="1")


def _terms(c):
    return [int(n.info()["term"]) for n in c.nodes]


def _settled(c):
    leader = c.wait_leader()
    r = leader.client(timeout=10)
    for i in range(10):
        assert r.set(f"k{i}", i)
    wait_for(lambda: all(n.info() and n.info()["commit_index"] == leader.info()["commit_index"]
                         for n in c.nodes), 10, what="every node caught up")  # fmt: skip
    return leader


def _silent_closes(c):
    return sum(n.log().count("peer silent") for n in c.nodes)


@pytest.mark.parametrize("watch", [True, False], ids=["watched", "control"])
def test_leader_held_by_a_command_keeps_its_term(make_cluster, watch):
    """DEBUG SLEEP 1.5 on the leader: no election, no silent link, and a write sent through a
    follower meanwhile waits and is acknowledged once the leader runs again. The keepalives are
    counted in INFO (one per follower every 40 ms). Control: the followers elect another."""
    c = make_cluster(3, extra_args=DEBUG, env=_env(watch))
    leader = _settled(c)
    follower = next(n for n in c.nodes if n is not leader)
    before = _terms(c)
    sent = int(leader.info()["keepalives_sent"])
    out = {}

    def write():
        time.sleep(0.3)
        try:
            out["set"] = follower.client(timeout=10).set("during", "1")
        except Exception as e:  # noqa: BLE001 - reported below
            out["set"] = e

    t = threading.Thread(target=write)
    t.start()
    t0 = time.monotonic()
    assert leader.client(timeout=10).execute_command("DEBUG", "SLEEP", "1.5") in ("OK", b"OK")
    held = time.monotonic() - t0
    t.join(15)
    time.sleep(0.5)
    assert held >= 1.4
    if not watch:
        assert max(_terms(c)) > max(before), "no election without the watcher: proves nothing"
        return
    assert _terms(c) == before, f"held {held:.2f} s: terms {before} -> {_terms(c)}"
    assert leader.info()["role"] == "leader"
    assert out.get("set") is True, out
    k = int(leader.info()["keepalives_sent"]) - sent
    assert k >= 2 * int(1.0 / 0.04), f"{k} keepalives in {held:.2f} s"
    assert _silent_closes(c) == 0, c.logs()


@pytest.mark.parametrize("watch", [True, False], ids=["watched", "control"])
def test_followers_held_together_keep_their_leader_and_links(make_cluster, watch):
    """Both followers held 2 s at once (as when both apply a long entry): the leader hears none
    of their answers for several CheckQuorum periods, but their watchers' pings say they live,
    so it stays leader; and no end closes a link as silent (PEER_SILENT_MS is 1.5 s). Control:
    the links are closed as silent, and the leader steps down by CheckQuorum."""
    c = make_cluster(3, extra_args=DEBUG, env=_env(watch))
    leader = _settled(c)
    followers = [n for n in c.nodes if n is not leader]
    before = _terms(c)

    def hold(n):
        n.client(timeout=10).execute_command("DEBUG", "SLEEP", "2")

    ts = [threading.Thread(target=hold, args=(n,)) for n in followers]
    for t in ts:
        t.start()
    for t in ts:
        t.join(15)
    time.sleep(0.5)
    stepped_down = leader.info()["role"] != "leader" or _terms(c) != before
    if not watch:
        assert _silent_closes(c) > 0, "no silent link without the watcher: proves nothing"
        assert stepped_down, "the leader kept its role without the watcher: proves nothing"
        return
    assert not stepped_down, f"terms {before} -> {_terms(c)}, role {leader.info()['role']}"
    assert _silent_closes(c) == 0, c.logs()
    assert leader.client(timeout=10).set("after", "1")


@pytest.mark.parametrize("how", ["startup", "config-set"])
def test_leader_held_past_busy_threshold_lets_another_lead(make_cluster, how):
    """The keepalives stop once the hold passes busy-reply-threshold (here 300 ms, from the
    command line or CONFIG SET on the leader): a leader held for longer (a command that may not
    end soon) is replaced by one that takes writes, and it sent only the first 300 ms' worth."""
    args = ("--busy-reply-threshold", "300") if how == "startup" else ()
    c = make_cluster(3, extra_args=(*DEBUG, *args))
    leader = _settled(c)
    if how == "config-set":
        assert leader.client().config_set("busy-reply-threshold", 300)
    before = max(_terms(c))
    sent = int(leader.info()["keepalives_sent"])
    assert leader.client(timeout=10).execute_command("DEBUG", "SLEEP", "2") in ("OK", b"OK")
    new = c.wait_leader(timeout=10)
    assert max(_terms(c)) > before, "no election while the leader was held past the threshold"
    k = int(leader.info()["keepalives_sent"]) - sent
    assert 0 < k <= 2 * (300 // 40 + 2), f"{k} keepalives"
    assert new.client(timeout=10).set("after", "1")


def test_debug_command_is_refused_unless_enabled(make_cluster):
    """enable-debug-command is no by default (Redis's message), and CONFIG SET cannot change it."""
    c = make_cluster(1)
    r = c.wait_leader().client()
    with pytest.raises(Exception, match="DEBUG command not allowed"):
        r.execute_command("DEBUG", "SLEEP", "0")
    assert r.config_get("enable-debug-command") == {"enable-debug-command": "no"}
    with pytest.raises(Exception, match="immutable"):
        r.config_set("enable-debug-command", "yes")
