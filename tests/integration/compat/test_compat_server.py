"""Differential tests: connection and server commands, arity and unknown-command errors.

Replies whose values legitimately differ between two servers (connection ids, clocks, server
name/version, INFO contents, CLIENT LIST fields such as memory counters) are compared by
structure; everything else byte for byte.
"""

import time

import pytest

from .diff import PAIRS, SHAPE, U, Mismatch, cases, show
from .resp_raw import parse

CASES = [
    ("ping_echo", [
        ("PING",), ("PING", "hello"), ("PING", ""), ("PING", "a", "b"), ("ping",), ("PiNg", "x"),
        ("ECHO", "hello"), ("ECHO", ""), ("ECHO", b"\x00\r\n"), ("ECHO",), ("ECHO", "a", "b"),
    ]),
    # Both run with 16 databases (test_compat_db.py has the rest).
    ("select", [
        ("SELECT", "0"), ("SELECT", "1"), ("SELECT", "abc"), ("SELECT", "-1"), ("SELECT", "1.0"),
        ("SELECT", ""), ("SELECT", "99999999999999999999"), ("SELECT", "16"), ("SELECT", "4294967296"), ("SELECT",), ("SELECT", "0", "1"),
        ("SET", "k", "v"), ("SELECT", "0"), ("GET", "k"),
    ]),
    ("unknown_commands", [
        ("FOO",), ("FOO", "a", "b"), ("foo", "a b", "c"), ("NOSUCH", "x" * 200),
        ("FOO",) + tuple("a%d" % i for i in range(30)), ("",), ("GET\r\n",), (b"\xff\xfe",),
        ("CLIENT", "FOO"), ("CLIENT", "foo", "bar"), ("CONFIG", "FOO"), ("COMMAND", "FOO"),
        ("CLIENT",), ("CONFIG",),
    ]),
    # synod is never a Redis replica (ROLE: master) and has no Redis Cluster: Redis 7.0's
    # answers on a master without cluster support; LOLWUT's text names the version (shape only)
    ("replication_cluster_stubs", [
        ("REPLICAOF", "NO", "ONE"), ("slaveof", "no", "one"), ("REPLICAOF", "h", "port"),
        ("REPLICAOF", "h", "99999"), ("REPLICAOF", "h", "-1"), ("REPLICAOF",), ("SLAVEOF", "a"),
        ("FAILOVER", "ABORT"), ("ASKING",), ("ASKING", "x"), ("ROLE",), SHAPE("LOLWUT",),
        SHAPE("LOLWUT", "VERSION", "5"), ("LOLWUT", "VERSION", "abc"), SHAPE("LOLWUT", "x"),
    ]),
    ("client_name", [
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "conn1"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"), ("CLIENT", "SETNAME", "\x01"),
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "a", "b"), ("CLIENT", "GETNAME", "x"),
        ("client", "setname", "Mixed-Case_1"), ("CLIENT", "GETNAME"),
        # CLIENT ID: the value is a per-server connection counter; only its type is compared.
        SHAPE("CLIENT", "ID"), ("CLIENT", "ID", "x"),
    ]),
    ("dbsize_time_config", [
        ("DBSIZE",), ("SET", "a", "1"), ("DBSIZE",),
        SHAPE("TIME",), ("TIME", "x"),
        # The value of maxclients is the server's own setting; name and reply type must match.
        SHAPE("CONFIG", "GET", "maxclients"), ("CONFIG", "GET", "nosuchparam"),
        ("CONFIG", "GET"), ("CONFIG", "SET", "nosuchparam", "1"), ("CONFIG", "SET", "maxclients"),
        ("CONFIG", "SET"),
    ]),
    # Set the same value on both servers, then the reply is comparable byte for byte.
    ("config_set_maxclients", [
        ("CONFIG", "SET", "maxclients", "1000"), ("CONFIG", "GET", "maxclients"),
        ("CONFIG", "SET", "maxclients", "abc"), ("CONFIG", "SET", "maxclients", "-1"),
        ("CONFIG", "GET", "maxclients"), ("CONFIG", "SET", "maxclients", "10000"),
        ("CONFIG", "SET", "MAXCLIENTS", "10000"), ("CONFIG", "GET", "MAXCLIENTS"),
    ]),
    # Parameters synod supports (its --help): same values set on both, then compared exactly.
    ("config_set_supported", [
        ("CONFIG", "SET", "hz", "10"), ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "abc"),
        ("CONFIG", "SET", "hz", "0"), ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "10"),
        ("CONFIG", "SET", "timeout", "0"), ("CONFIG", "GET", "timeout"),
        ("CONFIG", "SET", "timeout", "-1"), ("CONFIG", "SET", "timeout", "x"),
        # integers by string2ll's rules: no leading zeros, no "-0", no '+', no spaces
        ("CONFIG", "SET", "hz", "05"), ("CONFIG", "SET", "hz", "-0"), ("CONFIG", "SET", "hz", "-05"),
        ("CONFIG", "SET", "hz", "+5"), ("CONFIG", "SET", "hz", " 5"), ("CONFIG", "GET", "hz"),
        ("CONFIG", "SET", "maxclients", "010000"), ("CONFIG", "SET", "hz", "10"),
        ("CONFIG", "SET", "proto-max-bulk-len", "536870912"), ("CONFIG", "GET", "proto-max-bulk-len"),
        ("CONFIG", "SET", "proto-max-bulk-len", "512mb"), ("CONFIG", "GET", "proto-max-bulk-len"),
        ("CONFIG", "SET", "proto-max-bulk-len", "abc"), ("CONFIG", "SET", "proto-max-bulk-len", "1"),
        ("CONFIG", "SET", "client-query-buffer-limit", "1gb"),
        ("CONFIG", "GET", "client-query-buffer-limit"),
        ("CONFIG", "SET", "client-query-buffer-limit", "1073741824"),
        ("CONFIG", "SET", "client-query-buffer-limit", "x"),
        # CONFIG GET with several names: Redis 7.0 collects matches in a dict, order undefined.
        ("CONFIG", "SET", "hz", "10", "timeout", "0"), PAIRS("CONFIG", "GET", "hz", "timeout"),
        ("CONFIG", "SET", "hz", "10", "hz", "11"), ("CONFIG", "SET", "hz", "10", "nosuch", "1"),
        ("CONFIG", "SET", "hz", "10", "timeout"), ("CONFIG", "GET", "hz"),
        ("CONFIG", "SET", "timeout", "0"),
    ]),
    # client-output-buffer-limit (issue 9): classes, units, partial updates, every error; ends
    # back at Redis 7.0's default (the servers are shared by the session)
    ("config_client_output_buffer_limit", [
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 32mb 16mb 10"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 3 replica 10 20 30"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "NORMAL 1k 2kB 3 Slave 1gb 1G +4"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 normal 4 5 6"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 18446744073709551616 1 1"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal  1 2"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 "),
        ("CONFIG", "SET", "client-output-buffer-limit", ""),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 4"),
        ("CONFIG", "SET", "client-output-buffer-limit", "  normal 5 6 7  "),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal\t1\t2\t3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 foo 1 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal a b c"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal -1 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 -3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1.5 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 1.5"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 x"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 0x10 1 1"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 99999999999999999999"),
        ("CONFIG", "SET", "client-output-buffer-limit", 'normal "1" 2 3'),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "GET", "client-output-buffer-*"),
        ("CONFIG", "SET", "client-output-buffer-limit",
         "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
    ]),
    ("command_count", [SHAPE("COMMAND", "COUNT"), ("COMMAND", "COUNT", "x")]),
    # CLIENT KILL paths whose outcome does not depend on which other connections exist
    ("client_kill", [
        ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "nonsense"),
        ("CLIENT", "KILL", "ID", "abc"), ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "-3"),
        ("CLIENT", "KILL", "ID", "99999999"), ("CLIENT", "KILL", "TYPE", "foo"),
        ("CLIENT", "KILL", "TYPE", "pubsub"), ("CLIENT", "KILL", "TYPE", "master"),
        ("CLIENT", "KILL", "USER", "nobody"), ("CLIENT", "KILL", "SKIPME", "maybe"),
        ("CLIENT", "KILL", "ID", "5", "SKIPME"), ("CLIENT", "KILL", "FOO", "bar"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "LADDR", "6.7.8.9:10"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "no"),
        ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "OFF"), ("CLIENT", "NO-EVICT", "x"),
        ("CLIENT", "NO-EVICT"), ("PING",),
    ]),
    ("multi_exec", [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("PING",), ("ECHO", "x"),
        ("SET", "s", "abc"), ("INCR", "s"), ("HSET", "h", "f", "v"), ("HGETALL", "h"),
        ("DEL", "nokey"), ("EXEC",),
        ("MULTI",), ("EXEC",),
        ("MULTI",), ("FOO",), ("SET", "b", "2"), ("GET",), ("EXEC",), ("GET", "b"),
        ("EXEC",), ("DISCARD",), ("EXEC", "x"), ("MULTI", "x"), ("DISCARD", "x"),
        ("MULTI",), ("DISCARD", "x"), ("SET", "g", "1"), ("EXEC",), ("EXISTS", "g"),
        ("MULTI",), ("MULTI",), ("SET", "c", "3"), ("DISCARD",), ("GET", "c"),
        ("MULTI",), ("WATCH", "a"), ("DISCARD",),
        ("MULTI",), ("EXEC", "x"), ("EXEC",),
        ("MULTI",), ("SET", "e", "1", "EX", "100"), ("TTL", "e"), ("EXPIRE", "e", "50"),
        ("TTL", "e"), ("EXEC",),
        ("MULTI",), ("CLIENT", "SETNAME", "tx"), ("CLIENT", "GETNAME"), ("EXEC",),
        ("MULTI",), ("SET", "f", "1"), ("DISCARD",), ("EXISTS", "f"),
    ]),
    ("client_pause_errors", [
        ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "1.5"), ("CLIENT", "PAUSE", "10", "FOO"), ("CLIENT", "PAUSE", "0"),
        ("CLIENT", "PAUSE", "0", "write"), ("CLIENT", "PAUSE", "0", "ALL"),
        ("CLIENT", "UNPAUSE"), ("CLIENT", "UNPAUSE", "x"), ("PING",),
    ]),
    ("reset_args", [("RESET", "x"), ("RESET", "a", "b")]),
    ("lazyfree_configs", [
        ("CONFIG", "GET", "lazyfree-lazy-eviction"), ("CONFIG", "GET", "lazyfree-lazy-expire"),
        ("CONFIG", "GET", "lazyfree-lazy-server-del"), ("CONFIG", "GET", "lazyfree-lazy-user-flush"),
        ("CONFIG", "SET", "lazyfree-lazy-user-del", "yes"),
        ("CONFIG", "GET", "lazyfree-lazy-user-del"), ("SET", "k", "v"), ("DEL", "k"),
        ("CONFIG", "SET", "lazyfree-lazy-user-flush", "maybe"),
        ("CONFIG", "SET", "lazyfree-lazy-user-del", "no", "lazyfree-lazy-user-flush", "yes"),
        ("FLUSHALL",), ("CONFIG", "SET", "lazyfree-lazy-user-flush", "no"),
    ]),
    # DEBUG and MODULE LOAD refused as with Redis's default enable-debug-command /
    # enable-module-command "no" (immutable); MODULE LIST / HELP work
    ("debug_module", [
        ("DEBUG", "SLEEP", "0"), ("DEBUG", "HELP"), ("DEBUG",), ("MODULE", "HELP"),
        ("MODULE", "LIST"), ("MODULE", "LIST", "x"), ("MODULE", "LOAD", "/x.so"),
        ("MODULE", "LOADEX", "/x.so"), ("MODULE", "UNLOAD", "foo"), ("MODULE", "UNLOAD"),
        ("MODULE", "FOO"), ("MODULE",), ("CONFIG", "GET", "enable-debug-command"),
        ("CONFIG", "GET", "enable-module-command"),
        ("CONFIG", "SET", "enable-debug-command", "yes"), ("COMMAND", "INFO", "debug"),
        ("MULTI",), ("DEBUG", "SLEEP", "0"), ("EXEC",),
    ]),
    # synod is no Redis Cluster: CLUSTER answers as a Redis server without cluster support
    ("cluster_disabled", [
        ("CLUSTER", "HELP"), ("CLUSTER", "INFO"), ("CLUSTER", "KEYSLOT", "a"), ("CLUSTER", "FOO"),
        ("CLUSTER",), ("CLUSTER", "INFO", "x"), ("cluster", "nodes"), ("CLUSTER", "SLOTS"),
        ("MULTI",), ("CLUSTER", "SHARDS"), ("EXEC",), ("COMMAND", "GETKEYS", "CLUSTER", "INFO"),
    ]),
    # Redis's immutable settings (refused even to their own value), a hidden one (shown only
    # when named), maxmemory-clients (a size or a percentage), and a failing pair that leaves the
    # pairs before it unset (all or nothing).
    ("config_compat", [
        ("CONFIG", "GET", "daemonize"), ("CONFIG", "SET", "daemonize", "yes"),
        ("CONFIG", "SET", "daemonize", "no"), ("CONFIG", "GET", "replicaof"),
        ("CONFIG", "SET", "replicaof", ""), ("CONFIG", "SET", "slaveof", "no one"),
        PAIRS("CONFIG", "GET", "*of"), PAIRS("CONFIG", "GET", "replicaof", "slaveof", "*of"),
        ("CONFIG", "GET", "key-load-delay"), ("CONFIG", "GET", "KEY-LOAD-DELAY"),
        ("CONFIG", "GET", "key-load-*"), ("CONFIG", "SET", "key-load-delay", "0"),
        ("CONFIG", "GET", "maxmemory-clients"), ("CONFIG", "SET", "maxmemory-clients", "200%"),
        ("CONFIG", "SET", "maxmemory-clients", "-5%"), ("CONFIG", "SET", "maxmemory-clients", "abc"),
        ("CONFIG", "SET", "maxmemory-clients", "%"), ("CONFIG", "SET", "maxmemory-clients", "10%"),
        ("CONFIG", "GET", "maxmemory-clients"), ("CONFIG", "SET", "maxmemory-clients", "100%"),
        ("CONFIG", "GET", "maxmemory-clients"), ("CONFIG", "SET", "maxmemory-clients", "1mb"),
        ("CONFIG", "GET", "maxmemory-clients"), ("CONFIG", "SET", "maxmemory-clients", "0"),
        ("CONFIG", "SET", "maxmemory", "10000002"),
        ("CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%",
         "client-query-buffer-limit", "invalid"),
        ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET", "maxmemory-clients"),
        ("CONFIG", "GET", "client-query-buffer-limit"), ("CONFIG", "SET", "maxmemory", "0"),
        ("CONFIG", "SET", "databases", "16"), SHAPE("CONFIG", "GET", "port"),
        SHAPE("CONFIG", "GET", "bind"),
    ]),
    # MEMORY PURGE and the arity errors (DOCTOR's text depends on the reference's memory
    # history: a peak makes Redis report it)
    ("memory_misc", [("MEMORY", "PURGE"), ("MEMORY", "PURGE", "x"), ("MEMORY", "DOCTOR", "x"),
                     ("MEMORY", "MALLOC-STATS", "x"), ("MEMORY", "NOSUCH")]),
    # SAVE and SHUTDOWN may not be queued (Redis's no_multi): the transaction is aborted
    ("persistence", [
        ("SET", "p", "1"), ("SAVE",), ("SAVE", "x"), ("BGSAVE", "x"), ("BGSAVE", "SCHEDULE", "x"),
        ("BGREWRITEAOF", "x"), ("LASTSAVE", "x"), ("ROLE",), ("ROLE", "x"),
        ("SHUTDOWN", "ABORT"), ("SHUTDOWN", "NOSAVE", "SAVE"), ("SHUTDOWN", "ABORT", "NOW"),
        ("SHUTDOWN", "FOO"), ("SHUTDOWN", "ABORT", "ABORT"), ("SHUTDOWN", "NOW", "FOO"),
        ("MULTI",), ("SET", "foo", "bar"), ("SAVE",), ("EXEC",), ("GET", "foo"),
        ("MULTI",), ("SET", "foo", "bar"), ("SHUTDOWN",), ("EXEC",), ("GET", "foo"),
        ("MULTI",), ("SAVE", "x"), ("EXEC",),
        ("MULTI",), ("LASTSAVE", "x"), ("ROLE",), ("EXEC",),
    ]),
]

