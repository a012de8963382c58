/* test_storage_snap.c — snapshot files (round trip, atomicity, damage, durability of the newest,
 * serving them whole), injected disk errors (ENOSPC, EIO, EDQUOT), the storage thread's
 * fdatasync and its answers, and the sync calls that reach the kernel. This binary alone
 * interposes libc's pwrite, fsync and fdatasync (a definition in the executable wins for
 * libsynod.a's calls too): keep every test that needs them here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/syscall.h>

#include "test_storage_helpers.h"

/* ---- snapshots ---- */

static void snapshot_round_trip_and_stream(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct snap s;
    assert_int_equal(snap_load_newest(f->dir, NULL, &s, err, sizeof err), STORAGE_ENOENT);
    struct snap_writer *sw;
    assert_int_equal(snap_writer_begin(f->dir, 42, 7, "abc", 3, NULL, &sw, err, sizeof err), 0);
    uint8_t chunk[1000];
    for (int c = 0; c < 5; c++) {
        memset(chunk, 'a' + c, sizeof chunk);
        assert_int_equal(snap_writer_append(sw, chunk, sizeof chunk, err, sizeof err), 0);
    }
    assert_int_equal(count_files(f->dir, "snap-"), 1); /* only the .tmp so far */
    assert_int_equal(snap_load_newest(f->dir, NULL, &s, err, sizeof err), STORAGE_ENOENT);
    assert_int_equal(snap_writer_finish(sw, err, sizeof err), 0);
    assert_int_equal(snap_load_newest(f->dir, NULL, &s, err, sizeof err), 0);
    assert_int_equal(s.index, 42);
    assert_int_equal(s.term, 7);
    assert_int_equal(s.conf_len, 3);
    assert_memory_equal(s.conf, "abc", 3);
    assert_int_equal(s.data_len, 5000);
    assert_int_equal(s.data[0], 'a');
    assert_int_equal(s.data[4999], 'e');
    snap_deinit(&s);

    assert_int_equal(snap_writer_begin(f->dir, 50, 7, NULL, 0, NULL, &sw, err, sizeof err), 0);
    snap_writer_abort(sw);
    assert_int_equal(count_files(f->dir, "snap-"), 1);
}

static void snapshot_atomicity(void **state)
{
    struct fx *f = *state;
    char err[256], path10[600], tmp[700];
    save_snapshot(f->dir, 10, 1);
    nth_file(f->dir, "snap-", 0, path10, sizeof path10);
    size_t len10;
    uint8_t *b10 = read_all(path10, &len10);
    /* A crash while writing a newer snapshot leaves a partial .tmp: ignored and removed. */
    snprintf(tmp, sizeof tmp, "%s/snap-0000000000000002-0000000000000014.snap.tmp", f->dir);
    write_all(tmp, (const uint8_t *)"SYNODSNP partial", 16);
    struct wal_options o = opts_default();
    struct wal_recovered r;
    log_text[0] = 0;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_true(r.has_snapshot);
    assert_int_equal(r.snapshot.index, 10);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_non_null(strstr(log_text, "interrupted write"));
    wal_close(w);
    wal_recovered_deinit(&r);

    /* A newer snapshot that fails its checksum: the older one (still there) is used. */
    save_snapshot(f->dir, 20, 2);
    assert_int_equal(access(path10, F_OK), -1); /* removed once the newer was durable */
    write_all(path10, b10, len10);
    char path20[600];
    nth_file(f->dir, "snap-", 1, path20, sizeof path20);
    size_t len20;
    uint8_t *b20 = read_all(path20, &len20);
    b20[len20 / 2] ^= 1;
    write_all(path20, b20, len20);
    struct snap s;
    log_text[0] = 0;
    struct storage_io io = {.log = capture_log};
    assert_int_equal(snap_load_newest(f->dir, &io, &s, err, sizeof err), 0);
    assert_int_equal(s.index, 10);
    assert_non_null(strstr(log_text, "skipping snapshot"));
    assert_non_null(strstr(log_text, path20));
    snap_deinit(&s);
    /* A truncated snapshot is rejected by snap_decode without reading out of bounds. */
    for (size_t cut = 0; cut < len10; cut += 5) {
        assert_int_equal(snap_decode(b10, cut, "x", &s, err, sizeof err), STORAGE_ECORRUPT);
    }
    assert_int_equal(snap_decode(b10, len10, "x", &s, err, sizeof err), 0);
    snap_deinit(&s);
    free(b10);
    free(b20);
}

