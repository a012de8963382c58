"""What must wait for an fsync does (docs/consensus.md "Durability rule", node_sync.c): a
follower acknowledges an entry only after its own fdatasync returned, and the leader counts its
own copy toward the commit quorum only after its fdatasync returned. With one of three nodes
stopped, the write's quorum is the leader and the one live follower; the test failpoint
SYNOD_FAILPOINT_FSYNC_STALL=<path> makes every WAL fsync of a node hang while <path> exists
(docs/testing-faults.md). A write acknowledged while the fsync of either of the two hangs was
acknowledged before a majority had it on disk: a power loss of those two would lose it."""

import os
import sys
import threading
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodCluster, connect, resp_command, resp_replies, wait_for  # noqa: E402

STALL_S = 1.2  # how long the write is given while the fsync hangs


@pytest.fixture
def stall_cluster(tmp_path):
    made = []

    def make():
        c = SynodCluster(tmp_path / "c", 3)
        os.makedirs(c.tmp_dir, exist_ok=True)
        stalls = c.fsync_stall_files()
        made.append((c, stalls))
        return c.start(), stalls

    yield make
    bad = []
    for c, stalls in made:
        for p in stalls.values():
            if os.path.exists(p):
                os.remove(p)
        for node in c.nodes:
            if node.paused:
                node.resume()
        for node, rc in c.stop():
            if rc not in (0, None) and not node.expect_unclean_exit:
                bad.append((node.name, rc, node.log()[-3000:]))
    assert not bad, bad


def _write(leader, key, timeout):
    """SET key through the leader with a short socket timeout: 'OK' if acknowledged in time,
    else the error (a timeout, or TRYAGAIN once the leader stepped down)."""
    r = leader.client(timeout=timeout)
    try:
        return "OK" if r.set(key, "1") else "not set"
    except (redis.TimeoutError, redis.ConnectionError, redis.ResponseError) as e:
        return f"error: {e!r}"
    finally:
        r.close()


def write_during_stall(leader):
    return _write(leader, "k", STALL_S)


def setup_two_live(c):
    ld = c.wait_leader()
    ld.client().set("warm", "1")
    fol_a, fol_b = [n for n in c.nodes if n is not ld]
    wait_for(lambda: c.stale_get(fol_a, ["warm"]) in (["1"], [b"1"]), 10, what="warm on a")
    fol_b.pause()  # the quorum is now the leader and fol_a
    return ld, fol_a, fol_b


def write_while_fsync_hangs(stall_cluster, which):
    """With the third node stopped, hangs the fsync of `which` ("leader" or "follower": the
    live one) and writes through the leader; after the stall the cluster must recover.
    Returns what the write got."""
    c, stalls = stall_cluster()
    ld, fol_a, fol_b = setup_two_live(c)
    stalled = ld if which == "leader" else fol_a
    with open(stalls[stalled.id], "w") as f:
        f.write("stall\n")
    got = write_during_stall(ld)
    os.remove(stalls[stalled.id])
    fol_b.resume()
    wait_for(lambda: _set_ok(c, "after", "1"), 20, what="a write after the stall")
    return got


def test_follower_acknowledges_only_after_its_fsync(stall_cluster):
    got = write_while_fsync_hangs(stall_cluster, "follower")
    assert got != "OK", "write acknowledged while the only live follower's fsync hung"


def test_leader_counts_itself_only_after_its_fsync(stall_cluster):
    got = write_while_fsync_hangs(stall_cluster, "leader")
    assert got != "OK", "write acknowledged while the leader's own fsync hung"


def _set_ok(c, k, v):
    try:
        ld = c.leader()
        return ld is not None and ld.client(timeout=2.0).set(k, v)
    except redis.RedisError:
        return False


def test_deposed_leader_holds_its_messages_until_its_fsync(stall_cluster):
    """The leader's fsync hangs with a write in flight (its sync is pending on the storage
    thread), then leadership is handed to the live follower: the old leader's vote and its
    acknowledgements to the new leader wait behind that sync (node_sync.c, held messages), so
    no write may be acknowledged until its disk answers: with the third node stopped, the new
    leader's only quorum partner is the old leader. Fails with held messages sent at once."""
    c, stalls = stall_cluster()
    ld, fol_a, fol_b = setup_two_live(c)
    with open(stalls[ld.id], "w") as f:
        f.write("stall\n")
    first = []
    t = threading.Thread(target=lambda: first.append(write_during_stall(ld)), daemon=True)
    t.start()  # an entry whose sync hangs: the old leader's later messages queue behind it
    try:
        r = ld.client(timeout=2.0)
        try:
            r.execute_command("SYNOD", "TRANSFER-LEADER", str(fol_a.id))
        except redis.RedisError:
            pass  # refused or timed out: the writes below must fail either way
        acked = []
        for node in (fol_a, ld, fol_a):
            got = write_during_stall(node)
            if got == "OK":
                acked.append(node.name)
        t.join(STALL_S + 2)
    finally:
        os.remove(stalls[ld.id])
        fol_b.resume()
    assert first and first[0] != "OK", f"write acknowledged while the leader's fsync hung: {first}"
    assert not acked, f"writes acknowledged through {acked} while the old leader's fsync hung"
    wait_for(lambda: _set_ok(c, "after", "1"), 20, what="a write after the stall")


