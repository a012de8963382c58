"""Differential tests: MIGRATE, synod vs redis-server 7.0, byte for byte.

Each side migrates to its own target, so both see the same thing: a redis-server per side (module
fixture), or per side a scripted fake target (a Python socket server replying what the test
says: errors, nothing, a closed connection, lines too long...). A step is a command in which the
string T stands for the side's own target port; the raw replies of both sides must be equal, and
after the steps both sources and both targets must hold the same keys (DUMP bytes, TTLs within a
tolerance).

Covered: every value type migrated with its TTL; NOKEY; KEYS with missing keys; COPY; REPLACE;
BUSYKEY and the other target errors ("ERR Target instance replied with error: ..."), keys
acknowledged before an error still deleted; AUTH / AUTH2 to a target with and without a
password; a destination database out of range; syntax, KEYS and integer errors; connection
errors (an unresolvable name, a refused port); fake targets that close, stay silent (the
timeout), reply empty or over-long lines.
"""

import socket
import threading
import time

import pytest

from .conftest import Server, redis_argv
from .resp_raw import Incomplete, encode_command, parse, parse_request

T = "T"  # placeholder for the side's target port


class FakeTarget:
    """A scripted target: for each command it receives (RESP arrays), `reply(cmd)` gives the bytes
    to send back, None to send nothing, or "close" to close the connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.mode = "ok"
        self.received = []
        self.stop = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def reply(self, cmd):
        name = cmd[0].upper()
        m = self.mode
        if m == "close":
            return "close"
        if m == "silent":
            return None
        if m == "restore-err" and name == b"RESTORE":
            return b"-ERR fake target refuses\r\n"
        if m == "select-err" and name == b"SELECT":
            return b"-ERR fake select refused\r\n"
        if m == "second-err" and name == b"RESTORE":
            n = sum(1 for c in self.received if c[0].upper() == b"RESTORE")
            return b"-BUSYKEY second\r\n" if n == 2 else b"+OK\r\n"
        if m == "long" and name == b"RESTORE":
            return b"-" + b"E" * 1500 + b"\r\n"
        if m == "empty" and name == b"RESTORE":
            return b"\r\n"
        if m == "close-after-select" and name == b"RESTORE":
            return "close"
        if m == "lf-only" and name == b"RESTORE":
            return b"\n"
        if m == "nul" and name == b"RESTORE":
            return b"-ERR a\x00b\r\n"
        if m == "bare-lf" and name == b"RESTORE":
            return b"-ERR bare lf\n"
        return b"+OK\r\n"

    def _serve(self, c):
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while True:
                    try:
                        tree, end = parse_request(buf)
                    except Incomplete:
                        break
                    buf = buf[end:]
                    self.received.append(tree)
                    r = self.reply(tree)
                    if r == "close":
                        c.close()
                        return
                    if r:
                        c.sendall(r)
        except OSError:
            return

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("migrate-targets"))
    ts = [Server("mig-target-ref", redis_argv, work), Server("mig-target-tgt", redis_argv, work)]
    for t in ts:
        t.start()
    yield ts
    for t in ts:
        t.stop()


@pytest.fixture
def side(pair, targets):
    """(pair, [target conn ref side, target conn synod side], ports): targets flushed."""
    conns = [t.connect() for t in targets]
    for c in conns:
        assert c.call("FLUSHALL") == b"+OK\r\n"
        c.call("CONFIG", "SET", "requirepass", "")
        drop_cached(c)
    yield pair, conns, [t.port for t in targets]
    for c in conns:
        c.call("AUTH", "secret")  # a test may have set a password: reset it
        c.call("CONFIG", "SET", "requirepass", "")
        c.close()


def drop_cached(conn):
    """Closes the connections redis-server cached to this target (Redis keeps a MIGRATE
    connection for 10 s, with its AUTH; synod caches none, docs/cluster.md "MIGRATE")."""
    conn.call("CLIENT", "KILL", "TYPE", "normal")


def _sub(args, port):
    return tuple(str(port) if a == T else a for a in args)


def run_steps(pair, ports, steps):
    """Each step on both sides (T = the side's target port); raw replies must match."""
    bad = []
    for st in steps:
        out = []
        for conn, port in ((pair.ref, ports[0]), (pair.tgt, ports[1])):
            conn.send_raw(encode_command(*_sub(st, port)))
            out.append(conn.read_reply(timeout=10))
        if out[0] != out[1]:
            bad.append("%r\n  redis: %r\n  synod: %r" % (st, out[0], out[1]))
    assert not bad, "\n".join(bad)


def dataset(conn, db_count=2):
    """Every key of the first db_count databases: (db, key, DUMP bytes, PTTL rounded to 1 s)."""
    out = []
    for db in range(db_count):
        conn.call("SELECT", str(db))
        keys = sorted(parse(conn.call("KEYS", "*"))[1], key=lambda k: k[1])
        for k in keys:
            name = k[1]
            dump = parse(conn.call("DUMP", name))[1]
            pttl = int(parse(conn.call("PTTL", name))[1])
            out.append((db, name, dump, -1 if pttl < 0 else round(pttl / 1000)))
    conn.call("SELECT", "0")
    return out


def same_data(pair, tconns):
    assert dataset(pair.ref) == dataset(pair.tgt), "sources differ"
    assert dataset(tconns[0]) == dataset(tconns[1]), "targets differ"


FILL = [
    ("SET", "s", "hello"), ("SET", "n", "12345"), ("SET", "ttl", "v", "PX", "100000"),
    ("RPUSH", "l", "a", "b", "c"), ("HSET", "h", "f", "v", "g", "w"), ("SADD", "is", "1", "2", "3"),
    ("ZADD", "z", "1", "a", "2.5", "b"), ("XADD", "x", "1-1", "f", "v"),
    ("SET", "keep", "1"),
]


def test_migrate_types_and_options(side):
    pair, tconns, ports = side
    run_steps(pair, ports, FILL + [
        ("MIGRATE", "127.0.0.1", T, "s", "0", "5000"),
        ("MIGRATE", "127.0.0.1", T, "s", "0", "5000"),  # gone: NOKEY
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS", "n", "ttl", "missing", "l"),
        ("MIGRATE", "127.0.0.1", T, "", "1", "5000", "COPY", "KEYS", "h", "is"),
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS", "nope1", "nope2"),
        ("EXISTS", "s", "n", "ttl", "l", "h", "is"),
        ("MIGRATE", "127.0.0.1", T, "z", "0", "5000", "COPY", "REPLACE"),
        ("MIGRATE", "127.0.0.1", T, "z", "0", "5000"),  # BUSYKEY on the target: z stays
        ("ZADD", "z", "3", "c"),
        ("MIGRATE", "127.0.0.1", T, "z", "0", "5000", "REPLACE"),
        ("MIGRATE", "127.0.0.1", T, "x", "0", "0"),  # timeout 0 means 1000 ms
        ("SELECT", "3"), ("SET", "indb3", "v"),
        ("MIGRATE", "127.0.0.1", T, "indb3", "1", "5000"), ("SELECT", "0"),
        ("DBSIZE",),
    ])
    same_data(pair, tconns)


def test_migrate_partial_errors(side):
    """KEYS a b c with b already on the target: BUSYKEY is the reply, a and c are moved."""
    pair, tconns, ports = side
    for c in tconns:
        c.call("SET", "b", "there")
    run_steps(pair, ports, [
        ("MSET", "a", "1", "b", "2", "c", "3"),
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS", "a", "b", "c"),
        ("EXISTS", "a"), ("EXISTS", "b"), ("EXISTS", "c"),
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "COPY", "KEYS", "b"),
        ("MIGRATE", "127.0.0.1", T, "b", "99", "5000"),  # no such database on the target
        ("EXISTS", "b"),
    ])
    same_data(pair, tconns)


