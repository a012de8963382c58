/* test_storage.c — the WAL and snapshot files: round trips, truncation, compaction, rollover,
 * torn tails, corruption, snapshot atomicity, injected disk errors, a randomised model test. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "storage/snap.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"
#include "storage/wal.h"
#include "util/assert.h"

/* ---- fixtures ---- */

struct fx {
    char dir[64];
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/synod-test-storage-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Log lines from the storage module, kept for assertions. */
static char log_text[65536];
static void capture_log(void *ctx, const char *msg)
{
    (void)ctx;
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s\n", msg);
}

static struct wal_options opts_default(void)
{
    struct wal_options o = {0};
    o.io.log = capture_log;
    return o;
}

/* Deterministic payload for (index, term). */
static uint32_t payload_len(uint64_t index)
{
    return (uint32_t)((index * 7) % 61);
}
static void payload_fill(uint8_t *buf, uint64_t index, uint64_t term)
{
    for (uint32_t i = 0; i < payload_len(index); i++)
        buf[i] = (uint8_t)(index * 31 + term * 17 + i);
}

static void append_range(struct wal *w, uint64_t from, uint64_t to, uint64_t term)
{
    for (uint64_t i = from; i <= to; i++) {
        uint8_t data[64];
        payload_fill(data, i, term);
        struct wal_entry e = {.index = i,
                              .term = term,
                              .type = (uint8_t)(i % 3),
                              .len = payload_len(i),
                              .data = data};
        assert_int_equal(wal_append(w, &e, 1), 0);
    }
}

/* Appends from..to in batches of `per` entries, each closed by wal_sync (as the server does, one
 * Ready at a time): segments roll over only between batches. */
static void append_batches(struct wal *w, uint64_t from, uint64_t to, uint64_t term, uint64_t per)
{
    for (uint64_t i = from; i <= to; i += per) {
        append_range(w, i, i + per - 1 < to ? i + per - 1 : to, term);
        assert_int_equal(wal_sync(w), 0);
    }
}

static void check_entry(const struct wal_entry *e, uint64_t index, uint64_t term)
{
    uint8_t data[64];
    payload_fill(data, index, term);
    assert_int_equal(e->index, index);
    assert_int_equal(e->term, term);
    assert_int_equal(e->type, index % 3);
    assert_int_equal(e->len, payload_len(index));
    assert_memory_equal(e->data, data, e->len);
}

static struct wal *open_ok(const char *dir, const struct wal_options *o, struct wal_recovered *r)
{
    struct wal *w = NULL;
    char err[512] = "";
    int rc = wal_open(dir, o, &w, r, err, sizeof err);
    if (rc) fail_msg("wal_open: %d %s", rc, err);
    return w;
}

static int open_err(const char *dir, const struct wal_options *o, char *err, size_t err_len)
{
    struct wal *w = NULL;
    struct wal_recovered r;
    int rc = wal_open(dir, o, &w, &r, err, err_len);
    assert_null(w);
    return rc;
}

static size_t count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

/* Path of the n-th (0-based, by name) file starting with prefix. */
static void nth_file(const char *dir, const char *prefix, size_t n, char *out, size_t len)
{
    struct dirent **list;
    int k = scandir(dir, &list, NULL, alphasort);
    assert_true(k >= 0);
    size_t seen = 0;
    out[0] = 0;
    for (int i = 0; i < k; i++) {
        if (strncmp(list[i]->d_name, prefix, strlen(prefix)) == 0 && seen++ == n)
            snprintf(out, len, "%s/%s", dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    assert_true(out[0] != 0);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_all(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

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

static uint64_t fake_now;
static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
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

static void save_snapshot_io(const char *dir, uint64_t index, uint64_t term,
                             const struct storage_io *io);
static void save_snapshot(const char *dir, uint64_t index, uint64_t term)
{
    save_snapshot_io(dir, index, term, NULL);
}

static void save_snapshot_io(const char *dir, uint64_t index, uint64_t term,
                             const struct storage_io *io)
{
    char conf[32], data[64], err[256];
    snprintf(conf, sizeof conf, "conf@%" PRIu64, index);
    snprintf(data, sizeof data, "dataset through %" PRIu64, index);
    struct snap s = {.index = index,
                     .term = term,
                     .conf = (uint8_t *)conf,
                     .conf_len = (uint32_t)strlen(conf),
                     .data = (uint8_t *)data,
                     .data_len = strlen(data)};
    int rc = snap_save(dir, &s, io, err, sizeof err);
    if (rc) fail_msg("snap_save: %s", err);
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

/* ---- torn tails and corruption ---- */

static size_t entry_rec_bytes(uint64_t index)
{
    return 16 + 17 + payload_len(index);
}
#define SEG_HEAD_BYTES 80 /* segment header 40 + the hard-state record 40 */

/* Offset of entry `index`'s record in a segment that starts at entry 1 and whose first batch
 * holds entries 1..index (no other records before it). */
static size_t rec_offset(uint64_t index)
{
    size_t off = SEG_HEAD_BYTES;
    for (uint64_t i = 1; i < index; i++)
        off += entry_rec_bytes(i);
    return off;
}
#define BATCH_END_BYTES 40 /* record header 16 + seq, own offset, synced offset */

/* Entries 1..4 in one synced batch, entry 5 in a second one (closed by wal_close). Returns the
 * offset where the second batch starts. */
static size_t write_five(const char *dir, char *seg, size_t seg_len)
{
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(dir, &o, &r);
    append_range(w, 1, 4, 1);
    assert_int_equal(wal_sync(w), 0);
    struct wal_stats st;
    wal_stats(w, &st);
    append_range(w, 5, 5, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
    nth_file(dir, "wal-", 0, seg, seg_len);
    assert_int_equal(st.written_bytes, rec_offset(5) + BATCH_END_BYTES);
    return (size_t)st.written_bytes;
}

static void expect_torn_recovery(const char *dir, const char *seg, size_t start)
{
    struct wal_options o = opts_default();
    struct wal_recovered r;
    log_text[0] = 0;
    struct wal *w = open_ok(dir, &o, &r);
    assert_int_equal(r.n_entries, 4);
    for (uint64_t i = 1; i <= 4; i++)
        check_entry(&r.entries[i - 1], i, 1);
    assert_true(strstr(log_text, "torn record") || strstr(log_text, "unfinished batch"));
    assert_non_null(strstr(log_text, "truncated"));
    assert_int_equal(file_size(seg), start);
    wal_crash(w);
    wal_recovered_deinit(&r);
}

static void torn_tail_every_offset(void **state)
{
    struct fx *f = *state;
    char seg[512];
    size_t start = write_five(f->dir, seg, sizeof seg);
    size_t len;
    uint8_t *orig = read_all(seg, &len);
    assert_int_equal(len, start + entry_rec_bytes(5) + BATCH_END_BYTES);
    for (size_t cut = start + 1; cut < len; cut++) { /* a partial write */
        write_all(seg, orig, cut);
        expect_torn_recovery(f->dir, seg, start);
    }
    for (size_t p = start; p < len; p++) { /* a bad checksum in the last batch */
        uint8_t *b = malloc(len);
        memcpy(b, orig, len);
        b[p] ^= 0x40;
        write_all(seg, b, len);
        free(b);
        expect_torn_recovery(f->dir, seg, start);
    }
    for (size_t cut = start + 1; cut < len; cut += 7) { /* a partial write then zeros */
        uint8_t *b = calloc(1, len + 600);
        memcpy(b, orig, cut);
        bool intact = memcmp(b, orig, len) == 0; /* the cut bytes were zeros anyway */
        write_all(seg, b, len + 600);
        free(b);
        if (!intact) expect_torn_recovery(f->dir, seg, start);
    }
    write_all(seg, orig, start);
    /* The repaired WAL takes appends after entry 4. */
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(wal_last_index(w), 4);
    append_range(w, 5, 6, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 6);
    wal_close(w);
    wal_recovered_deinit(&r);
    free(orig);
}

/* Damage inside the synced part of the last segment (a later batch end says the segment was
 * fdatasync'd past it) is corruption, with file and offset: that record was acknowledged. */
static void flipped_byte_mid_segment(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 5, 1);
    assert_int_equal(wal_sync(w), 0);
    append_range(w, 6, 10, 1);
    wal_close(w); /* its batch end says: synced through the end of the first batch */
    wal_recovered_deinit(&r);
    char seg[512], err[512], want[64];
    nth_file(f->dir, "wal-", 0, seg, sizeof seg);
    size_t len;
    uint8_t *b = read_all(seg, &len);
    size_t off = rec_offset(3);
    b[off + 20] ^= 1; /* inside entry 3's payload */
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    snprintf(want, sizeof want, "offset %zu", off);
    assert_non_null(strstr(err, seg));
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "followed by a valid record"));
    assert_non_null(strstr(err, "covered by an fsync"));
    assert_int_equal(file_size(seg), len); /* nothing was cut */
    b[off + 20] ^= 1;
    b[off + 2] ^= 0x10; /* the length field of entry 3: header checksum */
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "covered by an fsync"));
    b[off + 2] ^= 0x10;
    b[SEG_HEAD_BYTES - 3] ^= 1; /* the segment's own hard state: fsync'd at creation */
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "offset 40"));
    assert_non_null(strstr(err, "covered by an fsync"));
    b[SEG_HEAD_BYTES - 3] ^= 1;
    b[8] = 9; /* format version */
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "version"));
    b[8] = 1; /* the format before batch-end records: refused by name */
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "format version 1"));
    assert_non_null(strstr(err, "batch-end"));
    b[8] = 2;
    write_all(seg, b, len);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 10);
    wal_close(w);
    wal_recovered_deinit(&r);
    free(b);
}

