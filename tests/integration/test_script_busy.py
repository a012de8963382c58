"""Script timeouts (busy-reply-threshold / lua-time-limit), -BUSY, SCRIPT KILL, FUNCTION KILL,
UNKILLABLE, NOTBUSY, and the OOM refusal of scripts, on one node (docs/scripting.md).

A read-only run (EVAL_RO, a no-writes script or function) may be killed; so may a write script
before its first data command (its prelude, on the client's node, before anything is logged);
after that it runs from the log on every replica and never is (UNKILLABLE). Every busy script here is bounded, so a
broken kill makes a test fail, not hang."""

import socket
import threading
import time

import pytest
import redis

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNC = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
SPIN = "local n = tonumber(ARGV[1]) local i = 0 while i < n do i = i + 1 end return i"
LIB = """#!lua name=busylib
redis.register_function{function_name='spin_ro', callback=function(k, a)
  local n, i = tonumber(a[1]), 0 while i < n do i = i + 1 end return i
end, flags={'no-writes'}}
redis.register_function('spin_w', function(k, a)
  local n, i = tonumber(a[1]), 0 while i < n do i = i + 1 end return i
end)
"""
FOREVER = "2000000000"  # tens of seconds of Lua: only a kill ends it within the test


def err(c, *args):
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command(*args)
    return str(e.value)


class Bg:
    """A command on its own connection, in a thread; .result() is its reply or error text."""

    def __init__(self, synod, *args):
        self.c = redis.Redis(host=synod.host, port=synod.port, decode_responses=True,
                             socket_timeout=60)
        self.out = []
        self.t = threading.Thread(target=self._run, args=args, daemon=True)
        self.t.start()

    def _run(self, *args):
        try:
            self.out.append(self.c.execute_command(*args))
        except redis.ResponseError as e:
            self.out.append("ERR:" + str(e))

    def result(self, timeout=30):
        self.t.join(timeout)
        assert not self.t.is_alive(), "the script did not end"
        return self.out[0]


def wait_busy(c, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c.ping()
        except redis.ResponseError as e:
            if str(e).startswith("BUSY"):
                return str(e)
            raise
        time.sleep(0.02)
    raise AssertionError("the node never answered BUSY")


@pytest.fixture
def c(r):
    r.config_set("busy-reply-threshold", 50)
    return r


def test_config_alias(r):
    assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "5000"}
    assert r.config_get("lua-time-limit") == {"lua-time-limit": "5000"}
    r.config_set("lua-time-limit", 123)
    assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "123"}
    assert "argument couldn't be parsed" in err(r, "CONFIG", "SET", "busy-reply-threshold", "-1") \
        or "must be" in err(r, "CONFIG", "SET", "busy-reply-threshold", "-1")


