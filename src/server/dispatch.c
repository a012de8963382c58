/* dispatch.c — the server command table, command dispatch and the reply helpers.
 *
 * Data commands (strings, keys, hashes, DBSIZE, FLUSHDB, ...) come from the data layer's table
 * (data_cmd_lookup); server commands (connection, introspection, configuration) are described
 * once in srv_cmds below: name, arity, flags, handler, subcommands, docs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/assert.h"
#include "util/strconv.h"

typedef struct srv_cmd {
    const char *name;  /* lower case; "client|setname" style full name for subcommands */
    int arity;         /* argc including the name; negative: at least -arity */
    const char *flags; /* COMMAND's flags, space-separated */
    const char *acl;   /* ACL categories, space-separated (without '@') */
    srv_cmd_fn fn;     /* NULL for a container that needs a subcommand */
    const struct srv_cmd *subs;
    size_t n_subs;
    const char *group;
    const char *summary;
    const char *since;
} srv_cmd;

#define SUBS(a) a, sizeof(a) / sizeof(a[0])
#define NOSUBS  NULL, 0

static const srv_cmd client_subs[] = {
    {"client|id", 2, "noscript loading stale", "slow connection", srv_cmd_client_id, NOSUBS,
     "connection", "Returns the client ID for the current connection", "5.0.0"},
    {"client|setname", 3, "noscript loading stale", "slow connection", srv_cmd_client_setname,
     NOSUBS, "connection", "Set the current connection name", "2.6.9"},
    {"client|getname", 2, "noscript loading stale", "slow connection", srv_cmd_client_getname,
     NOSUBS, "connection", "Get the current connection name", "2.6.9"},
    {"client|list", -2, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_list, NOSUBS, "connection", "Get the list of client connections", "2.4.0"},
    {"client|info", 2, "noscript loading stale", "slow connection", srv_cmd_client_info, NOSUBS,
     "connection", "Returns information about the current client connection.", "6.2.0"},
    {"client|kill", -3, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_kill, NOSUBS, "connection", "Kill the connection of a client", "2.4.0"},
    {"client|pause", -3, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_pause, NOSUBS, "connection",
     "Stop processing commands from clients for some time", "2.9.50"},
    {"client|unpause", 2, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_unpause, NOSUBS, "connection", "Resume processing of clients that were paused",
     "6.2.0"},
    {"client|unblock", -3, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_unblock, NOSUBS, "connection",
     "Unblock a client blocked in a blocking command from a different connection", "5.0.0"},
    {"client|no-evict", 3, "admin noscript loading stale", "admin slow dangerous connection",
     srv_cmd_client_no_evict, NOSUBS, "connection",
     "Set client eviction mode for the current connection", "7.0.0"},
    {"client|tracking", -3, "noscript loading stale", "slow connection", srv_cmd_client_tracking,
     NOSUBS, "connection", "Enable or disable server assisted client side caching support",
     "6.0.0"},
    {"client|caching", 3, "noscript loading stale", "slow connection", srv_cmd_client_caching,
     NOSUBS, "connection", "Instruct the server about tracking or not keys in the next request",
     "6.0.0"},
    {"client|getredir", 2, "noscript loading stale", "slow connection", srv_cmd_client_getredir,
     NOSUBS, "connection", "Get tracking notifications redirection client ID if any", "6.0.0"},
    {"client|trackinginfo", 2, "noscript loading stale", "slow connection",
     srv_cmd_client_trackinginfo, NOSUBS, "connection",
     "Return information about server assisted client side caching for the current connection",
     "6.2.0"},
    {"client|reply", 3, "noscript loading stale", "slow connection", srv_cmd_client_reply, NOSUBS,
     "connection", "Instruct the server whether to reply to commands", "3.2.0"},
    {"client|help", 2, "loading stale", "slow connection", srv_cmd_client_help, NOSUBS,
     "connection", "Show helpful text about the different subcommands", "5.0.0"},
};

static const srv_cmd command_subs[] = {
    {"command|count", 2, "loading stale", "slow connection", srv_cmd_command_count, NOSUBS,
     "server", "Get total number of Redis commands", "2.8.13"},
    {"command|docs", -2, "loading stale", "slow connection", srv_cmd_command_docs, NOSUBS, "server",
     "Get array of specific Redis command documentation", "7.0.0"},
    {"command|info", -2, "loading stale", "slow connection", srv_cmd_command_info, NOSUBS, "server",
     "Get array of specific Redis command details, or all when no argument is given.", "2.8.13"},
    {"command|list", -2, "loading stale", "slow connection", srv_cmd_command_list, NOSUBS, "server",
     "Get an array of Redis command names", "7.0.0"},
    {"command|getkeys", -4, "loading stale", "slow connection", srv_cmd_command_getkeys, NOSUBS,
     "server", "Extract keys given a full Redis command", "2.8.13"},
    {"command|help", 2, "loading stale", "slow connection", srv_cmd_command_help, NOSUBS, "server",
     "Show helpful text about the different subcommands", "5.0.0"},
};

/* Scripting (src/script): every entry runs srv_cmd_scripting; the node decides first whether a
 * call is a write (logged, run on every replica as it is applied) or a read (dispatch.c runs it
 * only for local reads, HELP and errors). */
#define SCRIPTING(name, arity, flags, summary, since)                                              \
    {                                                                                              \
        name, arity, flags, "slow scripting", srv_cmd_scripting, NOSUBS, "scripting", summary,     \
            since                                                                                  \
    }
static const srv_cmd function_subs[] = {
    SCRIPTING("function|load", -3, "write denyoom noscript",
              "Create a function with the given arguments (name, code, description)", "7.0.0"),
    SCRIPTING("function|delete", 3, "write noscript", "Delete a function by name", "7.0.0"),
    SCRIPTING("function|flush", -2, "write noscript", "Deleting all functions", "7.0.0"),
    SCRIPTING("function|list", -2, "noscript", "List information about all the functions", "7.0.0"),
    SCRIPTING("function|dump", 2, "noscript", "Dump all functions into a serialized binary payload",
              "7.0.0"),
    SCRIPTING("function|restore", -3, "write denyoom noscript",
              "Restore all the functions on the given payload", "7.0.0"),
    SCRIPTING(
        "function|stats", 2, "noscript allow_busy",
        "Return information about the function currently running (name, description, duration)",
        "7.0.0"),
    SCRIPTING("function|kill", 2, "noscript allow_busy",
              "Kill the function currently in execution.", "7.0.0"),
    SCRIPTING("function|help", 2, "loading stale",
              "Show helpful text about the different subcommands", "7.0.0"),
};

