/* node.c — the raft driver: restart, the Ready loop, apply, client routing (see node.h). */
#include "node/node_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "storage/snap.h"
#include "util/strconv.h"
#include "util/assert.h"

static void discard_s(void *ctx, const char *p, size_t len)
{
    (void)ctx, (void)p, (void)len;
}
static void discard_i(void *ctx, long long v)
{
    (void)ctx, (void)v;
}
static void discard_n(void *ctx, size_t n)
{
    (void)ctx, (void)n;
}
static void discard_0(void *ctx)
{
    (void)ctx;
}
static void discard_d(void *ctx, double v)
{
    (void)ctx, (void)v;
}
static const data_reply_ops discard_ops = {
    discard_s, discard_s, discard_i, discard_s, discard_0, discard_0,
    discard_n, discard_n, discard_n, discard_d, NULL,      NULL,
};

void node_set_addr(node *n, raft_id id, const char *addr)
{
    int slot = -1;
    for (int i = 0; i < NODE_ADDRS_MAX; i++) {
        if (n->addrs[i].id == id) {
            slot = i;
            break;
        }
        if (!n->addrs[i].id && slot < 0) slot = i;
    }
    if (slot < 0) return;
    n->addrs[slot].id = id;
    snprintf(n->addrs[slot].addr, sizeof(n->addrs[slot].addr), "%s", addr);
    if (n->pn && id != (raft_id)n->cfg.id) (void)peer_net_set_addr(n->pn, id, addr);
}

const char *node_get_addr(const node *n, raft_id id)
{
    for (int i = 0; i < NODE_ADDRS_MAX; i++)
        if (n->addrs[i].id == id) return n->addrs[i].addr;
    return "";
}

void node_client_done(node *n, client *c)
{
    SYN_ASSERT(c->n_async > 0);
    if (--c->n_async == 0) {
        c->async_kind = ASYNC_NONE;
        c->unblock_pending = 0; /* what it was for was answered without blocking */
    }
    n->completions++;
    n->host->mark_pending(c->conn);
    c->stalled = true; /* more input may wait behind this reply */
}

/* An array of *cap slots of `size` bytes grown to twice as many (at least 4) */
static void *grow_slots(void *a, int *cap, size_t size)
{
    int k = *cap ? 2 * *cap : 4;
    void *b = realloc(a, (size_t)k * size);
    SYN_ASSERT(b != NULL);
    *cap = k;
    return b;
}

/* Appends a piece to c's held output: a reply (answering one request) or messages, released
 * once this node has applied c's entry number `need` (release_due) */
static void hold_piece(node *n, client *c, const char *p, size_t len, uint64_t need, bool reply)
{
    if (!c->held_reply) {
        c->held_since_ms = net_mono_ms();
        n->n_held_replies++;
    }
    if (c->held_len + len > c->held_cap || !c->held_reply) {
        size_t cap = c->held_cap ? c->held_cap : 256;
        while (cap < c->held_len + len)
            cap *= 2;
        char *nb = realloc(c->held_reply, cap);
        SYN_ASSERT(nb != NULL);
        c->held_reply = nb;
        c->held_cap = cap;
    }
    memcpy(c->held_reply + c->held_len, p, len);
    c->held_len += len;
    if (c->held_n == c->held_marks_cap)
        c->held_marks = grow_slots(c->held_marks, &c->held_marks_cap, sizeof(*c->held_marks));
    c->held_marks[c->held_n++] = (struct nheld_mark){c->held_len, need, reply};
    c->held_replies += reply;
}

void node_hold_reply(node *n, client *c, const char *p, size_t len, uint64_t need)
{
    hold_piece(n, c, p, len, need, true);
}

/* Forgets c's held replies; returns how many there were. */
static int drop_held(node *n, client *c)
{
    int k = c->held_replies;
    free(c->held_reply);
    free(c->held_marks);
    c->held_reply = NULL;
    c->held_marks = NULL;
    c->held_len = c->held_cap = 0;
    c->held_n = c->held_replies = c->held_marks_cap = 0;
    n->n_held_replies--;
    return k;
}

/* Forgets the messages c's entries pushed that still wait for replies (c is gone) */
static void drop_pend(client *c)
{
    for (int i = 0; i < c->pend_n; i++)
        free(c->pend[i].p);
    free(c->pend);
    c->pend = NULL;
    c->pend_n = c->pend_cap = 0;
}

/* Keeps the messages (p, len: malloc'd, or NULL for none) c's entry number seq pushed to c while
 * replies to its earlier requests were still to come (node_pend_out sends them) */
static void keep_pushes(client *c, uint64_t seq, char *p, size_t len)
{
    if (!p) return;
    if (c->pend_n == c->pend_cap) c->pend = grow_slots(c->pend, &c->pend_cap, sizeof(*c->pend));
    c->pend[c->pend_n++] = (struct npend_push){seq, p, len};
}

void node_pend_out(node *n, client *c, uint64_t upto)
{
    int k = 0;
    for (; k < c->pend_n && c->pend[k].seq <= upto; k++) {
        if (c->held_reply)
            hold_piece(n, c, c->pend[k].p, c->pend[k].len, 0, false);
        else
            n->host->reply_raw(c->conn, c->pend[k].p, c->pend[k].len);
        free(c->pend[k].p);
    }
    if (k == 0) return;
    memmove(c->pend, c->pend + k, (size_t)(c->pend_n - k) * sizeof(*c->pend));
    c->pend_n -= k;
}

/* Releases c's held replies whose entries this node has applied, in order: up to the first
 * one still waiting (the rest stay held behind it). */
static void release_due(node *n, client *c)
{
    int k = 0;
    while (k < c->held_n && c->held_marks[k].need <= c->applied_seq)
        k++;
    if (k == 0) return;
    if (k == c->held_n) {
        node_release_reply(n, c);
        return;
    }
    size_t end = c->held_marks[k - 1].end;
    int replies = 0;
    for (int i = 0; i < k; i++)
        replies += c->held_marks[i].reply;
    c->held_replies -= replies; /* written: the host's holding() counts them out */
    n->host->reply_raw(c->conn, c->held_reply, end);
    memmove(c->held_reply, c->held_reply + end, c->held_len - end);
    c->held_len -= end;
    for (int i = k; i < c->held_n; i++) {
        c->held_marks[i - k] = c->held_marks[i];
        c->held_marks[i - k].end -= end;
    }
    c->held_n -= k;
    c->held_since_ms = net_mono_ms();
    for (int i = 0; i < replies; i++)
        node_client_done(n, c);
}

void node_release_reply(node *n, client *c)
{
    if (!c->held_reply) return;
    int k = c->held_replies;
    c->held_replies = 0; /* written: the host's holding() counts them out */
    n->host->reply_raw(c->conn, c->held_reply, c->held_len);
    (void)drop_held(n, c);
    for (; k > 0; k--)
        node_client_done(n, c);
}

/* k: the requests of c the failed proposal stood for (node_prop.n_cmds), each answered */
static void reply_err(node *n, client *c, const char *msg, uint32_t k)
{
    if (!c) return;
    nblock_drop(n, c);   /* a blocked client's retry failed: it is answered, no longer blocked */
    nmigrate_drop(n, c); /* ... or its MIGRATE's read or deletion */
    for (uint32_t i = 0; i < (k ? k : 1); i++)
        nreply_error(n, c, msg);
    node_client_done(n, c);
}

/* --- replies through the host ------------------------------------------------------------- */

const data_reply_ops *nreply_ops(node *n, client *c)
{
    return c ? n->host->reply : &discard_ops;
}

void nreply_status(node *n, client *c, const char *s)
{
    n->host->reply->status(c->conn, s, strlen(s));
}

void nreply_error(node *n, client *c, const char *s)
{
    n->host->reply->error(c->conn, s, strlen(s));
}

void nreply_errorf(node *n, client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    if ((size_t)k >= sizeof(buf)) k = (int)sizeof(buf) - 1;
    for (int i = 0; i < k; i++) /* an error is one line */
        if (buf[i] == '\r' || buf[i] == '\n') buf[i] = ' ';
    n->host->reply->error(c->conn, buf, (size_t)k);
}

void nreply_int(node *n, client *c, long long v)
{
    n->host->reply->integer(c->conn, v);
}

void nreply_array(node *n, client *c, size_t len)
{
    n->host->reply->array(c->conn, len);
}

void nreply_cstr(node *n, client *c, const char *s)
{
    n->host->reply->bulk(c->conn, s, strlen(s));
}

/* --- proposals and reads ----------------------------------------------------------------- */

static node_prop *prop_at(node *n, size_t i)
{
    return &n->props[(n->props_head + i) % n->props_cap];
}

static void prop_pop(node *n)
{
    n->props_head = (n->props_head + 1) % n->props_cap;
    n->props_n--;
}

static int reserve_prop(node *n);

static void track(node *n, client *c, uint64_t idx, bool counted)
{
    node_prop *p = &n->props[(n->props_head + n->props_n) % n->props_cap];
    p->index = idx;
    p->term = raft_term_of(n->r);
    p->c = c;
    p->n_cmds = 1;
    n->props_n++;
    if (c) c->last_write_index = idx;
    if (c && counted) {
        c->n_async++;
        c->async_kind = ASYNC_LOG;
    }
}

int node_propose_cc(node *n, client *c, const raft_conf_change *cc)
{
    if (n->failed) return NODE_EFAILED; /* the raft instance is frozen mid-Ready */
    int rc = reserve_prop(n);
    if (rc < 0) return rc;
    uint64_t idx = 0;
    rc = raft_propose_conf_change(n->r, cc, &idx);
    if (rc < 0) return rc;
    track(n, c, idx, true);
    return 0;
}

static int propose(node *n, client *c, const void *data, size_t len, bool counted)
{
    if (n->failed) return NODE_EFAILED; /* the raft instance is frozen mid-Ready */
    int rc = reserve_prop(n);
    if (rc < 0) return rc;
    if (c && c->origin_conn) { /* a follower's request that names its connection (SYNOD ORIGIN) */
        uint64_t o[3] = {c->origin_node, c->origin_conn, c->origin_seq};
        nentry_wrap_origin(&n->origin_buf, o, data, len);
        data = n->origin_buf.data;
        len = n->origin_buf.len;
    }
    uint64_t idx = 0;
    rc = raft_propose(n->r, data, len, &idx);
    if (rc < 0) return rc;
    track(n, c, idx, counted);
    return 0;
}

void node_prop_set_cmds(node *n, uint32_t n_cmds)
{
    SYN_ASSERT(n->props_n > 0);
    prop_at(n, n->props_n - 1)->n_cmds = n_cmds;
}

int node_propose(node *n, client *c, const void *data, size_t len)
{
    return propose(n, c, data, len, true);
}

int node_propose_retry(node *n, client *c, const uint64_t origin[3], const void *data, size_t len)
{
    uint64_t was[3] = {c->origin_node, c->origin_conn, c->origin_seq};
    c->origin_node = origin[0];
    c->origin_conn = origin[1];
    c->origin_seq = origin[2];
    int rc = propose(n, c, data, len, false);
    c->origin_node = was[0];
    c->origin_conn = was[1];
    c->origin_seq = was[2];
    return rc;
}

static int reserve_prop(node *n)
{
    if (n->props_n == n->props_cap) {
        if (n->props_cap >= NODE_PENDING_MAX) return -RAFT_EBUSY;
        size_t ncap = n->props_cap ? n->props_cap * 2 : 1024;
        node_prop *np = malloc(ncap * sizeof(*np));
        if (!np) return -RAFT_ENOMEM;
        for (size_t i = 0; i < n->props_n; i++)
            np[i] = *prop_at(n, i);
        free(n->props);
        n->props = np;
        n->props_cap = ncap;
        n->props_head = 0;
    }
    return 0;
}

/* A gate's answer (a ReadIndex a follower asked for c: FCALL, a tracking read ...; err 0:
 * passed): c runs its request again. A gate holds no request of c in flight (n_async). */
static void gate_release(node *n, node_read *rd, int err)
{
    if (rd->c && rd->c->gate_ctx == rd->ctx) {
        rd->c->gate_ctx = 0;
        rd->c->gate_passed = !err;
        n->host->mark_pending(rd->c->conn);
    }
}

static void fail_all(node *n, const char *msg)
{
    n->barrier = NULL;
    nblock_fail_all(n, "TRYAGAIN leadership changed while the client was blocked; nothing was "
                       "popped or delivered for it");
    while (n->props_n) {
        reply_err(n, prop_at(n, 0)->c, msg, prop_at(n, 0)->n_cmds);
        prop_pop(n);
    }
    for (size_t i = 0; i < n->reads_n; i++) {
        node_read *rd = &n->reads[i];
        /* a gate (asked as a follower): nothing of its client in flight, it asks again */
        if (rd->gate_ms)
            gate_release(n, rd, RAFT_ENOTREADY);
        else
            reply_err(n, rd->c, msg, 1);
        free(rd->cmd);
    }
    n->reads_n = 0;
}

/* A scripting command (EVAL, FCALL, FUNCTION LOAD ...) of an entry being applied (replicated:
 * every replica runs it, with the entry's time and a seed drawn from its index) or of a
 * confirmed read. Returns whether it changed the dataset or the function library. */
