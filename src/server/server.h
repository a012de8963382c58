/* server.h — the single-node server: client sessions over the event loop, command dispatch
 * (server commands here, data commands from src/data), crons (active expiry, idle clients).
 *
 * Internal to src/server. The flow of one request: client_on_readable appends bytes to the
 * client's query buffer, resp_parse cuts every complete request out of it, srv_dispatch runs
 * each one and appends its reply to the client's output buffer, and the loop's before-sleep
 * hook (srv_before_sleep) writes all pending output in one go. That hook is where the
 * replicated server (issue 4) will first persist the pass's log entries: a write's reply is
 * produced only once its entry is applied, so nothing leaves before it is durable.
 *
 * Replication (src/node, node/node.h): process_input asks node_route first. Writes are proposed
 * to the Raft log in their data_rewrite form and answered when applied; a client whose earlier
 * requests still wait stalls (node_client.stalled) so replies keep their order; followers relay
 * to the leader; the active expiry cycle proposes DELs on the leader only. The driver reaches
 * the clients only through the node_host table host.c hands it. */
#ifndef SYNOD_SERVER_SERVER_H
#define SYNOD_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "data/acl.h"
#include "data/data.h"
#include "net/net.h"
#include "net/tls.h"
#include "node/node.h"
#include "resp/resp.h"
#include "server/config.h"
#include "util/hist.h"
#include "util/log.h"

#define SRV_VERSION         "0.1.0"
#define SRV_REDIS_VERSION   "7.0.0" /* the Redis whose commands and replies we follow */
#define SRV_IOBUF_BYTES     (16 * 1024)
#define SRV_OUT_PAUSE_BYTES (64ll * 1024 * 1024) /* stop reading a client with this much unsent */
/* A reply being built is written to the socket as soon as this much is pending, so its first
 * bytes leave while the rest is copied (a command still runs to its end in one pass). */
#define SRV_OUT_EAGER_BYTES (256 * 1024)
#define SRV_FD_RESERVE      64 /* descriptors kept for listeners, logs, disk */

typedef struct server server;
typedef struct client client;

/* Diagnostics of one command (latency.c; see "Diagnostics" below). */
enum { SRV_DIAG_FAST = 1, SRV_DIAG_SKIP_SLOWLOG = 2, SRV_DIAG_BLOCKING = 4 };
typedef struct {
    syn_hist *hist; /* NULL until the first sample */
    unsigned flags; /* SRV_DIAG_* (srv_diag_flags) */
} srv_diag_cmd;
/* What every call reads (server.diag_hot, kept by latency.c from the settings and the tick
 * rate, refreshed by the cron). */
typedef struct {
    uint64_t ns_mult;   /* nanoseconds per tick, << 32 */
    uint64_t min_ticks; /* the lower of the SLOWLOG and latency thresholds; UINT64_MAX: both off */
    int tracking;       /* latency-tracking */
} srv_diag_hot;

enum {
    CLIENT_CLOSE_AFTER_REPLY = 1u << 0, /* QUIT, protocol error: close once output is written */
    CLIENT_CLOSE_ASAP = 1u << 1,        /* close at the next safe point, unsent output dropped */
    CLIENT_PENDING_WRITE = 1u << 2,     /* on server.pending list */
    CLIENT_PAUSED = 1u << 3,            /* output over SRV_OUT_PAUSE_BYTES: input not processed */
    CLIENT_WANT_WRITE = 1u << 4,        /* socket was full: waiting for it to become writable */
    /* CLIENT REPLY OFF / SKIP: the replies of requests sent while set are dropped, a write's
     * reply that comes when its entry is applied too (the request is marked when parsed and
     * its reply found by the stats' FIFO, stats.c), but not pub/sub messages (CLIENT_PUSHING
     * while one is built, either protocol) and confirmations (CLIENT_REPLY_FORCE), as in
     * Redis 7.0. */
    CLIENT_REPLY_OFF = 1u << 9,
    CLIENT_REPLY_SKIP = 1u << 10,      /* the command being run */
    CLIENT_REPLY_SKIP_NEXT = 1u << 11, /* the next command */
    CLIENT_PUSHING = 1u << 12,
    CLIENT_IN_INPUT = 1u << 13, /* process_input is on the stack (a busy script's caller) */
    /* a pub/sub confirmation being built: it answers its request (stats) but is never dropped
     * by CLIENT REPLY OFF / SKIP (Redis 7.0) */
    CLIENT_REPLY_FORCE = 1u << 14,
    /* a forked debugging session took the connection over (ldb.c): freed without shutting the
     * socket down or ending its TLS session */
    CLIENT_HANDED_OFF = 1u << 16,
    /* TLS clients only (client.tls != NULL) */
    CLIENT_TLS_HANDSHAKE = 1u << 6,        /* handshake not finished: no request read yet */
    CLIENT_TLS_READ_WANTS_WRITE = 1u << 7, /* a read waits for the socket to be writable */
    CLIENT_TLS_WRITE_WANTS_READ = 1u << 8, /* a write waits for the socket to be readable */
};