static const srv_cmd script_subs[] = {
    SCRIPTING("script|load", 3, "noscript stale",
              "Load the specified Lua script into the script cache.", "2.6.0"),
    SCRIPTING("script|exists", -3, "noscript", "Check existence of scripts in the script cache.",
              "2.6.0"),
    SCRIPTING("script|flush", -2, "noscript", "Remove all the scripts from the script cache.",
              "2.6.0"),
    SCRIPTING("script|kill", 2, "noscript allow_busy", "Kill the script currently in execution.",
              "2.6.0"),
    SCRIPTING("script|debug", 3, "noscript", "Set the debug mode for executed scripts.", "3.2.0"),
    SCRIPTING("script|help", 2, "loading stale",
              "Show helpful text about the different subcommands", "5.0.0"),
};

static const srv_cmd config_subs[] = {
    {"config|get", -3, "admin noscript loading stale", "admin slow dangerous", srv_cmd_config_get,
     NOSUBS, "server", "Get the values of configuration parameters", "2.0.0"},
    {"config|set", -4, "admin noscript loading stale", "admin slow dangerous", srv_cmd_config_set,
     NOSUBS, "server", "Set configuration parameters to the given values", "2.0.0"},
    {"config|resetstat", 2, "admin noscript loading stale", "admin slow dangerous",
     srv_cmd_config_resetstat, NOSUBS, "server", "Reset the stats returned by INFO", "2.0.0"},
    {"config|rewrite", 2, "admin noscript loading stale", "admin slow dangerous",
     srv_cmd_config_rewrite, NOSUBS, "server",
     "Rewrite the configuration file with the in memory configuration", "2.8.0"},
    {"config|help", 2, "loading stale", "slow", srv_cmd_config_help, NOSUBS, "server",
     "Show helpful text about the different subcommands", "5.0.0"},
};