static bool exec_script(node *n, client *c, int argc, const data_arg *argv, int64_t now_ms,
                        bool replicated, bool oom, bool noreplicas)
{
    uint64_t seed = (n->applying_index + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)now_ms;
    script_env env = {now_ms, seed, replicated, NULL, 0, oom, NULL, noreplicas};
    /* the connection it ran for: the proposer's, or on a follower the one its entry names
     * (origin; the reply is the leader's): its calls are counted and shown to MONITOR there,
     * and it tracks the keys if it read */
    void *conn = c ? c->conn : replicated ? n->applying_conn : NULL;
    script_out out = {nreply_ops(n, c), c ? c->conn : NULL, c ? n->host->reply_raw : NULL,
                      c && n->host->reply->is_resp3(c->conn),
                      c || n->applying_counted ? NULL : conn};
    bool dirty = script_exec(n->host->scripts, argc, argv, &env, &out) != 0;
    if (conn && n->host->script_read && script_called_read(n->host->scripts))
        n->host->script_read(n->host->host, conn, argc, argv);
    return dirty;
}

/* Runs a command entry (or a confirmed read: replicated false) and answers c if given; false if
 * c is not answered yet (a blocking command that blocked). */
static bool arg_is(const data_arg *a, const char *s);

static bool exec_cmd(node *n, const uint8_t *data, size_t len, client *c, bool replicated)
{
    int64_t now_ms;
    int argc;
    if (nentry_decode_cmd(n, data, len, &now_ms, &argc) < 0) {
        syn_log(SYN_LOG_WARN, "malformed command entry skipped");
        if (c) nreply_error(n, c, "ERR malformed log entry");
        return true;
    }
    const data_cmd *dc = data_cmd_lookup(n->argv[0].ptr, n->argv[0].len);
    if (!dc && script_route(n->host->scripts, argc, n->argv) != SCRIPT_NONE) {
        exec_script(n, c, argc, n->argv, now_ms, replicated, data[0] == NENTRY_CMD_OOM,
                    !replicated && c && c->noreplicas_run);
        return true;
    }
    if (!dc) {
        if (c) nreply_error(n, c, "ERR unknown command in log entry");
        return true;
    }
    if (c && (data_cmd_describe(dc)->flags & DATA_CMD_BLOCKING)) {
        bool dirty = false;
        bool answered = nblock_apply(n, c, dc, argc, n->argv, now_ms, &dirty, 0);
        n->dirty_since_snap += dirty;
        return answered;
    }
    if (c && nmigrate_deleting(c)) { /* MIGRATE's deletion: the client gets MIGRATE's reply */
        if (data_exec(n->ds, dc, argc, n->argv, now_ms, &discard_ops, NULL)) n->dirty_since_snap++;
        nmigrate_answer(n, c);
        return true;
    }
    /* a write of c's applied here: routed long before, it is timed now (SLOWLOG, LATENCY: a
     * slow DEL or SUNIONSTORE on a leader never showed) */
    bool timed = c && replicated && n->host->write_ran;
    if (timed) (void)n->host->write_ran(c->conn, 0, NULL, 0);
    if (data_exec(n->ds, dc, argc, n->argv, now_ms, nreply_ops(n, c), c ? c->conn : NULL))
        n->dirty_since_snap++;
    if (timed && n->host->write_ran(c->conn, 0, NULL, 1))
        (void)n->host->write_ran(c->conn, argc, n->argv, 2);
    return true;
}

/* A read of c's run now, after its ReadIndex or at its place in the log: the host times it
 * here, as the command's call (SLOWLOG, LATENCY, commandstats: Redis times the call; timed when
 * routed, a slow KEYS or EVAL_RO on a leader never showed) */
static bool exec_read(node *n, const uint8_t *data, size_t len, client *c)
{
    bool timed = c && n->host->exec_step;
    if (timed) n->host->exec_step(c->conn, 0, NULL, 0);
    bool answered = exec_cmd(n, data, len, c, false);
    int64_t now_ms;
    int argc;
    if (timed && nentry_decode_cmd(n, data, len, &now_ms, &argc) == 0)
        n->host->exec_step(c->conn, argc, n->argv, 1);
    return answered;
}

/* LOCK CHECK name token inside a transaction: every check is made before any command runs, on
 * the state as this entry finds it, and one stale token fails the whole transaction (nothing
 * runs; the same on every replica). */
static bool fence_ok(node *n, const uint8_t *p, size_t len, client *c)
{
    size_t off = 13;
    int k;
    while ((k = nentry_get_args(p, len, &off, &n->argv, &n->argv_cap)) > 0) {
        const data_arg *a = n->argv;
        long long token;
        if (k != 4 || a[0].len != 4 || strncasecmp(a[0].ptr, "lock", 4) != 0 || a[1].len != 5 ||
            strncasecmp(a[1].ptr, "check", 5) != 0)
            continue;
        if (syn_string2ll(a[3].ptr, a[3].len, &token) && token >= 0 &&
            data_lock_check(n->ds, a[2].ptr, a[2].len, (uint64_t)token))
            continue;
        if (c)
            nreply_errorf(n, c,
                          "FENCED Transaction discarded: token %.*s is not the current holder's "
                          "of lock '%.*s'",
                          (int)(a[3].len > 20 ? 20 : a[3].len), a[3].ptr,
                          (int)(a[2].len > 64 ? 64 : a[2].len), a[2].ptr);
        return false;
    }
    return true;
}

/* EXEC applied: every command at this point of the log, nothing in between. The client that
 * proposed it gets the array of replies; server commands (PING, CLIENT ...) only run for it. */
static void exec_multi(node *n, const uint8_t *p, size_t len, client *c)
{
    if (len < 13) goto bad;
    int64_t now_ms = 0;
    for (int i = 0; i < 8; i++)
        now_ms = (int64_t)((uint64_t)now_ms << 8 | p[1 + i]);
    uint32_t count = (uint32_t)p[9] << 24 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 8 | p[12];
    uint32_t seen = 0;
    size_t off = 13;
    int k;
    while ((k = nentry_get_args(p, len, &off, &n->argv, &n->argv_cap)) > 0)
        seen++;
    if (k < 0 || seen != count) goto bad;
    if (!fence_ok(n, p, len, c)) return;
    if (c) nreply_array(n, c, count);
    off = 13;
    while ((k = nentry_get_args(p, len, &off, &n->argv, &n->argv_cap)) > 0) {
        const data_cmd *dc = data_cmd_lookup(n->argv[0].ptr, n->argv[0].len);
        bool timed = c && n->host->exec_step;
        if (timed) n->host->exec_step(c->conn, k, n->argv, 0);
        if (!dc && k == 2 && arg_is(&n->argv[0], "select")) {
            /* the rest of the transaction runs in that database, on every replica */
            long long db;
            if (!syn_string2ll(n->argv[1].ptr, n->argv[1].len, &db)) {
                if (c) nreply_error(n, c, "ERR value is not an integer or out of range");
            } else if (db < INT_MIN || db > INT_MAX) {
                if (c)
                    nreply_error(
                        n, c,
                        "ERR value is out of range, value must between -2147483648 and 2147483647");
            } else if (data_select(n->ds, db) < 0) {
                if (c) nreply_error(n, c, "ERR DB index is out of range");
            } else if (c) {
                c->db = (int)db;
                nreply_status(n, c, "OK");
            }
        } else if (dc) {
            if (data_exec(n->ds, dc, k, n->argv, now_ms, nreply_ops(n, c), c ? c->conn : NULL)) {
                (*n->host->applied_writes)++;
                n->dirty_since_snap++;
            }
        } else if (script_route(n->host->scripts, k, n->argv) != SCRIPT_NONE) {
            if (exec_script(n, c, k, n->argv, now_ms, true, false, false))
                (*n->host->applied_writes)++;
        } else if (c) {
            n->host->dispatch(c->conn, k, n->argv);
        }
        if (timed) n->host->exec_step(c->conn, k, n->argv, 1);
    }
    return;
bad:
    syn_log(SYN_LOG_WARN, "malformed transaction entry skipped");
    if (c) nreply_error(n, c, "ERR malformed log entry");
}

