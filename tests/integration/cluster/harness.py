"""harness.py — run real server processes for the cluster fault tests (issue 4).

    NetLab          network namespaces on a private bridge: hosts h1..hN (10.77.0.1..N) and a
                    client namespace (10.77.0.100); per-host blackhole routes cut links
                    (block / partition / isolate / heal). Names carry the test run's PID.
    Proc            one server process, by PID: start, kill (SIGKILL), pause (SIGSTOP),
                    resume (SIGCONT), restart, stop (bounded; by PID only).
    SynodNode       a Proc running synod with a fixed id, client/peer ports and data dir.
    SynodCluster    N SynodNodes (on loopback, or one per NetLab host); INFO consensus,
                    wait_leader, wait_converged, stale reads.
    Conn            a minimal RESP connection (redis-py's Connection, no retries), optionally
                    opened from inside a network namespace.

Every wait is bounded. Processes are stopped by PID only.
"""

import contextlib
import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB_SECRET = "netlab shared secret for tests"
SYNOD_BIN = os.environ.get("SYNOD_BIN", os.path.join(ROOT, "build", "rel", "synod"))
# Upper bound on one election timeout of the cluster, used to size waits ("a new leader within
# a few election timeouts"). Override when the cluster's default changes.
ELECTION_TIMEOUT_S = float(os.environ.get("SYNOD_ELECTION_TIMEOUT_MS", "1000")) / 1000.0
LEADER_WAIT_S = max(10.0, 5 * ELECTION_TIMEOUT_S)

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_netns_lock = threading.Lock()


# Servers listen on ports below the kernel's ephemeral range (ip_local_port_range, 32768 and up
# here): a port the kernel handed out could be taken, while a node is down or not yet started,
# as the local end of some outgoing connection (a client's, or a peer's reconnect attempt to that
# very port: a TCP self-connect), and the node then fails with "Address already in use" (seen in
# CI). Ports are taken in turn from a random start in [20000, 32000), each checked bindable.
_PORT_LO, _PORT_HI = 20000, 32000
_port_next = [None]
_port_lock = threading.Lock()


def _ephemeral_lo():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_range():
    """[lo, hi): below the ephemeral range; under pytest-xdist (make integration runs two
    workers) each worker its own slice, so two workers never hand out the same port."""
    lo, hi = _PORT_LO, min(_PORT_HI, _ephemeral_lo())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if worker.startswith("gw") and worker[2:].isdigit() and count > 1:
        k, size = int(worker[2:]), (hi - lo) // count
        lo, hi = lo + k * size, lo + (k + 1) * size
    return lo, hi


def free_ports(n, host="127.0.0.1"):
    """n distinct ports free on host, below the ephemeral range (see above)."""
    lo, hi = _port_range()
    out = []
    with _port_lock:
        if _port_next[0] is None:
            _port_next[0] = random.Random(os.getpid() ^ time.time_ns()).randrange(lo, hi)
        for _ in range(hi - lo):
            if len(out) == n:
                break
            port = _port_next[0]
            _port_next[0] = port + 1 if port + 1 < hi else lo
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
            out.append(port)
    if len(out) < n:
        raise RuntimeError(f"no {n} free ports in [{lo}, {hi}) on {host}")
    return out


def free_port(host="127.0.0.1"):
    return free_ports(1, host)[0]


# ---------------------------------------------------------------------------------------------
# network namespaces


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