XFAIL = {}


@pytest.mark.parametrize("steps", cases(CASES, XFAIL))
def test_server_table(pair, steps, request):
    pair.run(steps)
    pair.assert_clean(request.node.name)


# --- arity errors -----------------------------------------------------------------------------

ISSUE2_COMMANDS = (
    "GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY "
    "INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT "
    "PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN RENAME RENAMENX TOUCH HSET HGET "
    "HMSET HMGET HGETALL HDEL HEXISTS HLEN HKEYS HVALS HINCRBY HINCRBYFLOAT HSETNX HSTRLEN HSCAN "
    "PING ECHO SELECT DBSIZE FLUSHDB FLUSHALL TIME HELLO CLIENT COMMAND CONFIG INFO QUIT RESET "
    "MULTI EXEC DISCARD"
).split()
SUBCOMMANDS = "CLIENT|ID CLIENT|SETNAME CLIENT|GETNAME CLIENT|LIST CLIENT|INFO CLIENT|KILL " \
              "CLIENT|NO-EVICT CLIENT|PAUSE CLIENT|UNPAUSE CONFIG|GET CONFIG|SET " \
              "COMMAND|COUNT COMMAND|DOCS COMMAND|INFO".split()


def _arity(conn, name):
    tree = parse(conn.call("COMMAND", "INFO", name))
    return tree[1][0][1][1][1]


