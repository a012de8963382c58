/* data.h — the keyspace and Redis command semantics, with no I/O.
 *
 * The data layer owns the dataset and the table of data commands (strings, keys, hashes, ...).
 * It never reads a clock or a random source: the caller passes `now_ms` (Unix time in
 * milliseconds) to every call. Given the same dataset, the same argv and the same now_ms,
 * data_exec produces the same effect and reply on every replica — that is what lets the
 * replicated server apply one log entry identically everywhere (DESIGN.md Principle 2).
 *
 * Replies leave through a data_reply_ops table so this module knows nothing of RESP; the
 * server maps each op to the RESP2 or RESP3 encoding the connection uses.
 *
 * Reads never mutate: a key whose expiry time has passed is treated as absent by reads but
 * is only deleted by a write (or by data_expire_* below, driven by the server / leader).
 *
 * Ownership: argv bytes belong to the caller and are only read during the call. Everything
 * passed to reply ops is valid only during that op call (copy it if you need it later). */
#ifndef SYNOD_DATA_H
#define SYNOD_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct data_store data_store;

/* One command argument: bytes, not NUL-terminated, may contain NULs. */
typedef struct {
    const char *ptr;
    size_t len;
} data_arg;

/* a is the NUL-terminated name s, ignoring ASCII case (command, subcommand and option names).
 * The first byte is checked before strncasecmp: per-command filters compare every request's
 * name with a few fixed ones, and names of the same length mostly differ there. */
static inline int data_arg_is(const data_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && (n == 0 || ((a->ptr[0] ^ s[0]) & ~0x20) == 0) &&
           strncasecmp(a->ptr, s, n) == 0;
}

/* How a reply is emitted. `ctx` is the caller's (e.g. the client connection). */
typedef struct {
    void (*status)(void *ctx, const char *s, size_t len); /* +OK */
    void (*error)(void *ctx, const char *s, size_t len);  /* "ERR ..." / "WRONGTYPE ..." (no '-') */
    void (*integer)(void *ctx, long long v);              /* :1 */
    void (*bulk)(void *ctx, const char *p, size_t len);   /* $3 foo */
    void (*null)(void *ctx);                              /* RESP2 $-1, RESP3 _ */
    void (*null_array)(void *ctx);                        /* RESP2 *-1, RESP3 _ */
    void (*array)(void *ctx, size_t n);                   /* *n, then n elements */
    void (*map)(void *ctx, size_t n_pairs);               /* RESP3 %n, RESP2 *2n */
    void (*set)(void *ctx, size_t n);                     /* RESP3 ~n, RESP2 *n */
    void (*dbl)(void *ctx, double v);                     /* RESP3 ,v  RESP2 bulk string */
    /* Optional (NULL = RESP2): is the client speaking RESP3? For the few replies whose shape
     * differs beyond the type tags (HRANDFIELD WITHVALUES: pairs nested in RESP3 only). */
    int (*is_resp3)(void *ctx);
    /* Optional (NULL = bulk): a double already formatted, as Redis's addReplyHumanLongDouble
     * sends one (GEOPOS's coordinates): RESP3 ,s  RESP2 the bulk string s. */
    void (*dbl_str)(void *ctx, const char *s, size_t len);
} data_reply_ops;

/* Command flags (a command may have several). */
enum {
    DATA_CMD_WRITE = 1u << 0,    /* may modify the dataset: goes through the log when replicated */
    DATA_CMD_READONLY = 1u << 1, /* never modifies the dataset */
    DATA_CMD_FAST = 1u << 2,     /* O(1) or O(log n) */
    DATA_CMD_DENYOOM = 1u << 3,  /* may grow memory */
    DATA_CMD_MOVABLEKEYS = 1u << 4, /* keys found from an argument (numkeys), not first/last/step */
    DATA_CMD_BLOCKING = 1u << 5,    /* may block the client (BLPOP ...): see data_exec_block */
};

typedef struct data_cmd data_cmd;

/* Static description of a command, as COMMAND INFO / COMMAND DOCS report it. */
typedef struct {
    const char *name;  /* lower case, e.g. "get" */
    int arity;         /* Redis arity: argc including the name; negative = at least -arity */
    uint32_t flags;    /* DATA_CMD_* */
    int first_key;     /* argv index of the first key, 0 if none */
    int last_key;      /* argv index of the last key, -1 = last argument */
    int key_step;      /* distance between keys */
    const char *group; /* "string", "keyspace", "hash", "server", ... */
    const char *summary;
    const char *since;     /* Redis version that introduced it, e.g. "1.0.0" */
    const char *key_specs; /* Redis 7.0's key specs, "" if none (format: data_cmds.h) */
} data_cmd_info;

