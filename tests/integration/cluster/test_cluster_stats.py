"""INFO commandstats / errorstats and MONITOR on a 3-node cluster (docs/server.md
"Introspection").

A follower relays its clients' writes to the leader and hands the leader's reply back later; the
error in such a reply is charged on the follower to the command it answers (through the
connection's FIFO of pending requests), even with reads and refused requests pipelined around
it. Each node counts what its own connections sent (the leader also counts the relayed commands
on its relay connection, as its commands). MONITOR on a node shows the commands its own clients
sent, not those a follower relayed.
"""

import re
import socket
import time

import pytest
import redis
from harness import resp_command as enc

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=10.0):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=timeout,
                       socket_connect_timeout=2.0, decode_responses=True)  # fmt: skip


def cmdstats(r):
    return {k[len("cmdstat_"):]: (v["calls"], v["rejected_calls"], v["failed_calls"])
            for k, v in r.info("commandstats").items()}  # fmt: skip


def errstats(r):
    out = {}
    for k, v in r.info("errorstats").items():
        out[k[len("errorstat_"):]] = v["count"] if isinstance(v, dict) else int(v.split("=")[1])
    return out


def read_replies(sock, n, timeout=10.0):
    """n simple replies (status, error, integer, bulk) of a raw RESP2 connection."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        while True:
            i = buf.find(b"\r\n")
            if i < 0:
                break
            line = buf[:i]
            if line[:1] == b"$" and int(line[1:]) >= 0:
                ln = int(line[1:])
                if len(buf) < i + 2 + ln + 2:
                    break
                out.append(buf[i + 2:i + 2 + ln])
                buf = buf[i + 2 + ln + 2:]
            else:
                out.append(line)
                buf = buf[i + 2:]
            if len(out) == n:
                return out
        assert time.monotonic() < deadline, (out, buf)
        buf += sock.recv(65536)
    return out


def test_relayed_write_error_counted_on_follower(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rl, rf = rc(leader), rc(f1)
    rl.set("s", "v")
    for r in (rl, rf, rc(f2)):
        r.execute_command("CONFIG", "RESETSTAT")

    s = socket.create_connection((f1.host, f1.port), timeout=10)
    reqs = [("LPUSH", "s", "x"), ("GET", "s"), ("SET", "k"), ("INCR", "s"), ("SET", "t", "1"),
            ("HSET", "s", "f", "v"), ("PING",)]  # fmt: skip
    s.sendall(b"".join(enc(*q) for q in reqs))
    got = read_replies(s, len(reqs))
    assert [g[:1] for g in got] == [b"-", b"v", b"-", b"-", b"+", b"-", b"+"], got
    s.close()

    st = cmdstats(rf)
    assert st["lpush"] == (1, 0, 1)
    assert st["get"] == (1, 0, 0)
    assert st["set"] == (1, 1, 0)
    assert st["incr"] == (1, 0, 1)
    assert st["hset"] == (1, 0, 1)
    assert st["ping"] == (1, 0, 0)
    assert errstats(rf) == {"WRONGTYPE": 2, "ERR": 2}
    assert int(rf.info("stats")["total_error_replies"]) == 4

    # the leader ran the relayed writes on its relay connection and counts them there; the
    # follower's arity error never left the follower; the other follower saw nothing
    sl = cmdstats(rl)
    assert sl["lpush"] == (1, 0, 1) and sl["incr"] == (1, 0, 1) and sl["hset"] == (1, 0, 1)
    assert "set" in sl and sl["set"][1] == 0
    assert errstats(rl) == {"WRONGTYPE": 2, "ERR": 1}
    s2 = cmdstats(rc(f2))
    assert not any(k in s2 for k in ("lpush", "incr", "hset", "get")), s2


@pytest.mark.parametrize("tracking", [False, True], ids=["plain", "tracking"])
def test_script_calls_counted_once_through_a_follower(make_cluster, tracking):
    """A script new to a follower runs whole there (its calls counted then) and is logged to
    answer in order; applying that entry must not count them again. A tracking client's
    requests go with their origin, so the follower knew the entry as that client's and counted
    them twice (ping calls 4, not 2) until such an entry was marked (node.h whole_seq); so did
    any client's while another client of the follower tracked (its writes go with origin then)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    r = rc(f)
    w = rc(f)
    if tracking:
        r.execute_command("CLIENT", "TRACKING", "on")
    else:
        w.execute_command("CLIENT", "TRACKING", "on")  # another client of the node tracks
    r.execute_command("CONFIG", "RESETSTAT")
    assert r.eval("return redis.call('ping') -- a new body", 0) == "PONG"
    assert r.eval("return redis.call('ping', 'x') -- another", 0) == "x"
    assert r.eval("redis.call('set', 'k', 'v') return redis.call('get', 'k') -- a write", 0) == "v"
    st = cmdstats(r)
    assert st["ping"] == (2, 0, 0), st
    assert st["set"] == (1, 0, 0) and st["get"] == (1, 0, 0), st
    assert st["eval"] == (3, 0, 0), st


