/* node_block.c — blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX
 * BZMPOP; XREAD and XREADGROUP with BLOCK) on a replicated store (issues 10 and 12;
 * docs/cluster.md "Blocking commands").
 *
 * A client blocks on the leader only (a follower relays the command on a connection of the
 * client's own: fwd.c). The command goes through the log like any write; when its entry is
 * applied, every replica runs it as the non-blocking form (data_exec), but the leader runs it
 * for its client with data_exec_block: with nothing to pop the client gets no reply and is
 * put on the blocked list (FIFO) instead. Nothing changed in the dataset, so the replicas
 * agree.
 *
 * A blocked client can only be served when one of its keys is created (a key never holds an
 * empty list or sorted set, so an existing key would have been popped at once): the data
 * layer reports every list / sorted-set key it creates (data_set_key_created_hook). Outside a
 * Ready, the leader then proposes the client's command again — for as many waiters, in FIFO
 * order, as the key has elements — and the retry's apply serves it, or, if another pop took
 * the elements first, leaves it blocked where it was. Each retry re-marks its keys, so
 * elements pushed meanwhile to the same key reach the next waiter.
 *
 * Streams are different: a stream key becomes readable for a client when entries are added
 * past its id, not when it is created. Every key an applied entry writes is reported
 * (data_set_key_touched_hook, through node_watch.c: nblock_touched) while clients wait on
 * streams, and the data layer says for each waiter of such a key whether its command would
 * read something now (data_block_stream_wake). XREAD retries go out for every such waiter;
 * a retry that consumes a group's new entries (XREADGROUP >) one per key at a time — the next
 * waiter is looked at when it has been applied — so N consumers of one group do not propose N
 * retries for one new entry. A blocked XREADGROUP whose group or key went away gets Redis's
 * error at once (it changes nothing, so no entry). XREAD's `$` is stored resolved to the
 * stream's last id when the client blocks (data_block_retry_args).
 *
 * Pipelined identical pops (a consumer sending BRPOP q 0 sixteen times in one write): the leader
 * takes the identical requests that follow the first in the client's input with it
 * (nblock_repeats, at most NODE_REPEAT_MAX) into one NENTRY_REPEAT entry, which every replica
 * runs as that many pops in order until one finds nothing (the same on every replica: the
 * same state, the same entry). On the leader the client gets a reply per pop; at the first
 * that finds nothing it blocks there as usual, with `left` identical requests behind it. Once
 * that one is answered (served, timed out, CLIENT UNBLOCK) the client is a *tail*: at the next
 * pass the leader proposes NENTRY_REPEAT of `left` for it (after the retries of other waiters
 * already in the log, as Redis serves a client's next pipelined command after the other
 * waiters of the key). Each request's timeout starts when it blocks. A client that loses its
 * leader is answered once per request it still has. Without this a pipeline of blocking pops
 * went through the log one request per round trip.
 *
 * Timeouts (monotonic, from the moment the client blocked) are checked on every tick. A
 * client that leaves is forgotten. When the leader loses leadership its blocked clients get
 * -TRYAGAIN (nothing was popped for them); a retry in flight then gets the usual "may or may
 * not have been applied" error. */
#include <stdlib.h>
#include <string.h>

#include "node/node_internal.h"
#include "util/assert.h"
#include "util/log.h"

struct nblock {
    client *c;
    uint8_t *args; /* the command's arguments (nentry_put_args), proposed again on a retry */
    size_t args_len;
    data_block spec;
    int64_t deadline_ms; /* monotonic; 0 = none */
    bool inflight;       /* a retry is proposed and not applied yet */
    bool consume;        /* ... and it takes new entries of a group (XREADGROUP >) */
    int unblock;         /* CLIENT UNBLOCK while in flight: 1 timeout reply, 2 error */
    uint32_t left;       /* identical requests pipelined after this one (NENTRY_REPEAT) */
    bool tail;           /* this one was answered: the `left` others are to be proposed */
    int db;              /* the database its keys are in (SELECT) */
    /* the SYNOD ORIGIN its entry named (a tracking client's on a follower): its retries name it
     * too, so that follower knows the writes they make as that client's (NOLOOP, and its own
     * invalidations after its reply: node.c hold_until) */
    uint64_t origin[3];
    nblock *prev, *next;
};