/* Table lookup by name, case-insensitive. NULL if the data layer has no such command. */
const data_cmd *data_cmd_lookup(const char *name, size_t len);
const data_cmd_info *data_cmd_describe(const data_cmd *cmd);
size_t data_cmd_count(void);
const data_cmd *data_cmd_at(size_t i);
/* The argv indexes of cmd's keys (argc, argv: the whole command, arity already checked), in
 * Redis 7.0's order (COMMAND GETKEYS). Stores at most cap of them in pos and returns how many
 * there are (may exceed cap), 0 for a command without keys, -1 when the arguments that locate
 * the keys are invalid (a bad numkeys, no STREAMS). */
int data_cmd_getkeys(const data_cmd *cmd, int argc, const data_arg *argv, int *pos, int cap);

/* Key-spec flags (Redis 7.0's CMD_KEY_*), in the order COMMAND reports them. */
enum {
    DATA_KEY_RO = 1u << 0,
    DATA_KEY_RW = 1u << 1,
    DATA_KEY_OW = 1u << 2,
    DATA_KEY_RM = 1u << 3,
    DATA_KEY_ACCESS = 1u << 4,
    DATA_KEY_UPDATE = 1u << 5,
    DATA_KEY_INSERT = 1u << 6,
    DATA_KEY_DELETE = 1u << 7,
    DATA_KEY_NOT_KEY = 1u << 8,
    DATA_KEY_INCOMPLETE = 1u << 9,
    DATA_KEY_VARIABLE_FLAGS = 1u << 10,
};
#define DATA_KEY_FLAG_COUNT 11
/* The name of flag bit i (0 <= i < DATA_KEY_FLAG_COUNT): "RO", "access", ... (static). */
const char *data_key_flag_name(int i);

/* One parsed key spec (a view into the spec string, valid as long as it is). */
typedef struct {
    uint32_t flags;      /* DATA_KEY_* */
    char search;         /* 'i' index, 'k' keyword, 'u' unknown */
    int index;           /* 'i': argv index of the start */
    const char *keyword; /* 'k': the keyword (keyword_len bytes) and where the search starts */
    size_t keyword_len;
    int startfrom;
    char find;         /* 'r' range, 'n' keynum, 'u' unknown */
    int fk[3];         /* 'r': lastkey, keystep, limit; 'n': keynumidx, firstkey, keystep */
    const char *notes; /* Redis's notes (notes_len bytes), NULL if none */
    size_t notes_len;
} data_keyspec;

/* Parses the next spec of a key_specs string from *p (advancing it). Returns 1 with *out set,
 * 0 at the end. The strings are our own table's: a malformed one is a bug (asserted). */
int data_keyspec_next(const char **p, data_keyspec *out);

/* The keys of a command and each one's key-spec flags, as Redis 7.0 finds them for COMMAND
 * GETKEYSANDFLAGS (key specs first; SORT, SET and BITFIELD by their own rules). specs: the
 * command's key specs (a data command's or a server command's), name its lower-case full name.
 * Stores at most cap keys in pos/flags, returns how many there are, 0 if none was found
 * (COMMAND's "Invalid arguments" error). */
int data_keys_with_flags(const char *name, const char *specs, int argc, const data_arg *argv,
                         int *pos, uint32_t *flags, int cap);
/* Whether specs name a key at all (a spec not flagged not_key), or the command finds its keys
 * by its own rules: COMMAND's "The command has no key arguments" otherwise. */
int data_keyspecs_have_keys(const char *specs);
/* The keys ACL checks for a data command and the access each needs, as Redis 7.0 derives it
 * from the key specs (ACLSelectorCheckKey): need[i] bit 1 read (the key is accessed), bit 2
 * write (inserted, deleted or updated), 0 neither (EXISTS: any pattern naming the key grants
 * it). A container's subcommand goes by sub_specs (sub_name its full name, "object|encoding":
 * the server's table has them) when given; a command without specs needs its own read or write
 * on every key. Returns the number stored (<= cap). */
int data_cmd_acl_keys(const data_cmd *dc, const char *sub_name, const char *sub_specs, int argc,
                      const data_arg *argv, int *pos, unsigned *need, int cap);

data_store *data_create(void);
void data_destroy(data_store *ds);

/* Executes one command (argv[0] is the command name) at time now_ms, emitting exactly one
 * reply through ops. Checks arity and arguments itself: bad input gets a Redis 7 error reply
 * and changes nothing. Returns 1 if the dataset was modified, 0 otherwise. */
int data_exec(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv, int64_t now_ms,
              const data_reply_ops *ops, void *ctx);

/* Can this call block (DATA_CMD_BLOCKING; for LOCK / ELECTION only their ACQUIRE / CAMPAIGN
 * forms, for XREAD / XREADGROUP only with a BLOCK option)? A script may not call the ones that
 * can, except XREAD / XREADGROUP: there (as in MULTI) BLOCK is ignored, as in Redis 7.0. */
int data_cmd_may_block(const data_cmd *cmd, int argc, const data_arg *argv);

/* Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP; LOCK
 * ACQUIRE, ELECTION CAMPAIGN; XREAD and XREADGROUP with a BLOCK option). data_exec
 * runs them as their non-blocking form: with nothing to pop they reply what a timeout replies
 * (that is what every replica, and a transaction, does). data_exec_block is the same call for
 * the node that serves the client: with valid arguments and nothing to pop it emits no reply,
 * changes nothing but what data_exec would also change (expired keys deleted), sets
 * blk->blocked and says what to wait for: keys argv[first_key .. first_key + n_keys) becoming
 * ready (data_block_available > 0), for timeout_ms (0 = for ever). Then a timeout must be
 * answered with data_reply_timeout. Returns what data_exec returns. */
enum {
    DATA_BLOCK_LIST = 1,
    DATA_BLOCK_ZSET = 2,
    DATA_BLOCK_LOCK = 3,
    DATA_BLOCK_ELECTION = 4,
    DATA_BLOCK_STREAM = 5
};
#define DATA_BLOCK_TYPES 6 /* one past the last DATA_BLOCK_* */
typedef struct {
    int blocked;
    int first_key, n_keys;
    int type;           /* DATA_BLOCK_*: which values make a key ready */
    int64_t timeout_ms; /* relative; 0 = no timeout */
} data_block;
int data_exec_block(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                    int64_t now_ms, const data_reply_ops *ops, void *ctx, data_block *blk);
void data_reply_timeout(const data_block *blk, const data_reply_ops *ops, void *ctx);
/* Clients blocked on streams (DATA_BLOCK_STREAM: XREAD, XREADGROUP). A stream key is not
 * "created" once: it becomes readable for a client when entries are added past the client's id
 * (or its group's last delivered id), so the driver asks, for each blocked client whose key
 * (key[0..klen)) was written (data_set_key_touched_hook), what to do now with argv, its stored
 * retry arguments: DATA_WAKE_NONE still nothing to read; DATA_WAKE_READ an XREAD woken by that
 * key (propose data_block_woken_args: Redis 7.0 serves a woken XREAD, for the key that woke it
 * only, once that stream's last id is past the client's, even if the entry is gone again, e.g.
 * XADD MAXLEN 0 or XADD + XDEL in MULTI: the reply is then [key, []]; a last id raised by XSETID
 * alone wakes nobody, as XSETID signals no key in Redis); DATA_WAKE_CONSUME the same for a read
 * that takes new entries of a group (XREADGROUP >, also for the key that woke it only: one such
 * retry per key at a time, the next one after it is applied); DATA_WAKE_ERROR answer *err now (no
 * '-'), as Redis 7.0 answers an XREADGROUP whose key was deleted or overwritten ("UNBLOCKED ...")
 * or whose group was destroyed
 * ("NOGROUP ..."), and forget the client (nothing to replicate: the error changes nothing). Changes
 * nothing. */
enum { DATA_WAKE_NONE = 0, DATA_WAKE_READ = 1, DATA_WAKE_CONSUME = 2, DATA_WAKE_ERROR = 3 };
int data_block_stream_wake(const data_store *ds, int argc, const data_arg *argv, const char *key,
                           size_t klen, int64_t now_ms, const char **err);
/* The retry of an XREAD or XREADGROUP (argv, its stored arguments) woken by key: XREAD_WOKEN /
 * XREADGROUP_WOKEN with the same options and key's stream alone (its first occurrence); other
 * commands are copied as they are. Writes to out (argc elements at most, pointing into argv);
 * returns their number. */
int data_block_woken_args(int argc, const data_arg *argv, const char *key, size_t klen,
                          data_arg *out);
/* The arguments to store for a client that just blocked (data_exec_block set blk->blocked on
 * argv; nothing applied since), to be proposed again as its retries: argv itself, except that
 * XREAD's `$` ids become the streams' last ids at this point (a retry then reads what was added
 * after the client blocked, as Redis resolves `$` when the client blocks), and XREADGROUP
 * becomes XREADGROUP_WOKEN (served, as Redis serves a woken group reader, once the stream's last
 * id is past the group's, even if that entry is gone: the reply [key, []] creates the consumer).
 * Writes argc elements to out (strings in scratch, or argv's); returns argc, -1 if scratch (cap
 * bytes; 44 per key is enough) is too small. Changes nothing. */
int data_block_retry_args(const data_store *ds, int argc, const data_arg *argv, int64_t now_ms,
                          data_arg *out, char *scratch, size_t cap);
/* How many elements a blocked client of this type could pop from key now (0: absent, expired,
 * empty or another type). Changes nothing. */
uint64_t data_block_available(const data_store *ds, int type, const char *key, size_t len,
                              int64_t now_ms);
/* Called whenever a list or sorted-set key is created (pushed to while absent, stored, renamed,
 * restored, loaded): the only moment a key a client can block on becomes ready. The callback
 * must not call back into the store. NULL = none. */
