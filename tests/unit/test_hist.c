/* test_hist.c — util/hist.h, the latency histogram, against a trivially correct model: the
 * sorted list of the samples. Random samples use a seed printed at start (HIST_SEED=n replays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/hist.h"

static uint64_t seed;

static uint64_t rnd(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 11;
}

/* Buckets tile 0..2^30 - 1 in order, each at most 1/16 of its values wide. */
static void buckets_tile_the_range(void **state)
{
    (void)state;
    uint64_t next = 0;
    for (unsigned i = 0; i < SYN_HIST_N; i++) {
        uint64_t lo = syn_hist_low(i), hi = syn_hist_high(i);
        assert_int_equal(lo, next);
        assert_true(hi >= lo);
        assert_true((hi - lo + 1) * 16 <= lo || lo < 16);
        assert_int_equal(syn_hist_index(lo), i);
        assert_int_equal(syn_hist_index(hi), i);
        next = hi + 1;
    }
    assert_int_equal(next, 1ull << 30);
    assert_true(syn_hist_index(SYN_HIST_MAX) < SYN_HIST_N);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles and cumulative counts agree with the sorted samples. */
static void matches_sorted_model(void **state)
{
    (void)state;
    for (int round = 0; round < 50; round++) {
        static syn_hist h;
        memset(&h, 0, sizeof(h));
        size_t n = 1 + rnd() % 2000;
        uint64_t *v = malloc(n * sizeof(*v));
        assert_non_null(v);
        for (size_t i = 0; i < n; i++) {
            /* log-uniform over 1 ns .. 2 s (past the 1 s cap), and some zeros */
            unsigned bits = (unsigned)(rnd() % 32);
            v[i] = bits ? rnd() & ((1ull << bits) - 1) : 0;
            syn_hist_add(&h, v[i]);
            if (v[i] < 1) v[i] = 1;
            if (v[i] > SYN_HIST_MAX) v[i] = SYN_HIST_MAX;
        }
        qsort(v, n, sizeof(*v), cmp_u64);
        assert_int_equal(syn_hist_total(&h), n);
        static const double ps[] = {0, 0.1, 1, 25, 50, 75, 90, 99, 99.9, 100};
        for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
            uint64_t want = (uint64_t)(ps[k] / 100.0 * (double)n + 0.5);
            if (want < 1) want = 1;
            uint64_t truth = v[want - 1];
            uint64_t got = syn_hist_percentile(&h, ps[k]);
            unsigned b = syn_hist_index(truth);
            assert_int_equal(got, ps[k] == 0 ? syn_hist_low(b) : syn_hist_high(b));
        }
        for (unsigned i = 0; i < SYN_HIST_N; i += 7) {
            uint64_t model = 0;
            for (size_t j = 0; j < n; j++)
                model += v[j] <= syn_hist_high(i);
            assert_int_equal(syn_hist_count_upto(&h, i), model);
        }
        free(v);
    }
}

static void empty_and_clamped(void **state)
{
    (void)state;
    static syn_hist h;
    memset(&h, 0, sizeof(h));
    assert_int_equal(syn_hist_percentile(&h, 50), 0);
    syn_hist_add(&h, 5000000000ull); /* 5 s: counts as 1 s */
    syn_hist_add(&h, 0);             /* counts as 1 ns */
    assert_int_equal(syn_hist_percentile(&h, 100), syn_hist_high(syn_hist_index(SYN_HIST_MAX)));
    assert_int_equal(syn_hist_percentile(&h, 0), 1);
    assert_int_equal(syn_hist_percentile(&h, 50), 1);
    /* p = 0 is the smallest value of the first sample's bucket, the others its largest (the
     * samples above all fall in wide buckets, where the two differ) */
    memset(&h, 0, sizeof(h));
    syn_hist_add(&h, 1000000);
    syn_hist_add(&h, 3000000);
    unsigned b = syn_hist_index(1000000);
    assert_true(syn_hist_low(b) < syn_hist_high(b));
    assert_int_equal(syn_hist_percentile(&h, 0), syn_hist_low(b));
    assert_int_equal(syn_hist_percentile(&h, 50), syn_hist_high(b));
    assert_int_equal(syn_hist_percentile(&h, 100), syn_hist_high(syn_hist_index(3000000)));
}

int main(void)
{
    const char *e = getenv("HIST_SEED");
    seed = e ? strtoull(e, NULL, 10) : 20261205;
    printf("test_hist: HIST_SEED=%llu\n", (unsigned long long)seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_tile_the_range),
        cmocka_unit_test(matches_sorted_model),
        cmocka_unit_test(empty_and_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
