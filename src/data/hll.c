/* hll.c — HyperLogLog commands as Redis 7.0: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST.
 *
 * A HyperLogLog is a string value in Redis's own "HYLL" format, byte for byte, so a value copied
 * from Redis with GET/SET (or DUMP-free tools that move strings) keeps working, both ways:
 *
 *   "HYLL" | u8 encoding (0 dense, 1 sparse) | 3 unused bytes | u64 little-endian cached
 *   cardinality, bit 63 set = stale | registers
 *
 * 16384 registers (P = 14) each hold the longest run of zeros + 1 seen among the hashes
 * (MurmurHash64A, seed 0xadc83b19) of the elements that select that register.
 * - dense: 16384 registers of 6 bits, 12288 bytes; register i is bits [6i, 6i+6) of the array,
 *   counting each byte's bits from its least significant one;
 * - sparse: a run-length code that covers exactly 16384 registers, in order:
 *   00xxxxxx            ZERO  xxxxxx+1 (1..64) zero registers
 *   01xxxxxx yyyyyyyy   XZERO (xxxxxx<<8 | yyyyyyyy)+1 (1..16384) zero registers
 *   1vvvvvxx            VAL   xx+1 (1..4) registers of value vvvvv+1 (1..32)
 *   A new HLL is sparse; it becomes dense (for good) when a register needs a value above 32 or
 *   the string would grow past hll-sparse-max-bytes.
 *
 * Replication (DESIGN.md "Replicating effects"): PFADD, PFMERGE and PFDEBUG are writes whose
 * effect is a pure function of the value and argv, and of hll-sparse-max-bytes (which therefore
 * must be equal on every node: it decides the bytes stored). Sparse updates follow Redis's
 * algorithm step for step (split, then merge of adjacent equal VALs) so the bytes are Redis's.
 * The cached count works as Redis's: PFADD (when a register grew) and PFMERGE mark it stale, and
 * PFCOUNT of one key whose cache is stale stores the count it computed (Redis's hidden write, so
 * GET shows Redis's bytes at every step). That store happens only when the PFCOUNT is applied
 * from the log (data_set_log_apply): the node routes such a PFCOUNT as a write
 * (data_hll_cache_stale), so every replica stores the same count; served as a read (stale
 * consistency, a read-only script, a race with a PFADD) it computes the count and stores
 * nothing.
 *
 * Bad values: a string that is not an HLL replies "WRONGTYPE Key is not a valid HyperLogLog
 * string value."; a sparse code that does not cover exactly 16384 registers replies
 * "INVALIDOBJ Corrupted HLL object detected". Writes check the code before changing anything. */
#include <math.h>
#include <stdint.h>

#include "data/data_internal.h"
#include "util/assert.h"

#define HLL_P           14
#define HLL_Q           (64 - HLL_P) /* hash bits left after the register index */
#define HLL_REGS        (1 << HLL_P)
#define HLL_HDR         16
#define HLL_REG_BYTES   (HLL_REGS * 6 / 8)
#define HLL_DENSE_BYTES (HLL_HDR + HLL_REG_BYTES) /* 12304 */
#define HLL_EMPTY_BYTES (HLL_HDR + 2)             /* one XZERO of 16384 */
/* The longest valid sparse HLL: every opcode covers at least one register. */
#define HLL_SPARSE_MAX_VALID (HLL_HDR + HLL_REGS)
#define HLL_SEED             0xadc83b19ull
#define HLL_ALPHA_INF        0.721347520444481703680 /* 0.5 / ln 2 */

enum { HLL_DENSE = 0, HLL_SPARSE = 1 };
enum { SP_VAL_MAX = 32, SP_VAL_LEN_MAX = 4, SP_ZERO_LEN_MAX = 64 };
enum { SP_PROMOTE = 2 }; /* sparse_set: the change needs the dense encoding */