typedef void (*data_key_cb2)(void *ctx, const char *key, size_t len);
void data_set_key_created_hook(data_store *ds, data_key_cb2 cb, void *ctx);

/* WATCH support: called for every key a write modifies (created, replaced, changed in place,
 * deleted, expired by data_expire_key), and once with key NULL when every key goes (FLUSHALL,
 * FLUSHDB). Keys looked up for writing by a command that changed nothing are not reported. The
 * callback must not call back into the store. NULL = none. */
void data_set_key_touched_hook(data_store *ds, data_key_cb2 cb, void *ctx);
/* A key's state for WATCH: DATA_KEY_ABSENT, DATA_KEY_LIVE, or DATA_KEY_STALE (present but
 * logically expired at now_ms, not deleted yet). Changes nothing. */
enum { DATA_KEY_ABSENT = 0, DATA_KEY_LIVE = 1, DATA_KEY_STALE = 2 };
int data_key_state(const data_store *ds, const char *key, size_t len, int64_t now_ms);

/* Pub/sub and keyspace notifications (notify.c; docs/server.md "Pub/sub"). The store keeps no
 * subscribers: PUBLISH / SPUBLISH (write commands, so a replicated node logs them) call the
 * publish hook and reply the count it returns (0 without a hook); a write that changed the
 * dataset reports each of Redis's events (class DATA_NOTIFY_*, event name, key) to the event
 * hook, as do data_expire_key ("expired") and data_evict_key ("evicted"), for the classes set by
 * data_set_notify_flags and only if K or E is set. Hooks must not call back into the store. */
enum {
    DATA_NOTIFY_KEYSPACE = 1 << 0,  /* K */
    DATA_NOTIFY_KEYEVENT = 1 << 1,  /* E */
    DATA_NOTIFY_GENERIC = 1 << 2,   /* g */
    DATA_NOTIFY_STRING = 1 << 3,    /* $ */
    DATA_NOTIFY_LIST = 1 << 4,      /* l */
    DATA_NOTIFY_SET = 1 << 5,       /* s */
    DATA_NOTIFY_HASH = 1 << 6,      /* h */
    DATA_NOTIFY_ZSET = 1 << 7,      /* z */
    DATA_NOTIFY_EXPIRED = 1 << 8,   /* x */
    DATA_NOTIFY_EVICTED = 1 << 9,   /* e */
    DATA_NOTIFY_STREAM = 1 << 10,   /* t */
    DATA_NOTIFY_KEY_MISS = 1 << 11, /* m (not raised: reads are local to a node) */
    DATA_NOTIFY_MODULE = 1 << 13,   /* d (no modules: accepted, never raised) */
    DATA_NOTIFY_NEW = 1 << 14,      /* n */
    DATA_NOTIFY_ALL = DATA_NOTIFY_GENERIC | DATA_NOTIFY_STRING | DATA_NOTIFY_LIST |
                      DATA_NOTIFY_SET | DATA_NOTIFY_HASH | DATA_NOTIFY_ZSET | DATA_NOTIFY_EXPIRED |
                      DATA_NOTIFY_EVICTED | DATA_NOTIFY_STREAM | DATA_NOTIFY_MODULE, /* A */
};
/* FLUSHALL / FLUSHDB also call the event hook, whatever the flags, with cls 0, event "flush" and
 * key NULL (client-side caching invalidates everything). */
/* notify-keyspace-events: Redis's class letters to flags (-1 on an unknown letter), and flags
 * to the string CONFIG GET shows (cap >= 16). */
int data_notify_parse(const char *s, size_t len);
size_t data_notify_format(int flags, char *out, size_t cap);
typedef long long (*data_publish_cb)(void *ctx, int shard, const char *channel, size_t clen,
                                     const char *msg, size_t mlen);
typedef void (*data_event_cb)(void *ctx, int cls, const char *event, const char *key, size_t klen);
void data_set_pubsub_hooks(data_store *ds, data_publish_cb pub, data_event_cb ev, void *ctx);
void data_set_notify_flags(data_store *ds, int flags);
/* The commands that follow come from a Lua script (1) or not (0): SORT with a constant BY on a
 * set then sorts ALPHA, as Redis 7.0 does for scripts (and for STORE), so the reply is the same
 * on every replica whatever its hash layout. */
void data_set_in_script(data_store *ds, int on);
/* Redis's glob (stringmatchlen, case-sensitive), as KEYS uses it: for PSUBSCRIBE patterns. */
int data_glob_match(const char *pat, size_t plen, const char *s, size_t slen);

