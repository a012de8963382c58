/* keyspace.c — the store, entries, lazy expiry, the command table and data_exec. */
#include <ctype.h>
#include <stdlib.h>

#include "data/data_internal.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"
#include "util/assert.h"

struct data_cmd {
    data_cmd_info info;
    data_handler fn;
    size_t nlen; /* strlen(info.name): data_cmd_lookup runs for every request and entry */
};

/* A command's name is its X-macro token stringified, but for the names a C identifier cannot
 * spell: DATA_NAME_<token> gives them as "~, name" and DATA_NAME picks that over #token. */
#define DATA_NAME_restore_asking ~, "restore-asking"
#define DATA_NAME_2ND(a, b, ...) b
#define DATA_NAME_PICK(...)      DATA_NAME_2ND(__VA_ARGS__)
#define DATA_NAME(token)         DATA_NAME_PICK(DATA_NAME_##token, #token, ~)

static const data_cmd cmd_table[] = {
#define DATA_X(name, arity, flags, fk, lk, step, specs, group, since, summary, fn)                 \
    {{DATA_NAME(name), arity, flags, fk, lk, step, group, summary, since, specs},                  \
     fn,                                                                                           \
     sizeof(DATA_NAME(name)) - 1},
    DATA_COMMANDS(DATA_X)
#undef DATA_X
};

#define CMD_COUNT (sizeof cmd_table / sizeof cmd_table[0])

/* data_cmd_lookup's index: open addressing over cmd_table by a hash of the lower-case name
 * (it runs for every request, at apply, in every redis.call and by the stats hook; most lookups
 * of a script or connection command miss, which a scan of the whole table made the slowest).
 * Filled before main (a constructor), read-only afterwards, so threads may look up too. */
#define CMD_INDEX_SLOTS 1024 /* a power of two, over twice CMD_COUNT */
_Static_assert(CMD_COUNT * 2 < CMD_INDEX_SLOTS, "cmd_index too small");
static uint16_t cmd_index[CMD_INDEX_SLOTS]; /* cmd_table position + 1; 0 = empty */

static uint32_t cmd_hash(const char *low, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)low[i]) * 16777619u;
    return h;
}

__attribute__((constructor)) static void cmd_index_build(void)
{
    for (size_t i = 0; i < CMD_COUNT; i++) {
        uint32_t h = cmd_hash(cmd_table[i].info.name, cmd_table[i].nlen);
        while (cmd_index[h & (CMD_INDEX_SLOTS - 1)])
            h++;
        cmd_index[h & (CMD_INDEX_SLOTS - 1)] = (uint16_t)(i + 1);
    }
}

const data_cmd *data_cmd_lookup(const char *name, size_t len)
{
    char low[24];
    if (len == 0 || len >= sizeof low) return NULL;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    for (uint32_t h = cmd_hash(low, len);; h++) {
        unsigned slot = cmd_index[h & (CMD_INDEX_SLOTS - 1)];
        if (!slot) return NULL;
        const data_cmd *c = &cmd_table[slot - 1];
        if (c->nlen == len && memcmp(c->info.name, low, len) == 0) return c;
    }
}

int data_cmd_may_block(const data_cmd *cmd, int argc, const data_arg *argv)
{
    if (!(cmd->info.flags & DATA_CMD_BLOCKING)) return 0;
    if (cmd->fn == cmd_xread || cmd->fn == cmd_xread_woken || cmd->fn == cmd_xreadgroup ||
        cmd->fn == cmd_xreadgroup_woken)
        return stream_may_block(argc, argv);
    if (cmd->fn != cmd_lock && cmd->fn != cmd_election) return 1;
    return argc >= 2 && (arg_eq(&argv[1], "acquire") || arg_eq(&argv[1], "campaign"));
}

const data_cmd_info *data_cmd_describe(const data_cmd *cmd)
{
    return &cmd->info;
}

size_t data_cmd_count(void)
{
    return CMD_COUNT;
}

const data_cmd *data_cmd_at(size_t i)
{
    return i < CMD_COUNT ? &cmd_table[i] : NULL;
}

/* ---- entries ---- */

static size_t dentry_bytes(const dentry *e)
{
    size_t v = e->type == DT_STRING ? e->vcap : sizeof(void *);
    return DENTRY_HDR + ((e->flags & DE_EXPIRE) ? 8 : 0) + e->klen + v;
}