/* A flipped bit anywhere in the newest snapshot file (header, membership, dataset, trailer)
 * makes loading skip it for the older valid one: a snapshot is never restored with a byte the
 * writer did not write. */
static void snapshot_any_flipped_byte_is_skipped(void **state)
{
    struct fx *f = *state;
    char err[256], path20[600];
    save_snapshot(f->dir, 10, 1);
    char path10[600];
    nth_file(f->dir, "snap-", 0, path10, sizeof path10);
    size_t len10;
    uint8_t *b10 = read_all(path10, &len10);
    save_snapshot(f->dir, 20, 2);
    write_all(path10, b10, len10); /* kept aside: the newer one removed it */
    nth_file(f->dir, "snap-", 1, path20, sizeof path20);
    size_t len20;
    uint8_t *b20 = read_all(path20, &len20);
    for (size_t p = 0; p < len20; p++) {
        b20[p] ^= 0x04;
        write_all(path20, b20, len20);
        b20[p] ^= 0x04;
        struct snap s;
        int rc = snap_load_newest(f->dir, NULL, &s, err, sizeof err);
        if (rc != 0 || s.index != 10)
            fail_msg("byte %zu of %zu flipped: loaded %d index %" PRIu64, p, len20, rc, s.index);
        assert_memory_equal(s.data, "dataset through 10", s.data_len);
        snap_deinit(&s);
    }
    free(b10);
    free(b20);
}

/* The file name decides which snapshot is newest, so a file whose header disagrees with its
 * name (a copy or rename gone wrong) is skipped, not restored in place of a newer one. */
static void snapshot_named_unlike_its_header_is_skipped(void **state)
{
    struct fx *f = *state;
    char err[256], path10[600], fake[700];
    save_snapshot(f->dir, 10, 1);
    nth_file(f->dir, "snap-", 0, path10, sizeof path10);
    size_t len;
    uint8_t *b = read_all(path10, &len);
    save_snapshot(f->dir, 20, 2);
    snprintf(fake, sizeof fake, "%s/snap-%016x-%016x.snap", f->dir, 2, 30);
    write_all(fake, b, len); /* the snapshot at 10 under the name of one at 30 */
    free(b);
    struct snap s;
    log_text[0] = 0;
    struct storage_io io = {.log = capture_log};
    assert_int_equal(snap_load_newest(f->dir, &io, &s, err, sizeof err), 0);
    assert_int_equal(s.index, 20);
    assert_int_equal(s.term, 2);
    assert_non_null(strstr(log_text, "differ from the file name"));
    snap_deinit(&s);
}

/* snap_save removes older snapshots only once the new one's name is durable: if the fsync of
 * the directory after the rename fails, a power loss may undo the rename, and the older
 * snapshot must still be there. */
static const char *fail_dir_fsync_of;
static int fail_dir_fsync(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    return op == STORAGE_OP_FSYNC && strcmp(path, fail_dir_fsync_of) == 0 ? EIO : 0;
}

