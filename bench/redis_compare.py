#!/usr/bin/python3
"""bench/redis_compare.py — synod (single node) against a real redis-server, in one run.

Starts redis-server (--save '' --appendonly no) and synod on free loopback ports, runs
redis-benchmark (SET GET INCR HSET SADD SPOP LPUSH RPOP ZADD ZPOPMIN XADD, ZRANGE z 0 9 on a
1000-member sorted set, and a BLPOP-fed queue: 25 clients LPUSH while 25 others BRPOP the same
list, items taken per second; 50 clients, pipeline 1 and 16, random keys) against each, alternating
between the two in every round so both see the same machine load, and prints throughput and
p99 (median of the rounds) with synod/redis ratios. Then loads datasets into fresh instances of
both and compares their RSS: 1,000,000 string keys (16-byte keys, 32-byte values), one
1M-member set, sorted set and list, and 100,000 small sets, sorted sets and lists (10 members).

Usage: bench/redis_compare.py [--requests N] [--rounds R] [--keys K] [--quick] [--tests a,b]
                              [--pipelines 1,16]
                              [--only throughput|memory]
Env: SYNOD_BIN (default build/rel/synod), REDIS_SERVER (default redis-server).
Targets (issue 2): throughput >= 0.9x Redis, p99 no worse, memory <= 1.2x.
"""

import argparse
import csv
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready")


