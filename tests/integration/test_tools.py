"""Standard Redis tools against synod: redis-cli and redis-benchmark."""

import os
import select
import signal
import socket
import subprocess
import time

import pytest
import redis


def cli(port, *args, input=None):
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=30,
        input=input,
    )


def test_redis_cli(synod):
    p = synod.port
    assert cli(p, "ping").stdout == "PONG\n"
    assert cli(p, "set", "greeting", "hello world").stdout == "OK\n"
    assert cli(p, "get", "greeting").stdout == "hello world\n"
    assert cli(p, "hset", "h", "a", "1", "b", "2").stdout == "2\n"
    assert cli(p, "-3", "hgetall", "h").stdout == "a 1\nb 2\n"  # RESP3: a map, key value
    assert cli(p, "hgetall", "h").stdout == "a\n1\nb\n2\n"  # RESP2: a flat array
    assert cli(p, "--raw", "incrby", "n", "5").stdout == "5\n"
    # interactive-style session through stdin, and errors rendered as such
    res = cli(p, input="select 16\nselect 1\nget greeting\nselect 0\nget greeting\nfoo\n")
    assert "ERR DB index is out of range" in res.stdout
    assert res.stdout.count("hello world") == 1  # database 1 has no greeting, 0 has
    assert "ERR unknown command 'foo'" in res.stdout
    assert "redis_version" in cli(p, "info", "server").stdout


def test_redis_cli_pipe_mode(synod):
    cmds = "".join(f"SET key{i} value{i}\r\n" for i in range(5000))
    res = cli(synod.port, "--pipe", input=cmds)
    assert res.returncode == 0, res.stderr
    assert "errors: 0, replies: 5000" in res.stdout
    assert synod.client().dbsize() == 5000


