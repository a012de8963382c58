/* dump.c — DUMP and RESTORE, and the writing half of the payload codec (dump_internal.h).
 *
 * DUMP writes what redis-server 7.0 writes with `rdbcompression no`: a value's bytes are never
 * LZF-compressed (RESTORE reads compressed ones). Small values are written in the compact forms
 * Redis keeps them in, built entry by entry as Redis builds them, so a DUMP of the same value in
 * the same encoding is the same bytes on both servers:
 *   string          RDB string: an integer of at most 11 characters that fits 32 bits as an
 *                   RDB int (Redis's rdbTryIntegerEncoding), else length + bytes
 *   hash (packed)   RDB_TYPE_HASH_LISTPACK: field, value, ... in insertion order
 *   hash (table)    RDB_TYPE_HASH: count, field, value, ...
 *   set (intset)    RDB_TYPE_SET_INTSET: Redis's intset blob (u32 width, u32 count, values LE)
 *   set (table)     RDB_TYPE_SET: count, members
 *   zset (packed)   RDB_TYPE_ZSET_LISTPACK: member, score, ... ascending; a score that is an
 *                   integer is a listpack integer, else "%.17g" / "inf" / "-inf" (d2string)
 *   zset (skiplist) RDB_TYPE_ZSET_2: count, then member + binary double, greatest first
 *   list            RDB_TYPE_LIST_QUICKLIST_2: one packed listpack node per quicklist node
 *   stream          RDB_TYPE_STREAM_LISTPACKS_2 (stream_dump.c)
 * Table encodings iterate in table order, so their bytes differ from Redis's (the value does
 * not). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dump_internal.h"
#include "data/quicklist.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"
#include "util/crc64.h"

void dump_buf_put(dump_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        SYN_ASSERT(b->p != NULL);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

void dump_buf_free(dump_buf *b)
{
    free(b->p);
    *b = (dump_buf){0};
}

void dump_put_byte(dump_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    dump_buf_put(b, &c, 1);
}

void dump_put_le(dump_buf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        dump_put_byte(b, (unsigned)(v >> (8 * i)) & 0xff);
}

void dump_put_be(dump_buf *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        dump_put_byte(b, (unsigned)(v >> (8 * i)) & 0xff);
}

/* RDB length: 6 bits, 14 bits (big-endian), 0x80 + u32 BE, or 0x81 + u64 BE. */
void dump_put_len(dump_buf *b, uint64_t n)
{
    if (n < 64) {
        dump_put_byte(b, (unsigned)n);
    } else if (n < 16384) {
        dump_put_byte(b, 0x40 | (unsigned)(n >> 8));
        dump_put_byte(b, (unsigned)n & 0xff);
    } else if (n <= UINT32_MAX) {
        dump_put_byte(b, 0x80);
        dump_put_be(b, n, 4);
    } else {
        dump_put_byte(b, 0x81);
        dump_put_be(b, n, 8);
    }
}

/* RDB string as rdbSaveRawString writes it without compression. */
void dump_put_string(dump_buf *b, const char *s, size_t n)
{
    long long v;
    if (n <= 11 && syn_string2ll(s, n, &v)) { /* canonical decimal: it reads back the same */
        if (v >= INT8_MIN && v <= INT8_MAX) {
            dump_put_byte(b, 0xc0);
            dump_put_le(b, (uint64_t)v, 1);
            return;
        }
        if (v >= INT16_MIN && v <= INT16_MAX) {
            dump_put_byte(b, 0xc1);
            dump_put_le(b, (uint64_t)v, 2);
            return;
        }
        if (v >= INT32_MIN && v <= INT32_MAX) {
            dump_put_byte(b, 0xc2);
            dump_put_le(b, (uint64_t)v, 4);
            return;
        }
    }
    dump_put_len(b, n);
    dump_buf_put(b, s, n);
}

/* ---- listpacks, written as Redis's lpAppend writes them ---- */

void dump_lp_begin(dump_lpw *w, dump_buf *b)
{
    *w = (dump_lpw){b, b->len, 0};
    static const unsigned char hdr[6] = {0};
    dump_buf_put(b, hdr, 6);
}

/* The back-length: the entry's size (encoding + data), 7 bits per byte, most significant first,
 * every byte but the first with bit 7 set, so it reads backwards from the entry's end. */
static void lp_backlen(dump_buf *b, uint64_t l)
{
    int n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    for (int i = n - 1; i >= 0; i--)
        dump_put_byte(b, (unsigned)((l >> (7 * i)) & 127) | (i == n - 1 ? 0 : 128));
}

