#!/usr/bin/python3
"""bench/bench_queue.py — the durable queue: synod 3-node against redis-server and NATS JetStream
in one run (issue 12).

Starts, on 127.0.0.1 (ports from --port-base, else free ones):
  - synod: 3 nodes, --fsync always (the default);
  - redis-server: one process, --appendonly yes --appendfsync always (durable, replicates
    nothing);
  - NATS JetStream: 3 nats-server (Debian's 2.9) in one cluster, stream Q on subject q with
    file storage and 3 replicas, durable pull consumer g with explicit acks, with JetStream's
    default storage (no fsync per write); and a second such cluster whose store directories
    have `chattr +S` (every write synced: 2.9 has no sync option), unless --no-nats-sync.
Measures, with 64-byte messages and 50 operations in flight (bench/queue/driver.mjs: the same
Node.js code drives every system; JetStream through the `nats` npm client):
  - XADD: 50 connections each with one XADD in flight (synod, redis); 50 js.publish awaiting
    their acks on one connection (JetStream);
  - consume: XREADGROUP COUNT 1 + XACK per message over 50 connections (synod, redis);
    consumer.next() + msg.ackAck() by 50 workers (JetStream); the stream XADD filled;
  - pub/sub fan-out: 100 subscribers of one channel spread over synod's 3 nodes (all on
    redis's one), 50 PUBLISH in flight: messages delivered per second.
Load goes to synod's leader for XADD and consume (no forwarding hop); fan-out publishes
through all three nodes. Each test runs --rounds times, the systems in alternating order, and
the median round is reported. On a shared machine the numbers are noisy: compare the ratios.

Usage: bench/bench_queue.py [--seconds S] [--rounds R] [--quick] [--port-base P]
Env: SYNOD_BIN, REDIS_SERVER (default redis-server), NATS_SERVER (default nats-server).
Targets (issue 12): synod XADD >= 1.0x redis AOF-always and >= 1.0x JetStream (default storage).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))

import harness  # noqa: E402
from bench_cluster import Proc, log, ratio, wait_until  # noqa: E402

SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
NATS_SERVER = os.environ.get("NATS_SERVER", "nats-server")
DRIVER = os.path.join(ROOT, "bench", "queue", "driver.mjs")
SIZE, INFLIGHT, SUBS = 64, 50, 100


FREE_PORTS = harness.free_ports  # the kernel's; start_synod points harness at Ports.take


class Ports:
    """Ports from base upwards (checked free), or the kernel's when base is None."""

    def __init__(self, base):
        self.next = base

    def take(self, n, host="127.0.0.1"):
        if self.next is None:
            return FREE_PORTS(n, host)
        out = []
        while len(out) < n:
            p, self.next = self.next, self.next + 1
            with socket.socket() as s:
                try:
                    s.bind((host, p))
                except OSError:
                    continue
            out.append(p)
        return out


