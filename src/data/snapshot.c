/* snapshot.c — versioned, checksummed binary snapshot of the dataset.
 *
 * Layout (integers little-endian):
 *   "SYNODDS\0" | u32 version (10; 1 to 9 are still read) | u32 reserved (0)
 *   aux:      (v5+, at most once, first, only when non-empty) u8 6 | u32 len | bytes: the
 *             data_set_aux state (the function library)
 *   coord:    (v7+, at most once, before the key records, only when non-empty) u8 8 | the
 *             leases, locks and elections (coord.c, "snapshot codec")
 *   acl:      (v8+, at most once, before the key records, only when the users differ from a
 *             fresh table's) u8 9 | the ACL users (acl.c, "snapshot codec")
 *   records:  u8 kind (1 string, 2 hash, 3 list: v2+, 4 set: v3+, 5 zset: v4+, 7 stream: v6+) |
 * u8 flags (bit 0:
 * has expiry) | [i64 expire_ms] | u32 klen | key | string: u32 vlen | value | hash:   u32 nfields
 * (>= 1) | nfields x (u32 len | field | u32 len | value) | list:   u64 nelements (>= 1) | nelements
 * x (u32 len | element), head to tail | set:    u32 nmembers (>= 1) | nmembers x (u32 len | member)
 *             | zset:   u32 nelements (>= 1) | nelements x (u32 len | member | u64 score, the
 *                       IEEE-754 bits; never NaN), ascending
 *             | stream: entries in their chunks, consumer groups, pending entries, consumers
 *                       (stream.c, "snapshot codec": the body is parsed there)
 *   settings: (v10+, at most once, before the key records, only when non-empty) u8 11 | the
 *             cluster's settings (settings.c, "snapshot codec")
 *   select:   (v9+) u8 10 | u32 db: the key records after it are database db's (ascending,
 *             1..databases-1; the records before the first select are database 0's)
 *   end:      u8 0xff | u64 record count | u32 CRC-32C of every byte before it
 * The whole file is checked against the CRC before any record is parsed, and every record is
 * still parsed with bounds checks (a valid CRC does not make the input trusted). */
#include <stdlib.h>

#include "data/data_internal.h"
#include "data/quicklist.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"
#include "util/crc32c.h"

#define SNAP_MAGIC "SYNODDS"
#define SNAP_VERSION                                                                               \
    10 /* 2: lists, 3: sets, 4: sorted sets, 5: aux (functions), 6: streams,                       \
        * 7: coordination state, 8: ACL users, 9: databases, 10: cluster settings */
#define SNAP_HDR        16
#define SNAP_TRAILER    13 /* 0xff + u64 count + u32 crc */
#define SNAP_CHUNK      (64 * 1024)
#define SNAP_K_STRING   1
#define SNAP_K_HASH     2
#define SNAP_K_LIST     3
#define SNAP_K_SET      4
#define SNAP_K_ZSET     5
#define SNAP_K_AUX      6
#define SNAP_K_STREAM   7
#define SNAP_K_COORD    8
#define SNAP_K_ACL      9
#define SNAP_K_SELECT   10
#define SNAP_K_SETTINGS 11
#define SNAP_K_END      0xff
#define SNAP_F_EXPIRE   1

typedef struct {
    unsigned char *buf;
    size_t len;
    uint32_t crc;
    data_write_cb wr;
    void *ctx;
    int err;
} snap_out;

static void out_flush(snap_out *o)
{
    if (o->err || o->len == 0) return;
    o->crc = crc32c(o->crc, o->buf, o->len);
    int rc = o->wr(o->ctx, o->buf, o->len);
    if (rc < 0) o->err = rc;
    o->len = 0;
}

static void out_bytes(snap_out *o, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n && !o->err) {
        size_t k = SNAP_CHUNK - o->len;
        if (k > n) k = n;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
        if (o->len == SNAP_CHUNK) out_flush(o);
    }
}

