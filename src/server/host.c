/* host.c — what the replication driver (src/node) may ask of this server: the node_host
 * callback table and the node_config copied from the server's settings. The driver holds a
 * node_client inside each connection and passes the connection back as `conn`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/assert.h"

static void h_reply_raw(void *conn, const char *p, size_t len)
{
    client *c = conn;
    SRV_REPLY(c, resp_buf_append(&c->out, p, len));
    if (c->trk) srv_tracking_release(c->srv, c);
}

static void h_reply_part(void *conn, const char *p, size_t len)
{
    client *c = conn;
    if (len) SRV_REPLY(c, resp_buf_append(&c->out, p, len));
}

/* A command queued in a MULTI this follower relays that acts on the client's own connection
 * (or this node's own diagnostics: SLOWLOG, LATENCY), run here as EXEC's reply comes (fwd.c "A
 * relayed transaction's own commands"): on the leader's relay connection it would subscribe,
 * authenticate, name or pause the relay (or be refused: dispatch.c relay_breaking), or read and
 * reset the leader's diagnostics. CLIENT KILL and UNBLOCK stay relayed (they could end
 * this very client, or a blocked wait, in the middle of EXEC's reply); REPLY, TRACKING and
 * MONITOR stay refused. */
static bool is_multi_local(int argc, const data_arg *argv)
{
    static const char *const own[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                      "unsubscribe", "punsubscribe", "sunsubscribe",
                                      "auth",        "slowlog",      "latency"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (data_arg_is(&argv[0], own[i])) return true;
    static const char *const client_subs[] = {"id",       "setname",     "getname", "info",
                                              "list",     "pause",       "unpause", "no-evict",
                                              "getredir", "trackinginfo"};
    if (argc < 2 || !data_arg_is(&argv[0], "client")) return false;
    for (size_t i = 0; i < sizeof(client_subs) / sizeof(client_subs[0]); i++)
        if (data_arg_is(&argv[1], client_subs[i])) return true;
    return false;
}

static bool h_multi_local(void *conn, int argc, const data_arg *argv)
{
    if (!is_multi_local(argc, argv)) return false;
    /* the leader runs PING in its place as the client's user: one who may not is refused
     * there as before, rather than have its whole transaction aborted for a PING */
    client *c = conn;
    static const data_arg ping[1] = {{"PING", 4}};
    const char *why;
    return !srv_acl_exec_denied(c->srv, c, 1, ping, &why);
}

static void h_mark_pending(void *conn)
{
    srv_client_mark_pending(conn);
}

static void h_process(void *conn)
{
    srv_client_process(conn);
}

static void h_flush(void *host)
{
    server *s = host;
    srv_before_sleep(s->loop, s);
}

static int h_paused(void *host, int write)
{
    return srv_paused(host, write);
}

static int h_multi_count(void *conn)
{
    return ((client *)conn)->multi_n;
}

static int h_multi_next(void *conn, size_t *off, data_arg **argv, int *cap)
{
    return srv_multi_next(conn, off, argv, cap);
}

static void h_multi_reset(void *conn)
{
    srv_multi_reset(conn);
}

static void h_dispatch(void *conn, int argc, const data_arg *argv)
{
    client *c = conn;
    c->exec_dispatch = 1;
    srv_dispatch(c->srv, c, argc, argv);
    c->exec_dispatch = 0;
}

static long long h_publish(void *host, int shard, const char *ch, size_t clen, const char *msg,
                           size_t mlen)
{
    return srv_pubsub_publish(host, shard, ch, clen, msg, mlen);
}

static long long h_receivers(void *host, int shard, const char *ch, size_t clen)
{
    return srv_pubsub_receivers(host, shard, ch, clen);
}

static void h_keyspace_event(void *host, int cls, const char *event, const char *key, size_t klen)
{
    srv_pubsub_keyspace_event(host, cls, event, key, klen);
}

static void h_key_touched(void *host, const char *key, size_t len, void *writer)
{
    srv_tracking_touched(host, key, len, writer);
}

static void h_script_read(void *host, void *conn, int argc, const data_arg *argv)
{
    srv_tracking_script(host, conn, argc, argv);
}

static void h_entry_applied(void *host)
{
    srv_tracking_flush(host);
}

static bool h_write_ran(void *conn, int argc, const data_arg *argv, int phase)
{
    client *c = conn;
    return srv_stats_write_ran(c->srv, c, argc, argv, phase);
}

static void h_exec_step(void *conn, int argc, const data_arg *argv, int end)
{
    client *c = conn;
    srv_stats_exec_step(c->srv, c, argc, argv, end);
}

/* The apply of an expiry entry is the deleting half of synod's active expiry (the leader's cron
 * samples and proposes, every node deletes as it applies): it counts as expire-cycle too. */
static void h_latency(void *host, const char *event, int64_t duration_us)
{
    srv_latency_event(host, event, duration_us);
    if (strcmp(event, "expire-del") == 0) srv_latency_event(host, "expire-cycle", duration_us);
}

static bool h_hears_own(void *conn)
{
    client *c = conn;
    return c->proto == 3 && srv_pubsub_subscribed(c);
}

static bool h_observed(void *host)
{
    size_t clients, keys, items, prefixes;
    srv_tracking_stats(host, &clients, &keys, &items, &prefixes);
    return clients > 0;
}

static size_t h_out_len(void *conn)
{
    return ((client *)conn)->out.len;
}

static char *h_out_take(void *conn, size_t from, size_t *len)
{
    client *c = conn;
    *len = c->out.len > from ? c->out.len - from : 0;
    if (!*len) return NULL;
    char *p = malloc(*len);
    SYN_ASSERT(p != NULL);
    memcpy(p, c->out.data + from, *len);
    c->out.len = from;
    return p;
}

void srv_host_init(server *s)
{
    s->host = (node_host){
        .reply = &srv_client_reply_ops,
        .reply_raw = h_reply_raw,
        .mark_pending = h_mark_pending,
        .process = h_process,
        .flush = h_flush,
        .paused = h_paused,
        .multi_count = h_multi_count,
        .multi_next = h_multi_next,
        .multi_reset = h_multi_reset,
        .dispatch = h_dispatch,
        .multi_local = h_multi_local,
        .reply_part = h_reply_part,
        .scripts = s->se,
        .host = s,
        .applied_writes = &s->stats.applied_writes,
        .expired_keys = &s->stats.expired_keys,
        .evicted_keys = &s->stats.evicted_keys,
        .publish = h_publish,
        .receivers = h_receivers,
        .hears_own = h_hears_own,
        .observed = h_observed,
        .out_len = h_out_len,
        .out_take = h_out_take,
        .keyspace_event = h_keyspace_event,
        .key_touched = h_key_touched,
        .entry_applied = h_entry_applied,
        .script_read = h_script_read,
        .exec_step = h_exec_step,
        .write_ran = h_write_ran,
        .latency = h_latency,
    };
}

_Static_assert(SRV_MEMBERS_MAX <= NODE_MEMBERS_MAX, "every --cluster member fits");
_Static_assert(SRV_SECRET_MAX <= NODE_SECRET_MAX, "secrets fit");
_Static_assert((int)NODE_FSYNC_ALWAYS == (int)SRV_FSYNC_ALWAYS &&
                   (int)NODE_FSYNC_BATCH == (int)SRV_FSYNC_BATCH &&
                   (int)NODE_FSYNC_NEVER == (int)SRV_FSYNC_NEVER,
               "one fsync policy numbering");

void srv_node_config(const server *s, node_config *o)
{
    const srv_config *c = &s->cfg;
    *o = (node_config){0};
    o->id = c->id;
    snprintf(o->data_dir, sizeof(o->data_dir), "%s", c->data_dir);
    o->fsync = c->fsync;
    for (int i = 0; i < c->n_members; i++) {
        o->members[i].id = c->members[i].id;
        snprintf(o->members[i].host, sizeof(o->members[i].host), "%s", c->members[i].host);
        o->members[i].port = c->members[i].port;
    }
    o->n_members = c->n_members;
    o->join = c->join;
    snprintf(o->peer_host, sizeof(o->peer_host), "%s", c->peer_host);
    o->peer_port = c->peer_port;
    snprintf(o->cluster_id, sizeof(o->cluster_id), "%s", c->cluster_id);
    snprintf(o->cluster_secret, sizeof(o->cluster_secret), "%s", c->cluster_secret);
    snprintf(o->client_addr, sizeof(o->client_addr), "%s", s->listen_addr);
    o->tls_accept = s->peer_tls_accept;
    o->tls_dial = s->peer_tls_dial;
    if (o->tls_dial && c->tls_port > 0)
        snprintf(o->relay_addr, sizeof(o->relay_addr),
                 strchr(c->listen_host, ':') ? "[%s]:%lld" : "%s:%lld", c->listen_host,
                 c->tls_port);
    snprintf(o->requirepass, sizeof(o->requirepass), "%s", c->requirepass);
    o->cluster_down_timeout_ms = c->cluster_down_timeout_ms;
    o->snapshot_count = c->snapshot_count;
    o->min_replicas_to_write = c->min_replicas_to_write;
    o->min_replicas_max_lag = c->min_replicas_max_lag;
    /* a held loop is spoken for until a script would be declared busy (Redis's script
     * timeout), 5 s when that is off: past it the cluster may elect a leader not held */
    o->hold_ms = c->busy_reply_threshold_ms > 0 ? c->busy_reply_threshold_ms : 5000;
}
