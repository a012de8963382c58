"""Differential tests: bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO),
raw RESP replies of redis-server 7.0 vs synod, byte for byte, in RESP2 and RESP3."""

import pytest

from .diff import Mismatch, TTL, cases, show
from .resp_raw import parse

OFF_ERR_MAX = str(512 * 1024 * 1024 * 8)  # first bit offset past proto-max-bulk-len
MB = 1024 * 1024

CASES = [
    ("setbit_getbit", [
        ("SETBIT", "b", "7", "1"), ("GET", "b"), ("GETBIT", "b", "7"), ("GETBIT", "b", "6"),
        ("SETBIT", "b", "7", "0"), ("GET", "b"), ("SETBIT", "b", "100", "1"), ("GET", "b"),
        ("STRLEN", "b"), ("GETBIT", "b", "100"), ("GETBIT", "b", "1000000"),
        ("GETBIT", "none", "0"), ("GETBIT", "none", "99999"), ("SETBIT", "b", "0", "1"),
        ("SETBIT", "b", "0", "1"), ("GET", "b"), ("SET", "s", "abc"), ("SETBIT", "s", "30", "1"),
        ("GET", "s"), ("SETBIT", "s", "40", "1"), ("GET", "s"), ("TYPE", "b"),
        ("SET", "n", "12"), ("SETBIT", "n", "15", "0"), ("GET", "n"), ("INCR", "n"),
    ]),
    ("setbit_getbit_errors", [
        ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "x", "1"), ("SETBIT", "b", "1.5", "1"),
        ("SETBIT", "b", "0", "2"), ("SETBIT", "b", "0", "-1"), ("SETBIT", "b", "0", "x"),
        ("SETBIT", "b", "0", ""), ("SETBIT", "b", "", "1"), ("SETBIT", "b", OFF_ERR_MAX, "1"),
        ("SETBIT", "b", "99999999999999999999", "1"), ("SETBIT", "b", "#1", "1"),
        ("SETBIT", "b", " 1", "1"), ("SETBIT", "b", "01", "1"), ("EXISTS", "b"),
        ("GETBIT", "b", "-1"), ("GETBIT", "b", "x"), ("GETBIT", "b", OFF_ERR_MAX),
        ("GETBIT", "b", "#1"), ("SETBIT", "b", "1"), ("SETBIT", "b", "1", "1", "1"), ("SETBIT",),
        ("GETBIT", "b"), ("GETBIT", "b", "1", "2"),
        ("HSET", "h", "f", "v"), ("SETBIT", "h", "0", "1"), ("GETBIT", "h", "0"),
        ("SETBIT", "h", "-1", "1"), ("SETBIT", "h", "0", "5"), ("GETBIT", "h", "x"),
    ]),
    ("setbit_keeps_ttl", [
        ("SET", "k", "v", "EX", "1000"), ("SETBIT", "k", "100", "1"), TTL(1, "TTL", "k"),
        ("GET", "k"),
    ]),
    ("bitcount", [
        ("BITCOUNT", "none"), ("SET", "s", "foobar"), ("BITCOUNT", "s"),
        ("BITCOUNT", "s", "0", "0"), ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "1", "-1"),
        ("BITCOUNT", "s", "-2", "-1"), ("BITCOUNT", "s", "-1", "-2"), ("BITCOUNT", "s", "3", "1"),
        ("BITCOUNT", "s", "-100", "100"), ("BITCOUNT", "s", "100", "200"),
        ("BITCOUNT", "s", "0", "-100"), ("BITCOUNT", "s", "5", "5"), ("BITCOUNT", "s", "6", "6"),
        ("BITCOUNT", "s", "1", "1", "BYTE"), ("BITCOUNT", "s", "5", "30", "BIT"),
        ("BITCOUNT", "s", "5", "30", "bit"), ("BITCOUNT", "s", "0", "0", "BIT"),
        ("BITCOUNT", "s", "1", "6", "BIT"), ("BITCOUNT", "s", "-7", "-1", "BIT"),
        ("BITCOUNT", "s", "-1", "-7", "BIT"), ("BITCOUNT", "s", "9", "14", "BIT"),
        ("BITCOUNT", "s", "0", "1000", "BIT"), ("BITCOUNT", "s", "47", "47", "BIT"),
        ("BITCOUNT", "s", "48", "100", "BIT"), ("BITCOUNT", "s", "-100", "-90", "BIT"),
        ("SET", "e", ""), ("BITCOUNT", "e"), ("BITCOUNT", "e", "0", "-1"),
        ("BITCOUNT", "e", "0", "-1", "BIT"), ("SET", "l", "x" * 1000), ("BITCOUNT", "l"),
        ("BITCOUNT", "l", "3", "997"), ("BITCOUNT", "l", "3", "7997", "BIT"),
        ("SET", "n", "-12345"), ("BITCOUNT", "n"),
    ]),
    ("bitcount_errors", [
        ("SET", "s", "foobar"), ("BITCOUNT", "s", "0"), ("BITCOUNT", "s", "0", "1", "BIT", "x"),
        ("BITCOUNT", "s", "0", "1", "FOO"), ("BITCOUNT", "s", "x", "1"), ("BITCOUNT", "s", "0", "x"),
        ("BITCOUNT", "s", "-1", "-2", "FOO"), ("BITCOUNT", "s", "x", "y", "FOO"),
        ("BITCOUNT", "none", "0"), ("BITCOUNT", "none", "x", "y"),
        ("BITCOUNT", "none", "0", "1", "FOO"), ("BITCOUNT", "none", "1", "2", "3", "4"),
        ("BITCOUNT",), ("HSET", "h", "f", "v"), ("BITCOUNT", "h"), ("BITCOUNT", "h", "x"),
        ("BITCOUNT", "s", "9223372036854775807", "-9223372036854775808"),
        ("BITCOUNT", "s", "-9223372036854775808", "9223372036854775807", "BIT"),
    ]),
    ("bitpos", [
        ("BITPOS", "none", "1"), ("BITPOS", "none", "0"), ("BITPOS", "none", "1", "5", "10"),
        ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1"),
        ("BITPOS", "s", "0", "2"), ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "1", "1"),
        ("BITPOS", "s", "0", "0", "0"), ("BITPOS", "s", "1", "-1"), ("BITPOS", "s", "0", "-3", "-2"),
        ("BITPOS", "s", "1", "3"), ("BITPOS", "s", "0", "3"), ("BITPOS", "s", "1", "7", "15", "BIT"),
        ("BITPOS", "s", "0", "7", "15", "BIT"), ("BITPOS", "s", "0", "0", "11", "BIT"),
        ("BITPOS", "s", "1", "12", "23", "BIT"), ("BITPOS", "s", "0", "3", "5", "bit"),
        ("BITPOS", "s", "1", "-5", "-1", "BIT"), ("BITPOS", "s", "0", "1", "1", "BYTE"),
        ("SET", "f", b"\xff\xff\xff"), ("BITPOS", "f", "0"), ("BITPOS", "f", "0", "1"),
        ("BITPOS", "f", "0", "0", "-1"), ("BITPOS", "f", "0", "0", "23", "BIT"),
        ("BITPOS", "f", "0", "2", "1"), ("BITPOS", "f", "1", "2", "1"),
        ("SET", "z", b"\x00\x00\x00"), ("BITPOS", "z", "1"), ("BITPOS", "z", "0"),
        ("BITPOS", "z", "1", "0", "-1"), ("BITPOS", "z", "1", "0", "20", "BIT"),
        ("SET", "e", ""), ("BITPOS", "e", "0"), ("BITPOS", "e", "1"), ("BITPOS", "e", "0", "0"),
        ("BITPOS", "e", "0", "0", "-1"), ("SET", "l", b"\x00" * 300 + b"\x01" + b"\xff" * 20),
        ("BITPOS", "l", "1"), ("BITPOS", "l", "1", "10"), ("BITPOS", "l", "0", "300"),
        ("BITPOS", "l", "0", "301"), ("BITPOS", "l", "0", "301", "-1"),
        ("BITPOS", "l", "1", "2401", "2408", "BIT"), ("BITPOS", "l", "1", "100", "2407", "BIT"),
    ]),
    ("bitpos_errors", [
        ("SET", "s", "ab"), ("BITPOS", "s", "2"), ("BITPOS", "s", "-1"), ("BITPOS", "s", "x"),
        ("BITPOS", "none", "2"), ("BITPOS", "none", "x"), ("BITPOS", "none", "1", "x"),
        ("BITPOS", "s", "1", "x"), ("BITPOS", "s", "1", "0", "x"), ("BITPOS", "s", "1", "0", "1", "FOO"),
        ("BITPOS", "s", "1", "x", "1", "FOO"), ("BITPOS", "s", "1", "0", "x", "FOO"),
        ("BITPOS", "s", "1", "0", "x", "BIT"), ("BITPOS", "s", "1", "0", "1", "BIT", "x"),
        ("BITPOS", "s"), ("BITPOS",), ("HSET", "h", "f", "v"), ("BITPOS", "h", "1"),
        ("BITPOS", "h", "2"), ("BITPOS", "h", "1", "x"),
    ]),
    ("bitop", [
        ("SET", "a", b"\x0f\xf0\xaa"), ("SET", "b", b"\xff\x01"), ("SET", "c", "z"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "OR", "d", "a", "b"), ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "b", "c"), ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("BITOP", "and", "d", "a", "none"), ("GET", "d"), ("BITOP", "or", "d", "none", "b"),
        ("GET", "d"), ("BITOP", "xor", "d", "a"), ("GET", "d"), ("BITOP", "not", "d", "none"),
        ("EXISTS", "d"), ("SET", "d", "x"), ("BITOP", "AND", "d", "none", "none2"), ("EXISTS", "d"),
        ("BITOP", "AND", "none", "none", "none2"), ("EXISTS", "none"),
        ("BITOP", "OR", "a", "a", "b"), ("GET", "a"), ("BITOP", "NOT", "b", "b"), ("GET", "b"),
        ("SET", "t", "v", "EX", "1000"), ("BITOP", "OR", "t", "c"), ("TTL", "t"), ("GET", "t"),
        ("HSET", "h", "f", "v"), ("BITOP", "OR", "h", "c"), ("TYPE", "h"), ("GET", "h"),
        ("SET", "e", ""), ("BITOP", "OR", "d", "e"), ("EXISTS", "d"), ("BITOP", "NOT", "d", "e"),
        ("SET", "n", "7"), ("BITOP", "AND", "d", "n", "c"), ("GET", "d"),
        ("SET", "big", "q" * 5000), ("BITOP", "XOR", "d", "big", "a", "c"), ("GET", "d"),
    ]),
    ("bitop_errors", [
        ("SET", "a", "x"), ("BITOP", "FOO", "d", "a"), ("BITOP", "NOT", "d", "a", "b"),
        ("BITOP", "NOT", "d", "a", "a"), ("BITOP", "AND", "d"), ("BITOP", "AND"), ("BITOP",),
        ("HSET", "h", "f", "v"), ("BITOP", "AND", "d", "a", "h"), ("BITOP", "OR", "d", "h", "none"),
        ("BITOP", "NOT", "d", "h"), ("BITOP", "NOT", "d", "h", "x"), ("BITOP", "FOO", "d", "h"),
        ("EXISTS", "d"), ("BITOP", "ANDX", "d", "a"), ("BITOP", "", "d", "a"),
    ]),
    ("bitfield_get_set", [
        ("BITFIELD", "b", "SET", "u8", "0", "255"), ("GET", "b"), ("BITFIELD", "b", "GET", "u8", "0"),
        ("BITFIELD", "b", "GET", "i8", "0"), ("BITFIELD", "b", "GET", "u4", "4"),
        ("BITFIELD", "b", "GET", "i4", "4"), ("BITFIELD", "b", "GET", "u63", "0"),
        ("BITFIELD", "b", "GET", "i64", "0"), ("BITFIELD", "b", "GET", "u1", "1000"),
        ("BITFIELD", "b", "SET", "i5", "3", "-3", "GET", "u8", "0", "SET", "u2", "#1", "3"),
        ("GET", "b"), ("BITFIELD", "b", "SET", "u8", "#2", "65", "GET", "u8", "#2"), ("GET", "b"),
        ("BITFIELD", "b", "SET", "i64", "5", "-9223372036854775808"), ("GET", "b"),
        ("BITFIELD", "b", "GET", "i64", "5", "GET", "u63", "5", "GET", "u63", "6"),
        ("BITFIELD", "b", "SET", "i64", "#3", "9223372036854775807"), ("STRLEN", "b"),
        ("BITFIELD", "b", "GET", "i64", "#3", "GET", "i64", "#4", "GET", "u16", "#20"),
        ("BITFIELD", "n", "GET", "u8", "0", "GET", "i16", "100"), ("EXISTS", "n"),
        ("BITFIELD", "n"), ("EXISTS", "n"), ("BITFIELD", "b"), ("BITFIELD", "c", "set", "U3", "2", "5"),
        ("GET", "c"), ("BITFIELD", "c", "get", "I3", "2"),
    ]),
    ("bitfield_overflow", [
        ("BITFIELD", "b", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("BITFIELD", "b", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("BITFIELD", "b", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("BITFIELD", "b", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1", "GET", "u2", "102"),
        ("BITFIELD", "b", "OVERFLOW", "fail", "INCRBY", "u2", "102", "-4", "INCRBY", "u2", "102", "-3"),
        ("BITFIELD", "s", "INCRBY", "i8", "0", "127", "INCRBY", "i8", "0", "1"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "200", "INCRBY", "i8", "0", "-300"),
        ("BITFIELD", "s", "OVERFLOW", "WRAP", "INCRBY", "i8", "0", "-1000", "INCRBY", "i8", "0", "1000"),
        ("BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200", "SET", "i8", "0", "128",
         "SET", "i8", "0", "-129", "SET", "i8", "0", "-128"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", "128", "SET", "i8", "0", "-129",
         "SET", "u8", "0", "-1", "SET", "u8", "0", "256"),
        ("BITFIELD", "s", "OVERFLOW", "WRAP", "SET", "i8", "0", "128", "SET", "i8", "0", "-129",
         "SET", "u8", "0", "-1", "SET", "u8", "0", "256", "SET", "u8", "0", "-9223372036854775808"),
        ("BITFIELD", "s", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1",
         "OVERFLOW", "SAT", "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", "-9223372036854775808",
         "INCRBY", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1",
         "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-1", "GET", "i64", "0"),
        ("BITFIELD", "s", "SET", "u63", "0", "9223372036854775807", "INCRBY", "u63", "0", "1",
         "OVERFLOW", "SAT", "INCRBY", "u63", "0", "-1", "INCRBY", "u63", "0", "9223372036854775807",
         "INCRBY", "u63", "0", "-9223372036854775808", "OVERFLOW", "WRAP",
         "INCRBY", "u63", "0", "-9223372036854775808", "INCRBY", "u63", "0", "-1"),
        ("BITFIELD", "s", "SET", "i1", "70", "1", "SET", "i1", "70", "-1", "GET", "i1", "70",
         "INCRBY", "i1", "70", "1", "OVERFLOW", "SAT", "INCRBY", "i1", "70", "5", "GET", "u1", "70"),
        ("GET", "s"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "100", "9"), ("GET", "f"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "300", "9"), ("STRLEN", "f"),
    ]),
    ("bitfield_errors", [
        ("BITFIELD", "b", "GET", "u64", "0"), ("BITFIELD", "b", "GET", "i65", "0"),
        ("BITFIELD", "b", "GET", "u0", "0"), ("BITFIELD", "b", "GET", "x8", "0"),
        ("BITFIELD", "b", "GET", "u", "0"), ("BITFIELD", "b", "GET", "", "0"),
        ("BITFIELD", "b", "GET", "i-1", "0"), ("BITFIELD", "b", "GET", "u08", "0"),
        ("BITFIELD", "b", "GET", "u8", "-1"), ("BITFIELD", "b", "GET", "u8", "#-1"),
        ("BITFIELD", "b", "GET", "u8", "#"), ("BITFIELD", "b", "GET", "u8", "x"),
        ("BITFIELD", "b", "GET", "u8", OFF_ERR_MAX), ("BITFIELD", "b", "GET", "u8", "#536870912"),
        ("BITFIELD", "b", "GET", "u8", "#536870911"), ("BITFIELD", "b", "GET", "u8"),
        ("BITFIELD", "b", "SET", "u8", "0"), ("BITFIELD", "b", "SET", "u8", "0", "x"),
        ("BITFIELD", "b", "INCRBY", "u8", "0", "1.5"), ("BITFIELD", "b", "OVERFLOW", "FOO"),
        ("BITFIELD", "b", "OVERFLOW"), ("BITFIELD", "b", "FOO"), ("BITFIELD", "b", "GET"),
        ("BITFIELD", "b", "SET", "u8", "0", "1", "FOO"), ("EXISTS", "b"),
        ("BITFIELD", "b", "GET", "u8", "0", "OVERFLOW", "SAT"), ("EXISTS", "b"), ("BITFIELD",),
        ("BITFIELD", "b", "SET", "i8", "#1152921504606846976", "1"),
        ("HSET", "h", "f", "v"), ("BITFIELD", "h", "GET", "u8", "0"), ("BITFIELD", "h"),
        ("BITFIELD", "h", "SET", "u8", "0", "1"), ("BITFIELD", "h", "GET", "u64", "0"),
        ("BITFIELD_RO", "h", "GET", "u8", "0"),
    ]),
    ("bitfield_ro", [
        ("SET", "s", "hello"), ("BITFIELD_RO", "s", "GET", "u8", "0", "GET", "i16", "#1"),
        ("BITFIELD_RO", "none", "GET", "u8", "0"), ("BITFIELD_RO", "s"),
        ("BITFIELD_RO", "s", "OVERFLOW", "SAT", "GET", "u8", "8"),
        ("BITFIELD_RO", "s", "SET", "u8", "0", "1"), ("BITFIELD_RO", "s", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "s", "GET", "u8", "0", "SET", "u8", "0", "x"),
        ("BITFIELD_RO", "s", "GET", "u64", "0", "SET", "u8", "0", "1"), ("GET", "s"),
        ("BITFIELD_RO", "s", "FOO"), ("BITFIELD_RO",),
    ]),
    ("proto_max_bulk_len", [
        ("CONFIG", "SET", "proto-max-bulk-len", str(MB)),
        ("SETBIT", "b", str(MB * 8), "1"), ("SETBIT", "b", str(MB * 8 - 1), "1"), ("STRLEN", "b"),
        ("GETBIT", "b", str(MB * 8)), ("GETBIT", "b", str(MB * 8 - 1)), ("BITCOUNT", "b"),
        ("BITPOS", "b", "1"), ("BITFIELD", "b", "GET", "u8", str(MB * 8)),
        ("BITFIELD", "c", "SET", "u16", str(MB * 8 - 8), "65535"), ("STRLEN", "c"),
        ("BITFIELD", "c", "GET", "u16", str(MB * 8 - 8)),
        ("BITFIELD", "c", "SET", "u8", "#" + str(MB), "1"),
        ("CONFIG", "SET", "proto-max-bulk-len", str(512 * MB)),
    ]),
    ("keys_commands_on_bitmaps", [
        ("SETBIT", "b", "3", "1"), ("TYPE", "b"), ("OBJECT", "ENCODING", "b"),
        ("APPEND", "b", "x"), ("BITCOUNT", "b"), ("SETRANGE", "b", "5", "y"), ("BITCOUNT", "b"),
        ("RENAME", "b", "c"), ("GETBIT", "c", "3"), ("COPY", "c", "d"), ("BITCOUNT", "d"),
        ("MULTI",), ("SETBIT", "m", "1", "1"), ("BITCOUNT", "m"), ("BITFIELD", "m", "GET", "u2", "0"),
        ("BITOP", "NOT", "m2", "m"), ("GET", "m2"), ("EXEC",),
    ]),
]

XFAIL = {
}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_bitops(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


BIT_COMMANDS = "SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO".split()


def test_bitops_command_info(pair):
    """COMMAND INFO of every bitmap command: name, arity, key positions exact, flags as a set."""
    for name in BIT_COMMANDS:
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
