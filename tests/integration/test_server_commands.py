"""Server commands (connection, introspection, configuration) and their Redis 7 errors."""

import os
import socket
import subprocess
import time

import pytest
import redis


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_ping_echo(r, synod, raw):
    s = synod.sock()
    s.sendall(b"PING\r\nPING hello\r\nping \"\"\r\n")
    assert raw.read(s, 3)[0] == ["PONG", b"hello", b""]
    assert r.echo("x y\r\nz") == "x y\r\nz"
    assert err(r, "PING", "a", "b") == "wrong number of arguments for 'ping' command"
    assert err(r, "ECHO") == "wrong number of arguments for 'echo' command"
    assert err(r, "ECHO", "a", "b") == "wrong number of arguments for 'echo' command"


def test_unknown_command_exact_message(synod, raw):
    s = synod.sock()
    s.sendall(b"FOO a b\r\n*1\r\n$3\r\nbar\r\nNOPE " + b"x" * 200 + b"\r\n")
    (a, b, c), _ = raw.read(s, 3)
    assert a == ("err", "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    assert b == ("err", "ERR unknown command 'bar', with args beginning with: ")
    # arguments are cut at 128 bytes in total, as Redis does
    assert c == ("err", "ERR unknown command 'NOPE', with args beginning with: '" + "x" * 128 + "' ")
    s.close()


def test_wrong_arity_names_command(r):
    assert err(r, "GET") == "wrong number of arguments for 'get' command"
    assert err(r, "SELECT") == "wrong number of arguments for 'select' command"
    assert err(r, "CLIENT") == "wrong number of arguments for 'client' command"
    assert err(r, "CLIENT", "SETNAME") == "wrong number of arguments for 'client|setname' command"
    assert err(r, "CONFIG", "GET") == "wrong number of arguments for 'config|get' command"
    assert err(r, "CONFIG", "SET", "hz") == "wrong number of arguments for 'config|set' command"
    assert err(r, "TIME", "x") == "wrong number of arguments for 'time' command"


def test_unknown_subcommand(r):
    assert err(r, "CLIENT", "foo") == "unknown subcommand 'foo'. Try CLIENT HELP."
    assert err(r, "CONFIG", "Foo") == "unknown subcommand 'Foo'. Try CONFIG HELP."
    assert err(r, "COMMAND", "foo") == "unknown subcommand 'foo'. Try COMMAND HELP."


def test_hello(synod, raw):
    s = synod.sock()
    s.sendall(b"HELLO\r\n")
    (m,), _ = raw.read(s)
    d = dict(zip(m[::2], m[1::2]))  # RESP2: flat array
    assert d[b"proto"] == 2 and d[b"server"] == b"redis" and d[b"mode"] == b"standalone"
    assert d[b"version"].startswith(b"7.")
    s.sendall(b"HELLO 3 SETNAME myconn\r\n")
    (m,), _ = raw.read(s)
    assert isinstance(m, dict) and m[b"proto"] == 3 and m[b"role"] == b"master"
    s.sendall(b"CLIENT GETNAME\r\n")
    assert raw.read(s)[0] == [b"myconn"]
    s.sendall(b"HELLO 4\r\nHELLO x\r\nHELLO 3 foo\r\nHELLO 3 AUTH default\r\n")
    replies, _ = raw.read(s, 4)
    assert replies == [
        ("err", "NOPROTO unsupported protocol version"),
        ("err", "ERR Protocol version is not an integer or out of range"),
        ("err", "ERR Syntax error in HELLO option 'foo'"),
        ("err", "ERR Syntax error in HELLO option 'AUTH'"),
    ]
    s.sendall(b"HELLO 2 AUTH bob pw\r\nHELLO 3 SETNAME \"a b\"\r\nHELLO 2 AUTH default any\r\n")
    replies, _ = raw.read(s, 3)
    assert replies[0] == ("err", "WRONGPASS invalid username-password pair or user is disabled.")
    assert replies[1] == (
        "err",
        "ERR Client names cannot contain spaces, newlines or special characters.",
    )
    assert isinstance(replies[2], list) and replies[2][5] == 2  # back to RESP2 (flat array)
    s.close()


def test_auth(r):
    assert "without any password configured" in err(r, "AUTH", "pw")
    assert r.execute_command("AUTH", "default", "anything") is True
    assert err(r, "AUTH", "bob", "pw").startswith("WRONGPASS")


def test_select(r):
    assert r.execute_command("SELECT", "0") in ("OK", True)
    r.set("k", "zero")
    assert r.execute_command("SELECT", "15") in ("OK", True)
    assert r.get("k") is None
    r.set("k", "fifteen")
    assert r.execute_command("SELECT", "0") in ("OK", True)
    assert r.get("k") == "zero"
    assert r.execute_command("SWAPDB", "0", "15") in ("OK", True)
    assert r.get("k") == "fifteen"
    r.execute_command("SELECT", "15")
    r.delete("k")
    assert r.execute_command("RESET") == "RESET"  # back to database 0
    assert r.get("k") == "fifteen"
    r.delete("k")
    assert err(r, "SELECT", "16") == "DB index is out of range"
    assert err(r, "SELECT", "-1") == "DB index is out of range"
    assert err(r, "SELECT", "x") == "value is not an integer or out of range"


def test_quit_closes_after_reply(synod, raw):
    s = synod.sock()
    s.sendall(b"PING\r\nQUIT\r\nPING\r\n")
    assert raw.until_closed(s) == b"+PONG\r\n+OK\r\n"


def test_reset(synod, raw):
    s = synod.sock()
    s.sendall(b"HELLO 3\r\nCLIENT SETNAME n1\r\nRESET\r\nCLIENT GETNAME\r\nGET nokey\r\n")
    replies, _ = raw.read(s, 5)
    assert replies[2] == "RESET"
    assert replies[3] is None
    s.close()
    s = synod.sock()
    s.sendall(b"HELLO 3\r\nRESET\r\n")
    raw.read(s, 2)
    s.sendall(b"GET nokey\r\n")
    s.settimeout(5)
    data = b""
    while not data.endswith(b"\r\n"):
        data += s.recv(100)
    assert data == b"$-1\r\n"  # RESP2 null again
    s.close()


def test_client_commands(synod):
    a = synod.client(decode_responses=True)
    b = synod.client(decode_responses=True)
    ida = a.client_id()
    idb = b.client_id()
    assert ida != idb and ida > 0
    assert a.client_getname() is None
    assert a.client_setname("alpha")
    assert a.client_getname() == "alpha"
    assert err(a, "CLIENT", "SETNAME", "has space") == (
        "Client names cannot contain spaces, newlines or special characters."
    )
    lst = a.execute_command("CLIENT", "LIST")
    lines = [l for l in lst.split("\n") if l]
    ids = sorted(int(l.split()[0].split("=")[1]) for l in lines)
    assert ids == sorted([ida, idb])
    mine = [l for l in lines if l.startswith(f"id={ida} ")][0]
    assert " name=alpha " in mine and "cmd=client|list" in mine and mine.endswith("resp=2")
    info = a.execute_command("CLIENT", "INFO")
    assert info.startswith(f"id={ida} ") and "cmd=client|info" in info
    only_b = a.execute_command("CLIENT", "LIST", "ID", str(idb))
    assert only_b.startswith(f"id={idb} ") and only_b.count("\n") == 1
    assert a.execute_command("CLIENT", "LIST", "TYPE", "pubsub") == ""
    assert err(a, "CLIENT", "LIST", "TYPE", "bogus") == "Unknown client type 'bogus'"
    assert a.client_setname("")  # clears
    assert a.client_getname() is None
    help_lines = a.execute_command("CLIENT", "HELP")
    assert help_lines[0].startswith("CLIENT <subcommand>")


def test_client_kill(synod, raw):
    a = synod.client(decode_responses=True)
    sb = synod.sock()
    sb.sendall(b"CLIENT ID\r\n")
    idb = raw.read(sb, 1)[0][0]
    # new form: the number killed, here by id; the victim's connection is closed
    assert a.execute_command("CLIENT", "KILL", "ID", str(idb)) == 1
    assert raw.until_closed(sb) == b""
    # old form by address: OK, then "No such client" once it is gone
    sc = synod.sock()
    addr = "%s:%d" % sc.getsockname()
    sc.sendall(b"PING\r\n")  # accepted by the server before it is named (else a race)
    assert raw.read(sc, 1)[0][0] == "PONG"
    assert a.execute_command("CLIENT", "KILL", addr) == "OK"
    assert raw.until_closed(sc) == b""
    assert err(a, "CLIENT", "KILL", addr) == "No such client"
    # SKIPME yes (the default) spares the caller; SKIPME no closes it right after its reply
    assert a.execute_command("CLIENT", "KILL", "TYPE", "normal") == 0
    sd = synod.sock()
    sd.sendall(b"CLIENT KILL USER default SKIPME no\r\nPING\r\n")
    assert raw.until_closed(sd) == b":2\r\n"  # a and itself; the PING after it never runs


def test_command_introspection(synod):
    r = synod.client(decode_responses=True)
    n = r.command_count()
    allc = r.command()  # redis-py parses the reply into {name: {...}}
    assert n == len(allc) and n > 20
    assert allc["get"]["arity"] == 2 and allc["get"]["first_key_pos"] == 1
    names = set(allc)
    r.response_callbacks.pop("COMMAND", None)  # the raw replies from here on
    for want in ("get", "set", "ping", "hello", "client", "config", "info", "hset", "del"):
        assert want in names
    (get,) = r.execute_command("COMMAND", "INFO", "get")
    assert get[0] == "get" and get[1] == 2 and "readonly" in get[2]
    assert (get[3], get[4], get[5]) == (1, 1, 1)
    info = r.execute_command("COMMAND", "INFO", "set", "nosuch")
    assert info[0][0] == "set" and "write" in info[0][2] and info[1] is None
    client = r.execute_command("COMMAND", "INFO", "client")[0]
    assert {sc[0] for sc in client[9]} >= {"client|id", "client|list", "client|setname"}
    docs = r.execute_command("COMMAND", "DOCS", "get", "nosuch")
    assert list(docs[::2]) == ["get"]
    d = dict(zip(docs[1][::2], docs[1][1::2]))
    assert d["group"] == "string" and d["since"] and d["summary"]
    listed = r.execute_command("COMMAND", "LIST")
    assert {x for x in listed if "|" not in x} == names  # and the subcommands, as Redis 7.0
    assert {"client|list", "config|get", "object|encoding", "xgroup|create"} <= set(listed)
    assert r.execute_command("COMMAND", "LIST", "FILTERBY", "PATTERN", "set") == ["set"]
    cfg = r.execute_command("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*")
    assert set(cfg) == {"config|resetstat", "config|rewrite"}
    scr = r.execute_command("COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting")
    assert "eval" in scr and "script|kill" in scr and "set" not in scr
    assert r.execute_command("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == []
    assert r.execute_command("COMMAND", "LIST", "FILTERBY", "MODULE", "m") == []
    for bad in (("x",), ("FILTERBY", "x"), ("FILTERBY", "x", "y")):
        with pytest.raises(redis.ResponseError, match="syntax error"):
            r.execute_command("COMMAND", "LIST", *bad)


def test_info_sections(r):
    r.set("k1", "v")
    r.set("k2", "v", px=100000)
    full = r.info("everything")
    for field in ("redis_version", "connected_clients", "used_memory", "total_commands_processed",
                  "db0", "node_id"):
        assert field in full
    info = r.info("keyspace")
    assert info["db0"]["keys"] == 2 and info["db0"]["expires"] == 1
    cons = r.info("consensus")
    assert cons["node_id"] == 1 and cons["role"] == "leader" and cons["leader_id"] == 1
    assert cons["term"] >= 1 and cons["commit_index"] == cons["last_applied"] >= 2
    assert "leader_addr" in cons and "members" in cons
    clients = r.info("clients")
    assert clients["connected_clients"] >= 1 and clients["maxclients"] == 10000
    assert r.info("memory")["used_memory"] > 0
    assert r.info("stats")["total_commands_processed"] >= 3
    both = r.execute_command("INFO", "server", "clients")
    assert "redis_version" in both and "connected_clients" in both and "used_memory" not in both
    assert r.execute_command("INFO", "nosuchsection") == {}


def test_info_leader_addr_is_client_address(synod):
    r = synod.client(decode_responses=True)
    assert r.info("consensus")["leader_addr"] == f"127.0.0.1:{synod.port}"


def test_config_get_set(r):
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_get("hz") == {"hz": "10"}
    got = r.config_get("*max*")
    assert {"maxclients", "proto-max-bulk-len"} <= set(got)
    got = r.execute_command("CONFIG", "GET", "timeout", "h?")
    assert dict(zip(got[::2], got[1::2])) == {"timeout": "0", "hz": "10"}
    assert r.config_get("nosuch") == {}
    assert r.config_set("hz", 20)
    assert r.config_get("hz") == {"hz": "20"}
    assert r.execute_command("CONFIG", "SET", "timeout", "100", "maxclients", "500") == "OK"
    assert r.config_get("maxclients") == {"maxclients": "500"}
    assert r.config_set("client-query-buffer-limit", "2mb")
    assert r.config_get("client-query-buffer-limit") == {"client-query-buffer-limit": "2097152"}
    assert err(r, "CONFIG", "SET", "foo", "1") == (
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    )
    assert err(r, "CONFIG", "SET", "hz", "abc") == (
        "CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed "
        "into an integer"
    )
    assert err(r, "CONFIG", "SET", "timeout", "-1") == (
        "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between "
        "0 and 2147483647 inclusive"
    )
    assert "duplicate parameter" in err(r, "CONFIG", "SET", "hz", "10", "hz", "11")
    assert "immutable" in err(r, "CONFIG", "SET", "listen", "127.0.0.1:1")
    # all or nothing: a bad pair leaves the good one unapplied
    err(r, "CONFIG", "SET", "hz", "30", "timeout", "x")
    assert r.config_get("hz") == {"hz": "20"}
    # Redis tools ask for these
    assert r.config_get("save") == {"save": ""}
    assert r.config_get("appendonly") == {"appendonly": "no"}


def test_config_resetstat(r):
    r.ping()
    assert r.info("stats")["total_commands_processed"] >= 1
    assert r.execute_command("CONFIG", "RESETSTAT") == "OK"
    assert r.info("stats")["total_commands_processed"] <= 1


def test_time(r):
    sec, usec = r.time()
    assert abs(sec + usec / 1e6 - time.time()) < 5
    assert 0 <= usec < 1000000


def test_data_server_commands(r):
    r.mset({"a": 1, "b": 2})
    r.hset("h", "f", "v")
    assert r.dbsize() == 3
    assert r.flushdb() is True
    assert r.dbsize() == 0
    r.set("c", 1)
    assert r.flushall() is True
    assert r.dbsize() == 0


def test_proto_max_bulk_len(synod, raw):
    r = synod.client()
    r.config_set("proto-max-bulk-len", "1mb")
    s = synod.sock()
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
    data = raw.until_closed(s)
    assert data == b"-ERR Protocol error: invalid bulk length\r\n"
    s = synod.sock()
    value = b"x" * 1000000
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (len(value), value))
    assert raw.read(s)[0] == ["OK"]
    assert r.strlen("k") == 1000000


def test_config_rewrite(synod_server, tmp_path):
    plain = synod_server().client(decode_responses=True)
    assert err(plain, "CONFIG", "REWRITE") == "The server is running without a config file"
    conf = tmp_path / "synod.conf"
    conf.write_text("# my settings\nhz 10   # the cron\nmaxclients 100\nhz 11\ncluster-id blue\n")
    p = synod_server("--config", str(conf))
    r = p.client(decode_responses=True)
    assert r.config_set("hz", 20) and r.config_set("timeout", 30)
    assert r.execute_command("CONFIG", "REWRITE") == "OK"
    text = conf.read_text()
    lines = text.splitlines()
    assert lines[0] == "# my settings"
    assert lines[1] == "hz 20" and "hz 11" not in lines  # in place; the repeat dropped
    assert "maxclients 100" in lines and "cluster-id blue" in lines
    gen = lines.index("# Generated by CONFIG REWRITE")
    assert "timeout 30" in lines[gen:]
    assert not any(l.startswith("join") for l in lines)
    assert not (tmp_path / "synod.conf.tmp").exists()
    # the rewritten file starts a server with the same settings
    r.close()
    assert p.stop() == 0
    r2 = synod_server("--config", str(conf)).client(decode_responses=True)
    assert r2.config_get("hz") == {"hz": "20"} and r2.config_get("timeout") == {"timeout": "30"}
    assert r2.config_get("maxclients") == {"maxclients": "100"}


def test_client_pause(synod, raw):
    a = synod.client(decode_responses=True)
    a.set("k", "1")
    b = synod.sock()
    # WRITE: reads go on, writes wait until UNPAUSE
    assert a.execute_command("CLIENT", "PAUSE", "5000", "WRITE") == "OK"
    b.sendall(b"GET k\r\n")
    assert raw.read(b, 1)[0] == [b"1"]
    b.sendall(b"SET k 2\r\nGET k\r\n")
    b.settimeout(0.3)
    with pytest.raises(socket.timeout):
        b.recv(100)
    assert a.get("k") == "1"  # the paused write has not run
    assert a.execute_command("CLIENT", "UNPAUSE") == "OK"
    assert raw.read(b, 2)[0] == ["OK", b"2"]
    # ALL: every data command waits for the timeout, connection commands do not
    t0 = time.monotonic()
    assert a.execute_command("CLIENT", "PAUSE", "400") == "OK"
    assert a.ping()
    b.sendall(b"GET k\r\n")
    assert raw.read(b, 1)[0] == [b"2"]
    waited = time.monotonic() - t0
    assert 0.3 <= waited < 1.3, waited  # held for the pause, released when it ends
    # a transaction with a write waits for the pause too; one of reads only does not (WRITE)
    assert a.execute_command("CLIENT", "PAUSE", "5000", "WRITE") == "OK"
    b.sendall(b"MULTI\r\nGET k\r\nEXEC\r\n")
    assert raw.read(b, 3)[0] == ["OK", "QUEUED", [b"2"]]
    b.sendall(b"MULTI\r\nINCR k\r\nEXEC\r\n")
    assert raw.read(b, 2)[0] == ["OK", "QUEUED"]
    b.settimeout(0.3)
    with pytest.raises(socket.timeout):
        b.recv(100)
    assert a.execute_command("CLIENT", "UNPAUSE") == "OK"
    assert raw.read(b, 1)[0] == [[3]]
    assert err(a, "CLIENT", "PAUSE", "-1") == "timeout is negative"
    assert err(a, "CLIENT", "PAUSE", "10", "x") == "CLIENT PAUSE mode must be WRITE or ALL"


def test_redis_settings_that_describe_synod(synod_server, tmp_path):
    """CONFIG GET of Redis settings tools read, with the values that describe this server: dir
    (the data directory; --dir is data-dir's Redis name), appendfsync (fsync by Redis's names),
    no Redis Cluster, one I/O thread; refused as immutable unless set to the value they have.
    Accepted connections have TCP keepalive on (tcp-keepalive 300, as Redis)."""
    for fsync, aof in (("always", "always"), ("batch", "everysec"), ("never", "no")):
        d = str(tmp_path / ("dir-" + fsync))
        s = synod_server("--dir", d, "--fsync", fsync)
        r = s.client(decode_responses=True)
        assert r.config_get("data-dir") == {"data-dir": d}
        assert r.config_get("dir") == {"dir": d}
        assert r.config_get("appendfsync") == {"appendfsync": aof}
        assert os.path.isdir(d)
        r.close()
    r = s.client(decode_responses=True)
    assert r.config_get("cluster-enabled") == {"cluster-enabled": "no"}
    assert r.config_get("io-threads") == {"io-threads": "1"}
    assert r.config_get("tcp-keepalive") == {"tcp-keepalive": "300"}
    assert r.config_set("appendfsync", "no") is True  # the value it has: a no-op
    assert "can't set immutable config" in err(r, "CONFIG", "SET", "appendfsync", "always")
    assert "can't set immutable config" in err(r, "CONFIG", "SET", "cluster-enabled", "no")
    assert "can't set immutable config" in err(r, "CONFIG", "SET", "dir", "/tmp")
    # the server's end of this connection probes an idle peer (ss shows its keepalive timer)
    assert r.ping()
    for _ in range(50):  # ss shows the retransmit timer until the reply is acknowledged
        out = subprocess.run(["ss", "-tno", "state", "established", "( sport = :%d )" % s.port],
                             capture_output=True, text=True, timeout=10).stdout
        if "keepalive" in out:
            break
        time.sleep(0.1)
    assert "keepalive" in out, out
    r.close()