def _wrong_counts(arity):
    """Argument counts (command name included) that violate Redis's arity rule."""
    if arity > 0:
        return [n for n in (arity - 1, arity + 1, arity + 3) if n >= 1]
    need = -arity
    return [n for n in range(1, need)]


@pytest.mark.parametrize("name", ISSUE2_COMMANDS + SUBCOMMANDS)
def test_arity_errors(pair, name):
    """Every wrong argument count gets Redis's exact error (text uses the lowercase name)."""
    arity = _arity(pair.ref, name)
    parts = name.split("|")
    counts = _wrong_counts(arity)
    if name in ("QUIT",):
        counts = []  # QUIT closes the connection whatever its arguments; covered below
    for n in counts:
        args = list(parts) + ["arg%d" % i for i in range(max(0, n - len(parts)))]
        if len(args) != n:
            continue  # a subcommand cannot have fewer arguments than its own name
        pair.step(tuple(args))
        if parts[0] not in ("HELLO", "CLIENT", "CONFIG", "COMMAND", "SELECT"):
            pair.step(tuple([parts[0].lower().capitalize()] + args[1:]))
    pair.assert_clean(name)


# --- structure-only replies ------------------------------------------------------------------

def test_time_shape_and_value(pair):
    """TIME: two bulk strings of digits; the clocks of both servers agree within 5 s."""
    ref, tgt = pair.both("TIME")
    for raw in (ref, tgt):
        t = parse(raw)
        assert t[0] == "array" and len(t[1]) == 2, show(raw)
        assert all(x[0] == "bulk" and x[1].isdigit() for x in t[1]), show(raw)
        assert 0 <= int(t[1][1][1]) < 1000000, show(raw)
    assert abs(int(parse(ref)[1][0][1]) - int(parse(tgt)[1][0][1])) <= 5
    assert abs(int(parse(tgt)[1][0][1]) - time.time()) <= 5


