"""Differential tests: SLOWLOG, LATENCY and INFO latencystats (docs/server.md "Diagnostics").

Replies that do not depend on time (help texts, errors, counts, configuration, LATENCY DOCTOR's
"disabled" and "no spike" reports, the arguments and client names SLOWLOG logs, redaction and
trimming) are compared byte for byte. Where Redis's own reply carries clocks and durations
(SLOWLOG's ids, timestamps, microseconds and client addresses, LATENCY HISTOGRAM's buckets, INFO
latencystats' percentiles) the structure is compared, and the parts that are not timing exactly.
Both servers are shared by the session: every test leaves the settings at Redis's defaults.
"""

import re
import time

from .diff import SHAPE, U, show
from .resp_raw import encode_command, parse

DEFAULTS = [("slowlog-log-slower-than", "10000"), ("slowlog-max-len", "128"),
            ("latency-monitor-threshold", "0"), ("latency-tracking", "yes"),
            ("latency-tracking-info-percentiles", "50 99 99.9")]  # fmt: skip


def _restore(pair):
    for k, v in DEFAULTS:
        for conn in (pair.ref, pair.tgt):
            conn.call("CONFIG", "SET", k, v)
            conn.call("SLOWLOG", "RESET")
            conn.call("LATENCY", "RESET")


def test_slowlog_errors_and_help(pair):
    try:
        pair.run([
            ("SLOWLOG", "HELP"), ("SLOWLOG", "help", "x"), ("SLOWLOG",), ("SLOWLOG", "FOO"),
            ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"), ("SLOWLOG", "GET", "-2"),
            ("SLOWLOG", "GET", "abc"), ("SLOWLOG", "GET", "1", "2"), ("SLOWLOG", "GET", ""),
            ("SLOWLOG", "GET", "99999999999999999999"),
            ("CONFIG", "SET", "slowlog-log-slower-than", "1000000"), ("SLOWLOG", "RESET"),
            ("SLOWLOG", "LEN"), ("SLOWLOG", "GET"), ("SLOWLOG", "GET", "-1"),
            ("SLOWLOG", "GET", "0"), ("slowlog", "len"),
        ])  # fmt: skip
    finally:
        _restore(pair)
    pair.assert_clean()


def test_config_keys(pair):
    try:
        pair.run([
            U("CONFIG", "GET", "slowlog*"), U("CONFIG", "GET", "latency*"),
            ("CONFIG", "SET", "slowlog-log-slower-than", "-1"),
            ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
            ("CONFIG", "SET", "slowlog-log-slower-than", "x"),
            ("CONFIG", "GET", "slowlog-log-slower-than"),
            ("CONFIG", "SET", "slowlog-max-len", "-1"), ("CONFIG", "SET", "slowlog-max-len", "0"),
            ("CONFIG", "GET", "slowlog-max-len"),
            ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
            ("CONFIG", "SET", "latency-monitor-threshold", "100"),
            ("CONFIG", "GET", "latency-monitor-threshold"),
            ("CONFIG", "SET", "latency-tracking", "maybe"), ("CONFIG", "SET", "latency-tracking", "no"),
            ("CONFIG", "GET", "latency-tracking"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "50  99"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "-1"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "50.0 99 99.90 0.5 100 0"),
            ("CONFIG", "GET", "latency-tracking-info-percentiles"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", ""),
            ("CONFIG", "GET", "latency-tracking-info-percentiles"),
            ("CONFIG", "SET", "latency-tracking-info-percentiles", "1e1 12.3456789"),
            ("CONFIG", "GET", "latency-tracking-info-percentiles"),
        ])  # fmt: skip
    finally:
        _restore(pair)
    pair.assert_clean()


def _entries(conn, count="-1"):
    t = parse(conn.call("SLOWLOG", "GET", count))
    assert t[0] == "array", t
    return t[1]


def _logged(pair, steps, count="-1"):
    """Runs steps with every call logged; returns (ref, tgt) lists of (args, client name) newest
    first, after checking each entry's shape: 6 fields, integer id/time/duration, ip:port."""
    for conn in (pair.ref, pair.tgt):
        assert conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"+OK\r\n"
        assert conn.call("SLOWLOG", "RESET") == b"+OK\r\n"
    for s in steps:
        pair.both(*s)
    out = []
    for conn in (pair.ref, pair.tgt):
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        got, ids = [], []
        for e in _entries(conn, count):
            assert e[0] == "array" and len(e[1]) == 6, e
            f = e[1]
            assert [x[0] for x in f[:3]] == ["int"] * 3 and f[3][0] == "array", e
            assert f[4][0] == "bulk" and re.match(rb"^(127\.0\.0\.1:\d+|\?:0)$", f[4][1]), e
            ids.append(f[0][1])
            got.append(([a[1] for a in f[3][1]], f[5][1], f[4][1] == b"?:0"))
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), ids
        out.append(got)
    return out


