"""A node whose storage fails (issue 8 bug 6, issue 9): it stops taking part in consensus and
must never abort, never report itself leader, never serve a linearizable read from its frozen
state, and must answer writes and cluster commands at once with the documented -ERR.

The disk is "filled" with the test failpoint SYNOD_FAILPOINT_STORAGE=<path>: while <path>
exists every WAL write and fsync of that node fails with ENOSPC (docs/testing-faults.md)."""

import os
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodCluster, free_ports, wait_for  # noqa: E402

DOWN_MS = 5000  # cluster-down-timeout: a refused request must come back well before this


@pytest.fixture
def fp_cluster(tmp_path):
    """make(n) -> (cluster, {node id: failpoint path}); the failpoint files do not exist yet."""
    made = []

    def make(n=3):
        c = SynodCluster(tmp_path / f"c{len(made)}", n,
                         extra_args=("--cluster-down-timeout", str(DOWN_MS)))  # fmt: skip
        os.makedirs(c.tmp_dir, exist_ok=True)
        fps = {}
        for node in c.nodes:
            fps[node.id] = os.path.join(c.tmp_dir, f"full-disk-{node.id}")
            node.env = dict(os.environ, SYNOD_FAILPOINT_STORAGE=fps[node.id])
        made.append(c)
        return c.start(), fps

    yield make
    bad = []
    for c in made:
        for node, rc in c.stop():
            if rc not in (0, None) and not node.expect_unclean_exit:
                bad.append((node.name, rc, node.log()[-3000:]))
    assert not bad, bad


def fill_disk(path):
    with open(path, "w") as f:
        f.write("ENOSPC\n")


def wait_failed(node, timeout=10):
    wait_for(lambda: (node.info() or {}).get("storage") == "failed", timeout,
             what=f"node{node.id} to report storage:failed")  # fmt: skip


def timed(fn):
    t = time.monotonic()
    try:
        fn()
    except redis.ResponseError as e:
        return str(e), time.monotonic() - t
    return None, time.monotonic() - t


def test_failed_follower_refuses_linearizable_reads(fp_cluster):
    c, fps = fp_cluster()
    ld = c.wait_leader()
    fol = next(n for n in c.nodes if n is not ld)
    lr = ld.client()
    lr.set("k", "old")
    wait_for(lambda: c.stale_get(fol, ["k"]) in (["old"], [b"old"]), 10, what="k on the follower")
    fill_disk(fps[fol.id])
    lr.set("trigger", "1")  # the follower fails persisting it; the other two commit it
    wait_failed(fol)
    lr.set("k", "new")  # committed without the failed follower
    for level in ("linearizable", "lease"):
        r = fol.client()
        assert r.execute_command("SYNOD", "CONSISTENCY", level) == "OK"
        err, took = timed(lambda: r.get("k"))
        # before the fix: "old", served from the frozen local state
        assert err is not None and err.startswith("storage failure"), (level, err)
        assert took < 1.0, (level, took)
    r = fol.client()
    assert r.execute_command("READONLY") in ("OK", True)
    assert r.get("k") == "old"  # stale reads stay available, as documented
    r = fol.client()
    assert r.execute_command("SYNOD", "CONSISTENCY", "stale") == "OK"
    assert r.get("k") == "old"
    # MULTI/EXEC is refused too (it would read and write through the frozen node)
    p = fol.client().pipeline(transaction=True)
    p.get("k")
    with pytest.raises(redis.ResponseError, match="storage failure"):
        p.execute()
    assert ld.client().get("k") == "new"


