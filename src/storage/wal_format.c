/* wal_format.c — WAL segment and record encoding, and the replay of segment images. No I/O:
 * wal.c reads files and hands their bytes here, and so does the fuzz target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_internal.h"
#include "util/assert.h"
#include "util/crc32c.h"

/* ---- encoding ---- */

static uint32_t header_crc(const uint8_t *h)
{
    uint32_t c = crc32c(0, h, 12);
    return crc32c(c, h + 16, WAL_HEADER_BYTES - 16);
}

void wal_encode_header(uint8_t out[WAL_HEADER_BYTES], uint64_t seq, uint64_t first_index,
                       uint32_t flags)
{
    memset(out, 0, WAL_HEADER_BYTES);
    memcpy(out, WAL_MAGIC, 8);
    st_put32(out + 8, WAL_VERSION);
    st_put64(out + 16, seq);
    st_put64(out + 24, first_index);
    st_put32(out + 32, flags);
    st_put32(out + 12, header_crc(out));
}

static void encode_rec_header(uint8_t *out, uint8_t type, uint32_t len, uint32_t payload_crc)
{
    st_put32(out, len);
    out[4] = type;
    out[5] = out[6] = out[7] = 0;
    st_put32(out + 8, payload_crc);
    st_put32(out + 12, crc32c(0, out, 12));
}

void wal_encode_record(uint8_t *out, uint8_t type, const uint8_t *payload, uint32_t len)
{
    memcpy(out + WAL_REC_HEADER_BYTES, payload, len);
    encode_rec_header(out, type, len, crc32c(0, payload, len));
}

size_t wal_entry_record_bytes(uint32_t data_len)
{
    return WAL_REC_HEADER_BYTES + WAL_ENTRY_FIXED_BYTES + (size_t)data_len;
}

void wal_encode_entry(uint8_t *out, const struct wal_entry *e)
{
    uint8_t *p = out + WAL_REC_HEADER_BYTES;
    st_put64(p, e->index);
    st_put64(p + 8, e->term);
    p[16] = e->type;
    if (e->len) memcpy(p + WAL_ENTRY_FIXED_BYTES, e->data, e->len);
    uint32_t len = WAL_ENTRY_FIXED_BYTES + e->len;
    encode_rec_header(out, WAL_REC_ENTRY, len, crc32c(0, p, len));
}

void wal_encode_hard_state(uint8_t out[WAL_REC_HEADER_BYTES + WAL_HS_BYTES],
                           const struct wal_hard_state *hs)
{
    uint8_t p[WAL_HS_BYTES];
    st_put64(p, hs->term);
    st_put64(p + 8, hs->vote);
    st_put64(p + 16, hs->commit);
    wal_encode_record(out, WAL_REC_HARD_STATE, p, WAL_HS_BYTES);
}

void wal_encode_batch_end(uint8_t out[WAL_BATCH_END_REC_BYTES], uint64_t seq, uint64_t off,
                          uint64_t synced_off)
{
    uint8_t p[WAL_BATCH_END_BYTES];
    st_put64(p, seq);
    st_put64(p + 8, off);
    st_put64(p + 16, synced_off);
    wal_encode_record(out, WAL_REC_BATCH_END, p, WAL_BATCH_END_BYTES);
}

/* ---- decoding ---- */

enum rec_status { REC_OK, REC_BAD, REC_RUNS_PAST_END };

/* Checks the record framed at off. On REC_OK sets *type, *payload, *plen. *why names a defect. */
static enum rec_status decode_rec(const uint8_t *buf, size_t len, size_t off, uint8_t *type,
                                  const uint8_t **payload, uint32_t *plen, const char **why)
{
    SYN_ASSERT(off <= len);
    if (len - off < WAL_REC_HEADER_BYTES) {
        *why = "record header cut short by the end of the file";
        return REC_RUNS_PAST_END;
    }
    const uint8_t *h = buf + off;
    if (st_get32(h + 12) != crc32c(0, h, 12) || h[5] || h[6] || h[7]) {
        *why = "record header checksum mismatch";
        return REC_BAD;
    }
    uint32_t n = st_get32(h);
    if (n > WAL_ENTRY_FIXED_BYTES + WAL_ENTRY_MAX_BYTES) {
        *why = "record length over the limit";
        return REC_BAD;
    }
    if (n > len - off - WAL_REC_HEADER_BYTES) {
        *why = "record runs past the end of the file";
        return REC_RUNS_PAST_END;
    }
    if (st_get32(h + 8) != crc32c(0, h + WAL_REC_HEADER_BYTES, n)) {
        *why = "record checksum mismatch";
        return REC_BAD;
    }
    *type = h[4];
    *payload = h + WAL_REC_HEADER_BYTES;
    *plen = n;
    return REC_OK;
}

