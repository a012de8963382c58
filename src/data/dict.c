/* dict.c — chained hash table with incremental rehashing and a resize-safe scan cursor. */
#include <malloc.h>
#include <stdlib.h>

#include "data/data_internal.h"
#include "util/assert.h"

#define DICT_MIN_SIZE 4
/* Buckets moved per insert/unlink while rehashing: growth doubles the table when used ==
 * size, so moving >= 1 bucket per insert finishes before the next growth is due. */
#define DICT_REHASH_STEPS 2
#define DICT_EMPTY_VISITS 10 /* bound on empty buckets skipped per step */
/* A table this small is rehashed in one go (bounded work): nested tables of small sets and
 * hashes would otherwise keep both arrays until enough later writes finish the move. */
#define DICT_REHASH_NOW 64

/* Out of memory stops the process, as Redis's zmalloc does: every allocation here is bounded by
 * the size limits on input (512 MB per string), and half-applied commands would be worse. */
void *dmem_alloc(size_t *mem, size_t n)
{
    void *p = malloc(n);
    SYN_ASSERT(p != NULL);
    if (mem) *mem += malloc_usable_size(p) + sizeof(size_t);
    return p;
}

/* Zeroed memory. Large bucket arrays come from fresh mmapped pages that glibc does not clear
 * again, so growing a big table costs no memset pass (no latency spike on resize). */
void *dmem_calloc(size_t *mem, size_t n, size_t size)
{
    void *p = calloc(n, size);
    SYN_ASSERT(p != NULL);
    if (mem) *mem += malloc_usable_size(p) + sizeof(size_t);
    return p;
}

void *dmem_realloc(size_t *mem, void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) + sizeof(size_t) : 0;
    void *q = realloc(p, n);
    SYN_ASSERT(q != NULL);
    if (mem) *mem += malloc_usable_size(q) + sizeof(size_t) - old;
    return q;
}

void dmem_free(size_t *mem, void *p)
{
    if (!p) return;
    if (mem) *mem -= malloc_usable_size(p) + sizeof(size_t);
    free(p);
}

static inline uint64_t rd64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                                  \
        v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                     \
        v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                     \
        v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                                  \
    } while (0)

/* SipHash-1-3 (Aumasson & Bernstein; the 1-3 variant Rust and CPython use) keyed with the
 * store's seed: with a random seed from the server, clients cannot choose keys or fields that
 * collide (hash flooding). Written from the paper; checked against its 2-4 test vectors by
 * test_data_hash.c with the round counts as parameters. */
uint64_t dict_siphash(uint64_t k0, uint64_t k1, const char *p, size_t n, int c, int d)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    uint64_t last = (uint64_t)n << 56;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t m = rd64(p);
        v3 ^= m;
        for (int r = 0; r < c; r++)
            SIPROUND;
        v0 ^= m;
    }
    uint64_t t = 0;
    memcpy(&t, p, n); /* little-endian hosts (x86-64, arm64), as rd64 */
    last |= t;
    v3 ^= last;
    for (int r = 0; r < c; r++)
        SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t dict_hash(const dict *d, const char *p, size_t n)
{
    return dict_siphash(d->k0, d->k1, p, n, 1, 3);
}

void dict_init(dict *d, size_t *mem, const uint64_t seed[2])
{
    memset(d, 0, sizeof *d);
    d->rehash_idx = -1;
    d->mem = mem;
    d->k0 = seed[0];
    d->k1 = seed[1];
}

void dict_init_members(dict *d, size_t *mem, const uint64_t seed[2])
{
    dict_init(d, mem, seed);
    d->members = 1;
}

/* Empties d's fields, keeping its kind. */
static void reinit(dict *d)
{
    size_t *mem = d->mem;
    uint64_t seed[2] = {d->k0, d->k1};
    uint8_t members = d->members;
    dict_init(d, mem, seed);
    d->members = members;
}

static inline char *ekey(const dict *d, dentry *e)
{
    return d->members ? dmember_key(e) : dentry_key(e);
}

void dict_deinit(dict *d, void (*free_entry)(dentry *e, void *arg), void *arg)
{
    for (int t = 0; t < 2; t++) {
        for (uint64_t i = 0; i < d->size[t]; i++) {
            dentry *e = d->t[t][i];
            while (e) {
                dentry *next = e->next;
                if (free_entry) free_entry(e, arg);
                e = next;
            }
        }
        dmem_free(d->mem, d->t[t]);
    }
    reinit(d);
}

