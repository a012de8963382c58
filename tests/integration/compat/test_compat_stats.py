"""Differential tests: INFO commandstats / errorstats / total_error_replies and MONITOR.

The same requests go to both servers (RESP2 and RESP3), then the INFO sections are compared
line for line with the clock-dependent fields (usec, usec_per_call) masked: which commands are
listed, their calls, rejected_calls and failed_calls, every errorstat_<CODE> count, and
total_error_replies must be Redis 7.0's. MONITOR lines are compared with the timestamp and the
client address masked (the quoting of binary arguments, redaction, what is shown at all).
"""

import re
import time

import pytest

from .diff import show
from .resp_raw import encode_command, parse

# requests whose statistics are compared; each kind of refusal and failure once or more
SEQUENCE = [
    ("SET", "s", "v"), ("GET", "s"), ("LPUSH", "s", "x"), ("INCR", "s"), ("SET", "k"),
    ("GET",), ("FOO", "bar"), ("CONFIG", "FOO"), ("CONFIG",), ("CLIENT", "ID"),
    ("CONFIG", "GET", "hz"), ("HSET", "s", "f", "v"), ("RPUSH", "l", "a", "b"),
    ("LPOS", "l", "a", "RANK", "0"), ("EXPIRE", "s", "x"), ("OBJECT", "ENCODING", "nokey"),
    ("MULTI",), ("SET", "a", "1"), ("INCR", "s"), ("GET", "a"), ("EXEC",),
    ("MULTI",), ("SET", "a"), ("GET", "a"), ("EXEC",), ("EXEC",), ("DISCARD",),
    ("CLIENT", "REPLY", "SKIP"), ("INCR", "s"), ("PING",),
    ("EVAL", "return {err='MYERR from script'}", "0"), ("EVAL", "return 1", "0"),
    # commands a script calls: run, failed, rejected (counted even when pcall catches the
    # error, once when the script replies it)
    ("EVAL", "return redis.call('get')", "0"), ("EVAL", "return redis.pcall('subscribe', 'a')", "0"),
    ("EVAL_RO", "return redis.call('set', 'a', 'b')", "0"), ("EVAL", "return redis.pcall('incr', 's')", "0"),
    ("EVAL", "return redis.call('select', 99)", "0"), ("EVAL", "redis.pcall('select', 99) return 1", "0"),
    ("EVAL", "return redis.pcall('ping', 'a', 'b')", "0"), ("EVAL", "return redis.call('ping')", "0"),
    ("EVAL", "return redis.call('xread', 'block', '0', 'streams', 'a', '0')", "0"),
    ("EVAL", "return redis.pcall('nosuch')", "0"), ("EVAL", "return redis.call('blpop', 'a', '0')", "0"),
    ("EVAL", "local t = redis.pcall('get') return {err='OTHER ' .. t['err']}", "0"),
    ("EVALSHA", "0" * 40, "0"), ("XGROUP", "CREATE", "nostream", "g", "$"),
    ("SUBSCRIBE",), ("PUBLISH", "ch", "m"), ("WAIT", "0", "0"), ("BLPOP", "s", "0"),
    ("COMMAND", "COUNT"), ("ECHO", "a", "b"),
]  # fmt: skip

STAT_LINE = re.compile(rb"^(cmdstat_[^:]+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,"
                       rb"rejected_calls=(\d+),failed_calls=(\d+)$")  # fmt: skip


def _body(raw):
    t = parse(raw)
    assert t[0] in ("bulk", "verbatim"), show(raw)
    return t[1][4:] if t[0] == "verbatim" else t[1]


def _stats(conn):
    out = set()
    for sec in ("commandstats", "errorstats", "stats"):
        conn.send_raw(encode_command("INFO", sec))
        for line in _body(conn.read_reply()).split(b"\r\n"):
            m = STAT_LINE.match(line)
            if m:
                if m.group(1) != b"cmdstat_info":  # our own INFO calls differ in number
                    out.add(b"%s:calls=%s,rejected=%s,failed=%s" % m.groups())
            elif line.startswith(b"errorstat_") or line.startswith(b"total_error_replies:"):
                out.add(line)
    return out


def _run(conn, proto):
    conn.send_raw(encode_command("HELLO", proto))
    conn.read_reply()
    conn.send_raw(encode_command("CONFIG", "RESETSTAT"))
    assert conn.read_reply() == b"+OK\r\n"
    for args in SEQUENCE:
        conn.send_raw(encode_command(*args))
        if args == ("INCR", "s") and getattr(conn, "_skip", False):
            conn._skip = False
            continue  # CLIENT REPLY SKIP: no reply
        if args == ("CLIENT", "REPLY", "SKIP"):
            conn._skip = True
            continue
        conn.read_reply()
    return _stats(conn)


@pytest.mark.parametrize("proto", ["2", "3"])
def test_commandstats_errorstats(pair, proto):
    ref = _run(pair.ref, proto)
    tgt = _run(pair.tgt, proto)
    assert tgt == ref, "only redis: %s\nonly synod: %s" % (sorted(ref - tgt), sorted(tgt - ref))


