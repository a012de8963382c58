/* test_storage.c — the WAL's everyday work: round trips, group commit and fsync policies,
 * truncation, rollover, zero-filled spare segments, compaction, a snapshot ahead of or against
 * the log at open, bounded reads, deletion order. Damage and torn tails are in
 * test_storage_damage.c, power loss in test_storage_power.c, snapshots, I/O faults and the
 * storage thread in test_storage_snap.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/inotify.h>

#include "test_storage_helpers.h"

/* ---- round trips ---- */

static void round_trip(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 0);
    assert_false(r.has_snapshot);
    assert_int_equal(wal_last_index(w), 0);
    append_range(w, 1, 50, 1);
    struct wal_hard_state hs = {.term = 3, .vote = 2, .commit = 40};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    append_range(w, 51, 100, 3);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_synced_index(w), 100);
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 100);
    for (uint64_t i = 1; i <= 100; i++)
        check_entry(&r.entries[i - 1], i, i <= 50 ? 1 : 3);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs);
    assert_int_equal(wal_last_index(w), 100);
    assert_int_equal(wal_last_term(w), 3);
    append_range(w, 101, 110, 4);
    wal_close(w); /* a clean close syncs */
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 110);
    check_entry(&r.entries[109], 110, 4);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void crash_drops_only_unsynced(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 10, 1);
    assert_int_equal(wal_sync(w), 0);
    append_range(w, 11, 15, 1);
    struct wal_hard_state hs = {.term = 9, .vote = 1, .commit = 3};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 10);
    assert_int_equal(r.hard_state.term, 0);
    assert_int_equal(wal_last_index(w), 10);
    append_range(w, 11, 12, 2);
    wal_crash(w); /* nothing synced, nothing written */
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 10);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void group_commit_one_fsync(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    struct wal_stats st;
    wal_stats(w, &st);
    uint64_t before = st.fsyncs;
    append_range(w, 1, 16, 1);
    struct wal_hard_state hs = {.term = 1, .vote = 1, .commit = 5};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    append_range(w, 17, 40, 1);
    assert_int_equal(wal_sync_due_in_ms(w), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs, before + 1);
    assert_int_equal(st.synced_bytes, st.written_bytes);
    assert_int_equal(wal_sync_due_in_ms(w), -1);
    assert_int_equal(wal_sync(w), 0); /* nothing new: no fsync */
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs, before + 1);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void fsync_policies(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.fsync = WAL_FSYNC_BATCH;
    o.batch_interval_ms = 100;
    o.now_ms = fake_clock;
    fake_now = 1000;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    struct wal_stats st;
    append_range(w, 1, 5, 1);
    assert_int_equal(wal_sync_due_in_ms(w), 0); /* buffered: write now */
    assert_int_equal(wal_sync(w), 0);
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs, 0);
    assert_int_equal(wal_synced_index(w), 0);
    assert_true(st.written_bytes > st.synced_bytes);
    fake_now = 1040;
    assert_int_equal(wal_sync_due_in_ms(w), 60);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_synced_index(w), 0);
    fake_now = 1100;
    assert_int_equal(wal_sync_due_in_ms(w), 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_synced_index(w), 5);
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs, 1);
    assert_int_equal(wal_sync_due_in_ms(w), -1);
    wal_close(w);
    wal_recovered_deinit(&r);

    o.fsync = WAL_FSYNC_NEVER;
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 5);
    append_range(w, 6, 9, 1);
    assert_int_equal(wal_sync_due_in_ms(w), 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_sync_due_in_ms(w), -1);
    wal_stats(w, &st);
    assert_int_equal(st.fsyncs, 0);
    wal_crash(w); /* written to the kernel: survives a process crash */
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 9);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* ---- truncation, rollover, compaction ---- */