static void snapshot_older_kept_until_newer_is_durable(void **state)
{
    struct fx *f = *state;
    char err[256], path10[600];
    save_snapshot(f->dir, 10, 1);
    nth_file(f->dir, "snap-", 0, path10, sizeof path10);
    fail_dir_fsync_of = f->dir;
    struct storage_io io = {.log = capture_log, .fault = fail_dir_fsync};
    char conf[] = "c", data[] = "d";
    struct snap s = {.index = 20,
                     .term = 2,
                     .conf = (uint8_t *)conf,
                     .conf_len = 1,
                     .data = (uint8_t *)data,
                     .data_len = 1};
    assert_int_equal(snap_save(f->dir, &s, &io, err, sizeof err), STORAGE_EIO);
    assert_non_null(strstr(err, f->dir));
    assert_int_equal(access(path10, F_OK), 0);
    /* and a snapshot never removes a newer one (a late writer of an older index) */
    save_snapshot(f->dir, 30, 3);
    save_snapshot(f->dir, 25, 3);
    struct snap got;
    assert_int_equal(snap_load_newest(f->dir, NULL, &got, err, sizeof err), 0);
    assert_int_equal(got.index, 30);
    snap_deinit(&got);
}

/* Serving a snapshot to followers (snap_open_data) checks the file's shape: a file cut short or
 * grown is refused, not streamed to a follower as if whole. */
static void snapshot_served_only_when_whole(void **state)
{
    struct fx *f = *state;
    char err[256], path[600];
    save_snapshot(f->dir, 10, 1);
    nth_file(f->dir, "snap-", 0, path, sizeof path);
    size_t len;
    uint8_t *b = read_all(path, &len);
    int fd = -1;
    uint64_t off = 0, dlen = 0;
    assert_int_equal(snap_open_data(f->dir, 10, 1, &fd, &off, &dlen, err, sizeof err), 0);
    assert_int_equal(dlen, strlen("dataset through 10"));
    char got[64] = "";
    assert_int_equal(pread(fd, got, dlen, (off_t)off), (ssize_t)dlen);
    assert_memory_equal(got, "dataset through 10", dlen);
    close(fd);
    for (int k = 0; k < 2; k++) {
        uint8_t *c = calloc(1, len + 1);
        if (k == 0) { /* cut: a byte of the dataset missing */
            memcpy(c, b, len - 13);
            memcpy(c + len - 13, b + len - 12, 12);
            write_all(path, c, len - 1);
        } else { /* a byte too many */
            memcpy(c, b, len - 12);
            memcpy(c + len - 11, b + len - 12, 12);
            write_all(path, c, len + 1);
        }
        free(c);
        fd = -1;
        assert_int_equal(snap_open_data(f->dir, 10, 1, &fd, &off, &dlen, err, sizeof err),
                         STORAGE_ECORRUPT);
        assert_int_equal(fd, -1);
        assert_non_null(strstr(err, "sizes"));
    }
    free(b);
}

/* ---- injected faults ---- */

struct faults {
    int write_errno; /* errno for the next writes, 0 = none */
    int fsync_errno;
    int calls;
    const char *only; /* fail only paths containing this (NULL: all) */
};

static int fault_hook(void *ctx, enum storage_op op, const char *path)
{
    struct faults *ft = ctx;
    ft->calls++;
    if (ft->only && !strstr(path, ft->only)) return 0;
    if (op == STORAGE_OP_WRITE) return ft->write_errno;
    return ft->fsync_errno;
}

static void expect_failed_state(struct wal *w, int first_rc, const char *why)
{
    assert_true(wal_failed(w));
    assert_non_null(strstr(wal_last_error(w), why));
    uint8_t d = 1;
    struct wal_entry e = {.index = wal_last_index(w) + 1, .term = 9, .len = 1, .data = &d};
    struct wal_hard_state hs = {.term = 99};
    assert_int_equal(wal_append(w, &e, 1), STORAGE_EFAILED);
    assert_int_equal(wal_save_hard_state(w, &hs), STORAGE_EFAILED);
    assert_int_equal(wal_sync(w), STORAGE_EFAILED);
    assert_int_equal(wal_compact(w, 1, 1), STORAGE_EFAILED);
    assert_int_equal(wal_truncate_suffix(w, 1), STORAGE_EFAILED);
    assert_int_equal(wal_sync_due_in_ms(w), -1);
    (void)first_rc;
}

