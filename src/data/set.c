/* set.c — set values and the set commands (Redis 7.0 semantics and replies).
 *
 * Encodings (set_internal.h): an intset while every member is an integer and there are at
 * most set-max-intset-entries of them, else a table of members. Every command's effect is
 * independent of the encoding (replicas may differ in it: the setting is per node).
 *
 * Randomness (DESIGN.md "Replicating effects"): SRANDMEMBER is a read and draws from the
 * store's generator on the node that serves it. SPOP is a write: the leader rewrites
 * SPOP key [count] into SPOP_EFFECT key count seed member... (spop_rewrite) naming the members
 * it drew from its applied state, and every replica applies that entry without drawing. The
 * leader's state may be behind the log (entries proposed but not applied yet), so the apply
 * pops the named members that are still there and, if that is fewer than SPOP must pop,
 * completes the choice with the remaining members of lowest SipHash(seed, member): a pick
 * that depends only on the set's contents and the entry, never on encoding or table layout. */
#include <limits.h>
#include <stdlib.h>

#include "data/set_internal.h"
#include "util/assert.h"

static int is_table(const dentry *e)
{
    return (e->flags & DE_HASH_TABLE) != 0;
}

static int as_int(const char *m, size_t ml, int64_t *v)
{
    long long x;
    if (!syn_string2ll(m, ml, &x)) return 0;
    *v = x;
    return 1;
}

/* Starts as an intset (Redis's setTypeCreate picks a table when the first member is not an
 * integer: set_add converts on that first add, which comes to the same). */
dentry *set_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = dentry_new(mem, DT_SET, key, klen, NULL, 0, sizeof(void *), expire_ms);
    dentry_set_ptr(e, intset_new(mem));
    return e;
}

static void free_member(dentry *m, void *arg)
{
    dmem_free(arg, m);
}

void set_free(size_t *mem, dentry *e)
{
    if (is_table(e)) {
        dict *d = dentry_ptr(e);
        dict_deinit(d, free_member, mem);
        dmem_free(mem, d);
    } else {
        dmem_free(mem, dentry_ptr(e));
    }
}

uint64_t set_len(dentry *e)
{
    return is_table(e) ? dict_size(dentry_ptr(e)) : intset_len(dentry_ptr(e));
}

const char *set_encoding(const dentry *e)
{
    return is_table(e) ? "hashtable" : "intset";
}

void set_set_mem(dentry *e, size_t *mem)
{
    if (is_table(e)) ((dict *)dentry_ptr(e))->mem = mem;
}

/* A member entry: the dentry's next and klen, then the bytes (data_internal.h, DMEMBER_HDR). */
static void table_add(size_t *mem, dict *d, const char *m, size_t ml)
{
    SYN_ASSERT(ml <= UINT32_MAX);
    dentry *e = dmem_alloc(mem, DMEMBER_HDR + ml);
    e->next = NULL;
    e->klen = (uint32_t)ml;
    if (ml) memcpy(dmember_key(e), m, ml);
    dict_insert(d, e);
}

static void to_table(data_store *ds, dentry *e)
{
    intset *is = dentry_ptr(e);
    dict *d = dmem_alloc(&ds->mem, sizeof *d);
    dict_init_members(d, &ds->mem, ds->hash_seed);
    char buf[24];
    for (uint32_t i = 0; i < intset_len(is); i++)
        table_add(&ds->mem, d, buf, syn_ll2string(buf, intset_get(is, i)));
    dmem_free(&ds->mem, is);
    dentry_set_ptr(e, d);
    e->flags |= DE_HASH_TABLE;
}

int set_add(data_store *ds, dentry *e, const char *m, size_t ml)
{
    int64_t v;
    if (!is_table(e)) {
        if (as_int(m, ml, &v)) {
            int done;
            intset *is = intset_add(&ds->mem, dentry_ptr(e), v, &done);
            dentry_set_ptr(e, is);
            long long max = ds->set_max_intset_entries;
            if (max > DATA_SET_MAX_INTSET_CAP) max = DATA_SET_MAX_INTSET_CAP;
            if (done && (long long)intset_len(is) > max) to_table(ds, e);
            return done;
        }
        to_table(ds, e);
    }
    dict *d = dentry_ptr(e);
    dpos pos;
    if (dict_find(d, m, ml, &pos)) return 0;
    table_add(&ds->mem, d, m, ml);
    return 1;
}

