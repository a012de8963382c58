"""A follower paused under write load catches up (issue 8, bug 8).

3 nodes on loopback, 6 writers on the leader; one follower is SIGSTOPped for longer than the
peer links' silence timeout (1.5 s: both links to it are closed while the leader's appends are
in flight and their acknowledgements are lost), then SIGCONTed. Its applied index must reach
the leader's commit index of the moment it was resumed within CATCHUP_S, twice in a row (2 s,
then 4 s), and every node must converge once the load stops.

Before the fix the leader's progress for that follower stayed in the replicate state with a full
in-flight window whose acknowledgements never came, and the follower was never replicated to
again (~11k against ~92k ten seconds later).
"""

import time

import pytest

from harness import wait_for
from history import Writers

pytestmark = pytest.mark.usefixtures("cluster_required")

CATCHUP_S = 10.0


def _index(node, key):
    inf = node.info(timeout=2.0)
    return int(inf[key]) if inf and inf.get(key, "").isdigit() else None


def test_paused_follower_catches_up_under_load(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    w = Writers([leader], n=6, op_timeout=5.0).start()
    try:
        w.wait_ok(300, timeout=20)
        for pause_s in (2.0, 4.0):
            follower.pause()
            time.sleep(pause_s)
            follower.resume()
            target = _index(leader, "commit_index")
            assert target is not None, "leader does not answer INFO"
            t0 = time.monotonic()
            seen = {}

            def caught_up():
                seen["follower"] = _index(follower, "last_applied")
                return seen["follower"] is not None and seen["follower"] >= target

            wait_for(caught_up, CATCHUP_S, interval=0.1,
                     what=lambda: f"node{follower.id} (paused {pause_s}s) to apply index "
                     f"{target}; it applied {seen.get('follower')}, the leader commits "
                     f"{_index(leader, 'commit_index')}")  # fmt: skip
            print(f"paused {pause_s}s: caught up to {target} in {time.monotonic() - t0:.2f}s "
                  f"({w.n_ok()} writes acknowledged so far)")  # fmt: skip
            assert c.leader() is leader, "leadership moved: the test would prove nothing"
            w.wait_ok(w.n_ok() + 200, timeout=20)
    finally:
        w.stop()
    c.wait_converged(sorted(w.acked)[:20], timeout=CATCHUP_S)
