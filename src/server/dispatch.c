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

static const srv_cmd module_subs[] = {
    {"module|help", 2, "loading stale", "slow", srv_cmd_module_help, NOSUBS, "server",
     "Show helpful text about the different subcommands", "5.0.0"},
    {"module|list", 2, "admin noscript", "admin slow dangerous", srv_cmd_module_list, NOSUBS,
     "server", "List all modules loaded by the server", "4.0.0"},
    {"module|load", -3, "admin noscript no_async_loading", "admin slow dangerous",
     srv_cmd_module_load, NOSUBS, "server", "Load a module", "4.0.0"},
    {"module|loadex", -3, "admin noscript no_async_loading", "admin slow dangerous",
     srv_cmd_module_load, NOSUBS, "server", "Load a module with extended parameters", "7.0.0"},
    {"module|unload", 3, "admin noscript no_async_loading", "admin slow dangerous",
     srv_cmd_module_load, NOSUBS, "server", "Unload a module", "4.0.0"},
};

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
    {"command|getkeysandflags", -4, "loading stale", "slow connection",
     srv_cmd_command_getkeysandflags, NOSUBS, "server",
     "Extract keys and access flags given a full Redis command", "7.0.0"},
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
/* FUNCTION's writes carry Redis's @write too */
#define SCRIPTING_W(name, arity, flags, summary, since)                                            \
    {                                                                                              \
        name, arity, flags, "write slow scripting", srv_cmd_scripting, NOSUBS, "scripting",        \
            summary, since                                                                         \
    }
