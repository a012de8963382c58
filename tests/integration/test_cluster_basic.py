"""The replicated node's own behaviour (issue 4), beyond the fault tests of cluster/:
single-node durability through the WAL, SYNOD commands, forwarding (RESP2 and RESP3), stale
reads, replicated expiry, snapshots + restart, membership change, the cluster-id handshake."""

import os
import signal
import socket
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodNode, free_ports, wait_for  # noqa: E402


def _read_until(s, tail):
    buf = b""
    deadline = time.monotonic() + 10
    while not buf.endswith(tail) and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    assert buf.endswith(tail), buf
    return buf


def test_single_node_survives_kill9(synod_server, tmp_path):
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d)
    r = p.client(decode_responses=True)
    r.set("a", "1")
    r.incr("ctr")
    r.incr("ctr")
    r.set("ttl", "x", ex=1000)
    r.hset("h", mapping={"f": "v"})
    os.kill(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.expect_unclean_exit = True
    p2 = synod_server("--data-dir", d)
    r2 = p2.client(decode_responses=True)
    assert r2.get("a") == "1" and r2.get("ctr") == "2" and r2.hgetall("h") == {"f": "v"}
    assert 990 <= r2.ttl("ttl") <= 1000
    info = r2.info("consensus")
    assert info["role"] == "leader" and int(info["last_applied"]) >= 5


def test_single_node_snapshot_and_restart(synod_server, tmp_path):
    d = str(tmp_path / "data")
    p = synod_server("--data-dir", d)
    r = p.client(decode_responses=True)
    for i in range(200):
        r.set(f"k{i}", i)
    assert r.execute_command("SYNOD", "SNAPSHOT") == "OK"
    r.set("after", "snap")
    assert any(f.endswith(".snap") for f in os.listdir(d))
    assert int(r.info("consensus")["snapshot_index"]) >= 200
    r.close()
    assert p.stop() == 0
    r2 = synod_server("--data-dir", d).client(decode_responses=True)
    assert r2.get("k199") == "199" and r2.get("after") == "snap" and r2.dbsize() == 201


def test_synod_commands_and_info(cluster):
    c = cluster()
    ld = c.wait_leader()
    fol = next(n for n in c.nodes if n is not ld)
    r = fol.client()
    assert r.execute_command("SYNOD", "CONSISTENCY") == "linearizable"
    assert r.execute_command("SYNOD", "CONSISTENCY", "lease") == "OK"
    assert r.execute_command("SYNOD", "CONSISTENCY") == "lease"
    with pytest.raises(redis.ResponseError, match="linearizable, lease or stale"):
        r.execute_command("SYNOD", "CONSISTENCY", "bogus")
    with pytest.raises(redis.ResponseError, match="SYNOD HELP"):
        r.execute_command("SYNOD", "NOPE")
    for n in c.nodes:
        inf = n.info()
        for k in ("node_id", "role", "term", "leader_id", "leader_addr", "commit_index",
                  "last_applied", "members"):
            assert k in inf, (k, inf)
        assert inf["leader_id"] == str(ld.id)
        assert inf["leader_addr"] == f"{ld.host}:{ld.port}"
        assert inf["role"] == ("leader" if n is ld else "follower")
    members = r.execute_command("SYNOD", "MEMBER", "LIST")
    assert sorted(int(m[0]) for m in members) == [1, 2, 3]


def test_follower_forwards_resp2_and_resp3(cluster):
    c = cluster()
    ld = c.wait_leader()
    fol = next(n for n in c.nodes if n is not ld)
    r2 = fol.client()
    assert r2.set("k", "v") and r2.get("k") == "v"
    assert r2.incr("n") == 1
    r2.hset("h", mapping={"a": "1", "b": "2"})
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r2.incr("h")
    # RESP3 through the follower: replies (a map, a null) are relayed verbatim
    with socket.create_connection((fol.host, fol.port), timeout=10) as s:
        s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
        _read_until(s, b"*0\r\n")  # HELLO ends with modules: an empty array
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        _read_until(s, b"+PONG\r\n")
        s.sendall(b"*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n")
        got = _read_until(s, b"_\r\n")
        assert got.startswith(b"%2\r\n") and b"$1\r\na\r\n$1\r\n1\r\n" in got, got
    p = r2.pipeline(transaction=False)
    for i in range(500):
        p.set(f"p{i}", i)
        p.get(f"p{i}")
    out = p.execute()
    assert out == [x for i in range(500) for x in (True, str(i))]


def test_stale_reads_and_replicated_expiry(cluster):
    c = cluster()
    ld = c.wait_leader()
    fols = [n for n in c.nodes if n is not ld]
    lr = ld.client()
    lr.set("gone", "x", px=300)
    lr.set("stay", "y")
    for f in fols:
        fr = f.client()
        assert fr.execute_command("READONLY") in ("OK", True)
        wait_for(lambda: fr.get("stay") == "y", 10, what="stale read on a follower")
        # only the leader expires, and its DEL reaches the followers through the log
        wait_for(lambda: fr.dbsize() == 1, 10, what=f"expiry replicated to node{f.id}")
        assert fr.execute_command("READWRITE") in ("OK", True)


def test_transfer_leader_and_restart_after_snapshot(cluster):
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    for i in range(300):
        r.set(f"s{i}", i)
    assert r.execute_command("SYNOD", "SNAPSHOT") == "OK"
    victim = next(n for n in c.nodes if n is not ld)
    victim.kill()
    for i in range(300, 400):
        r.set(f"s{i}", i)
    target = next(n for n in c.nodes if n is not ld and n is not victim)
    assert r.execute_command("SYNOD", "TRANSFER-LEADER", str(target.id)) == "OK"
    wait_for(lambda: c.leader() is target, 10, what="the transfer")
    victim.start()
    victim.wait_serving()
    vr = victim.client()
    wait_for(lambda: vr.get("s399") == "399", 15, what="the restarted node to catch up")
    assert vr.get("s0") == "0"


def test_member_add_and_remove(cluster, tmp_path):
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    for i in range(50):
        r.set(f"m{i}", i)
    assert r.execute_command("SYNOD", "SNAPSHOT") == "OK"
    cport, pport = free_ports(2)
    cl = ",".join(f"{n.id}=127.0.0.1:{n.peer_port}" for n in c.nodes)
    new = SynodNode(4, "127.0.0.1", cport, pport, str(tmp_path / "n4"), str(tmp_path / "n4.log"),
                    cluster_arg=cl, extra_args=("--join", "1"))
    new.start()
    try:
        new.wait_serving()
        follower = next(n for n in c.nodes if n is not ld)
        assert follower.client().execute_command(
            "SYNOD", "MEMBER", "ADD", "4", f"127.0.0.1:{pport}") == "OK"

        def voter():
            ms = r.execute_command("SYNOD", "MEMBER", "LIST")
            return any(int(m[0]) == 4 and m[2] in (b"voter", "voter") for m in ms)

        wait_for(voter, 15, what="node 4 promoted to voter")
        nr = new.client()
        assert nr.execute_command("READONLY") in ("OK", True)
        wait_for(lambda: nr.get("m49") == "49", 10, what="node 4 caught up")
        assert r.execute_command("SYNOD", "MEMBER", "REMOVE", "4") == "OK"
        ms = r.execute_command("SYNOD", "MEMBER", "LIST")
        assert sorted(int(m[0]) for m in ms) == [1, 2, 3]
    finally:
        assert new.stop() == 0


def test_node_of_another_cluster_is_refused(cluster, tmp_path):
    c = cluster()
    c.wait_leader()
    cport, pport = free_ports(2)
    cl = ",".join(f"{n.id}=127.0.0.1:{n.peer_port}" for n in c.nodes) + f",9=127.0.0.1:{pport}"
    other = SynodNode(9, "127.0.0.1", cport, pport, str(tmp_path / "n9"), str(tmp_path / "n9.log"),
                      cluster_arg=cl, extra_args=("--cluster-id", "other"))
    other.start()
    try:
        wait_for(lambda: "belongs to cluster" in other.log(), 10, what="the refusal in the log")
        assert "'other'" in other.log() and "'synod'" in other.log()
    finally:
        assert other.stop() == 0


@pytest.mark.parametrize("level", ["linearizable", "lease"])
def test_pipelined_reads_on_the_leader_keep_order(cluster, level):
    """A client's pipelined reads share ReadIndex rounds (10,000 pipelined GETs: 0.49 s -> 0.045 s
    on the leader) and their replies still come back in request order, interleaved correctly
    with its writes."""
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    assert r.execute_command("SYNOD", "CONSISTENCY", level) in ("OK", True)
    p = r.pipeline(transaction=False)
    expect = []
    for i in range(300):
        if i % 50 == 0:
            p.set("k", i)
            expect.append(True)
        p.get("k")
        expect.append(str(i - i % 50))
        p.get(f"missing{i}")
        expect.append(None)
        p.incr("ctr")
        expect.append(i + 1)
    assert p.execute() == expect
    p = r.pipeline(transaction=False)
    for i in range(2000):
        p.get("k")
        if i == 1000:
            p.set("k", "x")
    assert p.execute() == ["250"] * 1001 + [True] + ["x"] * 999


def test_multi_exec_through_leader_and_follower(cluster):
    """MULTI/EXEC is one log entry: applied whole on every node, with a client's transaction
    relayed from a follower as one unit (other clients of that follower interleave around it,
    never inside it). redis-py's default pipeline is a transaction."""
    c = cluster()
    ld = c.wait_leader()
    fol = next(n for n in c.nodes if n is not ld)
    for node in (ld, fol):
        r = node.client()
        p = r.pipeline()  # transaction=True: MULTI ... EXEC
        p.set(f"t:{node.id}", "1").incr(f"t:{node.id}").get(f"t:{node.id}").hset("th", node.id, 1)
        assert p.execute() == [True, 2, "2", 1]
    # many transactions from several clients of the follower at once: each one whole
    import threading

    def worker(i):
        r = fol.client()
        for j in range(30):
            p = r.pipeline()
            p.set(f"tx:{i}", j).incr("tx:ctr").get(f"tx:{i}")
            out = p.execute()
            assert out[0] is True and out[2] == str(j), out

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for node in c.nodes:
        rr = node.client()
        assert rr.execute_command("READONLY") in ("OK", True)
        wait_for(lambda: rr.get("tx:ctr") == "120", 10, what=f"node{node.id} applied everything")
        assert rr.hgetall("th") == {str(ld.id): "1", str(fol.id): "1"}