def _stall_count(path, k):
    """Let k more fsyncs of the node through, then stall again (the failpoint's count form)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{k}\n")
    os.replace(tmp, path)


def _quorum_and_later(c, ld, r):
    """Writes through r until the leader's commit quorum waits for one follower; returns that
    follower and the other one (which syncs later)."""
    picked = []

    def one_picked():
        for i in range(20):
            r.set(f"warm:{i}", i)
        picked[:] = ld.info()["commit_waits_for"].split(",")
        return len(picked) == 1

    wait_for(one_picked, 10, what="the leader waiting for one follower")
    quorum = next(n for n in c.nodes if str(n.id) == picked[0])
    return quorum, next(n for n in c.nodes if n is not ld and n is not quorum)


def _stat(node, key):
    """An INFO consensus counter of node, asked again until the node answers (on a loaded
    machine one INFO may take over info()'s 1 s: None then)."""
    deadline = time.monotonic() + 10
    while True:
        inf = node.info(timeout=2.0)
        if inf is not None:
            return int(inf[key])
        assert time.monotonic() < deadline, f"{node.name} answers no INFO"


def _later_follower_hangs(stall_cluster):
    """A cluster whose leader commits with one follower (quorum) while the other (later), which
    has the 20 warm-up writes, hangs in its next fsync: (c, stalls, leader, its client, quorum,
    later)."""
    c, stalls = stall_cluster()
    ld = c.wait_leader()
    r = ld.client()
    quorum, later = _quorum_and_later(c, ld, r)
    wait_for(lambda: c.stale_get(later, ["warm:19"]) in (["19"], [b"19"]), 10, what="warm")
    _stall_count(stalls[later.id], 0)  # its next fsync hangs
    return c, stalls, ld, r, quorum, later


def test_follower_releases_each_ack_only_after_its_own_sync(stall_cluster):
    """Two syncs in flight on a follower's storage thread: the first returns, the second hangs.
    The acknowledgement held for the second must stay held (node_sync.c: a held message leaves
    once the sync of its own ticket returned, not an earlier one). The follower outside the
    leader's commit quorum (it syncs later: on its storage thread) gets W1 and its fsync hangs;
    the quorum follower is stopped, so W2 needs that follower; then exactly one fsync (W1's) is
    let through while the next (W2's) hangs: W2 must not be acknowledged. Fails when held
    messages of the next ticket leave with the previous one's sync."""
    c, stalls, ld, r, quorum, later = _later_follower_hangs(stall_cluster)
    reqs0 = _stat(later, "wal_sync_requests")
    fsyncs0 = _stat(later, "wal_fsyncs")
    assert r.set("w1", "1")  # leader + quorum follower; `later` syncs it on its thread: hangs
    wait_for(lambda: _stat(later, "wal_sync_requests") > reqs0, 5, what="W1's sync asked")
    time.sleep(0.1)  # past the 2 ms a later sync may wait: the thread is in the hung fsync
    quorum.pause()  # from here the leader has one election timeout (>= 240 ms) to commit W2
    reqs1 = _stat(later, "wal_sync_requests")
    second = []
    t = threading.Thread(target=lambda: second.append(_write(ld, "w2", 3.0)), daemon=True)
    t.start()
    try:
        wait_for(lambda: _stat(later, "wal_sync_requests") > reqs1, 5, interval=0.005,
                 what="W2's sync asked")
        _stall_count(stalls[later.id], 1)  # W1's fsync returns; W2's hangs
        wait_for(lambda: _stat(later, "wal_fsyncs") == fsyncs0 + 1, 5, interval=0.005,
                 what="exactly the first fsync returned")
        time.sleep(0.5)
        early = list(second)
        assert _stat(later, "wal_fsyncs") == fsyncs0 + 1
    finally:
        os.remove(stalls[later.id])
        quorum.resume()
    t.join(5)
    assert "OK" not in early, f"W2 acknowledged while no follower had synced it: {early}"
    wait_for(lambda: _set_ok(c, "after", "1"), 20, what="a write after the stall")




def test_leader_counts_each_entry_only_after_its_own_sync(stall_cluster):
    """Two syncs in flight on the leader's storage thread: the first (W1's) returns, the second
    (W2's) hangs. The one live follower acknowledges both, so W2 commits as soon as the leader
    counts its own copy: that must wait for W2's own sync (node_sync.c on_done: a pending
    persisted report leaves with the sync of its ticket, not an earlier one). Fails when the
    leader reports the next ticket's entries persisted with the previous sync."""
    c, stalls = stall_cluster()
    ld, fol_a, fol_b = setup_two_live(c)
    _stall_count(stalls[ld.id], 0)  # the leader's next fsync hangs
    reqs0 = _stat(ld, "wal_sync_requests")
    fsyncs0 = _stat(ld, "wal_fsyncs")
    first, second = [], []
    t1 = threading.Thread(target=lambda: first.append(_write(ld, "w1", 8.0)), daemon=True)
    t2 = threading.Thread(target=lambda: second.append(_write(ld, "w2", 4.0)), daemon=True)
    try:
        t1.start()
        wait_for(lambda: _stat(ld, "wal_sync_requests") > reqs0, 5, interval=0.005,
                 what="W1's sync asked")
        time.sleep(0.1)  # the storage thread is in W1's hung fsync
        reqs1 = _stat(ld, "wal_sync_requests")
        t2.start()
        wait_for(lambda: _stat(ld, "wal_sync_requests") > reqs1, 5, interval=0.005,
                 what="W2's sync asked")
        time.sleep(0.1)  # fol_a has acknowledged W2 meanwhile
        _stall_count(stalls[ld.id], 1)  # W1's fsync returns; W2's hangs
        wait_for(lambda: _stat(ld, "wal_fsyncs") == fsyncs0 + 1, 5, interval=0.005,
                 what="exactly the first fsync returned")
        time.sleep(0.5)
        early = list(second)
        assert _stat(ld, "wal_fsyncs") == fsyncs0 + 1
        t1.join(8)
        assert first == ["OK"], f"W1 (its sync returned) was not acknowledged: {first}"
    finally:
        os.remove(stalls[ld.id])
        fol_b.resume()
    t2.join(5)
    assert "OK" not in early, f"W2 acknowledged before the leader's sync of it returned: {early}"
    wait_for(lambda: _set_ok(c, "after", "1"), 20, what="a write after the stall")


LIB = "#!lua name=lib\nredis.register_function('f', function(keys, args) return '%s' end)"


def test_fcall_through_a_lagging_follower_runs_the_acknowledged_library(stall_cluster):
    """A follower whose fsync hangs applies nothing (it applies only what it has on disk), so
    its function library falls behind. FUNCTION LOAD REPLACE through it is relayed and
    acknowledged (the leader and the other follower have it); an FCALL through it right after
    must run the new function (docs/scripting.md "The prelude": a follower relays an FCALL for
    the leader to run its prelude). Seen failing (it answered the old function's result, a stale
    read of the library) with the follower running the prelude itself."""
    c, stalls = stall_cluster()
    ld = c.wait_leader()
    r0 = ld.client()
    assert r0.execute_command("FUNCTION", "LOAD", LIB % "v1") == "lib"
    # the follower outside the commit quorum syncs on its storage thread (the other syncs in
    # its loop: a hung fsync would stop it all)
    fol = _quorum_and_later(c, ld, r0)[1]
    wait_for(lambda: fol.client().execute_command("FCALL", "f", "0") == "v1", 10, what="v1")
    _stall_count(stalls[fol.id], 0)  # its next fsync hangs: it applies nothing new
    got = []
    try:
        r = fol.client(timeout=10)
        assert r.execute_command("FUNCTION", "LOAD", "REPLACE", LIB % "v2") == "lib"
        # it cannot run the new function before it has applied it: the FCALL waits
        t = threading.Thread(target=lambda: got.append(r.execute_command("FCALL", "f", "0")),
                             daemon=True)  # fmt: skip
        t.start()
        time.sleep(0.5)
        early = list(got)
    finally:
        os.remove(stalls[fol.id])
    t.join(10)
    assert early in ([], ["v2"]), f"FCALL answered from a stale library: {early}"
    assert got == ["v2"]
    assert fol.client().execute_command("FCALL", "f", "0") == "v2"


def test_auth_through_a_lagging_follower_sees_an_acknowledged_password(stall_cluster):
    """AUTH on a follower reads its users, which may be behind a password change already
    acknowledged (here through that follower, whose fsync hangs so that it applies nothing).
    Its AUTH first passes a ReadIndex gate (node.c route_cmd), so it waits until the follower
    has applied the change, then accepts the new password. Seen failing without the gate: the
    AUTH with the new password answered WRONGPASS at once."""
    c, stalls = stall_cluster()
    ld = c.wait_leader()
    r0 = ld.client()
    assert r0.execute_command("ACL", "SETUSER", "al", "on", ">old", "+@all", "~*") == "OK"
    fol = _quorum_and_later(c, ld, r0)[1]  # its fsync may hang: the commits go on without it
    wait_for(lambda: fol.client().execute_command("AUTH", "al", "old") in (True, "OK"), 10,
             what="al on the follower")  # fmt: skip
    _stall_count(stalls[fol.id], 0)  # its next fsync hangs: it applies nothing new
    got = []
    try:
        r = fol.client(timeout=10)
        assert r.execute_command("ACL", "SETUSER", "al", "resetpass", ">new") == "OK"

        def auth():
            try:
                got.append(fol.client(timeout=10).execute_command("AUTH", "al", "new"))
            except redis.RedisError as e:
                got.append(str(e))

        t = threading.Thread(target=auth, daemon=True)
        t.start()
        time.sleep(0.5)
        early = list(got)
    finally:
        os.remove(stalls[fol.id])
    t.join(10)
    assert early in ([], [True], ["OK"]), f"AUTH answered from stale users: {early}"
    assert got in ([True], ["OK"]), got


def test_info_on_a_follower_whose_disk_hangs_answers(stall_cluster):
    """INFO on a follower passes the ReadIndex gate (docs/server.md INFO), which waits for the
    node to apply what the leader committed; a follower whose fsync hangs applies nothing, so
    INFO waits 500 ms at most (NODE_INFO_GATE_MS) and answers from what it has (without the
    write it has not applied). INFO consensus (the node's own state) does not wait at all."""
    c, stalls, ld, r, quorum, later = _later_follower_hangs(stall_cluster)
    assert r.set("w1", "1")  # committed by the leader and the quorum follower
    for section in (None, "keyspace", "consensus"):
        conn = later.conn(5.0)
        try:
            t = time.monotonic()
            reply = conn.call("INFO") if section is None else conn.call("INFO", section)
            took = time.monotonic() - t
        finally:
            conn.close()
        reply = reply.decode() if isinstance(reply, bytes) else reply
        assert reply and reply.startswith("#"), f"INFO {section}: {reply!r}"
        limit = 0.1 if section == "consensus" else 2.0
        assert took < limit, f"INFO {section} on a follower with a hung disk took {took:.3f} s"
        if section == "keyspace":
            assert 0.4 <= took, f"INFO keyspace did not wait for the gate ({took:.3f} s)"
            assert "keys=20," in reply, reply  # the warm keys, not w1
    _stall_count(stalls[later.id], 1000)


def test_a_subscribers_publish_through_a_follower_still_applying_waits_for_its_message(
        stall_cluster):
    """A RESP3 subscriber PUBLISHes through a follower to a channel it listens to: as on one
    Redis, its own message comes before the reply. The leader commits the entry with the other
    follower and answers at once; this follower, whose fsync hangs, applies it only when its disk
    answers (1.5 s later, past the 1 s a reply is held for when no entry seems to come): the
    reply must wait for the message, since the follower hears its leader and knows the entry is
    committed (node.c node_before_sleep). Fails when the reply is released after 1 s whatever the
    follower still has to apply."""
    c, stalls, ld, r, quorum, later = _later_follower_hangs(stall_cluster)
    s = connect(later.host, later.port, timeout=5.0)
    try:
        s.sendall(resp_command("HELLO", "3"))
        assert len(resp_replies(s, 1, 5.0)) == 1
        s.sendall(resp_command("SUBSCRIBE", "ch"))
        assert resp_replies(s, 1, 5.0) == [["subscribe", "ch", 1]]
        s.sendall(resp_command("PUBLISH", "ch", "hi"))
        early = resp_replies(s, 1, 1.5)
        _stall_count(stalls[later.id], 1000)
        got = early + resp_replies(s, 2 - len(early), 5.0)
    finally:
        s.close()
    assert got == [["message", "ch", "hi"], 1], f"the subscriber's own message after its reply: {got}"