static void truncate_suffix_reopen(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 20, 1);
    struct wal_hard_state hs = {.term = 2, .vote = 3, .commit = 12};
    assert_int_equal(wal_save_hard_state(w, &hs), 0); /* lands after entry 20 in the file */
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_truncate_suffix(w, 15), 0);
    assert_int_equal(wal_last_index(w), 14);
    assert_int_equal(wal_last_term(w), 1);
    assert_int_equal(wal_synced_index(w), 14);
    append_range(w, 15, 18, 2);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_truncate_suffix(w, 19), 0); /* == last+1: nothing to do */
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 18);
    for (uint64_t i = 1; i <= 18; i++)
        check_entry(&r.entries[i - 1], i, i < 15 ? 1 : 2);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs); /* not lost with the cut tail */
    /* A truncation that is not followed by appends is durable too. */
    assert_int_equal(wal_truncate_suffix(w, 3), 0);
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 2);
    assert_int_equal(wal_last_index(w), 2);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void rollover_and_truncate_across_segments(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 1024;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 300, 1, 7);
    struct wal_stats st;
    wal_stats(w, &st);
    assert_true(st.n_segments >= 10);
    assert_int_equal(count_files(f->dir, "wal-"), st.n_segments);
    size_t before = st.n_segments;
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 300);
    for (uint64_t i = 1; i <= 300; i++)
        check_entry(&r.entries[i - 1], i, 1);
    assert_int_equal(wal_truncate_suffix(w, 101), 0);
    wal_stats(w, &st);
    assert_true(st.n_segments < before);
    assert_int_equal(count_files(f->dir, "wal-"), st.n_segments);
    append_batches(w, 101, 150, 5, 9);
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 150);
    for (uint64_t i = 1; i <= 150; i++)
        check_entry(&r.entries[i - 1], i, i <= 100 ? 1 : 5);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* opt.preallocate: segments move into zero-filled spares made in the background; recovery reads
 * the zeros after the last record as unwritten space (no "torn" cut, the file keeps its size, in
 * the last segment and in older ones), a torn write into them is still cut, and damage to synced
 * records before them is still corruption. */
static void zero_filled_segments(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 4096;
    o.async_remove = true;
    o.preallocate = true;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    struct wal_stats st;
    uint64_t next = 1;
    for (int tries = 0; tries < 5000; tries++) { /* bounded: ~5 s */
        append_batches(w, next, next + 4, 1, 5);
        next += 5;
        wal_stats(w, &st);
        if (st.prealloc_segments >= 3) break;
        usleep(1000);
    }
    assert_true(st.prealloc_segments >= 3);
    /* appends go into zeros: the file is bigger than what was written */
    assert_true(st.prealloc_end > st.written_bytes);
    assert_int_equal(file_size(st.last_path), (off_t)st.prealloc_end);
    char last[4096];
    snprintf(last, sizeof last, "%s", st.last_path);
    uint64_t synced = next - 1;
    append_range(w, next, next + 2, 1); /* never synced: lost by the crash */
    log_text[0] = 0;
    wal_crash(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, synced);
    for (uint64_t i = 1; i <= synced; i++)
        check_entry(&r.entries[i - 1], i, 1);
    assert_null(strstr(log_text, "torn"));
    assert_null(strstr(log_text, "unfinished"));
    wal_stats(w, &st);
    assert_string_equal(st.last_path, last);
    assert_true(st.prealloc_end > st.written_bytes); /* appends go on into the zeros */
    uint64_t end = st.written_bytes;
    append_batches(w, synced + 1, synced + 10, 2, 5);
    wal_close(w);
    wal_recovered_deinit(&r);

    /* a torn write into the zeros (a record header that never got its batch end) is cut */
    size_t len = 0;
    uint8_t *img = read_all(last, &len);
    size_t tail = 0;
    for (size_t i = len; i > 0; i--)
        if (img[i - 1]) {
            tail = i;
            break;
        }
    assert_true(tail > end && tail < len);
    memset(img + tail + 64, 0x5a, 40);
    write_all(last, img, len);
    log_text[0] = 0;
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, synced + 10);
    check_entry(&r.entries[synced + 9], synced + 10, 2);
    assert_non_null(strstr(log_text, "truncated"));
    wal_close(w);
    wal_recovered_deinit(&r);

    /* a flipped byte in a synced record before the zeros: corruption, not a torn tail */
    free(img);
    img = read_all(last, &len);
    img[end / 2] ^= 0x40; /* inside a record that later batch ends claim synced */
    write_all(last, img, len);
    char err[512] = "";
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    free(img);
}

