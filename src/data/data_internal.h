/* data_internal.h — shared internals of the data layer: entries, the hash table, the store,
 * the command call context and small parsing/formatting helpers. Not a public header. */
#ifndef SYNOD_DATA_INTERNAL_H
#define SYNOD_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/acl.h"
#include "data/data.h"
#include "data/data_cmds.h"
#include "util/strconv.h"

/* stdio.h is banned in the deterministic core to keep file I/O out of it (scripts/lint.sh).
 * Formatting into memory is pure, so only snprintf is declared (same prototype as glibc). */
extern int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...);

#define DATA_STRING_MAX_BYTES   (512ll * 1024 * 1024) /* proto-max-bulk-len */
#define DATA_HASH_PACKED_FIELDS 512                   /* hash-max-listpack-entries */
#define DATA_HASH_PACKED_VALUE  64                    /* hash-max-listpack-value */

enum { DT_STRING = 0, DT_HASH = 1, DT_LIST = 2 };
enum { DT_SET = 3 };  /* set.c */
enum { DT_ZSET = 4 }; /* zset.c */
enum {
    DE_EXPIRE = 1u << 0,     /* an int64 expiry (ms) sits at data[0..8) */
    DE_HASH_TABLE = 1u << 1, /* DT_HASH, DT_SET: value is a dict* (else the compact encoding) */
    DE_EVICTING = 1u << 2,   /* picked by data_evict_pick, its deletion not applied yet (local) */
    DE_RAW = 1u << 3,        /* DT_STRING: edited in place (SETRANGE APPEND SETBIT BITFIELD): OBJECT
                                ENCODING says raw, as Redis's unshared string (local, not in the
                                snapshot; SET and the counters clear it) */
    DE_STR = 1u << 4,        /* DT_STRING: a number INCRBYFLOAT stored, which Redis keeps as a
                                string even when it is an integer: OBJECT ENCODING says embstr
                                (local, as DE_RAW) */
    DE_LFU = 1u << 5         /* access holds an LFU word (written under an LFU policy), else an
                                LRU clock (local; evict.c) */
};

/* One key (or one hash field) in a single allocation: header, optional expiry, key bytes, then
 * the value. A string value is embedded (vlen bytes used of vcap); a hash stores a pointer. */
typedef struct dentry {
    struct dentry *next; /* bucket chain */
    uint32_t klen;
    uint32_t vlen; /* <= vcap */
    uint32_t vcap;
    uint8_t type;  /* DT_* */
    uint8_t flags; /* DE_* */
    /* access clock of a key (evict.c; local to this node, never replicated nor in a snapshot):
     * LRU policies: seconds mod 2^16 of the last access; LFU: minutes mod 2^8 of the last
     * decrement (high byte) and the logarithmic counter (low byte) */
    uint16_t access;
    char data[];
} dentry;

#define DENTRY_HDR offsetof(dentry, data)

static inline char *dentry_key(dentry *e)
{
    return e->data + ((e->flags & DE_EXPIRE) ? 8 : 0);
}
static inline char *dentry_val(dentry *e)
{
    return dentry_key(e) + e->klen;
}
static inline int64_t dentry_expire(const dentry *e)
{
    int64_t v = -1;
    if (e->flags & DE_EXPIRE) memcpy(&v, e->data, 8);
    return v;
}
static inline void *dentry_ptr(dentry *e)
{
    void *p;
    memcpy(&p, dentry_val(e), sizeof p);
    return p;
}
static inline void dentry_set_ptr(dentry *e, void *p)
{
    memcpy(dentry_val(e), &p, sizeof p);
}

/* Chained hash table with power-of-two sizes and incremental rehashing (one bucket moved per
 * insert/delete, so a resize never stalls a command). Entries are owned by the caller. */
typedef struct {
    dentry **t[2];
    uint64_t size[2]; /* 0 or a power of two */
    uint64_t used[2];
    int64_t rehash_idx; /* -1 when not rehashing; else buckets of t[0] below it are moved */
    size_t *mem;        /* byte counter to charge for bucket arrays (may be NULL) */
    uint64_t k0, k1;    /* hash key: the store's seed (every table of a store has the same) */
    uint8_t members;    /* entries are set members (dmember_*), not full dentries */
} dict;

