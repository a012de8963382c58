"""Differential tests: MEMORY STATS and INFO memory against redis-server 7.0.

The figures themselves differ (another allocator, another layout); what clients and tools
parse must not: MEMORY STATS's field names, their order, their types (integers, doubles,
the per-database maps) in RESP2 and RESP3, which databases are listed (those with keys), and
the INFO memory fields monitoring tools read. The values are checked for what they mean on
synod itself: keys.count is the keys of every database, the total grows with the data, the
peak is never below the total, dataset + overhead = total.
"""

import re

import pytest

from .diff import show
from .resp_raw import parse


def _shape(tree):
    """The reply with its numbers replaced by their kind."""
    kind = tree[0]
    if kind in ("int", "double"):
        return kind
    if kind == "map":
        return ("map", [(_shape(k), _shape(v)) for k, v in tree[1]])
    if kind == "array":
        return ("array", [_shape(x) for x in tree[1]])
    return tree


def _resp2_shape(tree):
    """RESP2: a flat array of name, value; a double is a bulk string of a number."""
    assert tree[0] == "array", tree
    items = tree[1]
    out = []
    for i in range(0, len(items), 2):
        name, val = items[i], items[i + 1]
        if val[0] == "bulk" and re.fullmatch(rb"-?[0-9.e+-]+|inf|-inf|nan", val[1]):
            val = "double"
        elif val[0] == "array":
            val = ("array", _resp2_shape(val)[1])
        else:
            val = _shape(val)
        out.append((name, val))
    return ("array", out)


def _stats_tree(conn, proto):
    conn.call("HELLO", proto)
    raw = conn.call("MEMORY", "STATS")
    return parse(raw), raw


def _as_dict(tree, proto):
    """name -> value (ints as int, doubles as float, db maps as dicts)."""
    def val(v):
        if v[0] == "int":
            return v[1]
        if v[0] in ("double", "bulk"):
            return float(v[1])
        if v[0] == "map":
            return {k[1].decode(): val(x) for k, x in v[1]}
        return {v[1][i][1].decode(): val(v[1][i + 1]) for i in range(0, len(v[1]), 2)}

    if proto == "3":
        return {k[1].decode(): val(v) for k, v in tree[1]}
    items = tree[1]
    return {items[i][1].decode(): val(items[i + 1]) for i in range(0, len(items), 2)}


def _fill(conn):
    for i in range(300):
        assert conn.call("SET", f"k{i}", "v" * 50) == b"+OK\r\n"
    assert conn.call("SELECT", "2") == b"+OK\r\n"
    for i in range(20):
        assert conn.call("SET", f"x{i}", "1", "EX", "1000") == b"+OK\r\n"
    assert conn.call("SELECT", "0") == b"+OK\r\n"


@pytest.mark.parametrize("proto", ["2", "3"])
def test_memory_stats_shape(pair, proto):
    for conn in (pair.ref, pair.tgt):
        _fill(conn)
    ref, ref_raw = _stats_tree(pair.ref, proto)
    tgt, tgt_raw = _stats_tree(pair.tgt, proto)
    shape = _shape if proto == "3" else _resp2_shape
    assert shape(tgt) == shape(ref), f"redis:\n{show(ref_raw)}\nsynod:\n{show(tgt_raw)}"
    d = _as_dict(tgt, proto)
    assert set(k for k in d if k.startswith("db.")) == {"db.0", "db.2"}
    assert d["keys.count"] == 320
    assert d["total.allocated"] == d["overhead.total"] + d["dataset.bytes"]
    assert d["peak.allocated"] >= d["total.allocated"] > d["startup.allocated"]
    assert d["db.0"]["overhead.hashtable.main"] > 0 and d["db.0"]["overhead.hashtable.expires"] == 0
    assert d["db.2"]["overhead.hashtable.expires"] > 0
    assert 0 < d["dataset.percentage"] <= 100


def test_memory_stats_follows_the_data(pair):
    conn = pair.tgt
    conn.call("HELLO", "3")
    before = _as_dict(_stats_tree(conn, "3")[0], "3")
    assert before["keys.count"] == 0 and not any(k.startswith("db.") for k in before)
    for i in range(2000):
        conn.call("SET", f"key:{i}", "x" * 100)
    mid = _as_dict(_stats_tree(conn, "3")[0], "3")
    assert mid["keys.count"] == 2000
    assert mid["total.allocated"] > before["total.allocated"] + 2000 * 100
    assert mid["keys.bytes-per-key"] >= 100
    conn.call("FLUSHALL")
    after = _as_dict(_stats_tree(conn, "3")[0], "3")
    assert after["keys.count"] == 0
    assert after["total.allocated"] < mid["total.allocated"]
    assert after["peak.allocated"] >= mid["total.allocated"]  # the peak stays


def test_memory_stats_arity(pair):
    for conn in (pair.ref, pair.tgt):
        conn.call("HELLO", "2")
    ref = pair.ref.call("MEMORY", "STATS", "x")
    tgt = pair.tgt.call("MEMORY", "STATS", "x")
    assert tgt == ref, f"{ref!r} vs {tgt!r}"


def test_info_memory_fields(pair):
    wanted = ("used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak",
              "used_memory_peak_human", "used_memory_startup", "used_memory_dataset",
              "mem_fragmentation_ratio", "maxmemory", "maxmemory_policy")  # fmt: skip
    for conn in (pair.ref, pair.tgt):
        body = parse(conn.call("INFO", "memory"))[1].decode()
        fields = dict(ln.split(":", 1) for ln in body.split("\r\n") if ":" in ln)
        missing = [f for f in wanted if f not in fields]
        assert not missing, f"{missing} missing from INFO memory"
        assert int(fields["used_memory_peak"]) >= int(fields["used_memory"])


def _usage(conn, key):
    t = parse(conn.call("MEMORY", "USAGE", key, "SAMPLES", "0"))
    assert t[0] == "int", t
    return t[1]


@pytest.mark.parametrize("kind,n", [("zset", 60), ("zset", 2000), ("stream", 50), ("stream", 2000),
                                    ("set", 2000), ("hash", 2000), ("list", 2000)])  # fmt: skip
def test_memory_usage_follows_the_value(pair, kind, n):
    """MEMORY USAGE of every type grows with its elements and stays within a small factor of
    Redis's own figure (another layout, the same order of magnitude)."""
    def fill(conn, key, count):
        for i in range(0, count, 100):
            chunk = range(i, min(count, i + 100))
            if kind == "zset":
                conn.call("ZADD", key, *[x for j in chunk for x in (str(j), f"member:{j}")])
            elif kind == "set":
                conn.call("SADD", key, *[f"member:{j}" for j in chunk])
            elif kind == "hash":
                conn.call("HSET", key, *[x for j in chunk for x in (f"f{j}", f"value:{j}")])
            elif kind == "list":
                conn.call("RPUSH", key, *[f"item:{j}" for j in chunk])
            else:
                for j in chunk:
                    conn.call("XADD", key, "*", "field", f"value:{j}")

    sizes = {}
    for name, conn in (("redis", pair.ref), ("synod", pair.tgt)):
        fill(conn, "small", 5)
        fill(conn, "big", n)
        sizes[name] = (_usage(conn, "small"), _usage(conn, "big"))
    (rs, rb), (ss, sb) = sizes["redis"], sizes["synod"]
    assert sb > ss, sizes
    assert sb - ss >= n * 8, f"{kind} of {n}: {sizes}"  # at least the element bytes
    assert rb / 4 <= sb <= rb * 4, f"{kind} of {n}: synod {sb} vs redis {rb}"
