/* test_lincheck.c — the linearizability checker accepts valid histories and rejects broken ones.
 *
 * Randomised cases take their seed from LINCHECK_SEED (default 1) and print it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

#define NIL  lincheck_nil()
#define I(x) lincheck_int(x)

static lincheck_op op_rd(int c, uint32_t key, lincheck_value out, int64_t call, int64_t ret)
{
    return (lincheck_op){
        .client = c, .key = key, .op = LINCHECK_READ, .out = out, .call = call, .ret = ret};
}

static lincheck_op op_wr(int c, uint32_t key, int64_t v, int64_t call, int64_t ret)
{
    return (lincheck_op){
        .client = c, .key = key, .op = LINCHECK_WRITE, .arg = I(v), .call = call, .ret = ret};
}

static lincheck_op op_inc(int c, uint32_t key, int64_t out, int64_t call, int64_t ret)
{
    return (lincheck_op){.client = c,
                         .key = key,
                         .op = LINCHECK_INCR,
                         .arg = I(1),
                         .out = I(out),
                         .call = call,
                         .ret = ret};
}

static lincheck_op op_cas(int c, uint32_t key, lincheck_value expect, int64_t v, bool ok,
                          int64_t call, int64_t ret)
{
    return (lincheck_op){.client = c,
                         .key = key,
                         .op = LINCHECK_CAS,
                         .expect = expect,
                         .arg = I(v),
                         .out = I(ok ? 1 : 0),
                         .call = call,
                         .ret = ret};
}

static lincheck_op pending(lincheck_op op)
{
    op.pending = true;
    op.ret = 0;
    return op;
}

static lincheck_result check(const lincheck_op *ops, size_t n)
{
    lincheck_report rep;
    assert_int_equal(lincheck_check(ops, n, NULL, &rep), 0);
    return rep.result;
}

#define CHECK(expected, ...)                                                                       \
    do {                                                                                           \
        lincheck_op h_[] = {__VA_ARGS__};                                                          \
        assert_int_equal(check(h_, sizeof h_ / sizeof h_[0]), expected);                           \
    } while (0)

static void empty_and_sequential(void **state)
{
    (void)state;
    assert_int_equal(check(NULL, 0), LINCHECK_OK);
    CHECK(LINCHECK_OK, op_rd(1, 0, NIL, 0, 1), op_wr(1, 0, 5, 2, 3), op_rd(2, 0, I(5), 4, 5),
          op_inc(1, 0, 6, 6, 7), op_rd(2, 0, I(6), 8, 9));
    /* incr on an absent key starts from 0 */
    CHECK(LINCHECK_OK, op_inc(1, 0, 1, 0, 1), op_inc(2, 0, 2, 2, 3));
}

static void concurrent_read_sees_old_or_new(void **state)
{
    (void)state;
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 10), op_rd(2, 0, I(1), 2, 5));
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 10), op_rd(2, 0, NIL, 2, 5));
    /* two writes in flight, reads may see them in either order but consistently */
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 10), op_wr(2, 0, 2, 0, 10), op_rd(3, 0, I(2), 1, 2),
          op_rd(3, 0, I(1), 3, 4));
    /* equal timestamps count as concurrent */
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 5), op_rd(2, 0, NIL, 5, 6));
}

static void stale_read_after_completed_write_rejected(void **state)
{
    (void)state;
    CHECK(LINCHECK_FAIL, op_wr(1, 0, 1, 0, 1), op_wr(1, 0, 2, 2, 3), op_rd(2, 0, I(1), 4, 5));
}

static void lost_write_rejected(void **state)
{
    (void)state;
    CHECK(LINCHECK_FAIL, op_wr(1, 0, 7, 0, 1), op_rd(2, 0, NIL, 2, 3));
    CHECK(LINCHECK_FAIL, op_wr(1, 0, 7, 0, 1), op_rd(2, 0, I(7), 2, 3), op_rd(2, 0, NIL, 4, 5));
}

static void duplicate_incr_rejected(void **state)
{
    (void)state;
    CHECK(LINCHECK_FAIL, op_inc(1, 0, 1, 0, 1), op_inc(2, 0, 1, 2, 3));
    CHECK(LINCHECK_FAIL, op_inc(1, 0, 1, 0, 10), op_inc(2, 0, 1, 0, 10)); /* even concurrent */
    CHECK(LINCHECK_OK, op_inc(1, 0, 2, 0, 10), op_inc(2, 0, 1, 0, 10));
    /* an incr applied twice (a retried entry executed again) shows up in a later read */
    CHECK(LINCHECK_FAIL, op_inc(1, 0, 1, 0, 1), op_rd(2, 0, I(2), 2, 3));
}

static void never_written_value_rejected(void **state)
{
    (void)state;
    CHECK(LINCHECK_FAIL, op_wr(1, 0, 1, 0, 1), op_rd(2, 0, I(3), 0, 5));
    CHECK(LINCHECK_FAIL, op_rd(2, 0, I(3), 0, 5));
}

