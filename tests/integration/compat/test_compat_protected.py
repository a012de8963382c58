"""protected-mode against a real redis-server 7.0, byte for byte (issue 9): with the default user
passwordless, a client whose address is not 127.0.0.1 or ::1 gets Redis's -DENIED text and is
disconnected. A source address of 127.0.0.2 is loopback to the kernel but not "local" to Redis
7.0's check (exactly 127.0.0.1 or ::1), so the test needs no second machine or namespace."""

import socket
import time

import pytest


def first_reply(port, src, payload=b"*1\r\n$4\r\nPING\r\n", timeout=5.0):
    """Connects from src, sends payload, returns (bytes received, closed by the server)."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    got = b""
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return got, True
            if not chunk:
                return got, True
            got += chunk
            if got.endswith(b"\r\n") and not got.startswith(b"-DENIED"):
                return got, False
        return got, False
    finally:
        s.close()


@pytest.fixture
def both(servers):
    ref, tgt = servers
    conns = [ref.connect(), tgt.connect()]
    yield list(zip((ref, tgt), conns))
    for _, c in zip((ref, tgt), conns):
        c.call("CONFIG", "SET", "protected-mode", "yes")
        c.call("CONFIG", "SET", "requirepass", "")
        c.close()


def test_denied_from_non_local_address(both):
    replies = []
    for srv, c in both:
        assert c.call("CONFIG", "GET", "protected-mode") == (
            b"*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n")
        replies.append(first_reply(srv.port, "127.0.0.2"))
    assert replies[0][0].startswith(b"-DENIED Redis is running in protected mode"), replies[0]
    assert replies[0][1], "redis-server kept the connection"
    assert replies[1] == replies[0], replies
    # 127.0.0.1 itself is served
    for srv, _ in both:
        assert first_reply(srv.port, "127.0.0.1") == (b"+PONG\r\n", False)


def test_config_set_protected_mode_and_password(both):
    results = []
    for srv, c in both:
        r = [c.call("CONFIG", "SET", "protected-mode", "maybe"),
             c.call("CONFIG", "SET", "protected-mode", "no"),
             c.call("CONFIG", "GET", "protected-mode"),
             first_reply(srv.port, "127.0.0.2"),
             c.call("CONFIG", "SET", "protected-mode", "YES"),
             c.call("CONFIG", "GET", "protected-mode"),
             c.call("CONFIG", "SET", "requirepass", "pw-for-protected"),
             first_reply(srv.port, "127.0.0.2"),  # a password: not protected any more
             first_reply(srv.port, "127.0.0.2",
                         b"*2\r\n$4\r\nAUTH\r\n$16\r\npw-for-protected\r\n")]  # fmt: skip
        results.append(r)
    assert results[0][3] == (b"+PONG\r\n", False), results[0]
    assert results[0][7] == (b"-NOAUTH Authentication required.\r\n", False), results[0]
    assert results[1] == results[0], results
