/* fuzz_data_restore.c — arbitrary bytes as a RESTORE payload (dump_load.c, Redis's RDB object
 * encoding).
 *
 * The input is the payload's body (object type byte, then the value); a valid footer (RDB
 * version 10 and the CRC-64 of the body) is appended so the fuzzer reaches the value parsers
 * (RDB strings with LZF, listpacks, ziplists, intsets, quicklists, streams with their groups:
 * seeds stream_redis70 / stream_redis5 are redis-server's payloads, stream_synod synod's)
 * instead of stopping at the checksum. RESTORE must reply OK or an error; an accepted value must
 * DUMP, and that payload must RESTORE again to a value that DUMPs to as many bytes (the same
 * bytes for a stream). The store
 * keeps at most 4 members in an intset and 4 fields in a packed hash, so small inputs cross the
 * conversions too. Each buffer is malloc'd at its exact size so ASan flags any read past the end.
 */
// fuzz-sources: src/data/*.c src/util/*.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/assert.h"
#include "util/crc64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int ok, err;
    uint8_t *bulk;
    size_t bulk_len;
} reply;

static void r_status(void *ctx, const char *s, size_t n)
{
    (void)s, (void)n;
    ((reply *)ctx)->ok = 1;
}
static void r_error(void *ctx, const char *s, size_t n)
{
    (void)s, (void)n;
    ((reply *)ctx)->err = 1;
}
static void r_int(void *ctx, long long v)
{
    (void)ctx, (void)v;
}
static void r_bulk(void *ctx, const char *p, size_t n)
{
    reply *r = ctx;
    free(r->bulk);
    r->bulk = malloc(n ? n : 1);
    SYN_ASSERT(r->bulk != NULL);
    memcpy(r->bulk, p, n);
    r->bulk_len = n;
}
static void r_void(void *ctx)
{
    (void)ctx;
}
static void r_n(void *ctx, size_t n)
{
    (void)ctx, (void)n;
}
static void r_dbl(void *ctx, double v)
{
    (void)ctx, (void)v;
}
static const data_reply_ops ops = {r_status, r_error, r_int, r_bulk, r_void, r_void,
                                   r_n,      r_n,     r_n,   r_dbl,  NULL,   NULL};

static reply run(data_store *ds, int argc, const data_arg *argv)
{
    reply r = {0};
    const data_cmd *cmd = data_cmd_lookup(argv[0].ptr, argv[0].len);
    SYN_ASSERT(cmd != NULL);
    (void)data_exec(ds, cmd, argc, argv, 1700000000000ll, &ops, &r);
    return r;
}

static reply restore(data_store *ds, const char *key, const uint8_t *p, size_t n)
{
    data_arg argv[5] = {
        {"RESTORE", 7}, {key, strlen(key)}, {"0", 1}, {(const char *)p, n}, {"REPLACE", 7}};
    return run(ds, 5, argv);
}

static reply dump(data_store *ds, const char *key)
{
    data_arg argv[2] = {{"DUMP", 4}, {key, strlen(key)}};
    return run(ds, 2, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size + 10);
    SYN_ASSERT(p != NULL);
    memcpy(p, data, size);
    p[size] = 10;
    p[size + 1] = 0;
    uint64_t crc = crc64_jones(0, p, size + 2);
    for (int i = 0; i < 8; i++)
        p[size + 2 + i] = (uint8_t)(crc >> (8 * i));
    data_store *ds = data_create();
    SYN_ASSERT(ds != NULL);
    data_set_max_intset_entries(ds, 4);
    data_set_hash_max_listpack(ds, 4, 16);
    reply r = restore(ds, "k", p, size + 10);
    SYN_ASSERT(r.ok + r.err == 1);
    if (r.ok) {
        reply d1 = dump(ds, "k");
        SYN_ASSERT(d1.bulk != NULL);
        reply r2 = restore(ds, "k2", d1.bulk, d1.bulk_len);
        SYN_ASSERT(r2.ok);
        reply d2 = dump(ds, "k2");
        SYN_ASSERT(d2.bulk != NULL && d2.bulk_len == d1.bulk_len);
        /* a stream's bytes are a function of its state (table encodings iterate in table order,
         * which may differ between the two copies) */
        SYN_ASSERT(d1.bulk[0] != 19 || memcmp(d1.bulk, d2.bulk, d1.bulk_len) == 0);
        free(d1.bulk);
        free(d2.bulk);
    }
    data_destroy(ds);
    free(p);
    return 0;
}
