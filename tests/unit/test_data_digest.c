/* test_data_digest.c — data_digest (SYNOD DIGEST):
 * - two stores filled with the same data in different orders (keys, set members, hash fields,
 *   table encodings) digest alike, and so does a store reloaded from the other's snapshot;
 * - any single difference changes it: a value byte, an expiry, a list's order, a score, a
 *   stream entry, a type (a set vs a one-member list), an extra empty-valued field;
 * - an empty store digests to zeros. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_whatever_the_order),
        cmocka_unit_test(test_any_difference_shows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
