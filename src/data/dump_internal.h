/* dump_internal.h — the DUMP/RESTORE payload codec (dump.c writes, dump_load.c reads): a value in
 * Redis's RDB object encoding, then the 2-byte RDB version and the CRC-64/Jones of everything
 * before it (both little-endian), so payloads move between redis-server 7.0 and synod both ways.
 * See docs/data.md "DUMP and RESTORE" for what is written and what is read. Not a public
 * header. */
#ifndef SYNOD_DUMP_INTERNAL_H
#define SYNOD_DUMP_INTERNAL_H

#include "data/data_internal.h"

#define DUMP_RDB_VERSION 10 /* Redis 7.0's RDB_VERSION: written, and the highest one read */
#define DUMP_FOOTER      10 /* 2 bytes version + 8 bytes CRC-64 */

/* RDB object types (Redis rdb.h). */
enum {
    RDB_T_STRING = 0,
    RDB_T_LIST = 1,
    RDB_T_SET = 2,
    RDB_T_ZSET = 3,
    RDB_T_HASH = 4,
    RDB_T_ZSET_2 = 5,
    RDB_T_MODULE = 6,
    RDB_T_MODULE_2 = 7,
    RDB_T_HASH_ZIPMAP = 9,
    RDB_T_LIST_ZIPLIST = 10,
    RDB_T_SET_INTSET = 11,
    RDB_T_ZSET_ZIPLIST = 12,
    RDB_T_HASH_ZIPLIST = 13,
    RDB_T_LIST_QUICKLIST = 14,
    RDB_T_STREAM_LISTPACKS = 15,
    RDB_T_HASH_LISTPACK = 16,
    RDB_T_ZSET_LISTPACK = 17,
    RDB_T_LIST_QUICKLIST_2 = 18,
    RDB_T_STREAM_LISTPACKS_2 = 19,
};

/* A growable byte buffer (plain malloc: a payload is a reply, not part of the dataset). */
typedef struct {
    unsigned char *p;
    size_t len, cap;
} dump_buf;

void dump_buf_put(dump_buf *b, const void *p, size_t n);
void dump_buf_free(dump_buf *b);

/* Appends e's value as a whole DUMP payload (object type, value, version, CRC). 0, or -1 for a
 * type the codec does not write (streams), with b unchanged. */
int dump_encode(dentry *e, dump_buf *b);

/* Checks a payload's footer: 0 if the version is <= DUMP_RDB_VERSION and the CRC matches. */
int dump_verify(const unsigned char *p, size_t len);

/* Builds a new entry named key (expiry expire_ms, -1 = none) from the object of a verified
 * payload without its footer (p, len). Every length, count and offset is checked against the
 * bytes present: a malformed payload gives NULL and *err (a Redis-style message, "ERR ..."),
 * never a crash, and the dataset is unchanged (the entry is not inserted). */
dentry *dump_decode(data_store *ds, const char *key, size_t klen, int64_t expire_ms,
                    const unsigned char *p, size_t len, const char **err);

#endif
