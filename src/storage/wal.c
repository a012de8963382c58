/* wal.c — the write-ahead log: segments, group commit, truncation, compaction, recovery. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bgrm.h"
#include "storage_internal.h"
#include "util/assert.h"
#include "wal.h"

#define WAL_PATH_MAX     4096
#define WAL_SEG_NAME_LEN 41u /* "wal-" 16 hex "-" 16 hex ".log" */

struct wal_seg {
    uint64_t seq; /* strictly increasing along w->segs */
    uint64_t first_index;
};

/* Entries from `index` on have `term`, up to the next run. */
struct term_run {
    uint64_t index, term;
};

/* Where an entry's record starts in a segment file: lets reads skip the scan from the top. */
struct pos_mark {
    uint64_t seq, index, off;
};

/* The storage thread of wal_async_* (see wal.h): fdatasyncs on its own, the event loop only
 * writes. Fields under mu unless noted. */
struct wal_async {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int efd;         /* eventfd: the thread signals a finished sync (loop reads it) */
    int fd;          /* dup of the last segment's fd (the loop replaces it on rollover) */
    int thread_fd;   /* the one the thread syncs: a->fd as of its last pick-up, or -1. Owned
                      * by the thread while it runs (closed by it when it takes a newer fd) */
    uint64_t fd_seq; /* segment seq of fd */
    char path[4096]; /* of fd, for messages */
    uint64_t req;    /* last ticket requested */
    uint64_t req_seq, req_bytes, req_index; /* what it covers: segment, bytes, last entry */
    uint64_t due_us; /* mono time by which the tickets after the one being synced must be
                        synced (0: at once; UINT64_MAX: none waiting) */
    uint64_t done;   /* last ticket whose fdatasync returned */
    uint64_t done_seq, done_bytes, done_index;
    int err; /* 0, or the code of a failed fdatasync (then nothing more is synced) */
    char errmsg[512];
    bool stop;
    struct storage_io io; /* copy of the WAL's (the fault hook is called from the thread) */
    uint64_t fsyncs;
    uint64_t sync_us_max; /* longest fdatasync since the last poll */
    uint64_t wakes;       /* the thread's returns from a wait (signalled, or its deadline) */
};

struct wal {
    char *dir;
    struct wal_async *as;  /* wal_async_start, else NULL */
    uint64_t async_fsyncs; /* fdatasyncs of the storage thread, as of the last poll */
    uint64_t sync_us_max;  /* longest fdatasync of a segment since wal_take_sync_us_max */
    int lock_fd;
    struct wal_options opt;
    struct wal_seg *segs; /* ascending seq; the last one is open for appends */
    size_t n_segs, cap_segs;
    int fd; /* the last segment */
    char path[WAL_PATH_MAX];
    uint64_t written_bytes;  /* of the last segment: handed to pwrite */
    uint64_t synced_bytes;   /* of the last segment: covered by fdatasync; <= written_bytes */
    uint64_t wb_from;        /* of the last segment: writeback not yet started from here */
    uint64_t prealloc_end;   /* of the last segment: zero-filled up to here (0: grows) */
    int spare_state;         /* BGRM_ZF_*: the zero-filled spare segment (atomic: bgrm sets it) */
    uint64_t spare_retry_at; /* no spare asked for before the last segment has this many bytes
                                (0 again in a new segment; UINT64_MAX: never) */
    uint64_t prealloc_segs;  /* segments started in a spare */
    char spare_path[WAL_PATH_MAX];
    uint8_t *buf; /* records not yet written; buf_len <= opt.buffer_max_bytes */
    size_t buf_len;
    bool batch_open; /* records queued in the last segment since its last batch end (or base) */
    uint64_t last_index, last_term; /* last entry (or the compaction point when empty) */
    uint64_t written_index;         /* entries <= this were handed to pwrite */
    uint64_t synced_index;          /* entries <= this are fdatasync'd; <= written_index */
    uint64_t compact_index;         /* entries <= this are covered by a snapshot */
    uint64_t base_term;             /* term at compact_index, 0 if unknown */
    struct term_run *runs;          /* terms of entries compact_index+1..last_index */
    size_t n_runs, cap_runs;
    struct pos_mark *marks; /* ascending (seq, index) */
    size_t n_marks, cap_marks;
    struct pos_mark cursor; /* where the last read stopped (seq 0: none) */
    uint8_t *rbuf;          /* what wal_read_entries returned points in here */
    size_t rbuf_cap;
    struct bgrm *bgrm;        /* opt.async_remove: segment deletions off the event loop */
    struct wal_hard_state hs; /* last saved (maybe not yet durable) */
    int failed;               /* 0, or the code of the I/O error that stopped the WAL */
    uint64_t last_fsync_ms;
    uint64_t fsyncs;
    char err[512];
};

static uint64_t default_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(const struct wal *w)
{
    return w->opt.now_ms(w->opt.now_ctx);
}

static void seg_path(const struct wal *w, const struct wal_seg *s, char *out, size_t len)
{
    snprintf(out, len, "%s/wal-%016" PRIx64 "-%016" PRIx64 ".log", w->dir, s->seq, s->first_index);
}

