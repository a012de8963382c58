/* zset.c — sorted set values and the sorted set commands (Redis 7.0 semantics and replies).
 *
 * Encodings (zset_internal.h): a sorted array of elements while small, else a skiplist with
 * spans and a member table. Every command's effect and reply is independent of the encoding
 * (replicas may differ in it: the settings are per node). Every range (by rank, score or lex)
 * is turned into a rank interval [lo, hi) by a search, then walked in order.
 *
 * Nothing here draws a random number except ZRANDMEMBER (a read, from the store's generator on
 * the serving node). A skiplist node's level is taken from the keyed hash of its member, so the
 * layout is a function of the contents and the store's secret seed. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>

#include "data/set_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"

#define ZSL_MAXLEVEL 32

/* A skiplist node: 24 bytes + 16 per level, so a level-1 node (3 in 4) fits a 48-byte malloc
 * chunk. The member's bytes live once, in its table entry; their length is that entry's klen,
 * stored just before them (zn_ml). A node's level is a function of its member (node_level). */
typedef struct znode {
    double score;
    const char *m; /* the member bytes of its table entry (dmember_key) */
    struct znode *back;
    struct {
        struct znode *fwd;
        uint64_t span;
    } lv[];
} znode;

/* The big encoding: a skiplist with spans and a member table. */
typedef struct zbig {
    dict d; /* members: dmember bytes followed by the znode* */
    znode *head, *tail;
    int level;
} zbig;

/* The compact encoding packs its elements, in order, into one buffer (like Redis's listpack):
 *   score | varint member length | member bytes | back length (reversed varint)
 * where the score is one byte for an integer in [-120, 119] (value + 120), 0xF0 + a zigzag
 * varint for another integer of at most 2^53 in magnitude, or 0xF1 + the 8 bytes of the double.
 * The back length (the element's size, written so it reads from its end) lets a walk go
 * backwards. An integral score is stored as an integer, so -0 comes back as 0, as in Redis. */
struct zset {
    uint32_t big;       /* 0: compact, 1: skiplist + table */
    uint32_t used, cap; /* compact: bytes of buf in use / allocated */
    uint64_t len;       /* elements */
    union {
        unsigned char *buf; /* compact */
        zbig *b;            /* big */
    } u;
    size_t *mem;
};

#define ZB(z) ((z)->u.b)

/* A reference to one element, valid until the set changes. */
typedef struct {
    const char *m;
    size_t ml;
    double score;
} zref;

static int mcmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    return r ? r : (al < bl ? -1 : al > bl);
}

/* (score, member) order */
static int elcmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 != s2) return s1 < s2 ? -1 : 1;
    return mcmp(m1, l1, m2, l2);
}

static zset *zs_of(dentry *e)
{
    return dentry_ptr(e);
}

const dict *zset_member_table(dentry *e)
{
    zset *z = zs_of(e);
    return z->big ? &ZB(z)->d : NULL;
}

static znode *node_new(size_t *mem, int lvl)
{
    znode *n = dmem_alloc(mem, sizeof(znode) + (size_t)lvl * sizeof(n->lv[0]));
    n->m = NULL;
    n->score = 0;
    n->back = NULL;
    for (int i = 0; i < lvl; i++) {
        n->lv[i].fwd = NULL;
        n->lv[i].span = 0;
    }
    return n;
}

/* The member's length: the klen of its table entry, which ends where the member starts. */
static size_t zn_ml(const znode *n)
{
    uint32_t l;
    memcpy(&l, n->m - sizeof l, sizeof l);
    return l;
}

/* (score, member) order of node n against an element; reads the member only on a score tie. */
static int ncmp(const znode *n, double s, const char *m, size_t ml)
{
    if (n->score != s) return n->score < s ? -1 : 1;
    return mcmp(n->m, zn_ml(n), m, ml);
}

static znode *entry_node(dentry *de)
{
    znode *n;
    memcpy(&n, dmember_key(de) + de->klen, sizeof n);
    return n;
}

/* ---- the compact encoding's elements ---- */

typedef struct {
    double score;
    const char *m;
    uint32_t ml;
    uint32_t size; /* bytes of the whole element */
} zpk;

static size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t varint_get(const unsigned char *p, size_t *n)
{
    uint64_t v = 0;
    size_t i = 0;
    for (;; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) break;
    }
    *n = i + 1;
    return v;
}

/* an integral score small enough to be exact as an integer: 1 (and *iv), else 0 */
static int score_int(double score, int64_t *iv)
{
    if (!(score >= -9007199254740992.0 && score <= 9007199254740992.0)) return 0;
    int64_t v = (int64_t)score;
    if ((double)v != score) return 0;
    *iv = v;
    return 1;
}

