/* cmd_server.c — server commands: COMMAND, INFO, CONFIG, TIME. */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "node/node.h"
#include "server/server.h"
#include "util/assert.h"

void srv_cmd_command(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    srv_cmd_reply_all(c, 0);
}

void srv_cmd_command_count(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    srv_reply_int(c, (long long)srv_cmd_count());
}

void srv_cmd_time(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    int64_t us = net_wall_us();
    char a[32], b[32];
    snprintf(a, sizeof(a), "%lld", (long long)(us / 1000000));
    snprintf(b, sizeof(b), "%lld", (long long)(us % 1000000));
    srv_reply_array(c, 2);
    srv_reply_cstr(c, a);
    srv_reply_cstr(c, b);
}

/* --- INFO -------------------------------------------------------------------------------- */

static void sb_printf(resp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(resp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    resp_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void human_bytes(char *out, size_t cap, unsigned long long n)
{
    if (n < 1024)
        snprintf(out, cap, "%lluB", n);
    else if (n < 1024ull * 1024)
        snprintf(out, cap, "%.2fK", (double)n / 1024);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(out, cap, "%.2fM", (double)n / (1024 * 1024));
    else
        snprintf(out, cap, "%.2fG", (double)n / (1024.0 * 1024 * 1024));
}

static unsigned long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    int ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
    fclose(f);
    return ok ? resident * (unsigned long long)sysconf(_SC_PAGESIZE) : 0;
}

static void info_server(server *s, resp_buf *b)
{
    struct utsname u;
    if (uname(&u) < 0) memset(&u, 0, sizeof(u));
    int64_t up_s = (net_mono_ms() - s->start_mono_ms) / 1000;
    int64_t wall_us = net_wall_us();
    /* no git build of Redis: its "unknown" sha and dirty flag; the build id identifies this
     * binary's version string as Redis's identifies its build */
    uint64_t build = 1469598103934665603ull;
    for (const char *p = SRV_VERSION; *p; p++)
        build = (build ^ (uint8_t)*p) * 1099511628211ull;
    sb_printf(b,
              "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
              "redis_build_id:%llx\r\nsynod_version:%s\r\nredis_mode:standalone\r\n"
              "os:%s %s %s\r\narch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\n"
              "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n",
              SRV_REDIS_VERSION, (unsigned long long)build, SRV_VERSION, u.sysname, u.release,
              u.machine, (int)(sizeof(void *) * 8));
#ifdef __GNUC__
    sb_printf(b, "gcc_version:%d.%d.%d\r\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    sb_printf(b, "gcc_version:0.0.0\r\n");
#endif
    sb_printf(b,
              "process_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
              "listen_addr:%s\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\n"
              "uptime_in_days:%lld\r\nhz:%lld\r\nconfigured_hz:%lld\r\nlru_clock:%lld\r\n"
              "executable:%s\r\nconfig_file:%s\r\nio_threads_active:0\r\n",
              (int)getpid(), s->run_id, net_local_port(s->listen_fd), s->listen_addr,
              (long long)wall_us, (long long)up_s, (long long)(up_s / 86400), s->cfg.hz, s->cfg.hz,
              (long long)((wall_us / 1000000) & ((1 << 24) - 1)), s->executable, s->config_file);
}

static void info_clients(server *s, resp_buf *b)
{
    /* Redis: the biggest query and output buffers of the last seconds; here: of now */
    size_t max_in = 0, max_out = 0;
    for (client *c = s->clients; c; c = c->next) {
        if (c->qcap > max_in) max_in = c->qcap;
        if (c->out.cap > max_out) max_out = c->out.cap;
    }
    sb_printf(b,
              "# Clients\r\nconnected_clients:%ld\r\ncluster_connections:0\r\n"
              "maxclients:%lld\r\nclient_recent_max_input_buffer:%zu\r\n"
              "client_recent_max_output_buffer:%zu\r\nblocked_clients:%zu\r\n",
              s->n_clients, s->cfg.maxclients, max_in, max_out,
              (s->node ? node_blocked_clients(s->node) : 0) + srv_pause_held_clients(s));
    size_t tc, tk, ti, tp; /* CLIENT TRACKING (tracking.c) */
    srv_tracking_stats(s, &tc, &tk, &ti, &tp);
    sb_printf(b, "tracking_clients:%zu\r\n", tc);
}

static unsigned long long clients_memory(server *s)
{
    unsigned long long clients = 0;
    for (client *c = s->clients; c; c = c->next)
        clients += sizeof(*c) + c->qcap + c->out.cap;
    return clients;
}

/* The output of RDB transfers (redis-cli --rdb: cmd_persist.c), left out of what maxmemory
 * judges, as Redis leaves out its replicas' buffers: a backup must not evict keys. */
static unsigned long long not_counted_for_evict(server *s)
{
    unsigned long long n = 0;
    for (client *c = s->clients; c; c = c->next)
        if (c->rdb_only) n += c->out.cap;
    return n;
}

unsigned long long srv_memory_for_evict(server *s)
{
    unsigned long long used = srv_used_memory(s), skip = not_counted_for_evict(s);
    return used > skip ? used - skip : 0;
}

unsigned long long srv_used_memory(server *s)
{
    data_stats ds;
    data_get_stats(s->ds, &ds);
    unsigned long long used = ds.memory_bytes + clients_memory(s);
    if (used > s->mem_peak) s->mem_peak = used;
    return used;
}

void srv_mem_host(void *ctx, data_mem_host *out)
{
    server *s = ctx;
    (void)srv_used_memory(s);
    script_stats ss;
    script_get_stats(s->se, &ss);
    *out = (data_mem_host){.startup = s->mem_startup,
                           .peak = s->mem_peak,
                           .clients = clients_memory(s),
                           .rss = rss_bytes(),
                           .lua = ss.lua_memory_bytes};
}

static void info_memory(server *s, resp_buf *b)
{
    data_stats ds;
    data_get_stats(s->ds, &ds);
    unsigned long long clients = clients_memory(s);
    unsigned long long used = ds.memory_bytes + clients;
    if (used > s->mem_peak) s->mem_peak = used;
    unsigned long long rss = rss_bytes();
    unsigned long long net = used > s->mem_startup ? used - s->mem_startup : 1;
    unsigned long long sys_mem =
        (unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);
    /* glibc's malloc (Redis: jemalloc's stats.allocated/active/resident) */
    struct mallinfo2 mi = mallinfo2();
    unsigned long long alloc = mi.uordblks + mi.hblkhd, active = mi.arena + mi.hblkhd;
    char h1[32], h2[32], h3[32], h4[32], h5[32];
    human_bytes(h1, sizeof(h1), used);
    human_bytes(h2, sizeof(h2), rss);
    human_bytes(h3, sizeof(h3), (unsigned long long)s->cfg.maxmemory);
    human_bytes(h4, sizeof(h4), s->mem_peak);
    human_bytes(h5, sizeof(h5), sys_mem);
    sb_printf(b,
              "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
              "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
              "used_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%llu\r\n"
              "used_memory_startup:%llu\r\nused_memory_dataset:%llu\r\n"
              "used_memory_dataset_perc:%.2f%%\r\nused_memory_clients:%llu\r\n"
              "allocator_allocated:%llu\r\nallocator_active:%llu\r\nallocator_resident:%llu\r\n"
              "total_system_memory:%llu\r\ntotal_system_memory_human:%s\r\n",
              used, h1, rss, h2, s->mem_peak, h4, s->mem_peak ? 100.0 * used / s->mem_peak : 0.0,
              clients, s->mem_startup, (unsigned long long)ds.memory_bytes,
              100.0 * (double)ds.memory_bytes / (double)net, clients, alloc, active, rss, sys_mem,
              h5);
    script_stats ss; /* one Lua VM runs both scripts and functions: counted as eval's */
    script_get_stats(s->se, &ss);
    char hl[32];
    human_bytes(hl, sizeof(hl), ss.lua_memory_bytes);
    sb_printf(b,
              "used_memory_lua:%llu\r\nused_memory_vm_eval:%llu\r\nused_memory_lua_human:%s\r\n"
              "number_of_cached_scripts:%llu\r\nnumber_of_functions:%llu\r\n"
              "number_of_libraries:%llu\r\nused_memory_vm_functions:0\r\n"
              "used_memory_vm_total:%llu\r\nused_memory_vm_total_human:%s\r\n",
              (unsigned long long)ss.lua_memory_bytes, (unsigned long long)ss.lua_memory_bytes, hl,
              (unsigned long long)ss.cached_scripts, (unsigned long long)ss.functions,
              (unsigned long long)ss.libraries, (unsigned long long)ss.lua_memory_bytes, hl);
    sb_printf(b,
              "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
              "allocator_frag_ratio:%.2f\r\nallocator_frag_bytes:%lld\r\n"
              "allocator_rss_ratio:%.2f\r\nallocator_rss_bytes:%lld\r\n"
              "rss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\n"
              "mem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
              "mem_not_counted_for_evict:%llu\r\nmem_replication_backlog:0\r\n"
              "mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\n"
              "mem_clients_normal:%llu\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\n"
              "mem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:%llu\r\n"
              "lazyfreed_objects:%llu\r\n",
              s->cfg.maxmemory, h3, data_evict_policy_names[s->cfg.maxmemory_policy],
              alloc ? (double)active / (double)alloc : 0.0, (long long)active - (long long)alloc,
              active ? (double)rss / (double)active : 0.0, (long long)rss - (long long)active,
              used ? (double)rss / used : 0.0, (long long)rss - (long long)used,
              not_counted_for_evict(s), clients, (unsigned long long)ds.lazyfree_pending,
              (unsigned long long)ds.lazyfreed);
}

/* Redis's trackInstantaneousMetric: every cron run (hz), each counter's rate since the last
 * run goes into a ring of SRV_INST_SAMPLES; INFO prints their mean. */
void srv_inst_sample(server *s)
{
    int64_t now = net_mono_ms();
    uint64_t cur[3] = {s->stats.commands_processed, s->stats.net_input_bytes,
                       s->stats.net_output_bytes};
    if (s->inst_last_ms > 0 && now > s->inst_last_ms) {
        double dt = (double)(now - s->inst_last_ms);
        for (int i = 0; i < 3; i++)
            s->inst[i].samples[s->inst_idx] = (double)(cur[i] - s->inst[i].last) * 1000.0 / dt;
        s->inst_idx = (s->inst_idx + 1) % SRV_INST_SAMPLES;
    }
    for (int i = 0; i < 3; i++)
        s->inst[i].last = cur[i];
    s->inst_last_ms = now;
}

static double inst_rate(const server *s, int i)
{
    double sum = 0;
    for (int k = 0; k < SRV_INST_SAMPLES; k++)
        sum += s->inst[i].samples[k];
    return sum / SRV_INST_SAMPLES;
}

static void info_stats(server *s, resp_buf *b)
{
    const srv_stats *st = &s->stats;
    /* no Redis replication stream, defragmenter, I/O threads or client eviction here: their
     * counters stay 0, as on a Redis that has them off */
    sb_printf(
        b,
        "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
        "instantaneous_ops_per_sec:%lld\r\ntotal_net_input_bytes:%llu\r\n"
        "total_net_output_bytes:%llu\r\ntotal_net_repl_input_bytes:0\r\n"
        "total_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:%.2f\r\n"
        "instantaneous_output_kbps:%.2f\r\ninstantaneous_input_repl_kbps:0.00\r\n"
        "instantaneous_output_repl_kbps:0.00\r\nrejected_connections:%llu\r\nsync_full:0\r\n"
        "sync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:%llu\r\nevicted_keys:%llu\r\n"
        "evicted_clients:0\r\nclient_query_buffer_limit_disconnections:%llu\r\n"
        "client_output_buffer_limit_disconnections:%llu\r\n"
        "client_oom_disconnections:%llu\r\n",
        (unsigned long long)st->connections_received, (unsigned long long)st->commands_processed,
        (long long)(inst_rate(s, 0) + 0.5), (unsigned long long)st->net_input_bytes,
        (unsigned long long)st->net_output_bytes, inst_rate(s, 1) / 1024, inst_rate(s, 2) / 1024,
        (unsigned long long)st->connections_rejected, (unsigned long long)st->expired_keys,
        (unsigned long long)st->evicted_keys, (unsigned long long)st->qbuf_limit_disconnections,
        (unsigned long long)st->obuf_limit_disconnections,
        (unsigned long long)st->oom_disconnections);
    data_stats ds;
    data_get_stats(s->ds, &ds);
    sb_printf(b, "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n",
              (unsigned long long)ds.keyspace_hits, (unsigned long long)ds.keyspace_misses);
    size_t ch, pat, shard; /* this node's subscriptions (pubsub.c) */
    srv_pubsub_stats(s, &ch, &pat, &shard);
    sb_printf(b, "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n", ch,
              pat, shard);
    uint64_t fork_us = 0, forks = 0; /* background snapshots (Redis: BGSAVE, AOF rewrite) */
    if (s->node) node_fork_stats(s->node, &fork_us, &forks);
    sb_printf(b, "latest_fork_usec:%llu\r\ntotal_forks:%llu\r\n", (unsigned long long)fork_us,
              (unsigned long long)forks);
    sb_printf(b, "migrate_cached_sockets:0\r\n"); /* MIGRATE caches no connection */
    sb_printf(b, "slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\n"
                 "active_defrag_misses:0\r\nactive_defrag_key_hits:0\r\n"
                 "active_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n"
                 "current_active_defrag_time:0\r\n");
    size_t tc, tk, ti, tp;
    srv_tracking_stats(s, &tc, &tk, &ti, &tp);
    sb_printf(
        b, "tracking_total_keys:%zu\r\ntracking_total_items:%zu\r\ntracking_total_prefixes:%zu\r\n",
        tk, ti, tp);
    sb_printf(b, "unexpected_error_replies:0\r\ntotal_error_replies:%llu\r\n",
              (unsigned long long)srv_stats_total_error_replies(s));
    sb_printf(b, "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n");
}

static void info_persistence(server *s, resp_buf *b)
{
    /* synod's log and snapshots are not Redis's AOF and RDB; the fields tools and Redis's tests
     * read, with their meaning here (docs/server.md) */
    sb_printf(
        b,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:%llu\r\n"
        "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:ok\r\n"
        "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
        "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:ok\r\n"
        "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        s->node ? (unsigned long long)node_changes_since_snapshot(s->node) : 0ull,
        s->node ? node_snapshot_in_progress(s->node) : 0,
        s->node ? node_lastsave(s->node) : (long long)(s->start_wall_ms / 1000));
}

static void info_replication(server *s, resp_buf *b)
{
    /* no Redis replication stream: replicas are Raft voters (# Consensus); the replication id
     * is this process's run id, and there is no backlog */
    sb_printf(b,
              "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
              "master_failover_state:no-failover\r\nmaster_replid:%s\r\n"
              "master_replid2:0000000000000000000000000000000000000000\r\n"
              "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
              "repl_backlog_size:0\r\nrepl_backlog_first_byte_offset:0\r\n"
              "repl_backlog_histlen:0\r\n",
              s->run_id);
}

static void info_cpu(server *s, resp_buf *b)
{
    (void)s;
    struct rusage self, kids, main_thr;
    memset(&self, 0, sizeof(self));
    memset(&kids, 0, sizeof(kids));
    memset(&main_thr, 0, sizeof(main_thr));
    (void)getrusage(RUSAGE_SELF, &self);
    (void)getrusage(RUSAGE_CHILDREN, &kids);   /* background snapshots */
    (void)getrusage(RUSAGE_THREAD, &main_thr); /* INFO runs on the event loop's thread */
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
    sb_printf(b,
              "# CPU\r\nused_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
              "used_cpu_user_children:%.6f\r\nused_cpu_sys_main_thread:%.6f\r\n"
              "used_cpu_user_main_thread:%.6f\r\n",
              TV(self.ru_stime), TV(self.ru_utime), TV(kids.ru_stime), TV(kids.ru_utime),
              TV(main_thr.ru_stime), TV(main_thr.ru_utime));
#undef TV
}

static void info_modules(server *s, resp_buf *b)
{
    (void)s;
    sb_printf(b, "# Modules\r\n"); /* no modules: MODULE LOAD is refused */
}

static void info_cluster(server *s, resp_buf *b)
{
    (void)s;
    sb_printf(b, "# Cluster\r\ncluster_enabled:0\r\n"); /* no Redis Cluster slots: one shard */
}

static void info_keyspace(server *s, resp_buf *b)
{
    sb_printf(b, "# Keyspace\r\n");
    for (int db = 0; db < data_databases(s->ds); db++) {
        uint64_t keys, expires;
        data_db_sizes(s->ds, db, &keys, &expires);
        if (keys)
            sb_printf(b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", db, (unsigned long long)keys,
                      (unsigned long long)expires);
    }
}

/* The single node is its own leader of term 1; every executed write is one applied entry. */
static void info_consensus(server *s, resp_buf *b)
{
    if (s->node) {
        node_info(s->node, b);
        return;
    }
    const srv_config *cfg = &s->cfg;
    sb_printf(b,
              "# Consensus\r\nnode_id:%lld\r\nrole:leader\r\nterm:1\r\nleader_id:%lld\r\n"
              "leader_addr:%s\r\ncommit_index:%llu\r\nlast_applied:%llu\r\nmembers:",
              cfg->id, cfg->id, s->listen_addr, (unsigned long long)s->stats.applied_writes,
              (unsigned long long)s->stats.applied_writes);
    if (cfg->n_members == 0) {
        sb_printf(b, "%lld=%s:%d", cfg->id, cfg->peer_host, cfg->peer_port);
    } else {
        for (int i = 0; i < cfg->n_members; i++)
            sb_printf(b, "%s%lld=%s:%d", i ? "," : "", cfg->members[i].id, cfg->members[i].host,
                      cfg->members[i].port);
    }
    sb_printf(b, "\r\n");
}

typedef struct {
    const char *name;
    void (*fn)(server *s, resp_buf *b);
    int in_default;
} info_section;

/* The INFO sections, in output order. */
static const info_section sections[] = {
    {"server", info_server, 1},
    {"clients", info_clients, 1},
    {"memory", info_memory, 1},
    {"persistence", info_persistence, 1},
    {"stats", info_stats, 1},
    {"replication", info_replication, 1},
    {"cpu", info_cpu, 1},
    {"modules", info_modules, 1},
    {"commandstats", srv_stats_info_commandstats, 0},
    {"errorstats", srv_stats_info_errorstats, 1},
    {"latencystats", srv_latency_info, 0},
    {"cluster", info_cluster, 1},
    {"keyspace", info_keyspace, 1},
    {"consensus", info_consensus, 1},
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

void srv_cmd_info(server *s, client *c, int argc, const data_arg *argv)
{
    int want[N_SECTIONS] = {0};
    if (argc == 1) {
        for (size_t i = 0; i < N_SECTIONS; i++)
            want[i] = sections[i].in_default;
    }
    for (int a = 1; a < argc; a++) {
        for (size_t i = 0; i < N_SECTIONS; i++) {
            const data_arg *x = &argv[a];
            int all = (x->len == 3 && strncasecmp(x->ptr, "all", 3) == 0) ||
                      (x->len == 10 && strncasecmp(x->ptr, "everything", 10) == 0);
            int def = x->len == 7 && strncasecmp(x->ptr, "default", 7) == 0;
            if (all || (def && sections[i].in_default) ||
                (strlen(sections[i].name) == x->len &&
                 strncasecmp(sections[i].name, x->ptr, x->len) == 0))
                want[i] = 1;
        }
    }
    resp_buf b;
    resp_buf_init(&b);
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (!want[i]) continue;
        if (b.len) sb_printf(&b, "\r\n");
        sections[i].fn(s, &b);
    }
    srv_reply_verbatim(c, b.data ? b.data : "", b.len);
    resp_buf_deinit(&b);
}

/* --- CONFIG ------------------------------------------------------------------------------ */

void srv_cmd_config_get(server *s, client *c, int argc, const data_arg *argv)
{
    size_t nk = srv_config_key_count();
    char *hit = calloc(nk, 1);
    const data_arg **exact = calloc(nk, sizeof(*exact)); /* Redis echoes a non-glob name as the
                                                            client wrote it */
    if (!hit || !exact) {
        free(hit);
        free(exact);
        srv_reply_error(c, "OOM out of memory");
        return;
    }
    size_t n = 0;
    for (size_t k = 0; k < nk; k++) {
        const char *name = srv_config_key_name(k);
        for (int a = 2; a < argc; a++) {
            if (srv_glob_match(argv[a].ptr, argv[a].len, name, strlen(name), 1)) {
                int glob = memchr(argv[a].ptr, '*', argv[a].len) ||
                           memchr(argv[a].ptr, '?', argv[a].len) ||
                           memchr(argv[a].ptr, '[', argv[a].len);
                if (glob && srv_config_key_hidden(k)) continue; /* hidden: only by its name */
                if (!hit[k]) n++;
                hit[k] = 1;
                if (!glob && !exact[k]) exact[k] = &argv[a];
            }
        }
    }
    srv_reply_map(c, n);
    for (size_t k = 0; k < nk; k++) {
        if (!hit[k]) continue;
        char val[SRV_PATH_MAX];
        srv_config_key_value(&s->cfg, k, val, sizeof(val));
        if (exact[k])
            srv_reply_bulk(c, exact[k]->ptr, exact[k]->len);
        else
            srv_reply_cstr(c, srv_config_key_name(k));
        srv_reply_cstr(c, val);
    }
    free(hit);
    free(exact);
}

/* CONFIG SET's pairs applied to next (a copy of the settings): 0, or -1 with Redis's error. */
static int config_check(server *s, int argc, const data_arg *argv, srv_config *next, char *err,
                        size_t cap)
{
    if (argc < 4) {
        snprintf(err, cap, "ERR wrong number of arguments for 'config|set' command");
        return -1;
    }
    if (argc % 2) {
        snprintf(err, cap, "ERR syntax error");
        return -1;
    }
    for (int a = 2; a < argc; a += 2) {
        char key[128], val[256], e[512];
        if (argv[a].len >= sizeof(key) || memchr(argv[a].ptr, '\0', argv[a].len)) {
            snprintf(err, cap, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                     (int)(argv[a].len > 128 ? 128 : argv[a].len), argv[a].ptr);
            return -1;
        }
        memcpy(key, argv[a].ptr, argv[a].len);
        key[argv[a].len] = '\0';
        for (int b = 2; b < a; b += 2) {
            if (argv[b].len == argv[a].len && strncasecmp(argv[b].ptr, key, argv[a].len) == 0) {
                snprintf(err, cap,
                         "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate "
                         "parameter",
                         key);
                return -1;
            }
        }
        if (argv[a + 1].len >= sizeof(val) || memchr(argv[a + 1].ptr, '\0', argv[a + 1].len)) {
            snprintf(err, cap,
                     "ERR CONFIG SET failed (possibly related to argument '%s') - argument "
                     "couldn't be parsed into an integer",
                     key);
            return -1;
        }
        memcpy(val, argv[a + 1].ptr, argv[a + 1].len);
        val[argv[a + 1].len] = '\0';
        if (srv_config_set(next, key, val, 1, e, sizeof(e)) < 0) {
            snprintf(err, cap, "ERR %s", e);
            return -1;
        }
    }
    if (next->maxclients > net_loop_max_fds(s->loop) - SRV_FD_RESERVE) {
        snprintf(err, cap,
                 "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The "
                 "operating system is not able to handle the specified number of clients, try "
                 "with %lld",
                 (long long)(net_loop_max_fds(s->loop) - SRV_FD_RESERVE));
        return -1;
    }
    return 0;
}

void srv_cmd_config_set(server *s, client *c, int argc, const data_arg *argv)
{
    /* all or nothing: apply to a copy, commit if every pair is valid */
    srv_config *next = malloc(sizeof(*next));
    if (!next) {
        srv_reply_error(c, "OOM out of memory");
        return;
    }
    *next = s->cfg;
    char err[600];
    if (config_check(s, argc, argv, next, err, sizeof(err)) < 0) {
        srv_reply_error(c, err);
        free(next);
        return;
    }
    /* the settings whose change must be applied outside the table, and can fail: nothing has
     * changed when they do (Redis's apply-and-roll-back) */
    if (next->listen_port != s->cfg.listen_port) {
        const char *why = srv_move_listener(s, next->listen_port);
        if (why) {
            srv_reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument 'port') - %s",
                             why);
            free(next);
            return;
        }
    }
    s->cfg = *next;
    free(next);
    srv_config_applied(s);
    srv_reply_status(c, "OK");
}

