"""Differential tests: ACL users (issue 9) against a real redis-server 7.0, byte for byte: SETUSER
rules and their errors, GETUSER / LIST / USERS / WHOAMI / CAT / DRYRUN / GENPASS / LOG, AUTH and
HELLO AUTH as users, NOPERM for commands, subcommands, first-args, keys and channels, MULTI (queue
time and EXEC time), scripts (redis.call / pcall), and the disconnections DELUSER and a channel
revocation cause. Users outlive a test's flush, so each test deletes the ones it made."""

import hashlib

import pytest

from .diff import SHAPE, Pair
from .resp_raw import parse

USERS = ("u1", "u2", "u3", "ps", "sc", "tx", "gone", "selu")


@pytest.fixture
def acl_pair(pair):
    yield pair
    for conn in (pair.ref, pair.tgt):
        conn.call("AUTH", "default", "x")
        conn.call("ACL", "DELUSER", *USERS)
        conn.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
        conn.call("ACL", "LOG", "RESET")


def fresh(connect, pair):
    return Pair(connect("ref"), connect("tgt"), pair.target_name, pair.name)


def _norm(tree):
    """Command rules after the first word (+@all / -@all) in any order: Redis emits single
    commands in its hash table's order, which its own tests do not rely on either."""
    kind = tree[0]
    if kind == "bulk" and tree[1] and (tree[1].startswith(b"user ") or tree[1][:1] in b"+-"):
        w = tree[1].split(b" ")
        i = next((j for j, x in enumerate(w) if x in (b"+@all", b"-@all")), len(w))
        return (kind, b" ".join(w[: i + 1] + sorted(w[i + 1 :])))
    if kind in ("array", "set", "push"):
        return (kind, [_norm(x) for x in tree[1]])
    if kind == "map":
        return (kind, [(_norm(a), _norm(b)) for a, b in tree[1]])
    return tree


class WORDS:
    def __init__(self, *args):
        self.args = args


def run(p, steps):
    for step in steps:
        if isinstance(step, WORDS):
            ref, tgt = p.both(*step.args)
            if not (isinstance(ref, bytes) and isinstance(tgt, bytes)) or _norm(parse(ref)) != _norm(
                parse(tgt)
            ):
                p.mismatches.append("%r\n  redis: %r\n  synod: %r" % (step.args, ref, tgt))
        else:
            p.step(step)


def assert_closed(p):
    ref, tgt = p.both("PING")
    assert ref == "<connection closed>" and tgt == ref, (ref, tgt)


def test_setuser_rules_and_errors(acl_pair):
    p = acl_pair
    G, L = WORDS("ACL", "GETUSER", "u1"), WORDS("ACL", "LIST")
    run(p, [
        ("ACL", "SETUSER", "u1"), G, L, ("ACL", "USERS"),
        ("ACL", "SETUSER", "u1", "on", ">pw1", ">pw2", "<pw1", "~k:*", "%R~r:*", "%W~w:*",
         "&ch:*", "-@all", "+get", "+set", "+client|id", "+select|0"),
        G, L,
        ("ACL", "SETUSER", "u1", "+@all", "-client|kill", "-debug"), G,
        ("ACL", "SETUSER", "u1", "-@all", "+config", "-config|set"), G,
        ("ACL", "SETUSER", "u1", "+@all", "-@dangerous"), G,
        ("ACL", "SETUSER", "u1", "-@all", "+@hash", "+@string"), G,
        ("ACL", "SETUSER", "u1", "nopass", "resetkeys", "allkeys", "resetchannels"),
        G,
        # errors, and nothing of a failed SETUSER applied
        ("ACL", "SETUSER", "u1", "+get", "+nosuchcmd"), ("ACL", "SETUSER", "u1", "+@nosuchcat"),
        ("ACL", "SETUSER", "u1", "+config|get|x"), ("ACL", "SETUSER", "u1", "+get|a|b"),
        ("ACL", "SETUSER", "u1", "-select|0"), ("ACL", "SETUSER", "u1", "+debug|"),
        ("ACL", "SETUSER", "u1", "#abc"), ("ACL", "SETUSER", "u1", "!" + "0" * 64),
        ("ACL", "SETUSER", "u1", "~x"), ("ACL", "SETUSER", "u1", "resetchannels", "allchannels",
                                              "&x"),
        ("ACL", "SETUSER", "u1", "%Q~x"), ("ACL", "SETUSER", "u1", "bogus"),
        ("ACL", "SETUSER", "u1", "(+get", "~x"), ("ACL", "SETUSER", "a b"),
        G, ("ACL", "GETUSER", "nosuch"),
        ("ACL", "SETUSER", "selu", "on", "nopass", "+get", "~a", "(+set ~b)", "(%R~c +get)"),
        WORDS("ACL", "GETUSER", "selu"), L,
        ("ACL", "SETUSER", "selu", "clearselectors"), WORDS("ACL", "GETUSER", "selu"),
        ("ACL", "DELUSER", "default"), ("ACL", "DELUSER", "u1", "nosuch", "u1"), ("ACL", "USERS"),
        ("ACL", "CAT"), ("ACL", "CAT", "nosuch"), ("ACL", "CAT", "a", "b"), ("ACL", "HELP", "x"),
        ("ACL", "NOSUCH"), ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "5000"),
        ("ACL", "GENPASS", "x"), SHAPE("ACL", "GENPASS"), SHAPE("ACL", "GENPASS", "7"),
        ("ACL", "LOAD"), ("ACL", "SAVE"), ("ACL", "WHOAMI"),
        ("ACL", "SETUSER", "default", "+@all", "-flushall"), WORDS("ACL", "GETUSER", "default"),
    ])  # fmt: skip
    p.assert_clean()