static size_t score_len(double score)
{
    int64_t v;
    if (!score_int(score, &v)) return 9;
    if (v >= -120 && v <= 119) return 1;
    return 1 + varint_len(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* an element of `body` bytes plus its back length, which counts itself too */
static size_t with_back(size_t body)
{
    size_t bl = 1;
    while (varint_len(body + bl) > bl)
        bl++;
    return body + bl;
}

static size_t pk_size(double score, size_t ml)
{
    return with_back(score_len(score) + varint_len(ml) + ml);
}

/* writes the element at p (pk_size(score, ml) bytes) */
static void pk_write(unsigned char *p, double score, const char *m, size_t ml, size_t size)
{
    size_t o = 0;
    int64_t v;
    if (!score_int(score, &v)) {
        p[o++] = 0xF1;
        memcpy(p + o, &score, 8);
        o += 8;
    } else if (v >= -120 && v <= 119) {
        p[o++] = (unsigned char)(v + 120);
    } else {
        p[o++] = 0xF0;
        o += varint_put(p + o, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
    }
    o += varint_put(p + o, ml);
    if (ml) memcpy(p + o, m, ml);
    o += ml;
    /* the back length, reversed: its last byte is the varint's first */
    unsigned char tmp[10];
    size_t n = varint_put(tmp, size);
    for (size_t i = 0; i < n; i++)
        p[o + i] = tmp[n - 1 - i];
    SYN_ASSERT(o + n == size);
}

static zpk pk_read(const unsigned char *p)
{
    zpk x;
    size_t o = 0, n;
    if (p[0] == 0xF1) {
        memcpy(&x.score, p + 1, 8);
        o = 9;
    } else if (p[0] == 0xF0) {
        uint64_t u = varint_get(p + 1, &n);
        x.score = (double)(int64_t)((u >> 1) ^ (~(u & 1) + 1));
        o = 1 + n;
    } else {
        x.score = (double)((int)p[0] - 120);
        o = 1;
    }
    x.ml = (uint32_t)varint_get(p + o, &n);
    o += n;
    x.m = (const char *)p + o;
    o += x.ml;
    x.size = (uint32_t)with_back(o); /* the back length follows */
    return x;
}

/* the size of the element that ends just before p (its back length, read backwards) */
static uint32_t pk_back(const unsigned char *end)
{
    uint64_t v = 0;
    size_t i = 0;
    for (;; i++) {
        unsigned char b = end[-1 - (ptrdiff_t)i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    return (uint32_t)v;
}

/* byte offset of the element of rank r (<= len: len gives the end) */
static uint32_t pk_offset(const zset *z, uint64_t r)
{
    uint32_t off = 0;
    for (uint64_t i = 0; i < r; i++)
        off += pk_read(z->u.buf + off).size;
    return off;
}

/* Below this a compact buffer grows to fit exactly, as a listpack does: a small set carries no
 * slack (most sets are small); above it, by a quarter, so a long run of inserts stays linear. */
#define PK_EXACT_BYTES 512

/* Reallocates the compact buffer to hold at least `cap` bytes; the malloc chunk's spare bytes
 * count as capacity. */
static void pk_resize(zset *z, size_t cap)
{
    z->u.buf = dmem_realloc(z->mem, z->u.buf, cap);
    size_t got = malloc_usable_size(z->u.buf);
    SYN_ASSERT(got >= cap);
    z->cap = got < UINT32_MAX ? (uint32_t)got : UINT32_MAX;
}

/* makes room for `size` bytes at offset off */
static void pk_open(zset *z, uint32_t off, size_t size)
{
    size_t need = (size_t)z->used + size;
    SYN_ASSERT(need <= UINT32_MAX);
    if (need > z->cap) {
        size_t cap = need <= PK_EXACT_BYTES ? need : need + need / 4 + 8;
        pk_resize(z, cap > UINT32_MAX ? need : cap);
    }
    memmove(z->u.buf + off + size, z->u.buf + off, z->used - off);
    z->used += (uint32_t)size;
}

/* removes `size` bytes at offset off, giving memory back when much is free */
static void pk_close(zset *z, uint32_t off, size_t size)
{
    memmove(z->u.buf + off, z->u.buf + off + size, z->used - off - size);
    z->used -= (uint32_t)size;
    if (z->cap > 64 && z->used < z->cap / 2) {
        size_t keep = z->used > 16 ? z->used : 16;
        pk_resize(z, keep <= PK_EXACT_BYTES ? keep : keep + keep / 4 + 8);
    }
}

dentry *zset_new_entry(data_store *ds, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = dentry_new(&ds->mem, DT_ZSET, key, klen, NULL, 0, sizeof(void *), expire_ms);
    zset *z = dmem_calloc(&ds->mem, 1, sizeof *z);
    z->mem = &ds->mem;
    dentry_set_ptr(e, z);
    return e;
}

static void free_member(dentry *m, void *arg)
{
    dmem_free(arg, entry_node(m));
    dmem_free(arg, m);
}

void zset_free(size_t *mem, dentry *e)
{
    zset *z = zs_of(e);
    if (z->big) {
        dict_deinit(&ZB(z)->d, free_member, mem);
        dmem_free(mem, ZB(z)->head);
        dmem_free(mem, ZB(z));
    } else if (z->u.buf) {
        dmem_free(mem, z->u.buf);
    }
    dmem_free(mem, z);
}

uint64_t zset_len(dentry *e)
{
    return zs_of(e)->len;
}

const char *zset_encoding(const dentry *e)
{
    return zs_of((dentry *)e)->big ? "skiplist" : "listpack";
}

void zset_set_mem(dentry *e, size_t *mem)
{
    zset *z = zs_of(e);
    z->mem = mem;
    if (z->big) ZB(z)->d.mem = mem;
}

/* ---- skiplist ---- */

static int node_level(zset *z, const char *m, size_t ml)
{
    uint64_t h = dict_hash(&ZB(z)->d, m, ml) ^ 0x5bd1e9955bd1e995ull;
    h *= 0x9E3779B97F4A7C15ull; /* the table used the low bits; mix them all up */
    int lvl = 1;
    while (lvl < ZSL_MAXLEVEL && (h & 3) == 0) {
        lvl++;
        h >>= 2;
    }
    return lvl;
}

/* Links x, a node of `lvl` levels. */
static void zsl_insert(zset *z, znode *x, int lvl)
{
    znode *update[ZSL_MAXLEVEL] = {0}, *p = ZB(z)->head;
    uint64_t rank[ZSL_MAXLEVEL] = {0};
    for (int i = ZB(z)->level - 1; i >= 0; i--) {
        rank[i] = i == ZB(z)->level - 1 ? 0 : rank[i + 1];
        while (p->lv[i].fwd && ncmp(p->lv[i].fwd, x->score, x->m, zn_ml(x)) < 0) {
            rank[i] += p->lv[i].span;
            p = p->lv[i].fwd;
        }
        update[i] = p;
    }
    if (lvl > ZB(z)->level) {
        for (int i = ZB(z)->level; i < lvl; i++) {
            rank[i] = 0;
            update[i] = ZB(z)->head;
            update[i]->lv[i].span = z->len;
        }
        ZB(z)->level = lvl;
    }
    for (int i = 0; i < lvl; i++) {
        x->lv[i].fwd = update[i]->lv[i].fwd;
        update[i]->lv[i].fwd = x;
        x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
        update[i]->lv[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = lvl; i < ZB(z)->level; i++)
        update[i]->lv[i].span++;
    x->back = update[0] == ZB(z)->head ? NULL : update[0];
    if (x->lv[0].fwd)
        x->lv[0].fwd->back = x;
    else
        ZB(z)->tail = x;
}

static void zsl_unlink(zset *z, znode *x)
{
    znode *update[ZSL_MAXLEVEL] = {0}, *p = ZB(z)->head;
    for (int i = ZB(z)->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && p->lv[i].fwd != x &&
               ncmp(p->lv[i].fwd, x->score, x->m, zn_ml(x)) < 0)
            p = p->lv[i].fwd;
        update[i] = p;
    }
    SYN_ASSERT(update[0]->lv[0].fwd == x);
    for (int i = 0; i < ZB(z)->level; i++) {
        if (update[i]->lv[i].fwd == x) {
            update[i]->lv[i].span += x->lv[i].span - 1;
            update[i]->lv[i].fwd = x->lv[i].fwd;
        } else {
            update[i]->lv[i].span--;
        }
    }
    if (x->lv[0].fwd)
        x->lv[0].fwd->back = x->back;
    else
        ZB(z)->tail = x->back;
    while (ZB(z)->level > 1 && !ZB(z)->head->lv[ZB(z)->level - 1].fwd)
        ZB(z)->level--;
}

/* The node at 0-based rank r (< len). */
static znode *zsl_at(zset *z, uint64_t r)
{
    znode *p = ZB(z)->head;
    uint64_t t = 0;
    for (int i = ZB(z)->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && t + p->lv[i].span <= r + 1) {
            t += p->lv[i].span;
            p = p->lv[i].fwd;
        }
        if (t == r + 1) return p;
    }
    SYN_ASSERT(0);
    return NULL;
}

static void to_big(zset *z, const uint64_t seed[2])
{
    unsigned char *buf = z->u.buf;
    uint64_t n = z->len;
    zbig *b = dmem_calloc(z->mem, 1, sizeof *b);
    z->big = 1;
    z->u.b = b;
    dict_init_members(&b->d, z->mem, seed);
    b->head = node_new(z->mem, ZSL_MAXLEVEL);
    b->tail = NULL;
    b->level = 1;
    z->len = 0;
    z->used = z->cap = 0;
    uint32_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        zpk x = pk_read(buf + off);
        off += x.size;
        dentry *de = dmem_alloc(z->mem, DMEMBER_HDR + x.ml + sizeof(znode *));
        de->next = NULL;
        de->klen = x.ml;
        memcpy(dmember_key(de), x.m, x.ml);
        int lvl = node_level(z, x.m, x.ml);
        znode *nd = node_new(z->mem, lvl);
        nd->m = dmember_key(de);
        nd->score = x.score;
        memcpy(dmember_key(de) + de->klen, &nd, sizeof nd);
        dict_insert(&b->d, de);
        zsl_insert(z, nd, lvl);
        z->len++;
    }
    if (buf) dmem_free(z->mem, buf);
}

/* A big set back in the compact encoding, its elements appended in order. A score of -0 becomes
 * 0 there (callers that must keep it check first). */
static void to_compact(zset *z)
{
    zbig *b = ZB(z);
    zset c = {.mem = z->mem};
    for (znode *x = b->head->lv[0].fwd; x; x = x->lv[0].fwd) {
        double score = x->score == 0 ? 0.0 : x->score;
        size_t ml = zn_ml(x), size = pk_size(score, ml);
        uint32_t off = c.used;
        pk_open(&c, off, size);
        pk_write(c.u.buf + off, score, x->m, ml, size);
        c.len++;
    }
    SYN_ASSERT(c.len == z->len);
    dict_deinit(&b->d, free_member, z->mem);
    dmem_free(z->mem, b->head);
    dmem_free(z->mem, b);
    z->big = 0;
    z->u.buf = c.u.buf;
    z->used = c.used;
    z->cap = c.cap;
}

void zset_make_big(data_store *ds, dentry *e)
{
    zset *z = zs_of(e);
    if (!z->big) to_big(z, ds->hash_seed);
}

dentry *zset_new_loading(data_store *ds, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = zset_new_entry(ds, key, klen, expire_ms);
    to_big(zs_of(e), ds->hash_seed);
    return e;
}

void zset_loaded(data_store *ds, dentry *e, int keep_neg_zero)
{
    zset *z = zs_of(e);
    SYN_ASSERT(z->big);
    if (z->len > (uint64_t)ds->zset_max_entries) return;
    for (znode *x = ZB(z)->head->lv[0].fwd; x; x = x->lv[0].fwd) {
        if (zn_ml(x) > (size_t)ds->zset_max_value) return;
        if (keep_neg_zero && x->score == 0 && signbit(x->score)) return;
    }
    to_compact(z);
}

/* ---- element access over both encodings ---- */

/* the compact element holding member: its byte offset, or UINT32_MAX */
static uint32_t pk_find(zset *z, const char *m, size_t ml, zpk *out)
{
    uint32_t off = 0;
    for (uint64_t i = 0; i < z->len; i++) {
        zpk x = pk_read(z->u.buf + off);
        if (x.ml == ml && memcmp(x.m, m, ml) == 0) {
            if (out) *out = x;
            return off;
        }
        off += x.size;
    }
    return UINT32_MAX;
}

/* 1 and *score if member is present */
static int zs_score(zset *z, const char *m, size_t ml, double *score)
{
    if (z->big) {
        dpos pos;
        if (!dict_find(&ZB(z)->d, m, ml, &pos)) return 0;
        *score = entry_node(*pos.slot)->score;
        return 1;
    }
    zpk x;
    if (pk_find(z, m, ml, &x) == UINT32_MAX) return 0;
    *score = x.score;
    return 1;
}

/* elements ordered before (score, m): the rank (score, m) has or would have */
static uint64_t zs_rank_before(zset *z, double score, const char *m, size_t ml)
{
    if (!z->big) {
        uint32_t off = 0;
        uint64_t r = 0;
        for (; r < z->len; r++) {
            zpk x = pk_read(z->u.buf + off);
            if (elcmp(x.score, x.m, x.ml, score, m, ml) >= 0) break;
            off += x.size;
        }
        return r;
    }
    znode *p = ZB(z)->head;
    uint64_t r = 0;
    for (int i = ZB(z)->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && ncmp(p->lv[i].fwd, score, m, ml) < 0) {
            r += p->lv[i].span;
            p = p->lv[i].fwd;
        }
    }
    return r;
}

/* A bound over elements: pred(element) is true for a prefix of the order; returns its length. */
typedef struct {
    int lex; /* 0: score bound, 1: member bound */
    double s;
    const char *m;
    size_t ml;
    int incl; /* the prefix includes elements equal to the bound */
    int inf;  /* lex: -1 = "-" (nothing below), 1 = "+" (everything below) */
} zbound;

static int below(const zbound *b, double score, const char *m, size_t ml)
{
    if (!b->lex) return b->incl ? score <= b->s : score < b->s;
    if (b->inf) return b->inf > 0;
    int c = mcmp(m, ml, b->m, b->ml);
    return b->incl ? c <= 0 : c < 0;
}

static int below_node(const zbound *b, const znode *n)
{
    return b->lex ? below(b, n->score, n->m, zn_ml(n)) : below(b, n->score, NULL, 0);
}

static uint64_t zs_count_below(zset *z, const zbound *b)
{
    if (!z->big) {
        uint32_t off = 0;
        uint64_t r = 0;
        for (; r < z->len; r++) {
            zpk x = pk_read(z->u.buf + off);
            if (!below(b, x.score, x.m, x.ml)) break;
            off += x.size;
        }
        return r;
    }
    znode *p = ZB(z)->head;
    uint64_t r = 0;
    for (int i = ZB(z)->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && below_node(b, p->lv[i].fwd)) {
            r += p->lv[i].span;
            p = p->lv[i].fwd;
        }
    }
    return r;
}

/* An iterator from a rank, either way. */
typedef struct {
    zset *z;
    uint64_t idx;
    znode *n;     /* big */
    uint32_t off; /* compact: byte offset of element idx */
} ziter;

static void zi_start(ziter *it, zset *z, uint64_t r)
{
    it->z = z;
    it->idx = r;
    it->n = z->big && r < z->len ? zsl_at(z, r) : NULL;
    it->off = !z->big && r <= z->len ? pk_offset(z, r) : 0;
}

static zref zi_get(const ziter *it)
{
    if (it->z->big) return (zref){it->n->m, zn_ml(it->n), it->n->score};
    zpk x = pk_read(it->z->u.buf + it->off);
    return (zref){x.m, x.ml, x.score};
}

static void zi_next(ziter *it, int rev)
{
    if (it->z->big) {
        it->n = rev ? it->n->back : it->n->lv[0].fwd;
    } else if (rev) {
        if (it->idx > 0) it->off -= pk_back(it->z->u.buf + it->off);
    } else if (it->idx < it->z->len) {
        it->off += pk_read(it->z->u.buf + it->off).size;
    }
    it->idx += rev ? (uint64_t)-1 : 1;
}

/* Removes member (present or not); 1 if it was there. */
static int zs_del(zset *z, const char *m, size_t ml)
{
    if (z->big) {
        dpos pos;
        if (!dict_find(&ZB(z)->d, m, ml, &pos)) return 0;
        dentry *de = dict_unlink(&ZB(z)->d, pos);
        znode *x = entry_node(de);
        zsl_unlink(z, x);
        dmem_free(z->mem, x);
        dmem_free(z->mem, de);
        z->len--;
        return 1;
    }
    zpk x;
    uint32_t off = pk_find(z, m, ml, &x);
    if (off == UINT32_MAX) return 0;
    pk_close(z, off, x.size);
    z->len--;
    return 1;
}

/* Gives x, a linked node, a new score: in place when its neighbours still surround it (no
 * walk), else relinked at its new position; the node and its table entry are kept. */
static void zsl_rescore(zset *z, znode *x, double score)
{
    size_t ml = zn_ml(x);
    znode *next = x->lv[0].fwd;
    if ((!x->back || ncmp(x->back, score, x->m, ml) < 0) &&
        (!next || ncmp(next, score, x->m, ml) > 0)) {
        x->score = score;
        return;
    }
    zsl_unlink(z, x);
    x->score = score;
    z->len--; /* zsl_insert counts the nodes without x */
    zsl_insert(z, x, node_level(z, x->m, ml));
    z->len++;
}

static int zs_put(data_store *ds, zset *z, const char *m, size_t ml, double score)
{
    if (z->big) {
        dpos pos;
        if (dict_find(&ZB(z)->d, m, ml, &pos)) {
            znode *x = entry_node(*pos.slot);
            if (x->score != score) zsl_rescore(z, x, score);
            return 0;
        }
    }
    double old;
    int had = zs_score(z, m, ml, &old);
    if (had && old == score) return 0;
    if (had) (void)zs_del(z, m, ml);
    if (!z->big && !had && (z->len + 1 > ds->zset_max_entries || ml > (size_t)ds->zset_max_value))
        to_big(z, ds->hash_seed);
    SYN_ASSERT(ml <= UINT32_MAX);
    if (z->big) {
        dentry *de = dmem_alloc(z->mem, DMEMBER_HDR + ml + sizeof(znode *));
        de->next = NULL;
        de->klen = (uint32_t)ml;
        if (ml) memcpy(dmember_key(de), m, ml);
        int lvl = node_level(z, m, ml);
        znode *x = node_new(z->mem, lvl);
        x->m = dmember_key(de);
        x->score = score;
        memcpy(dmember_key(de) + ml, &x, sizeof x);
        dict_insert(&ZB(z)->d, de);
        zsl_insert(z, x, lvl);
    } else {
        /* the packed form keeps an integral score as an integer: -0 comes back as 0 */
        if (score == 0) score = 0.0;
        uint32_t off = pk_offset(z, zs_rank_before(z, score, m, ml));
        size_t size = pk_size(score, ml);
        pk_open(z, off, size);
        pk_write(z->u.buf + off, score, m, ml, size);
    }
    z->len++;
    return !had;
}

int zset_put(data_store *ds, dentry *e, const char *m, size_t ml, double score)
{
    return zs_put(ds, zs_of(e), m, ml, score);
}

void zset_each(dentry *e, zset_each_cb cb, void *ctx)
{
    zset *z = zs_of(e);
    ziter it;
    zi_start(&it, z, 0);
    for (uint64_t i = 0; i < z->len; i++, zi_next(&it, 0)) {
        zref r = zi_get(&it);
        cb(ctx, r.m, r.ml, r.score);
    }
}

int zset_score(dentry *e, const char *m, size_t ml, double *score)
{
    return zs_score(zs_of(e), m, ml, score);
}

void zset_each_in(dentry *e, double min, double max_excl, zset_range_cb cb, void *ctx)
{
    zset *z = zs_of(e);
    zbound lo = {0, min, NULL, 0, 0, 0}; /* elements below min */
    ziter it;
    zi_start(&it, z, zs_count_below(z, &lo));
    for (; it.idx < z->len; zi_next(&it, 0)) {
        zref r = zi_get(&it);
        if (!(r.score < max_excl) || cb(ctx, r.m, r.ml, r.score)) return;
    }
}

/* A fresh zset entry holding the elements (sorted or not), compact if they fit. */
static dentry *build(data_store *ds, const data_arg *key, zref *v, size_t n)
{
    dentry *e = zset_new_entry(ds, key ? key->ptr : "", key ? key->len : 0, -1);
    zset *z = zs_of(e);
    int fits = n <= (size_t)ds->zset_max_entries;
    for (size_t i = 0; i < n && fits; i++)
        fits = v[i].ml <= (size_t)ds->zset_max_value;
    if (!fits) to_big(z, ds->hash_seed);
    for (size_t i = 0; i < n; i++)
        (void)zs_put(ds, z, v[i].m, v[i].ml, v[i].score);
    return e;
}

/* ---- parsing ---- */

/* Redis getDoubleFromObject: strtod over the whole argument (of any length: DBL_MAX written out
 * is 309 digits), no leading space, no NaN. */
int zset_parse_double(const data_arg *a, double *out)
{
    char stack[256];
    if (a->len == 0) return 0;
    char *buf = a->len < sizeof stack ? stack : dmem_alloc(NULL, a->len + 1);
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok =
        !(buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r') || (size_t)(end - buf) != a->len ||
          (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
          isnan(v));
    if (buf != stack) dmem_free(NULL, buf);
    if (ok) *out = v;
    return ok;
}

static int score_or_reply(data_call *c, const data_arg *a, double *out)
{
    if (zset_parse_double(a, out)) return 0;
    reply_err(c, "ERR value is not a valid float");
    return -1;
}

/* Redis zslParseRangeItem: "(x" exclusive, else inclusive; strtod, no NaN. */
static int parse_range_item(const data_arg *a, double *v, int *excl)
{
    char buf[256];
    size_t off = a->len && a->ptr[0] == '(';
    if (a->len - off >= sizeof buf) return 0;
    memcpy(buf, a->ptr + off, a->len - off);
    buf[a->len - off] = '\0';
    char *end;
    *v = strtod(buf, &end);
    *excl = (int)off;
    if (*end != '\0' || isnan(*v)) return 0;
    if (memchr(a->ptr, '\0', a->len)) return 0;
    return 1;
}

/* The rank interval [lo, hi) of a score range min..max. */
typedef struct {
    uint64_t lo, hi;
} zspan;

static int score_range(const data_arg *min, const data_arg *max, zbound *lo, zbound *hi)
{
    double a, b;
    int ea, eb;
    if (!parse_range_item(min, &a, &ea) || !parse_range_item(max, &b, &eb)) return 0;
    *lo = (zbound){0, a, NULL, 0, !ea, 0}; /* elements below min: < a, or <= a if exclusive */
    lo->incl = ea;
    *hi = (zbound){0, b, NULL, 0, !eb, 0}; /* elements up to max */
    return 1;
}

/* Redis zslParseLexRangeItem */
static int lex_item(const data_arg *a, zbound *b, int is_max)
{
    *b = (zbound){1, 0, NULL, 0, 0, 0};
    if (a->len == 1 && a->ptr[0] == '+') {
        b->inf = 1;
        return 1;
    }
    if (a->len == 1 && a->ptr[0] == '-') {
        b->inf = -1;
        return 1;
    }
    if (a->len == 0 || (a->ptr[0] != '(' && a->ptr[0] != '[')) return 0;
    b->m = a->ptr + 1;
    b->ml = a->len - 1;
    int incl = a->ptr[0] == '[';
    /* lower bound: elements below min are < m (incl) or <= m (excl); upper: <= m or < m */
    b->incl = is_max ? incl : !incl;
    return 1;
}

static int lex_range(const data_arg *min, const data_arg *max, zbound *lo, zbound *hi)
{
    return lex_item(min, lo, 0) && lex_item(max, hi, 1);
}

static zspan span_of(zset *z, const zbound *lo, const zbound *hi)
{
    zspan s = {zs_count_below(z, lo), zs_count_below(z, hi)};
    if (s.hi < s.lo) s.hi = s.lo;
    return s;
}

/* ---- replies ---- */

static int resp3(data_call *c)
{
    return c->ops->is_resp3 && c->ops->is_resp3(c->rctx);
}

static void reply_dbl(data_call *c, double v)
{
    c->ops->dbl(c->rctx, v);
}

/* Header for n elements, each emitted by emit_el. */
static void begin_els(data_call *c, uint64_t n, int withscores)
{
    c->ops->array(c->rctx, (size_t)(withscores && !resp3(c) ? 2 * n : n));
}

static void emit_el(data_call *c, zref r, int withscores)
{
    if (withscores && resp3(c)) c->ops->array(c->rctx, 2);
    reply_bulk(c, r.m, r.ml);
    if (withscores) reply_dbl(c, r.score);
}

/* The live zset at key for reading: NULL if absent; sets *wrong (after the reply). */
static dentry *z_read(data_call *c, const data_arg *key, int *wrong)
{
    dentry *e = ks_read(c, key);
    *wrong = e && e->type != DT_ZSET;
    if (*wrong) reply_wrongtype(c);
    return *wrong ? NULL : e;
}

/* ---- ZADD ZINCRBY ---- */

static void zadd_generic(data_call *c, int incr)
{
    int nx = 0, xx = 0, gt = 0, lt = 0, ch = 0, i = 2;
    for (; i < c->argc; i++) {
        const data_arg *a = &c->argv[i];
        if (arg_eq(a, "nx"))
            nx = 1;
        else if (arg_eq(a, "xx"))
            xx = 1;
        else if (arg_eq(a, "ch"))
            ch = 1;
        else if (arg_eq(a, "incr"))
            incr = 1;
        else if (arg_eq(a, "gt"))
            gt = 1;
        else if (arg_eq(a, "lt"))
            lt = 1;
        else
            break;
    }
    int n = c->argc - i;
    if (n % 2 || n == 0) {
        reply_syntax(c);
        return;
    }
    n /= 2;
    if (nx && xx) {
        reply_err(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_err(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && n > 1) {
        reply_err(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = dmem_alloc(NULL, (size_t)n * sizeof *scores);
    for (int j = 0; j < n; j++) {
        if (score_or_reply(c, &c->argv[i + 2 * j], &scores[j]) < 0) {
            dmem_free(NULL, scores);
            return;
        }
    }
    dpos pos;
    dentry *e = NULL;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (ks_write(c, &c->argv[1], &pos)) {
        e = *pos.slot;
        if (e->type != DT_ZSET) {
            reply_wrongtype(c);
            dmem_free(NULL, scores);
            return;
        }
    } else if (!xx) {
        e = zset_new_entry(c->ds, c->argv[1].ptr, c->argv[1].len, -1);
        ks_insert(c, e);
    }
    for (int j = 0; e && j < n; j++) {
        const data_arg *m = &c->argv[i + 2 * j + 1];
        zset *z = zs_of(e);
        double cur, s = scores[j];
        if (zs_score(z, m->ptr, m->len, &cur)) {
            if (nx) continue;
            if (incr) {
                s = cur + s;
                if (isnan(s)) {
                    reply_err(c, "ERR resulting score is not a number (NaN)");
                    goto out;
                }
            }
            if ((lt && s >= cur) || (gt && s <= cur)) continue;
            processed++;
            score = s;
            if (s != cur) {
                (void)zs_put(c->ds, z, m->ptr, m->len, s);
                updated++;
                c->dirty = 1;
            }
        } else {
            if (xx) continue;
            (void)zs_put(c->ds, z, m->ptr, m->len, s);
            added++;
            processed++;
            score = s;
            c->dirty = 1;
        }
    }
    if (incr) {
        if (processed)
            reply_dbl(c, score);
        else
            reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
out:
    if (e && zs_of(e)->len == 0 && dict_find(&c->ds->keys, c->argv[1].ptr, c->argv[1].len, &pos))
        ks_delete(c, pos);
    dmem_free(NULL, scores);
}

void cmd_zadd(data_call *c)
{
    zadd_generic(c, 0);
}

void cmd_zincrby(data_call *c)
{
    zadd_generic(c, 1);
}

/* ---- ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ---- */

void cmd_zscore(data_call *c)
{
    int wrong;
    dentry *e = z_read(c, &c->argv[1], &wrong);
    double s;
    if (wrong) return;
    if (e && zs_score(zs_of(e), c->argv[2].ptr, c->argv[2].len, &s))
        reply_dbl(c, s);
    else
        reply_null(c);
}

void cmd_zmscore(data_call *c)
{
    int wrong;
    dentry *e = z_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    c->ops->array(c->rctx, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        double s;
        if (e && zs_score(zs_of(e), c->argv[i].ptr, c->argv[i].len, &s))
            reply_dbl(c, s);
        else
            reply_null(c);
    }
}

void cmd_zcard(data_call *c)
{
    int wrong;
    dentry *e = z_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_int(c, e ? (long long)zset_len(e) : 0);
}

static void zcount_generic(data_call *c, int lex)
{
    zbound lo, hi;
    if (!(lex ? lex_range(&c->argv[2], &c->argv[3], &lo, &hi)
              : score_range(&c->argv[2], &c->argv[3], &lo, &hi))) {
        reply_err(c, lex ? "ERR min or max not valid string range item"
                         : "ERR min or max is not a float");
        return;
    }
    int wrong;
    dentry *e = z_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    zspan s = span_of(zs_of(e), &lo, &hi);
    reply_int(c, (long long)(s.hi - s.lo));
}

void cmd_zcount(data_call *c)
{
    zcount_generic(c, 0);
}

void cmd_zlexcount(data_call *c)
{
    zcount_generic(c, 1);
}

static void zrank_generic(data_call *c, int rev)
{
    int wrong;
    dentry *e = z_read(c, &c->argv[1], &wrong);
    double s;
    if (wrong) return;
    if (!e || !zs_score(zs_of(e), c->argv[2].ptr, c->argv[2].len, &s)) {
        reply_null(c);
        return;
    }
    zset *z = zs_of(e);
    uint64_t r = zs_rank_before(z, s, c->argv[2].ptr, c->argv[2].len);
    reply_int(c, (long long)(rev ? z->len - 1 - r : r));
}

void cmd_zrank(data_call *c)
{
    zrank_generic(c, 0);
}

void cmd_zrevrank(data_call *c)
{
    zrank_generic(c, 1);
}

/* ---- ZREM ZREMRANGEBY* ---- */

void cmd_zrem(data_call *c)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_int(c, 0);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_ZSET) {
        reply_wrongtype(c);
        return;
    }
    long long n = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!zs_del(zs_of(e), c->argv[i].ptr, c->argv[i].len)) continue;
        n++;
        c->dirty = 1;
        if (zset_len(e) == 0) {
            ks_delete(c, pos);
            break;
        }
    }
    reply_int(c, n);
}

/* Deletes the elements of ranks [lo, hi) */
static void del_span(zset *z, zspan s)
{
    uint64_t n = s.hi - s.lo;
    if (!n) return;
    if (!z->big) {
        uint32_t lo = pk_offset(z, s.lo), hi = lo;
        for (uint64_t i = s.lo; i < s.hi; i++)
            hi += pk_read(z->u.buf + hi).size;
        pk_close(z, lo, hi - lo);
        z->len -= n;
        return;
    }
    znode *x = zsl_at(z, s.lo);
    for (uint64_t i = 0; i < n; i++) {
        znode *next = x->lv[0].fwd;
        dpos pos;
        SYN_ASSERT(dict_find(&ZB(z)->d, x->m, zn_ml(x), &pos));
        dentry *de = dict_unlink(&ZB(z)->d, pos);
        zsl_unlink(z, x);
        dmem_free(z->mem, x);
        dmem_free(z->mem, de);
        z->len--;
        x = next;
    }
}

/* Rank arguments as Redis sanitizes them: an empty span if the range is empty. */
static zspan rank_span(long long start, long long end, uint64_t len)
{
    long long l = (long long)len;
    if (start < 0) start += l;
    if (end < 0) end += l;
    if (start < 0) start = 0;
    if (start > end || start >= l) return (zspan){0, 0};
    if (end >= l) end = l - 1;
    return (zspan){(uint64_t)start, (uint64_t)end + 1};
}

static void zremrange_generic(data_call *c, int type) /* 0 rank, 1 score, 2 lex */
{
    long long start = 0, end = 0;
    zbound lo, hi;
    if (type == 0) {
        if (arg_ll_or_reply(c, &c->argv[2], &start) < 0 ||
            arg_ll_or_reply(c, &c->argv[3], &end) < 0)
            return;
    } else if (type == 1 && !score_range(&c->argv[2], &c->argv[3], &lo, &hi)) {
        reply_err(c, "ERR min or max is not a float");
        return;
    } else if (type == 2 && !lex_range(&c->argv[2], &c->argv[3], &lo, &hi)) {
        reply_err(c, "ERR min or max not valid string range item");
        return;
    }
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_int(c, 0);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_ZSET) {
        reply_wrongtype(c);
        return;
    }
    zset *z = zs_of(e);
    zspan s = type == 0 ? rank_span(start, end, z->len) : span_of(z, &lo, &hi);
    del_span(z, s);
    if (s.hi > s.lo) c->dirty = 1;
    if (z->len == 0) ks_delete(c, pos);
    reply_int(c, (long long)(s.hi - s.lo));
}

void cmd_zremrangebyrank(data_call *c)
{
    zremrange_generic(c, 0);
}

void cmd_zremrangebyscore(data_call *c)
{
    zremrange_generic(c, 1);
}

void cmd_zremrangebylex(data_call *c)
{
    zremrange_generic(c, 2);
}

/* ---- ZRANGE and friends ---- */

typedef struct {
    int type; /* 0 rank, 1 score, 2 lex */
    int rev, withscores, has_limit;
    long long offset, limit;
    const data_arg *min, *max; /* as given (for REV: first is max) */
} zrange_opts;

/* The elements selected, as ranks in emission order: start rank and count, walking rev. */
typedef struct {
    uint64_t first, n;
    int rev;
} zsel;

/* -1 after an error reply (nothing emitted); 0 with *sel set. e may be NULL. */
static int zrange_select(data_call *c, const zrange_opts *o, zset *z, zsel *sel)
{
    *sel = (zsel){0, 0, o->rev};
    if (o->type == 0) {
        long long start, end;
        if (arg_ll_or_reply(c, o->min, &start) < 0 || arg_ll_or_reply(c, o->max, &end) < 0)
            return -1;
        if (!z) return 0;
        zspan s = rank_span(start, end, z->len);
        sel->n = s.hi - s.lo;
        sel->first = o->rev ? z->len - 1 - s.lo : s.lo;
        return 0;
    }
    zbound lo, hi;
    /* with REV the arguments are max then min */
    const data_arg *mn = o->rev ? o->max : o->min, *mx = o->rev ? o->min : o->max;
    if (o->type == 1 && !score_range(mn, mx, &lo, &hi)) {
        reply_err(c, "ERR min or max is not a float");
        return -1;
    }
    if (o->type == 2 && !lex_range(mn, mx, &lo, &hi)) {
        reply_err(c, "ERR min or max not valid string range item");
        return -1;
    }
    if (!z) return 0;
    zspan s = span_of(z, &lo, &hi);
    uint64_t n = s.hi - s.lo;
    if (o->offset < 0 || (uint64_t)o->offset >= n) {
        sel->n = 0;
        return 0;
    }
    n -= (uint64_t)o->offset;
    if (o->limit >= 0 && (uint64_t)o->limit < n) n = (uint64_t)o->limit;
    sel->n = n;
    sel->first = o->rev ? s.hi - 1 - (uint64_t)o->offset : s.lo + (uint64_t)o->offset;
    return 0;
}

static zref *collect(zset *z, const zsel *sel)
{
    zref *v = dmem_alloc(NULL, (size_t)(sel->n ? sel->n : 1) * sizeof *v);
    ziter it;
    zi_start(&it, z, sel->first);
    for (uint64_t i = 0; i < sel->n; i++, zi_next(&it, sel->rev))
        v[i] = zi_get(&it);
    return v;
}

/* Redis zrangeGenericCommand, from argv[argi] (min max [options]); dst for ZRANGESTORE. */
static void zrange_generic(data_call *c, int argi, const data_arg *dst, int type, int rev,
                           int allow_opts)
{
    zrange_opts o = {type, rev, 0, 0, 0, -1, &c->argv[argi], &c->argv[argi + 1]};
    for (int j = argi + 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const data_arg *a = &c->argv[j];
        if (!dst && arg_eq(a, "withscores")) {
            o.withscores = 1;
        } else if (arg_eq(a, "limit") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &o.offset) < 0 ||
                arg_ll_or_reply(c, &c->argv[j + 2], &o.limit) < 0)
                return;
            o.has_limit = 1;
            j += 2;
        } else if (allow_opts && o.type == 0 && arg_eq(a, "bylex")) {
            o.type = 2;
        } else if (allow_opts && o.type == 0 && arg_eq(a, "byscore")) {
            o.type = 1;
        } else if (allow_opts && arg_eq(a, "rev")) {
            o.rev = 1;
        } else {
            reply_syntax(c);
            return;
        }
    }
    if (o.has_limit && o.type == 0) {
        reply_err(c, "ERR syntax error, LIMIT is only supported in combination with either "
                     "BYSCORE or BYLEX");
        return;
    }
    if (o.withscores && o.type == 2) {
        reply_err(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    const data_arg *key = &c->argv[dst ? 2 : 1];
    dentry *e = ks_read(c, key);
    if (e && e->type != DT_ZSET) {
        /* Redis parses the range first for ranks; errors about the range come before */
        zsel tmp;
        if (zrange_select(c, &o, NULL, &tmp) < 0) return;
        reply_wrongtype(c);
        return;
    }
    zsel sel;
    if (zrange_select(c, &o, e ? zs_of(e) : NULL, &sel) < 0) return;
    if (dst) {
        zref *v = e ? collect(zs_of(e), &sel) : NULL;
        /* built before dst goes: dst may be the source */
        dentry *res = sel.n ? build(c->ds, dst, v, (size_t)sel.n) : NULL;
        dpos pos;
        if (ks_write(c, dst, &pos)) ks_delete(c, pos);
        if (res) ks_insert(c, res);
        c->dirty = 1;
        reply_int(c, (long long)sel.n);
        dmem_free(NULL, v);
        return;
    }
    begin_els(c, sel.n, o.withscores);
    if (!e) return;
    ziter it;
    zi_start(&it, zs_of(e), sel.first);
    for (uint64_t i = 0; i < sel.n; i++, zi_next(&it, sel.rev))
        emit_el(c, zi_get(&it), o.withscores);
}

void cmd_zrange(data_call *c)
{
    zrange_generic(c, 2, NULL, 0, 0, 1);
}

void cmd_zrangestore(data_call *c)
{
    zrange_generic(c, 3, &c->argv[1], 0, 0, 1);
}

void cmd_zrangebyscore(data_call *c)
{
    zrange_generic(c, 2, NULL, 1, 0, 0);
}

void cmd_zrevrangebyscore(data_call *c)
{
    zrange_generic(c, 2, NULL, 1, 1, 0);
}

void cmd_zrangebylex(data_call *c)
{
    zrange_generic(c, 2, NULL, 2, 0, 0);
}

void cmd_zrevrangebylex(data_call *c)
{
    zrange_generic(c, 2, NULL, 2, 1, 0);
}

void cmd_zrevrange(data_call *c)
{
    zrange_generic(c, 2, NULL, 0, 1, 0);
}

/* ---- ZPOPMIN ZPOPMAX ZMPOP ---- */

/* Pops up to count from key's zset (e at pos), replying pairs; nested in RESP3 or for ZMPOP. */
static void pop_from(data_call *c, dpos pos, dentry *e, uint64_t count, int max, int nested)
{
    zset *z = zs_of(e);
    uint64_t n = count < z->len ? count : z->len;
    c->ops->array(c->rctx, (size_t)(nested ? n : 2 * n));
    zsel sel = {max ? z->len - 1 : 0, n, max};
    zref *v = collect(z, &sel);
    for (uint64_t i = 0; i < n; i++) {
        if (nested) c->ops->array(c->rctx, 2);
        reply_bulk(c, v[i].m, v[i].ml);
        reply_dbl(c, v[i].score);
    }
    dmem_free(NULL, v);
    del_span(z, max ? (zspan){z->len - n, z->len} : (zspan){0, n});
    if (n) c->dirty = 1;
    if (z->len == 0) ks_delete(c, pos);
}

static void zpop_generic(data_call *c, int max)
{
    long long count = 1;
    if (c->argc > 3) {
        reply_syntax(c);
        return;
    }
    if (c->argc == 3) {
        if (!syn_string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0) {
            reply_err(c, "ERR value is out of range, must be positive");
            return;
        }
    }
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        c->ops->array(c->rctx, 0);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_ZSET) {
        reply_wrongtype(c);
        return;
    }
    pop_from(c, pos, e, (uint64_t)count, max, c->argc == 3 && resp3(c));
}

void cmd_zpopmin(data_call *c)
{
    zpop_generic(c, 0);
}

void cmd_zpopmax(data_call *c)
{
    zpop_generic(c, 1);
}

/* ZMPOP (numkeys at argv[1]) and BZMPOP (timeout at argv[1], numkeys at argv[2]). */
static void zmpop_generic(data_call *c, int nk)
{
    long long numkeys, count = 1;
    if (!syn_string2ll(c->argv[nk].ptr, c->argv[nk].len, &numkeys) || numkeys <= 0) {
        reply_err(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - nk - 2) {
        reply_syntax(c);
        return;
    }
    int wi = nk + 1 + (int)numkeys, max;
    if (arg_eq(&c->argv[wi], "min"))
        max = 0;
    else if (arg_eq(&c->argv[wi], "max"))
        max = 1;
    else {
        reply_syntax(c);
        return;
    }
    int has_count = 0;
    for (int j = wi + 1; j < c->argc; j++) {
        if (!has_count && arg_eq(&c->argv[j], "count") && j + 1 < c->argc) {
            if (!syn_string2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &count) || count <= 0) {
                reply_err(c, "ERR count should be greater than 0");
                return;
            }
            has_count = 1;
            j++;
        } else {
            reply_syntax(c);
            return;
        }
    }
    int64_t timeout = 0;
    if (nk == 2 && block_timeout_or_reply(c, &c->argv[1], &timeout) < 0) return;
    for (int k = nk + 1; k < wi; k++) {
        dpos pos;
        if (!ks_write(c, &c->argv[k], &pos)) continue;
        dentry *e = *pos.slot;
        if (e->type != DT_ZSET) {
            reply_wrongtype(c);
            return;
        }
        c->ops->array(c->rctx, 2);
        reply_bulk(c, c->argv[k].ptr, c->argv[k].len);
        pop_from(c, pos, e, (uint64_t)count, max, 1);
        return;
    }
    if (nk == 2)
        block_or_timeout(c, timeout, nk + 1, (int)numkeys, DATA_BLOCK_ZSET, 0);
    else
        c->ops->null_array(c->rctx);
}

void cmd_zmpop(data_call *c)
{
    zmpop_generic(c, 1);
}

void cmd_bzmpop(data_call *c)
{
    zmpop_generic(c, 2);
}

/* BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score] from the first key that has
 * members (run here without blocking: see data_exec_block). */
static void bzpop_generic(data_call *c, int max)
{
    int64_t timeout;
    if (block_timeout_or_reply(c, &c->argv[c->argc - 1], &timeout) < 0) return;
    for (int k = 1; k < c->argc - 1; k++) {
        dpos pos;
        if (!ks_write(c, &c->argv[k], &pos)) continue;
        dentry *e = *pos.slot;
        if (e->type != DT_ZSET) {
            reply_wrongtype(c);
            return;
        }
        zset *z = zs_of(e);
        zsel sel = {max ? z->len - 1 : 0, 1, max};
        zref *v = collect(z, &sel);
        c->ops->array(c->rctx, 3);
        reply_bulk(c, c->argv[k].ptr, c->argv[k].len);
        reply_bulk(c, v[0].m, v[0].ml);
        reply_dbl(c, v[0].score);
        dmem_free(NULL, v);
        del_span(z, max ? (zspan){z->len - 1, z->len} : (zspan){0, 1});
        c->dirty = 1;
        if (z->len == 0) ks_delete(c, pos);
        return;
    }
    block_or_timeout(c, timeout, 1, c->argc - 2, DATA_BLOCK_ZSET, 0);
}

void cmd_bzpopmin(data_call *c)
{
    bzpop_generic(c, 0);
}

void cmd_bzpopmax(data_call *c)
{
    bzpop_generic(c, 1);
}

/* ---- ZUNION ZINTER ZDIFF (and STORE) ZINTERCARD ---- */

typedef struct {
    dentry *e; /* a zset, or a set (scores 1), or NULL */
    double w;
} zsrc;

static int src_len(const zsrc *s)
{
    return s->e ? 1 : 0;
}

static uint64_t src_size(const zsrc *s)
{
    if (!s->e) return 0;
    return s->e->type == DT_ZSET ? zset_len(s->e) : set_len(s->e);
}

static int src_score(const zsrc *s, const char *m, size_t ml, double *out)
{
    if (!s->e) return 0;
    if (s->e->type == DT_ZSET) return zs_score(zs_of(s->e), m, ml, out);
    *out = 1.0;
    return set_has(s->e, m, ml);
}

typedef struct {
    zref *v;
    size_t n, cap;
    char *own; /* copies of members that had no stable bytes (intset values), or NULL */
    size_t own_len, own_cap;
} zlist;

static void zl_free(zlist *l)
{
    dmem_free(NULL, l->v);
    dmem_free(NULL, l->own);
}

static void zl_push(zlist *l, const char *m, size_t ml, double s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = dmem_realloc(NULL, l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (zref){m, ml, s};
}

static void zl_cb(void *ctx, const char *m, size_t ml, double s)
{
    zl_push(ctx, m, ml, s);
}

/* A set member: an intset value arrives formatted in a buffer that does not outlive the call,
 * so set members are copied into the list's own bytes (offsets until the list is complete). */
static void zl_set_cb(void *ctx, const char *m, size_t ml)
{
    zlist *l = ctx;
    if (!l->own || l->own_len + ml > l->own_cap) { /* allocated even for "": own + 0 below */
        l->own_cap = (l->own_cap + ml) * 2 + 16;
        l->own = dmem_realloc(NULL, l->own, l->own_cap);
    }
    memcpy(l->own + l->own_len, m, ml);
    zl_push(l, (const char *)(uintptr_t)l->own_len, ml, 1.0);
    l->own_len += ml;
}

/* The elements of a source, with member bytes copied (set members may be formatted ints). */
static void src_elems(const zsrc *s, zlist *l)
{
    if (!s->e) return;
    if (s->e->type == DT_ZSET) {
        zset_each(s->e, zl_cb, l);
    } else {
        size_t from = l->n;
        set_each(s->e, zl_set_cb, l);
        for (size_t k = from; k < l->n; k++) /* offsets into own -> pointers, now it is final */
            l->v[k].m = l->own + (uintptr_t)l->v[k].m;
    }
}

static double agg(int how, double a, double b)
{
    if (how == 0) {
        double r = a + b;
        return isnan(r) ? 0.0 : r; /* Redis: inf + -inf = 0 */
    }
    return how == 1 ? (a < b ? a : b) : (a > b ? a : b);
}

static double weighted(double s, double w)
{
    double r = s * w;
    return isnan(r) ? 0.0 : r;
}

static int by_src_size(const void *a, const void *b)
{
    uint64_t x = src_size(a), y = src_size(b);
    return x < y ? -1 : x > y;
}

static int zref_cmp(const void *a, const void *b)
{
    const zref *x = a, *y = b;
    return elcmp(x->score, x->m, x->ml, y->score, y->m, y->ml);
}

/* op: 0 union, 1 inter, 2 diff. Redis zunionInterDiffGenericCommand. */
static void zsetop(data_call *c, int numkeys_idx, const data_arg *dst, int op)
{
    long long numkeys;
    if (arg_ll_or_reply(c, &c->argv[numkeys_idx], &numkeys) < 0) return;
    if (numkeys < 1) {
        reply_err(c,
                  dst ? (op == 0   ? "ERR at least 1 input key is needed for 'zunionstore' command"
                         : op == 1 ? "ERR at least 1 input key is needed for 'zinterstore' command"
                                   : "ERR at least 1 input key is needed for 'zdiffstore' command")
                      : (op == 0   ? "ERR at least 1 input key is needed for 'zunion' command"
                         : op == 1 ? "ERR at least 1 input key is needed for 'zinter' command"
                                   : "ERR at least 1 input key is needed for 'zdiff' command"));
        return;
    }
    if (numkeys > c->argc - numkeys_idx - 1) {
        reply_syntax(c);
        return;
    }
    int ki = numkeys_idx + 1, n = (int)numkeys;
    zsrc *src = dmem_calloc(NULL, (size_t)n, sizeof *src);
    int how = 0, withscores = 0;
    for (int i = 0; i < n; i++) {
        dentry *e = ks_read(c, &c->argv[ki + i]);
        if (e && e->type != DT_ZSET && e->type != DT_SET) {
            reply_wrongtype(c);
            goto out;
        }
        src[i] = (zsrc){e, 1.0};
    }
    for (int j = ki + n; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const data_arg *a = &c->argv[j];
        if (op != 2 && arg_eq(a, "weights") && left >= n) {
            for (int i = 0; i < n; i++) {
                if (!zset_parse_double(&c->argv[j + 1 + i], &src[i].w)) {
                    reply_err(c, "ERR weight value is not a float");
                    goto out;
                }
            }
            j += n;
        } else if (op != 2 && arg_eq(a, "aggregate") && left >= 1) {
            const data_arg *h = &c->argv[j + 1];
            if (arg_eq(h, "sum"))
                how = 0;
            else if (arg_eq(h, "min"))
                how = 1;
            else if (arg_eq(h, "max"))
                how = 2;
            else {
                reply_syntax(c);
                goto out;
            }
            j++;
        } else if (!dst && arg_eq(a, "withscores")) {
            withscores = 1;
        } else {
            reply_syntax(c);
            goto out;
        }
    }
    (void)src_len;
    zlist res = {0};
    zlist tmp = {0};
    /* result members are copies, owned by `pool` */
    char **pool = NULL;
    size_t npool = 0;
    if (op == 1) {
        qsort(src, (size_t)n, sizeof *src, by_src_size);
        if (src[0].e) {
            src_elems(&src[0], &tmp);
            for (size_t k = 0; k < tmp.n; k++) {
                double s = weighted(tmp.v[k].score, src[0].w), o;
                int all = 1;
                for (int i = 1; i < n && all; i++) {
                    if (src[i].e == src[0].e)
                        o = tmp.v[k].score;
                    else if (!src_score(&src[i], tmp.v[k].m, tmp.v[k].ml, &o))
                        all = 0;
                    if (all) s = agg(how, s, weighted(o, src[i].w));
                }
                if (all) zl_push(&res, tmp.v[k].m, tmp.v[k].ml, s);
            }
        }
    } else if (op == 2) {
        if (src[0].e) {
            src_elems(&src[0], &tmp);
            for (size_t k = 0; k < tmp.n; k++) {
                double o;
                int found = 0;
                for (int i = 1; i < n && !found; i++)
                    found = src_score(&src[i], tmp.v[k].m, tmp.v[k].ml, &o);
                if (!found) zl_push(&res, tmp.v[k].m, tmp.v[k].ml, tmp.v[k].score);
            }
        }
    } else {
        /* union: accumulate in a temporary zset keyed by member (scores aggregated) */
        dentry *acc = zset_new_entry(c->ds, "", 0, -1);
        to_big(zs_of(acc), c->ds->hash_seed);
        for (int i = 0; i < n; i++) {
            zlist l = {0};
            src_elems(&src[i], &l);
            for (size_t k = 0; k < l.n; k++) {
                double s = weighted(l.v[k].score, src[i].w), o;
                if (zs_score(zs_of(acc), l.v[k].m, l.v[k].ml, &o)) s = agg(how, o, s);
                (void)zs_put(c->ds, zs_of(acc), l.v[k].m, l.v[k].ml, s);
            }
            zl_free(&l);
        }
        zset_each(acc, zl_cb, &res);
        /* copy members: acc is freed below */
        pool = dmem_alloc(NULL, (res.n ? res.n : 1) * sizeof *pool);
        for (size_t k = 0; k < res.n; k++) {
            pool[npool] = dmem_alloc(NULL, res.v[k].ml + 1);
            memcpy(pool[npool], res.v[k].m, res.v[k].ml);
            res.v[k].m = pool[npool++];
        }
        dentry_free(&c->ds->mem, acc);
    }
    if (res.n) qsort(res.v, res.n, sizeof *res.v, zref_cmp);
    if (dst) {
        /* built before dst goes: dst may be a source */
        dentry *built = res.n ? build(c->ds, dst, res.v, res.n) : NULL;
        dpos pos;
        if (ks_write(c, dst, &pos)) ks_delete(c, pos);
        if (built) ks_insert(c, built);
        c->dirty = 1;
        reply_int(c, (long long)res.n);
    } else {
        begin_els(c, res.n, withscores);
        for (size_t k = 0; k < res.n; k++)
            emit_el(c, res.v[k], withscores);
    }
    for (size_t k = 0; k < npool; k++)
        dmem_free(NULL, pool[k]);
    dmem_free(NULL, pool);
    dmem_free(NULL, res.v);
    zl_free(&tmp);
out:
    dmem_free(NULL, src);
}

void cmd_zunion(data_call *c)
{
    zsetop(c, 1, NULL, 0);
}

void cmd_zinter(data_call *c)
{
    zsetop(c, 1, NULL, 1);
}

void cmd_zdiff(data_call *c)
{
    zsetop(c, 1, NULL, 2);
}

void cmd_zunionstore(data_call *c)
{
    zsetop(c, 2, &c->argv[1], 0);
}

void cmd_zinterstore(data_call *c)
{
    zsetop(c, 2, &c->argv[1], 1);
}

void cmd_zdiffstore(data_call *c)
{
    zsetop(c, 2, &c->argv[1], 2);
}

void cmd_zintercard(data_call *c)
{
    long long numkeys, limit = 0;
    if (arg_ll_or_reply(c, &c->argv[1], &numkeys) < 0) return;
    if (numkeys < 1) {
        reply_err(c, "ERR at least 1 input key is needed for 'zintercard' command");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_syntax(c);
        return;
    }
    for (int i = 0; i < (int)numkeys; i++) {
        dentry *e = ks_read(c, &c->argv[2 + i]);
        if (e && e->type != DT_ZSET && e->type != DT_SET) {
            reply_wrongtype(c);
            return;
        }
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_eq(&c->argv[j], "limit") && j + 1 < c->argc) {
            j++;
            if (!syn_string2ll(c->argv[j].ptr, c->argv[j].len, &limit) || limit < 0) {
                reply_err(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax(c);
            return;
        }
    }
    int n = (int)numkeys;
    zsrc *src = dmem_calloc(NULL, (size_t)n, sizeof *src);
    for (int i = 0; i < n; i++) {
        dentry *e = ks_read(c, &c->argv[2 + i]);
        if (e && e->type != DT_ZSET && e->type != DT_SET) {
            reply_wrongtype(c);
            dmem_free(NULL, src);
            return;
        }
        src[i] = (zsrc){e, 1.0};
    }
    qsort(src, (size_t)n, sizeof *src, by_src_size);
    long long found = 0;
    if (src[0].e) {
        zlist l = {0};
        src_elems(&src[0], &l);
        for (size_t k = 0; k < l.n && (!limit || found < limit); k++) {
            double o;
            int all = 1;
            for (int i = 1; i < n && all; i++)
                all = src[i].e == src[0].e || src_score(&src[i], l.v[k].m, l.v[k].ml, &o);
            found += all;
        }
        zl_free(&l);
    }
    reply_int(c, found);
    dmem_free(NULL, src);
}

/* ---- ZRANDMEMBER ---- */

void cmd_zrandmember(data_call *c)
{
    int wrong;
    if (c->argc > 4 || (c->argc == 4 && !arg_eq(&c->argv[3], "withscores"))) {
        reply_syntax(c);
        return;
    }
    if (c->argc == 2) {
        dentry *e = z_read(c, &c->argv[1], &wrong);
        if (wrong) return;
        if (!e) {
            reply_null(c);
            return;
        }
        zset *z = zs_of(e);
        ziter it;
        zi_start(&it, z, data_rng_u64(c->ds) % z->len);
        zref r = zi_get(&it);
        reply_bulk(c, r.m, r.ml);
        return;
    }
    long long l;
    int ws = c->argc == 4;
    if (arg_ll_or_reply(c, &c->argv[2], &l) < 0) return;
    if (l == LLONG_MIN) { /* Redis's range check of the count, before WITHSCORES' own */
        reply_err(c, "ERR value is out of range, value must between -9223372036854775807 and "
                     "9223372036854775807");
        return;
    }
    if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
        if (ws || l < -LLONG_MAX / 2) {
            reply_err(c, "ERR value is out of range");
            return;
        }
    }
    dentry *e = z_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e || l == 0) {
        c->ops->array(c->rctx, 0);
        return;
    }
    zset *z = zs_of(e);
    if (l < 0) {
        uint64_t cnt = (uint64_t)-l;
        begin_els(c, cnt, ws);
        for (uint64_t i = 0; i < cnt; i++) {
            ziter it;
            zi_start(&it, z, data_rng_u64(c->ds) % z->len);
            emit_el(c, zi_get(&it), ws);
        }
        return;
    }
    uint64_t cnt = (uint64_t)l;
    if (cnt >= z->len) {
        /* the whole set, highest first (Redis walks it from the tail) */
        begin_els(c, z->len, ws);
        ziter it;
        zi_start(&it, z, z->len - 1);
        for (uint64_t i = 0; i < z->len; i++, zi_next(&it, 1))
            emit_el(c, zi_get(&it), ws);
        return;
    }
    /* a partial Fisher-Yates shuffle of the ranks */
    uint64_t *ranks = dmem_alloc(NULL, (size_t)z->len * sizeof *ranks);
    for (uint64_t i = 0; i < z->len; i++)
        ranks[i] = i;
    begin_els(c, cnt, ws);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t j = i + data_rng_u64(c->ds) % (z->len - i), t = ranks[i];
        ranks[i] = ranks[j];
        ranks[j] = t;
        ziter it;
        zi_start(&it, z, ranks[i]);
        emit_el(c, zi_get(&it), ws);
    }
    dmem_free(NULL, ranks);
}

