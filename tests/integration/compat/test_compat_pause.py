"""CLIENT PAUSE WRITE compared with redis-server 7.0: which commands it holds (Redis's write and
may-replicate commands: writes, PFCOUNT, PUBLISH, write scripts, FUNCTION changes, transactions
holding one of them) and which run at once (reads, read-only scripts, arity errors), what INFO
blocked_clients says while they wait (Redis counts a held client as blocked), and the replies
once CLIENT UNPAUSE lets them go."""

import re

import pytest

from .resp_raw import encode_command

WRITE_FN = ("FUNCTION", "LOAD", "REPLACE",
            "#!lua name=pauselib\n"
            "redis.register_function('pw', function(k, a) return redis.call('SET', k[1], 'f') end)\n"
            "redis.register_function{function_name='pr', callback=function(k, a) return 'ro' end,"
            " flags={'no-writes'}}")

# (name, setup commands, the request sent while paused as a list of commands, held by Redis?)
CASES = [
    ("set", [], [("SET", "k", "v")], True),
    ("set_arity_error", [], [("SET", "k")], False),
    ("get", [("SET", "k", "1")], [("GET", "k")], False),
    ("ping", [], [("PING",)], False),
    ("incr", [], [("INCR", "n")], True),
    ("pfcount", [("PFADD", "h", "a", "b")], [("PFCOUNT", "h")], True),
    ("publish", [], [("PUBLISH", "ch", "m")], True),
    ("eval_no_shebang", [], [("EVAL", "return 1", "0")], True),
    ("eval_shebang_writes", [], [("EVAL", "#!lua\nreturn 2", "0")], True),
    ("eval_no_writes", [], [("EVAL", "#!lua flags=no-writes\nreturn 3", "0")], False),
    ("eval_ro", [("SET", "x", "y")], [("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "x")],
     False),
    ("fcall_write", [WRITE_FN], [("FCALL", "pw", "1", "fk")], True),
    ("fcall_no_writes", [WRITE_FN], [("FCALL", "pr", "0")], False),
    ("fcall_ro", [WRITE_FN], [("FCALL_RO", "pr", "0")], False),
    ("function_delete", [], [("FUNCTION", "DELETE", "nolib")], True),
    ("exec_with_write", [], [("MULTI",), ("SET", "t", "1"), ("EXEC",)], True),
    ("exec_reads_only", [("SET", "t", "1")], [("MULTI",), ("GET", "t"), ("EXEC",)], False),
    ("exec_with_write_script", [], [("MULTI",), ("EVAL", "#!lua\nreturn 12", "0"), ("EXEC",)],
     True),
    ("exec_with_no_writes_script", [],
     [("MULTI",), ("EVAL", "#!lua flags=no-writes\nreturn 13", "0"), ("EXEC",)], False),
]


def _blocked(conn):
    info = conn.call("INFO", "clients").decode()
    return int(re.search(r"blocked_clients:(\d+)", info).group(1))


def _run(connect, side, setup, request):
    ctl, cl = connect(side), connect(side)
    for cmd in [("FUNCTION", "FLUSH")] + setup:
        r = ctl.call(*cmd)
        assert not r.startswith(b"-"), (side, cmd, r)
    # MULTI and what it queues are answered before the pause; EXEC (the last) is what waits
    for cmd in request[:-1]:
        cl.call(*cmd)
    assert ctl.call("CLIENT", "PAUSE", "20000", "WRITE") == b"+OK\r\n"
    try:
        cl.send_raw(encode_command(*request[-1]))
        early, _ = cl.drain(quiet_s=0.25, max_s=2.0)
        blocked = _blocked(ctl)
    finally:
        assert ctl.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
    late = b"" if early else cl.read_reply(5.0)
    return {"answered while paused": early, "blocked_clients": blocked, "after": late,
            "reply": early + late}


@pytest.mark.parametrize("name,setup,req,held", CASES, ids=[c[0] for c in CASES])
def test_pause_write_holds_as_redis(connect, name, setup, req, held):
    ref = _run(connect, "ref", setup, req)
    tgt = _run(connect, "tgt", setup, req)
    assert (ref["answered while paused"] == b"") == held, ("redis itself", ref)
    assert ref["blocked_clients"] == (1 if held else 0), ("redis itself", ref)
    assert tgt == ref, "redis %r / synod %r" % (ref, tgt)


def test_pause_holds_several_clients_in_order(connect):
    """Three clients' writes wait; blocked_clients counts all three; UNPAUSE answers each."""
    out = []
    for side in ("ref", "tgt"):
        ctl = connect(side)
        cls = [connect(side) for _ in range(3)]
        assert ctl.call("CLIENT", "PAUSE", "20000", "WRITE") == b"+OK\r\n"
        for i, c in enumerate(cls):
            c.send("SET", "q", str(i))
        early = [c.drain(quiet_s=0.3, max_s=1.0)[0] for c in cls]
        blocked = _blocked(ctl)
        assert ctl.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        late = [c.read_reply() for c in cls]
        out.append((early, blocked, late, _blocked(ctl)))
    assert out[0] == (([b""] * 3), 3, [b"+OK\r\n"] * 3, 0), out[0]
    assert out[1] == out[0], "redis %r / synod %r" % tuple(out)
