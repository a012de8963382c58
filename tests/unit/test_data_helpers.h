/* test_data_helpers.h — what the data layer's randomised unit tests share: a seeded xorshift
 * generator whose seed is printed and replayable (DATA_SEED=n), and a snapshot buffer.
 * Include after cmocka.h and data/data.h. */
#ifndef SYNOD_TEST_DATA_HELPERS_H
#define SYNOD_TEST_DATA_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/data.h"

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* 0..n-1 (n > 0) */
static inline int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

/* Seeds the generator from DATA_SEED, or the clock; prints the seed under the test's name. */
static inline uint64_t seed_for(const char *test)
{
    uint64_t seed = getenv("DATA_SEED") ? strtoull(getenv("DATA_SEED"), NULL, 10)
                                        : (uint64_t)time(NULL) % 1000000;
    printf("%s: DATA_SEED=%llu\n", test, (unsigned long long)seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    rng_state = seed * 2654435761u + 88172645463325252ull;
    return seed;
}

/* A growing byte buffer that data_snapshot_save writes into. */
typedef struct {
    unsigned char *p;
    size_t len;
} sbuf;

static inline int sbuf_write(void *ctx, const void *p, size_t n)
{
    sbuf *b = ctx;
    b->p = realloc(b->p, b->len + n);
    if (!b->p) return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* ds's snapshot (the caller frees .p). */
static inline sbuf snap(data_store *ds)
{
    sbuf b = {NULL, 0};
    assert_int_equal(data_snapshot_save(ds, sbuf_write, &b), 0);
    return b;
}

#endif