int set_remove(size_t *mem, dentry *e, const char *m, size_t ml)
{
    if (is_table(e)) {
        dpos pos;
        if (!dict_find(dentry_ptr(e), m, ml, &pos)) return 0;
        dmem_free(mem, dict_unlink(dentry_ptr(e), pos));
        return 1;
    }
    int64_t v;
    int done = 0;
    if (as_int(m, ml, &v)) dentry_set_ptr(e, intset_remove(mem, dentry_ptr(e), v, &done));
    return done;
}

int set_has(dentry *e, const char *m, size_t ml)
{
    if (is_table(e)) {
        dpos pos;
        return dict_find(dentry_ptr(e), m, ml, &pos);
    }
    int64_t v;
    return as_int(m, ml, &v) && intset_find(dentry_ptr(e), v);
}

typedef struct {
    set_each_cb cb;
    void *ctx;
} each_ctx;

static void each_member_cb(void *ctx, dentry *m)
{
    each_ctx *ec = ctx;
    ec->cb(ec->ctx, dmember_key(m), m->klen);
}

void set_each(dentry *e, set_each_cb cb, void *ctx)
{
    if (is_table(e)) {
        each_ctx ec = {cb, ctx};
        dict_each(dentry_ptr(e), each_member_cb, &ec);
        return;
    }
    intset *is = dentry_ptr(e);
    char buf[24];
    for (uint32_t i = 0; i < intset_len(is); i++)
        cb(ctx, buf, syn_ll2string(buf, intset_get(is, i)));
}

/* ---- random members ---- */

/* A member by reference: a table entry, or an intset value (de == NULL). */
typedef struct {
    dentry *de;
    int64_t iv;
} mref;

static size_t mref_str(mref r, char buf[24], const char **p)
{
    if (r.de) {
        *p = dmember_key(r.de);
        return r.de->klen;
    }
    *p = buf;
    return syn_ll2string(buf, r.iv);
}

/* Table members are drawn by dict_random (dict.c): uniform over entries, not over chains
 * (Redis's dictGetRandomKey favours members alone in their bucket). */

/* A random member of a non-empty set. */
static mref random_member(data_store *ds, dentry *e)
{
    if (!is_table(e)) {
        intset *is = dentry_ptr(e);
        return (mref){NULL, intset_get(is, (uint32_t)(data_rng_u64(ds) % intset_len(is)))};
    }
    return (mref){dict_random(dentry_ptr(e), ds), 0};
}

typedef struct {
    mref *v;
    size_t n;
} mref_list;

static void collect_cb(void *ctx, dentry *m)
{
    mref_list *l = ctx;
    l->v[l->n++] = (mref){m, 0};
}