def test_command_count_positive(pair):
    ref, tgt = pair.both("COMMAND", "COUNT")
    assert parse(tgt)[0] == "int" and parse(tgt)[1] > 0, show(tgt)


def test_config_get_maxclients_shape(pair):
    """CONFIG GET maxclients: [name, decimal] (RESP2) — value is each server's own setting."""
    for proto in ("2", "3"):
        pair.both("HELLO", proto)
        ref, tgt = pair.both("CONFIG", "GET", "maxclients")
        for raw in (ref, tgt):
            t = parse(raw)
            if proto == "2":
                assert t[0] == "array" and len(t[1]) == 2, show(raw)
                name, val = t[1]
            else:
                assert t[0] == "map" and len(t[1]) == 1, show(raw)
                name, val = t[1][0]
            assert name == ("bulk", b"maxclients") and val[0] == "bulk" and val[1].isdigit(), show(raw)
        pair.step(U("CONFIG", "GET", "nosuch*"))
    pair.assert_clean()


def _client_fields(raw):
    t = parse(raw)
    assert t[0] in ("bulk", "verbatim"), show(raw)
    body = t[1][4:] if t[0] == "verbatim" else t[1]
    lines = body.decode().split("\n")
    assert lines[-1] == "", "CLIENT LIST/INFO must end with a newline: %s" % show(raw)
    out = []
    for line in lines[:-1]:
        fields = dict(f.split("=", 1) for f in line.split(" "))
        out.append(fields)
    return t[0], out


