/* coord.c — coordination state: leases, locks with fencing tokens, elections (issue 11;
 * docs/coordination.md). Replicated like keys: every change is a command applied from the log,
 * deterministic given (state, argv, the entry's now_ms).
 *
 * Tokens. `revision` counts every grant (a lock acquired, an election won) and the grant's
 * token is its new value, so tokens strictly increase across every grant in the cluster, in
 * log order, and the snapshot carries the counter.
 *
 * Lease time. A lease's deadline is an absolute time on the clock of the leader that applied
 * its last GRANT/KEEPALIVE (entries carry the proposer's now_ms). Clocks of different leaders
 * are never compared: the leader tags every LEASE command with its term (the "epoch",
 * data_rewrite adds `_E <term>`), and the first tagged entry of a new epoch rebases every
 * deadline onto the new leader's clock keeping the lease's remaining time as of the last
 * tagged entry of the old epoch: deadline' = now + (deadline - clock_ms). Real time passes
 * between the two entries, so a lease never ends before its remaining time has elapsed,
 * whatever the offset between the two leaders' clocks; it may end later by the length of the
 * failover. Only the leader decides that a lease is due (on its own clock, in its own epoch)
 * and logs `LEASE _E <term> _EXPIRE id`; the apply ends the lease only if its deadline is
 * still <= the entry's now_ms, so a KEEPALIVE that got in first wins. */
#include <stdlib.h>

#include "data/data_internal.h"
#include "util/assert.h"
#include "util/crc32c.h"

#define COORD_MAX_ITEMS  65536 /* leases, locks, elections: each */
#define COORD_MAX_KEYS   1024  /* keys attached to one lease */
#define COORD_MAX_TTL_MS (365ll * 24 * 3600 * 1000)
#define COORD_MAX_VALUE  (64 * 1024) /* an election's value */

typedef struct {
    char *p;
    size_t n;
} cstr;

typedef struct {
    uint64_t id;
    int64_t ttl_ms;
    int64_t deadline_ms; /* on the clock of epoch `coord_state.epoch` */
    cstr *keys;          /* attached (LEASE ATTACH), deleted when the lease ends */
    size_t nkeys;
} c_lease;

/* A held lock, or an election's current leader (a free one has no record). */
typedef struct {
    cstr name;
    uint64_t token; /* the revision of its grant */
    uint64_t lease;
    cstr value; /* elections only */
} c_hold;

struct coord_state {
    uint64_t last_lease_id; /* ids are never reused */
    uint64_t revision;      /* the last token granted */
    uint64_t epoch;         /* the term whose leader's clock the deadlines are in */
    int64_t clock_ms;       /* now_ms of the last tagged entry of `epoch` */
    c_lease *leases;        /* ascending id */
    size_t nleases, cap_leases;
    c_hold *locks, *elections;
    size_t nlocks, cap_locks, nelections, cap_elections;
};

/* ---- small helpers ---- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    SYN_ASSERT(q != NULL);
    return q;
}

static cstr cstr_dup(const char *p, size_t n)
{
    cstr s = {xrealloc(NULL, n), n};
    if (n) memcpy(s.p, p, n);
    return s;
}

static int cstr_eq(const cstr *s, const data_arg *a)
{
    return s->n == a->len && (a->len == 0 || memcmp(s->p, a->ptr, a->len) == 0);
}

static void hold_free(c_hold *h)
{
    free(h->name.p);
    free(h->value.p);
}

static void lease_free(c_lease *l)
{
    for (size_t i = 0; i < l->nkeys; i++)
        free(l->keys[i].p);
    free(l->keys);
}

coord_state *coord_create(void)
{
    coord_state *s = calloc(1, sizeof(*s));
    SYN_ASSERT(s != NULL);
    return s;
}

void coord_destroy(coord_state *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nleases; i++)
        lease_free(&s->leases[i]);
    for (size_t i = 0; i < s->nlocks; i++)
        hold_free(&s->locks[i]);
    for (size_t i = 0; i < s->nelections; i++)
        hold_free(&s->elections[i]);
    free(s->leases);
    free(s->locks);
    free(s->elections);
    free(s);
}

static c_lease *lease_find(coord_state *s, uint64_t id)
{
    size_t lo = 0, hi = s->nleases;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->leases[mid].id == id) return &s->leases[mid];
        if (s->leases[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static c_hold *hold_find(c_hold *v, size_t n, const data_arg *name)
{
    for (size_t i = 0; i < n; i++)
        if (cstr_eq(&v[i].name, name)) return &v[i];
    return NULL;
}

static void hold_remove(c_hold *v, size_t *n, c_hold *h)
{
    hold_free(h);
    size_t i = (size_t)(h - v);
    memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
    (*n)--;
}

static c_hold *hold_add(c_hold **v, size_t *n, size_t *cap, const data_arg *name)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    c_hold *h = &(*v)[(*n)++];
    memset(h, 0, sizeof(*h));
    h->name = cstr_dup(name->ptr, name->len);
    return h;
}

static void wake(data_call *c, const cstr *name)
{
    if (c->ds->created_cb) c->ds->created_cb(c->ds->created_ctx, name->p, name->n);
}

static void election_changed(data_call *c, const c_hold *h, const cstr *name)
{
    if (!c->ds->election_cb) return;
    if (h)
        c->ds->election_cb(c->ds->election_ctx, h->name.p, h->name.n, h->value.p, h->value.n,
                           h->token);
    else
        c->ds->election_cb(c->ds->election_ctx, name->p, name->n, NULL, 0, 0);
}

/* Ends lease l (revoked or expired): its keys are deleted, its locks released and its
 * elections resigned, and the waiters of those are woken (the leader then retries them). */
