"""Differential tests: COMMAND GETKEYS, raw RESP replies of redis-server 7.0 vs synod.

Fixed key positions (first/last/step from the command table: GET, MSET's every other argument,
DEL's all), movable keys (numkeys: LMPOP BLMPOP ZMPOP SINTERCARD ZUNION ZUNIONSTORE...; the
STREAMS keyword: XREAD XREADGROUP; SORT's last STORE), the server's own commands (WATCH, EVAL and
FCALL numkeys including zero, OBJECT / MEMORY subcommands), and the errors: unknown command,
command without keys, wrong arity, invalid numkeys.

COMMAND GETKEYSANDFLAGS the same way (each key's key-spec flags: RO/RW/OW/RM and access/update/
insert/delete; SET and BITFIELD whose flags depend on their arguments; SORT's STORE), and a sweep
of every command both servers know through GETKEYS and GETKEYSANDFLAGS with argument shapes that
fit keys, numkeys, keywords (STREAMS, STORE, STOREDIST) and options (GET); and every command's
key specs in COMMAND INFO (RESP2 and RESP3).
"""

import pytest

from .diff import cases
from .resp_raw import parse

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

F = ("COMMAND", "GETKEYSANDFLAGS")

CASES += [
    ("flags", [
        F + ("SET", "k1", "v1"), F + ("SET", "k1", "v1", "XX", "GeT"), F + ("SET", "k", "v", "EX", "get"),
        F + ("MSET", "k1", "v1", "k2", "v2"), F + ("MSETNX", "a", "1"), F + ("LMOVE", "k1", "k2", "left", "right"),
        F + ("SORT", "k1", "STORE", "k2"), F + ("SORT", "k1", "BY", "x", "STORE", "a", "STORE", "b"),
        F + ("SORT_RO", "k1", "BY", "x"), F + ("DEL", "a", "b"), F + ("RENAME", "a", "b"),
        F + ("RENAMENX", "a", "b"), F + ("COPY", "a", "b"), F + ("GETDEL", "a"), F + ("LPUSH", "l", "x"),
        F + ("BITFIELD", "k", "GET", "u8", "0"), F + ("BITFIELD", "k", "OVERFLOW", "WRAP", "GET", "u8", "0"),
        F + ("BITFIELD", "k", "GET", "u8"), F + ("BITFIELD", "k", "SET", "u8", "0", "1"),
        F + ("BITOP", "AND", "d", "a", "b"), F + ("PFMERGE", "d", "a"), F + ("PFCOUNT", "a", "b"),
        F + ("ZUNIONSTORE", "d", "2", "a", "b"), F + ("ZUNIONSTORE", "d", "3", "a", "b"),
        F + ("LMPOP", "2", "a", "b", "LEFT"), F + ("BLMPOP", "0", "1", "a", "LEFT"),
        F + ("XREAD", "STREAMS", "a", "b", "c"), F + ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"),
        F + ("GEORADIUS", "k", "0", "0", "1", "m", "STORE", "s", "STOREDIST", "t"),
        F + ("XGROUP", "DESTROY", "k", "g"), F + ("XGROUP", "CREATE", "k", "g", "$"),
        F + ("XINFO", "STREAM", "k"), F + ("OBJECT", "ENCODING", "k"), F + ("OBJECT", "HELP"),
        F + ("OBJECT", "NOSUCH", "k"), F + ("MEMORY", "USAGE", "k"), F + ("WATCH", "a", "b"),
        F + ("EVAL", "return 1", "0"), F + ("EVAL", "return 1", "1", "a"), F + ("EVAL_RO", "x", "1", "a"),
        F + ("FCALL", "f", "2", "a", "b"), F + ("SPUBLISH", "ch", "m"), F + ("PUBLISH", "ch", "m"),
        F + ("TOUCH", "a"), F + ("EXISTS", "a"), F + ("nosuch", "a"), F + ("GET",), F + ("PING",),
        F + ("CLIENT", "LIST"), F + ("GETKEYSANDFLAGS",),
    ]),
]

XFAIL = {}

# Argument shapes for the sweep: keys, numkeys, STREAMS, STORE/STOREDIST, GET options.
SHAPES = [
    (), ("k1",), ("k1", "k2"), ("k1", "k2", "k3"), ("2", "k1", "k2", "x", "y"),
    ("k1", "v1", "k2", "v2", "get"), ("k1", "STREAMS", "a", "b", "0", "0"),
    ("k1", "0", "0", "1", "m", "STORE", "s", "STOREDIST", "t"), ("k1", "get", "u8", "0"),
]


def _names(conn):
    return {n[1].decode() for n in parse(conn.call("COMMAND", "LIST"))[1]}


def test_getkeys_sweep(pair, request):
    """Every command (and subcommand) both servers know, through GETKEYS and GETKEYSANDFLAGS."""
    names = sorted(_names(pair.ref) & _names(pair.tgt))
    assert len(names) > 250
    steps = []
    for name in names:
        for shape in SHAPES:
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                steps.append(("COMMAND", sub) + tuple(name.split("|")) + shape)
    pair.run(steps)
    pair.assert_clean(request.node.name)


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_getkeys(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


@pytest.mark.parametrize("proto", ["2", "3"])
def test_command_info_key_specs(pair, proto):
    """COMMAND INFO's key specs (element 8: flags, begin_search, find_keys, notes) of every
    command both servers know, byte for byte."""
    pair.both("HELLO", proto)
    names = sorted(_names(pair.ref) & _names(pair.tgt))
    bad = []
    for name in names:
        ref, tgt = pair.both("COMMAND", "INFO", name)
        r, t = parse(ref)[1][0], parse(tgt)[1][0]
        if r[0] != "array" or t[0] != "array":
            continue  # a subcommand one of them does not describe apart (data containers)
        if r[1][8] != t[1][8]:
            bad.append((name, r[1][8], t[1][8]))
    assert not bad, "\n".join("%s\n  redis: %r\n  synod: %r" % b for b in bad[:10])
