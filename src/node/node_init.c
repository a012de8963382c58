/* node_init.c — starting the replicated node: recover from disk, create raft, join the peers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "net/frame.h"
#include "node/node_internal.h"
#include "util/assert.h"

static void storage_log(void *ctx, const char *msg)
{
    (void)ctx;
    syn_log(SYN_LOG_WARN, "storage: %s", msg);
}

/* Test failpoint (docs/testing-faults.md): with SYNOD_FAILPOINT_STORAGE=<path> in the
 * environment, once the WAL is open every WAL write and fsync fails with ENOSPC while <path>
 * exists, so the integration tests can fill the disk of one node at a chosen moment (also before
 * its first Ready); if <path> holds "fsync", only fsyncs fail, with EIO (a disk whose flush
 * fails while writes still land in the page cache). Unset in production: no hook is installed
 * and nothing is checked. */
static int failpoint_errno(const char *path, enum storage_op op)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char what[16] = "";
    bool fsync_only = fgets(what, sizeof(what), f) && strncmp(what, "fsync", 5) == 0;
    fclose(f);
    if (!fsync_only) return ENOSPC;
    return op == STORAGE_OP_FSYNC ? EIO : 0;
}

/* Whether an fsync may go on under SYNOD_FAILPOINT_FSYNC_STALL: when <path> is gone, or when
 * it holds a count k > 0 (then k - 1 is written back: k more fsyncs pass, the next one stalls
 * again; a test lets exactly one sync finish while the next hangs). Any other content: stall. */
static bool stall_lets_through(const char *path)
{
    FILE *f = fopen(path, "r+");
    if (!f) return errno == ENOENT;
    long k = 0;
    bool pass = fscanf(f, "%ld", &k) == 1 && k > 0;
    if (pass) {
        rewind(f);
        fprintf(f, "%ld\n", k - 1);
        fflush(f);
        (void)!ftruncate(fileno(f), ftell(f));
    }
    fclose(f);
    return pass;
}