static void nonlinearizable_concurrent_reads_rejected(void **state)
{
    (void)state;
    /* both reads overlap the write, but the second starts after the first saw the new value */
    CHECK(LINCHECK_FAIL, op_wr(1, 0, 1, 0, 100), op_rd(2, 0, I(1), 10, 20),
          op_rd(3, 0, NIL, 30, 40));
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 100), op_rd(2, 0, NIL, 10, 20), op_rd(3, 0, I(1), 30, 40));
}

static void pending_ops(void **state)
{
    (void)state;
    /* a timed-out write may take effect later... */
    CHECK(LINCHECK_OK, pending(op_wr(1, 0, 1, 0, 0)), op_rd(2, 0, NIL, 5, 6),
          op_rd(2, 0, I(1), 50, 51));
    /* ...or never */
    CHECK(LINCHECK_OK, pending(op_wr(1, 0, 1, 0, 0)), op_rd(2, 0, NIL, 5, 6),
          op_rd(2, 0, NIL, 50, 51));
    /* but once seen it stays */
    CHECK(LINCHECK_FAIL, pending(op_wr(1, 0, 1, 0, 0)), op_rd(2, 0, I(1), 5, 6),
          op_rd(2, 0, NIL, 50, 51));
    /* it cannot take effect before it was invoked */
    CHECK(LINCHECK_FAIL, op_rd(2, 0, I(1), 5, 6), pending(op_wr(1, 0, 1, 10, 0)));
    /* a pending incr counts at most once */
    CHECK(LINCHECK_OK, pending(op_inc(1, 0, 0, 0, 0)), op_inc(2, 0, 2, 5, 6));
    CHECK(LINCHECK_OK, pending(op_inc(1, 0, 0, 0, 0)), op_inc(2, 0, 1, 5, 6));
    CHECK(LINCHECK_FAIL, pending(op_inc(1, 0, 0, 0, 0)), op_inc(2, 0, 3, 5, 6));
    /* pending reads are dropped */
    CHECK(LINCHECK_OK, pending(op_rd(1, 0, I(99), 0, 0)), op_wr(2, 0, 1, 1, 2));
}

static void cas_semantics(void **state)
{
    (void)state;
    CHECK(LINCHECK_OK, op_cas(1, 0, NIL, 1, true, 0, 1), op_cas(2, 0, NIL, 2, false, 2, 3),
          op_cas(2, 0, I(1), 2, true, 4, 5), op_rd(1, 0, I(2), 6, 7));
    /* two concurrent lock grabs cannot both win */
    CHECK(LINCHECK_FAIL, op_cas(1, 0, NIL, 1, true, 0, 10), op_cas(2, 0, NIL, 2, true, 0, 10));
    CHECK(LINCHECK_OK, op_cas(1, 0, NIL, 1, true, 0, 10), op_cas(2, 0, NIL, 2, false, 0, 10));
}

static void keys_are_independent(void **state)
{
    (void)state;
    CHECK(LINCHECK_OK, op_wr(1, 0, 1, 0, 1), op_wr(1, 1, 2, 2, 3), op_rd(2, 0, I(1), 4, 5),
          op_rd(2, 1, I(2), 4, 5));
    lincheck_op h[] = {op_wr(1, 0, 1, 0, 1), op_wr(1, 1, 2, 2, 3), op_rd(2, 0, I(1), 4, 5),
                       op_rd(2, 1, I(1), 4, 5)};
    lincheck_report rep;
    assert_int_equal(lincheck_check(h, 4, NULL, &rep), 0);
    assert_int_equal(rep.result, LINCHECK_FAIL);
    assert_int_equal(rep.key, 1);
}

static void report_names_the_stuck_op_and_window(void **state)
{
    (void)state;
    lincheck_op h[] = {op_wr(1, 0, 5, 0, 1),      op_wr(1, 0, 6, 2, 3),
                       op_rd(3, 0, I(6), 3, 4),   op_wr(1, 0, 7, 10, 20),
                       op_rd(2, 0, I(5), 12, 14), op_rd(2, 0, I(7), 30, 31)};
    lincheck_report rep;
    assert_int_equal(lincheck_check(h, 6, NULL, &rep), 0);
    assert_int_equal(rep.result, LINCHECK_FAIL);
    assert_int_equal(rep.stuck_op, 4); /* the stale read of 5 */
    bool has_stuck = false, has_concurrent = false, has_prior = false;
    for (size_t i = 0; i < rep.window_len; i++) {
        has_stuck |= rep.window[i] == 4;
        has_concurrent |= rep.window[i] == 3;
        has_prior |= rep.window[i] == 1;
    }
    assert_true(has_stuck && has_concurrent && has_prior);
    assert_true(rep.window_len < 6);
    lincheck_print_report(stdout, h, &rep, NULL, NULL);
}