/* blk_ready: u32 db, u32 len, key; for each key made ready since the last pass */
static void key_ready(node *n, int db, const char *key, size_t len)
{
    if (!n->blk_n || n->role != RAFT_LEADER) return;
    dbkey_put(&n->blk_ready, db, key, len);
}

static void on_key_created(void *ctx, const char *key, size_t len)
{
    node *n = ctx;
    key_ready(n, data_selected(n->ds), key, len); /* the entry's database is selected */
}

void nblock_touched(node *n, const char *key, size_t len)
{
    if (!n->blk_streams) return;
    if (key)
        on_key_created(n, key, len);
    else
        n->blk_flushed = true; /* FLUSHALL: every waiter's keys, in nblock_serve (not here:
                                  n->argv holds the command being applied) */
}

void nblock_init(node *n)
{
    resp_buf_init(&n->blk_ready);
    data_set_key_created_hook(n->ds, on_key_created, n);
}

static void unlink_nb(node *n, nblock *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        n->blk_head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        n->blk_tail = b->prev;
    n->blk_n--;
    if (b->spec.type == DATA_BLOCK_STREAM) n->blk_streams--;
    if (b->tail) n->blk_tails--;
    b->c->blocked = NULL;
    free(b->args);
    free(b);
}

void nblock_drop(node *n, client *c)
{
    if (c->blocked) unlink_nb(n, c->blocked);
}

void nblock_deinit(node *n)
{
    while (n->blk_head)
        unlink_nb(n, n->blk_head);
    resp_buf_deinit(&n->blk_ready);
}

size_t node_blocked_clients(const node *n)
{
    size_t k = n->blk_n + n->n_waiting;
    for (const client *c = n->clients; c; c = c->next)
        if (c->relay && c->async_kind == ASYNC_BLOCK) k++; /* relayed to the leader */
    return k;
}

/* The arguments of b's keys: argv decoded from b->args into n->argv. */
static int decode_args(node *n, const nblock *b)
{
    size_t off = 0;
    return nentry_get_args(b->args, b->args_len, &off, &n->argv, &n->argv_cap);
}

static void mark_keys_ready(node *n, nblock *b)
{
    int argc = decode_args(n, b);
    if (argc <= 0) return;
    for (int k = 0; k < b->spec.n_keys && b->spec.first_key + k < argc; k++) {
        const data_arg *a = &n->argv[b->spec.first_key + k];
        key_ready(n, b->db, a->ptr, a->len);
    }
}

/* b's request was answered: with identical requests left it becomes a tail (nblock_serve
 * proposes them), else it is forgotten. True if the client is done (no tail). */
static bool answered(node *n, nblock *b)
{
    if (b->left) {
        b->tail = true;
        b->inflight = false;
        n->blk_tails++;
        n->host->mark_pending(b->c->conn); /* its reply leaves now, not with the next one */
        return false;
    }
    unlink_nb(n, b);
    return true;
}

