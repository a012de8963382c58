#!/usr/bin/python3
"""fake_synod.py — a stand-in for the replicated synod, to exercise the fault tests and their
harness before the real cluster exists (`make faults-fake`). NOT a model of Raft.

It takes synod's command line (--id --listen --peer-listen --cluster --data-dir --fsync) and
serves GET SET INCR MGET PING INFO [consensus] SYNOD CONSISTENCY|TRANSFER-LEADER from one redis-server shared by
the nodes (on a unix socket, FAKE_SYNOD_STORE, started by conftest.py). A node serves a linearizable request only if
it reaches a majority right now (a PING/PONG on each peer port, so a paused or cut-off peer
counts as unreachable), else it answers -CLUSTERDOWN after 2 s. The leader is sticky (stored
with a term in the shared file); the lowest reachable id takes over when the stored leader is
unreachable. Each write is appended, CRC-framed, to wal-*.log in every node's data dir, checked
at start: a bad record before the last one stops the node naming file and offset.

FAKE_SYNOD_BUG=stale-minority makes a node without quorum serve GETs from a private cache of
what it last read: a deliberately broken cluster for the nemesis test to catch.
"""

import argparse
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib

import redis

BUG = os.environ.get("FAKE_SYNOD_BUG", "")
WAL_NAME = "wal-0000000000000001-0000000000000001.log"
WAL_HEADER = b"FAKEWAL1" + bytes(56)


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", type=int, default=1)
    ap.add_argument("--listen", default="127.0.0.1:7379")
    ap.add_argument("--peer-listen", default="127.0.0.1:17379")
    ap.add_argument("--cluster", default="")
    ap.add_argument("--data-dir", default="synod-data")
    ap.add_argument("--fsync", default="always")
    a = ap.parse_args()
    a.members = {}
    for item in filter(None, a.cluster.split(",")):
        nid, addr = item.split("=")
        h, p = addr.rsplit(":", 1)
        a.members[int(nid)] = (h, int(p))
    if not a.members:
        h, p = a.peer_listen.rsplit(":", 1)
        a.members[a.id] = (h, int(p))
    return a


ARGS = parse_args()
ROOT = os.path.dirname(os.path.abspath(ARGS.data_dir))
STORE = os.environ.get("FAKE_SYNOD_STORE", "")
QUORUM = len(ARGS.members) // 2 + 1
_local = threading.local()
stale_cache = {}


def log(msg):
    sys.stderr.write(f"{os.getpid()}:M {time.strftime('%d %b %Y %H:%M:%S')} * {msg}\n")
    sys.stderr.flush()


def db():
    """The shared store: a redis-server on a unix socket (reachable from every network
    namespace, never paused by the tests) started by conftest.py; keys prefixed per cluster."""
    c = getattr(_local, "db", None)
    if c is None:
        c = redis.Redis(unix_socket_path=STORE, decode_responses=True, socket_timeout=5)
        _local.db = c
    return c


def key(k):
    return f"{ROOT}|{k}"


# --- WAL imitation -----------------------------------------------------------------------


def wal_append(payload):
    rec = struct.pack(">II", len(payload), zlib.crc32(payload)) + payload
    for nid in ARGS.members:
        d = os.path.join(ROOT, f"node{nid}")
        if not os.path.isdir(d):
            continue
        path = os.path.join(d, WAL_NAME)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size == 0:
                os.write(fd, WAL_HEADER)
            os.write(fd, rec)
        finally:
            os.close(fd)


def wal_check():
    path = os.path.join(ARGS.data_dir, WAL_NAME)
    if not os.path.exists(path):
        return
    data = open(path, "rb").read()
    off = len(WAL_HEADER)
    while off + 8 <= len(data):
        n, crc = struct.unpack(">II", data[off : off + 8])
        end = off + 8 + n
        if end > len(data):
            return  # torn tail
        if zlib.crc32(data[off + 8 : end]) != crc:
            if end == len(data):
                return  # torn last record
            log(f"# wal: {path}: corrupt record at offset {off}")
            sys.exit(1)
        off = end


# --- reachability and leadership -----------------------------------------------------------


_unreachable_until = {}


def peer_ok(nid, timeout=0.3):
    """A fresh PING/PONG with peer nid. Only failures are remembered (for 0.5 s): assuming a
    peer unreachable is safe, assuming it reachable is not."""
    if nid == ARGS.id:
        return True
    if _unreachable_until.get(nid, 0) > time.monotonic():
        return False
    try:
        with socket.create_connection(ARGS.members[nid], timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"P")
            if s.recv(1) == b"O":
                return True
    except OSError:
        pass
    _unreachable_until[nid] = time.monotonic() + 0.5
    return False


def reach():
    return {nid for nid in ARGS.members if peer_ok(nid)}


ELECT = """
local leader = tonumber(redis.call('GET', KEYS[1]) or '0')
local term = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[1] == '1' and leader == tonumber(ARGV[2]) then
  leader = tonumber(ARGV[3]); term = term + 1
  redis.call('SET', KEYS[1], leader); redis.call('SET', KEYS[2], term)
end
return {leader, term, tonumber(redis.call('GET', KEYS[3]) or '0')}
"""