/* Rewrites a write command into its deterministic form before it is proposed to the log:
 * relative times become absolute (SET .. EX 10 -> SET .. PXAT now+10000, EXPIRE -> PEXPIREAT,
 * SETEX -> SET .. PXAT, GETEX EX -> GETEX PXAT, ...), and random choices are drawn here, once,
 * from ds's state as applied so far (SPOP key [count] -> SPOP_EFFECT naming the members; see
 * set.c for how the apply copes with a state that moved on). Writes the new argv into `out` (at
 * most out_cap elements; strings live in `scratch`, a buffer of scratch_cap bytes, or point into
 * the dataset: valid until it next changes, so encode the entry at once) and returns the new
 * argc, or 0 if the command needs no rewrite (or is invalid: the original then produces the
 * error when executed). Never changes the dataset (only ds's random generator moves on). */
int data_rewrite(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                 int64_t now_ms, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);

/* Frees a bounded part (~1 ms) of what FLUSHALL / FLUSHDB ASYNC left to free, as the active
 * expiry cycle does: a node that runs no expiry (a follower) calls it from its cron, or the
 * memory of a flushed keyspace stayed until enough commands were applied. */
void data_free_garbage(data_store *ds);

/* Active expiry: reports up to `max` keys whose expiry time is <= now_ms, sampled as Redis's
 * active expire cycle does (bounded work per call), without deleting them. The caller deletes
 * them (single node: data_exec DEL; replicated: the leader proposes DELs). Returns how many
 * keys were reported. */
typedef void (*data_key_cb)(void *ctx, const char *key, size_t len);
size_t data_expire_sample(data_store *ds, int64_t now_ms, size_t max, data_key_cb cb, void *ctx);

/* Lazy expiry, as Redis does it: reads treat an expired key as absent without deleting it, but
 * remember it (a bounded list). The caller drains that list after a command and deletes the
 * keys (single node: data_exec DEL; replicated: the leader proposes DELs), so an expired key
 * disappears as soon as it is touched, not only when the active cycle finds it. The callback
 * may run data_exec. Returns how many keys were reported. */
size_t data_take_expired(data_store *ds, data_key_cb cb, void *ctx);

/* Eviction (evict.c; docs/data.md "Eviction"). maxmemory-policy values, in Redis's order of
 * its CONFIG error message. The access clock of keys (LRU seconds or LFU counter) is this
 * node's own: updated by the commands it runs, never replicated nor in a snapshot. */
enum {
    DATA_EVICT_VOLATILE_LRU = 0,
    DATA_EVICT_VOLATILE_LFU,
    DATA_EVICT_VOLATILE_RANDOM,
    DATA_EVICT_VOLATILE_TTL,
    DATA_EVICT_ALLKEYS_LRU,
    DATA_EVICT_ALLKEYS_LFU,
    DATA_EVICT_ALLKEYS_RANDOM,
    DATA_EVICT_NOEVICTION,
    DATA_EVICT_POLICIES
};
extern const char *const data_evict_policy_names[DATA_EVICT_POLICIES];
void data_set_eviction(data_store *ds, int policy, int samples, int lfu_log_factor,
                       int lfu_decay_time);
/* Picks up to max keys to evict under the policy, best candidate first (Redis's approximated
 * LRU/LFU: samples keys into a pool of the best 16 seen): cb(ctx, key, len, estimated bytes).
 * Changes nothing in the dataset (the caller deletes them: on the leader, through the log).
 * Returns how many were reported; 0 = nothing evictable (noeviction, or no volatile key). */
typedef void (*data_evict_cb)(void *ctx, const char *key, size_t len, size_t bytes);
size_t data_evict_pick(data_store *ds, int64_t now_ms, size_t max, data_evict_cb cb, void *ctx);
/* A key picked and not deleted after all (its eviction entry was lost): may be picked again. */
void data_evict_unmark(data_store *ds, const char *key, size_t len);
/* Deletes key (an applied eviction): 1 if it existed. */
int data_evict_key(data_store *ds, const char *key, size_t len);

/* MIGRATE's source side (docs/data.md "MIGRATE"). data_migrate_read: a live key of the selected
 * database as MIGRATE ships it: its DUMP payload (*payload malloc'd, the caller frees it), its
 * expiry time (-1: none) and its digest (DATA_MIGRATE_DIGEST_LEN hex characters + NUL: type,
 * expiry time, name and value, the same on every replica that holds the same key). 1 if found,
 * 0 if absent or expired at now_ms. Changes nothing. The deletion after a transfer is the
 * internal write MIGRATE_DEL key digest [key digest ...]: each key is deleted only if its digest
 * is still the one given, so a write that came between the DUMP and the deletion is never lost
 * (the key then stays); it replies with the number of keys deleted. */
#define DATA_MIGRATE_DIGEST_LEN 32
int data_migrate_read(data_store *ds, const char *key, size_t len, int64_t now_ms, char **payload,
                      size_t *payload_len, int64_t *expire_ms,
                      char digest[DATA_MIGRATE_DIGEST_LEN + 1]);

/* Deletes `key` only if it exists and its expiry time is <= now_ms; returns 1 if it did. This,
 * not DEL, is how expiry decisions are applied (and replicated as their own log entries): the
 * key may have been written again between the decision and its application, and a DEL would
 * then destroy the new value. */
