/* evict.c — maxmemory eviction: the access clock of keys and the choice of victims
 * (docs/data.md "Eviction").
 *
 * As in Redis, LRU and LFU are approximated by sampling: each pick draws maxmemory-samples keys
 * (keys with an expiry for the volatile-* policies), scores them (idle time, inverse access
 * frequency, nearness of the expiry) and keeps the best 16 seen across picks in a pool; the
 * best of the pool that still exists is the victim.
 *
 * The access clock lives in two bytes of the entry header that were padding: an LRU policy
 * keeps the last access in seconds mod 2^16 (idle times wrap after 18 h), an LFU policy keeps
 * Redis's logarithmic counter (8 bits) and the minute of its last decrement mod 2^8. It is this
 * node's own, like Redis's is each replica's: the leader's decides which keys are evicted, and
 * the deletions go through the log, so every replica deletes the same keys. */
#include <stdlib.h>

#include "data/data_internal.h"
#include "util/assert.h"

#define POOL_SIZE    16
#define LFU_INIT_VAL 5

const char *const data_evict_policy_names[DATA_EVICT_POLICIES] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction",
};

struct evict_cand {
    uint64_t score; /* higher = evict first */
    char *key;
    size_t len;
    int db;
};

static int is_lfu(const data_store *ds)
{
    return ds->evict_policy == DATA_EVICT_VOLATILE_LFU ||
           ds->evict_policy == DATA_EVICT_ALLKEYS_LFU;
}

void data_set_eviction(data_store *ds, int policy, int samples, int lfu_log_factor,
                       int lfu_decay_time)
{
    SYN_ASSERT(policy >= 0 && policy < DATA_EVICT_POLICIES);
    if (policy != ds->evict_policy) { /* the pool's scores mean something else now */
        for (int i = 0; i < ds->evict_pool_n; i++)
            free(ds->evict_pool[i].key);
        ds->evict_pool_n = 0;
    }
    ds->evict_policy = policy;
    ds->evict_samples = samples < 1 ? 1 : samples > 64 ? 64 : samples;
    ds->lfu_log_factor = lfu_log_factor < 0 ? 0 : lfu_log_factor;
    ds->lfu_decay_time = lfu_decay_time < 0 ? 0 : lfu_decay_time;
    if (!ds->lfu_rng) ds->lfu_rng = 0x2545F4914F6CDD1Dull;
}

/* --- access clock ------------------------------------------------------------------------ */

static unsigned lru_now(int64_t now_ms)
{
    return (unsigned)((uint64_t)(now_ms < 0 ? 0 : now_ms) / 1000) & 0xFFFF;
}

static unsigned lfu_minutes(int64_t now_ms)
{
    return (unsigned)((uint64_t)(now_ms < 0 ? 0 : now_ms) / 60000) & 0xFF;
}

/* the counter after the decay due since its last decrement (Redis's LFUDecrAndReturn). An LRU
 * clock (the key last touched under an LRU policy) reads as 0: Redis reads its seconds clock as
 * minutes and a counter, and the decay over that "elapsed" time empties the counter. */
static unsigned lfu_decayed(const data_store *ds, const dentry *e, int64_t now_ms)
{
    if (!(e->flags & DE_LFU)) return 0;
    unsigned counter = e->access & 0xFF;
    unsigned elapsed = (lfu_minutes(now_ms) - (unsigned)(e->access >> 8)) & 0xFF;
    unsigned periods = ds->lfu_decay_time ? elapsed / (unsigned)ds->lfu_decay_time : 0;
    return periods > counter ? 0 : counter - periods;
}

void ks_access_init(data_store *ds, dentry *e, int64_t now_ms)
{
    if (is_lfu(ds)) {
        e->access = (uint16_t)(lfu_minutes(now_ms) << 8 | LFU_INIT_VAL);
        e->flags |= DE_LFU;
    } else {
        e->access = (uint16_t)lru_now(now_ms);
        e->flags &= (uint8_t)~DE_LFU;
    }
}

