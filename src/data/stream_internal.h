/* stream_internal.h — stream values (stream.c, stream_group.c, stream_idx.c): entries keyed by
 * 128-bit ids in a sorted chunk index, consumer groups with their pending entries lists. Not a
 * public header.
 *
 * Layout. A stream's entries live in `sidx` chunks of at most STREAM_NODE_MAX_ENTRIES appends
 * each, in id order: the chunk is what Redis calls a node (one listpack under one radix-tree
 * key). A chunk counts every entry ever appended to it (`added`, deleted ones included, as a
 * listpack keeps its tombstones), so a new chunk starts exactly where Redis starts a new node
 * for entries of ordinary size. `MAXLEN ~` / `MINID ~` remove whole chunks only; because the
 * chunk boundaries are part of the stream's state (carried by the snapshot, never derived from
 * a node-local setting), approximate trimming removes the same entries on every replica.
 *
 * Pending entries (NACKs) are shared by the group's PEL and the owning consumer's PEL, as in
 * Redis. Group and consumer names are kept sorted as a radix tree orders them (bytes, a prefix
 * first), which is the order XINFO and XPENDING report. */
#ifndef SYNOD_STREAM_INTERNAL_H
#define SYNOD_STREAM_INTERNAL_H

#include "data/data_internal.h"

enum { DT_STREAM = 5 };

#define STREAM_NODE_MAX_ENTRIES 100 /* Redis's stream-node-max-entries default, fixed */
#define SIDX_CHUNK              128 /* slots per chunk (>= STREAM_NODE_MAX_ENTRIES) */

typedef struct {
    uint64_t ms, seq;
} sid;

static inline int sid_cmp(sid a, sid b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}
static inline int sid_is_zero(sid a)
{
    return a.ms == 0 && a.seq == 0;
}
#define SID_MIN ((sid){0, 0})
#define SID_MAX ((sid){UINT64_MAX, UINT64_MAX})
int sid_incr(sid *id);             /* 0 ok, -1 wrapped (was the maximum) */
int sid_decr(sid *id);             /* 0 ok, -1 wrapped (was 0-0) */
size_t sid_fmt(char *buf, sid id); /* "ms-seq", buf of at least 44 bytes */

/* One chunk of an ordered index: keys ascending, n >= 1 while linked. */
typedef struct {
    uint32_t n;     /* live slots */
    uint32_t added; /* entries index: appends ever made to this chunk (n <= added) */
    sid last;       /* entries index: the last id ever appended here (maybe deleted since) */
    sid key[SIDX_CHUNK];
    void *val[SIDX_CHUNK];
} schunk;

/* Ordered map from sid to a pointer: chunks c[start .. start+n) ordered by key. Seek is two
 * binary searches (O(log n)); append is amortised O(1); removing the head chunk is O(1). */
typedef struct {
    schunk **c;
    size_t start, n, cap;
    uint64_t count; /* keys in all chunks */
    size_t *mem;
} sidx;

typedef struct {
    size_t ci; /* chunk, relative to start; == n at the end */
    uint32_t i;
} spos;

void sidx_init(sidx *x, size_t *mem);
void sidx_deinit(sidx *x);
static inline schunk *sidx_chunk(const sidx *x, size_t ci)
{
    return x->c[x->start + ci];
}
static inline int spos_valid(const sidx *x, spos p)
{
    return p.ci < x->n;
}
static inline sid spos_key(const sidx *x, spos p)
{
    return sidx_chunk(x, p.ci)->key[p.i];
}
static inline void *spos_val(const sidx *x, spos p)
{
    return sidx_chunk(x, p.ci)->val[p.i];
}
spos sidx_first(const sidx *x);
spos sidx_last(const sidx *x);       /* invalid when empty */
spos sidx_ge(const sidx *x, sid id); /* first key >= id (maybe invalid) */
spos sidx_le(const sidx *x, sid id); /* last key <= id (invalid if none) */
void sidx_next(const sidx *x, spos *p);
void sidx_prev(const sidx *x, spos *p); /* becomes invalid before the first */
void *sidx_find(const sidx *x, sid id);
/* Appends id (greater than every key): into the last chunk while it has taken fewer than
 * node_max appends, else into a new chunk. */
void sidx_append(sidx *x, sid id, void *val, uint32_t node_max);
/* Inserts id (not present) anywhere; a full chunk is split in two. */
void sidx_insert(sidx *x, sid id, void *val);
/* Removes the key at p; p then designates the next key. A chunk left empty is freed. */
void sidx_remove(sidx *x, spos *p);
void *sidx_delete(sidx *x, sid id); /* removes id if present: its value, else NULL */
/* Appends a whole chunk (snapshot load, copies): keys above every key. */
void sidx_push_chunk(sidx *x, schunk *ch);
void sidx_drop_first_chunk(sidx *x); /* the caller has dealt with its values */