/* Replies. Every append to a client's output goes through SRV_REPLY (dispatch.c) or
 * srv_client_reply_begin/end (fwd.c's relayed replies): a client being closed gets nothing more
 * appended (a huge reply to a client over its output limit costs no more work), and after each
 * append srv_client_reply_end writes eagerly once SRV_OUT_EAGER_BYTES are pending, enforces
 * client-output-buffer-limit, and drops the client if the output could not be allocated. Both
 * may mark the client CLIENT_CLOSE_ASAP but never free it: it is freed at the next safe point
 * (the I/O callback or the before-sleep hook). */
int srv_client_reply_begin(client *c); /* 0: drop this reply, the client is going away */
void srv_client_reply_end(client *c);
/* Appends p[0..len), one whole RESP push (a pub/sub message) encoded for c->proto, as
 * srv_client_reply_begin / append / srv_client_reply_end with CLIENT_PUSHING would, without
 * walking it when the stats walker is at a reply boundary; marks c pending. */
void srv_client_push_raw(client *c, const char *p, size_t len);
/* Appends bytes that answer no request (an RDB transfer's file: rdb_xfer.c) without walking
 * them; eager write and output limits as any reply; marks c pending. */
void srv_client_append_raw(client *c, const char *p, size_t len);
size_t srv_client_out_pending(const client *c); /* unsent output bytes */
/* redis-cli --rdb (rdb_xfer.c): SYNC's file built by a forked writer and moved into c's output
 * as c reads it: 0 started (c->xfer set), -1 (errno) if the fork failed. _abort
 * (client freed) stops it and kills the writer; _drained (c's output all written) resumes
 * reading the writer's pipe. */
int srv_rdb_xfer_start(server *s, client *c);
void srv_rdb_xfer_abort(client *c);
void srv_rdb_xfer_drained(client *c);
/* Forked children: adopt reaps pid later if it has not exited yet (the cron reaps them without
 * waiting; at exit, reap with wait kills them first, then waits). */
void srv_child_adopt(server *s, pid_t pid);
void srv_children_reap(server *s, bool wait);
/* SCRIPT DEBUG YES|NO (SYNC refused) and a debugging client's EVAL, forked (ldb.c) */
void srv_cmd_script_debug(server *s, client *c, const data_arg *mode);
void srv_ldb_eval(server *s, client *c, int argc, const data_arg *argv);
#define SRV_REPLY(c, stmt)                                                                         \
    do {                                                                                           \
        if (srv_client_reply_begin(c)) {                                                           \
            stmt;                                                                                  \
            srv_client_reply_end(c);                                                               \
        }                                                                                          \
    } while (0)
/* Closes clients that stayed over their soft output limit too long without new output (cron). */
void srv_client_check_output_limits(server *s);
/* Redis 7.0's query buffer resize (clientsCronResizeQueryBuffer), once per client per cron
 * tick: a buffer wasting over 4 KB shrinks to what it holds when the client has been idle over
 * 2 s, or to its recent peak when it is over 32 KB and twice that peak. */
void srv_client_resize_qbuf(client *c, int64_t now_ms);

