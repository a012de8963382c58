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

/* ---- writing (dump.c), shared with stream_dump.c ---- */

void dump_put_byte(dump_buf *b, unsigned v);
void dump_put_le(dump_buf *b, uint64_t v, int bytes);
void dump_put_be(dump_buf *b, uint64_t v, int bytes);
void dump_put_len(dump_buf *b, uint64_t n);                 /* RDB length */
void dump_put_string(dump_buf *b, const char *s, size_t n); /* RDB string, uncompressed */

/* A listpack being written at the end of a buffer, as Redis's lpAppend writes one. */
typedef struct {
    dump_buf *b;
    size_t start; /* offset of the 6-byte header */
    uint64_t count;
} dump_lpw;

void dump_lp_begin(dump_lpw *w, dump_buf *b);
void dump_lp_int(dump_lpw *w, int64_t v);
void dump_lp_str(dump_lpw *w, const char *s, size_t n); /* an integer string as an integer */
void dump_lp_end(dump_lpw *w); /* closes it and rewrites it in place as one RDB string */

/* ---- reading (dump_load.c), shared with stream_dump.c: every call checks the bytes left and
 * returns -1 (nothing trusted) on a short or malformed input ---- */

typedef struct {
    const unsigned char *p;
    size_t left;
} dump_rin;

/* A string read from the payload: its bytes in place, an RDB int rendered in decimal, or an LZF
 * block decompressed into `heap` (freed by dump_rstr_free). */
typedef struct {
    const char *p;
    size_t n;
    char num[24];
    char *heap;
} dump_rstr;

enum { ES_RDB, ES_LP, ES_ZL };

typedef struct {
    int kind;
    dump_rin *in;                 /* ES_RDB */
    uint64_t left;                /* ES_RDB: strings still to read */
    const unsigned char *p, *end; /* ES_LP, ES_ZL: next entry, the terminator */
    uint64_t want, seen;          /* declared entry count (UINT64_MAX: not given), read so far */
    size_t prev;                  /* ES_ZL: size of the previous entry (its prevlen) */
    dump_rstr slot[2];            /* the last two elements stay valid (a field and its value) */
    int turn;
} dump_esrc;

int dump_rd_bytes(dump_rin *in, size_t n, const unsigned char **out);
int dump_rd_u8(dump_rin *in, unsigned *v);
int dump_rd_count(dump_rin *in, uint64_t *n); /* an RDB length that is not a special encoding */
int dump_rd_string(dump_rin *in, dump_rstr *s);
void dump_rstr_free(dump_rstr *s);
uint64_t dump_get_le(const unsigned char *b, int n);
uint64_t dump_get_be(const unsigned char *b, int n);
/* Iterates the listpack in blob (which must outlive es); dump_es_next gives 1 and the next
 * element (an integer rendered in decimal), 0 at the end, -1 if malformed. */
int dump_es_lp(dump_esrc *es, const dump_rstr *blob);
int dump_es_next(dump_esrc *es, const char **p, size_t *n);
void dump_es_free(dump_esrc *es);

/* ---- streams (stream_dump.c) ---- */

/* Writes e (a stream) as RDB_TYPE_STREAM_LISTPACKS_2, type byte included. */
void stream_dump_encode(dentry *e, dump_buf *b);
/* Reads a stream object of the given type (RDB_T_STREAM_LISTPACKS or _2) after its type byte. */
dentry *stream_dump_decode(data_store *ds, const char *key, size_t klen, int64_t expire_ms,
                           dump_rin *in, unsigned type);

/* Appends e's value as a whole DUMP payload (object type, value, version, CRC). */
void dump_encode(dentry *e, dump_buf *b);

/* Checks a payload's footer: 0 if the version is <= DUMP_RDB_VERSION and the CRC matches. */
int dump_verify(const unsigned char *p, size_t len);

/* Builds a new entry named key (expiry expire_ms, -1 = none) from the object of a verified
 * payload without its footer (p, len). Every length, count and offset is checked against the
 * bytes present: a malformed payload gives NULL and *err (a Redis-style message, "ERR ..."),
 * never a crash, and the dataset is unchanged (the entry is not inserted). */
dentry *dump_decode(data_store *ds, const char *key, size_t klen, int64_t expire_ms,
                    const unsigned char *p, size_t len, const char **err);

#endif