/* --- the cluster's settings (docs/cluster.md "Cluster settings") ----------------------------- */

struct srv_settings {
    data_arg *argv; /* srv_config_route's CONFIG_EFFECT */
    char (*vals)[DATA_SETTING_TEXT];
    int cap;
};

const data_arg *srv_config_route(server *s, client *c, int *argc, const data_arg *argv)
{
    int n = *argc;
    if (!s->node || n < 4 || n % 2 || !data_arg_is(&argv[0], "config") ||
        !data_arg_is(&argv[1], "set"))
        return argv;
    srv_config *next = malloc(sizeof(*next));
    SYN_ASSERT(next != NULL);
    *next = s->cfg;
    char err[600];
    int shared = 0, local = 0;
    /* an invalid request, or one that moves the listener, is answered by CONFIG SET here */
    if (config_check(s, n, argv, next, err, sizeof(err)) < 0 ||
        next->listen_port != s->cfg.listen_port) {
        free(next);
        return argv;
    }
    for (int a = 2; a < n; a += 2) {
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)argv[a].len, argv[a].ptr);
        int i = srv_config_key_find(key);
        if (i >= 0 && srv_config_key_shared((size_t)i))
            shared++;
        else
            local++;
    }
    /* none of the cluster's; or queued in MULTI with this node's too (EXEC cannot run both):
     * this node's CONFIG SET, as before */
    if (!shared || (local && c->in_multi)) {
        free(next);
        return argv;
    }
    struct srv_settings *st = s->settings;
    if (1 + 2 * shared > st->cap) {
        st->cap = 1 + 2 * shared;
        st->argv = realloc(st->argv, (size_t)st->cap * sizeof(*st->argv));
        st->vals = realloc(st->vals, (size_t)st->cap * sizeof(*st->vals));
        SYN_ASSERT(st->argv && st->vals);
    }
    int k = 0;
    st->argv[k++] = (data_arg){"CONFIG_EFFECT", 13};
    srv_config *cur = local ? malloc(sizeof(*cur)) : NULL;
    if (cur) *cur = s->cfg;
    for (int a = 2; a < n; a += 2) {
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)argv[a].len, argv[a].ptr);
        int i = srv_config_key_find(key);
        if (i < 0 || !srv_config_key_shared((size_t)i)) {
            /* this node's: set now (checked above, so it cannot fail) */
            char val[256], e[512];
            snprintf(val, sizeof(val), "%.*s", (int)argv[a + 1].len, argv[a + 1].ptr);
            SYN_ASSERT(srv_config_set(cur, key, val, 1, e, sizeof(e)) == 0);
            continue;
        }
        /* logged under the key's own name (not an alias), its value as CONFIG GET shows it */
        size_t j = srv_config_key_canonical((size_t)i);
        const char *name = srv_config_key_name(j);
        int dup = 0;
        for (int b = 1; b < k; b += 2)
            dup |= st->argv[b].ptr == name;
        if (dup) continue;
        srv_config_key_value(next, j, st->vals[k + 1], sizeof(st->vals[k + 1]));
        st->argv[k] = (data_arg){name, strlen(name)};
        st->argv[k + 1] = (data_arg){st->vals[k + 1], strlen(st->vals[k + 1])};
        k += 2;
    }
    if (cur) {
        s->cfg = *cur;
        free(cur);
        srv_config_applied(s);
    }
    free(next);
    *argc = k;
    return st->argv;
}

