/* fuzz_wal.c — arbitrary bytes into the WAL segment replay and the snapshot decoder.
 *
 * The first byte picks a mode:
 *   0 (mod 4): the rest is one raw segment image, replayed as the last segment;
 *   1: the same, as a segment that is not the last (no torn-tail leniency);
 *   2: the rest is split into two raw segment images replayed one after the other, after a
 *      snapshot whose index/term come from the input (layout in the code);
 *   3: structure-aware: the rest is a list of records [kind][len][bytes] framed with valid
 *      checksums behind a valid header and (mostly) the segment's first hard state: entries,
 *      hard states, batch ends (describing themselves, claiming some synced offset) and other
 *      types; then one byte of damage or a cut, so the semantic checks (index order, terms,
 *      overrides, hard state) and the batch / synced-region rules are reached past the CRCs.
 * Every image also goes to snap_decode. Each buffer is malloc'd at its exact size so ASan flags
 * any read past the end. Replay must return 0, 1 (torn tail) or a negative code, and say why. */
// fuzz-sources: src/storage/*.c src/util/*.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/snap.h"
#include "storage/storage_internal.h"
#include "util/assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fresh: rc has seen no segment before this one. */
static void replay_one(struct wal_recovery *rc, const uint8_t *img, size_t len, bool is_last,
                       bool fresh)
{
    uint8_t *buf = malloc(len ? len : 1);
    SYN_ASSERT(buf != NULL);
    if (len) memcpy(buf, img, len);
    char err[256] = "";
    size_t end = 0;
    int r = wal_recover_segment(rc, "fuzz.log", buf, len, is_last, UINT64_MAX, UINT64_MAX, &end,
                                err, sizeof err);
    SYN_ASSERT(r == 0 || r == 1 || r < 0);
    if (r == 0) { /* all of it, or up to zeros only (unwritten space of a zero-filled segment) */
        SYN_ASSERT(end <= len);
        for (size_t i = end; i < len; i++)
            SYN_ASSERT(buf[i] == 0);
    }
    if (r == 1) SYN_ASSERT(is_last && end < len && end >= WAL_SEG_BASE_BYTES);
    if (r >= 0 && end < len && fresh) { /* what recovery kept is complete: it replays as it is */
        struct wal_recovery again;
        wal_recovery_init(&again, rc->snap_index, rc->snap_term);
        size_t end2 = 0;
        int r2 = wal_recover_segment(&again, "fuzz.log", buf, end, true, UINT64_MAX, UINT64_MAX,
                                     &end2, err, sizeof err);
        SYN_ASSERT(r2 == 0 && end2 == end);
        SYN_ASSERT(again.n == rc->n && again.last_index == rc->last_index);
        wal_recovery_deinit(&again);
    }
    if (r < 0) SYN_ASSERT(err[0] != 0);
    /* Recovered entries are consecutive and after the snapshot. */
    for (size_t i = 0; i < rc->n; i++) {
        SYN_ASSERT(rc->entries[i].index > rc->snap_index);
        if (i) SYN_ASSERT(rc->entries[i].index == rc->entries[i - 1].index + 1);
        if (i) SYN_ASSERT(rc->entries[i].term >= rc->entries[i - 1].term);
    }
    struct snap s;
    if (snap_decode(buf, len, "fuzz.snap", &s, err, sizeof err) == 0) snap_deinit(&s);
    free(buf);
}

/* Mode 3: frame records with valid checksums. */
static void structured(const uint8_t *d, size_t n)
{
    if (n < 3) return;
    size_t cap = WAL_SEG_BASE_BYTES + n * (WAL_REC_HEADER_BYTES + 24) + 64;
    uint8_t *img = calloc(1, cap);
    SYN_ASSERT(img != NULL);
    uint64_t first = 1 + d[0] % 4;
    wal_encode_header(img, 1, first, d[1] & 1);
    size_t len = WAL_HEADER_BYTES, i = 3;
    if (!(d[1] & 2)) { /* the segment's own hard state, as create_segment writes it */
        struct wal_hard_state hs = {d[1] >> 4, d[0], d[1] >> 2};
        wal_encode_hard_state(img + len, &hs);
        len += WAL_REC_HEADER_BYTES + WAL_HS_BYTES;
    }
    uint64_t index = first, synced = WAL_SEG_BASE_BYTES;
    while (i + 2 <= n) {
        uint8_t kind = d[i], plen = d[i + 1];
        i += 2;
        if (plen > n - i) plen = (uint8_t)(n - i);
        uint8_t payload[WAL_ENTRY_FIXED_BYTES + 256];
        uint32_t pl;
        uint8_t type;
        if (kind % 3 == 0) { /* an entry: mostly the next index, sometimes not */
            uint64_t idx = (kind & 0x80) ? index + (kind >> 4) - 4 : index++;
            uint64_t term = (uint64_t)(kind >> 2) & 7;
            st_put64(payload, idx);
            st_put64(payload + 8, term);
            payload[16] = kind;
            memcpy(payload + WAL_ENTRY_FIXED_BYTES, d + i, plen);
            pl = WAL_ENTRY_FIXED_BYTES + plen;
            type = WAL_REC_ENTRY;
        } else if (kind % 3 == 2 && (kind & 0x40)) { /* a batch end at its own offset */
            if (kind & 0x20) synced = len;           /* the previous batches were fsync'd */
            st_put64(payload, 1);
            st_put64(payload + 8, (kind & 0x10) ? len + 1 : len);
            st_put64(payload + 16, (kind & 0x08) ? len + plen : synced);
            pl = WAL_BATCH_END_BYTES;
            type = WAL_REC_BATCH_END;
        } else {
            pl = plen < 24 ? plen : 24;
            memcpy(payload, d + i, pl);
            type = kind % 3 == 1 ? WAL_REC_HARD_STATE : kind;
        }
        i += plen;
        if (len + WAL_REC_HEADER_BYTES + pl > cap) break;
        wal_encode_record(img + len, type, payload, pl);
        len += WAL_REC_HEADER_BYTES + pl;
    }
    /* d[2]: damage — flip a byte or cut the tail. */
    if (len > WAL_HEADER_BYTES && d[2] & 0x80) {
        size_t at = WAL_HEADER_BYTES + (size_t)d[2] * 7919 % (len - WAL_HEADER_BYTES);
        if (d[2] & 0x40)
            len = at;
        else
            img[at] ^= (uint8_t)(1u << (d[2] & 7));
    }
    struct wal_recovery rc;
    wal_recovery_init(&rc, 0, 0);
    replay_one(&rc, img, len, true, true);
    wal_recovery_deinit(&rc);
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0] % 4;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    struct wal_recovery rc;
    switch (mode) {
    case 0:
    case 1:
        wal_recovery_init(&rc, 0, 0);
        replay_one(&rc, d, n, mode == 0, true);
        wal_recovery_deinit(&rc);
        break;
    case 2: { /* d[0..1]: split offset (LE), d[2]: snapshot index, d[3]: snapshot term */
        if (n < 4) return 0;
        size_t split = ((size_t)d[0] | (size_t)d[1] << 8) % (n - 4 + 1);
        wal_recovery_init(&rc, d[2] % 8, d[3] % 4);
        replay_one(&rc, d + 4, split, false, true);
        replay_one(&rc, d + 4 + split, n - 4 - split, true, false);
        wal_recovery_deinit(&rc);
        break;
    }
    case 3: structured(d, n); break;
    }
    return 0;
}
