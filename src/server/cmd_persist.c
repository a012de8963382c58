/* cmd_persist.c — SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, SHUTDOWN and ROLE as Redis 7.0 answers
 * them, for this node (docs/cluster.md "Snapshots").
 *
 * A write is durable once acknowledged (it is in a majority's WAL), so these are never needed
 * for durability: SAVE / BGSAVE take a snapshot of this node's applied state (the snapshot a
 * restart loads and a lagging follower is sent) and compact its WAL behind it; BGREWRITEAOF is
 * the same compaction (synod has no AOF: its WAL plays that role). SHUTDOWN stops this node as
 * SIGTERM does (SAVE: after a snapshot); the cluster goes on without it. ROLE answers as INFO
 * replication does: every node serves clients as a master (followers relay writes), and Raft's
 * replicas are not Redis replicas (INFO consensus shows them). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/server.h"
#include "util/strconv.h"
#include "util/log.h"

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

void srv_cmd_save(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    char err[512];
    if (node_save(s->node, err, sizeof(err)) < 0)
        srv_reply_errorf(c, "ERR %s", err);
    else
        srv_reply_status(c, "OK");
}

static void bgsave(server *s, client *c, bool schedule, const char *started, const char *scheduled)
{
    char err[512];
    int rc = node_bgsave(s->node, schedule, err, sizeof(err));
    if (rc < 0)
        srv_reply_errorf(c, "ERR %s", err);
    else if (rc == 0)
        srv_reply_status(c, started);
    else if (schedule)
        srv_reply_status(c, scheduled);
    else
        srv_reply_error(c, "ERR Background save already in progress");
}

void srv_cmd_bgsave(server *s, client *c, int argc, const data_arg *argv)
{
    bool schedule = false;
    if (argc > 1) {
        if (argc == 2 && arg_is(&argv[1], "schedule")) {
            schedule = true;
        } else {
            srv_reply_error(c, "ERR syntax error");
            return;
        }
    }
    bgsave(s, c, schedule, "Background saving started", "Background saving scheduled");
}

void srv_cmd_bgrewriteaof(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    bgsave(s, c, true, "Background append only file rewriting started",
           "Background append only file rewriting scheduled");
}

void srv_cmd_lastsave(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    srv_reply_int(c, node_lastsave(s->node));
}

void srv_cmd_shutdown(server *s, client *c, int argc, const data_arg *argv)
{
    bool nosave = false, save = false, abort_ = false, other = false;
    for (int i = 1; i < argc; i++) {
        if (arg_is(&argv[i], "nosave")) {
            nosave = true;
        } else if (arg_is(&argv[i], "save")) {
            save = true;
        } else if (arg_is(&argv[i], "now") || arg_is(&argv[i], "force")) {
            other = true; /* nothing to wait for (no replicas to catch up), nothing to force */
        } else if (arg_is(&argv[i], "abort")) {
            abort_ = true;
        } else {
            srv_reply_error(c, "ERR syntax error");
            return;
        }
    }
    if ((abort_ && (nosave || save || other)) || (nosave && save)) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    if (abort_) { /* a shutdown here is never left in progress */
        srv_reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    if (save) {
        char err[512];
        if (node_save(s->node, err, sizeof(err)) < 0) {
            syn_log(SYN_LOG_WARN, "SHUTDOWN SAVE: snapshot failed: %s", err);
            srv_reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
            return;
        }
    }
    syn_log(SYN_LOG_WARN, "SHUTDOWN from client %s: stopping", c->addr);
    net_loop_stop(s->loop); /* no reply: the connection closes, as Redis's */
}

void srv_cmd_role(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_array(c, 3);
    srv_reply_cstr(c, "master");
    srv_reply_int(c, 0);
    srv_reply_array(c, 0);
}

/* Redis replication and Redis Cluster commands. A synod node is never a Redis replica (every
 * member is a Raft voter and ROLE says master): REPLICAOF / SLAVEOF NO ONE is +OK (there is
 * nothing to stop), anything that would start or serve a Redis replication stream (REPLICAOF
 * host port, SYNC, PSYNC, REPLCONF) or a replica failover (FAILOVER) is refused with what to do
 * instead; ASKING answers as a Redis with cluster support disabled. */