int wal_decode_record(const uint8_t *buf, size_t len, size_t off, uint8_t *type,
                      const uint8_t **payload, uint32_t *plen, const char **why)
{
    enum rec_status st = decode_rec(buf, len, off, type, payload, plen, why);
    return st == REC_OK ? 0 : st == REC_RUNS_PAST_END ? 1 : -1;
}

/* ---- replay ---- */

void wal_recovery_init(struct wal_recovery *rc, uint64_t snap_index, uint64_t snap_term)
{
    memset(rc, 0, sizeof *rc);
    rc->snap_index = snap_index;
    rc->snap_term = snap_term;
}

static void drop_entries_from(struct wal_recovery *rc, uint64_t index)
{
    while (rc->n > 0 && rc->entries[rc->n - 1].index >= index) {
        rc->n--;
        free((void *)rc->entries[rc->n].data);
    }
}

void wal_recovery_deinit(struct wal_recovery *rc)
{
    drop_entries_from(rc, 0);
    free(rc->entries);
    free(rc->marks);
    memset(rc, 0, sizeof *rc);
}

/* Term of entry `index` in the current lineage, 0 when not known. */
static uint64_t known_term(const struct wal_recovery *rc, uint64_t index)
{
    if (index == 0) return 0;
    if (index > rc->snap_index) {
        if (rc->n == 0) return 0;
        uint64_t first = rc->entries[0].index;
        if (index < first || index >= first + rc->n) return 0;
        return rc->entries[index - first].term;
    }
    if (index == rc->snap_index) return rc->have_term_at_snap ? rc->term_at_snap : rc->snap_term;
    return 0;
}

/* A segment starting at `first` takes over the log from there (Raft §5.3 truncation, done by
 * starting a new segment); a RESET segment also forgets everything before it. */
static void begin_segment(struct wal_recovery *rc, uint64_t first, bool reset)
{
    if (reset) {
        drop_entries_from(rc, 0);
        rc->have_term_at_snap = false;
        rc->last_index = first - 1;
        rc->last_term = first - 1 == rc->snap_index ? rc->snap_term : 0;
    } else if (first <= rc->last_index) {
        drop_entries_from(rc, first);
        if (first <= rc->snap_index) rc->have_term_at_snap = false;
        rc->last_index = first - 1;
        rc->last_term = known_term(rc, first - 1);
    } else if (first > rc->last_index + 1) {
        /* Only right after the snapshot (check_header enforces it): the log restarts there. */
        rc->have_term_at_snap = false;
        rc->last_index = first - 1;
        rc->last_term = known_term(rc, first - 1);
    }
}

static int add_entry(struct wal_recovery *rc, const uint8_t *p, uint32_t plen, const char *name,
                     size_t off, char *err, size_t err_len)
{
    if (plen < WAL_ENTRY_FIXED_BYTES)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: entry record too short (%u bytes)", name, off, plen);
    uint64_t index = st_get64(p), term = st_get64(p + 8);
    if (index != rc->last_index + 1)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: entry index %llu does not follow index %llu", name, off,
                        (unsigned long long)index, (unsigned long long)rc->last_index);
    if (term < rc->last_term)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: entry %llu has term %llu below the previous term %llu",
                        name, off, (unsigned long long)index, (unsigned long long)term,
                        (unsigned long long)rc->last_term);
    rc->last_index = index;
    rc->last_term = term;
    if (index == rc->snap_index) {
        rc->have_term_at_snap = true;
        rc->term_at_snap = term;
    }
    if (index <= rc->snap_index) return 0; /* covered by the snapshot: not returned */
    if (rc->n == rc->cap) {
        size_t cap = rc->cap ? rc->cap * 2 : 64;
        struct wal_entry *e = realloc(rc->entries, cap * sizeof *e);
        if (!e) return st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", name);
        rc->entries = e;
        rc->cap = cap;
    }
    uint32_t dlen = plen - WAL_ENTRY_FIXED_BYTES;
    uint8_t *data = malloc(dlen ? dlen : 1);
    if (!data) return st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", name);
    if (dlen) memcpy(data, p + WAL_ENTRY_FIXED_BYTES, dlen);
    rc->entries[rc->n++] =
        (struct wal_entry){.index = index, .term = term, .type = p[16], .len = dlen, .data = data};
    return 0;
}

