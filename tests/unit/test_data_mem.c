/* test_data_mem.c — memory per key and GET/SET speed of the keyspace (issue 2's memory target),
 * and memory per member of a large set (issue 10).
 *
 * 1,000,000 keys of 16 bytes with 32-byte values (as the issue states). The optimised build
 * (`make data-mem`, part of `make test`) measures real heap use with mallinfo2; under ASan
 * (`make unit`) the allocator is ASan's, so only the layer's own accounting is checked, on
 * fewer keys. Redis 7.0 uses ~136 bytes/key for the same data (used_memory, measured on this
 * machine); the bound below keeps us well under 1.2x of that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/data.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#else
#define MEM_ASAN 0
#endif

#define BYTES_PER_KEY_MAX 100.0 /* Redis: ~136; 1.2x Redis would be ~163 */

static void nop_s(void *c, const char *s, size_t n)
{
    (void)c, (void)s, (void)n;
}
static void nop_i(void *c, long long v)
{
    (void)c, (void)v;
}
static void nop_v(void *c)
{
    (void)c;
}
static void nop_n(void *c, size_t n)
{
    (void)c, (void)n;
}
static void nop_d(void *c, double v)
{
    (void)c, (void)v;
}
static int bulks;
static void count_bulk(void *c, const char *s, size_t n)
{
    (void)c, (void)s;
    bulks += n == 32;
}
static const data_reply_ops ops = {nop_s, nop_s, nop_i, count_bulk, nop_v, nop_v,
                                   nop_n, nop_n, nop_n, nop_d,      NULL,  NULL};

/* in-use heap: small chunks plus mmapped blocks (large bucket arrays live there) */
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void memory_per_key(void **state)
{
    (void)state;
    long n = MEM_ASAN ? 100000 : 1000000;
    if (getenv("DATA_MEM_KEYS")) n = atol(getenv("DATA_MEM_KEYS"));
    const data_cmd *set = data_cmd_lookup("SET", 3), *get = data_cmd_lookup("GET", 3);
    size_t before = heap_bytes();
    data_store *ds = data_create();
    char key[48], val[64];
    data_arg argv[3] = {{"SET", 3}, {key, 16}, {val, 32}};
    double t0 = now_s(), worst = 0;
    for (long i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key:%012ld", i % 1000000000000l);
        snprintf(val, sizeof val, "vvvvvvvvvvvvvvvvvvvvvv%010ld", i % 10000000000l);
        double a = now_s();
        assert_int_equal(data_exec(ds, set, 3, argv, 0, &ops, NULL), 1);
        double b = now_s();
        /* the SETs that start a table resize (the table doubles when full) */
        if ((i & (i - 1)) == 0 && b - a > worst) worst = b - a;
    }
    double t1 = now_s();
    argv[0] = (data_arg){"GET", 3};
    for (long i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key:%012ld", i % 1000000000000l);
        (void)data_exec(ds, get, 2, argv, 0, &ops, NULL);
    }
    double t2 = now_s();
    assert_int_equal(bulks, n);
    size_t after = heap_bytes();
    data_stats st;
    data_get_stats(ds, &st);
    assert_int_equal(st.keys, (uint64_t)n);
    double acct = (double)st.memory_bytes / (double)n;
    double heap = (double)(after - before) / (double)n;
    printf("data-mem: %ld keys: %.1f bytes/key (accounted), %.1f bytes/key (heap)%s; "
           "SET %.2f Mops/s (slowest resize-starting SET %.3f ms), GET %.2f Mops/s\n",
           n, acct, heap, MEM_ASAN ? " [ASan: heap not meaningful]" : "", n / (t1 - t0) / 1e6,
           worst * 1e3, n / (t2 - t1) / 1e6);
    if (!MEM_ASAN) {
        assert_true(heap <= BYTES_PER_KEY_MAX);
        /* the accounting tracks the real heap closely */
        assert_true(acct >= heap * 0.95 && acct <= heap * 1.05);
    } else {
        assert_true(acct <= BYTES_PER_KEY_MAX);
    }
    /* rewriting every value in place allocates nothing new */
    argv[0] = (data_arg){"SET", 3};
    size_t mid = heap_bytes();
    for (long i = 0; i < n; i += 7) {
        snprintf(key, sizeof key, "key:%012ld", i % 1000000000000l);
        snprintf(val, sizeof val, "wwwwwwwwwwwwwwwwwwwwww%010ld", i % 10000000000l);
        (void)data_exec(ds, set, 3, argv, 0, &ops, NULL);
    }
    if (!MEM_ASAN) assert_int_equal(heap_bytes(), mid);
    data_destroy(ds);
}