struct client {
    uint64_t id;
    int fd;
    /* NULL: plaintext. The plain path pays one predictable branch on it per read and write. */
    net_tls *tls;
    int proto;          /* 2 or 3 (HELLO) */
    bool authenticated; /* AUTH / HELLO AUTH succeeded, or the default user needed none */
    char *user;         /* the ACL user's name; NULL = "default" (acl.c) */
    /* Relays (acl.c, docs/security.md "Relays"): a follower's relay connection that proved it is
     * a cluster member (SYNOD RELAY-HELLO / RELAY-PROOF with the cluster secret, or a cluster-CA
     * certificate under tls-cluster) may switch its user without a password (RELAY-USER). */
    bool relay_proven;
    bool relay_nonce_set; /* RELAY-HELLO answered with relay_nonce: RELAY-PROOF is expected */
    uint64_t relay_follower_id;
    uint8_t relay_nonce[32];
    /* the last RELAY-USER was refused: every request gets this NOPERM until one succeeds (the
     * follower sent it for the requests behind it); NULL = none */
    char *relay_refused;
    bool pause_held; /* its next request waits for CLIENT PAUSE to end (INFO blocked_clients) */
    /* REPLCONF rdb-only 1 (redis-cli --rdb): its SYNC gets an RDB file, then the connection
     * closes (cmd_persist.c); rdb-filter-only functions: without keys */
    bool rdb_only, rdb_functions_only;
    bool rdb_capa_eof; /* REPLCONF capa eof: its file may come EOF-marked (rdb_xfer.c) */
    /* that file's transfer, while its writer runs (rdb_xfer.c): none of the client's further
     * input is run (it is still read: its end of file ends the transfer) */
    struct srv_rdb_xfer *xfer;
    unsigned flags;
    server *srv;
    /* query buffer: qbuf[0..qlen) unprocessed bytes; qlen <= client-query-buffer-limit */
    char *qbuf;
    size_t qlen, qcap;
    /* the most the buffer had to hold since the last resize check (srv_client_resize_qbuf):
     * unprocessed bytes plus what the read asked room for */
    size_t qpeak;
    resp_parser *parser;
    /* output: out.data[out_sent..out.len) not yet written (a soft resp_buf: an allocation
     * failure drops the client); the unsent bytes are what client-output-buffer-limit limits */
    resp_buf out;
    size_t out_sent;
    int64_t obuf_soft_since_ms; /* monotonic: unsent bytes over the soft limit since; 0 = not */
    char *name;                 /* CLIENT SETNAME; NULL = none */
    char addr[64], laddr[64];
    int64_t ctime_ms; /* monotonic */
    int64_t last_ms;  /* monotonic, last interaction */
    const char *last_cmd;
    client *prev, *next;                 /* server.clients */
    client *pending_prev, *pending_next; /* server.pending (flag CLIENT_PENDING_WRITE) */
    node_client nc; /* the replication driver's state of this connection (node/node.h) */
    /* MULTI (multi.c): queued commands, encoded; dirty = a queued command was refused */
    int in_multi, multi_dirty, multi_n;
    resp_buf multi;
    struct srv_client_subs *subs;    /* pub/sub subscriptions (pubsub.c); NULL = none yet */
    struct srv_client_tracking *trk; /* CLIENT TRACKING (tracking.c); NULL = off */
    struct srv_cstats *cs;           /* requests whose replies are pending, for INFO (stats.c) */
    int monitor;                     /* MONITOR: receives every command this node processes */
    int exec_dispatch;               /* running a command of an applied EXEC (host.c) */
};

#define SRV_INST_SAMPLES 16 /* Redis's STATS_METRIC_SAMPLES: the rates average this many */

typedef struct {
    uint64_t connections_received;
    uint64_t connections_rejected;
    uint64_t commands_processed;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t expired_keys;
    uint64_t evicted_keys;              /* applied evictions (maxmemory) */
    uint64_t applied_writes;            /* write commands executed: the single node's log index */
    uint64_t qbuf_limit_disconnections; /* client_query_buffer_limit_disconnections */
    uint64_t obuf_limit_disconnections; /* client_output_buffer_limit_disconnections */
    uint64_t oom_disconnections;        /* clients dropped for lack of memory */
} srv_stats;