dentry *dentry_new(size_t *mem, uint8_t type, const char *k, size_t klen, const char *v,
                   size_t vlen, size_t vcap, int64_t expire_ms)
{
    SYN_ASSERT(vlen <= vcap && vcap <= UINT32_MAX && klen <= UINT32_MAX);
    size_t ex = expire_ms >= 0 ? 8 : 0;
    dentry *e = dmem_alloc(mem, DENTRY_HDR + ex + klen + vcap);
    e->next = NULL;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->vcap = (uint32_t)vcap;
    e->type = type;
    e->flags = ex ? DE_EXPIRE : 0;
    e->access = 0;
    if (ex) memcpy(e->data, &expire_ms, 8);
    if (klen) memcpy(dentry_key(e), k, klen);
    if (vlen) memcpy(dentry_val(e), v, vlen);
    return e;
}

void dentry_free(size_t *mem, dentry *e)
{
    if (e->type == DT_HASH) hash_free(mem, e);
    if (e->type == DT_LIST) list_free(mem, e);
    if (e->type == DT_SET) set_free(mem, e);
    if (e->type == DT_ZSET) zset_free(mem, e);
    if (e->type == DT_STREAM) stream_free(mem, e);
    dmem_free(mem, e);
}

int ks_is_expired(const dentry *e, int64_t now_ms)
{
    return (e->flags & DE_EXPIRE) && dentry_expire(e) <= now_ms;
}

/* ---- keyspace access ---- */

/* Remembers a key a read found expired so the caller can delete it (data_take_expired); the
 * read itself changes nothing of the dataset. */
static void note_expired_seen(data_store *ds, const char *key, size_t len)
{
    if (ds->expired_seen_n == DATA_EXPIRED_SEEN_MAX || len > DATA_EXPIRED_SEEN_KEY) return;
    for (int i = 0; i < ds->expired_seen_n; i++)
        if (ds->expired_seen[i].db == ds->cur && ds->expired_seen[i].len == len &&
            memcmp(ds->expired_seen[i].key, key, len) == 0)
            return;
    char *copy = malloc(len ? len : 1);
    if (!copy) return; /* only a hint: the active cycle deletes the key later */
    memcpy(copy, key, len);
    ds->expired_seen[ds->expired_seen_n].key = copy;
    ds->expired_seen[ds->expired_seen_n].len = len;
    ds->expired_seen[ds->expired_seen_n].db = ds->cur;
    ds->expired_seen_n++;
}

size_t data_take_expired(data_store *ds, data_key_cb cb, void *ctx)
{
    size_t n = 0;
    int cur = ds->cur;
    while (ds->expired_seen_n > 0) {
        int i = --ds->expired_seen_n;
        data_select(ds, ds->expired_seen[i].db); /* the callback sees the key's database */
        if (cb) cb(ctx, ds->expired_seen[i].key, ds->expired_seen[i].len);
        free(ds->expired_seen[i].key);
        n++;
    }
    data_select(ds, cur);
    return n;
}

int data_expire_key(data_store *ds, const char *key, size_t len, int64_t now_ms)
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos) || !ks_is_expired(*pos.slot, now_ms)) return 0;
    data_call c = {.ds = ds, .now_ms = now_ms};
    ks_delete_as(&c, pos, (ds->lazy_policy & DATA_LAZY_EXPIRE) != 0);
    notify_event(ds, DATA_NOTIFY_EXPIRED, "expired", key, len);
    return 1;
}

/* Which argument of a command names a member of its key's table (hash field, set or sorted-set
 * member), or 0: only commands whose lookup of it is the common case. */
static int member_arg(int argc, const data_arg *argv)
{
    const data_arg *n = &argv[0];
    if (argc >= 3 && (n->ptr[0] | 0x20) == 'h') return 2;
    if (argc >= 3 && (arg_eq(n, "sadd") || arg_eq(n, "srem") || arg_eq(n, "sismember") ||
                      arg_eq(n, "zrem") || arg_eq(n, "zscore")))
        return 2;
    if (argc == 4 && (arg_eq(n, "zadd") || arg_eq(n, "zincrby"))) return 3;
    return 0;
}