/* k distinct random members of e (k < set_len(e)) into out[k]. */
static void sample_distinct(data_store *ds, dentry *e, size_t k, mref *out)
{
    size_t n = (size_t)set_len(e);
    SYN_ASSERT(k < n);
    if (!is_table(e) || k * 3 > n) {
        /* a large share: a partial Fisher-Yates shuffle of every member */
        mref_list all = {dmem_alloc(NULL, n * sizeof(mref)), 0};
        if (is_table(e)) {
            dict_each(dentry_ptr(e), collect_cb, &all);
        } else {
            for (uint32_t i = 0; i < n; i++)
                all.v[all.n++] = (mref){NULL, intset_get(dentry_ptr(e), i)};
        }
        for (size_t i = 0; i < k; i++) {
            size_t j = i + (size_t)(data_rng_u64(ds) % (n - i));
            mref t = all.v[i];
            all.v[i] = all.v[j];
            all.v[j] = t;
            out[i] = all.v[i];
        }
        dmem_free(NULL, all.v);
        return;
    }
    /* a small share of a table: draw until k distinct entries (an open-addressed pointer set) */
    size_t cap = 16;
    while (cap < 2 * k)
        cap *= 2;
    dentry **seen = dmem_calloc(NULL, cap, sizeof *seen);
    for (size_t got = 0; got < k;) {
        mref r = random_member(ds, e);
        size_t h = (size_t)(((uintptr_t)r.de >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (seen[h] && seen[h] != r.de)
            h = (h + 1) & (cap - 1);
        if (seen[h]) continue;
        seen[h] = r.de;
        out[got++] = r;
    }
    dmem_free(NULL, seen);
}

/* ---- shared command helpers ---- */

/* The live set at argv key for reading: NULL if absent; sets *wrong (after the reply). */
static dentry *set_read(data_call *c, const data_arg *key, int *wrong)
{
    dentry *e = ks_read(c, key);
    *wrong = e && e->type != DT_SET;
    if (*wrong) reply_wrongtype(c);
    return *wrong ? NULL : e;
}

static void emit_cb(void *ctx, const char *m, size_t ml)
{
    reply_bulk(ctx, m, ml);
}

static void emit_ref(data_call *c, mref r)
{
    char buf[24];
    const char *p;
    size_t n = mref_str(r, buf, &p);
    reply_bulk(c, p, n);
}

static void reply_empty_set(data_call *c)
{
    c->ops->set(c->rctx, 0);
}

/* Redis getPositiveLongFromObjectOrReply: msg for a negative count and for a non-integer. */
static int arg_count_or_reply(data_call *c, const data_arg *a, const char *msg, long long *out)
{
    if (!syn_string2ll(a->ptr, a->len, out) || *out < 0) {
        reply_err(c, msg);
        return -1;
    }
    return 0;
}

/* ---- SADD SREM SISMEMBER SMISMEMBER SCARD SMOVE ---- */

void cmd_sadd(data_call *c)
{
    dpos pos;
    dentry *e;
    if (ks_write(c, &c->argv[1], &pos)) {
        e = *pos.slot;
        if (e->type != DT_SET) {
            reply_wrongtype(c);
            return;
        }
    } else {
        e = set_new_entry(&c->ds->mem, c->argv[1].ptr, c->argv[1].len, -1);
        ks_insert(c, e);
    }
    long long added = 0;
    for (int i = 2; i < c->argc; i++)
        added += set_add(c->ds, e, c->argv[i].ptr, c->argv[i].len);
    if (added) c->dirty = 1;
    reply_int(c, added);
}

void cmd_srem(data_call *c)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_int(c, 0);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_SET) {
        reply_wrongtype(c);
        return;
    }
    long long n = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!set_remove(&c->ds->mem, e, c->argv[i].ptr, c->argv[i].len)) continue;
        n++;
        c->dirty = 1;
        if (set_len(e) == 0) {
            ks_delete(c, pos);
            break;
        }
    }
    reply_int(c, n);
}

void cmd_sismember(data_call *c)
{
    int wrong;
    dentry *e = set_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_int(c, e && set_has(e, c->argv[2].ptr, c->argv[2].len));
}

void cmd_smismember(data_call *c)
{
    int wrong;
    dentry *e = set_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    c->ops->array(c->rctx, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++)
        reply_int(c, e && set_has(e, c->argv[i].ptr, c->argv[i].len));
}

void cmd_scard(data_call *c)
{
    int wrong;
    dentry *e = set_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_int(c, e ? (long long)set_len(e) : 0);
}

void cmd_smove(data_call *c)
{
    const data_arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    dpos pos;
    /* both lookups first (each may delete an expired key), then fresh positions */
    int has_src = ks_write(c, src, &pos);
    int has_dst = ks_write(c, dst, &pos);
    if (has_src) has_src = dict_find(&c->ds->keys, src->ptr, src->len, &pos);
    if (!has_src) {
        reply_int(c, 0);
        return;
    }
    dentry *s = *pos.slot, *d = NULL;
    dpos dp;
    if (has_dst && dict_find(&c->ds->keys, dst->ptr, dst->len, &dp)) d = *dp.slot;
    if (s->type != DT_SET || (d && d->type != DT_SET)) {
        reply_wrongtype(c);
        return;
    }
    if (s == d) {
        reply_int(c, set_has(s, m->ptr, m->len));
        return;
    }
    if (!set_remove(&c->ds->mem, s, m->ptr, m->len)) {
        reply_int(c, 0);
        return;
    }
    c->dirty = 1;
    if (set_len(s) == 0) ks_delete(c, pos);
    if (!d) {
        d = set_new_entry(&c->ds->mem, dst->ptr, dst->len, -1);
        ks_insert(c, d);
    }
    /* a member dst already had leaves dst unchanged: not a modification of it (WATCH) */
    if (!set_add(c->ds, d, m->ptr, m->len) && has_dst) ks_forget_wkey(c, dst);
    reply_int(c, 1);
}

/* ---- SPOP / SPOP_EFFECT ---- */

typedef struct {
    uint64_t h;
    mref r;
} ranked;