/* The spare's error paths: one that cannot be made is logged once and the log goes on in a
 * growing segment; one still being made when the WAL closes is stopped and removed. */
static void zero_filled_spare_failure_and_cancel(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 4096;
    o.async_remove = true;
    o.preallocate = true;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    char spare[512];
    snprintf(spare, sizeof spare, "%s/wal-spare.tmp", f->dir);
    assert_int_equal(mkdir(spare, 0755), 0); /* open(O_CREAT|O_TRUNC) of it fails: EISDIR */
    log_text[0] = 0;
    struct wal_stats st;
    uint64_t next = 1;
    for (int tries = 0; tries < 2000 && !strstr(log_text, "could not make"); tries++) {
        append_batches(w, next, next + 4, 1, 5);
        next += 5;
        usleep(500);
    }
    assert_non_null(strstr(log_text, "could not make a zero-filled spare"));
    append_batches(w, next, next + 199, 1, 5); /* rollovers: growing segments, no new tries */
    next += 200;
    wal_stats(w, &st);
    assert_int_equal(st.prealloc_segments, 0);
    assert_int_equal(st.prealloc_end, 0);
    char *again = strstr(log_text, "could not make");
    assert_null(strstr(again + 1, "could not make"));
    wal_close(w);
    wal_recovered_deinit(&r);
    assert_int_equal(rmdir(spare), 0);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, next - 1);
    wal_close(w);
    wal_recovered_deinit(&r);

    /* a 1 GiB spare asked for, the WAL closed at once: the job stops, nothing is left */
    o.segment_max_bytes = 1ull << 30;
    w = open_ok(f->dir, &o, &r);
    wal_recovered_deinit(&r);
    uint64_t i = next;
    do {
        append_batches(w, i, i + 1999, 1, 2000);
        i += 2000;
        wal_stats(w, &st);
    } while (st.written_bytes <= (1u << 20) + 4096);
    append_batches(w, i, i, 1, 1); /* a batch boundary past 1 MiB: the spare is asked for */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wal_close(w);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(access(spare, F_OK) != 0);
    /* stopped between megabytes, not after writing a gigabyte a megabyte at a time */
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (secs >= 2.0) fail_msg("closing with a spare being made took %.2f s", secs);
}

/* The file system says it has no room (STORAGE_OP_SPACE faults) while no_room is set. */
struct space_hook {
    bool no_room;
    int asked;
};
static int space_fault(void *ctx, enum storage_op op, const char *path)
{
    (void)path;
    struct space_hook *h = ctx;
    if (op != STORAGE_OP_SPACE) return 0;
    h->asked++;
    return h->no_room ? ENOSPC : 0;
}

/* Appends about `bytes` of 16 KiB entries, 8 per synced batch, from *next on. */
static void append_big(struct wal *w, uint64_t *next, uint64_t bytes)
{
    static uint8_t data[16384];
    for (uint64_t done = 0; done < bytes;) {
        for (int k = 0; k < 8; k++, done += sizeof data) {
            struct wal_entry e = {.index = (*next)++, .term = 1, .len = sizeof data, .data = data};
            assert_int_equal(wal_append(w, &e, 1), 0);
        }
        assert_int_equal(wal_sync(w), 0);
    }
}

