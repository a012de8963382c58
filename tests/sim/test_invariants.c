/* test_invariants.c — the invariant checker catches hand-made broken cluster histories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "invariants.h"

#define H(term, x) inv_entry_hash(term, 0, &(int){x}, sizeof(int))

static inv_checker *mk(void)
{
    inv_checker *c = inv_create(5);
    assert_non_null(c);
    return c;
}

/* node n stores entries 1..k of terms[] with payloads 0..k-1 */
static void put_log(inv_checker *c, int node, const uint64_t *terms, int k)
{
    for (int i = 0; i < k; i++)
        assert_int_equal(inv_log_append(c, node, (uint64_t)i + 1, terms[i], H(terms[i], i)), 0);
}

static void expect_violation(inv_checker *c, inv_kind k)
{
    printf("  caught: %s\n", inv_message(c));
    assert_int_equal(inv_violation(c), k);
}

static void healthy_history_passes(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 1, 2};
    for (int n = 1; n <= 3; n++)
        put_log(c, n, t, 3);
    assert_int_equal(inv_durable_hard_state(c, 1, 2, 1, 0), 0);
    assert_int_equal(inv_vote_granted(c, 2, 2, 1), 0);
    assert_int_equal(inv_vote_granted(c, 2, 2, 1), 0); /* duplicate grant to the same one: fine */
    assert_int_equal(inv_state(c, 1, true, 2, 3), 0);
    assert_int_equal(inv_state(c, 2, false, 2, 3), 0);
    for (int n = 1; n <= 3; n++)
        for (int i = 0; i < 3; i++)
            assert_int_equal(inv_apply(c, n, (uint64_t)i + 1, H(t[i], i)), 0);
    /* a follower overwriting an uncommitted suffix is fine */
    assert_int_equal(inv_log_append(c, 3, 4, 2, H(2, 3)), 0);
    assert_int_equal(inv_log_append(c, 3, 4, 3, H(3, 77)), 0);
    /* compaction keeps chains */
    assert_int_equal(inv_log_compact(c, 1, 2), 0);
    assert_int_equal(inv_state(c, 3, true, 3, 3), 0);
    assert_int_equal(inv_violation(c), INV_OK);
    inv_destroy(c);
}

static void two_leaders_in_a_term(void **state)
{
    (void)state;
    inv_checker *c = mk();
    assert_int_equal(inv_state(c, 1, true, 4, 0), 0);
    assert_int_equal(inv_state(c, 2, true, 5, 0), 0);
    assert_int_equal(inv_state(c, 3, true, 4, 0), -1);
    expect_violation(c, INV_ELECTION_SAFETY);
    inv_destroy(c);
}

static void log_matching_broken(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 1, 2};
    put_log(c, 1, t, 3);
    /* node 2 has the same entry (3, term 2) but a different entry 2 before it */
    assert_int_equal(inv_log_append(c, 2, 1, 1, H(1, 0)), 0);
    assert_int_equal(inv_log_append(c, 2, 2, 2, H(2, 99)), 0);
    assert_int_equal(inv_log_append(c, 2, 3, 2, H(2, 2)), -1);
    expect_violation(c, INV_LOG_MATCHING);
    inv_destroy(c);
    /* two different entries with the same index and term */
    c = mk();
    put_log(c, 1, t, 3);
    assert_int_equal(inv_log_append(c, 2, 1, 1, H(1, 0)), 0);
    assert_int_equal(inv_log_append(c, 2, 2, 1, H(1, 99)), -1);
    expect_violation(c, INV_LOG_MATCHING);
    inv_destroy(c);
    /* terms going down inside one log */
    c = mk();
    assert_int_equal(inv_log_append(c, 2, 1, 3, H(3, 0)), 0);
    assert_int_equal(inv_log_append(c, 2, 2, 2, H(2, 0)), -1);
    expect_violation(c, INV_LOG_MATCHING);
    inv_destroy(c);
}

static void leader_missing_committed_entry(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 1, 2};
    put_log(c, 1, t, 3);
    put_log(c, 2, t, 3);
    assert_int_equal(inv_state(c, 1, true, 2, 3), 0); /* 1..3 committed in term 2 */
    uint64_t t3[] = {1, 1};
    put_log(c, 3, t3, 2);
    assert_int_equal(inv_state(c, 3, true, 3, 0), -1); /* leader of term 3 lacks entry 3 */
    expect_violation(c, INV_LEADER_COMPLETENESS);
    inv_destroy(c);
}