typedef struct {
    uint64_t k0;
    ranked *v;
    size_t n, cap;
} ranked_list;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    char bx[24], by[24];
    const char *px, *py;
    size_t nx = mref_str(x->r, bx, &px), ny = mref_str(y->r, by, &py);
    int r = memcmp(px, py, nx < ny ? nx : ny);
    return r ? r : (nx < ny ? -1 : nx > ny);
}

/* Keeps the k lowest of the candidates offered so far in l->v[0..l->n), a max-heap on
 * ranked_cmp (k = l->cap): O(n log k) for n candidates instead of sorting them all. */
static void heap_sift_down(ranked *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranked_cmp(&v[l], &v[m]) > 0) m = l;
        if (r < n && ranked_cmp(&v[r], &v[m]) > 0) m = r;
        if (m == i) return;
        ranked t = v[i];
        v[i] = v[m];
        v[m] = t;
        i = m;
    }
}

static void offer(ranked_list *l, ranked x)
{
    if (l->n < l->cap) { /* sift up */
        size_t i = l->n++;
        l->v[i] = x;
        while (i > 0 && ranked_cmp(&l->v[(i - 1) / 2], &l->v[i]) < 0) {
            ranked t = l->v[i];
            l->v[i] = l->v[(i - 1) / 2];
            l->v[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (l->cap && ranked_cmp(&x, &l->v[0]) < 0) {
        l->v[0] = x;
        heap_sift_down(l->v, l->n, 0);
    }
}

static void rank_cb(void *ctx, dentry *m)
{
    ranked_list *l = ctx;
    ranked x = {dict_siphash(l->k0, ~l->k0, dmember_key(m), m->klen, 1, 3), (mref){m, 0}};
    offer(l, x);
}

/* Pops (replying with each) the k members of lowest SipHash(seed, member bytes): a choice every
 * replica makes alike whatever its encoding or table layout. */
static void pop_ranked(data_call *c, dentry *e, size_t k, uint64_t seed)
{
    size_t n = (size_t)set_len(e);
    if (k > n) k = n;
    ranked_list l = {seed, dmem_alloc(NULL, (k ? k : 1) * sizeof(ranked)), 0, k};
    if (is_table(e)) {
        dict_each(dentry_ptr(e), rank_cb, &l);
    } else {
        char buf[24];
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = intset_get(dentry_ptr(e), i);
            ranked x = {dict_siphash(seed, ~seed, buf, syn_ll2string(buf, v), 1, 3),
                        (mref){NULL, v}};
            offer(&l, x);
        }
    }
    qsort(l.v, l.n, sizeof *l.v, ranked_cmp); /* the k chosen, lowest first */
    for (size_t i = 0; i < l.n; i++) {
        char buf[24];
        const char *p;
        size_t len = mref_str(l.v[i].r, buf, &p);
        reply_bulk(c, p, len);
        (void)set_remove(&c->ds->mem, e, p, len); /* frees a table entry: used before, not after */
    }
    dmem_free(NULL, l.v);
}

/* The effect of SPOP key [count] given the members chosen earlier (possibly stale). */
static void spop_apply(data_call *c, int has_count, unsigned long long count, uint64_t seed,
                       const data_arg *named, size_t n_named)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        if (has_count)
            reply_empty_set(c);
        else
            reply_null(c);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_SET) {
        reply_wrongtype(c);
        return;
    }
    if (has_count && count == 0) {
        reply_empty_set(c);
        return;
    }
    uint64_t size = set_len(e);
    if (has_count && count >= size) {
        c->ops->set(c->rctx, (size_t)size);
        set_each(e, emit_cb, c);
        ks_delete(c, pos);
        return;
    }
    size_t k = has_count ? (size_t)count : 1, got = 0;
    if (has_count) c->ops->set(c->rctx, k);
    for (size_t i = 0; i < n_named && got < k; i++) {
        if (!set_has(e, named[i].ptr, named[i].len)) continue;
        reply_bulk(c, named[i].ptr, named[i].len);
        (void)set_remove(&c->ds->mem, e, named[i].ptr, named[i].len);
        got++;
    }
    if (got < k) pop_ranked(c, e, k - got, seed);
    c->dirty = 1;
    if (set_len(e) == 0) ks_delete(c, pos);
}

/* The last SPOP_RECENT members named by SPOP rewrites (hashes, 0 = empty): a FIFO ring and an
 * open-addressing table over it; the leader's choice only (never replicated). */
