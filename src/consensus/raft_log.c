/* raft_log.c — the in-memory part of the log, and term/entry lookups that fall back to the
 * caller's storage for entries the core no longer holds (Raft §5.3, §7). */
#include "consensus/raft_internal.h"

#include <stdlib.h>
#include <string.h>

raft_entry *raft_log_mem_at(raft *r, uint64_t index)
{
    if (index < r->mem_first || index >= r->mem_first + r->mem_n) return NULL;
    return &r->mem[r->mem_off + (index - r->mem_first)];
}

int raft_log_term(raft *r, uint64_t index, uint64_t *term_out)
{
    if (index == r->snap.index) {
        *term_out = r->snap.term;
        return 0;
    }
    if (index < r->snap.index) return -RAFT_ECOMPACTED;
    if (index > r->last_index) return -RAFT_EUNAVAIL;
    raft_entry *e = raft_log_mem_at(r, index);
    if (e) {
        *term_out = e->term;
        return 0;
    }
    int rc = r->cfg.storage.term(r->cfg.storage.ud, index, term_out);
    return rc < 0 ? rc : 0;
}

bool raft_log_up_to_date(const raft *r, uint64_t last_index, uint64_t last_term)
{
    /* Raft §5.4.1: compare last terms, then lengths. */
    return last_term > r->last_term || (last_term == r->last_term && last_index >= r->last_index);
}

static void mem_reserve_one(raft *r)
{
    if (r->mem_off + r->mem_n < r->mem_cap) return;
    if (r->mem_off > 0 && r->mem_off >= r->mem_cap / 2) {
        memmove(r->mem, r->mem + r->mem_off, r->mem_n * sizeof(raft_entry));
        r->mem_off = 0;
        return;
    }
    size_t cap = r->mem_cap ? r->mem_cap * 2 : 256;
    raft_entry *m = realloc(r->mem, cap * sizeof(raft_entry));
    SYN_ASSERT(m != NULL); /* out of memory in the core: no safe way to continue */
    r->mem = m;
    r->mem_cap = cap;
}

/* Entries' data are carved from blocks in log order (appends at the end, trims at the front,
 * truncations at the end): a block is freed once every entry carved from it is gone. Each
 * entry's data is preceded by a pointer to its block. A malloc and a free per entry cost more
 * than the rest of appending one (pipelined writes: thousands per loop pass, which the
 * allocator's per-thread cache does not hold). */
typedef struct raft_lblock {
    uint32_t live; /* entries still holding data here */
    uint32_t used, cap;
    uint8_t data[];
} raft_lblock;

#define LBLOCK_BYTES (64u * 1024)
#define LB_HDR       sizeof(raft_lblock *)

static void lblock_release(raft *r, raft_lblock *b)
{
    if (b == r->lb_cur) {
        b->used = 0; /* empty: carve from its start again */
        return;
    }
    if (!r->lb_spare && b->cap == LBLOCK_BYTES) {
        b->used = 0;
        r->lb_spare = b;
        return;
    }
    free(b);
}

static uint8_t *lblock_carve(raft *r, uint32_t len)
{
    size_t need = (LB_HDR + len + 7) & ~(size_t)7;
    raft_lblock *b = r->lb_cur;
    if (!b || b->cap - b->used < need) {
        if (need > LBLOCK_BYTES / 4) { /* a big entry: a block of its own */
            b = malloc(sizeof(*b) + need);
            if (!b) return NULL;
            *b = (raft_lblock){0, 0, (uint32_t)need};
        } else {
            raft_lblock *old = r->lb_cur;
            if (r->lb_spare) {
                b = r->lb_spare;
                r->lb_spare = NULL;
            } else {
                b = malloc(sizeof(*b) + LBLOCK_BYTES);
                if (!b) return NULL;
                *b = (raft_lblock){0, 0, LBLOCK_BYTES};
            }
            r->lb_cur = b;
            if (old && old->live == 0) lblock_release(r, old);
        }
    }
    uint8_t *p = b->data + b->used;
    b->used += (uint32_t)need;
    b->live++;
    memcpy(p, &b, LB_HDR);
    return p + LB_HDR;
}

static void lblock_drop(raft *r, const void *data)
{
    raft_lblock *b;
    memcpy(&b, (const uint8_t *)data - LB_HDR, LB_HDR);
    SYN_ASSERT(b->live > 0);
    if (--b->live == 0) lblock_release(r, b);
}

int raft_log_append(raft *r, uint64_t term, raft_entry_type type, const void *data, uint32_t len)
{
    SYN_ASSERT_CMP(term, >=, r->last_term);
    SYN_ASSERT(r->mem_n == 0 || r->mem_first + r->mem_n == r->last_index + 1);
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = lblock_carve(r, len);
        if (!copy) return -RAFT_ENOMEM;
        memcpy(copy, data, len);
    }
    mem_reserve_one(r);
    if (r->mem_n == 0) r->mem_first = r->last_index + 1;
    raft_entry *e = &r->mem[r->mem_off + r->mem_n++];
    e->term = term;
    e->index = ++r->last_index;
    e->type = type;
    e->len = len;
    e->data = copy;
    r->mem_bytes += len;
    r->last_term = term;
    return 0;
}

