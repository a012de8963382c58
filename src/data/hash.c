/* hash.c — hash values: a packed array while small, a hash table past 512 fields or 64-byte
 * fields/values (Redis's hash-max-listpack-entries / -value, any size), and the hash commands. */
#include <limits.h>
#include <math.h>

#include "data/data_internal.h"
#include "util/assert.h"

/* Packed encoding: n entries of [varint flen][field][varint vlen][value] in insertion order.
 * A varint is 7 bits a byte, low bits first, the top bit set on all but the last byte, so the
 * lengths under 128 of the default bounds take one byte each, and any length fits (Redis keeps a
 * hash packed for any hash-max-listpack-value). The whole buffer stays under PH_MAX_BYTES, as a
 * Redis listpack stays under its 1 GB safety limit: past it the hash converts to a table. */
#define PH_MAX_BYTES (1u << 30)

typedef struct {
    uint32_t n;
    uint32_t used; /* bytes of b[] in use */
    uint32_t cap;
    unsigned char b[];
} phash;

static size_t lv_size(size_t v)
{
    size_t n = 1;
    for (; v > 0x7f; v >>= 7)
        n++;
    return n;
}

static size_t lv_put(unsigned char *p, size_t v)
{
    size_t n = 0;
    for (; v > 0x7f; v >>= 7)
        p[n++] = (unsigned char)(0x80 | (v & 0x7f));
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads the length at p (always well formed: only this file writes the buffer). */
static uint32_t lv_get(const unsigned char *p, uint32_t *n)
{
    uint32_t v = 0, i = 0;
    for (; p[i] & 0x80; i++)
        v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
    v |= (uint32_t)p[i] << (7 * i);
    *n = i + 1;
    return v;
}

/* Bytes of one packed entry. */
static size_t ph_size(size_t fl, size_t vl)
{
    return lv_size(fl) + fl + lv_size(vl) + vl;
}

size_t hash_packed_overhead(size_t fl, size_t vl)
{
    return lv_size(fl) + lv_size(vl);
}

static phash *ph_new(size_t *mem)
{
    phash *p = dmem_alloc(mem, sizeof(phash) + 32);
    p->n = 0;
    p->used = 0;
    p->cap = 32;
    return p;
}

/* One decoded entry: the field at b[f], the value's length header at b[vh], the value at b[v]. */
typedef struct {
    uint32_t fl, vl;
    uint32_t f, vh, v, end;
} ph_ent;

static void ph_at(const phash *p, uint32_t off, ph_ent *x)
{
    uint32_t n;
    x->fl = lv_get(p->b + off, &n);
    x->f = off + n;
    x->vh = x->f + x->fl;
    x->vl = lv_get(p->b + x->vh, &n);
    x->v = x->vh + n;
    x->end = x->v + x->vl;
}

/* Offset of field's entry, or -1. */
static long ph_find(const phash *p, const char *f, size_t flen, ph_ent *x)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        ph_at(p, off, x);
        if (x->fl == flen && memcmp(p->b + x->f, f, flen) == 0) return (long)off;
        off = x->end;
    }
    return -1;
}

static phash *ph_reserve(size_t *mem, phash *p, size_t extra)
{
    if (p->used + extra <= p->cap) return p;
    size_t cap = (p->used + extra) * 3 / 2; /* under 1.5 * PH_MAX_BYTES: fits the u32 */
    p = dmem_realloc(mem, p, sizeof(phash) + cap);
    p->cap = (uint32_t)cap;
    return p;
}

static void ph_del_at(phash *p, uint32_t off)
{
    ph_ent x;
    ph_at(p, off, &x);
    uint32_t sz = x.end - off;
    memmove(p->b + off, p->b + off + sz, p->used - off - sz);
    p->used -= sz;
    p->n--;
}