/* A crash keeps any prefix of what was written of an unsynced batch (cut at every byte: at
 * record boundaries and inside records, with or without zeros after): recovery gives the whole
 * batch (entries and hard state) or none of it. Entries without their batch end never return. */
static void expect_state(const char *dir, uint64_t n, uint64_t hs_term, size_t size,
                         const char *seg)
{
    struct wal_options o = opts_default();
    struct wal_recovered r;
    log_text[0] = 0;
    struct wal *w = open_ok(dir, &o, &r);
    if (r.n_entries != n || r.hard_state.term != hs_term)
        fail_msg("recovered %zu entries, hard state term %" PRIu64 "; want %" PRIu64 ", %" PRIu64
                 " (log: %s)",
                 r.n_entries, r.hard_state.term, n, hs_term, log_text);
    for (uint64_t i = 1; i <= n; i++)
        check_entry(&r.entries[i - 1], i, i <= 3 ? 1 : 2);
    assert_int_equal(file_size(seg), size);
    wal_crash(w);
    wal_recovered_deinit(&r);
}

static void unsynced_batch_all_or_nothing(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.buffer_max_bytes = 256; /* the batch reaches the kernel before its batch end */
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_range(w, 1, 3, 1);
    struct wal_hard_state hs1 = {.term = 1, .vote = 1, .commit = 2};
    assert_int_equal(wal_save_hard_state(w, &hs1), 0);
    assert_int_equal(wal_sync(w), 0);
    struct wal_stats st;
    wal_stats(w, &st);
    size_t start = (size_t)st.written_bytes;
    /* One Ready: entries, then the hard state that commits them (the driver's order). */
    append_range(w, 4, 8, 2);
    struct wal_hard_state hs2 = {.term = 2, .vote = 0, .commit = 8};
    assert_int_equal(wal_save_hard_state(w, &hs2), 0);
    wal_stats(w, &st);
    assert_true(st.written_bytes > start); /* part of it was written already */
    wal_crash(w);                          /* no wal_sync: no batch end */
    wal_recovered_deinit(&r);
    char seg[512];
    nth_file(f->dir, "wal-", 0, seg, sizeof seg);
    assert_true((size_t)file_size(seg) > start);
    expect_state(f->dir, 3, 1, start, seg);
    assert_non_null(strstr(log_text, "unfinished batch"));

    /* The same batch, completed, then every prefix of it. */
    w = open_ok(f->dir, &o, &r);
    wal_recovered_deinit(&r);
    append_range(w, 4, 8, 2);
    assert_int_equal(wal_save_hard_state(w, &hs2), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_crash(w);
    size_t len;
    uint8_t *orig = read_all(seg, &len);
    int boundaries = 0;
    for (size_t cut = start; cut < len; cut++) {
        write_all(seg, orig, cut);
        expect_state(f->dir, 3, 1, start, seg);
        if (strstr(log_text, "unfinished batch")) boundaries++;
        uint8_t *b = calloc(1, len);
        memcpy(b, orig, cut);
        if (memcmp(b, orig, len) != 0) {
            write_all(seg, b, len); /* the rest of the block: zeros */
            /* zeros right after the last complete batch are unwritten space (a zero-filled
             * segment): kept; after part of a batch the file is cut back to the batch */
            expect_state(f->dir, 3, 1, cut == start ? len : start, seg);
        }
        free(b);
    }
    assert_int_equal(boundaries, 5 + 1); /* after each entry and after the hard state */
    write_all(seg, orig, len);
    expect_state(f->dir, 8, 2, len, seg);
    free(orig);
}

/* Sectors of an unsynced write may persist out of order: a hole (zeros) inside an unsynced
 * batch, followed by intact records, is a torn tail, truncated to the last batch end before it
 * (it stopped the node before). The same hole inside a batch that a later batch end says was
 * fdatasync'd is corruption. */
static void out_of_order_sectors(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    char seg[512], err[1024], want[64];
    struct wal_stats st;
    size_t b2, b3;
    for (int synced = 0; synced <= 1; synced++) {
        char dir[128];
        snprintf(dir, sizeof dir, "%s/%d", f->dir, synced);
        o.fsync = WAL_FSYNC_ALWAYS;
        struct wal *w = open_ok(dir, &o, &r);
        wal_recovered_deinit(&r);
        append_range(w, 1, 3, 1);
        wal_close(w);
        o.fsync = synced ? WAL_FSYNC_ALWAYS : WAL_FSYNC_NEVER;
        w = open_ok(dir, &o, &r);
        wal_recovered_deinit(&r);
        wal_stats(w, &st);
        b2 = (size_t)st.written_bytes;
        append_range(w, 4, 6, 2);
        assert_int_equal(wal_sync(w), 0);
        wal_stats(w, &st);
        b3 = (size_t)st.written_bytes;
        append_range(w, 7, 9, 2);
        assert_int_equal(wal_sync(w), 0);
        wal_crash(w);
        nth_file(dir, "wal-", 0, seg, sizeof seg);
        size_t len;
        uint8_t *b = read_all(seg, &len);
        size_t hole = b2 + entry_rec_bytes(4) + 5; /* inside entry 5, header included */
        memset(b + hole, 0, 30);
        write_all(seg, b, len);
        free(b);
        snprintf(want, sizeof want, "offset %zu", b2 + entry_rec_bytes(4));
        if (!synced) {
            log_text[0] = 0;
            w = open_ok(dir, &o, &r);
            assert_int_equal(r.n_entries, 3);
            assert_non_null(strstr(log_text, "torn record"));
            assert_non_null(strstr(log_text, want));
            assert_non_null(strstr(log_text, "followed by a valid record"));
            assert_int_equal(file_size(seg), b2);
            append_range(w, 4, 4, 3);
            wal_close(w);
            wal_recovered_deinit(&r);
            w = open_ok(dir, &o, &r);
            assert_int_equal(r.n_entries, 4);
            check_entry(&r.entries[3], 4, 3);
            wal_close(w);
            wal_recovered_deinit(&r);
        } else {
            /* the batch end of 7..9 says: synced through b3, past the hole */
            assert_int_equal(open_err(dir, &o, err, sizeof err), STORAGE_ECORRUPT);
            assert_non_null(strstr(err, seg));
            assert_non_null(strstr(err, want));
            assert_non_null(strstr(err, "covered by an fsync"));
            char claim[64];
            snprintf(claim, sizeof claim, "batch-end record at offset %zu",
                     b3 + entry_rec_bytes(7) + entry_rec_bytes(8) + entry_rec_bytes(9));
            assert_non_null(strstr(err, claim));
            assert_int_equal(file_size(seg), len);
        }
    }
}

/* A batch never spans two segments: rollover waits for wal_sync, truncate_suffix closes the
 * pending batch in the old segment first (else the old segment, no longer the last, would end
 * in records without a batch end: corruption at the next open). */
static void rollover_and_truncate_keep_batches_whole(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 300;
    o.buffer_max_bytes = 256;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    wal_recovered_deinit(&r);
    struct wal_stats st;
    append_range(w, 1, 20, 1); /* one batch, several segments' worth */
    wal_stats(w, &st);
    assert_int_equal(st.n_segments, 1);
    assert_int_equal(wal_sync(w), 0);
    wal_stats(w, &st);
    assert_int_equal(st.n_segments, 2); /* rolled over after the batch end */
    assert_non_null(strstr(st.last_path, "-0000000000000015.log"));
    append_range(w, 21, 40, 1); /* reaches the kernel, never completed */
    wal_crash(w);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 20);
    wal_recovered_deinit(&r);

    append_range(w, 21, 25, 1);
    assert_int_equal(wal_sync(w), 0);
    append_range(w, 26, 33, 2); /* pending, partly written */
    struct wal_hard_state hs = {.term = 2, .vote = 0, .commit = 20};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_truncate_suffix(w, 30), 0);
    wal_crash(w);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 29);
    check_entry(&r.entries[28], 29, 2);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* Creating the data directory fsyncs its parent (else a power loss can forget the directory
 * with every synced file in it); creating LOCK fsyncs the directory. */
