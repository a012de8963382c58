/* test_data_evict.c — maxmemory eviction in the data layer (evict.c):
 * - noeviction picks nothing; volatile-* only keys with an expiry, none when there is none;
 * - volatile-ttl picks the nearest expiry first; allkeys-lru the longest idle; allkeys-lfu the
 *   least used; a picked key is not picked again until unmarked (its eviction still in flight);
 * - the access clock: OBJECT IDLETIME counts seconds since the last access (TYPE / TTL / OBJECT
 *   do not touch; a SET over a key is an access, whatever the value's size), OBJECT FREQ counts
 * accesses (lfu-log-factor 0: every access) and decays by lfu-decay-time; each OBJECT subcommand
 * refuses under the other family's policy, with Redis's errors;
 * - data_evict_key deletes whatever the key's state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data_recorder.h"

typedef struct {
    char keys[64][32];
    int n;
} picked;

static void on_pick(void *ctx, const char *key, size_t len, size_t bytes)
{
    picked *p = ctx;
    assert_true(bytes > len);
    assert_true(p->n < 64 && len < 32);
    memcpy(p->keys[p->n], key, len);
    p->keys[p->n][len] = '\0';
    p->n++;
}

static data_store *store(void)
{
    data_store *ds = data_create();
    assert_non_null(ds);
    return ds;
}

static const char *run(data_store *ds, const char *line)
{
    return rec_run(ds, line, NULL);
}

static void test_policies(void **state)
{
    (void)state;
    data_store *ds = store();
    run(ds, "SET a 1");
    run(ds, "SET b 2");
    picked p = {0};
    assert_int_equal(data_evict_pick(ds, t_now_ms, 5, on_pick, &p), 0); /* noeviction */
    data_set_eviction(ds, DATA_EVICT_VOLATILE_LRU, 5, 10, 1);
    assert_int_equal(data_evict_pick(ds, t_now_ms, 5, on_pick, &p), 0); /* no volatile key */
    run(ds, "SET v1 x PX 50000");
    run(ds, "SET v2 x PX 10000");
    run(ds, "SET v3 x PX 90000");
    data_set_eviction(ds, DATA_EVICT_VOLATILE_TTL, 5, 10, 1);
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 1);
    assert_string_equal(p.keys[0], "v2");
    /* picked once: not again while its eviction is in flight */
    assert_int_equal(data_evict_pick(ds, t_now_ms, 3, on_pick, &p), 2);
    assert_string_equal(p.keys[1], "v1");
    assert_string_equal(p.keys[2], "v3");
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 0);
    data_evict_unmark(ds, "v2", 2);
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 1);
    assert_string_equal(p.keys[3], "v2");
    /* the deletion itself, as applied */
    assert_int_equal(data_evict_key(ds, "v2", 2), 1);
    assert_int_equal(data_evict_key(ds, "v2", 2), 0);
    assert_string_equal(run(ds, "EXISTS v1 v2 v3 a b"), ":4");
    data_destroy(ds);
}

static void test_lru(void **state)
{
    (void)state;
    data_store *ds = store();
    data_set_eviction(ds, DATA_EVICT_ALLKEYS_LRU, 64, 10, 1);
    for (int i = 0; i < 20; i++) {
        char line[32];
        snprintf(line, sizeof line, "SET k%d v", i);
        t_now_ms += 1000; /* k0 is the oldest */
        run(ds, line);
    }
    t_now_ms += 5000;
    run(ds, "GET k0"); /* now the most recent */
    assert_string_equal(run(ds, "OBJECT IDLETIME k0"), ":0");
    assert_string_equal(run(ds, "OBJECT IDLETIME k1"), ":23");
    run(ds, "TYPE k1");
    run(ds, "TTL k1");
    assert_string_equal(run(ds, "OBJECT IDLETIME k1"), ":23"); /* no touch */
    assert_string_equal(run(ds, "OBJECT FREQ k1"),
                        "-ERR An LFU maxmemory policy is not selected, access frequency not "
                        "tracked. Please note that when switching between policies at runtime LRU "
                        "and LFU data will take some time to adjust.");
    /* a value too long for k2's allocation: a new entry, accessed now (it was the oldest but k1) */
    run(ds, "SET k2 a-value-longer-than-the-old-allocation-has-room-for-by-far");
    assert_string_equal(run(ds, "OBJECT IDLETIME k2"), ":0");
    picked p = {0};
    /* 64 samples of 20 keys: the pool sees (almost surely) every key; the oldest first */
    assert_int_equal(data_evict_pick(ds, t_now_ms, 3, on_pick, &p), 3);
    assert_string_equal(p.keys[0], "k1");
    assert_string_equal(p.keys[1], "k3");
    assert_string_equal(p.keys[2], "k4");
    data_destroy(ds);
}

