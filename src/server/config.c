/* config.c — the key table behind the command line, the config file and CONFIG GET/SET. */
#include "server/config.h"

#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"
#include "net/net.h"
#include "util/assert.h"
#include "util/strconv.h"

#define SYNOD_VERSION "0.1.0"

typedef enum {
    K_INT,
    K_MEM,
    K_ADDR,
    K_PATH,
    K_FSYNC,
    K_CLUSTER,
    K_CONST,
    K_NAME,
    K_SECRET,
    K_SECRET_FILE,
    K_PASS,
    K_SAVE,
    K_CONSIST,
    K_OBUF,
    K_STR,      /* a string ("" allowed) in a char array of `max` bytes */
    K_TLSAUTH,  /* yes|no|optional */
    K_DEBUGCMD, /* enable-debug-command: no|yes|local */
    K_EVPOLICY, /* maxmemory-policy: data_evict_policy_names */
    K_NOTIFY,   /* notify-keyspace-events: Redis's class letters (data_notify_parse) */
    K_BOOL,     /* yes|no in a long long (1|0) */
    K_MEMPCT,   /* a memory size or "N%" (N <= 100, stored as -N) in a long long */
    K_PORT,     /* listen's port (an int); CONFIG SET moves the client listener (cmd_server.c) */
    K_BIND,     /* listen's host, shown as Redis's `bind` */
    K_PCTL,     /* latency-tracking-info-percentiles (srv_config_parse_percentiles) */
    K_AOFSYNC,  /* fsync as Redis's appendfsync names it (always|everysec|no), shown only */
} key_type;

/* Flags of a key. */
enum {
    K_STARTUP = 1,   /* command line and config file */
    K_RUNTIME = 2,   /* CONFIG SET */
    K_COMPAT = 4,    /* reported by CONFIG GET for Redis tools (redis-benchmark asks); fixed */
    K_IMMUTABLE = 8, /* immutable in Redis too: CONFIG SET refuses it even to its own value */
    K_HIDDEN = 16,   /* Redis's hidden configs: CONFIG GET shows it when named, not by pattern */
    K_SHARED = 32,   /* the cluster's, not this node's: CONFIG SET goes through the log */
    K_ALIAS = 64,    /* another name of the key before it with the same field */
};

typedef struct {
    const char *name;
    key_type type;
    unsigned flags;
    size_t offset; /* into srv_config; for K_ADDR the host field (the port follows it) */
    long long min, max;
    const char *help;
} key_def;

#define OFF(f) offsetof(srv_config, f)
/* K_ADDR keys find the port right after the host field */
_Static_assert(offsetof(srv_config, listen_port) ==
                   offsetof(srv_config, listen_host) + SRV_HOST_MAX,
               "listen_port must follow listen_host");
_Static_assert(offsetof(srv_config, peer_port) == offsetof(srv_config, peer_host) + SRV_HOST_MAX,
               "peer_port must follow peer_host");