def test_redis_benchmark(synod):
    res = subprocess.run(
        ["redis-benchmark", "-p", str(synod.port), "-t", "set,get,incr,hset", "-n", "5000",
         "-c", "20", "-P", "4", "--csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    rows = [l for l in res.stdout.splitlines() if l and not l.startswith('"test"')]
    tests = {l.split(",")[0].strip('"') for l in rows}
    assert {"SET", "GET", "INCR", "HSET"} <= tests
    for l in rows:
        assert float(l.split(",")[1].strip('"')) > 0
    assert "could not fetch server CONFIG" not in res.stderr
    r = synod.client()
    assert len(r.get("key:__rand_int__")) == 3  # -d default: 3-byte values


def _populate(r):
    """Keys of every type and encoding, an expiry, a second database, a function library."""
    r.set("str", "hello")
    r.set("int", 12345)
    r.set("long", "x" * 100)
    r.set("ttl", "v", ex=1000)
    r.hset("hsmall", mapping={"a": "1", "b": "2"})
    r.hset("hbig", mapping={f"f{i}": i for i in range(600)})
    r.rpush("list", *range(300))
    r.sadd("iset", 1, 2, 3)
    r.sadd("sset", *[f"m{i}" for i in range(600)])
    r.zadd("zsmall", {"a": 1, "b": 2.5})
    r.zadd("zbig", {f"m{i}": i / 3 for i in range(300)})
    for i in range(5):
        r.xadd("stream", {"f": i})
    r.xgroup_create("stream", "g", id="0")
    r.xreadgroup("g", "c", {"stream": ">"}, count=2)
    r.execute_command("SELECT", 5)
    r.set("in5", "five")
    r.execute_command("SELECT", 0)
    r.function_load("#!lua name=lib1\nredis.register_function('f1', function() return 1 end)")


def _contents(r):
    """What a client reads of every key of databases 0 and 5 (set members sorted), the
    functions and the stream's groups."""
    out = {}
    for db in (0, 5):
        r.execute_command("SELECT", db)
        for k in sorted(r.keys("*")):
            t = r.type(k)
            v = {"string": lambda: r.get(k), "hash": lambda: sorted(r.hgetall(k).items()),
                 "list": lambda: r.lrange(k, 0, -1), "set": lambda: sorted(r.smembers(k)),
                 "zset": lambda: r.zrange(k, 0, -1, withscores=True),
                 "stream": lambda: (r.xrange(k), r.xinfo_groups(k))}[t]()  # fmt: skip
            ttl = r.ttl(k)
            out[(db, k)] = (t, v, ttl if ttl < 0 else (ttl + 50) // 100)  # 1000 s: 10 for 50 s
    r.execute_command("SELECT", 0)
    out["functions"] = r.function_list()
    return out


def test_redis_cli_rdb_loads_into_redis_server(synod, tmp_path):
    """redis-cli --rdb against synod (REPLCONF rdb-only 1, SYNC: docs/cluster.md): the file
    passes redis-check-rdb and a redis-server 7.0 started on it holds the same data;
    --functions-rdb has the functions and no keys."""
    r = synod.client(decode_responses=True)
    _populate(r)
    want = _contents(r)
    rdb = tmp_path / "backup.rdb"
    res = cli(synod.port, "--rdb", str(rdb))
    assert res.returncode == 0 and "Transfer finished with success" in res.stderr, res.stderr
    check = subprocess.run(["redis-check-rdb", str(rdb)], capture_output=True, text=True,
                           timeout=30)  # fmt: skip
    assert "RDB looks OK" in check.stdout, check.stdout + check.stderr
    fn = tmp_path / "functions.rdb"
    res = cli(synod.port, "--functions-rdb", str(fn))
    assert res.returncode == 0, res.stderr
    check = subprocess.run(["redis-check-rdb", str(fn)], capture_output=True, text=True,
                           timeout=30)  # fmt: skip
    assert "RDB looks OK" in check.stdout and "0 keys read" in check.stdout, check.stdout
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--dir", str(tmp_path), "--dbfilename", "backup.rdb", "--save", "",
                            "--appendonly", "no"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        rr = redis.Redis(port=port, decode_responses=True)
        deadline = time.time() + 10
        while True:
            try:
                rr.ping()
                break
            except redis.ConnectionError:
                assert time.time() < deadline, "redis-server did not start on the RDB"
                time.sleep(0.05)
        got = _contents(rr)
    finally:
        srv.terminate()
        srv.wait(timeout=10)
    assert got == want


def test_an_rdb_transfer_does_not_make_the_node_evict(synod):
    """An RDB transfer's output (redis-cli --rdb) is left out of what maxmemory judges, as
    Redis leaves out its replicas' buffers (INFO mem_not_counted_for_evict): a backup taken
    near the limit must not evict keys. The reader here does not read for a while, so the
    node holds what its writer has sent of the 16 MB file (up to about 1 MB: rdb_xfer.c).
    Fails with the transfer counted: keys are evicted."""
    r = synod.client(decode_responses=True)
    _fill(synod, 16000)
    r.config_set("maxmemory-policy", "allkeys-lru")
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) + 512 * 1024)
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it holds
        s.connect(("127.0.0.1", synod.port))
        s.sendall(b"REPLCONF rdb-only 1\r\nSYNC\r\n")
        time.sleep(0.5)  # a few cron runs with the file in the output buffer
        assert r.info("stats")["evicted_keys"] == 0 and r.dbsize() == 16000
        mem = r.info("memory")  # ... though the node held megabytes of it
        assert int(mem["mem_not_counted_for_evict"]) > 768 * 1024, mem
        s.settimeout(10)
        got = b""
        while len(got) < 64:
            got += s.recv(64)
        assert got.startswith(b"+OK\r\n$") and b"REDIS0010" in got, got
    finally:  # the rest is dropped with the connection (a reader that went away)
        s.close()
        r.config_set("maxmemory", 0)


def _children(pid):
    """The PIDs of pid's child processes, zombies included (read off /proc/*/stat)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(d))
    return kids


def _sync(port):
    """A connection that asked for an RDB file (REPLCONF rdb-only 1, SYNC), REPLCONF's +OK
    read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"REPLCONF rdb-only 1\r\nSYNC\r\n")
    got = b""
    while len(got) < 5:
        got += s.recv(5 - len(got))
    assert got == b"+OK\r\n"
    return s


