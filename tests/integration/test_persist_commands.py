"""SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, SHUTDOWN and ROLE on a node (docs/cluster.md
"Snapshots"): a snapshot of the applied state is taken (INFO consensus shows its index), the
WAL is compacted behind it, a restart loads it; SHUTDOWN stops the process cleanly (exit 0, no
reply) and, on a cluster, the others go on. Replies and errors are compared with redis-server by
compat/test_compat_server.py ("persistence")."""

import os
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import wait_for  # noqa: E402


def _consensus(r):
    return r.info("consensus")


def _snap_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".snap"))


def _raw_replies(r):
    """redis-py turns these replies into True; the tests want the server's text."""
    for cmd in ("SAVE", "BGSAVE", "BGREWRITEAOF", "ROLE"):
        r.set_response_callback(cmd, lambda resp, **kw: resp)
    return r


def test_save_bgsave_lastsave(synod_server, tmp_path):
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d)
    r = _raw_replies(p.client(decode_responses=True))
    t0 = r.lastsave()  # before any snapshot: the start
    assert abs(t0.timestamp() - time.time()) < 60
    assert _snap_files(d) == []
    for i in range(100):
        r.set(f"k{i}", i)
    # every applied write counts (before the fix of A05, docs/persist-mutants.md: 0)
    assert r.info("persistence")["rdb_changes_since_last_save"] == 100
    time.sleep(1.1)  # LASTSAVE has a one-second resolution
    assert r.execute_command("SAVE") == "OK"
    c = _consensus(r)
    assert int(c["snapshot_index"]) >= 100, c
    assert int(c["entries_since_snapshot"]) == 0, c
    assert len(_snap_files(d)) == 1
    t1 = r.lastsave()
    assert t1 > t0
    assert r.info("persistence")["rdb_changes_since_last_save"] == 0
    # BGSAVE: a forked child; nothing new means nothing to do (still "started", as Redis)
    for i in range(50):
        r.set(f"b{i}", i)
    applied = int(_consensus(r)["snapshot_index"])
    assert r.execute_command("BGSAVE") == "Background saving started"
    wait_for(lambda: int(_consensus(r)["snapshot_index"]) >= applied + 50, 10, what="BGSAVE")
    wait_for(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0, 10, what="child")
    assert r.execute_command("BGSAVE", "SCHEDULE") in ("Background saving started",
                                                        "Background saving scheduled")
    r.set("c", 1)
    assert r.execute_command("BGREWRITEAOF").startswith("Background append only file rewriting")
    # (entries_since_snapshot restarts at the fork: wait for the snapshot itself)
    wait_for(lambda: int(_consensus(r)["snapshot_index"]) >= applied + 51, 10, what="BGREWRITEAOF")
    wait_for(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0, 10, what="child")
    assert r.execute_command("ROLE") == ["master", 0, []]
    # the snapshot is what a restart loads (the WAL behind it is gone)
    p.stop()
    p2 = synod_server("--data-dir", d)
    r2 = p2.client(decode_responses=True)
    assert r2.dbsize() == 151 and r2.get("k99") == "99" and r2.get("b49") == "49"
    assert int(_consensus(r2)["snapshot_index"]) >= applied + 51


def test_bgsave_schedule_runs_once_the_running_one_ends(synod_server):
    """BGSAVE SCHEDULE while a child runs: another snapshot follows it, with what was applied
    meanwhile (as Redis). The three commands go in one pipeline, read in one pass of the loop:
    the child (16 MB to write) is still running when SCHEDULE comes."""
    p = synod_server()
    r = _raw_replies(p.client(decode_responses=True))
    r.set("big", "x" * (16 << 20))
    pl = r.pipeline(transaction=False)
    pl.execute_command("BGSAVE")
    pl.set("late", 1)
    pl.execute_command("BGSAVE", "SCHEDULE")
    assert pl.execute() == ["Background saving started", True, "Background saving scheduled"]
    late = int(_consensus(r)["last_applied"])
    # before the fix of S12 (docs/persist-mutants.md): the schedule was forgotten
    wait_for(lambda: int(_consensus(r)["snapshot_index"]) >= late, 10,
             what=lambda: f"the scheduled snapshot at {late}: {_consensus(r)}")


@pytest.mark.parametrize("how", [(), ("NOSAVE",), ("SAVE",), ("NOW", "FORCE")])
def test_shutdown_stops_cleanly(synod_server, tmp_path, how):
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d)
    r = p.client(decode_responses=True)
    r.set("k", "v")
    before = int(_consensus(r)["snapshot_index"])
    with pytest.raises(redis.ConnectionError):
        r.execute_command("SHUTDOWN", *how)  # no reply: the connection closes
    assert p.proc.wait(timeout=10) == 0
    assert "SHUTDOWN from client" in p.log()
    if how == ("SAVE",):
        assert len(_snap_files(d)) == 1 and before == 0
    else:
        assert _snap_files(d) == []
    p2 = synod_server("--data-dir", d)
    assert p2.client(decode_responses=True).get("k") == "v"


def test_shutdown_refused_in_multi_and_abort(synod):
    r = synod.client(decode_responses=True)
    with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
        r.execute_command("SHUTDOWN", "ABORT")
    pipe = r.pipeline(transaction=True)
    pipe.set("foo", "bar")
    pipe.execute_command("SHUTDOWN")
    with pytest.raises(redis.ResponseError, match="not allowed inside a transaction"):
        pipe.execute()  # redis-py reports the queued command's error of the aborted EXEC
    assert synod.alive() and r.get("foo") is None
    # scripts may not call them (noscript)
    with pytest.raises(redis.ResponseError):
        r.eval("return redis.call('shutdown')", 0)
    assert synod.alive() and r.ping()


def test_shutdown_of_one_cluster_node(cluster):
    c = cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    rf = follower.client()
    rf.set("before", "1")
    with pytest.raises(redis.ConnectionError):
        rf.execute_command("SHUTDOWN")
    assert follower.proc.wait(timeout=10) == 0  # the harness then finds it exited with 0
    rl = leader.client()
    assert rl.set("after", "2")  # 2 of 3 still commit
    assert rl.get("before") in (b"1", "1")


def test_shutdown_of_the_leader(cluster):
    c = cluster(3)
    leader = c.wait_leader()
    rl = leader.client()
    rl.set("k", "1")
    with pytest.raises(redis.ConnectionError):
        rl.execute_command("SHUTDOWN", "SAVE")
    assert leader.proc.wait(timeout=10) == 0
    alive = [n for n in c.nodes if n is not leader]
    new = c.wait_leader(nodes=alive, exclude=(leader,))
    assert new is not leader
    rn = new.client()
    assert rn.set("k2", "2")
    assert rn.get("k") in (b"1", "1")