/* A set member in a table (set.c): only `next` and `klen` of the dentry header, then the member's
 * bytes: 12 bytes of header instead of 22, so short members fit a 32-byte malloc chunk. Only
 * those two fields may be touched; a dict made with dict_init_members knows where the key is. */
#define DMEMBER_HDR (offsetof(dentry, klen) + sizeof(uint32_t))
static inline char *dmember_key(dentry *e)
{
    return (char *)e + DMEMBER_HDR;
}

/* Where an entry is linked: *slot == entry. Valid until the next insert/unlink. */
typedef struct {
    dentry **slot;
    int tab;
} dpos;

/* The table's keyed hash (SipHash-1-3 with its seed); dict_siphash is the general form. */
uint64_t dict_hash(const dict *d, const char *p, size_t n);
uint64_t dict_siphash(uint64_t k0, uint64_t k1, const char *p, size_t n, int c_rounds,
                      int d_rounds);
void dict_init(dict *d, size_t *mem, const uint64_t seed[2]);
void dict_init_members(dict *d, size_t *mem, const uint64_t seed[2]); /* a table of dmembers */
void dict_deinit(dict *d, void (*free_entry)(dentry *e, void *arg), void *arg);
uint64_t dict_size(const dict *d);
int dict_find(const dict *d, const char *key, size_t klen, dpos *pos); /* 1 found, 0 not */
int dict_find_h(const dict *d, const char *key, size_t klen, uint64_t h, dpos *pos); /* h given */
/* Cache hints for a lookup of hash h coming soon: stage 0 fetches the bucket, stage 1 (issued
 * later, once the bucket has arrived) the first entry of its chain. Changes nothing. */
void dict_prefetch_h(const dict *d, uint64_t h, int stage);
const dict *zset_member_table(dentry *e); /* the big encoding's member table, or NULL */
/* Links e (its key must not be present). May grow the table. */
void dict_insert(dict *d, dentry *e);
/* Unlinks the entry at pos and returns it. May shrink the table. */
dentry *dict_unlink(dict *d, dpos pos);
/* Replaces the entry at pos by ne (same key), e.g. after realloc. */
void dict_replace(dpos pos, dentry *ne);
typedef void (*dict_scan_cb)(void *ctx, dentry *e);
/* Reverse-binary cursor scan as Redis's dictScan: every entry present for the whole scan is
 * reported at least once across resizes. Returns the next cursor (0 = done). */
uint64_t dict_scan(const dict *d, uint64_t cursor, dict_scan_cb cb, void *ctx);
/* Calls cb on every entry (no mutation allowed during the walk). */
void dict_each(const dict *d, dict_scan_cb cb, void *ctx);
/* Frees up to about `budget` entries of a dict being discarded (whole chains at a time), using
 * rehash_idx as the cursor; returns 1 once everything, tables included, is freed. */
int dict_free_some(dict *d, size_t budget, void (*free_entry)(dentry *e, void *arg), void *arg);
/* A uniformly random entry of a non-empty dict, drawn with the store's generator. */
dentry *dict_random(const dict *d, data_store *ds);
/* Number of bucket slots in the tables (for sampling budgets). */
uint64_t dict_buckets(const dict *d);

/* Memory accounting wrappers: charge usable size + chunk header to *mem (may be NULL). Out of
 * memory stops the process (as in Redis). */
void *dmem_alloc(size_t *mem, size_t n);
void *dmem_calloc(size_t *mem, size_t n, size_t size);
void *dmem_realloc(size_t *mem, void *p, size_t n);
void dmem_free(size_t *mem, void *p);

#define DATA_GARBAGE_SLOTS    4
#define DATA_EXPIRED_SEEN_MAX 32
#define DATA_EXPIRED_SEEN_KEY 1024 /* longer keys are left to the active cycle */

/* A database (SELECT): ds->keys / expires / expire_cursor are the live copy of the selected
 * one (dicts move by value), dbs[i] holds every other one. */
typedef struct {
    dict keys;
    uint64_t expires;
    uint64_t expire_cursor;
} data_db;

