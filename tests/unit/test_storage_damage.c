/* test_storage_damage.c — what recovery makes of damaged WAL segments: torn tails cut at every
 * offset, flipped bytes, unsynced batches kept all or nothing, sectors persisted out of order,
 * batches that never span segments, corruption in older segments and under a running node, and
 * damage that passes a checksum (nonsense entries, header flags, gaps, batch-end bytes inside
 * an entry, a segment named unlike its header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_storage_helpers.h"

/* ---- torn tails and corruption ---- */

/* Offset of entry `index`'s record in a segment that starts at entry 1 and whose first batch
 * holds entries 1..index (no other records before it). */
static size_t rec_offset(uint64_t index)
{
    size_t off = SEG_HEAD_BYTES;
    for (uint64_t i = 1; i < index; i++)
        off += entry_rec_bytes(i);
    return off;
}

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

    img_start(&g, 1, 1, true);
    img_entry(&g, 1, 1);
    g.seq = 7; /* a batch end naming another segment (stale bytes of an older file) */
    img_batch_end(&g);
    g.seq = 1;
    expect_refused(f->dir, &g, "does not describe itself");

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_mid_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(unsynced_batch_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_order_sectors, setup, teardown),
        cmocka_unit_test_setup_teardown(rollover_and_truncate_keep_batches_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_in_older_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(read_back_detects_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(checksummed_nonsense_is_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_segment_flags_are_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(one_missing_entry_is_a_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(damage_right_under_the_synced_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_end_bytes_inside_an_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(segment_named_unlike_its_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