struct server {
    srv_config cfg;
    char config_file[SRV_PATH_MAX];
    net_loop *loop;
    int listen_fd;
    char listen_addr[SRV_HOST_MAX + 16]; /* actual address after bind (port 0 resolved) */
    int tls_listen_fd;                   /* -1: no tls-port */
    net_tls_ctx *tls_ctx;                /* certificate, key and CA of the TLS port */
    net_tls_ctx *peer_tls_accept;        /* tls-cluster: accepted peer links (NULL: none) */
    net_tls_ctx *peer_tls_dial;          /* tls-cluster: dialled peer links and relays */
    int sig_fd;
    data_store *ds;
    script_engine *se;             /* Lua scripting over ds (src/script) */
    client *clients;               /* all connected clients */
    struct srv_pubsub *pubsub;     /* channels, shard channels, patterns (pubsub.c) */
    struct srv_tracking *tracking; /* client-side caching (tracking.c) */
    /* ELECTION OBSERVE (observe.c): who observes which election */
    struct srv_observer *observers;
    size_t n_observers, cap_observers;
    client *pending; /* clients with output to write in the before-sleep hook */
    long n_clients;
    uint64_t next_client_id;
    resp_limits limits;
    srv_stats stats;
    /* used memory (srv_used_memory) once the databases existed, before any data; its highest */
    unsigned long long mem_startup, mem_peak;
    int64_t start_wall_ms, start_mono_ms;
    char run_id[41];               /* INFO run_id: 40 random hex digits, new at every start */
    char executable[SRV_PATH_MAX]; /* INFO executable: this program's absolute path */
    struct srv_inst_metric {       /* INFO instantaneous_*: rates sampled by the cron */
        uint64_t last;             /* the counter at the last sample */
        double samples[SRV_INST_SAMPLES];
    } inst[3];            /* commands processed, bytes in, bytes out */
    int64_t inst_last_ms; /* monotonic time of the last sample (0: none yet) */
    int inst_idx;
    uint64_t cron_timer, expire_timer;
    /* scratch reused by every command (single thread): argv as data_arg */
    data_arg *argv;
    int argv_cap;
    /* scratch for active expiry: keys reported by data_expire_sample */
    char *exp_buf;
    size_t exp_len, exp_cap;
    size_t exp_off[32];
    size_t exp_n;
    node *node;                    /* the replication driver; never NULL while running */
    node_host host;                /* its callbacks into this server (host.c) */
    int64_t pause_end_ms;          /* CLIENT PAUSE: until this monotonic time (0 = not paused) */
    int pause_all;                 /* ALL (every data command waits) or WRITE (only writes wait) */
    struct srv_stats_tab *cstats;  /* INFO commandstats, errorstats (stats.c) */
    struct srv_slowlog *slowlog;   /* SLOWLOG (slowlog.c) */
    struct srv_diag *diag;         /* latency histograms and monitor (latency.c) */
    srv_diag_hot diag_hot;         /* ... what each call reads of it */
    struct srv_lazyfree *lazyfree; /* the thread freeing big values (lazyfree.c) */
    struct srv_acl *acl;           /* the ACL catalog and this node's ACL LOG (acl.c) */
    struct srv_settings *settings; /* CONFIG SET of the cluster's settings (cmd_server.c) */
    long n_monitors;               /* clients in MONITOR mode */
    /* a script running past busy-reply-threshold (busy.c): its hook serves the clients */
    int busy;                         /* clients get -BUSY */
    const script_run_info *busy_info; /* the run, while the hook serves clients */
    uint64_t busy_run;                /* run_id the hook last saw (0: none) */
    int64_t busy_start_ms;            /* monotonic: when that run was first seen */
    int busy_kill;                    /* SCRIPT KILL / FUNCTION KILL accepted for it */
    data_arg *busy_argv; /* the argv scratch of requests served while busy (the run's caller */
    int busy_argv_cap;   /* may be using argv: its command runs the script) */
    /* forked children not reaped yet: RDB writers that ended or were killed (rdb_xfer.c),
     * debugging sessions (ldb.c) */
    pid_t *children;
    int n_children, cap_children;
};

/* lifecycle (server.c) */
int srv_init(server *s, const srv_config *cfg, const char *config_file);
int srv_run(server *s);
void srv_deinit(server *s);

/* clients (client.c) */
void srv_client_accept_cb(net_loop *l, int fd, int events, void *ctx);
void srv_client_tls_accept_cb(net_loop *l, int fd, int events, void *ctx); /* tls-port */
void srv_client_free(client *c);
/* One poll of the client sockets and listeners only (a busy script: busy.c). */
void srv_client_poll_busy(server *s);
/* busy.c: the script engine's busy hook, and one request answered while it is busy. */
int srv_script_busy(void *ctx, const script_run_info *ri);
void srv_busy_request(server *s, client *c, int argc, const data_arg *argv);
void srv_client_mark_pending(client *c);

/* ELECTION OBSERVE (observe.c). filter: 1 handled here, -1 stall (earlier replies pending), 0
 * not OBSERVE. */
void srv_observe_init(server *s);
int srv_observe_filter(server *s, client *c, int argc, const data_arg *argv);
void srv_observe_drop(server *s, client *c);
void srv_observe_deinit(server *s);
/* Pub/sub (pubsub.c; docs/server.md "Pub/sub"): local subscriptions; messages come from the
 * node's apply path (host.c) as srv_pubsub_publish / srv_pubsub_keyspace_event. */
void srv_pubsub_init(server *s);
void srv_pubsub_deinit(server *s);
void srv_pubsub_drop(server *s, client *c); /* at close and RESET: every subscription, silently */
int srv_pubsub_subscribed(const client *c);
void srv_pubsub_counts(const client *c, size_t *sub, size_t *psub, size_t *ssub);
void srv_pubsub_stats(const server *s, size_t *channels, size_t *patterns, size_t *shard);
long long srv_pubsub_publish(server *s, int shard, const char *ch, size_t clen, const char *msg,
                             size_t mlen);
