"""Differential tests: DUMP and RESTORE against a real redis-server 7.0.

- DUMP bytes: with `rdbcompression no` on the reference (synod never compresses), values held
  in the same encoding on both sides (strings, listpack hashes and sorted sets, intsets, single
  node lists, skiplist sorted sets) must DUMP to the same bytes, RESP2 and RESP3.
- Redis -> synod: every type and encoding DUMPed by redis-server (with its default LZF
  compression, so compressed strings and listpacks are read too) RESTOREs into synod with the
  same contents; synod -> Redis the same the other way.
- Streams: the same DUMP bytes for streams built alike, Redis's payload with groups, consumers
  and pending entries DUMPs back byte for byte from synod, payloads restore across both ways
  (Redis deep-checking synod's), Redis 5's legacy payload, refused malformed ones.
- RESTORE's errors and options byte for byte: bad TTL, BUSYKEY, version / checksum, bad data,
  IDLETIME / FREQ checks, REPLACE, ABSTTL in the past, the TTL it sets.
Payloads for the error cases are built here (crc64_jones below is an independent check of the
server's CRC).
"""

import struct

import pytest

from .diff import PAIRS, TTL, U, cases
from .resp_raw import parse


def crc64_jones(data):
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 reflected
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def payload(body, version=10):
    data = body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64_jones(data))


assert crc64_jones(b"123456789") == 0xE9C6D914C4B8D9CA

HELLO = payload(b"\x00\x05hello")  # RDB_TYPE_STRING "hello"
BAD_CRC = HELLO[:-1] + bytes([HELLO[-1] ^ 1])
V11 = payload(b"\x00\x05hello", version=11)
V9 = payload(b"\x00\x05hello", version=9)
TRUNC = payload(b"\x00\x30hello")  # length past the end (and past the footer)
EMPTY_LIST = payload(b"\x12\x00")  # quicklist 2 with no nodes
MODULE = payload(b"\x07\x00")
# A ziplist hash (RDB_TYPE_HASH_ZIPLIST, what Redis < 7 wrote): a=1 b=hello
_zl_entries = b"\x00\x01a" + b"\x03\xf2" + b"\x02\x01b" + b"\x02\x05hello"
_zl = struct.pack("<IIH", 10 + len(_zl_entries) + 1, 10 + len(_zl_entries) - 7, 4) + _zl_entries
_zl += b"\xff"
ZIPLIST_HASH = payload(b"\x0d" + bytes([len(_zl)]) + _zl)
# An old-style zset with string scores (RDB_TYPE_ZSET): a=1.5 b=inf
OLD_ZSET = payload(b"\x03\x02\x01a\x031.5\x01b\xfe")
# An intset with the 16-bit encoding: 1 2 3
INTSET = payload(b"\x0b\x0e" + struct.pack("<II", 2, 3) + struct.pack("<hhh", 1, 2, 3))
UNSORTED_INTSET = payload(b"\x0b\x0e" + struct.pack("<II", 2, 3) + struct.pack("<hhh", 3, 1, 2))


def bulk(raw):
    t = parse(raw)
    assert t[0] == "bulk" and t[1] is not None, raw[:200]
    return t[1]


# ---- DUMP bytes ----

DUMP_STEPS = [
    ("SET", "s1", "hello"), ("SET", "s2", "123"), ("SET", "s3", "-5"), ("SET", "s4", "70000"),
    ("SET", "s5", "3000000000"), ("SET", "s6", "12345678901"), ("SET", "s7", "0123"),
    ("SET", "s8", ""), ("SET", "s9", "x" * 100), ("SET", "s10", b"\x00\xff\r\n"),
    ("SET", "s11", "-2147483648"), ("SET", "s12", "2147483648"), ("SET", "s13", "x" * 20000),
    ("HSET", "h", "a", "1", "b", "hello", "c", "300000", "d", "-70000", "e", "x" * 60,
     "f", "9223372036854775807", "g", "-9223372036854775808", "h", "1" * 25),
    ("SADD", "i1", "1", "2", "3"), ("SADD", "i2", "1", "70000", "-5"),
    ("SADD", "i3", "1", "5000000000"), ("SADD", "i4", "1", "100000"), ("SREM", "i4", "100000"),
    ("ZADD", "z", "1", "a", "2.5", "b", "-3", "c", "inf", "d", "-inf", "e", "1e20", "f", "0.1",
     "g", "123456789012", "h", "-0", "i", "4611686018427387904", "j"),
    ("ZADD", "zs", "1", "m" * 70, "2", "b", "3", "123", "1.5", "c", "-inf", "d"),
    ("RPUSH", "l", "a", "b", "1", "2", "-100", "5000", "99999999999", "x" * 70, "y" * 3000),
    ("DUMP", "s1"), ("DUMP", "s2"), ("DUMP", "s3"), ("DUMP", "s4"), ("DUMP", "s5"),
    ("DUMP", "s6"), ("DUMP", "s7"), ("DUMP", "s8"), ("DUMP", "s9"), ("DUMP", "s10"),
    ("DUMP", "s11"), ("DUMP", "s12"), ("DUMP", "s13"), ("DUMP", "h"), ("DUMP", "i1"),
    ("DUMP", "i2"), ("DUMP", "i3"), ("DUMP", "i4"), ("DUMP", "z"), ("DUMP", "zs"), ("DUMP", "l"),
    ("DUMP", "nokey"), ("DUMP",), ("DUMP", "a", "b"),
]  # fmt: skip