void data_prefetch(const data_store *ds, int argc, const data_arg *argv, int stage,
                   data_prefetch_state *st)
{
    if (argc < 2) return;
    if (stage == 0) {
        st->hkey = dict_hash(&ds->keys, argv[1].ptr, argv[1].len);
        /* a member named after the key: its lookup in the value's table misses too */
        int m = member_arg(argc, argv);
        st->field = m != 0;
        if (m) st->hfield = dict_hash(&ds->keys, argv[m].ptr, argv[m].len);
    }
    if (stage < 2) {
        dict_prefetch_h(&ds->keys, st->hkey, stage);
        return;
    }
    if (!st->field) return;
    dpos pos; /* found again each time: a command in between may have replaced the value */
    if (!dict_find_h(&ds->keys, argv[1].ptr, argv[1].len, st->hkey, &pos)) return;
    dentry *e = *pos.slot;
    const dict *t = NULL;
    if ((e->type == DT_HASH || e->type == DT_SET) && (e->flags & DE_HASH_TABLE))
        t = dentry_ptr(e);
    else if (e->type == DT_ZSET)
        t = zset_member_table(e);
    if (t) dict_prefetch_h(t, st->hfield, stage - 2);
}

void data_set_max_string_bytes(data_store *ds, long long n)
{
    if (n < 1) n = 1;
    if (n > DATA_STRING_MAX_BYTES) n = DATA_STRING_MAX_BYTES;
    ds->max_string_bytes = n;
}

dentry *ks_read_notouch(data_call *c, const data_arg *key)
{
    dpos pos;
    if (!dict_find(&c->ds->keys, key->ptr, key->len, &pos)) {
        c->ds->keyspace_misses++;
        return NULL;
    }
    dentry *e = *pos.slot;
    if (!ks_is_expired(e, c->now_ms)) {
        c->ds->keyspace_hits++;
        return e;
    }
    c->ds->keyspace_misses++;
    note_expired_seen(c->ds, dentry_key(e), e->klen);
    return NULL;
}

dentry *ks_read(data_call *c, const data_arg *key)
{
    dentry *e = ks_read_notouch(c, key);
    if (e) ks_access_touch(c->ds, e, c->now_ms);
    return e;
}

static void note_wkey(data_store *ds, const data_arg *key)
{
    if (ds->wkeys_n == ds->wkeys_cap) {
        size_t ncap = ds->wkeys_cap ? 2 * ds->wkeys_cap : 16;
        data_arg *nk = realloc(ds->wkeys, ncap * sizeof(*nk));
        SYN_ASSERT(nk != NULL);
        ds->wkeys = nk;
        ds->wkeys_cap = ncap;
    }
    ds->wkeys[ds->wkeys_n++] = *key;
}

void ks_forget_wkey(data_call *c, const data_arg *key)
{
    data_store *ds = c->ds;
    for (size_t i = ds->wkeys_n; i-- > 0;) {
        if (ds->wkeys[i].ptr == key->ptr && ds->wkeys[i].len == key->len) {
            ds->wkeys[i] = ds->wkeys[--ds->wkeys_n];
            return;
        }
    }
}

int ks_write(data_call *c, const data_arg *key, dpos *pos)
{
    if (c->ds->touched_cb) note_wkey(c->ds, key);
    if (!dict_find(&c->ds->keys, key->ptr, key->len, pos)) return 0;
    if (ks_is_expired(*pos->slot, c->now_ms)) {
        ks_delete(c, *pos);
        notify_event(c->ds, DATA_NOTIFY_EXPIRED, "expired", key->ptr, key->len);
        return 0;
    }
    ks_access_touch(c->ds, *pos->slot, c->now_ms);
    return 1;
}

static void delete_at(data_call *c, dpos pos, int lazy)
{
    dentry *e = dict_unlink(&c->ds->keys, pos);
    if (c->ds->touched_cb) c->ds->touched_cb(c->ds->touched_ctx, dentry_key(e), e->klen);
    if (e->flags & DE_EXPIRE) c->ds->expires--;
    if (lazy)
        ks_free_detached(c->ds, e);
    else
        dentry_free(&c->ds->mem, e);
    c->dirty = 1;
}

/* Redis's dbDelete: lazy as lazyfree-lazy-server-del says */
void ks_delete(data_call *c, dpos pos)
{
    delete_at(c, pos, (c->ds->lazy_policy & DATA_LAZY_SERVER_DEL) != 0);
}

void ks_delete_as(data_call *c, dpos pos, int lazy)
{
    delete_at(c, pos, lazy);
}