static bool parse_seg_name(const char *name, uint64_t *seq, uint64_t *first)
{
    if (strlen(name) != WAL_SEG_NAME_LEN || strncmp(name, "wal-", 4) != 0 || name[20] != '-' ||
        strcmp(name + 37, ".log") != 0)
        return false;
    for (int i = 4; i < 37; i++) {
        if (i == 20) continue;
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    *seq = strtoull(name + 4, NULL, 16);
    *first = strtoull(name + 21, NULL, 16);
    return true;
}

/* Stops the WAL for good: from now on every write call fails. */
static int wal_fail(struct wal *w, int code)
{
    if (!w->failed) {
        w->failed = code;
        st_log(&w->opt.io, "WAL failed, refusing further writes: %s", w->err);
    }
    return code;
}

static int check_failed(struct wal *w)
{
    return w->failed ? STORAGE_EFAILED : 0;
}

/* ---- term runs ---- */

static int runs_push(struct wal *w, uint64_t index, uint64_t term)
{
    if (w->n_runs > 0 && w->runs[w->n_runs - 1].term == term) return 0;
    if (w->n_runs == w->cap_runs) {
        size_t cap = w->cap_runs ? w->cap_runs * 2 : 16;
        struct term_run *r = realloc(w->runs, cap * sizeof *r);
        if (!r) return st_error(w->err, sizeof w->err, STORAGE_ENOMEM, "WAL: out of memory");
        w->runs = r;
        w->cap_runs = cap;
    }
    w->runs[w->n_runs++] = (struct term_run){index, term};
    return 0;
}

/* Forgets entries >= from; sets last_index/last_term. */
static void runs_truncate(struct wal *w, uint64_t from)
{
    while (w->n_runs > 0 && w->runs[w->n_runs - 1].index >= from)
        w->n_runs--;
    w->last_index = from - 1;
    w->last_term =
        w->n_runs ? w->runs[w->n_runs - 1].term : (from - 1 == w->compact_index ? w->base_term : 0);
}

/* Forgets entries <= upto (upto < last_index). */
static void runs_compact(struct wal *w, uint64_t upto)
{
    size_t drop = 0;
    uint64_t term_at_upto = w->base_term;
    while (drop < w->n_runs && w->runs[drop].index <= upto) {
        term_at_upto = w->runs[drop].term;
        drop++;
    }
    /* keep the run covering upto+1 */
    if (drop > 0 && (drop == w->n_runs || w->runs[drop].index > upto + 1)) {
        drop--;
        w->runs[drop].index = upto + 1;
    }
    if (drop) memmove(w->runs, w->runs + drop, (w->n_runs - drop) * sizeof *w->runs);
    w->n_runs -= drop;
    w->base_term = term_at_upto;
}

/* ---- position marks ---- */

static bool seg_exists(const struct wal *w, uint64_t seq)
{
    for (size_t k = 0; k < w->n_segs; k++)
        if (w->segs[k].seq == seq) return true;
    return false;
}

/* Forgets marks of deleted segments. */
static void marks_drop_missing(struct wal *w)
{
    size_t j = 0;
    for (size_t i = 0; i < w->n_marks; i++)
        if (seg_exists(w, w->marks[i].seq)) w->marks[j++] = w->marks[i];
    w->n_marks = j;
    if (w->cursor.seq && !seg_exists(w, w->cursor.seq)) w->cursor.seq = 0;
}

static bool grow_marks(struct wal *w)
{
    size_t cap = w->cap_marks ? w->cap_marks * 2 : 64;
    struct pos_mark *m = realloc(w->marks, cap * sizeof *m);
    if (!m) return false;
    w->marks = m;
    w->cap_marks = cap;
    return true;
}

/* A mark for the entry just queued at byte `off` of the last segment (best effort: a mark that
 * cannot be stored only makes reads scan further). */
static void mark_push(struct wal *w, uint64_t index, uint64_t off)
{
    if (w->n_marks == w->cap_marks && !grow_marks(w)) return;
    w->marks[w->n_marks++] = (struct pos_mark){w->segs[w->n_segs - 1].seq, index, off};
}

/* ---- writing ---- */

/* Without an fsync per sync (BATCH, NEVER) dirty pages pile up, and the fdatasync that rollover
 * does anyway (only the last segment may have a torn tail) then stalls the event loop for tens
 * of milliseconds. Starting the writeback of every few MB as they are written keeps that final
 * fdatasync short (what RocksDB calls bytes_per_sync). A hint: errors are ignored. */
#define WAL_WRITEBACK_BYTES (4u << 20)

static void start_writeback(struct wal *w)
{
    if (w->opt.fsync == WAL_FSYNC_ALWAYS || w->written_bytes < w->wb_from + WAL_WRITEBACK_BYTES)
        return;
    (void)sync_file_range(w->fd, (off64_t)w->wb_from, (off64_t)(w->written_bytes - w->wb_from),
                          SYNC_FILE_RANGE_WRITE);
    w->wb_from = w->written_bytes;
}

static int flush_buf(struct wal *w)
{
    if (w->buf_len == 0) return 0;
    int rc = st_pwrite_all(&w->opt.io, w->fd, w->path, w->written_bytes, w->buf, w->buf_len, w->err,
                           sizeof w->err);
    if (rc) return wal_fail(w, rc);
    w->written_bytes += w->buf_len;
    w->buf_len = 0;
    w->written_index = w->last_index;
    start_writeback(w);
    return 0;
}

/* Closes the batch of everything queued since the previous batch end: recovery keeps a batch of
 * the last segment only if its batch end reached the disk (raft.h: the entries and hard state of
 * a Ready are durable together or not at all, even when the buffer was written in the middle).
 * The record also says how far this segment is known synced, so that recovery can tell damage
 * to acknowledged data from an unsynced torn tail. Queued, not written. */
static int end_batch(struct wal *w)
{
    if (!w->batch_open) return 0;
    if (w->buf_len + WAL_BATCH_END_REC_BYTES > w->opt.buffer_max_bytes) {
        int rc = flush_buf(w);
        if (rc) return rc;
    }
    uint64_t off = w->written_bytes + w->buf_len;
    wal_encode_batch_end(w->buf + w->buf_len, w->segs[w->n_segs - 1].seq, off, w->synced_bytes);
    w->buf_len += WAL_BATCH_END_REC_BYTES;
    w->batch_open = false;
    return 0;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sync_now(struct wal *w)
{
    if (w->synced_bytes == w->written_bytes && w->synced_index == w->written_index) return 0;
    uint64_t t0 = mono_us();
    int rc = st_fdatasync(&w->opt.io, w->fd, w->path, w->err, sizeof w->err);
    uint64_t us = mono_us() - t0;
    if (us > w->sync_us_max) w->sync_us_max = us;
    if (rc) return wal_fail(w, rc);
    w->fsyncs++;
    w->synced_bytes = w->written_bytes;
    w->synced_index = w->written_index;
    w->last_fsync_ms = now_ms(w);
    return 0;
}

static int segs_push(struct wal *w, struct wal_seg s)
{
    if (w->n_segs == w->cap_segs) {
        size_t cap = w->cap_segs ? w->cap_segs * 2 : 16;
        struct wal_seg *n = realloc(w->segs, cap * sizeof *n);
        if (!n) return st_error(w->err, sizeof w->err, STORAGE_ENOMEM, "WAL: out of memory");
        w->segs = n;
        w->cap_segs = cap;
    }
    w->segs[w->n_segs++] = s;
    return 0;
}

/* Removes segment files [from, to) of w->segs, newest first (see docs/storage.md: a crash in
 * the middle must leave a prefix of them, which replays without a gap). */
static void remove_segments(struct wal *w, size_t from, size_t to)
{
    char path[WAL_PATH_MAX];
    for (size_t k = to; k-- > from;) {
        seg_path(w, &w->segs[k], path, sizeof path);
        if (w->bgrm) {
            bgrm_add(w->bgrm, path);
            continue;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            st_log(&w->opt.io, "could not remove WAL segment %s: %s", path, strerror(errno));
    }
    memmove(w->segs + from, w->segs + to, (w->n_segs - to) * sizeof *w->segs);
    w->n_segs -= to - from;
    marks_drop_missing(w);
}

/* ---- zero-filled segments (opt.preallocate) ---- */

static int spare_get(const struct wal *w)
{
    return __atomic_load_n(&w->spare_state, __ATOMIC_ACQUIRE);
}

static void spare_set(struct wal *w, int st)
{
    __atomic_store_n(&w->spare_state, st, __ATOMIC_RELEASE);
}

static uint64_t spare_bytes(const struct wal *w)
{
    return w->opt.segment_max_bytes + w->opt.buffer_max_bytes;
}

/* At a batch boundary: once the last segment has seen some writes (so a node that writes little,
 * a test, never pays for megabytes of zeros), or a zero-filled one is half full, ask the
 * background thread for a spare. */
static void spare_kick(struct wal *w)
{
    if (!w->opt.preallocate || !w->bgrm || w->opt.fsync != WAL_FSYNC_ALWAYS) return;
    if (spare_get(w) == BGRM_ZF_FAILED) { /* logged once, not tried again */
        st_log(&w->opt.io,
               "%s: could not make a zero-filled spare segment (%s); segments grow "
               "as they are written",
               w->dir, w->spare_path);
        w->spare_retry_at = UINT64_MAX;
        spare_set(w, BGRM_ZF_NONE);
    }
    if (spare_get(w) != BGRM_ZF_NONE) return;
    uint64_t trigger =
        w->opt.segment_max_bytes / 4 < (1u << 20) ? w->opt.segment_max_bytes / 4 : (1u << 20);
    if (w->prealloc_end) trigger = w->prealloc_end / 2; /* the next one: well before it fills */
    if (w->written_bytes < WAL_SEG_BASE_BYTES + trigger || w->written_bytes < w->spare_retry_at)
        return;
    /* The zeros must never take the space the log itself needs: only with room for two spares
     * and 256 MiB more (checked again every MiB written while there is not). */
    uint64_t bytes = spare_bytes(w);
    struct statvfs vfs;
    if ((w->opt.io.fault && w->opt.io.fault(w->opt.io.fault_ctx, STORAGE_OP_SPACE, w->dir)) ||
        statvfs(w->dir, &vfs) != 0 ||
        (uint64_t)vfs.f_bavail * vfs.f_frsize < 2 * bytes + (256ull << 20)) {
        w->spare_retry_at = w->written_bytes + (1u << 20);
        return;
    }
    spare_set(w, BGRM_ZF_MAKING);
    if (bgrm_zero_file(w->bgrm, w->spare_path, bytes, &w->spare_state) < 0)
        spare_set(w, BGRM_ZF_NONE);
}

/* Starts a new last segment whose first entry will be first_index: header and current hard
 * state to "<name>.tmp" (or into the zero-filled spare, when one is ready), fsync, rename, fsync
 * dir. The previous segment must be fully synced. */
static int create_segment(struct wal *w, uint64_t first_index, uint32_t flags)
{
    SYN_ASSERT(w->buf_len == 0);
    SYN_ASSERT(!w->batch_open); /* a batch never spans two segments */
    struct wal_seg s = {w->n_segs ? w->segs[w->n_segs - 1].seq + 1 : 1, first_index};
    char path[WAL_PATH_MAX], tmp[WAL_PATH_MAX + 8];
    seg_path(w, &s, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = -1;
    uint64_t zeroed = 0;
    if (spare_get(w) == BGRM_ZF_READY) {
        fd = open(w->spare_path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            snprintf(tmp, sizeof tmp, "%s", w->spare_path);
            zeroed = spare_bytes(w);
        }
        spare_set(w, BGRM_ZF_NONE);
    }
    if (fd < 0) fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* read too */
    if (fd < 0) {
        int e = errno;
        st_error(w->err, sizeof w->err, st_errno_code(e), "create %s: %s", tmp, strerror(e));
        return wal_fail(w, st_errno_code(e));
    }
    uint8_t head[WAL_SEG_BASE_BYTES];
    wal_encode_header(head, s.seq, s.first_index, flags);
    wal_encode_hard_state(head + WAL_HEADER_BYTES, &w->hs);
    int rc = st_pwrite_all(&w->opt.io, fd, tmp, 0, head, sizeof head, w->err, sizeof w->err);
    if (!rc) rc = st_fsync(&w->opt.io, fd, tmp, w->err, sizeof w->err);
    if (!rc && rename(tmp, path) != 0)
        rc = st_error(w->err, sizeof w->err, STORAGE_EIO, "rename %s: %s", tmp, strerror(errno));
    if (!rc) rc = st_fsync_dir(&w->opt.io, w->dir, w->err, sizeof w->err);
    if (!rc) rc = segs_push(w, s);
    if (rc) {
        close(fd);
        unlink(tmp);
        return wal_fail(w, rc);
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = fd;
    memcpy(w->path, path, sizeof path);
    w->written_bytes = w->synced_bytes = w->wb_from = sizeof head;
    if (w->spare_retry_at != UINT64_MAX) w->spare_retry_at = 0; /* sizes count from here */
    w->prealloc_end = zeroed;
    if (zeroed) w->prealloc_segs++;
    return 0;
}

/* Called at a batch boundary only (wal_sync, after the batch end), so that a batch never spans
 * two segments: a segment may exceed segment_max_bytes by up to one batch. */
static int maybe_rollover(struct wal *w)
{
    SYN_ASSERT(!w->batch_open && w->buf_len == 0);
    bool full =
        w->written_bytes >= w->opt.segment_max_bytes && w->written_bytes > WAL_SEG_BASE_BYTES;
    /* a segment that grows as written moves into a zero-filled spare as soon as one is ready */
    bool early = !full && w->prealloc_end == 0 && spare_get(w) == BGRM_ZF_READY;
    if (!full && !early) {
        spare_kick(w);
        return 0;
    }
    /* Always synced, whatever the policy: only the last segment may have a torn tail. */
    int rc = sync_now(w);
    if (!rc) rc = create_segment(w, w->last_index + 1, 0);
    return rc;
}

/* Queues one framed record of `size` bytes (entry e, or else hard state hs) in the open batch. */
static int put_record(struct wal *w, size_t size, const struct wal_entry *e,
                      const struct wal_hard_state *hs)
{
    w->batch_open = true;
    if (w->buf_len + size > w->opt.buffer_max_bytes) {
        int rc = flush_buf(w);
        if (rc) return rc;
    }
    if (size <= w->opt.buffer_max_bytes) {
        if (e)
            wal_encode_entry(w->buf + w->buf_len, e);
        else
            wal_encode_hard_state(w->buf + w->buf_len, hs);
        w->buf_len += size;
        return 0;
    }
    /* Bigger than the whole buffer: write it on its own. */
    uint8_t *tmp = malloc(size);
    if (!tmp) return st_error(w->err, sizeof w->err, STORAGE_ENOMEM, "WAL: out of memory");
    wal_encode_entry(tmp, e);
    int rc = st_pwrite_all(&w->opt.io, w->fd, w->path, w->written_bytes, tmp, size, w->err,
                           sizeof w->err);
    free(tmp);
    if (rc) return wal_fail(w, rc);
    w->written_bytes += size;
    start_writeback(w);
    return 0;
}

int wal_append(struct wal *w, const struct wal_entry *entries, size_t n)
{
    int rc = check_failed(w);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].len > WAL_ENTRY_MAX_BYTES)
            return st_error(w->err, sizeof w->err, STORAGE_ETOOBIG,
                            "WAL: entry %" PRIu64 " has %u bytes, limit %u", entries[i].index,
                            entries[i].len, WAL_ENTRY_MAX_BYTES);
    }
    for (size_t i = 0; i < n; i++) {
        const struct wal_entry *e = &entries[i];
        SYN_ASSERT_CMP(e->index, ==, w->last_index + 1);
        SYN_ASSERT_CMP(e->term, >=, w->last_term);
        rc = runs_push(w, e->index, e->term);
        if (!rc) rc = put_record(w, wal_entry_record_bytes(e->len), e, NULL);
        if (!rc &&
            (e->index % WAL_MARK_EVERY == 0 || e->index == w->segs[w->n_segs - 1].first_index))
            mark_push(w, e->index, w->written_bytes + w->buf_len - wal_entry_record_bytes(e->len));
        if (rc) return rc;
        w->last_index = e->index;
        w->last_term = e->term;
        if (w->buf_len == 0) w->written_index = e->index; /* written directly */
    }
    return 0;
}

int wal_save_hard_state(struct wal *w, const struct wal_hard_state *hs)
{
    int rc = check_failed(w);
    if (rc) return rc;
    if (memcmp(hs, &w->hs, sizeof *hs) == 0) return 0;
    rc = put_record(w, WAL_REC_HEADER_BYTES + WAL_HS_BYTES, NULL, hs);
    if (rc) return rc;
    w->hs = *hs;
    return 0;
}

int wal_sync(struct wal *w)
{
    int rc = check_failed(w);
    if (!rc) rc = end_batch(w);
    if (!rc) rc = flush_buf(w);
    if (rc) return rc;
    switch (w->opt.fsync) {
    case WAL_FSYNC_ALWAYS: rc = sync_now(w); break;
    case WAL_FSYNC_BATCH:
        if (now_ms(w) - w->last_fsync_ms >= w->opt.batch_interval_ms) rc = sync_now(w);
        break;
    case WAL_FSYNC_NEVER: break;
    }
    if (!rc) rc = maybe_rollover(w);
    return rc;
}

int64_t wal_sync_due_in_ms(struct wal *w)
{
    if (w->failed) return -1;
    bool unwritten = w->buf_len > 0 || w->batch_open;
    bool unsynced = unwritten || w->synced_bytes != w->written_bytes;
    switch (w->opt.fsync) {
    case WAL_FSYNC_ALWAYS: return unsynced ? 0 : -1;
    case WAL_FSYNC_NEVER: return unwritten ? 0 : -1;
    case WAL_FSYNC_BATCH: {
        if (!unsynced) return -1;
        if (unwritten) return 0;
        uint64_t since = now_ms(w) - w->last_fsync_ms;
        return since >= w->opt.batch_interval_ms ? 0 : (int64_t)(w->opt.batch_interval_ms - since);
    }
    }
    return -1;
}

int wal_truncate_suffix(struct wal *w, uint64_t from_index)
{
    int rc = check_failed(w);
    if (rc) return rc;
    SYN_ASSERT_CMP(from_index, >, w->compact_index);
    SYN_ASSERT_CMP(from_index, <=, w->last_index + 1);
    if (from_index == w->last_index + 1) return 0;
    rc = end_batch(w); /* what is pending is a batch of its own: whole in the old segment */
    if (!rc) rc = flush_buf(w);
    if (!rc) rc = sync_now(w);
    if (!rc) rc = create_segment(w, from_index, 0);
    if (rc) return rc;
    runs_truncate(w, from_index);
    if (w->written_index > w->last_index) w->written_index = w->last_index;
    if (w->synced_index > w->last_index) w->synced_index = w->last_index;
    /* Segments that start at or after from_index hold nothing live any more. */
    size_t k = w->n_segs - 1, stale_from = k;
    while (stale_from > 0 && w->segs[stale_from - 1].first_index >= from_index)
        stale_from--;
    remove_segments(w, stale_from, k);
    return 0;
}

/* Deletes the segments whose live entries are all <= upto: segment k is covered when some later
 * segment starts at or before upto+1. Such segments always form a prefix of the list. */
static void remove_covered(struct wal *w, uint64_t upto)
{
    size_t covered = 0;
    uint64_t min_first = UINT64_MAX;
    for (size_t k = w->n_segs; k-- > 1;) {
        if (w->segs[k].first_index < min_first) min_first = w->segs[k].first_index;
        if (min_first <= upto + 1) {
            covered = k;
            break;
        }
    }
    if (covered > 0) remove_segments(w, 0, covered);
}

int wal_compact(struct wal *w, uint64_t upto_index, uint64_t upto_term)
{
    int rc = check_failed(w);
    if (rc) return rc;
    if (upto_index <= w->compact_index) return 0;
    SYN_ASSERT(upto_term > 0);
    if (upto_index < w->last_index) {
        /* The entry at upto_index stays in the log, so it is the snapshot's (Log Matching, Raft
         * §5.3): a snapshot that conflicts with the log must be installed over a truncated one. */
        uint64_t own = 0;
        SYN_ASSERT(wal_term_at(w, upto_index, &own) == 0);
        SYN_ASSERT_CMP(own, ==, upto_term);
        runs_compact(w, upto_index);
        w->compact_index = upto_index;
        remove_covered(w, upto_index);
        return 0;
    }
    /* The snapshot covers the whole log: continue after it in a RESET segment. Its term, not the
     * term of our own entry at upto_index: a follower may hold a conflicting entry there (issue
     * 8, bug 4: the leader's next append, of the snapshot's term, then tripped the term check). */
    rc = end_batch(w);
    if (!rc) rc = flush_buf(w);
    if (!rc) rc = sync_now(w);
    if (!rc) rc = create_segment(w, upto_index + 1, WAL_SEG_RESET);
    if (rc) return rc;
    remove_segments(w, 0, w->n_segs - 1);
    w->n_runs = 0;
    w->compact_index = w->last_index = w->written_index = w->synced_index = upto_index;
    w->base_term = w->last_term = upto_term;
    return 0;
}

/* ---- reading entries back ---- */

int wal_term_at(const struct wal *w, uint64_t index, uint64_t *term)
{
    if (index == w->compact_index && w->base_term) {
        *term = w->base_term;
        return 0;
    }
    if (index <= w->compact_index || index > w->last_index || w->n_runs == 0) return STORAGE_ENOENT;
    size_t lo = 0, hi = w->n_runs; /* last run with runs[k].index <= index */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->runs[mid].index <= index)
            lo = mid;
        else
            hi = mid;
    }
    if (w->runs[lo].index > index) return STORAGE_ENOENT;
    *term = w->runs[lo].term;
    return 0;
}