struct data_store {
    dict keys;              /* the selected database's (data_select) */
    uint64_t hash_seed[2];  /* data_set_hash_seed; {0, 0} until then */
    int in_script;          /* data_set_in_script: commands come from a Lua script */
    uint64_t expires;       /* entries with DE_EXPIRE */
    size_t mem;             /* bytes allocated for the dataset (and garbage not yet freed) */
    uint64_t expire_cursor; /* dict_scan cursor of the active expiry cycle */
    /* Keyspaces detached by FLUSHALL/FLUSHDB ASYNC, freed a bounded number of entries at a
     * time by later calls (Redis frees them in a thread; the core has none). Invisible to
     * every command. */
    dict garbage[DATA_GARBAGE_SLOTS];
    int garbage_n;
    /* values detached by UNLINK (and FLUSH ASYNC's big ones) for a thread to free (lazyfree.c):
     * queued here until data_lazy_take hands them out; counters for INFO */
    int lazy_on;
    int lazy_policy; /* DATA_LAZY_* */
    dentry **lazy;
    size_t lazy_n, lazy_cap;
    uint64_t lazy_out;          /* taken, not yet reported freed (data_lazy_done) */
    uint64_t lazy_freed;        /* lazyfreed_objects */
    long long max_string_bytes; /* proto-max-bulk-len: 1..DATA_STRING_MAX_BYTES */
    /* Keys that reads found logically expired (copies), for data_take_expired; bounded. */
    struct {
        char *key;
        size_t len;
        int db;
    } expired_seen[DATA_EXPIRED_SEEN_MAX];
    int expired_seen_n;
    int list_fill; /* list-max-listpack-size for new lists (memory layout only, never replies) */
    /* hash-max-listpack-entries / -value: when a hash leaves its packed encoding (layout and
     * OBJECT ENCODING only; any value bound, as in Redis, the buffer itself under 1 GB) */
    uint32_t hash_max_fields, hash_max_value;
    /* sets (set.c) */
    long long set_max_intset_entries; /* set-max-intset-entries */
    /* sorted sets (zset.c): zset-max-listpack-entries / -value (encoding only) */
    uint64_t zset_max_entries, zset_max_value;
    /* hll-sparse-max-bytes: a sparse HyperLogLog that would grow past it turns dense (hll.c).
     * Unlike the encoding settings above it decides the bytes stored: equal on every node. */
    size_t hll_sparse_max_bytes;
    int log_apply; /* data_set_log_apply: commands now come from the replication log */
    /* stream-node-max-entries (stream.c): the leader's setting, which data_rewrite writes into
     * XADD / XTRIM entries (XADD_EFFECT / XTRIM_EFFECT) when it is not the default; and the
     * value of the effect being applied (0 = the default, 100) */
    int stream_node_max, stream_node_max_apply;
    uint64_t rng; /* xorshift64* state: draws of reads (SRANDMEMBER) and of the leader's rewrite
                   * (SPOP): never of an apply (DESIGN.md "Replicating effects") */
    /* data_set_aux: opaque state of a module above (the function library), in the snapshot */
    char *aux;
    size_t aux_len;
    uint64_t aux_gen;        /* bumped by each snapshot load */
    data_key_cb2 created_cb; /* data_set_key_created_hook */
    void *created_ctx;
    data_key_cb2 touched_cb; /* data_set_key_touched_hook */
    void *touched_ctx;
    /* keys looked up for writing by the running command (argv bytes): reported to touched_cb
     * if the command changed the dataset */
    data_arg *wkeys;
    size_t wkeys_n, wkeys_cap;
    /* ACL users (acl.c): replicated, in the snapshot (record kind 9); the catalog is the
     * server's (data_set_acl_catalog) */
    struct acl_table *acl;
    data_acl_cb acl_cb;
    void *acl_ctx;
    /* the cluster's settings (settings.c): replicated, in the snapshot (record kind 11) */
    struct data_setting *settings; /* sorted by name */
    size_t settings_n;
    data_settings_cb settings_cb;
    void *settings_ctx;
    /* leases, locks, elections (coord.c): replicated, in the snapshot (record kind 8) */
    struct coord_state *coord;
    uint64_t coord_leader_epoch; /* data_coord_set_epoch: this node's term as leader (local) */
    /* pub/sub and keyspace notifications (notify.c): hooks, notify-keyspace-events flags, and
     * the keys of the running command as they were before it (valid during one data_exec) */
    data_publish_cb publish_cb;
    data_event_cb event_cb;
    void *pubsub_ctx;
    int notify_flags;
    struct notify_key *ntrack;
    size_t ntrack_n, ntrack_cap;
    data_election_cb election_cb; /* data_set_election_hook */
    void *election_ctx;
    data_mem_cb mem_cb; /* data_set_mem_hook (MEMORY STATS) */
    void *mem_ctx;
    /* eviction (evict.c): this node's settings and candidate pool; local, never replicated */
    int evict_policy, evict_samples, lfu_log_factor, lfu_decay_time;
    uint64_t keyspace_hits, keyspace_misses; /* ks_read* lookups (local counters) */
    struct spop_recent *spop_recent;         /* set.c: members SPOP rewrites named lately */
    uint64_t lfu_rng; /* the LFU counter's draws: not the store's (applies draw it too) */
    struct evict_cand *evict_pool;
    int evict_pool_n;
    data_db *dbs; /* `databases` of them; dbs[cur] is stale while selected */
    int ndb, cur;
    int evict_next_db; /* random eviction policies: the database sampled next */
};