static void injected_enospc_and_eio(void **state)
{
    struct fx *f = *state;
    struct faults ft = {0};
    struct wal_options o = opts_default();
    o.io.fault = fault_hook;
    o.io.fault_ctx = &ft;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 5, 1);
    assert_int_equal(wal_sync(w), 0);
    assert_true(ft.calls > 0);

    ft.write_errno = ENOSPC;
    append_range(w, 6, 7, 1); /* buffered: fine until written */
    assert_int_equal(wal_sync(w), STORAGE_ENOSPC);
    ft.write_errno = 0; /* space freed: the WAL stays failed (it never pretends) */
    expect_failed_state(w, STORAGE_ENOSPC, "No space left");
    assert_int_equal(wal_synced_index(w), 5);
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 5);
    append_range(w, 6, 8, 1);
    ft.fsync_errno = EIO;
    assert_int_equal(wal_sync(w), STORAGE_EIO);
    ft.fsync_errno = 0;
    expect_failed_state(w, STORAGE_EIO, "Input/output error");
    assert_int_equal(wal_synced_index(w), 5);
    wal_crash(w);
    wal_recovered_deinit(&r);

    /* Failing while rolling over to a new segment (at a wal_sync: batches stay whole). */
    o.segment_max_bytes = 300;
    w = open_ok(f->dir, &o, &r);
    uint64_t last = wal_last_index(w);
    ft.only = ".tmp";
    ft.fsync_errno = ENOSPC;
    int rc = 0;
    for (uint64_t i = last + 1; i < last + 40 && rc == 0; i++) {
        uint8_t d[40] = {0};
        struct wal_entry e = {.index = i, .term = 1, .len = sizeof d, .data = d};
        rc = wal_append(w, &e, 1);
        if (!rc) rc = wal_sync(w);
    }
    assert_int_equal(rc, STORAGE_ENOSPC);
    assert_non_null(strstr(wal_last_error(w), ".tmp"));
    ft.fsync_errno = 0;
    ft.only = NULL;
    expect_failed_state(w, STORAGE_ENOSPC, "No space");
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_true(r.n_entries >= 5);
    wal_close(w);
    wal_recovered_deinit(&r);

    /* A snapshot that cannot be written leaves the previous one and no .tmp. */
    save_snapshot(f->dir, 3, 1);
    struct snap s = {.index = 4, .term = 1, .data = (uint8_t *)"x", .data_len = 1};
    struct storage_io io = {.fault = fault_hook, .fault_ctx = &ft, .log = capture_log};
    char err[256];
    ft.fsync_errno = EIO;
    assert_int_equal(snap_save(f->dir, &s, &io, err, sizeof err), STORAGE_EIO);
    ft.fsync_errno = 0;
    ft.write_errno = ENOSPC;
    assert_int_equal(snap_save(f->dir, &s, &io, err, sizeof err), STORAGE_ENOSPC);
    ft.write_errno = 0;
    assert_int_equal(count_files(f->dir, "snap-"), 1);
    struct snap got;
    assert_int_equal(snap_load_newest(f->dir, NULL, &got, err, sizeof err), 0);
    assert_int_equal(got.index, 3);
    snap_deinit(&got);
}

/* A full disk quota is "no space" like a full disk: the error says so (an operator frees space;
 * EIO would send them looking for a failing device). */
static void quota_exceeded_is_no_space(void **state)
{
    struct fx *f = *state;
    struct faults ft = {0};
    struct wal_options o = opts_default();
    o.io.fault = fault_hook;
    o.io.fault_ctx = &ft;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 2, 1);
    ft.write_errno = EDQUOT;
    assert_int_equal(wal_sync(w), STORAGE_ENOSPC);
    expect_failed_state(w, STORAGE_ENOSPC, "quota");
    wal_crash(w);
    wal_recovered_deinit(&r);
}

/* ---- the storage thread ---- */