static int rbuf_reserve(struct wal *w, size_t need)
{
    if (need <= w->rbuf_cap) return 0;
    size_t cap = w->rbuf_cap ? w->rbuf_cap : (1u << 16);
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(w->rbuf, cap);
    if (!b) return STORAGE_ENOMEM;
    w->rbuf = b;
    w->rbuf_cap = cap;
    return 0;
}

int wal_read_entries(struct wal *w, uint64_t lo, uint64_t hi, uint64_t max_bytes,
                     struct wal_entry *out, size_t cap, size_t *n_out, char *err, size_t err_len)
{
    *n_out = 0;
    if (lo <= w->compact_index || lo > w->last_index || hi <= lo || cap == 0)
        return st_error(err, err_len, STORAGE_ENOENT,
                        "WAL: entries %" PRIu64 "..%" PRIu64 " not in the log (%" PRIu64
                        "..%" PRIu64 ")",
                        lo, hi - 1, w->compact_index + 1, w->last_index);
    if (hi > w->last_index + 1) hi = w->last_index + 1;
    if (w->rbuf_cap > (8u << 20)) { /* a big read earlier: give the memory back */
        free(w->rbuf);
        w->rbuf = NULL;
        w->rbuf_cap = 0;
    }
    if (hi - 1 > w->written_index) {
        int rc = w->failed ? STORAGE_EFAILED : flush_buf(w);
        if (rc) return st_error(err, err_len, rc, "WAL: %s", w->err);
    }
    /* the live copy of lo is in the newest segment starting at or before it; entries from the
     * first index of any newer segment on are stale there (a truncation overrode them) */
    size_t k = w->n_segs;
    while (k > 0 && w->segs[k - 1].first_index > lo)
        k--;
    if (k == 0)
        return st_error(err, err_len, STORAGE_ECORRUPT, "WAL: no segment holds entry %" PRIu64, lo);
    const struct wal_seg *sg = &w->segs[k - 1];
    uint64_t limit = hi; /* exclusive */
    for (size_t j = k; j < w->n_segs; j++)
        if (w->segs[j].first_index < limit) limit = w->segs[j].first_index;
    uint64_t off = WAL_HEADER_BYTES;
    for (size_t i = 0; i < w->n_marks; i++) /* marks ascend: keep the last one that fits */
        if (w->marks[i].seq == sg->seq && w->marks[i].index <= lo) off = w->marks[i].off;
    if (w->cursor.seq == sg->seq && w->cursor.index <= lo && w->cursor.off > off)
        off = w->cursor.off;