#define ACL_ADMIN "admin noscript loading stale", "admin slow dangerous"
static const srv_cmd acl_subs[] = {
    {"acl|cat", -2, "noscript loading stale", "slow", srv_cmd_acl, NOSUBS, "server",
     "List the ACL categories or the commands inside a category", "6.0.0"},
    {"acl|deluser", -3, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Remove the specified ACL users and the associated rules", "6.0.0"},
    {"acl|dryrun", -4, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Returns whether the user can execute the given command without executing the command.",
     "7.0.0"},
    {"acl|genpass", -2, "noscript loading stale", "slow", srv_cmd_acl, NOSUBS, "server",
     "Generate a pseudorandom secure password to use for ACL users", "6.0.0"},
    {"acl|getuser", 3, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Get the rules for a specific ACL user", "6.0.0"},
    {"acl|help", 2, "loading stale", "slow", srv_cmd_acl, NOSUBS, "server",
     "Show helpful text about the different subcommands", "6.0.0"},
    {"acl|list", 2, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "List the current ACL rules in ACL config file format", "6.0.0"},
    {"acl|load", 2, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Reload the ACLs from the configured ACL file", "6.0.0"},
    {"acl|log", -2, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "List latest events denied because of ACLs in place", "6.0.0"},
    {"acl|save", 2, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Save the current ACL rules in the configured ACL file", "6.0.0"},
    {"acl|setuser", -3, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "Modify or create the rules for a specific ACL user", "6.0.0"},
    {"acl|users", 2, ACL_ADMIN, srv_cmd_acl, NOSUBS, "server",
     "List the username of all the configured ACL rules", "6.0.0"},
    {"acl|whoami", 2, "noscript loading stale", "slow", srv_cmd_acl, NOSUBS, "server",
     "Return the name of the user associated to the current connection", "6.0.0"},
};

static const srv_cmd pubsub_subs[] = {
    {"pubsub|channels", -2, "pubsub loading stale", "pubsub slow", srv_cmd_pubsub_channels, NOSUBS,
     "pubsub", "List active channels", "2.8.0"},
    {"pubsub|numsub", -2, "pubsub loading stale", "pubsub slow", srv_cmd_pubsub_numsub, NOSUBS,
     "pubsub", "Get the count of subscribers for channels", "2.8.0"},
    {"pubsub|numpat", 2, "pubsub loading stale", "pubsub slow", srv_cmd_pubsub_numpat, NOSUBS,
     "pubsub", "Get the count of unique patterns pattern subscriptions", "2.8.0"},
    {"pubsub|shardchannels", -2, "pubsub loading stale", "pubsub slow",
     srv_cmd_pubsub_shardchannels, NOSUBS, "pubsub", "List active shard channels", "7.0.0"},
    {"pubsub|shardnumsub", -2, "pubsub loading stale", "pubsub slow", srv_cmd_pubsub_shardnumsub,
     NOSUBS, "pubsub", "Get the count of subscribers for shard channels", "7.0.0"},
    {"pubsub|help", 2, "loading stale", "slow", srv_cmd_pubsub_help, NOSUBS, "pubsub",
     "Show helpful text about the different subcommands", "6.2.0"},
};

/* SLOWLOG and LATENCY (slowlog.c, latency.c): this node's diagnostics, as Redis 7.0 */
#define DIAG_ADMIN "admin noscript loading stale", "admin slow dangerous"
static const srv_cmd slowlog_subs[] = {
    {"slowlog|get", -2, "admin loading stale", "admin slow dangerous", srv_cmd_slowlog, NOSUBS,
     "server", "Get the slow log's entries", "2.2.12"},
    {"slowlog|len", 2, "admin loading stale", "admin slow dangerous", srv_cmd_slowlog, NOSUBS,
     "server", "Get the slow log's length", "2.2.12"},
    {"slowlog|reset", 2, "admin loading stale", "admin slow dangerous", srv_cmd_slowlog, NOSUBS,
     "server", "Clear all entries from the slow log", "2.2.12"},
    {"slowlog|help", 2, "loading stale", "slow", srv_cmd_slowlog, NOSUBS, "server",
     "Show helpful text about the different subcommands", "6.2.0"},
};

static const srv_cmd latency_subs[] = {
    {"latency|doctor", 2, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Return a human readable latency analysis report.", "2.8.13"},
    {"latency|graph", 3, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Return a latency graph for the event.", "2.8.13"},
    {"latency|histogram", -2, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0"},
    {"latency|history", 3, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Return timestamp-latency samples for the event.", "2.8.13"},
    {"latency|latest", 2, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Return the latest latency samples for all events.", "2.8.13"},
    {"latency|reset", -2, DIAG_ADMIN, srv_cmd_latency, NOSUBS, "server",
     "Reset latency data for one or more events.", "2.8.13"},
    {"latency|help", 2, "loading stale", "slow", srv_cmd_latency, NOSUBS, "server",
     "Show helpful text about the different subcommands.", "2.8.13"},
};

/* The table of server commands. */
/* MULTI/EXEC/DISCARD reach dispatch only inside a transaction's EXEC (multi.c never queues
 * them), so this is not expected to run. */
static void srv_cmd_multi_late(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_error(c, "ERR Command not allowed inside a transaction");
}

/* UNWATCH inside MULTI: queued, and a no-op when EXEC runs (the watches are gone by then) */
static void srv_cmd_unwatch_late(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_status(c, "OK");
}

/* WAIT reaches dispatch only inside an applied EXEC (node_route answers it otherwise): as in
 * Redis, it does not block there */
static void srv_cmd_wait_late(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    srv_reply_int(c, node_wait_count(s->node, &c->nc));
}

static const srv_cmd srv_cmds[] = {
    {"ping", -1, "fast", "fast connection", srv_cmd_ping, NOSUBS, "connection", "Ping the server",
     "1.0.0"},
    {"echo", 2, "loading stale fast", "fast connection", srv_cmd_echo, NOSUBS, "connection",
     "Echo the given string", "1.0.0"},
    {"hello", -1, "noscript loading stale fast no_auth allow_busy", "fast connection",
     srv_cmd_hello, NOSUBS, "connection", "Handshake with Redis", "6.0.0"},
    {"auth", -2, "noscript loading stale fast no_auth allow_busy", "fast connection", srv_cmd_auth,
     NOSUBS, "connection", "Authenticate to the server", "1.0.0"},
    {"select", 2, "loading stale fast", "fast connection", srv_cmd_select, NOSUBS, "connection",
     "Change the selected database for the current connection", "1.0.0"},
    {"quit", -1, "noscript loading stale fast no_auth allow_busy", "fast connection", srv_cmd_quit,
     NOSUBS, "connection", "Close the connection", "1.0.0"},
    {"reset", 1, "noscript loading stale fast no_auth allow_busy", "fast connection", srv_cmd_reset,
     NOSUBS, "connection", "Reset the connection", "6.2.0"},
    {"subscribe", -2, "pubsub noscript loading stale", "pubsub slow", srv_cmd_subscribe, NOSUBS,
     "pubsub", "Listen for messages published to the given channels", "2.0.0"},
    {"unsubscribe", -1, "pubsub noscript loading stale", "pubsub slow", srv_cmd_unsubscribe, NOSUBS,
     "pubsub", "Stop listening for messages posted to the given channels", "2.0.0"},
    {"psubscribe", -2, "pubsub noscript loading stale", "pubsub slow", srv_cmd_psubscribe, NOSUBS,
     "pubsub", "Listen for messages published to channels matching the given patterns", "2.0.0"},
    {"punsubscribe", -1, "pubsub noscript loading stale", "pubsub slow", srv_cmd_punsubscribe,
     NOSUBS, "pubsub", "Stop listening for messages posted to channels matching the given patterns",
     "2.0.0"},
    {"ssubscribe", -2, "pubsub noscript loading stale", "pubsub slow", srv_cmd_ssubscribe, NOSUBS,
     "pubsub", "Listen for messages published to the given shard channels", "7.0.0"},
    {"sunsubscribe", -1, "pubsub noscript loading stale", "pubsub slow", srv_cmd_sunsubscribe,
     NOSUBS, "pubsub", "Stop listening for messages posted to the given shard channels", "7.0.0"},
    {"pubsub", -2, "", "slow", NULL, SUBS(pubsub_subs), "pubsub",
     "A container for Pub/Sub commands", "2.8.0"},
    {"acl", -2, "", "slow", NULL, SUBS(acl_subs), "server",
     "A container for Access List Control commands", "6.0.0"},
    {"client", -2, "", "slow", NULL, SUBS(client_subs), "connection",
     "A container for client connection commands", "2.4.0"},
    {"command", -1, "loading stale", "slow connection", srv_cmd_command, SUBS(command_subs),
     "server", "Get array of Redis command details", "2.8.13"},
    {"config", -2, "", "slow", NULL, SUBS(config_subs), "server",
     "A container for server configuration commands", "2.0.0"},
    {"slowlog", -2, "", "slow", NULL, SUBS(slowlog_subs), "server",
     "A container for slow log commands", "2.2.12"},
    {"latency", -2, "", "slow", NULL, SUBS(latency_subs), "server",
     "A container for latency diagnostics commands", "2.8.13"},
    {"function", -2, "", "slow", NULL, SUBS(function_subs), "scripting",
     "A container for function commands", "7.0.0"},
    {"script", -2, "", "slow", NULL, SUBS(script_subs), "scripting",
     "A container for Lua scripts management commands", "2.6.0"},
    SCRIPTING("eval", -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
              "Execute a Lua script server side", "2.6.0"),
    SCRIPTING("evalsha", -3,
              "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
              "Execute a Lua script server side", "2.6.0"),
    SCRIPTING("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a read-only Lua script server side", "7.0.0"),
    SCRIPTING("evalsha_ro", -3,
              "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a read-only Lua script server side", "7.0.0"),
    SCRIPTING("fcall", -3,
              "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
              "Invoke a function", "7.0.0"),
    SCRIPTING("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Invoke a read-only function", "7.0.0"),
    {"monitor", 1, "admin noscript loading stale", "admin slow dangerous", srv_cmd_monitor, NOSUBS,
     "server", "Listen for all requests received by the server in real time", "1.0.0"},
    {"info", -1, "loading stale", "slow dangerous", srv_cmd_info, NOSUBS, "server",
     "Get information and statistics about the server", "1.0.0"},
    {"time", 1, "loading stale fast", "fast", srv_cmd_time, NOSUBS, "server",
     "Return the current server time", "2.6.0"},
    {"save", 1, "admin noscript no_async_loading no_multi", "admin slow dangerous", srv_cmd_save,
     NOSUBS, "server", "Synchronously save the dataset to disk", "1.0.0"},
    {"bgsave", -1, "admin noscript no_async_loading", "admin slow dangerous", srv_cmd_bgsave,
     NOSUBS, "server", "Asynchronously save the dataset to disk", "1.0.0"},
    {"bgrewriteaof", 1, "admin noscript no_async_loading", "admin slow dangerous",
     srv_cmd_bgrewriteaof, NOSUBS, "server", "Asynchronously rewrite the append-only file",
     "1.0.0"},
    {"lastsave", 1, "loading stale fast", "admin fast dangerous", srv_cmd_lastsave, NOSUBS,
     "server", "Get the UNIX time stamp of the last successful save to disk", "1.0.0"},
    {"shutdown", -1, "admin noscript loading stale no_multi allow_busy", "admin slow dangerous",
     srv_cmd_shutdown, NOSUBS, "server",
     "Synchronously save the dataset to disk and then shut down the server", "1.0.0"},
    {"role", 1, "noscript loading stale fast", "admin fast dangerous", srv_cmd_role, NOSUBS,
     "server", "Return the role of the instance in the context of replication", "2.8.12"},
    /* run by multi.c before dispatch; listed for COMMAND */
    {"multi", 1, "noscript loading stale fast allow_busy", "fast transaction", srv_cmd_multi_late,
     NOSUBS, "transactions", "Mark the start of a transaction block", "1.2.0"},
    {"exec", 1, "noscript loading stale skip_slowlog", "slow transaction", srv_cmd_multi_late,
     NOSUBS, "transactions", "Execute all commands issued after MULTI", "1.2.0"},
    {"discard", 1, "noscript loading stale fast allow_busy", "fast transaction", srv_cmd_multi_late,
     NOSUBS, "transactions", "Discard all commands issued after MULTI", "2.0.0"},
    /* run by the node (node_watch.c) before dispatch; UNWATCH queued in MULTI lands here */
    {"watch", -2, "noscript loading stale fast allow_busy", "fast transaction",
     srv_cmd_unwatch_late, NOSUBS, "transactions",
     "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0"},
    {"unwatch", 1, "noscript loading stale fast allow_busy", "fast transaction",
     srv_cmd_unwatch_late, NOSUBS, "transactions", "Forget about all watched keys", "2.2.0"},
    {"wait", 3, "noscript", "slow connection", srv_cmd_wait_late, NOSUBS, "generic",
     "Wait for the synchronous replication of all the write commands sent in the context of "
     "the current connection",
     "3.0.0"},
};
#define N_SRV_CMDS (sizeof(srv_cmds) / sizeof(srv_cmds[0]))

int64_t srv_now_ms(void)
{
    return net_wall_ms();
}

/* --- replies ----------------------------------------------------------------------------- */

void srv_reply_status(client *c, const char *s)
{
    SRV_REPLY(c, resp_add_status(&c->out, s, strlen(s)));
}

void srv_reply_error(client *c, const char *s)
{
    SRV_REPLY(c, resp_add_error(&c->out, s, strlen(s)));
}

void srv_reply_errorf(client *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(buf)) n = (int)sizeof(buf) - 1;
    /* an error reply is one line: newlines from arguments become spaces, as in Redis */
    for (int i = 0; i < n; i++)
        if (buf[i] == '\r' || buf[i] == '\n') buf[i] = ' ';
    SRV_REPLY(c, resp_add_error(&c->out, buf, (size_t)n));
}

void srv_reply_int(client *c, long long v)
{
    SRV_REPLY(c, resp_add_int(&c->out, v));
}

void srv_reply_bulk(client *c, const char *p, size_t len)
{
    SRV_REPLY(c, resp_add_bulk(&c->out, p, len));
}

void srv_reply_cstr(client *c, const char *s)
{
    SRV_REPLY(c, resp_add_bulk(&c->out, s, strlen(s)));
}

void srv_reply_null(client *c)
{
    SRV_REPLY(c, resp_add_null(&c->out, c->proto));
}

void srv_reply_array(client *c, size_t n)
{
    SRV_REPLY(c, resp_add_array(&c->out, n));
}

void srv_reply_map(client *c, size_t n_pairs)
{
    SRV_REPLY(c, resp_add_map(&c->out, n_pairs, c->proto));
}

void srv_reply_set(client *c, size_t n)
{
    SRV_REPLY(c, resp_add_set(&c->out, n, c->proto));
}

void srv_reply_verbatim(client *c, const char *p, size_t len)
{
    SRV_REPLY(c, resp_add_verbatim(&c->out, p, len, c->proto));
}

/* data_reply_ops onto a client's output, in the client's protocol */
static void op_status(void *ctx, const char *s, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_status(&c->out, s, len));
}
static void op_error(void *ctx, const char *s, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_error(&c->out, s, len));
}
static void op_integer(void *ctx, long long v)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_int(&c->out, v));
}
static void op_bulk(void *ctx, const char *p, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_bulk(&c->out, p, len));
}
static void op_null(void *ctx)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_null(&c->out, c->proto));
}
static void op_null_array(void *ctx)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_null_array(&c->out, c->proto));
}
static void op_array(void *ctx, size_t n)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_array(&c->out, n));
}
static void op_map(void *ctx, size_t n)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_map(&c->out, n, c->proto));
}
static void op_set(void *ctx, size_t n)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_set(&c->out, n, c->proto));
}
static void op_dbl(void *ctx, double v)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_double(&c->out, v, c->proto));
}

