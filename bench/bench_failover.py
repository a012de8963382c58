#!/usr/bin/python3
"""bench/bench_failover.py — how fast a 3-node synod recovers from a leader kill, and whether a
loaded but healthy cluster ever changes leader (issue 13, "Failover").

Starts a 3-node cluster on 127.0.0.1 free ports (--fsync always, the default configuration
otherwise) and runs two measurements, both under a write load of redis-benchmark SET clients
(50 in all, pipeline 1, spread over the three nodes; followers relay to the leader) running on
the same cores as the nodes:

  failover  `--kills` times: kill -9 the leader; a probe client connected to a surviving node
            sends SET after SET; the failover time is from the kill to the first +OK of a SET
            sent after the kill. The killed node is restarted and caught up before the next
            round. Prints each time and the median (target: < 500 ms).
  quiet     `--quiet-seconds` of the same load with no faults: the number of term changes and
            leader changes seen in INFO (target: 0).

Usage: bench/bench_failover.py [--kills N] [--quiet-seconds S] [--quick]
Env: SYNOD_BIN, REDIS_BENCHMARK (default redis-benchmark).
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))

from harness import SynodCluster  # noqa: E402

SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
REDIS_BENCHMARK = os.environ.get("REDIS_BENCHMARK", "redis-benchmark")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Load:
    """redis-benchmark SET clients on every live node (stopped by PID)."""

    def __init__(self, nodes, clients=50):
        self.procs = []
        per = max(1, clients // len(nodes))
        for n in nodes:
            argv = [REDIS_BENCHMARK, "-h", n.host, "-p", str(n.port), "-c", str(per), "-n",
                    "100000000", "-r", "10000", "-t", "set", "-q", "-P", "1"]  # fmt: skip
            self.procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait(timeout=5)


def resp_cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def probe_failover(node, t_kill, deadline_s=10.0):
    """Sends SETs to `node` one at a time from now on; returns seconds from t_kill to the first
    +OK (None if none within deadline_s). Errors (TRYAGAIN, CLUSTERDOWN) and a dropped
    connection are retried at once."""
    end = time.monotonic() + deadline_s
    i = 0
    sock = None
    while time.monotonic() < end:
        try:
            if sock is None:
                sock = socket.create_connection((node.host, node.port), timeout=deadline_s)
            i += 1
            sock.sendall(resp_cmd("SET", "failover-probe", i))
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            if buf.startswith(b"+OK"):
                sock.close()
                return time.monotonic() - t_kill
            time.sleep(0.001)
        except OSError:
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.005)
    if sock is not None:
        sock.close()
    return None


def terms(cluster, nodes):
    out = {}
    for n in nodes:
        inf = n.info(timeout=2.0) or {}
        out[n.id] = (int(inf.get("term", "0") or 0), inf.get("leader_id"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--quiet-seconds", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="3 kills, 10 s quiet run")
    ap.add_argument("--load-clients", type=int, default=50)
    args = ap.parse_args()
    if args.quick:
        args.kills, args.quiet_seconds = 3, 10.0
    if not shutil.which(REDIS_BENCHMARK):
        log(f"{REDIS_BENCHMARK} not found (make deps installs redis-tools)")
        return 2

    tmp = tempfile.mkdtemp(prefix="synod-failover-")
    cluster = SynodCluster(tmp, n=3, binary=SYNOD_BIN)
    load = None
    try:
        cluster.start()
        # quiet run: load, no faults; count term and leader changes
        leader = cluster.wait_leader()
        load = Load(cluster.nodes, args.load_clients)
        time.sleep(1.0)
        before = terms(cluster, cluster.nodes)
        t_end = time.monotonic() + args.quiet_seconds
        leaders_seen = {leader.id}
        while time.monotonic() < t_end:
            time.sleep(0.5)
            ld = cluster.leader()
            if ld is not None:
                leaders_seen.add(ld.id)
        after = terms(cluster, cluster.nodes)
        load.stop()
        load = None
        term_changes = max(a[0] for a in after.values()) - max(b[0] for b in before.values())
        print(
            f"quiet run: {args.quiet_seconds:.0f} s of {args.load_clients}-client SET load, "
            f"{term_changes} term changes, leaders seen {sorted(leaders_seen)} (target: 0 term "
            "changes)",
            flush=True,
        )

        times = []
        for k in range(args.kills):
            leader = cluster.wait_leader()
            survivors = [n for n in cluster.nodes if n is not leader]
            load = Load(cluster.nodes, args.load_clients)
            time.sleep(1.5)
            t_kill = time.monotonic()
            os.kill(leader.pid, signal.SIGKILL)
            dt = probe_failover(survivors[k % 2], t_kill)
            load.stop()
            load = None
            leader.wait_exit(5.0)
            new = cluster.wait_leader(nodes=survivors)
            shown = f"{dt * 1000:.0f} ms" if dt is not None else "none within 10 s"
            print(f"kill {k + 1}: leader {leader.id} killed, node {new.id} leads; "
                  f"first acknowledged write after {shown}", flush=True)  # fmt: skip
            times.append(dt if dt is not None else float("inf"))
            leader.start()
            leader.wait_serving()
            cluster.wait_converged(["failover-probe"])
        med = statistics.median(times)
        print(f"failover: median {med * 1000:.0f} ms over {len(times)} kills "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; target < 500 ms)",
              flush=True)  # fmt: skip
        return 0
    finally:
        if load is not None:
            load.stop()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