def test_auth_and_permissions(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "u1", "on", ">pw", "~k:*", "%R~r:*", "&ch:*", "+get", "+set",
            "+publish", "+client|id", "+select|0", "+acl|whoami", "+subscribe"))
    p.step(("ACL", "SETUSER", "u2", "off", ">pw", "+@all"))
    # u3's password hash is pw's with its last hex digit changed: every digit is compared
    near = hashlib.sha256(b"pw").hexdigest()
    near = near[:-1] + ("0" if near[-1] != "0" else "1")
    p.step(("ACL", "SETUSER", "u3", "on", "#" + near, "+@all", "~*"))
    p.step(("SET", "r:1", "v"))
    q = fresh(connect, p)
    for step in [
        ("AUTH", "u3", "pw"), ("ACL", "WHOAMI"),
        ("AUTH", "u1", "bad"), ("AUTH", "u2", "pw"), ("AUTH", "nosuch", "pw"), ("ACL", "WHOAMI"),
        ("AUTH", "u1", "pw"), ("ACL", "WHOAMI"),
        ("GET", "k:1"), ("GET", "r:1"), ("GET", "other"), ("SET", "k:1", "v"), ("SET", "r:1", "v"),
        ("DEL", "k:1"), SHAPE("CLIENT", "ID"), ("CLIENT", "KILL", "ID", "12345"), ("SELECT", "0"),
        ("SELECT", "1"), ("PUBLISH", "ch:1", "m"), ("PUBLISH", "other", "m"),
        ("ACL", "LIST"), ("NOSUCHCMD",), ("GET",), ("CLIENT", "NOSUCH"), ("PING",),
        ("HELLO", "2", "AUTH", "u1", "bad"), SHAPE("HELLO", "2", "AUTH", "u1", "pw"),
        ("RESET",), ("ACL", "WHOAMI"),
    ]:  # fmt: skip
        q.step(step)
    q.assert_clean()
    for step in [
        ("ACL", "DRYRUN", "u1", "get", "k:1"), ("ACL", "DRYRUN", "u1", "get", "x"),
        ("ACL", "DRYRUN", "u1", "incr", "k:1"), ("ACL", "DRYRUN", "u1", "publish", "zz", "m"),
        ("ACL", "DRYRUN", "u1", "client", "kill", "id", "1"), ("ACL", "DRYRUN", "nosuch", "get"),
        ("ACL", "DRYRUN", "u1", "nosuchcmd"), ("ACL", "DRYRUN", "u1", "get"),
        ("ACL", "DRYRUN", "u1", "select", "1"), ("ACL", "DRYRUN", "u1", "subscribe", "ch:2"),
    ]:  # fmt: skip
        p.step(step)
    p.assert_clean()