static const char ERR_INVALID[] = "INVALIDOBJ Corrupted HLL object detected";
static const char ERR_NOT_HLL[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ---- hashing ---- */

/* MurmurHash2, 64-bit (MurmurHash64A) with Redis's endian-neutral reads. */
static uint64_t murmur64a(const uint8_t *p, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    const uint8_t *end = p + (len - (len & 7));
    for (; p != end; p += 8) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--)
            k = (k << 8) | p[i];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)p[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)p[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)p[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)p[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)p[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)p[1] << 8;  /* fall through */
    case 1: h ^= (uint64_t)p[0]; h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register an element selects and the value it offers: the length of the "00..01" run in
 * the remaining hash bits (1..Q+1). */
static unsigned pat_len(const char *ele, size_t n, long *reg)
{
    uint64_t h = murmur64a((const uint8_t *)ele, n, HLL_SEED);
    *reg = (long)(h & (HLL_REGS - 1));
    h >>= HLL_P;
    h |= 1ull << HLL_Q; /* the run ends by bit Q at the latest */
    return (unsigned)__builtin_ctzll(h) + 1;
}

/* ---- dense registers ---- */

static unsigned dense_get(const uint8_t *r, long i)
{
    size_t bit = (size_t)i * 6, b = bit >> 3;
    unsigned fb = bit & 7;
    unsigned v = (unsigned)r[b] >> fb;
    if (fb > 2) v |= (unsigned)r[b + 1] << (8 - fb); /* the register spans two bytes */
    return v & 63;
}

static void dense_put(uint8_t *r, long i, unsigned v)
{
    size_t bit = (size_t)i * 6, b = bit >> 3;
    unsigned fb = bit & 7;
    r[b] = (uint8_t)((r[b] & ~(63u << fb)) | (v << fb));
    if (fb > 2) r[b + 1] = (uint8_t)((r[b + 1] & ~(63u >> (8 - fb))) | (v >> (8 - fb)));
}

/* 1 if the register grew to cnt, 0 if it already held as much. */
static int dense_set(uint8_t *r, long i, unsigned cnt)
{
    if (cnt <= dense_get(r, i)) return 0;
    dense_put(r, i, cnt);
    return 1;
}

static void dense_histo(const uint8_t *r, int64_t hist[64])
{
    for (size_t j = 0; j < HLL_REG_BYTES; j += 3) { /* 4 registers in 3 bytes */
        const uint8_t *p = r + j;
        hist[p[0] & 63]++;
        hist[(p[0] >> 6 | p[1] << 2) & 63]++;
        hist[(p[1] >> 4 | p[2] << 4) & 63]++;
        hist[p[2] >> 2]++;
    }
}

/* ---- sparse code ---- */

static int sp_is_zero(const uint8_t *p)
{
    return (*p & 0xc0) == 0;
}
static int sp_is_xzero(const uint8_t *p)
{
    return (*p & 0xc0) == 0x40;
}
static int sp_is_val(const uint8_t *p)
{
    return (*p & 0x80) != 0;
}
static unsigned sp_val_value(const uint8_t *p)
{
    return ((*p >> 2) & 31) + 1;
}
static unsigned sp_val_len(const uint8_t *p)
{
    return (*p & 3) + 1;
}
/* An XZERO cut by the end of the string reads its missing byte as 0, as Redis reads the
 * string's terminator; write_ok_sparse refuses such a code before any write. */
static unsigned sp_xzero_len(const uint8_t *p, const uint8_t *end)
{
    unsigned lo = p + 1 < end ? p[1] : 0;
    return (((unsigned)(*p & 63) << 8) | lo) + 1;
}
/* Registers covered by the opcode at p, and its size in bytes. */
static unsigned sp_span(const uint8_t *p, const uint8_t *end, unsigned *size)
{
    *size = 1;
    if (sp_is_zero(p)) return (*p & 63u) + 1;
    if (sp_is_val(p)) return sp_val_len(p);
    *size = 2;
    return sp_xzero_len(p, end);
}
static uint8_t sp_val(unsigned value, unsigned len)
{
    return (uint8_t)(0x80 | (value - 1) << 2 | (len - 1));
}
/* A run of `len` zero registers: ZERO up to 64, XZERO above. Returns the bytes written. */
static unsigned sp_put_zeros(uint8_t *p, unsigned len)
{
    if (len <= SP_ZERO_LEN_MAX) {
        p[0] = (uint8_t)(len - 1);
        return 1;
    }
    p[0] = (uint8_t)(0x40 | (len - 1) >> 8);
    p[1] = (uint8_t)((len - 1) & 0xff);
    return 2;
}