static const srv_cmd function_subs[] = {
    SCRIPTING_W("function|load", -3, "write denyoom noscript",
                "Create a function with the given arguments (name, code, description)", "7.0.0"),
    SCRIPTING_W("function|delete", 3, "write noscript", "Delete a function by name", "7.0.0"),
    SCRIPTING_W("function|flush", -2, "write noscript", "Deleting all functions", "7.0.0"),
    SCRIPTING("function|list", -2, "noscript", "List information about all the functions", "7.0.0"),
    SCRIPTING("function|dump", 2, "noscript", "Dump all functions into a serialized binary payload",
              "7.0.0"),
    SCRIPTING_W("function|restore", -3, "write denyoom noscript",
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

/* CLUSTER: synod is not a Redis Cluster (one keyspace, no hash slots), so every subcommand
 * answers as a Redis server without cluster support does, and clients treat it as standalone. */
static void srv_cmd_cluster_disabled(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_error(c, "ERR This instance has cluster support disabled");
}

#define CLUSTER_SUB(name, arity, flags, acl, summary, since)                                       \
    {                                                                                              \
        name, arity, flags, acl, srv_cmd_cluster_disabled, NOSUBS, "cluster", summary, since       \
    }
static const srv_cmd cluster_subs[] = {
    CLUSTER_SUB("cluster|addslots", -3, "admin stale no_async_loading", "admin slow dangerous",
                "Assign new hash slots to receiving node", "3.0.0"),
    CLUSTER_SUB("cluster|addslotsrange", -4, "admin stale no_async_loading", "admin slow dangerous",
                "Assign new hash slots to receiving node", "7.0.0"),
    CLUSTER_SUB("cluster|bumpepoch", 2, "admin stale no_async_loading", "admin slow dangerous",
                "Advance the cluster config epoch", "3.0.0"),
    CLUSTER_SUB("cluster|count-failure-reports", 3, "admin stale", "admin slow dangerous",
                "Return the number of failure reports active for a given node", "3.0.0"),
    CLUSTER_SUB("cluster|countkeysinslot", 3, "stale", "slow",
                "Return the number of local keys in the specified hash slot", "3.0.0"),
    CLUSTER_SUB("cluster|delslots", -3, "admin stale no_async_loading", "admin slow dangerous",
                "Set hash slots as unbound in receiving node", "3.0.0"),
    CLUSTER_SUB("cluster|delslotsrange", -4, "admin stale no_async_loading", "admin slow dangerous",
                "Set hash slots as unbound in receiving node", "7.0.0"),
    CLUSTER_SUB("cluster|failover", -2, "admin stale no_async_loading", "admin slow dangerous",
                "Forces a replica to perform a manual failover of its master.", "3.0.0"),
    CLUSTER_SUB("cluster|flushslots", 2, "admin stale no_async_loading", "admin slow dangerous",
                "Delete a node's own slots information", "3.0.0"),
    CLUSTER_SUB("cluster|forget", 3, "admin stale no_async_loading", "admin slow dangerous",
                "Remove a node from the nodes table", "3.0.0"),
    CLUSTER_SUB("cluster|getkeysinslot", 4, "stale", "slow",
                "Return local key names in the specified hash slot", "3.0.0"),
    CLUSTER_SUB("cluster|help", 2, "loading stale", "slow",
                "Show helpful text about the different subcommands", "5.0.0"),
    CLUSTER_SUB("cluster|info", 2, "stale", "slow", "Provides info about Redis Cluster node state",
                "3.0.0"),
    CLUSTER_SUB("cluster|keyslot", 3, "stale", "slow", "Returns the hash slot of the specified key",
                "3.0.0"),
    CLUSTER_SUB("cluster|links", 2, "stale", "slow",
                "Returns a list of all TCP links to and from peer nodes in cluster", "7.0.0"),
    CLUSTER_SUB("cluster|meet", -4, "admin stale no_async_loading", "admin slow dangerous",
                "Force a node cluster to handshake with another node", "3.0.0"),
    CLUSTER_SUB("cluster|myid", 2, "stale", "slow", "Return the node id", "3.0.0"),
    CLUSTER_SUB("cluster|nodes", 2, "stale", "slow", "Get Cluster config for the node", "3.0.0"),
    CLUSTER_SUB("cluster|replicas", 3, "admin stale", "admin slow dangerous",
                "List replica nodes of the specified master node", "5.0.0"),
    CLUSTER_SUB("cluster|replicate", 3, "admin stale no_async_loading", "admin slow dangerous",
                "Reconfigure a node as a replica of the specified master node", "3.0.0"),
    CLUSTER_SUB("cluster|reset", -2, "admin noscript stale", "admin slow dangerous",
                "Reset a Redis Cluster node", "3.0.0"),
    CLUSTER_SUB("cluster|saveconfig", 2, "admin stale no_async_loading", "admin slow dangerous",
                "Forces the node to save cluster state on disk", "3.0.0"),
    CLUSTER_SUB("cluster|set-config-epoch", 3, "admin stale no_async_loading",
                "admin slow dangerous", "Set the configuration epoch in a new node", "3.0.0"),
    CLUSTER_SUB("cluster|setslot", -4, "admin stale no_async_loading", "admin slow dangerous",
                "Bind a hash slot to a specific node", "3.0.0"),
    CLUSTER_SUB("cluster|shards", 2, "stale", "slow", "Get array of cluster slots to node mappings",
                "7.0.0"),
    CLUSTER_SUB("cluster|slaves", 3, "admin stale", "admin slow dangerous",
                "List replica nodes of the specified master node", "3.0.0"),
    CLUSTER_SUB("cluster|slots", 2, "stale", "slow", "Get array of Cluster slot to node mappings",
                "3.0.0"),
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

/* MIGRATE is run by the node (node_migrate.c) before dispatch. It reaches here only from an
 * applied EXEC: there it would wait on another server in the middle of a log entry, so it is
 * refused (docs/cluster.md "MIGRATE"). */
static void srv_cmd_migrate_late(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_error(c, "ERR MIGRATE is not allowed inside MULTI/EXEC in synod");
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
    {"cluster", -2, "", "slow", NULL, SUBS(cluster_subs), "cluster",
     "A container for cluster commands", "3.0.0"},
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
    SCRIPTING("eval", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a Lua script server side", "2.6.0"),
    SCRIPTING("evalsha", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a Lua script server side", "2.6.0"),
    SCRIPTING("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a read-only Lua script server side", "7.0.0"),
    SCRIPTING("evalsha_ro", -3,
              "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Execute a read-only Lua script server side", "7.0.0"),
    SCRIPTING("fcall", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Invoke a function", "7.0.0"),
    SCRIPTING("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
              "Invoke a read-only function", "7.0.0"),
    {"monitor", 1, "admin noscript loading stale", "admin slow dangerous", srv_cmd_monitor, NOSUBS,
     "server", "Listen for all requests received by the server in real time", "1.0.0"},
    {"info", -1, "loading stale", "slow dangerous", srv_cmd_info, NOSUBS, "server",
     "Get information and statistics about the server", "1.0.0"},
    {"time", 1, "loading stale fast", "fast", srv_cmd_time, NOSUBS, "server",
     "Return the current server time", "2.6.0"},
    {"debug", -2, "admin noscript loading stale", "admin slow dangerous", srv_cmd_debug, NOSUBS,
     "server", "A container for debugging commands", "1.0.0"},
    {"module", -2, "", "slow", NULL, SUBS(module_subs), "server", "A container for module commands",
     "4.0.0"},
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
    {"replicaof", 3, "admin noscript stale no_async_loading", "admin slow dangerous",
     srv_cmd_replicaof, NOSUBS, "server",
     "Make the server a replica of another instance, or promote it as master.", "5.0.0"},
    {"slaveof", 3, "admin noscript stale no_async_loading", "admin slow dangerous",
     srv_cmd_replicaof, NOSUBS, "server",
     "Make the server a replica of another instance, or promote it as master.", "1.0.0"},
    {"failover", -1, "admin noscript stale", "admin slow dangerous", srv_cmd_failover, NOSUBS,
     "server", "Start a coordinated failover between this server and one of its replicas.",
     "6.2.0"},
    {"sync", 1, "admin noscript no_async_loading no_multi", "admin slow dangerous", srv_cmd_sync,
     NOSUBS, "server", "Internal command used for replication", "1.0.0"},
    {"psync", -3, "admin noscript no_async_loading no_multi", "admin slow dangerous", srv_cmd_sync,
     NOSUBS, "server", "Internal command used for replication", "2.8.0"},
    {"replconf", -1, "admin noscript loading stale allow_busy", "admin slow dangerous",
     srv_cmd_sync, NOSUBS, "server", "An internal command for configuring the replication stream",
     "3.0.0"},
    {"asking", 1, "fast", "fast connection", srv_cmd_asking, NOSUBS, "cluster",
     "Sent by cluster clients after an -ASK redirect", "3.0.0"},
    {"lolwut", -1, "readonly fast", "read fast", srv_cmd_lolwut, NOSUBS, "server",
     "Display some computer art and the Redis version", "5.0.0"},
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
    {"migrate", -6, "write movablekeys", "keyspace write slow dangerous", srv_cmd_migrate_late,
     NOSUBS, "generic", "Atomically transfer a key from a Redis instance to another one.", "2.6.0"},
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

/* The data layer's container commands' Redis 7.0 subcommands: full name, arity, key specs
 * (format: src/data/data_cmds.h). */
typedef struct {
    const char *name; /* "object|encoding" */
    int arity;
    const char *key_specs;
} data_sub;

static const data_sub data_subs[] = {
    {"object|encoding", 3, "RO@i2+r0,1,0"},
    {"object|freq", 3, "RO@i2+r0,1,0"},
    {"object|idletime", 3, "RO@i2+r0,1,0"},
    {"object|refcount", 3, "RO@i2+r0,1,0"},
    {"object|help", 2, ""},
    {"xgroup|create", -5, "RW insert@i2+r0,1,0"},
    {"xgroup|createconsumer", 5, "RW insert@i2+r0,1,0"},
    {"xgroup|delconsumer", 5, "RW delete@i2+r0,1,0"},
    {"xgroup|destroy", 4, "RW delete@i2+r0,1,0"},
    {"xgroup|setid", -5, "RW update@i2+r0,1,0"},
    {"xgroup|help", 2, ""},
    {"xinfo|consumers", 4, "RO access@i2+r0,1,0"},
    {"xinfo|groups", 3, "RO access@i2+r0,1,0"},
    {"xinfo|stream", -3, "RO access@i2+r0,1,0"},
    {"xinfo|help", 2, ""},
    {"memory|doctor", 2, ""},
    {"memory|malloc-stats", 2, ""},
    {"memory|purge", 2, ""},
    {"memory|stats", 2, ""},
    {"memory|usage", -3, "RO@i2+r0,1,0"},
    {"memory|help", 2, ""},
};
#define N_DATA_SUBS (sizeof(data_subs) / sizeof(data_subs[0]))

const char *srv_data_sub_specs(int argc, const data_arg *argv, const char **full_name)
{
    if (argc < 2) return NULL;
    for (size_t i = 0; i < N_DATA_SUBS; i++) {
        const char *nm = data_subs[i].name, *bar = strchr(nm, '|');
        size_t pl = (size_t)(bar - nm), sl = strlen(bar + 1);
        if (argv[0].len == pl && strncasecmp(argv[0].ptr, nm, pl) == 0 && argv[1].len == sl &&
            strncasecmp(argv[1].ptr, bar + 1, sl) == 0) {
            *full_name = nm;
            return data_subs[i].key_specs;
        }
    }
    return NULL;
}

/* The subcommand after "parent|" of data_subs[i], or NULL if it belongs to another parent. */
static const char *data_sub_of(size_t i, const char *parent)
{
    const char *nm = data_subs[i].name;
    if (nm[0] != parent[0]) return NULL; /* most: is_data_container runs for every data call */
    size_t n = strlen(parent);
    return strncmp(nm, parent, n) == 0 && nm[n] == '|' ? nm + n + 1 : NULL;
}

/* Redis's arity rule: exactly `arity` arguments (the name included), or at least -arity */
static bool arity_fits(int arity, int argc)
{
    return arity > 0 ? argc == arity : argc >= -arity;
}

static int is_data_container(const char *name)
{
    for (size_t i = 0; i < N_DATA_SUBS; i++)
        if (data_sub_of(i, name)) return 1;
    return 0;
}

/* data_subs' entry for "parent sub", NULL if unknown. */
static const data_sub *data_sub_find(const char *parent, const data_arg *sub)
{
    for (size_t i = 0; i < N_DATA_SUBS; i++) {
        const char *s = data_sub_of(i, parent);
        if (s && strlen(s) == sub->len && strncasecmp(s, sub->ptr, sub->len) == 0)
            return &data_subs[i];
    }
    return NULL;
}

const char *srv_cmd_stat_name(int argc, const data_arg *argv, int *arity_ok, int *admin, int *arity,
                              char *buf, size_t cap)
{
    *arity_ok = 1;
    *admin = 0;
    *arity = 0;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        *arity_ok = arity_fits(info->arity, argc);
        if (is_data_container(info->name)) {
            if (argc < 2) return info->name;
            const data_sub *sub = data_sub_find(info->name, &argv[1]);
            if (!sub) return NULL; /* unknown subcommand */
            snprintf(buf, cap, "%s", sub->name);
            return buf;
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
    *arity_ok = arity_fits(cmd->arity, argc);
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
        if (!arity_fits(info->arity, argc)) return NULL;
        return info->name;
    }
    const srv_cmd *cmd = find_in(srv_cmds, N_SRV_CMDS, &argv[0], 0);
    if (!cmd) return NULL;
    if (cmd->subs) {
        if (argc < 2) return NULL;
        cmd = find_in(cmd->subs, cmd->n_subs, &argv[1], 1);
        if (!cmd) return NULL;
    }
    if (!arity_fits(cmd->arity, argc)) return NULL;
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

/* Redis's reply to a container command (CLIENT, OBJECT ...) with a subcommand it lacks */
static void reply_unknown_sub(client *c, const char *name, const data_arg *sub)
{
    char upper[32];
    size_t i;
    for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    upper[i] = '\0';
    srv_reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", argn(sub, 128), sub->ptr,
                     upper);
}

/* What Redis checks before it queues a command in MULTI (its processCommand): the command and
 * subcommand exist, the arity fits. */
int srv_cmd_check(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc >= 3 && argv[0].len == 6 && strncasecmp(argv[0].ptr, "acl_as", 6) == 0)
        return srv_cmd_check(s, c, argc - 2, argv + 2); /* a script run as a user (acl.c) */
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) {
        const data_cmd_info *info = data_cmd_describe(dc);
        if (!arity_fits(info->arity, argc)) {
            srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", info->name);
            return -1;
        }
        if (argc >= 2 && is_data_container(info->name)) {
            const data_sub *sub = data_sub_find(info->name, &argv[1]);
            if (!sub) {
                reply_unknown_sub(c, info->name, &argv[1]);
                return -1;
            }
            if (!arity_fits(sub->arity, argc)) {
                srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", sub->name);
                return -1;
            }
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
        if (!sub) {
            reply_unknown_sub(c, cmd->name, &argv[1]);
            return -1;
        }
        cmd = sub;
    }
    if (!arity_fits(cmd->arity, argc)) {
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

/* What a follower's relay connection must never run (its client's MULTI ... EXEC runs on it,
 * on the leader): a connection state that would break it for every client it relays for after
 * (subscribed mode refuses other commands, CLIENT REPLY OFF / SKIP drops replies the follower
 * waits for, MONITOR and CLIENT TRACKING push messages it would take for replies, AUTH would
 * make later requests of other clients run as that user: the follower names the user of each
 * request only when it changes, SYNOD RELAY-USER). */
static bool relay_breaking(int argc, const data_arg *argv)
{
    static const char *const one[] = {"subscribe", "psubscribe", "ssubscribe", "monitor", "auth"};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
        if (data_arg_is(&argv[0], one[i])) return true;
    return argc >= 2 && data_arg_is(&argv[0], "client") &&
           (data_arg_is(&argv[1], "reply") || data_arg_is(&argv[1], "tracking"));
}

static void dispatch_in_db(server *s, client *c, int argc, const data_arg *argv)
{
    SYN_ASSERT(argc > 0);
    if (c->nc.forwarded && relay_breaking(argc, argv)) {
        srv_reply_errorf(c,
                         "ERR '%.*s' inside MULTI is not supported through a follower: run it "
                         "outside the transaction, or on the leader",
                         (int)(argv[0].len > 32 ? 32 : argv[0].len), argv[0].ptr);
        return;
    }
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
            reply_unknown_sub(c, cmd->name, &argv[1]);
            return;
        }
        cmd = sub;
    }
    if (!arity_fits(cmd->arity, argc)) {
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

static const char *srv_specs(const char *nm);

static void reply_kv_int(client *c, const char *k, long long v)
{
    srv_reply_cstr(c, k);
    srv_reply_int(c, v);
}

/* COMMAND INFO's key specs, as Redis 7.0 shows them (maps; flags a set of statuses). */
static void srv_reply_keyspecs(client *c, const char *specs)
{
    data_keyspec ks;
    size_t n = 0;
    for (const char *p = specs; data_keyspec_next(&p, &ks);)
        n++;
    srv_reply_set(c, n);
    for (const char *p = specs; data_keyspec_next(&p, &ks);) {
        srv_reply_map(c, ks.notes ? 4 : 3);
        if (ks.notes) {
            srv_reply_cstr(c, "notes");
            srv_reply_bulk(c, ks.notes, ks.notes_len);
        }
        srv_reply_cstr(c, "flags");
        int nf = 0;
        for (int b = 0; b < DATA_KEY_FLAG_COUNT; b++)
            nf += (ks.flags >> b) & 1;
        srv_reply_set(c, (size_t)nf);
        for (int b = 0; b < DATA_KEY_FLAG_COUNT; b++)
            if ((ks.flags >> b) & 1) srv_reply_status(c, data_key_flag_name(b));
        srv_reply_cstr(c, "begin_search");
        srv_reply_map(c, 2);
        srv_reply_cstr(c, "type");
        srv_reply_cstr(c, ks.search == 'i' ? "index" : ks.search == 'k' ? "keyword" : "unknown");
        srv_reply_cstr(c, "spec");
        if (ks.search == 'i') {
            srv_reply_map(c, 1);
            reply_kv_int(c, "index", ks.index);
        } else if (ks.search == 'k') {
            srv_reply_map(c, 2);
            srv_reply_cstr(c, "keyword");
            srv_reply_bulk(c, ks.keyword, ks.keyword_len);
            reply_kv_int(c, "startfrom", ks.startfrom);
        } else {
            srv_reply_map(c, 0);
        }
        srv_reply_cstr(c, "find_keys");
        srv_reply_map(c, 2);
        srv_reply_cstr(c, "type");
        srv_reply_cstr(c, ks.find == 'r' ? "range" : ks.find == 'n' ? "keynum" : "unknown");
        srv_reply_cstr(c, "spec");
        static const char *const range[] = {"lastkey", "keystep", "limit"};
        static const char *const keynum[] = {"keynumidx", "firstkey", "keystep"};
        srv_reply_map(c, ks.find == 'u' ? 0 : 3);
        for (int i = 0; ks.find != 'u' && i < 3; i++)
            reply_kv_int(c, ks.find == 'r' ? range[i] : keynum[i], ks.fk[i]);
    }
}

/* Redis 7.0's command tips (COMMAND INFO's 8th field: nondeterministic output, and the request
 * and response policies cluster clients read), by full command name. */
static const struct {
    const char *name, *tips;
} cmd_tips[] = {
    {"client|info", "nondeterministic_output"},
    {"client|list", "nondeterministic_output"},
    {"cluster|bumpepoch", "nondeterministic_output"},
    {"cluster|count-failure-reports", "nondeterministic_output"},
    {"cluster|getkeysinslot", "nondeterministic_output"},
    {"cluster|info", "nondeterministic_output"},
    {"cluster|links", "nondeterministic_output"},
    {"cluster|nodes", "nondeterministic_output"},
    {"cluster|replicas", "nondeterministic_output"},
    {"cluster|shards", "nondeterministic_output"},
    {"cluster|slaves", "nondeterministic_output"},
    {"cluster|slots", "nondeterministic_output"},
    {"command", "nondeterministic_output_order"},
    {"command|docs", "nondeterministic_output_order"},
    {"command|info", "nondeterministic_output_order"},
    {"command|list", "nondeterministic_output_order"},
    {"config|set", "request_policy:all_nodes response_policy:all_succeeded"},
    {"dbsize", "request_policy:all_shards response_policy:agg_sum"},
    {"del", "request_policy:multi_shard response_policy:agg_sum"},
    {"dump", "nondeterministic_output"},
    {"exists", "request_policy:multi_shard response_policy:agg_sum"},
    {"flushall", "request_policy:all_shards response_policy:all_succeeded"},
    {"flushdb", "request_policy:all_shards response_policy:all_succeeded"},
    {"function|delete", "request_policy:all_shards response_policy:all_succeeded"},
    {"function|flush", "request_policy:all_shards response_policy:all_succeeded"},
    {"function|kill", "request_policy:all_shards response_policy:one_succeeded"},
    {"function|list", "nondeterministic_output_order"},
    {"function|load", "request_policy:all_shards response_policy:all_succeeded"},
    {"function|restore", "request_policy:all_shards response_policy:all_succeeded"},
    {"function|stats", "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"hgetall", "nondeterministic_output_order"},
    {"hkeys", "nondeterministic_output_order"},
    {"hrandfield", "nondeterministic_output"},
    {"hscan", "nondeterministic_output"},
    {"hvals", "nondeterministic_output_order"},
    {"info", "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"keys", "request_policy:all_shards nondeterministic_output_order"},
    {"lastsave", "nondeterministic_output"},
    {"latency|doctor", "nondeterministic_output request_policy:all_nodes response_policy:special"},
    {"latency|graph", "nondeterministic_output request_policy:all_nodes response_policy:special"},
    {"latency|histogram",
     "nondeterministic_output request_policy:all_nodes response_policy:special"},
    {"latency|history", "nondeterministic_output request_policy:all_nodes response_policy:special"},
    {"latency|latest", "nondeterministic_output request_policy:all_nodes response_policy:special"},
    {"latency|reset", "request_policy:all_nodes response_policy:all_succeeded"},
    {"memory|doctor", "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"memory|malloc-stats",
     "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"memory|purge", "request_policy:all_shards response_policy:all_succeeded"},
    {"memory|stats", "nondeterministic_output request_policy:all_shards response_policy:special"},
    {"mget", "request_policy:multi_shard"},
    {"migrate", "nondeterministic_output"},
    {"module|list", "nondeterministic_output_order"},
    {"mset", "request_policy:multi_shard response_policy:all_succeeded"},
    {"msetnx", "request_policy:multi_shard response_policy:agg_min"},
    {"object|encoding", "nondeterministic_output"},
    {"object|freq", "nondeterministic_output"},
    {"object|idletime", "nondeterministic_output"},
    {"object|refcount", "nondeterministic_output"},
    {"ping", "request_policy:all_shards response_policy:all_succeeded"},
    {"pttl", "nondeterministic_output"},
    {"randomkey", "request_policy:all_shards nondeterministic_output"},
    {"scan", "nondeterministic_output request_policy:special"},
    {"script|exists", "request_policy:all_shards response_policy:agg_logical_and"},
    {"script|flush", "request_policy:all_nodes response_policy:all_succeeded"},
    {"script|kill", "request_policy:all_shards response_policy:one_succeeded"},
    {"script|load", "request_policy:all_nodes response_policy:all_succeeded"},
    {"sdiff", "nondeterministic_output_order"},
    {"sinter", "nondeterministic_output_order"},
    {"slowlog|get", "request_policy:all_nodes nondeterministic_output"},
    {"slowlog|len", "request_policy:all_nodes response_policy:agg_sum nondeterministic_output"},
    {"slowlog|reset", "request_policy:all_nodes response_policy:all_succeeded"},
    {"smembers", "nondeterministic_output_order"},
    {"spop", "nondeterministic_output"},
    {"srandmember", "nondeterministic_output"},
    {"sscan", "nondeterministic_output"},
    {"sunion", "nondeterministic_output_order"},
    {"time", "nondeterministic_output"},
    {"touch", "request_policy:multi_shard response_policy:agg_sum"},
    {"ttl", "nondeterministic_output"},
    {"unlink", "request_policy:multi_shard response_policy:agg_sum"},
    {"wait", "request_policy:all_shards response_policy:agg_min"},
    {"xadd", "nondeterministic_output"},
    {"xautoclaim", "nondeterministic_output"},
    {"xclaim", "nondeterministic_output"},
    {"xinfo|consumers", "nondeterministic_output"},
    {"xpending", "nondeterministic_output"},
    {"xtrim", "nondeterministic_output"},
    {"zrandmember", "nondeterministic_output"},
    {"zscan", "nondeterministic_output"},
};

static void srv_reply_tips(client *c, const char *name)
{
    for (size_t i = 0; i < sizeof cmd_tips / sizeof cmd_tips[0]; i++)
        if (!strcmp(cmd_tips[i].name, name)) {
            srv_reply_words(c, cmd_tips[i].tips, 1, ""); /* a set of simple strings */
            return;
        }
    srv_reply_set(c, 0);
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
    /* the legacy first/last/step, as Redis derives them from a lone index-and-range key spec
     * (a keyword spec beside it, MIGRATE's KEYS, does not count) */
    data_keyspec ks;
    int first = 0, last = 0, step = 0, n_index = 0;
    for (const char *specs = srv_specs(nm); data_keyspec_next(&specs, &ks);) {
        if (ks.search != 'i') continue;
        if (n_index++ || ks.find != 'r' || ks.fk[2] != 0) {
            first = last = step = 0;
            continue;
        }
        first = ks.index;
        last = ks.fk[0] < 0 ? ks.fk[0] : ks.index + ks.fk[0];
        step = ks.fk[1];
    }
    srv_reply_int(c, first);
    srv_reply_int(c, last);
    srv_reply_int(c, step);
    srv_reply_words(c, cmd->acl, 1, "@");
    srv_reply_tips(c, nm);
    srv_reply_keyspecs(c, srv_specs(nm));
    srv_reply_set(c, cmd->n_subs);
    for (size_t i = 0; i < cmd->n_subs; i++)
        srv_reply_srv_info(c, &cmd->subs[i]);
}

/* Data commands whose ACL categories are not what their flags and group make (Redis 7.0's
 * table), and the subcommands of the data containers (which COMMAND does not list apart). */
static const struct {
    const char *name, *acl;
} data_acl_special[] = {
    {"flushall", "keyspace write slow dangerous"},
    {"swapdb", "keyspace write fast dangerous"},
    {"flushdb", "keyspace write slow dangerous"},
    {"keys", "keyspace read slow dangerous"},
    {"restore", "keyspace write slow dangerous"},
    {"restore-asking", "keyspace write slow dangerous"},
    {"sort", "write set sortedset list slow dangerous"},
    {"sort_ro", "read set sortedset list slow dangerous"},
    {"pfdebug", "write hyperloglog admin slow dangerous"},
    {"pfselftest", "hyperloglog admin slow dangerous"},
    {"publish", "pubsub fast"},
    {"spublish", "pubsub fast"},
    {"xread", "read stream slow blocking"},
    {"xreadgroup", "write stream slow blocking"},
    {"acl_effect", "admin slow dangerous"},
    {"config_effect", "admin slow dangerous"},
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
    /* in Redis's category order: keyspace, read, write, then the type's */
    const char *rw = (in->flags & DATA_CMD_WRITE) ? "write" : "read";
    int ks = !strcmp(g, "keyspace");
    snprintf(acl, cap, "%s %s %s%s", ks ? g : rw, ks ? rw : g,
             (in->flags & DATA_CMD_FAST) ? "fast" : "slow",
             (in->flags & DATA_CMD_BLOCKING) ? " blocking" : "");
}

/* Data commands whose COMMAND flags are not what their data-layer flags make (Redis 7.0's
 * table: containers carry none, PUBLISH is a pubsub command, PFDEBUG/PFSELFTEST admin). */
static const struct {
    const char *name, *flags;
} data_flags_special[] = {
    {"memory", ""},
    {"object", ""},
    {"xgroup", ""},
    {"xinfo", ""},
    {"pfdebug", "write denyoom admin"},
    {"pfselftest", "admin"},
    {"publish", "pubsub loading stale fast"},
    {"spublish", "pubsub loading stale fast"},
    {"restore-asking", "write denyoom asking"},
};

static const char *data_flags_find(const char *name)
{
    for (size_t i = 0; i < sizeof data_flags_special / sizeof data_flags_special[0]; i++)
        if (!strcmp(name, data_flags_special[i].name)) return data_flags_special[i].flags;
    return NULL;
}

static void srv_reply_data_info(client *c, const data_cmd_info *in)
{
    srv_reply_array(c, 10);
    srv_reply_cstr(c, in->name);
    srv_reply_int(c, in->arity);
    /* Redis 7.0's order; its blocking commands with fixed keys (BLPOP ... BZPOPMAX) are
     * noscript, those with movable keys (BLMPOP, BZMPOP, XREAD, XREADGROUP) not */
    int noscript = (in->flags & DATA_CMD_BLOCKING) && !(in->flags & DATA_CMD_MOVABLEKEYS);
    const struct {
        int on;
        const char *name;
    } fl[] = {
        {(in->flags & DATA_CMD_WRITE) != 0, "write"},
        {(in->flags & DATA_CMD_READONLY) != 0, "readonly"},
        {(in->flags & DATA_CMD_DENYOOM) != 0, "denyoom"},
        {noscript, "noscript"},
        {(in->flags & DATA_CMD_BLOCKING) != 0, "blocking"},
        {(in->flags & DATA_CMD_FAST) != 0, "fast"},
        {(in->flags & DATA_CMD_MOVABLEKEYS) != 0, "movablekeys"},
    };
    size_t nf = 0;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        nf += (size_t)fl[i].on;
    const char *special = data_flags_find(in->name);
    if (special) {
        srv_reply_words(c, special, 1, "");
    } else {
        srv_reply_set(c, nf);
        for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
            if (fl[i].on) srv_reply_status(c, fl[i].name);
    }
    int container = special && !*special; /* its keys are its subcommands' */
    srv_reply_int(c, container ? 0 : in->first_key);
    srv_reply_int(c, container ? 0 : in->last_key);
    srv_reply_int(c, container ? 0 : in->key_step);
    char acl[128];
    data_cmd_acl(in, acl, sizeof(acl));
    srv_reply_words(c, acl, 1, "@");
    srv_reply_tips(c, in->name);
    srv_reply_keyspecs(c, in->key_specs);
    srv_reply_set(c, 0);
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

/* The server's own commands that have keys, with Redis 7.0's key specs (format:
 * src/data/data_cmds.h). Scripts' keys are optional (no_mandatory_keys). */
static const struct {
    const char *name, *key_specs;
} srv_key_specs[] = {
    {"watch", "RO@i1+r-1,1,0"},
    /* the KEYS spec is incomplete: its keys are found by MIGRATE's own rule (getkeys.c) */
    {"migrate", "RW access delete@i3+r0,1,0;RW access delete incomplete@kKEYS,-2+r-1,1,0"},
    {"ssubscribe", "not_key@i1+r-1,1,0"}, /* shard channels: named like keys, not keys */
    {"sunsubscribe", "not_key@i1+r-1,1,0"},
    {"eval", "RW access update@i2+n0,1,1#We cannot tell how the keys will be used so we assume the "
             "worst, RW and UPDATE"},
    {"evalsha", "RW access update@i2+n0,1,1"},
    {"eval_ro", "RO access@i2+n0,1,1#We cannot tell how the keys will be used so we assume the "
                "worst, RO and ACCESS"},
    {"evalsha_ro", "RO access@i2+n0,1,1"},
    {"fcall", "RW access update@i2+n0,1,1#We cannot tell how the keys will be used so we assume "
              "the worst, RW and UPDATE"},
    {"fcall_ro", "RO access@i2+n0,1,1#We cannot tell how the keys will be used so we assume the "
                 "worst, RO and ACCESS"},
};

static const char *srv_specs(const char *nm)
{
    for (size_t i = 0; i < sizeof srv_key_specs / sizeof srv_key_specs[0]; i++)
        if (!strcmp(nm, srv_key_specs[i].name)) return srv_key_specs[i].key_specs;
    return "";
}

/* What COMMAND GETKEYS needs to know of the command at args: full name, arity, key specs, and
 * whether having no keys is fine. 0, or -1 for a command Redis would not find. */
typedef struct {
    const char *name, *specs;
    int arity, optional_keys;
} keyed_cmd;

static int keyed_lookup(int n, const data_arg *args, keyed_cmd *out)
{
    const data_cmd *dc = data_cmd_lookup(args[0].ptr, args[0].len);
    if (dc) {
        const data_cmd_info *in = data_cmd_describe(dc);
        *out = (keyed_cmd){in->name, in->key_specs, in->arity, 0};
        if (is_data_container(in->name) && n >= 2) {
            const data_sub *sub = data_sub_find(in->name, &args[1]);
            if (!sub) return -1;
            *out = (keyed_cmd){sub->name, sub->key_specs, sub->arity, 0};
        }
        return 0;
    }
    const srv_cmd *sc = find_in(srv_cmds, N_SRV_CMDS, &args[0], 0);
    if (!sc) return -1;
    if (sc->subs && n >= 2) {
        sc = find_in(sc->subs, sc->n_subs, &args[1], 1);
        if (!sc) return -1;
    }
    *out = (keyed_cmd){sc->name, srv_specs(sc->name), sc->arity,
                       strstr(sc->flags, "no_mandatory_keys") != NULL};
    return 0;
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS command arg...: the keys (and their key-spec flags) as
 * Redis 7.0 finds them, with its errors. */
static void command_getkeys(client *c, int argc, const data_arg *argv, int with_flags)
{
    const data_arg *args = argv + 2;
    int n = argc - 2;
    keyed_cmd kc;
    if (keyed_lookup(n, args, &kc) < 0) {
        srv_reply_error(c, "ERR Invalid command specified");
        return;
    }
    if (!data_keyspecs_have_keys(kc.specs) && strcmp(kc.name, "sort") != 0 &&
        strcmp(kc.name, "sort_ro") != 0) {
        srv_reply_error(c, "ERR The command has no key arguments");
        return;
    }
    if ((kc.arity > 0 && kc.arity != n) || n < -kc.arity) {
        srv_reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    int *pos = malloc((size_t)n * sizeof(int));
    uint32_t *flags = malloc((size_t)n * sizeof(uint32_t));
    SYN_ASSERT(pos && flags);
    int k = data_keys_with_flags(kc.name, kc.specs, n, args, pos, flags, n);
    SYN_ASSERT(k <= n);
    if (k == 0 && !kc.optional_keys) {
        srv_reply_error(c, "ERR Invalid arguments specified for command");
    } else {
        srv_reply_array(c, (size_t)k);
        for (int i = 0; i < k; i++) {
            if (with_flags) srv_reply_array(c, 2);
            srv_reply_bulk(c, args[pos[i]].ptr, args[pos[i]].len);
            if (!with_flags) continue;
            int nf = 0;
            for (int b = 0; b < DATA_KEY_FLAG_COUNT; b++)
                nf += (flags[i] >> b) & 1;
            srv_reply_set(c, (size_t)nf);
            for (int b = 0; b < DATA_KEY_FLAG_COUNT; b++)
                if ((flags[i] >> b) & 1) srv_reply_status(c, data_key_flag_name(b));
        }
    }
    free(pos);
    free(flags);
}

void srv_cmd_command_getkeys(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    command_getkeys(c, argc, argv, 0);
}

void srv_cmd_command_getkeysandflags(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    command_getkeys(c, argc, argv, 1);
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
        char acl[128];
        data_cmd_acl(in, acl, sizeof(acl));
        list_add(&l, in->name, acl);
        for (size_t k = 0; k < N_DATA_SUBS; k++) {
            if (!data_sub_of(k, in->name)) continue;
            const char *sub_acl = data_acl_find(data_subs[k].name);
            list_add(&l, data_subs[k].name, sub_acl ? sub_acl : acl);
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
        char acl[128];
        data_cmd_acl(in, acl, sizeof(acl));
        int parent = (int)n;
        cat_add(&v, &n, &cap, in->name, acl, -1, 0);
        for (size_t k = 0; k < N_DATA_SUBS; k++) {
            if (!data_sub_of(k, in->name)) continue;
            const char *sub_acl = data_acl_find(data_subs[k].name);
            cat_add(&v, &n, &cap, data_subs[k].name, sub_acl ? sub_acl : acl, parent, 0);
        }
    }
    for (size_t i = 0; i < sizeof(node_cmds) / sizeof(node_cmds[0]); i++)
        cat_add(&v, &n, &cap, node_cmds[i].name, node_cmds[i].acl, -1, 0);
    *n_out = n;
    return v;
}

const char *srv_cmd_acl_name(int argc, const data_arg *argv, char *buf, size_t cap)
{
    /* the cluster's settings, as a follower relays CONFIG SET of them: checked as that */
    if (data_arg_is(&argv[0], "config_effect")) return "config|set";
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
    const char *specs = srv_specs(name);
    for (size_t i = 0; i < N_DATA_SUBS && !*specs; i++)
        if (!strcmp(name, data_subs[i].name)) specs = data_subs[i].key_specs;
    if (!*specs) return 0;
    uint32_t *flags = malloc((size_t)argc * sizeof(uint32_t));
    SYN_ASSERT(flags != NULL);
    int n = data_keys_with_flags(name, specs, argc, argv, pos, flags, argc);
    free(flags);
    return n;
}