/* the client of this node whose id is id, NULL if it is gone */
static client *origin_client(node *n, uint64_t id)
{
    for (client *c = n->clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static void apply_entry(node *n, const raft_entry *e)
{
    client *c = NULL;
    bool mine = false, answered = true;
    n->applying_index = e->index; /* the stamp of the keys it modifies (WATCH) */
    data_set_log_apply(n->ds, 1);
    n->deliver = e->index > n->replayed_index; /* pub/sub: live entries only (node_pubsub.c) */
    n->applying_conn = NULL;
    while (n->props_n && prop_at(n, 0)->index < e->index) {
        reply_err(n, prop_at(n, 0)->c, "TRYAGAIN the write was overwritten by a new leader",
                  prop_at(n, 0)->n_cmds);
        prop_pop(n);
    }
    if (n->props_n && prop_at(n, 0)->index == e->index) {
        node_prop *p = prop_at(n, 0);
        if (p->term == e->term) {
            c = p->c;
            mine = c != NULL;
        } else {
            reply_err(n, p->c, "TRYAGAIN the write was overwritten by a new leader", p->n_cmds);
        }
        prop_pop(n);
    }
    if (c) n->applying_conn = c->conn;
    raft_conf_change cc;
    if (e->type == RAFT_ENTRY_CONF_CHANGE && raft_conf_change_decode(e, &cc) == 0 &&
        cc.type == RAFT_CC_REMOVE)
        node_ident_forget(n, cc.node); /* it may come back with new data, as a new member */
    const uint8_t *data = e->data;
    size_t len = e->len;
    /* a follower's relayed request that named its connection: on that follower, the entry is
     * that connection's (its CLIENT TRACKING NOLOOP skips its own writes' invalidations) */
    uint64_t o[3] = {0, 0, 0}; /* node, connection, request */
    int db = e->type == RAFT_ENTRY_NORMAL && len > 0 && nentry_unwrap_origin(&data, &len, o) < 0
                 ? -1
             : e->type == RAFT_ENTRY_NORMAL && len > 0 ? nentry_unwrap_db(&data, &len)
                                                       : 0;
    memcpy(n->applying_origin, o, sizeof(o)); /* a blocking command's: its retries name it */
    client *oc = !c && o[1] && o[0] == n->origin_token ? origin_client(n, o[1]) : NULL;
    /* its messages come after the replies to its requests before this one: kept if one of
     * those is still to be written (the entry applied here before their replies came) */
    bool keep = oc && n->host->out_take &&
                oc->relay_answered - (uint64_t)oc->held_replies + 1 < o[2] &&
                n->host->hears_own(oc->conn);
    size_t out_mark = keep ? n->host->out_len(oc->conn) : 0;
    if (oc) {
        n->applying_conn = oc->conn;
        n->applying_counted = o[2] == oc->whole_seq; /* its prelude ran whole here */
        if (o[2] > oc->applied_seq) oc->applied_seq = o[2];
        /* applied before its reply reached it (not yet back, or held: fwd.c deliver): its own
         * invalidations wait for the reply */
        if (oc->relay_answered - (uint64_t)oc->held_replies < o[2] && oc->hold_until < o[2])
            oc->hold_until = o[2];
    }
    if (db < 0 || data_select(n->ds, db) < 0) {
        /* the same on every replica (`databases` must agree: checked at startup) */
        syn_log(SYN_LOG_WARN, "entry %llu for database %d skipped: this node has %d databases",
                (unsigned long long)e->index, db, data_databases(n->ds));
        if (c) nreply_error(n, c, "ERR DB index is out of range");
    } else if (e->type == RAFT_ENTRY_NORMAL && len > 0) {
        if (data[0] == NENTRY_CMD || data[0] == NENTRY_CMD_OOM) {
            answered = exec_cmd(n, data, len, c, true);
            (*n->host->applied_writes)++;
        } else if (data[0] == NENTRY_READ) { /* answered here, at its place in the log */
            if (c) {
                data_set_log_apply(n->ds, 0); /* served as any read (expired keys hidden) */
                answered = exec_read(n, data, len, c);
                data_set_log_apply(n->ds, 1);
            }
        } else if (data[0] == NENTRY_MULTI) {
            exec_multi(n, data, len, c);
        } else if (data[0] == NENTRY_REPEAT) {
            answered = nblock_apply_repeat(n, c, data, len);
            (*n->host->applied_writes)++;
        } else if (data[0] == NENTRY_EXPIRE) {
            int64_t now_ms, t0 = net_mono_us();
            int argc;
            if (nentry_decode_cmd(n, data, len, &now_ms, &argc) == 0 && argc == 1 &&
                data_expire_key(n->ds, n->argv[0].ptr, n->argv[0].len, now_ms))
                (*n->host->expired_keys)++;
            if (n->host->latency) n->host->latency(n->host->host, "expire-del", net_mono_us() - t0);
            if (c) nreply_status(n, c, "OK");
        } else if (data[0] == NENTRY_EVICT) {
            int64_t now_ms, t0 = net_mono_us();
            int argc;
            if (nentry_decode_cmd(n, data, len, &now_ms, &argc) == 0 && argc == 1 &&
                data_evict_key(n->ds, n->argv[0].ptr, n->argv[0].len) && n->host->evicted_keys)
                (*n->host->evicted_keys)++;
            if (n->host->latency)
                n->host->latency(n->host->host, "eviction-del", net_mono_us() - t0);
            if (c) nreply_status(n, c, "OK");
        } else if (data[0] == NENTRY_ADDR) {
            raft_id id;
            char a[NODE_ADDR_MAX];
            if (nentry_decode_addr(data, len, &id, a, sizeof(a)) == 0) node_set_addr(n, id, a);
            if (c) nreply_status(n, c, "OK");
        } else if (c) {
            nreply_error(n, c, "ERR malformed log entry");
        }
    } else if (c) {
        nreply_status(n, c, "OK");
    }
    data_set_log_apply(n->ds, 0);
    data_select(n->ds, 0);
    if (n->deliver && n->host->entry_applied) n->host->entry_applied(n->host->host);
    n->deliver = false;
    n->applying_conn = NULL;
    n->applying_counted = false;
    if (mine && answered) node_client_done(n, c);
    if (keep) {
        size_t kept;
        char *p = n->host->out_take(oc->conn, out_mark, &kept);
        keep_pushes(oc, o[2], p, kept);
    }
    /* a relayed CONFIG SET answered once its entry is applied here too */
    if (oc && oc->held_reply) release_due(n, oc);
    n->applied = e->index;
    n->applied_since_snap++;
    n->applied_bytes_since_snap += e->len;
}

/* Entries' lookups are prefetched in four stages (key bucket, key entry, field bucket, field
 * entry; the key's WATCH stamps with the third) issued 4, 3, 2 and 1 times PREFETCH_D positions
 * ahead, so a batch pays its cache misses
 * in parallel instead of one after the other. */
#define PREFETCH_D 3

typedef struct {
    data_arg a[4]; /* the entry's first arguments, decoded once at stage 0 */
    int k;
    data_prefetch_state st;
} prefetch_slot;

static void prefetch_entry(node *n, const raft_entry *e, int stage, prefetch_slot *ps)
{
    if (stage == 0) {
        ps->k = e->type == RAFT_ENTRY_NORMAL ? nentry_head(e->data, e->len, ps->a, 4) : 0;
        /* EVAL body numkeys key ... / FCALL name numkeys key ...: the first key is the one
         * to look up (not the body), if numkeys is at least 1 */
        if (ps->k == 4 && (arg_is(&ps->a[0], "eval") || arg_is(&ps->a[0], "fcall"))) {
            const data_arg *nk = &ps->a[2];
            bool keyed = nk->len > 0 && nk->len < 10 && nk->ptr[0] >= '1' && nk->ptr[0] <= '9';
            ps->a[1] = ps->a[3];
            ps->k = keyed ? 2 : 0;
        }
    }
    if (ps->k < 2) return;
    data_prefetch(n->ds, ps->k, ps->a, stage, &ps->st);
    if (stage == 2) nwatch_prefetch(n, ps->a[1].ptr, ps->a[1].len); /* its WATCH stamps */
}

static void apply_batch(node *n, const raft_entry *ents, size_t cnt)
{
    prefetch_slot ring[4 * PREFETCH_D + 1]; /* per entry in flight, by index */
    const size_t rn = sizeof(ring) / sizeof(ring[0]);
    if (cnt > 1)
        for (int st = 0; st < 4; st++)
            for (size_t j = 0; j < cnt && j < (size_t)(4 - st) * PREFETCH_D; j++)
                prefetch_entry(n, &ents[j], st, &ring[j % rn]);
    for (size_t i = 0; i < cnt; i++) {
        for (int st = 0; cnt > 1 && st < 4; st++) {
            size_t ahead = i + (size_t)(4 - st) * PREFETCH_D;
            if (ahead < cnt) prefetch_entry(n, &ents[ahead], st, &ring[ahead % rn]);
        }
        apply_entry(n, &ents[i]);
    }
}

static void mark_read_done(node *n, const raft_read_state *rs)
{
    for (size_t i = 0; i < n->reads_n; i++) {
        node_read *rd = &n->reads[i];
        if (rd->ctx != rs->ctx) continue;
        rd->done = true;
        rd->err = rs->err;
        return;
    }
}

/* Answers every confirmed read whose client has no earlier read still waiting (a client's
 * pipelined reads are answered in request order even when a lease read overtakes a ReadIndex
 * one), and keeps the rest in arrival order. */
static void serve_reads(node *n)
{
    uint64_t pass = ++n->read_pass;
    size_t j = 0;
    for (size_t i = 0; i < n->reads_n; i++) {
        node_read *rd = &n->reads[i];
        if (rd->done && rd->gate_ms) { /* an FCALL gate: its client runs again */
            gate_release(n, rd, rd->err);
            continue;
        }
        if (rd->done && (!rd->c || rd->c->read_pass != pass)) {
            if (rd->c && rd->migrate && !rd->err) {
                nmigrate_dump(n, rd->c); /* the client waits on: for the target */
            } else if (rd->c) {
                if (rd->migrate) nmigrate_drop(n, rd->c);
                if (rd->err) {
                    nreply_errorf(n, rd->c, "TRYAGAIN read not confirmed by the leader (%s)",
                                  raft_strerror(rd->err));
                } else if (data_select(n->ds, rd->db) < 0) {
                    nreply_error(n, rd->c, "ERR DB index is out of range");
                } else {
                    (void)exec_read(n, (const uint8_t *)rd->cmd, rd->cmd_len, rd->c);
                    data_select(n->ds, 0);
                }
                node_client_done(n, rd->c);
            }
            free(rd->cmd);
            continue;
        }
        if (rd->c) rd->c->read_pass = pass;
        n->reads[j++] = *rd;
    }
    n->reads_n = j;
}

/* --- storage failure ------------------------------------------------------------------------ */

/* The node stops taking part in consensus for good (until a restart): its raft instance may be
 * frozen in the middle of a Ready (no raft_advance: that would claim a persistence that did not
 * happen), so from here on nothing calls into it but the const getters (raft_status_get ...):
 * every entry point checks n->failed (node_process, ticks, peer messages, proposals, reads,
 * SYNOD MEMBER / TRANSFER-LEADER / SNAPSHOT, expiry). It no longer knows who leads, so it does
 * not report itself (or anyone) leader, refuses writes and linearizable/lease reads at once
 * with -ERR, and serves only stale reads (READONLY, SYNOD CONSISTENCY stale). */
void node_fail(node *n, const char *what)
{
    if (n->failed) return; /* the first cause is the one reported */
    n->failed = true;
    snprintf(n->fail_msg, sizeof(n->fail_msg), "%s", what);
    syn_log(SYN_LOG_WARN,
            "storage failed: %s; this node stops taking part in the cluster and refuses writes "
            "and linearizable reads",
            what);
    /* pending writes may still commit on the other nodes (their entries may have been sent) */
    fail_all(n, "ERR storage failure on this node; the write may or may not have been applied");
    if (n->role != RAFT_LEARNER) n->role = RAFT_FOLLOWER;
    n->leader = 0;
}

const char *node_strerror(int rc)
{
    return rc == NODE_EFAILED ? "storage failure on this node" : raft_strerror(rc);
}

/* --- the Ready loop ------------------------------------------------------------------------- */

static int persist_entries(node *n, const raft_entry *e, size_t cnt)
{
    if (e[0].index <= wal_last_index(n->wal)) {
        if (wal_truncate_suffix(n->wal, e[0].index) < 0) return -1;
    }
    struct wal_entry we[64];
    for (size_t i = 0; i < cnt;) {
        size_t k = 0;
        for (; k < 64 && i + k < cnt; k++) {
            const raft_entry *x = &e[i + k];
            we[k] = (struct wal_entry){x->index, x->term, (uint8_t)x->type, x->len, x->data};
        }
        if (wal_append(n->wal, we, k) < 0) return -1;
        i += k;
        n->entries_written += k;
    }
    return 0;
}

/* The leader's appends (and heartbeats, snapshot chunks, TimeoutNow) of a term already on disk
 * leave before its own fsync, which then overlaps the followers' (raft_may_send_early,
 * dissertation §10.2.1); everything else waits for the fsync. Returns how many left. */
static size_t send_early(node *n, const raft_ready *rd)
{
    if (rd->n_messages > n->sent_early_cap) {
        uint8_t *p = realloc(n->sent_early, rd->n_messages);
        if (!p) return 0; /* then all of them simply wait for the fsync */
        n->sent_early = p;
        n->sent_early_cap = rd->n_messages;
    }
    size_t k = 0;
    for (size_t i = 0; i < rd->n_messages; i++) {
        n->sent_early[i] = raft_may_send_early(&rd->messages[i], n->durable_term);
        if (!n->sent_early[i]) continue;
        peer_net_send(n->pn, &rd->messages[i]);
        k++;
    }
    if (k) peer_net_flush(n->pn);
    return k;
}

/* Steps 4-5 without the storage thread (fsync batch / never): the loop syncs, then sends. */
static int sync_and_send(node *n, const raft_ready *rd)
{
    size_t early = n->pn && rd->must_sync ? send_early(n, rd) : 0;
    if (rd->must_sync && wal_sync(n->wal) < 0) { /* group commit: one sync per Ready */
        node_fail(n, wal_last_error(n->wal));
        return -1;
    }
    if (rd->has_hard_state) n->durable_term = rd->hard_state.term;
    if (n->pn)
        for (size_t i = 0; i < rd->n_messages; i++)
            if (!early || !n->sent_early[i]) peer_net_send(n->pn, &rd->messages[i]);
    return 0;
}

static void on_soft_state(node *n, const raft_soft_state *ss)
{
    if (ss->leader != n->leader)
        syn_log(SYN_LOG_INFO, "leader is now node %llu (this node: %s)",
                (unsigned long long)ss->leader, raft_role_name(ss->role));
    if (n->role == RAFT_LEADER && ss->role != RAFT_LEADER)
        fail_all(n, "TRYAGAIN leadership lost; the write may or may not have been applied");
    if (n->role != RAFT_LEADER && ss->role == RAFT_LEADER) {
        /* before any proposal of this term: LEASE commands are tagged with it (coord.c) */
        raft_status st;
        raft_status_get(n->r, &st);
        data_coord_set_epoch(n->ds, st.term);
        n->coord_wait_index = 0;
        /* indexes of a former term's proposals may never be reached by this term's log */
        n->evict_wait_index = 0;
        n->expire_wait_index = 0;
        n->blk_retry_index = 0;
        n->role = ss->role;
        nwatch_became_leader(n); /* from here on it stamps what it applies */
    }
    n->role = ss->role;
    n->leader = ss->leader;
}

/* Peers whose links lost messages: the leader stops pipelining to them and probes (outside a
 * Ready, as raft_report_unreachable requires). */
static void report_unreachable(node *n)
{
    raft_id ids[16];
    size_t k;
    while ((k = peer_net_take_unreachable(n->pn, ids, 16)) > 0)
        for (size_t i = 0; i < k; i++)
            raft_report_unreachable(n->r, ids[i]);
}

void node_process(node *n)
{
    if (n->pn && !n->failed) report_unreachable(n);
    for (int round = 0; round < 8 && !n->failed && raft_has_ready(n->r); round++) {
        if (n->pass_start_ms && round + (int)n->apply_more > 0 &&
            net_mono_ms() - n->pass_start_ms >= NODE_APPLY_PASS_MS) {
            n->apply_more = true; /* the loop's other work first; the next pass comes at once */
            break;
        }
        raft_ready rd;
        raft_ready_get(n->r, &rd);
        if (rd.has_soft_state) on_soft_state(n, &rd.soft_state);
        if (rd.snapshot.present && node_snap_install(n, &rd.snapshot) < 0) return;
        if (rd.n_entries) {
            int rc = persist_entries(n, rd.entries, rd.n_entries);
            if (rc < 0) {
                node_fail(n, wal_last_error(n->wal));
                return;
            }
        }
        if (rd.has_hard_state) {
            struct wal_hard_state hs = {rd.hard_state.term, rd.hard_state.vote,
                                        rd.hard_state.commit};
            if (wal_save_hard_state(n->wal, &hs) < 0) {
                node_fail(n, wal_last_error(n->wal));
                return;
            }
        }
        bool inline_sync = n->async && rd.must_sync && !rd.sync_may_wait && nsync_idle_follower(n);
        if (n->async && !inline_sync) {
            if (nsync_ready(n, &rd) < 0) return; /* held messages leave when their sync returns */
        } else if (sync_and_send(n, &rd) < 0) {
            return;
        }
        apply_batch(n, rd.committed, rd.n_committed);
        for (size_t i = 0; i < rd.n_read_states; i++)
            mark_read_done(n, &rd.read_states[i]);
        if (rd.n_read_states) serve_reads(n);
        uint64_t synced_index = rd.n_entries ? rd.entries[rd.n_entries - 1].index : 0;
        uint64_t synced_term = rd.n_entries ? rd.entries[rd.n_entries - 1].term : 0;
        raft_advance(n->r, &rd);
        if (inline_sync) {
            n->sync_batches++;
            if (synced_index) raft_persisted(n->r, synced_index, synced_term);
        }
    }
    node_keepalives_sync(n, false);
    if (n->pn) peer_net_flush(n->pn);
    node_snap_maybe_start(n);
}

/* The peer watcher speaks for this node while its loop is held (a long command, script or
 * apply: peer.c, "the held-loop watcher"); a leader's part is the core's keepalives (heartbeats
 * that carry no commit index and no read round, so nothing of the core changes; their answers
 * count for CheckQuorum only, never for a lease), of a term already durable, as any message that
 * may leave early. They are handed over after every call that may change the core's role or term
 * (a tick, a message) and every tick (a new durable term, a membership change). */
void node_keepalives_sync(node *n, bool force)
{
    if (!n->pn) return;
    raft_message m[RAFT_MAX_MEMBERS];
    size_t k = n->failed ? 0 : raft_keepalive(n->r, m, RAFT_MAX_MEMBERS);
    if (k && !raft_may_send_early(&m[0], n->durable_term)) k = 0;
    uint64_t t = k ? m[0].term : 0;
    if (!force && t == n->ka_term && k == n->ka_n) return;
    n->ka_term = t;
    n->ka_n = k;
    peer_net_set_keepalives(n->pn, m, k);
}

/* Raft's clock is the monotonic clock: every NODE_TICK_MS that passed is one raft_tick, given
 * before the core sees anything else. A timer alone falls behind real time whenever the loop
 * stalls (a long fsync, the fork of a snapshot, a foreground SYNOD SNAPSHOT, SIGSTOP) because it
 * fires once, late; the leader's lease counted in such ticks would outlive the followers'
 * election timeout and a cut-off leader could answer a lease read after a new leader committed
 * a newer write (issue 8, bug 2; the simulator's --lose-stalled-ticks is that driver). So the
 * tick timer, every peer message and every lease read catch up first. A leader catches up one
 * election timeout at most: its lease is over by then (raft_lease_valid), and CheckQuorum judges
 * at most once on the stalled time, and it gives its followers one more CheckQuorum period
 * first (raft_note_stall: it could not read their messages), so a leader whose loop was busy
 * (a long write script, which every replica runs) is not deposed by its own catch-up before its
 * followers could answer. A follower (or candidate) catches up one tick at
 * most: after a stall its clock has only run slower, so it reads what its leader sent meanwhile
 * before it could time out, instead of campaigning at once against a live leader. That is safe:
 * its promise not to vote within an election timeout of the leader's last message (which the
 * leader's lease counts on) is only kept longer; and it is what keeps a CPU-starved follower
 * from deposing a healthy leader. The simulator drives its nodes the same way. */
void node_catch_up(node *n)
{
    if (n->failed) return;
    int64_t now = net_mono_ms();
    int k = 0;
    const int max_ticks = n->role == RAFT_LEADER ? NODE_ELECTION_TICKS : 1;
    bool stalled = now >= n->tick_due_ms + NODE_TICK_MS; /* more than one tick due */
    if (stalled) raft_note_stall(n->r);
    while (now >= n->tick_due_ms && k < max_ticks) {
        raft_tick(n->r);
        n->tick_due_ms += NODE_TICK_MS;
        k++;
    }
    if (stalled) raft_note_stall(n->r); /* the followers' period starts now */
    if (now >= n->tick_due_ms) n->tick_due_ms = now + NODE_TICK_MS;
    if (k) node_keepalives_sync(n, false);
}

static void node_gates_expire(node *n);

int64_t node_tick_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)l, (void)id;
    node *n = ctx;
    if (n->failed) return NODE_TICK_MS; /* no raft_tick: the instance may be mid-Ready */
    node_snap_poll(n);
    node_catch_up(n);
    node_keepalives_sync(n, true);
    nblock_timeouts(n);
    if (n->reads_n) {
        node_gates_expire(n);
        serve_reads(n);
    }
    nwait_poll(n);
    /* fsync batch: what was written since the last fdatasync gets one once the interval passed,
     * even when no new write comes to carry it (otherwise the window had no bound) */
    if (n->cfg.fsync == NODE_FSYNC_BATCH && wal_sync_due_in_ms(n->wal) == 0 &&
        wal_sync(n->wal) < 0) {
        node_fail(n, wal_last_error(n->wal));
        return NODE_TICK_MS;
    }
    /* leader: promote learners that caught up (the core refuses until they have) */
    if (n->role == RAFT_LEADER && ++n->promote_ticks >= 25) {
        n->promote_ticks = 0;
        raft_status st;
        raft_status_get(n->r, &st);
        for (uint32_t i = 0; i < st.config.n_learners; i++) {
            raft_conf_change cc = {RAFT_CC_PROMOTE, st.config.learners[i]};
            if (node_propose_cc(n, NULL, &cc) == 0) break;
        }
    }
    int64_t wait = n->tick_due_ms - net_mono_ms();
    return wait < 1 ? 1 : wait;
}

