"""INFO commandstats / errorstats / total_error_replies and MONITOR on one node (docs/server.md
"Introspection").

Replies of writes come when their log entry applies, so an error is charged to the request its
reply answers through the connection's FIFO of pending requests: the pipelined test interleaves
writes that fail (answered late) with reads and refused requests (answered at once) and checks
that every count lands on the right command.
"""

import os
import re
import socket
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import resp_command as enc  # noqa: E402


def cmdstats(r):
    """{name: (calls, rejected_calls, failed_calls)}"""
    return {k[len("cmdstat_"):]: (v["calls"], v["rejected_calls"], v["failed_calls"])
            for k, v in r.info("commandstats").items()}  # fmt: skip


def errstats(r):
    out = {}
    for k, v in r.info("errorstats").items():
        # redis-py leaves a lone "count=N" unparsed
        out[k[len("errorstat_"):]] = v["count"] if isinstance(v, dict) else int(v.split("=")[1])
    return out


def total_errors(r):
    return int(r.info("stats")["total_error_replies"])


def test_pipelined_errors_charged_to_their_commands(r, synod, raw):
    r.execute_command("CONFIG", "RESETSTAT")
    s = synod.sock()
    reqs = [
        ("SET", "s", "v"),            # write, ok
        ("LPUSH", "s", "x"),          # write, WRONGTYPE when applied
        ("GET", "s"),                 # read, ok
        ("INCR", "s"),                # write, ERR when applied
        ("SET", "k"),                 # arity: rejected
        ("FOO",),                     # unknown: errorstat only
        ("CONFIG", "FOO"),            # unknown subcommand: errorstat only
        ("RPUSH", "l", "a"),          # write, ok
        ("LPOS", "l", "a", "RANK", "0"),  # read, ERR
        ("HSET", "s", "f", "v"),      # write, WRONGTYPE
        ("CLIENT", "ID"),
    ]  # fmt: skip
    s.sendall(b"".join(enc(*q) for q in reqs))
    replies, _ = raw.read(s, len(reqs))
    kinds = [x[0] if isinstance(x, tuple) else "ok" for x in replies]
    assert kinds == ["ok", "err", "ok", "err", "err", "err", "err", "ok", "err", "err", "ok"], replies
    st = cmdstats(r)
    assert st["set"] == (1, 1, 0)
    assert st["lpush"] == (1, 0, 1)
    assert st["get"] == (1, 0, 0)
    assert st["incr"] == (1, 0, 1)
    assert st["rpush"] == (1, 0, 0)
    assert st["lpos"] == (1, 0, 1)
    assert st["hset"] == (1, 0, 1)
    assert st["client|id"] == (1, 0, 0)
    assert "config" not in st and "foo" not in st
    assert errstats(r) == {"ERR": 5, "WRONGTYPE": 2}
    assert total_errors(r) == 7
    s.close()

    r.execute_command("CONFIG", "RESETSTAT")
    assert errstats(r) == {}
    assert total_errors(r) == 0
    st = cmdstats(r)
    assert set(st) <= {"config|resetstat", "info"}, st


def test_multi_exec_and_reply_off(r, synod, raw):
    r.execute_command("CONFIG", "RESETSTAT")
    r.set("s", "v")
    s = synod.sock()
    s.sendall(enc("MULTI") + enc("SET", "a", "1") + enc("INCR", "s") + enc("GET", "a") +
              enc("EXEC"))  # fmt: skip
    replies, _ = raw.read(s, 5)
    assert replies[4][1][0] == "err"
    # a dirty transaction: the queued arity error is rejected, EXECABORT fails EXEC
    s.sendall(enc("MULTI") + enc("SET", "a") + enc("EXEC"))
    raw.read(s, 3)
    # replies dropped by CLIENT REPLY OFF still answer their requests (and errors count)
    s.sendall(enc("CLIENT", "REPLY", "OFF") + enc("INCR", "s") + enc("LPUSH", "s", "x") +
              enc("CLIENT", "REPLY", "ON") + enc("GET", "s"))  # fmt: skip
    replies, _ = raw.read(s, 2)
    assert replies == ["OK", b"v"], replies
    st = cmdstats(r)
    assert st["multi"] == (2, 0, 0)
    assert st["exec"] == (2, 0, 1)
    assert st["set"] == (2, 1, 0)  # r.set + the queued SET a 1
    assert st["incr"] == (2, 0, 2)
    assert st["get"] == (2, 0, 0)
    assert st["lpush"] == (1, 0, 1)
    assert errstats(r) == {"ERR": 3, "EXECABORT": 1, "WRONGTYPE": 1}
    assert total_errors(r) == 5
    s.close()