static phash *ph_append(size_t *mem, phash *p, const char *f, size_t fl, const char *v, size_t vl)
{
    size_t sz = ph_size(fl, vl);
    p = ph_reserve(mem, p, sz);
    unsigned char *q = p->b + p->used;
    q += lv_put(q, fl);
    memcpy(q, f, fl);
    q += fl;
    q += lv_put(q, vl);
    memcpy(q, v, vl);
    p->used += (uint32_t)sz;
    p->n++;
    return p;
}

/* Replaces the value of the entry x in place, so the field keeps its position (as in a
 * listpack). */
static phash *ph_replace(size_t *mem, phash *p, const ph_ent *x, const char *v, size_t vl)
{
    size_t old = x->end - x->vh, now = lv_size(vl) + vl;
    if (now > old) p = ph_reserve(mem, p, now - old);
    memmove(p->b + x->vh + now, p->b + x->end, p->used - x->end);
    size_t h = lv_put(p->b + x->vh, vl);
    memcpy(p->b + x->vh + h, v, vl);
    p->used = (uint32_t)(p->used - old + now);
    return p;
}

static void ph_each(const phash *p, hash_each_cb cb, void *ctx)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        ph_ent x;
        ph_at(p, off, &x);
        cb(ctx, (const char *)p->b + x.f, x.fl, (const char *)p->b + x.v, x.vl);
        off = x.end;
    }
}

/* ---- hash object over both encodings ---- */

static int is_table(const dentry *e)
{
    return (e->flags & DE_HASH_TABLE) != 0;
}

uint64_t hash_len(dentry *e)
{
    return is_table(e) ? dict_size((dict *)dentry_ptr(e)) : ((phash *)dentry_ptr(e))->n;
}

static void free_field(dentry *f, void *arg)
{
    dmem_free(arg, f);
}

void hash_free(size_t *mem, dentry *e)
{
    if (is_table(e)) {
        dict *d = dentry_ptr(e);
        dict_deinit(d, free_field, mem);
        dmem_free(mem, d);
    } else {
        dmem_free(mem, dentry_ptr(e));
    }
}

int hash_get(dentry *e, const char *f, size_t fl, const char **v, size_t *vl)
{
    if (is_table(e)) {
        dpos pos;
        if (!dict_find(dentry_ptr(e), f, fl, &pos)) return 0;
        *v = dentry_val(*pos.slot);
        *vl = (*pos.slot)->vlen;
        return 1;
    }
    phash *p = dentry_ptr(e);
    ph_ent x;
    if (ph_find(p, f, fl, &x) < 0) return 0;
    *v = (const char *)p->b + x.v;
    *vl = x.vl;
    return 1;
}

typedef struct {
    dict *d;
    size_t *mem;
} convert_ctx;

static void convert_cb(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    convert_ctx *cc = ctx;
    dict_insert(cc->d, dentry_new(cc->mem, DT_STRING, f, fl, v, vl, vl, -1));
}

static void hash_to_table(size_t *mem, const uint64_t seed[2], dentry *e)
{
    phash *p = dentry_ptr(e);
    dict *d = dmem_alloc(mem, sizeof *d);
    dict_init(d, mem, seed);
    convert_ctx cc = {d, mem};
    ph_each(p, convert_cb, &cc);
    dmem_free(mem, p);
    dentry_set_ptr(e, d);
    e->flags |= DE_HASH_TABLE;
}

/* Sets field to value; returns 1 if the field is new. */
int hash_set(size_t *mem, const uint64_t seed[2], dentry *e, const char *f, size_t fl,
             const char *v, size_t vl)
{
    return hash_set_limited(mem, seed, DATA_HASH_PACKED_FIELDS, DATA_HASH_PACKED_VALUE, e, f, fl, v,
                            vl);
}