void ks_delete_lazy(data_call *c, dpos pos)
{
    delete_at(c, pos, 1);
}

void ks_insert(data_call *c, dentry *e)
{
    ks_access_init(c->ds, e, c->now_ms);
    if (e->flags & DE_EXPIRE) c->ds->expires++;
    dict_insert(&c->ds->keys, e);
    c->dirty = 1;
    if (c->ds->created_cb && (e->type == DT_LIST || e->type == DT_ZSET))
        c->ds->created_cb(c->ds->created_ctx, dentry_key(e), e->klen);
    if (c->ds->touched_cb) c->ds->touched_cb(c->ds->touched_ctx, dentry_key(e), e->klen);
}

void data_set_key_touched_hook(data_store *ds, data_key_cb2 cb, void *ctx)
{
    ds->touched_cb = cb;
    ds->touched_ctx = ctx;
}

int data_key_state(const data_store *ds, const char *key, size_t len, int64_t now_ms)
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos)) return DATA_KEY_ABSENT;
    return ks_is_expired(*pos.slot, now_ms) ? DATA_KEY_STALE : DATA_KEY_LIVE;
}

void data_set_key_created_hook(data_store *ds, data_key_cb2 cb, void *ctx)
{
    ds->created_cb = cb;
    ds->created_ctx = ctx;
}

void ks_set_string(data_call *c, const data_arg *key, const char *v, size_t vlen, int64_t expire_ms,
                   int keep_ttl)
{
    dpos pos;
    int found = ks_write(c, key, &pos);
    ks_set_string_at(c, key, found, pos, v, vlen, expire_ms, keep_ttl);
}

void ks_set_string_at(data_call *c, const data_arg *key, int found, dpos pos, const char *v,
                      size_t vlen, int64_t expire_ms, int keep_ttl)
{
    data_store *ds = c->ds;
    c->dirty = 1;
    if (!found) {
        ks_insert(c, dentry_new(&ds->mem, DT_STRING, key->ptr, key->len, v, vlen, vlen,
                                keep_ttl ? -1 : expire_ms));
        return;
    }
    dentry *old = *pos.slot;
    if (keep_ttl) expire_ms = dentry_expire(old);
    int had = (old->flags & DE_EXPIRE) != 0, has = expire_ms >= 0;
    /* reuse the allocation when the new value fits without wasting much of it */
    if (old->type == DT_STRING && had == has && vlen <= old->vcap && old->vcap <= vlen + 32) {
        if (has) memcpy(old->data, &expire_ms, 8);
        if (vlen) memcpy(dentry_val(old), v, vlen);
        old->vlen = (uint32_t)vlen;
        old->flags &= (uint8_t) ~(DE_RAW | DE_STR);
        return;
    }
    dentry *ne = dentry_new(&ds->mem, DT_STRING, key->ptr, key->len, v, vlen, vlen, expire_ms);
    ne->next = old->next;
    ks_access_overwrite(ds, ne, old, c->now_ms);
    dict_replace(pos, ne);
    ds->expires += (uint64_t)has - (uint64_t)had;
    if (ds->lazy_policy & DATA_LAZY_SERVER_DEL)
        ks_free_detached(ds, old);
    else
        dentry_free(&ds->mem, old);
}

dentry *ks_string_resize(data_call *c, dpos pos, size_t vlen, int grow)
{
    dentry *e = *pos.slot;
    SYN_ASSERT(e->type == DT_STRING);
    c->dirty = 1;
    if (vlen <= e->vcap) {
        e->vlen = (uint32_t)vlen;
        return e;
    }
    size_t cap = vlen;
    if (grow) cap = vlen < (1u << 20) ? vlen * 2 : vlen + (1u << 20);
    if (cap > UINT32_MAX) cap = vlen;
    size_t head = DENTRY_HDR + ((e->flags & DE_EXPIRE) ? 8 : 0) + e->klen;
    dentry *ne = dmem_realloc(&c->ds->mem, e, head + cap);
    ne->vcap = (uint32_t)cap;
    ne->vlen = (uint32_t)vlen;
    dict_replace(pos, ne);
    return ne;
}

