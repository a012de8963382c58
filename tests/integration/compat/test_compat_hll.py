"""Differential tests: HyperLogLogs (PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST), raw RESP replies
of redis-server 7.0 vs synod, byte for byte, in RESP2 and RESP3, and the HLL strings themselves.

The cached count works as in Redis: PFADD/PFMERGE mark it stale, and a PFCOUNT of one key with
a stale cache stores the count (synod logs that PFCOUNT, so every replica stores it): GET is
identical at every step."""

import os
import random

import pytest

from .diff import Mismatch, cases, show
from .resp_raw import parse

HDR = 16  # "HYLL", encoding, 3 unused bytes, 8 cache bytes


def _elems(prefix, n, start=0):
    return ["%s%d" % (prefix, i) for i in range(start, start + n)]


CASES = [
    ("basics", [
        ("PFADD", "hll"), ("EXISTS", "hll"), ("PFCOUNT", "hll"), ("GET", "hll"),
        ("PFADD", "hll", "a", "b", "c"), ("GET", "hll"), ("PFCOUNT", "hll"), ("GET", "hll"),
        ("PFADD", "hll", "a", "b", "c"), ("GET", "hll"), ("PFADD", "hll", ""), ("GET", "hll"),
        ("PFCOUNT", "hll"), ("GET", "hll"), ("PFDEBUG", "DECODE", "hll"),
        ("PFDEBUG", "ENCODING", "hll"), ("OBJECT", "ENCODING", "hll"), ("TYPE", "hll"),
        ("STRLEN", "hll"), ("PFCOUNT", "none"), ("PFCOUNT", "none", "none2"),
        ("PFCOUNT", "hll", "none"), ("PFADD", "x", *_elems("", 10, 1)), ("PFCOUNT", "x"),
        ("GET", "x"), ("PFCOUNT", "x", "hll"), ("PFDEBUG", "DECODE", "x"),
    ]),
    ("promotion", [
        ("PFADD", "p", *_elems("e", 500)), ("PFCOUNT", "p"), ("PFDEBUG", "ENCODING", "p"),
        ("STRLEN", "p"), ("GET", "p"), ("PFADD", "p", *_elems("e", 1500, 500)),
        ("PFDEBUG", "ENCODING", "p"), ("STRLEN", "p"), ("PFCOUNT", "p"), ("GET", "p"),
        ("PFADD", "p", *_elems("e", 5000, 2000)), ("PFCOUNT", "p"), ("GET", "p"),
        ("CONFIG", "SET", "hll-sparse-max-bytes", "100"), ("PFADD", "q", *_elems("q", 30)),
        ("PFDEBUG", "ENCODING", "q"), ("PFCOUNT", "q"), ("GET", "q"),
        ("CONFIG", "GET", "hll-sparse-max-bytes"),
        # e0 e1 e2 make a 27-byte sparse HLL: at the limit it stays sparse, one more promotes
        ("CONFIG", "SET", "hll-sparse-max-bytes", "27"), ("PFADD", "b", "e0", "e1", "e2"),
        ("PFDEBUG", "ENCODING", "b"), ("STRLEN", "b"), ("GET", "b"), ("PFADD", "b", "e3"),
        ("PFDEBUG", "ENCODING", "b"), ("STRLEN", "b"),
        ("CONFIG", "SET", "hll-sparse-max-bytes", "3000"),
    ]),
    ("merge", [
        ("PFADD", "h1", "a", "b", "c"), ("PFADD", "h2", "b", "c", "d"), ("PFADD", "h3", "c", "d", "e"),
        ("PFMERGE", "h", "h1", "h2", "h3"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFDEBUG", "ENCODING", "h"), ("PFMERGE", "h1", "h2"), ("PFCOUNT", "h1"), ("GET", "h1"),
        ("PFMERGE", "empty"), ("PFCOUNT", "empty"), ("GET", "empty"), ("PFMERGE", "e2", "none"),
        ("PFCOUNT", "e2"), ("GET", "e2"), ("PFADD", "d", *_elems("d", 3000)), ("PFDEBUG", "ENCODING", "d"),
        ("PFMERGE", "m", "h1", "d"), ("PFDEBUG", "ENCODING", "m"), ("PFCOUNT", "m"), ("GET", "m"),
        ("PFMERGE", "h2", "h2"), ("PFCOUNT", "h2"), ("GET", "h2"),
        ("PFCOUNT", "h1", "h2", "h3", "d"), ("PFADD", "dd"), ("PFDEBUG", "TODENSE", "dd"),
        ("PFMERGE", "s", "h1"), ("PFMERGE", "s", "dd"), ("PFDEBUG", "ENCODING", "s"),
        ("PFCOUNT", "s"), ("GET", "s"),
        ("SET", "ttl", "x"), ("DEL", "ttl"), ("PFADD", "ttl", "a"), ("EXPIRE", "ttl", "1000"),
        ("PFADD", "ttl", "zz"), ("TTL", "ttl"), ("PFMERGE", "ttl", "h1"), ("TTL", "ttl"),
    ]),
    ("types_and_errors", [
        ("SET", "s", "hello"), ("PFADD", "s", "x"), ("PFCOUNT", "s"), ("PFCOUNT", "none", "s"),
        ("PFMERGE", "d", "s"), ("PFMERGE", "s", "none"), ("EXISTS", "d"), ("HSET", "h", "f", "v"),
        ("PFADD", "h", "x"), ("PFCOUNT", "h"), ("PFMERGE", "h", "none"), ("PFMERGE", "d", "h"),
        ("SET", "n", "12345"), ("PFADD", "n", "a"), ("SET", "e", ""), ("PFCOUNT", "e"),
        ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG", "GETREG"),
        ("PFDEBUG", "GETREG", "hll", "x"), ("PFSELFTEST", "x"),
        ("PFDEBUG", "GETREG", "none"), ("PFDEBUG", "FOO", "none"), ("PFADD", "hll", "a"),
        ("PFDEBUG", "FOO", "hll"), ("PFDEBUG", "foo\r\nbar", "hll"), ("PFDEBUG", "ENCODING", "s"),
        ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "TODENSE", "hll"), ("PFDEBUG", "TODENSE", "hll"),
        ("PFDEBUG", "DECODE", "hll"), ("PFDEBUG", "encoding", "hll"), ("STRLEN", "hll"),
        ("PFDEBUG", "GETREG", "hll"), ("PFADD", "g", "a", "b"), ("PFDEBUG", "GETREG", "g"),
        ("PFDEBUG", "ENCODING", "g"), ("PFCOUNT", "g"),
    ]),
    ("corrupted", [
        # after PFADD Redis's cache is stale, so its PFCOUNT checks the code as synod's does
        ("PFADD", "t", "a", "b", "c"), ("APPEND", "t", "hello"), ("PFCOUNT", "t"),
        # a valid cache is returned without looking at the registers, as Redis does
        ("PFADD", "vc", "a", "b"), ("PFCOUNT", "vc"), ("APPEND", "vc", "hello"), ("PFCOUNT", "vc"),
        ("PFCOUNT", "t", "none"), ("PFMERGE", "u", "t"), ("EXISTS", "u"), ("PFMERGE", "t", "none"),
        ("PFDEBUG", "DECODE", "t"), ("PFDEBUG", "TODENSE", "t"), ("PFDEBUG", "GETREG", "t"),
        ("PFADD", "m", "a"), ("SETRANGE", "m", "0", "0123"), ("PFCOUNT", "m"), ("PFADD", "m", "x"),
        ("PFADD", "v", "a"), ("SETRANGE", "v", "4", "x"), ("PFCOUNT", "v"),
        ("PFADD", "w", "a"), ("SETRANGE", "w", "4", "\x00"), ("PFCOUNT", "w"), ("PFMERGE", "w"),
        ("SET", "z", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x00"),
        ("PFCOUNT", "z"), ("PFDEBUG", "DECODE", "z"), ("PFMERGE", "z2", "z"),
        ("SET", "y", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"), ("PFCOUNT", "y"),
        ("PFDEBUG", "DECODE", "y"), ("PFCOUNT", "y", "z"),
        ("SET", "x", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\xbf\xff\x7f\xbf"),
        ("PFCOUNT", "x"), ("PFDEBUG", "DECODE", "x"),
        ("SET", "big", b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + b"\xff" * 12288),
        ("PFCOUNT", "big"), ("PFADD", "big", "a"), ("PFMERGE", "big2", "big"), ("PFCOUNT", "big2"),
        ("GET", "big2"),
    ]),
    ("multi_and_keys", [
        ("MULTI",), ("PFADD", "k", "a", "b"), ("PFCOUNT", "k"), ("PFMERGE", "k2", "k"), ("EXEC",),
        ("PFCOUNT", "k2"), ("GET", "k2"), ("RENAME", "k2", "k3"), ("PFCOUNT", "k3"), ("COPY", "k3", "k4"),
        ("PFADD", "k4", "c"), ("PFCOUNT", "k3", "k4"), ("PFCOUNT", "k4"),
        ("GET", "k4"),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_hll(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


def _get(conn, key):
    t = parse(conn.call("GET", key))
    assert t[0] == "bulk", t
    return t[1]


def _int(conn, *cmd):
    t = parse(conn.call(*cmd))
    assert t[0] == "int", (cmd, t)
    return t[1]


def _check_after_write(pair, key, what):
    """Right after a PFADD/PFMERGE the strings are identical (cache stale or kept as Redis), and
    again after PFCOUNT (which stores the count in both)."""
    r, s = _get(pair.ref, key), _get(pair.tgt, key)
    if r != s:
        pair.mismatches.append(Mismatch(("GET", key), r[:40], s[:40], what + ": strings differ"))
        return
    rc, sc = _int(pair.ref, "PFCOUNT", key), _int(pair.tgt, "PFCOUNT", key)
    r2, s2 = _get(pair.ref, key), _get(pair.tgt, key)
    if rc != sc or r2 != s2:
        pair.mismatches.append(Mismatch(("PFCOUNT", key), r2[:HDR], s2[:HDR],
                                        what + ": count or cache bytes differ"))


def test_hll_bytes_random(pair):
    """Seeded random PFADD / PFMERGE / PFDEBUG TODENSE on a few keys, sparse and dense, with
    several hll-sparse-max-bytes: every reply identical, and every HLL string identical to
    Redis's, after each write and after PFCOUNT. HLL_SEED=n replays."""
    seed = int(os.environ.get("HLL_SEED", random.randrange(1 << 30)))
    print("HLL_SEED=%d" % seed)
    rng = random.Random(seed)
    keys = ["r%d" % i for i in range(4)]
    for limit in ("3000", "300", "40"):
        pair.step(("CONFIG", "SET", "hll-sparse-max-bytes", limit))
        for _ in range(150):
            k = rng.choice(keys)
            op = rng.randrange(10)
            if op < 6:
                n = rng.choice([0, 1, 2, 5, 20, 200])
                pair.step(("PFADD", k, *[str(rng.randrange(30000)) for _ in range(n)]))
            elif op < 8:
                pair.step(("PFMERGE", k, *rng.sample(keys, rng.randint(0, 3))))
            elif op == 8:
                pair.step(("PFCOUNT", *rng.sample(keys, rng.randint(1, 4))))
            else:
                pair.step(("PFDEBUG", rng.choice(["ENCODING", "TODENSE", "DECODE"]), k))
            if op < 8:
                _check_after_write(pair, k, "seed %d" % seed)
            if rng.random() < 0.03:
                pair.step(("DEL", k))
            if pair.mismatches:
                break
    pair.step(("CONFIG", "SET", "hll-sparse-max-bytes", "3000"))
    pair.assert_clean()


@pytest.mark.parametrize("n, dense, counted", [
    (0, False, False), (3, False, False), (3, False, True), (200, False, False),
    (3000, False, False), (3000, False, True), (5, True, False),
])
def test_hll_moves_between_servers(pair, n, dense, counted):
    """An HLL made by Redis (GET), stored into synod (SET), counts and grows as in Redis; and one
    made by synod, stored into Redis, counts the same there."""
    els = _elems("m", n)
    pair.ref.call("PFADD", "src", *els)
    if dense:
        pair.ref.call("PFDEBUG", "TODENSE", "src")
    if counted:
        pair.ref.call("PFCOUNT", "src")  # a valid cache; else the cache is stale
    blob = _get(pair.ref, "src")
    for conn in (pair.ref, pair.tgt):
        assert parse(conn.call("SET", "k", blob)) == ("simple", b"OK")
    pair.run([
        ("PFCOUNT", "k"), ("PFCOUNT", "k", "none"), ("PFDEBUG", "ENCODING", "k"),
        ("PFADD", "k", *els[: n // 2]), ("PFADD", "k", "new1", "new2"),
        ("PFCOUNT", "k"), ("GET", "k"), ("PFMERGE", "k2", "k"), ("PFCOUNT", "k2"), ("GET", "k2"),
    ])
    # the other way: synod's string into Redis
    pair.tgt.call("PFADD", "own", *els, "x")
    blob = _get(pair.tgt, "own")
    assert parse(pair.ref.call("SET", "own2", blob)) == ("simple", b"OK")
    assert _int(pair.ref, "PFCOUNT", "own2") == _int(pair.tgt, "PFCOUNT", "own")
    pair.ref.call("PFADD", "own2", "y")
    pair.tgt.call("PFADD", "own", "y")
    pair.ref.call("PFCOUNT", "own2")
    pair.tgt.call("PFCOUNT", "own")
    r = _get(pair.ref, "own2")
    s = _get(pair.tgt, "own")
    if r != s:
        pair.mismatches.append(Mismatch(("GET", "own"), r[:HDR], s[:HDR], "synod's HLL in Redis"))
    pair.assert_clean()


def test_hll_selftest(pair):
    ref, tgt = pair.both("PFSELFTEST")
    assert ref == b"+OK\r\n" and tgt == b"+OK\r\n", (show(ref), show(tgt))


def test_hll_command_info(pair):
    """COMMAND INFO of every HLL command: name, arity, key positions exact, flags as a set
    (synod has no admin / may_replicate flags: compared without them)."""
    for name in ("pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"):
        ref, tgt = pair.both("COMMAND", "INFO", name)
        r, t = parse(ref), parse(tgt)
        assert t[0] == "array" and len(t[1]) == 1 and t[1][0][0] == "array", (name, show(tgt))
        rr, tt = r[1][0][1], t[1][0][1]
        if tt[0:2] != rr[0:2] or tt[3:6] != rr[3:6]:
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name), ref, tgt,
                                            "name, arity or key positions differ"))
        drop = {repr(("simple", f)) for f in (b"admin", b"may_replicate", b"noscript")}
        rf = sorted(set(map(repr, rr[2][1])) - drop)
        tf = sorted(set(map(repr, tt[2][1])) - drop)
        if rf != tf:
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name), ref, tgt,
                                            "flags differ (compared as a set)"))
    pair.assert_clean()
