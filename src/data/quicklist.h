/* quicklist.h — the list encoding: a doubly linked list of packed nodes (Redis's quicklist).
 *
 * Each node holds up to a bounded number of bytes (or of elements) of packed entries:
 *   [varint len][len bytes][back-varint len]
 * The length is written both in front (LEB128) and behind (LEB128 with the bytes reversed), so
 * an entry can be read from its start or from its end: tail pops and reverse walks never scan a
 * node. A node never exceeds its limit unless it holds a single element (a large element gets a
 * node of its own), so an insert, delete or replace moves at most one node's bytes, never the
 * whole list: LINDEX/LSET/LINSERT on a large list walk nodes by their counts, then one node.
 *
 * The node limit is list-max-listpack-size ("fill"): negative -1..-5 = 4, 8, 16, 32, 64 KB per
 * node; positive = that many elements per node (and at most 8 KB unless single). It is fixed
 * when the list is created, as in Redis; it changes memory use only, never a reply.
 *
 * A node is one allocation, header and entries, so a one-node list costs two malloc chunks (the
 * qlist and the node); nodes under 512 bytes grow to fit exactly, as a listpack does.
 *
 * Ownership: a qlist owns its nodes; byte counts are charged to *mem (the store's counter).
 * Pointers returned by ql_get are valid until the list is next modified. Internal to src/data. */
#ifndef SYNOD_DATA_QUICKLIST_H
#define SYNOD_DATA_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct ql_node ql_node;

typedef struct {
    ql_node *head, *tail;
    uint64_t count; /* elements in all nodes; none is empty */
    size_t *mem;
    int fill; /* list-max-listpack-size at creation */
} qlist;

/* A position: the entry starting at byte `off` of `node`. Invalidated by any change to the
 * list other than through the call that returned or updated it. */
typedef struct {
    ql_node *node;
    uint32_t off;
} ql_iter;

#define QL_FILL_DEFAULT (-2)
#define QL_FILL_MIN     (-5)
#define QL_FILL_MAX     32768 /* elements per node (Redis's bound for a positive fill) */

qlist *ql_create(size_t *mem, int fill);
void ql_free(qlist *q);
void ql_set_mem(qlist *q, size_t *mem);
static inline uint64_t ql_len(const qlist *q)
{
    return q->count;
}

/* Pushes at the head (tail = 0) or the tail (tail = 1). */
void ql_push(qlist *q, int tail, const char *p, size_t n);

/* Position of element `index` (negative counts from the tail: -1 is the last). 1 if it exists,
 * 0 if the index is out of range. */
int ql_at(const qlist *q, long long index, ql_iter *it);
void ql_get(const ql_iter *it, const char **p, size_t *n);
/* Moves to the next (or previous) element; 0 (it unchanged) at the end. */
int ql_next(ql_iter *it);
int ql_prev(ql_iter *it);

/* Inserts before or after (after = 1) the element at it. */
void ql_insert(qlist *q, const ql_iter *it, int after, const char *p, size_t n);
/* Replaces the element at it. */
void ql_replace(qlist *q, const ql_iter *it, const char *p, size_t n);
/* Deletes the element at it and moves it to the element that followed it in the walk's
 * direction (forward = 1: the next one, 0: the previous one). Returns 0 if there is none. */
int ql_delete(qlist *q, ql_iter *it, int forward);
/* Deletes `count` elements starting at index `start` (both within the list). */
void ql_del_range(qlist *q, uint64_t start, uint64_t count);

/* Nodes in the chain (a walk: for DUMP, which writes the count first). */
uint64_t ql_nodes(const qlist *q);

/* Checks every invariant (counts, entry framing, node limits); returns 0 or a negative code
 * naming the first broken one. For tests. */
int ql_check(const qlist *q);

#endif
