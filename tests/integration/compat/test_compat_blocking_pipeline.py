"""Differential tests: pipelined blocking pops (issue 10, the BLPOP-fed queue at pipeline 16).

synod's leader takes identical pipelined blocking pops together into one log entry, run as
that many pops until one finds nothing; there the client blocks, and the rest follow once it is
answered (node_block.c). The replies must be Redis's, byte for byte and in order: every pop that
finds something answered at once, the first that finds nothing blocking with its own timeout,
the ones after it each starting their own timeout when they come, a push from another client
serving them in order, and a different command ending the run. Each case sends one pipeline to
both servers and compares every reply, then the data left.
"""

import threading
import time

import pytest

from .resp_raw import encode_command

T = "0.1"  # a timeout short enough for a test, long enough to be one


def _pipeline(conn, cmds, n_replies, timeout=10.0):
    conn.send_raw(b"".join(encode_command(*c) for c in cmds))
    return [conn.read_reply(timeout) for _ in range(n_replies)]


def _both(pair, setup, cmds, check=(), push=None):
    """Runs setup, then the pipeline cmds (one reply each), on both servers; push=(delay_s,
    cmd): another connection sends cmd that long after the pipeline left. Returns the replies
    of each (ref, tgt) after asserting they are equal, and the check commands' replies."""
    out = []
    for conn, srv in ((pair.ref, pair.ref_server), (pair.tgt, pair.tgt_server)):
        for c in setup:
            conn.call(*c)
        th = None
        if push:
            other = srv.connect()

            def later(other=other):
                time.sleep(push[0])
                other.call(*push[1])
                other.close()

            th = threading.Thread(target=later)
            th.start()
        replies = _pipeline(conn, cmds, len(cmds))
        if th:
            th.join(10)
        replies += [conn.call(*c) for c in check]
        out.append(replies)
    ref, tgt = out
    for i, (a, b) in enumerate(zip(ref, tgt)):
        what = cmds[i] if i < len(cmds) else check[i - len(cmds)]
        assert a == b, f"reply {i} to {what}: redis {a!r}, synod {b!r}"
    return ref


@pytest.fixture
def bpair(pair, servers):
    pair.ref_server, pair.tgt_server = servers
    return pair


def test_identical_brpops_pop_then_time_out(bpair):
    r = _both(bpair, [("RPUSH", "q", "a", "b", "c", "d", "e")], [("BRPOP", "q", T)] * 7 + [("PING",)],
              check=[("EXISTS", "q")])  # fmt: skip
    assert r[4] == b"*2\r\n$1\r\nq\r\n$1\r\na\r\n" and r[5] == b"*-1\r\n"


def test_identical_blpops_on_several_keys(bpair):
    _both(bpair, [("RPUSH", "k2", "x", "y", "z"), ("RPUSH", "k3", "w")],
          [("BLPOP", "k1", "k2", "k3", T)] * 6, check=[("LRANGE", "k2", 0, -1)])  # fmt: skip


def test_identical_blmoves(bpair):
    _both(bpair, [("RPUSH", "src", "1", "2", "3", "4")],
          [("BLMOVE", "src", "dst", "RIGHT", "LEFT", T)] * 6 + [("LLEN", "dst")],
          check=[("LRANGE", "dst", 0, -1)])  # fmt: skip


def test_identical_brpoplpush_into_itself(bpair):
    _both(bpair, [("RPUSH", "ring", "a", "b", "c")], [("BRPOPLPUSH", "ring", "ring", T)] * 5,
          check=[("LRANGE", "ring", 0, -1)])  # fmt: skip


def test_identical_sorted_set_and_mpop_forms(bpair):
    _both(bpair, [("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("RPUSH", "l", "1", "2", "3")],
          [("BZPOPMIN", "z", T)] * 2 + [("BZMPOP", T, "1", "z", "MAX", "COUNT", "2")] * 2
          + [("BLMPOP", T, "1", "l", "LEFT", "COUNT", "2")] * 3,
          check=[("EXISTS", "z", "l")])  # fmt: skip


def test_identical_pops_of_the_wrong_type(bpair):
    _both(bpair, [("SET", "s", "x")], [("BRPOP", "s", T)] * 3 + [("BZPOPMIN", "s", T)] * 2,
          check=[("GET", "s")])  # fmt: skip


def test_a_different_command_ends_the_run(bpair):
    _both(bpair, [("RPUSH", "q", "a")],
          [("BRPOP", "q", T)] * 2 + [("LPUSH", "q", "b", "c")] + [("BRPOP", "q", T)] * 3
          + [("BRPOP", "q", "0.2")] * 2,
          check=[("EXISTS", "q")])  # fmt: skip


def test_identical_pops_resp3(bpair):
    _both(bpair, [("HELLO", "3"), ("RPUSH", "q", "a", "b")],
          [("BLPOP", "q", T)] * 3 + [("BZPOPMAX", "zz", T)] * 2, check=[("LLEN", "q")])  # fmt: skip


def test_a_push_serves_the_blocked_one_and_the_rest_follow(bpair):
    # one element: the 1st pops it, the 2nd blocks; a push of three serves it and the 3rd and
    # 4th; the 5th times out
    _both(bpair, [("RPUSH", "q", "a")], [("BRPOP", "q", "2")] * 5 + [("PING",)],
          check=[("LLEN", "q")], push=(0.3, ("LPUSH", "q", "x", "y", "z")))  # fmt: skip


def test_each_blocked_one_times_out_on_its_own(bpair):
    t0 = time.monotonic()
    _both(bpair, [], [("BRPOP", "none", "0.3")] * 3 + [("PING",)])
    took = time.monotonic() - t0
    # three timeouts in a row on each server: about 0.9 s each, 1.8 s in all
    assert took >= 1.7, f"the timeouts did not run one after the other ({took:.2f} s)"