static char fsynced_paths[4096];
static int note_fsync_path(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    if (op == STORAGE_OP_FSYNC) {
        size_t n = strlen(fsynced_paths);
        snprintf(fsynced_paths + n, sizeof fsynced_paths - n, "%s|", path);
    }
    return 0;
}

static void data_dir_creation_is_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = note_fsync_path;
    char dir[128], want[160];
    snprintf(dir, sizeof dir, "%s/data", f->dir);
    fsynced_paths[0] = 0;
    struct wal_recovered r;
    struct wal *w = open_ok(dir, &o, &r);
    wal_close(w);
    wal_recovered_deinit(&r);
    snprintf(want, sizeof want, "|%s|", f->dir); /* after the first entry */
    char with_bar[4200];
    snprintf(with_bar, sizeof with_bar, "|%s", fsynced_paths);
    assert_non_null(strstr(with_bar, want));
    assert_true(strstr(with_bar, want) < strstr(with_bar, "LOCK") || !strstr(with_bar, "LOCK"));
    snprintf(want, sizeof want, "|%s|", dir);
    assert_non_null(strstr(with_bar, want));
    /* Reopening creates nothing: no fsync of the parent. */
    fsynced_paths[0] = 0;
    w = open_ok(dir, &o, &r);
    wal_close(w);
    wal_recovered_deinit(&r);
    snprintf(with_bar, sizeof with_bar, "|%s", fsynced_paths);
    snprintf(want, sizeof want, "|%s|", f->dir);
    assert_null(strstr(with_bar, want));
}

static void corruption_in_older_segments(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 512;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 60, 1, 3);
    wal_close(w);
    wal_recovered_deinit(&r);
    assert_true(count_files(f->dir, "wal-") >= 4);
    char seg[512], err[512];
    size_t len;

    /* The last record of the first segment: not a torn tail since it is not the last segment. */
    nth_file(f->dir, "wal-", 0, seg, sizeof seg);
    uint8_t *b = read_all(seg, &len);
    b[len - 1] ^= 0xff;
    write_all(seg, b, len);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, seg));
    assert_non_null(strstr(err, "not the last"));
    b[len - 1] ^= 0xff;
    write_all(seg, b, len);
    free(b);

    /* A segment that vanished: a gap in the indexes. */
    char seg2[512], aside[600];
    nth_file(f->dir, "wal-", 1, seg2, sizeof seg2);
    snprintf(aside, sizeof aside, "%s/aside", f->dir);
    assert_int_equal(rename(seg2, aside), 0);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "missing"));

    /* A header that disagrees with the file name. */
    char renamed[600];
    strcpy(renamed, seg2);
    renamed[strlen(renamed) - 5] ^= 1; /* last hex digit of the first index */
    assert_int_equal(rename(aside, renamed), 0);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_true(strstr(err, "unlike the name") != NULL || strstr(err, "missing") != NULL);
    assert_int_equal(rename(renamed, seg2), 0);

    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 60);
    wal_close(w);
    wal_recovered_deinit(&r);
}

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