/* Access clock (evict.c): a new key, and a key a command looked up (not for OBJECT, TYPE, TTL:
 * Redis's LOOKUP_NOTOUCH). */
void ks_access_init(data_store *ds, dentry *e, int64_t now_ms);
void ks_access_touch(data_store *ds, dentry *e, int64_t now_ms);
/* ne takes old's place as the key's value (a SET over it): under an LFU policy it keeps old's
 * counter, as Redis's dbOverwrite keeps the LFU word; else it was accessed now. */
void ks_access_overwrite(data_store *ds, dentry *ne, const dentry *old, int64_t now_ms);
long long ks_idle_seconds(const dentry *e, int64_t now_ms);
int ks_lfu_freq(const data_store *ds, const dentry *e, int64_t now_ms);
size_t ks_key_usage(dentry *e, long long samples); /* MEMORY USAGE's estimate (cmd_keys.c) */
void data_evict_deinit(data_store *ds);

#define SPOP_RECENT 1024
struct spop_recent {
    uint64_t ring[SPOP_RECENT];
    size_t head;
    uint64_t tab[2 * SPOP_RECENT];
};

/* The store's generator (seeded with the hash seed): for reads and the leader's rewrite only. */
uint64_t data_rng_u64(data_store *ds);

/* a - b, saturated instead of overflowing: times that come from clients or restored payloads
 * may be anything. */
static inline int64_t ms_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Entry helpers (keyspace.c). */
dentry *dentry_new(size_t *mem, uint8_t type, const char *k, size_t klen, const char *v,
                   size_t vlen, size_t vcap, int64_t expire_ms);
void dentry_free(size_t *mem, dentry *e);

/* One command call. */
typedef struct {
    data_store *ds;
    int argc;
    const data_arg *argv;
    int64_t now_ms;
    const data_reply_ops *ops;
    void *rctx;
    int dirty;
    const char *name;  /* lower-case command name for error messages */
    data_block *block; /* data_exec_block: block instead of the timeout reply; NULL = data_exec */
} data_call;

typedef void (*data_handler)(data_call *c);

/* Keyspace access (keyspace.c). Expired entries are invisible to reads; writes delete them. */
dentry *ks_read(data_call *c, const data_arg *key);
dentry *ks_read_notouch(data_call *c, const data_arg *key); /* OBJECT, TYPE, TTL: no access */
/* a key ks_write looked up that the command left unchanged after all (WATCH: not touched) */
void ks_forget_wkey(data_call *c, const data_arg *key);
int ks_write(data_call *c, const data_arg *key, dpos *pos); /* 1 if a live key is at pos */
void ks_delete(data_call *c, dpos pos);
/* Sets key to a string value, replacing any value; keep_ttl keeps the old expiry. */
void ks_set_string(data_call *c, const data_arg *key, const char *v, size_t vlen, int64_t expire_ms,
                   int keep_ttl);