void srv_cmd_replicaof(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc;
    if (arg_is(&argv[1], "no") && arg_is(&argv[2], "one")) {
        srv_reply_status(c, "OK");
        return;
    }
    long long port;
    if (!syn_string2ll(argv[2].ptr, argv[2].len, &port) || port < 0 || port > 65535) {
        srv_reply_error(c, "ERR Invalid master port");
        return;
    }
    srv_reply_error(c, "ERR synod nodes do not replicate from a Redis master: every member of a "
                       "cluster is a Raft voter (SYNOD MEMBER ADD adds a node)");
}

void srv_cmd_failover(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    if (argc == 2 && arg_is(&argv[1], "abort")) {
        srv_reply_error(c, "ERR No failover in progress.");
        return;
    }
    srv_reply_error(c, "ERR FAILOVER is not supported by synod: use SYNOD TRANSFER-LEADER "
                       "[node-id] on the leader");
}

/* SYNC after REPLCONF rdb-only 1 (redis-cli --rdb, --functions-rdb): this node's data as one
 * Redis RDB file (data/rdb.c), sent as SYNC's bulk payload, then the connection closes, as
 * Redis's rdb-only transfer (PSYNC: +FULLRESYNC <run id> 0 first, then the same). The file is
 * the applied state at this moment, which on a follower has passed the ReadIndex gate (node.c
 * reads_replicated: every write acknowledged before is in), built by a forked writer
 * (rdb_xfer.c) while the node goes on serving. A replica's SYNC / PSYNC (no rdb-only) is
 * refused: synod has no Redis replication stream. */
static void rdb_transfer(server *s, client *c)
{
    if (srv_rdb_xfer_start(s, c) < 0) {
        int e = errno;
        syn_log(SYN_LOG_WARN, "RDB transfer to client id=%llu: fork: %s", (unsigned long long)c->id,
                strerror(e));
        srv_reply_errorf(c, "ERR cannot start the RDB transfer: fork: %s", strerror(e));
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    }
}

void srv_cmd_sync(server *s, client *c, int argc, const data_arg *argv)
{
    if (arg_is(&argv[0], "replconf") && argc == 3 && arg_is(&argv[1], "rdb-only")) {
        long long v;
        if (!syn_string2ll(argv[2].ptr, argv[2].len, &v)) {
            srv_reply_error(c, "ERR value is not an integer or out of range");
            return;
        }
        if (v < 0 || v > 1) {
            srv_reply_error(c, "ERR value is out of range, value must between 0 and 1");
            return;
        }
        c->rdb_only = v == 1;
        srv_reply_status(c, "OK");
        return;
    }
    if (arg_is(&argv[0], "replconf") && argc == 3 && arg_is(&argv[1], "rdb-filter-only")) {
        if (argv[2].len && !arg_is(&argv[2], "functions")) {
            srv_reply_errorf(c, "ERR Unsupported rdb-filter-only option: %.*s",
                             (int)(argv[2].len > 64 ? 64 : argv[2].len), argv[2].ptr);
            return;
        }
        c->rdb_functions_only = argv[2].len != 0;
        srv_reply_status(c, "OK");
        return;
    }
    if (arg_is(&argv[0], "replconf") && argc >= 3 && argc % 2 == 1) {
        /* what a replica says of itself (option value pairs): only capa eof changes anything
         * (redis-cli --rdb's file may then come EOF-marked, built as it is sent: rdb_xfer.c) */
        bool known = true, eof = false;
        for (int i = 1; i < argc; i += 2) {
            known &= arg_is(&argv[i], "capa") || arg_is(&argv[i], "listening-port") ||
                     arg_is(&argv[i], "ip-address");
            eof |= arg_is(&argv[i], "capa") && arg_is(&argv[i + 1], "eof");
        }
        if (known) {
            c->rdb_capa_eof |= eof;
            srv_reply_status(c, "OK");
            return;
        }
    }
    if (arg_is(&argv[0], "sync") && c->rdb_only) {
        rdb_transfer(s, c);
        return;
    }
    if (arg_is(&argv[0], "psync") && c->rdb_only) { /* a full resync, nothing after the file */
        char line[80];
        snprintf(line, sizeof(line), "FULLRESYNC %s 0", s->run_id);
        srv_reply_status(c, line);
        rdb_transfer(s, c);
        return;
    }
    srv_reply_error(c, "ERR synod has no Redis replication stream (SYNC, PSYNC, REPLCONF): its "
                       "replicas are Raft members; BGSAVE writes a snapshot of this node; "
                       "redis-cli --rdb (REPLCONF rdb-only 1, then SYNC) gets an RDB file");
}