int dict_free_some(dict *d, size_t budget, void (*free_entry)(dentry *e, void *arg), void *arg)
{
    /* a discarded dict is never rehashed again, so rehash_idx is free to serve as the cursor
     * over both tables: [0, size0) then [size0, size0 + size1) */
    if (d->rehash_idx < 0) d->rehash_idx = 0;
    size_t freed = 0;
    while (freed < budget && (uint64_t)d->rehash_idx < d->size[0] + d->size[1]) {
        uint64_t i = (uint64_t)d->rehash_idx;
        int t = i < d->size[0] ? 0 : 1;
        dentry **b = &d->t[t][t ? i - d->size[0] : i];
        while (*b) {
            dentry *next = (*b)->next;
            free_entry(*b, arg);
            *b = next;
            freed++;
        }
        d->rehash_idx++;
    }
    if ((uint64_t)d->rehash_idx < d->size[0] + d->size[1]) return 0;
    dmem_free(d->mem, d->t[0]);
    dmem_free(d->mem, d->t[1]);
    reinit(d);
    return 1;
}

uint64_t dict_size(const dict *d)
{
    return d->used[0] + d->used[1];
}

uint64_t dict_buckets(const dict *d)
{
    return d->size[0] + d->size[1];
}

static inline int key_eq(const dict *d, dentry *e, const char *key, size_t klen)
{
    return e->klen == klen && memcmp(ekey(d, e), key, klen) == 0;
}

int dict_find_h(const dict *d, const char *key, size_t klen, uint64_t h, dpos *pos)
{
    if (dict_size(d) == 0) return 0;
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0) continue;
        uint64_t idx = h & (d->size[t] - 1);
        /* buckets of t[0] below rehash_idx are already empty */
        if (t == 0 && d->rehash_idx >= 0 && idx < (uint64_t)d->rehash_idx) continue;
        dentry **slot = &d->t[t][idx];
        while (*slot) {
            if (key_eq(d, *slot, key, klen)) {
                pos->slot = slot;
                pos->tab = t;
                return 1;
            }
            slot = &(*slot)->next;
        }
        if (d->rehash_idx < 0) break;
    }
    return 0;
}

int dict_find(const dict *d, const char *key, size_t klen, dpos *pos)
{
    if (dict_size(d) == 0) return 0;
    return dict_find_h(d, key, klen, dict_hash(d, key, klen), pos);
}

void dict_prefetch_h(const dict *d, uint64_t h, int stage)
{
    if (dict_size(d) == 0) return;
    for (int t = 0; t < 2; t++) {
        if (d->size[t] == 0) continue;
        dentry *const *slot = &d->t[t][h & (d->size[t] - 1)];
        if (stage == 0) {
            __builtin_prefetch(slot);
        } else if (*slot) {
            __builtin_prefetch(*slot);
            __builtin_prefetch((const char *)*slot + 64);
        }
        if (d->rehash_idx < 0) break;
    }
}

static void rehash_step(dict *d, int steps)
{
    int empty = DICT_EMPTY_VISITS;
    while (steps-- > 0 && d->rehash_idx >= 0) {
        while ((uint64_t)d->rehash_idx < d->size[0] && !d->t[0][d->rehash_idx]) {
            d->rehash_idx++;
            if (--empty == 0) return;
        }
        if ((uint64_t)d->rehash_idx < d->size[0]) {
            dentry *e = d->t[0][d->rehash_idx];
            while (e) {
                dentry *next = e->next;
                uint64_t idx = dict_hash(d, ekey(d, e), e->klen) & (d->size[1] - 1);
                e->next = d->t[1][idx];
                d->t[1][idx] = e;
                d->used[0]--;
                d->used[1]++;
                e = next;
            }
            d->t[0][d->rehash_idx] = NULL;
            d->rehash_idx++;
        }
        if ((uint64_t)d->rehash_idx >= d->size[0]) {
            SYN_ASSERT_CMP(d->used[0], ==, 0);
            dmem_free(d->mem, d->t[0]);
            d->t[0] = d->t[1];
            d->size[0] = d->size[1];
            d->used[0] = d->used[1];
            d->t[1] = NULL;
            d->size[1] = 0;
            d->used[1] = 0;
            d->rehash_idx = -1;
        }
    }
}

/* Starts moving everything into a table of new_size buckets. */
static void start_resize(dict *d, uint64_t new_size)
{
    SYN_ASSERT(d->rehash_idx < 0);
    SYN_ASSERT(new_size < (SIZE_MAX / sizeof(dentry *)));
    dentry **t = dmem_calloc(d->mem, new_size, sizeof(dentry *));
    if (d->size[0] == 0) {
        d->t[0] = t;
        d->size[0] = new_size;
        return;
    }
    d->t[1] = t;
    d->size[1] = new_size;
    d->rehash_idx = 0;
    if (d->size[0] <= DICT_REHASH_NOW)
        while (d->rehash_idx >= 0)
            rehash_step(d, DICT_REHASH_NOW);
}

