"""SLOWLOG, LATENCY and the latency histograms on a 3-node cluster (docs/server.md
"Diagnostics"): each node's own, nothing replicated.

A write sent to a follower is logged by the follower (its client, with the follower's own
handling time: parse, checks, relay) and by the leader (on the follower's relay connection, with
the leader's handling time), never by the third node. CONFIG SET of the thresholds and SLOWLOG
RESET act on the node they are sent to. The apply of an expiry entry is timed on every node
(expire-del, expire-cycle).
"""

import time

import pytest
import redis

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, timeout=10.0):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=timeout,
                       socket_connect_timeout=2.0)  # fmt: skip


def args_of(r):
    out = []
    for e in r.execute_command("SLOWLOG", "GET", "-1"):
        out.append((e[3], e[4], e[5]))
    return out


def test_slowlog_is_per_node(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rl, r1, r2 = rc(leader), rc(f1), rc(f2)
    for r in (rl, r1, r2):
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
        r.execute_command("SLOWLOG", "RESET")
    r1.execute_command("CLIENT", "SETNAME", "via-follower")
    r1.set("k", "v")
    assert r1.get("k") == b"v"
    me = r1.execute_command("CLIENT", "INFO").decode()
    my_addr = [f.split("=", 1)[1] for f in me.split() if f.startswith("addr=")][0]
    for r in (rl, r1, r2):
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    on_f1 = [a for a, _, _ in args_of(r1)]
    assert [b"SET", b"k", b"v"] in on_f1 and [b"GET", b"k"] in on_f1, on_f1
    for a, addr, name in args_of(r1):
        if a[0] in (b"SET", b"GET"):
            assert addr.decode() == my_addr and name == b"via-follower", (a, addr, name)
    # the leader ran the relayed write for the follower's relay connection, not for our client
    on_leader = args_of(rl)
    sets = [(a, addr) for a, addr, _ in on_leader if a == [b"SET", b"k", b"v"]]
    assert sets and all(addr.decode() != my_addr for _, addr in sets), on_leader
    # the third node saw none of it
    assert all(a[0] not in (b"SET", b"GET") for a, _, _ in args_of(r2)), args_of(r2)
    # thresholds are per node
    for r in (rl, r2):
        assert r.execute_command("CONFIG", "GET", "slowlog-log-slower-than")[1] == b"-1"
    r2.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    r2.execute_command("SLOWLOG", "RESET")
    r1.execute_command("SLOWLOG", "RESET")
    r2.set("x", "1")
    assert r1.execute_command("SLOWLOG", "LEN") == 0
    assert r2.execute_command("SLOWLOG", "LEN") >= 1


def test_histograms_and_expiry_events_per_node(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    rl, r1, r2 = rc(leader), rc(f1), rc(f2)
    for r in (rl, r1, r2):
        r.execute_command("CONFIG", "RESETSTAT")
    for i in range(5):
        r1.set("h%d" % i, "v")
    h1 = r1.execute_command("LATENCY", "HISTOGRAM", "set")
    h2 = r2.execute_command("LATENCY", "HISTOGRAM", "set")
    assert h1[0] == b"set" and h1[1][1] == 5, h1
    assert h2 == [], h2
    # a big set expiring: its delete is applied (and timed) on every node
    for r in (rl, r1, r2):
        r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "1")
        r.execute_command("LATENCY", "RESET")
    rl.eval("for i=1,200000 do redis.call('sadd', KEYS[1], i) end", 1, "big")
    rl.pexpire("big", 10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(r.exists("big") for r in (rl, r1, r2)):
        time.sleep(0.05)
    time.sleep(0.3)
    for r in (rl, r1, r2):
        events = {e[0] for e in r.execute_command("LATENCY", "LATEST")}
        assert {b"expire-del", b"expire-cycle"} <= events, events
        r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "0")


def test_info_on_a_follower_counts_the_clients_acknowledged_writes(make_cluster):
    """INFO on a follower passes the ReadIndex gate (docs/server.md INFO): right after a write
    through it is acknowledged (by the leader, possibly before this follower applied it), the
    follower's INFO counts it: # Keyspace and rdb_changes_since_last_save, as on one Redis
    (Redis's unit/bitops 'SETBIT/BITFIELD only increase dirty when the value changed' through a
    follower). A STALE connection is answered at once, from what the node has."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    r1, r2 = rc(f1), rc(f2)
    lagged = []
    for i in range(150):
        # through one follower, read back on the other one: its apply races the reply
        w, r = (r1, r2) if i % 2 else (r2, r1)
        dirty = r.info("persistence")["rdb_changes_since_last_save"]
        w.set("k%d" % i, "v")
        keys = r.info("keyspace").get("db0", {}).get("keys", 0)
        dirty2 = r.info("persistence")["rdb_changes_since_last_save"]
        if keys != i + 1 or dirty2 < dirty + 1:
            lagged.append((i, keys, dirty, dirty2))
    assert not lagged, f"a follower's INFO missed acknowledged writes: {lagged[:5]}"
    # a stale reader gets the node's own view without asking the leader: still answered
    # with the leader gone
    r1.execute_command("SYNOD", "CONSISTENCY", "stale")
    leader.kill()
    assert r1.info("keyspace")["db0"]["keys"] == 150