static void out_u(snap_out *o, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    out_bytes(o, b, (size_t)bytes);
}

static void out_str(snap_out *o, const char *p, size_t n)
{
    out_u(o, n, 4);
    out_bytes(o, p, n);
}

static void out_put(void *ctx, const void *p, size_t n)
{
    out_bytes(ctx, p, n);
}

static void save_field(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    out_str(ctx, f, fl);
    out_str(ctx, v, vl);
}

/* ---- lists ---- */
static void save_element(void *ctx, const char *p, size_t n)
{
    out_str(ctx, p, n);
}

/* ---- sets ---- */
static void save_member(void *ctx, const char *m, size_t ml)
{
    out_str(ctx, m, ml);
}

/* ---- sorted sets ---- */
static void save_zelement(void *ctx, const char *m, size_t ml, double score)
{
    uint64_t bits;
    memcpy(&bits, &score, 8);
    out_str(ctx, m, ml);
    out_u(ctx, bits, 8);
}

/* ---- streams ---- */
static void save_stream_bytes(void *ctx, const void *p, size_t n)
{
    out_bytes(ctx, p, n);
}

static void save_entry(void *ctx, dentry *e)
{
    snap_out *o = ctx;
    int ex = (e->flags & DE_EXPIRE) != 0;
    out_u(o,
          e->type == DT_STRING   ? SNAP_K_STRING
          : e->type == DT_LIST   ? SNAP_K_LIST
          : e->type == DT_SET    ? SNAP_K_SET
          : e->type == DT_ZSET   ? SNAP_K_ZSET
          : e->type == DT_STREAM ? SNAP_K_STREAM
                                 : SNAP_K_HASH,
          1);
    out_u(o, ex ? SNAP_F_EXPIRE : 0, 1);
    if (ex) out_u(o, (uint64_t)dentry_expire(e), 8);
    out_str(o, dentry_key(e), e->klen);
    if (e->type == DT_STRING) {
        out_str(o, dentry_val(e), e->vlen);
    } else if (e->type == DT_LIST) {
        out_u(o, list_len(e), 8);
        list_each(e, save_element, o);
    } else if (e->type == DT_SET) {
        out_u(o, set_len(e), 4);
        set_each(e, save_member, o);
    } else if (e->type == DT_ZSET) {
        out_u(o, zset_len(e), 4);
        zset_each(e, save_zelement, o);
    } else if (e->type == DT_STREAM) {
        stream_save(e, save_stream_bytes, o);
    } else {
        out_u(o, hash_len(e), 4);
        hash_each(e, save_field, o);
    }
}

int data_snapshot_save(const data_store *ds, data_write_cb wr, void *ctx)
{
    snap_out o = {.buf = malloc(SNAP_CHUNK), .wr = wr, .ctx = ctx};
    SYN_ASSERT(o.buf != NULL);
    out_bytes(&o, SNAP_MAGIC, 8);
    out_u(&o, SNAP_VERSION, 4);
    out_u(&o, 0, 4);
    if (ds->aux_len) {
        out_u(&o, SNAP_K_AUX, 1);
        out_str(&o, ds->aux, ds->aux_len);
    }
    if (!coord_is_empty(ds)) {
        out_u(&o, SNAP_K_COORD, 1);
        coord_save(ds, out_put, &o);
    }
    if (!acl_is_default(ds->acl)) {
        out_u(&o, SNAP_K_ACL, 1);
        acl_save(ds->acl, out_put, &o);
    }
    if (ds->settings_n) {
        out_u(&o, SNAP_K_SETTINGS, 1);
        settings_save(ds, out_put, &o);
    }
    uint64_t records = 0;
    for (int db = 0; db < ds->ndb; db++) {
        const dict *keys = ks_db_keys(ds, db);
        if (!dict_size(keys)) continue;
        if (db) {
            out_u(&o, SNAP_K_SELECT, 1);
            out_u(&o, (uint64_t)db, 4);
        }
        dict_each(keys, save_entry, &o);
        records += dict_size(keys);
    }
    out_u(&o, SNAP_K_END, 1);
    out_u(&o, records, 8);
    out_flush(&o); /* the CRC covers everything written so far */
    out_u(&o, o.crc, 4);
    out_flush(&o);
    free(o.buf);
    return o.err;
}

