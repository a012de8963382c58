"""Many connections: 1,000 concurrent clients, maxclients, idle timeout."""

import resource
import selectors
import socket
import time


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def test_1000_concurrent_clients(synod):
    n = 1000
    assert raise_nofile(n + 200) >= n + 100
    socks = []
    try:
        for _ in range(n):
            socks.append(synod.sock(timeout=20))
        # every client writes before any reads: all are connected at once
        for i, s in enumerate(socks):
            s.sendall(b"SET c%d %d\r\nINCR counter\r\nGET c%d\r\n" % (i, i, i))
        sel = selectors.DefaultSelector()
        bufs = {}
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            bufs[s] = b""
        deadline = time.monotonic() + 30
        done = 0
        while done < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                bufs[s] += s.recv(4096)
                if bufs[s].count(b"\r\n") == 4:
                    sel.unregister(s)
                    done += 1
        assert done == n
        counters = set()
        for i, s in enumerate(socks):
            lines = bufs[s].split(b"\r\n")
            assert lines[0] == b"+OK"
            counters.add(int(lines[1][1:]))
            assert lines[2:4] == [b"$%d" % len(str(i)), str(i).encode()]
        assert counters == set(range(1, n + 1))  # each INCR applied exactly once
        r = synod.client(decode_responses=True)
        assert r.info("clients")["connected_clients"] == n + 1
        assert r.dbsize() == n + 1
    finally:
        for s in socks:
            s.close()
    r = synod.client(decode_responses=True)
    deadline = time.monotonic() + 10
    while r.info("clients")["connected_clients"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.info("clients")["connected_clients"] == 1


def test_maxclients(synod):
    r = synod.client()
    r.ping()
    r.config_set("maxclients", 3)
    a, b = synod.sock(), synod.sock()
    a.sendall(b"PING\r\n")
    b.sendall(b"PING\r\n")
    assert a.recv(100) == b"+PONG\r\n" and b.recv(100) == b"+PONG\r\n"
    c = synod.sock()
    c.settimeout(5)
    data = b""
    while True:
        chunk = c.recv(100)
        if not chunk:
            break
        data += chunk
    assert data == b"-ERR max number of clients reached\r\n"
    a.close()
    time.sleep(0.1)
    d = synod.sock()
    d.sendall(b"PING\r\n")
    assert d.recv(100) == b"+PONG\r\n"
    assert r.info("stats")["rejected_connections"] == 1


def test_idle_timeout(synod):
    r = synod.client()
    r.config_set("timeout", 1)
    s = synod.sock()
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    s.settimeout(5)
    t0 = time.monotonic()
    assert s.recv(100) == b""  # closed by the server
    assert 0.5 < time.monotonic() - t0 < 4.5