void srv_cmd_asking(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_error(c, "ERR This instance has cluster support disabled");
}

/* LOLWUT [VERSION v]: Redis draws art for versions 5 and 6; synod has none and answers every
 * version with the line Redis ends with. */
void srv_cmd_lolwut(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    long long v;
    if (argc >= 3 && arg_is(&argv[1], "version") && !syn_string2ll(argv[2].ptr, argv[2].len, &v)) {
        srv_reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    static const char line[] = "Redis ver. " SRV_REDIS_VERSION "\n";
    srv_reply_verbatim(c, line, sizeof(line) - 1);
}

/* DEBUG and MODULE as Redis 7.0 answers them with enable-debug-command and
 * enable-module-command at their default, "no". With enable-debug-command yes (or local, from a
 * loopback client) DEBUG has SLEEP and HELP: a node held on purpose, for tests of what a long
 * command does to the cluster. synod loads no module: MODULE LIST (no modules) and MODULE HELP
 * work as in Redis. */
static const char debug_refused[] =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you "
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";
static const char module_refused[] =
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";

static int debug_allowed(const server *s, const client *c)
{
    return s->cfg.enable_debug_command == 1 ||
           (s->cfg.enable_debug_command == 2 && srv_addr_is_loopback(c->addr));
}

void srv_cmd_debug(server *s, client *c, int argc, const data_arg *argv)
{
    if (!debug_allowed(s, c)) {
        srv_reply_error(c, debug_refused);
        return;
    }
    if (argc == 2 && arg_is(&argv[1], "help")) {
        static const char *const help[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Prints this help.",
            NULL,
        };
        srv_reply_help(c, help);
        return;
    }
    if (argc == 3 && arg_is(&argv[1], "sleep")) {
        /* as Redis reads it (strtod: what is not a number is 0 s; below 0 s, no sleep) */
        char buf[64];
        size_t n = argv[2].len < sizeof(buf) ? argv[2].len : sizeof(buf) - 1;
        memcpy(buf, argv[2].ptr, n);
        buf[n] = '\0';
        double sec = strtod(buf, NULL);
        /* the whole node is held, as Redis's: no client, no peer message, no timer */
        if (sec > 0) {
            if (sec > 1e9) sec = 1e9;
            struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
        srv_reply_status(c, "OK");
        return;
    }
    srv_reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "DEBUG HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr);
}

int srv_cmd_protected_refused(const server *s, client *c, int argc, const data_arg *argv)
{
    if (arg_is(&argv[0], "debug") && !debug_allowed(s, c)) {
        srv_reply_error(c, debug_refused);
        return 1;
    }
    if (arg_is(&argv[0], "module") && argc >= 2 &&
        (arg_is(&argv[1], "load") || arg_is(&argv[1], "loadex") || arg_is(&argv[1], "unload"))) {
        srv_reply_error(c, module_refused);
        return 1;
    }
    return 0;
}

void srv_cmd_module_list(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_array(c, 0);
}

void srv_cmd_module_load(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_error(c, module_refused);
}

void srv_cmd_module_help(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    static const char *const help[] = {
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and "
        "optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    srv_reply_help(c, help);
}