/* A spare segment of zeros is made only while the file system has room for two of them and
 * 256 MiB more: while it says it has none, none is made and the log goes on in a growing
 * segment, asking again once per MiB written (not at every batch); once there is room again,
 * a spare is made and the log moves into it. */
static void zero_filled_spare_waits_for_room(void **state)
{
    struct fx *f = *state;
    struct space_hook h = {.no_room = true};
    struct wal_options o = opts_default();
    o.segment_max_bytes = 8u << 20; /* a spare is asked for past 1 MiB */
    o.async_remove = true;
    o.preallocate = true;
    o.io.fault = space_fault;
    o.io.fault_ctx = &h;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    char spare[512];
    snprintf(spare, sizeof spare, "%s/wal-spare.tmp", f->dir);
    uint64_t next = 1;
    append_big(w, &next, 3500u << 10); /* 3.5 MiB: asked at 1, 2 and 3 MiB */
    struct wal_stats st;
    wal_stats(w, &st);
    assert_true(h.asked >= 2 && h.asked <= 4);
    usleep(200000);
    assert_true(access(spare, F_OK) != 0);
    assert_int_equal(st.prealloc_segments, 0);
    assert_int_equal(st.n_segments, 1);
    h.no_room = false;
    for (int tries = 0; tries < 300; tries++) { /* bounded: the spare is 9 MiB of zeros */
        append_big(w, &next, 128u << 10);
        wal_stats(w, &st);
        if (st.prealloc_segments >= 1) break;
        usleep(10000);
    }
    assert_int_equal(st.prealloc_segments, 1);
    assert_true(st.prealloc_end > st.written_bytes);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, next - 1);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void compaction(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 1024;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 300, 2, 5);
    struct wal_stats st;
    wal_stats(w, &st);
    size_t before = st.n_segments;
    save_snapshot(f->dir, 200, 2);
    assert_int_equal(wal_compact(w, 200, 2), 0);
    wal_stats(w, &st);
    assert_true(st.n_segments < before && st.n_segments >= 2);
    assert_int_equal(count_files(f->dir, "wal-"), st.n_segments);
    assert_int_equal(wal_last_index(w), 300);
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_true(r.has_snapshot);
    assert_int_equal(r.snapshot.index, 200);
    assert_int_equal(r.snapshot.term, 2);
    assert_memory_equal(r.snapshot.conf, "conf@200", 8);
    assert_int_equal(r.snapshot.data_len, strlen("dataset through 200"));
    assert_int_equal(r.n_entries, 100);
    check_entry(&r.entries[0], 201, 2);
    check_entry(&r.entries[99], 300, 2);

    /* A snapshot beyond the log (installed from the leader): the log restarts after it. */
    save_snapshot(f->dir, 500, 4);
    assert_int_equal(count_files(f->dir, "snap-"), 1); /* the older one is gone */
    assert_int_equal(wal_compact(w, 500, 4), 0);
    assert_int_equal(wal_last_index(w), 500);
    wal_stats(w, &st);
    assert_int_equal(st.n_segments, 1);
    append_range(w, 501, 510, 4);
    wal_close(w);
    wal_recovered_deinit(&r);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.snapshot.index, 500);
    assert_int_equal(r.n_entries, 10);
    check_entry(&r.entries[0], 501, 4);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void snapshot_ahead_of_log_at_open(void **state)
{
    /* Crash after the snapshot was written but before wal_compact: the open resets the log. */
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 30, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
    save_snapshot(f->dir, 100, 3);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 0);
    assert_int_equal(wal_last_index(w), 100);
    assert_int_equal(wal_last_term(w), 3);
    append_range(w, 101, 105, 3);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 5);
    check_entry(&r.entries[0], 101, 3);
    wal_close(w);
    wal_recovered_deinit(&r);
}