void dict_insert(dict *d, dentry *e)
{
    if (d->rehash_idx >= 0) rehash_step(d, DICT_REHASH_STEPS);
    if (d->rehash_idx < 0) {
        if (d->size[0] == 0)
            start_resize(d, DICT_MIN_SIZE);
        else if (d->used[0] >= d->size[0])
            start_resize(d, d->size[0] * 2);
    }
    int t = d->rehash_idx >= 0 ? 1 : 0;
    uint64_t idx = dict_hash(d, ekey(d, e), e->klen) & (d->size[t] - 1);
    e->next = d->t[t][idx];
    d->t[t][idx] = e;
    d->used[t]++;
}

dentry *dict_unlink(dict *d, dpos pos)
{
    dentry *e = *pos.slot;
    *pos.slot = e->next;
    e->next = NULL;
    d->used[pos.tab]--;
    if (d->rehash_idx >= 0) {
        rehash_step(d, DICT_REHASH_STEPS);
    } else if (d->size[0] > DICT_MIN_SIZE && d->used[0] * 8 < d->size[0]) {
        uint64_t ns = DICT_MIN_SIZE;
        while (ns < d->used[0] * 2)
            ns *= 2;
        if (ns < d->size[0]) start_resize(d, ns);
    }
    return e;
}

void dict_replace(dpos pos, dentry *ne)
{
    *pos.slot = ne;
}

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    v = ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
    v = ((v >> 16) & 0x0000ffff0000ffffull) | ((v & 0x0000ffff0000ffffull) << 16);
    return (v >> 32) | (v << 32);
}

static void emit_bucket(dentry *e, dict_scan_cb cb, void *ctx)
{
    while (e) {
        dentry *next = e->next;
        cb(ctx, e);
        e = next;
    }
}

uint64_t dict_scan(const dict *d, uint64_t v, dict_scan_cb cb, void *ctx)
{
    if (dict_size(d) == 0 || d->size[0] == 0) return 0;
    if (d->rehash_idx < 0) {
        uint64_t m0 = d->size[0] - 1;
        emit_bucket(d->t[0][v & m0], cb, ctx);
        v |= ~m0;
        v = rev64(v);
        v++;
        v = rev64(v);
        return v;
    }
    int small = d->size[0] <= d->size[1] ? 0 : 1;
    int large = 1 - small;
    uint64_t m0 = d->size[small] - 1, m1 = d->size[large] - 1;
    emit_bucket(d->t[small][v & m0], cb, ctx);
    /* then every bucket of the larger table that expands the smaller one's bucket */
    do {
        emit_bucket(d->t[large][v & m1], cb, ctx);
        v |= ~m1;
        v = rev64(v);
        v++;
        v = rev64(v);
    } while (v & (m0 ^ m1));
    return v;
}

void dict_each(const dict *d, dict_scan_cb cb, void *ctx)
{
    for (int t = 0; t < 2; t++)
        for (uint64_t i = 0; i < d->size[t]; i++)
            emit_bucket(d->t[t][i], cb, ctx);
}

/* A uniformly random entry of a non-empty dict: a bucket and a position in its chain drawn
 * together from one number, retried when they miss (uniform over entries, not over chains:
 * picking an entry of a random non-empty bucket, as Redis's dictGetRandomKey does, makes an entry
 * alone in its bucket twice as likely as one of a chain of two).
 * Chains are short (SipHash, load <= 1) and tables at least 1/8 full, so a draw takes about 4
 * tries at load 1 and 32 at worst. */
dentry *dict_random(const dict *d, data_store *ds)
{
    SYN_ASSERT(dict_size(d) > 0);
    uint64_t total = d->size[0] + d->size[1];
    int pow2 = (total & (total - 1)) == 0; /* not rehashing: one power-of-two table */
    for (;;) {
        uint64_t r = data_rng_u64(ds);
        uint64_t i = pow2 ? (r & (total - 1)) : r % total;
        dentry *b;
        if (i < d->size[0]) {
            if (d->rehash_idx >= 0 && i < (uint64_t)d->rehash_idx) continue;
            b = d->t[0][i];
        } else {
            b = d->t[1][i - d->size[0]];
        }
        if (!b) continue;
        uint64_t len = 0;
        for (dentry *x = b; x; x = x->next)
            len++;
        /* the position from the top bits (the bucket took the low ones): two bits cover a
         * chain of up to 4, longer chains take a modulo of the high half */
        uint64_t k = len > 4 ? (r >> 32) % len : r >> 62;
        if (k >= len) continue;
        for (; k; k--)
            b = b->next;
        return b;
    }
}
