/* wal.h — the write-ahead log of a Raft node: entries and hard state, durably, in segments.
 *
 * The server hands the WAL what the consensus core asks to persist (entries, hard state), calls
 * wal_sync() once per event-loop pass (group commit), and only then sends the messages and
 * replies that depend on it. Everything queued between two wal_sync() calls is one batch: after a
 * crash, recovery returns all of it or none of it (a Ready's entries never come back without
 * its hard state). On disk: segment files "wal-<seq>-<first index>.log" (16 hex digits each) of
 * CRC32C-framed records, each batch closed by a batch-end record, in a data directory next to
 * the snapshot files of snap.h and a LOCK file. Format, recovery rules and guarantees:
 * docs/storage.md.
 *
 * A struct wal is single-threaded: one caller at a time (wal_async_* adds a storage thread of
 * its own, invisible to the caller). */
#ifndef SYNOD_STORAGE_WAL_H
#define SYNOD_STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap.h"
#include "storage.h"

/* Largest entry payload the WAL accepts (the record length field is 32 bits). */
#define WAL_ENTRY_MAX_BYTES (256u << 20)

/* A log entry as storage sees it: the type byte and payload are opaque. */
struct wal_entry {
    uint64_t index; /* >= 1; consecutive entries have consecutive indexes */
    uint64_t term;  /* non-decreasing along the log */
    uint8_t type;
    uint32_t len;
    const uint8_t *data; /* len bytes; for appends borrowed for the call only */
};

/* Raft's persistent state besides the log (Raft §5.2 Figure 2, plus the commit index). */
struct wal_hard_state {
    uint64_t term;
    uint64_t vote; /* node id voted for in `term`, 0 = none */
    uint64_t commit;
};

enum wal_fsync_policy {
    /* fdatasync on every wal_sync(): when it returns 0, everything appended before is on stable
     * storage and survives power loss. The default, and the only one that keeps Raft safe. */
    WAL_FSYNC_ALWAYS = 0,
    /* wal_sync() writes to the kernel at once (survives a process crash) but fdatasyncs at most
     * once per batch_interval_ms; power loss can lose that window of acknowledged writes and of
     * votes. The caller asks wal_sync_due_in_ms() when to call wal_sync() again. */
    WAL_FSYNC_BATCH = 1,
    /* wal_sync() only writes to the kernel; the OS flushes when it likes. Survives process
     * crashes, not power loss. Rollover, truncation, compaction and snapshots still fsync, so
     * the file set stays consistent. */
    WAL_FSYNC_NEVER = 2,
};

struct wal_options {
    enum wal_fsync_policy fsync;
    uint32_t batch_interval_ms; /* WAL_FSYNC_BATCH only; 0 means 10 */
    uint64_t segment_max_bytes; /* roll over at the first wal_sync() past this (a batch never
                                   spans two segments); 0 means 64 MiB */
    size_t buffer_max_bytes;    /* pending bytes kept before a write(); 0 means 1 MiB */
    struct storage_io io;       /* fault hook and log sink (copied) */
    bool async_remove;          /* delete old segments on a background thread (bgrm.h) */
    bool preallocate; /* ALWAYS with async_remove only: append into zero-filled segments, so
                       * an fdatasync writes the data and not also the inode (size, extents).
                       * Once the last segment has 1 MiB (or a quarter of segment_max_bytes if
                       * less) the background thread makes a zero-filled spare of
                       * segment_max_bytes + buffer_max_bytes; the WAL moves into it at the next
                       * batch boundary if its segment grows as written, else at rollover.
                       * Recovery reads the zeros after the last record as unwritten space. */
    uint64_t (*now_ms)(void *ctx); /* monotonic clock for batch mode; NULL = CLOCK_MONOTONIC */
    void *now_ctx;
};

/* What wal_open found on disk. Owned by the caller; free with wal_recovered_deinit. */
struct wal_recovered {
    bool has_snapshot;
    struct snap snapshot; /* newest valid snapshot (zeroed when has_snapshot is false) */
    struct wal_hard_state hard_state; /* last one saved, zeros if none */
    struct wal_entry *entries;        /* entries after the snapshot, consecutive; data owned here */
    size_t n_entries;
};