static void lease_end(data_call *c, c_lease *l)
{
    coord_state *s = c->ds->coord;
    int db = data_select(c->ds, 0); /* attached keys are database 0's (LEASE ATTACH) */
    for (size_t i = 0; i < l->nkeys; i++) {
        dpos pos;
        if (dict_find(&c->ds->keys, l->keys[i].p, l->keys[i].n, &pos)) ks_delete(c, pos);
    }
    data_select(c->ds, db);
    for (size_t i = 0; i < s->nlocks;) {
        if (s->locks[i].lease != l->id) {
            i++;
            continue;
        }
        cstr name = s->locks[i].name;
        s->locks[i].name.p = NULL;
        hold_remove(s->locks, &s->nlocks, &s->locks[i]);
        wake(c, &name);
        free(name.p);
    }
    for (size_t i = 0; i < s->nelections;) {
        if (s->elections[i].lease != l->id) {
            i++;
            continue;
        }
        cstr name = s->elections[i].name;
        s->elections[i].name.p = NULL;
        hold_remove(s->elections, &s->nelections, &s->elections[i]);
        wake(c, &name);
        election_changed(c, NULL, &name);
        free(name.p);
    }
    lease_free(l);
    size_t i = (size_t)(l - s->leases);
    memmove(&s->leases[i], &s->leases[i + 1], (s->nleases - i - 1) * sizeof(*l));
    s->nleases--;
    c->dirty = 1;
}

