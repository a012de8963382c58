/* server.c — server lifecycle: listen, signals, crons, run, shutdown. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/node.h"
#include "server/server.h"
#include "util/assert.h"

static void on_signal(net_loop *l, int fd, int events, void *ctx)
{
    (void)events;
    (void)ctx;
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof(si));
    if (n != (ssize_t)sizeof(si)) return;
    syn_log(SYN_LOG_WARN, "received %s, shutting down", strsignal((int)si.ssi_signo));
    net_loop_stop(l);
}

void srv_config_applied(server *s)
{
    s->limits.max_bulk_len = s->cfg.proto_max_bulk_len;
    if (s->diag) srv_diag_config(s); /* SLOWLOG / LATENCY thresholds */
    s->limits.max_multibulk_len = RESP_DEFAULT_MAX_MULTIBULK_LEN;
    if (s->ds) data_set_max_string_bytes(s->ds, s->cfg.proto_max_bulk_len);
    if (s->ds)
        data_set_lazyfree_policy(s->ds, (s->cfg.lazy_user_del ? DATA_LAZY_USER_DEL : 0) |
                                            (s->cfg.lazy_user_flush ? DATA_LAZY_USER_FLUSH : 0) |
                                            (s->cfg.lazy_expire ? DATA_LAZY_EXPIRE : 0) |
                                            (s->cfg.lazy_eviction ? DATA_LAZY_EVICTION : 0) |
                                            (s->cfg.lazy_server_del ? DATA_LAZY_SERVER_DEL : 0));
    if (s->ds) data_set_list_max_listpack_size(s->ds, s->cfg.list_max_listpack_size);
    if (s->ds)
        data_set_hash_max_listpack(s->ds, s->cfg.hash_max_listpack_entries,
                                   s->cfg.hash_max_listpack_value);
    if (s->ds) data_set_max_intset_entries(s->ds, s->cfg.set_max_intset_entries);
    if (s->ds) data_set_hll_sparse_max_bytes(s->ds, s->cfg.hll_sparse_max_bytes);
    if (s->ds) data_set_stream_node_max_entries(s->ds, s->cfg.stream_node_max_entries);
    if (s->ds) data_set_notify_flags(s->ds, s->cfg.notify_keyspace_events);
    if (s->ds)
        data_set_eviction(s->ds, s->cfg.maxmemory_policy, (int)s->cfg.maxmemory_samples,
                          (int)(s->cfg.lfu_log_factor > INT_MAX ? INT_MAX : s->cfg.lfu_log_factor),
                          (int)(s->cfg.lfu_decay_time > INT_MAX ? INT_MAX : s->cfg.lfu_decay_time));
    if (s->ds)
        data_set_zset_max_listpack(s->ds, s->cfg.zset_max_listpack_entries,
                                   s->cfg.zset_max_listpack_value);
    for (client *c = s->clients; c; c = c->next)
        resp_parser_set_limits(c->parser, &s->limits);
    if (s->tracking) srv_tracking_bound(s);
    if (s->node) {
        node_config nc;
        srv_node_config(s, &nc);
        node_set_config(s->node, &nc);
    }
}

/* The TLS port: the files are loaded first, so a bad certificate or key stops the start with
 * the key's name before anything listens. */
static int listen_tls(server *s)
{
    const srv_config *c = &s->cfg;
    net_tls_opts o = {
        .cert_file = c->tls_cert_file,
        .key_file = c->tls_key_file,
        .ca_cert_file = c->tls_ca_cert_file,
        .auth_clients = c->tls_auth_clients,
        .protocols = c->tls_protocols,
        .ciphers = c->tls_ciphers,
        .ciphersuites = c->tls_ciphersuites,
    };
    char err[512];
    s->tls_ctx = net_tls_ctx_create(&o, err, sizeof(err));
    if (!s->tls_ctx) {
        fprintf(stderr, "synod: %s\n", err);
        return -1;
    }
    int fd = net_tcp_listen(c->listen_host, (int)c->tls_port, 511);
    if (fd < 0) {
        fprintf(stderr, "synod: tls-port: listen %s:%lld: %s\n", c->listen_host, c->tls_port,
                fd == -EADDRNOTAVAIL ? "address not available on this host" : strerror(-fd));
        return -1;
    }
    s->tls_listen_fd = fd;
    return net_loop_watch(s->loop, fd, NET_READABLE, srv_client_tls_accept_cb, s);
}