/* Waits (bounded) until the storage thread answered ticket t; returns wal_async_poll's code. */
static int async_wait(struct wal *w, uint64_t t, uint64_t *done)
{
    int rc = 0;
    *done = 0;
    for (int i = 0; i < 5000; i++) {
        struct pollfd p = {wal_async_fd(w), POLLIN, 0};
        (void)poll(&p, 1, 2);
        rc = wal_async_poll(w, done);
        if (rc || *done >= t) return rc;
    }
    return rc;
}

/* A disk whose fdatasync takes 5 ms (the fault hook runs just before it, inside the timing). */
static int slow_fsync(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx, (void)path;
    if (op == STORAGE_OP_FSYNC) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* wal_take_sync_us_max: the longest segment fdatasync since the last call, by wal_sync on the
 * caller's thread and by the storage thread (as of wal_async_poll); 0 after it was taken. */
static void sync_duration_reported(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = slow_fsync;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    (void)wal_take_sync_us_max(w); /* the open's own syncs */
    append_range(w, 1, 10, 1);
    assert_int_equal(wal_sync(w), 0);
    uint64_t us = wal_take_sync_us_max(w);
    assert_true(us >= 5000 && us < 5000000);
    assert_int_equal(wal_take_sync_us_max(w), 0);
    assert_int_equal(wal_sync(w), 0); /* nothing to sync: nothing timed */
    assert_int_equal(wal_take_sync_us_max(w), 0);
    assert_int_equal(wal_async_start(w), 0);
    uint64_t t = 0, done = 0;
    append_range(w, 11, 20, 1);
    assert_int_equal(wal_async_request(w, &t), 0);
    assert_int_equal(async_wait(w, t, &done), 0);
    us = wal_take_sync_us_max(w);
    assert_true(us >= 5000 && us < 5000000);
    assert_int_equal(wal_take_sync_us_max(w), 0);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* wal_async_request_within: the fdatasync waits for the earliest deadline of the tickets that
 * wait (more requests share it: one fsync), and a request due at once brings it forward. */
static void async_request_within(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_async_start(w), 0);
    uint64_t t1 = 0, t2 = 0, t3 = 0, done = 0;
    struct wal_stats st;
    wal_stats(w, &st);
    uint64_t fsyncs0 = st.fsyncs;
    /* 200 ms: nothing is synced before, both tickets after, by one fdatasync */
    uint64_t t0 = now_us();
    append_range(w, 1, 10, 1);
    assert_int_equal(wal_async_request_within(w, 200000, &t1), 0);
    append_range(w, 11, 20, 1);
    assert_int_equal(wal_async_request_within(w, 400000, &t2), 0);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    assert_int_equal(wal_async_poll(w, &done), 0);
    assert_true(done < t1); /* 50 ms in: still waiting */
    assert_int_equal(async_wait(w, t2, &done), 0);
    uint64_t took = now_us() - t0;
    assert_true(took >= 200000);
    assert_true(took < 390000); /* the earlier deadline, not the later one */
    assert_int_equal(wal_synced_index(w), 20);
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs - fsyncs0, 1);
    /* a 10 s wait, then a request due at once: both synced now */
    t0 = now_us();
    append_range(w, 21, 30, 1);
    assert_int_equal(wal_async_request_within(w, 10000000, &t1), 0);
    append_range(w, 31, 40, 1);
    assert_int_equal(wal_async_request(w, &t3), 0);
    assert_int_equal(async_wait(w, t3, &done), 0);
    assert_true(now_us() - t0 < 5000000);
    assert_int_equal(wal_synced_index(w), 40);
    /* requests due later than the one already waited for do not wake the thread: fifty
     * delayed requests, one after the other, cost it the wake-up of the first and its deadline
     * (waking it for each cost a follower that syncs later two context switches per append) */
    append_range(w, 41, 41, 1);
    assert_int_equal(wal_async_request_within(w, 100000, &t1), 0);
    wal_stats(w, &st);
    uint64_t wakes0 = st.async_wakes;
    for (uint64_t i = 42; i <= 91; i++) {
        append_range(w, i, i, 1);
        assert_int_equal(wal_async_request_within(w, 100000, &t2), 0);
        struct timespec gap = {0, 300000}; /* the thread is back in its wait */
        nanosleep(&gap, NULL);
    }
    assert_int_equal(async_wait(w, t2, &done), 0);
    assert_int_equal(wal_synced_index(w), 91);
    wal_stats(w, &st);
    assert_true(st.async_wakes - wakes0 <= 4);
    /* closing with a ticket waiting does not wait for its deadline */
    append_range(w, 92, 100, 1);
    assert_int_equal(wal_async_request_within(w, 10000000, &t1), 0);
    t0 = now_us();
    wal_close(w);
    assert_true(now_us() - t0 < 5000000);
    wal_recovered_deinit(&r);
}