/* Voters other than this node heard from within min-replicas-max-lag seconds (Redis's "good
 * replicas"; a leader hears every follower at least once per heartbeat). */
static int good_replicas(node *n)
{
    raft_status st;
    raft_status_get(n->r, &st);
    int64_t now = net_mono_ms(), lag = n->cfg.min_replicas_max_lag * 1000;
    int good = 0;
    for (uint32_t i = 0; i < st.config.n_voters; i++) {
        raft_id id = st.config.voters[i];
        if (id == (raft_id)n->cfg.id) continue;
        for (size_t k = 0; k < NODE_ADDRS_MAX; k++)
            if (n->heard[k].id == id && now - n->heard[k].ms <= lag) good++;
    }
    return good;
}

/* min-replicas-to-write is set and not met: writes are refused (-NOREPLICAS) */
static bool noreplicas(node *n)
{
    return n->cfg.min_replicas_to_write > 0 && n->cfg.min_replicas_max_lag > 0 &&
           good_replicas(n) < n->cfg.min_replicas_to_write;
}

bool node_refuses_write(node *n, int argc, const data_arg *argv)
{
    if (n->role != RAFT_LEADER || !noreplicas(n)) return false;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (dc) return (data_cmd_describe(dc)->flags & DATA_CMD_WRITE) != 0;
    return script_write_policy(n->host->scripts, argc, argv) == SCRIPT_WRITES_DECLARED;
}

static void heard_from(node *n, raft_id id)
{
    size_t free_at = NODE_ADDRS_MAX, oldest = 0;
    for (size_t k = 0; k < NODE_ADDRS_MAX; k++) {
        if (n->heard[k].id == id) {
            n->heard[k].ms = net_mono_ms();
            return;
        }
        if (!n->heard[k].id && free_at == NODE_ADDRS_MAX) free_at = k;
        if (n->heard[k].ms < n->heard[oldest].ms) oldest = k;
    }
    size_t k = free_at < NODE_ADDRS_MAX ? free_at : oldest;
    n->heard[k].id = id;
    n->heard[k].ms = net_mono_ms();
}

int64_t node_leader_heard_ms(const node *n)
{
    for (size_t k = 0; n->leader && k < NODE_ADDRS_MAX; k++)
        if (n->heard[k].id == n->leader) return n->heard[k].ms;
    return 0;
}

void node_on_peer_msg(void *ctx, const raft_message *m)
{
    node *n = ctx;
    if (n->failed) return; /* no raft_step: the instance may be mid-Ready */
    heard_from(n, m->from);
    node_catch_up(n);         /* the core judges the message at the right time */
    (void)raft_step(n->r, m); /* malformed: -RAFT_EINVAL, state unchanged */
    node_keepalives_sync(n, false);
}

/* A follower whose loop is held (applying a long entry, as this leader may be) cannot answer;
 * its watcher's pings say it lives, so CheckQuorum does not depose a leader for its silence. */
void node_on_peer_alive(void *ctx, raft_id id)
{
    node *n = ctx;
    if (n->failed) return; /* the instance may be mid-Ready */
    raft_peer_alive(n->r, id);
}

static void take_lazy_expired(node *n);

static int64_t wake_once(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    (void)ctx;
    return NET_TIMER_STOP;
}

void node_before_sleep(net_loop *l, void *ctx)
{
    node *n = ctx;
    /* Clients that waited (for a leader, or for earlier replies) try again; a completion in
     * node_process may unblock more, so a few rounds (bounded). If the last round still
     * completed requests (a read queued behind a write in a pipeline), a zero-delay timer makes
     * the next pass come at once instead of after the next tick: without it a mixed pipeline
     * advanced a few commands per 20 ms tick. Network events are handled between passes. */
    int progress = 0;
    n->pass_start_ms = net_mono_ms();
    n->apply_more = false;
    if (n->n_held_replies) { /* an entry this node will not apply soon: answer anyway */
        int64_t now = net_mono_ms();
        /* in touch with a leader and caught up with what it committed, an entry held a
         * second is not coming (a reply made without one); cut off from it, or still applying
         * what it missed, the entry comes once the cut heals or the catch-up reaches it: held
         * as any command waits for a leader, up to cluster-down-timeout */
        int64_t heard = node_leader_heard_ms(n);
        bool in_touch =
            heard && now - heard < NODE_HELD_REPLY_MS / 4 && n->applied >= raft_commit_of(n->r);
        int64_t bound = in_touch || n->cfg.cluster_down_timeout_ms < NODE_HELD_REPLY_MS
                            ? NODE_HELD_REPLY_MS
                            : n->cfg.cluster_down_timeout_ms;
        for (client *c = n->clients; c; c = c->next)
            if (c->held_reply && now - c->held_since_ms >= bound) node_release_reply(n, c);
    }
    for (int round = 0; round < 4; round++) {
        uint64_t done_before = n->completions;
        int any = 0;
        for (client *c = n->clients; c; c = c->next) {
            if (!c->stalled) continue;
            c->stalled = false;
            n->host->process(c->conn); /* may not detach c: a connection is freed later */
            any = 1;
        }
        take_lazy_expired(n);
        nblock_serve(n);
        node_process(n);
        nwait_poll(n);
        /* keys created by this pass's entries: blocked clients are served on the next one */
        progress = n->completions != done_before || (n->blk_ready.len && n->blk_n) ||
                   (n->blk_flushed && n->blk_n);
        if (!any) break;
    }
    /* Keys this pass's entries made ready: their waiters' retries are proposed now, before the
     * replies go out, so whatever a client does after seeing its push answered comes after
     * them in the log (Redis serves blocked clients before the next command). A retry's own
     * push may make further keys ready (BLMOVE chains): a few rounds. */
    for (int k = 0; k < 8 && n->blk_ready.len && n->blk_n && !n->barrier; k++) {
        nblock_serve(n);
        node_process(n);
    }
    if (progress || n->apply_more) net_timer_add(l, 0, wake_once, NULL);
    n->pass_start_ms = 0;
    if (n->host->latency && n->wal) { /* this pass's longest WAL fdatasync (LATENCY) */
        uint64_t us = wal_take_sync_us_max(n->wal);
        if (us) n->host->latency(n->host->host, "wal-fsync", (int64_t)us);
    }
    n->host->flush(n->host->host);
}

/* --- routing client requests ------------------------------------------------------------------ */

static int stall(client *c);
static int wait_leader(node *n, client *c);
static bool observed(node *n, client *c);
static void multi_reset(node *n, client *c)
{
    n->host->multi_reset(c->conn);
}
static const char *leader_client_addr(const node *n);

/* A write in the form the log carries (DESIGN.md Principle 2: absolute times, ...): *out =
 * the rewritten argv in rw[64] (scratch holds its new values), or argv itself; returns argc. */
static int rewrite_write(data_store *ds, const data_cmd *dc, int64_t now_ms, int argc,
                         const data_arg *argv, data_arg rw[64], char *scratch, size_t scratch_cap,
                         const data_arg **out)
{
    *out = argv;
    if (!dc || !(data_cmd_describe(dc)->flags & DATA_CMD_WRITE) || argc + 8 > 64) return argc;
    int k = data_rewrite(ds, dc, argc, argv, now_ms, rw, 64, scratch, scratch_cap);
    if (k <= 0) return argc;
    *out = rw;
    return k;
}

static bool noreplicas(node *n);

/* Does c's queued transaction hold a write (min-replicas-to-write)? */
static bool multi_writes(node *n, client *c)
{
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k;
    bool w = false;
    while (!w && (k = n->host->multi_next(c->conn, &off, &argv, &cap)) > 0) {
        const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
        w = dc ? (data_cmd_describe(dc)->flags & DATA_CMD_WRITE) != 0
               : script_write_policy(n->host->scripts, k, argv) == SCRIPT_WRITES_DECLARED;
    }
    free(argv);
    return w;
}

/* EXEC waiting for a leader: given up, it ends the transaction as every EXEC reply does (the
 * connection stayed in MULTI: its next commands answered QUEUED) */
static int exec_wait_leader(node *n, client *c)
{
    int rc = wait_leader(n, c);
    if (rc == NODE_DONE) {
        multi_reset(n, c);
        node_unwatch(n, c);
    }
    return rc;
}

