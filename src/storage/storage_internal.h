/* storage_internal.h — internals shared by wal.c, wal_format.c, snap.c and the fuzz target. */
#ifndef SYNOD_STORAGE_STORAGE_INTERNAL_H
#define SYNOD_STORAGE_STORAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"
#include "wal.h"

/* ---- little-endian encoding ---- */
static inline void st_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t st_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t st_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- errors and logging ---- */
/* snprintf into err (if non-NULL) and return code. */
int st_error(char *err, size_t err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void st_log(const struct storage_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Maps an errno from write/fsync to STORAGE_ENOSPC or STORAGE_EIO. */
int st_errno_code(int e);

/* ---- I/O through the fault hook; each returns 0 or a code with a message naming path ---- */
int st_pwrite_all(const struct storage_io *io, int fd, const char *path, uint64_t off,
                  const void *buf, size_t len, char *err, size_t err_len);
int st_fdatasync(const struct storage_io *io, int fd, const char *path, char *err, size_t err_len);
int st_fsync(const struct storage_io *io, int fd, const char *path, char *err, size_t err_len);
/* fsync of a directory by path. */
int st_fsync_dir(const struct storage_io *io, const char *dir, char *err, size_t err_len);
/* Reads a whole regular file (at most max_bytes) into a malloc'd buffer. */
int st_read_file(const char *path, uint64_t max_bytes, uint8_t **out, size_t *len, char *err,
                 size_t err_len);

/* ---- WAL format ---- */
#define WAL_MAGIC "SYNODWAL"
/* 2: batch-end records (docs/storage.md "Batches"). Version 1 (no batch ends: a torn batch
 * could leave entries without their hard state) is refused with a message naming it. */
#define WAL_VERSION 2u
#define WAL_HEADER_BYTES                                                                           \
    40u /* magic 8, version 4, crc 4, seq 8, first index 8, flags 4, zero 4                        \
         */
#define WAL_REC_HEADER_BYTES    16u /* len 4, type 1, zero 3, payload crc 4, header crc 4 */
#define WAL_ENTRY_FIXED_BYTES   17u /* index 8, term 8, type 1, then data */
#define WAL_HS_BYTES            24u /* term 8, vote 8, commit 8 */
#define WAL_BATCH_END_BYTES     24u /* segment seq 8, own offset 8, synced offset 8 */
#define WAL_BATCH_END_REC_BYTES (WAL_REC_HEADER_BYTES + WAL_BATCH_END_BYTES)
/* A segment's header and its first record (the hard state at creation): written to a .tmp
 * and fsync'd before the rename, so complete and synced on their own. */
#define WAL_SEG_BASE_BYTES   (WAL_HEADER_BYTES + WAL_REC_HEADER_BYTES + WAL_HS_BYTES)
#define WAL_SEGMENT_FILE_MAX (4ull << 30) /* bigger segment files are rejected */

/* A batch end closes everything since the previous one (or since the segment's base): recovery
 * keeps a batch of the last segment only when its batch end is there. Its payload says where it
 * sits (segment seq and its own offset, so a copy inside an entry's data is not taken for one)
 * and how far the segment was covered by an fdatasync when it was written. */
enum wal_rec_type { WAL_REC_ENTRY = 1, WAL_REC_HARD_STATE = 2, WAL_REC_BATCH_END = 3 };

/* Segment header flag: the log before this segment is replaced by the snapshot at first-1
 * (written when the log is reset behind an installed snapshot); replay forgets older entries. */
#define WAL_SEG_RESET 1u

void wal_encode_header(uint8_t out[WAL_HEADER_BYTES], uint64_t seq, uint64_t first_index,
                       uint32_t flags);
/* Frames one record (header + payload) into out, which must hold WAL_REC_HEADER_BYTES + len. */
void wal_encode_record(uint8_t *out, uint8_t type, const uint8_t *payload, uint32_t len);
/* Size of the framed entry record. */
size_t wal_entry_record_bytes(uint32_t data_len);
void wal_encode_entry(uint8_t *out, const struct wal_entry *e);
void wal_encode_hard_state(uint8_t out[WAL_REC_HEADER_BYTES + WAL_HS_BYTES],
                           const struct wal_hard_state *hs);
void wal_encode_batch_end(uint8_t out[WAL_BATCH_END_REC_BYTES], uint64_t seq, uint64_t off,
                          uint64_t synced_off);

/* Checks the record framed at buf[off..len): 0 with type, payload and plen set, 1 when it runs
 * past len (read more), -1 when it is damaged (*why says how). */
int wal_decode_record(const uint8_t *buf, size_t len, size_t off, uint8_t *type,
                      const uint8_t **payload, uint32_t *plen, const char **why);

/* Replay state across the segments of one directory, in seq order. Pure: no I/O. */
struct wal_recovery {
    uint64_t snap_index, snap_term; /* newest snapshot (0, 0 if none) */
    uint64_t last_index;            /* last entry read so far, 0 if none */
    uint64_t last_term;             /* its term; 0 if unknown (below the snapshot after an
                                       override) */
    bool have_term_at_snap;         /* saw the entry at snap_index in the current lineage */
    uint64_t term_at_snap;
    struct wal_entry *entries; /* entries > snap_index, consecutive; data malloc'd */
    size_t n, cap;
    struct wal_hard_state hs;
    /* where entries start in their segment (every WAL_MARK_EVERY-th index and each segment's
     * first), so reads after a restart need not scan a segment from its top; best effort */
    struct wal_mark {
        uint64_t seq, index, off;
    } * marks;
    size_t n_marks, cap_marks;
    uint64_t seq;       /* of the segment being replayed */
    bool seg_has_entry; /* it has given an entry already */
};

#define WAL_MARK_EVERY 64 /* one position mark per this many entries */

void wal_recovery_init(struct wal_recovery *rc, uint64_t snap_index, uint64_t snap_term);
void wal_recovery_deinit(struct wal_recovery *rc);

/* Replays one segment image. expect_seq/expect_first come from the file name (UINT64_MAX: take
 * the header's). On success returns 0 with *valid_end == len, or with *valid_end < len when
 * only zeros follow (unwritten space of a zero-filled segment: kept), or 1 with *valid_end < len
 * when the last segment ends in an unfinished batch or an unsynced torn tail: only the complete
 * batches before *valid_end are replayed, err says what was found (the caller logs it and
 * truncates the file). Any other defect (damage in an older segment or inside the synced part
 * of the last one, a bad shape behind a valid checksum) returns STORAGE_ECORRUPT (or
 * STORAGE_ENOMEM) with name and byte offset in err. Rules: docs/storage.md "Recovery". */
int wal_recover_segment(struct wal_recovery *rc, const char *name, const uint8_t *buf, size_t len,
                        bool is_last, uint64_t expect_seq, uint64_t expect_first, size_t *valid_end,
                        char *err, size_t err_len);

#endif