    char path[WAL_PATH_MAX];
    seg_path(w, sg, path, sizeof path);
    bool is_last = sg == &w->segs[w->n_segs - 1];
    int fd = is_last ? w->fd : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", path, strerror(errno));
    uint64_t file_end;
    if (is_last) {
        file_end = w->written_bytes;
    } else {
        struct stat stt;
        file_end = fstat(fd, &stt) == 0 ? (uint64_t)stt.st_size : 0;
    }
    /* read forward from off into rbuf, record by record; data offsets become pointers at the end
     * (rbuf may move while it grows) */
    size_t have = 0, pos = 0, n = 0;
    uint64_t bytes = 0, next = lo, mark_off = off;
    int rc = 0;
    while (n < cap && next < limit) {
        uint8_t type;
        const uint8_t *pl;
        uint32_t plen;
        const char *why = "";
        int d = wal_decode_record(w->rbuf ? w->rbuf : (const uint8_t *)"", have, pos, &type, &pl,
                                  &plen, &why);
        if (d == 1) {                /* need more bytes */
            if (n == 0 && pos > 0) { /* nothing kept yet: drop what was skipped */
                memmove(w->rbuf, w->rbuf + pos, have - pos);
                off += pos;
                have -= pos;
                pos = 0;
            }
            uint64_t at = off + have;
            if (at >= file_end) {
                if (n > 0) break; /* the rest is in the next segment */
                rc = st_error(err, err_len, STORAGE_ECORRUPT,
                              "%s: entry %" PRIu64 " missing (segment ends at %" PRIu64 ")", path,
                              next, file_end);
                break;
            }
            size_t want = have - pos < WAL_REC_HEADER_BYTES
                              ? (1u << 16)
                              : WAL_REC_HEADER_BYTES + st_get32(w->rbuf + pos) + (1u << 16);
            if (at + want > file_end) want = (size_t)(file_end - at);
            if ((rc = rbuf_reserve(w, have + want)) != 0) {
                st_error(err, err_len, rc, "WAL: out of memory reading %s", path);
                break;
            }
            ssize_t got = pread(fd, w->rbuf + have, want, (off_t)at);
            if (got <= 0) {
                rc = st_error(err, err_len, STORAGE_EIO, "read %s at %" PRIu64 ": %s", path, at,
                              got < 0 ? strerror(errno) : "end of file");
                break;
            }
            have += (size_t)got;
            continue;
        }
        if (d < 0) {
            rc = st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset %" PRIu64 ": %s", path,
                          off + pos, why);
            break;
        }
        size_t rec_at = pos;
        pos += WAL_REC_HEADER_BYTES + plen;
        if (type != WAL_REC_ENTRY) continue;
        if (plen < WAL_ENTRY_FIXED_BYTES) {
            rc = st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset %" PRIu64 ": short entry",
                          path, off + rec_at);
            break;
        }
        uint64_t idx = st_get64(pl);
        if (idx < next) continue;
        if (idx != next) {
            rc = st_error(err, err_len, STORAGE_ECORRUPT,
                          "%s: offset %" PRIu64 ": entry %" PRIu64 " where %" PRIu64 " belongs",
                          path, off + rec_at, idx, next);
            break;
        }
        uint32_t dlen = plen - WAL_ENTRY_FIXED_BYTES;
        if (n > 0 && bytes + dlen > max_bytes) break;
        out[n] = (struct wal_entry){idx, st_get64(pl + 8), pl[16], dlen, NULL};
        /* for now the data pointer holds the offset into rbuf */
        out[n].data = (const uint8_t *)(uintptr_t)(pl + WAL_ENTRY_FIXED_BYTES - w->rbuf);
        bytes += dlen;
        n++;
        next++;
        mark_off = off + pos;
    }
    if (!is_last) close(fd);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        out[i].data = out[i].len ? w->rbuf + (uintptr_t)out[i].data : NULL;
    w->cursor = (struct pos_mark){sg->seq, next, mark_off};
    *n_out = n;
    return 0;
}

