/* config.h — synod's settings: one table of keys shared by the command line, the config file
 * and CONFIG GET/SET (DESIGN.md "Interfaces users rely on").
 *
 * Every key can be given as `--key value` (or `--key=value`) or as a `key value` line in the
 * file named by --config (`#` starts a comment); command-line values override the file.
 * Keys marked runtime can also be changed with CONFIG SET. Errors name the key and the value. */
#ifndef SYNOD_SERVER_CONFIG_H
#define SYNOD_SERVER_CONFIG_H

#include <stddef.h>

#define SRV_HOST_MAX    256
#define SRV_PATH_MAX    4096
#define SRV_MEMBERS_MAX 9 /* voting members in --cluster */
#define SRV_SECRET_MAX  512

enum { SRV_FSYNC_ALWAYS = 0, SRV_FSYNC_BATCH = 1, SRV_FSYNC_NEVER = 2 };

/* client-output-buffer-limit classes, in the order Redis 7.0 reports them. Every client is
 * `normal` today; `pubsub` applies once pub/sub lands; `slave` (alias `replica`) is accepted
 * and reported for Redis tools but has no clients (replication is Raft's). */
enum { SRV_OBUF_NORMAL = 0, SRV_OBUF_REPLICA = 1, SRV_OBUF_PUBSUB = 2, SRV_OBUF_CLASSES = 3 };

/* One class's limit on a client's unsent reply bytes; 0 = no limit. */
typedef struct {
    unsigned long long hard_bytes; /* over this: closed at once */
    unsigned long long soft_bytes; /* over this for more than soft_seconds without a break */
    long long soft_seconds;
} srv_obuf_limit;

typedef struct {
    long long id;
    char host[SRV_HOST_MAX];
    int port;
} srv_member;

typedef struct {
    long long id; /* this node's id, >= 1 */
    char listen_host[SRV_HOST_MAX];
    int listen_port;
    char peer_host[SRV_HOST_MAX];
    int peer_port;
    srv_member members[SRV_MEMBERS_MAX]; /* from --cluster; n_members == 0: just this node */
    int n_members;
    char data_dir[SRV_PATH_MAX];
    int fsync;                               /* SRV_FSYNC_* */
    char cluster_id[65];                     /* peers of another cluster id are refused */
    char cluster_secret[SRV_SECRET_MAX + 1]; /* proven by both ends of a peer link; "" = none */
    char requirepass[SRV_SECRET_MAX + 1];    /* the default user's password; "" = none (Redis) */
    char save[256]; /* Redis's RDB schedule: accepted and reported (synod's snapshots follow
                       snapshot-count), so tools and test suites that set it keep working */
    long long cluster_down_timeout_ms; /* a command waits this long for a leader */
    long long join;                    /* 1: joining an existing cluster (SYNOD MEMBER ADD) */
    int consistency;                   /* default read level: 0 linearizable, 1 lease, 2 stale */
    long long snapshot_count;          /* applied entries between automatic snapshots */
    long long busy_reply_threshold_ms; /* a script running longer: other clients get -BUSY */
    /* client TLS, with Redis's option names (docs/server.md "TLS"): a second listener on
     * listen's host; the files are loaded by srv_init, which names the key that fails */
    long long tls_port; /* 0 = no TLS listener */
    char tls_cert_file[SRV_PATH_MAX];
    char tls_key_file[SRV_PATH_MAX];
    char tls_ca_cert_file[SRV_PATH_MAX];
    int tls_auth_clients;               /* NET_TLS_AUTH_*: 0 no, 1 yes (default), 2 optional */
    int enable_debug_command;           /* SRV_DEBUG_*: 0 no (default), 1 yes, 2 local */
    char tls_protocols[64];             /* "" = TLSv1.2 TLSv1.3 */
    char tls_ciphers[1024];             /* TLS 1.2 cipher list; "" = OpenSSL's default */
    char tls_ciphersuites[1024];        /* TLS 1.3 suites; "" = OpenSSL's default */
    long long tls_handshake_timeout_ms; /* a client still in its handshake this long is closed */
    /* TLS between nodes (docs/cluster.md "TLS"): peer links and the relays to the leader's
     * tls-port, mutually authenticated with tls-cert-file / tls-key-file (or, for the dialling
     * side, tls-client-cert-file / tls-client-key-file) against tls-ca-cert-file */
    long long tls_cluster; /* 0 no, 1 yes */
    char tls_client_cert_file[SRV_PATH_MAX];
    char tls_client_key_file[SRV_PATH_MAX];
    /* runtime (CONFIG SET) */
    long long protected_mode; /* 1 (default): refuse non-loopback clients while nopass (Redis) */
    /* Redis's lazyfree-lazy-*: free these deletions' big values on the lazy-free thread */
    long long lazy_eviction, lazy_expire, lazy_server_del, lazy_user_del, lazy_user_flush;
    long long maxclients;
    long long proto_max_bulk_len;        /* bytes */
    long long client_query_buffer_limit; /* bytes */
    long long hz;                        /* server cron frequency (active expiry) */
    long long timeout_s;                 /* close clients idle this long; 0 = never */
    long long set_max_intset_entries;    /* integer sets up to this size: intset */
    long long databases;                 /* SELECT's range: 0 .. databases-1 */
    long long min_replicas_to_write, min_replicas_max_lag; /* -NOREPLICAS (node.c) */
    long long maxmemory;                                   /* 0 = no limit */
    long long maxmemory_clients; /* accepted and shown only: bytes, or -percent of maxmemory */
    int maxmemory_policy;        /* DATA_EVICT_* */
    long long maxmemory_samples, maxmemory_tenacity, lfu_log_factor, lfu_decay_time;
    int notify_keyspace_events;        /* DATA_NOTIFY_* flags */
    long long hll_sparse_max_bytes;    /* data_set_hll_sparse_max_bytes: equal on every node */
    long long stream_node_max_entries; /* data_set_stream_node_max_entries (the leader's) */
    long long tracking_table_max_keys; /* CLIENT TRACKING: keys remembered (0 = no bound) */
    long long log_verbose;             /* 1: log every connection */
    long long acllog_max_len;          /* ACL LOG entries kept (per node, as Redis) */
    srv_obuf_limit obuf_limits[SRV_OBUF_CLASSES]; /* client-output-buffer-limit */
    long long list_max_listpack_size;    /* list node bound (data_set_list_max_listpack_size) */
    long long hash_max_listpack_entries; /* data_set_hash_max_listpack */
    long long hash_max_listpack_value;
    long long zset_max_listpack_entries; /* data_set_zset_max_listpack */
    long long zset_max_listpack_value;
    long long list_compress_depth; /* accepted, not used */
    long long repl_backlog_size;   /* accepted, not used */
    /* diagnostics (slowlog.c, latency.c): this node's own */
    long long slowlog_log_slower_than;           /* us; < 0 off, 0 every call */
    long long slowlog_max_len;                   /* entries kept */
    long long latency_monitor_threshold;         /* ms; 0 = off */
    long long latency_tracking;                  /* 1: per-command histograms */
    char latency_tracking_info_percentiles[256]; /* INFO latencystats; as CONFIG GET shows it */
} srv_config;

