/* node_init.c — starting the replicated node: recover from disk, create raft, join the peers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/node_internal.h"
#include "util/assert.h"

static void storage_log(void *ctx, const char *msg)
{
    (void)ctx;
    srv_log(SRV_LOG_WARN, "storage: %s", msg);
}

/* Test failpoint (docs/testing-faults.md): with SYNOD_FAILPOINT_STORAGE=<path> in the
 * environment, once the WAL is open every WAL write and fsync fails with ENOSPC while <path>
 * exists, so the integration tests can fill the disk of one node at a chosen moment (also before
 * its first Ready). Unset in production: no hook is installed and nothing is checked. */
static int failpoint_storage(void *ctx, enum storage_op op, const char *path)
{
    const node *n = ctx;
    (void)op, (void)path;
    return n->failpoint_armed && access(n->failpoint_path, F_OK) == 0 ? ENOSPC : 0;
}

static int recover(node *n, struct wal_recovered *rec, raft_config *rc)
{
    server *s = n->s;
    if (rec->has_snapshot) {
        struct snap *sn = &rec->snapshot;
        if (data_snapshot_load(s->ds, sn->data, (size_t)sn->data_len) < 0) {
            srv_log(SRV_LOG_WARN, "snapshot at index %llu in %s does not load",
                    (unsigned long long)sn->index, s->cfg.data_dir);
            return -1;
        }
        raft_membership m;
        nconf_addr addrs[NODE_ADDRS_MAX];
        size_t n_addrs = 0;
        if (nconf_decode(sn->conf, sn->conf_len, &m, addrs, &n_addrs) < 0) {
            srv_log(SRV_LOG_WARN, "snapshot at index %llu in %s: bad membership",
                    (unsigned long long)sn->index, s->cfg.data_dir);
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
            srv_log(SRV_LOG_WARN, "log entry %llu in %s has unknown type %u",
                    (unsigned long long)rec->entries[i].index, s->cfg.data_dir,
                    rec->entries[i].type);
            return -1;
        }
    }
    /* the entries themselves stay on disk: the core reads them back through nlog_storage */
    rc->snapshot = n->snap_meta;
    rc->last_index = wal_last_index(n->wal);
    rc->last_term = rc->last_index > n->snap_meta.index ? wal_last_term(n->wal) : n->snap_meta.term;
    rc->hard_state.term = rec->hard_state.term;
    n->durable_term = rec->hard_state.term;
    rc->hard_state.vote = rec->hard_state.vote;
    rc->hard_state.commit = rec->hard_state.commit;
    /* raft.h restart contract: commit <= last_index, last_term <= term (a torn batch is dropped
     * whole, so these hold; clamp defensively without ever lowering a term) */
    if (rc->hard_state.commit > rc->last_index) rc->hard_state.commit = rc->last_index;
    if (rc->hard_state.term < rc->last_term) {
        rc->hard_state.term = rc->last_term;
        rc->hard_state.vote = 0;
    }
    return 0;
}

int node_create(server *s)
{
    node *n = calloc(1, sizeof(*n));
    if (!n) return -1;
    n->s = s;
    s->node = n;
    n->snap_fd = -1;
    resp_buf_init(&n->in_snap);
    resp_buf_init(&n->scratch);
    const srv_config *cfg = &s->cfg;
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
    rc.max_clock_drift_ticks = 2;

    struct wal_options wo = {0};
    wo.fsync = cfg->fsync == SRV_FSYNC_ALWAYS  ? WAL_FSYNC_ALWAYS
               : cfg->fsync == SRV_FSYNC_BATCH ? WAL_FSYNC_BATCH
                                               : WAL_FSYNC_NEVER;
    wo.io.log = storage_log;
    const char *fp = getenv("SYNOD_FAILPOINT_STORAGE");
    if (fp && fp[0]) {
        n->failpoint_path = fp; /* the environment outlives the node */
        wo.io.fault = failpoint_storage;
        wo.io.fault_ctx = n;
        srv_log(SRV_LOG_WARN, "test failpoint: storage fails while %s exists", fp);
    }
    wo.async_remove = true; /* a big segment's unlink must not stall the event loop */
    struct wal_recovered rec;
    memset(&rec, 0, sizeof(rec));
    char err[1024];
    int wrc = wal_open(cfg->data_dir, &wo, &n->wal, &rec, err, sizeof(err));
    if (wrc < 0) {
        srv_log(SRV_LOG_WARN, "cannot open the log in %s: %s (%s)", cfg->data_dir, err,
                storage_strerror(wrc));
        fprintf(stderr, "synod: %s\n", err);
        return -1;
    }
    n->failpoint_armed = n->failpoint_path != NULL;
    int rrc = recover(n, &rec, &rc);
    wal_recovered_deinit(&rec);
    if (rrc < 0) return -1;
    (void)node_snap_open(n); /* the dataset image itself is not kept in memory */
    nlog_storage(n, &rc.storage);

    if (cfg->n_members > 1 || cfg->join) {
        int fd = net_tcp_listen(cfg->peer_host, cfg->peer_port, 128);
        if (fd < 0) {
            fprintf(stderr, "synod: peer-listen %s:%d: %s\n", cfg->peer_host, cfg->peer_port,
                    strerror(-fd));
            return -1;
        }
        peer_net_config pc = {
            rc.id, cfg->cluster_id, s->listen_addr, cfg->peer_host, cfg->cluster_secret, NULL, n};
        pc.on_msg = node_on_peer_msg;
        n->pn = peer_net_create(s->loop, &pc, fd);
        n->fw = fwd_create(s);
        if (!n->pn || !n->fw) return -1;
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
        srv_log(SRV_LOG_WARN, "raft_create: %s (hard state term %llu commit %llu, last %llu)",
                raft_strerror(err_rc), (unsigned long long)rc.hard_state.term,
                (unsigned long long)rc.hard_state.commit, (unsigned long long)rc.last_index);
        return -1;
    }
    n->role = RAFT_FOLLOWER;
    n->tick_due_ms = net_mono_ms() + NODE_TICK_MS;
    n->tick_timer = net_timer_add(s->loop, NODE_TICK_MS, node_tick_cb, n);
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
        }
        for (int i = 0; i < 16 && !n->failed && raft_has_ready(n->r); i++)
            node_process(n);
    }
    srv_log(SRV_LOG_INFO, "node %lld: %zu log entries after snapshot %llu, term %llu, %s%s",
            cfg->id, (size_t)(wal_last_index(n->wal) - n->snap_meta.index),
            (unsigned long long)n->snap_meta.index, (unsigned long long)rc.hard_state.term,
            cfg->n_members > 1 ? "peers on " : "single node",
            cfg->n_members > 1 ? cfg->peer_host : "");
    return 0;
}

void node_destroy(server *s)
{
    node *n = s->node;
    if (!n) return;
    if (n->tick_timer) (void)net_timer_cancel(s->loop, n->tick_timer);
    node_snap_stop(n);
    peer_net_destroy(n->pn);
    if (n->fw) fwd_destroy(n->fw);
    raft_destroy(n->r);
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
    free(n);
    s->node = NULL;
}