/* tls-cluster: the contexts of peer links and relays. Accepted links require a certificate
 * signed by tls-ca-cert-file; dialled ones present tls-client-cert-file (tls-cert-file if unset)
 * and verify the other node's against the same CA. */
static int peer_tls(server *s)
{
    const srv_config *c = &s->cfg;
    net_tls_opts o = {
        .cert_file = c->tls_cert_file,
        .key_file = c->tls_key_file,
        .ca_cert_file = c->tls_ca_cert_file,
        .auth_clients = NET_TLS_AUTH_YES,
        .protocols = c->tls_protocols,
        .ciphers = c->tls_ciphers,
        .ciphersuites = c->tls_ciphersuites,
    };
    char err[512];
    s->peer_tls_accept = net_tls_ctx_create(&o, err, sizeof(err));
    if (s->peer_tls_accept) {
        o.client = 1;
        if (c->tls_client_cert_file[0]) {
            o.cert_file = c->tls_client_cert_file;
            o.key_file = c->tls_client_key_file;
            o.cert_option = "tls-client-cert-file";
            o.key_option = "tls-client-key-file";
        }
        s->peer_tls_dial = net_tls_ctx_create(&o, err, sizeof(err));
    }
    if (!s->peer_tls_dial) {
        fprintf(stderr, "synod: tls-cluster: %s\n", err);
        return -1;
    }
    return 0;
}

