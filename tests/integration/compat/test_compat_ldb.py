"""Differential tests: the Lua debugger (SCRIPT DEBUG YES, redis-cli --ldb), synod against
redis-server 7.0. The same debugging sessions run against both: redis-cli's output (what a user
sees) must be the same line for line, and the raw protocol of a session byte for byte. Only
table and function addresses ("function@0x...") and the help text (synod's own wording) differ.
synod forks the session (server/ldb.c), as Redis does for SCRIPT DEBUG YES: the dataset changes
of a session are rolled back."""

import os
import re
import subprocess
import tempfile

import pytest

from .resp_raw import RawConn

SCRIPTS = {
    "steps": """local function f(n)
  return n * 2
end
local big = string.rep("x", 300)
redis.call("set", "big", big)
local r = redis.call("get", "big")
redis.setresp(3)
local m = redis.call("hgetall", KEYS[1])
local y = f(21)
redis.breakpoint()
local z = y + 1
return {y, z, redis.call("incr", "cnt")}
""",
    "errors": """redis.call("set", "str", "x")
local ok = redis.pcall("lpush", "str", "y")
redis.debug("pcall gave", ok, {1, 2, {a = true}}, nil, 1.5)
redis.call("set")
return 1
""",
    "arrays": """local t = redis.call("lrange", KEYS[1], 0, -1)
local n = redis.call("get", "nosuch")
local s = redis.call("smembers", "nosuch")
return {#t, n}
""",
}

# (script, stdin lines): every debugger command, each kind of stop, errors
SESSIONS = [
    ("steps", ["n"] * 8 + ["t", "e f(3)", "e 1+", "e KEYS[1]", "e x = 1", "l", "l 3 1", "l 0 0",
                           "w", "m", "m 10", "p big", "m 0", "p big", "m -3", "p", "c", "c"]),
    ("steps", ["c", "c"]),
    ("steps", ["b 9", "b", "b -9", "b -9", "b 0", "b 100", "b x", "b 2 11", "c", "p", "c"]),
    ("steps", ["foo", "r", "r ping", "r set", "r hgetall h", "s", "p nosuch", "p KEYS", "p ARGV",
               "c", "c"]),
    ("steps", ["a"]),
    ("errors", ["s", "s", "s", "s", "s"]),
    ("arrays", ["s", "s", "s", "s"]),
]

ADDR = re.compile(r"(function|table|userdata|thread)@0x[0-9a-f]+")
COLOR = re.compile(r"\x1b\[[0-9;]*m")


def _cli(port, script_path, lines, resp3=False):
    argv = ["redis-cli", "-p", str(port), "--no-raw"] + (["-3"] if resp3 else [])
    argv += ["--ldb", "--eval", script_path, "h", ",", "arg1"]
    out = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True,
                         timeout=30).stdout  # fmt: skip
    return ADDR.sub(r"\1@X", COLOR.sub("", out))


def _prepare(port):
    c = RawConn("127.0.0.1", port)
    try:
        for cmd in (("FLUSHALL",), ("HSET", "h", "f", "v"), ("RPUSH", "h2", "a", "b")):
            c.call(*cmd)
    finally:
        c.close()


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("n", range(len(SESSIONS)))
def test_redis_cli_ldb_sessions(servers, n, resp3):
    """redis-cli --ldb --eval: the same session against both servers prints the same lines
    (stops, source listings, <redis>/<reply>/<error>/<value>/<debug> lines, breakpoints,
    trace, eval, maxlen, abort, the final reply) and leaves the dataset as it was."""
    ref, tgt = servers
    name, lines = SESSIONS[n]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, name + ".lua")
        with open(path, "w") as f:
            f.write(SCRIPTS[name])
        outs = []
        for s in (ref, tgt):
            _prepare(s.port)
            outs.append(_cli(s.port, path, lines, resp3))
            c = RawConn("127.0.0.1", s.port)
            try:  # rolled back: the session's SET big / INCR cnt are not there
                assert c.call("EXISTS", "big", "cnt", "str") == b":0\r\n", s.name
            finally:
                c.close()
    assert outs[1] == outs[0]
    assert "* Stopped at" in outs[0]


def _session_bytes(port, steps):
    """A raw session: each step's bytes sent, then the raw replies it gets (n of them), and at
    the end whether the server closed the connection."""
    c = RawConn("127.0.0.1", port, timeout=10)
    got = []
    try:
        for raw, n in steps:
            c.send_raw(raw)
            got.append([c.read_reply() for _ in range(n)])
        got.append(c.drain(quiet_s=0.2, max_s=2)[1])
    finally:
        c.close()
    return got


def test_raw_debugging_protocol(servers):
    """The protocol byte for byte: SCRIPT DEBUG's replies and errors, the arrays of simple
    strings a stop sends, an unknown debugger command, the end of session ("<endsession>"),
    the EVAL reply after it and the connection's end; a malformed debugger command ends the
    session with an error."""
    ref, tgt = servers
    body = b"local a = 1\nredis.debug(a, 'two')\nreturn redis.call('ping')\n"
    eval_cmd = b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(body), body)
    debug_yes = b"*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$3\r\nyes\r\n"
    steps = [
        (b"*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$5\r\nmaybe\r\n", 1),
        (debug_yes, 1),
        (eval_cmd, 1),
        (b"*1\r\n$1\r\ns\r\n", 1),
        (b"*2\r\n$1\r\nl\r\n$1\r\n0\r\n", 1),
        (b"*1\r\n$11\r\nhello\x00world\r\n", 1),
        (b"*1\r\n$1\r\ns\r\n", 1),
        (b"*1\r\n$1\r\nc\r\n", 2),
    ]
    assert _session_bytes(tgt.port, steps) == _session_bytes(ref.port, steps)
    bad = [(debug_yes, 1), (eval_cmd, 1), (b"$1\r\nx\r\n", 2)]
    assert _session_bytes(tgt.port, bad) == _session_bytes(ref.port, bad)


def test_script_debug_errors(servers):
    """EVALSHA in a session, SCRIPT DEBUG inside a pipeline or a transaction, SCRIPT DEBUG NO;
    SYNC is synod's own refusal (a synchronous session would stop the node and cannot be
    replicated)."""
    ref, tgt = servers
    sha_steps = [
        (b"*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$3\r\nyes\r\n", 1),
        (b"*3\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n0\r\n", 1),
        (b"*3\r\n$7\r\nEVALSHA\r\n$40\r\n" + b"a" * 40 + b"\r\n$1\r\n0\r\n", 1),
        (b"*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$2\r\nno\r\n", 1),
        (b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 7\r\n$1\r\n0\r\n", 1),
        (b"*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$3\r\nyes\r\n", 2),
        (b"*1\r\n$5\r\nMULTI\r\n", 1),
        (b"*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$3\r\nyes\r\n", 1),
        (b"*1\r\n$4\r\nEXEC\r\n", 1),
        (b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 7\r\n$1\r\n0\r\n", 1),
    ]
    assert _session_bytes(tgt.port, sha_steps) == _session_bytes(ref.port, sha_steps)
    c = RawConn("127.0.0.1", tgt.port)
    try:
        r = c.call("SCRIPT", "DEBUG", "SYNC")
        assert r.startswith(b"-ERR SCRIPT DEBUG SYNC is not supported by synod"), r
        assert c.call("EVAL", "return 7", "0") == b":7\r\n"  # no session after the refusal
    finally:
        c.close()