/* hash_set with the packed encoding's bounds (hash-max-listpack-entries / -value). */
int hash_set_limited(size_t *mem, const uint64_t seed[2], uint32_t max_fields, uint32_t max_value,
                     dentry *e, const char *f, size_t fl, const char *v, size_t vl)
{
    if (!is_table(e)) {
        phash *p = dentry_ptr(e);
        ph_ent x;
        long off = ph_find(p, f, fl, &x);
        /* the buffer's bound counts the whole new entry, as Redis's lpSafeToAdd does */
        if (fl > max_value || vl > max_value || (off < 0 && p->n + 1 > max_fields) ||
            p->used + ph_size(fl, vl) > PH_MAX_BYTES) {
            hash_to_table(mem, seed, e);
        } else if (off < 0) {
            dentry_set_ptr(e, ph_append(mem, p, f, fl, v, vl));
            return 1;
        } else {
            dentry_set_ptr(e, ph_replace(mem, p, &x, v, vl));
            return 0;
        }
    }
    dict *d = dentry_ptr(e);
    dpos pos;
    if (!dict_find(d, f, fl, &pos)) {
        dict_insert(d, dentry_new(mem, DT_STRING, f, fl, v, vl, vl, -1));
        return 1;
    }
    dentry *old = *pos.slot;
    if (vl <= old->vcap && old->vcap <= vl + 32) {
        memcpy(dentry_val(old), v, vl);
        old->vlen = (uint32_t)vl;
        return 0;
    }
    dentry *ne = dentry_new(mem, DT_STRING, f, fl, v, vl, vl, -1);
    ne->next = old->next;
    dict_replace(pos, ne);
    dmem_free(mem, old);
    return 0;
}

static int hash_del(size_t *mem, dentry *e, const char *f, size_t fl)
{
    if (is_table(e)) {
        dpos pos;
        if (!dict_find(dentry_ptr(e), f, fl, &pos)) return 0;
        dmem_free(mem, dict_unlink(dentry_ptr(e), pos));
        return 1;
    }
    phash *p = dentry_ptr(e);
    ph_ent x;
    long off = ph_find(p, f, fl, &x);
    if (off < 0) return 0;
    ph_del_at(p, (uint32_t)off);
    return 1;
}

typedef struct {
    hash_each_cb cb;
    void *ctx;
} each_ctx;

static void each_field_cb(void *ctx, dentry *f)
{
    each_ctx *ec = ctx;
    ec->cb(ec->ctx, dentry_key(f), f->klen, dentry_val(f), f->vlen);
}

void hash_each(dentry *e, hash_each_cb cb, void *ctx)
{
    if (is_table(e)) {
        each_ctx ec = {cb, ctx};
        dict_each(dentry_ptr(e), each_field_cb, &ec);
    } else {
        ph_each(dentry_ptr(e), cb, ctx);
    }
}

dentry *hash_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = dentry_new(mem, DT_HASH, key, klen, NULL, 0, sizeof(void *), expire_ms);
    dentry_set_ptr(e, ph_new(mem));
    return e;
}

void hash_set_mem(dentry *e, size_t *mem)
{
    if (is_table(e)) ((dict *)dentry_ptr(e))->mem = mem;
}

/* ---- commands ---- */

/* The live hash at key for reading: NULL if absent; sets *wrong on a non-hash. */
static dentry *hash_read(data_call *c, int *wrong)
{
    dentry *e = ks_read(c, &c->argv[1]);
    *wrong = e && e->type != DT_HASH;
    if (*wrong) reply_wrongtype(c);
    return *wrong ? NULL : e;
}

/* The hash at key for writing, created empty when absent; NULL after a WRONGTYPE reply.
 * An empty hash is never left behind by callers (they add a field or delete the key). */
static dentry *hash_write(data_call *c)
{
    dpos pos;
    if (ks_write(c, &c->argv[1], &pos)) {
        dentry *e = *pos.slot;
        if (e->type != DT_HASH) {
            reply_wrongtype(c);
            return NULL;
        }
        return e;
    }
    dentry *e = hash_new_entry(&c->ds->mem, c->argv[1].ptr, c->argv[1].len, -1);
    ks_insert(c, e);
    return e;
}