int data_expire_key(data_store *ds, const char *key, size_t len, int64_t now_ms);

/* Keys the hash of every table of the store (SipHash-1-3): the server passes a random seed at
 * startup so clients cannot pick colliding keys or fields (hash flooding). Only on an empty
 * store (-1 otherwise). The seed changes iteration order (KEYS, SCAN, HGETALL), never what a
 * command does; replicas may use different seeds. data_create's store has the seed {0, 0}.
 * It also seeds the store's random generator (SRANDMEMBER, the leader's SPOP draw). */
int data_set_hash_seed(data_store *ds, uint64_t k0, uint64_t k1);

/* Memory hint for applying a batch of commands (argv as they will be executed, or at least
 * their first four arguments): stage 0 for a command some positions ahead, then 1, 2, 3 as it
 * comes nearer, hides the cache misses of its key lookup (bucket, entry) and, for a hash, set
 * or sorted-set command naming a member (HSET, SADD, ZADD key score member ...), of the
 * member's lookup behind the work of the commands in between. Changes nothing. */
typedef struct {
    uint64_t hkey, hfield; /* computed at stage 0, reused by the later stages */
    int field;
} data_prefetch_state;
void data_prefetch(const data_store *ds, int argc, const data_arg *argv, int stage,
                   data_prefetch_state *st);

/* proto-max-bulk-len for values built by commands (APPEND, SETRANGE): clamped to
 * [1, 512 MB]. Replicas must use the same value, or they would apply differently. */
void data_set_max_string_bytes(data_store *ds, long long n);

/* list-max-listpack-size for lists created from now on: -1..-5 = 4, 8, 16, 32, 64 KB per node
 * (smaller values count as -5), n > 0 = n elements per node (0 counts as 1; at most 32768). It
 * changes the memory layout only, never a reply, so replicas may use different values. */
void data_set_list_max_listpack_size(data_store *ds, long long fill);
/* stream-node-max-entries (1..100; other values act as 100): entries per stream chunk (Redis's
 * node), which decides what `~` trimming removes. Only a leader's value matters: data_rewrite
 * writes it into each XADD / XTRIM it logs (XADD_EFFECT / XTRIM_EFFECT n ...) unless it is 100,
 * so every replica applies the same chunk boundaries whatever its own setting. */
void data_set_stream_node_max_entries(data_store *ds, long long n);
/* hash-max-listpack-entries / hash-max-listpack-value (any value, as in Redis; a packed hash
 * still converts when its buffer would pass 1 GB, Redis's listpack safety limit). */
void data_set_hash_max_listpack(data_store *ds, long long entries, long long value);

/* Would a list pop on key succeed now (BLPOP's question; the driver that serves blocked clients
 * asks it before proposing the pop)? 1: a live list (never empty), 0: no live key, -1: a key of
 * another type (a blocking pop replies WRONGTYPE at once). Changes nothing. */
int data_list_ready(const data_store *ds, const char *key, size_t len, int64_t now_ms);

/* set-max-intset-entries (default 512): integer sets up to this size use the compact intset
 * encoding. Only the encoding depends on it, never a command's effect, so it is per node. */
void data_set_max_intset_entries(data_store *ds, long long n);

/* zset-max-listpack-entries / zset-max-listpack-value (defaults 128 / 64): sorted sets up to
 * these bounds use the compact encoding. Only the encoding depends on them (per node). */
void data_set_zset_max_listpack(data_store *ds, long long entries, long long value);

/* Cluster settings (settings.c): CONFIG_EFFECT name value [name value ...], what CONFIG SET of
 * the settings every node must share is logged as, writes a replicated table of name -> value
 * text, kept in the snapshot and the digest. The data layer does not interpret it: the hook
 * checks each pair (apply 0; -1 with a Redis-style error in err refuses the whole entry, on every
 * replica alike) and then applies each (apply 1) on this node. After a snapshot load it is called
 * with name NULL: the table may have changed in any way (data_settings_each reads it). Must not
 * call back into the store. */
#define DATA_SETTING_NAME_MAX  128
#define DATA_SETTING_VALUE_MAX 1024
#define DATA_SETTING_TEXT      (DATA_SETTING_VALUE_MAX + 1) /* either, with its NUL */
typedef int (*data_settings_cb)(void *ctx, const char *name, size_t nlen, const char *value,
                                size_t vlen, int apply, char *err, size_t err_cap);
void data_set_settings_hook(data_store *ds, data_settings_cb cb, void *ctx);
typedef void (*data_setting_cb)(void *ctx, const char *name, size_t nlen, const char *value,
                                size_t vlen);
void data_settings_each(const data_store *ds, data_setting_cb cb, void *ctx);
size_t data_settings_count(const data_store *ds);