void wal_recovered_deinit(struct wal_recovered *r);

struct wal;

/* Opens (creating it if missing, and fsyncing its parent then) the data directory `dir`, locks it
 * (flock on dir/LOCK: STORAGE_ELOCKED if another process holds it), loads the newest snapshot,
 * replays the segments, truncates the last segment back to its last complete batch when it ends
 * in an unfinished batch or in damage no fsync covered (logged), and removes leftover .tmp
 * files. Damage to data an fsync covered, or anywhere but the last segment, returns
 * STORAGE_ECORRUPT with the file and byte offset in err (nothing is modified).
 * `opts` may be NULL for defaults. On success *out is ready for appends after the last entry. */
int wal_open(const char *dir, const struct wal_options *opts, struct wal **out,
             struct wal_recovered *rec, char *err, size_t err_len);

/* Flushes and fdatasyncs what is pending (whatever the policy), unlocks, frees w. */
void wal_close(struct wal *w);

/* In a forked child (a background snapshot): closes the child's copies of the WAL's descriptors
 * without writing anything, so the directory lock (flock) is released as soon as the parent
 * exits, not when the child does. w must not be used in the child afterwards. */
void wal_forget_in_child(struct wal *w);

/* Frees w WITHOUT writing what is still buffered: what a crash would leave on disk. For tests
 * and simulations. */
void wal_crash(struct wal *w);

/* Buffers entries (copied) into the open batch. entries[0].index must be wal_last_index()+1 and
 * terms must not go down; violating that is a caller bug (asserted). Nothing is durable, or
 * even recoverable after a crash, until the wal_sync() that closes the batch; a full buffer is
 * written to the kernel before that, but recovery ignores it without its batch end.
 * STORAGE_EFAILED once the WAL has failed, STORAGE_ETOOBIG for an entry over the limit. */
int wal_append(struct wal *w, const struct wal_entry *entries, size_t n);

/* Buffers a new hard state into the open batch (skipped if equal to the last one). Durable after
 * wal_sync(), together with the entries of the same batch. */
int wal_save_hard_state(struct wal *w, const struct wal_hard_state *hs);

/* Group commit: closes the batch (a batch-end record, if anything was queued since the last
 * call), writes it and applies the fsync policy (one fdatasync for all of it under ALWAYS), then
 * rolls over to a new segment if this one is full. After a write or fsync error the WAL is failed:
 * this and every later write call returns the error (STORAGE_ENOSPC / STORAGE_EIO first, then
 * STORAGE_EFAILED); wal_last_error() says what happened. */
int wal_sync(struct wal *w);

/* Asynchronous group commit (fsync ALWAYS only): a storage thread does the fdatasyncs, so the
 * caller's event loop goes on (reading, proposing, sending) while batch k is synced and batch
 * k+1 accumulates. wal_async_start starts the thread. wal_async_request closes the open batch,
 * writes it to the kernel (rolling over to a new segment if the last one is full, which fsyncs
 * synchronously as wal_sync does) and asks the thread for an fdatasync covering everything
 * written so far; *ticket numbers the request (1, 2, ...). The thread always syncs for the
 * newest request, so requests made while a sync runs share the next one (adaptive batching:
 * one fsync per request when idle, many requests per fsync under load, no timer). When
 * wal_async_fd() (an eventfd) is readable, wal_async_poll sets *done = the last ticket whose
 * fdatasync returned (every ticket <= it is durable) and returns 0, or the fdatasync's error
 * (the WAL is then failed). Other calls (truncation, compaction, wal_sync) stay synchronous and
 * may be mixed in; a struct wal stays single-threaded for its caller. Stopped by wal_close. */
int wal_async_start(struct wal *w);
int wal_async_fd(const struct wal *w);
int wal_async_request(struct wal *w, uint64_t *ticket);
/* The same, but the fdatasync may wait up to within_us microseconds for more requests to share
 * it (0 = at once, as wal_async_request). A later request due sooner brings it forward: the
 * thread syncs, for the newest ticket, when the earliest deadline of the waiting tickets comes.
 * For syncs nobody waits for at once (a follower outside the leader's commit quorum). */