static int recent_has(data_store *ds, uint64_t h)
{
    if (!ds->spop_recent) return 0;
    for (size_t i = h & (2 * SPOP_RECENT - 1);; i = (i + 1) & (2 * SPOP_RECENT - 1)) {
        if (ds->spop_recent->tab[i] == h) return 1;
        if (ds->spop_recent->tab[i] == 0) return 0;
    }
}

static void recent_del(struct spop_recent *r, uint64_t h)
{
    size_t mask = 2 * SPOP_RECENT - 1, i = h & mask;
    while (r->tab[i] != h) {
        if (r->tab[i] == 0) return;
        i = (i + 1) & mask;
    }
    /* backward-shift deletion keeps every probe chain unbroken */
    for (size_t j = (i + 1) & mask; r->tab[j]; j = (j + 1) & mask) {
        size_t home = r->tab[j] & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            r->tab[i] = r->tab[j];
            i = j;
        }
    }
    r->tab[i] = 0;
}

static void recent_add(data_store *ds, uint64_t h)
{
    if (!ds->spop_recent) {
        ds->spop_recent = calloc(1, sizeof(*ds->spop_recent));
        if (!ds->spop_recent) return; /* only an optimisation */
    }
    struct spop_recent *r = ds->spop_recent;
    if (recent_has(ds, h)) return;
    if (r->ring[r->head]) recent_del(r, r->ring[r->head]);
    r->ring[r->head] = h;
    r->head = (r->head + 1) % SPOP_RECENT;
    size_t mask = 2 * SPOP_RECENT - 1, i = h & mask;
    while (r->tab[i])
        i = (i + 1) & mask;
    r->tab[i] = h;
}

/* The members SPOP key [count] pops from the current state: at most `max` (none if more are
 * needed, or if the whole set goes: the apply needs no names then). Intset members are
 * written into ibuf (n_ibuf slots of 24 bytes); table members point into the dataset (valid
 * until it next changes). */
static size_t spop_choose(data_call *c, int has_count, unsigned long long count, data_arg *out,
                          size_t max, char (*ibuf)[24], size_t n_ibuf)
{
    dpos pos;
    const data_arg *key = &c->argv[1];
    if (!dict_find(&c->ds->keys, key->ptr, key->len, &pos)) return 0;
    dentry *e = *pos.slot;
    if (e->type != DT_SET || ks_is_expired(e, c->now_ms)) return 0;
    uint64_t size = set_len(e);
    size_t k = has_count ? (size_t)count : 1;
    if ((has_count && count >= size) || k > max || (!is_table(e) && k > n_ibuf) || k == 0) return 0;
    mref *refs = dmem_alloc(NULL, k * sizeof *refs);
    if (has_count) {
        sample_distinct(c->ds, e, k, refs);
    } else {
        /* Pipelined SPOPs are rewritten from the same applied state: a member another
         * rewrite named moments ago is most likely popped by an entry still in flight, and
         * naming it again makes this SPOP's apply fall back to a scan of the whole set
         * (pop_ranked). So avoid recently named members (a few draws at most). */
        uint64_t h = 0;
        for (int tries = 0; tries < 8; tries++) {
            refs[0] = random_member(c->ds, e);
            char b[24];
            const char *p;
            size_t n = mref_str(refs[0], b, &p);
            h = dict_siphash(0x5350, (uint64_t)(uintptr_t)e, p, n, 1, 3) | 1;
            if (!recent_has(c->ds, h) || (uint64_t)tries + 1 >= size) break;
        }
        recent_add(c->ds, h);
    }
    for (size_t i = 0; i < k; i++) {
        const char *p;
        out[i].len = mref_str(refs[i], ibuf[i < n_ibuf ? i : 0], &p);
        out[i].ptr = p;
    }
    dmem_free(NULL, refs);
    return k;
}

/* Parses SPOP's arguments as Redis does: -1 after an error reply. */
static int spop_args(data_call *c, int *has_count, unsigned long long *count)
{
    *has_count = c->argc == 3;
    *count = 0;
    if (c->argc > 3) {
        reply_syntax(c);
        return -1;
    }
    long long n;
    if (*has_count) {
        if (arg_count_or_reply(c, &c->argv[2], "ERR value is out of range, must be positive", &n) <
            0)
            return -1;
        *count = (unsigned long long)n;
    }
    return 0;
}

/* SPOP executed as it stands (single node, or a test): draws here, then applies. A replicated
 * server never logs this form (spop_rewrite), so replicas never reach this draw. */