static int failpoint_storage(void *ctx, enum storage_op op, const char *path)
{
    const node *n = ctx;
    (void)path;
    if (!n->failpoint_armed) return 0;
    /* SYNOD_FAILPOINT_FSYNC_STALL=<path>: every WAL fsync waits while <path> exists (a disk
     * whose fsync hangs), on whichever thread issues it; what must wait for that fsync (a
     * follower's acknowledgement, the leader's own vote in the commit quorum) waits too. */
    if (op == STORAGE_OP_FSYNC && n->failpoint_stall_path)
        while (!stall_lets_through(n->failpoint_stall_path)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    return n->failpoint_path ? failpoint_errno(n->failpoint_path, op) : 0;
}

static int recover(node *n, struct wal_recovered *rec, raft_config *rc)
{
    if (rec->has_snapshot) {
        struct snap *sn = &rec->snapshot;
        if (data_snapshot_load(n->ds, sn->data, (size_t)sn->data_len) < 0) {
            syn_log(SYN_LOG_WARN, "snapshot at index %llu in %s does not load",
                    (unsigned long long)sn->index, n->cfg.data_dir);
            return -1;
        }
        raft_membership m;
        nconf_addr addrs[NODE_ADDRS_MAX];
        size_t n_addrs = 0;
        if (nconf_decode(sn->conf, sn->conf_len, &m, addrs, &n_addrs) < 0) {
            syn_log(SYN_LOG_WARN, "snapshot at index %llu in %s: bad membership",
                    (unsigned long long)sn->index, n->cfg.data_dir);
            return -1;
        }
        nconf_apply_addrs(n, addrs, n_addrs); /* --cluster's addresses are set after these */
        n->snap_conf = malloc(sn->conf_len ? sn->conf_len : 1);
        if (!n->snap_conf) return -1;
        memcpy(n->snap_conf, sn->conf, sn->conf_len);
        n->snap_conf_len = sn->conf_len;
        n->snap_meta.index = sn->index;
        n->snap_meta.term = sn->term;
        n->snap_meta.config = m;
        n->applied = sn->index;
    }
    for (size_t i = 0; i < rec->n_entries; i++) {
        if (rec->entries[i].type > RAFT_ENTRY_CONF_CHANGE) {
            syn_log(SYN_LOG_WARN, "log entry %llu in %s has unknown type %u",
                    (unsigned long long)rec->entries[i].index, n->cfg.data_dir,
                    rec->entries[i].type);
            return -1;
        }
    }
    /* the entries themselves stay on disk: the core reads them back through nlog_storage */
    rc->snapshot = n->snap_meta;
    rc->last_index = wal_last_index(n->wal);
    n->replayed_index = rc->last_index; /* delivered, if ever, by this node's previous life */
    rc->last_term = rc->last_index > n->snap_meta.index ? wal_last_term(n->wal) : n->snap_meta.term;
    rc->hard_state.term = rec->hard_state.term;
    n->durable_term = rec->hard_state.term;
    rc->hard_state.vote = rec->hard_state.vote;
    rc->hard_state.commit = rec->hard_state.commit;
    /* raft.h restart contract: commit <= last_index, last_term <= term. A commit past the log
     * is clamped (a Ready that installed a snapshot and the ones after it move commit and the
     * log separately). */
    if (rc->hard_state.commit > rc->last_index) rc->hard_state.commit = rc->last_index;
    if (rc->hard_state.term < rc->last_term) {
        /* The WAL keeps a Ready's entries and hard state together (a torn batch is dropped
         * whole, docs/storage.md), so an entry newer than the stored term means damaged storage:
         * refuse to start rather than vote or lead on it. */
        if (rc->last_index > n->snap_meta.index) {
            syn_log(SYN_LOG_WARN,
                    "data directory %s: log entry %llu has term %llu but the stored term is %llu: "
                    "entries survived without the hard state written with them, which the WAL "
                    "rules out unless the disk lost data; refusing to start",
                    n->cfg.data_dir, (unsigned long long)rc->last_index,
                    (unsigned long long)rc->last_term, (unsigned long long)rc->hard_state.term);
            fprintf(stderr,
                    "synod: data directory %s: log entry %llu has term %llu above the stored "
                    "term %llu (damaged storage); refusing to start\n",
                    n->cfg.data_dir, (unsigned long long)rc->last_index,
                    (unsigned long long)rc->last_term, (unsigned long long)rc->hard_state.term);
            return -1;
        }
        /* The one legitimate way here: node_snap_install makes the leader's snapshot durable
         * (and resets the log behind it) before the Ready's hard state is written, and the Ready
         * carrying a snapshot's last chunk may be the first to see the leader's term; a crash
         * in between leaves a snapshot newer than the stored term and nothing after it. The
         * snapshot holds committed entries only, and no vote was cast in its term (a vote is
         * durable before it is sent, so the stored term would be that term): taking the
         * snapshot's term with no vote is what the lost hard state would have said. */
        syn_log(SYN_LOG_INFO,
                "data directory %s: the snapshot at index %llu has term %llu, above the stored "
                "term %llu (a crash right after installing it): continuing in term %llu",
                n->cfg.data_dir, (unsigned long long)n->snap_meta.index,
                (unsigned long long)rc->last_term, (unsigned long long)rc->hard_state.term,
                (unsigned long long)rc->last_term);
        rc->hard_state.term = rc->last_term;
        rc->hard_state.vote = 0;
    }
    return 0;
}

static bool node_is_member(void *ctx, raft_id id)
{
    node *n = ctx;
    if (!n->r) return false;
    raft_status st;
    raft_status_get(n->r, &st);
    for (uint32_t i = 0; i < st.config.n_voters; i++)
        if (st.config.voters[i] == id) return true;
    for (uint32_t i = 0; i < st.config.n_learners; i++)
        if (st.config.learners[i] == id) return true;
    return false;
}

_Static_assert(FRAME_DATA_ID_BYTES == IDENT_DATA_ID_BYTES, "one data id size");

static int node_check_peer(void *ctx, raft_id id, const uint8_t *data_id, char *err, size_t len)
{
    return node_ident_peer(ctx, id, data_id, err, len);
}

static int start(node *n);

node *node_create(net_loop *loop, data_store *ds, const node_config *cfg, const node_host *host)
{
    node *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->loop = loop;
    n->ds = ds;
    n->cfg = *cfg;
    n->host = host;
    n->snap_fd = -1;
    n->last_save_unix = (long long)time(NULL); /* LASTSAVE before any snapshot: the start */
    resp_buf_init(&n->in_snap);
    resp_buf_init(&n->scratch);
    resp_buf_init(&n->origin_buf);
    while (!n->origin_token) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
        n->origin_token = r >> 1; /* 1 .. 2^63-1: a RESP integer */
    }
    nblock_init(n);
    resp_buf_init(&n->evict_keys);
    nwatch_init(n);
    npubsub_init(n);
    if (start(n) < 0) {
        node_destroy(n);
        return NULL;
    }
    return n;
}

void node_set_config(node *n, const node_config *cfg)
{
    snprintf(n->cfg.requirepass, sizeof(n->cfg.requirepass), "%s", cfg->requirepass);
    n->cfg.cluster_down_timeout_ms = cfg->cluster_down_timeout_ms;
    n->cfg.snapshot_count = cfg->snapshot_count;
    n->cfg.min_replicas_to_write = cfg->min_replicas_to_write;
    n->cfg.min_replicas_max_lag = cfg->min_replicas_max_lag;
    n->cfg.hold_ms = cfg->hold_ms;
    if (n->pn) peer_net_set_hold_ms(n->pn, cfg->hold_ms);
}