int node_exec(node *n, client *c)
{
    if (c->n_async) return stall(c); /* earlier replies first */
    if (n->failed) {
        multi_reset(n, c);
        nreply_errorf(n, c, "ERR storage failure on this node, transactions refused: %s",
                      n->fail_msg);
        return NODE_DONE;
    }
    if (!n->leader) return exec_wait_leader(n, c);
    c->stall_since_ms = 0;
    if (n->role != RAFT_LEADER) {
        if (c->forwarded) {
            multi_reset(n, c);
            node_unwatch(n, c);
            nreply_error(n, c, "TRYAGAIN not the leader any more");
            return NODE_DONE;
        }
        const char *addr = leader_client_addr(n);
        if (!addr[0]) return exec_wait_leader(n, c);
        c->await_own = observed(n, c);           /* its reply once applied here, as a write's */
        int rc = fwd_send_multi(n->fw, addr, c); /* with c's watched keys */
        c->await_own = false;
        if (rc < 0) return stall(c);
        multi_reset(n, c);
        node_unwatch(n, c);
        return NODE_DONE;
    }
    if (noreplicas(n) && multi_writes(n, c)) { /* Redis's rejectCommand of such an EXEC */
        multi_reset(n, c);
        node_unwatch(n, c);
        nreply_error(n, c,
                     "EXECABORT Transaction discarded because of: NOREPLICAS Not enough "
                     "good replicas to write.");
        return NODE_DONE;
    }
    if (c->n_watch) { /* the leader decides, with its log applied (node_watch.c) */
        int w = nwatch_exec_check(n, c);
        if (w < 0) return stall(c);
        node_unwatch(n, c);
        if (w > 0) {
            multi_reset(n, c);
            n->host->reply->null_array(c->conn);
            return NODE_DONE;
        }
    } else if (n->barrier) {
        return stall(c); /* a watched EXEC waits for the log to be applied */
    }
    /* one entry: the leader's clock and every command, writes in their deterministic form */
    int64_t now_ms = net_loop_wall_ms(n->loop);
    resp_buf *b = &n->scratch;
    nentry_put_header(b, NENTRY_MULTI, now_ms);
    uint32_t multi_n = (uint32_t)n->host->multi_count(c->conn);
    uint8_t cnt[4] = {(uint8_t)(multi_n >> 24), (uint8_t)(multi_n >> 16), (uint8_t)(multi_n >> 8),
                      (uint8_t)multi_n};
    resp_buf_append(b, cnt, sizeof(cnt));
    size_t off = 0;
    data_arg *argv = NULL;
    int cap = 0, k;
    (void)data_select(n->ds, c->db); /* rewrites see the database each command will run in */
    while ((k = n->host->multi_next(c->conn, &off, &argv, &cap)) > 0) {
        data_arg rw[64];
        char scratch[256];
        const data_arg *av = argv;
        const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
        int argc = rewrite_write(n->ds, dc, now_ms, k, argv, rw, scratch, sizeof(scratch), &av);
        if (!dc && script_rewrite(n->host->scripts, k, argv, rw, 64, NULL) > 0) av = rw;
        long long db;
        if (!dc && k == 2 && arg_is(&argv[0], "select") &&
            syn_string2ll(argv[1].ptr, argv[1].len, &db))
            (void)data_select(n->ds, db);
        nentry_put_args(b, argc, av);
    }
    free(argv);
    data_select(n->ds, 0);
    nentry_wrap_db(b, c->db);
    int rc = node_propose(n, c, b->data, b->len);
    if (rc == -RAFT_ETRANSFER || rc == -RAFT_EBUSY || rc == -RAFT_ENOTLEADER) return stall(c);
    multi_reset(n, c);
    if (rc < 0) nreply_errorf(n, c, "ERR %s", raft_strerror(rc));
    return NODE_DONE;
}

static const char *leader_client_addr(const node *n)
{
    if (!n->leader) return "";
    if (n->leader == (raft_id)n->cfg.id) return n->cfg.client_addr;
    return n->pn ? peer_net_client_addr(n->pn, n->leader) : "";
}

uint64_t node_changes_since_snapshot(const node *n)
{
    return n->dirty_since_snap;
}

void node_fork_stats(const node *n, uint64_t *latest_us, uint64_t *total)
{
    *latest_us = n->latest_fork_us;
    *total = n->total_forks;
}

int node_snapshot_in_progress(const node *n)
{
    return n->bg_pid > 0;
}

const char *node_leader_client_addr(node *n)
{
    return leader_client_addr(n);
}

void node_set_client_addr(node *n, const char *addr)
{
    SYN_ASSERT(n->pn == NULL);
    snprintf(n->cfg.client_addr, sizeof(n->cfg.client_addr), "%s", addr);
}

/* Whether c's relayed write is answered once this node applied its entry: c may be pushed
 * messages by its own writes (hears_own), or another client here is told of changes (observed) */
static bool observed(node *n, client *c)
{
    return (n->host->hears_own && n->host->hears_own(c->conn)) ||
           (n->host->observed && n->host->observed(n->host->host));
}

/* Waiting for a leader: stall, or give up after the cluster-down timeout. */
static int wait_leader(node *n, client *c)
{
    int64_t now = net_mono_ms();
    if (!c->stall_since_ms) c->stall_since_ms = now;
    if (now - c->stall_since_ms < n->cfg.cluster_down_timeout_ms) {
        c->stalled = true;
        return NODE_STALL;
    }
    c->stall_since_ms = 0;
    nreply_error(n, c, "CLUSTERDOWN The cluster is down (no leader)");
    return NODE_DONE;
}

static int stall(client *c)
{
    c->stalled = true;
    return NODE_STALL;
}

static int route_write(node *n, client *c, const data_cmd *dc, int argc, const data_arg *argv,
                       int repeats)
{
    if (n->failed) {
        nreply_errorf(n, c, "ERR storage failure on this node, writes refused: %s", n->fail_msg);
        return NODE_DONE;
    }
    if (n->barrier && n->barrier != c) return stall(c); /* a watched EXEC goes first */
    int64_t now_ms = net_loop_wall_ms(n->loop);
    data_arg rw[64];
    char scratch[256];
    if (data_select(n->ds, c->db) < 0) { /* `databases` changed under it: cannot happen */
        nreply_error(n, c, "ERR DB index is out of range");
        return NODE_DONE;
    }
    argc = rewrite_write(n->ds, dc, now_ms, argc, argv, rw, scratch, sizeof(scratch), &argv);
    data_select(n->ds, 0);
    data_arg *srw = NULL;
    if (!dc) { /* a script: EVALSHA travels as EVAL with its body (script_rewrite) */
        srw = argc <= 64 ? rw : malloc((size_t)argc * sizeof(*srw));
        SYN_ASSERT(srw != NULL);
        int k = script_rewrite(n->host->scripts, argc, argv, srw, argc, NULL);
        if (k < 0) { /* NOSCRIPT, a compile error: answered, in order, and not logged */
            if (srw != rw) free(srw);
            if (c->n_async) return stall(c);
            script_out out = {n->host->reply, c->conn, n->host->reply_raw,
                              n->host->reply->is_resp3(c->conn), NULL};
            (void)script_rewrite(n->host->scripts, argc, argv, NULL, 0, &out);
            return NODE_DONE;
        }
        if (k > 0) argv = srw;
    }
    nentry_encode_cmd(&n->scratch, now_ms, argc, argv);
    if (!dc && c->oom_script) ((uint8_t *)n->scratch.data)[0] = NENTRY_CMD_OOM;
    if (repeats) nentry_wrap_repeat(&n->scratch, (uint32_t)repeats + 1);
    nentry_wrap_db(&n->scratch, c->db);
    if (srw && srw != rw) free(srw);
    int rc = node_propose(n, c, n->scratch.data, n->scratch.len);
    if (rc == -RAFT_ETRANSFER || rc == -RAFT_EBUSY || rc == -RAFT_ENOTLEADER) return stall(c);
    if (rc < 0) {
        nreply_errorf(n, c, "ERR %s", raft_strerror(rc));
        return NODE_DONE;
    }
    if (repeats) {
        node_prop_set_cmds(n, (uint32_t)repeats + 1);
        c->repeat_used = repeats; /* the host consumes them with this one */
    }
    return NODE_DONE;
}

/* Room for one more pending read (ReadIndex, MIGRATE's read, an FCALL gate): false if the
 * queue is at the core's bound or out of memory (the caller stalls). */
static bool reads_room(node *n)
{
    if (n->reads_n < n->reads_cap) return true;
    size_t ncap = n->reads_cap ? n->reads_cap * 2 : 64;
    if (ncap > RAFT_MAX_PENDING_READS) return false;
    node_read *nr = realloc(n->reads, ncap * sizeof(*nr));
    if (!nr) return false;
    n->reads = nr;
    n->reads_cap = ncap;
    return true;
}

static int route_read(node *n, client *c, int argc, const data_arg *argv)
{
    if (!reads_room(n)) return stall(c);
    uint64_t ctx = ++n->next_ctx;
    int rc = -RAFT_ENOTREADY;
    if (c->consistency == CONS_LEASE) {
        node_catch_up(n); /* the lease is judged on an up-to-date clock */
        rc = raft_read_lease(n->r, ctx);
    }
    if (rc < 0) rc = raft_read_index(n->r, ctx);
    if (rc < 0) return stall(c);
    nentry_encode_cmd(&n->scratch, net_wall_ms(), argc, argv);
    node_read *rd = &n->reads[n->reads_n++];
    rd->ctx = ctx;
    rd->c = c;
    rd->cmd = malloc(n->scratch.len);
    SYN_ASSERT(rd->cmd != NULL);
    memcpy(rd->cmd, n->scratch.data, n->scratch.len);
    rd->cmd_len = n->scratch.len;
    rd->db = c->db;
    rd->done = false;
    rd->err = 0;
    rd->migrate = false;
    rd->gate_ms = 0;
    c->n_async++;
    c->async_kind = ASYNC_READ;
    c->read_deferred = true;
    return NODE_DONE;
}

static bool arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

/* A follower's FCALL runs its prelude on this node's function library, which may be behind a
 * FUNCTION LOAD already acknowledged (a follower applies only what it has on disk), and its AUTH
 * reads its users (route_cmd): first a ReadIndex, as for a linearizable read (forwarded to the
 * leader), and the wait for this node to apply up to it; then the client runs again with
 * gate_passed. A lost answer (a leader change) is given up after FCALL_GATE_MS and asked
 * again. */
#define FCALL_GATE_MS 1000
static int follower_gate(node *n, client *c)
{
    if (c->gate_ctx) return stall(c); /* asked: serve_reads lets it run again */
    if (!reads_room(n)) return stall(c);
    if (!n->leader) return c->n_async ? stall(c) : wait_leader(n, c); /* CLUSTERDOWN in time */
    uint64_t ctx = ++n->next_ctx;
    if (n->failed || raft_read_index(n->r, ctx) < 0) return stall(c);
    n->reads[n->reads_n++] = (node_read){ctx, c, NULL, 0, c->db, false, 0, false, net_mono_ms()};
    c->gate_ctx = ctx;
    return stall(c);
}

void node_evictions_answer(node *n, uint64_t index)
{
    if (index > n->evict_follow_index) n->evict_follow_index = index;
}

/* A tracking read on a follower over maxmemory: Redis evicts before it runs a command, so the
 * invalidations of the keys evicted come before the read's reply (Redis's unit/tracking
 * "invalidation message of eviction keys should be before response"). The leader evicts when
 * asked (fwd_ask_evictions) and names its last eviction entry; the read waits until this node
 * applied it, then takes the ReadIndex gate. True while it waits (at most EVICT_ASK_MS: an
 * answer lost with its connection is counted, one from a deposed leader may name an entry
 * that never comes). */
#define EVICT_ASK_MS 1000
static bool evictions_wait(node *n, client *c)
{
    if (c->evict_passed) return false;
    int64_t now = net_mono_ms();
    if (!c->evict_ask) {
        const char *addr = leader_client_addr(n);
        long long ask = addr[0] ? fwd_ask_evictions(n->fw, addr, c, c->over_bytes) : -1;
        if (ask <= 0) return false; /* the gate waits for a leader */
        c->evict_ask = (uint64_t)ask;
        c->evict_ask_ms = now;
        return true;
    }
    if ((!fwd_evictions_answered(n->fw, c, c->evict_ask) || n->applied < n->evict_follow_index) &&
        now - c->evict_ask_ms < EVICT_ASK_MS)
        return true;
    c->evict_passed = true;
    return false;
}

static void node_gates_expire(node *n)
{
    int64_t now = net_mono_ms();
    for (size_t i = 0; i < n->reads_n; i++) {
        node_read *rd = &n->reads[i];
        if (rd->gate_ms && !rd->done && now - rd->gate_ms > FCALL_GATE_MS) {
            rd->done = true; /* its answer was lost: given up, the client asks again */
            rd->err = RAFT_ENOTREADY;
        }
    }
}

/* A linearizable read behind writes of its client that are still in flight: logged as
 * NENTRY_READ right behind them and answered when the leader applies it (its place in the log
 * is its linearization point: after every write committed before it arrived, its client's
 * included, and its commit confirms this leader). Replicas skip it. */
static int route_log_read(node *n, client *c, int argc, const data_arg *argv)
{
    nentry_encode_cmd(&n->scratch, net_loop_wall_ms(n->loop), argc, argv);
    ((uint8_t *)n->scratch.data)[0] = NENTRY_READ;
    nentry_wrap_db(&n->scratch, c->db);
    int rc = node_propose(n, c, n->scratch.data, n->scratch.len);
    if (rc == -RAFT_ETRANSFER || rc == -RAFT_EBUSY || rc == -RAFT_ENOTLEADER) return stall(c);
    if (rc < 0) {
        nreply_errorf(n, c, "ERR %s", raft_strerror(rc));
        return NODE_DONE;
    }
    n->log_reads++;
    c->read_deferred = true;
    return NODE_DONE;
}

