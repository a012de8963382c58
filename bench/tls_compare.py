#!/usr/bin/python3
"""bench/tls_compare.py — the cost of client TLS: synod and redis-server, plain and TLS, one run.

Makes a CA, a server and a client certificate with the openssl command line, starts
redis-server and synod (single node, --fsync never like the Redis without AOF/RDB) each with a
plain port and a tls-port using the same files (tls-auth-clients yes), and runs redis-benchmark
(SET and GET, 50 clients, pipeline 1 and 16, random keys) against the four endpoints,
alternating the order in every round so they share the machine's load. Prints the median rps of
the rounds and the ratios: TLS/plain for each server, and synod/redis over TLS.

Usage: bench/tls_compare.py [--requests N] [--rounds R] [--quick]
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
from redis_compare import REDIS_SERVER, SYNOD_BIN, Server, free_port  # noqa: E402


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
    cmd = ["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests), "-c", "50",
           "-P", str(pipeline), "-r", "100000", "--csv"]  # fmt: skip
    if tls:
        cmd += ["--tls", "--cacert", certs["ca"] + ".crt", "--cert", certs["client"] + ".crt",
                "--key", certs["client"] + ".key"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"redis-benchmark failed: {out.stdout} {out.stderr}")
    return float(list(csv.DictReader(io.StringIO(out.stdout)))[0]["rps"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.rounds = 20000, 1
    with tempfile.TemporaryDirectory(prefix="synod-bench-tls-") as tmp:
        certs = make_certs(tmp)
        rp, rt, sp, st = (free_port() for _ in range(4))
        redis = Server("redis", [REDIS_SERVER, "--port", str(rp), "--bind", "127.0.0.1", "--save",
                                 "", "--appendonly", "no", "--dir", tmp, *tls_opts(certs, rt)],
                       rp, os.path.join(tmp, "redis.log"))  # fmt: skip
        try:
            synod = Server("synod", [SYNOD_BIN, "--listen", f"127.0.0.1:{sp}", "--data-dir",
                                     os.path.join(tmp, "synod"), "--fsync", "never",
                                     *tls_opts(certs, st)],
                           sp, os.path.join(tmp, "synod.log"))  # fmt: skip
        except Exception:
            redis.stop()
            raise
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
            redis.stop()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
