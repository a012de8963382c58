/* fuzz_data_snapshot.c — arbitrary records into the dataset snapshot decoder (data_snapshot_load).
 *
 * The first byte picks the format version (1, 2 or 3, or the raw input as a whole file); the rest
 * is the record area, wrapped in a valid header and trailer (end marker, a record count taken
 * from the second byte, and a correct CRC) so the fuzzer reaches the record parsers (strings,
 * hashes, lists, sets) instead of stopping at the checksum. A load must fail cleanly (dataset
 * unchanged) or succeed; a loaded dataset must save and load again, with the same size (record
 * order follows the hash tables, so bytes may be ordered differently). The stores keep at most
 * 4 members in an intset, so small inputs cross the intset/table conversion too.
 * Each buffer is malloc'd at its exact size so ASan flags any read past the end. Seen failing
 * (heap-buffer-overflow within seconds) with a set member whose length was not checked against
 * the bytes left. */
// fuzz-sources: src/data/*.c src/util/*.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/assert.h"
#include "util/crc32c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *p;
    size_t len;
} buf;

static int collect(void *ctx, const void *p, size_t n)
{
    buf *b = ctx;
    b->p = realloc(b->p, b->len + n);
    SYN_ASSERT(b->p != NULL);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void put_u(uint8_t *d, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        d[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int mode = data[0] % 4;
    uint8_t *img;
    size_t len;
    if (mode == 3) { /* the raw input is the file */
        len = size - 1;
        img = malloc(len ? len : 1);
        memcpy(img, data + 1, len);
    } else {
        size_t body = size - 2;
        len = 16 + body + 1 + 8 + 4;
        img = malloc(len);
        memcpy(img, "SYNODDS", 8);
        put_u(img + 8, (uint64_t)mode + 1, 4);
        put_u(img + 12, 0, 4);
        memcpy(img + 16, data + 2, body);
        img[16 + body] = 0xff;
        put_u(img + 17 + body, data[1] % 8, 8);
        put_u(img + 25 + body, crc32c(0, img, 25 + body), 4);
    }
    data_store *ds = data_create();
    SYN_ASSERT(ds != NULL);
    data_set_max_intset_entries(ds, 4);
    int rc = data_snapshot_load(ds, img, len);
    SYN_ASSERT(rc == 0 || rc == DATA_SNAPSHOT_ECORRUPT || rc == DATA_SNAPSHOT_EVERSION);
    if (rc == 0) {
        buf a = {0}, b = {0};
        SYN_ASSERT(data_snapshot_save(ds, collect, &a) == 0);
        data_store *ds2 = data_create();
        data_set_max_intset_entries(ds2, 4);
        SYN_ASSERT(data_snapshot_load(ds2, a.p, a.len) == 0);
        SYN_ASSERT(data_snapshot_save(ds2, collect, &b) == 0);
        SYN_ASSERT(a.len == b.len);
        data_destroy(ds2);
        free(a.p);
        free(b.p);
    }
    data_destroy(ds);
    free(img);
    return 0;
}
