"""ACL users are replicated state (issue 9): changed through the log, the same on every node,
carried by snapshots.

Users are set through a follower (which relays ACL SETUSER to the leader like any write), one
node snapshots them, more changes follow, the leader is killed with SIGKILL, a change goes
through the new leader while it is down, and it is restarted. Then every node must hold the same
users (ACL LIST read locally on each node is identical), enforce them alike (AUTH, a command, a
key and a channel denied on every node, a deleted user's AUTH refused), and SYNOD DIGEST (which
covers the users) must be equal. A script run by a restricted user through a follower must have
its denied redis.pcall refused on every replica (the entry names the user: ACL_AS), and a client
of a user deleted elsewhere is disconnected from its follower.

Seen failing with the ACL_AS wrapping disabled in srv_acl_script_wrap (src/server/acl.c): the
entry then names no user, so no replica checked the script's calls and its refused redis.pcall
ran everywhere.
"""

import pytest
import redis

from harness import assert_same_digest, wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def _stale(node):
    c = node.conn(timeout=5.0)
    c.call("SYNOD", "CONSISTENCY", "stale")
    return c


def _acl_list(node):
    c = _stale(node)
    try:
        return c.call("ACL", "LIST")
    finally:
        c.close()


def _as(node, user, pw):
    c = node.conn(timeout=5.0)
    assert c.call("AUTH", user, pw) == "OK"
    return c


def _denied(c, *cmd):
    try:
        c.call(*cmd)
    except redis.ResponseError as e:
        return str(e)
    return None


def _closed(c):
    try:
        c.call("PING")
    except (redis.ConnectionError, redis.TimeoutError):
        return True
    return False


def test_users_replicated_through_follower_failover_and_snapshot(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    fc = f1.conn(timeout=5.0)
    assert fc.call("ACL", "SETUSER", "alice", "on", ">apw", "~a:*", "&news", "+get", "+set",
                   "+publish", "+eval") == "OK"  # fmt: skip
    assert fc.call("ACL", "SETUSER", "tmp", "on", ">tpw", "+@all") == "OK"
    assert fc.call("ACL", "SETUSER", "bob", "on", "nopass", "%R~*", "+@read", "(+set ~w:*)") == "OK"
    with pytest.raises(redis.ResponseError, match="Unknown command or category name"):
        fc.call("ACL", "SETUSER", "alice", "+nosuch")  # refused on apply, alike everywhere
    # AUTH reads the users as each node applied them (docs/security.md): wait for all of them
    c.wait_converged([], timeout=10)
    # a restricted user's script, run through a follower: the refused pcall writes nothing
    ac = _as(f1, "alice", "apw")
    assert "can't run this command" in _denied(
        ac, "EVAL", "redis.pcall('set','b:1','x'); redis.call('set','a:1','1'); "
        "return redis.pcall('incr','a:1')", "0")  # fmt: skip
    # a client of a user deleted on another node is disconnected from its follower
    victim = _as(f2, "tmp", "tpw")
    assert victim.call("PING") == "PONG"
    assert leader.conn().call("SYNOD", "SNAPSHOT") == "OK"  # users in the leader's snapshot
    assert fc.call("ACL", "DELUSER", "tmp") == 1
    wait_for(lambda: _closed(victim), 10, what="tmp's client dropped")

    leader.kill()
    new = c.wait_leader(exclude=(leader,))
    nc = new.conn(timeout=5.0)
    assert nc.call("ACL", "SETUSER", "alice", "+incr") == "OK"  # while the old leader is down
    leader.start()
    leader.wait_serving()
    c.wait_converged(["a:1", "b:1"], timeout=30)

    lists = {n.id: _acl_list(n) for n in c.nodes}
    ref = lists[new.id]
    assert any(line.startswith("user alice on #") and "+incr" in line for line in ref), ref
    assert not any(line.startswith("user tmp ") for line in ref), ref
    for nid, lst in lists.items():
        assert lst == ref, f"node{nid} has other users: {lst} vs {ref}"
    for n in c.nodes:
        a = _as(n, "alice", "apw")
        assert "no permissions to run the 'del' command" in _denied(a, "DEL", "a:1")
        assert "one of the keys" in _denied(a, "GET", "z")
        assert "one of the channels" in _denied(a, "PUBLISH", "other", "m")
        assert a.call("INCR", "a:2") >= 1  # the change made while a leader was down
        assert "WRONGPASS" in _denied(n.conn(), "AUTH", "tmp", "tpw")
        b = _as(n, "bob", "x")
        assert b.call("SET", "w:1", "v") == "OK"  # granted by bob's selector
        assert "one of the keys" in _denied(b, "SET", "a:9", "v")  # the selector's key denial
        s = _stale(n)
        assert s.call("GET", "b:1") is None, f"node{n.id} ran a pcall ACL refused"
        assert s.call("GET", "a:1") == "1"  # the set ran, the refused incr did not
    c.wait_converged(["a:1", "a:2", "w:1"], timeout=30)
    assert_same_digest(c, "digests differ")


def test_exec_after_a_permission_was_removed_through_a_follower(make_cluster):
    """A command queued in MULTI that its user may no longer run when EXEC comes gets Redis's
    NOPERM error in its place in the EXEC reply, the others run (Redis's rule), also through a
    follower: its EXEC relays that command as ACL_EFFECT NOPERM, which the leader lets anyone
    run (it only answers that error). Before, the leader refused it for the user, and the whole
    transaction was discarded (EXECABORT)."""
    c = make_cluster(3)
    leader = c.wait_leader()
    f = next(n for n in c.nodes if n is not leader)
    admin = f.conn(timeout=5.0)
    assert admin.call("ACL", "SETUSER", "tx", "on", ">pw", "~*", "+multi", "+exec", "+incr",
                      "+get") == "OK"  # fmt: skip
    q = _as(f, "tx", "pw")
    assert q.call("MULTI") == "OK"
    assert q.call("INCR", "a") == "QUEUED"
    assert q.call("GET", "a") == "QUEUED"
    assert admin.call("ACL", "SETUSER", "tx", "-incr") == "OK"
    out = q.call("EXEC")
    assert isinstance(out[0], redis.exceptions.NoPermissionError) and str(out[0]).startswith(
        "ACLs rules changed between the moment the transaction was accumulated"), out
    assert out[1] is None, out  # GET ran; INCR did not
    assert q.call("GET", "a") is None
    q.close()
    admin.close()