/* A prelude's reply, held back while earlier replies of the client are still to come: only
 * whether it was an error, and its text (a kill, a compile error). */
typedef struct {
    bool error, other;
    char msg[512];
    size_t len;
} held_reply;

static void held_error(void *ctx, const char *s, size_t len)
{
    held_reply *h = ctx;
    if (h->error || h->other) return;
    h->error = true;
    h->len = len < sizeof(h->msg) ? len : sizeof(h->msg);
    memcpy(h->msg, s, h->len);
}
static void held_other(void *ctx)
{
    ((held_reply *)ctx)->other = true;
}
static void held_str(void *ctx, const char *s, size_t len)
{
    (void)s, (void)len;
    held_other(ctx);
}
static void held_n(void *ctx, size_t n)
{
    (void)n;
    held_other(ctx);
}
static void held_ll(void *ctx, long long v)
{
    (void)v;
    held_other(ctx);
}
static void held_dbl(void *ctx, double v)
{
    (void)v;
    held_other(ctx);
}
static const data_reply_ops held_ops = {held_str,   held_error, held_ll, held_str,
                                        held_other, held_other, held_n,  held_n,
                                        held_n,     held_dbl,   NULL,    held_str};
static void held_raw(void *ctx, const char *p, size_t len)
{
    held_str(ctx, p, len);
}

/* A write script's prelude (script_env.prelude_stop): run here, on the node that has the
 * client, until its first data command. Killable meanwhile (SCRIPT KILL / FUNCTION KILL, as
 * Redis kills a script that has not written). Returns true if it reached a data command (the
 * call is then logged as usual). Otherwise it ended here, having touched no data: with nothing
 * of the client in flight its reply was written (held NULL); else it is held in *held, for the
 * caller to log something that answers in order. */
static bool run_prelude(node *n, client *c, int argc, const data_arg *argv, held_reply *held)
{
    int stop = 0;
    int64_t now = net_wall_ms();
    script_env env = {now, (uint64_t)now * 0x9E3779B97F4A7C15ull, 0, NULL, 0, c->oom_script, &stop,
                      0};
    bool resp3 = n->host->reply->is_resp3(c->conn);
    script_out out = {nreply_ops(n, c), c->conn, n->host->reply_raw, resp3, NULL};
    if (held) out = (script_out){&held_ops, held, held_raw, resp3, NULL};
    int prev = data_select(n->ds, c->db);
    (void)script_exec(n->host->scripts, argc, argv, &env, &out);
    if (prev >= 0) data_select(n->ds, prev);
    script_prelude_done(n->host->scripts, c->conn, stop);
    return stop != 0;
}

static int route_cmd(node *n, client *c, int argc, const data_arg *argv);

/* MIGRATE (node_migrate.c): checked here, relayed by a follower on the client's own relay
 * connection, run by the leader once a ReadIndex confirms it (its DUMP sees every acknowledged
 * write, as a linearizable read does). */
static int route_migrate(node *n, client *c, int argc, const data_arg *argv)
{
    if (c->n_async) return stall(c); /* after every earlier reply */
    nmigrate *m = nmigrate_parse(n, c, argc, argv);
    if (!m) return NODE_DONE; /* a syntax error, answered */
    int rc = NODE_DONE;
    if (n->failed) {
        nreply_errorf(n, c, "ERR storage failure on this node, writes refused: %s", n->fail_msg);
    } else if (!n->leader) {
        rc = wait_leader(n, c);
    } else if (n->role != RAFT_LEADER) {
        c->stall_since_ms = 0;
        const char *addr = leader_client_addr(n);
        if (c->forwarded) {
            nreply_error(n, c, "TRYAGAIN not the leader any more");
        } else if (!addr[0]) {
            rc = wait_leader(n, c);
        } else if (fwd_send_blocking(n->fw, addr, c, argc, argv, 0) < 0) {
            rc = stall(c);
        } else {
            c->migrating = true;
        }
    } else if (noreplicas(n)) {
        c->stall_since_ms = 0;
        nreply_error(n, c, "NOREPLICAS Not enough good replicas to write.");
    } else if (raft_sole_voter(n->r)) { /* applied == committed between passes */
        c->stall_since_ms = 0;
        nmigrate_attach(n, c, m);
        nmigrate_dump(n, c);
        return NODE_DONE;
    } else {
        c->stall_since_ms = 0;
        if (!reads_room(n)) {
            nmigrate_discard(n, m);
            return stall(c);
        }
        uint64_t ctx = ++n->next_ctx;
        if (raft_read_index(n->r, ctx) < 0) {
            nmigrate_discard(n, m);
            return stall(c);
        }
        n->reads[n->reads_n++] = (node_read){ctx, c, NULL, 0, c->db, false, 0, true, 0};
        nmigrate_attach(n, c, m); /* counts the read as c's one request in flight */
        return NODE_DONE;
    }
    nmigrate_discard(n, m);
    return rc;
}

/* Blocking commands keep their place (fwd.c): a follower relays a blocking command on a
 * connection of its own, as SYNOD MARK <token> <mark> <command...>, and puts SYNOD AFTER <token>
 * <mark> ahead of what it relays next on its shared relay connection, which waits here until
 * that mark was taken: a write another client of the follower sent after the blocking command
 * (a DEL of the key it waits on) comes after it here too, as on one Redis. Bounded: a mark that
 * does not come in NODE_AFTER_WAIT_MS (its connection failed, a new leader) is not waited for. */
static bool mark_taken(const node *n, uint64_t token, uint64_t mark)
{
    for (size_t i = 0; i < NODE_MARKS; i++)
        if (n->marks[i].token == token && n->marks[i].mark == mark) return true;
    return false;
}

/* SYNOD <verb> <token> <mark> ... from a relay: its token and mark, else false */
static bool mark_parse(const client *c, int argc, const data_arg *argv, const char *verb,
                       uint64_t *token, uint64_t *mark)
{
    long long t, m;
    if (!c->forwarded || argc < 4 || !arg_is(&argv[0], "synod") || !arg_is(&argv[1], verb) ||
        !syn_string2ll(argv[2].ptr, argv[2].len, &t) ||
        !syn_string2ll(argv[3].ptr, argv[3].len, &m))
        return false;
    *token = (uint64_t)t;
    *mark = (uint64_t)m;
    return true;
}

int node_take_mark(node *n, client *c, int argc, data_arg *argv)
{
    uint64_t token, mark;
    if (argc < 5 || !mark_parse(c, argc, argv, "mark", &token, &mark)) return argc;
    n->marks[n->marks_next % NODE_MARKS].token = token;
    n->marks[n->marks_next % NODE_MARKS].mark = mark;
    n->marks_next++;
    memmove(argv, argv + 4, (size_t)(argc - 4) * sizeof(*argv));
    return argc - 4;
}

int node_take_after(node *n, client *c, int argc, const data_arg *argv)
{
    uint64_t token, mark;
    if (argc != 4 || !mark_parse(c, argc, argv, "after", &token, &mark)) return NODE_LOCAL;
    int64_t now = net_mono_ms();
    if (!mark_taken(n, token, mark)) {
        if (!c->after_since_ms) c->after_since_ms = now;
        if (now - c->after_since_ms < NODE_AFTER_WAIT_MS) return stall(c);
    }
    c->after_since_ms = 0;
    return NODE_DONE; /* no reply (as SYNOD UNBLOCK-SELF): the replies owed before go on */
}

int node_route(node *n, client *c, int argc, const data_arg *argv)
{
    if (!c->n_async) {
        c->noreplicas_run = false; /* its read, if any, was answered */
        c->migrating = false;      /* its MIGRATE too */
    }
    if (c->forwarded && argc == 3 && arg_is(&argv[0], "synod") &&
        arg_is(&argv[1], "unblock-self")) {
        /* a follower's CLIENT UNBLOCK of the client this relay connection is its own: taken
         * while the requests ahead of it wait, and answered by theirs (it has no reply) */
        nblock_unblock_self(n, c, arg_is(&argv[2], "error") ? 2 : 1);
        return NODE_DONE;
    }
    bool wanted = c->prelude_wanted; /* set by this request (SYNOD PRELUDE): for the next */
    int rc = route_cmd(n, c, argc, argv);
    if (rc != NODE_STALL) { /* the next request is another one */
        c->info_gate_ms = 0;
        c->evict_passed = false;
        c->evict_ask = 0;
        c->prelude_passed = false;
        c->gate_passed = false;
        c->relay_prelude = false;
        c->prelude_whole = false;
        if (wanted) c->prelude_wanted = false;
    }
    return rc;
}

static bool hll_stale(node *n, const client *c, const data_arg *key)
{
    int prev = data_select(n->ds, c->db);
    bool stale = data_hll_cache_stale(n->ds, key->ptr, key->len) != 0;
    if (prev >= 0) data_select(n->ds, prev);
    return stale;
}

/* INFO's sections with counts of what this node applied (keys, rdb_changes_since_last_save,
 * used_memory, the calls and errors of applied scripts ...), and those that hold them: a
 * client sees its own acknowledged writes in them, as on one Redis. Not consensus, server,
 * clients, replication, cpu ...: this node's own, asked of it when others are in trouble. */
static bool info_reads_replicated(int argc, const data_arg *argv)
{
    static const char *const sections[] = {"default",  "all",          "everything",
                                           "keyspace", "persistence",  "stats",
                                           "memory",   "commandstats", "errorstats"};
    if (argc == 1) return true;
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
            if (arg_is(&argv[i], sections[k])) return true;
    return false;
}

/* INFO waits for the gate NODE_INFO_GATE_MS at most, then answers from what this node has: an
 * operator asks it of a node whose disk hangs (it applies nothing) or which is far behind. True
 * once that time went by (c->info_gate_ms is cleared when the request is done: node_route). */
static bool info_gate_given_up(client *c, const data_arg *argv)
{
    if (!arg_is(&argv[0], "info")) return false;
    int64_t now = net_mono_ms();
    if (!c->info_gate_ms) c->info_gate_ms = now;
    if (now - c->info_gate_ms < NODE_INFO_GATE_MS) return false;
    c->gate_ctx = 0; /* the gate's answer, if it comes, is for no request of c's */
    return true;
}

/* What a follower answers from its applied state, so only past the ReadIndex gate: AUTH, HELLO
 * ... AUTH and ACL's reads of the user table (GETUSER LIST USERS DRYRUN); CONFIG GET (the
 * cluster's settings are replicated: docs/cluster.md "Cluster settings"); WATCH; CLIENT
 * TRACKING ON; INFO of info_reads_replicated's sections; SYNC / PSYNC (redis-cli --rdb: the
 * file has every write acknowledged before it) */
static bool reads_replicated(int argc, const data_arg *argv)
{
    if (arg_is(&argv[0], "info")) return info_reads_replicated(argc, argv);
    if (arg_is(&argv[0], "sync") || arg_is(&argv[0], "psync")) return true;
    if (argc >= 2 && arg_is(&argv[0], "config") && arg_is(&argv[1], "get")) return true;
    /* WATCH: stamped with this node's applied index, which must include the client's own
     * writes acknowledged before (a DEL x, WATCH x, ... EXEC failed when the DEL was applied
     * here after the WATCH) */
    if (arg_is(&argv[0], "watch")) return true;
    /* CLIENT TRACKING ON: invalidations from then on, not from entries acknowledged before */
    if (argc >= 3 && arg_is(&argv[0], "client") && arg_is(&argv[1], "tracking") &&
        arg_is(&argv[2], "on"))
        return true;
    if (arg_is(&argv[0], "auth")) return true;
    if (arg_is(&argv[0], "hello")) {
        for (int i = 2; i < argc; i++)
            if (arg_is(&argv[i], "auth")) return true;
        return false;
    }
    return argc >= 2 && arg_is(&argv[0], "acl") &&
           (arg_is(&argv[1], "getuser") || arg_is(&argv[1], "list") || arg_is(&argv[1], "users") ||
            arg_is(&argv[1], "dryrun"));
}

/* EVAL, EVALSHA, EVAL_RO, EVALSHA_RO (after an ACL_AS prefix): what SCRIPT DEBUG YES debugs */
static bool ldb_eval(int argc, const data_arg *argv)
{
    if (argc >= 3 && arg_is(&argv[0], "acl_as")) argv += 2;
    return arg_is(&argv[0], "eval") || arg_is(&argv[0], "evalsha") || arg_is(&argv[0], "eval_ro") ||
           arg_is(&argv[0], "evalsha_ro");
}

/* A script call without its ACL_AS <user> wrapper (a script run as a user: acl.c) */
static void unwrap_acl_as(int *argc, const data_arg **argv)
{
    if (*argc >= 3 && arg_is(&(*argv)[0], "acl_as")) {
        *argc -= 2;
        *argv += 2;
    }
}

/* A follower about to run an EVAL_RO of a body it has not cached (here, where the client is,
 * its calls and errors counted here): the leader, whose cache SCRIPT EXISTS answers from, is
 * sent SCRIPT LOAD of it first (its reply dropped), on the connection that relays c's requests,
 * so a SCRIPT EXISTS or EVALSHA_RO c sends next finds it; cached here at once, so it is sent
 * once. */