static int check_header(struct wal_recovery *rc, const char *name, const uint8_t *buf, size_t len,
                        uint64_t expect_seq, uint64_t expect_first, uint64_t *first,
                        uint32_t *flags, char *err, size_t err_len)
{
    if (len < WAL_HEADER_BYTES)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 0: segment header cut short (%zu bytes)", name, len);
    if (memcmp(buf, WAL_MAGIC, 8) != 0)
        return st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 0: not a WAL segment", name);
    if (st_get32(buf + 8) != WAL_VERSION)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 8: format version %u, this build reads version %u%s", name,
                        st_get32(buf + 8), WAL_VERSION,
                        st_get32(buf + 8) == 1
                            ? " (version 1 has no batch-end records, so a torn batch cannot be "
                              "told from a complete one; it is not read)"
                            : "");
    if (st_get32(buf + 12) != header_crc(buf) || st_get32(buf + 36) != 0)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 0: segment header checksum mismatch", name);
    uint64_t seq = st_get64(buf + 16);
    *first = st_get64(buf + 24);
    *flags = st_get32(buf + 32);
    if ((expect_seq != UINT64_MAX && seq != expect_seq) ||
        (expect_first != UINT64_MAX && *first != expect_first))
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 16: header says seq %llu first index %llu, unlike the name",
                        name, (unsigned long long)seq, (unsigned long long)*first);
    if (*first == 0 || *first == UINT64_MAX || (*flags & ~WAL_SEG_RESET))
        return st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 24: bad first index or flags",
                        name);
    uint64_t end = rc->last_index > rc->snap_index ? rc->last_index : rc->snap_index;
    if (*first > end + 1)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 24: segment starts at index %llu but the log before it ends "
                        "at %llu: entries are missing",
                        name, (unsigned long long)*first, (unsigned long long)end);
    return 0;
}

/* What the framing of one segment image says, before anything of it is applied. */
struct seg_scan {
    size_t damage; /* offset of the first record that fails its checks; len if none */
    enum rec_status damage_st;
    const char *why;     /* what is wrong with it */
    size_t complete_end; /* end of the last batch-end record before the damage (or the base) */
    uint64_t synced_max; /* largest synced offset claimed for this segment, anywhere in it */
    size_t synced_claim; /* offset of the batch end that claims it; 0: the segment's creation */
    size_t valid_after;  /* first well-formed record after the damage; len if none */
    size_t end;          /* where the written records end: len, or where zeros fill the rest */
};

/* A zero-filled segment (wal_options.preallocate) holds zeros after its last record: space not
 * written yet, not damage. A record header is never all zeros (its type byte is not 0). */
static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* The synced offset a batch-end payload claims, or -1 if it does not describe a batch end at
 * offset `off` of segment `seq` (a bad shape; or, past damage, bytes that only look like one). */
static int64_t batch_end_synced(const uint8_t *p, uint32_t plen, uint64_t seq, size_t off)
{
    if (plen != WAL_BATCH_END_BYTES || st_get64(p) != seq || st_get64(p + 8) != off) return -1;
    uint64_t synced = st_get64(p + 16);
    if (synced < WAL_SEG_BASE_BYTES || synced > off) return -1;
    return (int64_t)synced;
}

/* Walks the records of buf from the header on: where the complete batches end, where the first
 * damaged record is, and (past it) which valid batch ends an out-of-order write left behind. */