/* the hook of the store's settings table: checks and applies one (or, name NULL after a snapshot
 * load, every) cluster setting to this node's configuration */
static void reapply(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
    server *s = ctx;
    char k[DATA_SETTING_TEXT], v[DATA_SETTING_TEXT], e[512];
    snprintf(k, sizeof(k), "%.*s", (int)nlen, name);
    snprintf(v, sizeof(v), "%.*s", (int)vlen, value);
    int i = srv_config_key_find(k);
    if (i < 0 || !srv_config_key_shared((size_t)i) ||
        srv_config_set(&s->cfg, k, v, 1, e, sizeof(e)) < 0)
        syn_log(SYN_LOG_WARN, "cluster setting %s '%s' not applied here", k, v);
}

static int on_setting(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen,
                      int apply, char *err, size_t cap)
{
    server *s = ctx;
    if (!name) {
        data_settings_each(s->ds, reapply, s);
        srv_config_applied(s);
        return 0;
    }
    char k[DATA_SETTING_TEXT], v[DATA_SETTING_TEXT], e[512];
    if (nlen >= sizeof(k) || vlen >= sizeof(v)) {
        snprintf(err, cap, "ERR CONFIG_EFFECT: a setting's name or value is too long");
        return -1;
    }
    memcpy(k, name, nlen);
    k[nlen] = '\0';
    memcpy(v, value, vlen);
    v[vlen] = '\0';
    int i = srv_config_key_find(k);
    if (i < 0 || !srv_config_key_shared((size_t)i)) {
        snprintf(err, cap, "ERR CONFIG_EFFECT: '%s' is not one of the cluster's settings", k);
        return -1;
    }
    if (!apply) {
        srv_config *tmp = malloc(sizeof(*tmp));
        SYN_ASSERT(tmp != NULL);
        *tmp = s->cfg;
        int rc = srv_config_set(tmp, k, v, 1, e, sizeof(e));
        free(tmp);
        if (rc < 0) snprintf(err, cap, "ERR %s", e);
        return rc;
    }
    if (srv_config_set(&s->cfg, k, v, 1, e, sizeof(e)) < 0) {
        syn_log(SYN_LOG_WARN, "cluster setting %s '%s' not applied here: %s", k, v, e);
        return -1;
    }
    srv_config_applied(s);
    return 0;
}

