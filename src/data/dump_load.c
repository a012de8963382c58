/* dump_load.c — the reading half of the DUMP/RESTORE payload codec (dump_internal.h): every
 * object a Redis 7.0 DUMP writes (and the older forms an RDB of version <= 10 may hold) into a
 * synod value.
 *
 * Read: strings (raw, RDB int, LZF), lists (linked list, ziplist, quicklist of ziplists,
 * quicklist 2 of listpack or plain nodes), sets (table, intset), sorted sets (string and binary
 * doubles, ziplist, listpack), hashes (table, ziplist, listpack), streams (listpacks 1 and 2:
 * stream_dump.c). Not read: zipmap hashes, modules.
 *
 * The payload is untrusted (its CRC says nothing about who made it): every read is checked
 * against the bytes left, counts are never trusted for an allocation (each element consumes
 * input), LZF output is bounded by what its input can expand to, listpack and ziplist entries
 * are checked against their headers, back-lengths and prev-lengths, and a repeated field or member,
 * a NaN score, an empty value or trailing bytes reject the payload. The value is built with the
 * store's own encoding rules (hash/set/zset limits, list-max-listpack-size) as if its elements had
 * been added by commands. */
#include <math.h>
#include <stdlib.h>

#include "data/dump_internal.h"
#include "data/set_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"

#define BAD_FORMAT "ERR Bad data format"
#define LZF_MAX_RATIO                                                                              \
    88 /* a 3-byte back-reference copies at most 264 bytes: no input byte yields more than 88 */

int dump_rd_bytes(dump_rin *in, size_t n, const unsigned char **out)
{
    if (in->left < n) return -1;
    *out = in->p;
    in->p += n;
    in->left -= n;
    return 0;
}

int dump_rd_u8(dump_rin *in, unsigned *v)
{
    const unsigned char *b;
    if (dump_rd_bytes(in, 1, &b) < 0) return -1;
    *v = b[0];
    return 0;
}

