"""Differential tests: list commands, raw RESP replies of redis-server 7.0 vs synod.

Every reply of a list command is ordered, so everything is compared byte for byte, in RESP2 and
RESP3: the null of a missing element ($-1 / _), the null array of a counted pop on a missing key
(*-1 / _), error texts and the order of argument checks (syntax before key, key before index...).
Large lists (thousands of elements, elements of several KB) cross many quicklist nodes, so
inserts, deletes and replacements in the middle of nodes are compared too.
"""

import pytest

from .diff import SCAN, U, cases

WT = ("SET", "s", "v")


def _rpush_many(key, n, fmt="e%d"):
    return tuple(["RPUSH", key] + [fmt % i for i in range(n)])


CASES = [
    ("push_llen_lrange", [
        ("LPUSH", "l", "a"), ("LPUSH", "l", "b", "c"), ("RPUSH", "l", "x", "y"), ("LLEN", "l"),
        ("LRANGE", "l", "0", "-1"), ("LRANGE", "l", "1", "2"), ("LRANGE", "l", "-2", "-1"),
        ("LRANGE", "l", "-100", "100"), ("LRANGE", "l", "3", "1"), ("LRANGE", "l", "5", "10"),
        ("LRANGE", "l", "-1", "-2"), ("LRANGE", "l", "0", "0"),
        ("LRANGE", "l", "-9223372036854775808", "9223372036854775807"),
        ("LRANGE", "l", "a", "1"), ("LRANGE", "l", "0", "b"), ("LRANGE", "l", "0", "1.5"),
        ("LRANGE", "none", "0", "-1"), ("LRANGE", "none", "x", "-1"), ("LLEN", "none"),
        ("RPUSH", "l", "", b"\x00\r\n\xff"), ("LRANGE", "l", "-2", "-1"),
        ("LPUSH", "l"), ("RPUSH",), ("LLEN",), ("LLEN", "l", "x"), ("LRANGE", "l", "0"),
        ("TYPE", "l"), ("EXISTS", "l"),
    ]),
    ("pushx", [
        ("LPUSHX", "l", "a"), ("RPUSHX", "l", "a", "b"), ("EXISTS", "l"), ("RPUSH", "l", "m"),
        ("LPUSHX", "l", "a", "b"), ("RPUSHX", "l", "y", "z"), ("LRANGE", "l", "0", "-1"),
        ("LPUSHX", "l"), ("RPUSHX",), WT, ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
    ]),
    ("pop", [
        ("RPUSH", "l", "a", "b", "c", "d", "e"), ("LPOP", "l"), ("RPOP", "l"),
        ("LPOP", "l", "2"), ("RPOP", "l", "0"), ("LRANGE", "l", "0", "-1"), ("RPOP", "l", "5"),
        ("EXISTS", "l"), ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "1"), ("RPOP", "l", "0"),
        ("RPUSH", "l", "1", "2", "3"), ("RPOP", "l", "2"), ("LPOP", "l", "9"), ("EXISTS", "l"),
        ("RPUSH", "l", "a"), ("LPOP", "l", "-1"), ("LPOP", "l", "x"), ("LPOP", "l", "1.0"),
        ("RPOP", "l", "9223372036854775808"), ("LPOP", "none", "-1"), ("LPOP", "none", "x"),
        ("LPOP", "l", "1", "2"), ("RPOP", "l", "1", "2", "3"), ("LPOP",), ("RPOP",),
        ("LPOP", "l", "9223372036854775807"), ("EXISTS", "l"),
    ]),
    ("lindex_lset", [
        ("RPUSH", "l", "a", "b", "c"), ("LINDEX", "l", "0"), ("LINDEX", "l", "-1"),
        ("LINDEX", "l", "2"), ("LINDEX", "l", "3"), ("LINDEX", "l", "-4"), ("LINDEX", "l", "x"),
        ("LINDEX", "none", "x"), ("LINDEX", "none", "0"),
        ("LINDEX", "l", "-9223372036854775808"), ("LINDEX", "l", "9223372036854775807"),
        ("LSET", "l", "1", "B"), ("LSET", "l", "-1", "C"), ("LRANGE", "l", "0", "-1"),
        ("LSET", "l", "3", "x"), ("LSET", "l", "-4", "x"), ("LSET", "l", "x", "y"),
        ("LSET", "none", "0", "x"), ("LSET", "none", "x", "x"), ("LSET", "l", "0", "x" * 10000),
        ("LINDEX", "l", "0"), ("LSET", "l", "0", ""), ("LINDEX", "l", "0"),
        ("LSET", "l", "0"), ("LINDEX", "l"), ("LSET", "l", "0", "a", "b"),
        WT, ("LINDEX", "s", "0"), ("LINDEX", "s", "x"), ("LSET", "s", "0", "x"), ("LSET", "s", "x", "x"),
    ]),
    ("linsert", [
        ("LINSERT", "l", "BEFORE", "a", "x"), ("LINSERT", "l", "bad", "a", "x"),
        ("RPUSH", "l", "a", "b", "a"), ("LINSERT", "l", "BEFORE", "a", "x"),
        ("LINSERT", "l", "after", "a", "y"), ("LINSERT", "l", "AfTeR", "b", "z"),
        ("LINSERT", "l", "before", "nope", "q"), ("LRANGE", "l", "0", "-1"),
        ("LINSERT", "l", "middle", "a", "x"), ("LINSERT", "l", "BEFORE", "a"),
        ("LINSERT", "l", "BEFORE", "a", "x", "y"), WT, ("LINSERT", "s", "BEFORE", "a", "x"),
        ("LINSERT", "s", "bad", "a", "x"), ("LINSERT", "none", "bad", "a", "x"),
    ]),
    ("lrem", [
        ("RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"), ("LREM", "l", "2", "a"),
        ("LRANGE", "l", "0", "-1"), ("LREM", "l", "-1", "a"), ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "0", "b"), ("LRANGE", "l", "0", "-1"), ("LREM", "l", "0", "zz"),
        ("LREM", "l", "x", "a"), ("LREM", "none", "1", "a"), ("LREM", "none", "x", "a"),
        ("LREM", "l", "0", "a"), ("LREM", "l", "0", "c"), ("EXISTS", "l"),
        ("RPUSH", "l", "a", "a", "a"), ("LREM", "l", "-9223372036854775808", "a"), ("EXISTS", "l"),
        ("LREM", "l", "1"), WT, ("LREM", "s", "0", "a"), ("LREM", "s", "x", "a"),
    ]),
    ("ltrim", [
        ("RPUSH", "l", "a", "b", "c", "d", "e"), ("LTRIM", "l", "1", "-2"),
        ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "-100", "100"), ("LRANGE", "l", "0", "-1"),
        ("LTRIM", "l", "1", "1"), ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "x", "1"),
        ("LTRIM", "l", "0", "y"), ("LTRIM", "none", "0", "1"), ("LTRIM", "none", "x", "1"),
        ("LTRIM", "l", "2", "1"), ("EXISTS", "l"), ("RPUSH", "l", "a", "b"),
        ("LTRIM", "l", "5", "10"), ("EXISTS", "l"), ("RPUSH", "l", "a", "b"),
        ("LTRIM", "l", "-1", "-2"), ("EXISTS", "l"), ("LTRIM", "l", "0"),
        WT, ("LTRIM", "s", "0", "1"), ("LTRIM", "s", "x", "1"),
    ]),
    ("lpos", [
        ("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"), ("LPOS", "l", "c"),
        ("LPOS", "l", "c", "RANK", "2"), ("LPOS", "l", "c", "RANK", "-1"),
        ("LPOS", "l", "c", "RANK", "-3"), ("LPOS", "l", "c", "RANK", "4"),
        ("LPOS", "l", "c", "COUNT", "0"), ("LPOS", "l", "c", "COUNT", "2"),
        ("LPOS", "l", "c", "COUNT", "2", "RANK", "2"), ("LPOS", "l", "c", "COUNT", "0", "RANK", "-1"),
        ("LPOS", "l", "c", "MAXLEN", "3"), ("LPOS", "l", "c", "MAXLEN", "2"),
        ("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"), ("LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1"),
        ("LPOS", "l", "z"), ("LPOS", "l", "z", "COUNT", "0"), ("LPOS", "none", "a"),
        ("LPOS", "none", "a", "COUNT", "1"), ("LPOS", "l", "c", "RANK", "0"),
        ("LPOS", "l", "c", "RANK", "x"), ("LPOS", "l", "c", "COUNT", "-1"),
        ("LPOS", "l", "c", "COUNT", "x"), ("LPOS", "l", "c", "MAXLEN", "-1"),
        ("LPOS", "l", "c", "MAXLEN", "x"), ("LPOS", "l", "c", "RANK"), ("LPOS", "l", "c", "FOO", "1"),
        ("LPOS", "none", "c", "RANK", "0"), ("LPOS", "l", "c", "rank", "1", "count", "1", "maxlen", "0"),
        ("LPOS", "l", "c", "RANK", "9223372036854775807"),
        ("LPOS", "l", "c", "RANK", "-9223372036854775807"),
        ("LPOS", "l", "c", "RANK", "-9223372036854775808"),
        ("LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1"),
        ("LPOS", "l", "c", "COUNT", "9223372036854775807"), ("LPOS", "l"),
        WT, ("LPOS", "s", "a"), ("LPOS", "s", "a", "COUNT", "0"), ("LPOS", "s", "a", "RANK", "0"),
    ]),
    ("lmove_rpoplpush", [
        ("RPUSH", "a", "1", "2", "3"), ("LMOVE", "a", "b", "LEFT", "RIGHT"),
        ("LMOVE", "a", "b", "right", "left"), ("LRANGE", "a", "0", "-1"), ("LRANGE", "b", "0", "-1"),
        ("LMOVE", "a", "a", "LEFT", "RIGHT"), ("LMOVE", "b", "b", "LEFT", "LEFT"),
        ("LRANGE", "b", "0", "-1"), ("RPOPLPUSH", "b", "a"), ("LRANGE", "a", "0", "-1"),
        ("LMOVE", "a", "c", "LEFT", "LEFT"), ("EXISTS", "a"), ("LRANGE", "c", "0", "-1"),
        ("RPOPLPUSH", "none", "c"), ("LMOVE", "none", "c", "LEFT", "LEFT"),
        ("LMOVE", "c", "d", "UP", "LEFT"), ("LMOVE", "c", "d", "LEFT", "DOWN"),
        ("LMOVE", "none", "d", "UP", "LEFT"), WT, ("LMOVE", "c", "s", "LEFT", "LEFT"),
        ("RPOPLPUSH", "c", "s"), ("LMOVE", "s", "c", "LEFT", "LEFT"), ("RPOPLPUSH", "s", "none"),
        ("RPOPLPUSH", "none", "s"), ("LMOVE", "none", "s", "LEFT", "LEFT"),
        ("LRANGE", "c", "0", "-1"), ("RPOPLPUSH", "c"), ("LMOVE", "c", "d", "LEFT"),
        ("RPUSH", "one", "x"), ("RPOPLPUSH", "one", "one"), ("LRANGE", "one", "0", "-1"),
        ("LMOVE", "one", "two", "RIGHT", "RIGHT"), ("EXISTS", "one"), ("LRANGE", "two", "0", "-1"),
    ]),
    ("lmpop", [
        ("LMPOP", "2", "a", "b", "LEFT"), ("RPUSH", "b", "1", "2", "3"),
        ("LMPOP", "2", "a", "b", "LEFT"), ("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"),
        ("EXISTS", "b"), ("RPUSH", "a", "x", "y"), ("LMPOP", "1", "a", "right", "count", "1"),
        ("LMPOP", "0", "a", "LEFT"), ("LMPOP", "-1", "a", "LEFT"), ("LMPOP", "x", "a", "LEFT"),
        ("LMPOP", "2", "a", "LEFT"), ("LMPOP", "1", "a", "MIDDLE"), ("LMPOP", "1", "a"),
        ("LMPOP", "1", "a", "LEFT", "COUNT"), ("LMPOP", "1", "a", "LEFT", "COUNT", "0"),
        ("LMPOP", "1", "a", "LEFT", "COUNT", "-1"), ("LMPOP", "1", "a", "LEFT", "COUNT", "x"),
        ("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"), ("LMPOP", "1", "a", "LEFT", "FOO"),
        ("LMPOP", "9223372036854775807", "a", "LEFT"), ("LMPOP", "1", "a", "LEFT", "COUNT", "1"),
        ("LMPOP", "1", "a", "LEFT"), WT, ("LMPOP", "2", "none", "s", "LEFT"),
        ("RPUSH", "c", "1"), ("LMPOP", "2", "c", "s", "LEFT"), ("LMPOP", "2", "s", "c", "LEFT"),
        ("LMPOP", "1"), ("LMPOP", "1", "a"),
    ]),
    ("wrongtype_on_string", [
        WT, ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPOP", "s"), ("RPOP", "s"),
        ("LPOP", "s", "1"), ("RPOP", "s", "0"), ("LPOP", "s", "x"), ("LLEN", "s"),
        ("LRANGE", "s", "0", "-1"), ("LRANGE", "s", "x", "-1"), ("GET", "s"),
    ]),
    ("other_types_on_list", [
        ("RPUSH", "l", "a"), ("GET", "l"), ("SET", "l2", "x"), ("APPEND", "l", "x"),
        ("INCR", "l"), ("HSET", "l", "f", "v"), ("HGET", "l", "f"), ("STRLEN", "l"),
        ("GETRANGE", "l", "0", "1"), ("SETRANGE", "l", "0", "x"), ("GETDEL", "l"),
        ("GETSET", "l", "x"), ("TYPE", "l"), ("SET", "l", "now a string"), ("TYPE", "l"),
        ("GET", "l"), ("LLEN", "l"),
    ]),
    ("generic_keys", [
        ("RPUSH", "l", "a", "b"), ("TYPE", "l"), ("EXPIRE", "l", "1000"), ("RPUSH", "l", "c"),
        ("LPOP", "l"), ("LINSERT", "l", "AFTER", "b", "x"), ("TTL", "l"), ("PERSIST", "l"),
        ("TTL", "l"), ("RENAME", "l", "m"), ("LRANGE", "m", "0", "-1"), ("EXISTS", "l"),
        ("RENAMENX", "m", "n"), ("TYPE", "n"), ("HSET", "h", "f", "v"), ("RENAME", "n", "h"),
        ("TYPE", "h"), ("LRANGE", "h", "0", "-1"), ("SET", "str", "1"), U("KEYS", "*"),
        SCAN("TYPE", "list"), SCAN("TYPE", "string"), SCAN("TYPE", "hash"), SCAN("TYPE", "LIST"),
        ("PEXPIREAT", "h", "1"), ("EXISTS", "h"), ("LLEN", "h"), ("RPUSH", "h", "z"),
        ("LRANGE", "h", "0", "-1"), ("DEL", "h", "str"), ("EXISTS", "h"), ("DBSIZE",),
        ("RPUSH", "u", "1"), ("UNLINK", "u"), ("EXISTS", "u"),
    ]),
    ("large_lists", [
        _rpush_many("big", 3000), ("LLEN", "big"), ("LINDEX", "big", "1500"),
        ("LINDEX", "big", "-1500"), ("LSET", "big", "1234", "x" * 3000), ("LINDEX", "big", "1234"),
        ("LSET", "big", "1235", "y"), ("LINSERT", "big", "BEFORE", "e2000", "z" * 9000),
        ("LINSERT", "big", "AFTER", "e100", "after100"), ("LRANGE", "big", "95", "105"),
        ("LRANGE", "big", "1990", "2010"), ("LREM", "big", "0", "e7"), ("LPOS", "big", "e2999"),
        ("LPOS", "big", "e1", "RANK", "-1"), ("LPOS", "big", "e2", "MAXLEN", "2"),
        ("LTRIM", "big", "10", "-10"), ("LLEN", "big"), ("LRANGE", "big", "0", "4"),
        ("LRANGE", "big", "-5", "-1"), ("LPOP", "big", "100"), ("RPOP", "big", "100"),
        ("LLEN", "big"), ("LRANGE", "big", "1000", "1100"),
        _rpush_many("fat", 50, "f%d-" + "p" * 1000), ("LINSERT", "fat", "AFTER", "f25-" + "p" * 1000, "mid"),
        ("LSET", "fat", "10", "q" * 20000), ("LREM", "fat", "-2", "f49-" + "p" * 1000),
        ("LRANGE", "fat", "8", "12"), ("LMOVE", "fat", "fat", "RIGHT", "LEFT"), ("LINDEX", "fat", "0"),
        ("LMPOP", "1", "fat", "RIGHT", "COUNT", "20"), ("LLEN", "fat"),
    ]),
    # node sizes change memory only: replies stay the same under every setting
    ("config_node_size", [
        ("CONFIG", "GET", "list-max-listpack-size"), ("CONFIG", "GET", "list-max-ziplist-size"),
        ("CONFIG", "GET", "list-compress-depth"), ("CONFIG", "SET", "list-max-ziplist-size", "1"),
        ("CONFIG", "GET", "list-max-listpack-size"), ("CONFIG", "SET", "list-compress-depth", "-1"),
        ("CONFIG", "SET", "list-max-listpack-size", "abc"),
        _rpush_many("n1", 20), ("LINSERT", "n1", "BEFORE", "e10", "x"), ("LSET", "n1", "3", "y"),
        ("LREM", "n1", "0", "e5"), ("LTRIM", "n1", "1", "-2"), ("LRANGE", "n1", "0", "-1"),
        ("CONFIG", "SET", "list-max-listpack-size", "-5"), _rpush_many("n5", 300),
        ("LINSERT", "n5", "AFTER", "e150", "x" * 5000), ("LRANGE", "n5", "148", "152"),
        ("CONFIG", "SET", "list-max-listpack-size", "-2"), ("CONFIG", "SET", "list-compress-depth", "0"),
        ("CONFIG", "GET", "list-max-listpack-size"),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_lists(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
