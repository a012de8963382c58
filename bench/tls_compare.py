#!/usr/bin/python3
"""bench/tls_compare.py — the cost of TLS: synod and redis-server, plain and TLS, one run.

Makes a CA, a server and a client certificate with the openssl command line, starts
redis-server and synod (single node, --fsync never like the Redis without AOF/RDB) each with a
plain port and a tls-port using the same files (tls-auth-clients yes), and runs redis-benchmark
(SET and GET, 50 clients, pipeline 1 and 16, random keys) against the four endpoints,
alternating the order in every round so they share the machine's load. Prints the median rps of
the rounds and the ratios: TLS/plain for each server, and synod/redis over TLS.

Then the 3-node cost (issue 9): two synod clusters of 3 nodes run side by side (--fsync never,
so the network and crypto are what is measured), one in plain TCP, one with tls-cluster yes
(TLS with certificates on every peer link and relay) and a tls-port on every node; SET through
the leader and through a follower (relayed to the leader), plain clients on the plain cluster,
TLS clients on the TLS one, alternating with redis-server over TLS in every round. Prints the
median rps and the ratios: synod TLS/plain, and synod TLS/redis TLS.

Usage: bench/tls_compare.py [--requests N] [--rounds R] [--quick] [--port-base P]
  --port-base P: servers listen on P, P+1, ... (default: free ports from the kernel)
Env: SYNOD_BIN (default build/rel/synod), REDIS_SERVER (default redis-server).
"""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))
import harness  # noqa: E402
import redis_compare  # noqa: E402
from redis_compare import REDIS_SERVER, SYNOD_BIN, Server  # noqa: E402

_next_port = None  # --port-base: the next port to hand out


def free_port():
    global _next_port
    if _next_port is None:
        return redis_compare.free_port()
    _next_port += 1
    return _next_port - 1


def free_ports(n, host="127.0.0.1"):
    return [free_port() for _ in range(n)]


def openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(d, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=bench-ca")  # fmt: skip
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\n"), ("client", "")):
        openssl(d, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                f"/CN={name}")  # fmt: skip
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext or "basicConstraints=CA:FALSE\n")
        openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
                f"{name}.ext")  # fmt: skip
    return {k: os.path.join(d, k) for k in ("ca", "server", "client")}


def tls_opts(c, port):
    return ["--tls-port", str(port), "--tls-cert-file", c["server"] + ".crt", "--tls-key-file",
            c["server"] + ".key", "--tls-ca-cert-file", c["ca"] + ".crt"]  # fmt: skip


def benchmark(port, tls, certs, test, pipeline, requests):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n",
           str(requests), "-c", "50", "-P", str(pipeline), "-r", "100000", "--csv"]  # fmt: skip
    if tls:
        cmd += ["--tls", "--cacert", certs["ca"] + ".crt", "--cert", certs["client"] + ".crt",
                "--key", certs["client"] + ".key"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"redis-benchmark failed: {out.stdout} {out.stderr}")
    return float(list(csv.DictReader(io.StringIO(out.stdout)))[0]["rps"])


def start_clusters(tmp, certs):
    """(plain cluster, TLS cluster), both started with a leader."""
    # the harness passes --fsync always; the later --fsync never wins
    for name in ("plain", "tls"):
        os.makedirs(os.path.join(tmp, name))
    plain = harness.SynodCluster(os.path.join(tmp, "plain"), 3,
                                 extra_args=("--fsync", "never"))  # fmt: skip
    tls = harness.SynodCluster(os.path.join(tmp, "tls"), 3,
                               extra_args=("--fsync", "never", "--tls-cluster", "yes"))  # fmt: skip
    for node, p in zip(tls.nodes, free_ports(3)):
        node.tls_port = p
        node.argv += tls_opts(certs, p)
    try:
        plain.start()
        tls.start()
    except Exception:
        plain.stop()
        tls.stop()
        raise
    return plain, tls