static void free_entry(raft *r, raft_entry *e)
{
    SYN_ASSERT_CMP(r->mem_bytes, >=, e->len);
    r->mem_bytes -= e->len;
    if (e->data) lblock_drop(r, e->data);
    e->data = NULL;
}

/* Drop entries >= index (a conflicting suffix, Raft §5.3). Committed entries never go. */
void raft_log_truncate_from(raft *r, uint64_t index)
{
    SYN_ASSERT_CMP(index, >, r->commit);
    SYN_ASSERT_CMP(index, <=, r->last_index);
    if (index <= r->mem_first) {
        for (size_t i = 0; i < r->mem_n; i++)
            free_entry(r, &r->mem[r->mem_off + i]);
        r->mem_n = 0;
        r->mem_off = 0;
        r->mem_first = index;
    } else {
        size_t keep = (size_t)(index - r->mem_first);
        for (size_t i = keep; i < r->mem_n; i++)
            free_entry(r, &r->mem[r->mem_off + i]);
        r->mem_n = keep;
    }
    r->last_index = index - 1;
    if (r->stable > r->last_index) r->stable = r->last_index;
    if (r->durable > r->last_index) r->durable = r->last_index;
    uint64_t t = 0;
    int rc = raft_log_term(r, r->last_index, &t);
    SYN_ASSERT(rc == 0); /* the entry before a conflict is committed or stored */
    r->last_term = t;
}

/* Forget entries the core no longer needs in memory: everything covered by the snapshot, and
 * durable + applied entries beyond the retained tail (mem_retain_entries entries, and no more
 * than mem_retain_bytes in the memory log as a whole). Only called when no Ready is out
 * (nothing points into the memory log). */
void raft_log_trim(raft *r)
{
    SYN_ASSERT(!r->in_ready);
    uint64_t done = r->applied < r->durable ? r->applied : r->durable;
    uint64_t keep_from =
        done > r->cfg.mem_retain_entries ? done - r->cfg.mem_retain_entries + 1 : 1;
    if (keep_from <= r->snap.index) keep_from = r->snap.index + 1;
    while (r->mem_n > 0 && (r->mem_first < keep_from ||
                            (r->mem_first <= done && r->mem_bytes > r->cfg.mem_retain_bytes))) {
        free_entry(r, &r->mem[r->mem_off]);
        r->mem_off++;
        r->mem_n--;
        r->mem_first++;
    }
    if (r->mem_n == 0) {
        r->mem_off = 0;
        r->mem_first = r->last_index + 1;
    }
}

/* The log becomes empty after `index` (snapshot installed). */
void raft_log_reset(raft *r, uint64_t index, uint64_t term)
{
    for (size_t i = 0; i < r->mem_n; i++)
        free_entry(r, &r->mem[r->mem_off + i]);
    r->mem_n = 0;
    r->mem_off = 0;
    r->mem_first = index + 1;
    r->last_index = index;
    r->last_term = term;
    r->stable = r->durable = index;
}

void raft_log_free(raft *r)
{
    for (size_t i = 0; i < r->mem_n; i++)
        free_entry(r, &r->mem[r->mem_off + i]);
    free(r->mem);
    r->mem = NULL;
    r->mem_n = r->mem_cap = r->mem_off = 0;
    free(r->lb_cur);
    free(r->lb_spare);
    r->lb_cur = r->lb_spare = NULL;
}

int raft_log_slice(raft *r, uint64_t lo, uint64_t hi, uint64_t max_bytes, const raft_entry **out,
                   bool *lazy)
{
    SYN_ASSERT(lo >= 1 && lo <= hi && hi <= r->last_index);
    if (lo <= r->snap.index) return -RAFT_ECOMPACTED;
    if (lo >= r->mem_first) {
        const raft_entry *e = raft_log_mem_at(r, lo);
        uint64_t bytes = e->len, n = 1;
        while (lo + n <= hi) {
            const raft_entry *x = e + n;
            if (bytes + x->len > max_bytes) break;
            bytes += x->len;
            n++;
        }
        *out = e;
        *lazy = true;
        return (int)n;
    }
    /* From storage: only below the memory log, copied so the storage's pointers may die. */
    uint64_t shi = hi < r->mem_first ? hi : r->mem_first - 1;
    size_t cap = (size_t)(shi - lo + 1);
    if (cap > 4096) cap = 4096;
    raft_entry *tmp = raft_scratch(r, cap * sizeof(raft_entry));
    size_t n = 0;
    int rc = r->cfg.storage.entries(r->cfg.storage.ud, lo, shi + 1, max_bytes, tmp, cap, &n);
    if (rc < 0) return rc;
    if (n == 0 || n > cap) return -RAFT_EUNAVAIL;
    for (size_t i = 0; i < n; i++) {
        if (tmp[i].index != lo + i) return -RAFT_EUNAVAIL;
        if (tmp[i].len > 0) {
            uint8_t *d = raft_scratch(r, tmp[i].len);
            memcpy(d, tmp[i].data, tmp[i].len);
            tmp[i].data = d;
        } else {
            tmp[i].data = NULL;
        }
    }
    *out = tmp;
    *lazy = false;
    return (int)n;
}
