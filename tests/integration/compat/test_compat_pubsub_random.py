"""Randomised differential test of pub/sub: seeded sequences of SUBSCRIBE / PSUBSCRIBE /
SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH / SPUBLISH, PUBSUB, keyspace notifications, PING,
RESET and commands refused in subscribed mode, on a subscriber and a publisher connection of
each server, RESP2 and RESP3, compared with redis-server 7.0 (test_compat_pubsub's harness).

After every step both connections are read up to a PING barrier; what each received in that
step (replies, confirmations, messages) is compared as a multiset, since Redis itself sends some
of it in hash order (UNSUBSCRIBE with no channel; a message matching several patterns). Across
steps the order is compared as it is. The seed is printed; replay with PUBSUB_SEED=<n> (and
PUBSUB_SEEDS=<count> for more sequences).
"""

import os
import random

import pytest

from .diff import show
from .resp_raw import parse_at
from .test_compat_pubsub import fresh, run_side_steps

DEFAULT_SEED = 20261207
CHANNELS = ["a", "b", "ab", "a*", "news.1", "news.2", ""]
PATTERNS = ["a*", "?b", "[ab]", "*", "news.*", "news.[12]", "\\*", "a\\*"]


def gen(seed, n):
    r = random.Random(seed)
    ch = lambda: r.choice(CHANNELS)  # noqa: E731
    pat = lambda: r.choice(PATTERNS)  # noqa: E731
    some = lambda f, lo=1, hi=3: [f() for _ in range(r.randint(lo, hi))]  # noqa: E731
    steps = []
    if r.random() < 0.4:
        steps.append(("p", "CONFIG", "SET", "notify-keyspace-events", r.choice(["KEA", "K$", "Eg"])))
    table = [
        lambda: ("s", "SUBSCRIBE", *some(ch)),
        lambda: ("s", "PSUBSCRIBE", *some(pat)),
        lambda: ("s", "SSUBSCRIBE", ch()),
        lambda: ("s", "UNSUBSCRIBE", *some(ch, 0, 2)),
        lambda: ("s", "PUNSUBSCRIBE", *some(pat, 0, 2)),
        lambda: ("s", "SUNSUBSCRIBE", *some(ch, 0, 1)),
        lambda: ("s", "PING", *r.choice([[], ["hi"]])),
        lambda: ("s", r.choice(["GET", "SET", "PUBLISH"]), "k", *r.choice([[], ["v"]])),
        lambda: ("s", "PSUBSCRIBE") if r.random() < 0.5 else ("s", "SUBSCRIBE"),  # arity
        lambda: ("s", "RESET") if r.random() < 0.15 else ("s", "PING"),
        lambda: ("p", "PUBLISH", ch(), r.choice(["m", "", "x" * 20])),
        lambda: ("p", "PUBLISH", ch(), "m2"),
        lambda: ("p", "SPUBLISH", ch(), "sm"),
        lambda: ("p", "PUBSUB", "NUMSUB", *some(ch, 0, 3)),
        lambda: ("p", "PUBSUB", "NUMPAT"),
        lambda: ("p", "PUBSUB", "SHARDNUMSUB", *some(ch, 0, 2)),
        lambda: ("p", "PUBSUB", r.choice(["CHANNELS", "SHARDCHANNELS"]), *r.choice([[], ["a*"], ["*"]])),
        lambda: ("p", r.choice(["SET", "DEL", "INCR"]), r.choice(["k", "a"]), *(["1"] if r.random() < 0.5 else [])),
    ]  # fmt: skip
    while len(steps) < n:
        steps.append(r.choice(table)())
    return steps


UNSUBS = (b"unsubscribe", b"punsubscribe", b"sunsubscribe")


def _multiset(raw, inner=False):
    """Every reply in raw, parsed and sorted (the bytes themselves if they do not parse). An
    unsubscribe confirmation's count is set apart (sorted with the others): with no channel
    named, Redis goes through them in hash order, and each count follows that order. inner:
    each array's elements sorted too (PUBSUB CHANNELS lists in hash order)."""
    out, counts, pos = [], [], 0
    try:
        while pos < len(raw):
            t, pos = parse_at(raw, pos)
            e = t[1] if t[0] in ("array", "push") else None
            if e and len(e) == 3 and e[0][1] in UNSUBS and e[2][0] == "int":
                counts.append(e[2][1])
                t = (t[0], e[:2])
            elif e and inner:
                t = (t[0], sorted(map(repr, e)))
            out.append(repr(t))
    except Exception:  # a truncated or malformed tail: kept raw, so it still differs
        out.append(repr(raw[pos:]))
    return sorted(out), sorted(counts)


def seeds():
    base = int(os.environ.get("PUBSUB_SEED", DEFAULT_SEED))
    return [base + i for i in range(int(os.environ.get("PUBSUB_SEEDS", "3")))]


@pytest.mark.parametrize("proto", ["2", "3"])
@pytest.mark.parametrize("seed", seeds())
def test_pubsub_random(servers, seed, proto):
    n = int(os.environ.get("PUBSUB_N", "120"))
    print("pubsub random differential: PUBSUB_SEED=%d PUBSUB_SEEDS=1 PUBSUB_N=%d (resp%s)"
          % (seed, n, proto))
    steps = gen(seed, n)
    ref, tgt = fresh(servers, ("CONFIG", "SET", "notify-keyspace-events", ""))
    try:
        a = run_side_steps(ref, steps, proto)
        b = run_side_steps(tgt, steps, proto)
    finally:
        fresh(servers, ("CONFIG", "SET", "notify-keyspace-events", ""))
    for i, ((step, rs, rp), (_, ts, tp)) in enumerate(zip(a, b)):
        inner = step[1] == "PUBSUB"
        if _multiset(rs) != _multiset(ts) or _multiset(rp, inner) != _multiset(tp, inner):
            ctx = "\n".join("    #%d %r" % (j, steps[j]) for j in range(max(0, i - 12), i))
            pytest.fail("seed %d resp%s: step #%d %r differs (replay: PUBSUB_SEED=%d "
                        "PUBSUB_SEEDS=1)\n    redis s=%s p=%s\n    synod s=%s p=%s\n"
                        "  preceding steps:\n%s" % (seed, proto, i, step, seed, show(rs),
                                                   show(rp), show(ts), show(tp), ctx))