void srv_pubsub_keyspace_event(server *s, int cls, const char *event, const char *key, size_t klen);
/* what srv_pubsub_publish would return now, delivering nothing */
long long srv_pubsub_receivers(const server *s, int shard, const char *ch, size_t clen);
/* RESP2 subscribed mode: 1 if the command was refused (answered) */
int srv_pubsub_gate(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_subscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_unsubscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_psubscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_punsubscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_ssubscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_sunsubscribe(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_channels(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_numsub(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_numpat(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_shardchannels(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_shardnumsub(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_pubsub_help(server *s, client *c, int argc, const data_arg *argv);
/* The command's full name ("get", "client|id") if it is known with a valid arity, else NULL. */
const char *srv_cmd_fullname(int argc, const data_arg *argv);
/* Client-side caching (tracking.c): read keys remembered as requests are routed, invalidations
 * from applied entries (host.c), sent at the end of each entry. */
void srv_tracking_init(server *s);
void srv_tracking_deinit(server *s);
void srv_tracking_drop(server *s, client *c); /* at close and RESET */
void srv_tracking_request(server *s, client *c, int argc, const data_arg *argv);
void srv_tracking_script(server *s, client *c, int argc, const data_arg *argv);
void srv_tracking_touched(server *s, const char *key, size_t len, client *writer);
void srv_tracking_flush(server *s);
/* After a relayed reply reached c: the invalidations held for it (through a follower, of an
 * entry applied before the reply came) follow it now. */
void srv_tracking_release(server *s, client *c);
void srv_tracking_bound(server *s); /* tracking-table-max-keys: evict with invalidations */
void srv_tracking_stats(const server *s, size_t *clients, size_t *keys, size_t *items,
                        size_t *prefixes);
void srv_cmd_client_tracking(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_caching(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_getredir(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_trackinginfo(server *s, client *c, int argc, const data_arg *argv);
void srv_before_sleep(net_loop *l, void *ctx);
void srv_client_list_line(const client *c, char *out, size_t cap);
void srv_client_process(client *c); /* runs the requests in c's query buffer (node.c) */

/* dispatch and replies (dispatch.c) */
void srv_dispatch(server *s, client *c, int argc, const data_arg *argv);
size_t srv_cmd_count(void);
void srv_cmd_reply_all(client *c, int docs);
int64_t srv_now_ms(void);

void srv_reply_status(client *c, const char *s);
void srv_reply_error(client *c, const char *s);
void srv_reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_reply_int(client *c, long long v);
/* INFO used_memory: the dataset's bytes + client buffers (what maxmemory is compared with) */
unsigned long long srv_used_memory(server *s); /* also moves the peak (mem_peak) */
/* ... what maxmemory judges: without RDB transfers' output (INFO mem_not_counted_for_evict) */
unsigned long long srv_memory_for_evict(server *s);
void srv_inst_sample(server *s); /* the cron's sample of INFO's instantaneous_* rates */
void srv_mem_host(void *ctx, data_mem_host *out); /* MEMORY STATS's host figures (data.h) */
void srv_reply_bulk(client *c, const char *p, size_t len);
void srv_reply_cstr(client *c, const char *s); /* bulk */
void srv_reply_null(client *c);
void srv_reply_array(client *c, size_t n);
void srv_reply_map(client *c, size_t n_pairs);
void srv_reply_set(client *c, size_t n);
void srv_reply_verbatim(client *c, const char *p, size_t len);
extern const data_reply_ops srv_client_reply_ops;

/* command handlers (cmd_conn.c, cmd_server.c) */
typedef void (*srv_cmd_fn)(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_ping(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_echo(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_hello(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_auth(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_select(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_quit(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_reset(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_id(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_setname(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_getname(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_list(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_info(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_kill(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_unblock(server *s, client *c, int argc, const data_arg *argv);
/* Answers the error Redis would (unknown command, subcommand, arity) and returns -1, or 0 if
 * the command would run. For MULTI's queueing. */
int srv_cmd_check(server *s, client *c, int argc, const data_arg *argv);

/* multi.c: MULTI/EXEC/DISCARD. srv_multi_filter sees every command first: MULTI_DONE = it
 * answered (queued, or MULTI/DISCARD/an error), MULTI_EXEC = run the transaction (node_exec),
 * MULTI_PASS = not its business. srv_multi_next decodes queued command by command from *off
 * into a growing argv; returns argc or -1 at the end. */
enum { MULTI_PASS = 0, MULTI_DONE = 1, MULTI_EXEC = 2, MULTI_STALL = 3 /* re-run later */ };
int srv_multi_filter(server *s, client *c, int argc, const data_arg *argv);
void srv_multi_reset(client *c);
int srv_multi_has_write(const client *c);   /* a queued command may modify the dataset */
int srv_multi_has_denyoom(const client *c); /* a queued command may grow memory */
int srv_multi_next(const client *c, size_t *off, data_arg **argv, int *cap);
void srv_multi_acl_recheck(server *s, client *c); /* at EXEC: ACL changed since queueing */
void srv_cmd_client_pause(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_unpause(server *s, client *c, int argc, const data_arg *argv);
/* CLIENT PAUSE in force for this command? (write: it may modify the dataset) */
int srv_paused(server *s, int write);
/* Whether CLIENT PAUSE WRITE holds this command (Redis's write and may-replicate commands). */
int srv_pause_write_cmd(server *s, int argc, const data_arg *argv);
/* Clients whose request waits for CLIENT PAUSE to end: Redis counts them as blocked. */
size_t srv_pause_held_clients(server *s);
/* Whether a queued transaction holds a command that CLIENT PAUSE WRITE holds. */
int srv_multi_has_pause_write(server *s, const client *c);
void srv_cmd_client_no_evict(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_reply(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_client_help(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_count(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_docs(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_info(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_list(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_help(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_getkeys(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_command_getkeysandflags(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_info(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_config_get(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_config_set(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_config_help(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_config_resetstat(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_config_rewrite(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_time(server *s, client *c, int argc, const data_arg *argv);
/* lazyfree.c: the thread that frees UNLINK's and FLUSH ASYNC's big values (started at init,
 * fed and reported from the cron, joined before the store is destroyed) */
void srv_lazyfree_start(server *s);
void srv_lazyfree_cron(server *s);
void srv_lazyfree_stop(server *s);
/* cmd_persist.c: SAVE BGSAVE BGREWRITEAOF LASTSAVE SHUTDOWN ROLE */
void srv_cmd_save(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_bgsave(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_bgrewriteaof(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_lastsave(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_shutdown(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_role(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_replicaof(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_failover(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_sync(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_asking(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_lolwut(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_debug(server *s, client *c, int argc, const data_arg *argv);
/* DEBUG (unless enable-debug-command allows this client), MODULE LOAD/LOADEX/UNLOAD (Redis's
 * protected commands): refused before MULTI queues them (1: answered) */
int srv_cmd_protected_refused(const server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_module_list(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_module_load(server *s, client *c, int argc, const data_arg *argv);
void srv_cmd_module_help(server *s, client *c, int argc, const data_arg *argv);
/* 1 if the server command argv[0] may not be queued in MULTI (Redis's no_multi flag) */
int srv_cmd_no_multi(const data_arg *name);
/* The key specs of the data container subcommand argv names (OBJECT ENCODING ...), and its full
 * name ("object|encoding"); NULL if it is none */
const char *srv_data_sub_specs(int argc, const data_arg *argv, const char **full_name);
/* EVAL*, FCALL*, SCRIPT and FUNCTION run here only when the node answers them locally (help,
 * errors, stale or sole-voter reads); writes reach the engine through the log (dispatch.c). */
void srv_cmd_scripting(server *s, client *c, int argc, const data_arg *argv);

/* stats.c: INFO commandstats / errorstats / total_error_replies and MONITOR (docs/server.md
 * "Introspection"). process_input brackets every parsed request with srv_stats_begin and
 * srv_stats_end (consumed: not left for a later pass; sync: answered by now if at all), and
 * marks with srv_stats_phase whether what follows runs it (call) or refuses it, or queues it in
 * MULTI; srv_client_reply_begin/end feed every appended reply to the walker, which charges an
 * error to the request the reply answers. */
void srv_stats_init(server *s);
void srv_stats_deinit(server *s);
void srv_stats_reset(server *s); /* CONFIG RESETSTAT */
void srv_stats_client_free(client *c);
void srv_stats_begin(server *s, client *c, int argc, const data_arg *argv);
void srv_stats_phase(client *c, int call, int queued);
/* EVAL & co. are shown by MONITOR before the commands their script runs, as Redis does */
void srv_stats_feed_script(server *s, client *c, int argc, const data_arg *argv);
void srv_stats_set_inner(server *s, client *c); /* EXEC: its queued commands, before node_exec */
void srv_stats_end(server *s, client *c, int consumed, int sync, int argc, const data_arg *argv);
void srv_stats_reply_begin(client *c);
void srv_stats_flush(client *c); /* end of a pass over c's input: the next one reads the clock */
int srv_stats_reply_end(server *s, client *c); /* 1: the reply was dropped */
void srv_stats_reply_on(client *c);            /* CLIENT REPLY ON: its own +OK is not dropped */
/* 1: c's output ends on a whole top-level reply, so a whole push appended now answers no request
 * and walking it would change nothing (srv_client_push_raw skips the walk) */
int srv_stats_at_boundary(const client *c);
void srv_stats_info_commandstats(server *s, resp_buf *b);
void srv_stats_info_errorstats(server *s, resp_buf *b);
uint64_t srv_stats_total_error_replies(const server *s);
void srv_monitor_feed(server *s, client *from, int argc, const data_arg *argv);
int srv_monitor_gate(client *c, int argc, const data_arg *argv);
void srv_cmd_monitor(server *s, client *c, int argc, const data_arg *argv);
/* The name commandstats charges a request to ("get", "config|set"), NULL for an unknown
 * command or subcommand; *arity_ok: its arity is right; *flags: SRV_STAT_ADMIN (not shown by
 * MONITOR: admin commands, QUIT), SRV_STAT_SIMPLE (the name depends on argv[0] alone, whose
 * arity is then *arity); buf holds a built name ("object|encoding"). */
enum { SRV_STAT_ADMIN = 1, SRV_STAT_SIMPLE = 2 };
const char *srv_cmd_stat_name(int argc, const data_arg *argv, int *arity_ok, int *flags, int *arity,
                              char *buf, size_t cap);

/* Diagnostics (docs/server.md "Diagnostics"): SLOWLOG (slowlog.c), LATENCY and the per-command
 * latency histograms (latency.c), this node's own. stats.c times every call with its cycle
 * counter and hands the ticks to srv_diag_call (with the command's srv_diag_cmd, kept in its
 * commandstats slot): the histogram sample, and past the thresholds a SLOWLOG entry and a latency
 * sample. It returns 1 when the entry must wait for the reply (defer: a blocking command not
 * answered yet, logged when served); orig: the first two arguments as sent (NULL: argv's); c
 * NULL: a command a script ran. */
void srv_diag_init(server *s); /* after srv_stats_init */
void srv_diag_deinit(server *s);
void srv_diag_config(server *s); /* settings changed, or the cron: thresholds in ticks */
int srv_diag_slow(server *s, client *c, srv_diag_cmd *dc, uint64_t ticks, int argc,
                  const data_arg *argv, const data_arg *orig, int defer);
void srv_diag_hist_new(srv_diag_cmd *dc);
void srv_diag_cmd_reset(srv_diag_cmd *dc); /* CONFIG RESETSTAT: the histogram goes */
unsigned srv_diag_flags(const char *fullname);
/* A latency monitor event (expire-cycle, expire-del, ...) that lasted duration_us. */
void srv_latency_event(server *s, const char *event, int64_t duration_us);
void srv_latency_info(server *s, resp_buf *b); /* INFO latencystats */
void srv_cmd_latency(server *s, client *c, int argc, const data_arg *argv);
void srv_slowlog_init(server *s);
void srv_slowlog_deinit(server *s);
/* Logs a call (args trimmed and redacted as Redis; peer and name from c; c NULL: a command a
 * script ran, shown as Redis's Lua client "?:0"). */
void srv_slowlog_push(server *s, client *c, int argc, const data_arg *argv, long long duration_us);
void srv_cmd_slowlog(server *s, client *c, int argc, const data_arg *argv);
/* Is argument i of argv shown as "(redacted)" (MONITOR, SLOWLOG; stats.c)? Redis 7.0: AUTH's,
 * HELLO ... AUTH's credentials, ACL SETUSER's from the user name on, CONFIG SET's values of
 * requirepass, masterauth, masteruser. */
int srv_redacted(int argc, const data_arg *argv, int i);
/* stats.c's clock: microseconds per tick; fn for every commandstats slot (its full name and
 * diagnostics); EXEC's commands as they run (end 0 before, 1 after: host.c) */
double srv_stats_us_per_tick(const server *s);
void srv_stats_each(server *s, void (*fn)(void *ctx, const char *name, srv_diag_cmd *dc),
                    void *ctx);
void srv_stats_exec_step(server *s, client *c, int argc, const data_arg *argv, int end);
bool srv_stats_write_ran(server *s, client *c, int argc, const data_arg *argv, int phase);
/* 1 if the server command fullname ("config|set") has the COMMAND flag (dispatch.c) */
int srv_cmd_has_flag(const char *fullname, const char *flag);
/* A help reply: one status line per string, NULL-terminated (cmd_conn.c) */
void srv_reply_help(client *c, const char *const *lines);

/* ACL (acl.c, cmd_acl.c; docs/security.md). Users are the data layer's replicated table; a
 * client holds its user's name (srv_acl_username). srv_acl_gate checks a request before it is
 * queued or routed (1: refused and answered); srv_acl_rewrite turns ACL SETUSER / DELUSER into
 * their logged form in place; srv_acl_exec_denied re-checks a queued command at EXEC. */
void srv_acl_init(server *s);  /* after s->ds exists, before anything is applied */
void srv_acl_start(server *s); /* the apply hook that closes clients of changed users */
void srv_acl_deinit(server *s);
const char *srv_acl_username(const client *c, size_t *len);
void srv_acl_client_free(client *c);
int srv_acl_default_nopass(const server *s);       /* new connections need no AUTH */
int srv_acl_default_passwordless(const server *s); /* nopass, on or off: AUTH <pass> refused */

/* protected-mode (Redis 7.0, protect.c): a new client at addr ("ip:port" as net_tcp_accept
 * writes it) is refused with srv_protected_denied when protected mode is on, the default user
 * has no password (nopass, requirepass unset) and addr is not 127.0.0.1 or ::1. */
int srv_protected_refuses(int protected_mode, int default_nopass, const char *addr);
/* addr ("ip:port", "[v6]:port") is in 127.0.0.0/8 or ::1 (protect.c) */
int srv_addr_is_loopback(const char *addr);
extern const char srv_protected_denied[]; /* Redis's -DENIED text, with CRLF */
int srv_acl_auth_required(const server *s, const client *c);
int srv_acl_auth(server *s, client *c, const data_arg *user, const data_arg *pass); /* 0 / -1 */
void srv_acl_reset_user(server *s, client *c);
int srv_acl_gate(server *s, client *c, int argc, const data_arg *argv);
/* SYNOD RELAY-HELLO / RELAY-PROOF / RELAY-USER (a follower's relay proving it is a member and
 * naming the user of the requests that follow): answered here, before the AUTH and ACL gates.
 * 1 if argv was one of them (answered), else 0. */
int srv_acl_relay_cmd(server *s, client *c, int argc, const data_arg *argv);
int srv_acl_exec_denied(server *s, client *c, int argc, const data_arg *argv, const char **reason);
void srv_acl_rewrite(server *s, int argc, data_arg *argv);
/* EVAL & co. of a restricted user as `ACL_AS user EVAL ...` (argv itself otherwise; the result
 * is valid until the next call) */
const data_arg *srv_acl_script_wrap(server *s, client *c, int *argc, const data_arg *argv);
/* CONFIG SET of any of the cluster's settings (srv_config_key_shared) -> CONFIG_EFFECT with those
 * (their own names, their values as CONFIG GET shows them), routed like any write so every node
 * applies them in log order; this node's settings in the same request are set at once. argv
 * itself when it is no such request, is invalid (CONFIG SET answers the error) or would move the
 * listener; inside MULTI, only when every setting is the cluster's. */
const data_arg *srv_config_route(server *s, client *c, int *argc, const data_arg *argv);
void srv_settings_init(server *s);   /* the store's hook: before any entry or snapshot is applied */
void srv_settings_deinit(server *s); /* after the store */
int srv_acl_check_user(server *s, const acl_user *u, int argc, const data_arg *argv, int *idx,
                       const char **name, char *buf, size_t cap);
void srv_acl_log_reset(server *s);
void srv_acl_reply_log(server *s, client *c, long long count);
const acl_catalog *srv_acl_catalog(const server *s);
void srv_acl_genpass(char *out, size_t chars);
void srv_cmd_acl(server *s, client *c, int argc, const data_arg *argv);
/* dispatch.c: the catalog of every command and subcommand with its ACL categories (the caller
 * owns the array and its names); a request's full name for ACL (NULL: unknown command or
 * subcommand, or a wrong arity: its own error comes first); the keys of the server's commands
 * that have some (argv indexes into pos, room for argc) */
acl_cmd *srv_cmd_catalog(size_t *n);
const char *srv_cmd_acl_name(int argc, const data_arg *argv, char *buf, size_t cap);
int srv_cmd_server_keys(const char *name, int argc, const data_arg *argv, int *pos);
/* pubsub.c: ok() for every subscription of c (pattern: a PSUBSCRIBE one); 0 at the first no */
int srv_pubsub_each(const client *c, int (*ok)(void *ctx, const char *ch, size_t len, int pattern),
                    void *ctx);

/* apply a changed runtime setting (server.c) */
void srv_config_applied(server *s);
/* CONFIG SET port: listens on port (listen's host) instead, or says why not (nothing changed). */
const char *srv_move_listener(server *s, int port);

/* host.c: the replication driver's view of this server (node_host, node_config). */
void srv_host_init(server *s);
void srv_node_config(const server *s, node_config *out);

/* crons (cron.c) */
int64_t srv_cron(net_loop *l, uint64_t id, void *ctx);
int64_t srv_expire_cron(net_loop *l, uint64_t id, void *ctx);

/* srv_diag_call's common case, inline on every call's path: the histogram sample (a multiply,
 * a count of leading zeros, an increment), then the thresholds. */
static inline uint64_t srv_diag_ns(const server *s, uint64_t ticks)
{
#ifdef __SIZEOF_INT128__
    return (uint64_t)(((unsigned __int128)ticks * s->diag_hot.ns_mult) >> 32);
#else
    return (uint64_t)((double)ticks * ((double)s->diag_hot.ns_mult / 4294967296.0));
#endif
}

static inline int srv_diag_call(server *s, client *c, srv_diag_cmd *dc, uint64_t ticks, int argc,
                                const data_arg *argv, const data_arg *orig, int defer)
{
    if (s->diag_hot.tracking) {
        if (!dc->hist) srv_diag_hist_new(dc);
        if (dc->hist) syn_hist_add(dc->hist, srv_diag_ns(s, ticks));
    }
    if (ticks < s->diag_hot.min_ticks) return 0;
    return srv_diag_slow(s, c, dc, ticks, argc, argv, orig, defer);
}

#endif
