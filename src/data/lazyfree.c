/* lazyfree.c — big values freed off the event loop (Redis's lazy free, docs/data.md).
 *
 * Freeing a collection walks all of it: a million-member set takes ~100 ms, a sorted set twice
 * that, and on a cluster every replica applies the deletion, so every node would stall at once
 * (long enough, with a few such keys, to miss heartbeats). As Redis 7.0 does for UNLINK and
 * FLUSHALL/FLUSHDB ASYNC, a value whose free effort (allocations to free) is above
 * LAZYFREE_THRESHOLD is detached from the keyspace and queued; the server's thread takes it
 * (data_lazy_take, on the loop), frees it (data_lazy_free, any thread: it touches nothing but
 * the value, its memory counters pointed at a private one) and reports the bytes back
 * (data_lazy_done, on the loop), so used_memory falls as the thread frees, as Redis's does.
 * The dataset is the same either way (the key is gone at once): this only moves work. Without
 * the thread (data_set_lazyfree off: unit tests, the default) values are freed inline. */
#include <stdlib.h>

#include "data/data_internal.h"
#include "data/quicklist.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"

#define LAZYFREE_THRESHOLD 64

static qlist *list_ql(dentry *e)
{
    return dentry_ptr(e);
}

/* Roughly the allocations freeing e takes (Redis's lazyfreeGetFreeEffort). */
static uint64_t free_effort(dentry *e)
{
    switch (e->type) {
    case DT_LIST: return ql_nodes(list_ql(e));
    case DT_SET: return set_encoding(e)[0] == 'h' ? set_len(e) : 1; /* hashtable */
    case DT_HASH: return (e->flags & DE_HASH_TABLE) ? hash_len(e) : 1;
    case DT_ZSET: return zset_encoding(e)[0] == 's' ? zset_len(e) : 1; /* skiplist */
    case DT_STREAM: {
        stream *s = stream_of(e);
        uint64_t n = s->entries.count;
        for (size_t i = 0; i < s->ngroups; i++)
            n += 1 + s->groups[i]->pel.count;
        return n;
    }
    default: return 1;
    }
}

void ks_free_detached(data_store *ds, dentry *e)
{
    if (!ds->lazy_on || free_effort(e) <= LAZYFREE_THRESHOLD) {
        dentry_free(&ds->mem, e);
        return;
    }
    if (ds->lazy_n == ds->lazy_cap) {
        size_t cap = ds->lazy_cap ? 2 * ds->lazy_cap : 16;
        dentry **q = realloc(ds->lazy, cap * sizeof(*q));
        if (!q) { /* out of memory: free it here */
            dentry_free(&ds->mem, e);
            return;
        }
        ds->lazy = q;
        ds->lazy_cap = cap;
    }
    ds->lazy[ds->lazy_n++] = e;
}

void data_set_lazyfree(data_store *ds, int on)
{
    ds->lazy_on = on;
}

void data_set_lazyfree_policy(data_store *ds, int flags)
{
    ds->lazy_policy = flags;
}

size_t data_lazy_take(data_store *ds, void **out, size_t max)
{
    size_t n = ds->lazy_n < max ? ds->lazy_n : max;
    for (size_t i = 0; i < n; i++)
        out[i] = ds->lazy[i];
    for (size_t i = n; i < ds->lazy_n; i++)
        ds->lazy[i - n] = ds->lazy[i];
    ds->lazy_n -= n;
    ds->lazy_out += n;
    return n;
}

size_t data_lazy_free(void *v)
{
    dentry *e = v;
    const size_t base = (size_t)1 << 62;
    size_t mem = base; /* the value's own counter from now on: nothing shared is written */
    if (e->type == DT_LIST) ql_set_mem(list_ql(e), &mem);
    if (e->type == DT_STREAM) stream_set_mem(e, &mem);
    dentry_free(&mem, e);
    return base - mem;
}

void data_lazy_done(data_store *ds, uint64_t values, size_t bytes)
{
    SYN_ASSERT_CMP(values, <=, ds->lazy_out);
    SYN_ASSERT_CMP(bytes, <=, ds->mem);
    ds->lazy_out -= values;
    ds->lazy_freed += values;
    ds->mem -= bytes;
}

void ks_lazy_destroy(data_store *ds)
{
    SYN_ASSERT_CMP(ds->lazy_out, ==, 0); /* the thread has reported everything it took */
    for (size_t i = 0; i < ds->lazy_n; i++)
        dentry_free(&ds->mem, ds->lazy[i]);
    free(ds->lazy);
    ds->lazy = NULL;
    ds->lazy_n = ds->lazy_cap = 0;
}