def socket_in_netns(netns, family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """A socket created inside network namespace `netns` (None: the current one). setns only
    moves the calling thread, and the socket keeps its namespace for life, so the thread
    switches in, creates the socket and switches straight back."""
    if netns is None:
        return socket.socket(family, kind)
    with open("/proc/thread-self/ns/net") as orig, open(f"/run/netns/{netns}") as target:
        _setns(target.fileno())
        try:
            return socket.socket(family, kind)
        finally:
            try:
                _setns(orig.fileno())
            except OSError:  # a thread stuck in the wrong namespace would corrupt later tests
                os._exit(70)


def connect(host, port, netns=None, timeout=2.0):
    s = socket_in_netns(netns)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    except BaseException:
        s.close()
        raise


class NetnsConnection(redis.Connection):
    """redis-py connection whose socket lives in a network namespace (netns=None: current)."""

    def __init__(self, netns=None, **kw):
        self.netns = netns
        super().__init__(**kw)

    def _connect(self):
        s = connect(self.host, self.port, self.netns, self.socket_connect_timeout or 2.0)
        s.settimeout(self.socket_timeout)
        return s


def redis_client(host, port, netns=None, timeout=5.0, decode=True, **kw):
    """A redis.Redis for host:port reachable from `netns`; no retries (a retried write would be
    a second, unrecorded invocation)."""
    pool = redis.ConnectionPool(
        connection_class=NetnsConnection,
        netns=netns,
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        decode_responses=decode,
        **kw,
    )
    return redis.Redis(connection_pool=pool)


class Conn:
    """One RESP connection to one server; each call is one request and one reply, never
    retried. Raises redis.ConnectionError if it cannot connect (nothing was sent),
    redis.TimeoutError / redis.ConnectionError after sending (outcome unknown) and
    redis.ResponseError for error replies."""

    def __init__(self, host, port, netns=None, timeout=2.0, password=None):
        self.c = NetnsConnection(
            netns=netns,
            host=host,
            port=port,
            password=password,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 2.0),
            decode_responses=True,
        )

    def connect(self):
        self.c.connect()

    def call(self, *args):
        self.c.connect()
        try:
            self.c.send_command(*args)
            return self.c.read_response()
        except redis.ResponseError:
            raise
        except BaseException:
            self.c.disconnect()
            raise

    def close(self):
        self.c.disconnect()