/* The single table of settings. */
static const key_def keys[] = {
    {"id", K_INT, K_STARTUP, OFF(id), 1, INT_MAX, "this node's id in the cluster"},
    {"listen", K_ADDR, K_STARTUP, OFF(listen_host), 0, 0, "client address HOST:PORT"},
    {"peer-listen", K_ADDR, K_STARTUP, OFF(peer_host), 0, 0, "peer address HOST:PORT"},
    {"cluster", K_CLUSTER, K_STARTUP, 0, 0, 0, "voting members ID=HOST:PORT,..."},
    {"data-dir", K_PATH, K_STARTUP, OFF(data_dir), 0, 0, "directory for the log/snapshots"},
    {"dir", K_PATH, K_STARTUP | K_ALIAS, OFF(data_dir), 0, 0, "alias of data-dir (Redis's name)"},
    {"fsync", K_FSYNC, K_STARTUP, OFF(fsync), 0, 0, "always|batch|never"},
    {"cluster-id", K_NAME, K_STARTUP, OFF(cluster_id), 0, 0, "cluster name checked by peers"},
    {"cluster-secret", K_SECRET, K_STARTUP, OFF(cluster_secret), 0, 0,
     "shared secret peers prove in the handshake (16+ bytes)"},
    {"requirepass", K_PASS, K_STARTUP | K_RUNTIME, OFF(requirepass), 0, 0,
     "password clients give with AUTH (\"\" = none)"},
    {"cluster-secret-file", K_SECRET_FILE, K_STARTUP, OFF(cluster_secret), 0, 0,
     "file whose first line is the cluster secret"},
    {"cluster-down-timeout", K_INT, K_STARTUP | K_RUNTIME, OFF(cluster_down_timeout_ms), 0, 3600000,
     "ms a command waits for a leader before -CLUSTERDOWN"},
    {"join", K_INT, K_STARTUP, OFF(join), 0, 1, "1 = join an existing cluster as a new member"},
    {"consistency", K_CONSIST, K_STARTUP, OFF(consistency), 0, 0,
     "default reads: linearizable|lease|stale"},
    {"min-replicas-to-write", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(min_replicas_to_write),
     0, INT_MAX,
     "the leader refuses writes (-NOREPLICAS) unless this many other voters answered lately"},
    {"min-slaves-to-write", K_INT, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(min_replicas_to_write), 0, INT_MAX, "alias of min-replicas-to-write"},
    {"min-replicas-max-lag", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(min_replicas_max_lag), 0,
     INT_MAX,
     "seconds since a voter last answered the leader for it to count (min-replicas-to-write)"},
    {"min-slaves-max-lag", K_INT, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(min_replicas_max_lag), 0, INT_MAX, "alias of min-replicas-max-lag"},
    {"snapshot-count", K_INT, K_STARTUP | K_RUNTIME, OFF(snapshot_count), 1, LLONG_MAX,
     "applied entries between automatic (background) snapshots"},
    {"busy-reply-threshold", K_INT, K_STARTUP | K_RUNTIME, OFF(busy_reply_threshold_ms), 0,
     LLONG_MAX, "ms a script runs before other clients get -BUSY (0 = never)"},
    {"lua-time-limit", K_INT, K_STARTUP | K_RUNTIME | K_ALIAS, OFF(busy_reply_threshold_ms), 0,
     LLONG_MAX, "alias of busy-reply-threshold"},
    {"maxclients", K_INT, K_STARTUP | K_RUNTIME, OFF(maxclients), 1, 4294967295ll,
     "max connected clients"},
    {"proto-max-bulk-len", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED, OFF(proto_max_bulk_len),
     1024 * 1024, LLONG_MAX, "max bulk string length"},
    {"client-query-buffer-limit", K_MEM, K_STARTUP | K_RUNTIME, OFF(client_query_buffer_limit),
     1024 * 1024, LLONG_MAX, "max bytes of unprocessed input per client"},
    /* Redis accepts any hz >= 0 and clamps it to 1..500 (in srv_config_set) */
    {"hz", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(hz), 0, INT_MAX,
     "cron frequency (active expiry)"},
    {"timeout", K_INT, K_STARTUP | K_RUNTIME, OFF(timeout_s), 0, INT_MAX,
     "close clients idle this many seconds (0 = never)"},
    {"set-max-intset-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(set_max_intset_entries),
     0, LLONG_MAX, "integer sets up to this size use the compact intset encoding"},
    {"hll-sparse-max-bytes", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED, OFF(hll_sparse_max_bytes), 0,
     LONG_MAX,
     "sparse HyperLogLogs past this size turn dense (decides the bytes: same on every node)"},
    {"maxmemory", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED, OFF(maxmemory), 0, LLONG_MAX,
     "bytes (dataset + client buffers) past which the leader evicts or refuses writes (0 = none)"},
    {"maxmemory-policy", K_EVPOLICY, K_STARTUP | K_RUNTIME | K_SHARED, OFF(maxmemory_policy), 0, 0,
     "noeviction|allkeys-lru|allkeys-lfu|allkeys-random|volatile-lru|volatile-lfu|..."},
    {"maxmemory-samples", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(maxmemory_samples), 1,
     INT_MAX, "keys sampled per eviction (approximated LRU/LFU)"},
    {"maxmemory-eviction-tenacity", K_INT, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(maxmemory_tenacity), 0, 100,
     "accepted for compatibility (evictions per command are bounded by count)"},
    {"lfu-log-factor", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(lfu_log_factor), 0, INT_MAX,
     "LFU counter's logarithm factor"},
    {"lfu-decay-time", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(lfu_decay_time), 0, INT_MAX,
     "minutes per decrement of an idle key's LFU counter"},
    {"notify-keyspace-events", K_NOTIFY, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(notify_keyspace_events), 0, 0,
     "keyspace notification classes (K E g $ l s h z x e t m d n A; \"\" = off)"},
    {"tracking-table-max-keys", K_INT, K_STARTUP | K_RUNTIME, OFF(tracking_table_max_keys), 0,
     LLONG_MAX, "keys CLIENT TRACKING remembers (0 = no bound); past it, invalidated"},
    {"acllog-max-len", K_INT, K_STARTUP | K_RUNTIME, OFF(acllog_max_len), 0, LLONG_MAX,
     "entries ACL LOG keeps on this node"},
    {"log-verbose", K_INT, K_STARTUP | K_RUNTIME, OFF(log_verbose), 0, 1,
     "1 = log every connection"},
    {"client-output-buffer-limit", K_OBUF, K_STARTUP | K_RUNTIME, OFF(obuf_limits), 0, 0,
     "CLASS HARD SOFT SECONDS ...: close clients that leave replies unread"},
    /* streams: entries per node (decides what `~` trims; a leader writes its value into the
     * XADD / XTRIM entries it logs, data_set_stream_node_max_entries) */
    {"stream-node-max-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(stream_node_max_entries), 1, 100, "entries per stream node (1..100)"},
    /* lists: node size (memory layout only, never replies); compression is accepted and shown
     * but not done (nodes stay uncompressed) */
    {"list-max-listpack-size", K_INT, K_STARTUP | K_RUNTIME | K_SHARED, OFF(list_max_listpack_size),
     INT_MIN, INT_MAX, "list node bound: -1..-5 = 4..64 KB, n > 0 = n elements"},
    {"list-max-ziplist-size", K_INT, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(list_max_listpack_size), INT_MIN, INT_MAX, "alias of list-max-listpack-size"},
    {"hash-max-listpack-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(hash_max_listpack_entries), 0, LLONG_MAX, "fields a hash keeps in its packed encoding"},
    {"hash-max-ziplist-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(hash_max_listpack_entries), 0, LLONG_MAX, "alias of hash-max-listpack-entries"},
    {"hash-max-ziplist-value", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(hash_max_listpack_value), 0, LLONG_MAX, "alias of hash-max-listpack-value"},
    {"hash-max-listpack-value", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(hash_max_listpack_value), 0, LLONG_MAX,
     "longest field or value of a packed hash (at most 255 take effect)"},
    {"zset-max-listpack-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(zset_max_listpack_entries), 0, LLONG_MAX,
     "elements a sorted set keeps in its compact encoding"},
    {"zset-max-ziplist-entries", K_INT, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(zset_max_listpack_entries), 0, LLONG_MAX, "alias of zset-max-listpack-entries"},
    {"zset-max-ziplist-value", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED | K_ALIAS,
     OFF(zset_max_listpack_value), 0, LLONG_MAX, "alias of zset-max-listpack-value"},
    {"zset-max-listpack-value", K_MEM, K_STARTUP | K_RUNTIME | K_SHARED,
     OFF(zset_max_listpack_value), 0, LLONG_MAX, "longest member of a compact sorted set"},
    {"repl-backlog-size", K_MEM, K_STARTUP | K_RUNTIME, OFF(repl_backlog_size), 1, LLONG_MAX,
     "accepted for compatibility: no backlog (a lagging follower reads the WAL)"},
    {"list-compress-depth", K_INT, K_STARTUP | K_RUNTIME, OFF(list_compress_depth), 0, INT_MAX,
     "accepted for compatibility; lists are not compressed"},
    {"tls-port", K_INT, K_STARTUP, OFF(tls_port), 0, 65535,
     "client port for TLS connections on listen's host (0 = none)"},
    {"tls-cert-file", K_STR, K_STARTUP, OFF(tls_cert_file), 0, SRV_PATH_MAX,
     "PEM certificate (chain) of the TLS port"},
    {"tls-key-file", K_STR, K_STARTUP, OFF(tls_key_file), 0, SRV_PATH_MAX,
     "PEM private key of tls-cert-file"},
    {"tls-ca-cert-file", K_STR, K_STARTUP, OFF(tls_ca_cert_file), 0, SRV_PATH_MAX,
     "PEM CA certificates that client certificates are checked against"},
    {"tls-auth-clients", K_TLSAUTH, K_STARTUP, OFF(tls_auth_clients), 0, 0,
     "yes|no|optional: require a client certificate signed by the CA"},
    {"tls-protocols", K_STR, K_STARTUP, OFF(tls_protocols), 0, 64,
     "TLS versions: \"TLSv1.2 TLSv1.3\" or one of them (\"\" = both)"},
    {"tls-ciphers", K_STR, K_STARTUP, OFF(tls_ciphers), 0, 1024,
     "TLS 1.2 cipher list, OpenSSL syntax (\"\" = OpenSSL's default)"},
    {"tls-ciphersuites", K_STR, K_STARTUP, OFF(tls_ciphersuites), 0, 1024,
     "TLS 1.3 cipher suites (\"\" = OpenSSL's default)"},
    {"tls-handshake-timeout", K_INT, K_STARTUP | K_RUNTIME, OFF(tls_handshake_timeout_ms), 1,
     3600000, "ms a TLS client may take to finish its handshake"},
    {"tls-cluster", K_BOOL, K_STARTUP, OFF(tls_cluster), 0, 0,
     "yes = TLS with certificates on peer links and relays to the leader (needs tls-port)"},
    {"tls-client-cert-file", K_STR, K_STARTUP, OFF(tls_client_cert_file), 0, SRV_PATH_MAX,
     "PEM certificate this node presents when it dials (\"\" = tls-cert-file)"},
    {"tls-client-key-file", K_STR, K_STARTUP, OFF(tls_client_key_file), 0, SRV_PATH_MAX,
     "PEM private key of tls-client-cert-file"},
    {"protected-mode", K_BOOL, K_STARTUP | K_RUNTIME, OFF(protected_mode), 0, 0,
     "yes = refuse non-loopback clients while the default user has no password"},
    {"lazyfree-lazy-eviction", K_BOOL, K_STARTUP | K_RUNTIME, OFF(lazy_eviction), 0, 0,
     "free evicted keys' big values on the lazy-free thread"},
    {"lazyfree-lazy-expire", K_BOOL, K_STARTUP | K_RUNTIME, OFF(lazy_expire), 0, 0,
     "free expired keys' big values on the lazy-free thread"},
    {"lazyfree-lazy-server-del", K_BOOL, K_STARTUP | K_RUNTIME, OFF(lazy_server_del), 0, 0,
     "free values deleted or overwritten by commands on the lazy-free thread"},
    {"lazyfree-lazy-user-del", K_BOOL, K_STARTUP | K_RUNTIME, OFF(lazy_user_del), 0, 0,
     "DEL frees like UNLINK"},
    {"lazyfree-lazy-user-flush", K_BOOL, K_STARTUP | K_RUNTIME, OFF(lazy_user_flush), 0, 0,
     "FLUSHALL / FLUSHDB without SYNC or ASYNC flush asynchronously"},
    {"save", K_SAVE, K_STARTUP | K_RUNTIME, OFF(save), 0, 0,
     "Redis's RDB schedule (\"seconds changes ...\"): accepted and reported only"},
    {"appendonly", K_CONST, K_COMPAT, 0, 0, 0, "no"},
    /* Redis's immutable settings, with the value that describes synod (it never daemonizes and
     * is nobody's replica), and its hidden debugging delay (not supported: only 0) */
    {"daemonize", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "no"},
    {"enable-debug-command", K_DEBUGCMD, K_STARTUP | K_IMMUTABLE, OFF(enable_debug_command), 0, 0,
     "no|yes|local: DEBUG (SLEEP, HELP) refused, allowed, or allowed from loopback only"},
    {"enable-module-command", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "no"},
    {"replicaof", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, ""},
    {"slaveof", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, ""},
    {"key-load-delay", K_CONST, K_COMPAT | K_HIDDEN, 0, 0, 0, "0"},
    /* more of Redis's settings as they describe synod, for tools that read them: fsync by
     * appendfsync's names, no Redis Cluster, one I/O thread, the log on stderr, no pid file or
     * unix socket, the listen backlog used, TCP keepalive as Redis's default, incremental rehashing
     */
    {"appendfsync", K_AOFSYNC, K_COMPAT, OFF(fsync), 0, 0, "fsync by Redis's names"},
    {"cluster-enabled", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "no"},
    {"io-threads", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "1"},
    {"io-threads-do-reads", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "no"},
    {"logfile", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, ""},
    {"pidfile", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, ""},
    {"supervised", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "no"},
    {"unixsocket", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, ""},
    {"unixsocketperm", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "0"},
    {"tcp-backlog", K_CONST, K_COMPAT | K_IMMUTABLE, 0, 0, 0, "511"},
    {"tcp-keepalive", K_CONST, K_COMPAT, 0, 0, 0, "300"}, /* NET_KEEPALIVE_S */
    {"activerehashing", K_CONST, K_COMPAT, 0, 0, 0, "yes"},
    {"bind", K_BIND, K_COMPAT, 0, 0, 0, "listen's host (set with listen)"},
    {"port", K_PORT, K_STARTUP | K_RUNTIME, OFF(listen_port), 0, 65535,
     "listen's port; CONFIG SET moves the client listener (single-node only)"},
    {"maxmemory-clients", K_MEMPCT, K_STARTUP | K_RUNTIME, OFF(maxmemory_clients), 0, LLONG_MAX,
     "accepted and shown only (bytes or N% of maxmemory): clients are not evicted"},
    {"slowlog-log-slower-than", K_INT, K_STARTUP | K_RUNTIME, OFF(slowlog_log_slower_than), -1,
     LLONG_MAX, "us a call takes to enter SLOWLOG (-1 = never, 0 = every call)"},
    {"slowlog-max-len", K_INT, K_STARTUP | K_RUNTIME, OFF(slowlog_max_len), 0, LLONG_MAX,
     "SLOWLOG entries kept"},
    {"latency-monitor-threshold", K_INT, K_STARTUP | K_RUNTIME, OFF(latency_monitor_threshold), 0,
     LLONG_MAX, "ms an event takes to be sampled by LATENCY (0 = off)"},
    {"latency-tracking", K_BOOL, K_STARTUP | K_RUNTIME, OFF(latency_tracking), 0, 0,
     "yes = per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats)"},
    {"latency-tracking-info-percentiles", K_PCTL, K_STARTUP | K_RUNTIME,
     OFF(latency_tracking_info_percentiles), 0, 0, "percentiles INFO latencystats shows"},
    {"databases", K_INT, K_STARTUP | K_IMMUTABLE, OFF(databases), 1, DATA_DATABASES_MAX,
     "databases SELECT can choose (every node of a cluster must have the same number)"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *fsync_names[] = {"always", "batch", "never"};
static const char *consist_names[] = {"linearizable", "lease", "stale"};
static const char *tls_auth_names[] = {"no", "yes", "optional"}; /* NET_TLS_AUTH_* */
static const char *debug_cmd_names[] = {"no", "yes", "local"};   /* SRV_DEBUG_* */

void srv_config_defaults(srv_config *c)
{
    memset(c, 0, sizeof(*c));
    c->id = 1;
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 7379;
    snprintf(c->peer_host, sizeof(c->peer_host), "127.0.0.1");
    c->peer_port = 17379;
    snprintf(c->data_dir, sizeof(c->data_dir), "./synod-data");
    c->fsync = SRV_FSYNC_ALWAYS;
    snprintf(c->cluster_id, sizeof(c->cluster_id), "synod");
    c->cluster_down_timeout_ms = 3000;
    c->snapshot_count =
        1000000; /* the log is on disk (WAL), not in memory: a long interval is cheap */
    c->maxclients = 10000;
    c->busy_reply_threshold_ms = 5000; /* Redis's default */
    c->proto_max_bulk_len = 512ll * 1024 * 1024;
    c->client_query_buffer_limit = 1024ll * 1024 * 1024;
    c->hz = 10;
    c->timeout_s = 0;
    c->set_max_intset_entries = 512;
    c->databases = DATA_DATABASES_DEFAULT;
    c->min_replicas_max_lag = 10;       /* Redis's default */
    c->repl_backlog_size = 1024 * 1024; /* Redis's default */
    c->hll_sparse_max_bytes = 3000;
    c->stream_node_max_entries = 100;
    c->maxmemory_policy = DATA_EVICT_NOEVICTION;
    c->maxmemory_samples = 5;
    c->tracking_table_max_keys = 1000000;
    c->acllog_max_len = 128;
    c->maxmemory_tenacity = 10;
    c->lfu_log_factor = 10;
    c->lfu_decay_time = 1;
    c->log_verbose = 0;
    c->tls_auth_clients = 1; /* Redis's default: a client certificate is required */
    c->tls_handshake_timeout_ms = 10000;
    c->protected_mode = 1; /* Redis's default */
    /* Redis 7.0's defaults: normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60 */
    c->obuf_limits[SRV_OBUF_NORMAL] = (srv_obuf_limit){0, 0, 0};
    c->obuf_limits[SRV_OBUF_REPLICA] = (srv_obuf_limit){256ll << 20, 64ll << 20, 60};
    c->obuf_limits[SRV_OBUF_PUBSUB] = (srv_obuf_limit){32ll << 20, 8ll << 20, 60};
    c->list_max_listpack_size = -2;
    c->hash_max_listpack_entries = 512;
    c->hash_max_listpack_value = 64;
    c->zset_max_listpack_entries = 128;
    c->zset_max_listpack_value = 64;
    c->list_compress_depth = 0;
    c->slowlog_log_slower_than = 10000; /* Redis's defaults */
    c->slowlog_max_len = 128;
    c->latency_tracking = 1;
    snprintf(c->latency_tracking_info_percentiles, sizeof(c->latency_tracking_info_percentiles),
             "50 99 99.9");
}

int srv_config_parse_percentiles(const char *s, double *out, int cap)
{
    int n = 0;
    if (!*s) return 0;
    for (const char *p = s;;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        char num[64], *end;
        if (len == 0 || len >= sizeof(num) || isspace((unsigned char)p[0])) return -1;
        memcpy(num, p, len);
        num[len] = '\0';
        errno = 0;
        double v = strtod(num, &end);
        if (*end || errno == ERANGE || v != v) return -1;
        if (v < 0.0 || v > 100.0) return -2;
        if (n < cap) out[n] = v;
        n++;
        if (!sp) break;
        p = sp + 1;
    }
    return n > cap ? -1 : n;
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcasecmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

static void errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int set_secret(srv_config *c, const char *key, const char *value, char *err, size_t cap)
{
    size_t n = strlen(value);
    if (n < 16 || n > SRV_SECRET_MAX) {
        errf(err, cap, "%s: the secret must have 16 to %d bytes (it has %zu)", key, SRV_SECRET_MAX,
             n);
        return -1;
    }
    memcpy(c->cluster_secret, value, n + 1);
    return 0;
}

/* Strict decimal integer by Redis's string2ll rules (as its CONFIG SET and config file): optional
 * '-', digits, no spaces, no '+', no leading zeros, no "-0", no overflow. */
static int parse_ll(const char *s, long long *out)
{
    return syn_string2ll(s, strlen(s), out) ? 0 : -1;
}

/* Memory size as Redis writes it: 100, 1k (1000), 1kb (1024), 1m, 1mb, 1g, 1gb. */
static int parse_mem(const char *s, long long *out)
{
    size_t n = strlen(s);
    long long mul = 1;
    char num[32];
    size_t digits = n;
    static const struct {
        const char *suf;
        long long mul;
    } sufs[] = {{"kb", 1024}, {"mb", 1024 * 1024}, {"gb", 1024ll * 1024 * 1024},
                {"k", 1000},  {"m", 1000 * 1000},  {"g", 1000ll * 1000 * 1000},
                {"b", 1}};
    for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
        size_t sl = strlen(sufs[i].suf);
        if (n > sl && strcasecmp(s + n - sl, sufs[i].suf) == 0) {
            mul = sufs[i].mul;
            digits = n - sl;
            break;
        }
    }
    if (digits == 0 || digits >= sizeof(num)) return -1;
    memcpy(num, s, digits);
    num[digits] = '\0';
    long long v;
    if (parse_ll(num, &v) < 0 || v < 0) return -1;
    if (v > LLONG_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static const char *obuf_class_names[SRV_OBUF_CLASSES] = {"normal", "slave", "pubsub"};

/* Redis 7.0's memtoull: digits, then an optional unit (b, k, kb, m, mb, g, gb in any case;
 * k = 1000, kb = 1024); no sign; "" is 0; the product wraps as in Redis. */
static int parse_memtoull(const char *p, unsigned long long *out)
{
    static const struct {
        const char *unit;
        unsigned long long mul;
    } units[] = {{"", 1},        {"b", 1},           {"k", 1000},          {"kb", 1024},
                 {"m", 1000000}, {"mb", 1ull << 20}, {"g", 1000000000ull}, {"gb", 1ull << 30}};
    if (*p == '-') return -1;
    size_t digits = 0;
    while (isdigit((unsigned char)p[digits]))
        digits++;
    unsigned long long mul = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(p + digits, units[i].unit) == 0) mul = units[i].mul;
    char num[128];
    if (mul == 0 || digits >= sizeof(num)) return -1;
    memcpy(num, p, digits);
    num[digits] = '\0';
    *out = strtoull(num, NULL, 10) * mul; /* saturates at ULLONG_MAX like Redis's strtoull */
    return 0;
}

/* client-output-buffer-limit as Redis 7.0 parses it (setConfigClientOutputBufferLimitOption):
 * the value split at each single space (so doubled spaces make empty words, and a tab is not a
 * separator), in groups of four `class hard soft seconds`; class is normal, slave/replica or
 * pubsub in any case; sizes as memtoull; seconds a decimal >= 0. Only the named classes change,
 * nothing changes unless every group is valid, and "" is a no-op. `err` gets the text Redis puts
 * after "- " in its CONFIG SET error. */
static int parse_obuf(srv_config *c, const char *value, char *err, size_t cap)
{
    size_t vlen = strlen(value);
    char *copy = malloc(vlen + 1);
    const char **words = malloc(sizeof(*words) * (vlen / 2 + 2));
    int rc = -1, n = 0;
    if (!copy || !words) {
        errf(err, cap, "out of memory");
        goto out;
    }
    memcpy(copy, value, vlen + 1);
    if (vlen > 0) {
        for (char *w = copy;;) {
            char *sp = strchr(w, ' ');
            words[n++] = w;
            if (!sp) break;
            *sp = '\0';
            w = sp + 1;
        }
    }
    if (n % 4) {
        errf(err, cap, "Wrong number of arguments in buffer limit configuration.");
        goto out;
    }
    srv_obuf_limit next[SRV_OBUF_CLASSES];
    memcpy(next, c->obuf_limits, sizeof(next));
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        for (int k = 0; k < SRV_OBUF_CLASSES; k++)
            if (strcasecmp(words[i], obuf_class_names[k]) == 0) cls = k;
        if (strcasecmp(words[i], "replica") == 0) cls = SRV_OBUF_REPLICA;
        if (cls < 0) {
            errf(err, cap, "Invalid client class specified in buffer limit configuration.");
            goto out;
        }
        unsigned long long hard, soft;
        char *end;
        errno = 0;
        long long secs = strtoll(words[i + 3], &end, 10);
        int secs_range = errno == ERANGE;
        if (parse_memtoull(words[i + 1], &hard) < 0 || parse_memtoull(words[i + 2], &soft) < 0 ||
            *end || secs_range || secs < 0) {
            errf(err, cap,
                 "Error in hard, soft or soft_seconds setting in buffer limit "
                 "configuration.");
            goto out;
        }
        next[cls] = (srv_obuf_limit){hard, soft, secs};
    }
    memcpy(c->obuf_limits, next, sizeof(next));
    rc = 0;
out:
    free(copy);
    free(words);
    return rc;
}

static int parse_cluster(srv_config *c, const char *value, char *err, size_t cap)
{
    srv_member m[SRV_MEMBERS_MAX];
    int n = 0;
    const char *p = value;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[SRV_HOST_MAX + 32];
        if (len == 0 || len >= sizeof(item)) {
            errf(err, cap, "cluster: bad member '%.*s' (expected ID=HOST:PORT)", (int)len, p);
            return -1;
        }
        if (n == SRV_MEMBERS_MAX) {
            errf(err, cap, "cluster: more than %d members", SRV_MEMBERS_MAX);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        long long id;
        if (!eq) {
            errf(err, cap, "cluster: bad member '%s' (expected ID=HOST:PORT)", item);
            return -1;
        }
        *eq = '\0';
        if (parse_ll(item, &id) < 0 || id < 1 || id > INT_MAX) {
            errf(err, cap, "cluster: bad member id '%s' in '%.*s'", item, (int)len, p);
            return -1;
        }
        if (net_parse_hostport(eq + 1, m[n].host, sizeof(m[n].host), &m[n].port) < 0 ||
            m[n].port == 0) {
            errf(err, cap, "cluster: bad address '%s' for member %lld (expected HOST:PORT)", eq + 1,
                 id);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (m[i].id == id) {
                errf(err, cap, "cluster: member id %lld listed twice", id);
                return -1;
            }
        }
        m[n].id = id;
        n++;
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) {
        errf(err, cap, "cluster: empty member list");
        return -1;
    }
    memcpy(c->members, m, sizeof(m[0]) * (size_t)n);
    c->n_members = n;
    return 0;
}

int srv_config_set(srv_config *c, const char *key, const char *value, int runtime, char *err,
                   size_t cap)
{
    const key_def *k = find_key(key);
    if (runtime && k && !(k->flags & (K_RUNTIME | K_IMMUTABLE))) {
        /* a setting fixed at startup, set to the value it has: a no-op, not an error (tools
         * that write back every CONFIG GET * pair, as Redis's CONFIG sanity test; Redis's own
         * immutable settings, like databases, still refuse) */
        char cur[SRV_PATH_MAX];
        srv_config_key_value(c, (size_t)(k - keys), cur, sizeof(cur));
        if (strcmp(cur, value) == 0) return 0;
    }
    if (!k || !(k->flags & (runtime ? K_RUNTIME : K_STARTUP))) {
        if (runtime && k && (k->flags & (K_STARTUP | K_COMPAT)))
            errf(err, cap,
                 "CONFIG SET failed (possibly related to argument '%s') - can't set "
                 "immutable config",
                 k->name);
        else if (runtime)
            errf(err, cap, "Unknown option or number of arguments for CONFIG SET - '%s'", key);
        else
            errf(err, cap, "unknown key '%s'", key);
        return -1;
    }
    char *base = (char *)c;
    long long v;
    switch (k->type) {
    case K_INT:
    case K_MEM:
        if ((k->type == K_INT ? parse_ll(value, &v) : parse_mem(value, &v)) < 0) {
            if (runtime)
                errf(err, cap,
                     "CONFIG SET failed (possibly related to argument '%s') - argument %s", k->name,
                     k->type == K_MEM ? "must be a memory value"
                                      : "couldn't be parsed into an integer");
            else
                errf(err, cap, "%s: bad value '%s' (expected an integer%s)", k->name, value,
                     k->type == K_MEM ? " with an optional kb/mb/gb suffix" : "");
            return -1;
        }
        if (v < k->min || v > k->max) {
            if (runtime)
                errf(err, cap,
                     "CONFIG SET failed (possibly related to argument '%s') - argument "
                     "must be between %lld and %lld inclusive",
                     k->name, k->min, k->max);
            else
                errf(err, cap, "%s: bad value '%s' (must be between %lld and %lld)", k->name, value,
                     k->min, k->max);
            return -1;
        }
        if (k->offset == OFF(hz)) v = v < 1 ? 1 : v > 500 ? 500 : v;
        *(long long *)(base + k->offset) = v;
        return 0;
    case K_ADDR: {
        char host[SRV_HOST_MAX];
        int port;
        if (net_parse_hostport(value, host, sizeof(host), &port) < 0) {
            errf(err, cap, "%s: bad address '%s' (expected HOST:PORT)", k->name, value);
            return -1;
        }
        memcpy(base + k->offset, host, sizeof(host));
        *(int *)(base + k->offset + SRV_HOST_MAX) = port;
        return 0;
    }
    case K_PATH:
        if (!*value || strlen(value) >= SRV_PATH_MAX) {
            errf(err, cap, "%s: bad path '%s'", k->name, value);
            return -1;
        }
        snprintf(base + k->offset, SRV_PATH_MAX, "%s", value);
        return 0;
    case K_FSYNC:
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(value, fsync_names[i]) == 0) {
                c->fsync = i;
                return 0;
            }
        }
        errf(err, cap, "fsync: bad value '%s' (expected always|batch|never)", value);
        return -1;
    case K_CLUSTER: return parse_cluster(c, value, err, cap);
    case K_NAME:
        if (!*value || strlen(value) >= sizeof(c->cluster_id)) {
            errf(err, cap, "%s: bad value '%s' (1 to %zu bytes)", k->name, value,
                 sizeof(c->cluster_id) - 1);
            return -1;
        }
        snprintf(c->cluster_id, sizeof(c->cluster_id), "%s", value);
        return 0;
    case K_SECRET_FILE: {
        FILE *f = fopen(value, "r");
        char line[SRV_SECRET_MAX + 2] = "";
        if (!f) {
            errf(err, cap, "%s: cannot read '%s': %s", k->name, value, strerror(errno));
            return -1;
        }
        if (!fgets(line, sizeof(line), f)) line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        return set_secret(c, "cluster-secret-file", line, err, cap);
    }
    case K_SECRET: return set_secret(c, k->name, value, err, cap);
    case K_SAVE: {
        /* "" or pairs of non-negative integers, as Redis checks them */
        char buf[256];
        int n = 0, bad = strlen(value) >= sizeof(buf);
        snprintf(buf, sizeof(buf), "%s", value);
        char *save = NULL;
        for (char *t = strtok_r(buf, " ", &save); t && !bad; t = strtok_r(NULL, " ", &save)) {
            long long x;
            bad = parse_ll(t, &x) < 0 || x < 0;
            n++;
        }
        if (bad || n % 2) {
            if (runtime)
                errf(err, cap,
                     "CONFIG SET failed (possibly related to argument 'save') - Invalid save "
                     "parameters");
            else
                errf(err, cap, "save: bad value '%s' (pairs of seconds and changes)", value);
            return -1;
        }
        snprintf(c->save, sizeof(c->save), "%s", value);
        return 0;
    }
    case K_PASS:
        if (strlen(value) > SRV_SECRET_MAX) {
            errf(err, cap, "%s: longer than %d bytes", k->name, SRV_SECRET_MAX);
            return -1;
        }
        snprintf(c->requirepass, sizeof(c->requirepass), "%s", value);
        return 0;
    case K_CONSIST:
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(value, consist_names[i]) == 0) {
                c->consistency = i;
                return 0;
            }
        }
        errf(err, cap, "consistency: bad value '%s' (expected linearizable|lease|stale)", value);
        return -1;
    case K_OBUF: {
        char e[160];
        if (parse_obuf(c, value, e, sizeof(e)) == 0) return 0;
        if (runtime)
            errf(err, cap, "CONFIG SET failed (possibly related to argument '%s') - %s", k->name,
                 e);
        else
            errf(err, cap, "%s: bad value '%s': %s", k->name, value, e);
        return -1;
    }
    case K_STR:
        if (strlen(value) >= (size_t)k->max) {
            errf(err, cap, "%s: longer than %lld bytes", k->name, k->max - 1);
            return -1;
        }
        snprintf(base + k->offset, (size_t)k->max, "%s", value);
        return 0;
    case K_TLSAUTH:
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(value, tls_auth_names[i]) == 0) {
                c->tls_auth_clients = i;
                return 0;
            }
        }
        errf(err, cap, "%s: bad value '%s' (expected yes|no|optional)", k->name, value);
        return -1;
    case K_DEBUGCMD:
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(value, debug_cmd_names[i]) == 0) {
                c->enable_debug_command = i;
                return 0;
            }
        }
        errf(err, cap, "%s: bad value '%s' (expected no|yes|local)", k->name, value);
        return -1;
    case K_NOTIFY: {
        int flags = data_notify_parse(value, strlen(value));
        if (flags < 0) {
            if (runtime)
                errf(err, cap,
                     "CONFIG SET failed (possibly related to argument '%s') - Invalid event class "
                     "character. Use 'Ag$lshzxeKEtmdn'.",
                     k->name);
            else
                errf(err, cap, "%s: invalid event class character in '%s' (use Ag$lshzxeKEtmdn)",
                     k->name, value);
            return -1;
        }
        c->notify_keyspace_events = flags;
        return 0;
    }
    case K_EVPOLICY:
        for (int i = 0; i < DATA_EVICT_POLICIES; i++) {
            if (strcasecmp(value, data_evict_policy_names[i]) == 0) {
                c->maxmemory_policy = i;
                return 0;
            }
        }
        if (runtime)
            errf(err, cap,
                 "CONFIG SET failed (possibly related to argument '%s') - argument(s) must be one "
                 "of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
                 "allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
                 k->name);
        else
            errf(err, cap, "%s: bad value '%s' (expected noeviction, allkeys-lru, ...)", k->name,
                 value);
        return -1;
    case K_BOOL:
        if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "no") == 0) {
            *(long long *)(base + k->offset) = strcasecmp(value, "yes") == 0;
            return 0;
        }
        if (runtime)
            errf(err, cap,
                 "CONFIG SET failed (possibly related to argument '%s') - argument must be 'yes' "
                 "or 'no'",
                 k->name);
        else
            errf(err, cap, "%s: bad value '%s' (expected yes|no)", k->name, value);
        return -1;
    case K_MEMPCT: {
        /* Redis's rules: "N%" with 0 <= N <= 100, or a memory size */
        size_t n = strlen(value);
        const char *why = NULL;
        if (n > 1 && value[n - 1] == '%') {
            char num[32];
            if (n - 1 >= sizeof(num)) {
                why = "argument must be a memory or percent value";
            } else {
                memcpy(num, value, n - 1);
                num[n - 1] = '\0';
                if (parse_ll(num, &v) < 0 || v < 0)
                    why = "argument must be a memory or percent value";
                else if (v > 100)
                    why = "percentage argument must be less or equal to 100";
                else
                    v = -v;
            }
        } else if (parse_mem(value, &v) < 0 || v < 0) {
            why = "argument must be a memory or percent value";
        }
        if (why) {
            if (runtime)
                errf(err, cap, "CONFIG SET failed (possibly related to argument '%s') - %s",
                     k->name, why);
            else
                errf(err, cap, "%s: bad value '%s' (%s)", k->name, value, why);
            return -1;
        }
        *(long long *)(base + k->offset) = v;
        return 0;
    }
    case K_PORT:
        if (parse_ll(value, &v) < 0 || v < k->min || v > k->max) {
            if (runtime)
                errf(err, cap,
                     "CONFIG SET failed (possibly related to argument '%s') - argument must be "
                     "between %lld and %lld inclusive",
                     k->name, k->min, k->max);
            else
                errf(err, cap, "%s: bad value '%s' (must be between %lld and %lld)", k->name, value,
                     k->min, k->max);
            return -1;
        }
        *(int *)(base + k->offset) = (int)v;
        return 0;
    case K_PCTL: {
        double pv[16];
        int n = srv_config_parse_percentiles(value, pv, 16);
        if (n < 0) {
            const char *why = n == -2 ? "latency-tracking-info-percentiles parameters should sit "
                                        "between [0.0,100.0]"
                                      : "Invalid latency-tracking-info-percentiles parameters";
            if (runtime)
                errf(err, cap, "CONFIG SET failed (possibly related to argument '%s') - %s",
                     k->name, why);
            else
                errf(err, cap, "%s: bad value '%s': %s", k->name, value, why);
            return -1;
        }
        /* kept as CONFIG GET shows it: each "%f" without trailing zeros */
        char *o = c->latency_tracking_info_percentiles;
        size_t used = 0, room = sizeof(c->latency_tracking_info_percentiles);
        o[0] = '\0';
        for (int i = 0; i < n && used < room; i++) {
            char f[64];
            int w = snprintf(f, sizeof(f), "%f", pv[i]);
            while (w > 0 && strchr(f, '.') && f[w - 1] == '0')
                f[--w] = '\0';
            if (w > 0 && f[w - 1] == '.') f[--w] = '\0';
            w = snprintf(o + used, room - used, "%s%s", i ? " " : "", f);
            if (w < 0) break;
            used += (size_t)w;
        }
        return 0;
    }
    case K_CONST:
    case K_AOFSYNC:
    case K_BIND: break;
    }
    SYN_ASSERT(0);
    return -1;
}