dentry *ks_set_expire(data_call *c, dpos pos, int64_t expire_ms)
{
    dentry *e = *pos.slot;
    c->dirty = 1;
    int had = (e->flags & DE_EXPIRE) != 0;
    if (had && expire_ms >= 0) {
        memcpy(e->data, &expire_ms, 8);
        return e;
    }
    if (!had && expire_ms < 0) return e;
    size_t body = dentry_bytes(e) - DENTRY_HDR - (had ? 8 : 0); /* key + value */
    if (had) {
        memmove(e->data, e->data + 8, body);
        e->flags &= (uint8_t)~DE_EXPIRE;
        e = dmem_realloc(&c->ds->mem, e, DENTRY_HDR + body);
        c->ds->expires--;
    } else {
        e = dmem_realloc(&c->ds->mem, e, DENTRY_HDR + 8 + body);
        memmove(e->data + 8, e->data, body);
        memcpy(e->data, &expire_ms, 8);
        e->flags |= DE_EXPIRE;
        c->ds->expires++;
    }
    dict_replace(pos, e);
    return e;
}

/* ---- replies ---- */

void reply_ok(data_call *c)
{
    c->ops->status(c->rctx, "OK", 2);
}
void reply_err(data_call *c, const char *msg)
{
    c->ops->error(c->rctx, msg, strlen(msg));
}
void reply_wrongtype(data_call *c)
{
    reply_err(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}
void reply_syntax(data_call *c)
{
    reply_err(c, "ERR syntax error");
}
void reply_not_int(data_call *c)
{
    reply_err(c, "ERR value is not an integer or out of range");
}
void reply_arity(data_call *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "ERR wrong number of arguments for '%s' command", c->name);
    c->ops->error(c->rctx, buf, (size_t)n);
}
void reply_bulk(data_call *c, const char *p, size_t n)
{
    c->ops->bulk(c->rctx, p, n);
}
void reply_int(data_call *c, long long v)
{
    c->ops->integer(c->rctx, v);
}
void reply_null(data_call *c)
{
    c->ops->null(c->rctx);
}

/* ---- store ---- */

data_store *data_create(void)
{
    data_store *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    dict_init(&ds->keys, &ds->mem, ds->hash_seed);
    if (data_set_databases(ds, DATA_DATABASES_DEFAULT) < 0) {
        free(ds);
        return NULL;
    }
    ds->max_string_bytes = DATA_STRING_MAX_BYTES;
    ds->list_fill = -2;
    ds->hash_max_fields = DATA_HASH_PACKED_FIELDS;
    ds->hash_max_value = DATA_HASH_PACKED_VALUE;
    ds->set_max_intset_entries = DATA_SET_MAX_INTSET_DEFAULT;
    ds->zset_max_entries = DATA_ZSET_MAX_LISTPACK_ENTRIES;
    ds->zset_max_value = DATA_ZSET_MAX_LISTPACK_VALUE;
    ds->hll_sparse_max_bytes = DATA_HLL_SPARSE_MAX_BYTES_DEFAULT;
    ds->rng = 0x9E3779B97F4A7C15ull;
    data_set_eviction(ds, DATA_EVICT_NOEVICTION, 5, 10, 1);
    ds->coord = coord_create();
    ds->acl = acl_create(&acl_no_catalog);
    if (!ds->acl) {
        data_destroy(ds);
        return NULL;
    }
    return ds;
}

void data_set_max_intset_entries(data_store *ds, long long n)
{
    ds->set_max_intset_entries = n < 0 ? 0 : n;
}

void data_set_zset_max_listpack(data_store *ds, long long entries, long long value)
{
    ds->zset_max_entries = entries < 0 ? 0 : (uint64_t)entries;
    ds->zset_max_value = value < 0 ? 0 : (uint64_t)value;
}

void data_set_hll_sparse_max_bytes(data_store *ds, long long n)
{
    ds->hll_sparse_max_bytes = n < 0 ? 0 : (size_t)n;
}

uint64_t data_rng_u64(data_store *ds)
{
    /* xorshift64* (Vigna): state never 0 */
    ds->rng ^= ds->rng >> 12;
    ds->rng ^= ds->rng << 25;
    ds->rng ^= ds->rng >> 27;
    return ds->rng * 0x2545F4914F6CDD1Dull;
}

static int all_empty(const data_store *ds)
{
    if (dict_size(&ds->keys) != 0 || ds->garbage_n != 0) return 0;
    for (int i = 0; i < ds->ndb; i++)
        if (i != ds->cur && dict_size(&ds->dbs[i].keys) != 0) return 0;
    return 1;
}