WRITER_DELAY_S = 1.0  # SYNOD_TEST_RDB_WRITER_DELAY_MS: the forked writer waits this long first


def test_an_rdb_file_is_built_while_the_node_serves(synod_server, monkeypatch, raw):
    """redis-cli --rdb's file is written by a forked child (rdb_xfer.c): while it is built the
    node answers other clients and applies writes, and the file is the data as it was at SYNC.
    The writer here waits 1 s first; on the build that wrote the file on the event loop, the
    file is out before the node answers anything else."""
    monkeypatch.setenv("SYNOD_TEST_RDB_WRITER_DELAY_MS", str(int(WRITER_DELAY_S * 1000)))
    synod = synod_server()
    r = synod.client(decode_responses=True)
    r.set("before-sync", "1")
    forks = int(r.info("stats")["total_forks"])
    s = _sync(synod.port)
    try:
        t0 = time.monotonic()
        assert r.ping() and r.set("after-sync", "2") and r.get("after-sync") == "2"
        waiting = not select.select([s], [], [], 0)[0]
        assert waiting or time.monotonic() - t0 >= WRITER_DELAY_S, "the file came first"
        assert int(r.info("stats")["total_forks"]) == forks + 1
        got = raw.until_closed(s, timeout=30)
    finally:
        s.close()
    size, rdb = got.split(b"\r\n", 1)
    assert size.startswith(b"$") and int(size[1:]) == len(rdb) and rdb.startswith(b"REDIS0010")
    assert b"before-sync" in rdb and b"after-sync" not in rdb
    deadline = time.monotonic() + 5
    while _children(synod.pid) and time.monotonic() < deadline:  # reaped by the cron
        time.sleep(0.05)
    assert _children(synod.pid) == []


