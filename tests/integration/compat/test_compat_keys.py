"""Differential tests: keyspace commands, raw RESP replies of redis-server 7.0 vs synod."""

import time

import pytest

from .diff import SCAN, TTL, U, cases

FUT = "4102444800"  # 2100-01-01 (s): far-future absolute expiries compare exactly
FUT_MS = FUT + "000"
PAST = "1000000000"  # 2001: absolute expiries in the past delete the key


def _mset(*keys):
    args = ["MSET"]
    for k in keys:
        args += [k, "v-" + k]
    return tuple(args)


GLOB_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo", "a",
             "ab", "abc", "b", "k1", "k2", "k10", "K1", "x\\y", "-", "]", "^", "{tag}x", "",
             "caf\xe9"]

CASES = [
    ("del_unlink_exists", [
        ("MSET", "a", "1", "b", "2", "c", "3"), ("EXISTS", "a"), ("EXISTS", "a", "b", "z"),
        ("EXISTS", "a", "a", "a"), ("DEL", "a"), ("DEL", "a"), ("DEL", "b", "c", "z", "b"),
        ("EXISTS", "a", "b", "c"), ("MSET", "a", "1", "b", "2"), ("UNLINK", "a", "b", "z"),
        ("UNLINK", "a"), ("HSET", "h", "f", "v"), ("EXISTS", "h"), ("DEL", "h"), ("EXISTS", "h"),
        ("DEL",), ("UNLINK",), ("EXISTS",), ("DBSIZE",),
    ]),
    ("type", [
        ("TYPE", "none"), ("SET", "s", "v"), ("TYPE", "s"), ("SET", "n", "1"), ("TYPE", "n"),
        ("HSET", "h", "f", "v"), ("TYPE", "h"), ("TYPE",), ("TYPE", "a", "b"),
    ]),
    ("expire_basic", [
        ("EXPIRE", "k", "100"), ("SET", "k", "v"), ("EXPIRE", "k", "1000"), TTL(1, "TTL", "k"),
        TTL(500, "PTTL", "k"), ("PEXPIRE", "k", "2000000"), TTL(1, "TTL", "k"),
        ("EXPIREAT", "k", FUT), TTL(1, "TTL", "k"),
        ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"), ("PEXPIREAT", "k", FUT_MS + "5"),
        ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"), ("PERSIST", "k"), ("PERSIST", "k"),
        ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("TTL", "none"), ("PTTL", "none"), ("EXPIRETIME", "none"), ("PEXPIRETIME", "none"),
        ("PERSIST", "none"),
    ]),
    ("expire_delete_now", [
        ("SET", "a", "v"), ("EXPIRE", "a", "0"), ("EXISTS", "a"), ("SET", "a", "v"),
        ("EXPIRE", "a", "-10"), ("EXISTS", "a"), ("SET", "a", "v"), ("PEXPIRE", "a", "-1"),
        ("GET", "a"), ("SET", "a", "v"), ("EXPIREAT", "a", PAST), ("TTL", "a"),
        ("SET", "a", "v"), ("PEXPIREAT", "a", "1"), ("TTL", "a"), ("SET", "a", "v"),
        ("EXPIREAT", "a", "0"), ("DBSIZE",), ("HSET", "h", "f", "v"), ("EXPIRE", "h", "-1"),
        ("EXISTS", "h"), ("EXPIRE", "none", "-1"),
    ]),
    # Redis deletes a logically expired key when a command finds it, so DBSIZE drops at once
    # (DBSIZE is not compared before the access: the active cycle may or may not have run).
    ("lazy_expire_dbsize", [
        ("SET", "a", "v", "EXAT", "1"), ("GET", "a"), ("DBSIZE",),
        ("SET", "a1", "v", "EXAT", "1"), ("STRLEN", "a1"), ("DBSIZE",),
        ("SET", "a2", "v", "PXAT", "1"), ("TYPE", "a2"), ("DBSIZE",),
        ("SET", "a3", "v", "EXAT", "1"), ("GETRANGE", "a3", "0", "1"), ("DBSIZE",),
        ("SET", "b", "v", "PXAT", "1"), ("EXISTS", "b"), ("DBSIZE",),
        ("SET", "c", "v"), ("GETEX", "c", "PXAT", "1"), ("DBSIZE",), ("TTL", "c"), ("DBSIZE",),
        ("SET", "d", "v", "PXAT", "1"), ("TTL", "d"), ("DBSIZE",),
        ("HSET", "e", "f", "v"), ("PEXPIREAT", "e", "1"), ("DBSIZE",),
    ]),
    ("expire_bad_args", [
        ("SET", "k", "v"), ("EXPIRE", "k", "abc"), ("EXPIRE", "k", "1.5"), ("EXPIRE", "k", ""),
        ("EXPIRE", "k"), ("EXPIRE",), ("PEXPIRE", "k", "x"), ("EXPIREAT", "k", "x"),
        ("PEXPIREAT", "k", "1e3"), ("EXPIRE", "k", "9223372036854775807"),
        ("EXPIRE", "k", "-9223372036854775808"), ("PEXPIRE", "k", "9223372036854775807"),
        ("EXPIREAT", "k", "9223372036854775807"), ("PEXPIREAT", "k", "9223372036854775807"),
        ("EXPIRE", "k", "92233720368547758"), ("EXPIRE", "k", "99999999999999999999"),
        ("TTL", "k"), ("EXISTS", "k"), ("TTL",), ("PTTL", "a", "b"), ("PERSIST",),
        ("EXPIRETIME",), ("PEXPIRETIME", "a", "b"),
    ]),
    ("expire_options", [
        ("SET", "k", "v"), ("EXPIRE", "k", "1000", "XX"), ("TTL", "k"),
        ("EXPIRE", "k", "1000", "GT"), ("TTL", "k"), ("EXPIRE", "k", "1000", "LT"), TTL(1, "TTL", "k"),
        ("EXPIRE", "k", "2000", "NX"), TTL(1, "TTL", "k"), ("EXPIRE", "k", "2000", "XX"),
        TTL(1, "TTL", "k"), ("EXPIRE", "k", "1000", "GT"), ("EXPIRE", "k", "3000", "GT"),
        TTL(1, "TTL", "k"), ("EXPIRE", "k", "5000", "LT"), ("EXPIRE", "k", "1500", "LT"),
        TTL(1, "TTL", "k"), ("EXPIRE", "k", "1000", "nx"), ("PERSIST", "k"),
        ("EXPIRE", "k", "1000", "LT"), TTL(1, "TTL", "k"), ("PERSIST", "k"),
        ("PEXPIRE", "k", "1000000", "NX"), ("PEXPIRE", "k", "1000000", "NX"),
        ("EXPIREAT", "k", FUT, "GT"), ("EXPIRETIME", "k"), ("EXPIREAT", "k", FUT, "GT"),
        ("PEXPIREAT", "k", FUT_MS, "LT"), ("PEXPIREAT", "k", FUT_MS + "1", "XX", "GT"),
        ("PEXPIRETIME", "k"), ("EXPIRE", "none", "100", "XX"), ("EXPIRE", "none", "100", "NX"),
        ("EXPIRE", "k", "-1", "GT"), ("EXISTS", "k"), ("EXPIRE", "k", "-1", "LT"), ("EXISTS", "k"),
    ]),
    ("expire_option_errors", [
        ("SET", "k", "v"), ("EXPIRE", "k", "100", "NX", "XX"), ("EXPIRE", "k", "100", "GT", "LT"),
        ("EXPIRE", "k", "100", "NX", "GT"), ("EXPIRE", "k", "100", "NX", "LT"),
        ("EXPIRE", "k", "100", "XX", "LT", "GT"), ("EXPIRE", "k", "100", "FOO"),
        ("EXPIRE", "k", "100", "NX", "FOO"), ("PEXPIRE", "k", "100", "BAR"),
        ("EXPIREAT", "k", FUT, "GT", "LT"), ("PEXPIREAT", "k", FUT_MS, "NX", "XX"),
        ("EXPIRE", "k", "abc", "FOO"), ("EXPIRE", "k", "100", "XX", "XX"), ("TTL", "k"),
    ]),
    ("ttl_after_overwrite", [
        ("SET", "k", "v", "EX", "1000"), ("SET", "k", "w"), ("TTL", "k"),
        ("SET", "k", "v", "EX", "1000"), ("APPEND", "k", "x"), TTL(1, "TTL", "k"),
        ("RENAME", "k", "k2"), TTL(1, "TTL", "k2"), ("TTL", "k"), ("DEL", "k2"), ("TTL", "k2"),
        ("HSET", "h", "f", "v"), ("EXPIRE", "h", "1000"), ("HSET", "h", "g", "w"),
        TTL(1, "TTL", "h"), ("HDEL", "h", "f", "g"), ("TTL", "h"), ("EXISTS", "h"),
    ]),
    ("keys_glob", [
        _mset(*GLOB_KEYS),
        U("KEYS", "*"), U("KEYS", "h?llo"), U("KEYS", "h*llo"), U("KEYS", "h[ae]llo"),
        U("KEYS", "h[^e]llo"), U("KEYS", "h[a-b]llo"), U("KEYS", "h[b-a]llo"), U("KEYS", "k?"),
        U("KEYS", "k*"), U("KEYS", "k[0-9]"), U("KEYS", "k[0-9]*"), U("KEYS", "K*"),
        U("KEYS", "h\\*llo"), U("KEYS", "h\\?llo"), U("KEYS", "h\\[a\\]llo"), U("KEYS", "x\\\\y"),
        U("KEYS", "a"), U("KEYS", "a*"), U("KEYS", "?"), U("KEYS", "??"), U("KEYS", "*b*"),
        U("KEYS", "[ab]"), U("KEYS", "[]]"), U("KEYS", "[^a]"), U("KEYS", "-"), U("KEYS", "[-]"),
        U("KEYS", "[a-]"), U("KEYS", "h[a"), U("KEYS", "h[a-"), U("KEYS", "*["), U("KEYS", "\\"),
        U("KEYS", "{tag}*"), U("KEYS", ""), U("KEYS", "nomatch*"), U("KEYS", "**llo"),
        U("KEYS", "*l*o"), U("KEYS", "caf?"), U("KEYS", "h[A-Z]llo"), U("KEYS", "[\\-]"),
        ("KEYS",), ("KEYS", "a", "b"),
    ]),
    ("keys_binary_and_pathological", [
        ("SET", "a\x00b", "1"), ("SET", "a\r\nb", "2"), ("SET", b"\xff", "3"), ("SET", "a" * 60, "4"),
        U("KEYS", "a*"), U("KEYS", "a?b"), U("KEYS", "a\x00*"), U("KEYS", "[\x00-\x7f]*"),
        U("KEYS", b"\xff"), U("KEYS", b"[\xfe-\xff]"),
        # Exponential backtracking in a naive matcher (Redis 7.0.9+ bounds it).
        U("KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"), SCAN("MATCH", "*a*a*a*a*a*a*a*a*a*a*a*a*a*c"),
        U("KEYS", "[[]"), U("KEYS", "[a-]*"), U("KEYS", "[\\]]"), U("KEYS", "\\a*"),
    ]),
    ("keys_types_and_expired", [
        ("SET", "s1", "v"), ("HSET", "h1", "f", "v"), ("SET", "gone", "v", "PXAT", "1"),
        # (no DBSIZE here: whether "gone" is still counted depends on the active-expiry timing)
        ("SET", "t", "v", "EX", "1000"), U("KEYS", "*"), SCAN(), ("EXISTS", "gone", "t"),
    ]),
    ("scan_full", [
        _mset(*["key:%d" % i for i in range(300)]),
        ("HSET", "hash:1", "f", "v"), ("HSET", "hash:2", "f", "v"), ("SET", "other", "x"),
        SCAN(), SCAN("COUNT", "1"), SCAN("COUNT", "7"), SCAN("COUNT", "1000"),
        SCAN("MATCH", "key:1*"), SCAN("MATCH", "key:1*", "COUNT", "5"), SCAN("MATCH", "nomatch*"),
        SCAN("MATCH", "hash:*"), SCAN("TYPE", "hash"), SCAN("TYPE", "string", "COUNT", "50"),
        SCAN("TYPE", "HASH"), SCAN("TYPE", "list"), SCAN("TYPE", "nosuchtype"),
        SCAN("MATCH", "*:2?", "TYPE", "string"), SCAN("COUNT", "3", "MATCH", "key:29*"),
        SCAN("MATCH", "a", "MATCH", "key:5*"), SCAN("match", "key:7*", "count", "2"),
    ]),
    # Non-zero cursors are implementation details (Redis: hash-table positions), so only
    # cursor 0 and unparseable cursors are compared byte for byte.
    ("scan_small_and_errors", [
        ("SCAN", "0"), SCAN(), ("SET", "a", "1"), ("SCAN", "0"), ("SCAN", "0", "MATCH", "a"),
        ("SCAN", "0", "MATCH", "b"), ("SCAN", "abc"), ("SCAN", "1.5"),
        ("SCAN", ""), ("SCAN", "18446744073709551616"), ("SCAN",),
        ("SCAN", "0", "COUNT", "0"), ("SCAN", "0", "COUNT", "-1"), ("SCAN", "0", "COUNT", "abc"),
        ("SCAN", "0", "COUNT"), ("SCAN", "0", "MATCH"), ("SCAN", "0", "TYPE"),
        ("SCAN", "0", "FOO", "bar"), ("SCAN", "0", "FOO"), ("SCAN", "0", "MATCH", "a", "FOO"),
    ]),
    ("rename", [
        ("RENAME", "a", "b"), ("SET", "a", "1"), ("RENAME", "a", "b"), ("GET", "a"), ("GET", "b"),
        ("RENAME", "b", "b"), ("GET", "b"), ("SET", "c", "3"), ("RENAME", "b", "c"), ("GET", "c"),
        ("HSET", "h", "f", "v"), ("RENAME", "h", "c"), ("TYPE", "c"), ("HGET", "c", "f"),
        ("SET", "x", "1", "EX", "1000"), ("SET", "y", "2"), ("RENAME", "y", "x"), ("TTL", "x"),
        ("RENAME", "a"), ("RENAME",), ("RENAME", "a", "b", "c"), ("RENAME", "none", "none"),
    ]),
    ("renamenx", [
        ("RENAMENX", "a", "b"), ("SET", "a", "1"), ("SET", "b", "2"), ("RENAMENX", "a", "b"),
        ("GET", "a"), ("GET", "b"), ("RENAMENX", "a", "c"), ("GET", "c"), ("EXISTS", "a"),
        ("RENAMENX", "c", "c"), ("HSET", "h", "f", "v"), ("RENAMENX", "h", "b"), ("RENAMENX", "h", "h2"),
        ("TYPE", "h2"), ("SET", "t", "v", "EX", "1000"), ("RENAMENX", "t", "t2"), TTL(1, "TTL", "t2"),
        ("RENAMENX", "a"), ("RENAMENX", "none", "none"),
    ]),
    # COPY keeps the source's expiry, whatever the type (absolute times compare exactly)
    ("copy_keeps_ttl", [
        ("SET", "s", "v"), ("HSET", "h", "f", "v"), ("RPUSH", "l", "a"), ("SADD", "t", "a"),
        ("SADD", "i", "1"), ("ZADD", "z", "1", "a"), ("XADD", "x", "1-1", "f", "v"),
    ] + [step for k in ("s", "h", "l", "t", "i", "z", "x") for step in (
        ("PEXPIREAT", k, FUT_MS + "7"), ("COPY", k, k + "2"), ("PEXPIRETIME", k + "2"),
        ("COPY", k, k + "3", "DB", "1"), ("SELECT", "1"), ("PEXPIRETIME", k + "3"),
        ("SELECT", "0"))] + [
        ("PERSIST", "s"), ("COPY", "s", "s2", "REPLACE"), ("PEXPIRETIME", "s2"),
    ]),
    ("touch", [
        ("TOUCH", "a"), ("MSET", "a", "1", "b", "2"), ("TOUCH", "a", "b", "c", "a"), ("TOUCH",),
        ("HSET", "h", "f", "v"), ("TOUCH", "h"),
    ]),
    ("dbsize_flush", [
        ("DBSIZE",), ("MSET", "a", "1", "b", "2"), ("HSET", "h", "f", "v"), ("DBSIZE",),
        ("FLUSHDB",), ("DBSIZE",), ("SET", "a", "1"), ("FLUSHALL",), ("DBSIZE",), ("GET", "a"),
        ("SET", "a", "1"), ("FLUSHDB", "SYNC"), ("DBSIZE",), ("SET", "a", "1"),
        ("FLUSHALL", "ASYNC"), ("DBSIZE",), ("FLUSHDB", "sync"), ("FLUSHALL", "FOO"),
        ("FLUSHDB", "FOO"), ("FLUSHDB", "SYNC", "ASYNC"), ("DBSIZE", "x"),
    ]),
]

XFAIL = {}


def test_expiry_passes(pair):
    """Keys whose expiry passes vanish the same way on both servers (lazy access, and the active
    cycle for DBSIZE / KEYS / SCAN which count keys nobody touched)."""
    for i in range(20):
        pair.step(("SET", "s%d" % i, "v", "PX", "150"))
    pair.step(("HSET", "h", "f", "v"))
    pair.step(("PEXPIRE", "h", "150"))
    pair.step(("SET", "keep", "v", "EX", "1000"))
    pair.step(("GETEX", "s0", "PX", "150"))
    time.sleep(1.5)
    pair.step(("DBSIZE",))
    pair.step(U("KEYS", "*"))
    pair.step(SCAN())
    for args in (("GET", "s1"), ("EXISTS", "s2", "h"), ("TTL", "s3"), ("PTTL", "h"),
                 ("HGET", "h", "f"), ("TYPE", "s4"), ("STRLEN", "s5"), ("APPEND", "s6", "x"),
                 ("TTL", "s6"), ("INCR", "s7"), ("RENAME", "s8", "x"), ("PERSIST", "s9"),
                 ("HLEN", "h"), ("DBSIZE",)):
        pair.step(args)
    pair.assert_clean()


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_keys(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