int data_set_databases(data_store *ds, long long n)
{
    if (n < 1 || n > DATA_DATABASES_MAX || !all_empty(ds)) return -1;
    data_db *dbs = calloc((size_t)n, sizeof(*dbs));
    if (!dbs) return -1;
    for (long long i = 0; i < n; i++)
        dict_init(&dbs[i].keys, &ds->mem, ds->hash_seed);
    for (int i = 0; i < ds->ndb; i++)
        if (i != ds->cur) dict_deinit(&ds->dbs[i].keys, NULL, NULL);
    free(ds->dbs);
    ds->dbs = dbs;
    ds->ndb = (int)n;
    ds->cur = 0;
    ds->expires = 0;
    ds->expire_cursor = 0;
    return 0;
}

int data_databases(const data_store *ds)
{
    return ds->ndb;
}

int data_selected(const data_store *ds)
{
    return ds->cur;
}

int data_select(data_store *ds, long long db)
{
    if (db < 0 || db >= ds->ndb) return -1;
    int prev = ds->cur;
    if (db == prev) return prev;
    data_db *o = &ds->dbs[prev], *d = &ds->dbs[db];
    o->keys = ds->keys;
    o->expires = ds->expires;
    o->expire_cursor = ds->expire_cursor;
    ds->keys = d->keys;
    ds->expires = d->expires;
    ds->expire_cursor = d->expire_cursor;
    ds->cur = (int)db;
    return prev;
}

void data_db_sizes(data_store *ds, int db, uint64_t *keys, uint64_t *expires)
{
    int prev = data_select(ds, db);
    *keys = prev < 0 ? 0 : dict_size(&ds->keys);
    *expires = prev < 0 ? 0 : ds->expires;
    if (prev >= 0) data_select(ds, prev);
}

void data_db_overhead(data_store *ds, int db, uint64_t *main, uint64_t *expires)
{
    int prev = data_select(ds, db);
    *main = *expires = 0;
    if (prev < 0) return;
    const dict *d = &ds->keys;
    *main = (d->size[0] + d->size[1]) * sizeof(dentry *) + dict_size(d) * DENTRY_HDR;
    *expires = ds->expires * sizeof(int64_t);
    data_select(ds, prev);
}

void data_set_mem_hook(data_store *ds, data_mem_cb cb, void *ctx)
{
    ds->mem_cb = cb;
    ds->mem_ctx = ctx;
}

int data_set_hash_seed(data_store *ds, uint64_t k0, uint64_t k1)
{
    if (!all_empty(ds)) return -1;
    ds->hash_seed[0] = k0;
    ds->hash_seed[1] = k1;
    dict_init(&ds->keys, &ds->mem, ds->hash_seed);
    for (int i = 0; i < ds->ndb; i++)
        dict_init(&ds->dbs[i].keys, &ds->mem, ds->hash_seed);
    ds->rng = dict_siphash(k0, k1, "rng", 3, 1, 3) | 1;
    return 0;
}

static void free_cb(dentry *e, void *arg)
{
    dentry_free(arg, e);
}

static void garbage_cb(dentry *e, void *arg)
{
    ks_free_detached(arg, e); /* a big value of a flushed keyspace: to the lazy-free thread */
}

void ks_flush(data_store *ds)
{
    dict_deinit(&ds->keys, free_cb, &ds->mem);
    ds->expires = 0;
    ds->expire_cursor = 0;
}

void ks_flush_async(data_store *ds)
{
    if (dict_size(&ds->keys) == 0) return;
    if (ds->garbage_n == DATA_GARBAGE_SLOTS) ks_free_garbage(ds, SIZE_MAX); /* bounded backlog */
    ds->garbage[ds->garbage_n++] = ds->keys;
    dict_init(&ds->keys, &ds->mem, ds->hash_seed);
    ds->expires = 0;
    ds->expire_cursor = 0;
}

void ks_flush_all(data_store *ds, int async)
{
    int prev = ds->cur;
    for (int i = 0; i < ds->ndb; i++) {
        data_select(ds, i);
        if (async)
            ks_flush_async(ds);
        else
            ks_flush(ds);
    }
    data_select(ds, prev);
}

void ks_free_garbage(data_store *ds, size_t budget)
{
    while (ds->garbage_n > 0) {
        dict *g = &ds->garbage[0];
        if (!dict_free_some(g, budget, garbage_cb, ds)) return;
        memmove(&ds->garbage[0], &ds->garbage[1], sizeof(dict) * (size_t)--ds->garbage_n);
    }
}