/* Open descriptors of this process (the storage thread's segment dups must not leak). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int k = 0;
    while (readdir(d))
        k++;
    closedir(d);
    return k;
}

/* The storage thread: tickets are answered in order, one fdatasync may cover several, what it
 * covers is recorded (synced bytes / index) and survives a crash; a failed fdatasync on the
 * thread fails the WAL like a failed wal_sync (nothing claimed durable). Also mixed with the
 * synchronous calls (truncation) and a rollover. */
static void async_sync_thread(void **state)
{
    struct fx *f = *state;
    struct faults ft = {0};
    struct wal_options o = opts_default();
    o.io.fault = fault_hook;
    o.io.fault_ctx = &ft;
    o.segment_max_bytes = 4096;
    struct wal_recovered r;
    int fds_before = count_fds();
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_async_start(w), 0);
    assert_true(wal_async_fd(w) >= 0);
    uint64_t t1 = 0, t2 = 0, t3 = 0, done = 0;
    append_range(w, 1, 10, 1);
    assert_int_equal(wal_async_request(w, &t1), 0);
    append_range(w, 11, 20, 1);
    struct wal_hard_state hs = {.term = 2, .vote = 1, .commit = 10};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_async_request(w, &t2), 0);
    assert_int_equal(t2, t1 + 1);
    assert_int_equal(async_wait(w, t2, &done), 0);
    assert_true(done >= t2);
    assert_int_equal(wal_synced_index(w), 20);
    struct wal_stats st;
    wal_stats(w, &st);
    assert_int_equal(st.synced_bytes, st.written_bytes);
    /* many segments' worth through the thread (rollover syncs the full one itself) */
    for (uint64_t i = 21; i <= 400; i += 20) {
        append_range(w, i, i + 19, 2);
        assert_int_equal(wal_async_request(w, &t3), 0);
    }
    assert_int_equal(async_wait(w, t3, &done), 0);
    assert_int_equal(wal_synced_index(w), 400);
    wal_stats(w, &st);
    assert_true(st.n_segments > 1);
    /* a synchronous truncation in between, then more through the thread */
    assert_int_equal(wal_truncate_suffix(w, 391), 0);
    append_range(w, 391, 405, 3);
    assert_int_equal(wal_async_request(w, &t3), 0);
    assert_int_equal(async_wait(w, t3, &done), 0);
    assert_int_equal(wal_synced_index(w), 405);
    wal_crash(w); /* everything answered is on disk */
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_last_index(w), 405);
    assert_int_equal(r.hard_state.term, 2);
    assert_int_equal(wal_async_start(w), 0);
    /* the thread's fdatasync fails: the WAL is failed, the ticket is not answered */
    append_range(w, 406, 410, 3);
    ft.fsync_errno = EIO;
    assert_int_equal(wal_async_request(w, &t1), 0);
    assert_int_equal(async_wait(w, t1, &done), STORAGE_EIO);
    assert_true(done < t1);
    ft.fsync_errno = 0;
    expect_failed_state(w, STORAGE_EIO, "Input/output error");
    assert_int_equal(wal_synced_index(w), 405);
    assert_int_equal(wal_async_request(w, &t2), STORAGE_EFAILED);
    wal_close(w);
    wal_recovered_deinit(&r);
    /* every segment's dup handed to the thread (rollovers, truncation) was closed */
    assert_int_equal(count_fds(), fds_before);
}