def test_notbusy(r):
    assert err(r, "SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."
    assert err(r, "FUNCTION", "KILL") == "NOTBUSY No scripts in execution right now."


def test_script_kill_read_only_eval(c, synod):
    bg = Bg(synod, "EVAL_RO", SPIN, "0", FOREVER)
    assert wait_busy(c) == BUSY_EVAL
    assert err(c, "GET", "x") == BUSY_EVAL
    assert err(c, "FUNCTION", "KILL") == BUSY_EVAL  # not a function
    assert err(c, "FUNCTION", "STATS") == BUSY_EVAL
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    res = bg.result()
    assert res.startswith("ERR:Script killed by user with SCRIPT KILL... script: ")
    assert res.endswith(", on @user_script:1.")
    assert c.ping() is True
    assert err(c, "SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."


def test_script_kill_through_pcall(c, synod):
    body = ("#!lua flags=no-writes\nlocal f = function() while 1 do redis.call('ping') end end "
            "while 1 do pcall(f) end")
    bg = Bg(synod, "EVAL", body, "0")
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    assert "killed by user" in bg.result()
    assert c.ping() is True


def test_function_kill_and_stats(c, synod):
    c.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    bg = Bg(synod, "FCALL_RO", "spin_ro", "0", FOREVER)
    assert wait_busy(c) == BUSY_FUNC
    assert err(c, "SCRIPT", "KILL") == BUSY_FUNC  # not an EVAL
    st = c.execute_command("FUNCTION", "STATS")
    assert st[0] == "running_script"
    run = dict(zip(st[1][0::2], st[1][1::2]))
    assert run["name"] == "spin_ro" and run["command"] == ["FCALL_RO", "spin_ro", "0", FOREVER]
    assert run["duration_ms"] >= 50
    assert c.execute_command("FUNCTION", "KILL") == "OK"
    assert bg.result() == "ERR:Script killed by user with SCRIPT KILL... script: spin_ro, on " \
                          "@user_function:3."
    st = c.execute_command("FUNCTION", "STATS")
    assert st[0] == "running_script" and st[1] is None


def test_write_script_is_unkillable(c, synod):
    # a write script is applied from the log: never killed, it ends by itself
    bg = Bg(synod, "EVAL", "redis.call('set', KEYS[1], 'y') " + SPIN, "1", "k", "60000000")
    wait_busy(c)
    e = err(c, "SCRIPT", "KILL")
    assert e.startswith("UNKILLABLE Sorry the script already executed write commands")
    assert bg.result() == 60000000
    assert c.get("k") == "y"
    # past its first data command (a read) it runs from the log all the same (Redis would kill
    # it: it has not written)
    bg = Bg(synod, "EVAL", "redis.call('get', KEYS[1]) " + SPIN, "1", "k", "60000000")
    wait_busy(c)
    assert err(c, "SCRIPT", "KILL").startswith("UNKILLABLE The busy script is a write script")
    assert bg.result() == 60000000


def test_write_script_killed_before_its_first_data_command(c, synod):
    """The prelude: a write script runs on the client's node until its first data command, before
    anything is logged; meanwhile it is killable, as Redis kills a script that has not written."""
    applied = int(c.info("consensus")["last_applied"])
    loop = SPIN.replace(" return i", " redis.call('set', 'never', 'x') return i")
    bg = Bg(synod, "EVAL", loop, "0", FOREVER)
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    out = bg.result()
    assert out.startswith("ERR:Script killed by user with SCRIPT KILL... script: "), out
    assert c.exists("never") == 0
    # pcall cannot catch the end of a prelude: the logged run writes once, from the start
    assert c.execute_command("EVAL", "local ok = pcall(redis.call, 'incr', KEYS[1]) "
                             "return redis.call('get', KEYS[1])", "1", "cnt") == "1"  # fmt: skip
    # a script that ends before any data command is answered by its prelude: nothing logged
    mid = int(c.info("consensus")["last_applied"])
    assert c.execute_command("EVAL", "return {1, redis.call('ping'), ARGV[1]}", "0", "a") == \
        [1, "PONG", "a"]  # fmt: skip
    assert err(c, "EVAL", "return redis.error_reply('boom')", "0") == "boom"
    assert int(c.info("consensus")["last_applied"]) == mid
    assert mid > applied  # the INCR script was logged
    c.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    bg = Bg(synod, "FCALL", "spin_w", "0", FOREVER)
    wait_busy(c)
    assert c.execute_command("FUNCTION", "KILL") == "OK"
    assert bg.result().startswith("ERR:Script killed by user with SCRIPT KILL... script: spin_w")


def test_prelude_killed_behind_a_pending_write(c, synod, raw):
    # pipelined behind a write still in flight: the prelude is killed all the same, and the
    # kill's error is logged in its place, so the replies keep their order
    s = synod.sock()
    s.sendall(b"*3\r\n$3\r\nSET\r\n$2\r\npk\r\n$1\r\nv\r\n"
              b"*4\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n$10\r\n%s\r\n"
              b"*1\r\n$4\r\nPING\r\n" % (len(SPIN), SPIN.encode(), FOREVER.encode()))
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    (a, b, d), _ = raw.read(s, 3)
    assert a == "OK"
    assert b[0] == "err" and b[1].startswith("ERR Script killed by user with SCRIPT KILL"), b
    assert d == "PONG"
    s.close()


def test_caller_pipeline_order(c, synod, raw):
    # the caller's pipelined PING is answered after its script, not with -BUSY before it
    s = synod.sock()
    s.sendall(b"*4\r\n$7\r\nEVAL_RO\r\n$%d\r\n%s\r\n$1\r\n0\r\n$9\r\n%s\r\n*1\r\n$4\r\nPING\r\n"
              % (len(SPIN), SPIN.encode(), FOREVER.encode()))
    wait_busy(c)
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    (a, b), _ = raw.read(s, 2)
    assert a[0] == "err" and "killed by user" in a[1]
    assert b == "PONG"
    s.close()


def test_transactions_while_busy(c, synod):
    c.set("xx", 1)
    r2 = redis.Redis(host=synod.host, port=synod.port, decode_responses=True)
    # MULTI passes, the commands queued meanwhile doom the transaction
    bg = Bg(synod, "EVAL_RO", SPIN, "0", FOREVER)
    wait_busy(c)
    assert r2.execute_command("MULTI") == "OK"
    assert err(r2, "INCR", "xx") == BUSY_EVAL
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    bg.result()
    assert r2.execute_command("INCR", "xx") == "QUEUED"
    assert err(r2, "EXEC") == "Transaction discarded because of previous errors."
    assert r2.execute_command("ECHO", "asdf") == "asdf"
    # EXEC while busy: aborted, out of MULTI
    assert r2.execute_command("MULTI") == "OK"
    assert r2.execute_command("INCR", "xx") == "QUEUED"
    bg = Bg(synod, "EVAL_RO", SPIN, "0", FOREVER)
    wait_busy(c)
    assert err(r2, "EXEC") == "Transaction discarded because of: " + BUSY_EVAL
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    bg.result()
    assert r2.execute_command("ECHO", "asdf") == "asdf"
    assert c.get("xx") == "1"


def test_new_connections_and_errors_while_busy(c, synod):
    bg = Bg(synod, "EVAL_RO", SPIN, "0", FOREVER)
    wait_busy(c)
    # a connection made while the script runs is accepted and answered
    r3 = redis.Redis(host=synod.host, port=synod.port, decode_responses=True, socket_timeout=5)
    assert err(r3, "PING") == BUSY_EVAL
    assert err(r3, "NOSUCH").startswith("unknown command 'NOSUCH'")
    assert err(r3, "GET") == "wrong number of arguments for 'get' command"
    assert c.execute_command("SCRIPT", "KILL") == "OK"
    bg.result()
    assert r3.ping() is True


def test_threshold_zero_never_busy(r, synod):
    r.config_set("busy-reply-threshold", 0)
    bg = Bg(synod, "EVAL_RO", SPIN, "0", "50000000")
    time.sleep(0.05)
    r2 = redis.Redis(host=synod.host, port=synod.port, decode_responses=True, socket_timeout=30)
    assert r2.ping() is True  # waited for the script instead of getting -BUSY
    assert bg.result() == 50000000


OOM = "OOM command not allowed when used memory > 'maxmemory'."


def test_oom_scripts(r):
    r.set("x", "1")
    r.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    r.config_set("maxmemory", 1)
    try:
        # a script without shebang fails at its first deny-oom command, if it wrote nothing
        e = err(r, "EVAL", "redis.call('set', 'x', '2')", "0")
        assert e.startswith(OOM + " script: ") and e.endswith(", on @user_script:1.")
        assert r.execute_command("EVAL", "return redis.call('get', 'x')", "0") == "1"
        assert err(r, "EVAL", "return redis.pcall('incr', 'x')", "0") == OOM
        # DEL is a write that is not deny-oom: after it the script may grow memory
        assert r.execute_command("EVAL", "redis.call('del', 'y') return redis.pcall('set', "
                                 "'x', '3')", "0") == "OK"
        # a shebang without no-writes / allow-oom, a function without them: refused at once
        assert err(r, "EVAL", "#!lua\nreturn 1", "0") == OOM
        assert err(r, "FCALL", "spin_w", "0", "1") == OOM
        assert err(r, "FUNCTION", "LOAD", "REPLACE", LIB) == OOM
        assert r.execute_command("EVAL", "#!lua flags=no-writes\nreturn 1", "0") == 1
        assert r.execute_command("FCALL", "spin_ro", "0", "1") == 1
        assert r.execute_command("EVAL", "#!lua flags=allow-oom\nredis.call('set', 'x', '4') "
                                 "return 1", "0") == 1
        assert r.execute_command("EVAL_RO", "return 1", "0") == 1
    finally:
        r.config_set("maxmemory", 0)
    assert r.get("x") == "4"
    assert r.execute_command("EVAL", "redis.call('set', 'x', '5')", "0") is None
