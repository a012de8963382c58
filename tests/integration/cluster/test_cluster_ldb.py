"""The Lua debugger on a cluster (SCRIPT DEBUG YES, redis-cli --ldb; src/server/ldb.c): a
session runs in a forked child of the node the client is connected to. It sees every write
acknowledged before its EVAL (a follower's EVAL first passes the ReadIndex gate), its writes
reach no replica (every node ends with the same digest, without them), the node keeps serving
and the leader keeps leading while someone steps through a script, a session whose client goes
away ends, and a node stopped during a session exits cleanly."""

import os
import socket
import time

import redis

from harness import assert_same_digest, late_follower, resp_command as _cmd, wait_for

SCRIPT = b"local v = redis.call('get', KEYS[1])\nredis.call('set', 'written-in-session', 'x')\nreturn v\n"


def _open_session(node, key):
    """SCRIPT DEBUG YES and the EVAL of SCRIPT on key: the socket, stopped at line 1 (what the
    first stop sent has been read)."""
    s = socket.create_connection((node.host, node.port), timeout=10)
    s.sendall(_cmd("SCRIPT", "DEBUG", "YES"))
    assert s.recv(5) == b"+OK\r\n"
    s.sendall(_cmd("EVAL", SCRIPT, 1, key))
    got = b""
    while b"-> 1 " not in got:
        chunk = s.recv(65536)
        assert chunk, got
        got += chunk
    return s


def _finish(s):
    """'c' (continue): everything the session sends until it closes the connection."""
    s.sendall(_cmd("c"))
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return got
        got += chunk


def _children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except OSError:
                pass
    return kids


def test_session_on_a_follower_sees_acknowledged_writes_and_writes_nothing(make_cluster):
    """Through the follower the leader does not wait for (it syncs 30 ms late), a session's
    EVAL reads the value just acknowledged through the leader; the SET the script does in the
    session is on no node afterwards, and every node has the same digest."""
    c = make_cluster(3, env={"SYNOD_TEST_SYNC_LATER_US": "30000"})
    leader = c.wait_leader()
    rl = redis.Redis(host=leader.host, port=leader.port)
    f = late_follower(c, leader)
    for i in range(3):
        rl.set(f"acked{i}", f"v{i}")
        s = _open_session(f, f"acked{i}")
        try:
            got = _finish(s)
        finally:
            s.close()
        assert got.endswith(b"+<endsession>\r\n$2\r\nv%d\r\n" % i), got[-200:]
    rl.set("last", "1")
    vals = c.wait_converged(["last", "written-in-session"])  # read on every node
    assert vals["written-in-session"] is None, vals
    assert_same_digest(c, "after debugging sessions")


def test_a_session_stops_no_node(make_cluster):
    """A session held at a stop on the leader for three election timeouts: the leader keeps
    its term and its clients' writes go on, and once the client goes away the session's child
    is gone. A session left open on a follower does not keep that node from stopping cleanly
    (the fixture checks every exit status)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    term = leader.info()["term"]
    rl = redis.Redis(host=leader.host, port=leader.port, socket_timeout=5)
    rl.set("k", "v")
    s = _open_session(leader, "k")
    try:
        deadline = time.monotonic() + 3.0
        n = 0
        while time.monotonic() < deadline:
            assert rl.incr("counter") == n + 1
            n += 1
            time.sleep(0.02)
        assert leader.info()["term"] == term and c.wait_leader() is leader
        assert len(_children(leader.pid)) == 1
    finally:
        s.close()
    wait_for(lambda: not _children(leader.pid), 5, what="the session's child to end")
    f = next(n for n in c.nodes if n is not leader)
    held = _open_session(f, "k")  # still stopped at line 1 when the cluster is stopped
    try:
        for node, rc in c.stop(timeout=10):
            assert rc == 0, (node.name, rc, node.log()[-2000:])
        held.settimeout(5)
        assert held.recv(100) == b""  # its child died with the node
    finally:
        held.close()
