"""The wire: RESP3, pipelining, fragmented input, inline commands, protocol errors."""

import os
import random
import socket
import time

import pytest


def test_resp3_types(synod, raw):
    s = synod.sock()
    s.sendall(b"HELLO 3\r\n")
    raw.read(s)
    s.sendall(b"HSET h f1 v1 f2 v2\r\nHGETALL h\r\nGET missing\r\nHGETALL nokey\r\n")
    replies, _ = raw.read(s, 4)
    assert replies[0] == 2
    assert replies[1] == {b"f1": b"v1", b"f2": b"v2"}
    assert replies[2] is None
    assert replies[3] == {}
    # the exact bytes: a map header and the RESP3 null
    s.sendall(b"HGETALL h\r\nGET missing\r\n")
    time.sleep(0.2)
    data = s.recv(4096)
    assert data.startswith(b"%2\r\n") and data.endswith(b"_\r\n")
    s.sendall(b"INCRBYFLOAT fl 1.5\r\nHINCRBYFLOAT h n 2.5\r\n")
    replies, _ = raw.read(s, 2)
    assert replies == [b"1.5", b"2.5"]
    s.close()


def test_resp2_same_commands(synod, raw):
    s = synod.sock()
    s.sendall(b"HSET h f1 v1\r\nHGETALL h\r\nGET missing\r\n")
    time.sleep(0.2)
    data = s.recv(4096)
    assert data == b":1\r\n*2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$-1\r\n"
    s.close()


def test_pipeline_10k_redis_py(r):
    p = r.pipeline(transaction=False)
    for i in range(10000):
        p.set(f"k{i}", i)
    for i in range(10000):
        p.get(f"k{i}")
    res = p.execute()
    assert res[:10000] == [True] * 10000
    assert res[10000:] == [str(i) for i in range(10000)]


def test_pipeline_one_write_many_replies(synod, raw):
    s = synod.sock()
    n = 10000
    s.sendall(b"".join(b"*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n" for _ in range(n)))
    replies, rest = raw.read(s, n, timeout=30)
    assert replies == list(range(1, n + 1)) and rest == b""
    s.close()


def test_fragmented_byte_by_byte(synod, raw):
    s = synod.sock()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$11\r\nhello world\r\n*2\r\n$3\r\nGET\r\n$5\r\nmykey\r\n"
    req += b"GET mykey\r\n"  # inline, too
    for i in range(len(req)):
        s.sendall(req[i : i + 1])
        if i % 7 == 0:
            time.sleep(0.001)
    replies, _ = raw.read(s, 3)
    assert replies == ["OK", b"hello world", b"hello world"]
    s.close()


def test_fragmented_large_bulk(synod, raw):
    s = synod.sock()
    value = os.urandom(3 * 1024 * 1024)
    req = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" % (
        len(value),
        value,
    )
    rng = random.Random(7)
    pos = 0
    while pos < len(req):
        n = rng.randint(1, 70000)
        s.sendall(req[pos : pos + n])
        pos += n
    replies, _ = raw.read(s, 2, timeout=30)
    assert replies[0] == "OK" and replies[1] == value
    s.close()


def test_inline_commands(synod, raw):
    s = synod.sock()
    s.sendall(b'PING\r\nSET k "a b"\r\nGET k\r\nECHO \'x y\'\nEXISTS k nokey\r\n\r\n   \r\nPING\n')
    replies, _ = raw.read(s, 6)
    assert replies == ["PONG", "OK", b"a b", b"x y", 1, "PONG"]
    s.close()


@pytest.mark.parametrize(
    "bad, msg",
    [
        (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n+foo\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
        (b'SET k "unterminated\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ],
)
def test_protocol_error_replies_and_closes(synod, raw, bad, msg):
    s = synod.sock()
    s.sendall(b"PING\r\n" + bad + b"PING\r\n")
    assert raw.until_closed(s) == b"+PONG\r\n" + msg
    # the server is fine afterwards
    assert synod.client().ping()


def test_query_buffer_limit_closes(synod, raw):
    r = synod.client()
    r.config_set("client-query-buffer-limit", "1mb")
    s = synod.sock()
    # a bulk that is allowed by proto-max-bulk-len but never completes within the limit
    s.sendall(b"*2\r\n$3\r\nGET\r\n$100000000\r\n")
    try:
        for _ in range(40):
            s.sendall(b"x" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        data = raw.until_closed(s)
    except ConnectionResetError:
        data = b""
    assert data == b""  # closed without a reply, as Redis does
    assert r.ping()
    assert "max query buffer" in synod.log()


def test_inline_too_long(synod, raw):
    s = synod.sock()
    try:
        s.sendall(b"A" * (70 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        data = raw.until_closed(s)
    except ConnectionResetError:
        data = b"-ERR Protocol error: too big inline request\r\n"
    assert data == b"-ERR Protocol error: too big inline request\r\n"


def test_garbage_never_crashes(synod):
    seed = int(os.environ.get("SYNOD_FUZZ_SEED", random.randrange(1 << 30)))
    print(f"seed={seed} (replay with SYNOD_FUZZ_SEED={seed})")
    rng = random.Random(seed)
    pieces = [b"*", b"$", b"\r\n", b"-1", b"3", b"999999999999", b"SET", b"GET", b"\x00", b'"',
              b"'", b"\\x4", b" ", b"HELLO", b"3", b"+", b":", b"%", b"*2\r\n$3\r\nGET\r\n"]
    for _ in range(150):
        s = synod.sock(timeout=5)
        payload = b"".join(rng.choice(pieces) if rng.random() < 0.7 else bytes([rng.randrange(256)])
                           for _ in range(rng.randint(1, 60)))
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            while s.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        s.close()
    assert synod.alive()
    assert synod.client().ping()


def test_big_reply_back_pressure(synod, raw):
    """A client that pipelines far more than it reads: the server keeps memory bounded by
    pausing the client, and every reply still arrives in order."""
    r = synod.client()
    r.set("v", b"x" * 100000)
    s = synod.sock(timeout=60)
    n = 1500  # 150 MB of replies, over the 64 MB pause threshold
    s.sendall(b"GET v\r\n" * n + b"PING\r\n")
    total = 0
    want = n * (100000 + len(b"$100000\r\n\r\n")) + len(b"+PONG\r\n")
    buf = bytearray()
    while total < want:
        chunk = s.recv(1 << 20)
        assert chunk
        total += len(chunk)
        if len(buf) < 200:
            buf += chunk[:200]
    assert total == want
    assert buf.startswith(b"$100000\r\nxxx")
    s.close()