/* ---- randomised test against an in-memory model ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

struct model {
    uint64_t terms[20000]; /* terms[i] = term of entry i; entries 1..last */
    uint64_t last;
    uint64_t durable; /* entries <= durable must survive any crash */
    uint64_t snap_index;
    uint64_t term;      /* term for the next appends */
    uint64_t hs_latest; /* hard-state term last saved (terms only grow in this test) */
    bool never;         /* the WAL is open with WAL_FSYNC_NEVER: wal_sync() does not fsync */
    /* What a crash may bring back: the state at the last fsync (cand[0]) or at any later batch
     * end (wal_sync() under NEVER), never anything in between (a batch is whole or absent). */
    struct mstate {
        uint64_t last, hs;
    } cand[2048];
    size_t n_cand;
};

/* Everything written so far is durable (an fsync that covered it). */
static void model_durable(struct model *m)
{
    m->durable = m->last;
    m->cand[0] = (struct mstate){m->last, m->hs_latest};
    m->n_cand = 1;
}

/* A wal_sync(): one batch end. */
static void model_batch(struct model *m)
{
    if (!m->never) {
        model_durable(m);
        return;
    }
    struct mstate now = {m->last, m->hs_latest}, *prev = &m->cand[m->n_cand - 1];
    if (prev->last == now.last && prev->hs == now.hs) return;
    SYN_ASSERT(m->n_cand < sizeof m->cand / sizeof m->cand[0]);
    m->cand[m->n_cand++] = now;
}

/* Power-loss model: the fault hook notes each file's size when it is fsync'd; a crash may then
 * drop any suffix of the bytes written after that, in every segment (not only the last). */
struct synced_sizes {
    char name[4096][48];
    off_t size[4096];
    int n;
};
static struct synced_sizes synced_tab;

static int note_fsync(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    struct stat st;
    if (op != STORAGE_OP_FSYNC || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[48];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base); /* without .log/.tmp */
    int k = 0;
    while (k < synced_tab.n && strcmp(synced_tab.name[k], name) != 0)
        k++;
    if (k == synced_tab.n) {
        SYN_ASSERT(k < 4096);
        synced_tab.n++;
        snprintf(synced_tab.name[k], sizeof synced_tab.name[k], "%s", name);
    }
    synced_tab.size[k] = st.st_size;
    return 0;
}

/* Cuts every WAL segment of dir back to a random length between its synced and current size;
 * with `zeros`, pads the cut with zeros (a torn write of a block). */
static void lose_unsynced(const char *dir, bool zeros)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "wal-", 4) != 0) continue;
        char path[600], name[64];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(name, sizeof name, "%.*s", (int)strcspn(de->d_name, "."), de->d_name);
        off_t synced = -1, size = file_size(path);
        for (int k = 0; k < synced_tab.n; k++)
            if (strcmp(synced_tab.name[k], name) == 0) synced = synced_tab.size[k];
        if (synced < 0) fail_msg("segment %s was never fsync'd", path);
        if (size <= synced) continue;
        off_t keep = synced + (off_t)rnd_below((uint64_t)(size - synced) + 1);
        assert_int_equal(truncate(path, keep), 0);
        if (zeros && keep < size) assert_int_equal(truncate(path, size), 0);
    }
    closedir(d);
}

/* Out-of-order persistence of an unsynced write: a hole of zeros somewhere in the unsynced part
 * of the last segment, with whatever came after it kept. */
static void punch_unsynced_hole(const char *dir)
{
    char path[600], name[64];
    size_t n = count_files(dir, "wal-");
    nth_file(dir, "wal-", n - 1, path, sizeof path);
    const char *base = strrchr(path, '/') + 1;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
    off_t synced = -1, size = file_size(path);
    for (int k = 0; k < synced_tab.n; k++)
        if (strcmp(synced_tab.name[k], name) == 0) synced = synced_tab.size[k];
    if (synced < 0) fail_msg("segment %s was never fsync'd", path);
    if (size <= synced) return;
    off_t at = synced + (off_t)rnd_below((uint64_t)(size - synced));
    size_t len = 1 + rnd_below(64);
    if (at + (off_t)len > size) len = (size_t)(size - at);
    uint8_t zeros[64] = {0};
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, zeros, len, at), (ssize_t)len);
    close(fd);
}

static void model_check(struct model *m, struct wal *w, struct wal_recovered *r)
{
    assert_int_equal(r->has_snapshot, m->snap_index > 0);
    if (m->snap_index) assert_int_equal(r->snapshot.index, m->snap_index);
    uint64_t last = m->snap_index + r->n_entries;
    if (r->n_entries == 0 && m->snap_index == 0) last = 0;
    assert_int_equal(wal_last_index(w), last > m->snap_index ? last : m->snap_index);
    uint64_t t = r->hard_state.term;
    size_t k = 0;
    while (k < m->n_cand && !(m->cand[k].last == last && m->cand[k].hs == t))
        k++;
    if (k == m->n_cand) {
        char states[4096] = "";
        for (size_t i = 0; i < m->n_cand && strlen(states) < sizeof states - 64; i++)
            snprintf(states + strlen(states), sizeof states - strlen(states),
                     " (%" PRIu64 ", %" PRIu64 ")", m->cand[i].last, m->cand[i].hs);
        fail_msg("recovered last %" PRIu64 " with hard-state term %" PRIu64
                 ", not the state at a batch end since the last fsync:%s",
                 last, t, states);
    }
    for (size_t i = 0; i < r->n_entries; i++)
        check_entry(&r->entries[i], m->snap_index + 1 + i, m->terms[m->snap_index + 1 + i]);
    if (t) {
        assert_int_equal(r->hard_state.vote, t % 5);
        assert_int_equal(r->hard_state.commit, t * 7);
    }
    m->last = last > m->snap_index ? last : m->snap_index;
    m->hs_latest = t;
    model_durable(m);
}

/* Opens with a random fsync policy: ALWAYS (every batch end durable) or NEVER (batch ends only
 * reach the kernel; a crash may keep any prefix of them, or punch holes). */
static struct wal *model_open(struct model *m, struct wal_options *o, struct wal_recovered *r,
                              const char *dir)
{
    m->never = rnd_below(2);
    o->fsync = m->never ? WAL_FSYNC_NEVER : WAL_FSYNC_ALWAYS;
    return open_ok(dir, o, r);
}

