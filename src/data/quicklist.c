/* quicklist.c — the list encoding: a doubly linked list of packed nodes (see quicklist.h). */
#include "data/quicklist.h"

#include <malloc.h>
#include <string.h>

#include "data/data_internal.h"
#include "util/assert.h"

/* A node and its bytes are one allocation (one malloc chunk per node: a small list costs its
 * key, the qlist and one chunk). Resizing may move the node: node_resize relinks it, and every
 * function that resizes returns the node's new address and fixes the positions it was given. */
struct ql_node {
    ql_node *prev, *next;
    uint32_t count; /* entries in b; >= 1 while linked */
    uint32_t used;  /* bytes of b holding entries; <= cap */
    uint32_t cap;   /* bytes allocated for b (the chunk's spare bytes included) */
    unsigned char b[];
};

#define NODE_HDR          offsetof(ql_node, b)
#define NODE_SAFETY_BYTES 8192 /* byte bound of a node under a positive fill (Redis's too) */
#define NODE_MIN_CAP      16
/* Below this a node grows to fit exactly, as a listpack does (a small list carries no slack);
 * above it by half, so pushes one at a time do not copy a node every time. */
#define NODE_EXACT_BYTES 512

/* ---- entry framing ---- */

static size_t varint_size(size_t n)
{
    size_t k = 1;
    while (n >= 0x80) {
        n >>= 7;
        k++;
    }
    return k;
}

static size_t ent_size(size_t n)
{
    return n + 2 * varint_size(n);
}

static void ent_write(unsigned char *d, const char *s, size_t n)
{
    size_t k = varint_size(n), v = n;
    for (size_t i = 0; i < k; i++, v >>= 7)
        d[i] = (unsigned char)((v & 0x7f) | (i + 1 < k ? 0x80 : 0));
    if (n) memcpy(d + k, s, n);
    unsigned char *end = d + k + n + k;
    v = n;
    for (size_t i = 0; i < k; i++, v >>= 7)
        end[-1 - (long)i] = (unsigned char)((v & 0x7f) | (i + 1 < k ? 0x80 : 0));
}

