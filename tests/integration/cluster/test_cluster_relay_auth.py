"""Relays run as the relayed client's user (issue 9, docs/security.md "Relays").

A follower relays its clients' commands to the leader. With cluster-secret the relay proves it
is a member (SYNOD RELAY-HELLO -> nonce, SYNOD RELAY-PROOF HMAC) and names the user of the
requests that follow (SYNOD RELAY-USER), so the leader checks and logs them as that user:

- a restricted user gets exactly the same replies through a follower as on the leader (allowed
  writes, NOPERM keys, a script's redis.call on a forbidden key, FCALL, MULTI/EXEC, BLPOP),
  also while the default user is restricted and while it is off (the relay used to run
  everything as `default`, so that broke every write sent through a follower);
- the leader itself enforces the named user: this test plays a member's relay (it knows the
  secret) and is refused what that user may not do, including ACL_AS naming another user;
- a stranger (no proof, a wrong proof, a proof replayed from another connection) is refused
  RELAY-USER with a clear error, and the requests behind a refused RELAY-USER are refused too.

Seen failing (then passing again) with two deliberately broken builds: relay_user() in
src/server/acl.c accepting RELAY-USER without a proof (test_stranger_cannot_switch_user: the
stranger's RELAY-USER admin was answered OK), and select_user() in src/node/fwd.c never sending
RELAY-USER (test_restricted_user_through_follower: alice's SET a:... through the follower got
NOPERM once the default user was restricted, since the leader ran it as default).
"""

import hashlib
import hmac
import socket
import ssl
import struct

import pytest
import redis

from harness import Conn, assert_same_digest, wait_for
from test_cluster_tls import certs, tls_cluster  # noqa: F401 (certs: a fixture)

pytestmark = pytest.mark.usefixtures("cluster_required")

SECRET = "relay-test-secret-0123456789"
SCRIPT = "return redis.call('set', ARGV[1], 'x')"
LIB = "#!lua name=rlib\nredis.register_function('setit', function(k, a) " \
      "return redis.call('set', a[1], 'y') end)"  # fmt: skip


def relay_proof(secret, follower_id, leader_id, nonce):
    """peerauth_relay_proof (src/net/peerauth.c), written again from its documented layout."""
    label = b"synod peer handshake v2\0"
    who = b"synod relay v1\0" + struct.pack("<QQ", follower_id, leader_id)
    head = label + b"R" + struct.pack("<II", len(who), len(nonce))
    return hmac.new(secret.encode(), head + who + nonce, hashlib.sha256).hexdigest()


def _as(node, user, pw, timeout=5.0):
    c = Conn(node.host, node.port, None, timeout)
    assert c.call("AUTH", user, pw) == "OK"
    return c


def _reply(c, *cmd):
    try:
        r = c.call(*cmd)
    except redis.ResponseError as e:
        return "ERR:" + str(e)
    return r


def _scenario(c, s):
    """alice's requests (keys suffixed with s); the replies with s taken out."""
    out = []
    for cmd in (("SET", f"a:{s}", "1"), ("INCR", f"a:{s}:n"), ("SET", f"b:{s}", "1"),
                ("GET", f"b:{s}"), ("EVAL", SCRIPT, "0", f"b:{s}"),
                ("EVAL", SCRIPT, "0", f"a:{s}:e"), ("FCALL", "setit", "0", f"b:{s}:f"),
                ("FCALL", "setit", "0", f"a:{s}:f"), ("GET", f"a:{s}:f"),
                ("MULTI",), ("SET", f"a:{s}:m", "1"), ("SET", f"b:{s}:m", "1"), ("EXEC",),
                ("MULTI",), ("INCR", f"a:{s}:m2"), ("EXEC",),
                ("BLPOP", f"a:{s}:l", "0.05"), ("BLPOP", f"b:{s}:l", "0.05")):  # fmt: skip
        r = _reply(c, *cmd)
        out.append(r.replace(s, "S") if isinstance(r, str) else r)
    return out