size_t srv_config_key_count(void)
{
    return N_KEYS;
}

const char *srv_config_key_name(size_t i)
{
    SYN_ASSERT(i < N_KEYS);
    return keys[i].name;
}

int srv_config_key_hidden(size_t i)
{
    SYN_ASSERT(i < N_KEYS);
    return (keys[i].flags & K_HIDDEN) != 0;
}

int srv_config_key_find(const char *name)
{
    const key_def *k = find_key(name);
    return k ? (int)(k - keys) : -1;
}

int srv_config_key_shared(size_t i)
{
    return i < N_KEYS && (keys[i].flags & K_SHARED);
}

size_t srv_config_key_canonical(size_t i)
{
    if (i >= N_KEYS || !(keys[i].flags & K_ALIAS)) return i;
    for (size_t j = 0; j < N_KEYS; j++)
        if (!(keys[j].flags & K_ALIAS) && keys[j].offset == keys[i].offset &&
            keys[j].type == keys[i].type)
            return j;
    return i;
}

void srv_config_key_value(const srv_config *c, size_t i, char *out, size_t cap)
{
    SYN_ASSERT(i < N_KEYS);
    const key_def *k = &keys[i];
    const char *base = (const char *)c;
    switch (k->type) {
    case K_INT:
    case K_MEM: snprintf(out, cap, "%lld", *(const long long *)(base + k->offset)); return;
    case K_ADDR: {
        const char *host = base + k->offset;
        int port = *(const int *)(base + k->offset + SRV_HOST_MAX);
        snprintf(out, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
        return;
    }
    case K_PATH: snprintf(out, cap, "%s", base + k->offset); return;
    case K_FSYNC: snprintf(out, cap, "%s", fsync_names[c->fsync]); return;
    case K_CLUSTER: {
        size_t used = 0;
        out[0] = '\0';
        for (int m = 0; m < c->n_members && used < cap; m++) {
            const srv_member *mb = &c->members[m];
            int w = snprintf(out + used, cap - used,
                             strchr(mb->host, ':') ? "%s%lld=[%s]:%d" : "%s%lld=%s:%d",
                             m ? "," : "", mb->id, mb->host, mb->port);
            if (w < 0) break;
            used += (size_t)w;
        }
        return;
    }
    case K_CONST: snprintf(out, cap, "%s", k->help); return;
    case K_AOFSYNC: {
        static const char *const aof[3] = {"always", "everysec", "no"}; /* fsync_names' order */
        snprintf(out, cap, "%s", aof[c->fsync]);
        return;
    }
    case K_BIND: snprintf(out, cap, "%s", c->listen_host); return;
    case K_PORT: snprintf(out, cap, "%d", c->listen_port); return;
    case K_MEMPCT: {
        long long x = *(const long long *)(base + k->offset);
        snprintf(out, cap, x < 0 ? "%lld%%" : "%lld", x < 0 ? -x : x);
        return;
    }
    case K_NAME: snprintf(out, cap, "%s", c->cluster_id); return;
    case K_SECRET: snprintf(out, cap, "%s", ""); return; /* never shown: it proves membership */
    case K_PASS: snprintf(out, cap, "%s", c->requirepass); return;
    case K_SAVE: snprintf(out, cap, "%s", c->save); return;
    case K_SECRET_FILE: snprintf(out, cap, "%s", ""); return;
    case K_CONSIST: snprintf(out, cap, "%s", consist_names[c->consistency]); return;
    case K_STR:
    case K_PCTL: snprintf(out, cap, "%s", base + k->offset); return;
    case K_TLSAUTH: snprintf(out, cap, "%s", tls_auth_names[c->tls_auth_clients]); return;
    case K_DEBUGCMD: snprintf(out, cap, "%s", debug_cmd_names[c->enable_debug_command]); return;
    case K_BOOL:
        snprintf(out, cap, "%s", *(const long long *)(base + k->offset) ? "yes" : "no");
        return;
    case K_EVPOLICY: snprintf(out, cap, "%s", data_evict_policy_names[c->maxmemory_policy]); return;
    case K_NOTIFY: {
        char f[32];
        data_notify_format(c->notify_keyspace_events, f, sizeof(f));
        snprintf(out, cap, "%s", f);
        return;
    }
    case K_OBUF: {
        size_t used = 0;
        out[0] = '\0';
        for (int cls = 0; cls < SRV_OBUF_CLASSES && used < cap; cls++) {
            const srv_obuf_limit *l = &c->obuf_limits[cls];
            int w = snprintf(out + used, cap - used, "%s%s %llu %llu %lld", cls ? " " : "",
                             obuf_class_names[cls], l->hard_bytes, l->soft_bytes, l->soft_seconds);
            if (w < 0) break;
            used += (size_t)w;
        }
        return;
    }
    }
}

/* --- CONFIG REWRITE ---------------------------------------------------------------------- */

/* The first word of a config line (comments and blanks give ""), lower-cased into out. */
static void line_key(const char *line, char *out, size_t cap)
{
    size_t n = 0;
    while (isspace((unsigned char)*line))
        line++;
    while (*line && *line != '#' && !isspace((unsigned char)*line) && n + 1 < cap)
        out[n++] = (char)tolower((unsigned char)*line++);
    out[n] = '\0';
}

static void put_kv(FILE *f, const char *name, const char *value)
{
    if (!*value || strpbrk(value, " \t#"))
        fprintf(f, "%s \"%s\"\n", name, value);
    else
        fprintf(f, "%s %s\n", name, value);
}

/* Is key i worth a line in the file? Every setting except the fixed Redis-compatibility ones,
 * `join` (a one-time action, not a state) and the secret keys (they cannot change at run time;
 * their lines stay as they are, and a secret read from a file is never copied into this one). */
static int rewritable(size_t i)
{
    return (keys[i].flags & (K_STARTUP | K_RUNTIME)) && strcmp(keys[i].name, "join") != 0 &&
           keys[i].type != K_SECRET && keys[i].type != K_SECRET_FILE;
}

int srv_config_rewrite(const srv_config *c, const char *path, char *err, size_t cap)
{
    srv_config def;
    srv_config_defaults(&def);
    int seen[N_KEYS] = {0};
    char tmp[SRV_PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *in = fopen(path, "r");
    if (!in && errno != ENOENT) {
        errf(err, cap, "Rewriting config file: %s", strerror(errno));
        return -1;
    }
    FILE *out = fopen(tmp, "w");
    if (!out) {
        errf(err, cap, "Rewriting config file: %s", strerror(errno));
        if (in) fclose(in);
        return -1;
    }
    char line[8192], key[64], val[8192];
    /* existing lines stay where they are (comments too); a setting's line gets its current
     * value, a repeated one is dropped */
    while (in && fgets(line, sizeof(line), in)) {
        line_key(line, key, sizeof(key));
        const key_def *k = *key ? find_key(key) : NULL;
        size_t i = k ? (size_t)(k - keys) : N_KEYS;
        if (!k || !rewritable(i)) {
            fputs(line, out);
            if (!strchr(line, '\n')) fputc('\n', out);
            continue;
        }
        if (seen[i]++) continue;
        srv_config_key_value(c, i, val, sizeof(val));
        put_kv(out, keys[i].name, val);
    }
    int header = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!rewritable(i) || seen[i]) continue;
        char dv[8192];
        srv_config_key_value(c, i, val, sizeof(val));
        srv_config_key_value(&def, i, dv, sizeof(dv));
        if (strcmp(val, dv) == 0) continue;
        if (!header++) fputs("# Generated by CONFIG REWRITE\n", out);
        put_kv(out, keys[i].name, val);
    }
    int bad = (in && ferror(in)) || fflush(out) != 0 || fsync(fileno(out)) != 0;
    int e = errno;
    if (in) fclose(in);
    if (fclose(out) != 0 && !bad) bad = 1, e = errno;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) e = errno;
        unlink(tmp);
        errf(err, cap, "Rewriting config file: %s", strerror(e));
        return -1;
    }
    return 0;
}