static void random_ops_against_model(void **state)
{
    struct fx *f = *state;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *env = getenv("STORAGE_SEED");
    if (env) seed = strtoull(env, NULL, 0);
    int steps = 1200;
    if (getenv("STORAGE_STEPS")) steps = atoi(getenv("STORAGE_STEPS"));
    if (getenv("STORAGE_TRACE")) setvbuf(stdout, NULL, _IONBF, 0);
    printf("random_ops_against_model: seed=%" PRIu64 " steps=%d (replay: STORAGE_SEED=%" PRIu64
           ")\n",
           seed, steps, seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    fflush(stdout);
    rng_state = seed;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 1024;
    o.buffer_max_bytes = 256; /* records reach the kernel before wal_sync */
    o.io.fault = note_fsync;
    memset(&synced_tab, 0, sizeof synced_tab);
    struct model *m = calloc(1, sizeof *m);
    m->term = 1;
    model_durable(m);
    struct wal_recovered r;
    struct wal *w = model_open(m, &o, &r, f->dir);
    wal_recovered_deinit(&r);
    int crashes = 0, truncs = 0, compacts = 0, installs = 0, reads = 0, holes = 0;
    for (int step = 0; step < steps; step++) {
        uint64_t op = rnd_below(100);
        if (getenv("STORAGE_TRACE"))
            printf("step %d op %" PRIu64 " last %" PRIu64 " durable %" PRIu64 " snap %" PRIu64
                   " never %d\n",
                   step, op, m->last, m->durable, m->snap_index, m->never);
        if (op < 40 && m->last < 19000) {
            if (rnd_below(10) == 0) m->term++;
            uint64_t k = 1 + rnd_below(8);
            append_range(w, m->last + 1, m->last + k, m->term);
            for (uint64_t i = 1; i <= k; i++)
                m->terms[m->last + i] = m->term;
            m->last += k;
        } else if (op < 55) {
            assert_int_equal(wal_sync(w), 0);
            model_batch(m);
        } else if (op < 62) {
            uint64_t t = ++m->hs_latest;
            struct wal_hard_state hs = {.term = t, .vote = t % 5, .commit = t * 7};
            assert_int_equal(wal_save_hard_state(w, &hs), 0);
        } else if (op < 70) {
            if (m->last <= m->snap_index) continue;
            uint64_t from = m->snap_index + 1 + rnd_below(m->last - m->snap_index + 1);
            assert_int_equal(wal_truncate_suffix(w, from), 0);
            if (from <= m->last) { /* the pending batch is closed and synced, then cut */
                truncs++;
                m->last = from - 1;
                model_durable(m);
            }
        } else if (op < 75) {
            uint64_t idx, term;
            uint64_t kind = rnd_below(8);
            if (kind == 0) { /* a snapshot from the leader, past our log */
                idx = m->last + 1 + rnd_below(5);
                if (idx >= 19000) continue;
                term = ++m->term;
            } else if (kind == 1) { /* the leader's, over a conflicting entry of ours */
                if (m->last <= m->snap_index) continue;
                idx = m->snap_index + 1 + rnd_below(m->last - m->snap_index);
                term = 1 + rnd_below(m->term + 1);
                if (idx < m->last) assert_int_equal(wal_truncate_suffix(w, idx + 1), 0);
                m->last = idx;
                m->term = term;
                installs++;
            } else { /* our own, of durable entries */
                if (m->durable <= m->snap_index) continue;
                idx = m->snap_index + 1 + rnd_below(m->durable - m->snap_index);
                term = m->terms[idx];
            }
            m->terms[idx] = term;
            save_snapshot(f->dir, idx, term);
            assert_int_equal(wal_compact(w, idx, term), 0);
            compacts++;
            m->snap_index = idx;
            if (idx >= m->last) {
                m->last = idx;
                model_durable(m);
            }
            uint64_t t = 0;
            assert_int_equal(wal_term_at(w, idx, &t), 0);
            assert_int_equal(t, term);
        } else if (op < 83) {
            wal_crash(w);
            crashes++;
            uint64_t c = rnd_below(4);
            if (c == 1 || c == 2) lose_unsynced(f->dir, c == 2);
            if (c == 3) punch_unsynced_hole(f->dir), holes++;
            w = model_open(m, &o, &r, f->dir);
            model_check(m, w, &r);
            wal_recovered_deinit(&r);
        } else if (op < 95) {
            /* read a random range back (what a lagging follower would be sent) */
            if (m->last <= m->snap_index) continue;
            uint64_t lo = m->snap_index + 1 + rnd_below(m->last - m->snap_index);
            uint64_t hi = lo + 1 + rnd_below(40);
            uint64_t max_bytes = rnd_below(2) ? UINT64_MAX : rnd_below(200);
            struct wal_entry es[64];
            while (lo < hi && lo <= m->last) {
                size_t n = 0;
                char err[256];
                int rc = wal_read_entries(w, lo, hi, max_bytes, es, 64, &n, err, sizeof err);
                if (rc) fail_msg("read %" PRIu64 "..%" PRIu64 ": %s", lo, hi, err);
                assert_true(n >= 1);
                for (size_t i = 0; i < n; i++) {
                    check_entry(&es[i], lo + i, m->terms[lo + i]);
                    uint64_t t = 0;
                    assert_int_equal(wal_term_at(w, lo + i, &t), 0);
                    assert_int_equal(t, m->terms[lo + i]);
                }
                lo += n;
                reads++;
            }
            uint64_t t = 0;
            char err[256];
            size_t n = 0;
            assert_int_not_equal(
                wal_read_entries(w, m->last + 1, m->last + 2, 100, es, 64, &n, err, sizeof err), 0);
            if (m->snap_index) {
                assert_int_not_equal(wal_read_entries(w, m->snap_index, m->snap_index + 1, 100, es,
                                                      64, &n, err, sizeof err),
                                     0);
                if (m->snap_index > 1)
                    assert_int_not_equal(wal_term_at(w, m->snap_index - 1, &t), 0);
            }
        } else if (op < 97) {
            wal_close(w);
            model_durable(m);
            w = model_open(m, &o, &r, f->dir);
            model_check(m, w, &r);
            wal_recovered_deinit(&r);
        }
        if (m->term < wal_last_term(w)) m->term = wal_last_term(w);
    }
    wal_close(w);
    model_durable(m);
    w = open_ok(f->dir, &o, &r);
    model_check(m, w, &r);
    wal_recovered_deinit(&r);
    wal_close(w);
    printf("random_ops_against_model: %d crashes (%d with a hole), %d truncations, %d compactions "
           "(%d over a conflicting entry), %d reads, last %" PRIu64 "\n",
           crashes, holes, truncs, compacts, installs, reads, m->last);
    assert_true(crashes > 0 && truncs > 0 && compacts > 0 && reads > 0);
    free(m);
}

/* Bit rot under a running node: reading the damaged entry back reports corruption with the
 * file and offset (the core then treats the entries as unavailable) instead of handing out bad
 * data; entries before it still read. Out-of-range reads are refused. */
static void read_back_detects_corruption(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    wal_recovered_deinit(&r);
    append_range(w, 1, 200, 1);
    assert_int_equal(wal_sync(w), 0);
    struct wal_entry es[256];
    size_t n = 0;
    char err[512];
    assert_int_equal(wal_read_entries(w, 1, 201, UINT64_MAX, es, 256, &n, err, sizeof err), 0);
    assert_int_equal(n, 200);
    for (size_t i = 0; i < n; i++)
        check_entry(&es[i], i + 1, 1);
    uint64_t t = 0;
    assert_int_equal(wal_term_at(w, 200, &t), 0);
    assert_int_equal(t, 1);
    assert_int_not_equal(wal_term_at(w, 201, &t), 0);
    assert_int_not_equal(wal_read_entries(w, 201, 202, 100, es, 256, &n, err, sizeof err), 0);
    assert_int_not_equal(wal_read_entries(w, 0, 5, 100, es, 256, &n, err, sizeof err), 0);
    /* flip a byte in the payload of a record near the end of the segment */
    char seg[600];
    nth_file(f->dir, "wal-", 0, seg, sizeof seg);
    off_t size = file_size(seg);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    off_t at = size - 40 - 20; /* before the batch-end record, inside entry 200 */
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    int rc = wal_read_entries(w, 150, 201, UINT64_MAX, es, 256, &n, err, sizeof err);
    assert_int_equal(rc, STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "checksum"));
    assert_non_null(strstr(err, seg));
    assert_int_equal(wal_read_entries(w, 1, 100, UINT64_MAX, es, 256, &n, err, sizeof err), 0);
    assert_int_equal(n, 99);
    wal_crash(w);
}

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