@pytest.mark.parametrize("steps", cases([("bytes", DUMP_STEPS)]))
def test_dump_bytes(pair, steps, request):
    assert pair.ref.call("CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    try:
        pair.run(steps)
    finally:
        pair.ref.call("CONFIG", "SET", "rdbcompression", "yes")
    pair.assert_clean(request.node.name)


# ---- payloads across servers ----

def fill(conn):
    """Every type and encoding, small and large, on one server."""
    big = ["m%d" % i for i in range(1000)]
    cmds = [
        ("SET", "str", "hello"), ("SET", "int", "12345"), ("SET", "long", "ab" * 5000),
        ("SET", "bin", bytes(range(256)) * 3),
        ("HSET", "hlp", "f1", "v1", "f2", "22", "f3", "x" * 40),
        ("HSET", "hht", *[x for i in range(300) for x in ("f%d" % i, "v%d" % i)]),
        ("HSET", "hbig", "f", "v" * 500),
        ("SADD", "sis", "1", "2", "-3", "100000"), ("SADD", "sht", *big),
        ("ZADD", "zlp", "1", "a", "2.5", "b", "-inf", "c"),
        ("ZADD", "zsl", *[x for i in range(300) for x in (str(i * 0.5), "m%d" % i)]),
        ("RPUSH", "lsm", "a", "1", "b"), ("RPUSH", "lbig", *big), ("RPUSH", "lbig", *big),
        ("RPUSH", "lhuge", "z" * 20000, "q"),
    ]
    for c in cmds:
        r = conn.call(*c)
        assert not r.startswith(b"-"), (c[:2], r)


KEYS = ["str", "int", "long", "bin", "hlp", "hht", "hbig", "sis", "sht", "zlp", "zsl", "lsm",
        "lbig", "lhuge"]  # fmt: skip


def contents_steps(key):
    return [
        ("TYPE", key), ("GET", key) if key in ("str", "int", "long", "bin") else ("EXISTS", key),
        PAIRS("HGETALL", key) if key.startswith("h") else ("EXISTS", key),
        U("SMEMBERS", key) if key.startswith("s") and key not in ("str",) else ("EXISTS", key),
        ("ZRANGE", key, "0", "-1", "WITHSCORES") if key.startswith("z") else ("EXISTS", key),
        ("LRANGE", key, "0", "-1") if key.startswith("l") and key != "long" else ("EXISTS", key),
        ("OBJECT", "ENCODING", key),
    ]


@pytest.mark.parametrize("direction", ["redis-to-synod", "synod-to-redis"])
def test_restore_across(pair, direction):
    """DUMP on one side, RESTORE under a new name on both; the restored values must read the
    same on both sides (and as the original)."""
    src = pair.ref if direction == "redis-to-synod" else pair.tgt
    fill(pair.ref)
    fill(pair.tgt)
    for k in KEYS:
        p = bulk(src.call("DUMP", k))
        pair.step(("RESTORE", "r:" + k, "0", p))
        for s in contents_steps(k):
            pair.step(s)
        for s in contents_steps("r:" + k):
            pair.step(s)
        pair.step(("RESTORE", "r:" + k, "0", p))  # BUSYKEY
        pair.step(("RESTORE", "r:" + k, "0", p, "REPLACE"))
    pair.assert_clean(direction)


def test_restore_old_encodings(pair):
    """Payloads Redis 7.0 still reads but no longer writes, built by hand."""
    for step in [
        ("RESTORE", "zh", "0", ZIPLIST_HASH), PAIRS("HGETALL", "zh"), ("OBJECT", "ENCODING", "zh"),
        ("RESTORE", "oz", "0", OLD_ZSET), ("ZRANGE", "oz", "0", "-1", "WITHSCORES"),
        ("RESTORE", "is", "0", INTSET), ("SMEMBERS", "is"), ("OBJECT", "ENCODING", "is"),
        ("RESTORE", "us", "0", UNSORTED_INTSET), U("SMEMBERS", "us"), ("SCARD", "us"),
        ("RESTORE", "v9", "0", V9), ("GET", "v9"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


ERROR_STEPS = [
    ("SET", "k", "v"),
    ("RESTORE", "k", "0", HELLO), ("RESTORE", "n", "x", HELLO), ("RESTORE", "n", "-1", HELLO),
    ("RESTORE", "n", "0", BAD_CRC), ("RESTORE", "n", "0", V11), ("RESTORE", "n", "0", b"short"),
    ("RESTORE", "n", "0", TRUNC), ("RESTORE", "n", "0", EMPTY_LIST), ("RESTORE", "n", "0", MODULE),
    ("RESTORE", "n", "0", HELLO, "IDLETIME", "-1"), ("RESTORE", "n", "0", HELLO, "IDLETIME", "x"),
    ("RESTORE", "n", "0", HELLO, "FREQ", "256"), ("RESTORE", "n", "0", HELLO, "FREQ", "-1"),
    ("RESTORE", "n", "0", HELLO, "IDLETIME", "1", "FREQ", "1"),
    ("RESTORE", "n", "0", HELLO, "FREQ", "1", "IDLETIME", "1"),
    ("RESTORE", "n", "0", HELLO, "BOGUS"), ("RESTORE", "n", "0", HELLO, "IDLETIME"),
    ("RESTORE", "n", "0"), ("RESTORE", "k", "x", HELLO, "REPLACE"),
    ("RESTORE", "k", "0", HELLO, "REPLACE", "IDLETIME", "10"), ("GET", "k"),
    ("RESTORE", "k", "1000", HELLO, "REPLACE", "FREQ", "5"), TTL(2, "TTL", "k"),
    ("RESTORE", "k", "1", HELLO, "REPLACE", "ABSTTL"), ("EXISTS", "k"),
    ("RESTORE", "k", "4102444800000", HELLO, "ABSTTL"), ("PEXPIRETIME", "k"),
    ("RESTORE", "new", "1", HELLO, "absttl"), ("EXISTS", "new"),
    ("RESTORE", "k", "0", HELLO, "REPLACE", "REPLACE"), ("TTL", "k"),
    # RESTORE-ASKING: RESTORE under Redis Cluster's name
    ("RESTORE-ASKING", "k", "0", HELLO), ("RESTORE-ASKING", "ra", "0", HELLO), ("GET", "ra"),
    ("restore-asking", "ra", "0", BAD_CRC, "REPLACE"), ("RESTORE-ASKING", "ra", "x", HELLO),
    ("RESTORE-ASKING", "ra", "0"),
]  # fmt: skip


@pytest.mark.parametrize("steps", cases([("errors", ERROR_STEPS)]))
def test_restore_errors(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


def test_dump_packed_hash_big_values(pair):
    """With hash-max-ziplist-value 1000000000 a hash with 300-, 8191- and 65535-byte values stays
    a listpack on both sides (Redis's unit/type/hash "Hash ziplist of various encodings"): the
    same OBJECT ENCODING, fields in insertion order, the same DUMP bytes (12-bit and 32-bit
    listpack string lengths), and a RESTORE of either side's payload is a listpack again."""
    assert pair.ref.call("CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    pair.step(("CONFIG", "SET", "hash-max-ziplist-value", "1000000000"))
    try:
        for step in [
            ("HSET", "h", "a", "1", "m" * 300, "x" * 300, "b", "y" * 8191, "c", "z" * 65535),
            ("OBJECT", "ENCODING", "h"), ("HGETALL", "h"), ("HSET", "h", "m" * 300, "short"),
            ("HSET", "h", "a", "q" * 20000), ("HGETALL", "h"), ("HDEL", "h", "b"),
            ("HGETALL", "h"), ("HSTRLEN", "h", "c"), ("OBJECT", "ENCODING", "h"), ("DUMP", "h"),
        ]:  # fmt: skip
            pair.step(step)
        for src in (pair.ref, pair.tgt):
            p = bulk(src.call("DUMP", "h"))
            pair.step(("RESTORE", "r", "0", p, "REPLACE"))
            pair.step(("OBJECT", "ENCODING", "r"))
            pair.step(("HGETALL", "r"))
        pair.step(("CONFIG", "SET", "hash-max-ziplist-value", "64"))
        pair.step(("RESTORE", "r", "0", bulk(pair.tgt.call("DUMP", "h")), "REPLACE"))
        pair.step(("OBJECT", "ENCODING", "r"))
    finally:
        pair.both("CONFIG", "SET", "hash-max-ziplist-value", "64")
        pair.ref.call("CONFIG", "SET", "rdbcompression", "yes")
    pair.assert_clean()


# ---- streams ----

# Redis 7.0.15's unit/type/stream-cgroups "Loading from legacy (Redis <= v6.2.x, rdb_ver < 10)
# persistence": a Redis 5 stream (type 15, LZF listpack with tombstones) with two groups.
LEGACY_STREAM = bytes.fromhex(
    "0f011000000000000000010000000000000000c3404a40571657000000230002010401010184646174610500"
    "0103010020010381610204200a0001400a0062600a0002400a0063600a4022018164200a4039200a0065600a"
    "0005400a0066200a00ff02060002026731050004000000000000000100000000000000003ef783437a010000"
    "01000000000000000200000000000000003ef783437a01000001000000000000000400000000000000003ef7"
    "83437a01000001000000000000000500000000000000003ef783437a0100000101036331313ef783437a0100"
    "0004000000000000000100000000000000000000000000000002000000000000000000000000000000040000"
    "000000000000000000000000000500000000000000000267320000000009003d52ef6867521dfa"
)


def stream_steps(key, n, deletes=(), other_every=0):
    """XADDs with explicit ids (entries of other fields every other_every), XDELs, two groups,
    a consumer with nothing pending."""
    steps = []
    for i in range(1, n + 1):
        fields = ("other", "z", "n", str(-i)) if other_every and i % other_every == 0 else \
            ("f", str(i), "g", "v%d" % i)
        steps.append(("XADD", key, "%d-%d" % (i, i % 3), *fields))
    if deletes:
        steps.append(("XDEL", key, *deletes))
    steps += [("XGROUP", "CREATE", key, "g1", "0"),
              ("XGROUP", "CREATE", key, "g0", "$", "ENTRIESREAD", "3")]
    return steps  # fmt: skip


def read_steps(key):
    """What must read the same: entries, groups, consumers, pending entries (absolute times
    only: they come from the payload)."""
    return [
        ("XRANGE", key, "-", "+"), ("XLEN", key), ("XINFO", "GROUPS", key),
        ("XPENDING", key, "g1"), ("TYPE", key),
        ("XADD", key, "1000-1", "after", "restore"), ("XINFO", "GROUPS", key),
        ("XREADGROUP", "GROUP", "g1", "zed", "COUNT", "3", "STREAMS", key, ">"),
        ("XINFO", "GROUPS", key),
    ]  # fmt: skip


def full_info(conn, key):
    """XINFO STREAM FULL without radix-tree-nodes (synod's is an estimate) and without the
    entry added by read_steps."""
    t = parse(conn.call("XINFO", "STREAM", key, "FULL"))
    assert t[0] in ("array", "map"), t
    items = t[1] if t[0] == "map" else list(zip(t[1][0::2], t[1][1::2]))
    return [kv for kv in items if kv[0][1] != b"radix-tree-nodes"]


def test_dump_stream_bytes(pair):
    """A stream built by the same commands DUMPs to the same bytes (rdbcompression no): one and
    two nodes, entries of other fields than their node's master entry, groups with entries-read
    known and not. With pending entries and consumers (whose times differ between the servers),
    Redis's payload RESTOREd into synod DUMPs back to Redis's bytes."""
    assert pair.ref.call("CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    try:
        pair.run(stream_steps("s1", 5) + stream_steps("s2", 150, other_every=7) + [
            ("DUMP", "s1"), ("DUMP", "s2"), ("XADD", "s3", "5-5", "a", "1"), ("DEL", "s3"),
            ("XGROUP", "CREATE", "s4", "g", "$", "MKSTREAM"), ("DUMP", "s4"),
        ])  # fmt: skip
        pair.run([
            ("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s2", ">"),
            ("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s2", ">"),
            ("XGROUP", "CREATECONSUMER", "s2", "g1", "carol"),
            ("XCLAIM", "s2", "g1", "carol", "0", "2-2", "JUSTID"), ("XACK", "s2", "g1", "1-1"),
        ])  # fmt: skip
        p = bulk(pair.ref.call("DUMP", "s2"))
        assert pair.tgt.call("RESTORE", "r2", "0", p) == b"+OK\r\n"
        assert bulk(pair.tgt.call("DUMP", "r2")) == p
    finally:
        pair.ref.call("CONFIG", "SET", "rdbcompression", "yes")
    pair.assert_clean()


@pytest.mark.parametrize("direction", ["redis-to-synod", "synod-to-redis"])
def test_restore_stream_across(pair, direction):
    """A stream with deleted entries (in a node and at a node's end), two nodes, groups, pending
    entries over several consumers, DUMPed on one side, RESTOREs on both to the same stream:
    XINFO STREAM FULL (every field but radix-tree-nodes), XRANGE, XINFO GROUPS, XPENDING, and
    the next XADD and deliveries. Redis reads synod's payload with sanitize-dump-payload yes
    (deep checks of every listpack and of the PEL's owners)."""
    src = pair.ref if direction == "redis-to-synod" else pair.tgt
    steps = stream_steps("st", 130, deletes=("3-0", "100-1", "130-1", "50-2"), other_every=5)
    steps += [
        ("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "4", "STREAMS", "st", ">"),
        ("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "st", ">"),
        ("XGROUP", "CREATECONSUMER", "st", "g1", "carol"),
        ("XCLAIM", "st", "g1", "carol", "0", "2-2"), ("XACK", "st", "g1", "1-1"),
    ]  # fmt: skip
    for c in steps:
        for conn in (pair.ref, pair.tgt):
            conn.call(*c)
    p = bulk(src.call("DUMP", "st"))
    assert p[0] == 19  # RDB_TYPE_STREAM_LISTPACKS_2
    pair.ref.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        pair.step(("RESTORE", "r", "0", p))
    finally:
        pair.ref.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    assert full_info(pair.ref, "r") == full_info(pair.tgt, "r")
    pair.run(read_steps("r"))
    pair.step(("RESTORE", "r", "0", p))  # BUSYKEY
    pair.step(("RESTORE", "r", "0", p, "REPLACE"))
    pair.step(("XLEN", "r"))
    pair.assert_clean(direction)


def test_restore_stream_legacy_and_bad(pair):
    """Redis 5's payload from Redis's own suite reads the same (entries-read and lag of both
    groups), and a stream payload with a pending entry no consumer owns, or a stream length that
    disagrees with its entries, is refused by both with the same error."""
    pair.run([
        ("RESTORE", "x", "0", LEGACY_STREAM), ("XRANGE", "x", "-", "+"), ("XINFO", "GROUPS", "x"),
        ("XPENDING", "x", "g1"),  # idle times (clock) left out: full_info has the absolute ones
    ])  # fmt: skip
    assert full_info(pair.ref, "x") == full_info(pair.tgt, "x")
    r = pair.ref
    r.call("XADD", "good", "1-1", "a", "1")
    r.call("XGROUP", "CREATE", "good", "g", "0")
    r.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "good", ">")
    assert r.call("CONFIG", "SET", "rdbcompression", "no") == b"+OK\r\n"
    try:
        body = bulk(r.call("DUMP", "good"))[:-10]
    finally:
        r.call("CONFIG", "SET", "rdbcompression", "yes")
    # the consumer's PEL (the last 17 bytes: count 1, one raw id) emptied: an orphan entry
    orphan = payload(body[:-17] + b"\x00")
    # stream length 2 (the byte after the listpack: the body's node has one 1-entry listpack)
    lp_end = body.index(b"\xff", 21)
    assert body[lp_end + 1] == 1
    bad_len = payload(body[: lp_end + 1] + b"\x02" + body[lp_end + 2 :])
    pair.ref.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        pair.run([("RESTORE", "o", "0", orphan), ("EXISTS", "o")])
    finally:
        pair.ref.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    assert pair.tgt.call("RESTORE", "b", "0", bad_len) == b"-ERR Bad data format\r\n"
    pair.assert_clean()