def test_an_rdb_transfer_ends_with_its_client_or_its_writer(synod_server, monkeypatch, raw):
    """A transfer whose client goes away kills its writer (no child left building a file for
    nobody); a writer that dies before the whole file is out closes the connection with
    nothing after +OK (redis-cli then reports a short payload, never a short file as a
    backup); and a client closed meanwhile (CLIENT KILL) sees its connection end at once,
    although the writers hold copies of its socket. The writers wait 30 s first: every end
    here must come long before."""
    monkeypatch.setenv("SYNOD_TEST_RDB_WRITER_DELAY_MS", "30000")
    synod = synod_server()
    r = synod.client(decode_responses=True)
    r.set("k", "v")
    a = _sync(synod.port)
    (writer_a,) = _children(synod.pid)
    b = _sync(synod.port)
    (writer_b,) = set(_children(synod.pid)) - {writer_a}
    other = socket.create_connection(("127.0.0.1", synod.port), timeout=10)
    try:
        other.sendall(b"CLIENT ID\r\n")
        other_id = raw.read(other)[0][0]
        assert r.execute_command("CLIENT", "KILL", "ID", other_id) == 1
        assert raw.until_closed(other, timeout=5) == b""  # not when the writers exit
        os.kill(writer_a, signal.SIGKILL)
        assert raw.until_closed(a, timeout=5) == b""
        b.close()
        deadline = time.monotonic() + 5
        while _children(synod.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _children(synod.pid) == [], "a writer outlived its transfer"
        assert r.get("k") == "v"
        assert "writer ended after 0 bytes, not a whole file" in synod.log()
    finally:
        for c in (a, b, other):
            c.close()


def _private_dirty_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise AssertionError("no Private_Dirty")


def _fill(synod, n):
    """n keys of 1,000 bytes (k0 ... k<n-1>)."""
    p = synod.client().pipeline(transaction=False)
    for i in range(n):
        p.set(f"k{i}", "v" * 1000)
    p.execute()


def _stalled_eof_sync(synod, n_keys):
    """After _fill(n_keys): a reader with a tiny receive buffer that asked for an EOF-marked
    RDB file (capa eof, rdb-only, SYNC) and reads nothing; (its socket, the writer's pid)."""
    _fill(synod, n_keys)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", synod.port))
    s.sendall(b"REPLCONF capa eof\r\nREPLCONF rdb-only 1\r\nSYNC\r\n")
    deadline = time.monotonic() + 10
    while not _children(synod.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    (writer,) = _children(synod.pid)
    return s, writer


def test_an_eof_marked_rdb_is_streamed_not_built_whole(synod, raw):
    """After REPLCONF capa eof (redis-cli sends it), the file comes as Redis's diskless transfer
    sends it, "$EOF:<40 characters>", the file, the same 40 characters, and the writer builds it
    as it is sent: with a reader that does not read, the writer holds about a megabyte of its
    own, not the 16 MB file (it did before: the whole file, then the length)."""
    s, writer = _stalled_eof_sync(synod, 16000)
    try:
        time.sleep(1.0)  # the writer fills the pipe and waits for the reader
        dirty = _private_dirty_kib(writer)
        assert dirty < 8 * 1024, f"the writer holds {dirty} KiB of its own"
        got = raw.until_closed(s, timeout=30)
    finally:
        s.close()
    assert got.startswith(b"+OK\r\n+OK\r\n$EOF:"), got[:80]
    head, rest = got[len(b"+OK\r\n+OK\r\n"):].split(b"\r\n", 1)
    mark = head[len(b"$EOF:"):]
    assert len(mark) == 40 and rest.endswith(mark), (head, rest[-60:])
    rdb = rest[: -len(mark)]
    assert rdb.startswith(b"REDIS0010") and rdb[-9] == 0xFF and len(rdb) > 16_000_000
    assert b"k15999" in rdb


def test_a_streamed_rdb_whose_writer_dies_is_never_a_whole_file(synod, raw):
    """The writer of an EOF-marked file killed half-way (a reader that stalled): the client gets
    the start of the file, never its end mark, and the connection closes; the node logs it."""
    s, writer = _stalled_eof_sync(synod, 8000)
    try:
        time.sleep(0.5)  # it wrote the header and a few megabytes, then waits on the pipe
        os.kill(writer, signal.SIGKILL)
        got = raw.until_closed(s, timeout=30)
    finally:
        s.close()
    head, rest = got[len(b"+OK\r\n+OK\r\n"):].split(b"\r\n", 1)
    assert head.startswith(b"$EOF:") and rest.startswith(b"REDIS0010"), got[:80]
    assert not rest.endswith(head[len(b"$EOF:"):]) and len(rest) < 8_000_000
    assert "not a whole file" in synod.log()
    assert synod.client(decode_responses=True).get("k1") == "v" * 1000


def test_psync_rdb_only_is_a_full_resync_then_the_file(synod, raw):
    """PSYNC after REPLCONF rdb-only 1 (what RDB tools send): +FULLRESYNC <replid> 0 (the
    replid is INFO's master_replid), then the file as SYNC sends it, then the connection
    closes; a replica's PSYNC without rdb-only is refused."""
    r = synod.client(decode_responses=True)
    r.set("a", "1")
    replid = r.info("replication")["master_replid"]
    s = socket.create_connection(("127.0.0.1", synod.port), timeout=10)
    try:
        s.sendall(b"REPLCONF rdb-only 1\r\nPSYNC ? -1\r\n")
        got = raw.until_closed(s)
    finally:
        s.close()
    head = b"+OK\r\n+FULLRESYNC %s 0\r\n$" % replid.encode()
    assert got.startswith(head), got[:100]
    size, rdb = got[len(head):].split(b"\r\n", 1)
    assert int(size) == len(rdb) and rdb.startswith(b"REDIS0010") and rdb[-9] == 0xFF
    with pytest.raises(redis.ResponseError, match="no Redis replication stream"):
        r.execute_command("PSYNC", "?", "-1")