static int scan_segment(const char *name, const uint8_t *buf, size_t len, uint64_t seq,
                        struct seg_scan *sc, char *err, size_t err_len)
{
    *sc = (struct seg_scan){.damage = len,
                            .complete_end = WAL_SEG_BASE_BYTES,
                            .synced_max = WAL_SEG_BASE_BYTES,
                            .valid_after = len,
                            .end = len};
    size_t off = WAL_HEADER_BYTES;
    if (len == WAL_HEADER_BYTES)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: segment ends before its hard-state record (it is "
                        "written with the header, before the segment is renamed into place)",
                        name, off);
    while (off < len) {
        uint8_t type = 0;
        const uint8_t *p = NULL;
        uint32_t plen = 0;
        const char *why = "";
        enum rec_status st = decode_rec(buf, len, off, &type, &p, &plen, &why);
        if (st != REC_OK && off > WAL_HEADER_BYTES && all_zero(buf + off, len - off)) {
            sc->end = sc->damage = sc->valid_after = off;
            break;
        }
        if (st != REC_OK) {
            sc->damage = off;
            sc->damage_st = st;
            sc->why = why;
            break;
        }
        if (off == WAL_HEADER_BYTES && (type != WAL_REC_HARD_STATE || plen != WAL_HS_BYTES))
            return st_error(err, err_len, STORAGE_ECORRUPT,
                            "%s: offset %zu: record type %u where the segment's hard state "
                            "belongs",
                            name, off, type);
        if (type == WAL_REC_BATCH_END) {
            int64_t synced = batch_end_synced(p, plen, seq, off);
            if (synced < 0)
                return st_error(err, err_len, STORAGE_ECORRUPT,
                                "%s: offset %zu: batch-end record that does not describe itself "
                                "(length %u)",
                                name, off, plen);
            if ((uint64_t)synced > sc->synced_max) {
                sc->synced_max = (uint64_t)synced;
                sc->synced_claim = off;
            }
            sc->complete_end = off + WAL_BATCH_END_REC_BYTES;
        }
        off += WAL_REC_HEADER_BYTES + plen;
    }
    if (sc->damage == len || sc->damage_st != REC_BAD) return 0;
    /* Past a damaged record: sectors of a write may persist in any order, so later records may
     * be intact. A batch end among them says how far the segment was synced. If the damaged
     * record's header is intact its length says where it ends; else try every byte. */
    size_t p = sc->damage + 1;
    if (st_get32(buf + sc->damage + 12) == crc32c(0, buf + sc->damage, 12))
        p = sc->damage + WAL_REC_HEADER_BYTES + st_get32(buf + sc->damage);
    while (p < len && len - p >= WAL_REC_HEADER_BYTES) {
        if (buf[p + 4] == 0) { /* no record's type byte: skip fast (zero-filled space) */
            p++;
            continue;
        }
        uint8_t type = 0;
        const uint8_t *pl = NULL;
        uint32_t plen = 0;
        const char *why = "";
        if (decode_rec(buf, len, p, &type, &pl, &plen, &why) != REC_OK) {
            p++;
            continue;
        }
        if (sc->valid_after == len) sc->valid_after = p;
        int64_t synced = type == WAL_REC_BATCH_END ? batch_end_synced(pl, plen, seq, p) : -1;
        if (synced > 0 && (uint64_t)synced > sc->synced_max) {
            sc->synced_max = (uint64_t)synced;
            sc->synced_claim = p;
        }
        p += WAL_REC_HEADER_BYTES + plen;
    }
    return 0;
}

/* Decides what a damaged or unfinished tail means: 1 with *valid_end (the end of the last
 * complete batch) and a description in err when it is cut off, or STORAGE_ECORRUPT. */