def test_migrate_auth(side):
    pair, tconns, ports = side
    run_steps(pair, ports, [
        ("SET", "k", "v"), ("SET", "k2", "v"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH", "pw"),  # target has no password
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH2", "default", "pw"),
    ])
    for c in tconns:
        assert c.call("CONFIG", "SET", "requirepass", "secret") == b"+OK\r\n"
        drop_cached(c)
    run_steps(pair, ports, [
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000"),  # NOAUTH
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH", "wrong"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH", "secret"),
        ("MIGRATE", "127.0.0.1", T, "k2", "0", "5000", "AUTH2", "default", "secret", "COPY"),
        ("EXISTS", "k", "k2"),
    ])
    for c in tconns:
        assert c.call("AUTH", "secret") == b"+OK\r\n"
    same_data(pair, tconns)


def test_migrate_argument_errors(side):
    pair, tconns, ports = side
    run_steps(pair, ports, [
        ("SET", "k", "v"),
        ("MIGRATE", "127.0.0.1", T, "k", "0"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "BOGUS"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "AUTH2", "u"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "5000", "KEYS", "k"),
        ("MIGRATE", "127.0.0.1", T, "k", "x", "5000"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "1.5"),
        ("MIGRATE", "127.0.0.1", T, "k", "0", "99999999999999999999"),
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS"),
        ("MIGRATE", "127.0.0.1", T, "", "0", "5000"),
        ("MIGRATE", "nosuchhost.invalid", T, "k", "0", "500"),
        ("MIGRATE", "", T, "k", "0", "500"),
        ("MIGRATE", "localhost", T, "k", "0", "500", "COPY"),  # a name: resolved off the loop
        ("MIGRATE", "127.0.0.1", "0", "k", "0", "500"),  # refused: Redis reports a write error
        ("MIGRATE", "127.0.0.1", "abc", "k", "0", "500"),
        ("EXISTS", "k"),
        ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "", "0", "5", "AUTH", "x", "KEYS", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "p", "k", "0", "5", "COPY"),
    ])