def test_key_permissions_follow_key_specs(acl_pair, connect):
    """%R~ / %W~ patterns are checked per key with the access its key spec says, as Redis 7.0:
    a key only read needs R, a key inserted, updated or deleted needs W, a key neither (EXISTS,
    OBJECT ENCODING, COPY's destination check aside) any pattern naming it."""
    p = acl_pair
    p.step(("ACL", "SETUSER", "ks", "on", ">pw", "%R~r*", "%W~w*", "~rw*", "+@all"))
    p.step(("SET", "r1", "v"))
    p.step(("RPUSH", "rl", "a"))
    q = fresh(connect, p)
    for step in [
        ("AUTH", "ks", "pw"),
        ("GET", "r1"), ("SET", "r1", "x"), ("GET", "w1"), ("SET", "w1", "x"), ("SET", "w1", "y", "GET"),
        ("COPY", "r1", "w2"), ("COPY", "w1", "r2"), ("EXISTS", "r1", "w1", "x"), ("DEL", "r1"),
        ("DEL", "w2"), ("LMOVE", "rl", "w3", "LEFT", "RIGHT"), ("RENAME", "r1", "w1"),
        ("SORT", "rl", "ALPHA", "STORE", "w4"), ("SMOVE", "r1", "w1", "m"), ("GETDEL", "r1"),
        ("OBJECT", "ENCODING", "w1"), ("OBJECT", "ENCODING", "r1"), ("OBJECT", "FREQ", "x"),
        ("MEMORY", "USAGE", "wz"), ("XINFO", "STREAM", "w1"), ("SINTERCARD", "2", "r1", "w1"),
        ("GEORADIUS", "r1", "0", "0", "1", "km", "STORE", "w5"), ("TOUCH", "w1"), ("TYPE", "w1"),
        ("RW1",), ("SET", "rw1", "v"), ("GET", "rw1"),
    ]:  # fmt: skip
        q.step(step)
    q.assert_clean()
    for step in [
        ("ACL", "DRYRUN", "ks", "copy", "r1", "w2"), ("ACL", "DRYRUN", "ks", "get", "w1"),
        ("ACL", "DRYRUN", "ks", "object", "encoding", "w1"), ("ACL", "DRYRUN", "ks", "del", "r1"),
        ("ACL", "DRYRUN", "ks", "lmove", "rl", "w1", "left", "right"),
    ]:  # fmt: skip
        p.step(step)
    p.assert_clean()


def test_default_user_off_and_restricted(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "u1", "on", ">pw", "+@all", "~*"))
    p.step(("ACL", "SETUSER", "default", "off"))
    q = fresh(connect, p)
    for step in [("GET", "k"), ("AUTH", "x"), ("AUTH", "u1", "pw"), ("GET", "k")]:
        q.step(step)
    q.assert_clean()
    p.step(("ACL", "SETUSER", "default", "on", "-@all", "resetpass", ">dpw"))
    q = fresh(connect, p)
    for step in [("GET", "k"), ("AUTH", "dpw"), ("GET", "k"), ("PING",),
                 SHAPE("HELLO", "3", "AUTH", "u1", "pw"), ("GET", "k"),
                 ("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")]:
        q.step(step)
    q.assert_clean()


def test_multi_and_exec_recheck(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "tx", "on", "nopass", "~*", "+multi", "+exec", "+discard", "+incr",
            "+get"))
    q = fresh(connect, p)
    for step in [("AUTH", "tx", "x"), ("MULTI",), ("INCR", "a"), ("SET", "a", "1"), ("GET", "a"),
                 ("EXEC",), ("MULTI",), ("INCR", "a"), ("GET", "a")]:
        q.step(step)
    q.assert_clean()
    p.step(("ACL", "SETUSER", "tx", "-incr"))  # between queueing and EXEC
    for step in [("EXEC",), ("GET", "a")]:
        q.step(step)
    q.assert_clean()
    p.step(("ACL", "SETUSER", "tx", "-exec"))
    for step in [("MULTI",), ("GET", "a"), ("EXEC",), ("DISCARD",)]:
        q.step(step)
    q.assert_clean()


def test_scripts_check_the_caller(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "sc", "on", "nopass", "+eval", "+evalsha", "+get", "+set", "~a",
            "&c"))
    q = fresh(connect, p)
    for step in [
        ("AUTH", "sc", "x"),
        ("EVAL", "return redis.call('get','a')", "0"),
        ("EVAL", "return redis.call('incr','a')", "0"),
        ("EVAL", "return redis.pcall('incr','a')", "0"),
        ("EVAL", "return redis.call('get','b')", "0"),
        ("EVAL", "return redis.pcall('set','b','1')", "0"),
        ("EVAL", "return redis.call('publish','x','m')", "0"),
        ("EVAL", "return redis.call('set','a','1')", "0"), ("GET", "a"),
        ("EVAL", "return redis.call('get',KEYS[1])", "1", "b"),
        ("EVALSHA", "0" * 40, "0"),
        # redis.acl_check_cmd answers for the script's user: command, keys, channels
        ("EVAL", "return redis.acl_check_cmd('set','a',1)", "0"),
        ("EVAL", "return redis.acl_check_cmd('set','b',1)", "0"),
        ("EVAL", "return redis.acl_check_cmd('hset','a','f',1)", "0"),
        ("EVAL", "return redis.acl_check_cmd('publish','c','m')", "0"),
        ("EVAL", "return redis.acl_check_cmd('publish','x','m')", "0"),
        ("EVAL", "return redis.acl_check_cmd('ping')", "0"),
        ("EVAL", "return redis.acl_check_cmd('nosuch')", "0"),
        ("EVAL", "return redis.acl_check_cmd()", "0"),
    ]:  # fmt: skip
        q.step(step)
    q.assert_clean()


