/* stream_idx.c — the ordered index of streams (entries, pending entries lists): sorted chunks
 * of up to SIDX_CHUNK (id, pointer) pairs behind an array of chunk pointers. */
#include "data/stream_internal.h"
#include "util/assert.h"

int sid_incr(sid *id)
{
    if (id->seq != UINT64_MAX) {
        id->seq++;
        return 0;
    }
    if (id->ms == UINT64_MAX) {
        *id = SID_MIN;
        return -1;
    }
    id->ms++;
    id->seq = 0;
    return 0;
}

int sid_decr(sid *id)
{
    if (id->seq != 0) {
        id->seq--;
        return 0;
    }
    if (id->ms == 0) {
        *id = SID_MAX;
        return -1;
    }
    id->ms--;
    id->seq = UINT64_MAX;
    return 0;
}

static size_t ull_fmt(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t sid_fmt(char *buf, sid id)
{
    size_t n = ull_fmt(buf, id.ms);
    buf[n++] = '-';
    n += ull_fmt(buf + n, id.seq);
    buf[n] = '\0';
    return n;
}

void sidx_init(sidx *x, size_t *mem)
{
    *x = (sidx){.mem = mem};
}

void sidx_deinit(sidx *x)
{
    for (size_t i = 0; i < x->n; i++)
        dmem_free(x->mem, sidx_chunk(x, i));
    dmem_free(x->mem, x->c);
    sidx_init(x, x->mem);
}

/* Index (relative) of the last chunk whose first key <= id; 0 if none is. */
static size_t chunk_for(const sidx *x, sid id)
{
    size_t lo = 0, hi = x->n; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sid_cmp(sidx_chunk(x, mid)->key[0], id) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* First slot of ch with key >= id. */
static uint32_t slot_ge(const schunk *ch, sid id)
{
    uint32_t lo = 0, hi = ch->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (sid_cmp(ch->key[mid], id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

spos sidx_first(const sidx *x)
{
    (void)x;
    return (spos){0, 0};
}

spos sidx_last(const sidx *x)
{
    if (x->n == 0) return (spos){0, 0};
    return (spos){x->n - 1, sidx_chunk(x, x->n - 1)->n - 1};
}

spos sidx_ge(const sidx *x, sid id)
{
    if (x->n == 0) return (spos){0, 0};
    size_t ci = chunk_for(x, id);
    uint32_t i = slot_ge(sidx_chunk(x, ci), id);
    if (i == sidx_chunk(x, ci)->n) return (spos){ci + 1, 0};
    return (spos){ci, i};
}

spos sidx_le(const sidx *x, sid id)
{
    spos p = sidx_ge(x, id);
    if (spos_valid(x, p) && sid_cmp(spos_key(x, p), id) == 0) return p;
    if (!spos_valid(x, p)) return x->n ? sidx_last(x) : (spos){0, 0};
    sidx_prev(x, &p);
    return p;
}

void sidx_next(const sidx *x, spos *p)
{
    if (++p->i < sidx_chunk(x, p->ci)->n) return;
    p->ci++;
    p->i = 0;
}

void sidx_prev(const sidx *x, spos *p)
{
    if (p->i > 0) {
        p->i--;
        return;
    }
    if (p->ci == 0) {
        p->ci = x->n; /* invalid */
        return;
    }
    p->ci--;
    p->i = sidx_chunk(x, p->ci)->n - 1;
}

void *sidx_find(const sidx *x, sid id)
{
    spos p = sidx_ge(x, id);
    if (!spos_valid(x, p) || sid_cmp(spos_key(x, p), id) != 0) return NULL;
    return spos_val(x, p);
}

/* Makes room for one more chunk pointer at relative index at. */
static void open_chunk_slot(sidx *x, size_t at)
{
    if (x->start + x->n == x->cap) {
        if (x->start > 0) {
            memmove(x->c, x->c + x->start, x->n * sizeof(*x->c));
            x->start = 0;
        } else {
            size_t ncap = x->cap ? x->cap * 2 : 4;
            x->c = dmem_realloc(x->mem, x->c, ncap * sizeof(*x->c));
            x->cap = ncap;
        }
    }
    schunk **base = x->c + x->start;
    memmove(base + at + 1, base + at, (x->n - at) * sizeof(*x->c));
    x->n++;
}

static schunk *new_chunk(sidx *x)
{
    schunk *ch = dmem_alloc(x->mem, sizeof(*ch));
    ch->n = 0;
    ch->added = 0;
    ch->last = SID_MIN;
    return ch;
}

void sidx_push_chunk(sidx *x, schunk *ch)
{
    SYN_ASSERT(ch->n >= 1);
    open_chunk_slot(x, x->n);
    x->c[x->start + x->n - 1] = ch;
    x->count += ch->n;
}

void sidx_append(sidx *x, sid id, void *val, uint32_t node_max)
{
    schunk *ch = x->n ? sidx_chunk(x, x->n - 1) : NULL;
    if (ch) SYN_ASSERT(sid_cmp(ch->key[ch->n - 1], id) < 0);
    if (!ch || ch->added >= node_max || ch->n == SIDX_CHUNK) {
        ch = new_chunk(x);
        open_chunk_slot(x, x->n);
        x->c[x->start + x->n - 1] = ch;
    }
    ch->key[ch->n] = id;
    ch->val[ch->n] = val;
    ch->n++;
    ch->added++;
    ch->last = id;
    x->count++;
}

void sidx_insert(sidx *x, sid id, void *val)
{
    if (x->n == 0) {
        sidx_append(x, id, val, SIDX_CHUNK);
        return;
    }
    size_t ci = chunk_for(x, id);
    schunk *ch = sidx_chunk(x, ci);
    if (ch->n == SIDX_CHUNK) { /* split: the upper half moves to a new chunk after it */
        schunk *hi = new_chunk(x);
        uint32_t half = SIDX_CHUNK / 2;
        hi->n = SIDX_CHUNK - half;
        memcpy(hi->key, ch->key + half, hi->n * sizeof(sid));
        memcpy(hi->val, ch->val + half, hi->n * sizeof(void *));
        hi->added = hi->n;
        hi->last = hi->key[hi->n - 1];
        ch->n = half;
        ch->added = half;
        ch->last = ch->key[half - 1];
        open_chunk_slot(x, ci + 1);
        x->c[x->start + ci + 1] = hi;
        if (sid_cmp(id, hi->key[0]) > 0) ch = hi;
    }
    uint32_t i = slot_ge(ch, id);
    SYN_ASSERT(i == ch->n || sid_cmp(ch->key[i], id) != 0);
    memmove(ch->key + i + 1, ch->key + i, (ch->n - i) * sizeof(sid));
    memmove(ch->val + i + 1, ch->val + i, (ch->n - i) * sizeof(void *));
    ch->key[i] = id;
    ch->val[i] = val;
    ch->n++;
    if (ch->added < ch->n) ch->added = ch->n;
    if (sid_cmp(id, ch->last) > 0) ch->last = id;
    x->count++;
}

static void drop_chunk(sidx *x, size_t ci)
{
    dmem_free(x->mem, sidx_chunk(x, ci));
    if (ci == 0) {
        x->start++;
    } else {
        schunk **base = x->c + x->start;
        memmove(base + ci, base + ci + 1, (x->n - ci - 1) * sizeof(*x->c));
    }
    x->n--;
    if (x->n == 0) x->start = 0;
}

void sidx_remove(sidx *x, spos *p)
{
    schunk *ch = sidx_chunk(x, p->ci);
    memmove(ch->key + p->i, ch->key + p->i + 1, (ch->n - p->i - 1) * sizeof(sid));
    memmove(ch->val + p->i, ch->val + p->i + 1, (ch->n - p->i - 1) * sizeof(void *));
    ch->n--;
    x->count--;
    if (ch->n == 0) {
        drop_chunk(x, p->ci);
        p->i = 0;
        return;
    }
    if (p->i == ch->n) {
        p->ci++;
        p->i = 0;
    }
}

void *sidx_delete(sidx *x, sid id)
{
    spos p = sidx_ge(x, id);
    if (!spos_valid(x, p) || sid_cmp(spos_key(x, p), id) != 0) return NULL;
    void *v = spos_val(x, p);
    sidx_remove(x, &p);
    return v;
}

void sidx_drop_first_chunk(sidx *x)
{
    SYN_ASSERT(x->n > 0);
    x->count -= sidx_chunk(x, 0)->n;
    drop_chunk(x, 0);
}
