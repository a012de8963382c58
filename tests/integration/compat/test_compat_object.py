"""Differential tests: OBJECT (ENCODING REFCOUNT FREQ HELP, errors) and CONFIG SET save, byte for
byte against a real redis-server 7.0 (IDLETIME by shape: synod keeps no access clock yet)."""

from .diff import SHAPE


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
        ("OBJECT", "ENCODING", "nokey"), ("OBJECT", "REFCOUNT", "i"), ("OBJECT", "REFCOUNT", "s"),
        ("OBJECT", "REFCOUNT", "nokey"), ("OBJECT", "FREQ", "s"), SHAPE("OBJECT", "IDLETIME", "s"),
        ("OBJECT", "HELP"), ("OBJECT", "help"), ("OBJECT", "FOO"), ("OBJECT", "FOO", "k"),
        ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"), ("OBJECT",),
        ("OBJECT", "HELP", "x"),
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
