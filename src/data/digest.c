/* digest.c — a digest of the whole dataset (SYNOD DIGEST): equal on two replicas iff (but for
 * hash collisions) they hold the same keys, types, values, expiry times, stream and group
 * state, function library, coordination state and ACL users, whatever the layout of their tables.
 * Like Redis's DEBUG DIGEST it is order-independent where the data is unordered: keys are combined
 * by addition, set members and hash fields too; lists, sorted sets and streams are ordered and
 * hashed in order. Two independent 64-bit lanes (SipHash-2-4 chained over the bytes) make a
 * 128-bit digest; an empty dataset digests to zeros, as in Redis. */
#include "data/data_internal.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"

#define LANES 2
static const uint64_t lane_key[LANES] = {0x736f6d6570736575ull, 0x646f72616e646f6dull};

typedef struct {
    uint64_t h[LANES];   /* ordered: chained */
    uint64_t acc[LANES]; /* unordered: summed */
} dg;

static void put(dg *d, const void *p, size_t n)
{
    for (int i = 0; i < LANES; i++)
        d->h[i] = dict_siphash(d->h[i], lane_key[i], p, n, 2, 4);
}

static void put_u64(dg *d, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(d, b, 8);
}

static void put_str(dg *d, const char *p, size_t n)
{
    put_u64(d, n);
    put(d, p, n);
}

static void put_cb(void *ctx, const void *p, size_t n)
{
    put(ctx, p, n);
}

static void list_cb(void *ctx, const char *p, size_t n)
{
    put_str(ctx, p, n);
}

static void zset_cb(void *ctx, const char *m, size_t ml, double score)
{
    uint64_t bits;
    memcpy(&bits, &score, 8);
    put_str(ctx, m, ml);
    put_u64(ctx, bits);
}

/* an unordered element: hashed alone, added */
static void add_elem(dg *d, const char *a, size_t al, const char *b, size_t bl)
{
    dg one = {{0}, {0}};
    put_str(&one, a, al);
    if (b) put_str(&one, b, bl);
    for (int i = 0; i < LANES; i++)
        d->acc[i] += one.h[i];
}

static void set_cb(void *ctx, const char *m, size_t ml)
{
    add_elem(ctx, m, ml, NULL, 0);
}

static void hash_cb(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    add_elem(ctx, f, fl, v, vl);
}

typedef struct {
    dg total;
    uint64_t db;
} dg_walk;

/* One key's digest lanes into d (db 0: no database tag, database 0's digest as before). */
static void key_digest(dg *d, uint64_t db, dentry *e)
{
    if (db) put_u64(d, 0xdb00000000000000ull | db);
    put_u64(d, e->type);
    put_u64(d, (uint64_t)dentry_expire(e));
    put_str(d, dentry_key(e), e->klen);
    switch (e->type) {
    case DT_STRING: put_str(d, dentry_val(e), e->vlen); break;
    case DT_LIST: list_each(e, list_cb, d); break;
    case DT_ZSET: zset_each(e, zset_cb, d); break;
    case DT_STREAM: stream_save(e, put_cb, d); break;
    case DT_SET: set_each(e, set_cb, d); break;
    default: hash_each(e, hash_cb, d); break;
    }
    for (int i = 0; i < LANES; i++)
        put_u64(d, d->acc[i]); /* the unordered part, folded in */
}

static void key_cb(void *ctx, dentry *e)
{
    dg_walk *w = ctx;
    dg d = {{0}, {0}};
    key_digest(&d, w->db, e);
    for (int i = 0; i < LANES; i++)
        w->total.acc[i] += d.h[i];
}

static void hex_lanes(const uint64_t v[LANES], char out[2 * 8 * LANES + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < LANES; i++)
        for (int j = 0; j < 16; j++)
            out[16 * i + j] = hex[(v[i] >> (60 - 4 * j)) & 15];
    out[16 * LANES] = '\0';
}

void digest_key_hex(dentry *e, char out[DIGEST_KEY_HEX + 1])
{
    dg d = {{0}, {0}};
    key_digest(&d, 0, e);
    hex_lanes(d.h, out);
}

void data_digest(const data_store *ds, char out[2 * 8 * LANES + 1])
{
    dg_walk w = {{{0}, {0}}, 0};
    for (int i = 0; i < ds->ndb; i++) {
        w.db = (uint64_t)i;
        dict_each(ks_db_keys(ds, i), key_cb, &w);
    }
    dg total = w.total;
    if (ds->aux_len || !coord_is_empty(ds) || !acl_is_default(ds->acl) || ds->settings_n) {
        dg extra = {{0}, {0}};
        put_str(&extra, ds->aux ? ds->aux : "", ds->aux_len);
        if (!coord_is_empty(ds)) coord_save(ds, put_cb, &extra);
        if (!acl_is_default(ds->acl)) acl_save(ds->acl, put_cb, &extra);
        if (ds->settings_n) settings_save(ds, put_cb, &extra);
        for (int i = 0; i < LANES; i++)
            total.acc[i] += extra.h[i];
    }
    hex_lanes(total.acc, out);
}