static void leader_with_conflicting_committed_entry(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 2};
    put_log(c, 1, t, 2);
    assert_int_equal(inv_state(c, 1, true, 2, 2), 0);
    /* node 3 has a different entry 2 of term 3, never committed: it may not lead term 4 */
    assert_int_equal(inv_log_append(c, 3, 1, 1, H(1, 0)), 0);
    assert_int_equal(inv_log_append(c, 3, 2, 3, H(3, 5)), 0);
    assert_int_equal(inv_state(c, 3, true, 4, 0), -1);
    expect_violation(c, INV_LEADER_COMPLETENESS);
    inv_destroy(c);
}

static void different_entries_applied(void **state)
{
    (void)state;
    inv_checker *c = mk();
    assert_int_equal(inv_apply(c, 1, 1, H(1, 0)), 0);
    assert_int_equal(inv_apply(c, 2, 1, H(1, 1)), -1);
    expect_violation(c, INV_STATE_MACHINE);
    inv_destroy(c);
}

static void committed_entry_changes(void **state)
{
    (void)state;
    inv_checker *c = mk();
    assert_int_equal(inv_log_append(c, 1, 1, 1, H(1, 0)), 0);
    assert_int_equal(inv_state(c, 1, false, 1, 1), 0);
    assert_int_equal(inv_log_append(c, 2, 1, 2, H(2, 0)), 0);
    assert_int_equal(inv_state(c, 2, false, 2, 1), -1);
    expect_violation(c, INV_STATE_MACHINE);
    inv_destroy(c);
}

static void commit_goes_backwards(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 1, 1};
    put_log(c, 1, t, 3);
    assert_int_equal(inv_state(c, 1, false, 1, 3), 0);
    assert_int_equal(inv_state(c, 1, false, 1, 2), -1);
    expect_violation(c, INV_COMMIT_MONOTONIC);
    inv_destroy(c);

    /* across a restart: the durable commit is the floor */
    c = mk();
    put_log(c, 1, t, 3);
    assert_int_equal(inv_durable_hard_state(c, 1, 1, 0, 3), 0);
    inv_crash(c, 1);
    assert_int_equal(inv_state(c, 1, false, 1, 0), -1);
    expect_violation(c, INV_COMMIT_MONOTONIC);
    inv_destroy(c);

    c = mk();
    assert_int_equal(inv_durable_hard_state(c, 1, 1, 0, 3), 0);
    assert_int_equal(inv_durable_hard_state(c, 1, 2, 0, 1), -1);
    expect_violation(c, INV_COMMIT_MONOTONIC);
    inv_destroy(c);

    c = mk();
    assert_int_equal(inv_state(c, 1, false, 1, 1), -1); /* commit beyond an empty log */
    expect_violation(c, INV_COMMIT_MONOTONIC);
    inv_destroy(c);
}

static void double_vote(void **state)
{
    (void)state;
    inv_checker *c = mk();
    assert_int_equal(inv_vote_granted(c, 2, 7, 1), 0);
    assert_int_equal(inv_vote_granted(c, 2, 7, 3), -1);
    expect_violation(c, INV_ONE_VOTE_PER_TERM);
    inv_destroy(c);

    /* across a restart that lost the vote: the durable record and the wire disagree */
    c = mk();
    assert_int_equal(inv_durable_hard_state(c, 2, 7, 1, 0), 0);
    inv_crash(c, 2);
    assert_int_equal(inv_durable_hard_state(c, 2, 7, 3, 0), -1);
    expect_violation(c, INV_ONE_VOTE_PER_TERM);
    inv_destroy(c);
}

static void leader_commits_old_term_entry(void **state)
{
    (void)state;
    inv_checker *c = mk();
    uint64_t t[] = {1, 2, 2, 3};
    put_log(c, 1, t, 2);
    assert_int_equal(inv_state(c, 1, true, 3, 0), 0);
    assert_int_equal(inv_state(c, 1, true, 3, 2), -1); /* entry 2 is of term 2, leader's is 3 */
    expect_violation(c, INV_LEADER_COMMIT_RULE);
    inv_destroy(c);
    c = mk();
    put_log(c, 1, t, 4);
    assert_int_equal(inv_state(c, 1, true, 3, 0), 0);
    assert_int_equal(inv_state(c, 1, true, 3, 4), 0); /* through an entry of its term: fine */
    assert_int_equal(inv_violation(c), INV_OK);
    inv_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthy_history_passes),
        cmocka_unit_test(two_leaders_in_a_term),
        cmocka_unit_test(log_matching_broken),
        cmocka_unit_test(leader_missing_committed_entry),
        cmocka_unit_test(leader_with_conflicting_committed_entry),
        cmocka_unit_test(different_entries_applied),
        cmocka_unit_test(committed_entry_changes),
        cmocka_unit_test(commit_goes_backwards),
        cmocka_unit_test(double_vote),
        cmocka_unit_test(leader_commits_old_term_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