static int arg_u64_or_reply(data_call *c, const data_arg *a, uint64_t *out)
{
    long long v;
    if (arg_ll_or_reply(c, a, &v) < 0) return -1;
    if (v < 0) {
        reply_err(c, "ERR value is out of range, must be positive");
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static c_lease *lease_or_reply(data_call *c, const data_arg *a)
{
    uint64_t id;
    if (arg_u64_or_reply(c, a, &id) < 0) return NULL;
    c_lease *l = lease_find(c->ds->coord, id);
    if (!l) reply_err(c, "ERR lease not found");
    return l;
}

/* ---- LEASE ---- */

/* The first tagged entry of a new epoch moves every deadline onto the new clock (file
 * comment). */
static void rebase(coord_state *s, uint64_t epoch, int64_t now_ms)
{
    if (epoch == s->epoch) {
        if (now_ms > s->clock_ms) s->clock_ms = now_ms;
        return;
    }
#ifdef COORD_BUG_NO_REBASE /* planted for the checker: deadlines stay on the old clock */
    s->epoch = epoch;
    s->clock_ms = now_ms;
    return;
#endif
    for (size_t i = 0; i < s->nleases; i++) {
        c_lease *l = &s->leases[i];
        int64_t left = l->deadline_ms - s->clock_ms;
        if (left < 0) left = 0;
        if (left > l->ttl_ms) left = l->ttl_ms;
        l->deadline_ms = now_ms + left;
    }
    s->epoch = epoch;
    s->clock_ms = now_ms;
}

static int64_t lease_left(const coord_state *s, const c_lease *l, int64_t now_ms)
{
    (void)s;
    int64_t left = l->deadline_ms - now_ms;
    if (left < 0) left = 0;
    if (left > l->ttl_ms) left = l->ttl_ms;
    return left;
}

void cmd_lease(data_call *c)
{
    coord_state *s = c->ds->coord;
    const data_arg *a = c->argv + 1;
    int n = c->argc - 1;
    int tagged = 0;
    if (n >= 3 && arg_eq(&a[0], "_e")) {
        uint64_t epoch;
        if (arg_u64_or_reply(c, &a[1], &epoch) < 0) return;
        rebase(s, epoch, c->now_ms);
        c->dirty = 1;
        tagged = 1;
        a += 2;
        n -= 2;
    }
    const data_arg *sub = &a[0];
    if (arg_eq(sub, "grant") || arg_eq(sub, "keepalive")) {
        int grant = arg_eq(sub, "grant");
        if (n != 2) goto arity;
        /* only a tagged entry knows whose clock now_ms is (scripts are not tagged) */
        if (!tagged) {
            reply_err(c, "ERR LEASE GRANT and KEEPALIVE are not allowed from scripts");
            return;
        }
        c_lease *l;
        if (grant) {
            long long ttl;
            if (arg_ll_or_reply(c, &a[1], &ttl) < 0) return;
            if (ttl < 1 || ttl > COORD_MAX_TTL_MS) {
                reply_err(c, "ERR invalid ttl: must be 1 to 31536000000 ms");
                return;
            }
            if (s->nleases >= COORD_MAX_ITEMS) {
                reply_err(c, "ERR too many leases");
                return;
            }
            if (s->nleases == s->cap_leases) {
                s->cap_leases = s->cap_leases ? 2 * s->cap_leases : 8;
                s->leases = xrealloc(s->leases, s->cap_leases * sizeof(*s->leases));
            }
            l = &s->leases[s->nleases++];
            memset(l, 0, sizeof(*l));
            l->id = ++s->last_lease_id;
            l->ttl_ms = ttl;
        } else if (!(l = lease_or_reply(c, &a[1]))) {
            return;
        }
        l->deadline_ms = c->now_ms + l->ttl_ms;
        c->dirty = 1;
        reply_int(c, grant ? (long long)l->id : (long long)l->ttl_ms);
    } else if (arg_eq(sub, "revoke") || arg_eq(sub, "_expire")) {
        if (n != 2) goto arity;
        uint64_t id;
        if (arg_u64_or_reply(c, &a[1], &id) < 0) return;
        c_lease *l = lease_find(s, id);
        int expire = arg_eq(sub, "_expire");
        /* an expiry decided by the leader holds only if no KEEPALIVE moved the deadline */
        if (expire && (!tagged || (l && l->deadline_ms > c->now_ms))) l = NULL;
        if (l) lease_end(c, l);
        reply_int(c, l != NULL);
    } else if (arg_eq(sub, "ttl")) {
        if (n != 2) goto arity;
        uint64_t id;
        if (arg_u64_or_reply(c, &a[1], &id) < 0) return;
        c_lease *l = lease_find(s, id);
        reply_int(c, l ? (long long)lease_left(s, l, c->now_ms) : -2);
    } else if (arg_eq(sub, "attach")) {
        if (n < 3) goto arity;
        c_lease *l = lease_or_reply(c, &a[1]);
        if (!l) return;
        if (c->ds->cur != 0) { /* the lease's end deletes them from database 0 */
            reply_err(c, "ERR LEASE ATTACH works on database 0 only");
            return;
        }
        long long added = 0;
        for (int i = 2; i < n; i++) {
            int have = 0;
            for (size_t k = 0; k < l->nkeys && !have; k++)
                have = cstr_eq(&l->keys[k], &a[i]);
            if (have) continue;
            if (l->nkeys >= COORD_MAX_KEYS) {
                reply_err(c, "ERR too many keys attached to the lease");
                return; /* the keys before it stay attached: an idempotent retry is fine */
            }
            l->keys = xrealloc(l->keys, (l->nkeys + 1) * sizeof(*l->keys));
            l->keys[l->nkeys++] = cstr_dup(a[i].ptr, a[i].len);
            added++;
            c->dirty = 1;
        }
        reply_int(c, added);
    } else if (arg_eq(sub, "list")) {
        if (n != 1) goto arity;
        c->ops->array(c->rctx, s->nleases);
        for (size_t i = 0; i < s->nleases; i++)
            reply_int(c, (long long)s->leases[i].id);
    } else if (arg_eq(sub, "_rebase")) {
        if (n != 1) goto arity;
        reply_ok(c); /* the tag did the work */
    } else {
        reply_err(c, "ERR unknown LEASE subcommand (GRANT KEEPALIVE REVOKE TTL ATTACH LIST)");
    }
    return;
arity:
    reply_err(c, "ERR wrong number of arguments for LEASE");
}

/* [TIMEOUT ms] at a[i..n): 0 = wait for ever; -1 replied */
static int timeout_or_reply(data_call *c, const data_arg *a, int i, int n, int64_t *ms)
{
    *ms = 0;
    if (i == n) return 0;
    long long v;
    if (n - i != 2 || !arg_eq(&a[i], "timeout")) {
        reply_syntax(c);
        return -1;
    }
    if (arg_ll_or_reply(c, &a[i + 1], &v) < 0) return -1;
    if (v < 0) {
        reply_err(c, "ERR timeout is negative");
        return -1;
    }
    *ms = v;
    return 0;
}

/* ---- LOCK ---- */

static void reply_hold(data_call *c, const c_hold *h, int election)
{
    if (!h) {
        c->ops->null_array(c->rctx);
        return;
    }
    c->ops->array(c->rctx, 2);
    if (election) {
        reply_bulk(c, h->value.p, h->value.n);
        reply_int(c, (long long)h->token);
    } else {
        reply_int(c, (long long)h->token);
        reply_int(c, (long long)h->lease);
    }
}

/* LOCK ACQUIRE / ELECTION CAMPAIGN: grant at once, or block (a waiter of the leader, woken
 * when the name is freed: data_block_available), or reply nil (the non-blocking form). */
static void acquire(data_call *c, int election)
{
    coord_state *s = c->ds->coord;
    const data_arg *a = c->argv + 1;
    int n = c->argc - 1, fixed = election ? 4 : 3;
    if (n < fixed) {
        reply_err(c, election ? "ERR wrong number of arguments for ELECTION CAMPAIGN"
                              : "ERR wrong number of arguments for LOCK ACQUIRE");
        return;
    }
    int64_t timeout_ms;
    if (timeout_or_reply(c, a, fixed, n, &timeout_ms) < 0) return;
    if (election && a[3].len > COORD_MAX_VALUE) {
        reply_err(c, "ERR election value too long");
        return;
    }
    c_lease *l = lease_or_reply(c, &a[2]);
    if (!l) return;
    c_hold *v = election ? s->elections : s->locks;
    size_t nv = election ? s->nelections : s->nlocks;
    c_hold *h = hold_find(v, nv, &a[1]);
    if (h && h->lease == l->id) { /* a retry by the holder: the same grant */
        reply_int(c, (long long)h->token);
        return;
    }
    if (h) {
        block_or_timeout(c, timeout_ms, 2, 1, election ? DATA_BLOCK_ELECTION : DATA_BLOCK_LOCK, 1);
        return;
    }
    if (nv >= COORD_MAX_ITEMS) {
        reply_err(c, "ERR too many locks or elections");
        return;
    }
    h = election ? hold_add(&s->elections, &s->nelections, &s->cap_elections, &a[1])
                 : hold_add(&s->locks, &s->nlocks, &s->cap_locks, &a[1]);
#ifdef COORD_BUG_TOKEN_REUSE /* planted for the checker: the first token, for ever */
    h->token = s->revision ? s->revision : ++s->revision;
#else
    h->token = ++s->revision;
#endif
    h->lease = l->id;
    if (election) h->value = cstr_dup(a[3].ptr, a[3].len);
    c->dirty = 1;
    if (election) election_changed(c, h, NULL);
    reply_int(c, (long long)h->token);
}

/* Releases (or resigns) name if token is current: 1, else 0. */
static void release(data_call *c, c_hold *v, size_t *nv, int election)
{
    uint64_t token;
    if (arg_u64_or_reply(c, &c->argv[3], &token) < 0) return;
    c_hold *h = hold_find(v, *nv, &c->argv[2]);
    if (!h || h->token != token) {
        reply_int(c, 0);
        return;
    }
    cstr name = h->name;
    h->name.p = NULL;
    hold_remove(v, nv, h);
    wake(c, &name);
    if (election) election_changed(c, NULL, &name);
    free(name.p);
    c->dirty = 1;
    reply_int(c, 1);
}

int data_lock_check(const data_store *ds, const char *name, size_t len, uint64_t token)
{
    data_arg a = {name, len};
    const coord_state *s = ds->coord;
    const c_hold *h = hold_find(s->locks, s->nlocks, &a);
#ifdef COORD_BUG_FREE_LOCK_PASSES /* planted for the checker: a lock nobody holds fences nobody */
    if (!h) return 1;
#endif
    return h && h->token == token;
}

void cmd_lock(data_call *c)
{
    coord_state *s = c->ds->coord;
    const data_arg *sub = &c->argv[1];
    if (arg_eq(sub, "acquire")) {
        acquire(c, 0);
        return;
    }
    if (arg_eq(sub, "release") || arg_eq(sub, "check")) {
        if (c->argc != 4) goto arity;
        if (arg_eq(sub, "release")) {
            release(c, s->locks, &s->nlocks, 0);
            return;
        }
        uint64_t token;
        if (arg_u64_or_reply(c, &c->argv[3], &token) < 0) return;
        if (data_lock_check(c->ds, c->argv[2].ptr, c->argv[2].len, token)) {
            reply_ok(c);
            return;
        }
        char msg[160];
        snprintf(msg, sizeof(msg), "FENCED token %llu is not the current holder's of lock '%.*s'",
                 (unsigned long long)token, (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                 c->argv[2].ptr);
        reply_err(c, msg);
        return;
    }
    if (arg_eq(sub, "owner")) {
        if (c->argc != 3) goto arity;
        reply_hold(c, hold_find(s->locks, s->nlocks, &c->argv[2]), 0);
        return;
    }
    reply_err(c, "ERR unknown LOCK subcommand (ACQUIRE RELEASE OWNER CHECK)");
    return;
arity:
    reply_err(c, "ERR wrong number of arguments for LOCK");
}

/* ---- ELECTION ---- */

void cmd_election(data_call *c)
{
    coord_state *s = c->ds->coord;
    const data_arg *sub = &c->argv[1];
    if (arg_eq(sub, "campaign")) {
        acquire(c, 1);
        return;
    }
    if (arg_eq(sub, "leader")) {
        if (c->argc != 3) goto arity;
        reply_hold(c, hold_find(s->elections, s->nelections, &c->argv[2]), 1);
        return;
    }
    if (arg_eq(sub, "resign")) {
        if (c->argc != 4) goto arity;
        release(c, s->elections, &s->nelections, 1);
        return;
    }
    if (arg_eq(sub, "proclaim")) {
        if (c->argc != 5) goto arity;
        uint64_t token;
        if (arg_u64_or_reply(c, &c->argv[3], &token) < 0) return;
        if (c->argv[4].len > COORD_MAX_VALUE) {
            reply_err(c, "ERR election value too long");
            return;
        }
        c_hold *h = hold_find(s->elections, s->nelections, &c->argv[2]);
        if (!h || h->token != token) {
            reply_err(c, "ERR not the leader of this election");
            return;
        }
        free(h->value.p);
        h->value = cstr_dup(c->argv[4].ptr, c->argv[4].len);
        c->dirty = 1;
        election_changed(c, h, NULL);
        reply_ok(c);
        return;
    }
    if (arg_eq(sub, "observe")) { /* the server answers it before it reaches the log */
        reply_err(c, "ERR ELECTION OBSERVE is not allowed in transactions or scripts");
        return;
    }
    reply_err(c, "ERR unknown ELECTION subcommand (CAMPAIGN LEADER PROCLAIM RESIGN OBSERVE)");
    return;
arity:
    reply_err(c, "ERR wrong number of arguments for ELECTION");
}

/* ---- driver support ---- */

uint64_t coord_block_available(const data_store *ds, int type, const char *name, size_t len)
{
    const coord_state *s = ds->coord;
    data_arg a = {name, len};
    if (type == DATA_BLOCK_LOCK) return hold_find(s->locks, s->nlocks, &a) == NULL;
    return hold_find(s->elections, s->nelections, &a) == NULL;
}

void data_coord_set_epoch(data_store *ds, uint64_t epoch)
{
    ds->coord_leader_epoch = epoch;
}

int data_coord_due(data_store *ds, int64_t now_ms, size_t max, data_coord_id_cb cb, void *ctx)
{
    coord_state *s = ds->coord;
    if (s->nleases && s->epoch != ds->coord_leader_epoch) return -1;
    size_t k = 0;
    for (size_t i = 0; i < s->nleases && k < max; i++)
        if (s->leases[i].deadline_ms <= now_ms) {
            cb(ctx, s->leases[i].id);
            k++;
        }
    return (int)k;
}

static void crc_put(void *ctx, const void *p, size_t n)
{
    uint32_t *crc = ctx;
    *crc = crc32c(*crc, p, n);
}

uint64_t data_election_leader(const data_store *ds, const char *name, size_t len, const char **v,
                              size_t *vlen)
{
    data_arg a = {name, len};
    const c_hold *h = hold_find(ds->coord->elections, ds->coord->nelections, &a);
    *v = h ? h->value.p : NULL;
    *vlen = h ? h->value.n : 0;
    return h ? h->token : 0;
}

void data_set_election_hook(data_store *ds, data_election_cb cb, void *ctx)
{
    ds->election_cb = cb;
    ds->election_ctx = ctx;
}

void data_coord_stats(const data_store *ds, data_coord_info *out)
{
    const coord_state *s = ds->coord;
    out->digest = 0;
    coord_save(ds, crc_put, &out->digest);
    out->leases = s->nleases;
    out->locks = s->nlocks;
    out->elections = s->nelections;
    out->revision = s->revision;
    out->epoch = s->epoch;
}

/* LEASE ... -> LEASE _E <epoch> ... (the leader's rewrite; file comment). A tag a client sent
 * is replaced: only the leader says whose clock an entry's time is on. */
int coord_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    int from = c->argc >= 4 && arg_eq(&c->argv[1], "_e") ? 3 : 1;
    if (c->argc < 2 || c->argc - from + 3 > out_cap || scratch_cap < 24) return 0;
    int k = snprintf(scratch, scratch_cap, "%llu", (unsigned long long)c->ds->coord_leader_epoch);
    out[0] = c->argv[0];
    out[1] = (data_arg){"_E", 2};
    out[2] = (data_arg){scratch, (size_t)k};
    for (int i = from; i < c->argc; i++)
        out[i - from + 3] = c->argv[i];
    return c->argc - from + 3;
}

/* ---- snapshot codec (record kind 8, format 7; snapshot.c) ----
 * u64 last_lease_id | u64 revision | u64 epoch | i64 clock_ms
 * | u32 nleases x (u64 id | i64 ttl_ms | i64 deadline_ms | u32 nkeys x (u32 len | key))
 * | u32 nlocks x (u32 len | name | u64 token | u64 lease)
 * | u32 nelections x (u32 len | name | u64 token | u64 lease | u32 len | value) */

int coord_is_empty(const data_store *ds)
{
    const coord_state *s = ds->coord;
    return !s->last_lease_id && !s->revision && !s->nleases && !s->nlocks && !s->nelections &&
           !s->epoch;
}

static void put_u(coord_put_cb put, void *ctx, uint64_t v, int n)
{
    unsigned char b[8];
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(ctx, b, (size_t)n);
}

static void put_s(coord_put_cb put, void *ctx, const cstr *s)
{
    put_u(put, ctx, s->n, 4);
    if (s->n) put(ctx, s->p, s->n);
}

void coord_save(const data_store *ds, coord_put_cb put, void *ctx)
{
    const coord_state *s = ds->coord;
    put_u(put, ctx, s->last_lease_id, 8);
    put_u(put, ctx, s->revision, 8);
    put_u(put, ctx, s->epoch, 8);
    put_u(put, ctx, (uint64_t)s->clock_ms, 8);
    put_u(put, ctx, s->nleases, 4);
    for (size_t i = 0; i < s->nleases; i++) {
        const c_lease *l = &s->leases[i];
        put_u(put, ctx, l->id, 8);
        put_u(put, ctx, (uint64_t)l->ttl_ms, 8);
        put_u(put, ctx, (uint64_t)l->deadline_ms, 8);
        put_u(put, ctx, l->nkeys, 4);
        for (size_t k = 0; k < l->nkeys; k++)
            put_s(put, ctx, &l->keys[k]);
    }
    for (int e = 0; e < 2; e++) {
        const c_hold *v = e ? s->elections : s->locks;
        size_t nv = e ? s->nelections : s->nlocks;
        put_u(put, ctx, nv, 4);
        for (size_t i = 0; i < nv; i++) {
            put_s(put, ctx, &v[i].name);
            put_u(put, ctx, v[i].token, 8);
            put_u(put, ctx, v[i].lease, 8);
            if (e) put_s(put, ctx, &v[i].value);
        }
    }
}

static int get_u(const unsigned char **p, size_t *left, int n, uint64_t *out)
{
    if (*left < (size_t)n) return -1;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)(*p)[i] << (8 * i);
    *p += n;
    *left -= (size_t)n;
    *out = v;
    return 0;
}

static int get_s(const unsigned char **p, size_t *left, size_t max, cstr *out)
{
    uint64_t n;
    if (get_u(p, left, 4, &n) < 0 || n > max || n > *left) return -1;
    *out = cstr_dup((const char *)*p, (size_t)n);
    *p += n;
    *left -= n;
    return 0;
}

coord_state *coord_load(const unsigned char **p, size_t *left)
{
    coord_state *s = coord_create();
    uint64_t v, cnt;
    if (get_u(p, left, 8, &s->last_lease_id) < 0 || get_u(p, left, 8, &s->revision) < 0 ||
        get_u(p, left, 8, &s->epoch) < 0 || get_u(p, left, 8, &v) < 0)
        goto fail;
    s->clock_ms = (int64_t)v;
    if (get_u(p, left, 4, &cnt) < 0 || cnt > COORD_MAX_ITEMS) goto fail;
    s->leases = xrealloc(NULL, cnt * sizeof(*s->leases));
    s->cap_leases = cnt;
    for (uint64_t i = 0; i < cnt; i++) {
        c_lease *l = &s->leases[s->nleases];
        memset(l, 0, sizeof(*l));
        uint64_t ttl, dl, nk;
        if (get_u(p, left, 8, &l->id) < 0 || get_u(p, left, 8, &ttl) < 0 ||
            get_u(p, left, 8, &dl) < 0 || get_u(p, left, 4, &nk) < 0)
            goto fail;
        /* ids ascend and never exceed the counter; ttls are in range */
        if (l->id == 0 || l->id > s->last_lease_id ||
            (s->nleases && l->id <= s->leases[s->nleases - 1].id) || ttl < 1 ||
            ttl > (uint64_t)COORD_MAX_TTL_MS || nk > COORD_MAX_KEYS)
            goto fail;
        l->ttl_ms = (int64_t)ttl;
        l->deadline_ms = (int64_t)dl;
        s->nleases++;
        l->keys = xrealloc(NULL, nk * sizeof(*l->keys));
        for (uint64_t k = 0; k < nk; k++) {
            if (get_s(p, left, DATA_STRING_MAX_BYTES, &l->keys[l->nkeys]) < 0) goto fail;
            l->nkeys++;
        }
    }
    for (int e = 0; e < 2; e++) {
        if (get_u(p, left, 4, &cnt) < 0 || cnt > COORD_MAX_ITEMS) goto fail;
        c_hold **vec = e ? &s->elections : &s->locks;
        size_t *nv = e ? &s->nelections : &s->nlocks;
        *vec = xrealloc(NULL, cnt * sizeof(**vec));
        *(e ? &s->cap_elections : &s->cap_locks) = cnt;
        for (uint64_t i = 0; i < cnt; i++) {
            c_hold *h = &(*vec)[*nv];
            memset(h, 0, sizeof(*h));
            if (get_s(p, left, DATA_STRING_MAX_BYTES, &h->name) < 0) goto fail;
            (*nv)++;
            if (get_u(p, left, 8, &h->token) < 0 || get_u(p, left, 8, &h->lease) < 0 ||
                (e && get_s(p, left, COORD_MAX_VALUE, &h->value) < 0))
                goto fail;
            data_arg a = {h->name.p, h->name.n};
            /* tokens come from the counter; holders hold live leases; names are unique */
            if (h->token == 0 || h->token > s->revision || !lease_find(s, h->lease) ||
                hold_find(*vec, *nv - 1, &a))
                goto fail;
        }
    }
    return s;
fail:
    coord_destroy(s);
    return NULL;
}