/* hll-sparse-max-bytes (default 3000): a sparse HyperLogLog that would grow past this many bytes
 * becomes dense. This decides the bytes a PFADD stores (GET shows them), so unlike the encoding
 * settings above it must be equal on every node of a cluster. */
#define DATA_HLL_SPARSE_MAX_BYTES_DEFAULT 3000
void data_set_hll_sparse_max_bytes(data_store *ds, long long n);

/* Whether the commands executed now are applied from the replication log (1: the same on every
 * replica) or served as a local read (0, the default). PFCOUNT of one HyperLogLog whose cached
 * count is stale stores the count it computed, as Redis does, only when applied from the log
 * (a read never writes). */
void data_set_log_apply(data_store *ds, int on);

/* 1 if key (in the selected database) is a HyperLogLog whose cached count is stale: a PFCOUNT of
 * it alone stores the count, so it is routed as a write (see data_set_log_apply). No side
 * effect (no expiry, no access time, no hit/miss). */
int data_hll_cache_stale(const data_store *ds, const char *key, size_t len);

/* Replicated state of a module above the data layer (the script engine's function library),
 * opaque here: its owner stores a copy after every change it applies (data_set_aux; 0, or -1
 * out of memory), and the snapshot carries it (format 5). data_get_aux returns it (valid until
 * the next data_set_aux or snapshot load; len and gen may be NULL) and a generation that
 * changes only when a snapshot load replaced it, which tells the owner to rebuild its state. */
int data_set_aux(data_store *ds, const void *p, size_t len);
const void *data_get_aux(const data_store *ds, size_t *len, uint64_t *gen);

/* Coordination (coord.c, docs/coordination.md): leases, locks, elections are replicated state
 * beside the keyspace, changed by the LEASE / LOCK / ELECTION commands and carried by the
 * snapshot (record kind 8, format 7). Lease deadlines are on the clock of the leader of the
 * state's epoch; see coord.c for how a new leader's clock takes over without ending a lease
 * early. */
/* Is `token` the current holder's token of lock `name`? (LOCK CHECK; EXEC checks every LOCK
 * CHECK of a transaction with it before running any command.) */
int data_lock_check(const data_store *ds, const char *name, size_t len, uint64_t token);
/* The leader's term, set when this node becomes leader: data_rewrite tags LEASE commands with
 * it (`LEASE _E <term> ...`), which moves deadlines onto this node's clock at apply. */
void data_coord_set_epoch(data_store *ds, uint64_t epoch);
/* Leases due at now_ms (deadline <= now_ms): up to max ids through cb, as the leader's expiry
 * decision (it logs `LEASE _EXPIRE id`, data_rewrite tags it). Returns how many, or -1 when the
 * state's deadlines are still on another leader's clock (log a tagged `LEASE _REBASE` first). */
typedef void (*data_coord_id_cb)(void *ctx, uint64_t id);
int data_coord_due(data_store *ds, int64_t now_ms, size_t max, data_coord_id_cb cb, void *ctx);
typedef struct {
    uint64_t leases, locks, elections;
    uint64_t revision; /* the last fencing token granted */
    uint64_t epoch;
    uint32_t digest; /* CRC-32C of the whole state as the snapshot encodes it */
} data_coord_info;
void data_coord_stats(const data_store *ds, data_coord_info *out);
/* An election's leader: its token (0: none) and value (valid until the state next changes). */
uint64_t data_election_leader(const data_store *ds, const char *name, size_t len, const char **v,
                              size_t *vlen);
/* Called on every change of an election's leader as it is applied (won, proclaimed, resigned,
 * its lease ended), on every replica: value and token of the new leader, token 0 (value NULL)
 * when there is none. Must not call back into the store. NULL = none. */
typedef void (*data_election_cb)(void *ctx, const char *name, size_t len, const char *value,
                                 size_t vlen, uint64_t token);
void data_set_election_hook(data_store *ds, data_election_cb cb, void *ctx);

typedef struct {
    uint64_t keys;         /* keys in the dataset (including logically expired, not yet deleted) */
    uint64_t expires;      /* keys with an expiry time */
    uint64_t memory_bytes; /* bytes allocated for the dataset */
    /* key lookups of read commands on this node that found the key / did not (INFO) */
    uint64_t keyspace_hits, keyspace_misses;
    uint64_t lazyfree_pending; /* keys of FLUSHALL/FLUSHDB ASYNC and values of UNLINK not freed */
    uint64_t lazyfreed;        /* values freed by the lazy-free thread (lazyfreed_objects) */
} data_stats;
void data_reset_stats(data_store *ds); /* CONFIG RESETSTAT: the lookup counters */

/* MEMORY STATS (cmd_keys.c): what the store cannot know itself, asked of the host on each call.
 * Bytes; 0 where the host has none. total.allocated is the dataset plus `clients`. */