class Server:
    def __init__(self, name, cmd, port, log):
        self.name, self.port = name, port
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ping(port, self.proc)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        """User + system CPU seconds the server has used (from /proc/PID/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


def start_servers(tmp):
    os.makedirs(tmp, exist_ok=True)
    rport, sport = free_port(), free_port()
    redis = Server(
        "redis",
        [REDIS_SERVER, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", tmp],
        rport,
        os.path.join(tmp, "redis.log"),
    )
    try:
        synod = Server(
            "synod",
            # Like for like with the Redis above (no AOF, no RDB): the WAL is written but not
            # fsync'd. Durable writes are compared with appendfsync-always Redis and etcd in
            # bench/bench_cluster.py.
            [SYNOD_BIN, "--listen", f"127.0.0.1:{sport}", "--data-dir",
             os.path.join(tmp, "synod"), "--fsync", "never"],
            sport,
            os.path.join(tmp, "synod.log"),
        )
    except Exception:
        redis.stop()
        raise
    return redis, synod


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                         timeout=60)
    return out.stdout.strip()


ALL_TESTS = ("set", "get", "incr", "hset", "sadd", "spop", "lpush", "rpop", "zadd", "zpopmin",
             "xadd", "zrange", "blpop")

CUSTOM = {"zrange": ["ZRANGE", "bench:z", "0", "9"],
          "xadd": ["XADD", "bench:s:__rand_int__", "*", "field", "value"]}


def run_queue(port, pipeline, requests, clients, keyspace):
    """The BLPOP-fed queue: half the clients LPUSH items onto one list while the other half
    take them with BRPOP (blocking when it is empty), both redis-benchmark processes at once;
    the consumers' rate and p99 are the queue's (items taken per second)."""
    base = ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", str(clients // 2),
            "-P", str(pipeline), "--csv"]  # fmt: skip
    cons = subprocess.Popen(base + ["BRPOP", "bench:q", "5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    prod = subprocess.run(base + ["-r", str(keyspace), "LPUSH", "bench:q", "item:__rand_int__"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    out, err = cons.communicate(timeout=600)
    if prod.returncode != 0 or cons.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {prod.stderr} {err}")
    row = list(csv.DictReader(io.StringIO(out)))[0]
    return float(row["rps"]), float(row["p99_latency_ms"])


def run_benchmark(port, test, pipeline, requests, clients, keyspace):
    if test == "blpop":
        return run_queue(port, pipeline, requests, clients, keyspace)
    cmd = ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", str(clients),
           "-P", str(pipeline), "-r", str(keyspace), "--csv"]
    if test in CUSTOM:
        cmd += CUSTOM[test]
    else:
        cmd += ["-t", test]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {out.stderr}")
    row = list(csv.DictReader(io.StringIO(out.stdout)))[0]
    return float(row["rps"]), float(row["p99_latency_ms"])


def bench_throughput(redis, synod, args):
    """Per case: median rps and p99 over the rounds, and the server's CPU time per request
    (less sensitive than rps to other load on a shared machine)."""
    results = []
    for srv in (redis, synod):  # the sorted set ZRANGE reads
        pipe(srv.port, [["ZADD", "bench:z", str(i), f"m{i}"] for i in range(1000)])
    tests = ALL_TESTS
    if args.tests:
        tests = tuple(t for t in args.tests.lower().split(",") if t)
        unknown = [t for t in tests if t not in ALL_TESTS]
        if unknown:
            raise SystemExit(f"unknown test(s): {', '.join(unknown)}")
    for pipeline in (int(p) for p in args.pipelines.split(",")):
        for test in tests:
            runs = {"redis": [], "synod": []}
            for rnd in range(args.rounds):
                order = (redis, synod) if rnd % 2 == 0 else (synod, redis)
                for srv in order:
                    cpu0 = srv.cpu_s()
                    rps, p99 = run_benchmark(srv.port, test, pipeline, args.requests, 50, 100000)
                    cpu_us = (srv.cpu_s() - cpu0) * 1e6 / args.requests
                    runs[srv.name].append((rps, p99, cpu_us))
            med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3))
                   for k, v in runs.items()}
            # the peer's own round-to-round variation of p99 in this run: a difference smaller
            # than that is not a measured difference on a shared machine
            noise = max(abs(r[1] - med["redis"][1]) for r in runs["redis"])
            results.append((test.upper(), pipeline, med["redis"], med["synod"], noise))
            print(f"  {test.upper():5} P{pipeline:<3} redis {med['redis'][0]:>11,.0f} rps "
                  f"p99 {med['redis'][1]:.3f} ms {med['redis'][2]:.2f} us/req | synod "
                  f"{med['synod'][0]:>11,.0f} rps p99 {med['synod'][1]:.3f} ms "
                  f"{med['synod'][2]:.2f} us/req", file=sys.stderr, flush=True)
    return results


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def pipe(port, commands):
    """Sends the commands through redis-cli --pipe; every reply must be a success."""
    data = b"".join(resp(c) for c in commands)
    out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                         capture_output=True, timeout=900)
    if out.returncode != 0 or b"errors: 0" not in out.stdout:
        raise RuntimeError(f"loading failed: {out.stdout!r} {out.stderr!r}")


def dataset(kind, n):
    """The commands that load one memory dataset (n: its element count)."""
    if kind == "strings":
        val = b"v" * 32
        return [[b"SET", b"key:%012d" % i, val] for i in range(n)]
    big = {"set": "SADD", "zset": "ZADD", "list": "RPUSH"}
    if kind.startswith("big-"):
        op = big[kind[4:]]
        cmds = []
        for start in range(0, n, 1000):
            args = [op, "big"]
            for i in range(start, min(n, start + 1000)):
                args += ([str(i)] if op == "ZADD" else []) + [f"member:{i:010d}"]
            cmds.append(args)
        return cmds
    op = big[kind[6:]]  # small-*: n keys of 10 members
    cmds = []
    for k in range(n):
        args = [op, f"small:{k:08d}"]
        for i in range(10):
            args += ([str(i)] if op == "ZADD" else []) + [f"m{i}"]
        cmds.append(args)
    return cmds


def bench_memory(tmp, datasets):
    """Per dataset, fresh servers: RSS before and after loading it, (redis, synod)."""
    res = {}
    for kind, n in datasets:
        redis, synod = start_servers(os.path.join(tmp, "m-" + kind))
        try:
            cmds = dataset(kind, n)
            for srv in (redis, synod):
                before = srv.rss_kb()
                pipe(srv.port, cmds)
                time.sleep(0.5)
                res.setdefault(kind, {})[srv.name] = (before, srv.rss_kb())
            want = cli(redis.port, "dbsize")
            if cli(synod.port, "dbsize") != want:
                raise RuntimeError(f"{kind}: dbsize differs")
        finally:
            redis.stop()
            synod.stop()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--quick", action="store_true", help="small run for a smoke test")
    ap.add_argument("--only", choices=["throughput", "memory"], help="run one part")
    ap.add_argument("--tests", help="comma-separated subset of the throughput tests (sadd,zadd)")
    ap.add_argument("--pipelines", default="1,16", help="comma-separated pipeline depths")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.rounds, args.keys = 20000, 1, 50000
    results, mem = [], None
    with tempfile.TemporaryDirectory(prefix="synod-bench-") as tmp:
        if args.only != "memory":
            redis, synod = start_servers(os.path.join(tmp, "t"))
            try:
                rv = cli(redis.port, "info", "server").split("redis_version:")[1].split()[0]
                print(f"== synod vs redis-server {rv}: redis-benchmark, 50 clients, "
                      f"{args.requests} requests, median of {args.rounds} rounds, random keys",
                      file=sys.stderr)
                results = bench_throughput(redis, synod, args)
            finally:
                redis.stop()
                synod.stop()
        if args.only != "throughput":
            # fresh servers per dataset, so benchmark leftovers do not count
            big = args.keys
            small = max(big // 10, 1)
            mem = bench_memory(tmp, [("strings", big), ("big-set", big), ("big-zset", big),
                                     ("big-list", big), ("small-set", small),
                                     ("small-zset", small), ("small-list", small)])

    if results:
        ok = True
        print()
        print("| test | pipeline | redis rps | synod rps | ratio | redis p99 ms | synod p99 ms "
              "| redis p99 noise ms | p99 | redis CPU us/req | synod CPU us/req |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        strict = True
        for test, pipeline, (rr, rp, rc), (sr, sp, sc), noise in results:
            ratio = sr / rr if rr else 0
            p99_ok = sp <= rp + noise
            ok = ok and ratio >= 0.9 and p99_ok
            strict = strict and ratio >= 0.9 and sp <= rp
            verdict = "better" if sp <= rp else ("within noise" if p99_ok else "WORSE")
            print(f"| {test} | {pipeline} | {rr:,.0f} | {sr:,.0f} | {ratio:.2f}x | {rp:.3f} | "
                  f"{sp:.3f} | {noise:.3f} | {verdict} | {rc:.2f} | {sc:.2f} |")
        print("(redis p99 noise: the largest deviation of redis's own p99 from its median over "
              "the rounds of this run)")
        print(f"throughput >= 0.9x and p99 no worse (beyond redis's own noise) in every case: "
              f"{'met' if ok else 'NOT met'}; strictly no worse in every case: "
              f"{'yes' if strict else 'no'}")
    if mem:
        print()
        print("| memory (RSS after load, MB) | redis | synod | ratio | growth redis | growth synod "
              "| growth ratio |")
        print("|---|---|---|---|---|---|---|")
        for kind, r in mem.items():
            (rb, ra), (sb, sa) = r["redis"], r["synod"]
            print(f"| {kind} | {ra / 1024:.1f} | {sa / 1024:.1f} | {sa / ra:.2f}x | "
                  f"{(ra - rb) / 1024:.1f} | {(sa - sb) / 1024:.1f} | "
                  f"{(sa - sb) / max(ra - rb, 1):.2f}x |")
        (rb, ra), (sb, sa) = mem["strings"]["redis"], mem["strings"]["synod"]
        print(f"strings: memory <= 1.2x: {'met' if sa <= 1.2 * ra else 'NOT met'}; "
              f"collections <= 1.0x: " + ", ".join(
                  f"{k} {'met' if v['synod'][1] <= v['redis'][1] else 'NOT met'}"
                  for k, v in mem.items() if k != "strings"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
