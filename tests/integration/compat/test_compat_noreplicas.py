"""Differential test: min-replicas-to-write on a node without enough good replicas (a single
redis-server has none; a single synod node has no other voter), raw RESP replies of
redis-server 7.0 vs synod: writes refused with -NOREPLICAS, a script without shebang runs until
its first write, a declared write script is refused at once, EXEC with a write aborts."""

import pytest

from .diff import PAIRS, cases

SET_LUA = "return redis.call('set', KEYS[1], ARGV[1])"
GET_LUA = "return redis.call('get', KEYS[1])"

CASES = [
    ("noreplicas", [
        ("SET", "x", "before"), ("CONFIG", "SET", "min-replicas-to-write", "1"),
        PAIRS("CONFIG", "GET", "min-replicas-*"), ("SET", "x", "v"), ("GET", "x"), ("INCR", "n"),
        ("DEL", "x"), ("EVAL", GET_LUA, "1", "x"), ("EVAL", SET_LUA, "1", "x", "s"),
        ("EVAL", "#!lua\n" + GET_LUA, "1", "x"), ("EVAL", "#!lua flags=no-writes\n" + GET_LUA, "1", "x"),
        ("EVAL", "return redis.pcall('set', KEYS[1], 1)", "1", "x"),
        ("EVAL_RO", SET_LUA, "1", "x", "s"), ("EVAL", "return 1", "0"),
        ("MULTI",), ("GET", "x"), ("EXEC",),
        ("MULTI",), ("SET", "x", "m"), ("GET", "x"), ("EXEC",), ("GET", "x"),
        ("CONFIG", "SET", "min-replicas-max-lag", "0"), ("SET", "x", "nolag"),
        ("CONFIG", "SET", "min-replicas-max-lag", "10"),
        ("CONFIG", "SET", "min-slaves-to-write", "0"), ("SET", "x", "after"), ("GET", "x"),
        PAIRS("CONFIG", "GET", "min-slaves-*"),
    ]),
]


@pytest.mark.single_node("a healthy cluster's leader has good replicas: its writes are not refused "
                         "(test_cluster_noreplicas covers a cluster)")
def test_noreplicas(pair, request):
    for steps in cases(CASES):
        try:
            pair.run(steps.values[0])
        finally:
            for conn in (pair.ref, pair.tgt):
                conn.call("CONFIG", "SET", "min-replicas-to-write", "0")
                conn.call("CONFIG", "SET", "min-replicas-max-lag", "10")
                conn.call("FLUSHALL")
    pair.assert_clean(request.node.name)
