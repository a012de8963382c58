"""Linearizability of a 3-node synod cluster under a nemesis (issue 4, "Fault tests").

Concurrent clients do GET / SET / INCR on a few keys against random nodes while a seeded
nemesis kills (-9) and restarts, pauses (SIGSTOP/SIGCONT) and partitions nodes (network
namespaces when available, else loopback without partitions). At the end: heal, wait for a
leader and for convergence, keep the clients running briefly, read every key from every node,
and check the recorded history with the project's checker (build/rel/sim/lincheck).
Timeouts and connection errors are indeterminate, never failures.

NEMESIS_SECONDS (default 30; `make test-long` runs 300). SEED=n replays a schedule.
Written before the cluster exists: skipped while synod rejects a multi-member --cluster.
"""

import os

import pytest

from history import History, Nemesis, Workload, check_history, seed_from_env

pytestmark = pytest.mark.usefixtures("cluster_required")

KEYS = ["a", "b", "c", "d"]


def test_nemesis_linearizable(request, make_cluster, _netlab_available, tmp_path):
    seconds = float(os.environ.get("NEMESIS_SECONDS", "30"))
    seed = seed_from_env()
    ok, why = _netlab_available
    lab = request.getfixturevalue("netlab") if ok else None
    if not lab:
        print(f"no network namespaces ({why}): kills and pauses only, no partitions")
    c = make_cluster(3, lab=lab)

    def restart(node):
        node.start()
        node.wait_serving()

    def leader():
        return c.leader(infos=c.infos(timeout=0.5))

    actions = ["kill", "kill_leader", "pause", "pause_leader"]
    if lab:
        actions += ["partition", "isolate_leader", "asymmetric", "bridge"]
    h = History()
    w = Workload(h, c.nodes, KEYS, clients=5, seed=seed, op_timeout=1.5, think_s=0.005).start()
    nem = Nemesis(seed, c.nodes, actions, leader_fn=leader, lab=lab, restart=restart).start()
    try:
        w.stop_event.wait(seconds)
        nem.stop()  # heals whatever is still in effect
        c.wait_leader()
        c.wait_converged(KEYS)
        t_healed = h.now()
        w.stop_event.wait(2.0)  # post-heal operations are checked too
    finally:
        nem.stop_event.set()
        w.stop()
    w.final_reads()
    print("\n".join(nem.log))
    check_history(h, str(tmp_path / f"nemesis-seed{seed}.jsonl"), min_ok=100)
    after = [e for e in h.completed() if e["invoke"] > t_healed and e["op"] != "read"]
    assert after, "no write succeeded after healing"