static void answer_unblocked(node *n, nblock *b, int how)
{
    client *c = b->c;
    if (how == 2)
        nreply_error(n, c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        data_reply_timeout(&b->spec, n->host->reply, c->conn);
    if (answered(n, b)) node_client_done(n, c);
}

bool nblock_apply(node *n, client *c, const data_cmd *dc, int argc, const data_arg *argv,
                  int64_t now_ms, bool *dirty, uint32_t left)
{
    data_block spec;
    *dirty = data_exec_block(n->ds, dc, argc, argv, now_ms, n->host->reply, c->conn, &spec) != 0;
    nblock *b = c->blocked;
    if (b) { /* a retry */
        b->inflight = false;
        if (!spec.blocked) {       /* served (or an error): done */
            mark_keys_ready(n, b); /* more may be left for the next waiter */
            return answered(n, b);
        }
        if (b->unblock) {
            answer_unblocked(n, b, b->unblock);
            return false; /* answered and done above */
        }
        if (b->deadline_ms && net_mono_ms() >= b->deadline_ms) {
            data_reply_timeout(&b->spec, n->host->reply, c->conn);
            return answered(n, b);
        }
        mark_keys_ready(n, b); /* elements pushed to an existing key meanwhile */
        return false;
    }
    if (!spec.blocked) return true;
    b = calloc(1, sizeof(*b));
    resp_buf tmp;
    resp_buf_init(&tmp);
    /* XREAD's `$` resolved now (the retries must read what is added after this point) */
    size_t cap = 44 * (size_t)argc;
    data_arg *ra = malloc((size_t)argc * sizeof(*ra));
    char *scratch = malloc(cap);
    SYN_ASSERT(b != NULL && ra != NULL && scratch != NULL);
    int rc = data_block_retry_args(n->ds, argc, argv, now_ms, ra, scratch, cap);
    SYN_ASSERT(rc == argc);
    nentry_put_args(&tmp, argc, ra);
    free(ra);
    free(scratch);
    b->c = c;
    b->left = left;
    b->db = data_selected(n->ds); /* its entry's */
    memcpy(b->origin, n->applying_origin, sizeof(b->origin));
    b->args = (uint8_t *)tmp.data; /* the buffer is handed over */
    b->args_len = tmp.len;
    b->spec = spec;
    b->deadline_ms = spec.timeout_ms ? net_mono_ms() + spec.timeout_ms : 0;
    b->prev = n->blk_tail;
    if (n->blk_tail)
        n->blk_tail->next = b;
    else
        n->blk_head = b;
    n->blk_tail = b;
    n->blk_n++;
    if (spec.type == DATA_BLOCK_STREAM) n->blk_streams++;
    c->blocked = b;
    c->async_kind = ASYNC_BLOCK;
    if (c->unblock_pending) { /* unblocked before it blocked (SYNOD UNBLOCK-SELF) */
        int how = c->unblock_pending;
        c->unblock_pending = 0;
        answer_unblocked(n, b, how);
    }
    return false;
}

static bool waits_on(node *n, nblock *b, int db, const char *key, size_t len)
{
    if (b->db != db) return false;
    int argc = decode_args(n, b);
    for (int k = 0; k < b->spec.n_keys && b->spec.first_key + k < argc; k++) {
        const data_arg *a = &n->argv[b->spec.first_key + k];
        if (a->len == len && memcmp(a->ptr, key, len) == 0) return true;
    }
    return false;
}

/* A stream waiter b of key: false if it needs no retry (still nothing to read, or answered
 * here with Redis's error and forgotten); *consume: the retry would take a group's entries. */
static bool stream_wants_retry(node *n, nblock *b, const char *key, size_t len, int64_t now_wall,
                               bool *consume)
{
    const char *err = NULL;
    int argc = decode_args(n, b);
    int w = argc > 0 ? data_block_stream_wake(n->ds, argc, n->argv, key, len, now_wall, &err)
                     : DATA_WAKE_NONE;
    if (w == DATA_WAKE_ERROR) {
        client *c = b->c;
        nreply_error(n, c, err);
        unlink_nb(n, b);
        node_client_done(n, c);
        return false;
    }
    *consume = w == DATA_WAKE_CONSUME;
    return w != DATA_WAKE_NONE;
}

static void serve_key(node *n, int db, const char *key, size_t len, int64_t now_wall)
{
    uint64_t avail[DATA_BLOCK_TYPES] = {0};
    uint64_t any = 0;
    for (int t = 1; t < DATA_BLOCK_TYPES; t++)
        any |= avail[t] = data_block_available(n->ds, t, key, len, now_wall); /* 0: streams */
    if (!any && !n->blk_streams) return;
    /* retries in flight on this key will take their share first; one group read at a time */
    bool consuming = false;
    for (nblock *b = n->blk_head; b; b = b->next) {
        if (!b->inflight || !waits_on(n, b, db, key, len)) continue;
        if (b->spec.type == DATA_BLOCK_STREAM)
            consuming = consuming || b->consume;
        else if (avail[b->spec.type])
            avail[b->spec.type]--;
    }
    for (nblock *b = n->blk_head, *next; b; b = next) {
        next = b->next;
        if (b->inflight || b->tail || !waits_on(n, b, db, key, len)) continue;
        bool consume = false;
        if (b->spec.type == DATA_BLOCK_STREAM) {
            if (!stream_wants_retry(n, b, key, len, now_wall, &consume) || (consume && consuming))
                continue;
        } else if (!avail[b->spec.type]) {
            continue;
        }
        nentry_put_header(&n->scratch, NENTRY_CMD, now_wall);
        if (b->spec.type == DATA_BLOCK_STREAM) { /* XREAD(GROUP)_WOKEN for key alone */
            int argc = decode_args(n, b);
            data_arg *wa = malloc((size_t)(argc > 0 ? argc : 1) * sizeof(*wa));
            SYN_ASSERT(wa != NULL);
            nentry_put_args(&n->scratch, data_block_woken_args(argc, n->argv, key, len, wa), wa);
            free(wa);
        } else {
            resp_buf_append(&n->scratch, b->args, b->args_len);
        }
        nentry_wrap_db(&n->scratch, b->db);
        if (node_propose_retry(n, b->c, b->origin, n->scratch.data, n->scratch.len) < 0) return;
        node_prop_set_cmds(n, 1 + b->left); /* if it fails, each of them is answered */
        b->inflight = true;
        b->consume = consume;
        consuming = consuming || consume;
        if (b->spec.type != DATA_BLOCK_STREAM) avail[b->spec.type]--;
    }
}

/* Tails: the identical requests left behind an answered one, proposed as one NENTRY_REPEAT. */
static void propose_tails(node *n)
{
    int64_t now = net_wall_ms();
    for (nblock *b = n->blk_head; b && n->blk_tails; b = b->next) {
        if (!b->tail || b->inflight) continue;
        nentry_put_header(&n->scratch, NENTRY_CMD, now);
        resp_buf_append(&n->scratch, b->args, b->args_len);
        nentry_wrap_repeat(&n->scratch, b->left);
        nentry_wrap_db(&n->scratch, b->db);
        if (node_propose_retry(n, b->c, b->origin, n->scratch.data, n->scratch.len) < 0) return;
        node_prop_set_cmds(n, b->left);
        b->inflight = true;
    }
}

void nblock_serve(node *n)
{
    if (n->blk_tails && !n->barrier && !n->failed && n->role == RAFT_LEADER) propose_tails(n);
    if (n->blk_flushed && !n->barrier) {
        n->blk_flushed = false;
        if (n->role == RAFT_LEADER)
            for (nblock *b = n->blk_head; b; b = b->next)
                if (b->spec.type == DATA_BLOCK_STREAM) mark_keys_ready(n, b);
    }
    if (!n->blk_ready.len) return;
    if (n->barrier) return; /* a watched EXEC waits for the log to be applied: later */
    if (n->failed || n->role != RAFT_LEADER || !n->blk_n) {
        n->blk_ready.len = 0;
        return;
    }
    /* the list may grow while we propose (no: proposals apply later), so walk a copy */
    resp_buf ready = n->blk_ready;
    resp_buf_init(&n->blk_ready);
    int64_t now = net_wall_ms();
    size_t off = 0, len;
    int db;
    const char *key;
    while (dbkey_next(&ready, &off, &db, &key, &len)) {
        /* each key once per pass */
        bool seen = false;
        size_t o2 = 0, l2;
        int db2;
        const char *k2;
        while (!seen && o2 < off - 8 - len && dbkey_next(&ready, &o2, &db2, &k2, &l2))
            seen = db2 == db && l2 == len && memcmp(k2, key, len) == 0;
        if (!seen && data_select(n->ds, db) >= 0) {
            serve_key(n, db, key, len, now);
            data_select(n->ds, 0);
        }
    }
    resp_buf_deinit(&ready);
    n->blk_retry_index = raft_last_index_of(n->r); /* retries proposed up to here */
}

bool nblock_reads_wait(const node *n)
{
    return n->applied < n->blk_retry_index || (n->blk_ready.len && n->blk_n);
}

void nblock_timeouts(node *n)
{
    if (!n->blk_n) return;
    int64_t now = net_mono_ms();
    for (nblock *b = n->blk_head, *next; b; b = next) {
        next = b->next;
        if (b->inflight || b->tail || !b->deadline_ms || now < b->deadline_ms) continue;
        client *c = b->c;
        data_reply_timeout(&b->spec, n->host->reply, c->conn);
        if (answered(n, b)) node_client_done(n, c);
    }
}

void nblock_fail_all(node *n, const char *msg)
{
    for (nblock *b = n->blk_head, *next; b; b = next) {
        next = b->next;
        client *c = b->c;
        bool inflight = b->inflight;                  /* its proposal's failure answers it */
        uint32_t k = b->tail ? b->left : 1 + b->left; /* requests still to answer */
        unlink_nb(n, b);
        if (!inflight) {
            for (uint32_t i = 0; i < k; i++)
                nreply_error(n, c, msg);
            node_client_done(n, c);
        }
    }
}

int node_unblock(node *n, node_client *c, int error)
{
    if (c->async_kind != ASYNC_BLOCK || c->migrating) return 0; /* MIGRATE: as Redis, never */
    if (c->waiting) return nwait_unblock(n, c, error);
    nblock *b = c->blocked;
    if (b && b->tail) return 0; /* answered; its next request has not blocked yet */
    if (b) {
        if (b->inflight) {
            b->unblock = error ? 2 : 1;
            return 1;
        }
        answer_unblocked(n, b, error ? 2 : 1);
        return 1;
    }
    if (c->relay && n->fw) return fwd_unblock(n->fw, c, error);
    return 0;
}

void nblock_unblock_self(node *n, client *c, int how)
{
    if (c->async_kind != ASYNC_BLOCK || c->migrating) return; /* nothing that may block */
    nblock *b = c->blocked;
    if (b && b->tail) return; /* answered just before; its next request has not blocked */
    if (!b)
        c->unblock_pending = how; /* its entry is in flight: unblocked once it blocks */
    else if (b->inflight)
        b->unblock = how;
    else
        answer_unblocked(n, b, how);
}

/* List and sorted-set pops: the blocking commands whose identical pipelined requests may share
 * an entry (streams, locks and elections wait differently). */
static bool repeatable(const data_cmd *dc)
{
    static const char *const names[] = {"blpop",  "brpop",    "blmove",   "brpoplpush",
                                        "blmpop", "bzpopmin", "bzpopmax", "bzmpop"};
    static const data_cmd *cmds[sizeof(names) / sizeof(names[0])];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!cmds[i]) cmds[i] = data_cmd_lookup(names[i], strlen(names[i]));
        if (dc == cmds[i]) return true;
    }
    return false;
}