# Fields every client tool reads from CLIENT LIST / INFO; the rest (memory counters, buffer
# sizes, event flags) describe Redis internals and may legitimately differ.
CLIENT_FIELDS = {"id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "cmd", "resp"}


@pytest.mark.parametrize("proto", ["2", "3"])
def test_client_list_info_structure(pair, proto):
    pair.step(SHAPE("HELLO", proto))
    pair.step(("CLIENT", "SETNAME", "me"))
    for sub in ("LIST", "INFO"):
        ref, tgt = pair.both("CLIENT", sub)
        rtype, rlines = _client_fields(ref)
        ttype, tlines = _client_fields(tgt)
        assert ttype == rtype, "CLIENT %s reply type: redis %s, synod %s" % (sub, rtype, ttype)
        mine = [f for f in tlines if f.get("name") == "me"]
        assert len(mine) == 1, "own connection not listed once: %s" % show(tgt)
        missing = CLIENT_FIELDS - set(mine[0])
        assert not missing, "CLIENT %s lacks fields %s: %s" % (sub, sorted(missing), show(tgt))
        assert mine[0]["db"] == "0" and mine[0]["resp"] == proto
        assert mine[0]["cmd"] == "client|" + sub.lower(), mine[0]["cmd"]
        assert mine[0]["laddr"].endswith(":%d" % pair.tgt.addr[1])
        if sub == "INFO":
            assert len(tlines) == 1
    ref, tgt = pair.both("CLIENT", "ID")
    assert parse(tgt)[0] == "int"
    pair.assert_clean()


@pytest.mark.parametrize("proto", ["2", "3"])
def test_info_structure(pair, proto):
    """INFO's contents are server-specific; its framing and the keyspace line are not."""
    pair.step(SHAPE("HELLO", proto))
    pair.step(("MSET", "a", "1", "b", "2"))
    pair.step(("SET", "c", "3", "EX", "1000"))
    for args in (("INFO",), ("INFO", "keyspace"), ("INFO", "server"), ("INFO", "nosuchsection")):
        ref, tgt = pair.both(*args)
        rt, tt = parse(ref), parse(tgt)
        assert tt[0] == rt[0], "%r reply type: redis %s synod %s" % (args, show(ref), show(tgt))
        body = tt[1][4:] if tt[0] == "verbatim" else tt[1]
        for line in body.decode().split("\r\n"):
            assert line == "" or line.startswith("# ") or ":" in line, (args, line)
        if args == ("INFO", "keyspace"):
            # avg_ttl is an estimate: compare the line up to it.
            want = [x for x in rt[1].split(b"\r\n") if x.startswith(b"db0:")][0].split(b",avg_ttl")[0]
            got = [x for x in body.split(b"\r\n") if x.startswith(b"db0:")]
            assert got and got[0].startswith(want), (show(ref), show(tgt))
        if args == ("INFO", "nosuchsection"):
            assert body == (rt[1][4:] if rt[0] == "verbatim" else rt[1]), (show(ref), show(tgt))
    pair.assert_clean()


# Fields of Redis 7.0's INFO that synod does not print, and why (docs/server.md "INFO").
INFO_NOT_PRINTED = {
    # fork copy-on-write and save progress: snapshots here are the log's, not RDB files
    "current_cow_peak", "current_cow_size", "current_cow_size_age", "current_fork_perc",
    "current_save_keys_processed", "current_save_keys_total", "rdb_last_bgsave_time_sec",
    "rdb_current_bgsave_time_sec", "rdb_saves", "rdb_last_cow_size", "rdb_last_load_keys_expired",
    "rdb_last_load_keys_loaded", "aof_last_rewrite_time_sec", "aof_current_rewrite_time_sec",
    "aof_rewrites_consecutive_failures", "aof_last_cow_size",
    # not measured: the expiry cycle's own bookkeeping, client eviction, I/O counters
    "expired_stale_perc", "expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds",
    "total_eviction_exceeded_time", "current_eviction_exceeded_time", "dump_payload_sanitizations",
    "total_reads_processed", "total_writes_processed", "reply_buffer_shrinks",
    "reply_buffer_expands", "clients_in_timeout_table",
    # one Lua VM for scripts and functions: their bodies' own overhead is not counted apart
    "used_memory_scripts_eval", "used_memory_functions", "used_memory_scripts",
    "used_memory_scripts_human",
}


def _info_fields(raw):
    """[(section, [field, ...]), ...] in order."""
    t = parse(raw)
    body = (t[1][4:] if t[0] == "verbatim" else t[1]).decode()
    out = []
    for line in body.split("\r\n"):
        if line.startswith("# "):
            out.append((line[2:], []))
        elif ":" in line:
            out[-1][1].append(line.split(":", 1)[0])
    return out


@pytest.mark.parametrize("which", [(), ("everything",), ("server", "clients", "replication")])
def test_info_prints_redis_fields(pair, which):
    """INFO has Redis 7.0's sections in Redis's order (synod adds # Consensus) and every field
    Redis prints, in Redis's order, but for INFO_NOT_PRINTED: monitoring tools and client
    libraries read them."""
    ref, tgt = pair.both("INFO", *which)
    rinfo, tinfo = _info_fields(ref), dict(_info_fields(tgt))
    tsec = [x for x, _ in _info_fields(tgt)]
    assert [x for x in tsec if x in dict(rinfo)] == [x for x, _ in rinfo], (rinfo, tsec)
    for sec, rfields in rinfo:
        if sec in ("Commandstats", "Errorstats", "Latencystats", "Keyspace"):
            continue  # one line per command / error / database seen: the history differs
        tfields = tinfo[sec]
        missing = [f for f in rfields if f not in tfields and f not in INFO_NOT_PRINTED]
        assert not missing, "INFO %s lacks %s" % (sec, missing)
        common = [f for f in tfields if f in rfields]
        assert common == [f for f in rfields if f in tfields], "INFO %s: field order" % sec


def test_info_values_follow_the_server(pair):
    """The added fields carry this server's values, not placeholders."""
    t = parse(pair.tgt.call("INFO", "server"))
    body = (t[1][4:] if t[0] == "verbatim" else t[1]).decode()
    f = dict(ln.split(":", 1) for ln in body.split("\r\n") if ":" in ln)
    assert len(f["run_id"]) == 40 and int(f["run_id"], 16) > 0
    assert f["configured_hz"] == f["hz"]
    assert abs(int(f["server_time_usec"]) / 1e6 - time.time()) < 60
    assert f["executable"].startswith("/")
    for _ in range(300):
        pair.tgt.call("PING")
    time.sleep(0.5)
    t = parse(pair.tgt.call("INFO", "stats"))
    body = (t[1][4:] if t[0] == "verbatim" else t[1]).decode()
    st = dict(ln.split(":", 1) for ln in body.split("\r\n") if ":" in ln)
    assert int(st["instantaneous_ops_per_sec"]) > 0, st["instantaneous_ops_per_sec"]
    assert float(st["instantaneous_input_kbps"]) > 0


def test_command_info_and_docs(pair):
    """COMMAND INFO: name, arity, key positions exact, flags as a set (clients route on these)."""
    for name in ISSUE2_COMMANDS:
        ref, tgt = pair.both("COMMAND", "INFO", name.lower())
        r, t = parse(ref), parse(tgt)
        assert t[0] == "array" and len(t[1]) == 1 and t[1][0][0] == "array", (name, show(tgt))
        rr, tt = r[1][0][1], t[1][0][1]
        if tt[0:2] != rr[0:2] or tt[3:6] != rr[3:6]:
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name.lower()), ref, tgt,
                                            "name, arity or key positions differ"))
        elif sorted(map(repr, tt[2][1])) != sorted(map(repr, rr[2][1])):
            pair.mismatches.append(Mismatch(("COMMAND", "INFO", name.lower()), ref, tgt,
                                            "flags differ (compared as a set)"))
    pair.step(("COMMAND", "INFO", "nosuchcommand"))
    pair.step(("COMMAND", "INFO", "nosuchcommand", "nosuch2"))
    for proto in ("2", "3"):
        pair.both("HELLO", proto)
        ref, tgt = pair.both("COMMAND", "DOCS", "get")
        r, t = parse(ref), parse(tgt)
        assert t[0] == r[0], (show(ref), show(tgt))
        items = t[1] if t[0] == "map" else [(t[1][i], t[1][i + 1]) for i in range(0, len(t[1]), 2)]
        assert len(items) == 1 and items[0][0] == ("bulk", b"get"), show(tgt)
        doc = items[0][1]
        keys = [k for k, _ in doc[1]] if doc[0] == "map" else doc[1][0::2]
        assert {("bulk", b"summary"), ("bulk", b"since"), ("bulk", b"group")} <= set(keys), show(tgt)
    pair.assert_clean()


