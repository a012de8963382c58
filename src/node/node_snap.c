/* node_snap.c — snapshots of the node: taken in a forked child (automatic, every snapshot-count
 * applied entries) or in the foreground (SYNOD SNAPSHOT), installed from the leader (followers),
 * and served to lagging followers straight from the snapshot file.
 *
 * Background snapshots work as Redis's BGSAVE: fork() freezes a copy-on-write image of the
 * dataset at the applied index; the child streams it into a snapshot file (tmp, fsync, rename);
 * the parent keeps serving and, once the child exited 0, compacts the raft log and the WAL up to
 * that index. The data store is never serialised on the event loop, so a big keyspace does not
 * stall writes, and no copy of the snapshot is held in memory: followers are served with pread()
 * from the file (an open descriptor keeps it readable even after a newer snapshot replaced it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "node/node_internal.h"
#include "storage/snap.h"

#define SNAP_WBUF (256u << 10)

typedef struct {
    struct snap_writer *w;
    char *buf;
    size_t n;
    char err[512];
    int failed;
} snap_out;

static int out_flush(snap_out *o)
{
    if (o->failed) return -1;
    if (o->n && snap_writer_append(o->w, o->buf, o->n, o->err, sizeof(o->err)) != 0) {
        o->failed = 1;
        return -1;
    }
    o->n = 0;
    return 0;
}

static int out_write(void *ctx, const void *p, size_t len)
{
    snap_out *o = ctx;
    if (o->failed) return -1;
    if (o->n + len > SNAP_WBUF && out_flush(o) < 0) return -1;
    if (len >= SNAP_WBUF) {
        if (snap_writer_append(o->w, p, len, o->err, sizeof(o->err)) != 0) {
            o->failed = 1;
            return -1;
        }
        return 0;
    }
    memcpy(o->buf + o->n, p, len);
    o->n += len;
    return 0;
}

/* The conf blob of a snapshot of membership m with the addresses known now (malloc'd; NULL if
 * it does not fit, which NCONF_MAX_BYTES rules out, or no memory). */
static uint8_t *conf_blob(const node *n, const raft_membership *m, uint32_t *len)
{
    uint8_t *p = malloc(NCONF_MAX_BYTES);
    if (!p) return NULL;
    size_t cl = nconf_encode(n, m, p, NCONF_MAX_BYTES);
    if (!cl) {
        free(p);
        return NULL;
    }
    *len = (uint32_t)cl;
    return p;
}

/* Streams the dataset into the durable snapshot file for meta, with conf blob conf. */
static int write_snapshot(node *n, const raft_snapshot_meta *meta, const uint8_t *conf, uint32_t cl,
                          char *err, size_t cap)
{
    snap_out o = {0};
    o.buf = malloc(SNAP_WBUF);
    if (!o.buf) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if (snap_writer_begin(n->cfg.data_dir, meta->index, meta->term, conf, cl, NULL, &o.w, err,
                          cap) != 0) {
        free(o.buf);
        return -1;
    }
    int rc = data_snapshot_save(n->ds, out_write, &o);
    if (rc == 0) rc = out_flush(&o);
    free(o.buf);
    if (rc < 0) {
        snprintf(err, cap, "%s", o.failed ? o.err : "dataset could not be serialised");
        snap_writer_abort(o.w);
        return -1;
    }
    return snap_writer_finish(o.w, err, cap) == 0 ? 0 : -1;
}

/* Points the follower-serving descriptor at the snapshot of n->snap_meta. */
int node_snap_open(node *n)
{
    if (n->snap_fd >= 0) close(n->snap_fd);
    n->snap_fd = -1;
    n->snap_len = 0;
    if (!n->snap_meta.index) return 0;
    char err[512];
    if (snap_open_data(n->cfg.data_dir, n->snap_meta.index, n->snap_meta.term, &n->snap_fd,
                       &n->snap_off, &n->snap_len, err, sizeof(err)) != 0) {
        syn_log(SYN_LOG_WARN, "snapshot at index %llu cannot be served to followers: %s",
                (unsigned long long)n->snap_meta.index, err);
        return -1;
    }
    return 0;
}