def test_blocked_client_error_and_rejections(r, synod, raw):
    r.execute_command("CONFIG", "RESETSTAT")
    s = synod.sock()
    s.sendall(enc("CLIENT", "ID"))
    (cid,), _ = raw.read(s, 1)
    s.sendall(enc("BLPOP", "nolist", "0") + enc("PING"))
    time.sleep(0.2)
    assert r.execute_command("CLIENT", "UNBLOCK", cid, "ERROR") == 1
    replies, _ = raw.read(s, 2)
    assert replies[0][0] == "err" and replies[1] == "PONG", replies
    st = cmdstats(r)
    assert st["blpop"] == (1, 0, 1)
    assert st["ping"] == (1, 0, 0)
    assert errstats(r) == {"UNBLOCKED": 1}
    s.close()


def test_noauth_rejected(synod):
    c = synod.client(decode_responses=True)
    c.execute_command("CONFIG", "SET", "requirepass", "pw")
    c.execute_command("AUTH", "pw")
    c.execute_command("CONFIG", "RESETSTAT")
    s = synod.sock()
    s.sendall(enc("SET", "a", "b") + enc("AUTH", "bad") + enc("AUTH", "pw"))
    time.sleep(0.3)
    s.recv(65536)
    st = cmdstats(c)
    assert st["set"] == (0, 1, 0)
    assert st["auth"] == (2, 0, 1)
    assert errstats(c) == {"NOAUTH": 1, "WRONGPASS": 1}
    c.execute_command("CONFIG", "SET", "requirepass", "")
    s.close()
    c.close()


MON_LINE = re.compile(rb'^\+(\d+)\.(\d{6}) \[0 127\.0\.0\.1:\d+\] (.*)$')