void srv_settings_init(server *s)
{
    s->settings = calloc(1, sizeof(*s->settings));
    SYN_ASSERT(s->settings != NULL);
    data_set_settings_hook(s->ds, on_setting, s);
}

void srv_settings_deinit(server *s)
{
    if (!s->settings) return;
    free(s->settings->argv);
    free(s->settings->vals);
    free(s->settings);
    s->settings = NULL;
}

void srv_cmd_config_rewrite(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc;
    (void)argv;
    if (!s->config_file[0]) {
        srv_reply_error(c, "ERR The server is running without a config file");
        return;
    }
    char err[512];
    if (srv_config_rewrite(&s->cfg, s->config_file, err, sizeof(err)) < 0) {
        syn_log(SYN_LOG_WARN, "CONFIG REWRITE failed: %s", err);
        srv_reply_errorf(c, "ERR %s", err);
        return;
    }
    syn_log(SYN_LOG_INFO, "CONFIG REWRITE executed with success.");
    srv_reply_status(c, "OK");
}

void srv_cmd_config_resetstat(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc;
    (void)argv;
    uint64_t applied = s->stats.applied_writes; /* a log index, not a statistic */
    memset(&s->stats, 0, sizeof(s->stats));
    s->stats.applied_writes = applied;
    srv_stats_reset(s);
    data_reset_stats(s->ds);
    srv_reply_status(c, "OK");
}