static int judge_tail(const struct seg_scan *sc, const char *name, size_t len, bool is_last,
                      size_t *valid_end, char *err, size_t err_len)
{
    char after[96] = "";
    if (sc->valid_after < len)
        snprintf(after, sizeof after, ", followed by a valid record at offset %zu",
                 sc->valid_after);
    if (sc->damage < len) {
        if (!is_last)
            return st_error(err, err_len, STORAGE_ECORRUPT,
                            "%s: offset %zu: %s%s (in a segment that is not the last)", name,
                            sc->damage, sc->why, after);
        if (sc->synced_max > sc->damage) {
            char claim[96] = "its creation (header and first hard state are fsync'd first)";
            if (sc->synced_claim)
                snprintf(claim, sizeof claim, "the batch-end record at offset %zu",
                         sc->synced_claim);
            return st_error(err, err_len, STORAGE_ECORRUPT,
                            "%s: offset %zu: %s%s; the record was covered by an fsync (synced "
                            "through offset %llu, says %s): the disk lost or damaged "
                            "acknowledged data",
                            name, sc->damage, sc->why, after, (unsigned long long)sc->synced_max,
                            claim);
        }
        *valid_end = sc->complete_end;
        st_error(err, err_len, 0,
                 "%s: torn record at offset %zu (%s%s; not covered by any fsync, file has %zu "
                 "bytes): truncated to offset %zu, the end of the last complete batch",
                 name, sc->damage, sc->why, after, len, sc->complete_end);
        return 1;
    }
    if (sc->complete_end >= len) return 0;
    if (!is_last)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: records after the last batch end, in a segment that is "
                        "not the last",
                        name, sc->complete_end);
    *valid_end = sc->complete_end;
    st_error(err, err_len, 0,
             "%s: unfinished batch at offset %zu (no batch-end record after it, file has %zu "
             "bytes): truncated there, the end of the last complete batch",
             name, sc->complete_end, len);
    return 1;
}

int wal_recover_segment(struct wal_recovery *rc, const char *name, const uint8_t *buf, size_t len,
                        bool is_last, uint64_t expect_seq, uint64_t expect_first, size_t *valid_end,
                        char *err, size_t err_len)
{
    *valid_end = 0;
    uint64_t first = 0;
    uint32_t flags = 0;
    int rc_ =
        check_header(rc, name, buf, len, expect_seq, expect_first, &first, &flags, err, err_len);
    if (rc_) return rc_;
    uint64_t seq = st_get64(buf + 16);
    struct seg_scan sc;
    rc_ = scan_segment(name, buf, len, seq, &sc, err, err_len);
    if (rc_) return rc_;
    size_t end = sc.end;
    int torn = judge_tail(&sc, name, sc.end, is_last, &end, err, err_len);
    if (torn < 0) return torn;
    SYN_ASSERT(end >= WAL_SEG_BASE_BYTES && end <= sc.end);

    /* Only complete batches are applied: every record before `end` passed its checks above. */
    begin_segment(rc, first, flags & WAL_SEG_RESET);
    rc->seq = seq;
    rc->seg_has_entry = false;
    size_t off = WAL_HEADER_BYTES;
    while (off < end) {
        uint8_t type = 0;
        const uint8_t *p = NULL;
        uint32_t plen = 0;
        const char *why = "";
        enum rec_status st = decode_rec(buf, end, off, &type, &p, &plen, &why);
        SYN_ASSERT(st == REC_OK);
        if (type == WAL_REC_ENTRY) {
            rc_ = add_entry(rc, p, plen, name, off, err, err_len);
            if (rc_) return rc_;
            uint64_t index = st_get64(p);
            if ((index % WAL_MARK_EVERY == 0 || !rc->seg_has_entry) && rc->n_marks < SIZE_MAX / 2) {
                if (rc->n_marks == rc->cap_marks) {
                    size_t cap = rc->cap_marks ? rc->cap_marks * 2 : 64;
                    struct wal_mark *m = realloc(rc->marks, cap * sizeof *m);
                    if (m) rc->marks = m, rc->cap_marks = cap;
                }
                if (rc->n_marks < rc->cap_marks)
                    rc->marks[rc->n_marks++] = (struct wal_mark){rc->seq, index, off};
            }
            rc->seg_has_entry = true;
        } else if (type == WAL_REC_HARD_STATE && plen == WAL_HS_BYTES) {
            rc->hs.term = st_get64(p);
            rc->hs.vote = st_get64(p + 8);
            rc->hs.commit = st_get64(p + 16);
        } else if (type != WAL_REC_BATCH_END) { /* batch ends were checked by scan_segment */
            return st_error(err, err_len, STORAGE_ECORRUPT,
                            "%s: offset %zu: unknown record type %u or bad length %u", name, off,
                            type, plen);
        }
        off += WAL_REC_HEADER_BYTES + plen;
    }
    *valid_end = end;
    return torn;
}
