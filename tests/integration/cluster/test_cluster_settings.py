"""The cluster's settings (docs/cluster.md "Cluster settings"): CONFIG SET of a setting the
leader decides with (encodings, proto-max-bulk-len, eviction and LFU, min-replicas-*,
notify-keyspace-events, ...) through any node is logged (CONFIG_EFFECT) and applied on every node
in log order, kept in the log and in snapshots: the cluster answers as one server whichever node
a client is connected to. A node's own settings (timeout, slowlog-*, ...) stay that node's.

Before this, CONFIG SET through a follower changed that follower only, and the leader went on
deciding with its own values (OBJECT ENCODING, SETRANGE's limit, NOREPLICAS, OBJECT FREQ all
answered as if the CONFIG SET had not happened)."""

import socket
import time

import pytest
import redis
from harness import assert_same_digest, resp_command, resp_replies, wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node, stale=False):
    r = redis.Redis(host=node.host, port=node.port, socket_timeout=10.0, decode_responses=True,
                    single_connection_client=True)  # fmt: skip
    if stale:  # this node's own applied state, no ReadIndex
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
    return r


def get(node, key, stale=False):
    return rc(node, stale).config_get(key)[key]


def split(c):
    leader = c.wait_leader()
    return leader, [n for n in c.nodes if n is not leader]


def test_config_set_through_a_follower_is_the_clusters(make_cluster):
    c = make_cluster(3)
    leader, (f1, f2) = split(c)
    r = rc(f1)
    # an alias, a policy, a memory value and this node's own `timeout` in one request
    assert r.execute_command("CONFIG", "SET", "hash-max-ziplist-value", "10", "maxmemory-policy",
                             "allkeys-lfu", "proto-max-bulk-len", "2mb", "timeout", "77") == "OK"
    # CONFIG GET through another follower passes the ReadIndex gate: already there
    for n in c.nodes:
        assert get(n, "hash-max-listpack-value") == "10", n.id
        assert get(n, "maxmemory-policy") == "allkeys-lfu", n.id
        assert get(n, "proto-max-bulk-len") == "2097152", n.id
    assert get(f1, "timeout") == "77"
    assert get(f2, "timeout") == "0" and get(leader, "timeout") == "0"

    # the leader decides with them: an 11-byte value is past the packed hash's bound
    r.hset("h", "f", "0123456789a")
    r.hset("small", "f", "012345678")
    for n in c.nodes:  # the later write applied there: the earlier one too
        wait_for(lambda: rc(n, stale=True).object("encoding", "small") == "listpack", 5,
                 what=f"node {n.id} to apply the hashes")  # fmt: skip
        assert rc(n, stale=True).object("encoding", "h") == "hashtable"
    # SETRANGE past proto-max-bulk-len (2 MB) is refused by the leader, through either follower
    with pytest.raises(redis.ResponseError, match="maximum allowed size"):
        rc(f2).setrange("big", 2 * 1024 * 1024, "x")
    # LFU is the leader's policy now: OBJECT FREQ answers through a follower
    r.set("f", "v")
    assert isinstance(rc(f2).object("freq", "f"), int)

    # invalid values change nothing anywhere (all or nothing)
    with pytest.raises(redis.ResponseError, match="hz"):
        rc(f2).execute_command("CONFIG", "SET", "maxmemory-samples", "7", "hz", "abc")
    with pytest.raises(redis.ResponseError, match="port"):
        rc(f2).execute_command("CONFIG", "SET", "maxmemory-samples", "7", "port", "1")
    for n in c.nodes:
        assert get(n, "maxmemory-samples") == "5", n.id
    assert_same_digest(c, "after CONFIG SET through a follower")


def test_config_set_through_a_follower_is_read_back_there_at_once(make_cluster):
    """A client of a follower reading that node's own state (SYNOD CONSISTENCY stale: no
    ReadIndex) reads back the setting its CONFIG SET just changed: the reply waits until the
    follower has applied the entry too. The follower the leader does not wait for syncs, and so
    applies, 0.3 s late here (SYNOD_TEST_SYNC_LATER_US); answered as the leader's reply came,
    the client read the old value there. Through both followers."""
    c = make_cluster(3, env={"SYNOD_TEST_SYNC_LATER_US": "300000"})
    leader, followers = split(c)
    w = rc(leader)
    for i in range(30):  # writes: the leader picks the follower it waits for
        w.set(f"w{i}", i)
    for f in followers:
        s = socket.create_connection((f.host, f.port), timeout=10)
        try:
            s.sendall(resp_command("SYNOD", "CONSISTENCY", "stale"))
            assert resp_replies(s, 1, 5) == ["OK"]
            for v in ("6", "7", "8"):
                s.sendall(resp_command("CONFIG", "SET", "maxmemory-samples", v))
                assert resp_replies(s, 1, 5) == ["OK"]
                s.sendall(resp_command("CONFIG", "GET", "maxmemory-samples"))
                assert resp_replies(s, 1, 5) == [["maxmemory-samples", v]], f.id
        finally:
            s.close()


