"""Differential tests: requirepass, AUTH, HELLO AUTH, NOAUTH, RESET (issue 9) against a real
redis-server 7.0, byte for byte (HELLO's map by structure: ids and versions differ)."""

import pytest

from .diff import SHAPE, Pair

PW = "s3cret-pass"


@pytest.fixture
def with_password(pair):
    for conn in (pair.ref, pair.tgt):
        assert conn.call("CONFIG", "SET", "requirepass", PW) == b"+OK\r\n"
    yield pair
    for conn in (pair.ref, pair.tgt):  # still authenticated: set before, kept as in Redis
        conn.call("CONFIG", "SET", "requirepass", "")


def fresh_pair(connect, pair):
    return Pair(connect("ref"), connect("tgt"), pair.target_name, pair.name)


def test_requirepass_gate(with_password, connect):
    pair = with_password
    pair.step(("SET", "k", "v"))  # the connection that set the password stays authenticated
    pair.step(("CONFIG", "GET", "requirepass"))
    p = fresh_pair(connect, pair)
    for step in [
        ("GET", "k"), ("PING",), ("SET", "k", "x"), ("NOSUCHCMD", "a"), ("GET",),
        ("CLIENT", "SETNAME", "x"), ("MULTI",), ("EXEC",),
        ("HELLO", "3"), ("HELLO",), ("HELLO", "3", "AUTH", "default", "wrong"),
        ("AUTH",), ("AUTH", "wrong"), ("AUTH", "default", "wrong"), ("AUTH", "nobody", PW),
        ("AUTH", "a", "b", "c"), ("GET", "k"),
        # passwords of the right length, one character off (first, middle, last)
        ("AUTH", "S3cret-pass"), ("AUTH", "s3cret_pass"), ("AUTH", "default", "s3cret-pasS"),
        ("HELLO", "3", "AUTH", "default", "s3cret-pasx"), ("GET", "k"),
        ("AUTH", PW), ("GET", "k"), ("AUTH", "wrong"), ("GET", "k"),  # a failed AUTH keeps it
        ("RESET",), ("GET", "k"),  # back to the default user: not authenticated
        ("AUTH", "default", PW), ("GET", "k"), ("RESET",),
        SHAPE("HELLO", "3", "AUTH", "default", PW), ("GET", "k"), SHAPE("HELLO", "2"),
    ]:  # fmt: skip
        p.step(step)
    p.assert_clean()


def test_auth_inside_multi_and_password_removed(with_password, connect):
    pair = with_password
    p = fresh_pair(connect, pair)
    for step in [("AUTH", PW), ("MULTI",), ("SET", "k", "1"), ("AUTH", PW), ("EXEC",)]:
        p.step(step)
    p.assert_clean()
    q = fresh_pair(connect, pair)
    q.step(("GET", "k"))
    for conn in (pair.ref, pair.tgt):
        assert conn.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
    # once the default user has no password again, the unauthenticated connection may run
    for step in [("GET", "k"), ("AUTH", "x"), ("AUTH", "default", "anything")]:
        q.step(step)
    q.assert_clean()
