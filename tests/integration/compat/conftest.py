"""Fixtures for the differential compatibility suite.

Two servers run for the whole session:
  - the reference: a real redis-server 7.0 (no persistence; 16 databases, as synod's default);
  - the target: synod (SYNOD_BIN), or, with COMPAT_TARGET=redis, a second redis-server, which
    validates the harness itself (every comparison must then pass).
Each test gets a `pair` of fresh raw connections, both servers flushed (FLUSHALL), database 0.
Servers listen on 127.0.0.1 on free ports and are stopped by PID. If the target dies during a
test, the test fails with the tail of its log and the target is restarted for the next test.
COMPAT_TARGET=follower|leader runs the target as a 3-node cluster, through that node;
COMPAT_TRACKER=1 adds a client of that node tracking every key for the whole run.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from .diff import Pair
from .resp_raw import RawConn

HERE = os.path.dirname(os.path.abspath(__file__))
SYNOD = os.environ.get("SYNOD_BIN", os.path.join(HERE, "../../../build/rel/synod"))
TARGET = os.environ.get("COMPAT_TARGET", "synod")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from harness import SynodCluster, free_port  # noqa: E402  (ports below the ephemeral range)


class Server:
    def __init__(self, name, argv_fn, workdir):
        self.name = name
        self.argv_fn = argv_fn  # (port, datadir) -> argv
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.restarts = 0
        self.log_path = os.path.join(workdir, name + ".log")

    def start(self, attempts=3):
        # The free port is found by binding port 0 and closing it; another process may take it
        # before the server binds it, so retry on a fresh port.
        for i in range(attempts):
            try:
                return self._start_once()
            except RuntimeError:
                self.stop()
                if i == attempts - 1:
                    raise

    def _start_once(self):
        self.port = free_port()
        datadir = os.path.join(self.workdir, "%s-data-%d" % (self.name, self.restarts))
        os.makedirs(datadir, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv_fn(self.port, datadir), stdout=log, stderr=subprocess.STDOUT, cwd=datadir
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (rc %s):\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            try:
                c = RawConn("127.0.0.1", self.port, timeout=2)
                r = c.call("PING")
                c.close()
                if r == b"+PONG\r\n":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer PING within 15 s:\n%s" % (self.name, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self):
        self.stop()
        self.restarts += 1
        self.start()

    def death_note(self):
        """"" while running; otherwise the exit status and the log tail (waits up to 1 s)."""
        if self.proc is None:
            return ""
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return ""
        return "%s died (rc %s); log tail:\n%s" % (self.name, self.proc.returncode, self.log_tail(8))

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return "(no log)"

    def connect(self):
        return RawConn("127.0.0.1", self.port)


def redis_argv(port, datadir):
    return [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", datadir, "--daemonize", "no"]


def _synod_help():
    try:
        out = subprocess.run([SYNOD, "--help"], capture_output=True, text=True, timeout=10)
        return out.stdout + out.stderr
    except OSError:
        return ""


def synod_argv_fn():
    helptext = _synod_help()
    extra = os.environ.get("SYNOD_ARGS", "").split()

    def argv(port, datadir):
        a = [SYNOD, "--listen", "127.0.0.1:%d" % port, "--data-dir", datadir]
        if "--peer-listen" in helptext:
            # Never the default 17379: other test runs share this machine.
            a += ["--peer-listen", "127.0.0.1:%d" % free_port()]
        if "--fsync" in helptext and not any(x.startswith("--fsync") for x in extra):
            # Durability is not under test here; fsync per write would only slow the suite.
            a += ["--fsync", "never"]
        return a + extra

    return argv


class ClusterTarget:
    """COMPAT_TARGET=follower or leader: a 3-node synod cluster (fsync never unless SYNOD_ARGS
    says otherwise); the connections go to a follower (its requests are relayed to the leader,
    its reads confirmed with it) or to the leader. The same interface as Server."""

    def __init__(self, role, workdir):
        self.name = "synod-" + role
        self.role = role
        self.workdir = workdir
        self.restarts = 0
        self.cluster = None
        self.node = None

    def start(self):
        extra = os.environ.get("SYNOD_ARGS", "").split()
        if not any(x.startswith("--fsync") for x in extra):
            extra += ["--fsync", "never"]
        d = os.path.join(self.workdir, "%s-%d" % (self.name, self.restarts))
        os.makedirs(d, exist_ok=True)
        self.cluster = SynodCluster(d, 3, extra_args=tuple(extra), binary=SYNOD).start()
        leader = self.cluster.wait_leader()
        self.node = leader if self.role == "leader" else next(
            n for n in self.cluster.nodes if n is not leader)
        self.port = self.node.port
        if os.environ.get("COMPAT_TRACKER"):
            self._tracker()

    def _tracker(self):
        """COMPAT_TRACKER=1: a client of the node tracks every key (RESP3 BCAST) for the whole
        run, its pushes drained: a follower then answers every relayed write once it has
        applied it (docs/cluster.md "Client-side caching"), which this runs every test through.
        Tests that count clients (CLIENT LIST, INFO clients) see one more."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
                  b"*4\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n$5\r\nBCAST\r\n")
        s.settimeout(None)

        def drain():
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass

        threading.Thread(target=drain, daemon=True).start()
        self._tracker_sock = s

    def alive(self):
        return self.cluster is not None and all(n.alive() for n in self.cluster.nodes)

    def stop(self):
        if self.cluster is not None:
            self.cluster.stop()
        self.cluster = None

    def restart(self):
        self.stop()
        self.restarts += 1
        self.start()

    def death_note(self):
        if self.alive():
            return ""
        dead = [n for n in self.cluster.nodes if not n.alive()] if self.cluster else []
        return "%s: node(s) %s died" % (self.name, [n.id for n in dead])

    def log_tail(self, n=30):
        return self.death_note()

    def connect(self):
        return RawConn("127.0.0.1", self.port)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "single_node(why): the reference behaviour is a lone server's; skipped when "
        "the target is a cluster (COMPAT_TARGET=follower|leader)")