static int op_is_resp3(void *ctx)
{
    return ((client *)ctx)->proto == 3;
}
static void op_dbl_str(void *ctx, const char *s, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_add_double_text(&c->out, s, len, c->proto));
}

const data_reply_ops srv_client_reply_ops = {
    op_status, op_error, op_integer, op_bulk, op_null,     op_null_array,
    op_array,  op_map,   op_set,     op_dbl,  op_is_resp3, op_dbl_str,
};

/* --- dispatch ---------------------------------------------------------------------------- */

static const srv_cmd *find_in(const srv_cmd *t, size_t n, const data_arg *name, int sub)
{
    for (size_t i = 0; i < n; i++) {
        const char *nm = t[i].name;
        if (sub) nm = strchr(nm, '|') + 1;
        if (strlen(nm) == name->len && strncasecmp(nm, name->ptr, name->len) == 0) return &t[i];
    }
    return NULL;
}

/* "%.128s" of an argument as Redis prints it: stops at a NUL byte, at most max bytes. */
static int argn(const data_arg *a, int max)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t n = nul ? (size_t)(nul - a->ptr) : a->len;
    return (int)(n > (size_t)max ? (size_t)max : n);
}

static void srv_reply_unknown(client *c, int argc, const data_arg *argv)
{
    char args[256];
    size_t len = 0;
    args[0] = '\0';
    for (int i = 1; i < argc && len < 128; i++) {
        int room = 128 - (int)len;
        int n = argn(&argv[i], room);
        int w = snprintf(args + len, sizeof(args) - len, "'%.*s' ", n, argv[i].ptr);
        if (w < 0) break;
        len += (size_t)w;
        if (len >= sizeof(args)) len = sizeof(args) - 1;
    }
    srv_reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s",
                     argn(&argv[0], 128), argv[0].ptr, args);
}

typedef struct {
    server *s;
    int64_t now_ms;
} expire_ctx;

static void expire_seen(void *ctx, const char *key, size_t len)
{
    expire_ctx *x = ctx;
    if (data_expire_key(x->s->ds, key, len, x->now_ms)) {
        x->s->stats.expired_keys++;
        x->s->stats.applied_writes++;
    }
}

