"""Differential tests: set commands, raw RESP replies of redis-server 7.0 vs synod.

Ordering: an intset (small all-integer set) iterates in ascending order in Redis, and so does
synod's, so replies about such sets are compared byte for byte, order included. A hash-table
set has no defined order: its replies are compared as multisets (U). Random picks (SPOP,
SRANDMEMBER) are compared by shape, or exactly where the answer is forced (a one-member set,
a count covering the whole set), and the cardinality left afterwards is compared exactly.
"""

import pytest

from .diff import SCAN, SHAPE, SSCAN, TTL, Mismatch, U, cases, show
from .resp_raw import parse


def _sadd(key, members):
    return ("SADD", key) + tuple(str(m) for m in members)


CASES = [
    ("sadd_srem_scard", [
        ("SADD", "s", "a", "b", "a"), ("SADD", "s", "c"), ("SADD", "s", "a"), U("SMEMBERS", "s"),
        ("SCARD", "s"), ("SREM", "s", "a", "z", "a"), ("SCARD", "s"), ("SREM", "s", "b", "c", "x"),
        ("EXISTS", "s"), ("SREM", "none", "a"), ("SCARD", "none"), ("TYPE", "s"),
        ("SADD", "s", "", b"\x00\r\n\xff"), U("SMEMBERS", "s"), ("TYPE", "s"),
        ("SADD", "s"), ("SADD",), ("SREM", "s"), ("SREM",), ("SCARD",), ("SCARD", "a", "b"),
    ]),
    ("intset_order_and_edges", [
        ("SADD", "i", "3", "1", "2", "-5", "100000", "-70000", "9223372036854775807",
         "-9223372036854775808"),
        ("SMEMBERS", "i"), ("SISMEMBER", "i", "100000"), ("SISMEMBER", "i", "100001"),
        ("SREM", "i", "100000", "3"), ("SMEMBERS", "i"), ("SADD", "i", "0"), ("SMEMBERS", "i"),
        ("SISMEMBER", "i", "01"), ("SISMEMBER", "i", "-0"), ("SISMEMBER", "i", "+1"),
        ("SADD", "i", "01"), U("SMEMBERS", "i"), ("SISMEMBER", "i", "01"),
        ("SISMEMBER", "i", "1"), ("SADD", "j", "-0", "0"), U("SMEMBERS", "j"),
        ("SADD", "k", "9223372036854775808", "1"), U("SMEMBERS", "k"),
        ("SADD", "m", " 1", "1"), U("SMEMBERS", "m"), ("SCARD", "m"),
    ]),
    ("intset_limit", [
        _sadd("i512", range(512)), ("SCARD", "i512"), ("SMEMBERS", "i512"),
        ("SRANDMEMBER", "i512", "600"), ("SSCAN", "i512", "0"),
        _sadd("i513", range(0, 5130, 10)), ("SCARD", "i513"), U("SMEMBERS", "i513"),
        ("SISMEMBER", "i513", "5120"), ("SISMEMBER", "i513", "5121"), ("SREM", "i513", "0", "10"),
        ("SCARD", "i513"), SSCAN("i513"), SSCAN("i513", "COUNT", "7"), SSCAN("i513", "MATCH", "1*"),
    ]),
    ("sismember_smismember", [
        ("SADD", "s", "a", "b"), ("SISMEMBER", "s", "a"), ("SISMEMBER", "s", "z"),
        ("SISMEMBER", "none", "a"), ("SMISMEMBER", "s", "a", "z", "a", "b"),
        ("SMISMEMBER", "none", "a", "b"), ("SADD", "i", "1", "2"), ("SMISMEMBER", "i", "1", "x", "2"),
        ("SMISMEMBER", "s"), ("SISMEMBER", "s"), ("SISMEMBER", "s", "a", "b"), ("SMISMEMBER",),
    ]),
    ("smove", [
        ("SADD", "src", "a", "b"), ("SADD", "dst", "c"), ("SMOVE", "src", "dst", "a"),
        U("SMEMBERS", "dst"), ("SMOVE", "src", "dst", "z"), ("SMOVE", "none", "dst", "a"),
        ("SMOVE", "src", "src", "b"), ("SMOVE", "src", "src", "z"), ("SMOVE", "src", "new", "b"),
        ("EXISTS", "src"), ("SMEMBERS", "new"), ("SMOVE", "dst", "new", "c"), U("SMEMBERS", "new"),
        ("SET", "str", "v"), ("SMOVE", "str", "dst", "a"), ("SMOVE", "new", "str", "b"),
        ("SMOVE", "none", "str", "a"), ("SMOVE", "new", "str", "zz"), ("SADD", "is", "1", "2"),
        ("SMOVE", "is", "new", "1"), U("SMEMBERS", "new"), ("SMOVE", "is", "is2", "2"),
        ("SMEMBERS", "is2"), ("EXISTS", "is"), ("SADD", "is2", "x"), ("SMOVE", "is2", "is3", "x"),
        ("SMEMBERS", "is3"), ("SMOVE", "a", "b"), ("SMOVE", "a", "b", "c", "d"), ("SMOVE",),
    ]),
    ("spop_forced_and_errors", [
        ("SPOP", "none"), ("SPOP", "none", "3"), ("SPOP", "none", "0"), ("SPOP", "none", "-1"),
        ("SPOP", "none", "x"), ("SPOP", "none", "1", "2"), ("SPOP",),
        ("SPOP", "none", "9223372036854775808"), ("SPOP", "none", "01"),
        ("SADD", "one", "x"), ("SPOP", "one"), ("EXISTS", "one"), ("SADD", "one", "7"),
        ("SPOP", "one", "1"), ("EXISTS", "one"),
        ("SADD", "s", "a", "b", "c"), ("SPOP", "s", "0"), U("SPOP", "s", "5"), ("EXISTS", "s"),
        ("SADD", "i", "3", "1", "2"), ("SPOP", "i", "3"), ("EXISTS", "i"),
        ("SET", "str", "v"), ("SPOP", "str"), ("SPOP", "str", "2"), ("SPOP", "str", "0"),
        ("SPOP", "str", "-1"),
    ]),
    ("spop_random", [
        ("SADD", "s", "a", "b", "c"), SHAPE("SPOP", "s", "2"), ("SCARD", "s"), SHAPE("SPOP", "s"),
        ("EXISTS", "s"), _sadd("i", range(10)), SHAPE("SPOP", "i", "3"), ("SCARD", "i"),
        SHAPE("SPOP", "i"), ("SCARD", "i"), SHAPE("SPOP", "i", "6"), ("EXISTS", "i"),
        _sadd("big", ["m%d" % i for i in range(600)]), SHAPE("SPOP", "big", "100"),
        ("SCARD", "big"), SHAPE("SPOP", "big", "450"), ("SCARD", "big"), SHAPE("SPOP", "big"),
        ("SCARD", "big"), SHAPE("SPOP", "big", "49"), ("SCARD", "big"), SHAPE("SPOP", "big"),
        ("EXISTS", "big"),
    ]),
    ("srandmember", [
        ("SRANDMEMBER", "none"), ("SRANDMEMBER", "none", "5"), ("SRANDMEMBER", "none", "-5"),
        ("SRANDMEMBER", "none", "0"), ("SRANDMEMBER", "none", "x"),
        ("SRANDMEMBER", "none", "1", "2"), ("SRANDMEMBER",),
        ("SRANDMEMBER", "none", "-9223372036854775808"),
        ("SRANDMEMBER", "none", "-9223372036854775807"),
        ("SADD", "one", "x"), ("SRANDMEMBER", "one"), ("SRANDMEMBER", "one", "3"),
        ("SRANDMEMBER", "one", "-3"), ("SRANDMEMBER", "one", "0"), ("SRANDMEMBER", "one", "1"),
        ("SRANDMEMBER", "one", "-1"), ("SADD", "s", "a", "b", "c"), U("SRANDMEMBER", "s", "3"),
        U("SRANDMEMBER", "s", "10"), SHAPE("SRANDMEMBER", "s", "2"),
        SHAPE("SRANDMEMBER", "s", "-10"), SHAPE("SRANDMEMBER", "s"), ("SCARD", "s"),
        ("SADD", "i", "3", "1", "2"), ("SRANDMEMBER", "i", "5"), SHAPE("SRANDMEMBER", "i", "2"),
        SHAPE("SRANDMEMBER", "i", "-7"), _sadd("big", ["m%d" % i for i in range(600)]),
        SHAPE("SRANDMEMBER", "big", "10"), SHAPE("SRANDMEMBER", "big", "300"),
        SHAPE("SRANDMEMBER", "big", "599"), U("SRANDMEMBER", "big", "600"), ("SCARD", "big"),
        ("SET", "str", "v"), ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"),
        ("SRANDMEMBER", "str", "x"),
    ]),
    ("sinter_smembers", [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "2", "3", "5"), ("SADD", "c", "x", "y", "3"),
        ("SINTER", "a", "b"), ("SINTER", "b", "a"), ("SINTER", "a", "c"), ("SINTER", "a", "b", "c"),
        ("SINTER", "a", "none"), ("SINTER", "none", "a"), ("SINTER", "a"), ("SINTER", "a", "a"),
        U("SINTER", "c", "c"), ("SMEMBERS", "none"), ("SMEMBERS", "a"), U("SMEMBERS", "c"),
        ("SET", "str", "v"), ("SINTER", "none", "str"), ("SINTER", "a", "str"),
        ("SINTER", "str", "none"), ("SMEMBERS", "str"), ("SMEMBERS",), ("SMEMBERS", "a", "b"),
        ("SINTER",),
    ]),
    ("sinterstore", [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "2", "3", "5"), ("SADD", "c", "x", "3"),
        ("SINTERSTORE", "d", "a", "b"), ("SMEMBERS", "d"), ("SINTERSTORE", "d", "a", "none"),
        ("EXISTS", "d"), ("SINTERSTORE", "d", "a", "c"), ("SMEMBERS", "d"),
        ("SINTERSTORE", "d", "b", "c", "none"), ("EXISTS", "d"), ("SET", "str", "v"),
        ("SINTERSTORE", "str", "a", "b"), ("TYPE", "str"), ("SMEMBERS", "str"),
        ("SINTERSTORE", "d", "a", "str"), ("SINTERSTORE", "a", "a", "b"), ("SMEMBERS", "a"),
        ("SADD", "t", "9"), ("EXPIRE", "t", "100"), ("SINTERSTORE", "t", "a", "b"), ("TTL", "t"),
        ("SINTERSTORE", "e", "none"), ("EXISTS", "e"), ("SINTERSTORE", "d"), ("SINTERSTORE",),
    ]),
    ("sintercard", [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "2", "3", "4", "5"),
        ("SINTERCARD", "2", "a", "b"), ("SINTERCARD", "2", "a", "b", "LIMIT", "2"),
        ("SINTERCARD", "2", "a", "b", "limit", "0"), ("SINTERCARD", "2", "a", "b", "LIMIT", "10"),
        ("SINTERCARD", "1", "a"), ("SINTERCARD", "2", "a", "none"), ("SINTERCARD", "1", "none"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "-1"), ("SINTERCARD", "2", "a", "b", "LIMIT", "x"),
        ("SINTERCARD", "2", "a", "b", "LIMIT"), ("SINTERCARD", "2", "a", "b", "FOO", "1"),
        ("SINTERCARD", "1", "a", "b"), ("SINTERCARD", "3", "a", "b"), ("SINTERCARD", "0", "a"),
        ("SINTERCARD", "-1", "a"), ("SINTERCARD", "x", "a"), ("SINTERCARD", "1"),
        ("SINTERCARD",), ("SET", "str", "v"), ("SINTERCARD", "2", "a", "str"),
        ("SINTERCARD", "2", "none", "str"), ("SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "3"),
    ]),
    ("sunion_sdiff", [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "2", "3", "5"), ("SADD", "c", "x", "3"),
        ("SUNION", "a", "b"), U("SUNION", "a", "c"), ("SUNION", "none"), ("SUNION", "a", "none"),
        ("SDIFF", "a", "b"), ("SDIFF", "a", "c"), ("SDIFF", "a", "b", "c"), ("SDIFF", "a", "a"),
        ("SDIFF", "a", "none"), ("SDIFF", "none", "a"), U("SDIFF", "c", "a"), ("SDIFF", "a"),
        ("SDIFF", "b", "none", "a"), _sadd("big", range(1000)), ("SDIFF", "a", "big"),
        U("SDIFF", "big", "a", "b"), ("SCARD", "big"), ("SET", "str", "v"),
        ("SUNION", "a", "str"), ("SUNION", "none", "str"), ("SDIFF", "none", "str"),
        ("SDIFF", "a", "str"), ("SUNION",), ("SDIFF",),
    ]),
    ("sunionstore_sdiffstore", [
        ("SADD", "a", "1", "2", "3", "4"), ("SADD", "b", "2", "3", "5"), ("SADD", "c", "x", "3"),
        ("SUNIONSTORE", "d", "a", "b"), ("SMEMBERS", "d"), ("SUNIONSTORE", "d", "a", "c"),
        U("SMEMBERS", "d"), ("SDIFFSTORE", "d", "a", "b"), ("SMEMBERS", "d"),
        ("SDIFFSTORE", "d", "a", "a"), ("EXISTS", "d"), ("SUNIONSTORE", "d", "none"),
        ("EXISTS", "d"), ("SDIFFSTORE", "d", "none", "a"), ("SET", "str", "v"),
        ("SUNIONSTORE", "str", "a"), ("TYPE", "str"), ("SUNIONSTORE", "d", "a", "str"),
        ("SDIFFSTORE", "a", "a", "b"), ("SMEMBERS", "a"), ("SADD", "t", "9"),
        ("PEXPIRE", "t", "100000"), ("SUNIONSTORE", "t", "t", "b"), ("TTL", "t"), ("SMEMBERS", "t"),
        ("SUNIONSTORE", "d"), ("SDIFFSTORE", "d"), ("SUNIONSTORE",),
    ]),
    ("sscan", [
        SSCAN("none"), ("SSCAN", "none", "0"), ("SADD", "s", "a", "b", "ab", "c"), SSCAN("s"),
        SSCAN("s", "MATCH", "a*"), SSCAN("s", "COUNT", "1"), SSCAN("s", "MATCH", "zz*"),
        ("SADD", "i", "1", "2", "10"), ("SSCAN", "i", "0"), ("SSCAN", "i", "0", "MATCH", "1*"),
        ("SSCAN", "i", "0", "COUNT", "1"), ("SSCAN", "s", "abc"), ("SSCAN", "s", "0", "COUNT", "0"),
        ("SSCAN", "s", "0", "COUNT", "x"), ("SSCAN", "s", "0", "MATCH"),
        ("SSCAN", "s", "0", "FOO", "x"), ("SSCAN", "s", "0", "TYPE", "set"), ("SSCAN", "s"),
        ("SSCAN",), ("SET", "str", "v"), ("SSCAN", "str", "0"), ("SSCAN", "str", "x"),
        ("SSCAN", "none", "x"), ("SSCAN", "str", "0", "FOO"),
    ]),
    ("keys_commands_on_sets", [
        ("SADD", "s", "a", "b"), ("SADD", "i", "1"), ("TYPE", "s"), ("TYPE", "i"),
        SCAN("TYPE", "set"), SCAN("TYPE", "string"), ("EXPIRE", "s", "100"),
        TTL(1, "TTL", "s"), ("SADD", "s", "c"), TTL(1, "TTL", "s"), ("SREM", "s", "a"),
        TTL(1, "TTL", "s"), ("RENAME", "s", "s2"), U("SMEMBERS", "s2"), TTL(1, "TTL", "s2"),
        ("RENAME", "i", "s2"), ("SMEMBERS", "s2"), ("RENAMENX", "s2", "i"), ("SMEMBERS", "i"),
        ("PERSIST", "i"), ("DEL", "i", "s"), ("EXISTS", "i"), ("SADD", "x", "1"),
        ("SMEMBERS", "x"),
    ]),
    ("wrongtype", [
        ("SET", "str", "v"), ("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"),
        ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"), ("SCARD", "str"),
        ("HSET", "h", "f", "v"), ("SADD", "h", "a"), ("SCARD", "h"), ("SADD", "s", "a"),
        ("GET", "s"), ("HGET", "s", "f"), ("INCR", "s"), ("APPEND", "s", "x"), ("HSET", "s", "f", "v"),
        ("SET", "s", "v"), ("GET", "s"),
    ]),
    ("multi_spop_after_sadd", [
        # the leader draws SPOP's members before the SADD queued with it is applied
        ("MULTI",), ("SADD", "s", "a"), ("SPOP", "s"), ("EXISTS", "s"), ("EXEC",),
        ("MULTI",), ("SADD", "s", "1", "2"), ("SPOP", "s", "5"), ("SPOP", "s", "1"), ("EXEC",),
        ("SADD", "t", "x"), ("MULTI",), ("SREM", "t", "x"), ("SADD", "t", "y"), ("SPOP", "t"),
        ("EXEC",), ("MULTI",), ("SPOP", "t", "-1"), ("SPOP", "t", "1", "2"), ("EXEC",),
    ]),
    ("config_set_max_intset_entries", [
        ("CONFIG", "GET", "set-max-intset-entries"), ("CONFIG", "SET", "set-max-intset-entries", "-1"),
        ("CONFIG", "SET", "set-max-intset-entries", "x"), ("CONFIG", "SET", "set-max-intset-entries", "3"),
        ("CONFIG", "GET", "set-max-intset-entries"), ("SADD", "s", "3", "1", "2"), ("SMEMBERS", "s"),
        ("SADD", "s", "0"), U("SMEMBERS", "s"), U("SRANDMEMBER", "s", "4"),
        ("CONFIG", "SET", "set-max-intset-entries", "512"), ("SADD", "t", "3", "1", "2", "0"),
        ("SMEMBERS", "t"),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_sets(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


SET_COMMANDS = ("SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER "
                "SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN").split()


def test_set_command_info(pair):
    """COMMAND INFO of every set command: name, arity, key positions exact, flags as a set."""
    for name in SET_COMMANDS:
        ref, tgt = pair.both("COMMAND", "INFO", name.lower())
        r, t = parse(ref), parse(tgt)
        assert t[0] == "array" and len(t[1]) == 1 and t[1][0][0] == "array", (name, show(tgt))
        rr, tt = r[1][0][1], t[1][0][1]
        if tt[0:2] != rr[0:2] or tt[3:6] != rr[3:6]:
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name.lower()), ref, tgt,
                                            "name, arity or key positions differ"))
        elif sorted(map(repr, tt[2][1])) != sorted(map(repr, rr[2][1])):
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name.lower()), ref, tgt,
                                            "flags differ (compared as a set)"))
    pair.assert_clean()