typedef struct {
    uint64_t startup; /* memory in use once the server was ready, before any data */
    uint64_t peak;    /* highest total seen */
    uint64_t clients; /* clients' state and buffers */
    uint64_t rss;     /* the process's resident set */
    uint64_t lua;     /* the Lua VMs (not in the total, as Redis's used_memory_vm_eval) */
} data_mem_host;
typedef void (*data_mem_cb)(void *ctx, data_mem_host *out);
void data_set_mem_hook(data_store *ds, data_mem_cb cb, void *ctx);
/* A database's table overhead as MEMORY STATS shows it: bucket arrays and key headers (main),
 * stored expiry times (expires) */
void data_db_overhead(data_store *ds, int db, uint64_t *main, uint64_t *expires);

/* Lazy free (lazyfree.c, docs/data.md): with a freeing thread on (data_set_lazyfree 1), UNLINK
 * and the freeing of FLUSHALL/FLUSHDB ASYNC's keyspaces queue big values (more than 64
 * allocations to free) instead of freeing them on the loop. On the loop: data_lazy_take hands
 * out up to max queued values (returns how many); data_lazy_done(values, bytes) accounts for
 * values the thread freed and the bytes data_lazy_free returned. data_lazy_free may run on any
 * thread: it touches only the value. Every value taken must be reported done before
 * data_destroy. */
void data_set_lazyfree(data_store *ds, int on);
size_t data_lazy_take(data_store *ds, void **out, size_t max);
size_t data_lazy_free(void *value);
void data_lazy_done(data_store *ds, uint64_t values, size_t bytes);
/* Redis's lazyfree-lazy-* (all off by default): which other deletions free big values on the
 * thread too: DEL (USER_DEL), FLUSHALL/FLUSHDB without SYNC/ASYNC (USER_FLUSH: asynchronous),
 * expiry, eviction, and values commands delete or overwrite (SERVER_DEL). Per node: only where
 * the memory is freed changes, never the data. */
enum {
    DATA_LAZY_USER_DEL = 1,
    DATA_LAZY_USER_FLUSH = 2,
    DATA_LAZY_EXPIRE = 4,
    DATA_LAZY_EVICTION = 8,
    DATA_LAZY_SERVER_DEL = 16
};
void data_set_lazyfree_policy(data_store *ds, int flags);
void data_get_stats(const data_store *ds, data_stats *out);
/* Databases (SELECT): every command works on the selected one. `databases` is set before any
 * key exists (-1 otherwise, or out of 1..DATA_DATABASES_MAX); data_select returns the database
 * selected before, or -1 if db is out of range (nothing changes). */
#define DATA_DATABASES_DEFAULT 16
#define DATA_DATABASES_MAX     1024
int data_set_databases(data_store *ds, long long n);
int data_databases(const data_store *ds);
int data_select(data_store *ds, long long db);
int data_selected(const data_store *ds);
void data_db_sizes(data_store *ds, int db, uint64_t *keys, uint64_t *expires);

/* The dataset as one Redis 7.0 RDB file (rdb.c): aux holds naux/2 auxiliary fields (name,
 * value, ...), libs the function libraries' code, then the keys of every database (with_keys
 * 0: none, `REPLCONF rdb-filter-only functions`), keys expired at now_ms left out. Returns the
 * malloc'd bytes and their length in *len. */
char *data_rdb(data_store *ds, int64_t now_ms, const data_arg *aux, size_t naux,
               const data_arg *libs, size_t nlibs, int with_keys, size_t *len);
/* The same file handed to sink in pieces (about 1 MB each) as it is built, never whole in
 * memory (redis-cli --rdb's EOF-marked transfer). 0, or -1 as soon as sink returned < 0. */
int data_rdb_stream(data_store *ds, int64_t now_ms, const data_arg *aux, size_t naux,
                    const data_arg *libs, size_t nlibs, int with_keys,
                    int (*sink)(void *ctx, const void *p, size_t len), void *ctx);

/* A 128-bit digest of the dataset (32 hex characters + NUL; all zeros when empty): equal on
 * two replicas iff they hold the same data, whatever their tables' layouts (digest.c). */
void data_digest(const data_store *ds, char out[33]);

/* Snapshot of the whole dataset in a versioned, checksummed binary format. The writer is
 * called with consecutive chunks (at most 64 KB each); it returns 0, or a negative value to
 * abort, which data_snapshot_save then returns. Loading checks the format and fails with
 * DATA_SNAPSHOT_E* (dataset unchanged) on any malformed byte; on success the dataset is
 * replaced. Expiry times are absolute, so logically expired keys load as expired. */
enum {
    DATA_SNAPSHOT_ECORRUPT = -1, /* truncated, bad checksum, or malformed content */
    DATA_SNAPSHOT_EVERSION = -2, /* a format version this build cannot read */
};
typedef int (*data_write_cb)(void *ctx, const void *buf, size_t len);
int data_snapshot_save(const data_store *ds, data_write_cb write, void *ctx);
int data_snapshot_load(data_store *ds, const void *buf, size_t len);

#endif
