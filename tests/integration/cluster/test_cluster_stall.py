"""Nodes whose event loops stall together (a long write script runs on every replica; a
machine starved of CPU; here SIGSTOP) do not depose a healthy leader (issue 13, "Failover":
CPU-starved nodes must not depose a healthy leader; docs/consensus.md "Stalls").

The leader and one follower stop for 1 s (longer than the election timeout, 240..480 ms) and
continue together; the third node, alive all along, campaigns meanwhile and gets no vote. When
the two run again, the follower must first read what its leader sent meanwhile (its catch-up
gives it one tick: its clock only runs slower), and the leader gives its followers one more
CheckQuorum period (it could not read their messages) instead of judging them on time it did
not run. Seen failing (a new term every time) with the catch-up giving every missed tick: the
follower granted the third node's vote at once, and the leader stepped down by CheckQuorum.

Writes before and after must be acknowledged, and the term must not change.
"""

import time

import pytest

from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


@pytest.mark.parametrize("stall_s", [1.0, 2.0])
def test_leader_and_follower_stalled_together_keep_the_term(make_cluster, stall_s):
    """1 s: the catch-up. 2 s: also longer than PEER_SILENT_MS (1.5 s): the stalled nodes must
    not close their peer connections as silent when they run again (the peers' messages wait
    unread in the sockets); closing them lost what was in flight and put the followers back to
    probing (seen: a new term in most rounds)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    r = leader.client(timeout=10)
    for i in range(20):
        assert r.set(f"k{i}", i)
    wait_for(lambda: all(n.info() and n.info()["commit_index"] == leader.info()["commit_index"]
                         for n in c.nodes), 10, what="every node caught up")  # fmt: skip
    changes = 0
    rounds = 2
    for _ in range(rounds):
        term = int(leader.info()["term"])
        leader.pause()
        f1.pause()
        time.sleep(stall_s)
        f1.resume()
        leader.resume()
        time.sleep(1.0)  # the third node's campaign, and anything the stall set off, settle
        assert r.set("after", "1")
        infos = [n.info() for n in c.nodes]
        if int(leader.info()["term"]) != term or leader.info()["role"] != "leader":
            changes += 1
        assert all(i is not None for i in infos)
    assert changes == 0, f"{changes} of {rounds} stalls changed the term or the leader"