def test_slowlog_entries(pair):
    """What is logged and how: original arguments, trimming, redaction, client names, EXEC not
    logged but its commands, rejected commands not logged, max-len trimming at the next push."""
    steps = [
        ("SET", "k", "v"), ("CLIENT", "SETNAME", "diag-client"), ("GET", "k"),
        ("SADD", "s") + tuple(str(i) for i in range(3, 34)),  # 33 arguments: the 32nd summarises
        ("SADD", "s2") + tuple(str(i) for i in range(30)),  # 32 arguments: all kept
        ("SADD", "s3", b"\x00\xff" * 64, b"z" * 130),  # binary, exactly 128 bytes, 130 bytes
        ("SADD", "s", "foo", "A" * 129), ("ECHO", "x" * 128), ("ECHO", "y" * 1000),
        ("SPOP", "s", "1"), ("INCRBYFLOAT", "f", "1.5"), ("GETSET", "k", "w"),
        ("EXPIRE", "k", "100"), ("SET", "e", "1", "EX", "100"),
        ("AUTH", "nouser", "badpass"), ("AUTH", "badpass"), ("HELLO", "2", "AUTH", "u", "p"),
        ("ACL", "SETUSER", "bad user", "+get"), ("ACL", "SETUSER", "diaguser", "on", ">pw", "+get"),
        ("ACL", "DELUSER", "diaguser"), ("acl", "setuser", "diaguser", "on", "<pw"),
        ("acl", "deluser", "diaguser"), ("CONFIG", "SET", "requirepass", ""),
        ("CONFIG", "SET", "requirepass", "", "hz", "10"), ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "hz", "10", "requirepass"),
        ("GET",), ("NOSUCHCMD", "a"), ("CLIENT", "NOSUB"),  # rejected: not logged
        ("MULTI",), ("SET", "m", "1"), ("INCR", "m"), ("EXPIRE", "m", "100"), ("SPOP", "s"),
        ("SET", "m2", "1", "EX", "100"), ("PING",), ("EXEC",),
        ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"),  # its GET as "?:0"
        ("CLIENT", "SETNAME", ""), ("PING",),
    ]  # fmt: skip
    try:
        ref, tgt = _logged(pair, steps)
    finally:
        _restore(pair)
    assert tgt == ref, "\nredis %r\nsynod %r" % (ref, tgt)


def test_slowlog_max_len_and_count(pair):
    try:
        for conn in (pair.ref, pair.tgt):
            conn.call("CONFIG", "SET", "slowlog-max-len", "3")
        for n in (10, 11):  # an even and an odd number of pushes: every push trims
            ref, tgt = _logged(pair, [("SET", "a", str(i)) for i in range(n)])
            assert tgt == ref and len(ref) == 3, (n, ref, tgt)
        pair.run([("SLOWLOG", "LEN"), SHAPE("SLOWLOG", "GET", "2"), ("SLOWLOG", "GET", "0")])
        for conn in (pair.ref, pair.tgt):  # a shorter max-len applies at the next push
            conn.call("CONFIG", "SET", "slowlog-max-len", "1")
        pair.run([("SLOWLOG", "LEN"), ("CONFIG", "SET", "slowlog-log-slower-than", "0"),
                  ("SLOWLOG", "LEN"), ("CONFIG", "SET", "slowlog-max-len", "0"),
                  ("SLOWLOG", "LEN")])  # fmt: skip
    finally:
        _restore(pair)
    pair.assert_clean()