/* The same for a key just looked up with ks_write (found, pos), saving a second lookup. */
void ks_set_string_at(data_call *c, const data_arg *key, int found, dpos pos, const char *v,
                      size_t vlen, int64_t expire_ms, int keep_ttl);
/* Resizes the string at pos to hold vlen bytes (growing capacity greedily when grow is set);
 * returns the (possibly moved) entry. Bytes beyond the old length are uninitialised. */
dentry *ks_string_resize(data_call *c, dpos pos, size_t vlen, int grow);
/* Sets or clears (expire_ms < 0) the expiry of the entry at pos; returns the entry. */
dentry *ks_set_expire(data_call *c, dpos pos, int64_t expire_ms);
void ks_insert(data_call *c, dentry *e);
int ks_is_expired(const dentry *e, int64_t now_ms);
void ks_flush(data_store *ds);       /* deletes every key now */
void ks_flush_async(data_store *ds); /* detaches every key, freed later by ks_free_garbage */
void ks_free_garbage(data_store *ds, size_t budget);
/* Frees a detached entry, or queues it for the freeing thread when that is on and it is big
 * (Redis's free effort above 64: lazyfree.c). Counts nothing else (expires, keys). */
void ks_free_detached(data_store *ds, dentry *e);
void ks_delete_lazy(data_call *c, dpos pos);         /* ks_delete, the value freed as above */
void ks_delete_as(data_call *c, dpos pos, int lazy); /* lazy: 0 (inline) or 1 (as above) */
void ks_lazy_destroy(data_store *ds);                /* data_destroy: frees what is still queued */
void ks_flush_all(data_store *ds, int async);        /* every database (FLUSHALL) */
static inline const dict *ks_db_keys(const data_store *ds, int db)
{
    return db == ds->cur ? &ds->keys : &ds->dbs[db].keys;
}

/* SCAN helpers shared by SCAN and HSCAN (cmd_keys.c). */
int scan_cursor_or_reply(data_call *c, const data_arg *a, uint64_t *out);
int scan_opts_or_reply(data_call *c, int from, int allow_type, long long *count,
                       const data_arg **pattern, const data_arg **type);
/* HSCAN/SSCAN/ZSCAN: cursor, key of `type`, options; NULL once a reply was given. */
dentry *scan_key_or_reply(data_call *c, uint8_t type, uint64_t *cursor, long long *count,
                          const data_arg **pattern);
/* Emits the 2-element array header and the cursor; the caller then emits the elements. */
void reply_cursor(data_call *c, uint64_t cursor);

/* Blocking commands (list.c): the timeout argument in seconds as Redis reads it (0 ok, -1
 * replied); "nothing to pop": block (data_exec_block) or reply the timeout's null. */
int block_timeout_or_reply(data_call *c, const data_arg *a, int64_t *ms);
void block_or_timeout(data_call *c, int64_t timeout_ms, int first_key, int n_keys, int type,
                      int null_bulk);

/* Replies. */
void reply_ok(data_call *c);
void reply_err(data_call *c, const char *msg);
void reply_wrongtype(data_call *c);
void reply_syntax(data_call *c);
void reply_not_int(data_call *c);
void reply_arity(data_call *c);
void reply_bulk(data_call *c, const char *p, size_t n);
void reply_int(data_call *c, long long v);
void reply_null(data_call *c);

/* One key's digest (digest.c): type, expiry time, name and value, as SYNOD DIGEST folds every key
 * in (order-independent where the value is unordered, so equal on every replica holding the same
 * key whatever its tables' layout): 32 hex characters + NUL. MIGRATE's conditional delete. */
#define DIGEST_KEY_HEX 32
void digest_key_hex(dentry *e, char out[DIGEST_KEY_HEX + 1]);

/* Keyspace notifications (notify.c): an event now (if its class is on); a command's events,
 * notify_before returning what notify_after needs (NULL: nothing to report). */
void notify_event(data_store *ds, int cls, const char *event, const char *key, size_t klen);
const void *notify_before(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                          int64_t now_ms);
void notify_after(data_store *ds, const void *spec, int argc, const data_arg *argv, int64_t now_ms,
                  int dirty);

