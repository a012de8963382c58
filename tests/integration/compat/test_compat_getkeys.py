"""Differential tests: COMMAND GETKEYS, raw RESP replies of redis-server 7.0 vs synod.

Fixed key positions (first/last/step from the command table: GET, MSET's every other argument,
DEL's all), movable keys (numkeys: LMPOP BLMPOP ZMPOP SINTERCARD ZUNION ZUNIONSTORE...; the
STREAMS keyword: XREAD XREADGROUP; SORT's last STORE), the server's own commands (WATCH, EVAL and
FCALL numkeys including zero, OBJECT / MEMORY subcommands), and the errors: unknown command,
command without keys, wrong arity, invalid numkeys.
"""

import pytest

from .diff import cases

G = ("COMMAND", "GETKEYS")

CASES = [
    ("fixed", [
        G + ("GET", "key"), G + ("MSET", "a", "1", "b", "2", "c", "3"), G + ("DEL", "a", "b", "c"),
        G + ("RENAME", "a", "b"), G + ("LMOVE", "a", "b", "LEFT", "RIGHT"), G + ("BLPOP", "a", "b", "0"),
        G + ("HSET", "h", "f", "v"), G + ("XGROUP", "CREATE", "key", "g", "$"),
        G + ("XINFO", "STREAM", "s"), G + ("PFCOUNT", "a", "b"), G + ("SINTERSTORE", "d", "a", "b"),
        G + ("ZRANGESTORE", "d", "s", "0", "-1"), G + ("COPY", "a", "b"), G + ("SMOVE", "a", "b", "m"),
        G + ("GETKEYS",), G + ("get",), G + ("get", "a", "b"), G + ("nosuch", "a"), G + ("PING",),
        G + ("FLUSHALL",), G + ("DBSIZE",), G + ("BITOP", "AND", "d", "a", "b"),
    ]),
    ("movable", [
        G + ("LMPOP", "2", "a", "b", "LEFT"), G + ("LMPOP", "0", "a", "LEFT"),
        G + ("LMPOP", "3", "a", "LEFT"), G + ("LMPOP", "x", "a", "LEFT"),
        G + ("BLMPOP", "0", "2", "a", "b", "LEFT"), G + ("ZMPOP", "1", "z", "MIN"),
        G + ("BZMPOP", "1.5", "1", "z", "MAX"), G + ("SINTERCARD", "2", "a", "b", "LIMIT", "1"),
        G + ("ZINTERCARD", "1", "a"), G + ("ZUNION", "2", "a", "b", "WITHSCORES"),
        G + ("ZINTER", "1", "a"), G + ("ZDIFF", "2", "a", "b"),
        G + ("ZUNIONSTORE", "t", "2", "a", "b", "WEIGHTS", "1", "2"),
        G + ("ZINTERSTORE", "t", "1", "a"), G + ("ZDIFFSTORE", "t", "3", "a", "b"),
        G + ("SORT", "abc", "STORE", "invalid", "STORE", "stillbad", "STORE", "def"),
        G + ("SORT", "abc", "BY", "store", "GET", "store", "LIMIT", "0", "1"),
        G + ("SORT_RO", "abc"), G + ("SORT", "abc"),
        G + ("XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
        G + ("XREAD", "BLOCK", "0", "STREAMS", "a", "$"), G + ("XREAD", "STREAMS", "a", "b", "0"),
        G + ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", ">"),
        G + ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "a", "b", ">", ">"),
    ]),
    ("server", [
        G + ("WATCH", "a", "b"), G + ("EVAL", "return 1", "1", "key"), G + ("EVAL", "return 1", "0"),
        G + ("EVAL", "return 1", "2", "a"), G + ("EVALSHA", "x", "2", "a", "b", "c"),
        G + ("FCALL", "test", "1", "x", "foo"), G + ("FCALL_RO", "test", "1", "x", "foo"),
        G + ("OBJECT", "ENCODING", "k"), G + ("MEMORY", "USAGE", "key"), G + ("CLIENT", "LIST"),
        G + ("EVAL", "return 1", "-1"),
    ]),
]

XFAIL = {}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_getkeys(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