/* One stream entry's fields and values: nfields x (u32 len, field, u32 len, value). */
typedef struct {
    uint32_t nfields;
    uint32_t bytes; /* of data */
    char data[];
} sentry;

typedef struct sconsumer sconsumer;

typedef struct {
    int64_t delivery_ms;
    uint64_t delivery_count;
    sconsumer *owner; /* never NULL once linked */
} snack;

struct sconsumer {
    int64_t seen_ms;   /* last time the consumer was named by a read, claim or creation */
    int64_t active_ms; /* last successful delivery or claim (-1 never); kept for Redis 7.2 */
    sidx pel;          /* id -> snack*, shared with the group's PEL */
    uint32_t nlen;
    char name[];
};

typedef struct {
    sid last_id;
    int64_t entries_read; /* -1: unknown (SCG_INVALID_ENTRIES_READ) */
    sidx pel;             /* id -> snack* (owns the snacks) */
    sconsumer **cons;     /* sorted by name */
    size_t ncons, ccap;
    uint32_t nlen;
    char name[];
} sgroup;

typedef struct {
    sidx entries; /* id -> sentry* */
    sid last_id;  /* last id generated or set (XSETID); 0-0 if none */
    sid max_deleted;
    uint64_t entries_added;
    /* last_id was last moved by XSETID, not by an XADD: a blocked XREAD is not woken by it (Redis
     * signals no key on XSETID). Not in snapshots (0 after a restore): it only steers wake-ups. */
    uint8_t last_by_setid;
    sgroup **groups; /* sorted by name */
    size_t ngroups, gcap;
    size_t *mem;
} stream;

/* Value plumbing (keyspace.c, snapshot.c, cmd_keys.c). */
dentry *stream_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms);
void stream_free(size_t *mem, dentry *e);
uint64_t stream_len(dentry *e);
/* MEMORY USAGE's estimate of the value: entries of the first `samples` chunks (0: all), scaled
 * to the whole, plus the index and the groups' pending entries */
size_t stream_usage(dentry *e, long long samples);
void stream_set_mem(dentry *e, size_t *mem);
dentry *stream_copy(size_t *mem, dentry *src, const char *key, size_t klen);
stream *stream_of(dentry *e);
sid stream_first_id(const stream *s); /* first live entry, 0-0 if empty */

/* Snapshot codec (stream.c). The writer gets the record body after the key. */
typedef void (*stream_out_fn)(void *ctx, const void *p, size_t n);
void stream_save(dentry *e, stream_out_fn out, void *ctx);
/* Parses a record body from *p (*left bytes) into a new entry; NULL if malformed. */
dentry *stream_load(size_t *mem, const char *key, size_t klen, int64_t expire_ms,
                    const unsigned char **p, size_t *left);

/* Shared by stream.c and stream_group.c. */
stream *stream_read_or_reply(data_call *c, const data_arg *key, int *wrong);
int sid_parse(const data_arg *a, sid *id, uint64_t missing_seq, int strict, int *seq_given);
int sid_parse_or_reply(data_call *c, const data_arg *a, sid *id, uint64_t missing_seq, int strict);
int sid_parse_interval_or_reply(data_call *c, const data_arg *a, sid *id, int *excl,
                                uint64_t missing_seq);
void reply_sid(data_call *c, sid id);
/* Replies [id, [f, v, ...]] for the live entry at p. */
void reply_entry(data_call *c, sid id, const sentry *se);
sentry *stream_lookup(stream *s, sid id);
int64_t stream_estimate_read(const stream *s, sid id);
int stream_range_has_tombstones(const stream *s, sid start);
void reply_sub_syntax(data_call *c, const char *cmd);
sgroup *stream_group_find(stream *s, const char *name, size_t len);
int stream_may_block(int argc, const data_arg *argv); /* XREAD / XREADGROUP with BLOCK */
/* data_rewrite's part: XADD / XTRIM -> XADD_EFFECT / XTRIM_EFFECT n ... (n: the leader's
 * stream-node-max-entries, when not 100); 0 = no rewrite */
int stream_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap);
void stream_group_free(size_t *mem, sgroup *g);
sconsumer *consumer_alloc(size_t *mem, const char *name, size_t nlen);
/* A new group (no consumers, empty PEL) or consumer (seen 0, never active), in name order;
 * NULL if the name is taken. */
sgroup *stream_group_create(stream *s, const char *name, size_t len, sid last, int64_t er);
sconsumer *stream_consumer_add(stream *s, sgroup *g, const char *name, size_t len);
void stream_reply_lag(data_call *c, const stream *s, const sgroup *g);

#endif