/* ---- what a power loss may undo: the directory and the files' unsynced bytes ---- */

/* A directory-level power-loss model, kept by the fault hook: the names the directory held at
 * its last fsync (a rename or create after that may be undone by a power loss), and each file's
 * size at its last fsync (note_fsync). And one rule checked as it happens: when a new segment's
 * base is fsync'd (its .tmp), every existing segment must already be synced to its end, since
 * from then on only the last segment may have a torn tail (an older one with an unsynced batch
 * is corruption at the next open, or silently loses that batch). */
static char dir_listed[8192];
static const char *model_dir;
static char durability_violation[512];

static bool listed(const char *name)
{
    char want[300];
    snprintf(want, sizeof want, "|%s|", name);
    return strstr(dir_listed, want) != NULL;
}

static off_t synced_size_of(const char *file)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(file, "."), file);
    for (int k = 0; k < synced_tab.n; k++)
        if (strcmp(synced_tab.name[k], name) == 0) return synced_tab.size[k];
    return -1;
}

static int durability_model(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    if (op != STORAGE_OP_FSYNC) return 0;
    if (strcmp(path, model_dir) == 0) {
        DIR *d = opendir(path);
        struct dirent *de;
        snprintf(dir_listed, sizeof dir_listed, "|");
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(dir_listed);
            snprintf(dir_listed + n, sizeof dir_listed - n, "%s|", de->d_name);
        }
        closedir(d);
        return 0;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t blen = strlen(base);
    if (strncmp(base, "wal-", 4) == 0 && blen > 4 && strcmp(base + blen - 4, ".tmp") == 0 &&
        !durability_violation[0]) {
        DIR *d = opendir(model_dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (strncmp(de->d_name, "wal-", 4) != 0 || n < 4 ||
                strcmp(de->d_name + n - 4, ".log") != 0)
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", model_dir, de->d_name);
            off_t synced = synced_size_of(de->d_name), size = file_size(p);
            if (synced != size)
                snprintf(durability_violation, sizeof durability_violation,
                         "new segment %s started while %s has %lld bytes, synced %lld", base,
                         de->d_name, (long long)size, (long long)synced);
        }
        closedir(d);
    }
    return note_fsync(ctx, op, path);
}

/* Every segment and snapshot file in the directory was there when the directory was last
 * fsync'd: a rename (or create) not followed by an fsync of the directory may be undone by a
 * power loss, and with it everything synced into the file. */
static void assert_names_durable(const char *dir, const char *when)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        bool seg =
            strncmp(de->d_name, "wal-", 4) == 0 && n > 4 && strcmp(de->d_name + n - 4, ".log") == 0;
        bool snap = strncmp(de->d_name, "snap-", 5) == 0 && n > 5 &&
                    strcmp(de->d_name + n - 5, ".snap") == 0;
        if ((seg || snap) && !listed(de->d_name))
            fail_msg("%s: %s is not in the directory as of its last fsync (%s)", when, de->d_name,
                     dir_listed);
    }
    closedir(d);
    if (durability_violation[0]) fail_msg("%s: %s", when, durability_violation);
}

static void model_reset(const char *dir)
{
    model_dir = dir;
    dir_listed[0] = 0;
    durability_violation[0] = 0;
    synced_tab.n = 0;
}

/* Rollover, truncation, compaction and snapshots make their new files' names durable (fsync of
 * the directory after the rename) and start a new segment only once the older ones are synced
 * to their ends. Under fsync batch, so that wal_sync leaves written bytes unsynced: the
 * structural steps must sync them themselves (docs/storage.md: "Under every policy the
 * structural steps still sync"). */
static void structural_steps_are_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = durability_model;
    o.fsync = WAL_FSYNC_BATCH;
    o.batch_interval_ms = 1000000;
    o.segment_max_bytes = 600;
    o.now_ms = fake_clock;
    fake_now = 1;
    model_reset(f->dir);
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_names_durable(f->dir, "open");
    append_batches(w, 1, 60, 1, 4); /* several rollovers */
    struct wal_stats st;
    wal_stats(w, &st);
    assert_true(st.n_segments >= 3);
    assert_names_durable(f->dir, "rollover");
    append_range(w, 61, 64, 2); /* pending: the truncation writes them, as their own batch */
    assert_int_equal(wal_truncate_suffix(w, 63), 0);
    assert_names_durable(f->dir, "truncation");
    append_range(w, 63, 70, 3);
    assert_int_equal(wal_sync(w), 0);
    save_snapshot_io(f->dir, 70, 3, &o.io);
    assert_names_durable(f->dir, "snapshot");
    append_range(w, 71, 72, 3);                 /* pending */
    assert_int_equal(wal_compact(w, 75, 4), 0); /* a leader's snapshot past the log: RESET */
    assert_names_durable(f->dir, "compaction past the log");
    append_batches(w, 76, 90, 4, 5);
    assert_int_equal(wal_compact(w, 80, 4), 0);
    assert_names_durable(f->dir, "compaction");
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* What recovery keeps is fsync'd before the WAL is used: after a process crash the bytes just
 * read may be only in the page cache, and the node is about to vote and acknowledge on them.
 * Both for a clean tail and for a torn one that recovery cuts off. */