def resp(port, *args, timeout=10):
    """One command on a fresh connection; the raw reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
        s.sendall(out)
        return s.recv(4096).split(b"\r\n")[0]


def drive(cfg, timeout):
    cfg = dict(cfg, size=SIZE)
    out = subprocess.run(["node", DRIVER, json.dumps(cfg)], capture_output=True, text=True,
                         timeout=timeout, cwd=os.path.dirname(DRIVER))  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"driver {cfg.get('sys')}/{cfg.get('op')} failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the systems ---------------------------------------------------------------------------


def start_redis(tmp, ports):
    port = ports.take(1)[0]
    d = os.path.join(tmp, "redis")
    os.makedirs(d)
    p = Proc("redis", [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "yes", "--appendfsync", "always", "--dir", d],
             os.path.join(tmp, "redis.log"))  # fmt: skip
    wait_until(lambda: resp(port, "PING") == b"+PONG", 15, "redis-server")
    return [p], {"xadd": [port], "fanout": [port]}


def start_synod(tmp, ports):
    harness.free_ports = lambda n, host="127.0.0.1": ports.take(n, host)
    d = os.path.join(tmp, "synod")
    os.makedirs(d)
    c = harness.SynodCluster(d, 3, binary=SYNOD_BIN)
    for n in c.nodes:
        n.start()
    for n in c.nodes:
        n.wait_serving(timeout=10)
    leader = c.wait_leader(timeout=15)
    return c, {"xadd": [leader.port], "fanout": [n.port for n in c.nodes]}


def start_nats(tmp, ports, name="nats", sync=False):
    """sync: every write of the store synced (`chattr +S` on its directories, which new files
    inherit: 2.9 has no sync option of its own)."""
    client, route = ports.take(3), ports.take(3)
    procs = []
    for i in range(3):
        d = os.path.join(tmp, f"{name}{i + 1}")
        os.makedirs(d)
        if sync:
            subprocess.run(["chattr", "+S", d], check=True)
        routes = ", ".join(f'"nats-route://127.0.0.1:{route[j]}"' for j in range(3) if j != i)
        conf = os.path.join(tmp, f"{name}{i + 1}.conf")
        with open(conf, "w") as f:
            f.write(f'server_name: "n{i + 1}"\nlisten: "127.0.0.1:{client[i]}"\n'
                    f'jetstream {{ store_dir: "{d}" }}\n'
                    f'cluster {{ name: "{name}", listen: "127.0.0.1:{route[i]}", '
                    f"routes: [{routes}] }}\n")  # fmt: skip
        procs.append(Proc(f"{name}{i + 1}", [NATS_SERVER, "-c", conf],
                          os.path.join(tmp, f"{name}{i + 1}.log")))  # fmt: skip
    return procs, {"xadd": client}


def reset(name, eps):
    """An empty stream q with group g (consumer g), before each round's XADD test."""
    if name.startswith("jetstream"):
        drive({"sys": "nats", "op": "setup", "ports": eps["xadd"]}, 60)
        return
    port = eps["xadd"][0]
    resp(port, "DEL", "q")
    r = resp(port, "XGROUP", "CREATE", "q", "g", "0", "MKSTREAM")
    if r != b"+OK":
        raise RuntimeError(f"{name}: XGROUP CREATE: {r!r}")


# --- main ----------------------------------------------------------------------------------


