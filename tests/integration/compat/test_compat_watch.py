"""Differential tests: WATCH / UNWATCH across two connections vs redis-server 7.0, RESP2 and
RESP3, with the two-connection harness of test_compat_pubsub: "s" watches and runs the
transactions, "p" writes. Which transactions EXEC runs (an array) and which it aborts (a null)
shows what each server still watched: DISCARD, an EXECABORT and EXEC itself forget the watched
keys; a MULTI with wrong arguments inside a transaction dooms it."""

import time

import pytest

from .test_compat_pubsub import compare, fresh, run_side_steps

SCENARIOS = [
    (
        "watch_basics",
        [
            ("s", "WATCH", "k"),
            ("p", "SET", "k", "1"),
            ("s", "MULTI"),
            ("s", "SET", "x", "1"),
            ("s", "EXEC"),  # k changed: aborted
            ("s", "MULTI"),
            ("s", "SET", "x", "2"),
            ("s", "EXEC"),  # EXEC forgot the watch: runs
            ("s", "WATCH", "k", "k2"),
            ("s", "UNWATCH"),
            ("p", "SET", "k", "2"),
            ("s", "MULTI"),
            ("s", "GET", "x"),
            ("s", "EXEC"),
            ("s", "WATCH", "k2"),
            ("p", "DEL", "k2"),  # nothing deleted: no change
            ("p", "SET", "k", "3"),
            ("s", "MULTI"),
            ("s", "GET", "k"),
            ("s", "EXEC"),
        ],
    ),
    (
        "discard_and_abort_forget_watches",
        [
            ("s", "WATCH", "k"),
            ("s", "MULTI"),
            ("s", "DISCARD"),
            ("p", "SET", "k", "1"),
            ("s", "MULTI"),
            ("s", "SET", "x", "1"),
            ("s", "EXEC"),  # DISCARD unwatched: runs
            ("s", "WATCH", "k"),
            ("s", "MULTI"),
            ("s", "NOSUCHCOMMAND"),
            ("s", "EXEC"),  # EXECABORT
            ("p", "SET", "k", "2"),
            ("s", "MULTI"),
            ("s", "SET", "x", "2"),
            ("s", "EXEC"),  # the EXECABORT unwatched: runs
            ("s", "WATCH", "k"),
            ("s", "MULTI"),
            ("s", "EXEC", "extra"),  # wrong arity: aborts at once
            ("p", "SET", "k", "3"),
            ("s", "MULTI"),
            ("s", "SET", "x", "3"),
            ("s", "EXEC"),
            ("p", "GET", "x"),
        ],
    ),
    (
        # a WATCH taken right after a SWAPDB (nothing applied in between) is not touched by
        # it; one taken before it is
        "watch_right_after_swapdb",
        [
            ("p", "SET", "k", "1"),
            ("p", "SWAPDB", "0", "1"),
            ("s", "SELECT", "1"),
            ("s", "WATCH", "k"),
            ("s", "MULTI"),
            ("s", "SET", "x", "1"),
            ("s", "EXEC"),  # runs
            ("s", "WATCH", "k"),
            ("p", "SWAPDB", "0", "1"),
            ("s", "MULTI"),
            ("s", "SET", "x", "2"),
            ("s", "EXEC"),  # aborted: k moved away
        ],
    ),
    (
        "bad_arity_inside_multi_dooms_it",
        [
            ("s", "MULTI"),
            ("s", "MULTI", "extra"),
            ("s", "SET", "y", "1"),
            ("s", "EXEC"),
            ("s", "MULTI"),
            ("s", "MULTI"),  # nested: an error, the transaction goes on
            ("s", "SET", "y", "3"),
            ("s", "EXEC"),
            ("p", "GET", "y"),
        ],
    ),
]


@pytest.mark.parametrize("proto", ["2", "3"])
@pytest.mark.parametrize("name,steps", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_watch(servers, name, steps, proto):
    ref, tgt = fresh(servers)
    compare(run_side_steps(ref, steps, proto), run_side_steps(tgt, steps, proto), proto, name)


def test_watched_key_that_expires_before_exec(servers):
    """A key live when watched that expires before EXEC aborts it (Redis 7.0: EXEC checks
    whether a watched key expired since), also while nothing has deleted it yet: CLIENT PAUSE
    WRITE holds expiry back on both servers (synod's leader logs no delete while paused), so at
    EXEC the key is expired but still there."""
    got = []
    for server in fresh(servers):
        s, p = server.connect(), server.connect()
        try:
            assert p.call("SET", "e", "v", "PX", "150") == b"+OK\r\n"
            assert s.call("WATCH", "e") == b"+OK\r\n"
            assert p.call("CLIENT", "PAUSE", "10000", "WRITE") == b"+OK\r\n"
            deadline = time.monotonic() + 5
            while p.call("PTTL", "e") != b":-2\r\n":  # expired (not deleted: paused)
                assert time.monotonic() < deadline, "the key did not expire"
                time.sleep(0.01)
            got.append([s.call(*cmd) for cmd in (("MULTI",), ("GET", "x"), ("EXEC",))])
        finally:
            p.call("CLIENT", "UNPAUSE")
            s.close()
            p.close()
    assert got[0] == got[1] == [b"+OK\r\n", b"+QUEUED\r\n", b"*-1\r\n"], got