static void recovered_segments_are_synced(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 600;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 40, 1, 4);
    wal_close(w);
    wal_recovered_deinit(&r);
    char last[512];
    for (int torn = 0; torn < 2; torn++) {
        nth_file(f->dir, "wal-", count_files(f->dir, "wal-") - 1, last, sizeof last);
        if (torn) { /* half a record after the last batch end */
            FILE *fp = fopen(last, "ab");
            assert_non_null(fp);
            assert_int_equal(fwrite("\x30\x00\x00\x00\x01\x00\x00", 1, 7, fp), 7);
            fclose(fp);
        }
        o.io.fault = durability_model;
        model_reset(f->dir);
        log_text[0] = 0;
        w = open_ok(f->dir, &o, &r);
        assert_int_equal(r.n_entries, 40);
        if (torn) assert_non_null(strstr(log_text, "torn record"));
        DIR *d = opendir(f->dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strncmp(de->d_name, "wal-", 4) != 0) continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
            if (synced_size_of(de->d_name) != file_size(p))
                fail_msg("%s%s: %s has %lld bytes after open, synced %lld", torn ? "torn " : "",
                         "tail", de->d_name, (long long)file_size(p),
                         (long long)synced_size_of(de->d_name));
        }
        closedir(d);
        wal_close(w);
        wal_recovered_deinit(&r);
        o.io.fault = NULL;
    }
}

/* ---- damage that passes a checksum, or sits right under the synced offset ---- */

/* Hand-made segment images: every record framed with valid checksums, so only the meaning of
 * the bytes is wrong (what a bug or an attacker with write access, not a bit flip, leaves). */
struct seg_img {
    uint8_t b[2048];
    size_t len;
    uint64_t seq, first;
};

static void img_start(struct seg_img *g, uint64_t seq, uint64_t first, bool with_hs)
{
    g->seq = seq;
    g->first = first;
    wal_encode_header(g->b, seq, first, 0);
    g->len = WAL_HEADER_BYTES;
    if (with_hs) {
        struct wal_hard_state hs = {.term = 3, .vote = 1, .commit = 0};
        wal_encode_hard_state(g->b + g->len, &hs);
        g->len += WAL_REC_HEADER_BYTES + WAL_HS_BYTES;
    }
}

static void img_entry(struct seg_img *g, uint64_t index, uint64_t term)
{
    struct wal_entry e = {.index = index, .term = term, .type = 0, .len = 0, .data = NULL};
    wal_encode_entry(g->b + g->len, &e);
    g->len += wal_entry_record_bytes(0);
}

static void img_batch_end(struct seg_img *g)
{
    wal_encode_batch_end(g->b + g->len, g->seq, g->len, WAL_SEG_BASE_BYTES);
    g->len += WAL_BATCH_END_REC_BYTES;
}

/* Writes g as the data directory's only segment; returns its path in path. */
static void img_write(const char *dir, const struct seg_img *g, char *path, size_t len)
{
    snprintf(path, len, "%s/wal-%016" PRIx64 "-%016" PRIx64 ".log", dir, g->seq, g->first);
    write_all(path, g->b, g->len);
}

/* Opening must refuse the image with STORAGE_ECORRUPT and a message holding `want`, and leave
 * the file as it was. */
static void expect_refused(const char *dir, const struct seg_img *g, const char *want)
{
    char path[512], err[512] = "";
    img_write(dir, g, path, sizeof path);
    struct wal_options o = opts_default();
    int rc = open_err(dir, &o, err, sizeof err);
    if (rc != STORAGE_ECORRUPT || !strstr(err, want))
        fail_msg("expected corruption '%s', got %d: %s", want, rc, err);
    assert_int_equal(file_size(path), (off_t)g->len);
    assert_int_equal(unlink(path), 0);
}

/* Entries behind valid checksums must still form a log: consecutive indexes, terms that never
 * go down (Raft §5.3), a segment that starts with its hard state. Accepting any of these would
 * hand the core a log it never wrote (a vote of term 0, an entry twice, a term that went back). */
static void checksummed_nonsense_is_corruption(void **state)
{
    struct fx *f = *state;
    struct seg_img g;
    img_start(&g, 1, 1, true);
    img_entry(&g, 1, 2);
    img_entry(&g, 2, 1); /* the term goes down */
    img_batch_end(&g);
    expect_refused(f->dir, &g, "below the previous term");

    img_start(&g, 1, 1, true);
    img_entry(&g, 1, 1);
    img_entry(&g, 2, 1);
    img_entry(&g, 2, 1); /* the same index twice */
    img_batch_end(&g);
    expect_refused(f->dir, &g, "does not follow");

    img_start(&g, 1, 1, true);
    img_entry(&g, 1, 1);
    img_entry(&g, 3, 1); /* one missing */
    img_batch_end(&g);
    expect_refused(f->dir, &g, "does not follow");

    img_start(&g, 1, 1, false); /* no hard state: term and vote would read as 0 */
    img_entry(&g, 1, 1);
    img_entry(&g, 2, 1); /* (the batch end then sits past the base's size: well formed) */
    img_batch_end(&g);
    expect_refused(f->dir, &g, "hard state belongs");

    /* the same records, well formed, open: the refusals above are about meaning only */
    img_start(&g, 1, 1, true);
    img_entry(&g, 1, 1);
    img_entry(&g, 2, 2);
    img_batch_end(&g);
    char path[512];
    img_write(f->dir, &g, path, sizeof path);
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 2);
    assert_int_equal(r.hard_state.term, 3);
    assert_int_equal(r.hard_state.vote, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* A flipped bit in a segment header's flags would make it a RESET segment, which forgets every
 * entry before it: the header checksum must catch it, in any segment. */
static void flipped_segment_flags_are_corruption(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 512;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 60, 1, 3);
    wal_close(w);
    wal_recovered_deinit(&r);
    size_t n_segs = count_files(f->dir, "wal-");
    assert_true(n_segs >= 3);
    size_t which[2] = {1, n_segs - 1};
    for (int k = 0; k < 2; k++) {
        char seg[512], err[512];
        nth_file(f->dir, "wal-", which[k], seg, sizeof seg);
        size_t len;
        uint8_t *b = read_all(seg, &len);
        b[32] ^= 1; /* flags: RESET */
        write_all(seg, b, len);
        assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
        assert_non_null(strstr(err, seg));
        assert_non_null(strstr(err, "header checksum mismatch"));
        b[32] ^= 1;
        write_all(seg, b, len);
        free(b);
    }
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 60);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* One entry per segment: losing one segment loses exactly one entry, the smallest gap. */
static void one_missing_entry_is_a_gap(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 100; /* base 80 + one entry + its batch end: full */
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 6, 1, 1);
    wal_close(w);
    wal_recovered_deinit(&r);
    assert_int_equal(count_files(f->dir, "wal-"), 7);
    char seg[512], aside[600], err[512];
    nth_file(f->dir, "wal-", 2, seg, sizeof seg); /* entry 3 alone */
    snprintf(aside, sizeof aside, "%s/aside", f->dir);
    assert_int_equal(rename(seg, aside), 0);
    assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(rename(aside, seg), 0);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 6);
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* Damage in the very last record an fsync covered (here the first batch's own batch end, the
 * record right under the synced offset the next batch end claims) is corruption like any
 * damage further up: cutting there as if torn would drop an acknowledged batch. */