/* Reads the entry at p: its payload and its total size. */
static size_t ent_read(const unsigned char *p, const unsigned char **s, size_t *n)
{
    size_t v = 0, k = 0;
    for (unsigned shift = 0;; shift += 7) {
        unsigned char b = p[k++];
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    *s = p + k;
    *n = v;
    return v + 2 * k;
}

static size_t ent_size_at(const unsigned char *p)
{
    const unsigned char *s;
    size_t n;
    return ent_read(p, &s, &n);
}

/* Size of the entry that ends just before `end`. */
static size_t ent_back(const unsigned char *end)
{
    size_t v = 0, k = 0;
    for (unsigned shift = 0;; shift += 7) {
        unsigned char b = end[-1 - (long)k];
        k++;
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    return v + 2 * k;
}

/* ---- nodes ---- */

static size_t fill_bytes(int fill)
{
    if (fill >= 0) return NODE_SAFETY_BYTES;
    int f = -fill > -QL_FILL_MIN ? -QL_FILL_MIN : -fill;
    return (size_t)4096 << (f - 1);
}

/* May `bytes` more bytes in `cnt` more entries join node n? An empty node takes anything. */
static int node_fits(const qlist *q, const ql_node *n, size_t bytes, uint32_t cnt)
{
    if (n->count == 0) return 1;
    if (q->fill > 0 && (uint64_t)n->count + cnt > (uint64_t)q->fill) return 0;
    return n->used + bytes <= fill_bytes(q->fill);
}

static uint32_t node_cap_of(const ql_node *n)
{
    size_t got = malloc_usable_size((void *)n) - NODE_HDR;
    return got < UINT32_MAX ? (uint32_t)got : UINT32_MAX;
}

static ql_node *node_new(qlist *q, size_t cap)
{
    if (cap < NODE_MIN_CAP) cap = NODE_MIN_CAP;
    SYN_ASSERT(cap <= UINT32_MAX);
    ql_node *n = dmem_alloc(q->mem, NODE_HDR + cap);
    n->prev = n->next = NULL;
    n->count = 0;
    n->used = 0;
    n->cap = node_cap_of(n);
    return n;
}

static void node_free(qlist *q, ql_node *n)
{
    dmem_free(q->mem, n);
}

/* Reallocates n for `cap` bytes of entries (>= used) and relinks it if it moved; returns it. */
static ql_node *node_resize(qlist *q, ql_node *n, size_t cap)
{
    SYN_ASSERT(cap >= n->used && cap <= UINT32_MAX);
    int head = q->head == n, tail = q->tail == n;
    ql_node *m = dmem_realloc(q->mem, n, NODE_HDR + cap);
    m->cap = node_cap_of(m);
    if (m != n) {
        if (m->prev)
            m->prev->next = m;
        else if (head)
            q->head = m;
        if (m->next)
            m->next->prev = m;
        else if (tail)
            q->tail = m;
    }
    return m;
}

static ql_node *node_reserve(qlist *q, ql_node *n, size_t extra)
{
    size_t need = (size_t)n->used + extra;
    if (need <= n->cap) return n;
    size_t cap = need <= NODE_EXACT_BYTES ? need : need + need / 2, lim = fill_bytes(q->fill);
    if (cap > lim) cap = need > lim ? need : lim;
    return node_resize(q, n, cap);
}

/* Gives back most of a buffer that deletions left mostly empty; returns the node. */
static ql_node *node_shrink(qlist *q, ql_node *n)
{
    if (n->cap <= 64 || n->used >= n->cap / 4) return n;
    size_t cap = n->used <= NODE_EXACT_BYTES ? n->used : (size_t)n->used * 2;
    return node_resize(q, n, cap < NODE_MIN_CAP ? NODE_MIN_CAP : cap);
}

/* Links n after `at` (NULL: as the new head). */
static void link_after(qlist *q, ql_node *at, ql_node *n)
{
    n->prev = at;
    n->next = at ? at->next : q->head;
    if (n->next)
        n->next->prev = n;
    else
        q->tail = n;
    if (at)
        at->next = n;
    else
        q->head = n;
}

static void unlink_free(qlist *q, ql_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    q->count -= n->count;
    node_free(q, n);
}

/* Returns the node (it may have moved). */
static ql_node *node_insert_at(qlist *q, ql_node *n, uint32_t off, const char *p, size_t len)
{
    size_t sz = ent_size(len);
    SYN_ASSERT(off <= n->used && sz <= UINT32_MAX - n->used);
    n = node_reserve(q, n, sz);
    memmove(n->b + off + sz, n->b + off, n->used - off);
    ent_write(n->b + off, p, len);
    n->used += (uint32_t)sz;
    n->count++;
    q->count++;
    return n;
}

static void node_delete_at(qlist *q, ql_node *n, uint32_t off)
{
    SYN_ASSERT(off < n->used);
    size_t sz = ent_size_at(n->b + off);
    memmove(n->b + off, n->b + off + sz, n->used - off - sz);
    n->used -= (uint32_t)sz;
    n->count--;
    q->count--;
}

/* Byte offset of entry i (0 <= i <= count: count gives the end), walking from the nearer end. */
static uint32_t node_offset(const ql_node *n, uint32_t i)
{
    SYN_ASSERT(i <= n->count);
    uint32_t off = 0;
    if (i <= n->count / 2) {
        while (i--)
            off += (uint32_t)ent_size_at(n->b + off);
    } else {
        off = n->used;
        for (uint32_t k = n->count - i; k; k--)
            off -= (uint32_t)ent_back(n->b + off);
    }
    return off;
}

static uint32_t last_off(const ql_node *n)
{
    return n->used - (uint32_t)ent_back(n->b + n->used);
}

/* Entries in n before byte offset off. */
static uint32_t node_count_before(const ql_node *n, uint32_t off)
{
    uint32_t k = 0;
    for (uint32_t o = 0; o < off; o += (uint32_t)ent_size_at(n->b + o))
        k++;
    return k;
}

/* Moves entries from byte `off` on into a new node linked after *np; returns it. *np is
 * updated if the left node moved. */
static ql_node *node_split(qlist *q, ql_node **np, uint32_t off)
{
    ql_node *n = *np;
    SYN_ASSERT(off > 0 && off < n->used);
    uint32_t left = node_count_before(n, off);
    ql_node *r = node_new(q, n->used - off);
    memcpy(r->b, n->b + off, n->used - off);
    r->used = n->used - off;
    r->count = n->count - left;
    n->used = off;
    n->count = left;
    link_after(q, n, r);
    *np = node_shrink(q, n);
    return r;
}

/* Appends node `from` (which follows `to`) to `to` and frees it; a position in either is moved
 * along. */
static void node_absorb_next(qlist *q, ql_node *to, ql_iter *fix)
{
    ql_node *from = to->next;
    SYN_ASSERT(from != NULL);
    uint32_t shift = to->used;
    int fix_to = fix && fix->node == to;
    to = node_reserve(q, to, from->used);
    if (fix_to) fix->node = to;
    memcpy(to->b + to->used, from->b, from->used);
    to->used += from->used;
    to->count += from->count;
    from->count = 0; /* its entries stay counted in q: unlink_free subtracts 0 */
    if (fix && fix->node == from) {
        fix->node = to;
        fix->off += shift;
    }
    unlink_free(q, from);
}

/* After a deletion in n: joins n with a neighbour when both fit in one node, so deletions in
 * the middle never leave a trail of nearly empty nodes. Only nodes under half full are joined,
 * so a node split by an insert is not joined back by the next delete. */
static void node_maybe_merge(qlist *q, ql_node *n, ql_iter *fix)
{
    size_t half = fill_bytes(q->fill) / 2;
    if (n->used > half || (q->fill > 0 && n->count > (uint32_t)q->fill / 2)) return;
    if (n->prev && node_fits(q, n->prev, n->used, n->count))
        node_absorb_next(q, n->prev, fix);
    else if (n->next && node_fits(q, n, n->next->used, n->next->count))
        node_absorb_next(q, n, fix);
}

/* ---- list ---- */

qlist *ql_create(size_t *mem, int fill)
{
    qlist *q = dmem_alloc(mem, sizeof *q);
    memset(q, 0, sizeof *q);
    q->mem = mem;
    if (fill == 0 || fill < QL_FILL_MIN) fill = fill == 0 ? 1 : QL_FILL_MIN;
    if (fill > QL_FILL_MAX) fill = QL_FILL_MAX;
    q->fill = fill;
    return q;
}

void ql_free(qlist *q)
{
    while (q->head)
        unlink_free(q, q->head);
    dmem_free(q->mem, q);
}

void ql_set_mem(qlist *q, size_t *mem)
{
    q->mem = mem;
}

void ql_push(qlist *q, int tail, const char *p, size_t n)
{
    ql_node *t = tail ? q->tail : q->head;
    size_t sz = ent_size(n);
    if (!t || !node_fits(q, t, sz, 1)) {
        t = node_new(q, sz);
        link_after(q, tail ? q->tail : NULL, t);
    }
    node_insert_at(q, t, tail ? t->used : 0, p, n);
}

int ql_at(const qlist *q, long long index, ql_iter *it)
{
    if (index < 0) index += (long long)q->count;
    if (index < 0 || (uint64_t)index >= q->count) return 0;
    uint64_t i = (uint64_t)index;
    ql_node *n;
    if (i < q->count / 2) {
        for (n = q->head; i >= n->count; n = n->next)
            i -= n->count;
    } else {
        uint64_t r = q->count - 1 - i;
        for (n = q->tail; r >= n->count; n = n->prev)
            r -= n->count;
        i = n->count - 1 - r;
    }
    it->node = n;
    it->off = node_offset(n, (uint32_t)i);
    return 1;
}

void ql_get(const ql_iter *it, const char **p, size_t *n)
{
    const unsigned char *s;
    (void)ent_read(it->node->b + it->off, &s, n);
    *p = (const char *)s;
}

int ql_next(ql_iter *it)
{
    uint32_t off = it->off + (uint32_t)ent_size_at(it->node->b + it->off);
    if (off < it->node->used) {
        it->off = off;
        return 1;
    }
    if (!it->node->next) return 0;
    it->node = it->node->next;
    it->off = 0;
    return 1;
}

int ql_prev(ql_iter *it)
{
    if (it->off > 0) {
        it->off -= (uint32_t)ent_back(it->node->b + it->off);
        return 1;
    }
    if (!it->node->prev) return 0;
    it->node = it->node->prev;
    it->off = last_off(it->node);
    return 1;
}

/* Inserts before or after (after = 1) the entry at byte off of *ndp. *ndp is updated if that
 * node moved; the entry itself stays in it at the same offset. */
static void insert_near(qlist *q, ql_node **ndp, uint32_t off, int after, const char *p, size_t n)
{
    ql_node *nd = *ndp;
    if (after) off += (uint32_t)ent_size_at(nd->b + off);
    size_t sz = ent_size(n);
    if (node_fits(q, nd, sz, 1)) {
        *ndp = node_insert_at(q, nd, off, p, n);
    } else if (off == 0 && nd->prev && node_fits(q, nd->prev, sz, 1)) {
        node_insert_at(q, nd->prev, nd->prev->used, p, n);
    } else if (off == nd->used && nd->next && node_fits(q, nd->next, sz, 1)) {
        node_insert_at(q, nd->next, 0, p, n);
    } else if (off == 0 || off == nd->used) {
        ql_node *fresh = node_new(q, sz);
        link_after(q, off == 0 ? nd->prev : nd, fresh);
        node_insert_at(q, fresh, 0, p, n);
    } else {
        ql_node *right = node_split(q, ndp, off);
        nd = *ndp;
        if (node_fits(q, nd, sz, 1)) {
            *ndp = node_insert_at(q, nd, nd->used, p, n);
        } else if (node_fits(q, right, sz, 1)) {
            node_insert_at(q, right, 0, p, n);
        } else {
            ql_node *fresh = node_new(q, sz);
            link_after(q, nd, fresh);
            node_insert_at(q, fresh, 0, p, n);
        }
    }
}

void ql_insert(qlist *q, const ql_iter *it, int after, const char *p, size_t n)
{
    ql_node *nd = it->node;
    insert_near(q, &nd, it->off, after, p, n);
}

void ql_replace(qlist *q, const ql_iter *it, const char *p, size_t n)
{
    ql_node *nd = it->node;
    uint32_t off = it->off;
    size_t osz = ent_size_at(nd->b + off), nsz = ent_size(n);
    if (nd->count == 1 || nd->used - osz + nsz <= fill_bytes(q->fill)) {
        if (nsz > osz) nd = node_reserve(q, nd, nsz - osz);
        memmove(nd->b + off + nsz, nd->b + off + osz, nd->used - off - osz);
        ent_write(nd->b + off, p, n);
        nd->used = (uint32_t)(nd->used - osz + nsz);
        if (nsz < osz) node_shrink(q, nd);
        return;
    }
    /* too big for this node: the new element goes in after the old one (which keeps its
     * position: an insert after it never moves the bytes before it), then the old one goes */
    insert_near(q, &nd, off, 1, p, n);
    node_delete_at(q, nd, off);
    if (nd->count == 0) unlink_free(q, nd);
}

int ql_delete(qlist *q, ql_iter *it, int forward)
{
    ql_node *nd = it->node;
    uint32_t off = it->off;
    node_delete_at(q, nd, off);
    ql_iter nx = {NULL, 0};
    if (nd->count == 0) {
        ql_node *prev = nd->prev, *next = nd->next;
        unlink_free(q, nd);
        if (forward && next) nx = (ql_iter){next, 0};
        if (!forward && prev) nx = (ql_iter){prev, last_off(prev)};
    } else {
        nd = node_shrink(q, nd);
        if (forward)
            nx = off < nd->used ? (ql_iter){nd, off} : (ql_iter){nd->next, 0};
        else if (off > 0)
            nx = (ql_iter){nd, off - (uint32_t)ent_back(nd->b + off)};
        else if (nd->prev)
            nx = (ql_iter){nd->prev, last_off(nd->prev)};
        node_maybe_merge(q, nd, &nx);
    }
    if (!nx.node) return 0;
    *it = nx;
    return 1;
}

void ql_del_range(qlist *q, uint64_t start, uint64_t count)
{
    SYN_ASSERT(start <= q->count && count <= q->count - start);
    if (count == 0) return;
    ql_iter it;
    int found = ql_at(q, (long long)start, &it);
    SYN_ASSERT(found);
    ql_node *n = it.node;
    uint32_t i = node_count_before(n, it.off);
    while (count > 0) {
        ql_node *next = n->next;
        if (i == 0 && count >= n->count) {
            count -= n->count;
            unlink_free(q, n);
        } else {
            uint32_t k = count < n->count - i ? (uint32_t)count : n->count - i;
            uint32_t from = node_offset(n, i), to = from;
            for (uint32_t j = 0; j < k; j++)
                to += (uint32_t)ent_size_at(n->b + to);
            memmove(n->b + from, n->b + to, n->used - to);
            n->used -= to - from;
            n->count -= k;
            q->count -= k;
            count -= k;
            node_shrink(q, n);
        }
        n = next;
        i = 0;
    }
}

int ql_check(const qlist *q)
{
    uint64_t count = 0, nodes = 0;
    const ql_node *prev = NULL;
    for (const ql_node *n = q->head; n; prev = n, n = n->next) {
        if (n->prev != prev) return -1;
        if (n->count == 0 || n->used > n->cap) return -2;
        uint32_t off = 0, k = 0;
        while (off < n->used) {
            const unsigned char *s;
            size_t len, sz = ent_read(n->b + off, &s, &len);
            if (sz > n->used - off || ent_back(n->b + off + sz) != sz) return -3;
            off += (uint32_t)sz;
            k++;
        }
        if (off != n->used || k != n->count) return -4;
        if (n->count > 1 &&
            (n->used > fill_bytes(q->fill) || (q->fill > 0 && n->count > (uint32_t)q->fill)))
            return -5;
        count += n->count;
        nodes++;
    }
    if (prev != q->tail) return -6;
    if (count != q->count) return -7;
    return nodes > 0 || q->count == 0 ? 0 : -8;
}

uint64_t ql_nodes(const qlist *q)
{
    uint64_t k = 0;
    for (const ql_node *n = q->head; n; n = n->next)
        k++;
    return k;
}