uint64_t wal_last_index(const struct wal *w)
{
    return w->last_index;
}
uint64_t wal_last_term(const struct wal *w)
{
    return w->last_term;
}
uint64_t wal_synced_index(const struct wal *w)
{
    return w->synced_index;
}
bool wal_failed(const struct wal *w)
{
    return w->failed != 0;
}
const char *wal_last_error(const struct wal *w)
{
    return w->err;
}
const char *wal_dir(const struct wal *w)
{
    return w->dir;
}

void wal_stats(const struct wal *w, struct wal_stats *out)
{
    out->n_segments = w->n_segs;
    out->last_path = w->path;
    out->written_bytes = w->written_bytes;
    out->synced_bytes = w->synced_bytes;
    out->fsyncs = w->fsyncs + w->async_fsyncs;
    out->prealloc_end = w->prealloc_end;
    out->prealloc_segments = w->prealloc_segs;
    out->async_wakes = 0;
    if (w->as) {
        pthread_mutex_lock(&w->as->mu);
        out->async_wakes = w->as->wakes;
        pthread_mutex_unlock(&w->as->mu);
    }
}

/* ---- asynchronous group commit (the storage thread) ---- */

static void *async_run(void *arg)
{
    struct wal_async *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->stop && (a->req == a->done || a->err)) {
            pthread_cond_wait(&a->cv, &a->mu);
            a->wakes++;
        }
        if (a->stop) break;
        uint64_t now = mono_us();
        if (a->due_us > now) { /* only delayed requests (wal_async_request_within) wait */
            struct timespec ts = {(time_t)(a->due_us / 1000000),
                                  (long)(a->due_us % 1000000) * 1000};
            (void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            a->wakes++;
            continue; /* stop, a request due sooner, or the time came */
        }
        /* the newest request: one fdatasync covers every one made before it (group commit) */
        uint64_t t = a->req, seq = a->req_seq, bytes = a->req_bytes, index = a->req_index;
        a->due_us = UINT64_MAX; /* the next request sets when it is due */
        int old_fd = -1;
        if (a->thread_fd != a->fd) { /* a rollover: the loop's new dup; the old one is ours */
            old_fd = a->thread_fd;
            a->thread_fd = a->fd;
        }
        int fd = a->thread_fd;
        char path[sizeof a->path], err[sizeof a->errmsg];
        memcpy(path, a->path, sizeof path);
        pthread_mutex_unlock(&a->mu);
        if (old_fd >= 0) close(old_fd);
        uint64_t t0 = mono_us();
        int rc = st_fdatasync(&a->io, fd, path, err, sizeof err);
        uint64_t us = mono_us() - t0;
        pthread_mutex_lock(&a->mu);
        if (us > a->sync_us_max) a->sync_us_max = us;
        if (rc) {
            a->err = rc;
            memcpy(a->errmsg, err, sizeof err);
        } else {
            a->done = t;
            a->done_seq = seq, a->done_bytes = bytes, a->done_index = index;
            a->fsyncs++;
        }
        uint64_t one = 1;
        ssize_t wr = write(a->efd, &one, sizeof one); /* wakes the loop */
        (void)wr;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int wal_async_start(struct wal *w)
{
    SYN_ASSERT(!w->as);
    if (w->opt.fsync != WAL_FSYNC_ALWAYS)
        return st_error(w->err, sizeof w->err, STORAGE_EINVAL,
                        "WAL: async sync needs fsync always");
    struct wal_async *a = calloc(1, sizeof *a);
    if (!a) return st_error(w->err, sizeof w->err, STORAGE_ENOMEM, "WAL: out of memory");
    a->io = w->opt.io;
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    a->fd = dup(w->fd);
    a->thread_fd = -1;
    a->fd_seq = w->segs[w->n_segs - 1].seq;
    memcpy(a->path, w->path, sizeof a->path);
    a->due_us = UINT64_MAX;
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca; /* timed waits (delayed requests) on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (a->efd < 0 || a->fd < 0 || pthread_create(&a->thread, NULL, async_run, a) != 0) {
        int e = errno;
        if (a->efd >= 0) close(a->efd);
        if (a->fd >= 0) close(a->fd);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a);
        return st_error(w->err, sizeof w->err, STORAGE_EIO, "WAL: storage thread: %s", strerror(e));
    }
    w->as = a;
    return 0;
}

int wal_async_fd(const struct wal *w)
{
    return w->as ? w->as->efd : -1;
}

static void async_stop(struct wal *w)
{
    struct wal_async *a = w->as;
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    w->fsyncs += a->fsyncs;
    w->async_fsyncs = 0;
    close(a->efd);
    close(a->fd);
    if (a->thread_fd >= 0 && a->thread_fd != a->fd) close(a->thread_fd);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
    w->as = NULL;
}

int wal_async_request(struct wal *w, uint64_t *ticket)
{
    return wal_async_request_within(w, 0, ticket);
}

int wal_async_request_within(struct wal *w, uint32_t within_us, uint64_t *ticket)
{
    struct wal_async *a = w->as;
    SYN_ASSERT(a != NULL);
    int rc = check_failed(w);
    if (!rc) rc = end_batch(w);
    if (!rc) rc = flush_buf(w);
    if (!rc) rc = maybe_rollover(w); /* syncs the full segment itself, then starts a new one */
    if (rc) return rc;
    uint64_t seq = w->segs[w->n_segs - 1].seq;
    int nfd = -1;
    if (seq != a->fd_seq) {
        nfd = dup(w->fd);
        if (nfd < 0) {
            int e = errno;
            st_error(w->err, sizeof w->err, st_errno_code(e), "dup %s: %s", w->path, strerror(e));
            return wal_fail(w, st_errno_code(e));
        }
    }
    pthread_mutex_lock(&a->mu);
    if (nfd >= 0) {
        /* the thread closes the fd it syncs when it takes this one; one it never took is ours */
        if (a->fd != a->thread_fd) close(a->fd);
        a->fd = nfd;
        a->fd_seq = seq;
        memcpy(a->path, w->path, sizeof a->path);
    }
    *ticket = ++a->req;
    uint64_t due = within_us ? mono_us() + within_us : 0;
    /* The thread needs waking only when this request is due sooner than what it waits for
     * (idle: UINT64_MAX); a request due later joins the sync already due, or the one the
     * thread starts after its current fdatasync (it looks at req again before it sleeps).
     * Waking it for each delayed request cost a follower that syncs later two context
     * switches per append. */
    bool wake = due < a->due_us;
    if (wake) a->due_us = due;
    a->req_seq = seq;
    a->req_bytes = w->written_bytes;
    a->req_index = w->written_index;
    if (wake) pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int wal_async_poll(struct wal *w, uint64_t *done)
{
    struct wal_async *a = w->as;
    SYN_ASSERT(a != NULL);
    uint64_t v;
    ssize_t rd = read(a->efd, &v, sizeof v); /* EAGAIN: nothing new, fine */
    (void)rd;
    pthread_mutex_lock(&a->mu);
    uint64_t t = a->done, seq = a->done_seq, bytes = a->done_bytes, index = a->done_index;
    int err = a->err;
    w->async_fsyncs = a->fsyncs;
    if (a->sync_us_max > w->sync_us_max) w->sync_us_max = a->sync_us_max;
    a->sync_us_max = 0;
    if (err)
        memcpy(w->err, a->errmsg,
               sizeof w->err < sizeof a->errmsg ? sizeof w->err : sizeof a->errmsg);
    pthread_mutex_unlock(&a->mu);
    *done = t;
    if (err) return w->failed ? STORAGE_EFAILED : wal_fail(w, err);
    /* Covered by that fdatasync: the bytes of that segment written before it began (a
     * truncation or rollover since then started a new segment, already synced itself). */
    if (!w->failed && seq == w->segs[w->n_segs - 1].seq) {
        if (bytes > w->synced_bytes && bytes <= w->written_bytes) w->synced_bytes = bytes;
        if (index > w->synced_index && index <= w->last_index) w->synced_index = index;
        w->last_fsync_ms = now_ms(w);
    }
    return 0;
}

static void wal_free(struct wal *w)
{
    async_stop(w);
    int expect = BGRM_ZF_MAKING; /* a job still making the spare stops and removes it */
    __atomic_compare_exchange_n(&w->spare_state, &expect, BGRM_ZF_CANCEL, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    bgrm_stop(w->bgrm);
    if (spare_get(w) == BGRM_ZF_READY) (void)unlink(w->spare_path);
    if (w->fd >= 0) close(w->fd);
    if (w->lock_fd >= 0) close(w->lock_fd); /* releases the flock */
    free(w->buf);
    free(w->segs);
    free(w->runs);
    free(w->marks);
    free(w->rbuf);
    free(w->dir);
    free(w);
}

void wal_close(struct wal *w)
{
    if (!w) return;
    if (!w->failed && w->fd >= 0) {
        if (end_batch(w) == 0 && flush_buf(w) == 0) sync_now(w);
    }
    wal_free(w);
}

void wal_forget_in_child(struct wal *w)
{
    if (w->as) { /* no thread in the child: only its descriptors */
        close(w->as->fd);
        if (w->as->thread_fd >= 0 && w->as->thread_fd != w->as->fd) close(w->as->thread_fd);
        close(w->as->efd);
    }
    if (w->fd >= 0) close(w->fd);
    if (w->lock_fd >= 0) close(w->lock_fd);
    w->fd = w->lock_fd = -1;
}

void wal_crash(struct wal *w)
{
    if (w) wal_free(w);
}

void wal_recovered_deinit(struct wal_recovered *r)
{
    for (size_t i = 0; i < r->n_entries; i++)
        free((void *)r->entries[i].data);
    free(r->entries);
    snap_deinit(&r->snapshot);
    memset(r, 0, sizeof *r);
}

/* ---- opening and recovery ---- */

/* flock on dir/LOCK, held for the life of w; the file holds the owner's pid for the message. */
static int lock_dir(struct wal *w, char *err, size_t err_len)
{
    char path[WAL_PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", w->dir);
    bool created = true;
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->lock_fd < 0 && errno == EEXIST) {
        created = false;
        w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
    if (w->lock_fd < 0)
        return st_error(err, err_len, STORAGE_EIO, "open %s: %s", path, strerror(errno));
    /* A new name is durable once its directory is synced. */
    if (created) {
        int rc = st_fsync_dir(&w->opt.io, w->dir, err, err_len);
        if (rc) return rc;
    }
    /* The owner recorded in LOCK may be dead while its lock lives on for a moment: a background
     * snapshot child inherits the descriptor and closes it first thing, but a starved child
     * (nice 19 on a busy machine) may not have run yet. Wait up to 5 s for it then. */
    for (int tries = 0; flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0; tries++) {
        int e = errno;
        char pid[32] = "?";
        ssize_t n = pread(w->lock_fd, pid, sizeof pid - 1, 0);
        if (n > 0) pid[n] = 0;
        pid[strcspn(pid, "\n")] = 0;
        long owner = strtol(pid, NULL, 10);
        if (e == EWOULDBLOCK && owner > 0 && kill((pid_t)owner, 0) != 0 && errno == ESRCH &&
            tries < 100) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (e == EWOULDBLOCK)
            return st_error(err, err_len, STORAGE_ELOCKED,
                            "data directory %s is in use by another process (pid %s holds %s)",
                            w->dir, pid, path);
        return st_error(err, err_len, STORAGE_EIO, "flock %s: %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(w->lock_fd, 0) != 0 || pwrite(w->lock_fd, pid, (size_t)n, 0) != n)
        st_log(&w->opt.io, "could not write pid to %s: %s", path, strerror(errno));
    return 0;
}

static int cmp_seq(const void *a, const void *b)
{
    const struct wal_seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lists the segments (sorted by seq) and removes leftover .tmp files of interrupted writes. */
static int scan_dir(struct wal *w, char *err, size_t err_len)
{
    DIR *d = opendir(w->dir);
    if (!d) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", w->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct wal_seg s;
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0 &&
            (strncmp(de->d_name, "wal-", 4) == 0 || strncmp(de->d_name, "snap-", 5) == 0)) {
            char path[WAL_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", w->dir, de->d_name);
            st_log(&w->opt.io, "removing %s left by an interrupted write", path);
            if (unlink(path) != 0)
                rc = st_error(err, err_len, STORAGE_EIO, "unlink %s: %s", path, strerror(errno));
        } else if (parse_seg_name(de->d_name, &s.seq, &s.first_index)) {
            rc = segs_push(w, s);
            if (rc) st_error(err, err_len, rc, "%s", w->err);
        }
    }
    closedir(d);
    if (rc) return rc;
    if (w->n_segs) qsort(w->segs, w->n_segs, sizeof *w->segs, cmp_seq);
    for (size_t k = 1; k < w->n_segs; k++)
        if (w->segs[k].seq == w->segs[k - 1].seq)
            return st_error(err, err_len, STORAGE_ECORRUPT,
                            "%s: two WAL segments with sequence number %" PRIu64, w->dir,
                            w->segs[k].seq);
    return 0;
}

/* Cuts an unfinished batch or an unsynced torn tail off the last segment, durably. `why` is
 * what wal_recover_segment found. */
static int cut_torn_tail(struct wal *w, const char *path, size_t valid_end, const char *why,
                         char *err, size_t err_len)
{
    st_log(&w->opt.io, "%s", why);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", path, strerror(errno));
    int rc = 0;
    if (ftruncate(fd, (off_t)valid_end) != 0)
        rc = st_error(err, err_len, STORAGE_EIO, "truncate %s: %s", path, strerror(errno));
    if (!rc) rc = st_fsync(&w->opt.io, fd, path, err, err_len);
    close(fd);
    return rc;
}

/* What we replay must be durable before anyone acts on it: after a process crash the tail we
 * just read may still sit only in the page cache. */
static int sync_file(struct wal *w, const char *path, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", path, strerror(errno));
    int rc = st_fdatasync(&w->opt.io, fd, path, err, err_len);
    close(fd);
    return rc;
}

static int replay(struct wal *w, struct wal_recovery *rc_, uint64_t *last_len, char *err,
                  size_t err_len)
{
    char path[WAL_PATH_MAX];
    for (size_t k = 0; k < w->n_segs; k++) {
        bool is_last = k + 1 == w->n_segs;
        seg_path(w, &w->segs[k], path, sizeof path);
        uint8_t *buf;
        size_t len, end;
        int rc = st_read_file(path, WAL_SEGMENT_FILE_MAX, &buf, &len, err, err_len);
        if (rc) return rc;
        char msg[1024] = "";
        rc = wal_recover_segment(rc_, path, buf, len, is_last, w->segs[k].seq,
                                 w->segs[k].first_index, &end, msg, sizeof msg);
        free(buf);
        if (rc < 0) return st_error(err, err_len, rc, "%s", msg);
        rc = rc == 1 ? cut_torn_tail(w, path, end, msg, err, err_len)
                     : sync_file(w, path, err, err_len);
        if (rc) return rc;
        if (is_last) *last_len = end;
    }
    return 0;
}

static void apply_options(struct wal *w, const struct wal_options *opts)
{
    if (opts) w->opt = *opts;
    if (!w->opt.batch_interval_ms) w->opt.batch_interval_ms = 10;
    if (!w->opt.segment_max_bytes) w->opt.segment_max_bytes = 64ull << 20;
    if (!w->opt.buffer_max_bytes) w->opt.buffer_max_bytes = 1u << 20;
    if (w->opt.buffer_max_bytes < 256) w->opt.buffer_max_bytes = 256; /* a hard state fits */
    if (!w->opt.now_ms) w->opt.now_ms = default_now_ms;
}

/* Opens the existing last segment for appends at its (recovered) end. */
static int open_last(struct wal *w, uint64_t len, char *err, size_t err_len)
{
    seg_path(w, &w->segs[w->n_segs - 1], w->path, sizeof w->path);
    w->fd = open(w->path, O_RDWR | O_CLOEXEC);
    if (w->fd < 0)
        return st_error(err, err_len, STORAGE_EIO, "open %s: %s", w->path, strerror(errno));
    w->written_bytes = w->synced_bytes = w->wb_from = len;
    struct stat st; /* recovery read zeros after `len` as unwritten space: appends go there */
    w->prealloc_end =
        fstat(w->fd, &st) == 0 && (uint64_t)st.st_size > len ? (uint64_t)st.st_size : 0;
    return 0;
}

static int recover(struct wal *w, struct wal_recovered *rec, char *err, size_t err_len)
{
    int rc = scan_dir(w, err, err_len);
    if (rc) return rc;
    char why[512];
    rc = snap_load_newest(w->dir, &w->opt.io, &rec->snapshot, why, sizeof why);
    if (rc && rc != STORAGE_ENOENT) return st_error(err, err_len, rc, "%s", why);
    rec->has_snapshot = rc == 0;
    uint64_t s_index = rec->snapshot.index, s_term = rec->snapshot.term;

    struct wal_recovery r;
    wal_recovery_init(&r, s_index, s_term);
    uint64_t last_len = 0;
    rc = replay(w, &r, &last_len, err, err_len);
    if (rc) {
        wal_recovery_deinit(&r);
        return rc;
    }
    bool reset = false;
    if (r.have_term_at_snap && r.term_at_snap != s_term) {
        st_log(&w->opt.io,
               "%s: log entry %" PRIu64 " has term %" PRIu64 ", the snapshot says %" PRIu64
               ": dropping the log after the snapshot (Raft §7)",
               w->dir, s_index, r.term_at_snap, s_term);
        reset = true;
    }
    if (r.last_index < s_index) reset = true; /* the log lags a snapshot installed from a peer */
    w->hs = r.hs;
    w->compact_index = s_index;
    w->base_term = s_term;
    if (reset || w->n_segs == 0) {
        uint32_t flags = s_index > 0 ? WAL_SEG_RESET : 0;
        w->last_index = s_index;
        w->last_term = s_term;
        rc = create_segment(w, s_index + 1, flags);
        if (rc) {
            wal_recovery_deinit(&r);
            return st_error(err, err_len, rc, "%s", w->err);
        }
        remove_segments(w, 0, w->n_segs - 1);
        wal_recovery_deinit(&r);
    } else {
        rc = open_last(w, last_len, err, err_len);
        for (size_t i = 0; !rc && i < r.n; i++)
            rc = runs_push(w, r.entries[i].index, r.entries[i].term);
        if (rc) {
            wal_recovery_deinit(&r);
            return rc == STORAGE_ENOMEM ? st_error(err, err_len, rc, "WAL: out of memory") : rc;
        }
        w->last_index = r.last_index;
        w->last_term = r.last_term ? r.last_term : s_term;
        for (size_t i = 0; i < r.n_marks; i++) /* where replayed entries sit, for reads */
            if (w->n_marks < w->cap_marks || grow_marks(w))
                w->marks[w->n_marks++] =
                    (struct pos_mark){r.marks[i].seq, r.marks[i].index, r.marks[i].off};
        marks_drop_missing(w);
        free(r.marks);
        rec->entries = r.entries; /* ownership moves to the caller */
        rec->n_entries = r.n;
        remove_covered(w, s_index);
    }
    rec->hard_state = w->hs;
    w->written_index = w->synced_index = w->last_index;
    w->last_fsync_ms = now_ms(w);
    return 0;
}

/* fsync of the directory that holds `dir`: a directory just created is forgotten by a power
 * loss (with every file in it, however synced) until its parent is synced. */
static int fsync_parent(const struct storage_io *io, const char *dir, char *err, size_t err_len)
{
    char parent[WAL_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = 0;
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = 0;
    else
        *slash = 0;
    return st_fsync_dir(io, parent, err, err_len);
}

int wal_open(const char *dir, const struct wal_options *opts, struct wal **out,
             struct wal_recovered *rec, char *err, size_t err_len)
{
    *out = NULL;
    memset(rec, 0, sizeof *rec);
    if (err && err_len) err[0] = 0;
    bool created = mkdir(dir, 0755) == 0;
    if (!created && errno != EEXIST)
        return st_error(err, err_len, STORAGE_EIO, "create data directory %s: %s", dir,
                        strerror(errno));
    struct wal *w = calloc(1, sizeof *w);
    if (!w) return st_error(err, err_len, STORAGE_ENOMEM, "WAL: out of memory");
    w->fd = w->lock_fd = -1;
    apply_options(w, opts);
    w->dir = strdup(dir);
    w->buf = malloc(w->opt.buffer_max_bytes);
    int rc = (!w->dir || !w->buf) ? st_error(err, err_len, STORAGE_ENOMEM, "WAL: out of memory")
             : created            ? fsync_parent(&w->opt.io, dir, err, err_len)
                                  : 0;
    if (!rc) rc = lock_dir(w, err, err_len);
    if (!rc) rc = recover(w, rec, err, err_len);
    if (!rc && w->opt.async_remove) w->bgrm = bgrm_start(); /* NULL: unlink inline */
    if (w->dir) snprintf(w->spare_path, sizeof w->spare_path, "%s/wal-spare.tmp", w->dir);
    if (rc) {
        wal_recovered_deinit(rec);
        wal_free(w);
        return rc;
    }
    w->err[0] = 0;
    *out = w;
    return 0;
}

uint64_t wal_take_sync_us_max(struct wal *w)
{
    uint64_t us = w->sync_us_max;
    w->sync_us_max = 0;
    return us;
}