def consensus_state():
    r = reach()
    c = db()
    leader = int(c.get(key("#leader")) or 0)
    # the lowest reachable id of a majority takes over when the stored leader is out of reach
    take = len(r) >= QUORUM and leader not in r and ARGS.id == min(r)
    leader, term, commit = c.eval(
        ELECT, 3, key("#leader"), key("#term"), key("#commit"), int(take), leader, ARGS.id
    )
    quorum = len(r) >= QUORUM and leader in r
    role = "leader" if quorum and leader == ARGS.id else ("follower" if quorum else "candidate")
    return {"role": role, "term": term, "leader_id": leader if quorum else 0, "commit": commit}


def wait_quorum(timeout=2.0):
    deadline = time.monotonic() + timeout
    while True:
        st = consensus_state()
        if st["leader_id"]:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


# --- commands ------------------------------------------------------------------------------


def info():
    st = consensus_state()
    members = ",".join(f"{i}={h}:{p}" for i, (h, p) in sorted(ARGS.members.items()))
    lines = [
        "# Consensus",
        f"node_id:{ARGS.id}",
        f"role:{st['role']}",
        f"term:{st['term']}",
        f"leader_id:{st['leader_id']}",
        f"leader_addr:{ARGS.listen if st['leader_id'] == ARGS.id else ''}",
        f"commit_index:{st['commit']}",
        f"last_applied:{st['commit']}",
        f"members:{members}",
    ]
    return "\r\n".join(lines) + "\r\n"


class Err(Exception):
    pass


def run(cmd, args, conn_state):
    name = cmd.upper()
    if name == "PING":
        return ("+", "PONG")
    if name == "INFO":
        return ("$", info())
    if name == "SYNOD" and len(args) == 2 and args[0].upper() == "CONSISTENCY":
        conn_state["level"] = args[1].lower()
        return ("+", "OK")
    if name == "SYNOD" and len(args) == 2 and args[0].upper() == "TRANSFER-LEADER":
        db().set(key("#leader"), int(args[1]))
        db().incr(key("#term"))
        return ("+", "OK")
    if name == "READONLY":
        conn_state["level"] = "stale"
        return ("+", "OK")
    if name not in ("GET", "SET", "INCR", "MGET"):
        raise Err(f"ERR unknown command '{cmd}'")
    stale = conn_state.get("level") == "stale"
    if not stale:
        if BUG == "stale-minority" and name == "GET" and not consensus_state()["leader_id"]:
            return ("$", stale_cache.get(args[0]))  # the bug: a minority serves old data
        if not wait_quorum():
            raise Err("CLUSTERDOWN no leader")
    c = db()
    if name == "GET":
        v = c.get(key(args[0]))
        stale_cache[args[0]] = v
        return ("$", v)
    if name == "MGET":
        return ("*", c.mget([key(k) for k in args]))
    p = c.pipeline(transaction=True)
    if name == "SET":
        p.set(key(args[0]), args[1])
    else:
        p.incr(key(args[0]))
    p.incr(key("#commit"))
    res = p.execute()
    wal_append(f"{name} {' '.join(args)}".encode())
    return ("+", "OK") if name == "SET" else (":", res[0])


def encode(reply):
    t, v = reply
    if t in "+:":
        return f"{t}{v}\r\n".encode()
    if t == "$":
        if v is None:
            return b"$-1\r\n"
        b = v.encode()
        return b"$%d\r\n%s\r\n" % (len(b), b)
    return b"*%d\r\n" % len(v) + b"".join(encode(("$", x)) for x in v)


class ClientHandler(socketserver.StreamRequestHandler):
    def handle(self):
        state = {}
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if not line.startswith(b"*"):
                parts = line.decode().split()
            else:
                parts = []
                for _ in range(int(line[1:])):
                    n = int(self.rfile.readline()[1:])
                    parts.append(self.rfile.read(n + 2)[:-2].decode())
            if not parts:
                continue
            try:
                out = encode(run(parts[0], parts[1:], state))
            except Err as e:
                out = f"-{e}\r\n".encode()
            except redis.RedisError as e:
                out = f"-ERR store: {e}\r\n".encode()
            self.wfile.write(out)
            self.wfile.flush()


class PeerHandler(socketserver.BaseRequestHandler):
    def handle(self):
        if self.request.recv(1) == b"P":
            self.request.sendall(b"O")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if ARGS.id not in ARGS.members:
        log(f"cluster: this node's id {ARGS.id} is not in the member list")
        sys.exit(1)
    os.makedirs(ARGS.data_dir, exist_ok=True)
    wal_check()
    h, p = ARGS.listen.rsplit(":", 1)
    ph, pp = ARGS.peer_listen.rsplit(":", 1)
    peer = Server((ph, int(pp)), PeerHandler)
    client = Server((h, int(p)), ClientHandler)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    log(f"ready: clients on {h}:{client.server_address[1]} (fake_synod, node {ARGS.id})")
    try:
        client.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