static void exec_data(server *s, client *c, const data_cmd *dc, int argc, const data_arg *argv)
{
    const data_cmd_info *info = data_cmd_describe(dc);
    c->last_cmd = info->name;
    int64_t now_ms = srv_now_ms();
    if (info->flags & DATA_CMD_WRITE) {
        /* Execute exactly what the replicated server will log: the deterministic form with
         * absolute times (DESIGN.md Principle 2). In issue 4 this is where the rewritten
         * command is proposed instead, and the reply waits for it to be applied. */
        data_arg rw[64];
        char scratch[256];
        int n = 0;
        if (argc + 8 <= (int)(sizeof(rw) / sizeof(rw[0])))
            n = data_rewrite(s->ds, dc, argc, argv, now_ms, rw, (int)(sizeof(rw) / sizeof(rw[0])),
                             scratch, sizeof(scratch));
        if (n > 0) {
            /* the rewrite may change the command itself (PEXPIRE -> PEXPIREAT) */
            const data_cmd *rdc = data_cmd_lookup(rw[0].ptr, rw[0].len);
            SYN_ASSERT(rdc != NULL);
            dc = rdc;
            argc = n;
            argv = rw;
        }
        if (data_exec(s->ds, dc, argc, argv, now_ms, &srv_client_reply_ops, c))
            s->stats.applied_writes++;
    } else {
        data_exec(s->ds, dc, argc, argv, now_ms, &srv_client_reply_ops, c);
    }
    /* Lazy expiry as Redis does it: a key the command found expired goes away now (the read
     * itself changed nothing). data_expire_key deletes only if it is still expired. */
    if (s->node) return; /* replicated: the leader logs expiry decisions (node.c) */
    expire_ctx x = {s, now_ms};
    data_take_expired(s->ds, expire_seen, &x);
}

/* The data layer's container commands and their Redis 7.0 subcommands ("object|encoding"). */
static const char *const data_containers[][8] = {
    {"object", "encoding", "freq", "idletime", "refcount", "help", NULL},
    {"xgroup", "create", "createconsumer", "delconsumer", "destroy", "setid", "help", NULL},
    {"xinfo", "consumers", "groups", "stream", "help", NULL},
    {"memory", "doctor", "malloc-stats", "purge", "stats", "usage", "help", NULL},
};

const char *srv_cmd_stat_name(int argc, const data_arg *argv, int *arity_ok, int *admin, int *arity,
                              char *buf, size_t cap)
{
    *arity_ok = 1;
    *admin = 0;
    *arity = 0;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        *arity_ok = !((info->arity > 0 && info->arity != argc) || argc < -info->arity);
        for (size_t i = 0; i < sizeof(data_containers) / sizeof(data_containers[0]); i++) {
            if (strcmp(info->name, data_containers[i][0]) != 0) continue;
            if (argc < 2) return info->name;
            for (int j = 1; data_containers[i][j]; j++) {
                const char *sub = data_containers[i][j];
                if (argv[1].len == strlen(sub) && strncasecmp(argv[1].ptr, sub, argv[1].len) == 0) {
                    snprintf(buf, cap, "%s|%s", info->name, sub);
                    return buf;
                }
            }
            return NULL; /* unknown subcommand */
        }
        *admin |= SRV_STAT_SIMPLE;
        *arity = info->arity;
        return info->name;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
    if (!cmd) return NULL;
    int simple = cmd->subs == NULL;
    if (cmd->subs && argc >= 2) {
        cmd = find_in(cmd->subs, cmd->n_subs, &argv[1], 1);
        if (!cmd) return NULL; /* Redis charges an unknown subcommand to nothing */
    }
    *arity_ok = !((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity);
    /* MONITOR shows neither admin commands nor QUIT, as Redis */
    if (strstr(cmd->flags, "admin") != NULL || cmd->fn == srv_cmd_quit) *admin |= SRV_STAT_ADMIN;
    if (simple) *admin |= SRV_STAT_SIMPLE;
    *arity = cmd->arity;
    return cmd->name;
}

const char *srv_cmd_fullname(int argc, const data_arg *argv)
{
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        if ((info->arity > 0 && info->arity != argc) || argc < -info->arity) return NULL;
        return info->name;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
    if (!cmd) return NULL;
    if (cmd->subs) {
        if (argc < 2) return NULL;
        cmd = find_in(cmd->subs, cmd->n_subs, &argv[1], 1);
        if (!cmd) return NULL;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) return NULL;
    return cmd->name;
}

int srv_cmd_has_flag(const char *fullname, const char *flag)
{
    const char *bar = strchr(fullname, '|');
    data_arg top = {fullname, bar ? (size_t)(bar - fullname) : strlen(fullname)};
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &top, 0);
    if (cmd && bar && cmd->subs) {
        data_arg sub = {bar + 1, strlen(bar + 1)};
        cmd = find_in(cmd->subs, cmd->n_subs, &sub, 1);
    }
    if (!cmd) return 0;
    size_t n = strlen(flag);
    for (const char *f = strstr(cmd->flags, flag); f; f = strstr(f + 1, flag))
        if ((f == cmd->flags || f[-1] == ' ') && (f[n] == '\0' || f[n] == ' ')) return 1;
    return 0;
}

int srv_cmd_no_multi(const data_arg *name)
{
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, name, 0);
    if (!cmd) return 0;
    const char *f = strstr(cmd->flags, "no_multi");
    return f && (f == cmd->flags || f[-1] == ' ') && (f[8] == '\0' || f[8] == ' ');
}

int srv_cmd_check(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc >= 3 && argv[0].len == 6 && strncasecmp(argv[0].ptr, "acl_as", 6) == 0)
        return srv_cmd_check(s, c, argc - 2, argv + 2); /* a script run as a user (acl.c) */
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        if ((info->arity > 0 && info->arity != argc) || argc < -info->arity) {
            srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", info->name);
            return -1;
        }
        return 0;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
    if (!cmd) {
        srv_reply_unknown(c, argc, argv);
        return -1;
    }
    if (cmd->subs && argc >= 2) {
        const srv_cmd *sub = find_in(cmd->subs, cmd->n_subs, &argv[1], 1);
        if (!sub) return 0; /* the unknown-subcommand error comes from EXEC, as in Redis */
        cmd = sub;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        return -1;
    }
    return 0;
}

static void dispatch_in_db(server *s, client *c, int argc, const data_arg *argv);

/* Runs in the client's database (SELECT), and puts back the one selected before. */
void srv_dispatch(server *s, client *c, int argc, const data_arg *argv)
{
    int prev = data_select(s->ds, c->nc.db);
    dispatch_in_db(s, c, argc, argv);
    if (prev >= 0) data_select(s->ds, prev);
}

static void dispatch_in_db(server *s, client *c, int argc, const data_arg *argv)
{
    SYN_ASSERT(argc > 0);
    if (argc >= 3 && argv[0].len == 6 && strncasecmp(argv[0].ptr, "acl_as", 6) == 0) {
        srv_cmd_scripting(s, c, argc, argv); /* a script run as a user (acl.c) */
        return;
    }
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        exec_data(s, c, dc, argc, argv);
        return;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
    if (!cmd) {
        srv_reply_unknown(c, argc, argv);
        return;
    }
    if (cmd->subs && argc >= 2) {
        const srv_cmd *sub = find_in(cmd->subs, cmd->n_subs, &argv[1], 1);
        if (!sub) {
            char upper[32];
            size_t i;
            for (i = 0; cmd->name[i] && i < sizeof(upper) - 1; i++)
                upper[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ? cmd->name[i] - 32
                                                                             : cmd->name[i]);
            upper[i] = '\0';
            srv_reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", argn(&argv[1], 128),
                             argv[1].ptr, upper);
            return;
        }
        cmd = sub;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    c->last_cmd = cmd->name;
    SYN_ASSERT(cmd->fn != NULL);
    cmd->fn(s, c, argc, argv);
}

