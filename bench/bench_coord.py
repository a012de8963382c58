#!/usr/bin/python3
"""bench/bench_coord.py — scripts and coordination: synod against redis-server and etcd in one run
(issue 11).

Starts, on 127.0.0.1 (ports from --port-base, else free ones):
  - redis-server without persistence and synod as a single node with --fsync never (like for
    like, as bench/redis_compare.py: the WAL is written, not fsync'd);
  - redis-server with appendonly yes + appendfsync always, and synod 3 nodes with --fsync always;
  - etcd: 3 members of Debian's etcd-server (fsync on, its default), bench_cluster.start_etcd.
Measures, with 50 clients each with one request in flight (or 16 with -P 16):
  - EVALSHA of a rate limiter (INCR a key; PEXPIRE it 1000 ms on its first hit) over 100,000
    random keys, driven by redis-benchmark after SCRIPT LOAD on each server: synod single node
    vs redis (target >= 0.9x), and synod 3-node vs redis appendfsync always (for information);
  - lock cycles (acquire, then release with the token) per second: synod 3-node (LEASE GRANT
    once per client, LOCK ACQUIRE name lease-id / LOCK RELEASE name token) vs etcd 3-node (POST
    /v3/lease/grant once per client, /v3/lock/lock {name, lease} / /v3/lock/unlock {key}
    through its JSON gateway), both driven by build/rel/bench/bench_coord_lock (one epoll C
    loop, the same for both protocols); uncontended (each client its own lock) and contended
    (all clients on --contended-names locks). Target: synod >= 3x etcd.
Load goes to the leader of each cluster (no forwarding hop). Each test runs --rounds times, the
systems in alternating order, and the median round is reported, with the servers' own CPU time
per operation (all of a system's processes; steadier than throughput on a shared machine).

Usage: bench/bench_coord.py [--seconds S] [--rounds R] [--clients C] [--quick] [--port-base P]
                            [--only evalsha|lock] [--contended-names K]
Env: SYNOD_BIN, ETCD_BIN (default etcd), REDIS_SERVER (default redis-server), LOCK_BENCH.
"""

import argparse
import csv
import hashlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))

import bench_cluster as bc  # noqa: E402
import harness  # noqa: E402
from bench_cluster import Proc, log, start_etcd, start_redis, start_synod, wait_until  # noqa: E402

SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
LOCK_BENCH = os.environ.get(
    "LOCK_BENCH", os.path.join(ROOT, "build", "rel", "bench", "bench_coord_lock")
)
KEYSPACE = 100000
LIMITER = ("local c = redis.call('INCR', KEYS[1]) "
           "if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return c")  # fmt: skip
LIMITER_SHA = hashlib.sha1(LIMITER.encode()).hexdigest()


class System:
    """One system under test: name, port the load goes to, the pids whose CPU time counts."""

    def __init__(self, name, port, pids):
        self.name, self.port, self.pids = name, port, pids
        self.requests = {}  # redis-benchmark -n per test, sized by calibrate()

    def cpu_s(self):
        total = 0.0
        for pid in self.pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def start_synod_single(tmp):
    port = bc.free_ports(1)[0]
    d = os.path.join(tmp, "synod1")
    p = Proc("synod1", [SYNOD_BIN, "--listen", f"127.0.0.1:{port}", "--data-dir", d,
                        "--fsync", "never"], os.path.join(tmp, "synod1.log"))  # fmt: skip

    def ping():
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    try:
        wait_until(ping, 15, "synod single node")
    except Exception:
        p.stop()
        raise
    return p, port


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    return out.stdout.strip()


def script_load(port):
    sha = cli(port, "SCRIPT", "LOAD", LIMITER)
    if sha != LIMITER_SHA:
        raise RuntimeError(f"SCRIPT LOAD on port {port} answered {sha!r}, not {LIMITER_SHA}")


def evalsha_bench(port, requests, clients, pipeline):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
           "-c", str(clients), "-P", str(pipeline), "-r", str(KEYSPACE), "--csv",
           "EVALSHA", LIMITER_SHA, "1", "rl:__rand_int__", "1000"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {out.stderr}")
    row = list(csv.DictReader(io.StringIO(out.stdout)))[0]
    return {"ops": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
            "p99": float(row["p99_latency_ms"])}  # fmt: skip


