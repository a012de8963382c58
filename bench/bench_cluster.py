#!/usr/bin/python3
"""bench/bench_cluster.py — synod 3-node against etcd 3-node and redis-server, in one run (issue 4).

Starts, on 127.0.0.1 free ports, in one run of this script:
  - synod: 3 nodes, --fsync always (skipped, with "synod cluster: not available", when this
    build has no cluster mode or never elects a leader);
  - etcd: 3 members of Debian's etcd-server (fsync on: etcd's default, it cannot be turned off
    without --unsafe-no-fsync), data dirs under one temp dir;
  - redis-server: one process, --appendonly yes --appendfsync always (durable, replicates
    nothing).
Measures, at 50 concurrent clients each with one request in flight (closed loop):
  - writes: redis-benchmark SET (synod, redis); POST /v3/kv/put (etcd);
  - linearizable reads: redis-benchmark GET (synod: its default consistency is linearizable;
    redis: a single node); POST /v3/kv/range (etcd: linearizable by default, ReadIndex);
  - lease reads: redis-benchmark GET on a second synod cluster started with
    --consistency lease (the leader answers from its state while its lease holds), vs redis GET.
Load goes to the leader (synod, etcd): the best case for both, no forwarding hop. etcd is
driven by build/rel/bench/bench_cluster_http, an epoll C client over etcd's HTTP/JSON gateway
with 50 keep-alive connections (a Python or etcdctl client would measure itself, not etcd).
Keys: random among 10,000 (-r / keyspace); values 3 bytes (redis-benchmark's default).
Each test runs `--rounds` times, interleaving the systems, and the median round is reported.

Usage: bench/bench_cluster.py [--seconds S] [--rounds R] [--clients C] [--quick]
Env: SYNOD_BIN, ETCD_BIN (default etcd), REDIS_SERVER (default redis-server), HTTP_BENCH.
Targets (issue 4): synod writes >= 3x etcd throughput with a lower p99; >= 0.5x redis.
"""

import argparse
import csv
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))

import harness  # noqa: E402
from harness import SynodCluster  # noqa: E402

KERNEL_FREE_PORTS = harness.free_ports
PORT_NEXT = [None]  # --port-base: ports are taken upwards from it (checked free)


def free_ports(n, host="127.0.0.1"):
    """n free ports: the kernel's, or from --port-base / BENCH_PORT_BASE upwards."""
    if PORT_NEXT[0] is None:
        return KERNEL_FREE_PORTS(n, host)
    out = []
    while len(out) < n:
        p = PORT_NEXT[0]
        PORT_NEXT[0] += 1
        with socket.socket() as s:
            try:
                s.bind((host, p))
            except OSError:
                continue
        out.append(p)
    return out

SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
ETCD_BIN = os.environ.get("ETCD_BIN", "etcd")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
HTTP_BENCH = os.environ.get(
    "HTTP_BENCH", os.path.join(ROOT, "build", "rel", "bench", "bench_cluster_http")
)
KEYSPACE = 10000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Proc:
    def __init__(self, name, cmd, log_path):
        self.name = name
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        """By PID: SIGTERM, then SIGKILL."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


# --- redis-server -------------------------------------------------------------------------


def start_redis(tmp, durable=True, name="redis"):
    """redis-server: appendonly yes + appendfsync always (durable), else no persistence."""
    port = free_ports(1)[0]
    d = os.path.join(tmp, name)
    os.makedirs(d)
    persist = ["--appendonly", "yes", "--appendfsync", "always"] if durable else [
        "--appendonly", "no"]  # fmt: skip
    p = Proc(name, [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    *persist, "--dir", d], os.path.join(tmp, f"{name}.log"))  # fmt: skip

    def ping():
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_until(ping, 15, "redis-server")
    return p, port


def redis_benchmark(port, test, requests, clients, pipeline=1):
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n", str(requests),
         "-c", str(clients), "-r", str(KEYSPACE), "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {out.stderr}")
    row = list(csv.DictReader(io.StringIO(out.stdout)))[0]
    return {
        "rps": float(row["rps"]),
        "p50": float(row["p50_latency_ms"]),
        "p99": float(row["p99_latency_ms"]),
    }


# --- etcd ---------------------------------------------------------------------------------


def start_etcd(tmp, n=3):
    ports = free_ports(2 * n)
    names = [f"n{i + 1}" for i in range(n)]
    client = [ports[2 * i] for i in range(n)]
    peer = [ports[2 * i + 1] for i in range(n)]
    initial = ",".join(f"{names[i]}=http://127.0.0.1:{peer[i]}" for i in range(n))
    procs = []
    for i in range(n):
        cmd = [ETCD_BIN, "--name", names[i], "--data-dir", os.path.join(tmp, f"etcd-{names[i]}"),
               "--listen-client-urls", f"http://127.0.0.1:{client[i]}",
               "--advertise-client-urls", f"http://127.0.0.1:{client[i]}",
               "--listen-peer-urls", f"http://127.0.0.1:{peer[i]}",
               "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer[i]}",
               "--initial-cluster", initial, "--initial-cluster-state", "new",
               "--initial-cluster-token", f"bench-{os.getpid()}",
               "--logger", "zap", "--log-level", "warn"]  # fmt: skip
        procs.append(Proc(f"etcd-{names[i]}", cmd, os.path.join(tmp, f"etcd-{names[i]}.log")))

    def status(port):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v3/maintenance/status", data=b"{}", method="POST"
        )
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.loads(r.read())

    def leader_port():
        sts = [status(p) for p in client]
        for p, st in zip(client, sts):
            if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                # the leader has committed an entry of its term once a put succeeds
                put = urllib.request.Request(
                    f"http://127.0.0.1:{p}/v3/kv/put",
                    data=b'{"key":"d2FybQ==","value":"MQ=="}',
                    method="POST",
                )
                with urllib.request.urlopen(put, timeout=5) as r:
                    r.read()
                return p
        return None

    try:
        port = wait_until(leader_port, 30, "etcd leader")
    except Exception:
        for p in procs:
            p.stop()
        raise
    return procs, port


def http_bench(port, mode, clients, seconds):
    out = subprocess.run(
        [HTTP_BENCH, "127.0.0.1", str(port), mode, str(clients), str(seconds), str(KEYSPACE), "3"],
        capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"bench_cluster_http failed: {out.stdout}{out.stderr}")
    kv = dict(f.split("=") for f in out.stdout.split())
    if int(kv["errors"]):
        log(f"  etcd {mode}: {kv['errors']} error responses (not counted)")
    log(f"  (etcd load generator used {100 * float(kv['cpu_s']) / float(kv['seconds']):.0f}% "
        f"of one core)")  # fmt: skip
    return {"rps": float(kv["rps"]), "p50": float(kv["p50_ms"]), "p99": float(kv["p99_ms"])}


# --- synod ---------------------------------------------------------------------------------


def start_synod(tmp, binary=None, name="synod", extra_args=()):
    """(cluster, leader) or (None, reason)."""
    binary = binary or SYNOD_BIN
    if not os.path.exists(binary):
        return None, f"{binary} not built"
    d = os.path.join(tmp, name)
    os.makedirs(d)
    c = SynodCluster(d, 3, binary=binary, extra_args=extra_args)
    for n in c.nodes:
        n.start()
    try:
        for n in c.nodes:
            n.wait_serving(timeout=10)
        return c, c.wait_leader(timeout=15)
    except Exception as e:  # noqa: BLE001 — any failure means "not available"
        lines = [ln for n in c.nodes for ln in n.log().splitlines() if ln.strip()]
        c.stop()
        why = lines[-1] if lines else str(e).splitlines()[0]
        return None, why[:160]


# --- main ----------------------------------------------------------------------------------


# op -> (redis-benchmark test, pipeline depth); etcd runs "write" and "read" only; "lease" runs
# on redis and on a second synod cluster started with --consistency lease (redis-benchmark
# cannot choose a connection's consistency) and on nothing else
OPS = {"write": ("set", 1), "write16": ("set", 16), "read": ("get", 1), "lease": ("get", 1)}


def runs_op(name, kind, op):
    if op == "lease":
        return name in ("redis", "lease")
    if name == "lease":
        return False
    return kind != "http" or op != "write16"


def measure(systems, rounds, seconds, clients, ops):
    """systems: name -> (kind, port). Returns {(name, op): median result}."""
    runs = {}
    for rnd in range(rounds):
        order = list(systems.items())
        if rnd % 2:
            order.reverse()
        for op in ops:
            for name, (kind, port, rb_requests) in order:
                if not runs_op(name, kind, op):
                    continue
                if kind == "http":
                    r = http_bench(port, "put" if op == "write" else "range", clients, seconds)
                else:
                    test, pipe = OPS[op]
                    r = redis_benchmark(port, test, rb_requests[op], clients, pipe)
                runs.setdefault((name, op), []).append(r)
                log(f"  round {rnd + 1} {name:6} {op:5}: {r['rps']:>10,.0f} rps  "
                    f"p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms")  # fmt: skip
    med = {}
    for key, rs in runs.items():
        rs = sorted(rs, key=lambda x: x["rps"])
        m = dict(rs[len(rs) // 2])
        m["p99"] = statistics.median(x["p99"] for x in rs)
        m["p50"] = statistics.median(x["p50"] for x in rs)
        med[key] = m
    return med


def calibrate(port, clients, seconds):
    """redis-benchmark takes a request count: size it to last about `seconds` per test."""
    req = {}
    for op, (test, pipe) in OPS.items():
        r = redis_benchmark(port, test, 2000 * pipe, clients, pipe)
        req[op] = max(2000, int(r["rps"] * seconds))
    return req


def fmt_row(label, r):
    if r is None:
        return f"| {label:<28} | {'-':>10} | {'-':>9} | {'-':>9} |"
    return f"| {label:<28} | {r['rps']:>10,.0f} | {r['p50']:>9.3f} | {r['p99']:>9.3f} |"


def ratio(a, b, field):
    if not a or not b or not b.get(field):
        return "n/a"
    return f"{a[field] / b[field]:.2f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="per test and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="2 s per test, 1 round")
    ap.add_argument("--no-etcd", action="store_true", help="synod and redis only")
    ap.add_argument("--ops", default="write,write16,read,lease",
                    help="comma list of write (SET), write16 (SET -P 16), read (GET), "
                         "lease (GET, synod --consistency lease)")  # fmt: skip
    ap.add_argument("--baseline", default=os.environ.get("SYNOD_BASE_BIN"),
                    help="a second synod binary, measured as 'base' in the same rounds")
    ap.add_argument("--port-base", type=int, default=os.environ.get("BENCH_PORT_BASE"),
                    help="take ports from here upwards instead of the kernel's free ones")
    args = ap.parse_args()
    if args.port_base:
        PORT_NEXT[0] = int(args.port_base)
        harness.free_ports = free_ports  # SynodCluster's nodes too
    ops = [o for o in args.ops.split(",") if o]
    if args.quick:
        args.seconds, args.rounds = 2.0, 1
    for tool in ((REDIS_SERVER, "redis-benchmark") if args.no_etcd
                 else (ETCD_BIN, REDIS_SERVER, "redis-benchmark")):  # fmt: skip
        if not shutil.which(tool):
            sys.exit(f"bench-cluster: {tool} not found (make deps installs etcd-server, redis)")
    if not args.no_etcd and not os.path.exists(HTTP_BENCH):
        sys.exit(f"bench-cluster: {HTTP_BENCH} not built (make {os.path.relpath(HTTP_BENCH)})")

    tmp = tempfile.mkdtemp(prefix="synod-bench-cluster-")
    started = []
    synod_cluster = None
    base_clusters = []
    try:
        log(f"== bench-cluster: {args.clients} clients, {args.seconds:g} s per test, "
            f"{args.rounds} round(s), data in {tmp}")  # fmt: skip
        redis_p, redis_port = start_redis(tmp)
        started.append(redis_p)
        systems = {
            "redis": ("resp", redis_port, calibrate(redis_port, args.clients, args.seconds)),
        }
        if not args.no_etcd:
            etcd_ps, etcd_port = start_etcd(tmp)
            started += etcd_ps
            systems["etcd"] = ("http", etcd_port, None)
        if args.baseline:
            base_cluster, base_leader = start_synod(tmp, args.baseline, "base")
            if base_cluster:
                base_clusters.append(base_cluster)
                systems["base"] = (
                    "resp",
                    base_leader.port,
                    calibrate(base_leader.port, args.clients, args.seconds),
                )
        synod_cluster, synod_leader = start_synod(tmp)
        if synod_cluster:
            log(f"== synod: 3 nodes, leader node{synod_leader.id} on {synod_leader.addr}")
            systems["synod"] = (
                "resp",
                synod_leader.port,
                calibrate(synod_leader.port, args.clients, args.seconds),
            )
        else:
            log(f"== synod cluster: not available ({synod_leader})")
        if synod_cluster and "lease" in ops:
            lease_cluster, lease_leader = start_synod(tmp, name="lease",
                                                      extra_args=("--consistency", "lease"))  # fmt: skip
            if lease_cluster:
                base_clusters.append(lease_cluster)
                systems["lease"] = ("resp", lease_leader.port,
                                    calibrate(lease_leader.port, args.clients, args.seconds))  # fmt: skip
        med = measure(systems, args.rounds, args.seconds, args.clients, ops)
    finally:
        if synod_cluster:
            synod_cluster.stop()
        for c in base_clusters:
            c.stop()
        for p in started:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"bench-cluster: {args.clients} clients, 1 request in flight each, "
          f"median of {args.rounds} round(s) of {args.seconds:g} s")  # fmt: skip
    print("synod: fsync always; etcd: fsync on (default); redis: appendonly, appendfsync always")
    print(f"| {'system / operation':<28} | {'ops/s':>10} | {'p50 ms':>9} | {'p99 ms':>9} |")
    print(f"|{'-' * 30}|{'-' * 12}|{'-' * 11}|{'-' * 11}|")
    labels = {"synod": "synod 3-node", "base": "base 3-node", "etcd": "etcd 3-node",
              "redis": "redis 1-node", "lease": "synod 3-node"}  # fmt: skip
    opnames = {"write": "writes", "write16": "writes P16", "read": "lin. reads",
               "lease": "lease reads"}  # fmt: skip
    for op in ops:
        opname = opnames[op]
        for name in ("synod", "lease", "base", "etcd", "redis"):
            if name == "synod" and op == "lease":
                continue
            if not runs_op(name, systems.get(name, ("resp",))[0], op):
                continue
            if name not in systems and name != "synod":
                continue
            r = med.get((name, op))
            label = f"{labels[name]} {opname}"
            if name == "synod" and r is None:
                print(f"| {'synod cluster: not available':<28} | {'-':>10} | {'-':>9} | {'-':>9} |")
            else:
                print(fmt_row(label, r))
    print()
    for op in ops:
        s, e, r = med.get(("synod", op)), med.get(("etcd", op)), med.get(("redis", op))
        if op == "lease":
            s = med.get(("lease", op))
        b = med.get(("base", op))
        print(f"{op:7}: synod/etcd throughput {ratio(s, e, 'rps')}, p99 {ratio(s, e, 'p99')}; "
              f"synod/redis throughput {ratio(s, r, 'rps')}, p99 {ratio(s, r, 'p99')}"
              + (f"; base/redis throughput {ratio(b, r, 'rps')}, p99 {ratio(b, r, 'p99')}"
                 if b else ""))  # fmt: skip
    if not any(k[0] == "synod" for k in med):
        print("synod cluster: not available (issue 4) — etcd and redis rows measured only")
    print("targets (issue 4): synod writes >= 3x etcd with a lower p99; >= 0.5x redis")
    print("targets (issue 13): writes, writes P16, lin. reads, lease reads >= 1.0x redis; "
          "write p99 <= 2x redis")  # fmt: skip


if __name__ == "__main__":
    main()
