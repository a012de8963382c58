"""Differential tests: client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO)
vs redis-server 7.0, RESP2 and RESP3, with the two-connection harness of test_compat_pubsub:
"s" tracks (or receives the redirected invalidations), "p" writes. After each step both
connections are read up to a PING barrier, so an invalidation that is missing, extra, late or
framed differently (RESP3 push, RESP2 __redis__:invalidate message) is a mismatch.

Client ids differ between the two servers: a step says "$S" for the id of "s", which "p" redirects
to (each side uses its own).
"""

import pytest

from .diff import show
from .resp_raw import encode_command
from .test_compat_pubsub import compare, fresh, run_side_steps, sync

SCENARIOS = [
    (
        "default_mode_self",  # RESP3 only gets pushes on its own connection
        [
            ("s", "CLIENT", "TRACKING", "on"),
            ("p", "SET", "k1", "a"),
            ("s", "GET", "k1"),
            ("s", "MGET", "k2", "k3"),
            ("p", "SET", "k1", "b"),
            ("p", "SET", "k1", "c"),  # forgotten after the first invalidation
            ("p", "MSET", "k2", "x", "k3", "y"),
            ("s", "SET", "k4", "v"),
            ("s", "GET", "k4"),
            ("s", "DEL", "k4"),  # its own write: invalidated after the reply
            ("s", "CLIENT", "GETREDIR"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("s", "CLIENT", "TRACKING", "off"),
            ("s", "CLIENT", "GETREDIR"),
            ("s", "CLIENT", "TRACKINGINFO"),
        ],
    ),
    (
        "redirect_bcast_prefixes",
        [
            ("s", "SUBSCRIBE", "__redis__:invalidate"),
            ("p", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "$S", "PREFIX", "a:", "PREFIX",
             "b:"),
            ("p", "MSET", "a:1", "1", "b:1", "1", "c:1", "1"),
            ("p", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"),
            ("p", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "xy"),
            ("p", "CLIENT", "TRACKING", "on", "PREFIX", "x"),
            ("p", "CLIENT", "TRACKING", "on"),
            ("p", "CLIENT", "TRACKING", "off"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "$S", "NOLOOP"),
            ("p", "GET", "n1"),
            ("p", "SET", "n1", "mine"),
            ("p", "GET", "n1"),
            ("p", "FLUSHALL"),
        ],
    ),
    (
        "scripts_that_read",  # the declared keys of a script that called a read-only command
        [
            ("s", "CLIENT", "TRACKING", "on"),
            ("s", "EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"),
            ("p", "MSET", "k1", "1", "k2", "1"),
            ("s", "EVAL", "redis.call('get', 'k3')", "2", "k1", "k2"),
            ("p", "MSET", "k2", "2", "k1", "2"),
            ("s", "EVAL_RO", "redis.call('ping')", "2", "k1", "k2"),
            ("p", "MSET", "k2", "3", "k1", "3"),
            ("s", "EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k1"),
            ("p", "SET", "k1", "4"),
            ("s", "CLIENT", "TRACKING", "off"),
            ("s", "CLIENT", "TRACKING", "on", "OPTIN"),
            ("s", "EVAL", "return redis.call('get', KEYS[1])", "1", "k5"),
            ("p", "SET", "k5", "1"),
            ("s", "CLIENT", "CACHING", "yes"),
            ("s", "EVAL", "return redis.call('get', KEYS[1])", "1", "k6"),
            ("p", "SET", "k6", "1"),
        ],
    ),
    (
        "reads_in_multi",
        [
            ("s", "SUBSCRIBE", "__redis__:invalidate"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "$S"),
            ("p", "MULTI"),
            ("p", "GET", "m1"),
            ("p", "MGET", "m2", "m3"),
            ("p", "EXEC"),
            ("p", "MSET", "m1", "1", "m3", "3"),
        ],
    ),
    (
        "optin_optout_errors",
        [
            ("p", "CLIENT", "CACHING", "yes"),
            ("p", "CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
            ("p", "CLIENT", "TRACKING", "on", "BCAST", "OPTIN"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "999999"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "abc"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "+999999"),  # not an integer to Redis
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", "0999999"),
            ("p", "CLIENT", "TRACKING", "on", "REDIRECT", " 999999"),
            ("p", "CLIENT", "TRACKING", "maybe"),
            ("p", "CLIENT", "TRACKING", "on", "FOO"),
            ("s", "SUBSCRIBE", "__redis__:invalidate"),
            ("p", "CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", "$S"),
            ("p", "CLIENT", "CACHING", "no"),
            ("p", "CLIENT", "TRACKING", "on", "OPTOUT"),
            ("p", "GET", "o1"),
            ("p", "CLIENT", "CACHING", "yes"),
            ("p", "GET", "o2"),
            ("p", "SET", "o1", "1"),
            ("p", "SET", "o2", "1"),
        ],
    ),
    (
        # TRACKINGINFO's flags in every mode; CLIENT CACHING yes holds for a whole transaction
        "trackinginfo_modes_and_caching_in_multi",
        [
            ("s", "CLIENT", "TRACKING", "on", "OPTIN"),
            ("s", "CLIENT", "CACHING", "yes"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("s", "MULTI"),
            ("s", "GET", "c1"),
            ("s", "GET", "c2"),
            ("s", "EXEC"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("p", "SET", "c1", "1"),
            ("p", "SET", "c2", "1"),
            ("s", "CLIENT", "TRACKING", "off"),
            ("s", "CLIENT", "TRACKING", "on", "OPTOUT", "NOLOOP"),
            ("s", "CLIENT", "CACHING", "no"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("s", "GET", "c3"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("p", "SET", "c3", "1"),
            ("s", "CLIENT", "TRACKING", "off"),
            ("s", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "q:", "PREFIX", "r:", "NOLOOP"),
            ("s", "CLIENT", "TRACKINGINFO"),
            ("s", "CLIENT", "TRACKING", "off"),
        ],
    ),
    (
        # FLUSHALL forgets every tracked key; BCAST NOLOOP skips the client's own writes; a
        # table at tracking-table-max-keys keeps its keys, one past it drops one (RESP3: the
        # pushes come on the tracking connection itself)
        "flush_noloop_bcast_and_table_bound",
        [
            ("s", "CLIENT", "TRACKING", "on"),
            ("s", "GET", "f1"),
            ("p", "FLUSHALL"),  # a null invalidation, and f1 is tracked no more
            ("p", "SET", "f1", "1"),  # nothing
            ("s", "CLIENT", "TRACKING", "off"),
            ("s", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "q:", "NOLOOP"),
            ("s", "SET", "q:1", "mine"),  # its own write: nothing
            ("p", "SET", "q:1", "theirs"),
            ("s", "CLIENT", "TRACKING", "off"),
            ("p", "CONFIG", "SET", "tracking-table-max-keys", "1"),
            ("s", "CLIENT", "TRACKING", "on"),
            ("s", "GET", "g1"),  # one key: within the bound, kept
            ("p", "SET", "g1", "1"),  # so its write invalidates it
            ("p", "CONFIG", "SET", "tracking-table-max-keys", "1000000"),
        ],
    ),
]


@pytest.mark.parametrize("proto", ["2", "3"])
@pytest.mark.parametrize("name,steps", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_tracking(servers, name, steps, proto):
    ref, tgt = fresh(servers)
    compare(run_side_steps(ref, steps, proto), run_side_steps(tgt, steps, proto), proto, name)


CACHING_PIPELINE = [
    ("CLIENT", "TRACKING", "on", "OPTIN"), ("CLIENT", "CACHING", "yes"), ("MULTI",),
    ("GET", "c1"), ("GET", "c2"), ("EXEC",), ("GET", "c3"), ("CLIENT", "CACHING", "yes"),
    ("CLIENT", "TRACKINGINFO"), ("GET", "c4"), ("CLIENT", "CACHING", "yes"), ("MULTI",),
    ("DISCARD",), ("GET", "c5"), ("CLIENT", "TRACKING", "off"),
    ("CLIENT", "TRACKING", "on", "OPTOUT"), ("CLIENT", "CACHING", "no"),
    ("CLIENT", "TRACKINGINFO"), ("GET", "c6"), ("GET", "c7"),
]  # fmt: skip


def test_caching_flag_lifetime(servers):
    """CLIENT CACHING yes|no holds for the next command, or for a whole MULTI ... EXEC, and
    survives other CLIENT commands (TRACKINGINFO shows it): sent as one pipeline (a PING
    between the commands would consume it), then which keys get invalidated is compared."""
    got = []
    for server in servers:
        s, p = server.connect(), server.connect()
        try:
            assert p.call("FLUSHALL") == b"+OK\r\n"
            s.call("HELLO", "3")
            s.send_raw(b"".join(encode_command(*a) for a in CACHING_PIPELINE))
            first = sync(s, "after-pipeline")
            p.call("MSET", *[x for i in range(1, 8) for x in ("c%d" % i, "1")])
            got.append((first, sync(s, "after-writes")))
        finally:
            s.close()
            p.close()
    assert got[0] == got[1], "redis:\n%s\nsynod:\n%s" % (show(got[0]), show(got[1]))