/* --- EVAL / FCALL / SCRIPT / FUNCTION answered by this node -------------------------------- */

static void raw_out(void *ctx, const char *p, size_t len)
{
    client *c = ctx;
    SRV_REPLY(c, resp_buf_append(&c->out, p, len));
}

void srv_cmd_scripting(server *s, client *c, int argc, const data_arg *argv)
{
    static uint64_t runs;
    int k = argc >= 3 && data_arg_is(&argv[0], "acl_as") ? 2 : 0;
    if (argc - k == 3 && data_arg_is(&argv[k], "script") && data_arg_is(&argv[k + 1], "debug")) {
        srv_cmd_script_debug(s, c, &argv[k + 2]); /* the connection's: not the engine's */
        return;
    }
    if (c->nc.ldb && argc - k >= 3 &&
        (data_arg_is(&argv[k], "eval") || data_arg_is(&argv[k], "evalsha") ||
         data_arg_is(&argv[k], "eval_ro") || data_arg_is(&argv[k], "evalsha_ro"))) {
        srv_ldb_eval(s, c, argc, argv);
        return;
    }
    int64_t now_ms = srv_now_ms();
    /* a local run is a read or an error: its draws need no agreement with other nodes */
    script_env env = {now_ms, (uint64_t)now_ms * 0x9E3779B97F4A7C15ull ^ ++runs,
                      0,      NULL,
                      0,      0,
                      NULL,   c->nc.noreplicas_run};
    script_out out = {&srv_client_reply_ops, c, raw_out, c->proto == 3, NULL};
    (void)script_exec(s->se, argc, argv, &env, &out);
    if (script_called_read(s->se)) srv_tracking_script(s, c, argc, argv);
}