# --- HELLO and RESP3 --------------------------------------------------------------------------

# Values that are per server: server name, version, connection id.
HELLO_FREE = {b"server", b"version", b"id"}


def _hello_fields(raw):
    t = parse(raw)
    if t[0] == "map":
        return t[0], [(k, v) for k, v in t[1]]
    assert t[0] == "array", show(raw)
    return t[0], [(t[1][i], t[1][i + 1]) for i in range(0, len(t[1]), 2)]


def _check_hello(pair, *args):
    ref, tgt = pair.both(*args)
    if parse(ref)[0] == "error":
        pair.step(("ECHO", "after-error"))
        if ref != tgt:
            pair.mismatches.append(Mismatch(args, ref, tgt))
        return
    rk, rf = _hello_fields(ref)
    tk, tf = _hello_fields(tgt)
    ok = rk == tk and [k for k, _ in rf] == [k for k, _ in tf]
    if ok:
        for (k, rv), (_, tv) in zip(rf, tf):
            if k[1] in HELLO_FREE:
                ok = ok and rv[0] == tv[0]
            else:
                ok = ok and rv == tv
    if not ok:
        pair.mismatches.append(Mismatch(args, ref, tgt, "HELLO: keys, order, proto/mode/role/modules"))


def test_hello_versions(pair):
    _check_hello(pair, "HELLO")
    _check_hello(pair, "HELLO", "2")
    _check_hello(pair, "HELLO", "3")
    _check_hello(pair, "HELLO")
    _check_hello(pair, "HELLO", "4")
    _check_hello(pair, "HELLO", "1")
    _check_hello(pair, "HELLO", "0")
    _check_hello(pair, "HELLO", "abc")
    _check_hello(pair, "HELLO", "-1")
    _check_hello(pair, "HELLO", "3", "FOO")
    _check_hello(pair, "HELLO", "3", "SETNAME")
    _check_hello(pair, "HELLO", "3", "SETNAME", "hello-name")
    pair.step(("CLIENT", "GETNAME"))
    _check_hello(pair, "HELLO", "2", "SETNAME", "bad name")
    pair.step(("CLIENT", "GETNAME"))
    _check_hello(pair, "HELLO", "2")
    pair.step(("GET", "missing"))  # back in RESP2: $-1
    # The reference has no password: the default user accepts any password.
    _check_hello(pair, "HELLO", "3", "AUTH", "default", "anything")
    _check_hello(pair, "HELLO", "2", "AUTH", "nosuchuser", "pw")
    _check_hello(pair, "HELLO", "3", "AUTH", "default")
    _check_hello(pair, "HELLO", "AUTH", "default", "pw")
    pair.assert_clean()


MB = 1024 * 1024


@pytest.fixture
def bulk_limit_1mb(pair):
    """proto-max-bulk-len lowered to 1 MB on both servers for one test, then restored."""
    for conn in (pair.ref, pair.tgt):
        r = conn.call("CONFIG", "SET", "proto-max-bulk-len", str(MB))
        assert r == b"+OK\r\n", r
    yield
    for conn in (pair.ref, pair.tgt):
        conn.call("CONFIG", "SET", "proto-max-bulk-len", "536870912")


def test_proto_max_bulk_len_strings(pair, bulk_limit_1mb):
    """The string size limit follows proto-max-bulk-len (Redis's checkStringLength)."""
    pair.step(("CONFIG", "GET", "proto-max-bulk-len"))
    pair.step(("SET", "k", "abc"))
    pair.step(("SETRANGE", "k", str(MB - 1), "x"))
    pair.step(("SETRANGE", "k", str(MB), "x"))
    pair.step(("SETRANGE", "k", str(MB - 1), "xy"))
    pair.step(("STRLEN", "k"))
    pair.step(("APPEND", "k", "z"))
    pair.step(("SETRANGE", "k", "0", "q"))
    pair.step(("SET", "big", "x" * (MB - 1)))
    pair.step(("APPEND", "big", "y"))
    pair.step(("APPEND", "big", "y"))
    pair.step(("SET", "atlimit", "x" * MB))
    pair.step(("STRLEN", "atlimit"))
    pair.assert_clean()