/* An answer of the storage thread for a segment that a truncation has since replaced covers
 * nothing of the new segment (which synced its own base): the new segment's entries stay
 * unsynced until a sync of their own, however far the old answer reached. */
static void async_answer_for_a_replaced_segment(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_async_start(w), 0);
    uint64_t t1 = 0, t2 = 0, done = 0;
    append_range(w, 1, 10, 1);
    assert_int_equal(wal_async_request(w, &t1), 0);
    struct pollfd p = {wal_async_fd(w), POLLIN, 0};
    assert_int_equal(poll(&p, 1, 10000), 1); /* t1's sync returned; not yet polled */
    assert_int_equal(wal_truncate_suffix(w, 6), 0);
    append_range(w, 6, 20, 2); /* the new segment grows past where t1's segment was synced */
    assert_int_equal(wal_async_request_within(w, 10000000, &t2), 0);
    assert_int_equal(wal_async_poll(w, &done), 0);
    assert_int_equal(done, t1);
    struct wal_stats st;
    wal_stats(w, &st);
    assert_int_equal(st.synced_bytes, SEG_HEAD_BYTES);
    assert_true(st.written_bytes > 800);
    assert_int_equal(wal_synced_index(w), 5);
    uint64_t t3 = 0; /* due at once: brings t2's sync forward */
    assert_int_equal(wal_async_request(w, &t3), 0);
    assert_int_equal(async_wait(w, t3, &done), 0);
    assert_int_equal(wal_synced_index(w), 20);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* The storage thread's fdatasync covers what was written before it began. A batch written
 * after that (waiting for its own, later sync) stays unsynced: the next batch end must not
 * claim it, so that a torn write there is cut at restart (it was never acknowledged), not
 * taken for lost acknowledged data (the node would refuse to start). */
static void async_sync_covers_only_what_came_before(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_async_start(w), 0);
    uint64_t t1 = 0, t2 = 0, t3 = 0, done = 0;
    append_range(w, 1, 4, 1);
    assert_int_equal(wal_async_request(w, &t1), 0);
    struct wal_stats st;
    wal_stats(w, &st);
    uint64_t synced_a = st.written_bytes; /* what t1's fdatasync covers */
    struct pollfd p = {wal_async_fd(w), POLLIN, 0};
    assert_int_equal(poll(&p, 1, 10000), 1); /* t1's sync returned; not yet polled */
    append_range(w, 5, 8, 1);
    assert_int_equal(wal_async_request_within(w, 10000000, &t2), 0); /* written, sync in 10 s */
    assert_int_equal(wal_async_poll(w, &done), 0);
    assert_int_equal(done, t1);
    wal_stats(w, &st);
    assert_int_equal(st.synced_bytes, synced_a);
    assert_int_equal(wal_synced_index(w), 4);
    append_range(w, 9, 9, 1);
    assert_int_equal(wal_async_request_within(w, 10000000, &t3), 0); /* its batch end: synced_a */
    wal_crash(w);                                                    /* before t2's sync */
    wal_recovered_deinit(&r);
    char seg[512];
    nth_file(f->dir, "wal-", 0, seg, sizeof seg);
    size_t len;
    uint8_t *b = read_all(seg, &len);
    b[synced_a + entry_rec_bytes(5) + 20] ^= 1; /* inside entry 6: never synced */
    write_all(seg, b, len);
    free(b);
    log_text[0] = 0;
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 4);
    assert_non_null(strstr(log_text, "torn record"));
    assert_int_equal(file_size(seg), (off_t)synced_a);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* ---- syncs that reach the kernel (interposed) ---- */

/* Interposed over libc's (a definition in the executable wins for libsynod.a's calls too):
 * counts the sync calls that really reach the kernel, which the fault hook cannot tell (it is
 * called before them, whether or not they follow). */