void cmd_spop(data_call *c)
{
    int has_count;
    unsigned long long count;
    if (spop_args(c, &has_count, &count) < 0) return;
    size_t max = has_count ? (size_t)(count < 1024 ? count : 1024) : 1;
    data_arg *named = dmem_alloc(NULL, (max ? max : 1) * sizeof *named);
    char(*ibuf)[24] = dmem_alloc(NULL, (max ? max : 1) * 24);
    size_t n = spop_choose(c, has_count, count, named, max, ibuf, max);
    spop_apply(c, has_count, count, data_rng_u64(c->ds), named, n);
    dmem_free(NULL, named);
    dmem_free(NULL, ibuf);
}

/* SPOP_EFFECT key count seed [member ...]: count is "" for SPOP without a count. */
void cmd_spop_effect(data_call *c)
{
    long long count = 0, seed;
    int has_count = c->argv[2].len > 0;
    if ((has_count && (!syn_string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0)) ||
        !syn_string2ll(c->argv[3].ptr, c->argv[3].len, &seed)) {
        reply_syntax(c);
        return;
    }
    spop_apply(c, has_count, (unsigned long long)count, (uint64_t)seed, c->argv + 4,
               (size_t)(c->argc - 4));
}

int spop_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    if (strcmp(c->name, "spop") != 0 || !c->ds || c->argc < 2 || out_cap < 5 || scratch_cap < 24)
        return 0;
    int has_count;
    unsigned long long count;
    if (spop_args(c, &has_count, &count) < 0) return 0;
    out[0] = (data_arg){"SPOP_EFFECT", 11};
    out[1] = c->argv[1];
    out[2] = has_count ? c->argv[2] : (data_arg){"", 0};
    out[3] = (data_arg){scratch, syn_ll2string(scratch, (long long)data_rng_u64(c->ds))};
    char(*ibuf)[24] = (char(*)[24])(scratch + 24);
    size_t n_ibuf = (scratch_cap - 24) / 24;
    return 4 + (int)spop_choose(c, has_count, count, out + 4, (size_t)out_cap - 4, ibuf, n_ibuf);
}

/* ---- SRANDMEMBER ---- */

void cmd_srandmember(data_call *c)
{
    int wrong;
    if (c->argc > 3) {
        reply_syntax(c);
        return;
    }
    if (c->argc == 2) {
        dentry *e = set_read(c, &c->argv[1], &wrong);
        if (wrong) return;
        if (!e)
            reply_null(c);
        else
            emit_ref(c, random_member(c->ds, e));
        return;
    }
    long long l;
    if (arg_ll_or_reply(c, &c->argv[2], &l) < 0) return;
    if (l == LLONG_MIN) {
        reply_err(c, "ERR value is out of range, value must between -9223372036854775807 and "
                     "9223372036854775807");
        return;
    }
    int uniq = l >= 0;
    unsigned long long count = (unsigned long long)(l >= 0 ? l : -l);
    dentry *e = set_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e || count == 0) {
        c->ops->array(c->rctx, 0);
        return;
    }
    uint64_t size = set_len(e);
    if (!uniq || count == 1) {
        c->ops->array(c->rctx, (size_t)count);
        while (count--)
            emit_ref(c, random_member(c->ds, e));
        return;
    }
    if (count >= size) {
        c->ops->array(c->rctx, (size_t)size);
        set_each(e, emit_cb, c);
        return;
    }
    mref *refs = dmem_alloc(NULL, (size_t)count * sizeof *refs);
    sample_distinct(c->ds, e, (size_t)count, refs);
    c->ops->array(c->rctx, (size_t)count);
    for (size_t i = 0; i < count; i++)
        emit_ref(c, refs[i]);
    dmem_free(NULL, refs);
}

/* ---- SMEMBERS SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE ---- */

/* The sets at keys[0..n) for reading (NULL = missing); -1 after a WRONGTYPE reply. */
static int read_sets(data_call *c, const data_arg *keys, int n, dentry **out)
{
    for (int i = 0; i < n; i++) {
        dentry *e = ks_read(c, &keys[i]);
        if (e && e->type != DT_SET) {
            reply_wrongtype(c);
            return -1;
        }
        out[i] = e;
    }
    return 0;
}

