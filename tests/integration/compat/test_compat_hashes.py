"""Differential tests: hash commands, raw RESP replies of redis-server 7.0 vs synod.

Ordering: Redis defines no order for a hash's fields (small hashes happen to keep insertion
order, large ones do not), so HGETALL is compared as a multiset of field/value pairs and
HKEYS / HVALS as multisets. HMGET, and every reply about single fields, are ordered and
compared byte for byte.
"""

import pytest

from .diff import HSCAN, PAIRS, TTL, U, cases


def _hset_many(key, n, prefix="f"):
    args = ["HSET", key]
    for i in range(n):
        args += ["%s%d" % (prefix, i), "v%d" % i]
    return tuple(args)


CASES = [
    ("hset_hget", [
        ("HSET", "h", "f", "v"), ("HSET", "h", "f", "w"), ("HGET", "h", "f"), ("HGET", "h", "g"),
        ("HGET", "none", "f"), ("HSET", "h", "a", "1", "b", "2", "a", "3"), ("HGET", "h", "a"),
        ("HSET", "h", "", ""), ("HGET", "h", ""), ("HSET", "h", "bin", b"\x00\r\n\xff"),
        ("HGET", "h", "bin"), ("HSET", "h"), ("HSET", "h", "f"), ("HSET", "h", "f", "v", "g"),
        ("HSET",), ("HGET", "h"), ("HGET", "h", "f", "g"), ("HLEN", "h"),
    ]),
    ("hmset_hmget", [
        ("HMSET", "h", "a", "1", "b", "2"), ("HMSET", "h", "a", "9"), ("HMGET", "h", "a", "b", "c"),
        ("HMGET", "h", "c"), ("HMGET", "none", "a", "b"), ("HMSET", "h", "a"), ("HMSET", "h"),
        ("HMGET", "h"), ("HMSET", "h", "a", "1", "b"), ("HMGET", "h", "a", "a"),
    ]),
    ("hgetall_hkeys_hvals", [
        PAIRS("HGETALL", "none"), U("HKEYS", "none"), U("HVALS", "none"),
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), PAIRS("HGETALL", "h"), U("HKEYS", "h"),
        U("HVALS", "h"), ("HDEL", "h", "b"), PAIRS("HGETALL", "h"), U("HKEYS", "h"),
        U("HVALS", "h"), ("HGETALL",), ("HKEYS", "h", "x"), ("HVALS",),
    ]),
    ("hash_large", [
        _hset_many("big", 300), ("HLEN", "big"), PAIRS("HGETALL", "big"), U("HKEYS", "big"),
        U("HVALS", "big"), ("HGET", "big", "f299"), ("HMGET", "big", "f0", "f150", "nof"),
        ("HSET", "big", "long", "x" * 100), ("HSTRLEN", "big", "long"), ("HDEL", "big", "f1", "f2"),
        ("HLEN", "big"), HSCAN("big"), HSCAN("big", "COUNT", "10"), HSCAN("big", "MATCH", "f1*"),
    ]),
    ("hdel_hexists_hlen", [
        ("HDEL", "h", "a"), ("HSET", "h", "a", "1", "b", "2"), ("HEXISTS", "h", "a"),
        ("HEXISTS", "h", "z"), ("HEXISTS", "none", "a"), ("HDEL", "h", "a", "a", "z"), ("HLEN", "h"),
        ("HDEL", "h", "b"), ("EXISTS", "h"), ("HLEN", "h"), ("HLEN", "none"), ("HDEL", "h"),
        ("HDEL",), ("HEXISTS", "h"), ("HLEN",), ("HLEN", "a", "b"),
    ]),
    ("hincrby", [
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-7"), ("HGET", "h", "n"),
        ("HINCRBY", "h", "n", "abc"), ("HINCRBY", "h", "n", "1.5"), ("HSET", "h", "s", "abc"),
        ("HINCRBY", "h", "s", "1"), ("HSET", "h", "sp", " 1"), ("HINCRBY", "h", "sp", "1"),
        ("HSET", "h", "max", "9223372036854775807"), ("HINCRBY", "h", "max", "1"),
        ("HSET", "h", "min", "-9223372036854775808"), ("HINCRBY", "h", "min", "-1"),
        ("HINCRBY", "h", "x", "9223372036854775808"), ("HSET", "h", "fl", "1.5"),
        ("HINCRBY", "h", "fl", "1"), ("HINCRBY", "h", "n"), ("HINCRBY", "h"),
        ("HINCRBY", "h", "n", "1", "2"), ("HSET", "h", "e", ""), ("HINCRBY", "h", "e", "1"),
    ]),
    ("hincrbyfloat", [
        ("HINCRBYFLOAT", "h", "f", "10.5"), ("HINCRBYFLOAT", "h", "f", "0.1"),
        ("HINCRBYFLOAT", "h", "f", "3.0e3"), ("HGET", "h", "f"), ("HINCRBYFLOAT", "h", "g", "-1"),
        ("HINCRBYFLOAT", "h", "z", "0"), ("HINCRBYFLOAT", "h", "x", "abc"),
        ("HINCRBYFLOAT", "h", "x", "inf"), ("HINCRBYFLOAT", "h", "x", "nan"),
        ("HINCRBYFLOAT", "h", "x", ""), ("HSET", "h", "s", "abc"), ("HINCRBYFLOAT", "h", "s", "1"),
        ("HSET", "h", "i", "5"), ("HINCRBYFLOAT", "h", "i", "0.25"), ("HINCRBY", "h", "i", "1"),
        ("HSET", "h", "big", "1.1e4932"), ("HINCRBYFLOAT", "h", "big", "1.1e4932"),
        ("HINCRBYFLOAT", "h", "e", "1e308"), ("HINCRBYFLOAT", "h", "e", "1.5e20"),
        ("HSET", "h", "z", b"1.5\x00"), ("HINCRBYFLOAT", "h", "z", "1"),
        ("HINCRBYFLOAT", "h", "f", b"1\x00"),
        ("HINCRBYFLOAT", "h", "f"), ("HINCRBYFLOAT", "h"), ("HINCRBYFLOAT",),
    ]),
    ("hsetnx_hstrlen", [
        ("HSETNX", "h", "f", "v"), ("HSETNX", "h", "f", "w"), ("HGET", "h", "f"),
        ("HSETNX", "h", "g", "w"), ("HLEN", "h"), ("HSETNX", "h", "f"), ("HSETNX", "h", "f", "v", "x"),
        ("HSTRLEN", "h", "f"), ("HSTRLEN", "h", "nof"), ("HSTRLEN", "none", "f"),
        ("HSET", "h", "n", "12345"), ("HSTRLEN", "h", "n"), ("HINCRBY", "h", "n", "1"),
        ("HSTRLEN", "h", "n"), ("HSTRLEN", "h"), ("HSTRLEN", "h", "a", "b"),
    ]),
    ("hscan", [
        HSCAN("none"), ("HSCAN", "none", "0"), ("HSET", "h", "a", "1", "b", "2", "ab", "3"),
        HSCAN("h"), HSCAN("h", "MATCH", "a*"), HSCAN("h", "COUNT", "1"), HSCAN("h", "MATCH", "zz*"),
        ("HSCAN", "h", "abc"), ("HSCAN", "h", "0", "COUNT", "0"), ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "0", "FOO", "x"),
        ("HSCAN", "h", "0", "TYPE", "string"), ("HSCAN", "h"), ("HSCAN",),
        ("SET", "s", "v"), ("HSCAN", "s", "0"),
    ]),
    ("wrongtype_on_string", [
        ("SET", "s", "v"),
        ("HSET", "s", "f", "v"), ("HGET", "s", "f"), ("HMSET", "s", "f", "v"), ("HMGET", "s", "f"),
        ("HGETALL", "s"), ("HDEL", "s", "f"), ("HEXISTS", "s", "f"), ("HLEN", "s"),
        ("HKEYS", "s"), ("HVALS", "s"), ("HINCRBY", "s", "f", "1"), ("HINCRBYFLOAT", "s", "f", "1"),
        ("HSETNX", "s", "f", "v"), ("HSTRLEN", "s", "f"), ("HSCAN", "s", "0"),
        ("HINCRBY", "s", "f", "abc"), ("HSET", "s", "f"), ("GET", "s"),
    ]),
    ("hash_expiry_kept", [
        ("HSET", "h", "a", "1"), ("EXPIRE", "h", "1000"), ("HSET", "h", "b", "2"),
        ("HINCRBY", "h", "c", "1"), ("HDEL", "h", "a"), TTL(1, "TTL", "h"),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_hashes(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