def test_failed_leader_answers_at_once_and_never_aborts(fp_cluster):
    c, fps = fp_cluster()
    ld = c.wait_leader()
    r = ld.client()
    r.set("a", "1")
    fill_disk(fps[ld.id])
    # either pending when the leader's own write fails ("... may or may not have been
    # applied") or refused because an earlier Ready (the commit of "a") failed: -ERR at once
    with pytest.raises(redis.ResponseError, match="storage failure"):
        r.set("b", "2")
    wait_failed(ld)
    # issue 9: a write gets the documented -ERR at once, not -CLUSTERDOWN after the timeout
    err, took = timed(lambda: r.set("c", "3"))
    assert err is not None and err.startswith("storage failure on this node, writes refused")
    assert took < 1.0, took
    # issue 9: the failed former leader does not report itself leader
    inf = ld.info()
    assert inf["role"] != "leader" and inf["leader_id"] == "0", inf
    assert inf["storage"] == "failed"
    # cluster commands on the frozen raft instance: an error, not SYN_ASSERT(!r->in_ready)
    _, pport = free_ports(2)
    other = next(n for n in c.nodes if n is not ld)
    cmds = [
        ("SYNOD", "MEMBER", "ADD", "4", f"127.0.0.1:{pport}"),
        ("SYNOD", "MEMBER", "REMOVE", str(other.id)),
        ("SYNOD", "TRANSFER-LEADER", str(other.id)),
        ("SYNOD", "SNAPSHOT"),
    ]
    for cmd in cmds:
        err, took = timed(lambda: r.execute_command(*cmd))
        assert err is not None and "storage fail" in err, (cmd, err)
        assert took < 1.0, (cmd, took)
        assert ld.alive(), (cmd, ld.log()[-3000:])
    assert r.execute_command("SYNOD", "MEMBER", "LIST")  # the const getters still answer
    # a stale read is still served; a linearizable one is refused
    err, _ = timed(lambda: r.get("a"))
    assert err is not None and err.startswith("storage failure"), err
    assert r.execute_command("READONLY") in ("OK", True)
    assert r.get("a") == "1"
    # ticks and peer messages keep arriving for a while: the node stays up
    new = c.wait_leader(exclude=(ld,))
    assert new is not ld
    new.client().set("after", "x")
    time.sleep(1.0)
    assert ld.alive(), ld.log()[-3000:]
    assert ld.info()["role"] != "leader"


def _single_node_with_failpoint(tmp_path, fp):
    """A one-node cluster (not started) whose storage fails while the file fp exists."""
    from harness import SynodNode

    cport, pport = free_ports(2)
    return SynodNode(1, "127.0.0.1", cport, pport, str(tmp_path / "d"), str(tmp_path / "n.log"),
                     cluster_arg=f"1=127.0.0.1:{pport}",
                     extra_args=("--cluster-down-timeout", str(DOWN_MS)),
                     env=dict(os.environ, SYNOD_FAILPOINT_STORAGE=fp))  # fmt: skip


def test_single_node_failing_at_startup_stays_up(tmp_path, synod_bin):
    """A node whose disk is full when it restarts fails in its first Ready (the election's hard
    state) while node_create still drives it: it must come up failed, not abort."""
    fp = str(tmp_path / "full-disk")
    node = _single_node_with_failpoint(tmp_path, fp)
    node.start()
    try:
        node.wait_serving()
        node.client().set("x", "1")
        assert node.stop() == 0
        fill_disk(fp)
        node.start()
        node.wait_serving()
        inf = node.info()
        assert inf["storage"] == "failed" and inf["role"] != "leader", inf
        err, took = timed(lambda: node.client().set("y", "2"))
        assert err is not None and err.startswith("storage failure"), err
        assert took < 1.0
    finally:
        node.stop()
        assert not node.alive()
    assert "Assertion" not in node.log() and "SYN_ASSERT" not in node.log(), node.log()[-3000:]


def test_failed_fsync_on_the_storage_thread_fails_the_node(tmp_path, synod_bin):
    """An fdatasync that fails on the storage thread (writes still land: the disk's flush
    fails) fails the node as a failed write does: the write waiting for it gets an error at
    once, never an acknowledgement and never silence, INFO says storage:failed, later writes are
    refused, and what was acknowledged before is there after a restart."""
    fp = str(tmp_path / "flush-fails")
    node = _single_node_with_failpoint(tmp_path, fp)
    node.start()
    try:
        node.wait_serving()
        assert node.client().set("x", "1")
        with open(fp, "w") as f:
            f.write("fsync\n")
        err, took = timed(lambda: node.client(timeout=DOWN_MS / 1000.0).set("y", "2"))
        assert err is not None, "write acknowledged although its fsync failed"
        assert took < 2.0, took
        wait_failed(node)
        err, took = timed(lambda: node.client().set("z", "3"))
        assert err is not None and err.startswith("storage failure"), err
        assert node.stop() == 0
        os.remove(fp)
        node.start()
        node.wait_serving()
        assert node.client().get("x") in ("1", b"1")
    finally:
        node.stop()
        assert not node.alive()
    assert "Assertion" not in node.log() and "SYN_ASSERT" not in node.log(), node.log()[-3000:]