void data_destroy(data_store *ds)
{
    if (!ds) return;
    ks_free_garbage(ds, SIZE_MAX);
    ks_lazy_destroy(ds);
    data_take_expired(ds, NULL, NULL);
    if (ds->dbs) ks_flush_all(ds, 0);
    free(ds->dbs);
    SYN_ASSERT_CMP(ds->mem, ==, 0);
    free(ds->aux);
    free(ds->wkeys);
    free(ds->ntrack);
    coord_destroy(ds->coord);
    acl_destroy(ds->acl);
    settings_free(ds->settings, ds->settings_n);
    data_evict_deinit(ds);
    free(ds->spop_recent);
    free(ds);
}

#define GARBAGE_PER_EXEC   64    /* entries of flushed keyspaces freed per command */
#define GARBAGE_PER_SAMPLE 16384 /* ... and per active expiry call (~1 ms of work) */

int data_exec(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv, int64_t now_ms,
              const data_reply_ops *ops, void *ctx)
{
    return data_exec_block(ds, cmd, argc, argv, now_ms, ops, ctx, NULL);
}

int data_exec_block(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                    int64_t now_ms, const data_reply_ops *ops, void *ctx, data_block *blk)
{
    SYN_ASSERT(ds && cmd && ops && argc >= 1);
    if (blk) memset(blk, 0, sizeof(*blk));
    data_call c = {ds, argc, argv, now_ms, ops, ctx, 0, cmd->info.name, blk};
    int arity = cmd->info.arity;
    if ((arity > 0 && argc != arity) || (arity < 0 && argc < -arity)) {
        reply_arity(&c);
        return 0;
    }
    /* no key or value may exceed proto-max-bulk-len (also keeps lengths within 32 bits) */
    for (int i = 1; i < argc; i++) {
        if (argv[i].len > DATA_STRING_MAX_BYTES) {
            reply_err(&c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            return 0;
        }
    }
    if (ds->garbage_n) ks_free_garbage(ds, GARBAGE_PER_EXEC);
    ds->wkeys_n = 0;
    const void *ev = ds->notify_flags ? notify_before(ds, cmd, argc, argv, now_ms) : NULL;
    cmd->fn(&c);
    if (ev) notify_after(ds, ev, argc, argv, now_ms, c.dirty);
    if (ds->touched_cb && c.dirty)
        for (size_t i = 0; i < ds->wkeys_n; i++)
            ds->touched_cb(ds->touched_ctx, ds->wkeys[i].ptr, ds->wkeys[i].len);
    ds->wkeys_n = 0;
    return c.dirty;
}

void data_get_stats(const data_store *ds, data_stats *out)
{
    out->keys = dict_size(&ds->keys);
    out->expires = ds->expires;
    out->memory_bytes = ds->mem + sizeof *ds;
    out->keyspace_hits = ds->keyspace_hits;
    out->keyspace_misses = ds->keyspace_misses;
    out->lazyfree_pending = ds->lazy_n + ds->lazy_out;
    for (int i = 0; i < ds->garbage_n; i++)
        out->lazyfree_pending += dict_size(&ds->garbage[i]);
    out->lazyfreed = ds->lazy_freed;
}

void data_reset_stats(data_store *ds)
{
    ds->keyspace_hits = ds->keyspace_misses = 0;
    ds->lazy_freed = 0;
}

/* ---- deterministic rewrite ---- */

static void discard_str(void *ctx, const char *s, size_t n)
{
    (void)ctx, (void)s, (void)n;
}
static void discard_int(void *ctx, long long v)
{
    (void)ctx, (void)v;
}
static void discard_void(void *ctx)
{
    (void)ctx;
}
static void discard_n(void *ctx, size_t n)
{
    (void)ctx, (void)n;
}
static void discard_dbl(void *ctx, double v)
{
    (void)ctx, (void)v;
}
static const data_reply_ops discard_ops = {discard_str,  discard_str,  discard_int, discard_str,
                                           discard_void, discard_void, discard_n,   discard_n,
                                           discard_n,    discard_dbl,  NULL,        NULL};

int data_rewrite(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                 int64_t now_ms, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    /* the parsers are shared with execution; their error replies go nowhere */
    data_call c = {ds, argc, argv, now_ms, &discard_ops, NULL, 0, cmd->info.name, NULL};
    if (cmd->fn == cmd_lease) return coord_rewrite(&c, out, out_cap, scratch, scratch_cap);
    int n = string_rewrite(&c, out, out_cap, scratch, scratch_cap);
    if (n == 0) n = expire_rewrite(&c, out, out_cap, scratch, scratch_cap);
    if (n == 0) n = spop_rewrite(&c, out, out_cap, scratch, scratch_cap);
    if (n == 0 && cmd->fn == cmd_restore) /* RESTORE and RESTORE-ASKING */
        n = restore_rewrite(&c, out, out_cap, scratch, scratch_cap);
    if (n == 0) n = stream_rewrite(&c, out, out_cap, scratch, scratch_cap);
    return n;
}

/* ---- active expiry ---- */

#define EXPIRE_BATCH       64    /* entries collected per scan step before reporting */
#define EXPIRE_MAX_BUCKETS 20000 /* bound on buckets visited per call */
#define EXPIRE_MIN_BUCKETS 64

typedef struct {
    int64_t now_ms;
    dentry *found[EXPIRE_BATCH * 2];
    size_t n;
    uint64_t seen; /* entries with an expiry examined */
} expire_scan;

static void expire_scan_cb(void *ctx, dentry *e)
{
    expire_scan *s = ctx;
    if (!(e->flags & DE_EXPIRE)) return;
    s->seen++;
    if (dentry_expire(e) <= s->now_ms && s->n < sizeof s->found / sizeof s->found[0])
        s->found[s->n++] = e;
}

/* Walks the table with a persistent resize-safe cursor (so repeated calls cover every key),
 * like Redis's cycle samples its expires table: the budget grows with how sparse keys with
 * an expiry are, and is bounded. Keys are reported after each step, so the callback may delete
 * the reported key (e.g. with data_exec DEL) without disturbing the walk. */
static size_t expire_sample_db(data_store *ds, int64_t now_ms, size_t max, data_key_cb cb,
                               void *ctx)
{
    if (ds->expires == 0 || max == 0) return 0;
    uint64_t keys = dict_size(&ds->keys);
    uint64_t budget = (uint64_t)max * 4 * (keys / ds->expires + 1);
    if (budget < EXPIRE_MIN_BUCKETS) budget = EXPIRE_MIN_BUCKETS;
    if (budget > EXPIRE_MAX_BUCKETS) budget = EXPIRE_MAX_BUCKETS;
    size_t reported = 0;
    expire_scan s = {.now_ms = now_ms};
    for (uint64_t step = 0; step < budget && reported < max; step++) {
        s.n = 0;
        ds->expire_cursor = dict_scan(&ds->keys, ds->expire_cursor, expire_scan_cb, &s);
        for (size_t i = 0; i < s.n && reported < max; i++) {
            dentry *e = s.found[i];
            cb(ctx, dentry_key(e), e->klen);
            reported++;
        }
        if (ds->expire_cursor == 0) break; /* a full cycle: let the caller come back later */
    }
    return reported;
}

void data_free_garbage(data_store *ds)
{
    if (ds->garbage_n) ks_free_garbage(ds, GARBAGE_PER_SAMPLE);
}

/* Every database in turn (the callback sees the key's database selected), max in all. */
size_t data_expire_sample(data_store *ds, int64_t now_ms, size_t max, data_key_cb cb, void *ctx)
{
    if (ds->garbage_n) ks_free_garbage(ds, GARBAGE_PER_SAMPLE);
    int cur = ds->cur;
    size_t reported = 0;
    for (int db = 0; db < ds->ndb && reported < max; db++) {
        data_select(ds, db);
        reported += expire_sample_db(ds, now_ms, max - reported, cb, ctx);
    }
    data_select(ds, cur);
    return reported;
}

int data_set_aux(data_store *ds, const void *p, size_t len)
{
    char *a = NULL;
    if (len) {
        a = malloc(len);
        if (!a) return -1;
        memcpy(a, p, len);
    }
    free(ds->aux);
    ds->aux = a;
    ds->aux_len = len;
    return 0;
}

const void *data_get_aux(const data_store *ds, size_t *len, uint64_t *gen)
{
    if (len) *len = ds->aux_len;
    if (gen) *gen = ds->aux_gen;
    return ds->aux;
}
