"""The recorder + nemesis + lincheck pipeline, proven on systems whose behaviour we know, before
it is trusted with the cluster (STYLE.md: a checker is trusted only after it has been seen to
fail on a broken case). Runs today: the targets are plain redis-server processes.

- a fake "cluster" of 3 independent redis-servers (no replication), clients spread across them:
  a read on one node misses a write made on another -> must be reported NOT linearizable;
- a single redis-server, no faults -> linearizable (the recorder adds no false alarms);
- a single redis-server with appendfsync always under kill -9 / SIGSTOP -> linearizable, with
  indeterminate ops recorded (the fault handling adds no false alarms);
- a single redis-server without persistence under kill -9 -> acknowledged writes vanish at
  restart -> NOT linearizable (lost writes are caught).
"""

import os

from history import History, Nemesis, RedisTarget, Workload, check_history, run_lincheck
from history import seed_from_env, wait_redis

KEYS = ["k0", "k1", "k2"]


def _run(targets, seed, seconds, clients=4, nemesis=None):
    h = History()
    w = Workload(h, targets, KEYS, clients, seed, op_timeout=1.0).start()
    if nemesis:
        nemesis.start()
    w.stop_event.wait(seconds)
    if nemesis:
        nemesis.stop()
    w.stop()
    w.final_reads()
    return h


def test_broken_cluster_is_not_linearizable(redis_proc, tmp_path):
    seed = seed_from_env()
    targets = [RedisTarget(*redis_proc(f"fake{i}")) for i in (1, 2, 3)]
    h = _run(targets, seed, seconds=3)
    path = str(tmp_path / "broken.jsonl")
    n = h.write(path)
    assert len(h.completed("write")) > 50 and len(h.completed("read")) > 50, h.counts
    rc, out = run_lincheck(path)
    print(out[-3000:])
    assert rc == 1, f"checker missed a broken system (exit {rc}, {n} ops in {path}):\n{out}"
    assert "NOT linearizable" in out


def test_single_redis_is_linearizable(redis_proc, tmp_path):
    seed = seed_from_env()
    target = RedisTarget(*redis_proc("single"))
    h = _run([target], seed, seconds=3)
    check_history(h, str(tmp_path / "single.jsonl"), min_ok=200)
    assert h.counts["indeterminate"] == 0, h.counts


def test_nemesis_on_durable_redis_is_linearizable(redis_proc, tmp_path):
    seed = seed_from_env()
    proc, port = redis_proc("durable", "--appendonly", "yes", "--appendfsync", "always")
    target = RedisTarget(proc, port)

    def restart(p):
        p.start()
        wait_redis(port, p)

    nem = Nemesis(seed, [proc], ["kill", "pause"], restart=restart, gap_s=(0.3, 1.0),
                  fault_s=(0.3, 1.5), cycle=True)  # fmt: skip
    h = _run([target], seed, seconds=6, nemesis=nem)
    assert any("kill -9" in line for line in nem.log), nem.log
    assert any("SIGSTOP" in line for line in nem.log), nem.log
    check_history(h, str(tmp_path / "durable.jsonl"), min_ok=100)


def test_lost_writes_after_crash_are_caught(redis_proc, tmp_path):
    seed = seed_from_env()
    proc, port = redis_proc("volatile", "--appendonly", "no")
    target = RedisTarget(proc, port)

    def restart(p):
        p.start()
        wait_redis(port, p)

    # kill -9 only: every restart comes back empty, losing acknowledged writes
    nem = Nemesis(seed, [proc], ["kill"], restart=restart, gap_s=(0.5, 1.0), fault_s=(0.2, 0.5))
    h = _run([target], seed, seconds=4, nemesis=nem)
    assert sum("kill -9" in line for line in nem.log) >= 2, nem.log
    path = str(tmp_path / "volatile.jsonl")
    h.write(path)
    rc, out = run_lincheck(path)
    print(out[-3000:])
    assert rc == 1, f"checker missed lost writes (exit {rc}, {path}):\n{out}"


def test_lincheck_cli_is_the_projects(tmp_path):
    """The pipeline runs the project's own checker (docs/simulator.md), not a stand-in."""
    from history import lincheck_bin

    assert os.path.basename(lincheck_bin()) == "lincheck"
    bad = tmp_path / "stale.jsonl"
    bad.write_text(
        '{"client":1,"op":"write","key":"x","value":1,"invoke":0,"return":10}\n'
        '{"client":2,"op":"read","key":"x","out":null,"invoke":11,"return":12}\n'
    )
    assert run_lincheck(str(bad))[0] == 1