void dump_lp_int(dump_lpw *w, int64_t v)
{
    dump_buf *b = w->b;
    size_t at = b->len;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        dump_put_byte(b, (unsigned)v);
    } else if (v >= -4096 && v <= 4095) {
        u &= 0x1fff;
        dump_put_byte(b, 0xc0 | (unsigned)(u >> 8));
        dump_put_byte(b, (unsigned)u & 0xff);
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        dump_put_byte(b, 0xf1);
        dump_put_le(b, u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
        dump_put_byte(b, 0xf2);
        dump_put_le(b, u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        dump_put_byte(b, 0xf3);
        dump_put_le(b, u, 4);
    } else {
        dump_put_byte(b, 0xf4);
        dump_put_le(b, u, 8);
    }
    lp_backlen(b, b->len - at);
    w->count++;
}

void dump_lp_str(dump_lpw *w, const char *s, size_t n)
{
    long long v;
    if (syn_string2ll(s, n, &v)) { /* Redis's lpStringToInt64 has the same rules */
        dump_lp_int(w, v);
        return;
    }
    dump_buf *b = w->b;
    size_t at = b->len;
    if (n < 64) {
        dump_put_byte(b, 0x80 | (unsigned)n);
    } else if (n < 4096) {
        dump_put_byte(b, 0xe0 | (unsigned)(n >> 8));
        dump_put_byte(b, (unsigned)n & 0xff);
    } else {
        dump_put_byte(b, 0xf0);
        dump_put_le(b, n, 4);
    }
    dump_buf_put(b, s, n);
    lp_backlen(b, b->len - at);
    w->count++;
}

/* Closes the listpack and moves it into the output as one RDB string. */
void dump_lp_end(dump_lpw *w)
{
    dump_buf *b = w->b;
    dump_put_byte(b, 0xff);
    size_t total = b->len - w->start;
    SYN_ASSERT(total <= UINT32_MAX);
    unsigned char *h = b->p + w->start;
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(total >> (8 * i));
    uint64_t c = w->count < 65535 ? w->count : 65535; /* 65535: "count it" */
    h[4] = (unsigned char)(c & 0xff);
    h[5] = (unsigned char)(c >> 8);
    /* the blob sits at the end of b: copy it out, then write it back as a string */
    unsigned char *blob = malloc(total);
    SYN_ASSERT(blob != NULL);
    memcpy(blob, h, total);
    b->len = w->start;
    dump_put_string(b, (const char *)blob, total);
    free(blob);
}

/* A score as zzlInsertAt writes it: an integer (double2ll) as a listpack integer, anything else
 * as d2string formats it. */
static void lp_score(dump_lpw *w, double d)
{
    if (d >= (double)(-LLONG_MAX / 2) && d <= (double)(LLONG_MAX / 2)) {
        long long ll = (long long)d;
        if ((double)ll == d) {
            dump_lp_int(w, ll);
            return;
        }
    }
    char buf[64];
    int n = isinf(d) ? snprintf(buf, sizeof buf, "%s", d < 0 ? "-inf" : "inf")
                     : snprintf(buf, sizeof buf, "%.17g", d);
    dump_lp_str(w, buf, (size_t)n);
}

/* ---- values ---- */

static void hash_lp_cb(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    dump_lp_str(ctx, f, fl);
    dump_lp_str(ctx, v, vl);
}

static void hash_rdb_cb(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    dump_put_string(ctx, f, fl);
    dump_put_string(ctx, v, vl);
}

static void member_cb(void *ctx, const char *m, size_t ml)
{
    dump_put_string(ctx, m, ml);
}

static void zset_lp_cb(void *ctx, const char *m, size_t ml, double score)
{
    dump_lp_str(ctx, m, ml);
    lp_score(ctx, score);
}

typedef struct {
    const char *m;
    size_t ml;
    double score;
} zel;

typedef struct {
    zel *v;
    size_t n;
} zel_list;

static void zset_collect_cb(void *ctx, const char *m, size_t ml, double score)
{
    zel_list *l = ctx;
    l->v[l->n++] = (zel){m, ml, score};
}

static void put_zset(dump_buf *b, dentry *e)
{
    uint64_t n = zset_len(e);
    if (strcmp(zset_encoding(e), "listpack") == 0) {
        dump_put_byte(b, RDB_T_ZSET_LISTPACK);
        dump_lpw w;
        dump_lp_begin(&w, b);
        zset_each(e, zset_lp_cb, &w);
        dump_lp_end(&w);
        return;
    }
    /* greatest first, as Redis walks its skiplist from the tail */
    zel_list l = {malloc(n * sizeof(zel)), 0};
    SYN_ASSERT(l.v != NULL);
    zset_each(e, zset_collect_cb, &l);
    dump_put_byte(b, RDB_T_ZSET_2);
    dump_put_len(b, n);
    for (size_t i = n; i-- > 0;) {
        uint64_t bits;
        memcpy(&bits, &l.v[i].score, 8);
        dump_put_string(b, l.v[i].m, l.v[i].ml);
        dump_put_le(b, bits, 8);
    }
    free(l.v);
}

static void put_list(dump_buf *b, dentry *e)
{
    const qlist *q = dentry_ptr(e);
    dump_put_byte(b, RDB_T_LIST_QUICKLIST_2);
    uint64_t want = ql_nodes(q);
    dump_put_len(b, want);
    ql_iter it;
    int more = ql_at(q, 0, &it);
    uint64_t nodes = 0;
    while (more) {
        const ql_node *node = it.node;
        dump_put_len(b, 2); /* QUICKLIST_NODE_CONTAINER_PACKED */
        dump_lpw w;
        dump_lp_begin(&w, b);
        do {
            const char *p;
            size_t n;
            ql_get(&it, &p, &n);
            dump_lp_str(&w, p, n);
            more = ql_next(&it);
        } while (more && it.node == node);
        dump_lp_end(&w);
        nodes++;
    }
    SYN_ASSERT(nodes == want);
}

static void put_intset(dump_buf *b, dentry *e)
{
    const intset *is = dentry_ptr(e);
    uint32_t w = intset_width(is), n = intset_len(is);
    dump_buf blob = {0};
    dump_put_le(&blob, w, 4);
    dump_put_le(&blob, n, 4);
    for (uint32_t i = 0; i < n; i++)
        dump_put_le(&blob, (uint64_t)intset_get(is, i), (int)w);
    dump_put_byte(b, RDB_T_SET_INTSET);
    dump_put_string(b, (const char *)blob.p, blob.len);
    dump_buf_free(&blob);
}

void dump_encode(dentry *e, dump_buf *b)
{
    size_t start = b->len;
    switch (e->type) {
    case DT_STRING:
        dump_put_byte(b, RDB_T_STRING);
        dump_put_string(b, dentry_val(e), e->vlen);
        break;
    case DT_HASH:
        if (e->flags & DE_HASH_TABLE) {
            dump_put_byte(b, RDB_T_HASH);
            dump_put_len(b, hash_len(e));
            hash_each(e, hash_rdb_cb, b);
        } else {
            dump_put_byte(b, RDB_T_HASH_LISTPACK);
            dump_lpw w;
            dump_lp_begin(&w, b);
            hash_each(e, hash_lp_cb, &w);
            dump_lp_end(&w);
        }
        break;
    case DT_SET:
        if (e->flags & DE_HASH_TABLE) {
            dump_put_byte(b, RDB_T_SET);
            dump_put_len(b, set_len(e));
            set_each(e, member_cb, b);
        } else {
            put_intset(b, e);
        }
        break;
    case DT_ZSET: put_zset(b, e); break;
    case DT_LIST: put_list(b, e); break;
    case DT_STREAM: stream_dump_encode(e, b); break;
    default: SYN_ASSERT(0 && "unknown value type");
    }
    dump_put_le(b, DUMP_RDB_VERSION, 2);
    dump_put_le(b, crc64_jones(0, b->p + start, b->len - start), 8);
}

int dump_verify(const unsigned char *p, size_t len)
{
    if (len < DUMP_FOOTER) return -1;
    const unsigned char *f = p + len - DUMP_FOOTER;
    unsigned version = (unsigned)f[0] | (unsigned)f[1] << 8;
    if (version > DUMP_RDB_VERSION) return -1;
    uint64_t want = 0;
    for (int i = 0; i < 8; i++)
        want |= (uint64_t)f[2 + i] << (8 * i);
    return crc64_jones(0, p, len - 8) == want ? 0 : -1;
}

/* ---- commands ---- */

void cmd_dump(data_call *c)
{
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_null(c);
        return;
    }
    dump_buf b = {0};
    dump_encode(e, &b);
    reply_bulk(c, (const char *)b.p, b.len);
    dump_buf_free(&b);
}