/* The new snapshot file of meta (conf blob conf, ownership taken) becomes the one followers
 * are served from. */
static void snap_set_current(node *n, const raft_snapshot_meta *meta, uint8_t *conf, uint32_t cl)
{
    free(n->snap_conf);
    n->snap_conf = conf;
    n->snap_conf_len = cl;
    n->snap_meta = *meta;
    (void)node_snap_open(n);
}

/* The snapshot of meta is durable: forget the log it covers. Takes ownership of conf. */
static int snapshot_taken(node *n, const raft_snapshot_meta *meta, uint8_t *conf, uint32_t cl,
                          char *err, size_t cap)
{
    int rc = raft_compact(n->r, meta);
    if (rc < 0) {
        free(conf);
        snprintf(err, cap, "raft_compact: %s", raft_strerror(rc));
        return -1;
    }
    if (wal_compact(n->wal, meta->index, meta->term) < 0) {
        free(conf);
        snprintf(err, cap, "%s", wal_last_error(n->wal));
        node_fail(n, err);
        return -1;
    }
    snap_set_current(n, meta, conf, cl);
    n->last_save_unix = (long long)time(NULL);
    syn_log(SYN_LOG_INFO, "snapshot at index %llu (term %llu, %llu bytes)",
            (unsigned long long)meta->index, (unsigned long long)meta->term,
            (unsigned long long)n->snap_len);
    return 0;
}