/* Parsing and formatting (util.c). */
int arg_eq(const data_arg *a, const char *lower);          /* case-insensitive compare */
int parse_ld(const char *s, size_t len, long double *out); /* Redis string2ld rules */
size_t fmt_ld(char *buf, size_t cap, long double v);       /* Redis LD_STR_HUMAN, 0 on error */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);
/* Parses an argument as a long long or replies "value is not an integer". 0 ok, -1 replied. */
int arg_ll_or_reply(data_call *c, const data_arg *a, long long *out);

/* Command handlers. */
#define DATA_X(name, arity, flags, fk, lk, step, specs, group, since, summary, fn)                 \
    void fn(data_call *c);
DATA_COMMANDS(DATA_X)
#undef DATA_X

/* Deterministic rewrites (cmd_string.c, cmd_keys.c, set.c, dump.c): new argc or 0; c's replies are
 * discarded. */
int string_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);
int expire_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);
int spop_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);
int restore_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);

/* ACL (acl.c): the catalog of a store whose server has not handed one over (unit tests) */
extern const acl_catalog acl_no_catalog;

/* Coordination state (coord.c). */
typedef struct coord_state coord_state;
coord_state *coord_create(void);
void coord_destroy(coord_state *s);
uint64_t coord_block_available(const data_store *ds, int type, const char *name, size_t len);
int coord_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);
/* snapshot codec: save through put; load parses from *p (advancing it), NULL if malformed */
typedef void (*coord_put_cb)(void *ctx, const void *p, size_t n);
/* util.c: the little-endian u32 and (u32 length | bytes) strings the snapshot codecs of the ACL
 * users and the cluster's settings are made of; a get fails (-1) past the bytes left */
void codec_put_u32(coord_put_cb put, void *ctx, uint64_t v);
int codec_get_u32(const unsigned char **p, size_t *left, uint32_t *v);
int codec_get_str(const unsigned char **p, size_t *left, const char **s, size_t *n);
int coord_is_empty(const data_store *ds);
void coord_save(const data_store *ds, coord_put_cb put, void *ctx);
/* settings.c: the table's snapshot codec (the same bytes go into the digest) */
#define DATA_SETTINGS_MAX 256
void settings_save(const data_store *ds, coord_put_cb put, void *ctx);
int settings_load(struct data_setting **out, size_t *out_n, const unsigned char **p, size_t *left);
void settings_free(struct data_setting *t, size_t n);
coord_state *coord_load(const unsigned char **p, size_t *left);

/* Hash values (hash.c). */
void hash_free(size_t *mem, dentry *e);
uint64_t hash_len(dentry *e);
/* A new empty hash entry (callers must add a field before the key becomes visible). */
dentry *hash_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms);
int hash_get(dentry *e, const char *f, size_t fl, const char **v, size_t *vl); /* 1 found */
int hash_set(size_t *mem, const uint64_t seed[2], dentry *e, const char *f, size_t fl,
             const char *v, size_t vl); /* 1 new */
typedef void (*hash_each_cb)(void *ctx, const char *f, size_t flen, const char *v, size_t vlen);
void hash_each(dentry *e, hash_each_cb cb, void *ctx);
void hash_set_mem(dentry *e, size_t *mem); /* re-points a table hash's byte counter */
/* Bytes a packed hash spends on one pair besides its field and value (MEMORY USAGE). */
size_t hash_packed_overhead(size_t fl, size_t vl);
int hash_set_limited(size_t *mem, const uint64_t seed[2], uint32_t max_fields, uint32_t max_value,
                     dentry *e, const char *f, size_t fl, const char *v, size_t vl);

/* List values (list.c): the entry points at a qlist (quicklist.h). */
void list_free(size_t *mem, dentry *e);
uint64_t list_len(dentry *e);
/* A new empty list entry (callers must push an element before the key becomes visible). */
dentry *list_new_entry(size_t *mem, int fill, const char *key, size_t klen, int64_t expire_ms);
void list_push_tail(dentry *e, const char *p, size_t n);
typedef void (*list_each_cb)(void *ctx, const char *p, size_t n);
void list_each(dentry *e, list_each_cb cb, void *ctx); /* head to tail */
void list_set_mem(dentry *e, size_t *mem);

#endif