def test_slowlog_blocked_command_logged_when_served(pair, connect):
    """A blocked BLPOP is logged when it is served, after the commands that unblocked it."""
    try:
        res = []
        for side, conn in (("ref", pair.ref), ("tgt", pair.tgt)):
            conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
            waiter = connect(side)
            waiter.send_raw(encode_command("BLPOP", "bl", "0"))
            conn.call("PING")  # the BLPOP is parsed and blocked before the next steps
            time.sleep(0.2)
            conn.call("SLOWLOG", "RESET")
            conn.call("MULTI")
            conn.call("LPUSH", "bl", "x")
            conn.call("SLOWLOG", "RESET")
            conn.call("EXEC")
            assert parse(waiter.read_reply())[0] == "array"
            conn.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
            res.append([[a[1] for a in e[1][3][1]] for e in _entries(conn)])
        assert res[1] == res[0], res
        assert res[0][0] == [b"BLPOP", b"bl", b"0"], res
    finally:
        _restore(pair)


def test_latency_monitor_replies(pair):
    try:
        pair.run([
            ("LATENCY", "HELP"), ("LATENCY", "HELP", "x"), ("LATENCY",), ("LATENCY", "FOO"),
            ("LATENCY", "RESET"), ("LATENCY", "DOCTOR"), ("LATENCY", "LATEST"),
            ("LATENCY", "HISTORY"), ("LATENCY", "HISTORY", "command"),
            ("LATENCY", "HISTORY", "blabla"), ("LATENCY", "GRAPH", "command"),
            ("LATENCY", "GRAPH", "blabla"), ("LATENCY", "GRAPH"), ("LATENCY", "RESET", "blabla"),
            ("LATENCY", "LATEST", "x"), ("LATENCY", "DOCTOR", "x"),
            ("CONFIG", "SET", "latency-monitor-threshold", "1000000"), ("LATENCY", "DOCTOR"),
            ("LATENCY", "LATEST"), ("LATENCY", "RESET", "command", "expire-cycle"),
            ("LATENCY", "HISTORY", "COMMAND"), ("LATENCY", "RESET", "COMMAND"),
        ])  # fmt: skip
    finally:
        _restore(pair)
    pair.assert_clean()


def _histo(conn, *names):
    t = parse(conn.call("LATENCY", "HISTOGRAM", *names))
    assert t[0] in ("array", "map"), t
    items = t[1] if t[0] == "map" else list(zip(t[1][0::2], t[1][1::2]))
    out = {}
    for k, v in items:
        body = v[1] if v[0] == "map" else list(zip(v[1][0::2], v[1][1::2]))
        d = {kk[1]: vv for kk, vv in body}
        assert set(d) == {b"calls", b"histogram_usec"}, v
        h = d[b"histogram_usec"]
        pairs = h[1] if h[0] == "map" else list(zip(h[1][0::2], h[1][1::2]))
        keys = [kk[1] for kk, _ in pairs]
        counts = [vv[1] for _, vv in pairs]
        labels = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33817,
                  67634, 135268, 270536, 541073, 1082146]  # fmt: skip
        assert all(x in labels for x in keys) and keys == sorted(keys), keys
        assert counts == sorted(counts) and counts[-1] == d[b"calls"][1], (counts, d)
        out[k[1]] = d[b"calls"][1]
    return out


def test_latency_histogram(pair):
    """Which commands have histograms and their calls (buckets are timing: checked for Redis's
    labels and a cumulative shape only)."""
    seq = [("CONFIG", "RESETSTAT"), ("SET", "a", "b"), ("SET", "c", "d"), ("GET", "a"),
           ("EVAL_RO", "return redis.call('get', 'a')", "0"),
           ("HSET", "h", "f", "v"), ("CLIENT", "ID"), ("CLIENT", "GETNAME"), ("GET",),
           ("NOSUCH",), ("MULTI",), ("INCR", "n"), ("GET", "a"), ("EXEC",)]  # fmt: skip
    queries = [(), ("set",), ("SET", "get"), ("client",), ("client|id",), ("blabla",),
               ("blabla", "set", "set"), ("config|resetstat",), ("exec", "multi", "incr"),
               ("eval_ro",)]  # fmt: skip
    res = []
    for conn in (pair.ref, pair.tgt):
        for s in seq:
            conn.call(*s)
        res.append([_histo(conn, *q) for q in queries])
    for q, a, b in zip(queries, res[0], res[1]):
        a.pop(b"latency|histogram", None), b.pop(b"latency|histogram", None)
        assert a == b, "LATENCY HISTOGRAM %r: redis %r synod %r" % (q, a, b)
    pair.assert_clean()