/* ---- load ---- */

typedef struct {
    const unsigned char *p;
    size_t left;
} snap_in;

static int in_u(snap_in *in, int bytes, uint64_t *v)
{
    if (in->left < (size_t)bytes) return -1;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)in->p[i] << (8 * i);
    in->p += bytes;
    in->left -= (size_t)bytes;
    return 0;
}

static int in_str(snap_in *in, const char **s, size_t *n)
{
    uint64_t len;
    if (in_u(in, 4, &len) < 0 || len > DATA_STRING_MAX_BYTES || len > in->left) return -1;
    *s = (const char *)in->p;
    *n = (size_t)len;
    in->p += len;
    in->left -= (size_t)len;
    return 0;
}

static dentry *load_list(snap_in *in, size_t *mem, const char *k, size_t kl, int64_t ex)
{
    uint64_t n;
    if (in_u(in, 8, &n) < 0 || n == 0 || n > in->left / 4) return NULL;
    dentry *e = list_new_entry(mem, QL_FILL_DEFAULT, k, kl, ex);
    for (uint64_t i = 0; i < n; i++) {
        const char *v;
        size_t vl;
        if (in_str(in, &v, &vl) < 0) {
            dentry_free(mem, e);
            return NULL;
        }
        list_push_tail(e, v, vl);
    }
    return e;
}

/* A set record's members into a new set entry; NULL if malformed (or a member repeats). */
static dentry *load_set(snap_in *in, data_store *ds, const char *k, size_t kl, int64_t ex)
{
    uint64_t n;
    const char *m;
    size_t ml;
    if (in_u(in, 4, &n) < 0 || n == 0 || n > in->left / 4) return NULL;
    dentry *e = set_new_entry(&ds->mem, k, kl, ex);
    for (uint64_t i = 0; i < n; i++) {
        if (in_str(in, &m, &ml) < 0 || !set_add(ds, e, m, ml)) {
            dentry_free(&ds->mem, e);
            return NULL;
        }
    }
    return e;
}

/* A zset record into a new zset entry; NULL if malformed (a NaN score, a repeated member). */
static dentry *load_zset(snap_in *in, data_store *ds, const char *k, size_t kl, int64_t ex)
{
    uint64_t n, bits;
    const char *m;
    size_t ml;
    double score;
    if (in_u(in, 4, &n) < 0 || n == 0 || n > in->left / 12) return NULL;
    dentry *e = zset_new_loading(ds, k, kl, ex);
    for (uint64_t i = 0; i < n; i++) {
        if (in_str(in, &m, &ml) < 0 || in_u(in, 8, &bits) < 0) goto bad;
        memcpy(&score, &bits, 8);
        if (score != score || !zset_put(ds, e, m, ml, score)) goto bad;
    }
    zset_loaded(ds, e, 1); /* the same scores, -0 included */
    return e;
bad:
    dentry_free(&ds->mem, e);
    return NULL;
}