/* Recovers from the data directory and joins the peers; -1 on a fatal error (logged). */
static int start(node *n)
{
    const node_config *cfg = &n->cfg;
    /* bootstrap membership and addresses */
    raft_config rc;
    raft_config_default(&rc);
    rc.id = (raft_id)cfg->id;
    if (cfg->n_members == 0) {
        rc.members.n_voters = 1;
        rc.members.voters[0] = rc.id;
    } else {
        for (int i = 0; i < cfg->n_members; i++) {
            if (cfg->join && cfg->members[i].id == cfg->id) continue;
            rc.members.voters[rc.members.n_voters++] = (raft_id)cfg->members[i].id;
        }
    }
    rc.election_tick = NODE_ELECTION_TICKS;
    rc.heartbeat_tick = NODE_HEARTBEAT_TICKS;
    rc.seed = (uint64_t)net_mono_us() ^ ((uint64_t)cfg->id << 32);
    rc.lease_reads = true;
    /* one entry (a command with its values) may be this big; also the snapshot chunk size */
    rc.max_batch_bytes = NODE_ENTRY_MAX_BYTES;
    rc.max_apply_bytes = NODE_APPLY_READY_BYTES;
    rc.max_clock_drift_ticks = 2;

    struct wal_options wo = {0};
    wo.fsync = cfg->fsync == NODE_FSYNC_ALWAYS  ? WAL_FSYNC_ALWAYS
               : cfg->fsync == NODE_FSYNC_BATCH ? WAL_FSYNC_BATCH
                                                : WAL_FSYNC_NEVER;
    wo.io.log = storage_log;
    const char *fp = getenv("SYNOD_FAILPOINT_STORAGE");
    if (fp && fp[0]) {
        n->failpoint_path = fp; /* the environment outlives the node */
        syn_log(SYN_LOG_WARN, "test failpoint: storage fails while %s exists", fp);
    }
    const char *sp = getenv("SYNOD_FAILPOINT_FSYNC_STALL");
    if (sp && sp[0]) {
        n->failpoint_stall_path = sp;
        syn_log(SYN_LOG_WARN, "test failpoint: fsync stalls while %s exists", sp);
    }
    n->sync_later_us = NODE_SYNC_LATER_US;
    const char *sl = getenv("SYNOD_TEST_SYNC_LATER_US");
    if (sl && sl[0]) {
        n->sync_later_us = (uint32_t)strtoul(sl, NULL, 10);
        syn_log(SYN_LOG_WARN, "test setting: fsyncs outside the commit quorum wait %u us",
                n->sync_later_us);
    }
    if (n->failpoint_path || n->failpoint_stall_path) {
        wo.io.fault = failpoint_storage;
        wo.io.fault_ctx = n;
    }
    const char *sb = getenv("SYNOD_TEST_WAL_SEGMENT_BYTES");
    if (sb && sb[0]) {
        wo.segment_max_bytes = strtoull(sb, NULL, 10);
        syn_log(SYN_LOG_WARN, "test setting: WAL segments roll over at %llu bytes",
                (unsigned long long)wo.segment_max_bytes);
    }
    wo.async_remove = true; /* a big segment's unlink must not stall the event loop */
    wo.preallocate = true;  /* fsync always: appends into zeros cost one write per fdatasync */
    struct wal_recovered rec;
    memset(&rec, 0, sizeof(rec));
    char err[1024];
    int wrc = wal_open(cfg->data_dir, &wo, &n->wal, &rec, err, sizeof(err));
    if (wrc < 0) {
        syn_log(SYN_LOG_WARN, "cannot open the log in %s: %s (%s)", cfg->data_dir, err,
                storage_strerror(wrc));
        fprintf(stderr, "synod: %s\n", err);
        return -1;
    }
    bool fresh = !rec.has_snapshot && rec.n_entries == 0 && rec.hard_state.term == 0;
    n->failpoint_armed = n->failpoint_path != NULL || n->failpoint_stall_path != NULL;
    int rrc = recover(n, &rec, &rc);
    wal_recovered_deinit(&rec);
    if (rrc < 0 || node_ident_check(n, fresh) < 0) return -1;
    nwatch_horizon(n, n->snap_meta.index); /* keys loaded from the snapshot: stamps unknown */
    (void)node_snap_open(n);               /* the dataset image itself is not kept in memory */
    nlog_storage(n, &rc.storage);
    /* fsync always: the storage thread syncs while the loop goes on (node_sync.c) */
    if (cfg->fsync == NODE_FSYNC_ALWAYS) {
        if (nsync_start(n) < 0) return -1;
        rc.async_persist = true;
    }

    if (cfg->n_members > 1 || cfg->join) {
        int fd = net_tcp_listen(cfg->peer_host, cfg->peer_port, 128);
        if (fd < 0) {
            fprintf(stderr, "synod: peer-listen %s:%d: %s\n", cfg->peer_host, cfg->peer_port,
                    strerror(-fd));
            return -1;
        }
        peer_net_config pc = {0};
        pc.self = rc.id;
        pc.cluster_id = cfg->cluster_id;
        pc.client_addr = cfg->client_addr;
        pc.bind_host = cfg->peer_host;
        pc.secret = cfg->cluster_secret;
        pc.tls_accept = cfg->tls_accept;
        pc.tls_dial = cfg->tls_dial;
        pc.relay_addr = cfg->relay_addr;
        pc.data_id = n->ident.data_id;
        pc.is_member = node_is_member;
        pc.check_peer = node_check_peer;
        pc.ctx = n;
        pc.on_msg = node_on_peer_msg;
        pc.on_alive = node_on_peer_alive;
        n->pn = peer_net_create(n->loop, &pc, fd);
        n->fw = fwd_create(n);
        if (!n->pn || !n->fw) return -1;
        peer_net_set_hold_ms(n->pn, cfg->hold_ms);
    }
    for (int i = 0; i < cfg->n_members; i++) {
        char a[NODE_ADDR_MAX];
        snprintf(a, sizeof(a), strchr(cfg->members[i].host, ':') ? "[%s]:%d" : "%s:%d",
                 cfg->members[i].host, cfg->members[i].port);
        node_set_addr(n, (raft_id)cfg->members[i].id, a);
    }
    int err_rc = 0;
    n->r = raft_create(&rc, &err_rc);
    if (!n->r) {
        syn_log(SYN_LOG_WARN, "raft_create: %s (hard state term %llu commit %llu, last %llu)",
                raft_strerror(err_rc), (unsigned long long)rc.hard_state.term,
                (unsigned long long)rc.hard_state.commit, (unsigned long long)rc.last_index);
        return -1;
    }
    n->role = RAFT_FOLLOWER;
    n->tick_due_ms = net_mono_ms() + NODE_TICK_MS;
    n->tick_timer = net_timer_add(n->loop, NODE_TICK_MS, node_tick_cb, n);
    if (!n->tick_timer) return -1;
    /* a single voter elects itself at once (replaying its log), so it serves from the start */
    raft_status st;
    raft_status_get(n->r, &st);
    if (st.config.n_voters == 1 && st.config.voters[0] == rc.id) {
        /* a storage failure (node_fail) freezes the instance mid-Ready: no more calls then */
        for (int i = 0; i < 4 * (int)NODE_ELECTION_TICKS && n->role != RAFT_LEADER && !n->failed;
             i++) {
            raft_tick(n->r);
            node_process(n);
            nsync_wait(n); /* no event loop yet: the storage thread's answers are waited for */
        }
        for (int i = 0;
             i < 16 && !n->failed && (raft_has_ready(n->r) || n->sync_done < n->sync_req); i++) {
            node_process(n);
            nsync_wait(n);
        }
    }
    syn_log(SYN_LOG_INFO, "node %lld: %zu log entries after snapshot %llu, term %llu, %s%s",
            cfg->id, (size_t)(wal_last_index(n->wal) - n->snap_meta.index),
            (unsigned long long)n->snap_meta.index, (unsigned long long)rc.hard_state.term,
            cfg->n_members > 1 ? "peers on " : "single node",
            cfg->n_members > 1 ? cfg->peer_host : "");
    return 0;
}

void node_destroy(node *n)
{
    if (!n) return;
    if (n->tick_timer) (void)net_timer_cancel(n->loop, n->tick_timer);
    node_snap_stop(n);
    peer_net_destroy(n->pn);
    if (n->fw) fwd_destroy(n->fw);
    nmigrate_deinit(n);
    raft_destroy(n->r);
    nsync_stop(n);
    if (n->wal) wal_close(n->wal);
    nlog_deinit(n);
    for (size_t i = 0; i < n->reads_n; i++)
        free(n->reads[i].cmd);
    free(n->reads);
    free(n->props);
    free(n->sent_early);
    free(n->argv);
    resp_buf_deinit(&n->in_snap);
    resp_buf_deinit(&n->scratch);
    resp_buf_deinit(&n->origin_buf);
    nblock_deinit(n);
    resp_buf_deinit(&n->evict_keys);
    nwatch_deinit(n);
    free(n);
}