static void search_limit_gives_unknown(void **state)
{
    (void)state;
    /* many concurrent pending incrs and a read nothing can explain: the search must explore
     * every subset before saying FAIL, so a small limit gives UNKNOWN */
    lincheck_op h[40];
    size_t n = 0;
    for (int i = 0; i < 30; i++)
        h[n++] = pending(op_inc(i, 0, 0, 0, 0));
    h[n++] = op_rd(99, 0, I(-1), 100, 101);
    lincheck_config cfg;
    lincheck_config_default(&cfg);
    cfg.max_states = 1000;
    lincheck_report rep;
    assert_int_equal(lincheck_check(h, n, &cfg, &rep), 0);
    assert_int_equal(rep.result, LINCHECK_UNKNOWN);
    assert_true(rep.states <= 1001);
}

/* ---- randomised: histories built from a sequential execution are linearizable ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Each op gets a linearization point at 10*i; its interval is stretched randomly around it,
 * so ops overlap a lot. Some ops are pending (took effect, caller never heard). */
static size_t gen_history(lincheck_op *h, size_t n, uint32_t keys)
{
    lincheck_value val[8];
    for (int k = 0; k < 8; k++)
        val[k] = NIL;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(rnd() % keys);
        int64_t point = (int64_t)i * 10;
        int64_t call = point - (int64_t)(rnd() % 40), ret = point + (int64_t)(rnd() % 40);
        lincheck_op op = {.client = (int32_t)(rnd() % 5), .key = k, .call = call, .ret = ret};
        switch (rnd() % 4) {
        case 0:
            op.op = LINCHECK_READ;
            op.out = val[k];
            break;
        case 1:
            op.op = LINCHECK_WRITE;
            op.arg = I((int64_t)(rnd() % 5));
            val[k] = op.arg;
            break;
        case 2:
            op.op = LINCHECK_INCR;
            op.arg = I(1);
            val[k] = I((val[k].kind == LINCHECK_INT ? val[k].v : 0) + 1);
            op.out = val[k];
            break;
        default:
            op.op = LINCHECK_CAS;
            op.expect = (rnd() & 1) ? val[k] : I((int64_t)(rnd() % 5));
            op.arg = I((int64_t)(rnd() % 5));
            bool swap = op.expect.kind == val[k].kind && op.expect.v == val[k].v;
            if (swap) val[k] = op.arg;
            op.out = I(swap);
        }
        if (rnd() % 50 == 0) op.pending = true;
        h[i] = op;
    }
    return n;
}

static uint64_t seed_from_env(void)
{
    const char *s = getenv("LINCHECK_SEED");
    return s ? strtoull(s, NULL, 10) : 1;
}

static void random_valid_histories_accepted_and_corruptions_rejected(void **state)
{
    (void)state;
    uint64_t seed = seed_from_env();
    printf("lincheck random: LINCHECK_SEED=%llu\n", (unsigned long long)seed);
    size_t caught = 0, tried = 0;
    for (int round = 0; round < 200; round++) {
        rng_state = seed * 0x9e3779b97f4a7c15ull + (uint64_t)round + 1;
        lincheck_op h[300];
        size_t n = gen_history(h, 300, 3);
        lincheck_report rep;
        assert_int_equal(lincheck_check(h, n, NULL, &rep), 0);
        if (rep.result != LINCHECK_OK) {
            printf("round %d: valid history rejected\n", round);
            lincheck_print_report(stdout, h, &rep, NULL, NULL);
        }
        assert_int_equal(rep.result, LINCHECK_OK);
        /* corrupt one completed read with a value never written: must be rejected */
        for (size_t i = 0; i < n; i++) {
            if (h[i].op == LINCHECK_READ && !h[i].pending && (rnd() % 4) == 0) {
                h[i].out = I(1000 + round);
                assert_int_equal(lincheck_check(h, n, NULL, &rep), 0);
                assert_int_equal(rep.result, LINCHECK_FAIL);
                caught++;
                break;
            }
        }
        tried++;
    }
    assert_true(caught > tried / 2);
}

static void big_history_is_fast(void **state)
{
    (void)state;
    rng_state = seed_from_env() + 77;
    size_t n = 20000;
    lincheck_op *h = calloc(n, sizeof *h);
    assert_non_null(h);
    gen_history(h, n, 1); /* one key: no help from P-compositionality */
    lincheck_report rep;
    assert_int_equal(lincheck_check(h, n, NULL, &rep), 0);
    assert_int_equal(rep.result, LINCHECK_OK);
    printf("20000 ops on one key: %llu states\n", (unsigned long long)rep.states);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_and_sequential),
        cmocka_unit_test(concurrent_read_sees_old_or_new),
        cmocka_unit_test(stale_read_after_completed_write_rejected),
        cmocka_unit_test(lost_write_rejected),
        cmocka_unit_test(duplicate_incr_rejected),
        cmocka_unit_test(never_written_value_rejected),
        cmocka_unit_test(nonlinearizable_concurrent_reads_rejected),
        cmocka_unit_test(pending_ops),
        cmocka_unit_test(cas_semantics),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(report_names_the_stuck_op_and_window),
        cmocka_unit_test(search_limit_gives_unknown),
        cmocka_unit_test(random_valid_histories_accepted_and_corruptions_rejected),
        cmocka_unit_test(big_history_is_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