/* Stores res (keyed dst) in place of dst; an empty result deletes dst. Replies the size. */
static void store_result(data_call *c, const data_arg *dst, dentry *res)
{
    dpos pos;
    if (ks_write(c, dst, &pos)) ks_delete(c, pos);
    uint64_t n = set_len(res);
    if (n)
        ks_insert(c, res);
    else
        dentry_free(&c->ds->mem, res);
    reply_int(c, (long long)n);
}

static int by_size(const void *a, const void *b)
{
    uint64_t x = set_len(*(dentry *const *)a), y = set_len(*(dentry *const *)b);
    return x < y ? -1 : x > y;
}

typedef struct {
    data_call *c;
    dentry **sets;
    int n;
    int mode; /* 0 count, 1 emit, 2 add to res */
    dentry *res;
    unsigned long long found, limit;
} inter_ctx;

static void inter_cb(void *ctx, const char *m, size_t ml)
{
    inter_ctx *x = ctx;
    if (x->limit && x->found >= x->limit) return;
    for (int j = 1; j < x->n; j++)
        if (x->sets[j] != x->sets[0] && !set_has(x->sets[j], m, ml)) return;
    x->found++;
    if (x->mode == 1) reply_bulk(x->c, m, ml);
    if (x->mode == 2) (void)set_add(x->c->ds, x->res, m, ml);
}

/* Redis sinterGenericCommand: dst for SINTERSTORE, card for SINTERCARD (limit 0 = none). */
static void sinter_generic(data_call *c, const data_arg *keys, int n, const data_arg *dst, int card,
                           unsigned long long limit)
{
    dentry **sets = dmem_alloc(NULL, (size_t)n * sizeof *sets);
    if (read_sets(c, keys, n, sets) < 0) goto out;
    int empty = 0;
    for (int i = 0; i < n; i++)
        empty |= sets[i] == NULL;
    if (empty) {
        dpos pos;
        if (dst && ks_write(c, dst, &pos)) ks_delete(c, pos);
        if (dst || card)
            reply_int(c, 0);
        else
            reply_empty_set(c);
        goto out;
    }
    qsort(sets, (size_t)n, sizeof *sets, by_size);
    inter_ctx x = {c, sets, n, 0, NULL, 0, limit};
    if (card) {
        set_each(sets[0], inter_cb, &x);
        reply_int(c, (long long)x.found);
    } else if (dst) {
        x.mode = 2;
        x.res = set_new_entry(&c->ds->mem, dst->ptr, dst->len, -1);
        set_each(sets[0], inter_cb, &x);
        store_result(c, dst, x.res);
    } else {
        set_each(sets[0], inter_cb, &x); /* counts first: the reply's length leads */
        c->ops->set(c->rctx, (size_t)x.found);
        x.mode = 1;
        set_each(sets[0], inter_cb, &x);
    }
out:
    dmem_free(NULL, sets);
}

void cmd_smembers(data_call *c)
{
    sinter_generic(c, c->argv + 1, 1, NULL, 0, 0);
}

void cmd_sinter(data_call *c)
{
    sinter_generic(c, c->argv + 1, c->argc - 1, NULL, 0, 0);
}

void cmd_sinterstore(data_call *c)
{
    sinter_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], 0, 0);
}