static void test_lfu(void **state)
{
    (void)state;
    data_store *ds = store();
    data_set_eviction(ds, DATA_EVICT_ALLKEYS_LFU, 64, 0, 1); /* factor 0: +1 per access */
    run(ds, "SET cold v");
    run(ds, "SET warm v");
    run(ds, "SET hot v");
    for (int i = 0; i < 10; i++)
        run(ds, "GET hot");
    for (int i = 0; i < 3; i++)
        run(ds, "GET warm");
    assert_string_equal(run(ds, "OBJECT FREQ hot"), ":15"); /* LFU_INIT_VAL 5 + 10 */
    assert_string_equal(run(ds, "OBJECT FREQ warm"), ":8");
    assert_string_equal(run(ds, "OBJECT FREQ cold"), ":5");
    assert_string_equal(run(ds, "OBJECT IDLETIME cold"),
                        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                        "note that when switching between policies at runtime LRU and LFU data "
                        "will take some time to adjust.");
    picked p = {0};
    assert_int_equal(data_evict_pick(ds, t_now_ms, 2, on_pick, &p), 2);
    assert_string_equal(p.keys[0], "cold");
    assert_string_equal(p.keys[1], "warm");
    /* decay: one per lfu-decay-time minute idle */
    t_now_ms += 3 * 60000;
    assert_string_equal(run(ds, "OBJECT FREQ hot"), ":12");
    data_destroy(ds);
}

/* Choices at their edges: a random policy never picks a key whose eviction is in flight and
 * takes the databases in turn; a pooled candidate that lost its expiry is no volatile victim;
 * LRU idle times count past 255 s; the first access from LFU's initial value always counts
 * (Redis's LFULogIncr: baseval = counter - LFU_INIT_VAL); an overwrite keeps the LFU counter. */
static void test_edges(void **state)
{
    (void)state;
    data_store *ds = store();
    picked p = {0};
    data_set_eviction(ds, DATA_EVICT_ALLKEYS_RANDOM, 5, 10, 1);
    run(ds, "SET a 1");
    run(ds, "SET b 2");
    assert_int_equal(data_evict_pick(ds, t_now_ms, 3, on_pick, &p), 2);
    assert_string_not_equal(p.keys[0], p.keys[1]);
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 0);
    assert_int_equal(data_evict_key(ds, "a", 1), 1);
    assert_int_equal(data_evict_key(ds, "b", 1), 1);
    data_select(ds, 1);
    run(ds, "SET c 3");
    data_select(ds, 0);
    run(ds, "SET d 4");
    p.n = 0;
    assert_int_equal(data_evict_pick(ds, t_now_ms, 2, on_pick, &p), 2);
    assert_int_equal(data_evict_key(ds, "d", 1), 1);
    data_select(ds, 1);
    assert_int_equal(data_evict_key(ds, "c", 1), 1);
    data_select(ds, 0);

    data_set_eviction(ds, DATA_EVICT_VOLATILE_LRU, 64, 10, 1);
    run(ds, "SET v1 x PX 900000");
    t_now_ms += 10000;
    run(ds, "SET v2 x PX 900000");
    t_now_ms += 300000;
    assert_string_equal(run(ds, "OBJECT IDLETIME v1"), ":310");
    p.n = 0;
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 1);
    assert_string_equal(p.keys[0], "v1"); /* v2 stays in the pool */
    run(ds, "PERSIST v2");
    assert_int_equal(data_evict_pick(ds, t_now_ms, 1, on_pick, &p), 0);

    data_set_eviction(ds, DATA_EVICT_ALLKEYS_LFU, 5, 10, 1);
    run(ds, "SET f v");
    run(ds, "GET f");
    assert_string_equal(run(ds, "OBJECT FREQ f"), ":6");
    data_set_eviction(ds, DATA_EVICT_ALLKEYS_LFU, 5, 0, 1); /* factor 0: +1 per access */
    run(ds, "GET f");
    run(ds, "SET f a-value-longer-than-the-old-allocation-has-room-for-by-far");
    assert_string_equal(run(ds, "OBJECT FREQ f"), ":8");
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_lfu),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
