"""DEBUG with enable-debug-command yes, redis-server 7.0 vs synod, raw replies byte for byte.

synod has DEBUG SLEEP (a node held on purpose: tests of what a long command does to a cluster,
cluster/test_cluster_held.py) and DEBUG HELP; every other subcommand is unknown. Each side is a
server of its own, started with the option (the session's pair runs Redis's default, "no", where
both refuse DEBUG: test_compat_server's debug_module case). DEBUG HELP is left out: Redis lists
its ~40 subcommands."""

import shutil
import tempfile
import time

import pytest

from .conftest import TARGET, Server, redis_argv, synod_argv_fn
from .diff import show

pytestmark = pytest.mark.skipif(TARGET != "synod", reason="its own single servers of synod")

DEBUG_ON = ["--enable-debug-command", "yes"]

CASES = [
    ("DEBUG", "SLEEP", "0"),
    ("DEBUG", "sleep", "0.01"),
    ("DEBUG", "SLEEP", "abc"),  # strtod: 0 s
    ("DEBUG", "SLEEP", "-1"),
    ("DEBUG", "SLEEP", ""),
    ("DEBUG", "SLEEP"),
    ("DEBUG", "SLEEP", "0", "extra"),
    ("DEBUG", "NOSUCH", "x"),
    ("DEBUG",),
    ("MULTI",), ("DEBUG", "SLEEP", "0"), ("EXEC",),
    ("EVAL", "return redis.pcall('debug', 'sleep', '0')", "0"),
]


@pytest.fixture(scope="module")
def debug_servers():
    workdir = tempfile.mkdtemp(prefix="synod-compat-debug-")
    synod = synod_argv_fn()
    ref = Server("redis-debug", lambda p, d: redis_argv(p, d) + DEBUG_ON, workdir)
    tgt = Server("synod-debug", lambda p, d: synod(p, d) + DEBUG_ON, workdir)
    try:
        ref.start()
        tgt.start()
        yield ref, tgt
    finally:
        ref.stop()
        tgt.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_debug_replies_as_redis(debug_servers):
    ref, tgt = debug_servers
    a, b = ref.connect(), tgt.connect()
    try:
        for i, cmd in enumerate(CASES):
            r, t = a.call(*cmd), b.call(*cmd)
            assert r == t, "step %d %s: redis %s / synod %s" % (i, cmd, show(r), show(t))
    finally:
        a.close()
        b.close()


def test_debug_sleep_holds_the_whole_server(debug_servers):
    """While DEBUG SLEEP 0.3 runs, another connection's PING waits for it, on both."""
    for srv in debug_servers:
        a, b = srv.connect(), srv.connect()
        try:
            t0 = time.monotonic()
            a.send("DEBUG", "SLEEP", "0.3")
            time.sleep(0.05)
            assert b.call("PING") == b"+PONG\r\n"
            waited = time.monotonic() - t0
            assert a.read_reply(timeout=5) == b"+OK\r\n"
            assert waited >= 0.25, (srv.name, waited)
        finally:
            a.close()
            b.close()
