/* zset_internal.h — sorted set values (zset.c) over two encodings, as Redis 7.0 keeps them: a
 * compact sorted array ("listpack": at most zset-max-listpack-entries elements, none longer
 * than zset-max-listpack-value bytes) and, beyond that, a skiplist with spans (rank in
 * O(log n)) plus a table from member to node ("skiplist"). Elements are ordered by score,
 * then by member bytes (memcmp, shorter first). A set never goes back to the compact form
 * except when a command builds a new one (the STORE commands, a snapshot load). Not a public
 * header. */
#ifndef SYNOD_ZSET_INTERNAL_H
#define SYNOD_ZSET_INTERNAL_H

#include "data/data_internal.h"

#define DATA_ZSET_MAX_LISTPACK_ENTRIES 128 /* zset-max-listpack-entries */
#define DATA_ZSET_MAX_LISTPACK_VALUE   64  /* zset-max-listpack-value */

typedef struct zset zset;

/* A new empty zset entry. Callers add an element before the key becomes visible. */
dentry *zset_new_entry(data_store *ds, const char *key, size_t klen, int64_t expire_ms);
void zset_free(size_t *mem, dentry *e);
/* Loading a value as Redis does (RESTORE, a snapshot, COPY of a skiplist): a new empty entry
 * in the big encoding, then zset_put of every element (a score of -0 stays -0, which the compact
 * encoding turns into 0: in Redis too, the value depends on the encoding an element was added
 * to), then zset_loaded, which goes back to the compact encoding if the elements fit its limits
 * (with keep_neg_zero, only if no score is -0: a snapshot must load the very same values). */
dentry *zset_new_loading(data_store *ds, const char *key, size_t klen, int64_t expire_ms);
void zset_loaded(data_store *ds, dentry *e, int keep_neg_zero);
uint64_t zset_len(dentry *e);
/* The set in the skiplist encoding from now on (what SORT does to a sorted set it reads, in
 * Redis: only OBJECT ENCODING and DUMP can tell). */
void zset_make_big(data_store *ds, dentry *e);
/* Adds or updates member (score must not be NaN); 1 if new. */
int zset_put(data_store *ds, dentry *e, const char *m, size_t ml, double score);
typedef void (*zset_each_cb)(void *ctx, const char *m, size_t ml, double score);
void zset_each(dentry *e, zset_each_cb cb, void *ctx); /* ascending order */
void zset_set_mem(dentry *e, size_t *mem);
const char *zset_encoding(const dentry *e); /* OBJECT ENCODING: listpack | skiplist */
/* 1 and *score if member is present. */
int zset_score(dentry *e, const char *m, size_t ml, double *score);
/* Calls cb on each element with min <= score < max_excl, ascending, until cb returns nonzero.
 * The set must not change during the walk; m is valid until it does. */
typedef int (*zset_range_cb)(void *ctx, const char *m, size_t ml, double score);
void zset_each_in(dentry *e, double min, double max_excl, zset_range_cb cb, void *ctx);
/* Redis's getDoubleFromObject: strtod over the whole argument, no leading space, no NaN, no
 * overflow; 1 if valid. */
int zset_parse_double(const data_arg *a, double *out);

#endif