static void snapshot_conflicting_with_log(void **state)
{
    /* The log holds entry 10 with term 1, the snapshot says term 2 (Raft §7): drop the log. */
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 20, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
    save_snapshot(f->dir, 10, 2);
    log_text[0] = 0;
    w = open_ok(f->dir, &o, &r);
    assert_non_null(strstr(log_text, "dropping the log"));
    assert_int_equal(r.n_entries, 0);
    assert_int_equal(wal_last_index(w), 10);
    append_range(w, 11, 12, 2);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 2);
    check_entry(&r.entries[1], 12, 2);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* Bug 4 of issue 8: a follower installs the leader's snapshot over a conflicting entry, the way
 * node_snap_install does (truncate after the snapshot's index, then compact). The log's term at
 * the snapshot index must be the snapshot's, not the follower's own conflicting entry's: a
 * leader's next append (with the snapshot's term) must be accepted and replay afterwards. */
static void install_over(const char *dir, struct wal *w, uint64_t idx, uint64_t term)
{
    if (wal_last_index(w) > idx) assert_int_equal(wal_truncate_suffix(w, idx + 1), 0);
    save_snapshot(dir, idx, term);
    assert_int_equal(wal_compact(w, idx, term), 0);
}

static void snapshot_install_over_conflicting_entry(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    /* The follower's entries 8..10 are of term 6 (a deposed leader's); the new leader's
     * snapshot says entry 8 has term 5. */
    struct wal *w = open_ok(f->dir, &o, &r);
    wal_recovered_deinit(&r);
    append_range(w, 1, 7, 3);
    append_range(w, 8, 10, 6);
    assert_int_equal(wal_sync(w), 0);
    install_over(f->dir, w, 8, 5);
    assert_int_equal(wal_last_index(w), 8);
    assert_int_equal(wal_last_term(w), 5);
    uint64_t t = 0;
    assert_int_equal(wal_term_at(w, 8, &t), 0);
    assert_int_equal(t, 5);
    append_range(w, 9, 9, 5); /* aborted on SYN_ASSERT(e->term >= w->last_term) before */
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.snapshot.index, 8);
    assert_int_equal(r.n_entries, 1);
    check_entry(&r.entries[0], 9, 5);
    assert_int_equal(wal_term_at(w, 8, &t), 0);
    assert_int_equal(t, 5);
    wal_close(w);
    wal_recovered_deinit(&r);

    /* The same with a lower conflicting term (entries of term 3 up to 10, snapshot (12, 5)
     * after a fresh start): last_term and the term at the snapshot index are the snapshot's. */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/b", f->dir);
    w = open_ok(sub, &o, &r);
    wal_recovered_deinit(&r);
    append_range(w, 1, 10, 3);
    assert_int_equal(wal_sync(w), 0);
    install_over(sub, w, 8, 5);
    assert_int_equal(wal_last_term(w), 5);
    assert_int_equal(wal_term_at(w, 8, &t), 0);
    assert_int_equal(t, 5);
    append_range(w, 9, 10, 5);
    wal_close(w);
    w = open_ok(sub, &o, &r);
    assert_int_equal(r.n_entries, 2);
    check_entry(&r.entries[0], 9, 5);
    check_entry(&r.entries[1], 10, 5);
    assert_int_equal(wal_last_term(w), 5);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* ---- limits, reads and deletions ---- */

static void too_big_and_lock(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r, r2;
    struct wal *w = open_ok(f->dir, &o, &r);
    uint8_t d = 0;
    struct wal_entry e = {.index = 1, .term = 1, .len = WAL_ENTRY_MAX_BYTES + 1, .data = &d};
    assert_int_equal(wal_append(w, &e, 1), STORAGE_ETOOBIG);
    assert_false(wal_failed(w));
    char err[512];
    struct wal *w2 = NULL;
    assert_int_equal(wal_open(f->dir, &o, &w2, &r2, err, sizeof err), STORAGE_ELOCKED);
    assert_null(w2);
    assert_non_null(strstr(err, "in use by another process"));
    assert_non_null(strstr(err, f->dir));
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    wal_close(w);
    wal_recovered_deinit(&r);
    assert_string_equal(storage_strerror(STORAGE_ENOSPC), "no space left on device");
}