static void hset_generic(data_call *c, int ok_reply)
{
    if (c->argc % 2 != 0) {
        reply_arity(c);
        return;
    }
    dentry *e = hash_write(c);
    if (!e) return;
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += hash_set_limited(&c->ds->mem, c->ds->hash_seed, c->ds->hash_max_fields,
                                    c->ds->hash_max_value, e, c->argv[i].ptr, c->argv[i].len,
                                    c->argv[i + 1].ptr, c->argv[i + 1].len);
    c->dirty = 1;
    if (ok_reply)
        reply_ok(c);
    else
        reply_int(c, created);
}

void cmd_hset(data_call *c)
{
    hset_generic(c, 0);
}

void cmd_hmset(data_call *c)
{
    hset_generic(c, 1);
}

void cmd_hsetnx(data_call *c)
{
    dentry *e = hash_write(c);
    if (!e) return;
    const char *v;
    size_t vl;
    if (hash_get(e, c->argv[2].ptr, c->argv[2].len, &v, &vl)) {
        reply_int(c, 0);
        return;
    }
    hash_set_limited(&c->ds->mem, c->ds->hash_seed, c->ds->hash_max_fields, c->ds->hash_max_value,
                     e, c->argv[2].ptr, c->argv[2].len, c->argv[3].ptr, c->argv[3].len);
    c->dirty = 1;
    reply_int(c, 1);
}

void cmd_hget(data_call *c)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    const char *v;
    size_t vl;
    if (e && hash_get(e, c->argv[2].ptr, c->argv[2].len, &v, &vl))
        reply_bulk(c, v, vl);
    else
        reply_null(c);
}

void cmd_hmget(data_call *c)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    c->ops->array(c->rctx, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        const char *v;
        size_t vl;
        if (e && hash_get(e, c->argv[i].ptr, c->argv[i].len, &v, &vl))
            reply_bulk(c, v, vl);
        else
            reply_null(c);
    }
}

enum { EMIT_FIELD = 1, EMIT_VALUE = 2 };

typedef struct {
    data_call *c;
    int what;
} emit_ctx;

static void emit_cb(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    emit_ctx *ec = ctx;
    if (ec->what & EMIT_FIELD) reply_bulk(ec->c, f, fl);
    if (ec->what & EMIT_VALUE) reply_bulk(ec->c, v, vl);
}

static void hgetall_generic(data_call *c, int what)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    size_t n = e ? hash_len(e) : 0;
    if (what == (EMIT_FIELD | EMIT_VALUE))
        c->ops->map(c->rctx, n);
    else
        c->ops->array(c->rctx, n);
    if (!e) return;
    emit_ctx ec = {c, what};
    hash_each(e, emit_cb, &ec);
}

void cmd_hgetall(data_call *c)
{
    hgetall_generic(c, EMIT_FIELD | EMIT_VALUE);
}

void cmd_hkeys(data_call *c)
{
    hgetall_generic(c, EMIT_FIELD);
}

void cmd_hvals(data_call *c)
{
    hgetall_generic(c, EMIT_VALUE);
}

void cmd_hdel(data_call *c)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_int(c, 0);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_HASH) {
        reply_wrongtype(c);
        return;
    }
    long long n = 0;
    for (int i = 2; i < c->argc; i++)
        n += hash_del(&c->ds->mem, e, c->argv[i].ptr, c->argv[i].len);
    if (n) c->dirty = 1;
    if (hash_len(e) == 0) ks_delete(c, pos);
    reply_int(c, n);
}

void cmd_hexists(data_call *c)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    const char *v;
    size_t vl;
    reply_int(c, e && hash_get(e, c->argv[2].ptr, c->argv[2].len, &v, &vl));
}

void cmd_hlen(data_call *c)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    reply_int(c, e ? (long long)hash_len(e) : 0);
}

void cmd_hstrlen(data_call *c)
{
    int wrong;
    dentry *e = hash_read(c, &wrong);
    if (wrong) return;
    const char *v;
    size_t vl;
    reply_int(c, e && hash_get(e, c->argv[2].ptr, c->argv[2].len, &v, &vl) ? (long long)vl : 0);
}