static void damage_right_under_the_synced_offset(void **state)
{
    struct fx *f = *state;
    char seg[512], err[512], want[64];
    size_t start = write_five(f->dir, seg, sizeof seg); /* synced through `start` */
    size_t len;
    uint8_t *orig = read_all(seg, &len);
    size_t spots[3] = {start - BATCH_END_BYTES + 20, start - 1, rec_offset(4) + 17};
    for (int k = 0; k < 3; k++) {
        uint8_t *b = malloc(len);
        memcpy(b, orig, len);
        b[spots[k]] ^= 0x40;
        write_all(seg, b, len);
        free(b);
        struct wal_options o = opts_default();
        assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
        assert_non_null(strstr(err, "covered by an fsync"));
        snprintf(want, sizeof want, "synced through offset %zu", start);
        assert_non_null(strstr(err, want));
        assert_int_equal(file_size(seg), (off_t)len); /* nothing was cut */
    }
    free(orig);
}

/* An entry whose data holds the bytes of a batch-end record (a value a client chose) is not
 * taken for one when recovery looks past a damaged record for batch ends: it must name its own
 * offset, and a synced offset not past itself. Else the unsynced torn tail it sits in reads as
 * damage to acknowledged data and the node refuses to start. */
static void batch_end_bytes_inside_an_entry(void **state)
{
    struct fx *f = *state;
    for (int variant = 0; variant < 2; variant++) {
        struct wal_options o = opts_default();
        o.fsync = WAL_FSYNC_NEVER; /* written, never synced: a torn tail is possible */
        struct wal_recovered r;
        struct wal *w = open_ok(f->dir, &o, &r);
        append_range(w, 1, 4, 1);
        assert_int_equal(wal_sync(w), 0);
        struct wal_stats st;
        wal_stats(w, &st);
        size_t start = (size_t)st.written_bytes; /* entry 5's record starts here */
        uint64_t at = start + 16 + 17;           /* where its data sits in the file */
        uint8_t fake[WAL_BATCH_END_REC_BYTES];
        if (variant == 0) /* names another offset */
            wal_encode_batch_end(fake, 1, at + 8, at);
        else /* names itself, claims a synced offset past itself */
            wal_encode_batch_end(fake, 1, at, at + 8);
        struct wal_entry e = {.index = 5, .term = 1, .type = 0, .len = sizeof fake, .data = fake};
        assert_int_equal(wal_append(w, &e, 1), 0);
        assert_int_equal(wal_sync(w), 0); /* entry 5 and its batch end reach the file */
        wal_crash(w);
        wal_recovered_deinit(&r);
        o.fsync = WAL_FSYNC_ALWAYS;
        char seg[512];
        nth_file(f->dir, "wal-", 0, seg, sizeof seg);
        size_t len;
        uint8_t *b = read_all(seg, &len);
        b[start + 2] ^= 1; /* entry 5's length: its header checksum fails, the walk goes on */
        write_all(seg, b, len);
        free(b);
        log_text[0] = 0;
        w = open_ok(f->dir, &o, &r);
        assert_int_equal(r.n_entries, 4);
        assert_non_null(strstr(log_text, "torn record"));
        assert_int_equal(file_size(seg), (off_t)start);
        wal_close(w);
        wal_recovered_deinit(&r);
        assert_int_equal(unlink(seg), 0);
    }
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

/* While set, pwrite writes nothing and says so (returns 0), as on a device that is full. */
static int zero_writes;
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (zero_writes > 0) {
        zero_writes--;
        return 0;
    }
    return (ssize_t)syscall(SYS_pwrite64, fd, buf, n, off);
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

/* Raft §5.2 (Figure 2): the vote is persistent state. A vote granted in a term the node already
 * knew (learned from a leader or a rejected candidate) changes only the vote; it must reach the
 * disk like a new term, or a restart could vote again in that term: two leaders in one term. */
static void vote_in_a_known_term_is_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    struct wal_hard_state hs = {.term = 5, .vote = 0, .commit = 0};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    hs.vote = 2;
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.hard_state.term, 5);
    assert_int_equal(r.hard_state.vote, 2);
    hs.commit = 7; /* and a commit index that moved alone */
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_crash(w);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs);
    wal_close(w);
    wal_recovered_deinit(&r);
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

/* A segment's name and header agree: the name's sequence number and first index place it in
 * the log (reads, truncation, compaction go by them), so a file renamed by hand or a header
 * rewritten is refused rather than replayed at one place and read back at another. */
static void segment_named_unlike_its_header(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 512;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 30, 1, 3);
    wal_close(w);
    wal_recovered_deinit(&r);
    size_t n = count_files(f->dir, "wal-");
    assert_true(n >= 2);
    char seg[512], moved[600], err[512];
    nth_file(f->dir, "wal-", n - 1, seg, sizeof seg);
    const char *base = strrchr(seg, '/') + 1;
    unsigned long long seq = 0, first = 0;
    assert_int_equal(sscanf(base, "wal-%16llx-%16llx.log", &seq, &first), 2);
    for (int k = 0; k < 2; k++) { /* a later sequence number (still the last); a first index + 1 */
        snprintf(moved, sizeof moved, "%s/wal-%016llx-%016llx.log", f->dir, seq + (k == 0 ? 16 : 0),
                 first + (k == 1 ? 1 : 0));
        assert_int_equal(rename(seg, moved), 0);
        assert_int_equal(open_err(f->dir, &o, err, sizeof err), STORAGE_ECORRUPT);
        assert_non_null(strstr(err, "unlike the name"));
        assert_int_equal(rename(moved, seg), 0);
    }
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.n_entries, 30);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_drops_only_unsynced, setup, teardown),
        cmocka_unit_test_setup_teardown(group_commit_one_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(sync_duration_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(async_request_within, setup, teardown),
        cmocka_unit_test_setup_teardown(async_sync_thread, setup, teardown),
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
        cmocka_unit_test_setup_teardown(torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_mid_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(unsynced_batch_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_order_sectors, setup, teardown),
        cmocka_unit_test_setup_teardown(rollover_and_truncate_keep_batches_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(data_dir_creation_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_in_older_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_round_trip_and_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(injected_enospc_and_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(too_big_and_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(random_ops_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_detects_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(structural_steps_are_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(recovered_segments_are_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(checksummed_nonsense_is_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_segment_flags_are_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(one_missing_entry_is_a_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(damage_right_under_the_synced_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_end_bytes_inside_an_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_any_flipped_byte_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_named_unlike_its_header_is_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(snapshot_older_kept_until_newer_is_durable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(snapshot_served_only_when_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(segment_named_unlike_its_header, setup, teardown),
        cmocka_unit_test_setup_teardown(async_sync_covers_only_what_came_before, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_exceeded_is_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(syncs_reach_the_kernel, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_byte_write_is_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(vote_in_a_known_term_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(async_answer_for_a_replaced_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_respects_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_deleted_newest_first, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