/* --- COMMAND ------------------------------------------------------------------------------ */

size_t srv_cmd_count(void)
{
    return N_SRV_CMDS + data_cmd_count();
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static void srv_reply_words(client *c, const char *s, int status, const char *prefix)
{
    srv_reply_set(c, count_words(s));
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        char w[64];
        snprintf(w, sizeof(w), "%s%.*s", prefix, (int)(e - p), p);
        if (status)
            srv_reply_status(c, w);
        else
            srv_reply_cstr(c, w);
        p = e;
    }
}

/* One COMMAND INFO entry (Redis 7: name, arity, flags, first key, last key, step, ACL
 * categories, tips, key specs, subcommands). */
static void srv_reply_srv_info(client *c, const srv_cmd *cmd)
{
    const char *nm = cmd->name;
    srv_reply_array(c, 10);
    srv_reply_cstr(c, nm);
    srv_reply_int(c, cmd->arity);
    srv_reply_words(c, cmd->flags, 1, "");
    srv_reply_int(c, 0);
    srv_reply_int(c, 0);
    srv_reply_int(c, 0);
    srv_reply_words(c, cmd->acl, 1, "@");
    srv_reply_set(c, 0);
    srv_reply_array(c, 0);
    srv_reply_array(c, cmd->n_subs);
    for (size_t i = 0; i < cmd->n_subs; i++)
        srv_reply_srv_info(c, &cmd->subs[i]);
}

/* Data commands whose ACL categories are not what their flags and group make (Redis 7.0's
 * table), and the subcommands of the data containers (which COMMAND does not list apart). */
static const struct {
    const char *name, *acl;
} data_acl_special[] = {
    {"flushall", "keyspace write slow dangerous"},
    {"flushdb", "keyspace write slow dangerous"},
    {"keys", "keyspace read slow dangerous"},
    {"restore", "keyspace write slow dangerous"},
    {"sort", "write set sortedset list slow dangerous"},
    {"sort_ro", "read set sortedset list slow dangerous"},
    {"pfdebug", "write hyperloglog admin slow dangerous"},
    {"pfselftest", "hyperloglog admin slow dangerous"},
    {"publish", "pubsub fast"},
    {"spublish", "pubsub fast"},
    {"xread", "read stream slow blocking"},
    {"xreadgroup", "write stream slow blocking"},
    {"acl_effect", "admin slow dangerous"},
    {"object", "slow"},
    {"object|encoding", "keyspace read slow"},
    {"object|freq", "keyspace read slow"},
    {"object|idletime", "keyspace read slow"},
    {"object|refcount", "keyspace read slow"},
    {"object|help", "keyspace slow"},
    {"xgroup", "slow"},
    {"xgroup|create", "write stream slow"},
    {"xgroup|createconsumer", "write stream slow"},
    {"xgroup|delconsumer", "write stream slow"},
    {"xgroup|destroy", "write stream slow"},
    {"xgroup|setid", "write stream slow"},
    {"xgroup|help", "stream slow"},
    {"xinfo", "slow"},
    {"xinfo|consumers", "read stream slow"},
    {"xinfo|groups", "read stream slow"},
    {"xinfo|stream", "read stream slow"},
    {"xinfo|help", "stream slow"},
    {"memory", "slow"},
    {"memory|usage", "read slow"},
    {"memory|doctor", "slow"},
    {"memory|malloc-stats", "slow"},
    {"memory|purge", "slow"},
    {"memory|stats", "slow"},
    {"memory|help", "slow"},
};

static const char *data_acl_find(const char *name)
{
    for (size_t i = 0; i < sizeof(data_acl_special) / sizeof(data_acl_special[0]); i++)
        if (!strcmp(data_acl_special[i].name, name)) return data_acl_special[i].acl;
    return NULL;
}

/* A data command's ACL categories (COMMAND INFO, COMMAND LIST FILTERBY ACLCAT, ACL). */
static void data_cmd_acl(const data_cmd_info *in, char *acl, size_t cap)
{
    const char *special = data_acl_find(in->name);
    if (special) {
        snprintf(acl, cap, "%s", special);
        return;
    }
    const char *g = in->group;
    if (!strcmp(g, "generic") || !strcmp(g, "server")) g = "keyspace";
    if (!strcmp(g, "sorted-set")) g = "sortedset";
    if (!strcmp(g, "coordination")) g = "";
    snprintf(acl, cap, "%s %s %s%s", (in->flags & DATA_CMD_WRITE) ? "write" : "read", g,
             (in->flags & DATA_CMD_FAST) ? "fast" : "slow",
             (in->flags & DATA_CMD_BLOCKING) ? " blocking" : "");
}

static void srv_reply_data_info(client *c, const data_cmd_info *in)
{
    srv_reply_array(c, 10);
    srv_reply_cstr(c, in->name);
    srv_reply_int(c, in->arity);
    size_t nf = 0;
    if (in->flags & DATA_CMD_WRITE) nf++;
    if (in->flags & DATA_CMD_READONLY) nf++;
    if (in->flags & DATA_CMD_DENYOOM) nf++;
    if (in->flags & DATA_CMD_FAST) nf++;
    if (in->flags & DATA_CMD_MOVABLEKEYS) nf++;
    if (in->flags & DATA_CMD_BLOCKING) nf++;
    srv_reply_set(c, nf);
    if (in->flags & DATA_CMD_WRITE) srv_reply_status(c, "write");
    if (in->flags & DATA_CMD_READONLY) srv_reply_status(c, "readonly");
    if (in->flags & DATA_CMD_DENYOOM) srv_reply_status(c, "denyoom");
    if (in->flags & DATA_CMD_FAST) srv_reply_status(c, "fast");
    if (in->flags & DATA_CMD_MOVABLEKEYS) srv_reply_status(c, "movablekeys");
    if (in->flags & DATA_CMD_BLOCKING) srv_reply_status(c, "blocking");
    srv_reply_int(c, in->first_key);
    srv_reply_int(c, in->last_key);
    srv_reply_int(c, in->key_step);
    char acl[128];
    data_cmd_acl(in, acl, sizeof(acl));
    srv_reply_words(c, acl, 1, "@");
    srv_reply_set(c, 0);
    srv_reply_array(c, 0);
    srv_reply_array(c, 0);
}

