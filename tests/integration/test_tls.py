"""Client TLS (issue 9): tls-port and Redis's tls-* options, with redis-py (ssl=True) and
`redis-cli --tls` as clients.

Certificates are made with the openssl command line in a tmp dir: a CA, a server certificate
(127.0.0.1 / localhost) and a client certificate it signed, plus a second CA with its own
client certificate (a certificate the server must not trust)."""

import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodCluster, free_ports  # noqa: E402


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(d, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={name}", cwd=d)  # fmt: skip


def _make_cert(d, name, ca, ext):
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)  # fmt: skip
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
             cwd=d)  # fmt: skip


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tls"))
    _make_ca(d, "ca")
    _make_ca(d, "otherca")
    _make_cert(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n")  # fmt: skip
    _make_cert(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    _make_cert(d, "stranger", "otherca", "extendedKeyUsage=clientAuth\n")
    return {k: os.path.join(d, k) for k in ("ca", "otherca", "server", "client", "stranger")}


def tls_args(certs, port, *extra):
    return ("--tls-port", str(port), "--tls-cert-file", certs["server"] + ".crt",
            "--tls-key-file", certs["server"] + ".key", "--tls-ca-cert-file",
            certs["ca"] + ".crt", *extra)  # fmt: skip


@pytest.fixture
def tls_server(synod_server, certs):
    """start(*extra) -> (process, tls port)"""

    def start(*extra):
        port = free_ports(1)[0]
        return synod_server(*tls_args(certs, port, *extra)), port

    return start


def tls_client(certs, port, cert="client", **kw):
    kw.setdefault("socket_timeout", 20)
    if cert:
        kw.update(ssl_certfile=certs[cert] + ".crt", ssl_keyfile=certs[cert] + ".key")
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs["ca"] + ".crt",
                       ssl_cert_reqs="required", **kw)  # fmt: skip


def ssl_context(certs, cert="client", max_version=None):
    ctx = ssl.create_default_context(cafile=certs["ca"] + ".crt")
    if cert:
        ctx.load_cert_chain(certs[cert] + ".crt", certs[cert] + ".key")
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def refused(cl):
    """The server refuses the connection: the handshake or the first request fails."""
    try:
        cl.ping()
    except (redis.ConnectionError, ssl.SSLError, OSError):
        return True
    finally:
        cl.close()
    return False


def test_redis_py_tls_set_get_pipeline_large(tls_server, certs):
    srv, port = tls_server()
    cl = tls_client(certs, port)
    assert cl.ping()
    assert cl.set("k", "v") and cl.get("k") == b"v"
    p = cl.pipeline(transaction=False)
    for i in range(2000):
        p.set(f"p{i}", i)
        p.incr(f"p{i}")
    res = p.execute()
    assert res == [x for i in range(2000) for x in (True, i + 1)]
    # MULTI/EXEC over TLS
    tx = cl.pipeline(transaction=True)
    tx.set("t", "1").incr("t").get("t")
    assert tx.execute() == [True, 2, b"2"]
    # several MiB each way: partial TLS writes, records split across reads
    big = os.urandom(6 * 1024 * 1024)
    assert cl.set("big", big)
    assert cl.get("big") == big
    p = cl.pipeline(transaction=False)
    for i in range(4):
        p.set(f"big{i}", big[i:] + big[:i])
    for i in range(4):
        p.get(f"big{i}")
    res = p.execute()
    assert res[:4] == [True] * 4
    for i in range(4):
        assert res[4 + i] == big[i:] + big[:i]
    # the same data over the plaintext port; INFO and CLIENT LIST work over TLS
    plain = srv.client()
    assert plain.get("big") == big and plain.get("k") == b"v"
    assert "redis_version" in cl.info()
    assert any(c["laddr"] == f"127.0.0.1:{port}" for c in cl.client_list())
    cl.close()


def test_requests_in_single_tls_records(tls_server, certs, raw):
    """Each request (and a pipelined batch) sent in one write, so it ends mid-record on the wire
    and nothing follows it: a server that left decrypted bytes inside OpenSSL (SSL_pending)
    without reading them would wait forever for a readable event."""
    srv, port = tls_server()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with ssl_context(certs).wrap_socket(sock, server_hostname="127.0.0.1") as s:
            for n in (1, 100, 5000, 16000, 16500, 40000, 300000):
                v = bytes([65 + n % 26]) * n
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (n, v))
                assert raw.read(s, 1, timeout=5)[0] == ["OK"], n
                batch = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" * 7
                s.sendall(batch)
                got, rest = raw.read(s, 7, timeout=5)
                assert got == [v] * 7 and rest == b"", n


def test_redis_py_tls_many_clients_interleaved(tls_server, certs):
    """Several TLS clients with big pipelined requests at once: none stalls."""
    srv, port = tls_server()
    errors = []

    def worker(n):
        try:
            cl = tls_client(certs, port)
            val = bytes([n]) * (700 * 1024 + n)
            for rnd in range(5):
                p = cl.pipeline(transaction=False)
                for i in range(10):
                    p.set(f"w{n}:{i}", val)
                    p.get(f"w{n}:{i}")
                out = p.execute()
                assert out[1::2] == [val] * 10, f"worker {n} round {rnd}"
            cl.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads), errors