def test_relayed_transaction_commands_in_the_followers_diagnostics(make_cluster):
    """A follower relays EXEC whole; its commands run on the leader. Its SLOWLOG (threshold 0)
    and LATENCY HISTOGRAM still show them, as one Redis would for its client's transaction
    (were missing: only MULTI was logged, incr had no histogram there)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    r = rc(f)
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    r.execute_command("CONFIG", "RESETSTAT")
    r.execute_command("SLOWLOG", "RESET")
    p = r.pipeline(transaction=True)
    p.execute_command("INCR", "n")
    p.get("n")
    p.hset("h", "f", "v")
    assert p.execute() == [1, "1", 1]
    logged = [e["command"] for e in r.slowlog_get(20)]
    want = ["MULTI", "INCR n", "GET n", "HSET h f v"]
    got = [x if isinstance(x, str) else x.decode() for x in reversed(logged)]
    assert [x for x in got if x.split()[0] in ("MULTI", "INCR", "GET", "HSET")] == want, got
    # a SLOWLOG RESET inside acts on this node, where it runs as the reply comes: what came
    # before it in the transaction is gone, as in Redis (it reset the leader's log before)
    rl = rc(leader)
    rl.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    rl.execute_command("PING")
    p = r.pipeline(transaction=True)
    p.set("a", "1")
    p.execute_command("SLOWLOG", "RESET")
    p.execute_command("INCR", "n")
    p.execute()
    got = [e["command"] for e in r.slowlog_get(20)]
    got = [x if isinstance(x, str) else x.decode() for x in got]
    assert got == ["INCR n", "SLOWLOG RESET"], got
    assert len(rl.slowlog_get(1000)) > 3  # the leader's own log was not reset
    rl.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    hist = r.execute_command("LATENCY", "HISTOGRAM", "incr", "get", "hset")
    flat = [x.decode() if isinstance(x, bytes) else x for x in hist]
    for name in ("incr", "get", "hset"):
        assert name in flat, hist
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_leader_times_a_read_when_it_runs_it(make_cluster):
    """A leader runs a linearizable read after its ReadIndex round (or at its place in the log,
    behind the client's writes), and a write when its entry is applied: those runs are what
    SLOWLOG, LATENCY and commandstats time. A busy EVAL_RO of ~30 ms and a SUNIONSTORE of 100,000
    members were timed when routed (a few us) and never logged."""
    c = make_cluster(3)
    r = rc(c.wait_leader())
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "5000")
    r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "5")
    r.execute_command("SLOWLOG", "RESET")
    r.execute_command("CONFIG", "RESETSTAT")
    busy = "local i = 0 while i < 4000000 do i = i + 1 end return i"
    assert r.execute_command("EVAL_RO", busy, 0) == 4000000
    p = r.pipeline(transaction=False)  # behind its own write: a read logged in place
    p.set("w", "1")
    p.execute_command("EVAL_RO", busy, 0)
    assert p.execute() == [True, 4000000]
    slow = [e for e in r.slowlog_get(10) if e["command"].startswith(b"EVAL_RO")
            or e["command"].startswith("EVAL_RO")]  # fmt: skip
    assert len(slow) == 2, r.slowlog_get(10)
    assert all(e["duration"] >= 5000 for e in slow), slow
    assert any(e[0] == "command" for e in r.execute_command("LATENCY", "LATEST"))
    usec = r.info("commandstats")["cmdstat_eval_ro"]["usec"]
    assert usec >= 10000, usec
    # a write runs when it is applied: a slow one is logged then (was timed when proposed)
    for k in range(4):
        r.sadd(f"s{k}", *[f"m{k}:{i}" for i in range(25000)])
    r.execute_command("SLOWLOG", "RESET")
    assert r.sunionstore("dst", "s0", "s1", "s2", "s3") == 100000
    slow = [e for e in r.slowlog_get(10) if e["command"] in ("SUNIONSTORE dst s0 s1 s2 s3",
                                                             b"SUNIONSTORE dst s0 s1 s2 s3")]
    assert len(slow) == 1 and slow[0]["duration"] >= 5000, r.slowlog_get(10)
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "0")


MON = re.compile(rb'^\+\d+\.\d{6} \[0 [^\]]+\] (.*)$')


def test_monitor_shows_own_clients(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1 = [n for n in c.nodes if n is not leader][0]
    mons = {}
    for n in (leader, f1):
        m = socket.create_connection((n.host, n.port), timeout=10)
        m.sendall(enc("MONITOR"))
        assert read_replies(m, 1) == [b"+OK"]
        mons[n.id] = m
    rc(f1).set("via-follower", "1")
    rc(leader).set("via-leader", "1")
    rc(f1).get("via-follower")
    time.sleep(0.3)
    seen = {}
    for nid, m in mons.items():
        m.settimeout(0.5)
        data = b""
        try:
            while True:
                chunk = m.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        lines = [x for x in data.split(b"\r\n") if x]
        for x in lines:
            assert MON.match(x), x
        seen[nid] = [MON.match(x).group(1) for x in lines]
        m.close()
    assert b'"SET" "via-follower" "1"' in seen[f1.id] and b'"GET" "via-follower"' in seen[f1.id]
    assert not any(b"via-leader" in x for x in seen[f1.id]), seen
    assert b'"SET" "via-leader" "1"' in seen[leader.id]
    assert not any(b"via-follower" in x for x in seen[leader.id]), seen


def test_memory_stats_are_the_nodes_own(make_cluster):
    """MEMORY STATS on a node describes that node (as INFO memory), not the leader's: a
    follower holding many idle connections shows them in its clients.normal; every node shows
    the replicated keys."""
    c = make_cluster(3)
    leader = c.wait_leader()
    follower = next(n for n in c.nodes if n is not leader)
    w = rc(leader)
    for i in range(100):
        w.set(f"m{i}", "x" * 64)
    c.wait_converged([f"m{i}" for i in range(100)])

    def stats(node):
        r = rc(node)
        s = r.memory_stats()  # redis-py's parser of the RESP2 reply
        r.close()
        return s

    base_l, base_f = stats(leader)["clients.normal"], stats(follower)["clients.normal"]
    idle = [socket.create_connection((follower.host, follower.port)) for _ in range(40)]
    try:
        for s in idle:
            s.sendall(enc("PING"))
            assert s.recv(64) == b"+PONG\r\n"
        sl, sf = stats(leader), stats(follower)
        assert sf["clients.normal"] >= base_f + 40 * 1000, (base_f, sf["clients.normal"])
        assert sl["clients.normal"] < base_l + 40 * 1000, (base_l, sl["clients.normal"])
        assert sl["keys.count"] == sf["keys.count"] == 100
    finally:
        for s in idle:
            s.close()
