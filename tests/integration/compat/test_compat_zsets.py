"""Differential tests: sorted set commands, raw RESP replies of redis-server 7.0 vs synod.

A sorted set's order is defined (score, then member bytes), so every reply is compared byte for
byte, in RESP2 and RESP3 (doubles, and the [member, score] pairs RESP3 nests). Scores are
formatted as Redis 7.0 does ("%.17g", inf/-inf). ZRANDMEMBER is compared by shape, or exactly
where the answer is forced; ZSCAN of a skiplist set is compared as a full iteration.
"""

import pytest

from .diff import SHAPE, SCAN, TTL, U, cases
from .resp_raw import parse  # noqa: F401


def _zadd(key, pairs):
    out = ["ZADD", key]
    for s, m in pairs:
        out += [str(s), str(m)]
    return tuple(out)


BIG = _zadd("big", [(i % 37, "m%03d" % i) for i in range(200)])

CASES = [
    ("zadd_basic", [
        ("ZADD", "z", "1", "a", "2", "b", "1.5", "c"), ("ZADD", "z", "3", "a"), ("ZCARD", "z"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZADD", "z", "CH", "3", "a", "4", "b", "0", "d"),
        ("ZADD", "z", "NX", "9", "a", "9", "e"), ("ZADD", "z", "XX", "8", "a", "8", "f"),
        ("ZADD", "z", "XX", "CH", "7", "a", "7", "g"), ("ZADD", "z", "GT", "CH", "1", "a", "10", "b"),
        ("ZADD", "z", "LT", "CH", "1", "a", "10", "c"), ("ZADD", "z", "GT", "XX", "100", "e"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZADD", "z", "NX", "XX", "1", "a"),
        ("ZADD", "z", "GT", "LT", "1", "a"), ("ZADD", "z", "NX", "GT", "1", "a"),
        ("ZADD", "z", "INCR", "1", "a", "2", "b"), ("ZADD", "z", "1"), ("ZADD", "z", "1", "a", "2"),
        ("ZADD", "z", "x", "a"), ("ZADD", "z", "nan", "a"), ("ZADD", "z", " 1", "a"),
        ("ZADD", "z", "1e400", "a"), ("ZADD", "z", "inf", "i", "-inf", "j", "+inf", "k"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZADD", "z"), ("ZADD",), ("ZADD", "z", "CH"),
        ("ZADD", "n", "XX", "1", "a"), ("EXISTS", "n"), ("ZADD", "z", "0x10", "h"),
        ("ZADD", "z", "1.1", "p", "0.1", "q", "-0", "r", "1e-300", "s", "123456789012345678", "t"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("TYPE", "z"), ("OBJECT", "ENCODING", "z"),
    ]),
    ("zadd_incr_zincrby", [
        ("ZADD", "z", "INCR", "1.5", "a"), ("ZADD", "z", "INCR", "1.5", "a"),
        ("ZADD", "z", "NX", "INCR", "1", "a"), ("ZADD", "z", "XX", "INCR", "1", "b"),
        ("ZADD", "z", "GT", "INCR", "-1", "a"), ("ZADD", "z", "LT", "INCR", "-1", "a"),
        ("ZINCRBY", "z", "2", "a"), ("ZINCRBY", "z", "2", "new"), ("ZINCRBY", "z", "x", "a"),
        ("ZINCRBY", "z", "inf", "a"), ("ZINCRBY", "z", "-inf", "a"), ("ZSCORE", "z", "a"),
        ("ZINCRBY", "z", "0.1", "new"), ("ZINCRBY", "z", "0.2", "new"), ("ZSCORE", "z", "new"),
        ("ZINCRBY", "z", "1"), ("ZINCRBY", "z", "1", "a", "b"), ("ZINCRBY", "q", "1", "a"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    ]),
    ("zscore_zmscore_zcard_zrank", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"), ("ZSCORE", "z", "a"),
        ("ZSCORE", "z", "x"), ("ZSCORE", "none", "a"), ("ZMSCORE", "z", "a", "x", "c"),
        ("ZMSCORE", "none", "a", "b"), ("ZMSCORE", "z"), ("ZCARD", "z"), ("ZCARD", "none"),
        ("ZRANK", "z", "a"), ("ZRANK", "z", "d"), ("ZRANK", "z", "x"), ("ZREVRANK", "z", "a"),
        ("ZREVRANK", "z", "d"), ("ZRANK", "none", "a"), ("ZRANK", "z"), ("ZSCORE", "z"),
        ("ZCARD", "z", "y"),
    ]),
    ("zcount_zlexcount", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZCOUNT", "z", "-inf", "+inf"), ("ZCOUNT", "z", "2", "4"), ("ZCOUNT", "z", "(2", "4"),
        ("ZCOUNT", "z", "2", "(4"), ("ZCOUNT", "z", "(2", "(3"), ("ZCOUNT", "z", "4", "2"),
        ("ZCOUNT", "z", "x", "2"), ("ZCOUNT", "z", "(", "2"), ("ZCOUNT", "z", "nan", "2"),
        ("ZCOUNT", "none", "0", "1"), ("ZCOUNT", "z", "inf", "-inf"), ("ZCOUNT", "z", "(1", "(1"),
        ("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"),
        ("ZLEXCOUNT", "l", "-", "+"), ("ZLEXCOUNT", "l", "[b", "[d"), ("ZLEXCOUNT", "l", "(b", "[d"),
        ("ZLEXCOUNT", "l", "[b", "(d"), ("ZLEXCOUNT", "l", "+", "-"), ("ZLEXCOUNT", "l", "b", "d"),
        ("ZLEXCOUNT", "l", "[", "(z"), ("ZLEXCOUNT", "l", "-", "[c"), ("ZLEXCOUNT", "l", "(c", "+"),
        ("ZLEXCOUNT", "none", "-", "+"), ("ZLEXCOUNT", "l", "[d", "[b"),
    ]),
    ("zrange_rank", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZRANGE", "z", "0", "-1"),
        ("ZRANGE", "z", "1", "2", "WITHSCORES"), ("ZRANGE", "z", "-2", "-1"),
        ("ZRANGE", "z", "3", "1"), ("ZRANGE", "z", "-100", "100"), ("ZRANGE", "z", "5", "10"),
        ("ZRANGE", "z", "0", "-1", "REV"), ("ZRANGE", "z", "0", "1", "REV", "WITHSCORES"),
        ("ZREVRANGE", "z", "0", "1"), ("ZREVRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"), ("ZRANGE", "z", "x", "1"),
        ("ZRANGE", "z", "0", "1", "FOO"), ("ZRANGE", "none", "0", "-1"), ("ZRANGE", "z", "0"),
        ("ZREVRANGE", "z", "0", "1", "REV"), ("ZRANGE", "z", "0", "-1", "withscores", "withscores"),
    ]),
    ("zrange_byscore", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZRANGE", "z", "2", "4", "BYSCORE"), ("ZRANGE", "z", "(2", "4", "BYSCORE", "WITHSCORES"),
        ("ZRANGE", "z", "4", "2", "BYSCORE", "REV"), ("ZRANGE", "z", "-inf", "+inf", "BYSCORE",
                                                        "LIMIT", "1", "2"),
        ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"),
        ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"),
        ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "10", "2"),
        ("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"),
        ("ZRANGEBYSCORE", "z", "2", "(5"), ("ZRANGEBYSCORE", "z", "-inf", "3", "WITHSCORES"),
        ("ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "2", "2"), ("ZREVRANGEBYSCORE", "z", "5", "2"),
        ("ZREVRANGEBYSCORE", "z", "(5", "(2", "WITHSCORES", "LIMIT", "0", "1"),
        ("ZRANGEBYSCORE", "z", "x", "2"), ("ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "1"),
        ("ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "x", "1"), ("ZRANGEBYSCORE", "z", "0", "10", "REV"),
        ("ZRANGE", "z", "0", "10", "BYSCORE", "BYLEX"), ("ZRANGEBYSCORE", "none", "0", "1"),
    ]),
    ("zrange_bylex", [
        ("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ab"),
        ("ZRANGE", "l", "[b", "[d", "BYLEX"), ("ZRANGE", "l", "-", "+", "BYLEX", "LIMIT", "1", "3"),
        ("ZRANGE", "l", "+", "-", "BYLEX", "REV"), ("ZRANGE", "l", "(d", "(a", "BYLEX", "REV"),
        ("ZRANGEBYLEX", "l", "[a", "(c"), ("ZREVRANGEBYLEX", "l", "+", "[b", "LIMIT", "0", "2"),
        ("ZRANGEBYLEX", "l", "a", "c"), ("ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"),
        ("ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"), ("ZRANGEBYLEX", "none", "-", "+"),
    ]),
    ("zrangestore", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZRANGESTORE", "d", "z", "0", "1"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "d", "z", "(1", "+inf", "BYSCORE"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "d", "z", "5", "10"),
        ("EXISTS", "d"), ("ZRANGESTORE", "d", "none", "0", "-1"), ("ZRANGESTORE", "d", "z", "0", "-1",
                                                                   "WITHSCORES"),
        ("SET", "s", "v"), ("ZRANGESTORE", "s", "z", "0", "-1"), ("TYPE", "s"),
        ("ZRANGESTORE", "d", "s", "0", "-1"), ("ZRANGESTORE", "d", "z", "[a", "[b", "BYLEX", "REV"),
        ("ZRANGESTORE", "d", "z", "+", "-", "BYLEX", "REV"), ("ZRANGE", "d", "0", "-1"),
    ]),
    ("zrem_zremrange", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"),
        ("ZREM", "z", "a", "x", "a"), ("ZREMRANGEBYRANK", "z", "0", "0"),
        ("ZRANGE", "z", "0", "-1"), ("ZREMRANGEBYSCORE", "z", "(3", "5"), ("ZRANGE", "z", "0", "-1"),
        ("ZREMRANGEBYRANK", "z", "5", "10"), ("ZREMRANGEBYRANK", "z", "x", "1"),
        ("ZREMRANGEBYSCORE", "z", "x", "1"), ("ZREMRANGEBYLEX", "z", "x", "y"),
        ("ZADD", "l", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "l", "[b", "+"),
        ("ZRANGE", "l", "0", "-1"), ("ZREMRANGEBYLEX", "l", "-", "+"), ("EXISTS", "l"),
        ("ZREMRANGEBYRANK", "z", "0", "-1"), ("EXISTS", "z"), ("ZREM", "none", "a"),
        ("ZREMRANGEBYRANK", "none", "0", "1"), ("ZREM", "z"),
    ]),
    ("zpop_zmpop", [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z"),
        ("ZPOPMIN", "z", "0"), ("ZPOPMIN", "z", "1"), ("ZPOPMAX", "z", "5"), ("EXISTS", "z"),
        ("ZPOPMIN", "none"), ("ZPOPMIN", "none", "2"), ("ZPOPMIN", "z", "-1"), ("ZPOPMIN", "z", "x"),
        ("ZPOPMIN", "z", "1", "2"), ("ZADD", "a", "1", "x", "2", "y"), ("ZADD", "b", "5", "p"),
        ("ZMPOP", "2", "none", "a", "MIN"), ("ZMPOP", "2", "a", "b", "MAX", "COUNT", "10"),
        ("ZMPOP", "2", "a", "b", "MIN", "COUNT", "1"), ("ZMPOP", "1", "none", "MIN"),
        ("ZMPOP", "0", "a", "MIN"), ("ZMPOP", "1", "a", "FOO"), ("ZMPOP", "1", "a", "MIN", "COUNT", "0"),
        ("ZMPOP", "1", "a", "MIN", "COUNT", "1", "COUNT", "2"), ("ZMPOP", "5", "a", "MIN"),
        ("ZMPOP", "x", "a", "MIN"), ("ZMPOP", "1", "a", "MIN", "COUNT"),
    ]),
    ("zunion_zinter_zdiff", [
        ("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "10", "y", "20", "z", "30", "w"),
        ("SADD", "s", "x", "w", "q"),
        ("ZUNION", "2", "a", "b"), ("ZUNION", "2", "a", "b", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"),
        ("ZUNION", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"),
        ("ZINTER", "2", "a", "b", "WITHSCORES"), ("ZINTER", "2", "a", "b", "AGGREGATE", "MIN",
                                                  "WITHSCORES"),
        ("ZINTER", "2", "a", "s", "WITHSCORES"), ("ZUNION", "3", "a", "b", "s", "WITHSCORES"),
        ("ZDIFF", "2", "a", "b", "WITHSCORES"), ("ZDIFF", "1", "a"), ("ZDIFF", "2", "b", "s"),
        ("ZUNION", "0", "a"), ("ZINTER", "0", "a"), ("ZDIFF", "0", "a"), ("ZUNION", "3", "a", "b"),
        ("ZUNION", "2", "a", "b", "WEIGHTS", "1"), ("ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"),
        ("ZUNION", "2", "a", "b", "AGGREGATE", "FOO"), ("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "2"),
        ("ZUNION", "2", "a", "none", "WITHSCORES"), ("ZINTER", "2", "a", "none"),
        ("ZADD", "i", "inf", "x"), ("ZADD", "j", "-inf", "x"), ("ZUNION", "2", "i", "j", "WITHSCORES"),
        ("ZUNION", "2", "i", "j", "WEIGHTS", "0", "1", "WITHSCORES"), ("SET", "str", "v"),
        ("ZUNION", "2", "a", "str"), ("ZINTER", "x", "a"),
    ]),
    ("zstore_ops", [
        ("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "10", "y", "20", "z", "30", "w"),
        ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"), ("ZRANGE", "d", "0", "-1",
                                                                    "WITHSCORES"),
        ("ZDIFFSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "none"), ("EXISTS", "d"), ("ZUNIONSTORE", "a", "2", "a", "b"),
        ("ZRANGE", "a", "0", "-1", "WITHSCORES"), ("ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"),
        ("ZUNIONSTORE", "d", "0", "a"), ("ZINTERSTORE", "d", "0", "a"), ("ZDIFFSTORE", "d", "0", "a"),
        ("ZINTERCARD", "2", "a", "b"), ("ZINTERCARD", "2", "a", "b", "LIMIT", "1"),
        ("ZINTERCARD", "1", "none"), ("ZINTERCARD", "0", "a"), ("ZINTERCARD", "3", "a", "b"),
        ("ZINTERCARD", "2", "a", "b", "LIMIT", "-1"), ("ZINTERCARD", "2", "a", "b", "FOO"),
    ]),
    ("zrandmember", [
        ("ZRANDMEMBER", "none"), ("ZRANDMEMBER", "none", "5"), ("ZRANDMEMBER", "none", "0"),
        ("ZADD", "one", "1", "x"), ("ZRANDMEMBER", "one"), ("ZRANDMEMBER", "one", "3"),
        ("ZRANDMEMBER", "one", "-3", "WITHSCORES"), ("ZRANDMEMBER", "one", "1", "WITHSCORES"),
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZRANDMEMBER", "z", "5"),
        ("ZRANDMEMBER", "z", "3", "WITHSCORES"), SHAPE("ZRANDMEMBER", "z", "2"),
        SHAPE("ZRANDMEMBER", "z", "-5", "WITHSCORES"), SHAPE("ZRANDMEMBER", "z"),
        ("ZRANDMEMBER", "z", "x"), ("ZRANDMEMBER", "z", "1", "FOO"), ("ZRANDMEMBER", "z", "0"),
        ("ZRANDMEMBER", "z", "-9223372036854775808"),
        ("ZRANDMEMBER", "z", "-9223372036854775808", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"),
    ]),
    ("zscan", [
        ("ZADD", "z", "1", "a", "2.5", "b", "inf", "c"), ("ZSCAN", "z", "0"),
        ("ZSCAN", "z", "0", "MATCH", "a*"), ("ZSCAN", "none", "0"), ("ZSCAN", "z", "x"),
        ("ZSCAN", "z", "0", "COUNT", "0"),
    ]),
    ("skiplist_encoding", [
        BIG, ("ZCARD", "big"), ("OBJECT", "ENCODING", "big"), ("ZRANGE", "big", "0", "-1", "WITHSCORES"),
        ("ZRANGE", "big", "10", "20", "REV"), ("ZRANGEBYSCORE", "big", "(3", "5", "LIMIT", "3", "4"),
        ("ZCOUNT", "big", "5", "10"), ("ZRANK", "big", "m100"), ("ZREVRANK", "big", "m100"),
        ("ZREM", "big", "m000", "m001"), ("ZREMRANGEBYSCORE", "big", "0", "1"), ("ZCARD", "big"),
        ("ZREMRANGEBYRANK", "big", "10", "19"), ("ZPOPMIN", "big", "3"), ("ZPOPMAX", "big", "3"),
        ("ZINCRBY", "big", "100", "m050"), ("ZRANGE", "big", "-3", "-1", "WITHSCORES"),
        ("ZUNIONSTORE", "u", "1", "big"), ("OBJECT", "ENCODING", "u"),
        ("ZRANGESTORE", "r", "big", "0", "9"), ("OBJECT", "ENCODING", "r"),
        ("ZADD", "long", "1", "x" * 65), ("OBJECT", "ENCODING", "long"),
        ("ZADD", "short", "1", "x" * 64), ("OBJECT", "ENCODING", "short"),
    ]),
    ("keys_on_zsets", [
        ("ZADD", "z", "1", "a"), ("TYPE", "z"), SCAN("TYPE", "zset"), ("EXPIRE", "z", "100"),
        TTL(1, "TTL", "z"), ("RENAME", "z", "z2"), ("ZRANGE", "z2", "0", "-1", "WITHSCORES"),
        ("DEL", "z2"), ("EXISTS", "z2"), ("SET", "str", "v"), ("ZADD", "str", "1", "a"),
        ("ZSCORE", "str", "a"), ("ZRANGE", "str", "0", "-1"), ("ZRANGE", "str", "x", "-1"),
        ("ZCARD", "str"), ("ZPOPMIN", "str"), ("ZRANGEBYSCORE", "str", "x", "1"), ("GET", "z"),
        ("ZADD", "z", "1", "a"), ("GET", "z"), ("SADD", "z", "x"),
    ]),
    ("config_zset_listpack", [
        ("CONFIG", "GET", "zset-max-listpack-entries"), ("CONFIG", "GET", "zset-max-ziplist-value"),
        ("CONFIG", "SET", "zset-max-listpack-entries", "2"), ("ZADD", "z", "1", "a", "2", "b"),
        ("OBJECT", "ENCODING", "z"), ("ZADD", "z", "3", "c"), ("OBJECT", "ENCODING", "z"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("CONFIG", "SET", "zset-max-listpack-entries", "128"),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_zsets(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