def test_resetstat_clears(pair):
    for conn in (pair.ref, pair.tgt):
        conn.send_raw(encode_command("GET"))
        conn.read_reply()
        conn.send_raw(encode_command("CONFIG", "RESETSTAT"))
        assert conn.read_reply() == b"+OK\r\n"
    ref, tgt = _stats(pair.ref), _stats(pair.tgt)
    assert tgt == ref == {b"total_error_replies:0",
                          b"cmdstat_config|resetstat:calls=1,rejected=0,failed=0"}, (ref, tgt)  # fmt: skip


MON = re.compile(rb"^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ")

MON_SEQUENCE = [
    ("SET", b"k", b'a\x00"\\\n\r\t\x07\x08\xff\x7f b'), ("GET", "k"), ("AUTH", "x"),
    ("AUTH", "u", "p"), ("HELLO", "2", "AUTH", "u", "p", "SETNAME", "n"), ("SET", "k"),
    ("FOO",), ("CONFIG", "GET", "hz"), ("CLIENT", "ID"), ("MULTI",), ("SET", "q", "1"),
    ("INCR", "k"), ("EXEC",), ("MULTI",), ("NOSUCH",), ("EXEC",), ("PING",),
]  # fmt: skip


def _monitor_lines(mon, worker, n_expect):
    mon.send_raw(encode_command("MONITOR"))
    assert mon.read_reply() == b"+OK\r\n"
    for args in MON_SEQUENCE:
        worker.send_raw(encode_command(*args))
        worker.read_reply()
    time.sleep(0.3)
    data, _ = mon.drain(quiet_s=0.5, max_s=3.0)
    lines = [ln for ln in (mon.buf + data).split(b"\r\n") if ln]
    out = []
    for ln in lines:
        assert MON.match(ln), ln
        out.append(MON.sub(b"", ln))
    return out


def test_monitor_lines(connect):
    ref = _monitor_lines(connect("ref"), connect("ref"), 0)
    tgt = _monitor_lines(connect("tgt"), connect("tgt"), 0)
    assert tgt == ref, "redis:\n%s\nsynod:\n%s" % (b"\n".join(ref).decode(errors="replace"),
                                                 b"\n".join(tgt).decode(errors="replace"))  # fmt: skip


def test_monitor_client_rules(connect):
    """A MONITOR client: keyspace commands refused, others answered (and shown), QUIT ends it."""
    got = []
    for side in ("ref", "tgt"):
        m = connect(side)
        m.send_raw(encode_command("MONITOR"))
        assert m.read_reply() == b"+OK\r\n"
        replies = []
        for args in (("GET", "k"), ("EVAL", "return 1", "0"), ("PING",), ("MONITOR",),
                     ("CLIENT", "ID"), ("QUIT",)):  # fmt: skip
            m.send_raw(encode_command(*args))
        data, closed = m.drain(quiet_s=0.5, max_s=3.0)
        data = m.buf + data
        data = re.sub(rb"\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ", b"+T ", data)
        data = re.sub(rb":\d+\r\n", b":N\r\n", data)
        replies.append((data, closed))
        got.append(replies)
    assert got[1] == got[0], got


INFO_COUNTERS = (b"keyspace_hits", b"keyspace_misses", b"pubsub_channels", b"pubsub_patterns",
                 b"pubsubshard_channels")


def _counters(conn):
    conn.send_raw(encode_command("INFO", "stats"))
    out = {}
    for line in _body(conn.read_reply()).split(b"\r\n"):
        k, _, v = line.partition(b":")
        if k in INFO_COUNTERS:
            out[k] = v
    return out


def test_info_stats_counters(servers):
    """INFO stats' keyspace_hits / keyspace_misses (reset by CONFIG RESETSTAT) and the pub/sub
    subscription counts, exactly as Redis 7.0 after the same requests."""
    got = []
    for server in servers:
        s, p = server.connect(), server.connect()
        try:
            for args in [("FLUSHALL",), ("SET", "a", "1"), ("GET", "a"), ("GET", "nokey"),
                         ("CONFIG", "RESETSTAT"), ("GET", "a"), ("GET", "a"), ("GET", "nokey"),
                         ("MGET", "a", "n1", "n2"), ("HGET", "nohash", "f"), ("STRLEN", "a"),
                         ("LRANGE", "nolist", "0", "-1"),
                         # an expired key not deleted yet (CLIENT PAUSE WRITE holds expiry back)
                         # is a miss
                         ("SET", "gone", "1", "PX", "30"), ("CLIENT", "PAUSE", "2000", "WRITE")]:
                p.call(*args)
            time.sleep(0.1)
            for args in [("GET", "gone"), ("EXISTS", "gone"), ("CLIENT", "UNPAUSE")]:
                p.call(*args)
            for args in [("SUBSCRIBE", "c1", "c2", "c3"), ("PSUBSCRIBE", "p*"),
                         ("SSUBSCRIBE", "s1", "s2")]:
                s.send_raw(encode_command(*args))
                for _ in args[1:]:
                    s.read_reply()
            got.append(_counters(p))
        finally:
            s.close()
            p.close()
    assert got[0] == got[1] and len(got[1]) == len(INFO_COUNTERS), got
