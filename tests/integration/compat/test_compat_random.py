"""Randomised differential test: one seeded command sequence against both servers.

Replies are compared one by one (raw bytes, or the step's looser mode for unordered and
clock-dependent replies). The run stops at the first difference, since the states may diverge.
The seed is printed; replay with SEED=<n> (and COMPAT_N=<count>). By default a fixed seed is used
so that `make test` is deterministic; SEED=random draws a fresh one.
"""

import os
import random
import threading

from .diff import Mismatch, equivalent, show
from .resp_raw import encode_command
from .diff import _tree
from .randgen import KEYS, RESET_CONFIG, THRESHOLDS, Gen

DEFAULT_SEED = 20261129


def pick_seed():
    s = os.environ.get("SEED", "")
    if s == "random":
        return random.SystemRandom().randrange(1 << 32)
    return int(s) if s else DEFAULT_SEED


def settings(pair):
    """Each server's own values of the settings a sequence may change (a server restarted by a
    later test comes back with its defaults: the two must then still agree)."""
    out = []
    for conn in (pair.ref, pair.tgt):
        vals = {}
        for k in THRESHOLDS:
            t = _tree(conn.call("CONFIG", "GET", k))
            if t[0] in ("array", "map") and t[1]:
                v = t[1][1] if t[0] == "array" else t[1][0][1]
                vals[k] = v[1]
        out.append(vals)
    return out


def reset(pair, saved):
    """Both servers as the next test expects them: their settings as saved, no scripts or
    functions."""
    for conn, vals in zip((pair.ref, pair.tgt), saved):
        try:
            conn.call("DISCARD")
            for k, v in vals.items():
                conn.call("CONFIG", "SET", k, v)
            for cmd in RESET_CONFIG:
                conn.call(*cmd)
        except (OSError, EOFError, ValueError):
            pass


def run_random(pair, seed, n):
    """Run n generated commands; return None or a failure description with context."""
    saved = settings(pair)
    try:
        return run_steps(pair, seed, Gen(seed).sequence(n))
    finally:
        reset(pair, saved)


def run_steps(pair, seed, steps):
    history = []
    for i, step in enumerate(steps):
        m = None
        try:
            pair.step(step)
            if pair.mismatches:
                m = pair.mismatches.pop()
        except AssertionError as e:  # the target's connection broke (closed, died, garbage)
            m = str(e)
        history.append(step)
        if m is not None:
            ctx = "\n".join("    #%d %r" % (i - len(history[-16:-1]) + j, s)
                            for j, s in enumerate(history[-16:-1]))
            return ("seed %d: command #%d differs (replay: SEED=%d COMPAT_N=%d)\n%s\n"
                    "  preceding commands:\n%s\n  state after it:\n%s"
                    % (seed, i, seed, i + 1, m, ctx, dump_state(pair)))
    return None


def dump_state(pair):
    """Type, value and expiry of every generator key on both sides (for the bug report)."""
    lines = []
    for conn in (pair.ref, pair.tgt):
        try:
            conn.call("DISCARD")  # a difference inside MULTI: leave the transaction first
        except (OSError, EOFError, ValueError):
            pass
    for key in KEYS + ["missing"]:
        for name, conn in (("redis", pair.ref), ("synod", pair.tgt)):
            try:
                t = conn.call("TYPE", key)
                if b"hash" in t:
                    val = conn.call("HGETALL", key)
                elif b"zset" in t:
                    val = conn.call("ZRANGE", key, "0", "-1", "WITHSCORES")
                elif b"stream" in t:
                    val = conn.call("XRANGE", key, "-", "+")
                elif b"list" in t:
                    val = conn.call("LRANGE", key, "0", "-1")
                elif b"set" in t:
                    val = conn.call("SMEMBERS", key)
                else:
                    val = conn.call("GET", key)
                lines.append("    %-6s %s %s %s pttl=%s" % (key, name, show(t), show(val),
                                                          show(conn.call("PTTL", key))))
            except (OSError, EOFError, ValueError) as e:
                lines.append("    %s %s: <%s>" % (key, name, e))
    for name, conn in (("redis", pair.ref), ("synod", pair.tgt)):
        try:
            lines.append("    DBSIZE %s %s  KEYS * %s" % (name, show(conn.call("DBSIZE")),
                                                    show(conn.call("KEYS", "*"))))
        except (OSError, EOFError, ValueError) as e:
            lines.append("    %s: <%s>" % (name, e))
    return "\n".join(lines)


def test_random_differential(pair):
    seed = pick_seed()
    n = int(os.environ.get("COMPAT_N", "2000"))
    print("compat random differential: SEED=%d COMPAT_N=%d" % (seed, n))
    failure = run_random(pair, seed, n)
    assert failure is None, failure


__all__ = ["run_random", "pick_seed", "Mismatch", "equivalent", "show"]


def test_random_pipelined(pair):
    """The same kind of random stream, written as one pipeline of 500 commands per side (cursor
    iterations excluded): replies must match one by one, in order."""
    seed = pick_seed() + 1
    saved = settings(pair)
    steps = [s for s in Gen(seed).sequence(int(os.environ.get("COMPAT_PIPELINE_N", "500")))
             if s.mode not in ("scan", "hscan", "sscan", "zscan")]
    print("compat pipelined random differential: SEED=%d (pipeline uses SEED+1)" % (seed - 1))
    payload = b"".join(encode_command(*s.args) for s in steps)
    replies = [[], []]

    def run(i, conn):
        # Both sides run at the same time, so clock-dependent replies (relative expiries read
        # back with PTTL / PEXPIRETIME) stay within the tolerance.
        try:
            conn.send_raw(payload)
            for _ in steps:
                replies[i].append(conn.read_reply())
        except (EOFError, OSError, ValueError) as e:
            replies[i].append("<%s>" % e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((pair.ref, pair.tgt))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    reset(pair, saved)
    for i, s in enumerate(steps):
        ref = replies[0][i] if i < len(replies[0]) else "<missing>"
        tgt = replies[1][i] if i < len(replies[1]) else "<missing>"
        # Relative expiries are set when each server reaches the command, and the two servers
        # may take very different times over a long pipeline: clock-dependent replies are
        # compared by sign class only here (values are compared in the sequential test).
        tol = (1 << 62) if s.mode == "ttl" else s.tol
        ok = isinstance(ref, bytes) and isinstance(tgt, bytes) and equivalent(s.mode, ref, tgt, tol)
        assert ok, "pipelined seed %d, command #%d %r\n  redis: %s\n  synod: %s" % (
            seed - 1, i, s, show(ref), show(tgt))