class NetLab:
    """Network namespaces for partition tests: a bridge namespace with a bridge, `n_hosts`
    host namespaces each with a veth onto it (eth0 = 10.77.0.i/24), and a client namespace
    (10.77.0.100) that no partition touches. Nothing is created in the caller's namespace:
    the addresses and the bridge exist only inside the namespaces made here."""

    SUBNET = "10.77.0"
    _seq = 0

    def __init__(self, n_hosts=3):
        NetLab._seq += 1
        self.prefix = f"synf{os.getpid()}x{NetLab._seq}"
        self.bridge_ns = f"{self.prefix}br"
        self.client_ns = f"{self.prefix}c"
        self.hosts = [f"{self.prefix}h{i}" for i in range(1, n_hosts + 1)]
        self.addrs = [f"{self.SUBNET}.{i}" for i in range(1, n_hosts + 1)]
        self.client_addr = f"{self.SUBNET}.100"
        self.blocked = set()  # (src host index, dst host index): src's packets to dst dropped
        self.made = []
        try:
            self._build()
        except BaseException:
            self.destroy()
            raise

    @staticmethod
    def ip(*args, check=True):
        r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
        return r

    def _add_ns(self, name):
        self.ip("netns", "add", name)
        self.made.append(name)
        self.ip("-n", name, "link", "set", "lo", "up")

    def _build(self):
        self._add_ns(self.bridge_ns)
        self.ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        self.ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        ends = list(zip(self.hosts, self.addrs)) + [(self.client_ns, self.client_addr)]
        for i, (ns, addr) in enumerate(ends):
            self._add_ns(ns)
            port = f"v{i}"
            self.ip("-n", self.bridge_ns, "link", "add", port, "type", "veth", "peer", "name",
                    "eth0", "netns", ns)  # fmt: skip
            self.ip("-n", self.bridge_ns, "link", "set", port, "master", "br0", "up")
            self.ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            self.ip("-n", ns, "link", "set", "eth0", "up")

    def destroy(self):
        """Deletes every namespace made here (their veths and routes go with them)."""
        errs = []
        for ns in reversed(self.made):
            r = self.ip("netns", "del", ns, check=False)
            if r.returncode != 0:
                errs.append(r.stderr.strip())
        self.made = []
        return errs

    @classmethod
    def available(cls):
        """(True, "") if namespaces, veths and bridges can be made here, else (False, why)."""
        if os.geteuid() != 0:
            return False, "network namespaces need root"
        try:
            subprocess.run(["ip", "-V"], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            return False, f"iproute2 'ip' not usable: {e}"
        try:
            lab = cls(n_hosts=1)
        except Exception as e:  # noqa: BLE001 — report any reason as a skip
            return False, f"cannot create network namespaces/veth/bridge: {e}"
        lab.destroy()
        return True, ""

    @classmethod
    def sweep_stale(cls):
        """Deletes namespaces left by earlier runs of these tests whose process is gone
        (e.g. pytest killed with SIGKILL). Only names of the form synf<pid>x<n>..."""
        r = cls.ip("netns", "list", check=False)
        for line in r.stdout.splitlines():
            m = re.match(r"(synf(\d+)x\d+\w*)", line.strip())
            if m and not os.path.exists(f"/proc/{m.group(2)}"):
                cls.ip("netns", "del", m.group(1), check=False)

    # --- partitions: i, j are host indexes (0-based)

    def block(self, i, j):
        """Host i's packets to host j are dropped (one direction only)."""
        if (i, j) in self.blocked or i == j:
            return
        self.ip("-n", self.hosts[i], "route", "add", "blackhole", f"{self.addrs[j]}/32")
        self.blocked.add((i, j))

    def unblock(self, i, j):
        if (i, j) in self.blocked:
            self.ip("-n", self.hosts[i], "route", "del", "blackhole", f"{self.addrs[j]}/32")
            self.blocked.discard((i, j))

    def cut(self, i, j):
        """Symmetric: no packets between i and j."""
        self.block(i, j)
        self.block(j, i)

    def partition(self, *groups):
        """Symmetric partition into groups of host indexes; hosts in no group are isolated."""
        where = {}
        for g, members in enumerate(groups):
            for m in members:
                where[m] = g
        n = len(self.hosts)
        for i in range(n):
            for j in range(n):
                if i != j and (i not in where or j not in where or where[i] != where[j]):
                    self.block(i, j)

    def isolate(self, i):
        for j in range(len(self.hosts)):
            self.cut(i, j)

    def heal(self):
        for i, j in list(self.blocked):
            self.unblock(i, j)

    def can_reach(self, i, j, port, timeout=1.0):
        """True if a TCP connection from host i to host j's port is accepted."""
        try:
            s = socket_in_netns(self.hosts[i])
            s.settimeout(timeout)
            s.connect((self.addrs[j], port))
            s.close()
            return True
        except OSError:
            return False


# ---------------------------------------------------------------------------------------------
# processes


class Proc:
    """One server process, by PID. `argv` is the command; `netns` runs it via ip netns exec
    (which execs in place, so the PID is the server's own). Every started Proc is in
    Proc.registry so fixtures can stop whatever a failing test left running."""

    registry = []

    def __init__(self, name, argv, log_path, netns=None, env=None):
        self.name, self.argv, self.log_path, self.netns = name, list(argv), log_path, netns
        self.env = env
        self.proc = None
        self.paused = False
        self.expect_unclean_exit = False
        self.starts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        assert not self.alive(), f"{self.name} already running"
        cmd = (["ip", "netns", "exec", self.netns] if self.netns else []) + self.argv
        with open(self.log_path, "ab") as log:
            self.starts += 1
            log.write(f"\n==== start #{self.starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.paused = False
        self.expect_unclean_exit = False
        if self not in Proc.registry:
            Proc.registry.append(self)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill(self):
        """kill -9, and reap it."""
        self.expect_unclean_exit = True
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.paused = False

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def wait_exit(self, timeout):
        """Exit status, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5.0):
        """SIGCONT (a stopped process cannot act on SIGTERM), SIGTERM, then SIGKILL."""
        if self.proc is None:
            return None
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.paused = False
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


def late_follower(c, leader, timeout=10):
    """In a cluster started with SYNOD_TEST_SYNC_LATER_US: the follower the leader does not wait
    for (absent from INFO consensus commit_waits_for), once it waits for one only (a write at
    each look)."""
    rl = redis.Redis(host=leader.host, port=leader.port, decode_responses=True)
    late = []

    def one_late():
        rl.set("warm", "1")
        waits = str(rl.info("consensus")["commit_waits_for"]).split(",")
        late[:] = [n for n in c.nodes if n is not leader and str(n.id) not in waits]
        return len(late) == 1

    wait_for(one_late, timeout, what="the leader waiting for one follower only")
    return late[0]


NULL_ARRAY = "nil-array"  # how resp_replies shows *-1 (a null bulk string is None)


def resp_command(*args):
    """One command in RESP (an array of bulk strings); str/int arguments are encoded."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def _resp_parse(b, pos):
    """One RESP2 reply at b[pos:]: (value, next pos), or (None, -1) if incomplete. RESP3's
    pushes (>) and maps (%) read as arrays (a map's keys and values in turn), its null (_) as
    None, a verbatim string (=) as a string."""
    end = b.find(b"\r\n", pos)
    if end < 0:
        return None, -1
    t, line = b[pos:pos + 1], b[pos + 1:end]
    if t == b"+":
        return line.decode(), end + 2
    if t == b":":
        return int(line), end + 2
    if t == b"-":
        return RuntimeError(line.decode()), end + 2
    if t == b"_":
        return None, end + 2
    if t in (b"$", b"="):  # a verbatim string (=) without its format (txt:)
        n = int(line)
        if n < 0:
            return None, end + 2
        if len(b) < end + 2 + n + 2:
            return None, -1
        return b[end + 2 + (4 if t == b"=" else 0):end + 2 + n].decode(), end + 2 + n + 2
    if t in (b"*", b">", b"%"):
        n = int(line) * (2 if t == b"%" else 1)
        if n < 0:
            return NULL_ARRAY, end + 2
        vals, p = [], end + 2
        for _ in range(n):
            v, p = _resp_parse(b, p)
            if p < 0:
                return None, -1
            vals.append(v)
        return vals, p
    raise AssertionError(f"unexpected reply {b[pos:pos + 40]!r}")


def resp_replies(sock, n, timeout):
    """Up to n RESP2 replies read from sock within timeout (fewer if they do not come in time,
    or the connection closes): str for simple strings and bulks, int, RuntimeError for errors,
    None for a null bulk, NULL_ARRAY for a null array, lists for arrays."""
    deadline = time.monotonic() + timeout
    buf, pos, got = b"", 0, []
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        while len(got) < n:
            v, p = _resp_parse(buf, pos)
            if p < 0:
                break
            got.append(v)
            pos = p
    return got


def resp_ping(host, port, netns=None, timeout=1.0):
    """True if host:port accepts a connection and answers PING with any RESP reply, or keeps
    the connection open without answering for `timeout` (a node without a leader may hold
    even PING until its no-leader timeout; wait_leader judges it by INFO afterwards)."""
    try:
        with contextlib.closing(connect(host, port, netns, timeout)) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            try:
                return s.recv(64)[:1] in (b"+", b"-")
            except socket.timeout:
                return True
    except OSError:
        return False


def parse_info(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        out[k] = v
    return out


class SynodNode(Proc):
    def __init__(self, node_id, host, port, peer_port, data_dir, log_path, netns=None,
                 cluster_arg="", extra_args=(), binary=None, env=None):  # fmt: skip
        self.id, self.host, self.port, self.peer_port = node_id, host, port, peer_port
        self.data_dir = data_dir
        self.client_netns = None  # namespace clients connect from (set by SynodCluster)
        extra = list(extra_args)
        self.password = extra[extra.index("--requirepass") + 1] if "--requirepass" in extra else None
        argv = [binary or SYNOD_BIN, "--id", str(node_id), "--listen", f"{host}:{port}",
                "--peer-listen", f"{host}:{peer_port}", "--cluster", cluster_arg,
                "--data-dir", data_dir, "--fsync", "always", *extra_args]  # fmt: skip
        super().__init__(f"node{node_id}", argv, log_path, netns, env)

    @property
    def addr(self):
        return f"{self.host}:{self.port}"

    def wait_serving(self, timeout=10.0):
        """Waits until the node answers PING (any reply); raises if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}\n{self.log()[-3000:]}"
                )
            if resp_ping(self.host, self.port, self.client_netns):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not serving after {timeout}s\n{self.log()[-3000:]}")

    def conn(self, timeout=2.0):
        return Conn(self.host, self.port, self.client_netns, timeout, self.password)

    def client(self, timeout=5.0):
        return redis_client(self.host, self.port, self.client_netns, timeout,
                            password=self.password)  # fmt: skip

    def info(self, timeout=1.0):
        """INFO consensus as a dict, or None if the node does not answer in time."""
        if not self.alive() or self.paused:
            return None
        c = self.conn(timeout)
        try:
            return parse_info(c.call("INFO", "consensus"))
        except (redis.RedisError, OSError):
            return None
        finally:
            c.close()


class SynodCluster:
    """n synod nodes. lab=None: all on 127.0.0.1 with free ports; else node i runs in
    lab.hosts[i] on lab.addrs[i] (fixed ports) and clients connect from lab.client_ns.
    binary/env: another executable (fake_synod.py) and its environment."""

    def __init__(self, tmp_dir, n=3, lab=None, extra_args=(), binary=None, env=None):
        self.tmp_dir, self.lab = str(tmp_dir), lab
        if lab:
            assert len(lab.hosts) >= n
            hosts = lab.addrs[:n]
            ports = [(7001 + i, 17001 + i) for i in range(n)]
        else:
            hosts = ["127.0.0.1"] * n
            p = free_ports(2 * n)
            ports = [(p[2 * i], p[2 * i + 1]) for i in range(n)]
        cluster_arg = ",".join(f"{i + 1}={hosts[i]}:{ports[i][1]}" for i in range(n))
        if lab and not binary and "--cluster-secret" not in extra_args:
            # peers on non-loopback addresses must prove a shared secret (docs/cluster.md)
            extra_args = ("--cluster-secret", LAB_SECRET, *extra_args)
        if lab and not binary and "--protected-mode" not in extra_args:
            # clients (10.77.0.100) and relays come from other hosts: Redis 7.0's protected
            # mode would refuse them while the default user has no password (docs/security.md)
            extra_args = ("--protected-mode", "no", *extra_args)
        self.nodes = []
        for i in range(n):
            node = SynodNode(
                i + 1,
                hosts[i],
                ports[i][0],
                ports[i][1],
                os.path.join(self.tmp_dir, f"node{i + 1}"),
                os.path.join(self.tmp_dir, f"node{i + 1}.log"),
                netns=lab.hosts[i] if lab else None,
                cluster_arg=cluster_arg,
                extra_args=extra_args,
                binary=binary,
                env=env,
            )
            node.client_netns = lab.client_ns if lab else None
            self.nodes.append(node)

    def fsync_stall_files(self):
        """Arms SYNOD_FAILPOINT_FSYNC_STALL on every node (call before start): {node id: the
        file whose presence makes that node's next fsync hang until it is removed}."""
        stalls = {}
        for n in self.nodes:
            stalls[n.id] = os.path.join(self.tmp_dir, f"stall{n.id}")
            n.env = dict(n.env or os.environ, SYNOD_FAILPOINT_FSYNC_STALL=stalls[n.id])
        return stalls

    @property
    def quorum(self):
        return len(self.nodes) // 2 + 1

    def node(self, node_id):
        return self.nodes[node_id - 1]

    def start(self, wait_leader=True):
        """Starts every node; if one does not come up, stops the others (by PID) and raises: a
        caller whose `try` begins after start() must not leave servers behind."""
        try:
            for n in self.nodes:
                n.start()
            for n in self.nodes:
                n.wait_serving()
            if wait_leader:
                self.wait_leader()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout=5.0):
        """Stops every node by PID (bounded); returns [(node, exit status)]."""
        return [(n, n.stop(timeout)) for n in self.nodes]

    def infos(self, nodes=None, timeout=1.0):
        return {n.id: n.info(timeout) for n in (nodes or self.nodes)}

    def leader(self, nodes=None, infos=None):
        """The node a quorum agrees leads (same term, leader_id), or None. Among `nodes` only
        (default all): a deposed leader in a minority is never returned."""
        infos = infos if infos is not None else self.infos(nodes)
        best = None
        for nid, inf in infos.items():
            if not inf or inf.get("role") != "leader" or not inf.get("term", "").isdigit():
                continue
            term = inf.get("term")
            backers = sum(
                1
                for i2 in infos.values()
                if i2 and i2.get("term") == term and i2.get("leader_id") == str(nid)
            )
            if backers >= self.quorum and (best is None or int(term) > int(best[1])):
                best = (nid, term)
        return self.node(best[0]) if best else None

    def wait_leader(self, nodes=None, timeout=None, exclude=()):
        """Waits until a quorum of `nodes` agrees on a leader not in `exclude`; returns it."""
        timeout = timeout or LEADER_WAIT_S
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.infos(nodes)
            ld = self.leader(infos=last)
            if ld is not None and ld not in exclude:
                return ld
            time.sleep(0.05)
        raise AssertionError(f"no leader within {timeout}s; INFO consensus: {last}")

    def stale_get(self, node, keys, timeout=2.0):
        """Values of keys read locally on `node` (SYNOD CONSISTENCY stale)."""
        c = node.conn(timeout)
        try:
            try:
                c.call("SYNOD", "CONSISTENCY", "stale")
            except redis.ResponseError:
                c.call("READONLY")  # Redis Cluster's switch to follower reads (DESIGN.md)
            return [c.call("GET", k) for k in keys]
        finally:
            c.close()

    def wait_converged(self, keys, timeout=None, nodes=None):
        """Waits until every node (default all) has applied the same commit index and reads the
        same values for `keys` with stale reads; returns {key: value}. Raises with the last
        disagreement on timeout."""
        nodes = nodes or self.nodes
        timeout = timeout or 2 * LEADER_WAIT_S
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            infos = self.infos(nodes)
            idx = {
                nid: (i.get("commit_index"), i.get("last_applied")) if i else None
                for nid, i in infos.items()
            }
            vals = set(idx.values())
            if None not in vals and len(vals) == 1:
                commit, applied = next(iter(vals))
                if commit == applied:
                    try:
                        reads = {n.id: self.stale_get(n, keys) for n in nodes}
                    except (redis.RedisError, OSError) as e:
                        last = f"stale read failed: {e}"
                        time.sleep(0.1)
                        continue
                    if len({tuple(v) for v in reads.values()}) == 1:
                        return dict(zip(keys, next(iter(reads.values()))))
                    last = {"indexes": idx, "reads": reads}
                else:
                    last = {"indexes": idx}
            else:
                last = {"indexes": idx}
            time.sleep(0.1)
        raise AssertionError(f"nodes did not converge within {timeout}s: {last}")

    def logs(self, tail=4000):
        return "\n".join(f"--- {n.name} (pid {n.pid})\n{n.log()[-tail:]}" for n in self.nodes)


def wait_for(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- "writers through a leader kill, then compare digests": the replication tests' common run ---

# Errors a client sees while a leader dies and another takes over; anything else is a bug.
FAILOVER_ERRORS = ("CLUSTERDOWN", "TRYAGAIN", "Connection", "closed", "timeout", "LOADING")


def pipelined_writer(nodes, dead, rng, make_cmd, rounds, pipe, stats, errors, expected=(),
                     on_reply=None, setup=None):  # fmt: skip
    """Sends `rounds` pipelines of `pipe` commands made by make_cmd(rng), moving to the next node
    of `nodes` when one is in `dead` or its connection fails (as a client would). Replies that are
    errors count as stats["errors"] and, unless they contain a FAILOVER_ERRORS or `expected`
    string, are appended to `errors`; successes count as stats["ok"] and are passed to
    on_reply(cmd, reply, stats). setup(client) runs on each new connection."""
    clients = {}
    done = at = attempts = 0
    while done < rounds and attempts < rounds * 50:
        attempts += 1
        node = nodes[at % len(nodes)]
        if node.id in dead:
            at += 1
            continue
        cmds = [make_cmd(rng) for _ in range(pipe)]
        try:
            r = clients.get(node.id)
            if r is None:
                r = node.client(timeout=10.0)
                if setup:
                    setup(r)
                clients[node.id] = r
            p = r.pipeline(transaction=False)
            for cmd in cmds:
                p.execute_command(*cmd)
            for cmd, reply in zip(cmds, p.execute(raise_on_error=False)):
                if isinstance(reply, Exception):
                    stats["errors"] = stats.get("errors", 0) + 1
                    msg = str(reply)
                    if not any(s in msg for s in FAILOVER_ERRORS + tuple(expected)):
                        errors.append((cmd[:4], msg))
                else:
                    stats["ok"] = stats.get("ok", 0) + 1
                    if on_reply:
                        on_reply(cmd, reply, stats)
            done += 1
        except (redis.RedisError, OSError):
            clients.pop(node.id, None)
            stats["reconnects"] = stats.get("reconnects", 0) + 1
            at += 1
            time.sleep(0.1)


def writers_through_leader_kill(c, seed, make_cmd, rounds, pipe, expected=(), on_reply=None,
                                setup=None, kill_after=0.5, restart_after=0.5):  # fmt: skip
    """Three pipelined_writer threads (seeded seed*10+i): one starts on the leader, two on
    followers (which forward). After kill_after seconds the leader is killed (SIGKILL), the
    writers move on, a new leader is awaited, and restart_after seconds later the old leader is
    restarted and catches up (from its log or a snapshot). Returns (stats, errors, killed node,
    new leader) once every writer finished."""
    leader = c.wait_leader()
    followers = [n for n in c.nodes if n is not leader]
    dead, stats, errors = set(), {"ok": 0, "errors": 0, "reconnects": 0}, []
    starts = [[leader] + followers, [followers[0], leader, followers[1]],
              [followers[1], followers[0], leader]]  # fmt: skip
    writers = [
        threading.Thread(target=pipelined_writer,
                         args=(s, dead, random.Random(seed * 10 + i), make_cmd, rounds, pipe,
                               stats, errors, expected, on_reply, setup))  # fmt: skip
        for i, s in enumerate(starts)
    ]
    for w in writers:
        w.start()
    try:
        time.sleep(kill_after)
        dead.add(leader.id)
        leader.kill()
        new = c.wait_leader(nodes=followers, exclude=(leader,))
        time.sleep(restart_after)
        leader.start()
        leader.wait_serving()
        dead.discard(leader.id)
        for w in writers:
            w.join(timeout=120)
    finally:
        dead.update(n.id for n in c.nodes)  # stops writers that are still going
        for w in writers:
            w.join(timeout=10)
    return stats, errors, leader, new


def synod_digest(node, decode=True):
    """[digest, last_applied] of node's applied data (SYNOD DIGEST, read locally)."""
    r = redis_client(node.host, node.port, node.client_netns, 5.0, decode=decode,
                     password=node.password)  # fmt: skip
    try:
        r.execute_command("SYNOD", "CONSISTENCY", "stale")
        return r.execute_command("SYNOD", "DIGEST")
    finally:
        r.close()


def assert_same_digest(c, label="", timeout=30):
    """Waits until every node applied the same index, then asserts SYNOD DIGEST is identical
    on every node; returns the digest."""
    c.wait_converged([], timeout=timeout)
    digests = {n.id: synod_digest(n) for n in c.nodes}
    ref_id = min(digests)
    for nid, d in digests.items():
        assert d == digests[ref_id], f"{label}: node{nid} digest {d} != node{ref_id} {digests[ref_id]}"
    return digests[ref_id]