def test_latency_tracking_off_and_info(pair):
    try:
        lines = []
        for conn in (pair.ref, pair.tgt):
            conn.call("CONFIG", "RESETSTAT")
            conn.call("SET", "x", "1")
            conn.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.9 0 100")
            raw = parse(conn.call("INFO", "latencystats"))[1]
            body = raw[4:] if raw.startswith(b"txt:") else raw
            got = {}
            for ln in body.split(b"\r\n"):
                m = re.match(rb"^latency_percentiles_usec_([^:]+):p50=[\d.]+,p99\.9=[\d.]+,"
                             rb"p0=[\d.]+,p100=[\d.]+$", ln)
                if ln and not ln.startswith(b"#"):
                    assert m, ln
                    got[m.group(1)] = True
            conn.call("CONFIG", "SET", "latency-tracking", "no")
            off = parse(conn.call("INFO", "latencystats"))[1]
            assert off.split(b"\r\n")[-2].endswith(b"# Latencystats"), off  # nothing while off
            assert b"set" in [k for k in _histo(conn)], "LATENCY HISTOGRAM still shows"
            conn.call("CONFIG", "RESETSTAT")
            conn.call("GET", "x")
            lines.append((sorted(got), _histo(conn)))
        assert lines[1] == lines[0], lines
        assert b"set" in lines[0][0] and lines[0][1] == {}, lines
    finally:
        _restore(pair)
    pair.assert_clean()


def test_info_everything_has_latencystats(pair):
    for conn in (pair.ref, pair.tgt):
        for sec in ("everything", "all", "latencystats"):
            raw = parse(conn.call("INFO", sec))[1]
            assert b"# Latencystats\r\n" in raw, (sec, show(raw))
        assert b"# Latencystats" not in parse(conn.call("INFO"))[1]


def _masked(raw):
    t = parse(raw)
    body = t[1] if t[0] != "error" else t
    if isinstance(body, bytes) and body.startswith(b"txt:"):
        body = body[4:]
    return re.sub(rb"\d+", b"N", body) if isinstance(body, bytes) else body


def test_latency_event_reports(pair):
    """One slow call (a busy read-only script) sampled as a `command` event on both servers: LATEST
    and HISTORY compared by shape, DOCTOR's report and GRAPH's sparkline with the numbers masked."""
    slow = ("EVAL_RO", "local i = 0 while i < 5000000 do i = i + 1 end return i", "0")
    try:
        for conn in (pair.ref, pair.tgt):
            # 10 ms: the script takes tens of ms, while other commands on a loaded machine can
            # take a few (at 1 ms, a stray CONFIG or LATENCY call became a second sample)
            conn.call("CONFIG", "SET", "latency-monitor-threshold", "10")
            conn.call("LATENCY", "RESET")
            conn.call(*slow)
        for conn in (pair.ref, pair.tgt):
            latest = parse(conn.call("LATENCY", "LATEST"))[1]
            assert len(latest) == 1 and latest[0][1][0][1] == b"command", latest
        pair.run([SHAPE("LATENCY", "LATEST"), SHAPE("LATENCY", "HISTORY", "command")])
        for cmd in (("LATENCY", "DOCTOR"), ("LATENCY", "GRAPH", "command")):
            ref, tgt = pair.both(*cmd)
            assert _masked(ref) == _masked(tgt), "%r\nredis %s\nsynod %s" % (cmd, show(ref), show(tgt))
        # a second, longer sample in the next second: the sparkline's two columns are then the
        # lowest and the highest step whatever the durations
        time.sleep(1.1)
        slower = (slow[0], slow[1].replace("5000000", "15000000"), "0")
        for conn in (pair.ref, pair.tgt):
            conn.call(*slower)
        ref, tgt = pair.both("LATENCY", "GRAPH", "command")
        assert _masked(ref) == _masked(tgt), "redis %s\nsynod %s" % (show(ref), show(tgt))
        assert b"#" in _masked(ref) and b"_" in _masked(ref), show(ref)
        for conn in (pair.ref, pair.tgt):
            conn.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        ref, tgt = pair.both("LATENCY", "DOCTOR")  # the advice to enable SLOWLOG
        assert _masked(ref) == _masked(tgt), "redis %s\nsynod %s" % (show(ref), show(tgt))
        pair.run([("LATENCY", "RESET", "command"), ("LATENCY", "LATEST")])
    finally:
        _restore(pair)
    pair.assert_clean()