static void srv_reply_docs(client *c, const char *name, const char *summary, const char *since,
                           const char *group)
{
    srv_reply_cstr(c, name);
    srv_reply_map(c, 3);
    srv_reply_cstr(c, "summary");
    srv_reply_cstr(c, summary);
    srv_reply_cstr(c, "since");
    srv_reply_cstr(c, since);
    srv_reply_cstr(c, "group");
    srv_reply_cstr(c, group);
}

/* COMMAND / COMMAND INFO (docs = 0) and COMMAND DOCS (docs = 1) of every command */
void srv_cmd_reply_all(client *c, int docs)
{
    size_t nd = data_cmd_count();
    if (docs)
        srv_reply_map(c, N_SRV_CMDS + nd);
    else
        srv_reply_array(c, N_SRV_CMDS + nd);
    for (size_t i = 0; i < N_SRV_CMDS; i++) {
        if (docs)
            srv_reply_docs(c, srv_cmds[i].name, srv_cmds[i].summary, srv_cmds[i].since,
                           srv_cmds[i].group);
        else
            srv_reply_srv_info(c, &srv_cmds[i]);
    }
    for (size_t i = 0; i < nd; i++) {
        const data_cmd_info *in = data_cmd_describe(data_cmd_at(i));
        if (docs)
            srv_reply_docs(c, in->name, in->summary, in->since, in->group);
        else
            srv_reply_data_info(c, in);
    }
}

/* One name of COMMAND INFO/DOCS: returns whether it is a known command; when emit is set,
 * replies its entry (an unknown name is a null in INFO and skipped in DOCS). */
static int one_cmd(client *c, const data_arg *name, int docs, int emit)
{
    const data_cmd *dc = data_cmd_lookup(name->ptr, name->len);
    if (dc) {
        if (emit) {
            const data_cmd_info *in = data_cmd_describe(dc);
            if (docs)
                srv_reply_docs(c, in->name, in->summary, in->since, in->group);
            else
                srv_reply_data_info(c, in);
        }
        return 1;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, name, 0);
    if (!cmd) {
        /* "client|list" style names */
        const char *bar = memchr(name->ptr, '|', name->len);
        if (bar) {
            data_arg parent = {name->ptr, (size_t)(bar - name->ptr)};
            data_arg sub = {bar + 1, name->len - parent.len - 1};
            const srv_cmd *p = find_in(srv_cmds, N_SRV_CMDS, &parent, 0);
            if (p && p->subs) cmd = find_in(p->subs, p->n_subs, &sub, 1);
        }
    }
    if (!cmd) {
        if (emit && !docs) srv_reply_null(c);
        return 0;
    }
    if (emit) {
        if (docs)
            srv_reply_docs(c, cmd->name, cmd->summary, cmd->since, cmd->group);
        else
            srv_reply_srv_info(c, cmd);
    }
    return 1;
}

void srv_cmd_command_info(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    if (argc == 2) {
        srv_cmd_reply_all(c, 0);
        return;
    }
    srv_reply_array(c, (size_t)(argc - 2));
    for (int i = 2; i < argc; i++)
        one_cmd(c, &argv[i], 0, 1);
}

void srv_cmd_command_docs(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    if (argc == 2) {
        srv_cmd_reply_all(c, 1);
        return;
    }
    size_t n = 0;
    for (int i = 2; i < argc; i++)
        n += (size_t)one_cmd(c, &argv[i], 1, 0);
    srv_reply_map(c, n);
    for (int i = 2; i < argc; i++)
        one_cmd(c, &argv[i], 1, 1);
}

/* The server's own commands that have keys: WATCH key..., scripts (numkeys at argv[2], zero
 * keys allowed), the OBJECT/MEMORY subcommands that take a key at argv[2]. */
static int srv_has_keys(const char *nm)
{
    static const char *const with_keys[] = {
        "watch",           "eval",         "evalsha",         "eval_ro",     "evalsha_ro",
        "fcall",           "fcall_ro",     "object|encoding", "object|freq", "object|idletime",
        "object|refcount", "memory|usage",
    };
    for (size_t i = 0; i < sizeof with_keys / sizeof with_keys[0]; i++)
        if (!strcmp(nm, with_keys[i])) return 1;
    return 0;
}

/* srv_has_keys's commands: the argv indexes of their keys (pos has room for argc). Scripts'
 * keys are optional, so a bad numkeys means none (as Redis's no_mandatory_keys). */
static int srv_getkeys(const char *nm, int argc, const data_arg *argv, int *pos)
{
    int n = 0;
    if (!strcmp(nm, "watch")) {
        for (int i = 1; i < argc; i++)
            pos[n++] = i;
        return n;
    }
    if (!strncmp(nm, "eval", 4) || !strncmp(nm, "fcall", 5)) {
        long long nk;
        if (!syn_string2ll(argv[2].ptr, argv[2].len, &nk) || nk < 0 || nk > argc - 3) return 0;
        for (int i = 0; i < (int)nk; i++)
            pos[n++] = 3 + i;
        return n;
    }
    pos[0] = 2;
    return 1;
}

/* COMMAND GETKEYS command arg...: the keys as Redis 7.0 finds them, with its errors. */
void srv_cmd_command_getkeys(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    const data_arg *args = argv + 2;
    int n = argc - 2, arity, k;
    const data_cmd *dc = data_cmd_lookup(args[0].ptr, args[0].len);
    const srv_cmd *sc = dc ? NULL : find_in(srv_cmds, N_SRV_CMDS, &args[0], 0);
    if (sc && sc->subs && n >= 2) {
        const srv_cmd *sub = find_in(sc->subs, sc->n_subs, &args[1], 1);
        if (sub) sc = sub;
    }
    if (!dc && !sc) {
        srv_reply_error(c, "ERR Invalid command specified");
        return;
    }
    int has_keys;
    if (dc) {
        const data_cmd_info *in = data_cmd_describe(dc);
        has_keys = in->first_key > 0 || (in->flags & DATA_CMD_MOVABLEKEYS);
        arity = in->arity;
    } else {
        has_keys = srv_has_keys(sc->name);
        arity = sc->arity;
    }
    if (!has_keys) {
        srv_reply_error(c, "ERR The command has no key arguments");
        return;
    }
    if ((arity > 0 && arity != n) || n < -arity) {
        srv_reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    int *pos = malloc((size_t)n * sizeof(int));
    SYN_ASSERT(pos);
    k = dc ? data_cmd_getkeys(dc, n, args, pos, n) : srv_getkeys(sc->name, n, args, pos);
    if (k < 0) {
        srv_reply_error(c, "ERR Invalid arguments specified for command");
    } else {
        srv_reply_array(c, (size_t)k);
        for (int i = 0; i < k; i++)
            srv_reply_bulk(c, args[pos[i]].ptr, args[pos[i]].len);
    }
    free(pos);
}

/* COMMAND LIST [FILTERBY MODULE m | ACLCAT cat | PATTERN glob]: every command and subcommand
 * ("client|list"), as Redis 7.0 (there are no modules). */
typedef struct {
    int kind; /* 0 none, 1 module, 2 aclcat, 3 pattern */
    const data_arg *val;
    char (*names)[48];
    size_t n, cap;
} cmd_list;

static int has_word(const char *words, const data_arg *w)
{
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == w->len && w->len && strncasecmp(p, w->ptr, w->len) == 0) return 1;
        p = e;
    }
    return 0;
}

