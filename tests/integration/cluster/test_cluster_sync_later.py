"""Followers outside the commit quorum sync later (issue 13).

The leader waits, for its commit quorum, only for as many followers as it needs (one of two on
three nodes), the one that acknowledged appends most often in its last evaluation window; its
appends to the other carry sync_later, and that follower lets its fsync wait (2 ms by default)
so that one fsync covers more entries. Checked here, with the wait raised to 30 ms
(SYNOD_TEST_SYNC_LATER_US) so that a wrong choice shows plainly:

  - under a write load the follower told to sync later does far fewer fsyncs than the one the
    leader waits for (INFO consensus wal_fsyncs);
  - sequential SETs are not slowed by it: their median latency stays far below the 30 ms a
    write would take if the leader waited for that follower;
  - when the follower the leader waits for is stopped (SIGSTOP), the leader picks the other
    within a tick or two: no sequential SET started 0.15 s after the stop is slow (the next
    periodic evaluation, every 5 s, would be too late);
  - every write is acknowledged, and all three nodes end with the same data.
"""

import statistics
import time

import pytest

from harness import assert_same_digest
from history import Writers, read_all

pytestmark = pytest.mark.usefixtures("cluster_required")

LATER_US = 30000
STOPPED_S = 0.6  # SETs run this long after the follower is stopped
REPICK_S = 0.15  # by then the leader waits for the other follower (a tick is 20 ms)


def _fsyncs(node):
    return int(node.info(timeout=2.0)["wal_fsyncs"])


def _set_latencies(r, n, tag):
    lat = []
    for i in range(n):
        t0 = time.monotonic()
        assert r.set(f"seq:{tag}:{i}", i)
        lat.append(time.monotonic() - t0)
    return lat


def test_follower_outside_quorum_syncs_later(make_cluster):
    c = make_cluster(3, env={"SYNOD_TEST_SYNC_LATER_US": str(LATER_US)})
    leader = c.wait_leader()
    followers = [n for n in c.nodes if n is not leader]
    time.sleep(0.2)  # the new leader's evaluation window closes (2 ticks)
    acked = {}
    # A CPU-starved follower can lose the leader's pick half-way through a load on a loaded
    # machine, and then both synced alike: a load during which the pick changed is run again
    # (a build that never defers fails every attempt).
    for attempt in range(3):
        waits_before = leader.info(timeout=2.0)["commit_waits_for"]
        before = {n.id: _fsyncs(n) for n in followers}
        w = Writers([leader], n=8, op_timeout=5.0, prefix=f"w{attempt}").start()
        try:
            w.wait_ok(3000, timeout=30)
        finally:
            w.stop()
        acked.update(w.acked)
        done = {n.id: _fsyncs(n) - before[n.id] for n in followers}
        if leader.info(timeout=2.0)["commit_waits_for"] == waits_before:
            break
        print(f"attempt {attempt}: the leader's pick changed during the load ({done})")
    keys = sorted(acked)
    got = read_all(leader, keys)
    lost = [k for k in keys if got.get(k) != acked[k]]
    assert not lost, f"acknowledged writes lost: {lost[:5]}"
    quorum, later = sorted(followers, key=lambda n: -done[n.id])
    print(f"fsyncs under load: node{quorum.id} {done[quorum.id]}, node{later.id} {done[later.id]}")
    assert done[later.id] < 0.5 * done[quorum.id], \
        f"the follower outside the quorum did not sync less: {done}"
    # INFO consensus says so: the leader waits for that one, the other's syncs were deferred
    assert leader.info(timeout=2.0)["commit_waits_for"] == str(quorum.id)
    assert int(later.info(timeout=2.0)["wal_deferred_syncs"]) > 0
    assert int(quorum.info(timeout=2.0)["wal_deferred_syncs"]) < int(
        later.info(timeout=2.0)["wal_deferred_syncs"])

    r = leader.client(timeout=10.0)
    try:
        lat = _set_latencies(r, 100, "all")
        med = statistics.median(lat)
        print(f"sequential SET median {med * 1000:.2f} ms, all up")
        assert med < LATER_US / 1e6 / 3, f"SETs wait for the follower that syncs later ({med})"
        quorum.pause()
        try:
            t0 = time.monotonic()
            slow = []  # (start, latency) of SETs slower than a third of the wait
            i = 0
            while time.monotonic() < t0 + STOPPED_S:
                t = time.monotonic()
                assert r.set(f"seq:stopped:{i}", i)
                lat = time.monotonic() - t
                if lat > LATER_US / 1e6 / 3:
                    slow.append((round(t - t0, 3), round(lat, 3)))
                i += 1
            waits = leader.info(timeout=2.0)["commit_waits_for"]
        finally:
            quorum.resume()
        print(f"node{quorum.id} stopped: {i} sequential SETs, slow ones: {slow}")
        assert waits == str(later.id), f"the leader still waits for {waits}"
        # a leader still waiting for the follower that syncs later makes every SET wait for its
        # deferred fsync (~30 ms each, over a dozen of them); SETs of 10-20 ms, or one or two
        # slower ones, are a loaded machine's noise (make test runs two test files at once)
        late = [s for s in slow if s[0] > REPICK_S and s[1] >= 0.8 * LATER_US / 1e6]
        assert len(late) < 3, f"with node{quorum.id} stopped the other follower still synced " \
            f"later {REPICK_S} s on: {late[:5]}"
        assert c.leader() is leader, "leadership moved: the test would prove less"
    finally:
        r.close()
    assert_same_digest(c)
