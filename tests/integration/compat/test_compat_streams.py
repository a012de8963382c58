"""Differential tests: stream commands, raw RESP replies of redis-server 7.0 vs synod.

Ids are always explicit (no `*`), so every reply that does not report a clock is compared byte
for byte, RESP2 and RESP3: XADD (ids, NOMKSTREAM, MAXLEN / MINID exact and `~` below a node,
LIMIT), XLEN XRANGE XREVRANGE (exclusive bounds, COUNT), XDEL XTRIM XSETID, XINFO STREAM /
GROUPS, consumer groups (XGROUP CREATE / MKSTREAM / ENTRIESREAD / SETID / CREATECONSUMER /
DELCONSUMER / DESTROY), XREAD, XREADGROUP (`>`, history, NOACK, COUNT), XACK, XPENDING
summary, XCLAIM / XAUTOCLAIM JUSTID, stream-node-max-entries (chunk boundaries: `~` trimming,
XINFO's radix-tree-keys), and the argument errors. Replies that carry idle times
(XINFO CONSUMERS, XINFO STREAM FULL) are compared by shape only; XPENDING's extended form
exactly but for the idle times (PEL: delivery counts, owners, inclusive/exclusive bounds).
Cases after `xreadgroup_empty_consumers` were written to kill mutants that the earlier ones let
live (redelivery after SETID, XCLAIM LASTID / IDLE / FORCE, XAUTOCLAIM's COUNT with deleted
entries, ENTRIESREAD and lag, XSETID / XDEL bounds, `$` after XDEL).

Blocking forms: BLOCK with nothing to read times out with the same null (short timeouts),
BLOCK with something to read answers at once, BLOCK with a history id does not block; and,
with a second connection per server, a blocked XREAD `$` / XREADGROUP `>` is woken by an
XADD with the same reply, a blocked XREADGROUP gets Redis's error when its group is destroyed
(-NOGROUP) or its key deleted (-UNBLOCKED), CLIENT UNBLOCK answers like a timeout.
"""

import time

import pytest

from .diff import PEL, SHAPE, cases

WT = ("SET", "str", "v")


def _xadd_n(key, n, start=1):
    return [("XADD", key, "%d-1" % i, "f", "v%d" % i) for i in range(start, start + n)]


