/* test_storage_helpers.h — what the storage unit tests (test_storage*.c) share: a fresh data
 * directory per test (setup/teardown), captured log lines, deterministic entries and the
 * checks on them, file helpers, a fake clock, a snapshot writer and the WAL's record sizes.
 * Include after cmocka.h; everything here is static inline so a file may use any subset. */
#ifndef SYNOD_TEST_STORAGE_HELPERS_H
#define SYNOD_TEST_STORAGE_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/snap.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"
#include "storage/wal.h"
#include "util/assert.h"

struct fx {
    char dir[64];
};

static inline int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/synod-test-storage-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Log lines from the storage module, kept for assertions. */
static char log_text[65536];
static inline void capture_log(void *ctx, const char *msg)
{
    (void)ctx;
    size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s\n", msg);
}

static inline struct wal_options opts_default(void)
{
    struct wal_options o = {0};
    o.io.log = capture_log;
    return o;
}

/* Deterministic payload for (index, term). */
static inline uint32_t payload_len(uint64_t index)
{
    return (uint32_t)((index * 7) % 61);
}
static inline void payload_fill(uint8_t *buf, uint64_t index, uint64_t term)
{
    for (uint32_t i = 0; i < payload_len(index); i++)
        buf[i] = (uint8_t)(index * 31 + term * 17 + i);
}

static inline void append_range(struct wal *w, uint64_t from, uint64_t to, uint64_t term)
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
static inline void append_batches(struct wal *w, uint64_t from, uint64_t to, uint64_t term,
                                  uint64_t per)
{
    for (uint64_t i = from; i <= to; i += per) {
        append_range(w, i, i + per - 1 < to ? i + per - 1 : to, term);
        assert_int_equal(wal_sync(w), 0);
    }
}

static inline void check_entry(const struct wal_entry *e, uint64_t index, uint64_t term)
{
    uint8_t data[64];
    payload_fill(data, index, term);
    assert_int_equal(e->index, index);
    assert_int_equal(e->term, term);
    assert_int_equal(e->type, index % 3);
    assert_int_equal(e->len, payload_len(index));
    assert_memory_equal(e->data, data, e->len);
}

static inline struct wal *open_ok(const char *dir, const struct wal_options *o,
                                  struct wal_recovered *r)
{
    struct wal *w = NULL;
    char err[512] = "";
    int rc = wal_open(dir, o, &w, r, err, sizeof err);
    if (rc) fail_msg("wal_open: %d %s", rc, err);
    return w;
}

static inline int open_err(const char *dir, const struct wal_options *o, char *err, size_t err_len)
{
    struct wal *w = NULL;
    struct wal_recovered r;
    int rc = wal_open(dir, o, &w, &r, err, err_len);
    assert_null(w);
    return rc;
}

static inline size_t count_files(const char *dir, const char *prefix)
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
static inline void nth_file(const char *dir, const char *prefix, size_t n, char *out, size_t len)
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

static inline uint8_t *read_all(const char *path, size_t *len)
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

static inline void write_all(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static inline off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static uint64_t fake_now;
static inline uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static inline void save_snapshot_io(const char *dir, uint64_t index, uint64_t term,
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

static inline void save_snapshot(const char *dir, uint64_t index, uint64_t term)
{
    save_snapshot_io(dir, index, term, NULL);
}

/* WAL record sizes (wal_format.c): an entry record, a new segment's head, a batch end. */
static inline size_t entry_rec_bytes(uint64_t index)
{
    return 16 + 17 + payload_len(index);
}
#define SEG_HEAD_BYTES  80 /* segment header 40 + the hard-state record 40 */
#define BATCH_END_BYTES 40 /* record header 16 + seq, own offset, synced offset */

#endif