/* The registers of a sparse code in regs (zeroed by the caller). 0 if it covers exactly 16384
 * registers, else -1 (a VAL running past the end stops the walk, as in Redis). */
static int sparse_to_regs(const uint8_t *p, const uint8_t *end, uint8_t regs[HLL_REGS])
{
    uint64_t idx = 0;
    while (p < end) {
        unsigned size, span = sp_span(p, end, &size);
        if (sp_is_val(p)) {
            if (idx + span > HLL_REGS) break;
            unsigned v = sp_val_value(p);
            for (unsigned k = 0; k < span; k++, idx++)
                if (v > regs[idx]) regs[idx] = (uint8_t)v;
        } else {
            idx += span;
        }
        p += size;
    }
    return idx == HLL_REGS ? 0 : -1;
}

static int sparse_histo(const uint8_t *p, const uint8_t *end, int64_t hist[64])
{
    uint64_t idx = 0;
    while (p < end) {
        unsigned size, span = sp_span(p, end, &size);
        hist[sp_is_val(p) ? sp_val_value(p) : 0] += span;
        idx += span;
        p += size;
    }
    return idx == HLL_REGS ? 0 : -1;
}

/* A sparse code a write may change: exactly 16384 registers and no cut XZERO. */
static int write_ok_sparse(const uint8_t *s, size_t len)
{
    const uint8_t *p = s + HLL_HDR, *end = s + len;
    uint64_t idx = 0;
    while (p < end) {
        unsigned size, span = sp_span(p, end, &size);
        if (p + size > end) return 0;
        idx += span;
        p += size;
    }
    return idx == HLL_REGS;
}

/* Raises register `index` to cnt in the sparse HLL s (*len bytes, room for *len + 3), exactly as
 * Redis's hllSparseSet does, so the bytes stay Redis's: the opcode covering the register is split
 * into at most three (ZERO/XZERO/VAL runs around a VAL of length 1), then up to five opcodes from
 * the previous one on are scanned and adjacent VALs of equal value merged while they fit one.
 * Returns 1 (changed), 0 (the register already held as much), SP_PROMOTE (cnt above 32, or the
 * string would grow past sparse_max: nothing changed, the caller converts to dense) or -1 (the
 * code ends before the register). The code must pass write_ok_sparse. */