static int real_fdatasyncs, real_fsyncs;
int fdatasync(int fd)
{
    __atomic_add_fetch(&real_fdatasyncs, 1, __ATOMIC_RELAXED);
    return (int)syscall(SYS_fdatasync, fd);
}
int fsync(int fd)
{
    __atomic_add_fetch(&real_fsyncs, 1, __ATOMIC_RELAXED);
    return (int)syscall(SYS_fsync, fd);
}

/* While zero_writes is set, pwrite writes nothing and says so (returns 0), as on a device that
 * is full; while short_writes is, it writes at most 7 bytes per call (a short write, as a
 * signal or a nearly full device may cause). */
static int zero_writes, short_writes;
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (zero_writes > 0) {
        zero_writes--;
        return 0;
    }
    if (short_writes && n > 7) n = 7;
    return (ssize_t)syscall(SYS_pwrite64, fd, buf, n, off);
}

/* Short writes are carried on where they stopped: every byte lands at its own offset, and
 * the log reads back whole after a reopen. */
static void short_writes_are_completed(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    short_writes = 1;
    append_range(w, 1, 40, 1);
    struct wal_hard_state hs = {.term = 1, .vote = 3, .commit = 40};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    int rc = wal_sync(w);
    short_writes = 0;
    assert_int_equal(rc, 0);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 40);
    for (size_t i = 0; i < r.n_entries; i++)
        check_entry(&r.entries[i], i + 1, 1);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* A write that makes no progress is a full device (io.c), not a reason to try again forever
 * nor to carry on as if written: the WAL fails with "no space" and says where. */
static void zero_byte_write_is_no_space(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 2, 1);
    zero_writes = 1;
    assert_int_equal(wal_sync(w), STORAGE_ENOSPC);
    zero_writes = 0;
    expect_failed_state(w, STORAGE_ENOSPC, "write");
    assert_int_equal(wal_synced_index(w), 0);
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 0);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* Group commit and snapshots call the kernel, not only the hook: one fdatasync per wal_sync
 * with something new (fsync always), none without; a snapshot fsyncs its file and the
 * directory; the storage thread's sync is a real fdatasync too. */
static void syncs_reach_the_kernel(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    int d0 = __atomic_load_n(&real_fdatasyncs, __ATOMIC_RELAXED);
    append_range(w, 1, 3, 1);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(__atomic_load_n(&real_fdatasyncs, __ATOMIC_RELAXED), d0 + 1);
    assert_int_equal(wal_sync(w), 0); /* nothing new */
    assert_int_equal(__atomic_load_n(&real_fdatasyncs, __ATOMIC_RELAXED), d0 + 1);
    int s0 = __atomic_load_n(&real_fsyncs, __ATOMIC_RELAXED);
    save_snapshot(f->dir, 3, 1);
    assert_int_equal(__atomic_load_n(&real_fsyncs, __ATOMIC_RELAXED), s0 + 2);
    assert_int_equal(wal_async_start(w), 0);
    uint64_t t = 0, done = 0;
    append_range(w, 4, 4, 1);
    assert_int_equal(wal_async_request(w, &t), 0);
    assert_int_equal(async_wait(w, t, &done), 0);
    assert_int_equal(__atomic_load_n(&real_fdatasyncs, __ATOMIC_RELAXED), d0 + 2);
    wal_close(w);
    wal_recovered_deinit(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sync_duration_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(async_request_within, setup, teardown),
        cmocka_unit_test_setup_teardown(async_sync_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_round_trip_and_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(injected_enospc_and_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_any_flipped_byte_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_named_unlike_its_header_is_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(snapshot_older_kept_until_newer_is_durable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(snapshot_served_only_when_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(async_sync_covers_only_what_came_before, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_exceeded_is_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(syncs_reach_the_kernel, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_byte_write_is_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(short_writes_are_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(async_answer_for_a_replaced_segment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