CASES = [
    ("xadd_ids", [
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-2", "a", "2", "b", "3"),
        ("XADD", "s", "1-2", "a", "1"), ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "0-0", "a", "1"),
        ("XADD", "s", "2-*", "a", "1"), ("XADD", "s", "2-*", "a", "1"), ("XADD", "s", "5", "x", "y"),
        ("XADD", "s", "x-1", "a", "1"), ("XADD", "s", "1-x", "a", "1"), ("XADD", "s", "-1", "a", "1"),
        ("XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"),
        ("XADD", "s", "18446744073709551615-*", "a", "1"),
        ("XADD", "s", "6-1", "a"), ("XADD", "s", "6-1"), ("XADD", "s"),
        ("XADD", "n", "NOMKSTREAM", "1-1", "a", "1"), ("EXISTS", "n"),
        ("XADD", "e", "0-1", "a", "1"), ("XADD", "e", "0-*", "a", "1"),
        ("XLEN", "s"), ("XLEN", "none"), ("XLEN",), ("TYPE", "s"),
        ("XRANGE", "s", "-", "+"), ("XREVRANGE", "s", "+", "-"),
        WT, ("XADD", "str", "1-1", "a", "1"), ("XLEN", "str"), ("XRANGE", "str", "-", "+"),
    ]),
    ("xrange", _xadd_n("s", 8) + [
        ("XRANGE", "s", "-", "+", "COUNT", "3"), ("XRANGE", "s", "3", "5"),
        ("XRANGE", "s", "(3-1", "(6-1"), ("XRANGE", "s", "(3-1", "+", "COUNT", "2"),
        ("XREVRANGE", "s", "(6-1", "(2-1"), ("XREVRANGE", "s", "+", "-", "COUNT", "2"),
        ("XRANGE", "s", "5", "3"), ("XRANGE", "s", "-", "+", "COUNT", "0"),
        ("XRANGE", "s", "-", "+", "COUNT", "-1"), ("XRANGE", "s", "(-", "+"),
        ("XRANGE", "s", "-", "(+"), ("XRANGE", "s", "x", "+"), ("XRANGE", "s", "-", "+", "COUNT"),
        ("XRANGE", "s", "-", "+", "LIMIT", "1"), ("XRANGE", "none", "-", "+"),
        ("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"),
        ("XRANGE", "s", "-", "(0-0"),
    ]),
    ("trim_exact", _xadd_n("s", 10) + [
        ("XADD", "s", "MAXLEN", "5", "20-1", "a", "1"), ("XLEN", "s"), ("XRANGE", "s", "-", "3"),
        ("XADD", "s", "MAXLEN", "=", "3", "21-1", "a", "1"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MINID", "21", "22-1", "a", "1"), ("XRANGE", "s", "-", "+"),
        ("XTRIM", "s", "MAXLEN", "1"), ("XRANGE", "s", "-", "+"),
        ("XTRIM", "s", "MAXLEN", "~", "0"), ("XTRIM", "s", "MINID", "~", "100"),
        ("XTRIM", "s", "MAXLEN", "-1"), ("XTRIM", "s", "MAXLEN", "x"), ("XTRIM", "s", "FOO", "1"),
        ("XTRIM", "s", "MAXLEN", "1", "LIMIT", "10"), ("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"),
        ("XADD", "s", "MAXLEN", "1", "LIMIT", "5", "30-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "5", "30-1", "a", "1"), ("XLEN", "s"),
        ("XTRIM", "none", "MAXLEN", "1"), ("XTRIM", "s"), WT, ("XTRIM", "str", "MAXLEN", "1"),
        ("XINFO", "STREAM", "s"),
    ]),
    ("xdel_xsetid", _xadd_n("s", 5) + [
        ("XDEL", "s", "2-1", "4-1", "9-1"), ("XDEL", "s", "2-1"), ("XDEL", "s", "x"),
        ("XDEL", "none", "1-1"), ("XRANGE", "s", "-", "+"), ("XLEN", "s"),
        ("XDEL", "s", "5-1"), ("XINFO", "STREAM", "s"),
        ("XSETID", "s", "3-1"), ("XSETID", "s", "10-1"), ("XADD", "s", "9-1", "a", "1"),
        ("XSETID", "s", "20-1", "ENTRIESADDED", "3"), ("XSETID", "s", "20-1", "ENTRIESADDED", "30",
                                                      "MAXDELETEDID", "25-1"),
        ("XSETID", "s", "20-1", "ENTRIESADDED", "30", "MAXDELETEDID", "15-1"),
        ("XINFO", "STREAM", "s"), ("XSETID", "none", "1-1"), ("XSETID", "s", "x"),
    ]),
    ("groups", _xadd_n("s", 4) + [
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XGROUP", "CREATE", "s", "h", "$"), ("XGROUP", "CREATE", "s", "i", "2-1", "ENTRIESREAD", "2"),
        ("XGROUP", "CREATE", "none", "g", "$"), ("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"),
        ("XGROUP", "CREATE", "s", "j", "x"), ("XGROUP", "CREATE", "s", "k", "0", "FOO"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "alice"), ("XGROUP", "CREATECONSUMER", "s", "g", "alice"),
        ("XGROUP", "CREATECONSUMER", "s", "nog", "alice"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "1-1"),
        ("XREADGROUP", "GROUP", "h", "carol", "NOACK", "STREAMS", "s", ">"),
        ("XADD", "s", "9-1", "f", "v9"),
        ("XREADGROUP", "GROUP", "h", "carol", "NOACK", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "h", "carol", "STREAMS", "s", "0"),
        ("XPENDING", "s", "g"), ("XPENDING", "s", "h"), ("XPENDING", "none", "g"),
        ("XPENDING", "s", "nog"),
        SHAPE("XPENDING", "s", "g", "-", "+", "10"),
        SHAPE("XPENDING", "s", "g", "IDLE", "0", "-", "+", "10", "bob"),
        ("XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"),
        ("XACK", "s", "g", "1-1", "3-1", "7-1"), ("XACK", "s", "g", "1-1"), ("XACK", "s", "g", "x"),
        ("XACK", "s", "nog", "1-1"), ("XACK", "none", "g", "1-1"), ("XPENDING", "s", "g"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XINFO", "GROUPS", "s"), SHAPE("XINFO", "CONSUMERS", "s", "g"),
        ("XINFO", "CONSUMERS", "s", "nog"), SHAPE("XINFO", "STREAM", "s", "FULL"),
        ("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"),
        ("XREADGROUP", "GROUP", "g", "dave", "COUNT", "1", "STREAMS", "s", ">"),
        ("XGROUP", "SETID", "s", "nog", "0"), ("XGROUP", "SETID", "s", "g", "$"),
        ("XINFO", "GROUPS", "s"),
        ("XGROUP", "DELCONSUMER", "s", "g", "bob"), ("XGROUP", "DELCONSUMER", "s", "g", "zed"),
        ("XGROUP", "DELCONSUMER", "s", "nog", "bob"), ("XPENDING", "s", "g"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"),
        ("XGROUP", "DESTROY", "none", "g"), ("XINFO", "GROUPS", "s"), ("XGROUP", "FOO"),
        ("XGROUP", "CREATE", "s"), WT, ("XGROUP", "CREATE", "str", "g", "$"),
        ("XREADGROUP", "GROUP", "g", "a", "STREAMS", "str", ">"),
    ]),
    ("claim", _xadd_n("s", 5) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "2-1", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "3-1"),
        ("XCLAIM", "s", "g", "bob", "3600000", "4-1", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "9-1", "FORCE", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "4-1", "RETRYCOUNT", "7", "JUSTID", "LASTID", "5-1"),
        ("XCLAIM", "s", "g", "bob", "x", "4-1"), ("XCLAIM", "s", "g", "bob", "0", "x"),
        ("XCLAIM", "s", "g", "bob", "0", "4-1", "IDLE", "x"), ("XCLAIM", "s", "nog", "bob", "0", "1-1"),
        ("XPENDING", "s", "g"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "3-1", "COUNT", "10", "JUSTID"),
        ("XDEL", "s", "2-1"),
        ("XAUTOCLAIM", "s", "g", "dave", "0", "0", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "0"),
        ("XAUTOCLAIM", "s", "g", "dave", "x", "0"), ("XAUTOCLAIM", "s", "nog", "dave", "0", "0"),
        ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"),
    ]),
    ("xread", _xadd_n("s", 3) + _xadd_n("t", 2, start=5) + [
        ("XREAD", "STREAMS", "s", "0"), ("XREAD", "COUNT", "2", "STREAMS", "s", "t", "0", "0"),
        ("XREAD", "STREAMS", "s", "t", "2-1", "5-1"), ("XREAD", "STREAMS", "s", "$"),
        ("XREAD", "STREAMS", "s", "t", "$", "0"), ("XREAD", "STREAMS", "none", "0"),
        ("XREAD", "STREAMS", "s", "3-1"), ("XREAD", "STREAMS", "s"), ("XREAD", "STREAMS", "s", "t", "0"),
        ("XREAD", "STREAMS", "s", ">"), ("XREAD", "COUNT", "x", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "-1", "STREAMS", "s", "0"), ("XREAD", "FOO", "STREAMS", "s", "0"),
        ("XREAD", "s", "0"), ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"),
        ("XREADGROUP", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "STREAMS", "s", ">"),
        WT, ("XREAD", "STREAMS", "str", "0"),
    ]),
    ("node_max_entries", [
        ("CONFIG", "SET", "stream-node-max-entries", "2")] + _xadd_n("s", 7) + [
        SHAPE("XINFO", "STREAM", "s"),  # radix-tree-nodes: Redis's rax internals (10 vs 8)
        ("XTRIM", "s", "MAXLEN", "~", "2"), ("XRANGE", "s", "-", "+"),
        ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "1"), ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "2"),
        ("XLEN", "s"), ("CONFIG", "SET", "stream-node-max-entries", "1")] + _xadd_n("t", 5) + [
        ("XADD", "t", "MAXLEN", "~", "1", "9-1", "f", "v"), ("XRANGE", "t", "-", "+"),
        ("XINFO", "STREAM", "t"), ("CONFIG", "GET", "stream-node-max-entries"),
        ("CONFIG", "SET", "stream-node-max-entries", "100"), ("XADD", "t", "10-1", "f", "v"),
        ("XINFO", "STREAM", "t"),
    ]),
    ("xread_block", _xadd_n("s", 2) + [
        ("XREAD", "BLOCK", "20", "STREAMS", "s", "$"), ("XREAD", "BLOCK", "20", "STREAMS", "none", "0"),
        ("XREAD", "BLOCK", "20", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "0", "STREAMS", "s", "1-1"),
        ("XREAD", "BLOCK", "20", "COUNT", "1", "STREAMS", "s", "none", "0", "0"),
        ("XREAD", "BLOCK", "-1", "STREAMS", "s", "$"), ("XREAD", "BLOCK", "x", "STREAMS", "s", "$"),
        ("XGROUP", "CREATE", "s", "g", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "NOACK", "STREAMS", "s", ">"),
        ("XADD", "s", "3-1", "f", "v"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "COUNT", "5", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "nog", "c", "BLOCK", "20", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "none", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "s", "$"),
        ("MULTI",), ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), ("EXEC",),
        ("EVAL", "return redis.call('XREAD', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", "1", "s"),
        ("XPENDING", "s", "g"),
    ]),
    # Delivery counts and bounds of the PEL, compared exactly (PEL masks only the idle times):
    # a history read counts a delivery (and honours COUNT); XCLAIM counts one unless JUSTID,
    # RETRYCOUNT sets it (0 included); XAUTOCLAIM likewise; XPENDING's bounds are inclusive
    # unless "("; XCLAIM of a deleted entry drops it from the PEL
    ("pel_delivery_counts", _xadd_n("s", 8) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0"),
        ("XCLAIM", "s", "g", "bob", "0", "3-1", "JUSTID"), ("XCLAIM", "s", "g", "bob", "0", "4-1"),
        ("XCLAIM", "s", "g", "bob", "0", "5-1", "RETRYCOUNT", "0", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "6-1", "RETRYCOUNT", "5"),
        PEL("XPENDING", "s", "g", "-", "+", "10"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "3-1", "COUNT", "1"),
        PEL("XPENDING", "s", "g", "-", "+", "10"), PEL("XPENDING", "s", "g", "2-1", "4-1", "10"),
        PEL("XPENDING", "s", "g", "(2-1", "(5-1", "10"),
        PEL("XPENDING", "s", "g", "3-1", "+", "2", "carol"),
        PEL("XPENDING", "s", "g", "IDLE", "0", "-", "6-1", "10", "bob"),
        ("XDEL", "s", "7-1"), ("XCLAIM", "s", "g", "bob", "0", "7-1", "8-1", "JUSTID"),
        ("XPENDING", "s", "g"), PEL("XPENDING", "s", "g", "-", "+", "10"),
    ]),
    # defaults that only show past them: XAUTOCLAIM's COUNT 100, XINFO STREAM FULL's COUNT 10,
    # the ~ trim's LIMIT (100 x stream-node-max-entries)
    ("option_defaults", _xadd_n("s", 120) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "101", "JUSTID"),
        ("XTRIM", "s", "MAXLEN", "12"), SHAPE("XINFO", "STREAM", "s", "FULL"),
        SHAPE("XINFO", "STREAM", "s", "FULL", "COUNT", "0"),
        SHAPE("XINFO", "STREAM", "s", "FULL", "COUNT", "11"),
        ("CONFIG", "SET", "stream-node-max-entries", "1")] + _xadd_n("t", 130) + [
        ("XTRIM", "t", "MAXLEN", "~", "0"), ("XLEN", "t"),
        ("XADD", "t", "MAXLEN", "~", "5", "200-1", "f", "v"), ("XLEN", "t"),
        ("CONFIG", "SET", "stream-node-max-entries", "100"),
    ]),
    # Which XREADGROUPs that deliver nothing create their consumer (Redis 7.0.15): a history
    # read (an id, not ">") always does, and answers the key with an empty list; ">" with
    # nothing new does not, blocked or not, nor does a BLOCK that times out. XINFO GROUPS
    # counts consumers without idle times (XINFO CONSUMERS's differ by clock).
    ("xreadgroup_empty_consumers", [
        ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
        ("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "a", "BLOCK", "20", "STREAMS", "s", ">"),
        ("XINFO", "GROUPS", "s"), ("XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", "0"),
        ("XINFO", "GROUPS", "s"), ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "s", "0"),
        ("XINFO", "GROUPS", "s"), ("XADD", "s", "1-1", "f", "v"),
        ("XREADGROUP", "GROUP", "g", "d", "COUNT", "1", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "e", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "f", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XADD", "t", "1-1", "f", "v"), ("XGROUP", "CREATE", "t", "g", "$"),
        ("XREADGROUP", "GROUP", "g", "h", "STREAMS", "s", "t", "0", ">"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "GROUPS", "t"), SHAPE("XINFO", "CONSUMERS", "s", "g"),
        ("XPENDING", "s", "g"),  # per-consumer counts; the extended form has idle times
    ]),
    # An entry delivered again by ">" after XGROUP SETID moves back: its delivery count restarts
    # at 1 and it changes owner, however often it was read from the history before
    ("redelivery_after_setid", _xadd_n("s", 3) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0"),
        ("XGROUP", "SETID", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"),
        PEL("XPENDING", "s", "g", "-", "+", "10"), ("XPENDING", "s", "g"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        PEL("XPENDING", "s", "g", "-", "+", "10"), ("XINFO", "GROUPS", "s"),
    ]),
    # XCLAIM's LASTID moves the group's last-delivered id forward only (what ">" reads next);
    # IDLE sets the delivery time that far back from now (an hour's filter leaves it out), TIME
    # to a moment given in ms
    ("xclaim_lastid_idle_time", _xadd_n("s", 6) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "LASTID", "4-1", "JUSTID"), ("XINFO", "GROUPS", "s"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "LASTID", "3-1", "JUSTID"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "carol", "COUNT", "1", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "2-1", "IDLE", "1000", "JUSTID"),
        ("XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "TIME", "1000", "JUSTID"),
        ("XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10", "carol"),
        PEL("XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10", "bob"),
        ("XCLAIM", "s", "g", "carol", "3600000", "1-1", "2-1", "JUSTID"),
        PEL("XPENDING", "s", "g", "-", "+", "10"),
    ]),
    # pending entries whose stream entry is gone count against XAUTOCLAIM's COUNT (Redis 7.0):
    # the cursor stops after COUNT of claimed plus deleted
    ("xautoclaim_deleted_count", _xadd_n("s", 6) + [
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XDEL", "s", "1-1", "2-1", "4-1"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2"),
        ("XPENDING", "s", "g"),
    ]),
    # entries-read and lag: ENTRIESREAD of SETID and CREATE is kept and counted on from; a group
    # past the stream's last id, or reset without ENTRIESREAD, has no lag that can be known
    ("entries_read_lag", _xadd_n("s", 5) + [
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "SETID", "s", "g", "2-1", "ENTRIESREAD", "2"),
        ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "g", "3-1", "ENTRIESREAD", "1"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "g", "1-1"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "CREATE", "s", "h", "100-0"), ("XGROUP", "CREATE", "s", "i", "1-1"),
        ("XGROUP", "CREATE", "s", "j", "0-5"), ("XINFO", "GROUPS", "s"),
        ("XDEL", "s", "3-1"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "i", "a", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
    ]),
    # XSETID's ENTRIESADDED may equal the length; XDEL records the largest id it deleted, in
    # whatever order the ids come
    ("xsetid_xdel_bounds", _xadd_n("s", 5) + [
        ("XSETID", "s", "5-1", "ENTRIESADDED", "4"), ("XSETID", "s", "5-1", "ENTRIESADDED", "5"),
        ("XDEL", "s", "4-1", "2-1"), ("XINFO", "STREAM", "s"),
        ("XSETID", "s", "5-1", "ENTRIESADDED", "3"), ("XSETID", "s", "5-1", "ENTRIESADDED", "2"),
        ("XDEL", "s", "1-1", "3-1", "2-1"), ("XINFO", "STREAM", "s"),
    ]),
    # a max-deleted-entry-id equal to the first entry's id counts as a tombstone in the range:
    # entries-read and lag are then estimated (or unknown) rather than counted
    ("lag_tombstone_at_first", _xadd_n("s", 5) + [
        ("XSETID", "s", "5-1", "MAXDELETEDID", "1-1"),
        ("XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "0"), ("XGROUP", "CREATE", "s", "h", "1-1"),
        ("XGROUP", "CREATE", "s", "i", "0"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "i", "a", "COUNT", "2", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
    ]),
    # $ is the stream's last id, even when that entry was deleted; FORCE puts an entry that
    # nobody was delivered into the PEL (count 1, plus one without JUSTID) but does not override
    # MIN-IDLE for an entry someone owns
    ("dollar_after_xdel_and_force", _xadd_n("s", 5) + [
        ("XDEL", "s", "5-1"), ("XGROUP", "CREATE", "s", "g", "$"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "CREATE", "s", "h", "0"), ("XGROUP", "SETID", "s", "h", "$"),
        ("XINFO", "GROUPS", "s"), ("XREADGROUP", "GROUP", "h", "a", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "2-1", "FORCE", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "3-1", "FORCE"),
        ("XCLAIM", "s", "g", "carol", "3600000", "2-1", "3-1", "FORCE", "JUSTID"),
        ("XCLAIM", "s", "g", "carol", "0", "5-1", "FORCE", "JUSTID"),
        ("XPENDING", "s", "g"), PEL("XPENDING", "s", "g", "-", "+", "10"),
    ]),
]

XFAIL = {}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_streams(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


# ---- blocked clients woken by another connection ----


def _blocked_count(conn):
    raw = conn.call("INFO", "clients")
    for line in raw.decode(errors="replace").split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


def _wait_blocked(conn, n):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _blocked_count(conn) >= n:
            return True
        time.sleep(0.01)
    return False


# (setup steps, the blocking command, what the other connection does, [steps after])
WAKE = [
    ("xread_dollar", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "$"),
     [("XADD", "s", "2-1", "b", "2")], [("XREAD", "STREAMS", "s", "0")]),
    ("xread_absent_key", [],
     ("XREAD", "BLOCK", "5000", "COUNT", "1", "STREAMS", "other", "s", "$", "$"),
     [("XADD", "s", "3-1", "b", "2"), ("XADD", "s", "4-1", "c", "3")], []),
    ("xread_after_id", [("XADD", "s", "5-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "5-1"),
     [("XADD", "s", "6-1", "b", "2", "c", "3")], []),
    ("xread_type_changed", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "$"),
     [("SET", "s", "x"), ("DEL", "s"), ("XADD", "s", "7-1", "f", "v")], []),
    ("xreadgroup_new", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("XADD", "s", "1-1", "a", "1")], [("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s")]),
    ("xreadgroup_noack", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "NOACK", "STREAMS", "s", ">"),
     [("XADD", "s", "1-1", "a", "1")], [("XPENDING", "s", "g")]),
    ("xreadgroup_destroyed", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("XGROUP", "DESTROY", "s", "g")], [("EXISTS", "s")]),
    ("xreadgroup_key_deleted", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("DEL", "s")], []),
    ("xreadgroup_flushall", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("FLUSHALL",)], []),
    # Redis 7.0 serves a woken group reader once the stream's last id passes the group's, even
    # when that entry is already gone: the reply is [s, []] and the consumer is created
    ("xreadgroup_trimmed_at_once", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("XADD", "s", "MAXLEN", "0", "1-1", "a", "1")],
     [("XINFO", "GROUPS", "s"), ("XLEN", "s")]),
    ("xreadgroup_added_and_deleted", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "BLOCK", "5000", "STREAMS", "s", ">"),
     [("MULTI",), ("XADD", "s", "1-1", "a", "1"), ("XDEL", "s", "1-1"), ("EXEC",)],
     [("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g")]),
    # Redis 7.0 serves a woken plain XREAD for the key that woke it only, once that stream's last
    # id passes the client's, even when the entry is already gone ([s, []]); only XADD (and a
    # key created, overwritten or XGROUP DESTROY) wakes it: not XSETID, not XGROUP's others
    ("xread_trimmed_at_once", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "$"),
     [("XADD", "s", "MAXLEN", "0", "2-1", "b", "2")], [("XLEN", "s")]),
    ("xread_added_and_deleted", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "COUNT", "5", "BLOCK", "5000", "STREAMS", "s", "$"),
     [("MULTI",), ("XADD", "s", "2-1", "a", "1"), ("XDEL", "s", "2-1"), ("EXEC",)], []),
    ("xread_two_keys_one_transaction", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "t", "$", "$"),
     [("MULTI",), ("XADD", "s", "2-1", "a", "1"), ("XADD", "t", "2-2", "b", "2"), ("EXEC",)],
     []),
    ("xread_second_key", [("XADD", "s", "1-1", "a", "1"), ("XADD", "t", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "t", "$", "$"),
     [("XADD", "t", "2-1", "b", "2")], []),
    ("xread_not_woken_by_xsetid_or_xgroup", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "400", "STREAMS", "s", "$"),
     [("XSETID", "s", "9-0"), ("XGROUP", "CREATE", "s", "g", "$"),
      ("XGROUP", "CREATECONSUMER", "s", "g", "c"), ("XGROUP", "SETID", "s", "g", "0"),
      ("XTRIM", "s", "MAXLEN", "0")], [("XINFO", "GROUPS", "s")]),
    ("xread_after_xsetid", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "5000", "STREAMS", "s", "$"),
     [("XSETID", "s", "9-0"), ("XADD", "s", "10-1", "b", "2")], []),
    # a woken group reader too is served the key that woke it only (Redis 7.0's
    # serveClientsBlockedOnStreamKey): the other key's entry stays undelivered
    ("xreadgroup_two_keys_one_transaction",
     [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", "s", "t", ">", ">"),
     [("MULTI",), ("XADD", "s", "2-1", "a", "1"), ("XADD", "t", "2-2", "b", "2"), ("EXEC",)],
     [("XPENDING", "s", "g"), ("XPENDING", "t", "g")]),
    ("xreadgroup_second_key",
     [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "BLOCK", "5000", "STREAMS", "s", "t", ">",
      ">"),
     [("XADD", "t", "2-1", "b", "2")], [("XPENDING", "t", "g"), ("XPENDING", "s", "g")]),
    ("xread_timeout", [("XADD", "s", "1-1", "a", "1")],
     ("XREAD", "BLOCK", "100", "STREAMS", "s", "$"), [], []),
    ("xreadgroup_timeout", [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
     ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "100", "STREAMS", "s", ">"), [],
     [("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g")]),
]