void srv_config_defaults(srv_config *c);

/* Outcome of srv_config_parse_args. */
enum { SRV_CONFIG_RUN = 0, SRV_CONFIG_EXIT_OK = 1, SRV_CONFIG_ERROR = -1 };

/* Parses argv (loading --config first, then applying the other options in order) and
 * validates the result (addresses, cluster membership, data dir usable). On error writes a
 * message naming the key into err and returns SRV_CONFIG_ERROR; --help and --version print to
 * stdout and return SRV_CONFIG_EXIT_OK. */
int srv_config_parse_args(srv_config *c, int argc, char **argv, char *err, size_t err_cap);

/* Sets one key from its text form. `runtime` = called by CONFIG SET (only runtime keys may
 * change). Returns 0, or -1 with a message in err (Redis's CONFIG SET wording when runtime). */
int srv_config_set(srv_config *c, const char *key, const char *value, int runtime, char *err,
                   size_t err_cap);

/* Key table access for CONFIG GET: names (lower case) and current values as text. */
size_t srv_config_key_count(void);
const char *srv_config_key_name(size_t i);
/* Whether key i is one of Redis's hidden configs: CONFIG GET shows it only when named. */
int srv_config_key_hidden(size_t i);
void srv_config_key_value(const srv_config *c, size_t i, char *out, size_t out_cap);
/* The index of a key (any case; an alias is its own index), or -1. */
int srv_config_key_find(const char *name);
/* Whether key i is one of the cluster's settings (docs/cluster.md "Cluster settings"): the ones
 * a leader decides with (encodings, limits, eviction, min-replicas-*, notifications). CONFIG SET
 * of them is logged and applied on every node, and kept in snapshots. */
int srv_config_key_shared(size_t i);
/* The key an alias names (hash-max-ziplist-value -> hash-max-listpack-value); i itself if none. */
size_t srv_config_key_canonical(size_t i);

/* CONFIG REWRITE: the file at path gets the current value of every setting it mentions (other
 * lines, comments included, are kept), plus the settings that differ from their default;
 * written to path.tmp, fsync'd and renamed over path. -1 with Redis's message in err. */
int srv_config_rewrite(const srv_config *c, const char *path, char *err, size_t cap);

/* latency-tracking-info-percentiles: "p p ..." (single spaces, each 0..100; "" none) into out;
 * returns how many, or -1 if malformed (-2: one is out of range). */
int srv_config_parse_percentiles(const char *s, double *out, int cap);

/* Redis-style glob match (* ? [a-z] [^x] \x), case-insensitive when nocase. */
int srv_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
