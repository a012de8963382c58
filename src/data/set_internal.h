/* set_internal.h — set values (set.c) over two encodings, as Redis 7.0 keeps them: an intset
 * (intset.c: sorted integers, 2/4/8 bytes each) while every member is an integer and there are
 * at most set-max-intset-entries of them, a hash table of members (dict.c) otherwise. A set
 * never goes back to an intset (as in Redis). Not a public header. */
#ifndef SYNOD_SET_INTERNAL_H
#define SYNOD_SET_INTERNAL_H

#include "data/data_internal.h"

#define DATA_SET_MAX_INTSET_DEFAULT 512       /* set-max-intset-entries */
#define DATA_SET_MAX_INTSET_CAP     (1 << 30) /* Redis's cap on the setting */

/* ---- intset.c: a sorted array of distinct int64 in the narrowest width that holds them ---- */
typedef struct intset intset;
intset *intset_new(size_t *mem);
/* Both return the (possibly moved) intset; *done is set to 1 if v was added / removed. */
intset *intset_add(size_t *mem, intset *is, int64_t v, int *done);
intset *intset_remove(size_t *mem, intset *is, int64_t v, int *done);
int intset_find(const intset *is, int64_t v);
uint32_t intset_len(const intset *is);
int64_t intset_get(const intset *is, uint32_t i); /* i < len, ascending order */
size_t intset_bytes(const intset *is);
uint32_t intset_width(const intset *is); /* 2, 4 or 8 bytes per member; never shrinks */

/* ---- set.c ---- */
/* A new empty set entry (an empty intset). Callers add a member before the key becomes
 * visible. */
dentry *set_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms);
void set_free(size_t *mem, dentry *e);
uint64_t set_len(dentry *e);
int set_add(data_store *ds, dentry *e, const char *m, size_t ml); /* 1 if new */
int set_remove(size_t *mem, dentry *e, const char *m, size_t ml); /* 1 if it was there */
int set_has(dentry *e, const char *m, size_t ml);
typedef void (*set_each_cb)(void *ctx, const char *m, size_t ml);
void set_each(dentry *e, set_each_cb cb, void *ctx); /* members as bytes (ints in decimal) */
void set_set_mem(dentry *e, size_t *mem);            /* re-points a table set's byte counter */
const char *set_encoding(const dentry *e);           /* OBJECT ENCODING: intset | hashtable */

#endif