@pytest.fixture
def fakes():
    fs = [FakeTarget(), FakeTarget()]
    yield fs
    for f in fs:
        f.close()


@pytest.mark.parametrize("mode", ["restore-err", "select-err", "second-err", "long", "empty",
                                  "close", "close-after-select", "bare-lf", "lf-only", "nul",
                                  "silent"])
def test_migrate_fake_target(pair, fakes, mode):
    """Target misbehaviour, the same on both sides: the reply, and which keys stay."""
    for f in fakes:
        f.mode = mode
    ports = [f.port for f in fakes]
    timeout = "300" if mode == "silent" else "3000"
    run_steps(pair, ports, [
        ("MSET", "a", "1", "b", "2", "c", "3"),
        ("MIGRATE", "127.0.0.1", T, "", "0", timeout, "KEYS", "a", "b", "c"),
        ("EXISTS", "a"), ("EXISTS", "b"), ("EXISTS", "c"),
    ])


def test_migrate_timeout_does_not_block(pair, fakes):
    """A silent target: MIGRATE answers after its timeout, and meanwhile the synod node serves
    other clients (its event loop never waits on the target)."""
    for f in fakes:
        f.mode = "silent"
    pair.tgt.call("SET", "k", "v")
    t0 = time.monotonic()
    pair.tgt.send_raw(encode_command("MIGRATE", "127.0.0.1", str(fakes[1].port), "k", "0", "800"))
    other = type(pair.tgt)(*pair.tgt.addr)
    assert other.call("PING") == b"+PONG\r\n"
    assert time.monotonic() - t0 < 0.5, "the node waited for the target"
    other.close()
    r = pair.tgt.read_reply(timeout=5)
    assert r == b"-IOERR error or timeout reading to target instance\r\n", r
    assert 0.7 < time.monotonic() - t0 < 3
    assert pair.tgt.call("EXISTS", "k") == b":1\r\n"


def test_migrate_resp3_and_acl(side):
    """After HELLO 3 the replies are the same; a user whose key patterns do not cover every key
    MIGRATE names (the key argument or those after KEYS) gets NOPERM, nothing moved."""
    pair, tconns, ports = side
    try:
        run_steps(pair, ports, [
            ("ACL", "SETUSER", "mig", "on", ">pw", "+migrate", "+set", "+exists", "~a*"),
            ("MSET", "a1", "1", "a2", "2", "b1", "3"),
            ("AUTH", "mig", "pw"),
            ("MIGRATE", "127.0.0.1", T, "b1", "0", "5000"),
            ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS", "a1", "b1"),
            ("MIGRATE", "127.0.0.1", T, "", "0", "5000", "KEYS", "a1", "a2"),
            ("EXISTS", "a1", "a2"),
        ])
        for conn in (pair.ref, pair.tgt):
            conn.send_raw(encode_command("HELLO", "3", "AUTH", "default", "nopass"))
            conn.read_reply()
        run_steps(pair, ports, [
            ("SET", "r3", "v"),
            ("MIGRATE", "127.0.0.1", T, "r3", "0", "5000", "COPY"),
            ("MIGRATE", "127.0.0.1", T, "r3", "0", "5000"),
            ("MIGRATE", "127.0.0.1", T, "r3", "0", "5000", "REPLACE"),
            ("MIGRATE", "127.0.0.1", T, "r3", "0", "5000"),
            ("MIGRATE", "127.0.0.1", T, "r3", "x", "5000"),
        ])
    finally:
        for conn in (pair.ref, pair.tgt):
            conn.call("ACL", "DELUSER", "mig")
    same_data(pair, tconns)
