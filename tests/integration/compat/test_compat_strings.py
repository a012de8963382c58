"""Differential tests: string commands, raw RESP replies of redis-server 7.0 vs synod."""

import pytest

from .diff import TTL, cases

FUT = "4102444800"  # 2100-01-01 in seconds: far-future absolute expiries compare exactly
FUT_MS = FUT + "000"
MAX512 = str(512 * 1024 * 1024)  # proto-max-bulk-len: largest string size

CASES = [
    ("get_set_basic", [
        ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", ""), ("GET", "k"),
        ("SET", "k", "x" * 1000), ("GET", "k"), ("SET", "k", b"\x00\xff\r\n"), ("GET", "k"),
        ("SET", "k", "123"), ("GET", "k"), ("SET", "big", "x" * 1000000), ("GET", "big"),
        ("STRLEN", "big"), ("APPEND", "big", "y" * 100000), ("GETRANGE", "big", "999990", "1000010"),
    ]),
    ("set_arity", [("SET",), ("SET", "k"), ("GET",), ("GET", "a", "b")]),
    ("set_ex_px", [
        ("SET", "k", "v", "EX", "1000"), TTL(1, "TTL", "k"), TTL(500, "PTTL", "k"),
        ("SET", "k", "v", "PX", "1000000"), TTL(1, "TTL", "k"),
        ("SET", "k", "v", "ex", "1000"), TTL(1, "TTL", "k"),
        ("SET", "k", "v"), ("TTL", "k"),
    ]),
    ("set_exat_pxat", [
        ("SET", "k", "v", "EXAT", FUT), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", FUT_MS + "123"), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
        ("SET", "k", "v", "EXAT", "1"), ("GET", "k"), ("EXISTS", "k"),
        ("SET", "k", "v", "PXAT", "1"), ("GET", "k"),
        ("SET", "k", "v"), ("GETEX", "k", "EXAT", "1"), ("DBSIZE",),
        ("SET", "k", "v"), ("GETEX", "k", "PXAT", "1"), ("DBSIZE",),
    ]),
    ("set_bad_expire", [
        ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "EX", "-1"), ("SET", "k", "v", "PX", "0"),
        ("SET", "k", "v", "PX", "-5"), ("SET", "k", "v", "EXAT", "0"), ("SET", "k", "v", "PXAT", "-1"),
        ("SET", "k", "v", "EX", "abc"), ("SET", "k", "v", "EX", "1.5"), ("SET", "k", "v", "EX", ""),
        ("SET", "k", "v", "EX", "9223372036854775807"), ("SET", "k", "v", "PX", "9223372036854775807"),
        ("SET", "k", "v", "EX", "99999999999999999999"),
        ("SET", "k", "v", "EXAT", "9223372036854775807"),
        ("SET", "k", "v", "EX"), ("SET", "k", "v", "PX"), ("EXISTS", "k"),
    ]),
    ("set_nx_xx", [
        ("SET", "k", "v", "XX"), ("GET", "k"), ("SET", "k", "v", "NX"), ("GET", "k"),
        ("SET", "k", "w", "NX"), ("GET", "k"), ("SET", "k", "w", "XX"), ("GET", "k"),
        ("SET", "k", "z", "nx"), ("SET", "k", "z", "xx"),
    ]),
    ("set_bad_combinations", [
        ("SET", "k", "v", "NX", "XX"), ("SET", "k", "v", "XX", "NX"),
        ("SET", "k", "v", "EX", "10", "PX", "100"), ("SET", "k", "v", "EX", "10", "EX", "10"),
        ("SET", "k", "v", "KEEPTTL", "EX", "10"), ("SET", "k", "v", "PX", "10", "KEEPTTL"),
        ("SET", "k", "v", "EXAT", "10", "PXAT", "10"), ("SET", "k", "v", "FOO"),
        ("SET", "k", "v", "GET", "GET"), ("SET", "k", "v", "NX", "NX"),
        ("SET", "k", "v", "KEEPTTL", "KEEPTTL"), ("EXISTS", "k"),
    ]),
    ("set_keepttl", [
        ("SET", "k", "v", "EX", "1000"), ("SET", "k", "w", "KEEPTTL"), TTL(1, "TTL", "k"),
        ("GET", "k"), ("SET", "k", "x"), ("TTL", "k"), ("SET", "n", "v", "KEEPTTL"), ("TTL", "n"),
    ]),
    ("set_get_option", [
        ("SET", "k", "v", "GET"), ("SET", "k", "w", "GET"), ("GET", "k"),
        ("SET", "k", "x", "NX", "GET"), ("GET", "k"), ("SET", "m", "x", "XX", "GET"), ("EXISTS", "m"),
        ("SET", "k", "y", "XX", "GET", "EX", "1000"), TTL(1, "TTL", "k"),
        ("HSET", "h", "f", "v"), ("SET", "h", "v", "GET"), ("TYPE", "h"),
    ]),
    ("setnx_setex_psetex", [
        ("SETNX", "k", "v"), ("SETNX", "k", "w"), ("GET", "k"), ("SETNX", "k"),
        ("SETEX", "k", "1000", "v"), TTL(1, "TTL", "k"), ("SETEX", "k", "0", "v"),
        ("SETEX", "k", "-1", "v"), ("SETEX", "k", "abc", "v"), ("SETEX", "k", "10"),
        ("PSETEX", "k", "1000000", "v"), TTL(500, "PTTL", "k"), ("PSETEX", "k", "0", "v"),
        ("PSETEX", "k", "x", "v"), ("PSETEX", "k"),
        ("SETEX", "k", "9223372036854775807", "v"), ("PSETEX", "k", "9223372036854775807", "v"),
        ("HSET", "h", "f", "v"), ("SETNX", "h", "v"), ("SETEX", "h", "100", "v"), ("TYPE", "h"),
    ]),
    ("getset_getdel", [
        ("GETSET", "k", "v"), ("GETSET", "k", "w"), ("GET", "k"),
        ("SET", "t", "v", "EX", "1000"), ("GETSET", "t", "w"), ("TTL", "t"),
        ("GETDEL", "k"), ("GETDEL", "k"), ("EXISTS", "k"), ("GETSET", "k"), ("GETDEL",),
        ("GETDEL", "a", "b"), ("HSET", "h", "f", "v"), ("GETSET", "h", "v"), ("GETDEL", "h"),
    ]),
    ("getex", [
        ("GETEX", "k"), ("SET", "k", "v"), ("GETEX", "k"), ("GETEX", "k", "EX", "1000"),
        TTL(1, "TTL", "k"), ("GETEX", "k", "PERSIST"), ("TTL", "k"),
        ("GETEX", "k", "PX", "1000000"), TTL(500, "PTTL", "k"), ("GETEX", "k", "EXAT", FUT),
        ("EXPIRETIME", "k"), ("GETEX", "k", "PXAT", FUT_MS), ("PEXPIRETIME", "k"),
        ("GETEX", "k", "EX", "0"), ("GETEX", "k", "EX", "-1"), ("GETEX", "k", "EX", "abc"),
        ("GETEX", "k", "EX"), ("GETEX", "k", "EX", "10", "PX", "10"),
        ("GETEX", "k", "EX", "10", "PERSIST"), ("GETEX", "k", "PERSIST", "EX", "10"),
        ("GETEX", "k", "FOO"), ("GETEX", "k", "KEEPTTL"), ("GETEX", "missing", "EX", "0"),
        ("GETEX", "k", "EX", "9223372036854775807"), ("GETEX",),
        ("GETEX", "k", "PXAT", "1"), ("EXISTS", "k"),
        ("HSET", "h", "f", "v"), ("GETEX", "h"), ("GETEX", "h", "PERSIST"),
    ]),
    ("mget_mset_msetnx", [
        ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c"), ("MGET", "c"),
        ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSET",), ("MGET",),
        ("MSETNX", "a", "9", "z", "9"), ("MGET", "a", "z"), ("MSETNX", "x", "1", "y", "2"),
        ("MGET", "x", "y"), ("MSETNX", "x"), ("MSETNX", "q", "1", "q", "2"), ("GET", "q"),
        ("MSET", "a", "1", "a", "2"), ("GET", "a"),
        ("HSET", "h", "f", "v"), ("MGET", "a", "h", "x"), ("MSET", "h", "str"), ("TYPE", "h"),
        ("HSET", "h2", "f", "v"), ("MSETNX", "h2", "v", "new", "v"), ("EXISTS", "new"),
        ("SET", "t", "v", "EX", "1000"), ("MSET", "t", "w"), ("TTL", "t"),
    ]),
    ("incr_decr", [
        ("INCR", "n"), ("INCR", "n"), ("DECR", "n"), ("DECR", "n"), ("DECR", "n"), ("GET", "n"),
        ("INCRBY", "n", "10"), ("INCRBY", "n", "-20"), ("DECRBY", "n", "5"), ("DECRBY", "n", "-5"),
        ("GET", "n"), ("SET", "n", " 1"), ("INCR", "n"), ("SET", "n", "1 "), ("INCR", "n"),
        ("SET", "n", "01"), ("INCR", "n"), ("SET", "n", "+1"), ("INCR", "n"),
        ("SET", "n", "-0"), ("INCR", "n"), ("SET", "n", ""), ("INCR", "n"),
        ("SET", "n", "1.0"), ("INCR", "n"), ("SET", "n", "abc"), ("INCR", "n"), ("DECR", "n"),
        ("SET", "n", "10"), ("INCRBY", "n", "abc"), ("INCRBY", "n", "1.5"), ("INCRBY", "n", ""),
        ("DECRBY", "n", "x"), ("INCRBY", "n"), ("INCR",), ("DECR", "a", "b"), ("DECRBY", "n"),
        ("SET", "t", "5", "EX", "1000"), ("INCR", "t"), TTL(1, "TTL", "t"),
        ("SET", "z", b"42\x00"), ("INCR", "z"), ("INCRBY", "z", "1"), ("SET", "z", b"4\x002"),
        ("DECR", "z"), ("INCRBY", "n", b"1\x00"), ("GET", "z"),
    ]),
    ("integer_argument_forms", [
        ("SET", "n", "10"), ("INCRBY", "n", "+5"), ("INCRBY", "n", "05"), ("INCRBY", "n", "-0"),
        ("INCRBY", "n", " 5"), ("INCRBY", "n", "5 "), ("INCRBY", "n", "0x10"), ("INCRBY", "n", "1e3"),
        ("INCRBY", "n", "-"), ("INCRBY", "n", "--1"), ("INCRBY", "n", "1_000"), ("GET", "n"),
        ("SET", "m", "+5"), ("INCR", "m"), ("SET", "m", "-0"), ("DECR", "m"), ("SET", "m", "0005"),
        ("INCR", "m"), ("SET", "m", "-9223372036854775809"), ("INCR", "m"),
        ("SETEX", "e", "+100", "v"), ("SETEX", "e", "0100", "v"), TTL(1, "TTL", "e"),
        ("GETRANGE", "n", "+0", "1"), ("GETRANGE", "n", "0", "99999999999999999999"),
    ]),
    ("float_argument_forms", [
        ("INCRBYFLOAT", "f", ".5"), ("INCRBYFLOAT", "f", "5."), ("INCRBYFLOAT", "f", "+1.5"),
        ("INCRBYFLOAT", "f", "1e"), ("INCRBYFLOAT", "f", "1e+2"), ("INCRBYFLOAT", "f", "1E2"),
        ("INCRBYFLOAT", "f", "-.5e-1"), ("INCRBYFLOAT", "f", "1_0"), ("INCRBYFLOAT", "f", "Infinity"),
        ("INCRBYFLOAT", "f", "0x1p3"), ("INCRBYFLOAT", "f", "1.0 "), ("GET", "f"),
        ("SET", "g", ".5"), ("INCRBYFLOAT", "g", "1"), ("SET", "g", "5."), ("INCRBYFLOAT", "g", "1"),
        ("SET", "g", "1e2"), ("INCRBYFLOAT", "g", "0.001"), ("SET", "g", "-0.0"),
        ("INCRBYFLOAT", "g", "0"), ("SET", "g", "123456789012345678901234567890"),
        ("INCRBYFLOAT", "g", "1"), ("INCRBYFLOAT", "h", "0.1"), ("INCRBYFLOAT", "h", "0.2"),
        ("INCRBYFLOAT", "h", "-0.3"), ("INCRBYFLOAT", "i", "1e-20"), ("INCRBYFLOAT", "j", "-1e-20"),
        ("INCRBYFLOAT", "l", "3.14159265358979323846264338327950288"),
        ("INCRBYFLOAT", "o", "1e17"), ("INCRBYFLOAT", "o", "1"), ("INCRBYFLOAT", "p", "1e-17"),
    ]),
    ("ttl_rounding", [
        # TTL and EXPIRETIME round milliseconds to the nearest second (Redis: +500 then divide).
        ("SET", "k", "v", "PX", "100700"), ("TTL", "k"), ("SET", "k", "v", "PX", "100300"),
        ("TTL", "k"), ("SET", "k", "v", "PXAT", FUT_MS[:-3] + "700"), ("EXPIRETIME", "k"),
        ("SET", "k", "v", "PXAT", FUT_MS[:-3] + "300"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FUT_MS[:-3] + "999"), ("EXPIRETIME", "k"),
    ]),
    ("binary_keys", [
        ("SET", "", "empty-key"), ("GET", ""), ("EXISTS", ""), ("SET", "a\x00b", "1"),
        ("SET", "a\r\nb", "2"), ("SET", b"\xff\xfe", "3"), ("GET", "a\x00b"), ("GET", "a"),
        ("MGET", "a\x00b", "a\r\nb", b"\xff\xfe", ""), ("TYPE", "a\x00b"), ("STRLEN", "a\x00b"),
        ("RENAME", "a\x00b", "a\x00c"), ("GET", "a\x00c"), ("DEL", "", "a\x00c"), ("DBSIZE",),
        ("HSET", "h\x00", "f\x00", "v\x00"), ("HGET", "h\x00", "f\x00"), ("HGET", "h\x00", "f"),
        ("HSTRLEN", "h\x00", "f\x00"),
    ]),
    ("incr_overflow", [
        ("SET", "n", "9223372036854775807"), ("INCR", "n"), ("GET", "n"), ("INCRBY", "n", "1"),
        ("DECR", "n"), ("SET", "n", "-9223372036854775808"), ("DECR", "n"), ("INCR", "n"),
        ("SET", "n", "9223372036854775808"), ("INCR", "n"),
        ("SET", "n", "0"), ("DECRBY", "n", "-9223372036854775808"),
        ("INCRBY", "n", "-9223372036854775808"), ("INCRBY", "n", "9223372036854775808"),
        ("SET", "n", "-1"), ("DECRBY", "n", "9223372036854775807"), ("DECR", "n"),
    ]),
    ("incrbyfloat", [
        ("INCRBYFLOAT", "f", "10.5"), ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "-5"),
        ("INCRBYFLOAT", "f", "3.0e3"), ("GET", "f"), ("INCRBYFLOAT", "f", "1e-5"),
        ("SET", "g", "0.1"), ("INCRBYFLOAT", "g", "0.2"), ("SET", "g", "1"), ("INCRBYFLOAT", "g", "1"),
        ("INCRBYFLOAT", "g", "-2"), ("INCRBYFLOAT", "g", "1.5e20"), ("INCRBYFLOAT", "g", "-1.5e20"),
        ("SET", "g", "5.0e3"), ("INCRBYFLOAT", "g", "0"), ("SET", "g", "1e300"),
        ("INCRBYFLOAT", "g", "1"), ("INCRBYFLOAT", "x", "1e308"), ("INCRBYFLOAT", "x", "1e308"),
        ("GET", "x"), ("INCRBYFLOAT", "y", "abc"), ("INCRBYFLOAT", "y", ""),
        ("INCRBYFLOAT", "y", "inf"), ("INCRBYFLOAT", "y", "-inf"), ("INCRBYFLOAT", "y", "nan"),
        ("INCRBYFLOAT", "y", "1.5x"), ("INCRBYFLOAT", "y", " 1"), ("INCRBYFLOAT", "y", "0x10"),
        ("SET", "s", "abc"), ("INCRBYFLOAT", "s", "1"), ("SET", "s", "1.5 "),
        ("INCRBYFLOAT", "s", "1"), ("INCRBYFLOAT", "s"), ("INCRBYFLOAT",),
        ("SET", "i", "3"), ("INCRBYFLOAT", "i", "1.25"), ("INCR", "i"),
        ("SET", "nul", b"42\x003.0e3"), ("INCRBYFLOAT", "nul", "10.5"),
        ("INCRBYFLOAT", "nul2", b"1.5\x00"), ("INCRBYFLOAT", "big", "1e4933"), ("SET", "big", "1.1e4932"),
        ("INCRBYFLOAT", "big", "1.1e4932"), ("GET", "big"), ("INCRBYFLOAT", "z", "-0.0"), ("INCRBYFLOAT", "z2", "1.23456789012345678"),
        ("SET", "t", "1", "EX", "1000"), ("INCRBYFLOAT", "t", "1"), TTL(1, "TTL", "t"),
    ]),
    ("append_strlen", [
        ("APPEND", "k", "ab"), ("APPEND", "k", "cd"), ("APPEND", "k", ""), ("GET", "k"),
        ("STRLEN", "k"), ("STRLEN", "nokey"), ("SET", "n", "123"), ("APPEND", "n", "4"),
        ("GET", "n"), ("STRLEN", "n"), ("INCR", "n"), ("STRLEN", "n"), ("APPEND", "k"),
        ("STRLEN",), ("STRLEN", "a", "b"), ("APPEND", "e", ""), ("EXISTS", "e"),
        ("SET", "t", "v", "EX", "1000"), ("APPEND", "t", "w"), TTL(1, "TTL", "t"),
    ]),
    ("getrange", [
        ("SET", "k", "Hello World"), ("GETRANGE", "k", "0", "4"), ("GETRANGE", "k", "-5", "-1"),
        ("GETRANGE", "k", "0", "-1"), ("GETRANGE", "k", "0", "100"), ("GETRANGE", "k", "-100", "2"),
        ("GETRANGE", "k", "5", "2"), ("GETRANGE", "k", "-1", "-5"), ("GETRANGE", "k", "11", "20"),
        ("GETRANGE", "k", "100", "200"), ("GETRANGE", "k", "-100", "-50"), ("GETRANGE", "k", "3", "3"),
        ("GETRANGE", "k", "0", "0"), ("GETRANGE", "k", "-1", "-1"),
        ("GETRANGE", "k", "-9223372036854775808", "9223372036854775807"),
        ("GETRANGE", "nokey", "0", "-1"), ("GETRANGE", "k", "a", "1"), ("GETRANGE", "k", "0", "1.5"),
        ("GETRANGE", "k", "0"), ("SET", "e", ""), ("GETRANGE", "e", "0", "-1"),
        ("GETRANGE", "e", "0", "0"), ("SET", "n", "12345"), ("GETRANGE", "n", "1", "2"),
    ]),
    ("setrange", [
        ("SETRANGE", "k", "0", "abc"), ("GET", "k"), ("SETRANGE", "k", "1", "X"), ("GET", "k"),
        ("SETRANGE", "k", "6", "Z"), ("GET", "k"), ("STRLEN", "k"), ("SETRANGE", "k", "0", ""),
        ("SETRANGE", "k", "100", ""), ("GET", "k"), ("SETRANGE", "k", "-1", "x"),
        ("SETRANGE", "k", "abc", "x"), ("SETRANGE", "new", "0", ""), ("EXISTS", "new"),
        ("SETRANGE", "new", "3", ""), ("EXISTS", "new"), ("SETRANGE", "new", "2", "x"),
        ("GET", "new"), ("SET", "n", "123"), ("SETRANGE", "n", "1", "9"), ("INCR", "n"),
        ("SETRANGE", "k", "0"), ("SETRANGE",),
        ("SETRANGE", "k", MAX512, "x"), ("SETRANGE", "k", str(512 * 1024 * 1024 - 1), "xy"),
        ("SETRANGE", "big", MAX512, "x"),
        ("SETRANGE", "big", MAX512, ""), ("EXISTS", "big"), ("SETRANGE", "k", "-1", ""),
        ("SET", "t", "v", "EX", "1000"), ("SETRANGE", "t", "0", "w"), TTL(1, "TTL", "t"),
    ]),
    ("setrange_overflowing_offset", [
        ("SET", "k", "abc"), ("SETRANGE", "k", "9223372036854775807", "x"),
        ("SETRANGE", "k", "9223372036854775806", "xy"), ("SETRANGE", "n", "9223372036854775807", "x"),
        ("SETRANGE", "k", "9223372036854775808", "x"), ("GET", "k"),
    ]),
    ("wrongtype_on_hash", [
        ("HSET", "h", "f", "v"),
        ("GET", "h"), ("GETSET", "h", "v"), ("GETDEL", "h"), ("GETEX", "h"), ("INCR", "h"),
        ("DECR", "h"), ("INCRBY", "h", "1"), ("DECRBY", "h", "1"), ("INCRBYFLOAT", "h", "1"),
        ("APPEND", "h", "x"), ("STRLEN", "h"), ("GETRANGE", "h", "0", "1"),
        ("SETRANGE", "h", "0", "x"), ("SETRANGE", "h", "0", ""), ("SET", "h", "v", "GET"),
        ("INCRBY", "h", "abc"), ("SETRANGE", "h", "-1", "x"),
        ("TYPE", "h"), ("HGET", "h", "f"),
    ]),
    ("set_overwrites_other_type", [
        ("HSET", "h", "f", "v"), ("EXPIRE", "h", "1000"), ("SET", "h", "s"), ("TYPE", "h"),
        ("TTL", "h"), ("GET", "h"), ("HSET", "h2", "f", "v"), ("SETEX", "h2", "1000", "s"),
        ("TYPE", "h2"), ("HSET", "h3", "f", "v"), ("GETSET", "h3", "x"), ("TYPE", "h3"),
    ]),
]

# Open synod bugs: case id -> reason (see /work/wt/COMPAT-BUGS.md).
XFAIL = {}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_strings(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)