/* One set of 1,000,000 members, a hash table of members: 16-byte strings ("member:%09d"), then
 * the integers 0..999999 (past set-max-intset-entries, so a table too). Redis 7.0.15 takes 72.4
 * and 48.4 bytes/member for these (used_memory delta, measured on this machine); the bounds keep
 * us under both. */
static void memory_per_set_member(void **state)
{
    (void)state;
    long n = MEM_ASAN ? 100000 : 1000000;
    if (getenv("DATA_MEM_KEYS")) n = atol(getenv("DATA_MEM_KEYS"));
    const data_cmd *sadd = data_cmd_lookup("SADD", 4);
    static const struct {
        const char *fmt, *what;
        double max;
    } kinds[] = {{"member:%09ld", "16-byte strings", 64.0}, {"%ld", "integers", 44.0}};
    for (int k = 0; k < 2; k++) {
        size_t before = heap_bytes();
        data_store *ds = data_create();
        char m[48];
        data_arg argv[3] = {{"SADD", 4}, {"set", 3}, {m, 0}};
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            argv[2].len = (size_t)snprintf(m, sizeof m, kinds[k].fmt, i % 1000000000l);
            assert_int_equal(data_exec(ds, sadd, 3, argv, 0, &ops, NULL), 1);
        }
        double t1 = now_s();
        size_t after = heap_bytes();
        data_stats st;
        data_get_stats(ds, &st);
        double acct = (double)st.memory_bytes / (double)n;
        double heap = (double)(after - before) / (double)n;
        printf("data-mem: a set of %ld %s: %.1f bytes/member (accounted), %.1f bytes/member "
               "(heap)%s; SADD %.2f Mops/s\n",
               n, kinds[k].what, acct, heap, MEM_ASAN ? " [ASan: heap not meaningful]" : "",
               n / (t1 - t0) / 1e6);
        if (!MEM_ASAN) {
            assert_true(heap <= kinds[k].max);
            assert_true(acct >= heap * 0.95 && acct <= heap * 1.05);
        } else {
            assert_true(acct <= kinds[k].max);
        }
        data_destroy(ds);
    }
}

/* 100,000 small sets of 5 members ("set:%06d"): integers (intsets) and short strings (tables).
 * Redis 7.0.15 (used_memory delta, this machine): 106.8 bytes/set for the intsets, 434.5 for the
 * tables (7.0 has no listpack sets). */
#define BYTES_PER_SMALL_INTSET_MAX 106.8
#define BYTES_PER_SMALL_TABLE_MAX  434.5

static void memory_per_small_set(void **state)
{
    (void)state;
    long n = 100000;
    const data_cmd *sadd = data_cmd_lookup("SADD", 4);
    static const char *members[2][5] = {{"1", "2", "3", "40", "500"},
                                        {"a", "bb", "ccc", "dddd", "eeeee"}};
    for (int kind = 0; kind < 2; kind++) {
        size_t before = heap_bytes();
        data_store *ds = data_create();
        char key[32];
        data_arg argv[7] = {{"SADD", 4}, {key, 10}};
        for (int j = 0; j < 5; j++)
            argv[2 + j] = (data_arg){members[kind][j], strlen(members[kind][j])};
        for (long i = 0; i < n; i++) {
            snprintf(key, sizeof key, "set:%06ld", i % 1000000);
            assert_int_equal(data_exec(ds, sadd, 7, argv, 0, &ops, NULL), 1);
        }
        double heap = (double)(heap_bytes() - before) / (double)n;
        data_stats st;
        data_get_stats(ds, &st);
        double acct = (double)st.memory_bytes / (double)n;
        printf("data-mem: %ld small %s: %.1f bytes/set (accounted), %.1f (heap)%s\n", n,
               kind ? "tables (5 short strings)" : "intsets (5 integers)", acct, heap,
               MEM_ASAN ? " [ASan: heap not meaningful]" : "");
        double max = kind ? BYTES_PER_SMALL_TABLE_MAX : BYTES_PER_SMALL_INTSET_MAX;
        assert_true((MEM_ASAN ? acct : heap) <= max);
        data_destroy(ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_per_key),
        cmocka_unit_test(memory_per_set_member),
        cmocka_unit_test(memory_per_small_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