static int sparse_set(uint8_t *s, size_t *len, size_t sparse_max, long index, unsigned cnt)
{
    if (cnt > SP_VAL_MAX) return SP_PROMOTE;
    uint8_t *start = s + HLL_HDR, *end = s + *len, *p = start, *prev = NULL;
    long first = 0;
    unsigned span = 0, size = 1;
    while (p < end) {
        span = sp_span(p, end, &size);
        if (index <= first + (long)span - 1) break;
        prev = p;
        p += size;
        first += span;
    }
    if (span == 0 || p >= end) return -1;
    uint8_t *next = p + size < end ? p + size : NULL;

    if (sp_is_val(p)) {
        if (sp_val_value(p) >= cnt) return 0;
        if (span == 1) {
            *p = sp_val(cnt, 1);
            goto merge;
        }
    } else if (sp_is_zero(p) && span == 1) {
        *p = sp_val(cnt, 1);
        goto merge;
    }

    /* split the opcode: [run before] VAL(cnt, 1) [run after] */
    uint8_t seq[5];
    unsigned n = 0;
    long last = first + (long)span - 1;
    if (!sp_is_val(p)) {
        if (index != first) n += sp_put_zeros(seq + n, (unsigned)(index - first));
        seq[n++] = sp_val(cnt, 1);
        if (index != last) n += sp_put_zeros(seq + n, (unsigned)(last - index));
    } else {
        unsigned cur = sp_val_value(p);
        if (index != first) seq[n++] = sp_val(cur, (unsigned)(index - first));
        seq[n++] = sp_val(cnt, 1);
        if (index != last) seq[n++] = sp_val(cur, (unsigned)(last - index));
    }
    long delta = (long)n - (long)size;
    if (delta > 0 && *len + (size_t)delta > sparse_max) return SP_PROMOTE;
    if (delta && next) memmove(next + delta, next, (size_t)(end - next));
    memcpy(p, seq, n);
    *len = (size_t)((long)*len + delta);
    end += delta;

merge:
    p = prev ? prev : start;
    for (int scan = 5; p < end && scan > 0; scan--) {
        if (sp_is_xzero(p)) {
            p += 2;
            continue;
        }
        if (sp_is_zero(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && sp_is_val(p + 1) && sp_val_value(p) == sp_val_value(p + 1)) {
            unsigned l = sp_val_len(p) + sp_val_len(p + 1);
            if (l <= SP_VAL_LEN_MAX) {
                p[1] = sp_val(sp_val_value(p), l);
                memmove(p, p + 1, (size_t)(end - p - 1));
                (*len)--;
                end--;
                continue; /* the merged VAL may merge with the next one too */
            }
        }
        p++;
    }
    return 1;
}

/* ---- estimate (Ertl, "New cardinality estimation algorithms for HyperLogLog sketches",
 * arXiv:1702.01284, as Redis 7.0 computes it: same operations in the same order, so the same
 * doubles and the same count) ---- */

static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double z_prev, y = 1, z = x;
    do {
        x *= x;
        z_prev = z;
        z += x * y;
        y += y;
    } while (z_prev != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double z_prev, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        z_prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (z_prev != z);
    return z / 3;
}

static uint64_t hll_estimate(const int64_t hist[64])
{
    double m = HLL_REGS;
    double z = m * hll_tau((m - (double)hist[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += (double)hist[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)hist[0] / m);
    double q = HLL_ALPHA_INF * m * m / z;
    /* Registers all above Q+1 (only a crafted dense value) leave z = 0: Redis's llroundl(inf)
     * then yields LLONG_MIN, replied as such; the same value here, without undefined casts. */
    if (!(q < 9223372036854775807.0)) return 1ull << 63;
    return (uint64_t)llroundl(q);
}

/* The count of a checked HLL string; -1 for a sparse code that does not cover 16384 registers. */
static int hll_count(const uint8_t *s, size_t len, uint64_t *out)
{
    int64_t hist[64] = {0};
    if (s[4] == HLL_DENSE)
        dense_histo(s + HLL_HDR, hist);
    else if (sparse_histo(s + HLL_HDR, s + len, hist) < 0)
        return -1;
    *out = hll_estimate(hist);
    return 0;
}

static int cache_valid(const uint8_t *s)
{
    return (s[15] & 0x80) == 0;
}

static uint64_t cache_get(const uint8_t *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | s[8 + i];
    return v;
}

static void cache_put(uint8_t *s, uint64_t card)
{
    for (int i = 0; i < 8; i++)
        s[8 + i] = (uint8_t)(card >> (8 * i));
}

/* Redis's isHLLObjectOrReply: a string with the header, a known encoding and, if dense, the
 * exact length. 0 ok, -1 replied. */
static int hll_check_or_reply(data_call *c, dentry *e)
{
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    const uint8_t *s = (const uint8_t *)dentry_val(e);
    if (e->vlen < HLL_HDR || memcmp(s, "HYLL", 4) != 0 || s[4] > HLL_SPARSE ||
        (s[4] == HLL_DENSE && e->vlen != HLL_DENSE_BYTES)) {
        reply_err(c, ERR_NOT_HLL);
        return -1;
    }
    return 0;
}

static void hll_init_empty(uint8_t *s)
{
    memset(s, 0, HLL_HDR);
    memcpy(s, "HYLL", 4);
    s[4] = HLL_SPARSE;
    (void)sp_put_zeros(s + HLL_HDR, HLL_REGS);
}

/* ---- an HLL being written: a key's string, or a buffer of HLL_BUF_BYTES (PFSELFTEST) ---- */

#define HLL_BUF_BYTES (HLL_SPARSE_MAX_VALID + 8)
_Static_assert(HLL_BUF_BYTES > HLL_DENSE_BYTES, "the buffer holds a dense HLL");

typedef struct {
    data_call *c; /* NULL: buf */
    dpos pos;     /* the key's entry; stays valid (no insert/unlink while writing) */
    uint8_t *buf;
    size_t buf_len;
    size_t sparse_max;
} hll_w;

static size_t hw_len(const hll_w *w)
{
    return w->c ? (*w->pos.slot)->vlen : w->buf_len;
}

static void hw_set_len(hll_w *w, size_t n)
{
    if (w->c)
        (*w->pos.slot)->vlen = (uint32_t)n;
    else
        w->buf_len = n;
}

/* The bytes, with room for at least `cap` (the length is unchanged). Growing the string is a
 * matter of layout: it does not mark the dataset changed (the caller decides). */
static uint8_t *hw_room(hll_w *w, size_t cap)
{
    if (!w->c) {
        SYN_ASSERT(cap <= HLL_BUF_BYTES);
        return w->buf;
    }
    dentry *e = *w->pos.slot;
    if (e->vcap < cap) {
        uint32_t n = e->vlen;
        int dirty = w->c->dirty;
        e = ks_string_resize(w->c, w->pos, cap, 1);
        e->vlen = n;
        w->c->dirty = dirty;
    }
    return (uint8_t *)dentry_val(e);
}

/* Sparse to dense; -1 if the code does not cover 16384 registers (nothing changed). The header
 * (cache included) is kept, as Redis keeps it. */
static int hw_to_dense(hll_w *w)
{
    uint8_t regs[HLL_REGS] = {0};
    uint8_t *s = hw_room(w, 0);
    if (s[4] == HLL_DENSE) return 0;
    if (sparse_to_regs(s + HLL_HDR, s + hw_len(w), regs) < 0) return -1;
    s = hw_room(w, HLL_DENSE_BYTES + 1); /* spare capacity: OBJECT ENCODING says raw */
    memset(s + HLL_HDR, 0, HLL_REG_BYTES);
    for (long i = 0; i < HLL_REGS; i++)
        if (regs[i]) dense_put(s + HLL_HDR, i, regs[i]);
    s[4] = HLL_DENSE;
    hw_set_len(w, HLL_DENSE_BYTES);
    return 0;
}

/* Raises register i to cnt: 1 changed, 0 not. A sparse HLL must pass write_ok_sparse. */
static int hw_set(hll_w *w, long i, unsigned cnt)
{
    uint8_t *s = hw_room(w, 0);
    if (s[4] == HLL_DENSE) return dense_set(s + HLL_HDR, i, cnt);
    size_t len = hw_len(w);
    s = hw_room(w, len + 4); /* a split adds at most 3 bytes; one more keeps it "raw" */
    int r = sparse_set(s, &len, w->sparse_max, i, cnt);
    SYN_ASSERT(r >= 0); /* write_ok_sparse held, and every change keeps 16384 registers */
    if (r != SP_PROMOTE) {
        hw_set_len(w, len);
        return r;
    }
    r = hw_to_dense(w);
    SYN_ASSERT(r == 0);
    return dense_set(hw_room(w, 0) + HLL_HDR, i, cnt);
}

/* The cache after a write that changed the registers: stale until a PFCOUNT stores it. */
static void hw_invalidate_cache(hll_w *w)
{
    hw_room(w, 0)[HLL_HDR - 1] |= 0x80;
}

/* The key's HLL for writing: created empty (sparse) if absent, else checked. 0 with *w set and
 * *created, or -1 replied. */
static int hw_open(data_call *c, const data_arg *key, hll_w *w, int *created)
{
    *w = (hll_w){.c = c, .sparse_max = c->ds->hll_sparse_max_bytes};
    *created = 0;
    if (!ks_write(c, key, &w->pos)) {
        dentry *e = dentry_new(&c->ds->mem, DT_STRING, key->ptr, key->len, NULL, 0,
                               HLL_EMPTY_BYTES + 4, -1);
        hll_init_empty((uint8_t *)dentry_val(e));
        e->vlen = HLL_EMPTY_BYTES;
        e->flags |= DE_RAW; /* Redis creates it raw */
        ks_insert(c, e);
        int found = dict_find(&c->ds->keys, key->ptr, key->len, &w->pos);
        SYN_ASSERT(found);
        *created = 1;
        return 0;
    }
    if (hll_check_or_reply(c, *w->pos.slot) < 0) return -1;
    /* Redis unshares the value: a raw string from then on */
    (*w->pos.slot)->flags |= DE_RAW;
    return 0;
}

/* A sparse HLL about to be written must be sound; replies INVALIDOBJ (-1) if not. */
static int hw_check_sparse(hll_w *w)
{
    const uint8_t *s = hw_room(w, 0);
    if (s[4] == HLL_DENSE || write_ok_sparse(s, hw_len(w))) return 0;
    reply_err(w->c, ERR_INVALID);
    return -1;
}

/* ---- commands ---- */

void cmd_pfadd(data_call *c)
{
    hll_w w;
    int created;
    if (hw_open(c, &c->argv[1], &w, &created) < 0) return;
    if (c->argc > 2 && hw_check_sparse(&w) < 0) return;
    int updated = created;
    for (int j = 2; j < c->argc; j++) {
        long reg;
        unsigned cnt = pat_len(c->argv[j].ptr, c->argv[j].len, &reg);
        updated |= hw_set(&w, reg, cnt);
    }
    if (updated) {
        hw_invalidate_cache(&w);
        c->dirty = 1;
    }
    reply_int(c, updated);
}

/* Folds the registers of a checked HLL into max[]; -1 if its sparse code is unsound. */
static int merge_into(uint8_t max[HLL_REGS], dentry *e)
{
    const uint8_t *s = (const uint8_t *)dentry_val(e);
    if (s[4] == HLL_SPARSE) return sparse_to_regs(s + HLL_HDR, s + e->vlen, max);
    for (long i = 0; i < HLL_REGS; i++) {
        unsigned v = dense_get(s + HLL_HDR, i);
        if (v > max[i]) max[i] = (uint8_t)v;
    }
    return 0;
}

void cmd_pfcount(data_call *c)
{
    if (c->argc > 2) { /* the count of the union */
        uint8_t max[HLL_REGS] = {0};
        for (int j = 1; j < c->argc; j++) {
            dentry *e = ks_read(c, &c->argv[j]);
            if (!e) continue;
            if (hll_check_or_reply(c, e) < 0) return;
            if (merge_into(max, e) < 0) {
                reply_err(c, ERR_INVALID);
                return;
            }
        }
        int64_t hist[64] = {0};
        for (long i = 0; i < HLL_REGS; i++)
            hist[max[i]]++;
        reply_int(c, (long long)hll_estimate(hist));
        return;
    }
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    if (hll_check_or_reply(c, e) < 0) return;
    e->flags |= DE_RAW; /* Redis unshares it (OBJECT ENCODING: raw; a local flag) */
    const uint8_t *s = (const uint8_t *)dentry_val(e);
    uint64_t card = 0;
    if (cache_valid(s)) {
        card = cache_get(s);
    } else if (hll_count(s, e->vlen, &card) < 0) {
        reply_err(c, ERR_INVALID);
        return;
    } else if (c->ds->log_apply) {
        /* Redis stores the count (its string unshared first); every replica does the same */
        hll_w w = {.c = c, .sparse_max = c->ds->hll_sparse_max_bytes};
        int found = ks_write(c, &c->argv[1], &w.pos);
        SYN_ASSERT(found); /* read live just above, at the same time */
        uint8_t *d = hw_room(&w, (size_t)(*w.pos.slot)->vlen + 1);
        cache_put(d, card);
        c->dirty = 1;
    }
    reply_int(c, (long long)card);
}

void cmd_pfmerge(data_call *c)
{
    uint8_t max[HLL_REGS] = {0};
    int use_dense = 0;
    for (int j = 1; j < c->argc; j++) { /* the destination is a source too */
        dentry *e = ks_read(c, &c->argv[j]);
        if (!e) continue;
        if (hll_check_or_reply(c, e) < 0) return;
        if (((const uint8_t *)dentry_val(e))[4] == HLL_DENSE) use_dense = 1;
        if (merge_into(max, e) < 0) {
            reply_err(c, ERR_INVALID);
            return;
        }
    }
    hll_w w;
    int created;
    if (hw_open(c, &c->argv[1], &w, &created) < 0) return; /* cannot fail: checked above */
    if (use_dense) {
        int r = hw_to_dense(&w);
        SYN_ASSERT(r == 0); /* merge_into accepted the same code */
    } else if (hw_check_sparse(&w) < 0) {
        return;
    }
    for (long i = 0; i < HLL_REGS; i++)
        if (max[i]) (void)hw_set(&w, i, max[i]);
    hw_invalidate_cache(&w);
    c->dirty = 1; /* Redis counts a merge as a change even when no register grew */
    reply_ok(c);
}

/* "z:N Z:N v:V,N" for every opcode (PFDEBUG DECODE). */
static void reply_decode(data_call *c, const uint8_t *s, size_t len)
{
    const uint8_t *p = s + HLL_HDR, *end = s + len;
    size_t cap = (len - HLL_HDR) * 8 + 1, n = 0;
    char *out = dmem_alloc(NULL, cap);
    while (p < end) {
        unsigned size, span = sp_span(p, end, &size);
        int k;
        if (sp_is_val(p))
            k = snprintf(out + n, cap - n, "v:%u,%u ", sp_val_value(p), span);
        else
            k = snprintf(out + n, cap - n, "%c:%u ", sp_is_zero(p) ? 'z' : 'Z', span);
        SYN_ASSERT(k > 0 && (size_t)k < cap - n);
        n += (size_t)k;
        p += size;
    }
    if (n) n--; /* the trailing space */
    reply_bulk(c, out, n);
    dmem_free(NULL, out);
}

void cmd_pfdebug(data_call *c)
{
    const data_arg *sub = &c->argv[1];
    hll_w w = {.c = c, .sparse_max = c->ds->hll_sparse_max_bytes};
    if (!ks_write(c, &c->argv[2], &w.pos)) {
        reply_err(c, "ERR The specified key does not exist");
        return;
    }
    if (hll_check_or_reply(c, *w.pos.slot) < 0) return;
    (void)hw_room(&w, (size_t)(*w.pos.slot)->vlen + 1); /* unshared, as in Redis: raw */
    const uint8_t *s = hw_room(&w, 0);
    if (arg_eq(sub, "getreg") || arg_eq(sub, "todense")) {
        int conv = s[4] == HLL_SPARSE;
        if (conv) {
            if (hw_to_dense(&w) < 0) {
                reply_err(c, ERR_INVALID);
                return;
            }
            c->dirty = 1;
        }
        if (arg_eq(sub, "todense")) {
            reply_int(c, conv);
            return;
        }
        s = hw_room(&w, 0);
        c->ops->array(c->rctx, HLL_REGS);
        for (long i = 0; i < HLL_REGS; i++)
            reply_int(c, dense_get(s + HLL_HDR, i));
    } else if (arg_eq(sub, "decode")) {
        if (s[4] != HLL_SPARSE) {
            reply_err(c, "ERR HLL encoding is not sparse");
            return;
        }
        reply_decode(c, s, hw_len(&w));
    } else if (arg_eq(sub, "encoding")) {
        const char *enc = s[4] == HLL_DENSE ? "dense" : "sparse";
        c->ops->status(c->rctx, enc, strlen(enc));
    } else {
        /* Redis prints the subcommand with %s (up to a NUL byte), newlines made spaces */
        const char *nul = memchr(sub->ptr, 0, sub->len);
        size_t n = nul ? (size_t)(nul - sub->ptr) : sub->len;
        static const char pre[] = "ERR Unknown PFDEBUG subcommand '";
        char *msg = dmem_alloc(NULL, sizeof pre + n + 1);
        memcpy(msg, pre, sizeof pre - 1);
        for (size_t i = 0; i < n; i++)
            msg[sizeof pre - 1 + i] =
                sub->ptr[i] == '\r' || sub->ptr[i] == '\n' ? ' ' : sub->ptr[i];
        msg[sizeof pre - 1 + n] = '\'';
        c->ops->error(c->rctx, msg, sizeof pre + n);
        dmem_free(NULL, msg);
    }
}

/* PFSELFTEST: the register accessors against a byte array, then the estimate's error on up to
 * 10^7 distinct elements with a dense and a sparse HLL that must agree (Redis's self test; it
 * takes a few seconds). The elements come from the store's generator: a read may draw. */
void cmd_pfselftest(data_call *c)
{
    uint8_t *dense = dmem_calloc(NULL, 1, HLL_DENSE_BYTES + 1);
    uint8_t *sparse = dmem_alloc(NULL, HLL_BUF_BYTES);
    uint8_t bytes[HLL_REGS];
    char msg[128];
    msg[0] = '\0';
    for (int cycle = 0; cycle < 1000 && !msg[0]; cycle++) {
        for (long i = 0; i < HLL_REGS; i++) {
            bytes[i] = (uint8_t)(data_rng_u64(c->ds) & 63);
            dense_put(dense + HLL_HDR, i, bytes[i]);
        }
        for (long i = 0; i < HLL_REGS && !msg[0]; i++)
            if (dense_get(dense + HLL_HDR, i) != bytes[i])
                snprintf(msg, sizeof msg, "TESTFAILED Register %ld should be %d but is %u", i,
                         bytes[i], dense_get(dense + HLL_HDR, i));
    }
    memset(dense + HLL_HDR, 0, HLL_REG_BYTES);
    dense[4] = HLL_DENSE;
    hll_init_empty(sparse);
    hll_w w = {
        .buf = sparse, .buf_len = HLL_EMPTY_BYTES, .sparse_max = c->ds->hll_sparse_max_bytes};
    double relerr = 1.04 / sqrt(HLL_REGS);
    uint64_t checkpoint = 1, seed = data_rng_u64(c->ds);
    for (uint64_t j = 1; j <= 10000000 && !msg[0]; j++) {
        uint64_t ele = j ^ seed;
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(ele >> (8 * k));
        long reg;
        unsigned cnt = pat_len((const char *)b, 8, &reg);
        (void)dense_set(dense + HLL_HDR, reg, cnt);
        (void)hw_set(&w, reg, cnt);
        if (j != checkpoint) continue;
        uint64_t cd, cs;
        (void)hll_count(dense, HLL_DENSE_BYTES, &cd);
        (void)hll_count(sparse, w.buf_len, &cs);
        if (j < w.sparse_max / 2 && sparse[4] != HLL_SPARSE) {
            snprintf(msg, sizeof msg, "TESTFAILED sparse encoding not used");
        } else if (cd != cs) {
            snprintf(msg, sizeof msg, "TESTFAILED dense/sparse disagree");
        } else {
            int64_t abserr = (int64_t)checkpoint - (int64_t)cd;
            uint64_t maxerr = j == 10 ? 1 : (uint64_t)ceil(relerr * 6 * (double)checkpoint);
            if (abserr < 0) abserr = -abserr;
            if (abserr > (int64_t)maxerr)
                snprintf(msg, sizeof msg, "TESTFAILED Too big error. card:%llu abserr:%llu",
                         (unsigned long long)checkpoint, (unsigned long long)abserr);
        }
        checkpoint *= 10;
    }
    dmem_free(NULL, dense);
    dmem_free(NULL, sparse);
    if (msg[0])
        reply_err(c, msg);
    else
        reply_ok(c);
}

void data_set_log_apply(data_store *ds, int on)
{
    ds->log_apply = on;
}

int data_hll_cache_stale(const data_store *ds, const char *key, size_t len)
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos)) return 0;
    dentry *e = *pos.slot;
    if (e->type != DT_STRING || e->vlen < HLL_HDR) return 0;
    const uint8_t *s = (const uint8_t *)dentry_val(e);
    return memcmp(s, "HYLL", 4) == 0 && !cache_valid(s);
}
