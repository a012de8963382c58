"""The whole cluster pipeline — nodes in network namespaces, INFO consensus, kill -9, SIGSTOP,
partitions, workload, history, lincheck — run today against fake_synod.py, a stand-in with
known behaviour (it is not Raft: see its header):

- the correct stand-in under the nemesis: the history must be linearizable (no false alarm
  from partitions, pauses, kills and indeterminate operations);
- the stand-in with FAKE_SYNOD_BUG=stale-minority (a node cut off from the majority answers
  GETs from what it last saw): the same pipeline must report NOT linearizable.
Needs network namespaces (skips with the reason otherwise). SEED=n replays.
"""

from conftest import FAKE_SYNOD
from history import check_history, cluster_nemesis_run, run_lincheck, seed_from_env

PARTITIONS = ["isolate_leader", "partition", "pause_leader", "kill_leader", "asymmetric", "bridge"]


def test_fake_cluster_under_nemesis_is_linearizable(netlab, make_cluster, fake_env, tmp_path):
    seed = seed_from_env()
    c = make_cluster(3, lab=netlab, binary=FAKE_SYNOD, env=fake_env())
    h, _, log = cluster_nemesis_run(c, netlab, seed, seconds=7, actions=PARTITIONS, cycle=True)
    assert sum("heal" in line or "SIG" in line for line in log) >= 2, log
    check_history(h, str(tmp_path / f"fake-seed{seed}.jsonl"), min_ok=100)


def test_fake_cluster_stale_minority_reads_are_caught(netlab, make_cluster, fake_env, tmp_path):
    seed = seed_from_env()
    c = make_cluster(3, lab=netlab, binary=FAKE_SYNOD, env=fake_env(bug="stale-minority"))
    h, _, _ = cluster_nemesis_run(
        c, netlab, seed, seconds=7, actions=["isolate_leader", "partition"], cycle=True
    )
    path = str(tmp_path / f"fake-bug-seed{seed}.jsonl")
    h.write(path)
    rc, out = run_lincheck(path)
    print(out[-3000:])
    assert rc == 1, f"stale minority reads not caught (exit {rc}, {path}):\n{out[-3000:]}"