static void ro_script_share(node *n, client *c, int argc, const data_arg *argv)
{
    if (n->role == RAFT_LEADER) return;
    unwrap_acl_as(&argc, &argv);
    if (argc < 3 || !arg_is(&argv[0], "eval_ro")) return;
    data_arg a[3] = {{"EVAL", 4}, argv[1], {"0", 1}};
    if (script_is_cached(n->host->scripts, 2, a)) return;
    if (script_rewrite(n->host->scripts, 3, a, NULL, 0, NULL) < 0) return; /* it fails to load */
    const char *addr = leader_client_addr(n);
    data_arg load[3] = {{"SCRIPT", 6}, {"LOAD", 4}, argv[1]};
    if (addr[0]) (void)fwd_send_quiet(n->fw, addr, c, 3, load);
}

void node_pause_share(node *n, client *c, int argc, const data_arg *argv)
{
    if (n->role == RAFT_LEADER || c->forwarded || argc < 2 || !arg_is(&argv[0], "client") ||
        !(arg_is(&argv[1], "pause") || arg_is(&argv[1], "unpause")))
        return;
    const char *addr = leader_client_addr(n);
    if (addr[0]) (void)fwd_send_quiet(n->fw, addr, c, argc, argv);
}

/* EVAL_RO, FCALL_RO, EVALSHA_RO of a script this node has (ACL_AS-wrapped too): a follower
 * runs them itself past the gate (the script cache SCRIPT EXISTS answers from is the leader's,
 * and an unknown EVALSHA_RO is the leader's to answer) */
static bool local_ro_script(node *n, int argc, const data_arg *argv)
{
    unwrap_acl_as(&argc, &argv);
    if (argc >= 1 && (arg_is(&argv[0], "eval_ro") || arg_is(&argv[0], "fcall_ro"))) return true;
    if (argc < 2 || !arg_is(&argv[0], "evalsha_ro")) return false;
    data_arg a[2] = {{"EVALSHA", 7}, argv[1]};
    return script_is_cached(n->host->scripts, 2, a) != 0;
}

static int route_cmd(node *n, client *c, int argc, const data_arg *argv)
{
#ifdef SYNOD_BUG_PUBSUB_LOCAL
    if (!c->n_async) npubsub_bug_receipt(n, argc, argv, c->forwarded);
#endif
    /* A follower answers these from the users (settings) it has applied, which may be behind a
     * change already acknowledged (through it or any node): first the ReadIndex gate,
     * as a linearizable read, unless the connection reads stale or no leader is known (then
     * from what it has: a node cut off still authenticates its clients). docs/security.md
     * "Reading users on a follower". */
    if (c->exec_db_seq && c->n_async) return stall(c); /* in which database? EXEC's reply says */
    bool debugged = c->ldb && ldb_eval(argc, argv);
    if (n->role != RAFT_LEADER && !c->forwarded && !c->gate_passed &&
        c->consistency != CONS_STALE && n->leader && (reads_replicated(argc, argv) || debugged) &&
        !info_gate_given_up(c, argv))
        return c->n_async ? stall(c) : follower_gate(n, c);
    if (debugged) return c->n_async ? stall(c) : NODE_LOCAL; /* server/ldb.c forks it */
    if (arg_is(&argv[0], "watch") || arg_is(&argv[0], "unwatch")) {
        if (c->n_async) return stall(c);
        if (arg_is(&argv[0], "watch")) {
            nwatch_cmd(n, c, argc, argv);
        } else if (argc != 1) {
            nreply_error(n, c, "ERR wrong number of arguments for 'unwatch' command");
        } else {
            node_unwatch(n, c);
            nreply_status(n, c, "OK");
        }
        return NODE_DONE;
    }
    if (arg_is(&argv[0], "migrate")) return route_migrate(n, c, argc, argv);
    if (arg_is(&argv[0], "wait")) {
        if (c->n_async) return stall(c); /* after the replies to this client's writes */
        nwait_cmd(n, c, argc, argv);
        return NODE_DONE;
    }
    bool is_synod = arg_is(&argv[0], "synod");
    if (arg_is(&argv[0], "readonly") || arg_is(&argv[0], "readwrite") || is_synod) {
        if (c->n_async) return stall(c);
        if (is_synod) {
            node_cmd_synod(n, c, argc, argv);
        } else if (argc != 1) {
            nreply_errorf(n, c, "ERR wrong number of arguments for '%s' command",
                          arg_is(&argv[0], "readonly") ? "readonly" : "readwrite");
        } else {
            c->readonly = arg_is(&argv[0], "readonly");
            nreply_status(n, c, "OK");
        }
        return NODE_DONE;
    }
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    /* MEMORY STATS/DOCTOR/...: this node's own figures, as INFO (USAGE reads a key) */
    static const data_cmd *memory_cmd;
    if (!memory_cmd) memory_cmd = data_cmd_lookup("memory", 6);
    if (dc == memory_cmd && argc >= 2 && !arg_is(&argv[1], "usage"))
        return c->n_async ? stall(c) : NODE_LOCAL;
    /* scripting commands: writes are logged like data writes, reads served like data reads */
    int sk = dc ? SCRIPT_NONE : script_route(n->host->scripts, argc, argv);
    if (!dc && sk <= SCRIPT_LOCAL) {
        if (c->n_async) return stall(c);
        node_pause_share(n, c, argc, argv);
        return NODE_LOCAL;
    }
    const data_cmd_info *info = dc ? data_cmd_describe(dc) : NULL;
    bool write = info ? (info->flags & DATA_CMD_WRITE) != 0 : sk == SCRIPT_WRITE;
    /* a blocking command waits for every earlier reply, and everything after it for its own */
    bool blocking = dc && data_cmd_may_block(dc, argc, argv);
    write = write || blocking; /* XREAD BLOCK goes through the log too: it may have to wait */
    if (c->n_async && (blocking || c->async_kind == ASYNC_BLOCK)) return stall(c);
    if (!write && (c->consistency == CONS_STALE || c->readonly)) {
        if (sk == SCRIPT_READ) ro_script_share(n, c, argc, argv);
        return c->n_async ? stall(c) : NODE_LOCAL;
    }
    /* PFCOUNT of one HyperLogLog with a stale cached count stores the count (as Redis): logged,
     * so every replica stores the same (hll.c) */
    if (!write && dc && argc == 2 && arg_is(&argv[0], "pfcount") && hll_stale(n, c, &argv[1]))
        write = true;
    /* bad arity never reaches the log */
    if (info && ((info->arity > 0 && info->arity != argc) || argc < -info->arity))
        return c->n_async ? stall(c) : NODE_LOCAL;
    if (n->failed) {
        /* Refused at once (waiting would not help: only a restart clears it). Its state is
         * frozen at some past commit, so only stale reads (answered above) may see it. */
        if (c->n_async) return stall(c);
        if (write)
            nreply_errorf(n, c, "ERR storage failure on this node, writes refused: %s",
                          n->fail_msg);
        else
            nreply_errorf(n, c,
                          "ERR storage failure on this node, %s reads refused (READONLY or "
                          "SYNOD CONSISTENCY stale read its possibly stale data): %s",
                          c->consistency == CONS_LEASE ? "lease" : "linearizable", n->fail_msg);
        return NODE_DONE;
    }
    /* ACL SETUSER / DELUSER and CONFIG SET as logged are no data writes for Redis: never
     * refused for want of replicas (the admin lowering min-replicas-to-write must get through) */
    static const data_cmd *acl_effect, *config_effect;
    if (!acl_effect) {
        acl_effect = data_cmd_lookup("acl_effect", 10);
        config_effect = data_cmd_lookup("config_effect", 13);
    }
    bool admin = dc && (dc == acl_effect || dc == config_effect);
    if (n->role == RAFT_LEADER && write && !blocking && !admin && noreplicas(n)) {
        /* Redis's min-replicas-to-write: write commands and declared write scripts are refused;
         * a script without shebang runs as a read whose write commands fail */
        int wp = dc ? SCRIPT_WRITES_DECLARED : script_write_policy(n->host->scripts, argc, argv);
        if (wp != SCRIPT_WRITES_FIRST && (dc || wp == SCRIPT_WRITES_DECLARED)) {
            if (c->n_async) return stall(c);
            nreply_error(n, c, "NOREPLICAS Not enough good replicas to write.");
            return NODE_DONE;
        }
        if (wp == SCRIPT_WRITES_FIRST) {
            if (c->n_async && c->async_kind != ASYNC_READ) return stall(c);
            c->noreplicas_run = true;
            if (raft_sole_voter(n->r)) return c->n_async ? stall(c) : NODE_LOCAL;
            return route_read(n, c, argc, argv);
        }
    }
    data_arg errv[4];
    /* The prelude runs where the client is (a relayed request had it on its follower, unless
     * that asked for it here: SYNOD PRELUDE). A follower holds the reply of a script it has not
     * cached: if it ends in the prelude, it is relayed and logged even so, and every node caches
     * it; an EVALSHA it has not cached is relayed for the leader to run the prelude. So the
     * leader's cache, which SCRIPT EXISTS answers from, has every script run anywhere. */
    if (sk == SCRIPT_WRITE && (!c->forwarded || c->prelude_wanted) && !c->prelude_passed &&
        script_is_call(argc, argv)) {
        /* an FCALL's prelude reads the function library: on the leader, once it has applied
         * every entry committed before its term (a FUNCTION LOAD acknowledged by its
         * predecessor included); a follower's may be behind, so it relays them (below) */
        if (n->role == RAFT_LEADER && script_is_fcall(argc, argv) &&
            (!raft_leader_current(n->r) || n->applied < raft_commit_of(n->r)))
            return stall(c);
        /* ... a follower's, once it has applied what the leader had committed when the FCALL
         * came (a ReadIndex: the gate), so its prelude runs here (killable, -BUSY as in Redis)
         * on a library that has every FUNCTION LOAD acknowledged before */
        bool fcall = n->role != RAFT_LEADER && script_is_fcall(argc, argv);
        if (fcall && !c->gate_passed) return follower_gate(n, c);
        bool cached =
            fcall || n->role == RAFT_LEADER || script_is_cached(n->host->scripts, argc, argv);
        if (!cached && !script_has_body(argc, argv)) {
            c->relay_prelude = true; /* an unknown EVALSHA: the leader runs its prelude */
        } else {
            bool hold = c->n_async || !cached || c->over_memory;
            held_reply held = {0};
            if (!run_prelude(n, c, argc, argv, hold ? &held : NULL)) {
                if (!hold) return NODE_DONE; /* answered */
                /* it ran whole here (its calls counted and shown to MONITOR here): logged
                 * without its origin, so this node does not count them again applying it */
                c->prelude_whole = true;
                if (held.error && !c->n_async) { /* killed, or a compile error: final */
                    nreply_errorf(n, c, "%.*s", (int)held.len, held.msg);
                    return NODE_DONE;
                }
                /* earlier replies are still to come: what is logged answers in order, a
                 * script that ended by running again from the log, a killed one (or a compile
                 * error) by a script that replies the error */
                if (held.error) {
                    errv[0] = (data_arg){"EVAL", 4};
                    errv[1] = (data_arg){"return redis.error_reply(ARGV[1])", 33};
                    errv[2] = (data_arg){"0", 1};
                    errv[3] = (data_arg){c->prelude_err, held.len};
                    memcpy(c->prelude_err, held.msg, held.len);
                    argc = 4;
                    argv = errv;
                }
            }
        }
        c->prelude_passed = true; /* not again if it stalls below */
    }
    if (!n->leader) return c->n_async ? stall(c) : wait_leader(n, c);
    c->stall_since_ms = 0;
    if (n->role == RAFT_LEADER) {
        if (write) {
            if (c->n_async && c->async_kind != ASYNC_LOG) return stall(c);
            int rc = route_write(n, c, dc, argc, argv, blocking ? nblock_repeats(n, c, dc) : 0);
            if (blocking && c->n_async) c->async_kind = ASYNC_BLOCK;
            return rc;
        }
        /* a read waits for the retries of blocked clients already in the log (or about to
         * be): it must see the pops a push it follows has served, as in Redis */
        if (nblock_reads_wait(n)) return stall(c);
        /* ... and for the evictions it proposed (Redis evicts before it runs a command, so the
         * invalidations of evicted keys come before the reply) */
        if (n->applied < n->evict_wait_index) return stall(c);
        /* behind its own writes still in flight: through the log, right behind them, instead
         * of waiting for them (a pipeline mixing writes and reads went one round trip per
         * write-to-read change) */
        if (c->n_async && c->async_kind == ASYNC_LOG && dc && !c->noreplicas_run)
            return route_log_read(n, c, argc, argv);
        if (raft_sole_voter(n->r)) /* applied == committed between passes */
            return c->n_async ? stall(c) : NODE_LOCAL;
        /* pipelined reads go out together (one ReadIndex round); after a write, wait for it */
        if (c->n_async && c->async_kind != ASYNC_READ) return stall(c);
        return route_read(n, c, argc, argv);
    }
    /* follower: relay to the leader's client port (once: a relayed request is not relayed on) */
    if (c->forwarded) {
        if (c->n_async) return stall(c);
        nreply_error(n, c, "TRYAGAIN not the leader any more");
        return NODE_DONE;
    }
    /* ... but a tracking client's reads, and read-only scripts (EVAL_RO, FCALL_RO, FUNCTION
     * LIST ...: Redis runs them on replicas), are served here once this node has applied what
     * the leader had committed when they came (the ReadIndex gate): the host tracks their keys
     * on the state they read (docs/cluster.md "Client-side caching"); a script runs here,
     * killable, its calls counted here (docs/scripting.md) */
    if ((c->tracks_reads || (sk == SCRIPT_READ && local_ro_script(n, argc, argv))) && !write &&
        c->consistency != CONS_STALE) {
        if (sk == SCRIPT_READ) ro_script_share(n, c, argc, argv);
        if (c->n_async) return stall(c);
        if (!c->gate_passed && c->tracks_reads && c->over_memory && evictions_wait(n, c))
            return stall(c);
        return c->gate_passed ? NODE_LOCAL : follower_gate(n, c);
    }
    if (c->n_async && c->async_kind != ASYNC_FWD) return stall(c);
    const char *addr = leader_client_addr(n);
    if (!addr[0]) return c->n_async ? stall(c) : wait_leader(n, c);
    int repeats = blocking ? nblock_repeats(n, c, dc) : 0;
    long long pub = blocking || c->relay_prelude ? -1 : npubsub_receivers(n, argc, argv);
    c->await_own = write && !blocking && observed(n, c);
    int rc = blocking           ? fwd_send_blocking(n->fw, addr, c, argc, argv, repeats)
             : c->relay_prelude ? fwd_send_prelude(n->fw, addr, c, argc, argv)
             : pub >= 0         ? fwd_send_publish(n->fw, addr, c, argc, argv, pub)
                                : fwd_send(n->fw, addr, c, argc, argv);
    c->await_own = false;
    if (rc < 0) return stall(c);
    if (repeats) c->repeat_used = repeats; /* the host consumes them with this one */
    return NODE_DONE;
}