/* Kills a running background snapshot (its result would be stale or in the way). */
void node_snap_stop(node *n)
{
    if (n->bg_pid <= 0) return;
    (void)kill(n->bg_pid, SIGKILL);
    while (waitpid(n->bg_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    char tmp[4096 + 16];
    snap_tmp_path(n->cfg.data_dir, n->bg_meta.index, n->bg_meta.term, tmp, sizeof(tmp));
    (void)unlink(tmp);
    n->bg_pid = 0;
    free(n->bg_conf);
    n->bg_conf = NULL;
}

int node_snapshot(node *n, char *err, size_t cap)
{
    if (n->failed) {
        snprintf(err, cap, "storage failed: %s", n->fail_msg);
        return -1;
    }
    raft_snapshot_meta meta;
    if (raft_snapshot_meta_applied(n->r, &meta) < 0 || meta.index == 0) {
        snprintf(err, cap, "nothing applied yet");
        return -1;
    }
    if (meta.index <= n->snap_meta.index) return 0;
    node_snap_stop(n);
    uint32_t cl = 0;
    uint8_t *conf = conf_blob(n, &meta.config, &cl);
    if (!conf) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if (write_snapshot(n, &meta, conf, cl, err, cap) < 0) {
        free(conf);
        return -1;
    }
    n->applied_since_snap = n->applied_bytes_since_snap = n->dirty_since_snap = 0;
    return snapshot_taken(n, &meta, conf, cl, err, cap);
}

static int bg_start(node *n);

void node_snap_maybe_start(node *n)
{
    /* Every snapshot-count entries, but not before the log since the last snapshot is as big as
     * that snapshot: the cost of writing snapshots then stays proportional to the write traffic
     * (a big keyspace is not serialised again after every few writes), and the WAL on disk
     * stays within about twice the dataset image. */
    if (n->failed || n->bg_pid > 0 || n->applied_since_snap < (uint64_t)n->cfg.snapshot_count ||
        n->applied_bytes_since_snap < n->snap_len)
        return;
    (void)bg_start(n);
}

/* BGSAVE / BGREWRITEAOF: 0 started (or nothing new since the last snapshot: nothing to do), 1
 * one is running (with schedule: another starts when it ends), -1 failed (err). */
int node_bgsave(node *n, bool schedule, char *err, size_t cap)
{
    if (n->failed) {
        snprintf(err, cap, "storage failed: %s", n->fail_msg);
        return -1;
    }
    if (n->bg_pid > 0) {
        if (schedule) n->bg_scheduled = true;
        return 1;
    }
    if (bg_start(n) < 0) {
        snprintf(err, cap, "fork: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* SAVE: in the foreground, refused while a background one runs (as Redis). */
int node_save(node *n, char *err, size_t cap)
{
    if (n->bg_pid > 0) {
        snprintf(err, cap, "Background save already in progress");
        return -1;
    }
    return node_snapshot(n, err, cap);
}

long long node_lastsave(const node *n)
{
    return n->last_save_unix;
}

void node_count_fork(node *n, uint64_t us)
{
    n->latest_fork_us = us;
    n->total_forks++;
    if (n->host->latency) n->host->latency(n->host->host, "fork", (int64_t)us);
}

void node_forget_in_child(node *n)
{
    if (n->wal) wal_forget_in_child(n->wal);
}

/* Forks the child that writes a snapshot of the applied state: 0 (also when nothing was
 * applied since the last snapshot), -1 (errno) if the fork failed. */
static int bg_start(node *n)
{
    raft_snapshot_meta meta;
    if (raft_snapshot_meta_applied(n->r, &meta) < 0 || meta.index <= n->snap_meta.index) return 0;
    uint32_t cl = 0;
    uint8_t *conf = conf_blob(n, &meta.config, &cl); /* the child writes these very bytes */
    if (!conf) {
        errno = ENOMEM;
        return -1;
    }
    n->applied_since_snap = n->applied_bytes_since_snap = n->dirty_since_snap = 0;
    pid_t parent = getpid();
    int64_t t0 = net_mono_us();
    pid_t pid = fork();
    if (pid > 0) /* the parent waited this long (page tables copied): INFO latest_fork_usec */
        node_count_fork(n, (uint64_t)(net_mono_us() - t0));
    if (pid < 0) {
        int e = errno;
        syn_log(SYN_LOG_WARN, "background snapshot: fork: %s", strerror(e));
        free(conf);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* the child: only writes the file; dies with the parent */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(2);
        wal_forget_in_child(n->wal); /* the data dir lock must not outlive the parent */
        /* lowest CPU and I/O priority: on a busy machine the snapshot waits, not the clients
         * (ioprio class IDLE = 3, shifted by 13; who = IOPRIO_WHO_PROCESS, 0 = this one) */
        (void)nice(19);
        (void)syscall(SYS_ioprio_set, 1, 0, 3 << 13);
        char err[512];
        if (write_snapshot(n, &meta, conf, cl, err, sizeof(err)) < 0) {
            syn_log(SYN_LOG_WARN, "background snapshot at index %llu failed: %s",
                    (unsigned long long)meta.index, err);
            _exit(1);
        }
        _exit(0);
    }
    n->bg_pid = pid;
    n->bg_meta = meta;
    free(n->bg_conf);
    n->bg_conf = conf;
    n->bg_conf_len = cl;
    return 0;
}

static void bg_done(node *n, int status, pid_t r);

void node_snap_poll(node *n)
{
    if (n->bg_pid <= 0) return;
    int status = 0;
    pid_t r = waitpid(n->bg_pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return;
    n->bg_pid = 0;
    bg_done(n, status, r);
    if (n->bg_scheduled) { /* BGSAVE SCHEDULE while that one ran */
        n->bg_scheduled = false;
        if (!n->failed) (void)bg_start(n);
    }
}

static void bg_done(node *n, int status, pid_t r)
{
    uint8_t *conf = n->bg_conf;
    n->bg_conf = NULL;
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        syn_log(SYN_LOG_WARN, "background snapshot at index %llu did not complete; retrying later",
                (unsigned long long)n->bg_meta.index);
        free(conf);
        return;
    }
    if (n->failed || n->bg_meta.index <= n->snap_meta.index) {
        free(conf);
        return;
    }
    char err[512];
    if (snapshot_taken(n, &n->bg_meta, conf, n->bg_conf_len, err, sizeof(err)) < 0)
        syn_log(SYN_LOG_WARN, "background snapshot at index %llu: %s",
                (unsigned long long)n->bg_meta.index, err);
}

static bool same_membership(const raft_membership *a, const raft_membership *b)
{
    if (a->n_voters != b->n_voters || a->n_learners != b->n_learners) return false;
    for (uint32_t i = 0; i < a->n_voters; i++)
        if (a->voters[i] != b->voters[i]) return false;
    for (uint32_t i = 0; i < a->n_learners; i++)
        if (a->learners[i] != b->learners[i]) return false;
    return true;
}

/* The whole snapshot stream arrived: restore the dataset, learn the members' addresses, make it
 * durable and forget the log it replaces. */
static int install_done(node *n, const raft_snapshot_meta *meta)
{
    const uint8_t *rconf, *data;
    uint32_t rconf_len;
    size_t data_len;
    raft_membership m;
    nconf_addr addrs[NODE_ADDRS_MAX];
    size_t n_addrs = 0;
    if (nsnap_parse((const uint8_t *)n->in_snap.data, n->in_snap.len, &rconf, &rconf_len, &data,
                    &data_len) < 0 ||
        nconf_decode(rconf, rconf_len, &m, addrs, &n_addrs) < 0) {
        node_fail(n, "snapshot received from the leader is malformed (bad framing or membership)");
        return -1;
    }
    if (!same_membership(&m, &meta->config)) {
        node_fail(n, "snapshot received from the leader: its membership does not match its "
                     "metadata");
        return -1;
    }
    node_snap_stop(n); /* an older image of what is about to be replaced */
    if (data_snapshot_load(n->ds, data, data_len) < 0) {
        node_fail(n, "snapshot received from the leader does not load");
        return -1;
    }
    nconf_apply_addrs(n, addrs, n_addrs);
    char err[512];
    uint32_t cl = 0;
    uint8_t *conf = conf_blob(n, &meta->config, &cl); /* the leader's addresses and ours */
    if (!conf) {
        node_fail(n, "snapshot received from the leader: out of memory");
        return -1;
    }
    struct snap sn = {meta->index, meta->term, conf, cl, (uint8_t *)data, data_len};
    if (snap_save(n->cfg.data_dir, &sn, NULL, err, sizeof(err)) < 0) {
        free(conf);
        node_fail(n, err);
        return -1;
    }
    resp_buf_deinit(&n->in_snap);
    resp_buf_init(&n->in_snap);
    if (wal_last_index(n->wal) > meta->index && wal_truncate_suffix(n->wal, meta->index + 1) < 0) {
        free(conf);
        node_fail(n, wal_last_error(n->wal));
        return -1;
    }
    if (wal_compact(n->wal, meta->index, meta->term) < 0) {
        free(conf);
        node_fail(n, wal_last_error(n->wal));
        return -1;
    }
    snap_set_current(n, meta, conf, cl);
    n->applied = meta->index;
    n->applied_since_snap = n->applied_bytes_since_snap = n->dirty_since_snap = 0;
    nwatch_horizon(n, meta->index); /* what changed which key before it is unknown */
    n->snap_installs++;
    syn_log(SYN_LOG_INFO, "installed the leader's snapshot at index %llu",
            (unsigned long long)meta->index);
    return 0;
}

/* Step 1 of the Ready contract (follower): a chunk of the leader's snapshot. The core hands out
 * chunks in order (offset 0 starts a snapshot, each next one continues the same snapshot where
 * the previous ended) and, with the last one, has already installed the snapshot and will
 * acknowledge it once this Ready is durable: a chunk that does not fit cannot be skipped (the
 * replica would diverge silently), so it is fatal, as every failure here (node_fail, -1). */
int node_snap_install(node *n, const raft_snapshot_chunk *ch)
{
    if (ch->offset == 0) {
        n->in_snap.len = 0;
        n->in_snap_meta = ch->meta;
    } else if (ch->offset != n->in_snap.len || ch->meta.index != n->in_snap_meta.index ||
               ch->meta.term != n->in_snap_meta.term) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "snapshot chunk out of order: offset %llu of snapshot %llu/%llu after %zu bytes "
                 "of snapshot %llu/%llu (a bug: the consensus core hands out chunks in order)",
                 (unsigned long long)ch->offset, (unsigned long long)ch->meta.index,
                 (unsigned long long)ch->meta.term, n->in_snap.len,
                 (unsigned long long)n->in_snap_meta.index,
                 (unsigned long long)n->in_snap_meta.term);
        node_fail(n, msg);
        return -1;
    }
    if (ch->len) resp_buf_append(&n->in_snap, ch->data, ch->len);
    return ch->done ? install_done(n, &ch->meta) : 0;
}