def bench_cluster(tmp, certs, redis_tls_port, args):
    """SET on 3 nodes: through the leader and a follower, plain and TLS, and redis TLS."""
    plain, tls = start_clusters(tmp, certs)
    rows = []
    try:
        pl, tl = plain.wait_leader(), tls.wait_leader()
        pf = next(n for n in plain.nodes if n is not pl)
        tf = next(n for n in tls.nodes if n is not tl)
        ends = [("redis", True, redis_tls_port), ("leader", False, pl.port),
                ("leader", True, tl.tls_port), ("follower", False, pf.port),
                ("follower", True, tf.tls_port)]  # fmt: skip
        print(f"== 3-node synod (--fsync never), plain vs tls-cluster + TLS clients, and redis "
              f"TLS: SET, 50 clients, {args.cluster_requests} requests, median of "
              f"{args.rounds} rounds", file=sys.stderr)  # fmt: skip
        for pipeline in (1, 16):
            runs = {(n, t): [] for n, t, _ in ends}
            for rnd in range(args.rounds):
                for name, tls_on, port in ends if rnd % 2 == 0 else ends[::-1]:
                    runs[(name, tls_on)].append(
                        benchmark(port, tls_on, certs, "set", pipeline, args.cluster_requests))
            med = {k: statistics.median(v) for k, v in runs.items()}
            rows.append((pipeline, med))
            print(f"  SET P{pipeline}: " + ", ".join(
                f"{n}{' tls' if t else ''} {v:,.0f}" for (n, t), v in med.items()),
                file=sys.stderr, flush=True)  # fmt: skip
    finally:
        plain.stop()
        tls.stop()
    print()
    print("| 3 nodes, SET | pipeline | redis tls (1 node) | leader plain | leader tls | "
          "follower plain | follower tls | leader tls/plain | follower tls/plain | "
          "leader tls/redis tls |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pipeline, m in rows:
        r, lp, lt = m[("redis", True)], m[("leader", False)], m[("leader", True)]
        fp, ft = m[("follower", False)], m[("follower", True)]
        print(f"| SET | {pipeline} | {r:,.0f} | {lp:,.0f} | {lt:,.0f} | {fp:,.0f} | {ft:,.0f} | "
              f"{lt / lp:.2f}x | {ft / fp:.2f}x | {lt / r:.2f}x |")


def bench_single(tmp, certs, redis, args):
    rp, rt = redis.port, redis.tls_port
    sp, st = free_port(), free_port()
    synod = Server("synod", [SYNOD_BIN, "--listen", f"127.0.0.1:{sp}", "--data-dir",
                             os.path.join(tmp, "synod"), "--fsync", "never",
                             "--peer-listen", f"127.0.0.1:{free_port()}", *tls_opts(certs, st)],
                   sp, os.path.join(tmp, "synod.log"))  # fmt: skip
    ends = [("redis", False, rp), ("redis", True, rt), ("synod", False, sp), ("synod", True, st)]
    print(f"== client TLS cost: redis-benchmark, 50 clients, {args.requests} requests, median "
          f"of {args.rounds} rounds", file=sys.stderr)  # fmt: skip
    rows = []
    try:
        for pipeline in (1, 16):
            for test in ("set", "get"):
                runs = {(n, t): [] for n, t, _ in ends}
                for rnd in range(args.rounds):
                    order = ends if rnd % 2 == 0 else ends[::-1]
                    for name, tls, port in order:
                        rps = benchmark(port, tls, certs, test, pipeline, args.requests)
                        runs[(name, tls)].append(rps)
                med = {k: statistics.median(v) for k, v in runs.items()}
                rows.append((test.upper(), pipeline, med))
                print(f"  {test.upper()} P{pipeline}: " + ", ".join(
                    f"{n}{' tls' if t else ''} {v:,.0f}" for (n, t), v in med.items()),
                    file=sys.stderr, flush=True)  # fmt: skip
    finally:
        synod.stop()
    print()
    print("| test | pipeline | redis plain | redis tls | synod plain | synod tls | redis tls/plain "
          "| synod tls/plain | synod/redis tls |")
    print("|---|---|---|---|---|---|---|---|---|")
    for test, pipeline, m in rows:
        r0, r1, s0, s1 = m[("redis", False)], m[("redis", True)], m[("synod", False)], \
            m[("synod", True)]  # fmt: skip
        print(f"| {test} | {pipeline} | {r0:,.0f} | {r1:,.0f} | {s0:,.0f} | {s1:,.0f} | "
              f"{r1 / r0:.2f}x | {s1 / s0:.2f}x | {s1 / r1:.2f}x |")


def main():
    global _next_port
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--cluster-requests", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--port-base", type=int, default=None)
    args = ap.parse_args()
    if args.quick:
        args.requests, args.cluster_requests, args.rounds = 20000, 10000, 1
    if args.port_base:
        _next_port = args.port_base
    harness.free_ports = free_ports  # the clusters' ports too
    with tempfile.TemporaryDirectory(prefix="synod-bench-tls-") as tmp:
        certs = make_certs(tmp)
        rp, rt = free_port(), free_port()
        redis = Server("redis", [REDIS_SERVER, "--port", str(rp), "--bind", "127.0.0.1", "--save",
                                 "", "--appendonly", "no", "--dir", tmp, *tls_opts(certs, rt)],
                       rp, os.path.join(tmp, "redis.log"))  # fmt: skip
        redis.tls_port = rt
        try:
            bench_single(tmp, certs, redis, args)
            bench_cluster(tmp, certs, rt, args)
        finally:
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