int wal_async_request_within(struct wal *w, uint32_t within_us, uint64_t *ticket);
int wal_async_poll(struct wal *w, uint64_t *done);

/* BATCH policy: milliseconds until wal_sync() should run again to fdatasync written data
 * (0 = now), -1 when nothing is waiting. ALWAYS: 0 if anything is unsynced. NEVER: 0 while a
 * batch is open or buffered, else -1. */
int64_t wal_sync_due_in_ms(struct wal *w);

/* Removes entries from_index..last (Raft §5.3: a follower drops a conflicting uncommitted
 * tail). Durable and crash-safe when it returns 0: it closes the pending batch (it stays whole in
 * the old segment) and fdatasyncs it, then starts a
 * new segment whose first index is from_index (written to a .tmp, fsync'd, renamed, directory
 * fsync'd); on replay a segment overrides the tail of the log from its first index. Requires
 * compacted index < from_index <= last index + 1. */
int wal_truncate_suffix(struct wal *w, uint64_t from_index);

/* Log compaction behind a durable snapshot at (upto_index, upto_term): deletes whole segments
 * holding only entries <= upto_index. If upto_index >= the last index (e.g. a snapshot installed
 * from the leader), all entries are dropped and the log continues at upto_index+1 with
 * last_term = upto_term (whatever term our own entry at upto_index had). If upto_index < the
 * last index, the log's entry there must have upto_term (asserted: truncate a conflicting tail
 * first). The snapshot file must already be durable (snap_save) or a restart finds a gap. */
int wal_compact(struct wal *w, uint64_t upto_index, uint64_t upto_term);

/* Reads entries lo..hi-1 back from the segment files (lagging followers, restart): as many as
 * fit in max_bytes of data (at least one) and cap, into out[0..*n_out). Their data points into
 * a buffer of w, valid until the next call on w. Entries outside compacted+1..last are
 * STORAGE_ENOENT; a record that fails its checks is STORAGE_ECORRUPT (err names file+offset). */
int wal_read_entries(struct wal *w, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                     struct wal_entry *out, size_t cap, size_t *n_out, char *err, size_t err_len);
/* Term of the entry at index (compacted index: the snapshot's term, when known). */
int wal_term_at(const struct wal *w, uint64_t index, uint64_t *term);

uint64_t wal_last_index(const struct wal *w);   /* 0 or the compacted index when empty */
uint64_t wal_last_term(const struct wal *w);    /* term of the last entry (or snapshot) */
uint64_t wal_synced_index(const struct wal *w); /* last index covered by an fdatasync */
bool wal_failed(const struct wal *w);
/* Message about the last error (file and cause), "" if none. Valid until the next call on w. */
const char *wal_last_error(const struct wal *w);

/* For tests, benchmarks and INFO. last_path is valid until the next call on w. */
struct wal_stats {
    size_t n_segments;
    const char *last_path;      /* path of the segment being appended to */
    uint64_t written_bytes;     /* bytes of the last segment handed to write() */
    uint64_t synced_bytes;      /* bytes of the last segment covered by an fdatasync */
    uint64_t fsyncs;            /* fdatasync calls on segments so far */
    uint64_t prealloc_end;      /* zero-filled space of the last segment ends here (0: it grows) */
    uint64_t prealloc_segments; /* segments started in a zero-filled spare so far */
    uint64_t async_wakes;       /* the storage thread's wake-ups from a wait (0: none running) */
};
void wal_stats(const struct wal *w, struct wal_stats *out);
/* The longest fdatasync of a segment (by wal_sync, or by the storage thread as of the last
 * wal_async_poll) since the previous call, in microseconds; 0 if none (LATENCY's wal-fsync). */
uint64_t wal_take_sync_us_max(struct wal *w);

/* The directory the WAL lives in (for snap_save into the same place). */
const char *wal_dir(const struct wal *w);

#endif