/* ---- MIGRATE's source side (data.h) ---- */

int data_migrate_read(data_store *ds, const char *key, size_t len, int64_t now_ms, char **payload,
                      size_t *payload_len, int64_t *expire_ms,
                      char digest[DATA_MIGRATE_DIGEST_LEN + 1])
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos) || ks_is_expired(*pos.slot, now_ms)) return 0;
    dentry *e = *pos.slot;
    dump_buf b = {0};
    dump_encode(e, &b);
    *payload = (char *)b.p; /* dump_buf's bytes are malloc'd: the caller frees them */
    *payload_len = b.len;
    *expire_ms = dentry_expire(e);
    digest_key_hex(e, digest);
    return 1;
}

/* MIGRATE_DEL key digest [key digest ...]: deletes each key whose digest is the one given. */
void cmd_migrate_del(data_call *c)
{
    if (c->argc % 2 != 1) {
        reply_arity(c);
        return;
    }
    long long n = 0;
    for (int i = 1; i + 1 < c->argc; i += 2) {
        const data_arg *d = &c->argv[i + 1];
        dpos pos;
        if (!ks_write(c, &c->argv[i], &pos)) continue;
        char now[DIGEST_KEY_HEX + 1];
        digest_key_hex(*pos.slot, now);
#ifdef SYNOD_BUG_MIGRATE_UNCONDITIONAL /* planted bug (scripts/build_migrate_bug.sh) */
        if (0) {
#else
        if (d->len != DIGEST_KEY_HEX || memcmp(d->ptr, now, DIGEST_KEY_HEX) != 0) {
#endif
            ks_forget_wkey(c, &c->argv[i]); /* changed since the DUMP: it stays */
            continue;
        }
        ks_delete(c, pos);
        n++;
    }
    reply_int(c, n);
}

typedef struct {
    int replace, absttl;
} restore_opts;

/* RESTORE's options after the payload, in Redis's order of checks. 0, or -1 replied. */
static int restore_opts_or_reply(data_call *c, restore_opts *o)
{
    long long idle = -1, freq = -1;
    *o = (restore_opts){0, 0};
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_eq(&c->argv[j], "replace")) {
            o->replace = 1;
        } else if (arg_eq(&c->argv[j], "absttl")) {
            o->absttl = 1;
        } else if (arg_eq(&c->argv[j], "idletime") && more >= 1 && freq == -1) {
            if (arg_ll_or_reply(c, &c->argv[++j], &idle) < 0) return -1;
            if (idle < 0) {
                reply_err(c, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
        } else if (arg_eq(&c->argv[j], "freq") && more >= 1 && idle == -1) {
            if (arg_ll_or_reply(c, &c->argv[++j], &freq) < 0) return -1;
            if (freq < 0 || freq > 255) {
                reply_err(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
        } else {
            reply_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]. IDLETIME and FREQ are
 * checked and otherwise ignored: synod keeps no access clock or counter per key. The expiry is
 * ttl + the entry's now_ms (the leader has already made it absolute: restore_rewrite). */
void cmd_restore(data_call *c)
{
    const data_arg *key = &c->argv[1];
    restore_opts o;
    if (restore_opts_or_reply(c, &o) < 0) return;
    dpos pos;
    if (!o.replace && ks_write(c, key, &pos)) {
        reply_err(c, "BUSYKEY Target key name already exists.");
        return;
    }
    long long ttl;
    if (arg_ll_or_reply(c, &c->argv[2], &ttl) < 0) return;
    if (ttl < 0) {
        reply_err(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const unsigned char *p = (const unsigned char *)c->argv[3].ptr;
    size_t len = c->argv[3].len;
    if (dump_verify(p, len) < 0) {
        reply_err(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    int64_t when = -1;
    if (ttl) {
        if (!o.absttl && ttl > LLONG_MAX - c->now_ms) {
            reply_err(c, "ERR Invalid TTL value, must be >= 0");
            return;
        }
        when = o.absttl ? ttl : ttl + c->now_ms;
    }
    const char *err = NULL;
    dentry *e = dump_decode(c->ds, key->ptr, key->len, when, p, len - DUMP_FOOTER, &err);
    if (!e) {
        reply_err(c, err ? err : "ERR Bad data format");
        return;
    }
    if (o.replace && ks_write(c, key, &pos)) ks_delete(c, pos);
    if (when >= 0 && when <= c->now_ms) { /* already expired: not created (an old value went) */
        dentry_free(&c->ds->mem, e);
        reply_ok(c);
        return;
    }
    ks_insert(c, e);
    reply_ok(c);
}

/* RESTORE (or RESTORE-ASKING) k ttl payload ... (ttl > 0, no ABSTTL) -> the same k now+ttl
 * payload ... ABSTTL, when the command is valid, so the log carries the expiry itself. Called for
 * cmd_restore's commands only (data_rewrite). */
int restore_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    if (c->argc < 4 || out_cap < c->argc + 1) return 0;
    restore_opts o;
    long long ttl;
    if (restore_opts_or_reply(c, &o) < 0 || o.absttl) return 0;
    if (arg_ll_or_reply(c, &c->argv[2], &ttl) < 0 || ttl <= 0) return 0;
    if (ttl > LLONG_MAX - c->now_ms) return 0;
    SYN_ASSERT(scratch_cap >= 24);
    for (int i = 0; i < c->argc; i++)
        out[i] = c->argv[i];
    out[2] = (data_arg){scratch, syn_ll2string(scratch, ttl + c->now_ms)};
    out[c->argc] = (data_arg){"ABSTTL", 6};
    return c->argc + 1;
}