def test_redis_cli_tls(tls_server, certs):
    srv, port = tls_server()
    base = ["redis-cli", "--tls", "--cacert", certs["ca"] + ".crt", "--cert",
            certs["client"] + ".crt", "--key", certs["client"] + ".key", "-h", "127.0.0.1",
            "-p", str(port)]  # fmt: skip
    out = subprocess.run(base + ["SET", "clikey", "hello tls"], capture_output=True, text=True,
                         timeout=20)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "OK", out
    out = subprocess.run(base + ["GET", "clikey"], capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "hello tls", out
    assert srv.client().get("clikey") == b"hello tls"
    # without a client certificate redis-cli is refused (tls-auth-clients yes)
    nocert = ["redis-cli", "--tls", "--cacert", certs["ca"] + ".crt", "-h", "127.0.0.1", "-p",
              str(port), "GET", "clikey"]  # fmt: skip
    out = subprocess.run(nocert, capture_output=True, text=True, timeout=20)
    assert "hello tls" not in out.stdout, out
    # redis-cli --rdb over TLS: the file (4 MB, more than the node reads ahead of the client:
    # rdb_xfer.c) goes through the TLS connection from the forked writer's pipe
    r = srv.client()
    p = r.pipeline(transaction=False)
    for i in range(4000):
        p.set(f"big{i}", b"v" * 1000)
    p.execute()
    rdb = os.path.join(os.path.dirname(certs["ca"]), f"tls-{port}.rdb")
    out = subprocess.run(base + ["--rdb", rdb], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    check = subprocess.run(["redis-check-rdb", rdb], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    data = open(rdb, "rb").read()
    assert len(data) > 4_000_000 and b"clikey" in data and b"big3999" in data
    # a debugging session (redis-cli --ldb) over TLS: the forked session carries the TLS
    # session on (Redis 7.0 closes it at the fork). Raw, not redis-cli: after the session
    # redis-cli writes COMMAND DOCS to the closed connection and may die of SIGPIPE.
    body = b"local v = redis.call('get', KEYS[1])\nredis.call('set', KEYS[1], 'x')\nreturn v\n"

    def cmd(*a):
        return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)

    with ssl_context(certs).wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                        server_hostname="127.0.0.1") as t:  # fmt: skip
        t.sendall(cmd(b"SCRIPT", b"DEBUG", b"YES"))
        assert t.recv(5) == b"+OK\r\n"
        t.sendall(cmd(b"EVAL", body, b"1", b"clikey"))
        got = b""
        while b"-> 1 " not in got:
            got += t.recv(65536)
        for c in (b"s", b"p", b"c"):
            t.sendall(cmd(c))
        while True:
            chunk = t.recv(65536)
            if not chunk:
                break
            got += chunk
    assert b'+<value> v = "hello tls"\r\n' in got, got
    assert got.endswith(b"+<endsession>\r\n$9\r\nhello tls\r\n"), got[-200:]
    assert r.get("clikey") == b"hello tls"  # rolled back
    assert r.ping()  # the node's TLS port is fine after the hand-over


def test_client_certificate_required_optional_no(tls_server, certs):
    srv, port = tls_server()  # tls-auth-clients yes (the default)
    assert refused(tls_client(certs, port, cert=None))
    assert refused(tls_client(certs, port, cert="stranger"))  # signed by another CA
    assert tls_client(certs, port).ping()
    assert srv.alive() and srv.client().ping()

    srv2, port2 = tls_server("--tls-auth-clients", "optional")
    assert tls_client(certs, port2, cert=None).ping()
    assert tls_client(certs, port2).ping()
    assert refused(tls_client(certs, port2, cert="stranger"))  # given, so verified

    srv3, port3 = tls_server("--tls-auth-clients", "no")
    assert tls_client(certs, port3, cert=None).ping()
    assert srv3.client().config_get("tls-*") == {
        "tls-port": str(port3),
        "tls-cert-file": certs["server"] + ".crt",
        "tls-key-file": certs["server"] + ".key",
        "tls-ca-cert-file": certs["ca"] + ".crt",
        "tls-auth-clients": "no",
        "tls-protocols": "",
        "tls-ciphers": "",
        "tls-ciphersuites": "",
        "tls-handshake-timeout": "10000",
        "tls-cluster": "no",
        "tls-client-cert-file": "",
        "tls-client-key-file": "",
    }


def test_tls_protocols(tls_server, certs):
    srv, port = tls_server("--tls-protocols", "TLSv1.2")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ssl_context(certs).wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == "TLSv1.2"
            s.sendall(b"PING\r\n")
            assert s.recv(16) == b"+PONG\r\n"
    srv2, port2 = tls_server("--tls-protocols", "TLSv1.3")
    with socket.create_connection(("127.0.0.1", port2), timeout=10) as raw:
        ctx = ssl_context(certs, max_version=ssl.TLSVersion.TLSv1_2)
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    assert srv2.alive()


def test_plaintext_on_tls_port_fails_cleanly(tls_server, certs, raw):
    srv, port = tls_server()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"PING\r\n")
        try:  # closed by the server (a reset: it left bytes unread), not left hanging
            got = raw.until_closed(s, timeout=10)
        except ConnectionResetError:
            got = b""
        assert b"PONG" not in got
    assert srv.alive() and srv.client().ping()
    assert tls_client(certs, port).ping()