def _wake_cases():
    out = []
    for proto in ("2", "3"):
        for cid, setup, cmd, other, after in WAKE:
            out.append(pytest.param(proto, setup, cmd, other, after, id="resp%s-%s" % (proto, cid)))
    for proto in ("2", "3"):
        for err in ("", "ERROR"):
            out.append(pytest.param(proto, [("XADD", "s", "1-1", "a", "1")],
                                    ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ["UNBLOCK", err],
                                    [], id="resp%s-client_unblock%s" % (proto, err.lower())))
    return out


@pytest.mark.parametrize("proto,setup,cmd,other,after", _wake_cases())
def test_streams_blocked_woken(pair, servers, proto, setup, cmd, other, after, request):
    """cmd blocks on a second connection of each server; `other` runs on the first; the
    blocked connection's reply must be the same bytes on both servers."""
    if proto == "3":
        pair.step(SHAPE("HELLO", "3"))
    pair.run(setup)
    blocked = []
    for srv, main in zip(servers, (pair.ref, pair.tgt)):
        bc = srv.connect()
        if proto == "3":
            bc.call("HELLO", "3")
        cid = bc.call("CLIENT", "ID")
        bc.send(*cmd)
        assert _wait_blocked(main, 1), "%s: %r did not block" % (srv.name, cmd)
        blocked.append((bc, cid))
    if other and other[0] == "UNBLOCK":
        for (bc, cid), main in zip(blocked, (pair.ref, pair.tgt)):
            args = ["CLIENT", "UNBLOCK", cid[1:].strip().decode()] + ([other[1]] if other[1] else [])
            assert main.call(*args) == b":1\r\n"
    else:
        pair.run(other)
    replies = []
    for bc, _ in blocked:
        try:
            replies.append(bc.read_reply(timeout=5.0))
        except Exception as e:  # noqa: BLE001 — reported as a mismatch below
            replies.append("<%r>" % e)
        bc.close()
    assert replies[0] == replies[1], "blocked %r: redis %r, synod %r" % (cmd, replies[0], replies[1])
    pair.run(after)
    pair.assert_clean(request.node.name)