void cmd_hincrby(data_call *c)
{
    long long incr, v = 0;
    if (arg_ll_or_reply(c, &c->argv[3], &incr) < 0) return;
    dentry *e = hash_write(c);
    if (!e) return;
    const char *cur;
    size_t cl;
    if (hash_get(e, c->argv[2].ptr, c->argv[2].len, &cur, &cl) && !syn_string2ll(cur, cl, &v)) {
        reply_err(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_err(c, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    char buf[24];
    size_t n = syn_ll2string(buf, v);
    hash_set_limited(&c->ds->mem, c->ds->hash_seed, c->ds->hash_max_fields, c->ds->hash_max_value,
                     e, c->argv[2].ptr, c->argv[2].len, buf, n);
    c->dirty = 1;
    reply_int(c, v);
}

void cmd_hincrbyfloat(data_call *c)
{
    long double incr, v = 0;
    if (!parse_ld(c->argv[3].ptr, c->argv[3].len, &incr)) {
        reply_err(c, "ERR value is not a valid float");
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_err(c, "ERR value is NaN or Infinity");
        return;
    }
    dentry *e = hash_write(c);
    if (!e) return;
    const char *cur;
    size_t cl;
    if (hash_get(e, c->argv[2].ptr, c->argv[2].len, &cur, &cl) && !parse_ld(cur, cl, &v)) {
        reply_err(c, "ERR hash value is not a float");
        return;
    }
    v += incr;
    char buf[5 * 1024];
    size_t n = (isnan(v) || isinf(v)) ? 0 : fmt_ld(buf, sizeof buf, v);
    if (n == 0) {
        reply_err(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    hash_set_limited(&c->ds->mem, c->ds->hash_seed, c->ds->hash_max_fields, c->ds->hash_max_value,
                     e, c->argv[2].ptr, c->argv[2].len, buf, n);
    c->dirty = 1;
    reply_bulk(c, buf, n);
}

/* HSCAN collects (field, value) pointers; they stay valid because reads never mutate. */
typedef struct {
    const char **v;
    size_t *l;
    size_t n, cap; /* in pairs */
    const data_arg *pattern;
} pair_list;

static void pair_push(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    pair_list *p = ctx;
    if (p->pattern && !glob_match(p->pattern->ptr, p->pattern->len, f, fl, 0)) return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = dmem_realloc(NULL, p->v, 2 * p->cap * sizeof *p->v);
        p->l = dmem_realloc(NULL, p->l, 2 * p->cap * sizeof *p->l);
    }
    p->v[2 * p->n] = f;
    p->l[2 * p->n] = fl;
    p->v[2 * p->n + 1] = v;
    p->l[2 * p->n + 1] = vl;
    p->n++;
}

static void pair_field_cb(void *ctx, dentry *f)
{
    pair_push(ctx, dentry_key(f), f->klen, dentry_val(f), f->vlen);
}

void cmd_hscan(data_call *c)
{
    uint64_t cursor;
    long long count;
    const data_arg *pattern;
    dentry *e = scan_key_or_reply(c, DT_HASH, &cursor, &count, &pattern);
    if (!e) return;
    pair_list pl = {.pattern = pattern};
    if (is_table(e)) {
        /* filtering happens while collecting, so bound the walk by buckets as Redis does */
        long long iters = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = dict_scan(dentry_ptr(e), cursor, pair_field_cb, &pl);
        } while (cursor && iters-- && pl.n < (unsigned long long)count);
    } else {
        ph_each(dentry_ptr(e), pair_push, &pl);
        cursor = 0;
    }
    reply_cursor(c, cursor);
    c->ops->array(c->rctx, 2 * pl.n);
    for (size_t i = 0; i < 2 * pl.n; i++)
        reply_bulk(c, pl.v[i], pl.l[i]);
    dmem_free(NULL, pl.v);
    dmem_free(NULL, pl.l);
}

void data_set_hash_max_listpack(data_store *ds, long long entries, long long value)
{
    ds->hash_max_fields = entries < 0 ? 0 : entries > UINT32_MAX ? UINT32_MAX : (uint32_t)entries;
    ds->hash_max_value = value < 0 ? 0 : value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

/* ---- HRANDFIELD (a read: the node serving it draws, from the store's generator) ---- */

typedef struct {
    const char **f, **v;
    size_t *fl, *vl;
    size_t n;
} hfields;

static void collect_field(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    hfields *h = ctx;
    h->f[h->n] = f;
    h->fl[h->n] = fl;
    h->v[h->n] = v;
    h->vl[h->n] = vl;
    h->n++;
}

void cmd_hrandfield(data_call *c)
{
    long long count = 1;
    int with_values = 0, has_count = c->argc >= 3;
    if (c->argc > 4 || (c->argc == 4 && !arg_eq(&c->argv[3], "withvalues"))) {
        reply_syntax(c);
        return;
    }
    if (has_count) {
        if (arg_ll_or_reply(c, &c->argv[2], &count) < 0) return;
        with_values = c->argc == 4;
        /* Redis's ranges: -LONG_MAX.. (its count is negated), half that with values (pairs) */
        if (count == LLONG_MIN) {
            reply_err(c, "ERR value is out of range, value must between -9223372036854775807 and "
                         "9223372036854775807");
            return;
        }
        if (with_values && (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2)) {
            reply_err(c, "ERR value is out of range");
            return;
        }
    }
    dentry *e = ks_read(c, &c->argv[1]);
    if (e && e->type != DT_HASH) {
        reply_wrongtype(c);
        return;
    }
    if (!e) {
        if (has_count)
            c->ops->array(c->rctx, 0);
        else
            reply_null(c);
        return;
    }
    uint64_t len = hash_len(e);
    if (has_count && count == 0) {
        c->ops->array(c->rctx, 0);
        return;
    }
    /* one pass collects the fields (O(n), as large counts are in Redis) */
    hfields h = {0};
    h.f = dmem_alloc(NULL, len * sizeof(char *));
    h.v = dmem_alloc(NULL, len * sizeof(char *));
    h.fl = dmem_alloc(NULL, len * sizeof(size_t));
    h.vl = dmem_alloc(NULL, len * sizeof(size_t));
    hash_each(e, collect_field, &h);
    int resp3 = c->ops->is_resp3 && c->ops->is_resp3(c->rctx);
    if (!has_count) {
        size_t i = (size_t)(data_rng_u64(c->ds) % h.n);
        reply_bulk(c, h.f[i], h.fl[i]);
    } else {
        /* negative: |count| draws with repetition; positive: distinct fields, at most all of
         * them (a partial Fisher-Yates shuffle) */
        uint64_t want =
            count < 0 ? (uint64_t)(-count) : ((uint64_t)count < h.n ? (uint64_t)count : h.n);
        size_t per = with_values && !resp3 ? 2 : 1;
        c->ops->array(c->rctx, (size_t)want * per);
        for (uint64_t k = 0; k < want; k++) {
            size_t i;
            if (count < 0) {
                i = (size_t)(data_rng_u64(c->ds) % h.n);
            } else {
                i = (size_t)k + (size_t)(data_rng_u64(c->ds) % (h.n - k));
                const char *t;
                size_t tl;
                t = h.f[i], h.f[i] = h.f[k], h.f[k] = t;
                t = h.v[i], h.v[i] = h.v[k], h.v[k] = t;
                tl = h.fl[i], h.fl[i] = h.fl[k], h.fl[k] = tl;
                tl = h.vl[i], h.vl[i] = h.vl[k], h.vl[k] = tl;
                i = (size_t)k;
            }
            if (with_values && resp3) c->ops->array(c->rctx, 2);
            reply_bulk(c, h.f[i], h.fl[i]);
            if (with_values) reply_bulk(c, h.v[i], h.vl[i]);
        }
    }
    dmem_free(NULL, h.f);
    dmem_free(NULL, h.v);
    dmem_free(NULL, h.fl);
    dmem_free(NULL, h.vl);
}