@pytest.mark.parametrize("secret", [SECRET, None], ids=["secret", "loopback"])
def test_restricted_user_through_follower(make_cluster, secret):
    """With a secret, and in a loopback cluster without one (a relay from this host is taken as
    a member's). Seen failing in the loopback cluster before that: every relayed request ran as
    the default user, so alice's were refused once it was restricted, and all once it was off."""
    c = make_cluster(3, extra_args=("--cluster-secret", secret) if secret else ())
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    d = f1.conn(timeout=5.0)
    assert d.call("ACL", "SETUSER", "admin", "on", ">adm", "+@all", "~*", "&*") == "OK"
    assert d.call("ACL", "SETUSER", "alice", "on", ">apw", "~a:*", "+@all") == "OK"
    assert d.call("FUNCTION", "LOAD", LIB) == "rlib"
    # AUTH on f2 reads f2's applied users (docs/security.md "Reading users on a follower"):
    # wait until it applied them (a follower outside the commit quorum may apply ~2 ms later)
    c.wait_converged([], timeout=10)
    admin = _as(f2, "admin", "adm")
    want = None
    for phase, rule in enumerate((None, ("resetkeys", "-@all"), ("off",))):
        if rule:  # the default user restricted, then off: nothing of it may matter
            assert admin.call("ACL", "SETUSER", "default", *rule) == "OK"
            wait_for(lambda: all("-@all" in _as(n, "admin", "adm").call("ACL", "GETUSER",
                     "default")[5] for n in c.nodes), 5, what="default restricted")  # fmt: skip
        on_leader = _scenario(_as(leader, "alice", "apw"), f"L{phase}")
        via = [_scenario(_as(f, "alice", "apw"), f"F{phase}{f.id}") for f in (f1, f2)]
        assert via[0] == on_leader and via[1] == on_leader, (phase, on_leader, via)
        want = want or on_leader
        assert on_leader == want, (phase, on_leader)  # the same whatever the default user is
    assert want[0] == "OK" and want[1] == 1 and want[5] == "OK" and want[8] == "y"
    assert want[2].startswith("ERR:this user has no permissions to access one of the keys")
    assert "can't access at least one of the keys" in want[4]
    assert "can't access at least one of the keys" in want[6]
    assert "Transaction discarded" in want[12] and want[15] == [1]
    assert want[16] is None and want[17].startswith("ERR:this user has no permissions")
    # the leader ran the relayed script as alice: its refusal is in the leader's ACL LOG
    log = _as(leader, "admin", "adm").call("ACL", "LOG")
    assert any("alice" in e and "lua" in e and "b:F" in "".join(map(str, e)) for e in log), log
    # other users' writes through followers, with the default user off
    for f in (f1, f2):
        a = _as(f, "admin", "adm")
        assert a.call("SET", f"w{f.id}", "1") == "OK" and a.call("INCR", f"w{f.id}") == 2
    # a blocked client waits on the leader on a relay connection of its own, as its user
    b = _as(f1, "alice", "apw")
    b.c.send_command("BLPOP", "a:q", "0")
    la = _as(leader, "admin", "adm")
    wait_for(lambda: any(" flags=b " in ln and "user=alice" in ln
                         for ln in la.call("CLIENT", "LIST").splitlines()), 5,
             what="alice's BLPOP blocked on the leader")  # fmt: skip
    assert la.call("RPUSH", "a:q", "x") == 1 and b.c.read_response() == ["a:q", "x"]
    # carol may not SELECT nor run SYNOD (@admin): the relay still puts her requests in her
    # database and passes on her watched keys
    assert admin.call("ACL", "SETUSER", "carol", "on", ">cpw", "~c:*", "+@all", "-@admin",
                      "-select") == "OK"  # fmt: skip
    wait_for(lambda: _reply(f1.conn(), "AUTH", "carol", "cpw") == "OK", 5, what="carol")
    a1, carol, other = _as(f1, "admin", "adm"), _as(f1, "carol", "cpw"), _as(leader, "admin", "adm")
    assert a1.call("SELECT", "1") == "OK" and a1.call("SET", "c:x", "db1") == "OK"
    assert carol.call("SET", "c:x", "db0") == "OK" and a1.call("GET", "c:x") == "db1"
    assert carol.call("WATCH", "c:w") == "OK" and carol.call("MULTI") == "OK"
    assert other.call("SET", "c:w", "changed") == "OK"  # the watched key changes: EXEC fails
    assert carol.call("SET", "c:w", "mine") == "QUEUED" and carol.call("EXEC") is None
    assert carol.call("GET", "c:x") == "db0" and carol.call("GET", "c:w") == "changed"
    # the relay that last ran carol's requests is no client of carol's on the leader: CLIENT
    # KILL USER carol there kills nothing (and carol's connection to f1 goes on)
    assert other.call("CLIENT", "KILL", "USER", "carol") == 0
    assert carol.call("GET", "c:x") == "db0"
    assert admin.call("ACL", "SETUSER", "default", "on", "nopass", "+@all", "~*", "&*") == "OK"
    assert_same_digest(c, "relayed users", timeout=10)


