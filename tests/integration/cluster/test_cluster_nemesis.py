"""Linearizability of a 3-node synod cluster under a nemesis (issue 4, "Fault tests").

Concurrent clients do GET / SET / INCR / CAS (by EVAL and by WATCH-MULTI-EXEC) on a few keys against random nodes while a seeded
nemesis kills (-9) and restarts, pauses (SIGSTOP/SIGCONT) and partitions nodes (network
namespaces when available, else loopback without partitions). At the end: heal, wait for a
leader and for convergence, keep the clients running briefly, read every key from every node,
and check the recorded history with the project's checker (build/rel/sim/lincheck).
Timeouts and connection errors are indeterminate, never failures.

NEMESIS_SECONDS (default 20 in the gate; `make test-long` runs 300). SEED=n replays a schedule.
Written before the cluster exists: skipped while synod rejects a multi-member --cluster.
"""

import os

import pytest

from history import check_history, cluster_nemesis_run, seed_from_env

pytestmark = pytest.mark.usefixtures("cluster_required")


def test_nemesis_linearizable(request, make_cluster, _netlab_available, tmp_path):
    seconds = float(os.environ.get("NEMESIS_SECONDS", "20"))
    seed = seed_from_env()
    ok, why = _netlab_available
    lab = request.getfixturevalue("netlab") if ok else None
    if not lab:
        print(f"no network namespaces ({why}): kills and pauses only, no partitions")
    c = make_cluster(3, lab=lab)
    h, t_healed, _ = cluster_nemesis_run(c, lab, seed, seconds)
    check_history(h, str(tmp_path / f"nemesis-seed{seed}.jsonl"), min_ok=100)
    after = [e for e in h.completed() if e["invoke"] > t_healed and e["op"] != "read"]
    assert after, "no write succeeded after healing"