def acl_log(conn, n=10):
    tree = parse(conn.call("ACL", "LOG", str(n)))
    out = []
    for e in tree[1]:
        items = [x[1] for x in e[1]]
        d = dict(zip(items[0::2], items[1::2]))
        out.append((int(d[b"count"]), d[b"reason"], d[b"context"], d[b"object"], d[b"username"]))
    return out


def test_acl_log(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "u1", "on", ">pw", "+get", "+multi", "+exec", "+eval", "~k",
            "resetchannels", "+publish"))
    q = fresh(connect, p)
    for step in [("AUTH", "u1", "pw"), ("GET", "x"), ("GET", "x"), ("SET", "k", "v"),
                 ("PUBLISH", "ch", "m"), ("MULTI",), ("INCR", "k"), ("EXEC",),
                 ("EVAL", "return redis.call('incr','k')", "0"), ("AUTH", "u1", "wrong"),
                 ("AUTH", "nosuch", "x")]:
        q.step(step)
    q.assert_clean()
    ref, tgt = acl_log(p.ref), acl_log(p.tgt)
    assert ref == tgt, (ref, tgt)
    assert (2, b"key", b"toplevel", b"x", b"u1") in tgt
    assert (1, b"command", b"lua", b"incr", b"u1") in tgt
    assert (1, b"auth", b"toplevel", b"AUTH", b"nosuch") in tgt
    for step in [SHAPE("ACL", "LOG"), ("ACL", "LOG", "x"), SHAPE("ACL", "LOG", "-1"),
                 SHAPE("ACL", "LOG", "2"), ("ACL", "LOG", "RESET"), ("ACL", "LOG")]:
        p.step(step)
    p.assert_clean()


def test_deluser_and_channel_revocation_close_clients(acl_pair, connect):
    p = acl_pair
    p.step(("ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*"))
    p.step(("ACL", "SETUSER", "ps", "on", ">pw", "+@all", "resetchannels", "&news", "&keep"))
    q = fresh(connect, p)  # deletes itself: gets the reply, then is closed
    for step in [("AUTH", "gone", "pw"), ("ACL", "DELUSER", "gone")]:
        q.step(step)
    q.assert_clean()
    assert_closed(q)
    p.step(("ACL", "SETUSER", "gone", "on", ">pw", "+@all"))
    other = fresh(connect, p)  # another client of a deleted user is closed too
    other.step(("AUTH", "gone", "pw"))
    p.step(("ACL", "DELUSER", "gone"))
    assert_closed(other)
    sub = fresh(connect, p)
    keep = fresh(connect, p)
    for step in [("AUTH", "ps", "pw"), ("SUBSCRIBE", "news")]:
        sub.step(step)
    for step in [("AUTH", "ps", "pw"), ("SUBSCRIBE", "keep")]:
        keep.step(step)
    p.step(("ACL", "SETUSER", "ps", "resetchannels", "&keep", "&other"))  # news revoked
    assert_closed(sub)
    keep.step(("PING",))
    p.step(("ACL", "SETUSER", "ps", "off"))  # off does not disconnect
    keep.step(("PING",))
    sub.assert_clean()
    keep.assert_clean()
    p.step(("CLIENT", "KILL", "USER", "nosuch"))
    p.step(("CLIENT", "KILL", "USER", "ps"))
    p.assert_clean()
    assert_closed(keep)


def test_acl_log_max_len_and_genpass_bounds(acl_pair, connect):
    """acllog-max-len (default 128) bounds ACL LOG: the oldest entries go; GENPASS takes 1..4096
    bits."""
    p = acl_pair
    p.step(("CONFIG", "GET", "acllog-max-len"))
    p.step(("CONFIG", "SET", "acllog-max-len", "2"))
    try:
        p.step(("ACL", "SETUSER", "u1", "on", ">pw", "+get", "~k"))
        q = fresh(connect, p)
        for step in [("AUTH", "u1", "pw"), ("GET", "a"), ("GET", "b"), ("GET", "c"), ("GET", "b")]:
            q.step(step)
        q.assert_clean()
        ref, tgt = acl_log(p.ref), acl_log(p.tgt)
        assert ref == tgt and len(tgt) == 2, (ref, tgt)
        p.step(("CONFIG", "SET", "acllog-max-len", "1"))  # trimmed at the next entry
        q.step(("GET", "d"))
        q.assert_clean()
        ref, tgt = acl_log(p.ref), acl_log(p.tgt)
        assert ref == tgt and len(tgt) == 1, (ref, tgt)
    finally:
        p.both("CONFIG", "SET", "acllog-max-len", "128")
    for step in [SHAPE("ACL", "GENPASS", "4096"), ("ACL", "GENPASS", "4097"),
                 SHAPE("ACL", "GENPASS", "1"), ("ACL", "GENPASS", "-1")]:
        p.step(step)
    p.assert_clean()