def _client_hello(certs):
    """The bytes of a real ClientHello (from an in-memory TLS client)."""
    ctx = ssl_context(certs)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_garbage_and_stalled_handshakes_do_not_block_others(tls_server, certs, raw):
    srv, port = tls_server("--tls-handshake-timeout", "700")
    hello = _client_hello(certs)
    assert len(hello) > 100
    stalled = []
    for i in range(10):  # half a ClientHello, then silence
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(hello[: len(hello) // 2])
        stalled.append(s)
    for i in range(5):  # a whole ClientHello, then no answer to the server's flight
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(hello)
        stalled.append(s)
    for size in (1, 5, 300, 64 * 1024):  # garbage instead of a ClientHello
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            try:
                s.sendall(os.urandom(size))
            except OSError:
                pass  # the server may close before all of it is sent
            try:
                raw.until_closed(s, timeout=10)
            except ConnectionResetError:
                pass
    # meanwhile TLS and plaintext clients are served at once
    t0 = time.monotonic()
    cl = tls_client(certs, port)
    assert cl.set("during", "stall") and cl.get("during") == b"stall"
    assert srv.client().get("during") == b"stall"
    assert time.monotonic() - t0 < 5
    # and the stalled handshakes are closed by the server after tls-handshake-timeout
    for s in stalled:
        try:
            raw.until_closed(s, timeout=10)
        except ConnectionResetError:
            pass
        s.close()
    assert cl.ping() and srv.alive()
    assert "TLS handshake not done after 700 ms" in srv.log()


def test_bad_tls_config_refuses_to_start(run_synod, certs, tmp_path):
    port = str(free_ports(1)[0])
    base = ["--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), "--tls-port", port]
    crt, key, ca = certs["server"] + ".crt", certs["server"] + ".key", certs["ca"] + ".crt"
    cases = [
        (["--tls-cert-file", "/nonexistent.crt", "--tls-key-file", key, "--tls-ca-cert-file", ca],
         "tls-cert-file"),
        (["--tls-cert-file", crt, "--tls-key-file", "/nonexistent.key", "--tls-ca-cert-file",
          ca], "tls-key-file"),
        # a key that is not the certificate's
        (["--tls-cert-file", crt, "--tls-key-file", certs["client"] + ".key",
          "--tls-ca-cert-file", ca], "tls-key-file: cannot use"),
        (["--tls-cert-file", crt, "--tls-key-file", certs["client"] + ".key",
          "--tls-ca-cert-file", ca], "(not the key of tls-cert-file)"),
        # a key file given as the CA
        (["--tls-cert-file", crt, "--tls-key-file", key, "--tls-ca-cert-file", key],
         "tls-ca-cert-file"),
        (["--tls-cert-file", crt, "--tls-key-file", key], "tls-ca-cert-file"),
        (["--tls-key-file", key, "--tls-ca-cert-file", ca], "tls-cert-file"),
        (["--tls-cert-file", crt, "--tls-key-file", key, "--tls-ca-cert-file", ca,
          "--tls-protocols", "TLSv1.1"], "tls-protocols"),
        (["--tls-cert-file", crt, "--tls-key-file", key, "--tls-ca-cert-file", ca,
          "--tls-auth-clients", "maybe"], "tls-auth-clients"),
        (["--tls-cert-file", crt, "--tls-key-file", key, "--tls-ca-cert-file", ca,
          "--tls-ciphers", "NO-SUCH-CIPHER"], "tls-ciphers"),
    ]  # fmt: skip
    for extra, key_name in cases:
        res = run_synod(*base, *extra)
        assert res.returncode != 0, (extra, res)
        assert key_name in res.stderr, (extra, res.stderr)


def test_cluster_tls_client_on_follower(tmp_path, certs):
    c = SynodCluster(tmp_path, 3)
    tls_ports = free_ports(3)
    for node, p in zip(c.nodes, tls_ports):
        node.argv += list(tls_args(certs, p))
        node.tls_port = p
    c.start()
    try:
        leader = c.wait_leader()
        follower = next(n for n in c.nodes if n is not leader)
        cl = tls_client(certs, follower.tls_port)
        assert cl.set("ck", "relayed") and cl.get("ck") == b"relayed"  # written via the leader
        assert cl.incr("cn") == 1 and cl.incr("cn") == 2
        assert leader.client().get("ck") == "relayed"
        lc = tls_client(certs, leader.tls_port)
        assert lc.get("ck") == b"relayed" and lc.get("cn") == b"2"
        cl.close()
        lc.close()
    finally:
        bad = [(n.name, rc) for n, rc in c.stop() if rc not in (0, None)]
        assert not bad, bad
