"""Differential tests: OBJECT (ENCODING REFCOUNT FREQ IDLETIME HELP, errors), string encodings
after in-place edits, LFU counters, and CONFIG SET save, byte for byte against a real
redis-server 7.0 (IDLETIME by shape when time passes)."""

from .diff import PAIRS, SHAPE, TTL


def test_object(pair):
    for step in [
        ("SET", "i", "123"), ("OBJECT", "ENCODING", "i"), ("SET", "n", "-9223372036854775808"),
        ("OBJECT", "ENCODING", "n"), ("SET", "big", "12345678901234567890"),
        ("OBJECT", "ENCODING", "big"), ("SET", "s", "hello"), ("OBJECT", "ENCODING", "s"),
        ("SET", "l", "x" * 44), ("OBJECT", "ENCODING", "l"), ("SET", "l2", "x" * 45),
        ("OBJECT", "ENCODING", "l2"), ("APPEND", "s", "!"), ("OBJECT", "ENCODING", "s"),
        ("HSET", "h", "f", "v"), ("OBJECT", "ENCODING", "h"),
        ("HSET", "h", "big", "v" * 100), ("OBJECT", "ENCODING", "h"),
        ("RPUSH", "li", "a", "b"), ("OBJECT", "ENCODING", "li"),
        ("SADD", "si", "1", "2"), ("OBJECT", "ENCODING", "si"), ("SADD", "si", "x"),
        ("OBJECT", "ENCODING", "si"),
        ("OBJECT", "ENCODING", "nokey"), ("OBJECT", "REFCOUNT", "i"), ("OBJECT", "REFCOUNT", "s"),
        ("OBJECT", "REFCOUNT", "nokey"), ("OBJECT", "FREQ", "s"), SHAPE("OBJECT", "IDLETIME", "s"),
        ("OBJECT", "HELP"), ("OBJECT", "help"), ("OBJECT", "FOO"), ("OBJECT", "FOO", "k"),
        ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"), ("OBJECT",),
        ("OBJECT", "HELP", "x"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_string_encoding_after_edits(pair):
    """SETRANGE / APPEND on an existing key / SETBIT / BITFIELD leave a raw string even when it
    reads as an integer; SET, INCR and APPEND creating the key encode afresh."""
    for step in [
        ("SET", "k", "1234"), ("SETRANGE", "k", "0", "5"), ("OBJECT", "ENCODING", "k"),
        ("INCR", "k"), ("OBJECT", "ENCODING", "k"), ("SETRANGE", "new", "0", "77"),
        ("OBJECT", "ENCODING", "new"), ("APPEND", "a", "12"), ("OBJECT", "ENCODING", "a"),
        ("APPEND", "a", "3"), ("OBJECT", "ENCODING", "a"), ("SET", "a", "1"),
        ("OBJECT", "ENCODING", "a"), ("SETBIT", "b", "1", "1"), ("OBJECT", "ENCODING", "b"),
        ("SET", "b", "12"), ("SETBIT", "b", "0", "0"), ("OBJECT", "ENCODING", "b"),
        ("SET", "c", "abc"), ("BITFIELD", "c", "SET", "u8", "0", "97"),
        ("OBJECT", "ENCODING", "c"), ("SET", "e", "x"), ("SETRANGE", "e", "0", ""),
        ("OBJECT", "ENCODING", "e"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_string_encoding_of_replaced_values(pair):
    """A value a command stores whole is encoded afresh (embstr/int), whatever the key held
    before; INCRBYFLOAT keeps an integral result a string; RENAME, MOVE and COPY keep a raw
    string raw; the HyperLogLog commands make a raw string."""
    for step in [
        ("SET", "k", "x"), ("DECR", "k"), ("SET", "k", "-2"), ("GETSET", "k", "10.5"),
        ("OBJECT", "ENCODING", "k"), ("SET", "k", "x" * 40), ("SET", "k", "1.5"),
        ("OBJECT", "ENCODING", "k"), ("SET", "f", "1"), ("INCRBYFLOAT", "f", "1.5"),
        ("OBJECT", "ENCODING", "f"), ("INCRBYFLOAT", "f", "0.5"), ("OBJECT", "ENCODING", "f"),
        ("INCR", "f"), ("OBJECT", "ENCODING", "f"), ("SET", "r", "x"), ("APPEND", "r", "y"),
        ("RENAME", "r", "r2"), ("OBJECT", "ENCODING", "r2"), ("COPY", "r2", "r3"),
        ("OBJECT", "ENCODING", "r3"), ("MOVE", "r3", "1"), ("SELECT", "1"),
        ("OBJECT", "ENCODING", "r3"), ("SELECT", "0"), ("SET", "r2", "q", "KEEPTTL"),
        ("OBJECT", "ENCODING", "r2"), ("PFADD", "p", "a"), ("OBJECT", "ENCODING", "p"),
        ("COPY", "p", "p2"), ("OBJECT", "ENCODING", "p2"), ("SET", "s", "ab"),
        ("PSETEX", "s", "100000", "7"), ("OBJECT", "ENCODING", "s"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_access_clock_of_replaced_values(pair):
    """A value stored over a key's old one was accessed now (IDLETIME 0, not the age of a fresh
    allocation's clock); under LFU it keeps the old counter (Redis's dbOverwrite), RENAME keeps
    it, and a key last touched under LRU reads 0 once an LFU policy is set."""
    long = "x" * 90
    for step in [
        ("SET", "a", "1"), ("SET", "a", long), TTL(1, "OBJECT", "IDLETIME", "a"),
        ("RPUSH", "l", "a"), ("CONFIG", "SET", "lfu-log-factor", "0"),
        ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), ("OBJECT", "FREQ", "a"),
        ("OBJECT", "FREQ", "l"), ("GET", "a"), ("GET", "a"), ("GET", "a"), ("OBJECT", "FREQ", "a"),
        ("SET", "a", long + "y"), ("OBJECT", "FREQ", "a"), ("RENAME", "a", "b"),
        ("OBJECT", "FREQ", "b"), ("LPUSH", "l", "b"), ("OBJECT", "FREQ", "l"),
        ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
        ("CONFIG", "SET", "lfu-log-factor", "10"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_lfu_counters(pair):
    """lfu-log-factor 0: every access counts; a new key starts at 5; OBJECT IDLETIME refused
    under LFU (and meaningless right after switching back: LFU bits read as a clock)."""
    for step in [
        ("CONFIG", "SET", "lfu-log-factor", "0"), ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
        ("SET", "f", "v"), ("OBJECT", "FREQ", "f"), ("GET", "f"), ("GET", "f"), ("EXISTS", "f"),
        ("OBJECT", "FREQ", "f"), ("TOUCH", "f"), ("OBJECT", "FREQ", "f"), ("OBJECT", "IDLETIME", "f"),
        ("CONFIG", "SET", "maxmemory-policy", "foo"), ("CONFIG", "GET", "maxmemory-policy"),
        ("CONFIG", "SET", "maxmemory-policy", "noeviction"), ("CONFIG", "SET", "lfu-log-factor", "10"),
        SHAPE("OBJECT", "IDLETIME", "f"), ("OBJECT", "FREQ", "f"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_config_set_save(pair):
    for step in [
        ("CONFIG", "SET", "save", "900 1 300 10"), ("CONFIG", "GET", "save"),
        ("CONFIG", "SET", "save", "900"), ("CONFIG", "SET", "save", "a b"),
        ("CONFIG", "SET", "save", "-1 1"), ("CONFIG", "GET", "save"),
        ("CONFIG", "SET", "save", ""), ("CONFIG", "GET", "save"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_hash_listpack_limits(pair):
    for step in [
        ("CONFIG", "GET", "hash-max-listpack-entries"), ("CONFIG", "GET", "hash-max-ziplist-value"),
        ("CONFIG", "SET", "hash-max-ziplist-value", "10"), ("HSET", "h1", "f", "0123456789"),
        ("OBJECT", "ENCODING", "h1"), ("HSET", "h2", "f", "0123456789a"),
        ("OBJECT", "ENCODING", "h2"), ("CONFIG", "SET", "hash-max-listpack-entries", "2"),
        ("HSET", "h3", "a", "1", "b", "2"), ("OBJECT", "ENCODING", "h3"),
        ("HSET", "h3", "c", "3"), ("OBJECT", "ENCODING", "h3"),
        ("CONFIG", "GET", "hash-max-ziplist-entries"), ("CONFIG", "SET", "hash-max-listpack-value", "x"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "128"),
        ("CONFIG", "SET", "hash-max-listpack-value", "64"), PAIRS("CONFIG", "GET", "hash-max-*"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_hrandfield(pair, connect):
    """Replies that do not depend on the draw, byte for byte; the rest by shape and content."""
    for step in [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HRANDFIELD", "nokey"),
        ("HRANDFIELD", "nokey", "3"), ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "x"),
        ("HRANDFIELD", "h", "1", "foo"), ("HRANDFIELD", "h", "1", "withvalues", "x"),
        ("HRANDFIELD",), ("SET", "s", "v"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"),
        ("HRANDFIELD", "h", "-9223372036854775807", "withvalues"),
        ("HRANDFIELD", "h", "-9223372036854775808", "withvalues"),
        ("HRANDFIELD", "h", "-9223372036854775808"), ("PING",),
        SHAPE("HRANDFIELD", "h", "3"), SHAPE("HRANDFIELD", "h", "5"), SHAPE("HRANDFIELD", "h", "-5"),
        SHAPE("HRANDFIELD", "h", "2", "WITHVALUES"), SHAPE("HRANDFIELD", "h", "-4", "withvalues"),
        ("HSET", "one", "f", "v"), ("HRANDFIELD", "one"), ("HRANDFIELD", "one", "-2", "withvalues"),
        ("HRANDFIELD", "one", "5", "withvalues"), SHAPE("HELLO", "3"),
    ]:  # fmt: skip
        pair.step(step)
    for step in [
        ("HRANDFIELD", "one", "-2", "withvalues"), ("HRANDFIELD", "one", "1", "withvalues"),
        SHAPE("HRANDFIELD", "h", "3", "WITHVALUES"), ("HRANDFIELD", "one", "2"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_copy(pair):
    from .diff import TTL, U

    for step in [
        ("SET", "s", "v"), ("COPY", "s", "s2"), ("GET", "s2"), ("COPY", "s", "s2"),
        ("SET", "s", "v2"), ("COPY", "s", "s2", "REPLACE"), ("GET", "s2"), ("COPY", "s", "s"),
        ("COPY", "nokey", "x"), ("EXISTS", "x"), ("COPY", "s", "d0", "DB", "0"), ("GET", "d0"),
        ("COPY", "s", "d1", "DB", "1"), ("COPY", "s", "d1", "DB", "x"), ("COPY", "s", "d1", "FOO"),
        ("COPY", "s", "d1", "DB"), ("COPY", "s"), ("SET", "n", "12345"), ("COPY", "n", "n2"),
        ("OBJECT", "ENCODING", "n2"),
        ("HSET", "h", "a", "1", "b", "2"), ("COPY", "h", "h2"), PAIRS("HGETALL", "h2"),
        ("HSET", "h2", "c", "3"), ("HLEN", "h"), ("HLEN", "h2"),
        ("RPUSH", "l", "a", "b", "c"), ("COPY", "l", "l2"), ("LRANGE", "l2", "0", "-1"),
        ("LPOP", "l2"), ("LLEN", "l"), ("SADD", "st", "1", "2", "x"), ("COPY", "st", "st2"),
        U("SMEMBERS", "st2"), ("SADD", "si", "1", "2"), ("COPY", "si", "si2"),
        ("OBJECT", "ENCODING", "si2"), ("SET", "e", "v", "EX", "100"), ("COPY", "e", "e2"),
        TTL(2, "TTL", "e2"), ("COPY", "h", "s", "REPLACE"), ("TYPE", "s"), PAIRS("HGETALL", "s"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_memory_usage(pair):
    for step in [
        ("SET", "k", "v"), SHAPE("MEMORY", "USAGE", "k"), ("MEMORY", "USAGE", "nokey"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "x"), ("MEMORY", "USAGE", "k", "SAMPLES"),
        ("MEMORY", "USAGE", "k", "FOO", "1"), ("MEMORY", "USAGE"), ("MEMORY", "FOO"), ("MEMORY",),
        ("MEMORY", "HELP"), ("HSET", "h", "a", "1"), SHAPE("MEMORY", "USAGE", "h", "SAMPLES", "0"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()
    # plausible sizes: a 40,000-byte string costs a little more than 40,000 bytes
    big = "x" * 40000
    pair.both("SET", "big", big)
    from .resp_raw import parse

    ref, tgt = pair.both("MEMORY", "USAGE", "big")
    assert 40000 < parse(tgt)[1] < 42000, tgt


def test_function_and_script_flush(pair):
    """No scripting yet: the flushes are real (empty) operations, byte for byte as Redis."""
    for step in [
        ("FUNCTION", "FLUSH"), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "FLUSH", "sync"),
        ("FUNCTION", "FLUSH", "foo"), ("FUNCTION", "FLUSH", "a", "b"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "LIST", "foo"), ("FUNCTION", "FOO"),
        ("FUNCTION",), ("SCRIPT", "FLUSH"), ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "x"),
        ("SCRIPT", "FLUSH", "a", "b"), ("SCRIPT", "FOO"), ("SCRIPT",),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_randomkey(pair):
    for step in [("RANDOMKEY",), ("RANDOMKEY", "x"), ("SET", "only", "1"), ("RANDOMKEY",),
                 ("PEXPIRE", "only", "1")]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()
    import time as _t

    _t.sleep(0.05)
    pair.step(("RANDOMKEY",))  # the only key expired: nil on both
    for k in ("a", "b", "c"):
        pair.both("SET", k, "1")
    from .resp_raw import parse

    seen = set()
    for _ in range(300):
        _, tgt = pair.both("RANDOMKEY")
        seen.add(parse(tgt)[1])
    assert seen == {b"a", b"b", b"c"} or seen == {"a", "b", "c"}, seen
    pair.assert_clean()
