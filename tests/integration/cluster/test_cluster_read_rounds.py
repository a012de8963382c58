"""Linearizable reads while a follower is stopped (issue 13, read rounds to a quorum).

A round of heartbeats that confirms pending linearizable reads goes only to as many voters as
a quorum needs (one follower of three), the one that answered the last rounds first; the
periodic heartbeat still goes to everyone. If the chosen follower stops answering, the reads
waiting on it are confirmed by the next periodic round through the other follower (at most one
heartbeat period, 40 ms), and from then on the rounds go to the follower that answers.

Each follower in turn is SIGSTOPped while one client issues sequential GETs on the leader;
every GET must return the value last written, and 200 of them must take far less than 200
heartbeat periods (the bound is 4 s: a leader that kept asking the stopped follower would wait
a heartbeat period, 40 ms, per read: 8 s). Then the same with the follower resumed.
"""

import time

import pytest

pytestmark = pytest.mark.usefixtures("cluster_required")

READS = 200
BOUND_S = 4.0


def _timed_reads(client, key, want):
    t0 = time.monotonic()
    for _ in range(READS):
        assert client.get(key) == want
    return time.monotonic() - t0


def test_reads_go_on_while_a_follower_is_stopped(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    r = leader.client(timeout=10.0)
    try:
        r.execute_command("SYNOD", "CONSISTENCY", "linearizable")
        for i, follower in enumerate(n for n in c.nodes if n is not leader):
            want = "v%d" % i
            assert r.set("k", want)
            _timed_reads(r, "k", want)  # warm: rounds have a chosen follower
            follower.pause()
            try:
                took = _timed_reads(r, "k", want)
            finally:
                follower.resume()
            print(f"node{follower.id} stopped: {READS} reads in {took:.3f} s")
            assert took < BOUND_S, f"{READS} linearizable reads took {took:.2f} s with node" \
                f"{follower.id} stopped: the read rounds kept waiting on it"
            assert c.leader() is leader, "leadership moved: the test would prove nothing"
    finally:
        r.close()
