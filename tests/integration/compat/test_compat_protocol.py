"""Differential tests: inline commands, protocol errors, pipelining and fragmented input.

Raw bytes go to fresh connections on both servers; everything each server writes back until it
closes the connection (or stays quiet) is compared byte for byte, as is whether it closed.
"""

import threading
import time

import pytest

from .diff import show, xfail_marks

OPEN_QUIET_S = 0.4  # a server that keeps the connection open is read until this long idle

CASES = [
    ("inline_ping", b"PING\r\n"),
    ("inline_lf_only", b"PING\n"),
    ("inline_args", b"ECHO hello\r\nSET k v\r\nGET k\r\n"),
    ("inline_double_quotes", b'SET k "hello world"\r\nGET k\r\nECHO ""\r\n'),
    ("inline_single_quotes", b"ECHO 'single quoted'\r\nECHO 'it\\'s'\r\n"),
    ("inline_escapes", b'ECHO "a\\x41\\n\\t\\"b"\r\nECHO "\\xZZ"\r\n'),
    ("inline_spaces_and_empty_lines", b"\r\n\r\n   PING   \r\n\n   \r\nECHO  a   b\r\n"),
    ("inline_unknown", b"FOO bar baz\r\n"),
    ("inline_other_whitespace", b"ECHO\ta\r\nECHO\x0bb\r\nPING\r\r\nECHO \x0cc\r\n"),
    ("inline_more_escapes", b'ECHO "\\\\ \\q \\x4 \\a\\b\\r"\r\nECHO "\\x41\\x4a"\r\n'),
    ("inline_quotes_inside_word", b"ECHO a\"b\"c\r\nECHO a'b\r\n"),
    ("inline_empty_quotes", b"SET k \"\"\r\nSTRLEN k\r\nECHO ''\r\n"),
    ("inline_wrong_arity", b"GET\r\n"),
    ("inline_resp3_type_bytes", b"+PING\r\n%1\r\n:1\r\n"),
    ("inline_unbalanced_double", b'ECHO "unbalanced\r\nPING\r\n'),
    ("inline_unbalanced_single", b"ECHO 'unbalanced\r\n"),
    ("inline_quote_then_char", b'ECHO "a"b\r\n'),
    ("inline_too_big", b"A" * 65546),
    ("multibulk_ok", b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n"),
    ("multibulk_empty_name", b"*1\r\n$0\r\n\r\n"),
    ("multibulk_zero_and_negative", b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"),
    ("multibulk_bad_count", b"*abc\r\n"),
    ("multibulk_count_accepted", b"*2000000\r\n"),  # Redis 7.0 accepts up to INT_MAX and waits
    ("multibulk_count_too_big", b"*2147483648\r\n"),
    ("multibulk_count_string_too_big", b"*" + b"1" * 65545),
    ("bulk_bad_length", b"*1\r\n$abc\r\n"),
    ("bulk_negative_length", b"*1\r\n$-1\r\n"),
    ("bulk_too_long", b"*1\r\n$600000000\r\n"),
    ("bulk_count_string_too_big", b"*1\r\n$" + b"1" * 65540),
    ("bulk_expected_dollar", b"*1\r\nPING\r\n"),
    ("bulk_expected_dollar_colon", b"*2\r\n$4\r\nECHO\r\n:1\r\n"),
    ("bulk_bad_terminator", b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"),
    ("error_mid_pipeline", b"PING\r\n*x\r\nPING\r\n"),
    # the writes' replies first (they are still in flight when the error is parsed), then it
    ("error_behind_writes", b"SET k v\r\nINCR n\r\n*x\r\nPING\r\n"),
    ("incomplete_request_waits", b"*2\r\n$4\r\nECHO\r\n$5\r\nab"),
    ("pipeline_many", b"".join(b"*3\r\n$3\r\nSET\r\n$2\r\nk%d\r\n$1\r\n%d\r\n" % (i % 10, i % 10)
                               for i in range(200)) + b"*1\r\n$6\r\nDBSIZE\r\n"),
    ("quit_inline", b"PING\r\nQUIT\r\nPING\r\n"),
]

XFAIL = {}


def _exchange(conn, data, quiet_s):
    conn.send_raw(data)
    return conn.drain(quiet_s=quiet_s, max_s=5.0)


def _both(connect, data, quiet_s=OPEN_QUIET_S, fragment=None):
    """Send data to a fresh connection on each server (in parallel); return [(bytes, closed)]."""
    out = [None, None]

    opened = [None, None]

    def run(i, side):
        c = connect(side)
        opened[i] = c
        try:
            if fragment:
                for j in range(0, len(data), fragment):
                    c.send_raw(data[j : j + fragment])
            out[i] = _exchange(c, b"" if fragment else data, quiet_s)
        except OSError as e:
            # e.g. reset while sending: report what was read, and the error
            out[i] = (c.buf, "closed with %s" % type(e).__name__)

    conns = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(("ref", "tgt"))]
    for t in conns:
        t.start()
    for t in conns:
        t.join(timeout=20)
    # A loaded machine may pause a server longer than quiet_s mid-reply: while the two outputs
    # differ and a connection is still open, keep reading (up to 5 s) before comparing.
    deadline = time.monotonic() + 5.0
    while out[0] != out[1] and None not in out and time.monotonic() < deadline:
        for i, c in enumerate(opened):
            if out[i][1] is False:
                more, closed = c.drain(quiet_s=1.0, max_s=2.0)
                out[i] = (out[i][0] + more, closed)
        if all(o[1] is not False for o in out) or not any(out):
            break
    return out


def _params():
    out = []
    for cid, data in CASES:
        marks = xfail_marks(XFAIL[cid]) if cid in XFAIL else []
        out.append(pytest.param(data, id=cid, marks=marks))
    return out


@pytest.mark.parametrize("data", _params())
def test_raw_input(connect, pair, data):
    ref, tgt = _both(connect, data)
    assert ref is not None and tgt is not None
    assert tgt == ref, "input %s\n  redis: %s closed=%s\n  synod: %s closed=%s" % (
        show(data), show(ref[0]), ref[1], show(tgt[0]), tgt[1])


@pytest.mark.parametrize("size", [1, 3, 7])
def test_fragmented_input(connect, pair, size):
    """A pipeline delivered in tiny fragments gives exactly the replies of one write."""
    data = (b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n"
            b"GET key\r\n"
            b"*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$2\r\nvv\r\n"
            b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
            b"*3\r\n$7\r\nHSTRLEN\r\n$1\r\nh\r\n$1\r\nf\r\n")
    ref, tgt = _both(connect, data, fragment=size)
    assert tgt == ref, "redis %s / synod %s" % (show(ref), show(tgt))
    assert ref[0].count(b"\r\n") >= 6


def test_server_alive_after_protocol_errors(pair):
    """After all the malformed input above, the target still serves normally."""
    pair.step(("SET", "after", "ok"))
    pair.step(("GET", "after"))
    pair.assert_clean()