/* ---- ZSCAN ---- */

static void fmt_score(char *buf, size_t cap, double v, size_t *n)
{
    if (isinf(v)) {
        *n = (size_t)snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
        return;
    }
    *n = (size_t)snprintf(buf, cap, "%.17g", v);
}

static void scan_cb(void *ctx, dentry *de)
{
    znode *x = entry_node(de);
    zl_push(ctx, x->m, zn_ml(x), x->score);
}

void cmd_zscan(data_call *c)
{
    uint64_t cursor;
    long long count;
    const data_arg *pattern;
    dentry *e = scan_key_or_reply(c, DT_ZSET, &cursor, &count, &pattern);
    if (!e) return;
    zset *z = zs_of(e);
    zlist l = {0};
    if (z->big) {
        long long iters = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = dict_scan(&ZB(z)->d, cursor, scan_cb, &l);
        } while (cursor && iters-- && l.n < (unsigned long long)count);
    } else {
        zset_each(e, zl_cb, &l);
        cursor = 0;
    }
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!pattern || glob_match(pattern->ptr, pattern->len, l.v[i].m, l.v[i].ml, 0))
            l.v[kept++] = l.v[i];
    reply_cursor(c, cursor);
    c->ops->array(c->rctx, kept * 2);
    for (size_t i = 0; i < kept; i++) {
        char buf[64];
        size_t n;
        reply_bulk(c, l.v[i].m, l.v[i].ml);
        fmt_score(buf, sizeof buf, l.v[i].score, &n);
        reply_bulk(c, buf, n);
    }
    dmem_free(NULL, l.v);
}