def lock_bench(port, proto, clients, seconds, names):
    out = subprocess.run(
        [LOCK_BENCH, "127.0.0.1", str(port), proto, str(clients), str(seconds), str(names)],
        capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    if out.returncode == 2 or "cycles=" not in out.stdout:
        raise RuntimeError(f"bench_coord_lock failed: {out.stdout}{out.stderr}")
    kv = dict(f.split("=") for f in out.stdout.split())
    if int(kv["errors"]):
        log(f"  {proto}: {kv['errors']} error replies: {out.stderr.strip()[:300]}")
    return {"ops": float(kv["cps"]), "p50": float(kv["p50_ms"]), "p99": float(kv["p99_ms"]),
            "client_cpu": 100 * float(kv["cpu_s"]) / float(kv["seconds"])}  # fmt: skip


# test name -> (kind, pipeline or contended, what it compares)
TESTS = {
    "evalsha": ("evalsha", 1, "single node"),
    "evalsha16": ("evalsha", 16, "single node"),
    "evalsha-3n": ("evalsha", 1, "3-node fsync always"),
    "evalsha16-3n": ("evalsha", 16, "3-node fsync always"),
    "lock": ("lock", False, "3-node"),
    "lock-contended": ("lock", True, "3-node"),
}


def calibrate(system, clients, seconds):
    """redis-benchmark takes a request count: size it to last about `seconds` per test."""
    for pipe in (1, 16):
        r = evalsha_bench(system.port, 2000 * pipe, clients, pipe)
        system.requests[pipe] = max(2000, int(r["ops"] * seconds))


def run_one(test, system, args):
    kind, param, _ = TESTS[test]
    cpu0 = system.cpu_s()
    if kind == "evalsha":
        r = evalsha_bench(system.port, system.requests[param], args.clients, param)
        n_ops = system.requests[param]
    else:
        names = args.contended_names if param else 0
        proto = "etcd" if system.name == "etcd" else "resp"
        r = lock_bench(system.port, proto, args.clients, args.seconds, names)
        n_ops = r["ops"] * args.seconds
    r["cpu_us"] = (system.cpu_s() - cpu0) * 1e6 / max(1.0, n_ops)
    return r


def measure(pairs, args):
    """pairs: test -> (synod System, peer System). Returns {(test, name): median result}."""
    runs = {}
    for rnd in range(args.rounds):
        for test, pair in pairs.items():
            for system in pair if rnd % 2 == 0 else reversed(pair):
                r = run_one(test, system, args)
                runs.setdefault((test, system.name), []).append(r)
                extra = f"  client {r['client_cpu']:.0f}% cpu" if "client_cpu" in r else ""
                log(f"  round {rnd + 1} {test:14} {system.name:7} {r['ops']:>10,.0f} ops/s  "
                    f"p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms  "
                    f"{r['cpu_us']:.1f} us cpu/op{extra}")  # fmt: skip
    med = {}
    for key, rs in runs.items():
        m = dict(sorted(rs, key=lambda x: x["ops"])[len(rs) // 2])
        for f in ("p50", "p99", "cpu_us"):
            m[f] = statistics.median(x[f] for x in rs)
        med[key] = m
    return med


def report(pairs, med, args):
    print()
    print(f"bench-coord: {args.clients} clients, 1 request in flight each (P16: 16), median of "
          f"{args.rounds} round(s), {args.seconds:g} s per test")  # fmt: skip
    print("evalsha: rate limiter script (INCR + PEXPIRE on first hit), 100,000 random keys;")
    print("  single node: synod --fsync never vs redis no persistence;")
    print("  3-node: synod --fsync always vs redis appendfsync always (1 node, for information)")
    print(f"lock: acquire + release cycles per second, synod 3-node vs etcd 3-node; contended: "
          f"all clients on {args.contended_names} lock names")  # fmt: skip
    hdr = (f"| {'test':<28} | {'peer':<12} | {'synod ops/s':>11} | {'peer ops/s':>11} | "
           f"{'ratio':>6} | {'synod p99':>9} | {'peer p99':>9} | {'us cpu/op s/p':>14} |")
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    labels = {"evalsha": "EVALSHA 1 node", "evalsha16": "EVALSHA P16 1 node",
              "evalsha-3n": "EVALSHA 3-node", "evalsha16-3n": "EVALSHA P16 3-node",
              "lock": "lock cycles 3-node", "lock-contended": "lock cycles contended 3-node"}
    ratios = {}
    for test, (s, p) in pairs.items():
        a, b = med.get((test, s.name)), med.get((test, p.name))
        ratios[test] = a["ops"] / b["ops"] if a and b and b["ops"] else None
        rt = f"{ratios[test]:.2f}x" if ratios[test] else "n/a"
        print(f"| {labels[test]:<28} | {p.name:<12} | {a['ops']:>11,.0f} | {b['ops']:>11,.0f} | "
              f"{rt:>6} | {a['p99']:>9.3f} | {b['p99']:>9.3f} | "
              f"{a['cpu_us']:>6.1f}/{b['cpu_us']:<7.1f} |")  # fmt: skip
    print()
    targets = {"evalsha": 0.9, "evalsha16": 0.9, "lock": 3.0, "lock-contended": 3.0}
    for test, t in targets.items():
        if test in ratios and ratios[test] is not None:
            verdict = "met" if ratios[test] >= t else "MISSED"
            print(f"target {test}: synod/peer >= {t:g}x: {ratios[test]:.2f}x {verdict}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="per test and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--contended-names", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 s per test, 1 round")
    ap.add_argument("--only", choices=("evalsha", "lock"), help="one half of the benchmark")
    ap.add_argument("--port-base", type=int, default=os.environ.get("BENCH_PORT_BASE"),
                    help="take ports from here upwards instead of the kernel's free ones")
    args = ap.parse_args()
    if args.port_base:
        bc.PORT_NEXT[0] = int(args.port_base)
        harness.free_ports = bc.free_ports  # SynodCluster's nodes too
    if args.quick:
        args.seconds, args.rounds = 2.0, 1
    want_eval, want_lock = args.only in (None, "evalsha"), args.only in (None, "lock")
    tools = [bc.REDIS_SERVER, "redis-benchmark", "redis-cli"] + ([bc.ETCD_BIN] if want_lock else [])
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"bench-coord: {tool} not found (make deps installs etcd-server, redis)")
    for path in [SYNOD_BIN] + ([LOCK_BENCH] if want_lock else []):
        if not os.path.exists(path):
            sys.exit(f"bench-coord: {path} not built (make {os.path.relpath(path, ROOT)})")

    tmp = tempfile.mkdtemp(prefix="synod-bench-coord-")
    procs, clusters = [], []
    try:
        log(f"== bench-coord: {args.clients} clients, {args.seconds:g} s per test, "
            f"{args.rounds} round(s), data in {tmp}")  # fmt: skip
        pairs = {}
        cluster, leader = start_synod(tmp, SYNOD_BIN)
        if not cluster:
            raise RuntimeError(f"synod cluster: not available ({leader})")
        clusters.append(cluster)
        synod3 = System("synod-3", leader.port, [n.pid for n in cluster.nodes])
        log(f"== synod: 3 nodes, leader node{leader.id} on {leader.addr}")
        if want_eval:
            p, port = start_redis(tmp, durable=False, name="redis")
            procs.append(p)
            redis = System("redis", port, [p.proc.pid])
            p, port = start_redis(tmp, durable=True, name="redis-aof")
            procs.append(p)
            redis_aof = System("redis-aof", port, [p.proc.pid])
            p, port = start_synod_single(tmp)
            procs.append(p)
            synod1 = System("synod-1", port, [p.proc.pid])
            for s in (redis, redis_aof, synod1, synod3):
                script_load(s.port)
                calibrate(s, args.clients, args.seconds)
            pairs["evalsha"] = pairs["evalsha16"] = (synod1, redis)
            pairs["evalsha-3n"] = pairs["evalsha16-3n"] = (synod3, redis_aof)
        if want_lock:
            etcd_ps, etcd_port = start_etcd(tmp)
            procs += etcd_ps
            etcd = System("etcd", etcd_port, [p.proc.pid for p in etcd_ps])
            pairs["lock"] = pairs["lock-contended"] = (synod3, etcd)
        med = measure(pairs, args)
    finally:
        for c in clusters:
            c.stop()
        for p in procs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(pairs, med, args)


if __name__ == "__main__":
    main()