def read_lines(sock, n, timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    while buf.count(b"\r\n") < n:
        chunk = sock.recv(65536)
        assert chunk, buf
        buf += chunk
    lines = buf.split(b"\r\n")
    return lines[:n]


def test_monitor(r, synod):
    m = synod.sock()
    m.sendall(enc("MONITOR"))
    assert read_lines(m, 1) == [b"+OK"]
    rb = synod.client()
    rb.set("k", b'a\x00"\\\n\xff b')
    rb.get("k")
    rb.close()
    with pytest.raises(redis.ResponseError):
        r.execute_command("AUTH", "x")
    with pytest.raises(redis.ResponseError):
        r.execute_command("SET", "k")  # rejected: not shown
    r.execute_command("CONFIG", "GET", "hz")  # admin: not shown
    p = r.pipeline(transaction=True)
    p.set("q", "1")
    p.execute()
    lines = read_lines(m, 6)
    bodies = []
    for ln in lines:
        mm = MON_LINE.match(ln)
        assert mm, ln
        assert abs(int(mm.group(1)) - time.time()) < 60
        bodies.append(mm.group(3))
    assert bodies == [
        b'"SET" "k" "a\\x00\\"\\\\\\n\\xff b"', b'"GET" "k"', b'"AUTH" "(redacted)"',
        b'"MULTI"', b'"SET" "q" "1"', b'"EXEC"',
    ], bodies  # fmt: skip
    # a MONITOR client may not touch the keyspace, but runs other commands; QUIT ends it
    m.sendall(enc("GET", "k") + enc("PING"))
    got = read_lines(m, 3)
    assert got[0] == b"-ERR Replica can't interact with the keyspace"
    assert got[1] == b"+PONG" and MON_LINE.match(got[2]) and got[2].endswith(b'"PING"'), got
    assert "flags=O" in [x for x in r.execute_command("CLIENT", "LIST").splitlines()
                         if "cmd=ping" in x][0]  # fmt: skip
    m.sendall(enc("QUIT"))
    m.settimeout(5)
    data = b""
    while True:
        chunk = m.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data == b"+OK\r\n"
    m.close()
    r.set("after", "1")  # no monitor left: nothing to deliver, nothing breaks
    assert r.get("after") == "1"


def test_reset_leaves_monitor(r, synod):
    m = synod.sock()
    m.sendall(enc("MONITOR") + enc("RESET"))
    lines = read_lines(m, 2)
    assert lines == [b"+OK", b"+RESET"]
    m.sendall(enc("SET", "x", "1"))
    assert read_lines(m, 1) == [b"+OK"]
    m.close()


def test_monitor_scripts(r, synod):
    """EVAL is shown before the commands its script runs ("[0 lua]"), a read-only script's too;
    those commands count as calls."""
    r.execute_command("CONFIG", "RESETSTAT")
    m = synod.sock()
    m.sendall(enc("MONITOR"))
    assert read_lines(m, 1) == [b"+OK"]
    r.eval("redis.call('set', KEYS[1], ARGV[1])", 1, "foo", "bar")
    r.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "foo")
    lines = read_lines(m, 4)
    assert lines[0].endswith(b'"EVAL" "redis.call(\'set\', KEYS[1], ARGV[1])" "1" "foo" "bar"')
    assert re.match(rb'^\+\d+\.\d{6} \[0 lua\] "set" "foo" "bar"$', lines[1]), lines
    assert b'"EVAL_RO"' in lines[2], lines
    assert re.match(rb'^\+\d+\.\d{6} \[0 lua\] "get" "foo"$', lines[3]), lines
    st = cmdstats(r)
    assert st["set"] == (1, 0, 0) and st["get"] == (1, 0, 0), st
    assert st["eval"] == (1, 0, 0) and st["eval_ro"] == (1, 0, 0), st
    m.close()


def test_reply_skip_drops_a_writes_late_reply(synod, raw):
    """CLIENT REPLY SKIP covers the next request's reply even when it comes later (a write is
    answered when its entry applies), as Redis: the stats FIFO finds which reply it is."""
    s = synod.sock()
    s.sendall(enc("CLIENT", "REPLY", "SKIP") + enc("SET", "a", "1") + enc("PING") +
              enc("CLIENT", "REPLY", "OFF") + enc("INCR", "a") + enc("CLIENT", "REPLY", "ON") +
              enc("GET", "a"))  # fmt: skip
    replies, _ = raw.read(s, 3)
    assert replies == ["PONG", "OK", b"2"], replies
    s.close()


@pytest.mark.parametrize("proto", [2, 3])
def test_pubsub_confirmations_get_through_reply_off(r, synod, raw, proto):
    """Under CLIENT REPLY OFF a (P)SUBSCRIBE is still confirmed and messages still arrive (Redis
    7.0, either protocol), while other replies are dropped; the confirmation answers its request
    (commandstats), so a later reply is not taken for it."""
    r.execute_command("CONFIG", "RESETSTAT")
    s = synod.sock()
    if proto == 3:
        s.sendall(enc("HELLO", "3"))
        raw.read(s, 1)
    s.sendall(enc("CLIENT", "REPLY", "OFF") + enc("PSUBSCRIBE", "ch*") + enc("PING"))
    replies, _ = raw.read(s, 1)
    assert replies == [[b"psubscribe", b"ch*", 1]], replies
    r.publish("chan", "hi")
    replies, _ = raw.read(s, 1)
    assert replies == [[b"pmessage", b"ch*", b"chan", b"hi"]], replies
    s.sendall(enc("PUNSUBSCRIBE", "ch*") + enc("CLIENT", "REPLY", "ON") + enc("ECHO", "after"))
    replies, _ = raw.read(s, 3)  # no subscription left: CLIENT is allowed again
    assert replies[0] == [b"punsubscribe", b"ch*", 0], replies
    assert replies[1:] == ["OK", b"after"], replies
    assert cmdstats(r)["psubscribe"][0] == 1
    s.close()