def measure(systems, rounds, seconds, fanout):
    runs = {}
    for rnd in range(rounds):
        order = list(systems.items())
        if rnd % 2:
            order.reverse()
        for name, eps in order:
            kind = "nats" if name.startswith("jetstream") else "resp"
            reset(name, eps)
            tests = [("xadd", "xadd"), ("consume", "consume")]
            if fanout and kind == "resp":
                tests.append(("fanout", "fanout"))
            for test, op in tests:
                cfg = {"sys": kind, "op": op, "seconds": seconds, "inflight": INFLIGHT,
                       "ports": eps["fanout" if op == "fanout" else "xadd"], "subs": SUBS}  # fmt: skip
                r = drive(cfg, seconds + 120)
                runs.setdefault((name, test), []).append(r)
                extra = (f"  delivered {r['delivered_per_s']:,.0f}/s of {r['expected']:,}"
                         if op == "fanout" else "")
                log(f"  round {rnd + 1} {name:9} {test:7}: {r['rps']:>9,.0f} ops/s  "
                    f"p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  errors {r['errors']}"
                    + extra)  # fmt: skip
    med = {}
    for key, rs in runs.items():
        field = "delivered_per_s" if key[1] == "fanout" else "rps"
        rs = sorted(rs, key=lambda x: x[field])
        m = dict(rs[len(rs) // 2])
        m["p99"] = statistics.median(x["p99"] for x in rs)
        m["p50"] = statistics.median(x["p50"] for x in rs)
        med[key] = m
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="per test and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="3 s per test, 1 round")
    ap.add_argument("--port-base", type=int, default=os.environ.get("BENCH_PORT_BASE"))
    ap.add_argument("--no-nats", action="store_true")
    ap.add_argument("--no-nats-sync", action="store_true", help="skip JetStream with synced writes")
    ap.add_argument("--no-fanout", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 3.0, 1
    base = int(args.port_base) if args.port_base else None
    tools = [REDIS_SERVER, "node"] + ([] if args.no_nats else [NATS_SERVER])
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"bench-queue: {tool} not found (make deps-bench installs nats-server)")
    if not os.path.isdir(os.path.join(ROOT, "bench", "queue", "node_modules", "nats")):
        sys.exit("bench-queue: the nats npm client is missing (make deps-bench)")
    if not os.path.exists(SYNOD_BIN):
        sys.exit(f"bench-queue: {SYNOD_BIN} not built")
    ports = Ports(base)
    tmp = tempfile.mkdtemp(prefix="synod-bench-queue-")
    procs, synod = [], None
    try:
        log(f"== bench-queue: {INFLIGHT} in flight, {SIZE}-byte messages, {args.seconds:g} s per "
            f"test, {args.rounds} round(s), data in {tmp}")  # fmt: skip
        systems = {}
        ps, systems["redis"] = start_redis(tmp, ports)
        procs += ps
        if not args.no_nats:
            ps, systems["jetstream"] = start_nats(tmp, ports)
            procs += ps
            if not args.no_nats_sync:
                ps, systems["jetstream-sync"] = start_nats(tmp, ports, "natssync", sync=True)
                procs += ps
        synod, systems["synod"] = start_synod(tmp, ports)
        log(f"== synod leader on port {systems['synod']['xadd'][0]}")
        med = measure(systems, args.rounds, args.seconds, not args.no_fanout)
    finally:
        if synod:
            synod.stop()
        for p in procs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"bench-queue: {INFLIGHT} operations in flight, {SIZE}-byte messages, median of "
          f"{args.rounds} round(s) of {args.seconds:g} s")  # fmt: skip
    print("synod: 3 nodes, fsync always; redis: 1 node, appendonly, appendfsync always; "
          "JetStream: 3 nodes, R3 file stream, default storage (no fsync per write)")
    print(f"| {'system / test':<34} | {'ops/s':>10} | {'p50 ms':>8} | {'p99 ms':>8} |")
    print(f"|{'-' * 36}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    labels = {"synod": "synod 3-node", "redis": "redis AOF always", "jetstream": "JetStream R3",
              "jetstream-sync": "JetStream R3 synced"}  # fmt: skip
    tests = {"xadd": "XADD", "consume": "XREADGROUP+XACK", "fanout": "fan-out deliveries"}
    for test in tests:
        for name in ("synod", "redis", "jetstream", "jetstream-sync"):
            r = med.get((name, test))
            if r is None:
                continue
            v = r["delivered_per_s"] if test == "fanout" else r["rps"]
            lbl = f"{labels[name]} {tests[test]}"
            if test == "fanout":  # the latency is the PUBLISH's
                lbl = f"{labels[name]} fan-out msgs"
            print(f"| {lbl:<34} | {v:>10,.0f} | {r['p50']:>8.2f} | {r['p99']:>8.2f} |")
    print()
    for test, what in (("xadd", "XADD:    "), ("consume", "consume: ")):
        s, r, j, js = (med.get((n, test)) for n in ("synod", "redis", "jetstream",
                                                      "jetstream-sync"))  # fmt: skip
        print(f"{what} synod/redis {ratio(s, r, 'rps')} (p99 {ratio(s, r, 'p99')}); "
              f"synod/JetStream {ratio(s, j, 'rps')} (p99 {ratio(s, j, 'p99')}); "
              f"synod/JetStream synced {ratio(s, js, 'rps')} (p99 {ratio(s, js, 'p99')})")
    s, r = med.get(("synod", "fanout")), med.get(("redis", "fanout"))
    print(f"fan-out:  synod/redis {ratio(s, r, 'delivered_per_s')} messages delivered/s "
          f"({SUBS} subscribers)")
    print("targets (issue 12): synod XADD >= 1.0x redis AOF always, >= 1.0x JetStream")


if __name__ == "__main__":
    main()
