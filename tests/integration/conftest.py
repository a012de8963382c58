"""Fixtures shared by the integration tests: start the real synod binary on loopback.

    synod_server(*args, wait=True, defaults=True) -> SynodProcess
                                                      factory; every process is stopped (by PID)
                                                      at the end of the test. defaults=False:
                                                      no --listen 127.0.0.1:0 / --data-dir
    synod                                             one default server
    r                                                 redis-py client of `synod`
                                                      (decode_responses=True)
    run_synod(*args, timeout=10)                      run the binary to completion (CLI tests)
    synod_bin                                         path of the binary
    raw                                               raw-socket RESP helpers: raw.read(sock, n),
                                                      raw.until_closed(sock)

The server listens on 127.0.0.1 port 0 (the kernel picks a free port, no race with other
tests) and the port is read from its "ready" log line. Each process gets its own data dir
under the test's tmp_path. SYNOD_BIN overrides the binary (default build/rel/synod).
"""

import os
import re
import signal
import socket
import subprocess
import time

import pytest
import redis

SYNOD_BIN = os.environ.get(
    "SYNOD_BIN",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "build", "rel", "synod")),
)
READY_RE = re.compile(r"ready: clients on (\S+):(\d+)")


class SynodProcess:
    """One running synod process. Stopped with SIGTERM (then SIGKILL) by its PID."""

    def __init__(self, args, data_dir, log_path, ready_timeout=10.0, defaults=True):
        self.args = list(args)
        self.data_dir = data_dir
        self.log_path = log_path
        self.host = "127.0.0.1"
        self.port = None
        self._log = open(log_path, "wb")
        cmd = [SYNOD_BIN]
        # unless told otherwise: a free port and a private data dir (given first, so the
        # test's own arguments override them)
        if defaults:
            cmd += ["--listen", "127.0.0.1:0", "--data-dir", data_dir]
        cmd += self.args
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.ready_timeout = ready_timeout

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"synod exited with {self.proc.returncode}: {self.cmd}\n{self.log()}"
                )
            m = READY_RE.search(self.log())
            if m:
                self.port = int(m.group(2))
                try:
                    with socket.create_connection((self.host, self.port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            return self
                except OSError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"synod did not become ready: {self.cmd}\n{self.log()}")

    def client(self, **kw):
        kw.setdefault("socket_timeout", 20)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def sock(self, timeout=10):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def synod_server(tmp_path):
    procs = []
    counter = [0]

    def start(*args, wait=True, ready_timeout=10.0, defaults=True):
        counter[0] += 1
        n = counter[0]
        data_dir = str(tmp_path / f"synod{n}")
        p = SynodProcess(args, data_dir, str(tmp_path / f"synod{n}.log"), ready_timeout, defaults)
        procs.append(p)
        if wait:
            p.wait_ready()
        return p

    yield start
    # every server must still be running and shut down cleanly on SIGTERM (exit 0): a crash,
    # a sanitizer report or a leak at exit fails the test. Tests that kill a server on purpose
    # set p.expect_unclean_exit = True.
    bad = []
    for p in procs:
        rc = p.stop()
        if rc != 0 and not getattr(p, "expect_unclean_exit", False):
            bad.append((p.cmd, rc, p.log()[-3000:]))
    assert not bad, bad


@pytest.fixture
def synod(synod_server):
    return synod_server()


@pytest.fixture
def r(synod):
    c = synod.client(decode_responses=True)
    yield c
    c.close()


@pytest.fixture
def synod_bin():
    return SYNOD_BIN


@pytest.fixture
def run_synod(tmp_path):
    def run(*args, timeout=10, cwd=None):
        return subprocess.run(
            [SYNOD_BIN, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or str(tmp_path),
        )

    return run


def resp_read(sock, n_replies=1, timeout=10):
    """Reads n complete RESP2/RESP3 replies from a raw socket; returns (replies, rest_bytes).
    Replies are parsed into Python values: str for simple strings, ('err', text) for errors,
    int, bytes, None, list, dict (maps), set-like lists for sets."""
    sock.settimeout(timeout)
    buf = bytearray()
    out = []
    pos = 0
    while len(out) < n_replies:
        try:
            v, pos2 = _parse(buf, pos)
        except _Incomplete:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"closed after {len(out)} replies")
            buf += chunk
            continue
        out.append(v)
        pos = pos2
    return out, bytes(buf[pos:])


class _Incomplete(Exception):
    pass


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete()
    return bytes(buf[pos:end]), end + 2


def _parse(buf, pos):
    if pos >= len(buf):
        raise _Incomplete()
    t = chr(buf[pos])
    line, nxt = _line(buf, pos + 1)
    if t == "+":
        return line.decode(), nxt
    if t == "-":
        return ("err", line.decode()), nxt
    if t == ":":
        return int(line), nxt
    if t == "_":
        return None, nxt
    if t == "#":
        return line == b"t", nxt
    if t == ",":
        return float(line), nxt
    if t in "$=":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            raise _Incomplete()
        return bytes(buf[nxt : nxt + n]), nxt + n + 2
    if t in "*~>":
        n = int(line)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n):
            v, nxt = _parse(buf, nxt)
            items.append(v)
        return items, nxt
    if t == "%":
        n = int(line)
        d = {}
        for _ in range(n):
            k, nxt = _parse(buf, nxt)
            v, nxt = _parse(buf, nxt)
            d[k] = v
        return d, nxt
    raise ValueError(f"bad RESP type byte {t!r} at {pos}: {bytes(buf[pos:pos+40])!r}")


def recv_until_closed(sock, timeout=10):
    """Reads until the peer closes; returns everything read. Fails on timeout."""
    sock.settimeout(timeout)
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


class _Raw:
    read = staticmethod(resp_read)
    until_closed = staticmethod(recv_until_closed)


@pytest.fixture
def raw():
    return _Raw()


@pytest.fixture
def cluster(tmp_path):
    """make(n=3, extra_args=()) starts a cluster of real synod processes on loopback (the
    cluster/ harness); every node must exit cleanly at the end unless a test killed it."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
    from harness import SynodCluster

    made = []

    def make(n=3, extra_args=()):
        c = SynodCluster(tmp_path / f"c{len(made)}", n, extra_args=extra_args)
        os.makedirs(c.tmp_dir, exist_ok=True)
        made.append(c)
        return c.start()

    yield make
    bad = []
    for c in made:
        for node, rc in c.stop():
            if rc not in (0, None) and not getattr(node, "expect_unclean_exit", False):
                bad.append((node.name, rc, node.log()[-2000:]))
    assert not bad, bad
