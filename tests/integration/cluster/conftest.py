"""Fixtures of the cluster fault tests (issue 4). Helpers: harness.py, history.py; how to run
and read them: docs/testing-faults.md.

    netlab              a harness.NetLab with 3 hosts (skips if namespaces cannot be made);
                        destroyed at the end, after stopping any process left inside it
    make_cluster(n=3, lab=None, start=True, binary=None, env=None) -> SynodCluster
                        nodes stopped by PID at the end; a node that was not killed on purpose
                        must exit 0 on SIGTERM (a crash or sanitizer report fails the test)
    cluster_required    session fixture: skips when this synod build has no cluster mode
                        (use as `pytestmark = pytest.mark.usefixtures("cluster_required")`)
    fake_env(bug="") -> env  a shared store for fake_synod.py nodes (make_cluster(binary=
                        FAKE_SYNOD, env=fake_env())); bug="stale-minority" breaks them
    redis_proc(name, *args) -> (Proc, port)
                        a redis-server on a free loopback port (for the checker's self-tests)
"""

import os
import re
import shutil
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import SYNOD_BIN, NetLab, Proc, SynodCluster, free_port  # noqa: E402
from history import wait_redis  # noqa: E402

UNSUPPORTED_RE = re.compile(
    r"single node only|not (yet )?(supported|implemented)|unsupported|comes with issue 4",
    re.IGNORECASE,
)
_probe_result = []


def _probe_cluster_support():
    """(True, "") if synod runs a 3-node cluster here, else (False, reason). Only a build that
    rejects a multi-member --cluster, or never elects a leader within 10 s while logging that
    clustering is unsupported, counts as "not implemented"; any other failure is left to the
    tests to report."""
    tmp = tempfile.mkdtemp(prefix="synod-probe-")
    c = SynodCluster(tmp, 3)
    try:
        for n in c.nodes:
            n.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for n in c.nodes:
                if not n.alive():
                    log = n.log()
                    m = UNSUPPORTED_RE.search(log)
                    if n.proc.returncode != 0 and m:
                        line = next(
                            (ln for ln in log.splitlines() if UNSUPPORTED_RE.search(ln)), ""
                        )
                        return False, line.strip()
                    return True, ""  # a real failure: the tests will show it
            if c.leader() is not None:
                return True, ""
            time.sleep(0.1)
        logs = " ".join(n.log() for n in c.nodes)
        m = UNSUPPORTED_RE.search(logs)
        if m:
            return False, f"no leader within 10 s; log says: {m.group(0)}"
        return True, ""
    finally:
        c.stop(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


FAKE_SYNOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_synod.py")


def _start_store(d):
    """The redis-server that fake_synod.py nodes share, on a unix socket (reachable from
    every network namespace). Returns (Proc, socket path)."""
    sock = os.path.join(d, "store.sock")
    p = Proc("fake-store", ["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                            "--dir", d], os.path.join(d, "store.log")).start()  # fmt: skip
    for _ in range(200):
        if os.path.exists(sock):
            return p, sock
        time.sleep(0.05)
    p.stop()
    raise RuntimeError(f"fake store did not start: {p.log()}")


@pytest.fixture(scope="session")
def _fake_store():
    """With SYNOD_BIN=.../fake_synod.py (make faults-fake) the whole suite runs against the
    stand-in; its nodes need the shared store."""
    if os.path.basename(SYNOD_BIN) != "fake_synod.py":
        yield None
        return
    d = tempfile.mkdtemp(prefix="fake-synod-store-")
    p, sock = _start_store(d)
    os.environ["FAKE_SYNOD_STORE"] = sock
    yield sock
    p.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake_env(tmp_path):
    """fake_env(bug="") -> environment for SynodCluster(binary=FAKE_SYNOD, env=...)."""
    procs = []

    def make(bug=""):
        d = tmp_path / f"store{len(procs) + 1}"
        d.mkdir()
        p, sock = _start_store(str(d))
        procs.append(p)
        return dict(os.environ, FAKE_SYNOD_STORE=sock, FAKE_SYNOD_BUG=bug)

    yield make
    for p in procs:
        p.stop()


@pytest.fixture(scope="session")
def cluster_required(_fake_store):
    if not _probe_result:
        if not os.path.exists(SYNOD_BIN):
            pytest.fail(f"synod binary not built: {SYNOD_BIN}")
        _probe_result.append(_probe_cluster_support())
    ok, why = _probe_result[0]
    if not ok:
        pytest.skip(f"cluster mode not implemented yet (issue 4): {why}")


@pytest.fixture(scope="session")
def _netlab_available():
    NetLab.sweep_stale()
    return NetLab.available()


@pytest.fixture
def netlab(_netlab_available):
    ok, why = _netlab_available
    if not ok:
        pytest.skip(f"network namespaces unavailable: {why}")
    lab = NetLab(3)
    yield lab
    # stop whatever a failing test left running in these namespaces, then delete them
    for p in Proc.registry:
        if p.netns in lab.hosts or p.netns == lab.client_ns:
            p.stop(timeout=5)
    errs = lab.destroy()
    assert not errs, f"netns teardown: {errs}"


@pytest.fixture
def make_cluster(tmp_path):
    made = []

    def make(n=3, lab=None, start=True, extra_args=(), binary=None, env=None):
        c = SynodCluster(tmp_path / f"cluster{len(made) + 1}", n, lab, extra_args, binary, env)
        os.makedirs(c.tmp_dir, exist_ok=True)
        made.append(c)
        if start:
            c.start()
        return c

    yield make
    bad = []
    for c in made:
        for node, rc in c.stop(timeout=10):
            if rc not in (0, None) and not node.expect_unclean_exit:
                bad.append((node.name, rc, node.log()[-3000:]))
    assert not bad, f"nodes exited badly at teardown: {bad}"


@pytest.fixture
def redis_proc(tmp_path):
    procs = []

    def start(name, *args):
        port = free_port()
        d = tmp_path / name
        d.mkdir()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(d), *args]  # fmt: skip
        p = Proc(name, argv, str(tmp_path / f"{name}.log")).start()
        procs.append(p)
        wait_redis(port, p)
        return p, port

    yield start
    for p in procs:
        p.stop(timeout=5)