def test_keyspace_events_enabled_through_one_follower_reach_another(make_cluster):
    c = make_cluster(3)
    leader, (f1, f2) = split(c)
    sub = rc(f2).pubsub()
    sub.psubscribe("__keyspace@0__:*")
    assert sub.get_message(timeout=5)["type"] == "psubscribe"
    assert rc(f1).config_set("notify-keyspace-events", "K$") is True
    rc(leader).set("k", "v")
    deadline = time.monotonic() + 5
    got = None
    while got is None and time.monotonic() < deadline:
        m = sub.get_message(timeout=0.5)
        if m and m["type"] == "pmessage":
            got = (m["channel"], m["data"])
    assert got == ("__keyspace@0__:k", "set"), got
    sub.close()


def test_settings_survive_snapshots_and_restarts(make_cluster):
    c = make_cluster(3, extra_args=("--snapshot-count", "40"))
    leader, (f1, f2) = split(c)
    f2.kill()
    assert rc(f1).execute_command("CONFIG", "SET", "set-max-intset-entries", "3",
                                  "zset-max-ziplist-entries", "2") == "OK"  # fmt: skip
    lr = rc(leader)
    for i in range(120):
        lr.set(f"k{i}", i)
    # the entry that carried them is compacted away: node f2 can only learn them from a snapshot
    assert lr.execute_command("SYNOD", "SNAPSHOT") == "OK"
    snap_index = int(leader.info()["snapshot_index"])
    f2.start()
    f2.wait_serving()
    wait_for(lambda: int((f2.info() or {}).get("snapshot_index", 0)) >= snap_index, 15,
             what="the restarted follower to install the leader's snapshot")  # fmt: skip
    assert "installed the leader's snapshot" in f2.log()
    for n in c.nodes:
        assert get(n, "set-max-intset-entries", stale=True) == "3", n.id
        assert get(n, "zset-max-listpack-entries", stale=True) == "2", n.id
    lr.sadd("s", 1, 2, 3, 4)
    lr.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert_same_digest(c, "after the snapshot install")
    # every node restarted: each from its own snapshot and log
    for n in c.nodes:
        n.kill()
    for n in c.nodes:
        n.start()
    for n in c.nodes:
        n.wait_serving()
    c.wait_leader()
    assert_same_digest(c, "after restarting every node")  # every node applied it all
    for n in c.nodes:
        assert get(n, "set-max-intset-entries", stale=True) == "3", n.id
        assert get(n, "zset-max-listpack-entries", stale=True) == "2", n.id
        assert rc(n, stale=True).object("encoding", "s") == "hashtable", n.id
        assert rc(n, stale=True).object("encoding", "z") == "skiplist", n.id


def test_config_effect_is_checked_on_every_node(make_cluster):
    """CONFIG_EFFECT is what CONFIG SET of the cluster's settings is logged as; sent directly it
    is checked like CONFIG SET (a node's own setting, or a bad value, is refused and changes
    nothing), and a user allowed CONFIG SET (not @admin) may set them through a follower, whose
    relay runs it as that user on the leader (checked as config|set)."""
    c = make_cluster(3)
    leader, (f1, f2) = split(c)
    r = rc(f1)
    with pytest.raises(redis.ResponseError, match="not one of the cluster's settings"):
        r.execute_command("CONFIG_EFFECT", "timeout", "5")
    with pytest.raises(redis.ResponseError, match="maxmemory-samples"):
        r.execute_command("CONFIG_EFFECT", "hz", "20", "maxmemory-samples", "abc")
    for n in c.nodes:
        assert get(n, "hz") == "10" and get(n, "timeout") == "0", n.id
    assert r.execute_command("ACL", "SETUSER", "ops", "on", ">pw", "-@all", "+config|set",
                             "+config|get") == "OK"  # fmt: skip
    ops = redis.Redis(host=f2.host, port=f2.port, username="ops", password="pw",
                      decode_responses=True, socket_timeout=10.0)  # fmt: skip
    assert ops.config_set("hz", 25) is True
    for n in c.nodes:
        assert get(n, "hz") == "25", n.id
    with pytest.raises(redis.exceptions.NoPermissionError):
        ops.set("k", "v")


def test_config_set_port_on_a_member(make_cluster):
    """A member's client port is set at startup (its peers relay to it), so CONFIG SET port is
    refused with that reason; but a port in use gets Redis's own error first, as on one Redis
    (Redis's unit/introspection "CONFIG SET rollback on apply error"). Nothing changes: the
    node still answers on its port."""
    c = make_cluster(3)
    leader, (f1, _) = split(c)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        for node in (leader, f1):
            r = rc(node)
            with pytest.raises(redis.ResponseError, match="Unable to listen on this port"):
                r.config_set("port", busy.getsockname()[1])
            with pytest.raises(redis.ResponseError, match="client port is set at startup"):
                r.config_set("port", 0)
            assert r.config_get("port")["port"] == str(node.port)
            assert rc(node).ping()
    finally:
        busy.close()