/* A read back is bounded by max_bytes of entry data (a lagging follower's batch, the memory
 * read into), and always returns at least one entry so that a big one still gets through. */
static void read_back_respects_max_bytes(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 50, 1, 10);
    struct wal_entry out[64];
    size_t n = 0;
    char err[256];
    assert_int_equal(wal_read_entries(w, 1, 51, 1u << 20, out, 64, &n, err, sizeof err), 0);
    assert_int_equal(n, 50);
    uint64_t total = 0;
    for (size_t i = 0; i < 50; i++)
        total += payload_len(i + 1);
    for (uint64_t max = 0; max <= total; max += 37) {
        assert_int_equal(wal_read_entries(w, 1, 51, max, out, 64, &n, err, sizeof err), 0);
        assert_true(n >= 1);
        uint64_t got = 0;
        for (size_t i = 0; i < n; i++) {
            check_entry(&out[i], i + 1, 1);
            got += out[i].len;
        }
        if (n > 1 && got > max)
            fail_msg("max_bytes %" PRIu64 ": %zu entries, %" PRIu64 " bytes", max, n, got);
        if (n < 50 && got + payload_len(n + 1) <= max)
            fail_msg("max_bytes %" PRIu64 ": stopped early at %zu", max, n);
    }
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* Segments are deleted newest first (docs/storage.md, Compaction and Truncate suffix): a crash
 * in the middle then leaves a prefix of them (which replays without a gap) or stale segments a
 * newer one overrides, never a hole. The directory's deletions are watched with inotify. */
static void list_deletions(int fd, char *out, size_t cap)
{
    out[0] = 0;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;
    while ((len = read(fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if ((ev->mask & IN_DELETE) && ev->len && strncmp(ev->name, "wal-", 4) == 0) {
                size_t k = strlen(out);
                snprintf(out + k, cap - k, "%.20s|", ev->name); /* "wal-" and the sequence */
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
}

static void assert_newest_first(const char *list, size_t at_least)
{
    size_t n = 0;
    unsigned long long prev = ULLONG_MAX, seq;
    for (const char *p = list; *p; p = strchr(p, '|') + 1, n++) {
        assert_int_equal(sscanf(p, "wal-%16llx", &seq), 1);
        if (seq >= prev) fail_msg("segment %llu deleted after %llu: %s", seq, prev, list);
        prev = seq;
    }
    if (n < at_least) fail_msg("%zu deletions, expected %zu or more: %s", n, at_least, list);
}

static void segments_deleted_newest_first(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 300;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 60, 1, 3);
    assert_true(count_files(f->dir, "wal-") >= 8);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(in >= 0);
    assert_true(inotify_add_watch(in, f->dir, IN_DELETE) >= 0);
    char list[4096];
    save_snapshot(f->dir, 45, 1);
    assert_int_equal(wal_compact(w, 45, 1), 0); /* a prefix of several segments */
    list_deletions(in, list, sizeof list);
    assert_newest_first(list, 3);
    assert_int_equal(wal_truncate_suffix(w, 47), 0); /* the segments from 47 on */
    list_deletions(in, list, sizeof list);
    assert_newest_first(list, 3);
    close(in);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_last_index(w), 46);
    wal_close(w);
    wal_recovered_deinit(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_drops_only_unsynced, setup, teardown),
        cmocka_unit_test_setup_teardown(group_commit_one_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(fsync_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(truncate_suffix_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(rollover_and_truncate_across_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_filled_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_filled_spare_waits_for_room, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_filled_spare_failure_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_ahead_of_log_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_conflicting_with_log, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_install_over_conflicting_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(too_big_and_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_respects_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_deleted_newest_first, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