def test_proto_max_bulk_len_request(pair, connect, bulk_limit_1mb):
    """A request bulk longer than proto-max-bulk-len is a protocol error; the connection closes."""
    out = []
    for side in ("ref", "tgt"):
        c = connect(side)
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$%d\r\n" % (MB + 1))
        out.append(c.drain(quiet_s=0.5, max_s=3.0))
    assert out[1] == out[0], "redis %r / synod %r" % tuple(out)
    assert out[0][1] is True


RESP3_STEPS = [
    ("GET", "missing"), ("HGET", "missing", "f"), ("GETDEL", "missing"), ("GETEX", "missing"),
    ("SET", "k", "v", "GET"), ("SET", "k", "v", "NX", "GET"), ("SET", "new", "v", "XX"),
    ("SET", "new", "v", "NX"), ("SETNX", "k", "v"),
    ("MGET", "k", "missing"), ("HSET", "h", "a", "1", "b", "2"), ("HMGET", "h", "a", "zz"),
    ("HGETALL", "missing"), ("HKEYS", "missing"),
    ("HINCRBYFLOAT", "h", "a", "1.5"), ("INCRBYFLOAT", "f", "10.5"), ("INCRBYFLOAT", "f", "3.0e3"),
    ("HEXISTS", "h", "a"), ("EXISTS", "k"), ("TTL", "k"), ("EXPIRE", "k", "1000", "NX"),
    ("PERSIST", "k"), ("TYPE", "h"), ("SCAN", "0", "MATCH", "nomatch"), ("HSCAN", "h", "0", "MATCH", "a"),
    ("KEYS", "k"), ("CONFIG", "GET", "nosuch"), ("CLIENT", "GETNAME"), ("ECHO", "x"), ("PING",),
    ("PING", "x"), ("INCR", "n"), ("RENAMENX", "k", "h"), ("COMMAND", "INFO", "nosuchcmd"),
    ("GETRANGE", "k", "0", "-1"), ("FOO",), ("GET",), ("HGET", "k", "f"),
]


def test_resp3_encodings(pair):
    """After HELLO 3: nulls are `_`, maps are `%`, and (Redis 7.0) INCRBYFLOAT / HINCRBYFLOAT
    still reply bulk strings, not doubles: none of issue 2's commands replies a RESP3 double."""
    _check_hello(pair, "HELLO", "3")
    for s in RESP3_STEPS:
        pair.step(s)
    pair.step(PAIRS("HGETALL", "h"))
    pair.step(U("HVALS", "h"))
    pair.step(SHAPE("CONFIG", "GET", "maxclients"))
    pair.step(SHAPE("TIME",))
    pair.step(SHAPE("HELLO",))
    pair.step(SHAPE("CLIENT", "INFO"))
    pair.step(SHAPE("INFO", "keyspace"))
    pair.step(("RESET",))
    pair.step(("GET", "missing"))  # RESET returns to RESP2
    pair.step(("CLIENT", "GETNAME"))
    pair.assert_clean()


def test_reset(pair):
    pair.step(("CLIENT", "SETNAME", "x"))
    pair.step(SHAPE("HELLO", "3"))
    pair.step(("RESET",))
    pair.step(("CLIENT", "GETNAME"))
    pair.step(("GET", "nokey"))
    pair.step(("SELECT", "0"))
    pair.assert_clean()


def test_quit_closes(pair):
    ref, tgt = pair.both("QUIT")
    assert tgt == ref == b"+OK\r\n", (show(ref), show(tgt))
    for conn in (pair.ref, pair.tgt):
        data, closed = conn.drain(quiet_s=2.0, max_s=3.0)
        assert data == b"" and closed, (conn.addr, data, closed)


