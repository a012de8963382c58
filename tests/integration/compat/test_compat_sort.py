"""Differential tests: SORT and SORT_RO, raw RESP replies of redis-server 7.0 vs synod.

Lists, sets (intset and hashtable) and sorted sets sorted as numbers and with ALPHA, BY patterns
(string keys, hash fields `key->field`, missing keys, a constant pattern that skips sorting), GET
patterns (`#`, missing keys, hash fields), LIMIT edge cases, DESC, STORE (list result, an empty
result deletes the destination), and the errors: non-numeric elements, syntax, WRONGTYPE, a bad
LIMIT, STORE on SORT_RO; a sorted set SORT read is a skiplist from then on (OBJECT ENCODING).
Every case uses elements whose sort order is fully determined (no ties Redis would leave to
hash order), so replies compare byte for byte.
"""

import pytest

from .diff import cases

CASES = [
    ("numeric_list", [
        ("RPUSH", "l", "3", "1", "2", "10", "-5", "2.5", "1e3"), ("SORT", "l"),
        ("SORT", "l", "DESC"), ("SORT", "l", "LIMIT", "1", "3"), ("SORT", "l", "LIMIT", "-1", "2"),
        ("SORT", "l", "LIMIT", "5", "100"), ("SORT", "l", "LIMIT", "100", "1"),
        ("SORT", "l", "LIMIT", "0", "-1"), ("SORT", "l", "LIMIT", "0", "0"),
        ("SORT_RO", "l", "DESC", "LIMIT", "0", "2"), ("SORT", "none"), ("SORT_RO", "none"),
    ]),
    ("alpha", [
        ("RPUSH", "l", "banana", "apple", "cherry", "Apple", "", "b"), ("SORT", "l"),
        ("SORT", "l", "ALPHA"), ("SORT", "l", "ALPHA", "DESC"), ("SORT", "l", "alpha", "limit", "2", "2"),
        ("SADD", "s", "x", "y", "a", "zz"), ("SORT", "s", "ALPHA"),
        ("SADD", "i", "5", "3", "-1", "100"), ("SORT", "i"), ("SORT", "i", "ALPHA"), ("OBJECT", "ENCODING", "i"),
    ]),
    ("zset", [
        ("ZADD", "z", "3", "c", "1", "a", "2", "b"), ("SORT", "z", "ALPHA"), ("SORT", "z", "BY", "nosort"),
        ("SORT", "z", "BY", "nosort", "DESC"), ("SORT", "z", "BY", "nosort", "LIMIT", "1", "1"),
        ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"), ("SORT", "z"),
        ("ZADD", "zn", "1", "30", "2", "10", "3", "20"), ("SORT", "zn"), ("SORT", "zn", "BY", "nosort"),
        # a sorted set SORT reads becomes a skiplist for good (Redis converts it), even on an error
        ("ZADD", "zs", "1", "a"), ("OBJECT", "ENCODING", "zs"), ("SORT_RO", "zs", "ALPHA"),
        ("OBJECT", "ENCODING", "zs"), ("ZADD", "ze", "1", "a"), ("SORT", "ze"),
        ("OBJECT", "ENCODING", "ze"), ("ZADD", "ze", "2", "b"), ("OBJECT", "ENCODING", "ze"),
    ]),
    ("by_get", [
        ("RPUSH", "l", "1", "2", "3"), ("SET", "w_1", "30"), ("SET", "w_2", "10"), ("SET", "w_3", "20"),
        ("SET", "o_1", "one"), ("SET", "o_2", "two"), ("SORT", "l", "BY", "w_*"),
        ("SORT", "l", "BY", "w_*", "DESC"), ("SORT", "l", "BY", "w_*", "GET", "o_*"),
        ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*", "GET", "w_*"),
        ("SORT", "l", "GET", "nothing_*"), ("SORT", "l", "BY", "nosort", "GET", "#"),
        ("HSET", "h_1", "f", "c"), ("HSET", "h_2", "f", "a"), ("HSET", "h_3", "f", "b"),
        ("SORT", "l", "BY", "h_*->f", "ALPHA"), ("SORT", "l", "BY", "h_*->f", "ALPHA", "GET", "h_*->f"),
        ("SORT", "l", "GET", "h_*->nofield"), ("SORT", "l", "GET", "h_*->"),
        ("SET", "w_3", "x"), ("SORT", "l", "BY", "w_*"),
        ("RPUSH", "m", "a", "b"), ("SET", "w_a", "2"), ("SORT", "m", "BY", "w_*"),
        # ALPHA BY: a missing value sorts first (only one: Redis leaves ties to qsort)
        ("RPUSH", "n", "c", "a", "d", "b"), ("SET", "x_a", "zz"), ("SET", "x_d", ""), ("SET", "x_b", "m"),
        ("SORT", "n", "BY", "x_*", "ALPHA"), ("SORT", "n", "BY", "x_*", "ALPHA", "DESC"),
    ]),
    ("store", [
        ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("TYPE", "d"), ("SET", "s", "v"), ("SORT", "l", "DESC", "STORE", "s"), ("LRANGE", "s", "0", "-1"),
        ("SORT", "none", "STORE", "d"), ("EXISTS", "d"), ("SORT", "l", "LIMIT", "5", "1", "STORE", "s"),
        ("EXISTS", "s"), ("SORT", "l", "STORE", "l"), ("LRANGE", "l", "0", "-1"),
        ("SORT_RO", "l", "STORE", "d"), ("SADD", "set", "b", "a"), ("SORT", "set", "ALPHA", "STORE", "d2"),
        ("LRANGE", "d2", "0", "-1"),
    ]),
    ("errors", [
        ("RPUSH", "l", "1", "x", "2"), ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "LIMIT", "1"),
        ("SORT", "l", "LIMIT", "a", "1"), ("SORT", "l", "FOO"), ("SORT", "l", "BY"), ("SORT", "l", "GET"),
        ("SORT", "l", "STORE"), ("SORT",), ("SORT_RO",), ("SET", "str", "v"), ("SORT", "str"),
        ("SORT", "str", "ALPHA"), ("HSET", "h", "a", "1"), ("SORT", "h"), ("SORT", "l", "ALPHA"),
        ("SORT", "l", "BY", "nosort"),
    ]),
]

XFAIL = {}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_sort(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