def _hello(c, fid):
    return c.call("SYNOD", "RELAY-HELLO", str(fid))


def _closed(c):
    try:
        c.call("PING")
    except (redis.ConnectionError, redis.TimeoutError):
        return True
    return False


def test_stranger_cannot_switch_user(make_cluster):
    c = make_cluster(3, extra_args=("--cluster-secret", SECRET))
    leader = c.wait_leader()
    fid = next(n.id for n in c.nodes if n is not leader)
    d = leader.conn(timeout=5.0)
    assert d.call("ACL", "SETUSER", "admin", "on", ">adm", "+@all", "~*", "&*") == "OK"
    assert d.call("ACL", "SETUSER", "alice", "on", ">apw", "~a:*", "+@all") == "OK"
    assert d.call("ACL", "SETUSER", "bob", "off", ">bpw", "+@all", "~*") == "OK"
    # no proof: refused, and the requests behind it are not run as the connection's user
    s = leader.conn(timeout=5.0)
    with pytest.raises(redis.ResponseError, match="RELAY-USER refused: this connection has not "
                       "proven that it is a cluster member's relay"):  # fmt: skip
        s.call("SYNOD", "RELAY-USER", "admin")
    with pytest.raises(redis.exceptions.NoPermissionError, match="RELAY-USER refused"):
        s.call("SET", "x", "1")
    # a wrong proof (made for another leader id) closes the connection
    s = leader.conn(timeout=5.0)
    nonce = bytes.fromhex(_hello(s, fid))
    with pytest.raises(redis.ResponseError, match="wrong proof"):
        s.call("SYNOD", "RELAY-PROOF", relay_proof(SECRET, fid, leader.id + 7, nonce))
    assert _closed(s)
    # a right proof replayed on another connection (another challenge): refused
    s = leader.conn(timeout=5.0)
    nonce = bytes.fromhex(_hello(s, fid))
    good = relay_proof(SECRET, fid, leader.id, nonce)
    s2 = leader.conn(timeout=5.0)
    _hello(s2, fid)
    with pytest.raises(redis.ResponseError, match="wrong proof"):
        s2.call("SYNOD", "RELAY-PROOF", good)
    with pytest.raises(redis.ResponseError, match="no challenge"):  # one try per challenge
        leader.conn(timeout=5.0).call("SYNOD", "RELAY-PROOF", good)
    # a member's relay (this test knows the secret): the leader enforces the named user
    assert s.call("SYNOD", "RELAY-PROOF", good) == "OK"
    assert s.call("SYNOD", "RELAY-USER", "alice") == "OK"
    assert s.call("SET", "a:1", "v") == "OK"
    with pytest.raises(redis.ResponseError, match="no permissions to access one of the keys"):
        s.call("SET", "b:1", "v")
    with pytest.raises(redis.ResponseError, match="no permissions to run the 'acl_as' command"):
        s.call("ACL_AS", "admin", "EVAL", SCRIPT, "0", "b:2")
    with pytest.raises(redis.ResponseError, match="can't access at least one of the keys"):
        s.call("ACL_AS", "alice", "EVAL", SCRIPT, "0", "b:2")  # as a follower wraps it
    with pytest.raises(redis.ResponseError, match="can't access at least one of the keys"):
        s.call("EVAL", SCRIPT, "0", "b:2")  # logged as ACL_AS alice by the leader
    with pytest.raises(redis.ResponseError, match="user 'nosuch': no such user"):
        s.call("SYNOD", "RELAY-USER", "nosuch")
    with pytest.raises(redis.ResponseError, match="no such user"):  # not run as alice
        s.call("SET", "a:2", "v")
    # an `off` user's relayed requests run as that user: the follower authenticated its client
    # before (as in Redis, a connection goes on after its user is turned off)
    assert s.call("SYNOD", "RELAY-USER", "bob") == "OK"
    assert s.call("SET", "b:2", "bob") == "OK"
    assert s.call("ACL", "WHOAMI") == "bob"
    assert s.call("SYNOD", "RELAY-USER", "admin") == "OK"
    assert s.call("SET", "b:1", "v") == "OK"
    a = _as(leader, "admin", "adm")
    assert a.call("MGET", "a:1", "a:2", "b:1", "b:2", "x") == ["v", None, "v", "bob", None]
    # deleting the user a relay runs as does not close the relay (it is no client of it)
    assert s.call("SYNOD", "RELAY-USER", "alice") == "OK"
    assert a.call("ACL", "DELUSER", "alice") == 1
    with pytest.raises(redis.ResponseError, match="no permissions to run any command"):
        s.call("SET", "a:3", "v")
    assert s.call("SYNOD", "RELAY-USER", "admin") == "OK" and s.call("PING") == "PONG"


