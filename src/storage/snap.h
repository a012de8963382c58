/* snap.h — snapshot files: one dataset image plus the Raft metadata it stands for.
 *
 * File name: snap-<term, 16 hex>-<index, 16 hex>.snap in the data directory. Written to
 * "<name>.tmp", fsync'd, renamed, and the directory fsync'd, so a crash leaves either the old
 * set of snapshots or the new one (a leftover .tmp is ignored and removed). Once the new file is
 * durable, older snapshot files are deleted. Layout in docs/storage.md. */
#ifndef SYNOD_STORAGE_SNAP_H
#define SYNOD_STORAGE_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* Hard caps on what a snapshot file may declare; bigger values are corruption. */
#define SNAP_CONF_MAX_BYTES (16u << 20)
#define SNAP_DATA_MAX_BYTES (1ull << 40)

/* A loaded snapshot. Owns `conf` and `data` (malloc'd); free with snap_deinit. */
struct snap {
    uint64_t index; /* last log index the snapshot covers (>= 1) */
    uint64_t term;  /* term of that entry */
    uint8_t *conf;  /* membership configuration blob, opaque to storage */
    uint32_t conf_len;
    uint8_t *data; /* dataset image, opaque to storage */
    uint64_t data_len;
};

void snap_deinit(struct snap *s);

/* Streaming writer, for snapshots produced or received in chunks. */
struct snap_writer;

/* Starts "<dir>/snap-<term>-<index>.snap.tmp". `conf` is copied. `io` may be NULL and must
 * outlive the writer. On error returns a negative code, writes a message to err[err_len]. */
int snap_writer_begin(const char *dir, uint64_t index, uint64_t term, const void *conf,
                      uint32_t conf_len, const struct storage_io *io, struct snap_writer **out,
                      char *err, size_t err_len);
/* Appends dataset bytes. */
int snap_writer_append(struct snap_writer *w, const void *data, size_t len, char *err,
                       size_t err_len);
/* Seals (CRC trailer), fsyncs, renames, fsyncs the directory, deletes older snapshots; frees w
 * whatever the outcome. Returns 0 only when the snapshot is durable. */
int snap_writer_finish(struct snap_writer *w, char *err, size_t err_len);
/* Drops an unfinished snapshot (removes the .tmp) and frees w. */
void snap_writer_abort(struct snap_writer *w);

/* One-shot: begin + append(data) + finish. */
int snap_save(const char *dir, const struct snap *s, const struct storage_io *io, char *err,
              size_t err_len);

/* Opens the snapshot file of (index, term) in dir to read its dataset bytes in place (serving it
 * to followers without holding it in memory): *fd_out (read-only; the caller closes it), the
 * dataset's byte offset in the file and its length. Checks the header and that the sizes add up
 * (the whole-file CRC was checked when the file was loaded or written). */
int snap_open_data(const char *dir, uint64_t index, uint64_t term, int *fd_out, uint64_t *off_out,
                   uint64_t *len_out, char *err, size_t err_len);

/* The temporary name a writer for (index, term) uses: to clean up after a writer that was
 * killed (a background snapshot process). */
void snap_tmp_path(const char *dir, uint64_t index, uint64_t term, char *out, size_t cap);

/* Loads the newest valid snapshot of dir into *out. A snapshot file that fails its checks is
 * logged and skipped in favour of an older one. Returns STORAGE_ENOENT when there is none. */
int snap_load_newest(const char *dir, const struct storage_io *io, struct snap *out, char *err,
                     size_t err_len);

/* Parses a whole snapshot file image (used by snap_load_newest and the fuzz target). On success
 * *out owns copies of the blobs. On failure returns STORAGE_ECORRUPT with the byte offset. */
int snap_decode(const uint8_t *buf, size_t len, const char *name, struct snap *out, char *err,
                size_t err_len);

#endif
