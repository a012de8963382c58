#!/usr/bin/python3
"""bench/diag_overhead.py — what SLOWLOG and latency tracking cost pipelined GET/SET, in one run.

Every call is timed (the cycle counter commandstats reads anyway) and, with latency-tracking yes
(the default), sampled into its command's histogram; SLOWLOG and the latency monitor only add a
threshold check. This compares, alternating in every round so all see the same machine load:
synod with latency-tracking yes (defaults) and no, redis-server 7.0 with latency-tracking yes and
no, and, with --base-bin, another synod binary (e.g. one built before the diagnostics). Load:
redis-benchmark -P 16, 20 clients, SET then GET. Prints the median rps of each and the ratios.

With --callgrind it instead counts the server's instructions per request under valgrind
(deterministic, unlike wall time on a shared machine): Ir(2N requests) - Ir(N requests), over N.

Usage: bench/diag_overhead.py [--requests N] [--rounds R] [--base-bin PATH] [--callgrind]
Env: SYNOD_BIN (default build/rel/synod), REDIS_SERVER (default redis-server).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_compare import REDIS_SERVER, SYNOD_BIN, free_port, wait_ping  # noqa: E402


def start(kind, binary, tracking, tmp, valgrind=None):
    port, peer = free_port(), free_port()
    d = tempfile.mkdtemp(dir=tmp)
    if kind == "redis":
        cmd = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", d]
    else:
        cmd = [binary, "--listen", "127.0.0.1:%d" % port, "--peer-listen", "127.0.0.1:%d" % peer,
               "--data-dir", d, "--fsync", "never"]  # fmt: skip
    if tracking:  # None: a binary older than the setting
        cmd += ["--latency-tracking", tracking]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + valgrind] + cmd
    log = open(os.path.join(d, "log"), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_ping(port, proc, timeout=60 if valgrind else 10)
    return proc, port


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench(port, test, n):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-P", "16", "-c", "20", "-n",
                          str(n), "-t", test, "--csv"], capture_output=True, text=True).stdout
    m = re.search(r'"%s","([\d.]+)"' % test.upper(), out)
    return float(m.group(1)) if m else 0.0


def callgrind_ir(kind, binary, tracking, test, n, tmp):
    out = os.path.join(tmp, "cg.%d" % time.monotonic_ns())
    proc, port = start(kind, binary, tracking, tmp, valgrind=out)
    subprocess.run(["redis-benchmark", "-p", str(port), "-P", "16", "-c", "4", "-n", str(n), "-t",
                    test, "-q"], capture_output=True)  # fmt: skip
    stop(proc)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base-bin", default="")
    ap.add_argument("--callgrind", action="store_true")
    a = ap.parse_args()
    variants = [("synod", "synod", SYNOD_BIN, "yes"), ("synod-notrack", "synod", SYNOD_BIN, "no")]
    if a.base_bin:
        variants.append(("synod-base", "synod", a.base_bin, None))
    if not a.callgrind:
        variants += [("redis", "redis", REDIS_SERVER, "yes"),
                     ("redis-notrack", "redis", REDIS_SERVER, "no")]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="diag-bench-") as tmp:
        if a.callgrind:
            n = min(a.requests, 50000)
            for test in ("get", "set"):
                for name, kind, binary, tracking in variants:
                    try:
                        one = callgrind_ir(kind, binary, tracking, test, n, tmp)
                        two = callgrind_ir(kind, binary, tracking, test, 2 * n, tmp)
                    except RuntimeError as e:
                        print("%-14s %s: %s" % (name, test, e))
                        continue
                    print("%-14s %s: %.1f instructions per request" % (name, test, (two - one) / n))
            return
        rps = {}
        for r in range(a.rounds):
            for name, kind, binary, tracking in variants:
                try:
                    proc, port = start(kind, binary, tracking, tmp)
                except RuntimeError as e:
                    print("%s: %s" % (name, e))
                    continue
                for test in ("set", "get"):
                    rps.setdefault((name, test), []).append(bench(port, test, a.requests))
                stop(proc)
            print("round %d: %s" % (r + 1, "  ".join("%s %s %.0f" % (k[0], k[1], v[-1])
                                                      for k, v in sorted(rps.items()))))  # fmt: skip
        for test in ("set", "get"):
            med = {name: statistics.median(rps[(name, test)]) for name, *_ in variants
                   if (name, test) in rps}  # fmt: skip
            line = "  ".join("%s %.0f" % kv for kv in med.items())
            ratios = []
            if "synod-notrack" in med:
                ratios.append("synod/synod-notrack %.3f" % (med["synod"] / med["synod-notrack"]))
            if "synod-base" in med:
                ratios.append("synod/synod-base %.3f" % (med["synod"] / med["synod-base"]))
            if "redis" in med:
                ratios.append("synod/redis %.3f" % (med["synod"] / med["redis"]))
            if "redis-notrack" in med:
                ratios.append("redis/redis-notrack %.3f" % (med["redis"] / med["redis-notrack"]))
            print("%s median rps: %s | %s" % (test.upper(), line, ", ".join(ratios)))


if __name__ == "__main__":
    main()
