/* test_data_digest.c — data_digest (SYNOD DIGEST):
 * - two stores filled with the same data in different orders (keys, set members, hash fields,
 *   table encodings) digest alike, and so does a store reloaded from the other's snapshot;
 * - any single difference changes it: a value byte, an expiry, a list's order, a score, a
 *   stream entry, a type (a set vs a one-member list), an extra empty-valued field;
 * - an empty store digests to zeros.
 * MIGRATE's per-key digest (data_migrate_read) and its conditional delete (MIGRATE_DEL):
 * - a key's digest is the same in two stores filled in different orders (every replica agrees);
 * - MIGRATE_DEL deletes keys whose digest is unchanged, and keeps a key after any change to its
 *   value or expiry (the write made during a migration is not lost); an expired key is not read;
 *   an argument count that is not pairs is an arity error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data_recorder.h"

static void fill(data_store *ds, int reverse)
{
    char line[128];
    for (int k = 0; k < 300; k++) {
        int i = reverse ? 299 - k : k;
        snprintf(line, sizeof line, "SET s%d v%d", i, i);
        rec_run(ds, line, NULL);
        snprintf(line, sizeof line, "SADD set m%d", i); /* past 128 members: a table */
        rec_run(ds, line, NULL);
        snprintf(line, sizeof line, "HSET hash f%d x%d", i, i);
        rec_run(ds, line, NULL);
        snprintf(line, sizeof line, "ZADD z %d z%d", i % 7, i);
        rec_run(ds, line, NULL);
    }
    rec_run(ds, "RPUSH l a b c", NULL);
    rec_run(ds, "SET e 1 PXAT 1900000000000", NULL);
    rec_run(ds, "XADD st 1-1 f v", NULL);
    rec_run(ds, "XGROUP CREATE st g 0", NULL);
}

static void digest(data_store *ds, char out[33])
{
    data_digest(ds, out);
    assert_int_equal(strlen(out), 32);
}

static int save_cb(void *ctx, const void *p, size_t n)
{
    rec_t *r = ctx;
    assert_true(r->len + n <= REC_MAX);
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return 0;
}

static void test_equal_whatever_the_order(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create(), *c = data_create();
    char da[33], db[33], dc[33];
    digest(a, da);
    assert_string_equal(da, "00000000000000000000000000000000");
    fill(a, 0);
    fill(b, 1);
    digest(a, da);
    digest(b, db);
    assert_string_equal(da, db);
    static rec_t snap;
    snap.len = 0;
    assert_int_equal(data_snapshot_save(a, save_cb, &snap), 0);
    assert_int_equal(data_snapshot_load(c, snap.buf, snap.len), 0);
    digest(c, dc);
    assert_string_equal(da, dc);
    data_destroy(a);
    data_destroy(b);
    data_destroy(c);
}

static void test_any_difference_shows(void **state)
{
    (void)state;
    static const char *changes[] = {
        "SET s5 v6",   "PEXPIREAT e 1900000000001", "LSET l 0 c",     "RPUSH l x",
        "ZADD z 1 z0", "XADD st 2-1 f v",           "HSET hash f1 x", "SADD set extra",
        "PERSIST e",   "XGROUP SETID st g 1-1",     "DEL l",          "SREM set m7",
    };
    data_store *ref = data_create();
    fill(ref, 0);
    char dr[33];
    digest(ref, dr);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        data_store *ds = data_create();
        fill(ds, 0);
        rec_run(ds, changes[i], NULL);
        char d[33];
        digest(ds, d);
        if (strcmp(d, dr) == 0) fail_msg("'%s' left the digest unchanged", changes[i]);
        data_destroy(ds);
    }
    /* a type alone: a one-member set vs a one-element list of the same key and bytes */
    data_store *x = data_create(), *y = data_create();
    rec_run(x, "SADD k a", NULL);
    rec_run(y, "RPUSH k a", NULL);
    char dx[33], dy[33];
    digest(x, dx);
    digest(y, dy);
    assert_string_not_equal(dx, dy);
    data_destroy(x);
    data_destroy(y);
    data_destroy(ref);
}

static const char *const mig_keys[] = {"s5", "set", "hash", "z", "l", "e", "st"};
#define N_MIG (sizeof mig_keys / sizeof mig_keys[0])

static void mig_read(data_store *ds, const char *k, char dg[33])
{
    char *payload = NULL;
    size_t plen = 0;
    int64_t exp = 0;
    assert_int_equal(data_migrate_read(ds, k, strlen(k), t_now_ms, &payload, &plen, &exp, dg), 1);
    assert_true(plen > 10 && payload[plen - 10] == 10); /* RDB version 10 in the DUMP footer */
    assert_int_equal(exp, strcmp(k, "e") == 0 ? 1900000000000 : -1);
    free(payload);
}

static void test_migrate_conditional_delete(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    fill(a, 0);
    fill(b, 1);
    char line[1024] = "MIGRATE_DEL", da[N_MIG][33], db[33];
    for (size_t i = 0; i < N_MIG; i++) {
        mig_read(a, mig_keys[i], da[i]);
        mig_read(b, mig_keys[i], db);
        assert_string_equal(da[i], db);
        snprintf(line + strlen(line), sizeof line - strlen(line), " %s %s", mig_keys[i], da[i]);
    }
    assert_reply(b, line, ":7");
    assert_reply(b, "EXISTS s5 set hash z l e st s4", ":1");
    static const char *const changes[][2] = {
        {"s5", "SET s5 v6"},        {"e", "PEXPIREAT e 1900000000001"},
        {"l", "LSET l 0 c"},        {"z", "ZADD z 1 z0"},
        {"e", "PERSIST e"},         {"st", "XGROUP SETID st g 1-1"},
        {"hash", "HSET hash f1 x"}, {"set", "SADD set extra"},
        {"s5", "APPEND s5 x"},      {"st", "XADD st 2-1 f v"},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        data_store *ds = data_create();
        fill(ds, 0);
        const char *key = changes[i][0];
        char dg[33], del[128];
        mig_read(ds, key, dg);
        rec_run(ds, changes[i][1], NULL);
        snprintf(del, sizeof del, "MIGRATE_DEL %s %s", key, dg);
        if (strcmp(rec_run(ds, del, NULL), ":0") != 0) fail_msg("'%s' was not seen", changes[i][1]);
        snprintf(del, sizeof del, "EXISTS %s", key);
        assert_reply(ds, del, ":1");
        data_destroy(ds);
    }
    assert_reply(a, "MIGRATE_DEL s5", "-ERR wrong number of arguments for 'migrate_del' command");
    assert_reply(a, "MIGRATE_DEL s5 00 s6",
                 "-ERR wrong number of arguments for 'migrate_del' command");
    assert_reply(a, "MIGRATE_DEL s5 00", ":0");
    rec_run(a, "SET gone v PX 1", NULL);
    char *p = NULL;
    size_t pl;
    int64_t ex;
    char dg[33];
    assert_int_equal(data_migrate_read(a, "gone", 4, t_now_ms + 5, &p, &pl, &ex, dg), 0);
    assert_int_equal(data_migrate_read(a, "nope", 4, t_now_ms, &p, &pl, &ex, dg), 0);
    data_destroy(a);
    data_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_whatever_the_order),
        cmocka_unit_test(test_any_difference_shows),
        cmocka_unit_test(test_migrate_conditional_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