def test_quit_with_args_and_pipeline(connect):
    """QUIT in a pipeline: replies before it, +OK, then close; later commands are not run."""
    results = []
    for side in ("ref", "tgt"):
        c = connect(side)
        c.send_raw(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nQUIT\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$1\r\n1\r\n")
        results.append(c.drain(quiet_s=2.0, max_s=3.0))
    assert results[1] == results[0], "redis %r / synod %r" % tuple(results)
    check = [connect(s).call("EXISTS", "q") for s in ("ref", "tgt")]
    assert check[1] == check[0], check


def test_config_set_port_in_use(pair):
    """CONFIG SET port to a port something else holds: Redis's apply error, and nothing the
    command named changes (the pairs before it included); the server still answers. A cluster
    member, whose port is set at startup, gives the same error for a port in use."""
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = str(busy.getsockname()[1])
    try:
        pair.run([
            ("CONFIG", "SET", "maxmemory", "10000001", "port", port, "client-query-buffer-limit",
             "10mb"),
            ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET", "client-query-buffer-limit"),
            ("PING",),
        ])
        pair.assert_clean("config_set_port_in_use")
    finally:
        busy.close()


def test_command_table_matches_redis(pair):
    """COMMAND: for every command both servers know (and every subcommand), name, arity, flags,
    legacy key positions, ACL categories and tips as Redis 7.0 gives them (flags, categories
    and tips compared as sets; key specs: test_compat_getkeys.py)."""
    ref, tgt = pair.both("COMMAND")

    def table(raw):
        out = {}

        def walk(entry):
            f = entry[1]
            name = f[0][1].decode()
            words = lambda t: sorted(x[1] for x in t[1])  # noqa: E731
            out[name] = (f[1][1], words(f[2]), f[3][1], f[4][1], f[5][1], words(f[6]), words(f[7]))
            for sub in f[9][1]:
                walk(sub)

        for e in parse(raw)[1]:
            walk(e)
        return out

    r, t = table(ref), table(tgt)
    common = sorted(set(r) & set(t))
    assert len(common) > 200, len(common)
    bad = [(n, r[n], t[n]) for n in common if r[n] != t[n]]
    for n, a, b in bad:
        print("MISMATCH", n, "\n  redis:", a, "\n  synod:", b)
    assert not bad, [n for n, _, _ in bad]


# names whose value is each server's own (its address, its directory, its durability: the
# reference runs without persistence), not a setting under test
CONFIG_OWN = {"port", "bind", "dir", "appendfsync"}


def test_config_values_as_redis(pair):
    """CONFIG GET of every parameter synod lists that Redis 7.0 has as well: the same value. The
    servers get the same CONFIG SETs, so this holds for the defaults and for what tests set."""
    t = parse(pair.tgt.call("CONFIG", "GET", "*"))
    names = [x[1].decode() for x in t[1][0::2]]
    assert len(names) > 40, names
    bad = []
    for name in names:
        ref, tgt = pair.both("CONFIG", "GET", name)
        if name in CONFIG_OWN or ref == b"*0\r\n":
            continue
        if ref != tgt:
            bad.append("%s: redis %s synod %s" % (name, show(ref), show(tgt)))
    assert not bad, "\n".join(bad)


def test_client_kill_filters_spare_others(pair, connect):
    """CLIENT KILL with a filter no client matches kills nobody, other connections included."""
    others = [connect("ref"), connect("tgt")]
    for o in others:
        assert o.call("PING") == b"+PONG\r\n"
    pair.run([("CLIENT", "KILL", "LADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
              ("CLIENT", "KILL", "ID", "999999"), ("CLIENT", "KILL", "USER", "default", "TYPE", "pubsub"),
              ("CLIENT", "KILL", "LADDR", "1.2.3.4:5", "SKIPME", "no")])
    pair.assert_clean()
    for o in others:
        assert o.call("PING") == b"+PONG\r\n"
        o.close()


def test_replconf_of_an_rdb_only_transfer(pair):
    """What redis-cli --rdb and RDB tools send before SYNC / PSYNC (REPLCONF rdb-only,
    rdb-filter-only, capa, listening-port): replies and errors as Redis's."""
    pair.run([
        ("REPLCONF", "rdb-only", "2"), ("REPLCONF", "rdb-only", "x"), ("REPLCONF", "rdb-only", "1"),
        ("REPLCONF", "rdb-only", "0"), ("REPLCONF", "rdb-filter-only", "foo"),
        ("REPLCONF", "rdb-filter-only", "functions"), ("REPLCONF", "rdb-filter-only", ""),
        ("REPLCONF", "capa", "eof"), ("REPLCONF", "listening-port", "1"),
        ("REPLCONF", "capa", "eof", "capa", "psync2"), ("REPLCONF", "listening-port", "1", "capa", "eof"),
    ])  # fmt: skip
    pair.assert_clean("replconf_rdb_only")


def test_replication_stream_commands_are_refused_clearly(pair):
    """REPLICAOF host port, SYNC, PSYNC, REPLCONF and FAILOVER would start or serve Redis
    replication, which synod does not have: an error that says what to use instead (Redis
    itself would connect, stream an RDB, or fail for want of replicas). What a replica says
    of itself (REPLCONF listening-port, capa) is taken, and SYNC after REPLCONF rdb-only 1
    sends an RDB file (redis-cli --rdb: test_tools.py)."""
    assert pair.tgt.call("REPLCONF", "listening-port", "1") == b"+OK\r\n"
    for args in [("REPLICAOF", "127.0.0.1", "6379"), ("SYNC",), ("PSYNC", "?", "-1"),
                 ("REPLCONF", "getack", "*"), ("FAILOVER",)]:
        t = parse(pair.tgt.call(*args))
        assert t[0] == "error", (args, t)
        msg = t[1].decode()
        assert "synod" in msg and ("Raft" in msg or "TRANSFER-LEADER" in msg), (args, msg)
    assert pair.tgt.call("LOLWUT") == b"$17\r\nRedis ver. 7.0.0\n\r\n"


# a container command, and one of its subcommands with a wrong argument count (None: none)
CONTAINERS = [
    ("PUBSUB", ("NUMPAT", "x")), ("CLIENT", ("SETNAME",)), ("OBJECT", ("ENCODING",)),
    ("CONFIG", ("GET",)), ("XINFO", ("STREAM",)), ("SCRIPT", ("EXISTS",)),
    ("FUNCTION", ("DELETE",)), ("MEMORY", ("USAGE",)), ("XGROUP", ("CREATE", "k")),
    ("COMMAND", None), ("ACL", ("SETUSER",)), ("LATENCY", None), ("SLOWLOG", ("GET", "1", "2")),
    ("CLUSTER", None), ("MODULE", None),
]  # fmt: skip


@pytest.mark.parametrize("name,bad", CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_queue_time_checks_in_multi(pair, name, bad):
    """Inside MULTI, an unknown subcommand and a subcommand's wrong argument count are refused
    as the command is queued (Redis's processCommand), and EXEC then aborts (was: queued, and
    the error came from EXEC's array)."""
    for sub in [("FOO",), bad]:
        if sub is None:
            continue
        pair.run([("MULTI",), (name,) + sub, ("PING",), ("EXEC",), (name,) + sub])
    pair.assert_clean(name)