static double lfu_draw(data_store *ds)
{
    uint64_t x = ds->lfu_rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ds->lfu_rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

void ks_access_touch(data_store *ds, dentry *e, int64_t now_ms)
{
    if (!is_lfu(ds)) {
        e->access = (uint16_t)lru_now(now_ms);
        e->flags &= (uint8_t)~DE_LFU;
        return;
    }
    /* Redis's LFULogIncr: the counter grows with probability 1 / ((c - 5) * factor + 1) */
    unsigned c = lfu_decayed(ds, e, now_ms);
    if (c < 255) {
        double base = c > LFU_INIT_VAL ? (double)(c - LFU_INIT_VAL) : 0.0;
        if (lfu_draw(ds) < 1.0 / (base * ds->lfu_log_factor + 1.0)) c++;
    }
    e->access = (uint16_t)(lfu_minutes(now_ms) << 8 | c);
    e->flags |= DE_LFU;
}

void ks_access_overwrite(data_store *ds, dentry *ne, const dentry *old, int64_t now_ms)
{
    if (!is_lfu(ds)) {
        ks_access_init(ds, ne, now_ms);
        return;
    }
    ne->access = old->access;
    ne->flags = (uint8_t)((ne->flags & ~DE_LFU) | (old->flags & DE_LFU));
}

long long ks_idle_seconds(const dentry *e, int64_t now_ms)
{
    return (long long)((lru_now(now_ms) - (unsigned)e->access) & 0xFFFF);
}

int ks_lfu_freq(const data_store *ds, const dentry *e, int64_t now_ms)
{
    return (int)lfu_decayed(ds, e, now_ms);
}

/* --- choosing victims -------------------------------------------------------------------- */

static int volatile_policy(int p)
{
    return p <= DATA_EVICT_VOLATILE_TTL;
}

static uint64_t score_of(const data_store *ds, const dentry *e, int64_t now_ms)
{
    switch (ds->evict_policy) {
    case DATA_EVICT_VOLATILE_TTL: return UINT64_MAX - (uint64_t)dentry_expire(e);
    case DATA_EVICT_VOLATILE_LFU:
    case DATA_EVICT_ALLKEYS_LFU: return 255 - lfu_decayed(ds, e, now_ms);
    default: return (uint64_t)ks_idle_seconds(e, now_ms);
    }
}

/* One candidate: a random key, or a random key with an expiry (bounded tries). */
static dentry *sample(data_store *ds)
{
    if (dict_size(&ds->keys) == 0) return NULL;
    if (volatile_policy(ds->evict_policy) && ds->expires == 0) return NULL;
    unsigned want = volatile_policy(ds->evict_policy) ? DE_EXPIRE : 0;
    for (int tries = 0; tries < 64; tries++) {
        dentry *e = dict_random(&ds->keys, ds);
        if ((e->flags & (want | DE_EVICTING)) == want) return e;
    }
    return NULL;
}

static void pool_add(data_store *ds, dentry *e, uint64_t score)
{
    struct evict_cand *p = ds->evict_pool;
    const char *k = dentry_key(e);
    for (int i = 0; i < ds->evict_pool_n; i++)
        if (p[i].db == ds->cur && p[i].len == e->klen && memcmp(p[i].key, k, e->klen) == 0) {
            p[i].score = score; /* re-sampled: its score now */
            return;
        }
    /* kept ascending by score: the best candidate is last */
    int at = 0;
    while (at < ds->evict_pool_n && p[at].score < score)
        at++;
    if (ds->evict_pool_n == POOL_SIZE) {
        if (at == 0) return; /* worse than every candidate of a full pool */
        free(p[0].key);
        memmove(p, p + 1, (size_t)(at - 1) * sizeof(*p));
        at--;
    } else {
        memmove(p + at + 1, p + at, (size_t)(ds->evict_pool_n - at) * sizeof(*p));
        ds->evict_pool_n++;
    }
    char *copy = malloc(e->klen ? e->klen : 1);
    SYN_ASSERT(copy != NULL);
    memcpy(copy, k, e->klen);
    p[at] = (struct evict_cand){score, copy, e->klen, ds->cur};
}

static dentry *pool_take(data_store *ds)
{
    while (ds->evict_pool_n > 0) {
        struct evict_cand *c = &ds->evict_pool[--ds->evict_pool_n];
        data_select(ds, c->db); /* the caller restores the database it had selected */
        dpos pos;
        dentry *e = dict_find(&ds->keys, c->key, c->len, &pos) ? *pos.slot : NULL;
        free(c->key);
        if (e && !(e->flags & DE_EVICTING) &&
            (!volatile_policy(ds->evict_policy) || (e->flags & DE_EXPIRE)))
            return e;
    }
    return NULL;
}

size_t data_evict_pick(data_store *ds, int64_t now_ms, size_t max, data_evict_cb cb, void *ctx)
{
    if (ds->evict_policy == DATA_EVICT_NOEVICTION) return 0;
    if (!ds->evict_pool) {
        ds->evict_pool = calloc(POOL_SIZE, sizeof(*ds->evict_pool));
        SYN_ASSERT(ds->evict_pool != NULL);
    }
    size_t n = 0;
    int cur = ds->cur;
    while (n < max) {
        dentry *e = NULL;
        if (ds->evict_policy == DATA_EVICT_ALLKEYS_RANDOM ||
            ds->evict_policy == DATA_EVICT_VOLATILE_RANDOM) {
            /* the databases in turn, as Redis: the next one that has a candidate */
            for (int k = 0; k < ds->ndb && !e; k++) {
                data_select(ds, ds->evict_next_db);
                ds->evict_next_db = (ds->evict_next_db + 1) % ds->ndb;
                e = sample(ds);
            }
        } else {
            /* every database's samples compete in one pool */
            for (int db = 0; db < ds->ndb; db++) {
                data_select(ds, db);
                for (int i = 0; i < ds->evict_samples && dict_size(&ds->keys); i++) {
                    dentry *s = sample(ds);
                    if (s) pool_add(ds, s, score_of(ds, s, now_ms));
                }
            }
            e = pool_take(ds);
        }
        if (!e) break;
        e->flags |= DE_EVICTING;
        cb(ctx, dentry_key(e), e->klen, ks_key_usage(e, 5)); /* its database selected */
        n++;
    }
    data_select(ds, cur);
    return n;
}

void data_evict_unmark(data_store *ds, const char *key, size_t len)
{
    dpos pos;
    if (dict_find(&ds->keys, key, len, &pos)) (*pos.slot)->flags &= (uint8_t)~DE_EVICTING;
}

int data_evict_key(data_store *ds, const char *key, size_t len)
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos)) return 0;
    data_call c = {.ds = ds, .now_ms = 0};
    ks_delete_as(&c, pos, (ds->lazy_policy & DATA_LAZY_EVICTION) != 0);
    notify_event(ds, DATA_NOTIFY_EVICTED, "evicted", key, len);
    return 1;
}

void data_evict_deinit(data_store *ds)
{
    for (int i = 0; i < ds->evict_pool_n; i++)
        free(ds->evict_pool[i].key);
    free(ds->evict_pool);
    ds->evict_pool = NULL;
    ds->evict_pool_n = 0;
}