/* --- command line and file --------------------------------------------------------------- */

static void print_help(void)
{
    printf("Usage: synod [--config FILE] [--id N] [--listen HOST:PORT] [--peer-listen HOST:PORT]\n"
           "             [--cluster ID=HOST:PORT,...] [--data-dir DIR] "
           "[--fsync always|batch|never]\n"
           "       synod --version | --help\n\n"
           "With no arguments: a single-node cluster, id 1, clients on 127.0.0.1:7379,\n"
           "peers on 127.0.0.1:17379, data in ./synod-data.\n\n"
           "Every key below can be given as --key VALUE or as a 'key value' line in the\n"
           "config file ('#' starts a comment); the command line overrides the file.\n\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!(keys[i].flags & K_STARTUP)) continue;
        printf("  %-27s %s%s\n", keys[i].name, keys[i].help,
               (keys[i].flags & K_RUNTIME) ? " (CONFIG SET)" : "");
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int load_file(srv_config *c, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errf(err, cap, "config: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            errf(err, cap, "config: %s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *sp = s;
        while (*sp && !isspace((unsigned char)*sp))
            sp++;
        char *value = "";
        if (*sp) {
            *sp = '\0';
            value = trim(sp + 1);
        }
        /* quoted values ("" for an empty one) */
        size_t vl = strlen(value);
        int quoted = vl >= 2 && value[0] == '"' && value[vl - 1] == '"';
        if (quoted) {
            value[vl - 1] = '\0';
            value++;
        }
        char kerr[512];
        const key_def *k = find_key(s);
        if (!*value && !quoted && k && k->type != K_CONST) {
            errf(err, cap, "config: %s:%d: key '%s' needs a value", path, lineno, s);
            rc = -1;
            break;
        }
        if (srv_config_set(c, s, value, 0, kerr, sizeof(kerr)) < 0) {
            errf(err, cap, "config: %s:%d: %s", path, lineno, kerr);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        errf(err, cap, "config: error reading '%s': %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* 127.0.0.0/8, ::1 or "localhost": only this machine can reach it. */
static int host_is_loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcasecmp(h, "localhost") == 0;
}

static int validate(srv_config *c, char *err, size_t cap)
{
    if (c->n_members > 0) {
        int self = -1;
        for (int i = 0; i < c->n_members; i++)
            if (c->members[i].id == c->id) self = i;
        if (self < 0 && !c->join) {
            errf(err, cap, "cluster: this node's id %lld is not in the member list", c->id);
            return -1;
        }
    }
    /* Peers prove a shared secret or TLS certificates before any consensus message is read; on
     * loopback a cluster may run without either (tests, make run), anywhere else the peer port
     * would believe anyone who can reach it. */
    if (!c->cluster_secret[0] && !c->tls_cluster && (c->n_members > 1 || c->join)) {
        const char *open_host = NULL;
        if (!host_is_loopback(c->peer_host)) open_host = c->peer_host;
        for (int i = 0; i < c->n_members && !open_host; i++)
            if (!host_is_loopback(c->members[i].host)) open_host = c->members[i].host;
        if (open_host) {
            errf(err, cap,
                 "cluster: peer address '%s' is not loopback and peers are not authenticated: "
                 "set tls-cluster yes (with tls-cert-file, tls-key-file, tls-ca-cert-file and "
                 "tls-port), or cluster-secret (or cluster-secret-file) to a shared secret of "
                 "16+ bytes",
                 open_host);
            return -1;
        }
    }
    if (c->tls_cluster) {
        if (!c->tls_cert_file[0] || !c->tls_key_file[0] || !c->tls_ca_cert_file[0]) {
            errf(err, cap,
                 "tls-cluster yes: set tls-cert-file, tls-key-file (this node's certificate and "
                 "key) and tls-ca-cert-file (the CA that signs every node's certificate)");
            return -1;
        }
        if (c->tls_port <= 0 && (c->n_members > 1 || c->join)) {
            errf(err, cap,
                 "tls-cluster yes: set tls-port (followers relay clients' commands to the "
                 "leader's TLS port)");
            return -1;
        }
        if (!c->cluster_secret[0] && c->tls_auth_clients == 0 && (c->n_members > 1 || c->join)) {
            errf(err, cap,
                 "tls-cluster yes without cluster-secret: followers' relays prove they are "
                 "members with their certificate, which tls-auth-clients no does not ask for; "
                 "set tls-auth-clients yes or optional, or cluster-secret (docs/security.md)");
            return -1;
        }
    }
    if (!c->tls_client_cert_file[0] != !c->tls_client_key_file[0]) {
        errf(err, cap, "tls-client-cert-file and tls-client-key-file: set both or neither");
        return -1;
    }
    if (c->tls_port > 0) {
        if (c->tls_port == c->listen_port) {
            errf(err, cap, "tls-port: %lld is also the plaintext port of listen", c->tls_port);
            return -1;
        }
        if (!c->tls_cert_file[0] || !c->tls_key_file[0]) {
            errf(err, cap,
                 "tls-port: set tls-cert-file and tls-key-file (the certificate and "
                 "key of the TLS port)");
            return -1;
        }
        if (c->tls_auth_clients != 0 && !c->tls_ca_cert_file[0]) {
            errf(err, cap,
                 "tls-auth-clients %s: set tls-ca-cert-file (the CA that signs client "
                 "certificates), or tls-auth-clients no",
                 tls_auth_names[c->tls_auth_clients]);
            return -1;
        }
    }
    /* the data directory must exist (created if missing) and be writable */
    char tmp[SRV_PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", c->data_dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) break;
        *p = '/';
    }
    if (mkdir(c->data_dir, 0755) == 0) {
        /* the new directory's entry must survive a power loss before anything inside it counts */
        snprintf(tmp, sizeof(tmp), "%s", c->data_dir);
        char *slash = strrchr(tmp, '/');
        const char *parent = slash ? (slash == tmp ? "/" : (*slash = '\0', tmp)) : ".";
        int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0) {
            errf(err, cap, "data-dir: cannot fsync the parent of '%s': %s", c->data_dir,
                 strerror(errno));
            if (dfd >= 0) close(dfd);
            return -1;
        }
        close(dfd);
    } else if (errno != EEXIST) {
        errf(err, cap, "data-dir: cannot create '%s': %s", c->data_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(c->data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        errf(err, cap, "data-dir: '%s' is not a directory", c->data_dir);
        return -1;
    }
    if (access(c->data_dir, W_OK | X_OK) < 0) {
        errf(err, cap, "data-dir: '%s' is not writable: %s", c->data_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int srv_config_parse_args(srv_config *c, int argc, char **argv, char *err, size_t cap)
{
    srv_config_defaults(c);
    /* --help/--version win; --config is loaded before the other options apply */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return SRV_CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            printf("synod %s\n", SYNOD_VERSION);
            return SRV_CONFIG_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--config", 8) != 0 || (a[8] != '\0' && a[8] != '=')) continue;
        const char *path = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
        if (!path || !*path) {
            errf(err, cap, "--config needs a file name");
            return SRV_CONFIG_ERROR;
        }
        if (load_file(c, path, err, cap) < 0) return SRV_CONFIG_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            errf(err, cap, "unexpected argument '%s' (see --help)", a);
            return SRV_CONFIG_ERROR;
        }
        char key[128];
        const char *value;
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (klen >= sizeof(key)) klen = sizeof(key) - 1;
        memcpy(key, a + 2, klen);
        key[klen] = '\0';
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            errf(err, cap, "--%s needs a value", key);
            return SRV_CONFIG_ERROR;
        }
        if (strcmp(key, "config") == 0) continue; /* loaded above */
        if (!find_key(key)) {
            errf(err, cap, "unknown option '--%s' (see --help)", key);
            return SRV_CONFIG_ERROR;
        }
        char kerr[512];
        if (srv_config_set(c, key, value, 0, kerr, sizeof(kerr)) < 0) {
            errf(err, cap, "--%s", kerr);
            return SRV_CONFIG_ERROR;
        }
    }
    if (validate(c, err, cap) < 0) return SRV_CONFIG_ERROR;
    return SRV_CONFIG_RUN;
}

/* --- glob -------------------------------------------------------------------------------- */

static int lower_if(int ch, int nocase)
{
    return nocase ? tolower(ch) : ch;
}

int srv_glob_match(const char *p, size_t plen, const char *s, size_t slen, int nocase)
{
    /* bounded recursion: one level per '*' in the pattern (patterns come from clients, so
     * consecutive stars are collapsed) */
    while (plen) {
        switch (*p) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1) return 1;
            for (size_t i = 0; i <= slen; i++)
                if (srv_glob_match(p + 1, plen - 1, s + i, slen - i, nocase)) return 1;
            return 0;
        case '?':
            if (!slen) return 0;
            s++;
            slen--;
            break;
        case '[': {
            if (!slen) return 0;
            p++;
            plen--;
            int neg = plen && *p == '^';
            if (neg) {
                p++;
                plen--;
            }
            int match = 0;
            while (plen && *p != ']') {
                if (*p == '\\' && plen >= 2) {
                    p++;
                    plen--;
                    if (*p == *s) match = 1;
                } else if (plen >= 3 && p[1] == '-') {
                    int lo = lower_if((unsigned char)p[0], nocase);
                    int hi = lower_if((unsigned char)p[2], nocase);
                    int ch = lower_if((unsigned char)*s, nocase);
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                    if (ch >= lo && ch <= hi) match = 1;
                    p += 2;
                    plen -= 2;
                } else if (lower_if((unsigned char)*p, nocase) ==
                           lower_if((unsigned char)*s, nocase)) {
                    match = 1;
                }
                p++;
                plen--;
            }
            if (neg) match = !match;
            if (!match) return 0;
            s++;
            slen--;
            if (!plen) return 0; /* unterminated class: Redis treats the end as ']' */
            break;
        }
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (!slen || lower_if((unsigned char)*p, nocase) != lower_if((unsigned char)*s, nocase))
                return 0;
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
    }
    return slen == 0;
}
