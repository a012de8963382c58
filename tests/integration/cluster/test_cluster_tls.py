"""tls-cluster (issue 9): peer links and the followers' relays to the leader run over TLS with
certificates verified both ways against the cluster's CA.

Certificates are made by the openssl command line in a tmp dir: a CA, one certificate per node
(serverAuth + clientAuth) and a self-signed stranger. The attacker tests play the strongest
stranger the plaintext tests know (test_peer_auth.py): a member is down, its data id is known,
and a forged HELLO + APPEND + HEARTBEAT_RESP(term + 1000) is sent in its name, over plain TCP,
over TLS without a certificate and over TLS with a self-signed one. Without TLS (the control in
test_peer_auth.py) these frames are believed; here nothing may change."""

import os
import random
import socket
import ssl
import subprocess
import threading
import time

import pytest
import redis

from harness import SynodCluster, assert_same_digest, free_ports, wait_for, \
    writers_through_leader_kill  # fmt: skip
from test_peer_auth import HELLO, MSG_APPEND, MSG_HEARTBEAT_RESP, RAFT, data_id_of, frame, \
    hello, raft_batch, raft_msg  # fmt: skip


def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)


def _key_and_csr(d, name):
    _openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tlscluster"))
    for name in ("ca", "stranger"):  # self-signed: the cluster's CA, and a stranger's own
        _openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                 "-subj", f"/CN={name}")  # fmt: skip
    with open(os.path.join(d, "node.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    for i in (1, 2, 3, "3-client"):  # node3-client: node 3's tls-client-cert-file
        _key_and_csr(d, f"node{i}")
        _openssl(d, "x509", "-req", "-in", f"node{i}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"node{i}.crt", "-days", "2", "-extfile",
                 "node.ext")  # fmt: skip
    return lambda name: os.path.join(d, name)


def tls_cluster(tmp_path, certs, n=3, extra=()):
    c = SynodCluster(tmp_path, n, extra_args=("--tls-cluster", "yes", *extra))
    for node, p in zip(c.nodes, free_ports(n)):
        node.tls_port = p
        node.argv += ["--tls-port", str(p), "--tls-cert-file", certs(f"node{node.id}.crt"),
                      "--tls-key-file", certs(f"node{node.id}.key"), "--tls-ca-cert-file",
                      certs("ca.crt")]  # fmt: skip
    return c


def test_tls_cluster_writes_leader_kill_same_digest(tmp_path, certs):
    seed = int(os.environ.get("SYNOD_SEED", random.randrange(1 << 30)))
    print(f"SYNOD_SEED={seed}")
    c = tls_cluster(tmp_path, certs)
    # node 3 dials with its own client certificate (Redis's tls-client-cert-file)
    c.node(3).argv += ["--tls-client-cert-file", certs("node3-client.crt"),
                       "--tls-client-key-file", certs("node3-client.key")]  # fmt: skip
    c.start()
    try:
        leader = c.wait_leader()
        follower = next(n for n in c.nodes if n is not leader)
        # a client of the follower's plaintext port: relayed to the leader's TLS port
        fc = follower.client()
        assert fc.set("k", "v") and fc.incr("n") == 1
        assert leader.client().get("k") == "v"
        assert all("TLS" in n.log() for n in c.nodes)  # "peer link to node N (...) up, TLS"
        # a TLS client of the follower (redis-py, ssl=True): relayed over TLS as well
        cl = redis.Redis(host="127.0.0.1", port=follower.tls_port, ssl=True,
                         ssl_certfile=certs("node2.crt"), ssl_keyfile=certs("node2.key"),
                         ssl_ca_certs=certs("ca.crt"), ssl_check_hostname=False,
                         socket_timeout=5)  # fmt: skip
        assert cl.set("t", "1") and cl.incr("t") == 2
        assert leader.client().get("t") == "2"
        cl.close()
        # protected mode (the default) answers a TLS client from a non-local address after its
        # handshake, as Redis 7.0 does
        raw = socket.socket()
        raw.bind(("127.0.0.2", 0))
        raw.settimeout(5)
        raw.connect(("127.0.0.1", follower.tls_port))
        ctx = ssl.create_default_context(cafile=certs("ca.crt"))
        ctx.check_hostname = False
        ctx.load_cert_chain(certs("node2.crt"), certs("node2.key"))
        with ctx.wrap_socket(raw) as ts:
            ts.sendall(b"PING\r\n")
            got = b""
            while not got.endswith(b"\r\n"):
                chunk = ts.recv(4096)
                if not chunk:
                    break
                got += chunk
        assert got.startswith(b"-DENIED Redis is running in protected mode"), got

        def cmd(rng):
            return ("INCRBY", f"key:{rng.randrange(20)}", rng.randrange(1, 100))

        stats, errors, killed, new = writers_through_leader_kill(c, seed, cmd, rounds=30, pipe=8)
        assert not errors, errors[:5]
        assert stats["ok"] > 100, stats
        assert new is not killed
        fc = next(n for n in c.nodes if n is not new).client()
        assert fc.set("after", "kill") and new.client().get("after") == "kill"
        assert_same_digest(c, "tls-cluster")
    finally:
        bad = [(n.name, rc) for n, rc in c.stop() if rc not in (0, None)]
        assert not bad, bad


def _forge_frames(leader_id, victim, target, data_id):
    inf = target.info()
    term, last = int(inf["term"]), int(inf["commit_index"])
    cmd = b"\x01" + b"\x00" * 8 + b"*3\r\n$3\r\nSET\r\n$8\r\ninjected\r\n$5\r\npwned\r\n"
    append = raft_msg(MSG_APPEND, victim.id, target.id, term, index=last, log_term=term,
                      commit=last + 1, entries=[(term, last + 1, cmd)])  # fmt: skip
    bump = raft_msg(MSG_HEARTBEAT_RESP, victim.id, target.id, term + 1000, index=last)
    return (frame(HELLO, hello(victim.id, target.id, 0, data_id=data_id))
            + frame(RAFT, raft_batch(append, bump)))  # fmt: skip


def _send(target, payload, tls_cert=None, tls=False):
    """Connects to target's peer port (from 127.0.0.1, the members' address), optionally over
    TLS presenting tls_cert (not verifying the server: an attacker does not care), sends payload
    and reads for a while. Returns what happened, for the assertion messages."""
    raw = socket.create_connection((target.host, target.peer_port), timeout=2)
    try:
        s = raw
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if tls_cert:
                ctx.load_cert_chain(tls_cert + ".crt", tls_cert + ".key")
            s = ctx.wrap_socket(raw)
        s.sendall(payload)
        s.settimeout(1.0)
        got = b""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return f"closed after {len(got)} bytes"
            got += chunk
        return f"open, {len(got)} bytes"
    except (OSError, ssl.SSLError) as e:
        return f"error: {e}"
    finally:
        raw.close()


def test_tls_cluster_strangers_change_nothing(tmp_path, certs):
    c = tls_cluster(tmp_path, certs).start()
    try:
        leader = c.wait_leader()
        leader.client().set("k", "v1")
        c.wait_converged(["k"])
        victim = next(n for n in c.nodes if n is not leader)
        other = next(n for n in c.nodes if n is not leader and n is not victim)
        victim.expect_unclean_exit = True
        victim.kill()  # its slot is free and its data id known: the strongest forgery
        wait_for(lambda: f"peer connection from node {victim.id} closed" in leader.log(), 5,
                 what="the leader noticing the dead member")  # fmt: skip
        before = {n.id: s for n, s in ((n, state_of(n)) for n in (leader, other))}
        outcomes = []
        for target in (leader, other):
            payload = _forge_frames(leader.id, victim, target, data_id_of(victim))
            outcomes.append(("plain", target.id, _send(target, payload)))
            outcomes.append(("tls-nocert", target.id, _send(target, payload, tls=True)))
            outcomes.append(("tls-selfsigned", target.id,
                             _send(target, payload, tls_cert=certs("stranger"), tls=True)))
        print(outcomes)
        time.sleep(0.5)
        after = {n.id: state_of(n) for n in (leader, other)}
        assert after == before, (before, after, outcomes)
        for n in (leader, other):
            assert c.stale_get(n, ["injected", "k"]) == [None, "v1"], outcomes
        logs = leader.log() + other.log()
        assert "TLS handshake failed" in logs, outcomes
        # the cluster still works and the member comes back through TLS
        victim.start()
        victim.wait_serving()
        leader.client().set("k", "v2")
        c.wait_converged(["k"])
        assert_same_digest(c, "after strangers")
    finally:
        c.stop()


def state_of(n):
    inf = n.info()
    return {k: inf[k] for k in ("term", "leader_id", "role")}


def test_tls_cluster_stalled_handshakes_do_not_keep_a_member_out(tmp_path, certs):
    """Strangers keep 70 half-done TLS handshakes open to the leader at all times (more than its
    64 inbound slots; each one closed by the 2 s deadline is replaced at once) while both
    followers are down; one restarts, and a write through it must commit, which needs the
    leader to admit its connection (the oldest unauthenticated connection is evicted for it)."""
    c = tls_cluster(tmp_path, certs).start()
    half_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    stop, opened = threading.Event(), [0]
    try:
        leader = c.wait_leader()
        f1, f2 = [n for n in c.nodes if n is not leader]
        f1.stop()
        f2.stop()

        def attacker():
            socks = []
            while not stop.is_set():
                alive = []
                for s in socks:
                    s.setblocking(False)
                    try:
                        gone = s.recv(4096) == b""
                    except BlockingIOError:
                        gone = False
                    except OSError:
                        gone = True
                    if gone:
                        s.close()
                    else:
                        alive.append(s)
                socks = alive
                while len(socks) < 70 and not stop.is_set():
                    try:
                        s = socket.create_connection((leader.host, leader.peer_port), timeout=1)
                        s.sendall(half_hello)
                        socks.append(s)
                        opened[0] += 1
                    except OSError:
                        break
                stop.wait(0.02)
            for s in socks:
                s.close()

        th = threading.Thread(target=attacker, daemon=True)
        th.start()
        wait_for(lambda: opened[0] >= 70, 5, what="the strangers' connections")
        f1.start()
        f1.wait_serving()

        def write_ok():
            try:
                return f1.client(timeout=2).set("k", "back")
            except (redis.RedisError, OSError):
                return False

        wait_for(write_ok, 5, interval=0.2, what="a write committed by the leader and f1")
        assert opened[0] > 70, opened  # the deadline closed strangers and they came back
        stop.set()
        th.join(5)
        f2.start()
        c.wait_converged(["k"], timeout=10)
    finally:
        stop.set()
        c.stop()


def test_tls_cluster_config_refusals(run_synod_cfg, certs, tmp_path):
    p = free_ports(3)
    base = ["--id", "1", "--listen", f"127.0.0.1:{p[0]}", "--peer-listen", f"127.0.0.1:{p[1]}",
            "--cluster", f"1=127.0.0.1:{p[1]},2=127.0.0.1:{p[2]}",
            "--data-dir", str(tmp_path / "d")]  # fmt: skip
    r = run_synod_cfg(*base, "--tls-cluster", "yes")
    assert r.returncode != 0 and "tls-ca-cert-file" in r.stderr, r.stderr
    files = ["--tls-cert-file", certs("node1.crt"), "--tls-key-file", certs("node1.key"),
             "--tls-ca-cert-file", certs("ca.crt")]  # fmt: skip
    r = run_synod_cfg(*base, "--tls-cluster", "yes", *files)
    assert r.returncode != 0 and "tls-port" in r.stderr, r.stderr
    r = run_synod_cfg(*base, "--tls-cluster", "yes", *files, "--tls-port", str(p[2]),
                      "--tls-client-cert-file", certs("node2.crt"), "--tls-client-key-file",
                      certs("node1.key"))  # fmt: skip
    assert r.returncode != 0 and "tls-client-key-file" in r.stderr, r.stderr
    r = run_synod_cfg(*base, "--tls-cluster", "maybe")
    assert r.returncode != 0 and "yes|no" in r.stderr, r.stderr


@pytest.fixture
def run_synod_cfg():
    from harness import SYNOD_BIN

    def run(*args):
        return subprocess.run([SYNOD_BIN, *args], capture_output=True, text=True, timeout=10)

    return run


def test_tls_cluster_held_leader_keeps_its_term(tmp_path, certs):
    """The peer watcher (node/peer.c) writes the keepalives of a held leader and the pings of
    held nodes into the TLS sessions of the links from its own thread, under the peer module's
    lock: the sessions must stay intact (no link closed, no election) and carry the loop's
    traffic afterwards. DEBUG SLEEP holds the leader 1.5 s, then both followers 2 s together."""
    c = tls_cluster(tmp_path, certs, extra=("--enable-debug-command", "yes"))
    c.start()
    try:
        leader = c.wait_leader()
        r = leader.client(timeout=10)
        assert r.set("before", "1")
        terms = [int(n.info()["term"]) for n in c.nodes]
        sent = int(leader.info()["keepalives_sent"])
        at = [len(n.log()) for n in c.nodes]
        r.execute_command("DEBUG", "SLEEP", "1.5")
        followers = [n for n in c.nodes if n is not leader]
        ts = [threading.Thread(target=lambda n=n: n.client(timeout=10).execute_command(
            "DEBUG", "SLEEP", "2")) for n in followers]  # fmt: skip
        for t in ts:
            t.start()
        for t in ts:
            t.join(15)
        time.sleep(0.5)
        for i in range(20):
            assert r.set(f"after{i}", i)
        assert [int(n.info()["term"]) for n in c.nodes] == terms
        assert leader.info()["role"] == "leader"
        assert int(leader.info()["keepalives_sent"]) - sent >= 40
        logs = "".join(n.log()[k:] for n, k in zip(c.nodes, at))
        assert "closed" not in logs, logs
        c.wait_converged(["after19"])
    finally:
        c.stop()