static void list_add(cmd_list *l, const char *name, const char *acl)
{
    if (l->kind == 1) return;
    if (l->kind == 2 && !has_word(acl, l->val)) return;
    if (l->kind == 3 && !data_glob_match(l->val->ptr, l->val->len, name, strlen(name))) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->names = realloc(l->names, l->cap * sizeof(*l->names));
        SYN_ASSERT(l->names != NULL);
    }
    snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
}

void srv_cmd_command_list(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    cmd_list l = {0};
    if (argc == 5 && argv[2].len == 8 && strncasecmp(argv[2].ptr, "filterby", 8) == 0) {
        static const char *const kinds[] = {"module", "aclcat", "pattern"};
        for (int k = 0; k < 3; k++)
            if (argv[3].len == strlen(kinds[k]) &&
                strncasecmp(argv[3].ptr, kinds[k], argv[3].len) == 0)
                l.kind = k + 1;
        l.val = &argv[4];
    }
    if (argc != 2 && l.kind == 0) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    for (size_t i = 0; i < N_SRV_CMDS; i++) {
        list_add(&l, srv_cmds[i].name, srv_cmds[i].acl);
        for (size_t j = 0; j < srv_cmds[i].n_subs; j++)
            list_add(&l, srv_cmds[i].subs[j].name, srv_cmds[i].subs[j].acl);
    }
    size_t nd = data_cmd_count();
    for (size_t i = 0; i < nd; i++) {
        const data_cmd_info *in = data_cmd_describe(data_cmd_at(i));
        char acl[128], full[48];
        data_cmd_acl(in, acl, sizeof(acl));
        list_add(&l, in->name, acl);
        for (size_t k = 0; k < sizeof(data_containers) / sizeof(data_containers[0]); k++) {
            if (strcmp(in->name, data_containers[k][0]) != 0) continue;
            for (int j = 1; data_containers[k][j]; j++) {
                snprintf(full, sizeof(full), "%s|%s", in->name, data_containers[k][j]);
                const char *sub_acl = data_acl_find(full);
                list_add(&l, full, sub_acl ? sub_acl : acl);
            }
        }
    }
    srv_reply_array(c, l.n);
    for (size_t i = 0; i < l.n; i++)
        srv_reply_cstr(c, l.names[i]);
    free(l.names);
}

/* --- ACL ---------------------------------------------------------------------------------- */

/* Commands the node answers before dispatch (node_route), absent from the tables above */
static const struct {
    const char *name, *acl;
} node_cmds[] = {
    {"readonly", "fast connection"},
    {"readwrite", "fast connection"},
    {"synod", "admin slow"},
    /* not implemented (unknown command), known to ACL so that rules naming it (Redis
     * configurations, +debug|object) are accepted as Redis accepts them */
    {"debug", "admin slow dangerous"},
};

static uint32_t cat_bits(const char *words)
{
    uint32_t bits = 0;
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        int c = e > p ? acl_cat_lookup(p, (size_t)(e - p)) : -1;
        SYN_ASSERT(e == p || c >= 0); /* a category name of our tables */
        if (c >= 0) bits |= 1u << c;
        p = e;
    }
    return bits;
}

static void cat_add(acl_cmd **v, size_t *n, size_t *cap, const char *name, const char *acl,
                    int parent, unsigned flags)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 512;
        *v = realloc(*v, *cap * sizeof(**v));
        SYN_ASSERT(*v != NULL);
    }
    char *nm = strdup(name);
    SYN_ASSERT(nm != NULL);
    (*v)[(*n)++] = (acl_cmd){nm, cat_bits(acl), parent, flags};
}

acl_cmd *srv_cmd_catalog(size_t *n_out)
{
    acl_cmd *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < N_SRV_CMDS; i++) {
        const srv_cmd *c = &srv_cmds[i];
        int parent = (int)n;
        cat_add(&v, &n, &cap, c->name, c->acl, -1,
                strstr(c->flags, "no_auth") ? ACL_CMD_NO_AUTH : 0);
        for (size_t j = 0; j < c->n_subs; j++)
            cat_add(&v, &n, &cap, c->subs[j].name, c->subs[j].acl, parent, 0);
    }
    size_t nd = data_cmd_count();
    for (size_t i = 0; i < nd; i++) {
        const data_cmd_info *in = data_cmd_describe(data_cmd_at(i));
        char acl[128], full[48];
        data_cmd_acl(in, acl, sizeof(acl));
        int parent = (int)n;
        cat_add(&v, &n, &cap, in->name, acl, -1, 0);
        for (size_t k = 0; k < sizeof(data_containers) / sizeof(data_containers[0]); k++) {
            if (strcmp(in->name, data_containers[k][0]) != 0) continue;
            for (int j = 1; data_containers[k][j]; j++) {
                snprintf(full, sizeof(full), "%s|%s", in->name, data_containers[k][j]);
                const char *sub_acl = data_acl_find(full);
                cat_add(&v, &n, &cap, full, sub_acl ? sub_acl : acl, parent, 0);
            }
        }
    }
    for (size_t i = 0; i < sizeof(node_cmds) / sizeof(node_cmds[0]); i++)
        cat_add(&v, &n, &cap, node_cmds[i].name, node_cmds[i].acl, -1, 0);
    *n_out = n;
    return v;
}

const char *srv_cmd_acl_name(int argc, const data_arg *argv, char *buf, size_t cap)
{
    for (size_t i = 0; i < sizeof(node_cmds) / sizeof(node_cmds[0]); i++) {
        const char *nm = node_cmds[i].name;
        if (argv[0].len == strlen(nm) && strncasecmp(argv[0].ptr, nm, argv[0].len) == 0) return nm;
    }
    int arity_ok, flags, arity;
    const char *nm = srv_cmd_stat_name(argc, argv, &arity_ok, &flags, &arity, buf, cap);
    if (!nm || !arity_ok) return NULL; /* the command's own error comes first */
    if (!strchr(nm, '|')) {
        const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
        if (cmd && cmd->subs && !cmd->fn) return NULL; /* a container without its subcommand */
    }
    return nm;
}

int srv_cmd_server_keys(const char *name, int argc, const data_arg *argv, int *pos)
{
    if (!srv_has_keys(name)) return 0;
    return srv_getkeys(name, argc, argv, pos);
}