void cmd_sintercard(data_call *c)
{
    long long numkeys, limit = 0;
    if (!syn_string2ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys < 1) {
        reply_err(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_err(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_eq(&c->argv[j], "limit") && j + 1 < c->argc) {
            j++;
            if (arg_count_or_reply(c, &c->argv[j], "ERR LIMIT can't be negative", &limit) < 0)
                return;
        } else {
            reply_syntax(c);
            return;
        }
    }
    sinter_generic(c, c->argv + 2, (int)numkeys, NULL, 1, (unsigned long long)limit);
}

typedef struct {
    data_store *ds;
    dentry *res;
    dentry **others;
    int n_others;
    int remove;
} op_ctx;

static void union_cb(void *ctx, const char *m, size_t ml)
{
    op_ctx *x = ctx;
    if (x->remove)
        (void)set_remove(&x->ds->mem, x->res, m, ml);
    else
        (void)set_add(x->ds, x->res, m, ml);
}

static void diff_cb(void *ctx, const char *m, size_t ml)
{
    op_ctx *x = ctx;
    for (int j = 0; j < x->n_others; j++)
        if (x->others[j] && set_has(x->others[j], m, ml)) return;
    (void)set_add(x->ds, x->res, m, ml);
}

static int by_size_desc(const void *a, const void *b)
{
    dentry *x = *(dentry *const *)a, *y = *(dentry *const *)b;
    uint64_t nx = x ? set_len(x) : 0, ny = y ? set_len(y) : 0;
    return nx > ny ? -1 : nx < ny;
}

/* Redis sunionDiffGenericCommand: the result is built as a set (so it replies in that set's
 * order), then replied or stored. */
static void sunion_diff(data_call *c, const data_arg *keys, int n, const data_arg *dst, int diff)
{
    dentry **sets = dmem_alloc(NULL, (size_t)n * sizeof *sets);
    if (read_sets(c, keys, n, sets) < 0) {
        dmem_free(NULL, sets);
        return;
    }
    int same = 0;
    for (int j = 1; j < n; j++)
        same |= sets[j] && sets[j] == sets[0];
    dentry *res = set_new_entry(&c->ds->mem, dst ? dst->ptr : "", dst ? dst->len : 0, -1);
    op_ctx x = {c->ds, res, sets + 1, n - 1, 0};
    if (!diff) {
        for (int j = 0; j < n; j++)
            if (sets[j]) set_each(sets[j], union_cb, &x);
    } else if (sets[0] && !same) {
        /* Redis's choice: test each member of the first set against the others, or copy the
         * first and remove the others' members, whichever is less work */
        uint64_t one = 0, two = 0;
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            one += set_len(sets[0]);
            two += set_len(sets[j]);
        }
        if (one / 2 <= two) {
            qsort(sets + 1, (size_t)(n - 1), sizeof *sets, by_size_desc);
            set_each(sets[0], diff_cb, &x);
        } else {
            set_each(sets[0], union_cb, &x);
            x.remove = 1;
            for (int j = 1; j < n && set_len(res); j++)
                if (sets[j]) set_each(sets[j], union_cb, &x);
        }
    }
    if (dst) {
        store_result(c, dst, res);
    } else {
        c->ops->set(c->rctx, (size_t)set_len(res));
        set_each(res, emit_cb, c);
        dentry_free(&c->ds->mem, res);
    }
    dmem_free(NULL, sets);
}

void cmd_sunion(data_call *c)
{
    sunion_diff(c, c->argv + 1, c->argc - 1, NULL, 0);
}

void cmd_sunionstore(data_call *c)
{
    sunion_diff(c, c->argv + 2, c->argc - 2, &c->argv[1], 0);
}

void cmd_sdiff(data_call *c)
{
    sunion_diff(c, c->argv + 1, c->argc - 1, NULL, 1);
}

void cmd_sdiffstore(data_call *c)
{
    sunion_diff(c, c->argv + 2, c->argc - 2, &c->argv[1], 1);
}

/* ---- SSCAN ---- */

typedef struct {
    data_arg *v;
    size_t n, cap;
    char (*ints)[24]; /* intset members' text, one slot per member */
} member_list;

static void member_push(member_list *l, const char *m, size_t ml)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = dmem_realloc(NULL, l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (data_arg){m, ml};
}

static void scan_member_cb(void *ctx, dentry *m)
{
    member_push(ctx, dmember_key(m), m->klen);
}

void cmd_sscan(data_call *c)
{
    uint64_t cursor;
    long long count;
    const data_arg *pattern;
    dentry *e = scan_key_or_reply(c, DT_SET, &cursor, &count, &pattern);
    if (!e) return;
    member_list l = {0};
    if (is_table(e)) {
        long long iters = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = dict_scan(dentry_ptr(e), cursor, scan_member_cb, &l);
        } while (cursor && iters-- && l.n < (unsigned long long)count);
    } else {
        intset *is = dentry_ptr(e);
        l.ints = dmem_alloc(NULL, (size_t)intset_len(is) * 24 + 1);
        for (uint32_t i = 0; i < intset_len(is); i++)
            member_push(&l, l.ints[i], syn_ll2string(l.ints[i], intset_get(is, i)));
        cursor = 0;
    }
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!pattern || glob_match(pattern->ptr, pattern->len, l.v[i].ptr, l.v[i].len, 0))
            l.v[kept++] = l.v[i];
    reply_cursor(c, cursor);
    c->ops->array(c->rctx, kept);
    for (size_t i = 0; i < kept; i++)
        reply_bulk(c, l.v[i].ptr, l.v[i].len);
    dmem_free(NULL, l.v);
    dmem_free(NULL, l.ints);
}