uint64_t dump_get_le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint64_t dump_get_be(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* Sign-extends the low `bits` bits of u. */
static int64_t sext(uint64_t u, int bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    u &= bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    return (int64_t)((u ^ m) - m);
}

/* An RDB length; *enc is set when the byte says "special encoding" (then *len is its kind). */
static int dump_rd_len(dump_rin *in, uint64_t *len, int *enc)
{
    unsigned b, b2;
    const unsigned char *q;
    *enc = 0;
    if (dump_rd_u8(in, &b) < 0) return -1;
    switch (b >> 6) {
    case 0: *len = b & 0x3f; return 0;
    case 1:
        if (dump_rd_u8(in, &b2) < 0) return -1;
        *len = (uint64_t)(b & 0x3f) << 8 | b2;
        return 0;
    case 2:
        if (b != 0x80 && b != 0x81) return -1;
        if (dump_rd_bytes(in, b == 0x80 ? 4 : 8, &q) < 0) return -1;
        *len = dump_get_be(q, b == 0x80 ? 4 : 8);
        return 0;
    default:
        *enc = 1;
        *len = b & 0x3f;
        return 0;
    }
}

int dump_rd_count(dump_rin *in, uint64_t *n)
{
    int enc;
    return dump_rd_len(in, n, &enc) < 0 || enc ? -1 : 0;
}

void dump_rstr_free(dump_rstr *s)
{
    free(s->heap);
    s->heap = NULL;
}

/* LZF: a control byte < 32 starts a run of ctrl+1 literal bytes; otherwise its top 3 bits are
 * a length (7: add the next byte) and, with the next byte, an offset back into the output.
 * Returns the output size, or -1 on any out-of-bounds step. */
static long long lzf_decode(const unsigned char *in, size_t in_len, unsigned char *out,
                            size_t out_len)
{
    size_t i = 0, o = 0;
    while (i < in_len) {
        unsigned ctrl = in[i++];
        if (ctrl < 32) {
            size_t run = (size_t)ctrl + 1;
            if (run > in_len - i || run > out_len - o) return -1;
            memcpy(out + o, in + i, run);
            i += run;
            o += run;
            continue;
        }
        size_t len = ctrl >> 5;
        if (len == 7) {
            if (i >= in_len) return -1;
            len += in[i++];
        }
        if (i >= in_len) return -1;
        size_t back = ((size_t)(ctrl & 0x1f) << 8) + in[i++] + 1;
        len += 2;
        if (back > o || len > out_len - o) return -1;
        for (size_t k = 0; k < len; k++, o++) /* may overlap: byte by byte */
            out[o] = out[o - back];
    }
    return (long long)o;
}

int dump_rd_string(dump_rin *in, dump_rstr *s)
{
    uint64_t len;
    int enc;
    const unsigned char *q;
    s->heap = NULL;
    if (dump_rd_len(in, &len, &enc) < 0) return -1;
    if (!enc) {
        if (dump_rd_bytes(in, len, &q) < 0) return -1;
        s->p = (const char *)q;
        s->n = (size_t)len;
        return 0;
    }
    if (len <= 2) { /* RDB_ENC_INT8/16/32, little-endian */
        int w = 1 << len;
        if (dump_rd_bytes(in, (size_t)w, &q) < 0) return -1;
        s->n = syn_ll2string(s->num, sext(dump_get_le(q, w), 8 * w));
        s->p = s->num;
        return 0;
    }
    if (len != 3) return -1;
    uint64_t clen, ulen;
    if (dump_rd_count(in, &clen) < 0 || dump_rd_count(in, &ulen) < 0) return -1;
    if (clen == 0 || ulen == 0 || dump_rd_bytes(in, clen, &q) < 0) return -1;
    if (ulen > DATA_STRING_MAX_BYTES || ulen / LZF_MAX_RATIO > clen) return -1;
    s->heap = malloc((size_t)ulen);
    SYN_ASSERT(s->heap != NULL);
    if (lzf_decode(q, (size_t)clen, (unsigned char *)s->heap, (size_t)ulen) != (long long)ulen) {
        dump_rstr_free(s);
        return -1;
    }
    s->p = s->heap;
    s->n = (size_t)ulen;
    return 0;
}

/* ---- element sources: a counted run of RDB strings, a listpack, a ziplist ---- */

static void es_rdb(dump_esrc *es, dump_rin *in, uint64_t n)
{
    *es = (dump_esrc){.kind = ES_RDB, .in = in, .left = n};
}

int dump_es_lp(dump_esrc *es, const dump_rstr *blob)
{
    const unsigned char *b = (const unsigned char *)blob->p;
    *es = (dump_esrc){.kind = ES_LP};
    if (blob->n < 7 || dump_get_le(b, 4) != blob->n || b[blob->n - 1] != 0xff) return -1;
    uint64_t n = dump_get_le(b + 4, 2);
    es->want = n == 65535 ? UINT64_MAX : n;
    es->p = b + 6;
    es->end = b + blob->n - 1;
    return 0;
}

static int es_zl(dump_esrc *es, const dump_rstr *blob)
{
    const unsigned char *b = (const unsigned char *)blob->p;
    *es = (dump_esrc){.kind = ES_ZL};
    if (blob->n < 11 || dump_get_le(b, 4) != blob->n || dump_get_le(b + 4, 4) >= blob->n ||
        b[blob->n - 1] != 0xff)
        return -1;
    uint64_t n = dump_get_le(b + 8, 2);
    es->want = n == 65535 ? UINT64_MAX : n;
    es->p = b + 10;
    es->end = b + blob->n - 1;
    return 0;
}

void dump_es_free(dump_esrc *es)
{
    dump_rstr_free(&es->slot[0]);
    dump_rstr_free(&es->slot[1]);
}

static int lp_backlen_ok(const unsigned char *b, size_t avail, uint64_t l, size_t *n)
{
    int k = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    if ((size_t)k > avail) return 0;
    for (int i = 0; i < k; i++) {
        unsigned want = (unsigned)((l >> (7 * (k - 1 - i))) & 127) | (i == 0 ? 0 : 128);
        if (b[i] != want) return 0;
    }
    *n = (size_t)k;
    return 1;
}

/* One listpack entry at es->p into s. */
static int lp_entry(dump_esrc *es, dump_rstr *s)
{
    const unsigned char *p = es->p;
    size_t avail = (size_t)(es->end - p), hdr = 0, len = 0;
    unsigned c = p[0];
    int ibytes = -1; /* integer payload width; -1: a string */
    int64_t v = 0;
    if (!(c & 0x80)) {
        v = c & 0x7f;
        hdr = 1;
        ibytes = 0;
    } else if ((c & 0xc0) == 0x80) {
        hdr = 1;
        len = c & 0x3f;
    } else if ((c & 0xe0) == 0xc0) {
        if (avail < 2) return -1;
        v = sext((uint64_t)(c & 0x1f) << 8 | p[1], 13);
        hdr = 2;
        ibytes = 0;
    } else if ((c & 0xf0) == 0xe0) {
        if (avail < 2) return -1;
        hdr = 2;
        len = (size_t)(c & 0x0f) << 8 | p[1];
    } else if (c == 0xf0) {
        if (avail < 5) return -1;
        hdr = 5;
        len = (size_t)dump_get_le(p + 1, 4);
    } else if (c >= 0xf1 && c <= 0xf4) {
        static const int w[] = {2, 3, 4, 8};
        ibytes = w[c - 0xf1];
        hdr = 1;
        if (avail < 1 + (size_t)ibytes) return -1;
        v = sext(dump_get_le(p + 1, ibytes), 8 * ibytes);
    } else {
        return -1;
    }
    size_t size = hdr + (ibytes >= 0 ? (size_t)ibytes : len), bl;
    if (size > avail || !lp_backlen_ok(p + size, avail - size, size, &bl)) return -1;
    if (ibytes >= 0) {
        s->n = syn_ll2string(s->num, v);
        s->p = s->num;
    } else {
        s->p = (const char *)p + hdr;
        s->n = len;
    }
    es->p = p + size + bl;
    return 0;
}

/* One ziplist entry: prevlen (1 byte, or 0xfe + u32), encoding, data. */
static int zl_entry(dump_esrc *es, dump_rstr *s)
{
    const unsigned char *p = es->p;
    size_t avail = (size_t)(es->end - p), pl, hdr, len = 0;
    uint64_t prev;
    if (p[0] < 254) {
        pl = 1;
        prev = p[0];
    } else if (p[0] == 254 && avail >= 5) {
        pl = 5;
        prev = dump_get_le(p + 1, 4);
    } else {
        return -1;
    }
    if (prev != es->prev || avail < pl + 1) return -1;
    const unsigned char *q = p + pl;
    unsigned e = q[0];
    int ibytes = -1;
    int64_t v = 0;
    switch (e >> 6) {
    case 0:
        hdr = 1;
        len = e & 0x3f;
        break;
    case 1:
        if (avail < pl + 2) return -1;
        hdr = 2;
        len = (size_t)(e & 0x3f) << 8 | q[1];
        break;
    case 2:
        if (e != 0x80 || avail < pl + 5) return -1;
        hdr = 5;
        len = (size_t)dump_get_be(q + 1, 4);
        break;
    default:
        hdr = 1;
        if (e == 0xc0)
            ibytes = 2;
        else if (e == 0xd0)
            ibytes = 4;
        else if (e == 0xe0)
            ibytes = 8;
        else if (e == 0xf0)
            ibytes = 3;
        else if (e == 0xfe)
            ibytes = 1;
        else if (e >= 0xf1 && e <= 0xfd)
            ibytes = 0, v = (int64_t)(e & 0x0f) - 1;
        else
            return -1;
    }
    size_t data = ibytes >= 0 ? (size_t)ibytes : len;
    if (data > avail - pl - hdr) return -1;
    if (ibytes > 0) v = sext(dump_get_le(q + hdr, ibytes), 8 * ibytes);
    if (ibytes >= 0) {
        s->n = syn_ll2string(s->num, v);
        s->p = s->num;
    } else {
        s->p = (const char *)q + hdr;
        s->n = len;
    }
    es->prev = pl + hdr + data;
    es->p = p + es->prev;
    return 0;
}

/* The next element: 1 (in *p, *n: valid until the call after next), 0 at the end, -1 bad. */
int dump_es_next(dump_esrc *es, const char **p, size_t *n)
{
    dump_rstr *s = &es->slot[es->turn];
    es->turn ^= 1;
    dump_rstr_free(s);
    if (es->kind == ES_RDB) {
        if (es->left == 0) return 0;
        es->left--;
        if (dump_rd_string(es->in, s) < 0) return -1;
    } else {
        if (es->p == es->end) return es->want == UINT64_MAX || es->seen == es->want ? 0 : -1;
        if ((es->kind == ES_LP ? lp_entry(es, s) : zl_entry(es, s)) < 0) return -1;
        es->seen++;
    }
    *p = s->p;
    *n = s->n;
    return 1;
}

/* ---- values ---- */

/* A score written as text (listpack, ziplist): strtod over all of it, no NaN. */
static int parse_score(const char *p, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return end == buf + n && !isnan(*out) ? 0 : -1;
}

static int fill_list(dentry *e, dump_esrc *es)
{
    const char *p;
    size_t n;
    int r;
    while ((r = dump_es_next(es, &p, &n)) == 1)
        list_push_tail(e, p, n);
    return r;
}

static int fill_set(data_store *ds, dentry *e, dump_esrc *es)
{
    const char *p;
    size_t n;
    int r;
    while ((r = dump_es_next(es, &p, &n)) == 1)
        if (!set_add(ds, e, p, n)) return -1;
    return r;
}

/* Pairs: field and value (hash) or member and score (zset). A hash from a blob stays packed
 * whatever its values' lengths (Redis converts a loaded listpack or ziplist hash on its entry
 * count only), from plain pairs it honours hash-max-listpack-value too. */
static int fill_pairs(data_store *ds, dentry *e, dump_esrc *es, int blob)
{
    uint32_t max_value = blob ? UINT32_MAX : ds->hash_max_value;
    const char *f, *v;
    size_t fl, vl;
    int r;
    while ((r = dump_es_next(es, &f, &fl)) == 1) {
        if (dump_es_next(es, &v, &vl) != 1) return -1;
        if (e->type == DT_HASH) {
            if (!hash_set_limited(&ds->mem, ds->hash_seed, ds->hash_max_fields, max_value, e, f, fl,
                                  v, vl))
                return -1;
        } else {
            double score;
            if (parse_score(v, vl, &score) < 0 || !zset_put(ds, e, f, fl, score)) return -1;
        }
    }
    return r;
}

static int fill_intset(data_store *ds, dentry *e, const dump_rstr *blob)
{
    const unsigned char *b = (const unsigned char *)blob->p;
    if (blob->n < 8) return -1;
    uint64_t w = dump_get_le(b, 4), n = dump_get_le(b + 4, 4);
    if ((w != 2 && w != 4 && w != 8) || n == 0 || blob->n - 8 != n * w) return -1;
    for (uint64_t i = 0; i < n; i++) {
        /* Redis (without sanitize-dump-payload) takes an unsorted intset as it is; the members
         * are added one by one here, so only a repeated one is an error */
        int64_t v = sext(dump_get_le(b + 8 + i * w, (int)w), (int)(8 * w));
        char num[24];
        if (!set_add(ds, e, num, syn_ll2string(num, v))) return -1;
    }
    return 0;
}

/* Old RDB_TYPE_ZSET score: u8 length, or 253 NaN, 254 +inf, 255 -inf. */
static int rd_text_double(dump_rin *in, double *d)
{
    unsigned n;
    const unsigned char *q;
    if (dump_rd_u8(in, &n) < 0 || n == 253) return -1;
    if (n >= 254) {
        *d = n == 254 ? INFINITY : -INFINITY;
        return 0;
    }
    if (dump_rd_bytes(in, n, &q) < 0) return -1;
    return parse_score((const char *)q, n, d);
}

static int fill_zset_rdb(data_store *ds, dentry *e, dump_rin *in, uint64_t n, int binary)
{
    for (uint64_t i = 0; i < n; i++) {
        dump_rstr m;
        double score;
        const unsigned char *q;
        if (dump_rd_string(in, &m) < 0) return -1;
        int bad = binary ? dump_rd_bytes(in, 8, &q) : rd_text_double(in, &score);
        if (!bad && binary) {
            uint64_t bits = dump_get_le(q, 8);
            memcpy(&score, &bits, 8);
        }
        bad = bad || isnan(score) || !zset_put(ds, e, m.p, m.n, score);
        dump_rstr_free(&m);
        if (bad) return -1;
    }
    return 0;
}

/* A blob (listpack or ziplist) of a collection entry e into e. */
static int fill_blob(data_store *ds, dentry *e, dump_rin *in, int ziplist)
{
    dump_rstr blob;
    dump_esrc es;
    if (dump_rd_string(in, &blob) < 0) return -1;
    int r = (ziplist ? es_zl(&es, &blob) : dump_es_lp(&es, &blob));
    if (r == 0) {
        r = e->type == DT_LIST  ? fill_list(e, &es)
            : e->type == DT_SET ? fill_set(ds, e, &es)
                                : fill_pairs(ds, e, &es, 1);
    }
    dump_es_free(&es);
    dump_rstr_free(&blob);
    return r;
}

/* Quicklists: nodes of ziplists (version 1) or containers 1 (plain) / 2 (listpack). */
static int fill_quicklist(data_store *ds, dentry *e, dump_rin *in, int v2)
{
    uint64_t nodes, container = 2;
    if (dump_rd_count(in, &nodes) < 0 || nodes == 0) return -1;
    for (uint64_t i = 0; i < nodes; i++) {
        if (v2 && (dump_rd_count(in, &container) < 0 || (container != 1 && container != 2)))
            return -1;
        if (container == 1) {
            dump_rstr s;
            if (dump_rd_string(in, &s) < 0) return -1;
            list_push_tail(e, s.p, s.n);
            dump_rstr_free(&s);
        } else if (fill_blob(ds, e, in, !v2) < 0) {
            return -1;
        }
    }
    return 0;
}

static uint64_t value_len(dentry *e)
{
    switch (e->type) {
    case DT_LIST: return list_len(e);
    case DT_SET: return set_len(e);
    case DT_ZSET: return zset_len(e);
    case DT_HASH: return hash_len(e);
    default: return 1;
    }
}

dentry *dump_decode(data_store *ds, const char *key, size_t klen, int64_t expire_ms,
                    const unsigned char *p, size_t len, const char **err)
{
    dump_rin in = {p, len};
    unsigned type;
    uint64_t n;
    int r = -1;
    dentry *e = NULL;
    *err = BAD_FORMAT;
    if (dump_rd_u8(&in, &type) < 0) return NULL;
    switch (type) {
    case RDB_T_STRING: {
        dump_rstr s;
        if (dump_rd_string(&in, &s) < 0) return NULL;
        e = dentry_new(&ds->mem, DT_STRING, key, klen, s.p, s.n, s.n, expire_ms);
        dump_rstr_free(&s);
        r = 0;
        break;
    }
    case RDB_T_LIST:
    case RDB_T_LIST_ZIPLIST:
    case RDB_T_LIST_QUICKLIST:
    case RDB_T_LIST_QUICKLIST_2:
        e = list_new_entry(&ds->mem, ds->list_fill, key, klen, expire_ms);
        if (type == RDB_T_LIST_ZIPLIST) {
            r = fill_blob(ds, e, &in, 1);
        } else if (type != RDB_T_LIST) {
            r = fill_quicklist(ds, e, &in, type == RDB_T_LIST_QUICKLIST_2);
        } else if (dump_rd_count(&in, &n) == 0) {
            dump_esrc es;
            es_rdb(&es, &in, n);
            r = fill_list(e, &es);
            dump_es_free(&es);
        }
        break;
    case RDB_T_SET:
    case RDB_T_SET_INTSET:
        e = set_new_entry(&ds->mem, key, klen, expire_ms);
        if (type == RDB_T_SET_INTSET) {
            dump_rstr blob;
            if (dump_rd_string(&in, &blob) == 0) {
                r = fill_intset(ds, e, &blob);
                dump_rstr_free(&blob);
            }
        } else if (dump_rd_count(&in, &n) == 0) {
            dump_esrc es;
            es_rdb(&es, &in, n);
            r = fill_set(ds, e, &es);
            dump_es_free(&es);
        }
        break;
    case RDB_T_ZSET:
    case RDB_T_ZSET_2:
    case RDB_T_ZSET_ZIPLIST:
    case RDB_T_ZSET_LISTPACK:
        if (type == RDB_T_ZSET_ZIPLIST || type == RDB_T_ZSET_LISTPACK) {
            e = zset_new_entry(ds, key, klen, expire_ms);
            r = fill_blob(ds, e, &in, type == RDB_T_ZSET_ZIPLIST);
        } else {
            /* as Redis: into a skiplist, converted once loaded if it fits (a score of -0 added
             * to the compact encoding first would have become 0) */
            e = zset_new_loading(ds, key, klen, expire_ms);
            if (dump_rd_count(&in, &n) == 0) r = fill_zset_rdb(ds, e, &in, n, type == RDB_T_ZSET_2);
            if (r == 0) zset_loaded(ds, e, 0);
        }
        break;
    case RDB_T_HASH:
    case RDB_T_HASH_ZIPLIST:
    case RDB_T_HASH_LISTPACK:
        e = hash_new_entry(&ds->mem, key, klen, expire_ms);
        if (type != RDB_T_HASH) {
            r = fill_blob(ds, e, &in, type == RDB_T_HASH_ZIPLIST);
        } else if (dump_rd_count(&in, &n) == 0 && n <= UINT64_MAX / 2) {
            dump_esrc es;
            es_rdb(&es, &in, 2 * n);
            r = fill_pairs(ds, e, &es, 0);
            dump_es_free(&es);
        }
        break;
    case RDB_T_STREAM_LISTPACKS:
    case RDB_T_STREAM_LISTPACKS_2:
        e = stream_dump_decode(ds, key, klen, expire_ms, &in, type);
        r = e ? 0 : -1;
        break;
    default: break;
    }
    if (e && (r < 0 || in.left != 0 || value_len(e) == 0)) r = -1;
    if (r < 0) {
        if (e) dentry_free(&ds->mem, e);
        return NULL;
    }
    return e;
}