def _tls_call(port, certs, cert, *lines):
    """Raw requests over TLS (cert: a client certificate name or None); the raw replies."""
    ctx = ssl.create_default_context(cafile=certs("ca.crt"))
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(certs(f"{cert}.crt"), certs(f"{cert}.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw) as ts:  # fmt: skip
        got = b""
        for line in lines:
            ts.sendall(line + b"\r\n")
            while not got.endswith(b"\r\n"):
                chunk = ts.recv(4096)
                if not chunk:
                    return got
                got += chunk
            got += b"|"
        return got


def test_tls_cluster_relay_runs_as_user(tmp_path, certs):  # noqa: F811
    """tls-cluster without a secret: the relay's certificate (verified against the cluster's
    CA by the leader's tls-port) is its proof."""
    c = tls_cluster(tmp_path, certs, extra=("--tls-auth-clients", "optional"))
    c.start()
    try:
        leader = c.wait_leader()
        f = next(n for n in c.nodes if n is not leader)
        d = leader.conn(timeout=5.0)
        assert d.call("ACL", "SETUSER", "admin", "on", ">adm", "+@all", "~*", "&*") == "OK"
        assert d.call("ACL", "SETUSER", "alice", "on", ">apw", "~a:*", "+@all") == "OK"
        assert d.call("ACL", "SETUSER", "default", "resetkeys", "-@all") == "OK"
        wait_for(lambda: _reply(f.conn(), "GET", "k").startswith("ERR:this user has no perm"),
                 5, what="default restricted on the follower")  # fmt: skip
        a = _as(f, "alice", "apw")
        assert a.call("SET", "a:1", "v") == "OK" and a.call("INCR", "a:n") == 1
        assert "can't access" in _reply(a, "EVAL", SCRIPT, "0", "b:1")
        assert _reply(a, "SET", "b:1", "v").startswith("ERR:this user has no permissions")
        clients = _as(leader, "admin", "adm").call("CLIENT", "LIST")
        assert "user=alice" in clients, clients  # the relay, on the leader
        # a TLS client without a certificate, or a plaintext one: not a relay
        hello = b"SYNOD RELAY-HELLO 9"
        assert b"has neither" in _tls_call(leader.tls_port, certs, None, hello)
        with pytest.raises(redis.ResponseError, match="has neither"):
            leader.conn().call("SYNOD", "RELAY-HELLO", "9")
        # any certificate of the cluster's CA is a member's (docs/security.md: give clients
        # none of that CA's, or set cluster-secret as well)
        got = _tls_call(leader.tls_port, certs, "node3-client", hello, b"SYNOD RELAY-USER admin",
                        b"SET b:2 v")  # fmt: skip
        assert got == b"+OK\r\n|+OK\r\n|+OK\r\n|", got
    finally:
        bad = [(n.name, rc) for n, rc in c.stop() if rc not in (0, None)]
        assert not bad, bad
