"""Self-tests of the differential harness: each comparison must catch a deliberately broken
reply and accept a legitimately equivalent one. The broken target here is a second real
redis-server whose replies are rewritten on the client side, so these tests do not depend on
synod at all."""

import pytest

from .conftest import Server, redis_argv
from .diff import PAIRS, SCAN, SHAPE, TTL, U, HSCAN, Pair, equivalent
from .resp_raw import RawConn, encode_command, parse
from .test_compat_random import run_random


def test_exact_catches_type_differences():
    for a, b in [
        (b"+OK\r\n", b"$2\r\nOK\r\n"),
        (b":1\r\n", b"$1\r\n1\r\n"),
        (b"$-1\r\n", b"*-1\r\n"),
        (b"*-1\r\n", b"*0\r\n"),
        (b"$-1\r\n", b"_\r\n"),
        (b"$4\r\n10.5\r\n", b",10.5\r\n"),
        (b"-ERR syntax error\r\n", b"-ERR Syntax error\r\n"),
        (b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"),
    ]:
        assert not equivalent("exact", a, b), (a, b)
    assert equivalent("exact", b"+OK\r\n", b"+OK\r\n")


def test_unordered_and_pairs():
    ab = b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    ba = b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    aa = b"*2\r\n$1\r\na\r\n$1\r\na\r\n"
    assert equivalent("unordered", ab, ba)
    assert not equivalent("unordered", ab, aa)
    assert not equivalent("unordered", ab, b"*1\r\n$1\r\na\r\n")
    assert not equivalent("unordered", ab, b"~2\r\n$1\r\na\r\n$1\r\nb\r\n")
    h1 = b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    h2 = b"*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    h3 = b"*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n"  # values swapped between fields
    m1 = b"%2\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert equivalent("pairs", h1, h2)
    assert not equivalent("pairs", h1, h3)
    assert not equivalent("pairs", h1, m1)  # RESP2 array vs RESP3 map is a real difference
    assert equivalent("pairs", m1, b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")


def test_ttl_and_shape():
    assert equivalent("ttl", b":1000\r\n", b":999\r\n", tol=1)
    assert not equivalent("ttl", b":1000\r\n", b":997\r\n", tol=1)
    assert not equivalent("ttl", b":-1\r\n", b":-2\r\n", tol=5)
    assert not equivalent("ttl", b":5\r\n", b"$1\r\n5\r\n", tol=5)
    assert equivalent("shape", b":36\r\n", b":7\r\n")
    assert not equivalent("shape", b":36\r\n", b"$2\r\n36\r\n")
    assert not equivalent("shape", b"*2\r\n:1\r\n:2\r\n", b"*1\r\n:1\r\n")


def test_parse_resp3():
    raw = (b"%2\r\n$1\r\na\r\n_\r\n$1\r\nb\r\n*3\r\n,1.5\r\n#t\r\n(12345678901234567890\r\n")
    t = parse(raw)
    assert t[0] == "map" and t[1][0][1] == ("null",)
    assert t[1][1][1][1][0] == ("double", b"1.5")
    assert parse(b"=8\r\ntxt:abcd\r\n") == ("verbatim", b"txt:abcd")


class MutConn(RawConn):
    """A raw connection whose replies are rewritten by mutate(request_bytes, reply_bytes)."""

    def __init__(self, host, port, mutate):
        super().__init__(host, port)
        self.mutate = mutate
        self.last = b""

    def send_raw(self, data):
        self.last = data
        super().send_raw(data)

    def read_reply(self, timeout=None):
        return self.mutate(self.last, super().read_reply(timeout))


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    s = Server("redis-twin", redis_argv, str(tmp_path_factory.mktemp("twin")))
    s.start()
    yield s
    s.stop()


def _pair(servers, twin, mutate):
    ref = RawConn("127.0.0.1", servers[0].port)
    tgt = MutConn("127.0.0.1", twin.port, mutate)
    for c in (ref, tgt):
        assert c.call("FLUSHALL") == b"+OK\r\n"
    return Pair(ref, tgt, "mutated-redis")


def _when(cmd, fn):
    """Mutator applying fn to replies of requests whose command name is cmd."""
    head = encode_command(cmd)[4:]  # "$n\r\nNAME\r\n" after "*k\r\n"

    def mutate(req, rep):
        body = req.split(b"\r\n", 1)[1] if req.startswith(b"*") else b""
        return fn(rep) if body.upper().startswith(head.upper()) else rep

    return mutate


def test_pair_catches_each_mode(servers, twin):
    cases = [
        (_when("SET", lambda r: b"$2\r\nOK\r\n" if r == b"+OK\r\n" else r), ("SET", "k", "v")),
        (_when("GET", lambda r: b"*-1\r\n" if r == b"$-1\r\n" else r), ("GET", "nokey")),
        (_when("KEYS", lambda r: b"*0\r\n"), U("KEYS", "*")),
        (_when("HGETALL", lambda r: r.replace(b"$1\r\n1", b"$1\r\n9")), PAIRS("HGETALL", "h")),
        (_when("TTL", lambda r: b":1\r\n" if r.startswith(b":") and r != b":-2\r\n" else r),
         TTL(1, "TTL", "t")),
        (_when("CLIENT", lambda r: b"$1\r\n7\r\n" if r.startswith(b":") else r), SHAPE("CLIENT", "ID")),
        (_when("SCAN", lambda r: r.replace(b"$2\r\nk3\r\n", b"$2\r\nzz\r\n")), SCAN("COUNT", "2")),
        (_when("HSCAN", lambda r: r.replace(b"$1\r\n2\r\n", b"$1\r\n3\r\n")), HSCAN("h")),
    ]
    for mutate, step in cases:
        p = _pair(servers, twin, mutate)
        for c in (p.ref, p.tgt):
            c.call("MSET", "k1", "1", "k2", "2", "k3", "3", "k4", "4")
            c.call("HSET", "h", "a", "1", "b", "2")
            c.call("SET", "t", "v", "EX", "1000")
        p.step(step)
        assert len(p.mismatches) == 1, "not caught: %r" % (step,)
        p.mismatches = []
        p.step(("PING",))  # untouched commands still compare equal
        assert not p.mismatches
        p.ref.close()
        p.tgt.close()


def test_random_run_catches_broken_target(servers, twin):
    """The random differential run reports a target that encodes EXISTS as a bulk string."""
    p = _pair(servers, twin, _when("EXISTS", lambda r: b"$%d\r\n%s\r\n" % (len(r) - 3, r[1:-2])))
    failure = run_random(p, 7, 2000)
    assert failure is not None and "EXISTS" in failure and "SEED=7" in failure, failure


def test_random_run_accepts_reordered_hash_replies(servers, twin):
    """Reordering an unordered reply (HKEYS) is not a difference."""
    def rev(r):
        t = parse(r)
        if t[0] != "array" or not t[1]:
            return r
        return encode_command(*[x[1] for x in reversed(t[1])])

    p = _pair(servers, twin, _when("HKEYS", rev))
    assert run_random(p, 11, 1500) is None


class GarbageConn(RawConn):
    """Injects bytes that are not RESP in front of the reply to the next request."""

    def send_raw(self, data):
        super().send_raw(data)
        if b"ECHO" in data:
            self.buf = b"?garbage\r\n" + self.buf


def test_malformed_target_reply_aborts_scenario(servers, twin):
    """A reply that is not valid RESP is reported, and the scenario stops (framing is lost)."""
    p = Pair(RawConn("127.0.0.1", servers[0].port), GarbageConn("127.0.0.1", twin.port))
    with pytest.raises(AssertionError, match="malformed reply"):
        p.run([("ECHO", "x"), ("PING",)])
    assert p.mismatches == []


def test_closed_target_aborts_scenario(servers, twin):
    p = _pair(servers, twin, lambda req, rep: rep)
    p.tgt.send_raw(b"QUIT\r\n")
    assert p.tgt.read_reply() == b"+OK\r\n"
    with pytest.raises(AssertionError, match="connection closed"):
        p.run([("PING",), ("PING",)])