int nblock_repeats(node *n, client *c, const data_cmd *dc)
{
    (void)n;
    size_t len = c->raw_len;
    if (!c->raw || !len || c->raw_avail < 2 * len || c->n_async || !repeatable(dc)) return 0;
    int k = 0;
    while (k + 1 < NODE_REPEAT_MAX && (size_t)(k + 2) * len <= c->raw_avail &&
           memcmp(c->raw, c->raw + (size_t)(k + 1) * len, len) == 0)
        k++;
    return k;
}

bool nblock_apply_repeat(node *n, client *c, const uint8_t *data, size_t len)
{
    uint32_t count = 0;
    int64_t now_ms;
    int argc;
    const data_cmd *dc = NULL;
    if (nentry_unwrap_repeat(&data, &len, &count) == 0 &&
        nentry_decode_cmd(n, data, len, &now_ms, &argc) == 0)
        dc = data_cmd_lookup(n->argv[0].ptr, n->argv[0].len);
    if (!dc || !repeatable(dc)) {
        syn_log(SYN_LOG_WARN, "malformed repeated command entry skipped");
        for (uint32_t i = 0; c && i < (count ? count : 1); i++)
            nreply_error(n, c, "ERR malformed log entry");
        if (c && c->blocked && c->blocked->tail) unlink_nb(n, c->blocked);
        return true;
    }
    if (c && c->blocked && c->blocked->tail) unlink_nb(n, c->blocked); /* its tail: now */
    for (uint32_t i = 0; i < count; i++) {
        bool dirty = false;
        if (c) {
            bool done = nblock_apply(n, c, dc, argc, n->argv, now_ms, &dirty, count - 1 - i);
            n->dirty_since_snap += dirty;
            if (!done) return false; /* blocked with the rest behind it */
        } else {
            data_block spec;
            dirty = data_exec_block(n->ds, dc, argc, n->argv, now_ms, nreply_ops(n, NULL), NULL,
                                    &spec) != 0;
            n->dirty_since_snap += dirty;
            if (spec.blocked) break; /* where its client blocked: the rest come later */
        }
    }
    return true;
}