/* Parses one record into a new entry; NULL if malformed. */
static dentry *load_record(snap_in *in, unsigned kind, data_store *ds)
{
    size_t *mem = &ds->mem;
    const uint64_t *seed = ds->hash_seed;
    uint64_t flags, ex = (uint64_t)-1, n;
    const char *k, *v, *f;
    size_t kl, vl, fl;
    if (in_u(in, 1, &flags) < 0 || (flags & ~(uint64_t)SNAP_F_EXPIRE)) return NULL;
    if ((flags & SNAP_F_EXPIRE) && (in_u(in, 8, &ex) < 0 || (int64_t)ex < 0)) return NULL;
    if (in_str(in, &k, &kl) < 0) return NULL;
    if (kind == SNAP_K_STRING) {
        if (in_str(in, &v, &vl) < 0) return NULL;
        return dentry_new(mem, DT_STRING, k, kl, v, vl, vl, (int64_t)ex);
    }
    if (kind == SNAP_K_LIST) return load_list(in, mem, k, kl, (int64_t)ex);
    if (kind == SNAP_K_SET) return load_set(in, ds, k, kl, (int64_t)ex);
    if (kind == SNAP_K_ZSET) return load_zset(in, ds, k, kl, (int64_t)ex);
    if (kind == SNAP_K_STREAM) return stream_load(mem, k, kl, (int64_t)ex, &in->p, &in->left);
    if (in_u(in, 4, &n) < 0 || n == 0 || n > in->left / 8) return NULL;
    dentry *e = hash_new_entry(mem, k, kl, (int64_t)ex);
    for (uint64_t i = 0; i < n; i++) {
        if (in_str(in, &f, &fl) < 0 || in_str(in, &v, &vl) < 0 ||
            !hash_set_limited(mem, seed, ds->hash_max_fields, ds->hash_max_value, e, f, fl, v,
                              vl)) { /* a repeated field is malformed too */
            dentry_free(mem, e);
            return NULL;
        }
    }
    return e;
}

static void repoint_cb(void *ctx, dentry *e)
{
    if (e->type == DT_HASH) hash_set_mem(e, ctx);
    if (e->type == DT_LIST) list_set_mem(e, ctx);
    if (e->type == DT_SET) set_set_mem(e, ctx);
    if (e->type == DT_ZSET) zset_set_mem(e, ctx);
    if (e->type == DT_STREAM) stream_set_mem(e, ctx);
}

