"""The lock-cycle load generator of `make bench-coord` (bench/bench_coord_lock.c) counts what the
servers saw: against synod, every LOCK ACQUIRE and LOCK RELEASE it counts is in INFO
commandstats and it leaves no lease behind; against etcd, it leaves no lock key and no lease.
About 5 s."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.environ.get("LOCK_BENCH", os.path.join(ROOT, "build", "rel", "bench", "bench_coord_lock"))
CONNS = 8


def run_tool(port, proto, seconds, names):
    out = subprocess.run([TOOL, "127.0.0.1", str(port), proto, str(CONNS), str(seconds),
                          str(names)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    kv = {k: float(v) for k, v in (f.split("=") for f in out.stdout.split())}
    assert kv["errors"] == 0 and kv["cycles"] > 0 and kv["acquires"] >= kv["cycles"], kv
    return kv


def cmdstat(r, name):
    return r.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)


def test_lock_bench_counts_match_synod(synod, r):
    assert os.path.exists(TOOL), f"{TOOL} not built (make build/rel/bench/bench_coord_lock)"
    acquires = 0
    for names in (0, 2):  # each connection its own lock; then all on two locks (waiters queue)
        acquires += run_tool(synod.port, "resp", 1.0, names)["acquires"]
    # one LOCK ACQUIRE and one LOCK RELEASE per acquire; LEASE GRANT and REVOKE per connection
    assert cmdstat(r, "lock") == 2 * acquires
    assert cmdstat(r, "lease") == 2 * 2 * CONNS
    assert r.execute_command("LEASE", "LIST") == []


def etcd_post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode())  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_lock_bench_cleans_up_etcd(tmp_path):
    etcd = shutil.which(os.environ.get("ETCD_BIN", "etcd"))
    if not etcd:
        pytest.skip("etcd not installed (make deps installs etcd-server)")
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))
    import harness

    client, peer = harness.free_ports(2)
    proc = harness.Proc("etcd", [etcd, "--name", "n1", "--data-dir", str(tmp_path / "etcd"),
                                 "--listen-client-urls", f"http://127.0.0.1:{client}",
                                 "--advertise-client-urls", f"http://127.0.0.1:{client}",
                                 "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                                 "--initial-cluster", f"n1=http://127.0.0.1:{peer}",
                                 "--log-level", "warn", "--logger", "zap"],
                        str(tmp_path / "etcd.log"))  # fmt: skip
    proc.start()
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                etcd_post(client, "/v3/kv/put", {"key": "d2FybQ==", "value": "MQ=="})
                break
            except OSError:
                assert time.monotonic() < deadline, proc.log()[-2000:]
                time.sleep(0.1)
        run_tool(client, "etcd", 1.0, 2)
        # every lock key (name/lease) was deleted by its unlock, every lease revoked
        keys = etcd_post(client, "/v3/kv/range", {"key": "YmVuY2g6", "range_end": "YmVuY2g7"})
        assert int(keys.get("count", 0)) == 0, keys
        assert etcd_post(client, "/v3/lease/leases", {}).get("leases", []) == []
    finally:
        proc.stop()