def pytest_collection_modifyitems(config, items):
    if TARGET not in ("follower", "leader"):
        return
    for item in items:
        m = item.get_closest_marker("single_node")
        if m:
            item.add_marker(pytest.mark.skip(reason="single node only: " + m.args[0]))


@pytest.fixture(scope="session")
def servers():
    workdir = tempfile.mkdtemp(prefix="synod-compat-")
    ref = Server("redis-ref", redis_argv, workdir)
    if TARGET == "redis":
        tgt = Server("redis-target", redis_argv, workdir)
    elif TARGET in ("follower", "leader"):
        tgt = ClusterTarget(TARGET, workdir)
    else:
        tgt = Server("synod", synod_argv_fn(), workdir)
    try:
        ref.start()
        tgt.start()
        yield ref, tgt
    finally:
        ref.stop()
        tgt.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def pair(servers, request):
    ref, tgt = servers
    for s in (ref, tgt):
        if not s.alive():
            s.restart()
    p = Pair(ref.connect(), tgt.connect(), tgt.name, request.node.name, tgt.death_note)
    for conn in (p.ref, p.tgt):
        r = conn.call("FLUSHALL")
        assert r == b"+OK\r\n", "FLUSHALL before test: %r" % r
        r = conn.call("SELECT", "0")  # a database another test left selected
        assert r == b"+OK\r\n", "SELECT 0 before test: %r" % r
    yield p
    p.ref.close()
    p.tgt.close()
    if not tgt.alive():
        note = tgt.death_note()
        tgt.restart()
        call = getattr(request.node, "rep_call", None)
        if call is not None and call.passed:
            # The test itself saw nothing wrong, but the target died: still a failure.
            pytest.fail(note)
        # Otherwise the test already failed (or xfailed) on the dead connection, with the note.


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def connect(servers):
    """Open extra raw connections: connect('ref') / connect('tgt')."""
    opened = []

    def _connect(which):
        c = servers[0 if which == "ref" else 1].connect()
        opened.append(c)
        return c

    yield _connect
    for c in opened:
        c.close()