int srv_init(server *s, const srv_config *cfg, const char *config_file)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->listen_fd = -1;
    s->tls_listen_fd = -1;
    s->sig_fd = -1;
    s->next_client_id = 1;
    snprintf(s->config_file, sizeof(s->config_file), "%s", config_file ? config_file : "");
    s->start_wall_ms = net_wall_ms();
    s->start_mono_ms = net_mono_ms();
    srv_config_applied(s);

    /* descriptors: every client, plus listeners, the signal fd, logs and (later) disk */
    long want = (long)s->cfg.maxclients + SRV_FD_RESERVE;
    long got = net_raise_nofile(want);
    if (got < want) {
        long maxc = got - SRV_FD_RESERVE;
        if (maxc < 1) {
            syn_log(SYN_LOG_WARN, "only %ld file descriptors available", got);
            return -1;
        }
        syn_log(SYN_LOG_WARN,
                "maxclients %lld lowered to %ld: the file descriptor limit is %ld (raise it "
                "with ulimit -n)",
                s->cfg.maxclients, maxc, got);
        s->cfg.maxclients = maxc;
    }
    s->loop = net_loop_create((int)(s->cfg.maxclients + SRV_FD_RESERVE));
    s->ds = data_create();
    s->se = s->ds ? script_create(s->ds) : NULL;
    if (!s->loop || !s->ds || !s->se) {
        syn_log(SYN_LOG_WARN, "out of memory at startup");
        return -1;
    }
    script_set_busy_hook(s->se, srv_script_busy, s);
    srv_stats_init(s);
    srv_slowlog_init(s);
    srv_diag_init(s);
    srv_lazyfree_start(s);
    srv_acl_init(s); /* the catalog before any entry or snapshot is applied */
    srv_acl_start(s);
    srv_settings_init(s);
    srv_observe_init(s);
    srv_pubsub_init(s);
    srv_tracking_init(s);
    data_set_notify_flags(s->ds, s->cfg.notify_keyspace_events);
    data_set_mem_hook(s->ds, srv_mem_host, s);
    if (data_set_databases(s->ds, s->cfg.databases) < 0) {
        syn_log(SYN_LOG_WARN, "databases %lld: cannot allocate", s->cfg.databases);
        return -1;
    }
    s->mem_startup = s->mem_peak = srv_used_memory(s);
    data_set_max_string_bytes(s->ds, s->cfg.proto_max_bulk_len);
    data_set_list_max_listpack_size(s->ds, s->cfg.list_max_listpack_size);
    data_set_hash_max_listpack(s->ds, s->cfg.hash_max_listpack_entries,
                               s->cfg.hash_max_listpack_value);
    data_set_max_intset_entries(s->ds, s->cfg.set_max_intset_entries);
    data_set_hll_sparse_max_bytes(s->ds, s->cfg.hll_sparse_max_bytes);
    data_set_stream_node_max_entries(s->ds, s->cfg.stream_node_max_entries);
    data_set_zset_max_listpack(s->ds, s->cfg.zset_max_listpack_entries,
                               s->cfg.zset_max_listpack_value);
    data_set_eviction(s->ds, s->cfg.maxmemory_policy, (int)s->cfg.maxmemory_samples,
                      (int)(s->cfg.lfu_log_factor > INT_MAX ? INT_MAX : s->cfg.lfu_log_factor),
                      (int)(s->cfg.lfu_decay_time > INT_MAX ? INT_MAX : s->cfg.lfu_decay_time));
    /* a secret hash seed per process: clients cannot aim keys at one bucket */
    uint64_t seed[2];
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        syn_log(SYN_LOG_WARN, "getrandom: %s", strerror(errno));
        return -1;
    }
    (void)data_set_hash_seed(s->ds, seed[0], seed[1]);
    uint8_t rid[20];
    if (getrandom(rid, sizeof(rid), 0) != (ssize_t)sizeof(rid)) {
        syn_log(SYN_LOG_WARN, "getrandom: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof(rid); i++)
        snprintf(s->run_id + 2 * i, 3, "%02x", rid[i]);
    ssize_t el = readlink("/proc/self/exe", s->executable, sizeof(s->executable) - 1);
    s->executable[el > 0 ? el : 0] = '\0';

    int fd = net_tcp_listen(s->cfg.listen_host, s->cfg.listen_port, 511);
    if (fd < 0) {
        fprintf(stderr, "synod: listen %s:%d: %s\n", s->cfg.listen_host, s->cfg.listen_port,
                fd == -EADDRNOTAVAIL ? "address not available on this host" : strerror(-fd));
        return -1;
    }
    s->listen_fd = fd;
    int port = net_local_port(fd);
    snprintf(s->listen_addr, sizeof(s->listen_addr),
             strchr(s->cfg.listen_host, ':') ? "[%s]:%d" : "%s:%d", s->cfg.listen_host, port);
    if (net_loop_watch(s->loop, fd, NET_READABLE, srv_client_accept_cb, s) < 0) return -1;
    if (s->cfg.tls_port > 0 && listen_tls(s) < 0) return -1;
    if (s->cfg.tls_cluster && (s->cfg.n_members > 1 || s->cfg.join) && peer_tls(s) < 0) return -1;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sig_fd < 0 || net_loop_watch(s->loop, s->sig_fd, NET_READABLE, on_signal, s) < 0) {
        syn_log(SYN_LOG_WARN, "signalfd: %s", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);

    srv_host_init(s);
    node_config nc;
    srv_node_config(s, &nc);
    s->node = node_create(s->loop, s->ds, &nc, &s->host);
    if (!s->node) return -1;
    if (data_settings_count(s->ds)) srv_config_applied(s); /* recovered cluster settings */
    net_loop_set_before_sleep(s->loop, node_before_sleep, s->node);
    s->cron_timer = net_timer_add(s->loop, 1000 / s->cfg.hz, srv_cron, s);
    s->expire_timer = net_timer_add(s->loop, 1000 / s->cfg.hz, srv_expire_cron, s);
    if (!s->cron_timer || !s->expire_timer) return -1;
    return 0;
}

const char *srv_move_listener(server *s, int port)
{
    static const char *const failed = "Unable to listen on this port. Check server logs.";
    int fd = net_tcp_listen(s->cfg.listen_host, port, 511);
    if (fd < 0) { /* Redis's error first, as a port in use is one whoever asks */
        syn_log(SYN_LOG_WARN, "CONFIG SET port: listen %s:%d: %s", s->cfg.listen_host, port,
                strerror(-fd));
        return failed;
    }
    if (s->cfg.n_members > 1 || s->cfg.join) {
        close(fd);
        return "a cluster member's client port is set at startup (its peers know it)";
    }
    if (net_loop_watch(s->loop, fd, NET_READABLE, srv_client_accept_cb, s) < 0) {
        syn_log(SYN_LOG_WARN, "CONFIG SET port: cannot watch the new listener");
        close(fd);
        return failed;
    }
    (void)net_loop_watch(s->loop, s->listen_fd, 0, NULL, NULL);
    close(s->listen_fd);
    s->listen_fd = fd;
    snprintf(s->listen_addr, sizeof(s->listen_addr),
             strchr(s->cfg.listen_host, ':') ? "[%s]:%d" : "%s:%d", s->cfg.listen_host,
             net_local_port(fd));
    if (s->node) node_set_client_addr(s->node, s->listen_addr);
    syn_log(SYN_LOG_INFO, "clients now on %s (CONFIG SET port)", s->listen_addr);
    return NULL;
}

int srv_run(server *s)
{
    char tls[SRV_HOST_MAX + 40] = "";
    if (s->tls_listen_fd >= 0)
        snprintf(tls, sizeof(tls),
                 strchr(s->cfg.listen_host, ':') ? ", tls on [%s]:%lld" : ", tls on %s:%lld",
                 s->cfg.listen_host, s->cfg.tls_port);
    syn_log(SYN_LOG_INFO,
            "synod %s node %lld ready: clients on %s (%s, "
            "fsync %s, maxclients %lld%s)",
            SRV_VERSION, s->cfg.id, s->listen_addr,
            s->cfg.n_members > 1 ? "cluster member" : "single node",
            s->cfg.fsync == SRV_FSYNC_ALWAYS  ? "always"
            : s->cfg.fsync == SRV_FSYNC_BATCH ? "batch"
                                              : "never",
            s->cfg.maxclients, tls);
    int rc = net_loop_run(s->loop);
    if (rc < 0) syn_log(SYN_LOG_WARN, "event loop: %s", strerror(-rc));
    /* flush what the last pass produced before closing */
    node_before_sleep(s->loop, s->node);
    syn_log(SYN_LOG_INFO, "synod node %lld stopped", s->cfg.id);
    return rc < 0 ? -1 : 0;
}

void srv_child_adopt(server *s, pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) != 0) return; /* reaped now (or not ours any more) */
    if (s->n_children == s->cap_children) {
        int cap = s->cap_children ? 2 * s->cap_children : 8;
        pid_t *np = realloc(s->children, (size_t)cap * sizeof(*np));
        if (!np) { /* no room to remember it: wait for it now (it was killed or it exits) */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
            return;
        }
        s->children = np;
        s->cap_children = cap;
    }
    s->children[s->n_children++] = pid;
}