void node_client_attach(node *n, client *c, void *conn, int consistency)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    c->consistency = consistency;
    c->next = n->clients;
    if (n->clients) n->clients->prev = c;
    n->clients = c;
}

void node_client_detach(node *n, client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (n->clients == c)
        n->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    nblock_drop(n, c);
    nwait_drop(n, c);
    nmigrate_drop(n, c);
    node_unwatch(n, c);
    if (c->held_reply) (void)drop_held(n, c);
    drop_pend(c);
    for (size_t i = 0; i < n->props_n; i++)
        if (prop_at(n, i)->c == c) prop_at(n, i)->c = NULL;
    for (size_t i = 0; i < n->reads_n; i++)
        if (n->reads[i].c == c) n->reads[i].c = NULL;
    if (n->fw) fwd_client_freed(n->fw, c);
}

/* --- active expiry (leader only, DESIGN.md Principle 2) ------------------------------------ */

typedef struct {
    node *n;
    int64_t now_ms;
} exp_ctx;

static void expire_key(void *ctx, const char *key, size_t len)
{
    exp_ctx *x = ctx;
    node *n = x->n;
    if (n->failed || n->role != RAFT_LEADER) return; /* followers never expire on their own */
    data_arg argv[1] = {{key, len}};
    resp_buf b;
    resp_buf_init(&b);
    nentry_encode_cmd(&b, x->now_ms, 1, argv);
    ((uint8_t *)b.data)[0] = NENTRY_EXPIRE;
    nentry_wrap_db(&b, data_selected(n->ds)); /* data_expire_sample selects the key's */
    if (node_propose(n, NULL, b.data, b.len) == 0) {
        raft_status st;
        raft_status_get(n->r, &st);
        n->expire_wait_index = st.last_index;
    }
    resp_buf_deinit(&b);
}

/* Keys that reads found expired (data_take_expired): the leader logs their expiry, the others
 * drop the list. Called outside a Ready (raft_propose is not allowed inside one). */
static void take_lazy_expired(node *n)
{
    if (n->barrier) return; /* a watched EXEC waits for the log to be applied */
    if (n->host->paused(n->host->host, 1))
        return; /* CLIENT PAUSE: no expirations meanwhile (Redis too) */
    exp_ctx x = {n, net_wall_ms()};
    (void)data_take_expired(n->ds, expire_key, &x);
}

/* Lease ends (coord.c): the leader logs `LEASE _EXPIRE id` for every lease due on its own
 * clock, tagged with its term by the rewrite; while the state's deadlines are still on a former
 * leader's clock it first logs `LEASE _REBASE`, whose apply moves them onto this one's. */
static void propose_lease_cmd(node *n, int64_t now_ms, const char *sub, uint64_t id)
{
    char num[24];
    int k = snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
    data_arg argv[3] = {{"LEASE", 5}, {sub, strlen(sub)}, {num, (size_t)k}};
    const data_cmd *dc = data_cmd_lookup("lease", 5);
    data_arg rw[64];
    char scratch[256];
    const data_arg *av;
    int argc =
        rewrite_write(n->ds, dc, now_ms, id ? 3 : 2, argv, rw, scratch, sizeof(scratch), &av);
    resp_buf b;
    resp_buf_init(&b);
    nentry_encode_cmd(&b, now_ms, argc, av);
    if (node_propose(n, NULL, b.data, b.len) == 0) {
        raft_status st;
        raft_status_get(n->r, &st);
        n->coord_wait_index = st.last_index;
    }
    resp_buf_deinit(&b);
}

static void expire_lease(void *ctx, uint64_t id)
{
    exp_ctx *x = ctx;
    propose_lease_cmd(x->n, x->now_ms, "_EXPIRE", id);
}

void node_expire_cycle(node *n)
{
    data_free_garbage(n->ds); /* every node: a flush's memory (FLUSHALL ASYNC) comes back */
    if (n->failed || n->role != RAFT_LEADER || n->barrier) return;
    if (n->host->paused(n->host->host, 1)) return; /* CLIENT PAUSE: expiring keys are writes */
    exp_ctx x = {n, net_wall_ms()};
    if (n->applied >= n->coord_wait_index &&
        data_coord_due(n->ds, x.now_ms, 64, expire_lease, &x) < 0)
        propose_lease_cmd(n, x.now_ms, "_REBASE", 0);
    if (n->applied < n->expire_wait_index) return;
    (void)data_expire_sample(n->ds, x.now_ms, 64, expire_key, &x);
}

/* --- maxmemory eviction (leader only, like expiry) ---------------------------------------- */

typedef struct {
    node *n;
    int64_t now_ms;
    long long freed;
    int proposed;
} evict_ctx;

static void evict_one(void *ctx, const char *key, size_t len, size_t bytes)
{
    evict_ctx *x = ctx;
    node *n = x->n;
    data_arg argv[1] = {{key, len}};
    resp_buf b;
    resp_buf_init(&b);
    nentry_encode_cmd(&b, x->now_ms, 1, argv);
    ((uint8_t *)b.data)[0] = NENTRY_EVICT;
    int db = data_selected(n->ds); /* data_evict_pick selects the key's */
    nentry_wrap_db(&b, db);
    if (node_propose(n, NULL, b.data, b.len) == 0) {
        n->evict_wait_index = raft_last_index_of(n->r);
        n->evict_pending_bytes += (long long)bytes;
        dbkey_put(&n->evict_keys, db, key, len);
        x->freed += (long long)bytes;
        x->proposed++;
    } else {
        data_evict_unmark(n->ds, key, len);
    }
    resp_buf_deinit(&b);
}

#define EVICT_MAX_PER_CALL 256

int node_evict(node *n, long long over)
{
    if (n->failed) return -1;
    if (n->role != RAFT_LEADER) return 1;
    if (n->applied >= n->evict_wait_index && n->evict_keys.len) {
        /* every eviction proposed was applied (or lost with a leader change): keys still here
         * may be picked again */
        size_t off = 0, l;
        int db;
        const char *k;
        while (dbkey_next(&n->evict_keys, &off, &db, &k, &l)) {
            data_select(n->ds, db);
            data_evict_unmark(n->ds, k, l);
        }
        data_select(n->ds, 0);
        n->evict_keys.len = 0;
        n->evict_pending_bytes = 0;
    }
    long long need = over - n->evict_pending_bytes;
    if (need <= 0) return 0;                         /* enough is on its way */
    if (n->host->paused(n->host->host, 1)) return 0; /* CLIENT PAUSE: evictions are writes */
    evict_ctx x = {n, net_wall_ms(), 0, 0};
    for (int i = 0; i < EVICT_MAX_PER_CALL && x.freed < need; i++) {
        int before = x.proposed;
        if (data_evict_pick(n->ds, x.now_ms, 1, evict_one, &x) == 0 || x.proposed == before) break;
    }
    return x.proposed || n->evict_pending_bytes > 0 ? 0 : -1;
}

/* --- INFO consensus ------------------------------------------------------------------------- */

void node_info(node *n, resp_buf *b)
{
    raft_status st;
    raft_status_get(n->r, &st);
    /* a failed node's instance is frozen: what it last believed is no longer true */
    const char *role = st.role == RAFT_PRE_CANDIDATE ? "candidate" : raft_role_name(st.role);
    raft_id leader = st.leader;
    if (n->failed) {
        role = raft_role_name(n->role);
        leader = 0;
    }
    char line[1024];
    int k = snprintf(line, sizeof(line),
                     "# Consensus\r\nnode_id:%lld\r\nrole:%s\r\nterm:%llu\r\nleader_id:%llu\r\n"
                     "leader_addr:%s\r\ncommit_index:%llu\r\nlast_applied:%llu\r\n"
                     "snapshot_index:%llu\r\nsnapshot_bytes:%llu\r\nsnapshot_in_progress:%d\r\n"
                     "entries_since_snapshot:%llu\r\nstorage:%s\r\nmembers:",
                     n->cfg.id, role, (unsigned long long)st.term, (unsigned long long)leader,
                     leader_client_addr(n), (unsigned long long)st.commit,
                     (unsigned long long)n->applied, (unsigned long long)n->snap_meta.index,
                     (unsigned long long)n->snap_len, n->bg_pid > 0,
                     (unsigned long long)n->applied_since_snap, n->failed ? "failed" : "ok");
    resp_buf_append(b, line, (size_t)k);
    int first = 1;
    for (uint32_t i = 0; i < st.config.n_voters; i++, first = 0) {
        k = snprintf(line, sizeof(line), "%s%llu=%s", first ? "" : ",",
                     (unsigned long long)st.config.voters[i],
                     node_get_addr(n, st.config.voters[i]));
        resp_buf_append(b, line, (size_t)k);
    }
    for (uint32_t i = 0; i < st.config.n_learners; i++, first = 0) {
        k = snprintf(line, sizeof(line), "%s%llu=%s(learner)", first ? "" : ",",
                     (unsigned long long)st.config.learners[i],
                     node_get_addr(n, st.config.learners[i]));
        resp_buf_append(b, line, (size_t)k);
    }
    resp_buf_append(b, "\r\n", 2);
    /* group commit: entries written per fdatasync (node_sync.c batches adaptively) */
    struct wal_stats ws;
    wal_stats(n->wal, &ws);
    k = snprintf(line, sizeof(line),
                 "wal_entries_written:%llu\r\nwal_sync_requests:%llu\r\nwal_fsyncs:%llu\r\n"
                 "wal_sync_thread:%d\r\nwal_segment_zero_filled:%d\r\n"
                 "wal_zero_filled_segments:%llu\r\nwal_deferred_syncs:%llu\r\ncommit_waits_for:",
                 (unsigned long long)n->entries_written, (unsigned long long)n->sync_batches,
                 (unsigned long long)ws.fsyncs, n->async, ws.written_bytes < ws.prealloc_end,
                 (unsigned long long)ws.prealloc_segments, (unsigned long long)n->deferred_syncs);
    resp_buf_append(b, line, (size_t)k);
    for (uint32_t i = 0; i < st.n_waited; i++) { /* leader: the followers of its commit quorum */
        k = snprintf(line, sizeof(line), "%s%llu", i ? "," : "", (unsigned long long)st.waited[i]);
        resp_buf_append(b, line, (size_t)k);
    }
    resp_buf_append(b, "\r\n", 2);
    k = snprintf(line, sizeof(line),
                 "log_reads:%llu\r\nkeepalives_sent:%llu\r\nsnapshots_installed:%llu\r\n",
                 (unsigned long long)n->log_reads,
                 (unsigned long long)(n->pn ? peer_net_keepalives(n->pn) : 0),
                 (unsigned long long)n->snap_installs);
    resp_buf_append(b, line, (size_t)k);
    data_coord_info ci;
    data_coord_stats(n->ds, &ci);
    k = snprintf(line, sizeof(line),
                 "coord_leases:%llu\r\ncoord_locks:%llu\r\ncoord_elections:%llu\r\n"
                 "coord_revision:%llu\r\ncoord_epoch:%llu\r\ncoord_digest:%08x\r\n",
                 (unsigned long long)ci.leases, (unsigned long long)ci.locks,
                 (unsigned long long)ci.elections, (unsigned long long)ci.revision,
                 (unsigned long long)ci.epoch, ci.digest);
    resp_buf_append(b, line, (size_t)k);
}
