"""Differential tests: client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO)
vs redis-server 7.0, RESP2 and RESP3, with the two-connection harness of test_compat_pubsub:
"s" tracks (or receives the redirected invalidations), "p" writes. After each step both
connections are read up to a PING barrier, so an invalidation that is missing, extra, late or
framed differently (RESP3 push, RESP2 __redis__:invalidate message) is a mismatch.

Client ids differ between the two servers: a step says "$S" for the id of "s", which "p" redirects
to (each side uses its own).
"""

import pytest

from .test_compat_pubsub import run_side_steps, compare

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
]


@pytest.mark.parametrize("proto", ["2", "3"])
@pytest.mark.parametrize("name,steps", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_tracking(servers, name, steps, proto):
    ref, tgt = servers
    for s in (ref, tgt):
        if not s.alive():
            s.restart()
        c = s.connect()
        assert c.call("FLUSHALL") == b"+OK\r\n"
        c.close()
    compare(run_side_steps(ref, steps, proto), run_side_steps(tgt, steps, proto), proto, name)