int data_snapshot_load(data_store *ds, const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (len < SNAP_HDR + SNAP_TRAILER || memcmp(b, SNAP_MAGIC, 8) != 0)
        return DATA_SNAPSHOT_ECORRUPT;
    snap_in hdr = {b + 8, 8};
    uint64_t version, reserved, want_crc, count, kind;
    (void)in_u(&hdr, 4, &version);
    (void)in_u(&hdr, 4, &reserved);
    snap_in tail = {b + len - 4, 4};
    (void)in_u(&tail, 4, &want_crc);
    if (crc32c(0, b, len - 4) != (uint32_t)want_crc) return DATA_SNAPSHOT_ECORRUPT;
    if (version < 1 || version > SNAP_VERSION) return DATA_SNAPSHOT_EVERSION;
    if (reserved != 0) return DATA_SNAPSHOT_ECORRUPT;

    data_store *tmp = data_create();
    SYN_ASSERT(tmp != NULL);
    SYN_ASSERT(data_set_databases(tmp, ds->ndb) == 0);
    int64_t db = 0;
    /* the same seed: its tables move into ds as they are */
    (void)data_set_hash_seed(tmp, ds->hash_seed[0], ds->hash_seed[1]);
    tmp->hash_max_fields = ds->hash_max_fields;
    tmp->hash_max_value = ds->hash_max_value;
    tmp->set_max_intset_entries = ds->set_max_intset_entries;
    tmp->zset_max_entries = ds->zset_max_entries;
    tmp->zset_max_value = ds->zset_max_value;
    data_call c = {.ds = tmp, .now_ms = INT64_MIN};
    snap_in in = {b + SNAP_HDR, len - SNAP_HDR - 4};
    uint64_t records = 0;
    int rc = DATA_SNAPSHOT_ECORRUPT;
    const char *aux = NULL;
    size_t aux_len = 0;
    coord_state *coord = NULL;
    acl_table *acl = NULL;
    struct data_setting *settings = NULL;
    size_t settings_n = 0;
    for (;;) {
        if (in_u(&in, 1, &kind) < 0) goto fail;
        if (kind == SNAP_K_END) break;
        if (kind == SNAP_K_AUX && version >= 5 && records == 0 && !aux) {
            if (in_str(&in, &aux, &aux_len) < 0 || aux_len == 0) goto fail;
            continue;
        }
        if (kind == SNAP_K_COORD && version >= 7 && records == 0 && !coord) {
            if (!(coord = coord_load(&in.p, &in.left))) goto fail;
            continue;
        }
        if (kind == SNAP_K_ACL && version >= 8 && records == 0 && !acl) {
            if (!(acl = acl_load(acl_get_catalog(ds->acl), &in.p, &in.left))) goto fail;
            continue;
        }
        if (kind == SNAP_K_SETTINGS && version >= 10 && records == 0 && !settings) {
            if (settings_load(&settings, &settings_n, &in.p, &in.left) < 0) goto fail;
            continue;
        }
        if (kind == SNAP_K_SELECT && version >= 9) {
            uint64_t want;
            /* a database this node does not have is refused (databases must agree) */
            if (in_u(&in, 4, &want) < 0 || (int64_t)want <= db ||
                data_select(tmp, (long long)want) < 0)
                goto fail;
            db = (int64_t)want;
            continue;
        }
        if (kind != SNAP_K_STRING && kind != SNAP_K_HASH && (kind != SNAP_K_LIST || version < 2) &&
            (kind != SNAP_K_SET || version < 3) && (kind != SNAP_K_ZSET || version < 4) &&
            (kind != SNAP_K_STREAM || version < 6))
            goto fail;
        dentry *e = load_record(&in, (unsigned)kind, tmp);
        if (!e) goto fail;
        dpos pos;
        if (dict_find(&tmp->keys, dentry_key(e), e->klen, &pos)) {
            dentry_free(&tmp->mem, e);
            goto fail;
        }
        ks_insert(&c, e);
        records++;
    }
    if (in_u(&in, 8, &count) < 0 || count != records || in.left != 0) goto fail;

    /* success: swap the new dataset in */
    if (data_set_aux(ds, aux, aux_len) < 0) goto fail;
    ds->aux_gen++;
    coord_destroy(ds->coord);
    ds->coord = coord ? coord : coord_create();
    acl_table *old_acl = ds->acl;
    ds->acl = acl ? acl : acl_create(acl_get_catalog(old_acl));
    SYN_ASSERT(ds->acl != NULL);
    acl_destroy(old_acl);
    acl = NULL;
    settings_free(ds->settings, ds->settings_n);
    ds->settings = settings;
    ds->settings_n = settings_n;
    settings = NULL;
    ks_flush_all(ds, 0);
    int prev = ds->cur;
    for (int i = 0; i < ds->ndb; i++) {
        data_select(ds, i);
        data_select(tmp, i);
        ds->keys = tmp->keys;
        ds->keys.mem = &ds->mem;
        ds->expires = tmp->expires;
        ds->expire_cursor = 0;
        dict_each(&ds->keys, repoint_cb, &ds->mem);
        dict_init(&tmp->keys, &tmp->mem, tmp->hash_seed); /* moved: tmp no longer owns it */
    }
    data_select(ds, prev);
    ds->mem += tmp->mem; /* what is left in ds->mem is flushed-async garbage */
    coord_destroy(tmp->coord);
    acl_destroy(tmp->acl);
    free(tmp->dbs);
    free(tmp);
    if (ds->acl_cb) ds->acl_cb(ds->acl_ctx, NULL, 0, 0); /* users may have changed in any way */
    if (ds->settings_cb) (void)ds->settings_cb(ds->settings_ctx, NULL, 0, NULL, 0, 1, NULL, 0);
    return 0;
fail:
    coord_destroy(coord);
    acl_destroy(acl);
    settings_free(settings, settings_n);
    data_destroy(tmp);
    return rc;
}