void srv_children_reap(server *s, bool wait)
{
    int kept = 0;
    for (int i = 0; i < s->n_children; i++) {
        pid_t r;
        if (wait) (void)kill(s->children[i], SIGKILL); /* ours until reaped: never another's */
        while ((r = waitpid(s->children[i], NULL, wait ? 0 : WNOHANG)) < 0 && errno == EINTR) {
        }
        if (r == 0) s->children[kept++] = s->children[i];
    }
    s->n_children = kept;
    if (wait) {
        free(s->children);
        s->children = NULL;
        s->cap_children = 0;
    }
}

void srv_deinit(server *s)
{
    while (s->clients)
        srv_client_free(s->clients);
    srv_children_reap(s, true); /* RDB writers, debugging sessions: killed, then reaped */
    node_destroy(s->node);
    s->node = NULL;
    if (s->loop && s->listen_fd >= 0) {
        (void)net_loop_watch(s->loop, s->listen_fd, 0, NULL, NULL);
        close(s->listen_fd);
    }
    if (s->loop && s->tls_listen_fd >= 0) {
        (void)net_loop_watch(s->loop, s->tls_listen_fd, 0, NULL, NULL);
        close(s->tls_listen_fd);
    }
    net_tls_ctx_destroy(s->tls_ctx);
    net_tls_ctx_destroy(s->peer_tls_accept);
    net_tls_ctx_destroy(s->peer_tls_dial);
    if (s->loop && s->sig_fd >= 0) {
        (void)net_loop_watch(s->loop, s->sig_fd, 0, NULL, NULL);
        close(s->sig_fd);
    }
    net_loop_destroy(s->loop);
    srv_observe_deinit(s);
    srv_pubsub_deinit(s);
    srv_tracking_deinit(s);
    srv_diag_deinit(s);
    srv_slowlog_deinit(s);
    srv_stats_deinit(s);
    script_destroy(s->se);
    s->se = NULL;
    srv_lazyfree_stop(s);
    if (s->ds) data_destroy(s->ds);
    srv_settings_deinit(s);
    srv_acl_deinit(s); /* after the store: its user table points into the catalog */
    free(s->argv);
    free(s->busy_argv);
    free(s->exp_buf);
    memset(s, 0, sizeof(*s));
}
