"""Automatic (background, forked) snapshots and the log read back from the WAL: a node keeps no
copy of its log or snapshot in memory, so restarts, lagging followers and snapshot transfers
must all work from the files (issue 2's memory/throughput work; issue 4's catch-up paths)."""

import os
import signal
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import wait_for  # noqa: E402


def _fill(r, prefix, n, batch=500):
    for lo in range(0, n, batch):
        p = r.pipeline(transaction=False)
        for i in range(lo, min(n, lo + batch)):
            p.set(f"{prefix}{i}", i)
        p.execute()


def _consensus(r):
    return {k: str(v) for k, v in r.info("consensus").items()}


def _snap_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".snap"))


def test_background_snapshots_then_kill9_restart(synod_server, tmp_path):
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d, "--snapshot-count", "1000")
    r = p.client(decode_responses=True)
    _fill(r, "k", 5000)
    r.hset("h", mapping={"f": "v"})
    # taken in a child process, without SYNOD SNAPSHOT
    wait_for(lambda: int(r.info("consensus")["snapshot_index"]) >= 1000, 10,
             what="an automatic snapshot")
    # older ones are deleted (just after the newer one is in place: wait out that window, and
    # the writes above may still be completing a later snapshot)
    wait_for(lambda: len(_snap_files(d)) == 1, 10,
             what=lambda: f"one snapshot file: {os.listdir(d)}")
    info = r.info("consensus")
    assert int(info["snapshot_bytes"]) > 1000 * 5 and int(info["snapshot_in_progress"]) in (0, 1)
    assert int(info["entries_since_snapshot"]) < 5000
    assert "background snapshot" not in p.log()  # no failure reported
    # the fork's pause is reported as Redis reports BGSAVE's (INFO stats latest_fork_usec)
    stats = r.info("stats")
    assert stats["total_forks"] >= 1 and stats["latest_fork_usec"] > 0, stats
    late = 0  # writes until another snapshot forks (one may be running: it covers fewer)
    while r.info("stats")["total_forks"] < stats["total_forks"] + 1 and late < 20000:
        _fill(r, f"late{late}-", 500)
        late += 500
        time.sleep(0.05)
    assert r.info("stats")["total_forks"] > stats["total_forks"], "no other background snapshot"
    _fill(r, "after", 100)
    os.kill(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.expect_unclean_exit = True
    p2 = synod_server("--data-dir", d, "--snapshot-count", "1000")
    r2 = p2.client(decode_responses=True)
    assert r2.dbsize() == 5101 + late
    assert r2.get("k0") == "0" and r2.get("k4999") == "4999" and r2.get("after99") == "99"
    assert r2.hgetall("h") == {"f": "v"}


def test_snapshot_count_is_runtime_config(synod_server):
    p = synod_server()
    r = p.client(decode_responses=True)
    assert r.config_get("snapshot-count") == {"snapshot-count": "1000000"}
    assert r.config_set("snapshot-count", "200")
    _fill(r, "x", 1000)
    wait_for(lambda: int(r.info("consensus")["snapshot_index"]) > 0, 10, what="a snapshot")
    with pytest.raises(Exception, match="snapshot-count"):
        r.config_set("snapshot-count", "0")


def test_lagging_follower_catches_up_from_the_wal(cluster):
    # 6000 entries behind: more than the consensus core keeps in memory (4096), fewer than a
    # snapshot interval, so the leader reads them back from its WAL segments
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    victim = next(n for n in c.nodes if n is not ld)
    victim.kill()
    _fill(r, "w", 6000)
    assert int(_consensus(r)["snapshot_index"]) == 0
    victim.start()
    victim.wait_serving()
    vr = victim.client()
    assert vr.execute_command("READONLY") in ("OK", True)
    wait_for(lambda: vr.get("w5999") == "5999", 20, what="the follower to catch up")
    assert vr.get("w0") == "0" and vr.dbsize() == 6000
    assert int(victim.info()["snapshot_index"]) == 0  # it got entries, not a snapshot


def test_a_node_restarted_alone_serves_what_it_had_applied(cluster):
    """A member restarted while the others are down reads its log back up to the commit index it
    stored and applies it at once: stale reads there see what it had applied, with no leader.
    A build that dropped the stored commit at restart (mutant R11, docs/persist-mutants.md)
    served an empty dataset until a leader came."""
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    _fill(r, "a", 100)
    applied = int(_consensus(r)["last_applied"])
    f = next(n for n in c.nodes if n is not ld)
    wait_for(lambda: int((f.info() or {}).get("last_applied", 0)) >= applied, 10,
             what="the follower to apply the writes")
    for n in c.nodes:
        assert n.stop() == 0
    f.start()
    f.wait_serving()
    fr = f.client()
    assert fr.execute_command("READONLY") in ("OK", True)
    wait_for(lambda: fr.get("a99") in ("99", b"99"), 5, what=lambda: f"a99 on {f.info()}")
    assert fr.dbsize() == 100 and int(f.info()["last_applied"]) >= applied


def test_follower_behind_the_snapshot_gets_it_from_the_file(cluster):
    c = cluster(extra_args=("--snapshot-count", "1000"))
    ld = c.wait_leader()
    r = ld.client()
    victim = next(n for n in c.nodes if n is not ld)
    victim.kill()
    _fill(r, "s", 5000)
    wait_for(lambda: int(_consensus(r)["snapshot_index"]) >= 2000, 10, what="leader snapshots")
    victim.start()
    victim.wait_serving()
    vr = victim.client()
    assert vr.execute_command("READONLY") in ("OK", True)
    wait_for(lambda: vr.dbsize() == 5000, 20, what="the follower to catch up")
    assert vr.get("s4999") == "4999"
    assert int(victim.info()["snapshot_index"]) >= 1000  # installed from the leader
    assert "installed the leader's snapshot" in victim.log()


def test_log_stays_small_in_memory(synod_server):
    """100,000 writes with no snapshot in between: the node's memory must not hold the log."""
    p = synod_server("--fsync", "never")
    r = p.client()
    base = _rss_kb(p.pid)
    for lo in range(0, 100000, 2000):
        pl = r.pipeline(transaction=False)
        for i in range(lo, lo + 2000):
            pl.set("same-key", "v" * 200)
        pl.execute()
    grown = _rss_kb(p.pid) - base
    assert int(r.info("consensus")["snapshot_index"]) == 0
    # 100k entries x 230 bytes = 23 MB if the log were kept; allow the core's tail (4096)
    assert grown < 8 * 1024, f"RSS grew by {grown} kB"


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_kill9_during_background_snapshot(synod_server, tmp_path):
    """kill -9 while the snapshot child runs: the child dies with the parent (it holds no lock
    on the data directory), the restart finds the last complete snapshot plus the WAL, and every
    acknowledged write is there."""
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d, "--snapshot-count", "20000")
    r = p.client(decode_responses=True)
    n, caught = 0, False
    while n < 400000 and not caught:
        _fill(r, f"b{n}-", 2000)
        n += 2000
        caught = r.info("consensus")["snapshot_in_progress"] == 1
    assert caught, "no background snapshot seen in progress"
    os.kill(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.expect_unclean_exit = True
    p2 = synod_server("--data-dir", d, "--snapshot-count", "20000")  # must not find it locked
    r2 = p2.client(decode_responses=True)
    assert r2.dbsize() == n
    assert r2.get("b0-0") == "0" and r2.get(f"b{n - 2000}-1999") == "1999"
    # the dead child's unfinished file was removed at startup (the new process may be writing a
    # snapshot of its own right now: the replayed log counts toward snapshot-count)
    wait_for(lambda: r2.info("consensus")["snapshot_in_progress"] == 0, 20,
             what="the restarted node's own background snapshot")
    assert not any(f.startswith("snap-") and f.endswith(".tmp") for f in os.listdir(d)), \
        os.listdir(d)


def test_a_snapshot_that_stops_the_background_one_removes_its_file(synod_server):
    """SYNOD SNAPSHOT while a background snapshot of an older index runs: the child is killed
    and its unfinished file removed at once, not left (a dataset's size of disk) until the next
    restart (mutant S27, docs/persist-mutants.md), nor the child left to write on (S24). The
    child is held with SIGSTOP (by its PID) once its file exists."""
    p = synod_server()
    r = p.client(decode_responses=True)
    r.set("big", "x" * (8 << 20))

    def child_files():
        return [f for f in os.listdir(p.data_dir) if f.startswith("snap-") and f.endswith(".tmp")]

    r.execute_command("BGSAVE")
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as ch:
        child = int(ch.read().split()[0])
    os.kill(child, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 10
        while not child_files():  # let it run in steps of 2 ms until it made its file
            with open(f"/proc/{child}/stat") as st:
                if st.read().split(")")[-1].split()[0] == "Z":
                    pytest.skip("the background snapshot ended before its file was seen")
            assert time.monotonic() < deadline, "no file of the background snapshot"
            os.kill(child, signal.SIGCONT)
            time.sleep(0.002)
            os.kill(child, signal.SIGSTOP)
        r.set("late", 1)  # applied: the snapshot below is of a later index than the child's
        assert r.execute_command("SYNOD", "SNAPSHOT") in ("OK", True)
        assert int(_consensus(r)["snapshot_index"]) > 0
        assert not child_files(), os.listdir(p.data_dir)
        assert not os.path.exists(f"/proc/{child}"), "the background snapshot still runs"
    finally:
        try:
            os.kill(child, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_failed_snapshot_write_keeps_the_log(synod_server, tmp_path):
    """A snapshot that could not be written (its temporary file cannot be created, or the
    finished file cannot be renamed into place: a directory holds the name) changes nothing:
    SAVE answers an error, a BGSAVE child that fails is reported, and in every case the log is
    not compacted (no snapshot index moves). Compacting without the snapshot file would lose
    every write at the next restart (the failed rename was ignored by mutant S23,
    docs/persist-mutants.md)."""
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d, "--snapshot-count", "1000000")
    r = p.client(decode_responses=True)
    _fill(r, "k", 300)
    for cmd, suffix in (("SAVE", ".snap.tmp"), ("BGSAVE", ".snap.tmp"), ("SAVE", ".snap"),
                        ("BGSAVE", ".snap")):
        info = _consensus(r)
        idx, term = int(info["last_applied"]), int(info["term"])
        assert idx >= 300 and info["snapshot_index"] == "0", info
        blockers = [os.path.join(d, "snap-%016x-%016x%s" % (term, i, suffix))
                    for i in range(idx, idx + 20)]
        for b in blockers:
            os.mkdir(b)
        if cmd == "SAVE":
            with pytest.raises(redis.ResponseError):
                r.execute_command("SAVE")
        else:
            failed = p.log().count("did not complete")
            r.execute_command("BGSAVE")
            wait_for(lambda: p.log().count("did not complete") > failed and
                     _consensus(r)["snapshot_in_progress"] == "0", 10,
                     what="the failed background snapshot reported")
        for b in blockers:
            os.rmdir(b)
        assert _consensus(r)["snapshot_index"] == "0", cmd
        assert not _snap_files(d)
    os.kill(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.expect_unclean_exit = True
    p2 = synod_server("--data-dir", d)
    r2 = p2.client(decode_responses=True)
    assert r2.dbsize() == 300
    assert r2.get("k0") == "0" and r2.get("k299") == "299"


def test_follower_installing_a_snapshot_counts_it_applied(cluster):
    """A follower that installed the leader's snapshot has applied everything in it (INFO
    last_applied, and what waits for the applied index: a read through it) even when no entry
    follows the snapshot to move its applied index on."""
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    victim = next(n for n in c.nodes if n is not ld)
    victim.kill()
    _fill(r, "s", 3000)
    assert r.execute_command("SYNOD", "SNAPSHOT") in ("OK", b"OK")
    snap = int(_consensus(r)["snapshot_index"])
    assert snap >= 3000 and snap == int(_consensus(r)["last_applied"])
    victim.start()
    victim.wait_serving()
    wait_for(lambda: "installed the leader's snapshot" in victim.log(), 20,
             what="the follower to install the leader's snapshot")
    wait_for(lambda: int((victim.info() or {}).get("last_applied", 0)) >= snap, 10,
             what=lambda: f"last_applied {snap} on the follower: {victim.info()}")
    vr = victim.client(timeout=5)
    assert vr.get("s2999") in ("2999", b"2999")  # a linearizable read through the follower
    assert vr.dbsize() == 3000
    # and so does a restart from that snapshot (no entry follows it here either); before the fix
    # of R01 (docs/persist-mutants.md): last_applied 0 until the next write
    assert victim.stop() == 0
    victim.start()
    victim.wait_serving()
    wait_for(lambda: int((victim.info() or {}).get("last_applied", 0)) >= snap, 10,
             what=lambda: f"last_applied {snap} after a restart: {victim.info()}")


def test_a_restart_keeps_the_snapshots_own_term(cluster):
    """Nodes restarted from a snapshot taken in an older term than the one they stored since
    (a leader change) still know the snapshot's entry by its own term: a member whose log ends
    exactly at that entry matches it and gets the entries after it, not a needless snapshot."""
    c = cluster()
    ld = c.wait_leader()
    _fill(ld.client(), "t", 100)
    applied = int(_consensus(ld.client())["last_applied"])
    for n in c.nodes:
        wait_for(lambda: int((n.info() or {}).get("last_applied", 0)) >= applied, 10,
                 what=f"node {n.id} to apply {applied}")
        assert n.client().execute_command("SYNOD", "SNAPSHOT") in ("OK", b"OK")
        assert int(n.info()["snapshot_index"]) == applied
    ld.kill()  # its log ends at the snapshot
    others = [n for n in c.nodes if n is not ld]
    new = c.wait_leader(nodes=others, exclude=(ld,))  # a later term
    assert new.client().set("after", "1")
    for n in others:
        assert n.stop() == 0
    for n in others:
        n.start()
    c.wait_leader(nodes=others)
    ld.start()
    ld.wait_serving()
    lr = ld.client()
    assert lr.execute_command("READONLY") in ("OK", True)
    # mutant R05 (docs/persist-mutants.md: the stored term taken as the snapshot's) never got it
    # there: the old leader's entry did not match the term the others gave it
    wait_for(lambda: lr.get("after") in ("1", b"1"), 10, what="the old leader to catch up")
    assert int(ld.info()["snapshots_installed"]) == 0


def test_a_background_snapshot_completing_in_a_later_term_compacts_the_log(cluster):
    """A follower's background snapshot, forked in term 1, completes after a leader change
    brought term 2 and an entry after the snapshot's index: the log is compacted up to the
    snapshot by the snapshot's own term (compacted by the node's term, mutant S30 of
    docs/persist-mutants.md, the WAL's check that the entry kept there is the snapshot's failed
    and the follower died). The child is held with SIGSTOP (by its PID) meanwhile."""
    c = cluster()
    ld = c.wait_leader()
    f = next(n for n in c.nodes if n is not ld)
    r = ld.client()
    for i in range(16):  # 16 MB for the child to write (one 32 MB entry may cost a leader change)
        r.set(f"big{i}", "x" * (1 << 20))
    applied = int(_consensus(r)["last_applied"])
    wait_for(lambda: int((f.info() or {}).get("last_applied", 0)) >= applied, 10,
             what="the follower to apply the write")
    fr = f.client()
    fr.execute_command("BGSAVE")
    with open(f"/proc/{f.pid}/task/{f.pid}/children") as ch:
        children = [int(x) for x in ch.read().split()]
    for pid in children:
        os.kill(pid, signal.SIGSTOP)
    try:
        if f.info()["snapshot_in_progress"] != "1":
            pytest.skip("the background snapshot ended before it could be held")
        ld.kill()
        others = [n for n in c.nodes if n is not ld]

        def write():  # in term 2 (a first election may still be settling)
            try:
                return c.wait_leader(nodes=others, exclude=(ld,)).client().set("after", "1")
            except redis.RedisError:
                return False

        wait_for(write, 10, what="a write after the leader change")
        wait_for(lambda: int((f.info() or {}).get("last_applied", 0)) > applied, 10,
                 what="the follower to apply the new leader's entries")
    finally:
        for pid in children:
            os.kill(pid, signal.SIGCONT)
    wait_for(lambda: (f.info() or {}).get("snapshot_index") == str(applied), 10,
             what=lambda: f"the snapshot at {applied} taken: {f.info()}")
    assert fr.get("after") in ("1", b"1") and f.alive()


def test_snapshots_shrink_the_wal_on_disk(synod_server, monkeypatch):
    """Each snapshot lets the WAL delete the segments it covers: 20,000 overwrites of 100 keys
    (a small dataset, a long log) leave a few segments on disk, not the whole history. Segments
    roll over at 64 KiB here (SYNOD_TEST_WAL_SEGMENT_BYTES) so that the history spans dozens."""
    monkeypatch.setenv("SYNOD_TEST_WAL_SEGMENT_BYTES", "65536")
    p = synod_server("--snapshot-count", "1000")
    r = p.client(decode_responses=True)
    for lo in range(0, 20000, 500):
        pl = r.pipeline(transaction=False)
        for i in range(lo, lo + 500):
            pl.set(f"key{i % 100}", "v" * 100 + str(i))
        pl.execute()
    wait_for(lambda: int(_consensus(r)["snapshot_index"]) >= 15000, 20, what="snapshots")

    def segments():
        return [f for f in os.listdir(p.data_dir) if f.startswith("wal-") and f.endswith(".log")]

    # (covered segments are unlinked by a background thread)
    wait_for(lambda: len(segments()) <= 12, 10,
             what=lambda: f"a short WAL after snapshots: {len(segments())} segments")
    assert r.get("key99") == "v" * 100 + "19999"
