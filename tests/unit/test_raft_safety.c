/* test_raft_safety.c — scripted scenarios for safety bugs found by review (issue 8): a node that
 * lost its commit index must not count votes in a configuration two changes old, leader
 * stickiness survives a higher-term message that is not a vote, and the majority abstraction
 * against a trivially correct model. Each scenario fails on the core without its fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "consensus/raft_internal.h"
#include "test_raft_fixture.h"

static raft_config base_cfg(void)
{
    raft_config c;
    raft_config_default(&c);
    c.seed = 7;
    return c;
}

static void add_voter(fx *f, raft_id leader, raft_id node)
{
    raft_conf_change cc = {.type = RAFT_CC_ADD_VOTER, .node = node};
    assert_int_equal(raft_propose_conf_change(fx_node_of(f, leader)->r, &cc, NULL), 0);
    fx_flush(f);
    fx_tick(f, 2);
}

/* Issue 8, bug 1. Voters {1,2,3}; the leader adds 4 (index 2) then 5 (index 3); 2 and 3 hold
 * both changes. With 2 and 3 cut off, X commits at index 4 on {1,4,5}. Node 3 restarts with
 * its entries but commit 1 (a torn write kept the entries, not the hard state), so its applied
 * configuration is {1,2,3}; with 1, 4 and 5 down, 2's vote would make it leader of a "quorum"
 * {2,3} and it would commit its no-op at index 4: two entries committed at one index. A node
 * whose log holds two configuration changes above its commit index does not know its
 * configuration and must not campaign. */
static void test_stale_config_after_lost_commit(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 2, &c); /* 4 and 5 exist, not members */
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 1);
    add_voter(&f, 1, 4);
    add_voter(&f, 1, 5);
    raft_status s3 = fx_status(&f, 3);
    assert_int_equal(s3.last_index, 3);
    assert_int_equal(s3.config.n_voters, 5);
    /* 2 and 3 cut off; X commits on {1,4,5} */
    fx_isolate(&f, 2);
    fx_isolate(&f, 3);
    for (raft_id a = 1; a <= 5; a++)
        for (raft_id b = 1; b <= 5; b++)
            if (a != 2 && a != 3 && b != 2 && b != 3) f.cut[a][b] = false;
    uint64_t x_index = 0;
    assert_int_equal(fx_propose(&f, 1, "X", &x_index), 0);
    fx_tick(&f, 1);
    assert_int_equal(x_index, 4);
    assert_int_equal(fx_applied_find(&f, 1, "X"), 4);
    /* node 3 comes back with its entries but without the hard state that carried commit 3 */
    fx_crash(&f, 3);
    fx_node_of(&f, 3)->hs.commit = 1;
    fx_node_of(&f, 2)->hs.commit = 1;
    fx_crash(&f, 2);
    fx_restart(&f, 2);
    fx_restart(&f, 3);
    fx_crash(&f, 1);
    fx_crash(&f, 4);
    fx_crash(&f, 5);
    fx_heal(&f);
    for (int t = 0; t < 200; t++) {
        fx_tick(&f, 1);
        assert_int_equal(fx_count_leaders(&f), 0);
    }
    /* nothing committed at index 4 but X: bring the rest back, all agree */
    fx_restart(&f, 1);
    fx_restart(&f, 4);
    fx_restart(&f, 5);
    raft_id l = fx_elect_any(&f, 300);
    assert_true(l != 0);
    fx_tick(&f, 5);
    for (raft_id id = 1; id <= 5; id++)
        assert_int_equal(fx_applied_find(&f, id, "X"), 4);
    assert_true(fx_sm_consistent(&f));
    fx_destroy(&f);
}

/* With one change above commit the node may campaign: the change before it is committed, and
 * the two configurations differ by one voter, so their majorities overlap (§4.1). */
static void test_one_unknown_change_may_campaign(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 1, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 1);
    add_voter(&f, 1, 4);
    fx_crash(&f, 1);
    fx_crash(&f, 2);
    fx_node_of(&f, 2)->hs.commit = 1; /* index 2 (add 4) above commit */
    fx_restart(&f, 2);
    assert_true(fx_campaign_win(&f, 2)); /* votes of 2, 3, 4: a majority of {1,2,3,4} */
    fx_destroy(&f);
}

/* Issue 8, bug 3: a follower that just heard from its leader gets a higher-term message that is
 * not a vote (a delayed vote response, an append response of a node whose term grew in a failed
 * campaign). It adopts the term and forgets the leader, but it must keep refusing votes for an
 * election timeout: the leader's lease counts on it. */
static int granted_to_3;
static bool watch_votes(fx *f, raft_message *m)
{
    (void)f;
    if (m->type == RAFT_MSG_VOTE_RESP && m->to == 3 && !m->reject) granted_to_3++;
    return true;
}

static void test_stickiness_survives_higher_term(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    c.lease_reads = true;
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    raft_id l = 1;
    fx_tick(&f, 3);
    assert_true(fx_status(&f, l).lease_valid);
    raft_status s2 = fx_status(&f, 2);
    fx_isolate(&f, 3); /* 3's messages are delivered by hand below */
    raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_APPEND_RESP;
    m.from = 3;
    m.to = 2;
    m.term = s2.term + 1;
    assert_int_equal(raft_step(fx_node_of(&f, 2)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(fx_status(&f, 2).term, s2.term + 1);
    granted_to_3 = 0;
    f.filter = watch_votes;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_VOTE;
    m.from = 3;
    m.to = 2;
    m.term = s2.term + 1;
    m.index = s2.last_index;
    m.log_term = s2.last_term;
    f.cut[2][3] = false;
    assert_int_equal(raft_step(fx_node_of(&f, 2)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(granted_to_3, 0);
    /* the same at a term above the one it just adopted */
    m.term = s2.term + 2;
    assert_int_equal(raft_step(fx_node_of(&f, 2)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(granted_to_3, 0);
    /* an election timeout later (no word from a leader) it votes again */
    fx_isolate(&f, 2);
    for (uint32_t t = 0; t < c.election_tick; t++)
        raft_tick(fx_node_of(&f, 2)->r);
    f.cut[2][3] = false;
    m.term = fx_status(&f, 2).term + 1;
    assert_int_equal(raft_step(fx_node_of(&f, 2)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(granted_to_3, 1);
    f.filter = NULL;
    fx_destroy(&f);
}

/* Issue 9: one forged message with a term near the sanity bound left every node unable to
 * campaign (term + 1 failed validation). No message may move the term by more than
 * RAFT_MAX_TERM_JUMP; a large legal jump leaves elections working. */
static void test_term_jump_bounded(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 2);
    uint64_t t = fx_status(&f, 1).term;
    raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_HEARTBEAT_RESP;
    m.from = 2;
    m.to = 1;
    m.term = (UINT64_MAX >> 2) - 1;
    assert_int_equal(raft_step(fx_node_of(&f, 1)->r, &m), -RAFT_EINVAL);
    assert_int_equal(fx_status(&f, 1).term, t);
    assert_int_equal(fx_status(&f, 1).role, RAFT_LEADER);
    m.term = t + RAFT_MAX_TERM_JUMP; /* the largest jump allowed: adopted, and it can recover */
    assert_int_equal(raft_step(fx_node_of(&f, 1)->r, &m), 0);
    assert_int_equal(fx_status(&f, 1).term, t + RAFT_MAX_TERM_JUMP);
    raft_id l = fx_elect_any(&f, 300);
    assert_true(l != 0);
    assert_true(fx_status(&f, l).term > t + RAFT_MAX_TERM_JUMP);
    fx_destroy(&f);
}

/* raft_majority_* against a model: sort the voters' values, take the (n/2+1)-th largest. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void test_majority_model(void **state)
{
    (void)state;
    uint64_t seed = 20261204;
    printf("test_majority_model: seed %llu\n", (unsigned long long)seed);
    for (int round = 0; round < 20000; round++) {
        raft_membership m;
        memset(&m, 0, sizeof m);
        m.n_voters = 1 + (uint32_t)(lcg(&seed) % RAFT_MAX_MEMBERS);
        for (uint32_t i = 0; i < m.n_voters; i++)
            m.voters[i] = 100 + i * 3;
        raft_majority q;
        raft_majority_init(&q, &m);
        /* ids: a random subset of the voters plus strangers, in random order */
        raft_id ids[2 * RAFT_MAX_MEMBERS];
        uint64_t vals[2 * RAFT_MAX_MEMBERS];
        uint32_t n = 0;
        uint64_t model[RAFT_MAX_MEMBERS];
        uint32_t present = 0;
        for (uint32_t i = 0; i < m.n_voters; i++) {
            uint64_t v = lcg(&seed) % 8;
            model[i] = 0;
            if (lcg(&seed) % 4 == 0) continue; /* absent: counts as 0 */
            ids[n] = m.voters[i];
            vals[n++] = v;
            model[i] = v;
            present++;
        }
        for (int k = 0; k < 3; k++) {
            ids[n] = 7; /* never a voter */
            vals[n++] = 1000;
        }
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = (uint32_t)(lcg(&seed) % i);
            raft_id ti = ids[i - 1];
            uint64_t tv = vals[i - 1];
            ids[i - 1] = ids[j], vals[i - 1] = vals[j];
            ids[j] = ti, vals[j] = tv;
        }
        for (uint32_t i = 0; i < m.n_voters; i++) /* model: sort descending */
            for (uint32_t j = i + 1; j < m.n_voters; j++)
                if (model[j] > model[i]) {
                    uint64_t t = model[i];
                    model[i] = model[j], model[j] = t;
                }
        uint32_t need = m.n_voters / 2 + 1;
        assert_int_equal(raft_majority_value(&q, ids, vals, n), model[need - 1]);
        assert_int_equal(raft_majority_is_quorum(&q, ids, n), present >= need);
        raft_vote_result vr = raft_majority_vote(&q, ids, n, NULL, 0);
        assert_int_equal(vr, present >= need ? RAFT_VOTE_WON : RAFT_VOTE_PENDING);
        vr = raft_majority_vote(&q, NULL, 0, ids, n);
        assert_int_equal(vr, m.n_voters - present < need ? RAFT_VOTE_LOST : RAFT_VOTE_PENDING);
    }
}

/* ---- asynchronous persistence (raft.h, ASYNCHRONOUS PERSISTENCE) ---- */

static int empty_term(void *ud, uint64_t index, uint64_t *t)
{
    (void)ud;
    if (index != 0) return -RAFT_EUNAVAIL;
    *t = 0;
    return 0;
}
static int empty_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t mb, raft_entry *out,
                         size_t cap, size_t *n)
{
    (void)ud, (void)lo, (void)hi, (void)mb, (void)out, (void)cap, (void)n;
    return -RAFT_EUNAVAIL;
}
static int empty_snap(void *ud, uint64_t off, uint8_t *buf, uint32_t cap, raft_snapshot_meta *m,
                      uint32_t *len, bool *done)
{
    (void)ud, (void)off, (void)buf, (void)cap, (void)m, (void)len, (void)done;
    return -RAFT_EUNAVAIL;
}

/* Takes one Ready and advances it WITHOUT reporting it persisted; returns how many committed
 * entries it handed out. */
static size_t ready_no_persist(raft *r, uint64_t *last_index, uint64_t *last_term)
{
    raft_ready rd;
    raft_ready_get(r, &rd);
    if (rd.n_entries) {
        *last_index = rd.entries[rd.n_entries - 1].index;
        *last_term = rd.entries[rd.n_entries - 1].term;
    }
    size_t k = rd.n_committed;
    raft_advance(r, &rd);
    return k;
}

/* Node `id` of voters {1,2,3} over empty storage, driven by hand. */
static raft_config three_voters(uint64_t id)
{
    raft_config c = base_cfg();
    c.id = id;
    c.members.n_voters = 3;
    c.members.voters[0] = 1, c.members.voters[1] = 2, c.members.voters[2] = 3;
    c.storage =
        (raft_storage){.entries = empty_entries, .term = empty_term, .snapshot_chunk = empty_snap};
    return c;
}

/* Ticks until the node campaigned (its term left 0), handling every Ready without persisting. */
static void campaign(raft *r, uint64_t *li, uint64_t *lt)
{
    for (int i = 0; i < 40 && raft_term_of(r) == 0; i++) {
        raft_tick(r);
        while (raft_has_ready(r))
            ready_no_persist(r, li, lt);
    }
}

/* Node 1 of c (pre-vote off) campaigns and wins term 1 with node 2's vote; every Ready handled
 * without persisting (its no-op written, not acknowledged). */
static raft *elected(raft_config c, uint64_t *li, uint64_t *lt)
{
    c.pre_vote = false;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    campaign(r, li, lt);
    raft_message v = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = raft_term_of(r)};
    assert_int_equal(raft_step(r, &v), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, li, lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    return r;
}

/* Voters {1,2,3}, async_persist. Node 1 leads; its no-op (index 1) is acknowledged by node 2:
 * with the leader's own copy not yet reported durable that is 1 durable copy of 3, not a
 * quorum, so nothing commits (RAFT_TEST_BUG_SELF_UNSYNCED counts the leader at raft_advance and
 * commits here). A stale report (wrong term) changes nothing; the right one commits, and the
 * entry is handed out for applying only then. A single voter likewise commits only on
 * raft_persisted. */
static void test_leader_counts_itself_only_when_persisted(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.pre_vote = false;
    c.async_persist = true;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    campaign(r, &li, &lt);
    uint64_t term = raft_term_of(r);
    assert_true(term > 0);
    raft_message v = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = term};
    assert_int_equal(raft_step(r, &v), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    assert_int_equal(li, 1); /* the no-op, written and advanced, not reported durable */
    raft_message ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = term, .index = 1};
    assert_int_equal(raft_step(r, &ack), 0);
    size_t applied = 0;
    while (raft_has_ready(r))
        applied += ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 0);
    assert_int_equal(applied, 0);
    raft_persisted(r, 1, term + 1); /* stale: not the entry's term */
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 0);
    raft_persisted(r, 1, term);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 1);
    while (raft_has_ready(r))
        applied += ready_no_persist(r, &li, &lt);
    assert_int_equal(applied, 1);
    raft_destroy(r);

    /* a single voter: its own fsync is the whole quorum */
    c.members.n_voters = 1;
    r = raft_create(&c, NULL);
    assert_non_null(r);
    li = lt = 0;
    campaign(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    assert_int_equal(li, 1);
    assert_int_equal(st.commit, 0);
    raft_persisted(r, li, lt);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 1);
    raft_destroy(r);
}

/* Raft Figure 2, AppendEntries step 5: a follower commits min(leaderCommit, index of the last
 * NEW entry), never past what this append proved it shares with the leader. Node 2 holds entry 1
 * of term 1 (from leader 1, uncommitted); the leader of term 2, whose own entry 1 is of term 2
 * and committed, probes with an empty append at index 0 and commit 1. Clamping to the follower's
 * last index instead (an off-by-one of the commit rule) would commit the stale entry. */
static void test_follower_commits_only_matched_entries(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    raft_entry stale = {
        .index = 1, .term = 1, .type = RAFT_ENTRY_NORMAL, .data = (uint8_t *)"a", .len = 1};
    raft_message a1 = {.type = RAFT_MSG_APPEND,
                       .from = 1,
                       .to = 2,
                       .term = 1,
                       .index = 0,
                       .log_term = 0,
                       .entries = &stale,
                       .n_entries = 1,
                       .commit = 0};
    assert_int_equal(raft_step(r, &a1), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.last_index, 1);
    assert_int_equal(st.commit, 0);
    raft_message probe = {.type = RAFT_MSG_APPEND,
                          .from = 3,
                          .to = 2,
                          .term = 2,
                          .index = 0,
                          .log_term = 0,
                          .commit = 1};
    assert_int_equal(raft_step(r, &probe), 0);
    size_t applied = 0;
    while (raft_has_ready(r))
        applied += ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 0); /* entry 1 (term 1) was not shown to match the leader's */
    assert_int_equal(applied, 0);
    /* the leader's own entry 1 replaces it and commits */
    raft_entry mine = {
        .index = 1, .term = 2, .type = RAFT_ENTRY_NORMAL, .data = (uint8_t *)"b", .len = 1};
    raft_message a2 = {.type = RAFT_MSG_APPEND,
                       .from = 3,
                       .to = 2,
                       .term = 2,
                       .index = 0,
                       .log_term = 0,
                       .entries = &mine,
                       .n_entries = 1,
                       .commit = 1};
    assert_int_equal(raft_step(r, &a2), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 1);
    assert_int_equal(st.last_term, 2);
    raft_destroy(r);
}

/* A follower (id 2, voters {1,2,3}, no async) driven by hand: returns it with its term raised
 * to 2 by a vote request it refused (node 3's log is behind: index 0 vs its entry 1), so in
 * term 2 it has no vote and knows no leader. */
static raft *follower_in_term2_without_vote(void)
{
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    raft_entry e = {
        .index = 1, .term = 1, .type = RAFT_ENTRY_NORMAL, .data = (uint8_t *)"a", .len = 1};
    raft_message a = {
        .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .entries = &e, .n_entries = 1};
    assert_int_equal(raft_step(r, &a), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    for (uint32_t t = 0; t < c.election_tick; t++) /* out of the leader's stickiness */
        raft_tick(r);
    raft_message v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 2, .index = 0};
    assert_int_equal(raft_step(r, &v), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.term, 2);
    assert_int_equal(st.vote, 0);
    assert_int_equal(st.leader, 0);
    assert_int_equal(st.last_index, 1);
    return r;
}

/* A vote granted in a term the node already holds changes only the vote: the Ready that carries
 * the grant must still be synced before it is sent (must_sync), else a crash forgets the vote
 * and the node can vote again in that term. */
static void test_vote_in_adopted_term_is_synced(void **state)
{
    (void)state;
    raft *r = follower_in_term2_without_vote();
    raft_message v = {
        .type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 2, .index = 1, .log_term = 1};
    assert_int_equal(raft_step(r, &v), 0);
    assert_true(raft_has_ready(r));
    raft_ready rd;
    raft_ready_get(r, &rd);
    bool granted = false;
    for (size_t i = 0; i < rd.n_messages; i++)
        if (rd.messages[i].type == RAFT_MSG_VOTE_RESP && rd.messages[i].to == 1 &&
            !rd.messages[i].reject)
            granted = true;
    assert_true(granted);
    assert_true(rd.has_hard_state);
    assert_int_equal(rd.hard_state.term, 2);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_true(rd.must_sync);
    raft_advance(r, &rd);
    raft_destroy(r);
}

/* Messages of an older term change nothing: a vote request of term 1 is not granted (the node
 * is in term 2 without a vote: granting would hand out a vote of a term it may already have
 * voted in, and record it as its vote of term 2), and an append of term 1 neither changes the
 * log nor is acknowledged (it is answered with the node's term, so the old leader steps down). */
static void test_older_term_messages_change_nothing(void **state)
{
    (void)state;
    raft *r = follower_in_term2_without_vote();
    raft_message v = {
        .type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1, .index = 5, .log_term = 1};
    assert_int_equal(raft_step(r, &v), 0);
    raft_entry e = {
        .index = 2, .term = 1, .type = RAFT_ENTRY_NORMAL, .data = (uint8_t *)"x", .len = 1};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .index = 1,
                      .log_term = 1,
                      .entries = &e,
                      .n_entries = 1,
                      .commit = 1};
    assert_int_equal(raft_step(r, &a), 0);
    while (raft_has_ready(r)) {
        raft_ready rd;
        raft_ready_get(r, &rd);
        for (size_t i = 0; i < rd.n_messages; i++) {
            const raft_message *m = &rd.messages[i];
            assert_false(m->type == RAFT_MSG_VOTE_RESP && !m->reject);
            if (m->type == RAFT_MSG_APPEND_RESP) assert_int_equal(m->term, 2);
        }
        assert_int_equal(rd.n_entries, 0);
        raft_advance(r, &rd);
    }
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.term, 2);
    assert_int_equal(st.vote, 0);
    assert_int_equal(st.last_index, 1);
    assert_int_equal(st.commit, 0);
    raft_destroy(r);
}

/* A new leader proposes a membership change only once its no-op committed (the single-server
 * change bug reported on raft-dev in 2015: a change proposed before that may not overlap a
 * change the previous leader committed). Node 1 wins term 1 with node 2's vote; its no-op is
 * not acknowledged yet: the change is refused; acknowledged and persisted, it is accepted. */
static void test_conf_change_waits_for_noop(void **state)
{
    (void)state;
    uint64_t li = 0, lt = 0;
    raft *r = elected(three_voters(1), &li, &lt);
    uint64_t term = raft_term_of(r);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 0);
    raft_conf_change cc = {.type = RAFT_CC_ADD_LEARNER, .node = 4};
    uint64_t idx = 0;
    assert_int_equal(raft_propose_conf_change(r, &cc, &idx), -RAFT_EBUSY);
    raft_message ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = term, .index = 1};
    assert_int_equal(raft_step(r, &ack), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 1);
    assert_int_equal(raft_propose_conf_change(r, &cc, &idx), 0);
    assert_int_equal(idx, 2);
    raft_destroy(r);
}

/* Leader stickiness on the leader itself (§9.6, with CheckQuorum): a leader ignores pre-votes
 * and votes for a higher term that were not asked for by a transfer. A node cut off from the
 * other follower but not from the leader (a one-way link) would otherwise collect the leader's
 * pre-vote, campaign, and depose a healthy leader with its real vote request. */
static int grants_to_3;
static bool count_grants_to_3(fx *f, raft_message *m)
{
    (void)f;
    if ((m->type == RAFT_MSG_VOTE_RESP || m->type == RAFT_MSG_PRE_VOTE_RESP) && m->to == 3 &&
        !m->reject)
        grants_to_3++;
    return m->to != 3; /* node 3's side is played by hand */
}

static void test_leader_ignores_votes_while_leading(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 2);
    raft_status s1 = fx_status(&f, 1);
    assert_int_equal(s1.role, RAFT_LEADER);
    grants_to_3 = 0;
    f.filter = count_grants_to_3;
    raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_PRE_VOTE;
    m.from = 3;
    m.to = 1;
    m.term = s1.term + 1;
    m.index = s1.last_index; /* as up to date as the leader */
    m.log_term = s1.last_term;
    assert_int_equal(raft_step(fx_node_of(&f, 1)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 0);
    m.type = RAFT_MSG_VOTE;
    assert_int_equal(raft_step(fx_node_of(&f, 1)->r, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 0);
    raft_status now = fx_status(&f, 1);
    assert_int_equal(now.role, RAFT_LEADER);
    assert_int_equal(now.term, s1.term);
    f.filter = NULL;
    fx_destroy(&f);
}

/* The follower's side of the lease (§6.4.1): having heard from its leader at tick T, a follower
 * refuses (pre-)votes through T + election_tick - 1 and grants one from T + election_tick on.
 * The leader's lease ends at T + election_tick - max_clock_drift_ticks - 1 on its own clock; a
 * follower that stopped refusing earlier than its full election timeout would let a new leader
 * exist inside that lease (or inside its drift margin). */
static void test_stickiness_lasts_an_election_timeout(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    c.lease_reads = true;
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 3); /* node 2 heard the leader's heartbeat in the last tick */
    assert_true(fx_status(&f, 1).lease_valid);
    raft_status s2 = fx_status(&f, 2);
    assert_int_equal(s2.leader, 1);
    fx_isolate(&f, 2);
    raft *r2 = fx_node_of(&f, 2)->r;
    for (uint32_t t = 0; t + 1 < c.election_tick; t++)
        raft_tick(r2);
    fx_process_all_ready(&f);
    grants_to_3 = 0;
    f.filter = count_grants_to_3;
    f.cut[2][3] = false;
    raft_message m;
    memset(&m, 0, sizeof m);
    m.from = 3;
    m.to = 2;
    m.term = s2.term + 1;
    m.index = s2.last_index;
    m.log_term = s2.last_term;
    m.type = RAFT_MSG_PRE_VOTE;
    assert_int_equal(raft_step(r2, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 0); /* election_tick - 1 ticks after the leader: still its */
    m.type = RAFT_MSG_VOTE;
    assert_int_equal(raft_step(r2, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 0);
    assert_int_equal(fx_status(&f, 2).term, s2.term);
    raft_tick(r2); /* a full election timeout without the leader */
    fx_process_all_ready(&f);
    m.type = RAFT_MSG_PRE_VOTE;
    assert_int_equal(raft_step(r2, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 1);
    f.filter = NULL;
    fx_destroy(&f);
}

/* A pre-vote is granted for a LATER term only (or under the rules of a real vote): a node that
 * knows a leader of term t (out of its lease) refuses a pre-vote for term t itself, which a node
 * still in term t - 1 asks for. Granting it would let that node campaign in a term that already
 * has a leader. */
static void test_prevote_for_current_term_refused(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 2);
    raft_status s2 = fx_status(&f, 2);
    assert_int_equal(s2.leader, 1);
    fx_isolate(&f, 2);
    raft *r2 = fx_node_of(&f, 2)->r;
    for (uint32_t t = 0; t < c.election_tick; t++) /* out of the leader's stickiness */
        raft_tick(r2);
    fx_process_all_ready(&f);
    assert_int_equal(fx_status(&f, 2).term, s2.term);
    grants_to_3 = 0;
    f.filter = count_grants_to_3;
    f.cut[2][3] = false;
    raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_PRE_VOTE;
    m.from = 3;
    m.to = 2;
    m.term = s2.term; /* node 3 would campaign in term s2.term: it is in s2.term - 1 */
    m.index = s2.last_index;
    m.log_term = s2.last_term;
    assert_int_equal(raft_step(r2, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 0);
    m.term = s2.term + 1; /* the next term: granted */
    assert_int_equal(raft_step(r2, &m), 0);
    fx_process_all_ready(&f);
    assert_int_equal(grants_to_3, 1);
    f.filter = NULL;
    fx_destroy(&f);
}

/* A pre-candidate that hears from the leader of its term becomes a follower again (§5.2, §9.6):
 * a granted pre-vote response that arrives later must not start an election that would depose
 * the healthy leader (its higher term reaches the leader through the append responses). */
static void test_precandidate_concedes_to_leader(void **state)
{
    (void)state;
    fx f;
    raft_config c = base_cfg();
    fx_init(&f, 3, 0, 0, &c);
    assert_true(fx_campaign_win(&f, 1));
    fx_tick(&f, 2);
    uint64_t term = fx_status(&f, 1).term;
    fx_isolate(&f, 3);
    raft *r3 = fx_node_of(&f, 3)->r;
    for (int t = 0; t < 40 && fx_status(&f, 3).role != RAFT_PRE_CANDIDATE; t++) {
        raft_tick(r3);
        fx_process_all_ready(&f);
    }
    assert_int_equal(fx_status(&f, 3).role, RAFT_PRE_CANDIDATE);
    fx_heal(&f);
    fx_tick(&f, 1); /* the leader's heartbeat reaches it */
    raft_status s3 = fx_status(&f, 3);
    assert_int_equal(s3.role, RAFT_FOLLOWER);
    assert_int_equal(s3.leader, 1);
    assert_int_equal(s3.term, term);
    raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_MSG_PRE_VOTE_RESP; /* a late grant from node 2 */
    m.from = 2;
    m.to = 3;
    m.term = term + 1;
    assert_int_equal(raft_step(r3, &m), 0);
    fx_flush(&f);
    assert_int_equal(fx_status(&f, 3).term, term);
    assert_int_equal(fx_status(&f, 1).role, RAFT_LEADER);
    assert_int_equal(fx_status(&f, 1).term, term);
    fx_destroy(&f);
}

/* A node whose log holds a COMMITTED configuration change it has not applied yet does not know
 * its configuration either: with async persistence committed entries are applied only once its
 * own copy is durable. Node 2 holds "add 4" (index 1, committed) and "add 5" (index 2) without
 * having reported either durable: its applied configuration is {1,2,3}, which may be two changes
 * behind ({1,...,5} if index 2 committed elsewhere), and {2,3} need not overlap a majority of
 * {1,...,5}. It must not campaign (raft_has_unapplied_conf) until it applied the change. */
static void test_no_campaign_with_committed_unapplied_change(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    c.pre_vote = false;
    c.async_persist = true;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    uint8_t add4[9] = {RAFT_CC_ADD_VOTER, 4}, add5[9] = {RAFT_CC_ADD_VOTER, 5};
    raft_entry e[2] = {
        {.index = 1, .term = 1, .type = RAFT_ENTRY_CONF_CHANGE, .data = add4, .len = 9},
        {.index = 2, .term = 1, .type = RAFT_ENTRY_CONF_CHANGE, .data = add5, .len = 9}};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .entries = e,
                      .n_entries = 2,
                      .commit = 1};
    assert_int_equal(raft_step(r, &a), 0);
    size_t applied = 0;
    while (raft_has_ready(r))
        applied += ready_no_persist(r, &li, &lt);
    assert_int_equal(applied, 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 1);
    assert_int_equal(st.last_index, 2);
    assert_int_equal(st.config.n_voters, 3);
    raft_message tn = {.type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 1};
    assert_int_equal(raft_step(r, &tn), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.term, 1);
    assert_int_equal(st.role, RAFT_FOLLOWER);
    /* durable and applied: now it knows {1,2,3,4} and may campaign */
    raft_persisted(r, 2, 1);
    while (raft_has_ready(r))
        applied += ready_no_persist(r, &li, &lt);
    assert_int_equal(applied, 1);
    raft_status_get(r, &st);
    assert_int_equal(st.config.n_voters, 4);
    assert_int_equal(raft_step(r, &tn), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.term, 2);
    assert_int_equal(st.role, RAFT_CANDIDATE);
    raft_destroy(r);
}

/* Counts the granted vote responses to `to` in one Ready, then advances it. */
static int ready_count_grants(raft *r, raft_id to)
{
    raft_ready rd;
    raft_ready_get(r, &rd);
    int n = 0;
    for (size_t i = 0; i < rd.n_messages; i++)
        if (rd.messages[i].type == RAFT_MSG_VOTE_RESP && rd.messages[i].to == to &&
            !rd.messages[i].reject)
            n++;
    raft_advance(r, &rd);
    return n;
}

/* A vote already granted in a term is granted again to the same candidate (its first answer may
 * have been lost, or the request duplicated), also inside the leader-stickiness window: a node
 * restarted with lease_reads counts an election timeout of stickiness from its start, and its
 * durable vote of that term stands. Any other candidate of the term is refused. */
static void test_vote_repeated_to_same_candidate(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_message v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 1};
    int granted = 0;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(raft_step(r, &v), 0);
        while (raft_has_ready(r))
            granted += ready_count_grants(r, 3);
    }
    assert_int_equal(granted, 2);
    raft_destroy(r);

    /* restarted with its vote for 3 in term 1, inside the stickiness window */
    c.lease_reads = true;
    c.hard_state.term = 1;
    c.hard_state.vote = 3;
    r = raft_create(&c, NULL);
    assert_non_null(r);
    assert_int_equal(raft_step(r, &v), 0);
    granted = 0;
    while (raft_has_ready(r))
        granted += ready_count_grants(r, 3);
    assert_int_equal(granted, 1);
    raft_message v1 = {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    assert_int_equal(raft_step(r, &v1), 0);
    granted = 0;
    while (raft_has_ready(r))
        granted += ready_count_grants(r, 1);
    assert_int_equal(granted, 0);
    raft_destroy(r);
}

/* A candidate that a majority rejected steps back to follower at once (it no longer claims the
 * term's candidacy; its status and soft state say so). */
static void test_candidate_rejected_by_majority_becomes_follower(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.pre_vote = false;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    campaign(r, &li, &lt);
    uint64_t term = raft_term_of(r);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_CANDIDATE);
    raft_message no = {
        .type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = term, .reject = true};
    assert_int_equal(raft_step(r, &no), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_CANDIDATE); /* 1 and 3 could still win */
    no.from = 3;
    assert_int_equal(raft_step(r, &no), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_FOLLOWER);
    assert_int_equal(st.term, term);
    assert_int_equal(st.vote, 1);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* Ticks until the node becomes a pre-candidate, handling every Ready without persisting. */
static void pre_campaign(raft *r, uint64_t *li, uint64_t *lt)
{
    raft_status st;
    for (int i = 0; i < 40; i++) {
        raft_status_get(r, &st);
        if (st.role == RAFT_PRE_CANDIDATE) return;
        raft_tick(r);
        while (raft_has_ready(r))
            ready_no_persist(r, li, lt);
    }
}

/* A granted PRE-vote is not a vote (§9.6): it records nothing on the granting node, which may
 * then vote for someone else in that term. Node 1 wins its pre-vote with 2's grant and becomes
 * a candidate of term 1; 3's grant of the pre-vote arrives late (it carries term 1, the term 1
 * now campaigns in). Counted as a vote it would make 1 leader of term 1 with no real vote but
 * its own, while 2 and 3 may elect another node in term 1: two leaders in one term. */
static void test_late_prevote_grant_is_not_a_vote(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    pre_campaign(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_PRE_CANDIDATE);
    assert_int_equal(st.term, 0);
    raft_message g = {.type = RAFT_MSG_PRE_VOTE_RESP, .from = 2, .to = 1, .term = 1};
    assert_int_equal(raft_step(r, &g), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_CANDIDATE);
    assert_int_equal(st.term, 1);
    g.from = 3; /* the late pre-vote grant */
    assert_int_equal(raft_step(r, &g), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_CANDIDATE);
    /* a real vote wins */
    raft_message v = {.type = RAFT_MSG_VOTE_RESP, .from = 3, .to = 1, .term = 1};
    assert_int_equal(raft_step(r, &v), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* A pre-vote refused by a node of a higher term makes the pre-candidate adopt that term (as any
 * message of a higher term does, except a pre-vote request and a granted pre-vote response,
 * which carry a term nobody is in yet): it must campaign above that term to be heard at all. */
static void test_rejected_prevote_of_higher_term_adopted(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    pre_campaign(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_PRE_CANDIDATE);
    raft_message no = {
        .type = RAFT_MSG_PRE_VOTE_RESP, .from = 2, .to = 1, .term = 5, .reject = true};
    assert_int_equal(raft_step(r, &no), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.term, 5);
    assert_int_equal(st.role, RAFT_FOLLOWER);
    assert_int_equal(st.vote, 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* Steps one message into r, handles every Ready without persisting, and returns the index of
 * the last APPEND_RESP it sent (-1 if none; reject sets *rejected). */
static int64_t step_get_append_resp(raft *r, const raft_message *m, bool *rejected)
{
    assert_int_equal(raft_step(r, m), 0);
    int64_t idx = -1;
    while (raft_has_ready(r)) {
        raft_ready rd;
        raft_ready_get(r, &rd);
        for (size_t i = 0; i < rd.n_messages; i++)
            if (rd.messages[i].type == RAFT_MSG_APPEND_RESP) {
                idx = (int64_t)rd.messages[i].index;
                if (rejected) *rejected = rd.messages[i].reject;
            }
        raft_advance(r, &rd);
    }
    return idx;
}

/* A follower acknowledges only what the APPEND matched: prev + its entries (Raft §5.3), never the
 * rest of its log. Node 2 holds 1..5 from the leader of term 1; the leader of term 2 (whose own
 * log may differ after 2: its entries 3.. may be of term 2) sends one entry after prev 1 (a
 * batch bounded by max_batch_bytes). Acknowledging 5 would let that leader count 2 as holding
 * its entries 3..5, and commit them on copies that differ. */
static void test_follower_acks_only_matched_prefix(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_entry e[5];
    for (int i = 0; i < 5; i++)
        e[i] = (raft_entry){.index = (uint64_t)i + 1, .term = 1, .type = RAFT_ENTRY_NORMAL};
    raft_message a = {
        .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .entries = e, .n_entries = 5};
    assert_int_equal(step_get_append_resp(r, &a, NULL), 5);
    raft_message b = {.type = RAFT_MSG_APPEND,
                      .from = 3,
                      .to = 2,
                      .term = 2,
                      .index = 1,
                      .log_term = 1,
                      .entries = &e[1],
                      .n_entries = 1};
    bool rej = true;
    assert_int_equal(step_get_append_resp(r, &b, &rej), 2);
    assert_false(rej);
    /* an empty APPEND (a probe) matched at 3 acknowledges 3 */
    b.index = 3, b.n_entries = 0, b.entries = NULL;
    assert_int_equal(step_get_append_resp(r, &b, &rej), 3);
    assert_false(rej);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.last_index, 5); /* nothing conflicted: the suffix stays */
    raft_destroy(r);
}

/* A heartbeat's commit index is clamped to the follower's own log (raft.h: commit = min(leader
 * commit, follower match); a peer may be broken or hostile): a follower holding 2 entries that
 * gets a heartbeat saying 50 commits 2, and nothing past its log. */
static void test_heartbeat_commit_clamped_to_log(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_entry e[2] = {{.index = 1, .term = 1, .type = RAFT_ENTRY_NORMAL},
                       {.index = 2, .term = 1, .type = RAFT_ENTRY_NORMAL}};
    raft_message a = {
        .type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .entries = e, .n_entries = 2};
    assert_int_equal(step_get_append_resp(r, &a, NULL), 2);
    raft_message hb = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1, .commit = 50};
    assert_int_equal(raft_step(r, &hb), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 2);
    assert_int_equal(st.last_index, 2);
    uint64_t li = 0, lt = 0;
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* A node restarted with lease reads refuses votes for its first election_tick ticks (raft.h,
 * lease_reads): it may have acknowledged a heartbeat round of the current leader just before it
 * went down, and that leader's lease counts on its vote until election_tick after that round.
 * Granting at once would let a candidate win while the old leader still serves lease reads. */
static void test_restarted_node_refuses_votes_for_an_election_timeout(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    c.lease_reads = true;
    c.hard_state.term = 1;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_message v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 2};
    uint32_t granted_at = 0;
    for (uint32_t t = 0; t <= 2 * c.election_tick && granted_at == 0; t++) {
        if (t > 0) raft_tick(r);
        assert_int_equal(raft_step(r, &v), 0);
        while (raft_has_ready(r))
            if (ready_count_grants(r, 3) > 0) granted_at = t;
        if (granted_at == 0) assert_int_equal(raft_term_of(r), 1); /* ignored, not adopted */
    }
    assert_int_equal(granted_at, c.election_tick);
    raft_destroy(r);
}

/* Back-pressure (raft.h: proposals beyond max_uncommitted_bytes get -RAFT_EBUSY): a leader whose
 * followers do not answer accepts proposals up to the bound (one larger than it alone is taken
 * when nothing is pending) and refuses the next; once they commit, it accepts again. */
static void test_uncommitted_bytes_bound_proposals(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.max_uncommitted_bytes = 100;
    uint64_t li = 0, lt = 0;
    raft *r = elected(c, &li, &lt);
    uint8_t data[60] = {0};
    uint64_t idx = 0;
    assert_int_equal(raft_propose(r, data, 60, &idx), 0);
    assert_int_equal(raft_propose(r, data, 40, &idx), 0); /* 100: at the bound */
    assert_int_equal(raft_propose(r, data, 1, NULL), -RAFT_EBUSY);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_message ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = idx};
    assert_int_equal(raft_step(r, &ack), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, idx);
    assert_int_equal(raft_propose(r, data, 60, NULL), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* raft_create refuses a restart state that breaks the rules raft.h lists (commit beyond the
 * stored log, a snapshot beyond it, a last term above the hard state's term) instead of
 * adjusting it: such a disk image is corrupt or out of order. */
static void test_create_refuses_inconsistent_restart_state(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    c.hard_state = (raft_hard_state){.term = 2, .vote = 0, .commit = 5};
    c.last_index = 4;
    c.last_term = 2;
    int err = 0;
    assert_null(raft_create(&c, &err));
    assert_int_equal(err, -RAFT_EINVAL);
    c.hard_state.commit = 4;
    raft *r = raft_create(&c, &err);
    assert_non_null(r);
    raft_destroy(r);
    c.last_term = 3; /* an entry of a term this node never reached */
    assert_null(raft_create(&c, &err));
    c.last_term = 2;
    c.snapshot = (raft_snapshot_meta){.index = 5, .term = 2, .config = c.members};
    assert_null(raft_create(&c, &err));
}

/* raft_may_send_early (raft.h, dissertation §10.2.1): only a leader's APPEND, HEARTBEAT,
 * SNAPSHOT and TIMEOUT_NOW, and only of the term already durable on this node; never a vote, a
 * response, or anything before any term is durable. */
static void test_may_send_early_only_in_durable_term(void **state)
{
    (void)state;
    const raft_msg_type early[] = {RAFT_MSG_APPEND, RAFT_MSG_HEARTBEAT, RAFT_MSG_SNAPSHOT,
                                   RAFT_MSG_TIMEOUT_NOW};
    for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
        raft_message m = {.type = early[i], .from = 1, .to = 2, .term = 3};
        assert_true(raft_may_send_early(&m, 3));
        assert_false(raft_may_send_early(&m, 2)); /* term 3 not durable yet */
        m.term = 0;
        assert_false(raft_may_send_early(&m, 0));
    }
    for (int t = 1; t <= RAFT_MSG_TYPE_MAX; t++) {
        raft_message m = {.type = (raft_msg_type)t, .from = 1, .to = 2, .term = 3};
        bool is_early = false;
        for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
            is_early = is_early || early[i] == m.type;
        if (!is_early) assert_false(raft_may_send_early(&m, 3));
    }
}

/* Membership bounds (raft_membership: at most RAFT_MAX_MEMBERS ids in all, a voter always left):
 * a leader with 16 members refuses a 17th, as voter or learner, and refuses to remove the last
 * voter (itself) - the change would not fit, so it is -RAFT_EINVAL and nothing is appended. */
static void test_conf_change_bounds(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.members.n_voters = 1;
    c.members.n_learners = RAFT_MAX_MEMBERS - 1;
    for (uint32_t i = 0; i < c.members.n_learners; i++)
        c.members.learners[i] = 2 + i;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    campaign(r, &li, &lt);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    assert_int_equal(st.commit, st.last_index); /* the no-op: sole voter */
    uint64_t last = st.last_index;
    raft_conf_change cc = {.type = RAFT_CC_REMOVE, .node = 1};
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), -RAFT_EINVAL);
    cc = (raft_conf_change){.type = RAFT_CC_ADD_VOTER, .node = 100};
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), -RAFT_EINVAL);
    cc.type = RAFT_CC_ADD_LEARNER;
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), -RAFT_EINVAL);
    raft_status_get(r, &st);
    assert_int_equal(st.last_index, last);
    /* a learner removed, the 16th member fits again */
    cc = (raft_conf_change){.type = RAFT_CC_REMOVE, .node = 16};
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    cc = (raft_conf_change){.type = RAFT_CC_ADD_VOTER, .node = 100};
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.config.n_voters, 2);
    assert_int_equal(st.config.n_learners, RAFT_MAX_MEMBERS - 2);
    raft_destroy(r);
}

/* A removal that shrinks the quorum commits what the smaller quorum already holds as soon as
 * the leader applies it, not at the next acknowledgement (which may never come). Voters
 * {1,2,3,4}, leader 1: R = "remove 4" (index 2) and X (index 3) are held by 1 and 2, node 3 holds
 * R only, 4 is down. R commits (3 of 4); X has 2 of 4, and 2 of {1,2,3} once R applies. */
static void test_removal_commits_with_the_smaller_quorum(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.members.n_voters = 4;
    c.members.voters[3] = 4;
    c.pre_vote = false;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    campaign(r, &li, &lt);
    raft_message m = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 1};
    assert_int_equal(raft_step(r, &m), 0);
    m.from = 3;
    assert_int_equal(raft_step(r, &m), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = 1};
    assert_int_equal(raft_step(r, &m), 0);
    m.from = 3;
    assert_int_equal(raft_step(r, &m), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_conf_change cc = {.type = RAFT_CC_REMOVE, .node = 4};
    uint64_t ri = 0, xi = 0;
    assert_int_equal(raft_propose_conf_change(r, &cc, &ri), 0);
    assert_int_equal(raft_propose(r, "x", 1, &xi), 0);
    assert_int_equal(xi, ri + 1);
    ready_no_persist(r, &li, &lt); /* the leader's own copies: durable */
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = xi};
    assert_int_equal(raft_step(r, &m), 0);
    m.from = 3, m.index = ri;
    assert_int_equal(raft_step(r, &m), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, ri);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.config.n_voters, 3);
    assert_int_equal(st.commit, xi);
    raft_destroy(r);
}

/* One unapplied configuration change at a time (raft_membership.c), also for a change a new
 * leader inherited: node 1 holds "add learner 4" (index 1) from the leader of term 1 and wins
 * term 2. When its no-op commits, the change commits with it but is not applied before the next
 * Ready; a change proposed in between is refused (-RAFT_EBUSY), and accepted once it applied. */
static void test_inherited_change_applies_before_another(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.pre_vote = false;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    uint64_t li = 0, lt = 0;
    uint8_t add4[9] = {RAFT_CC_ADD_LEARNER, 4};
    raft_entry e = {.index = 1, .term = 1, .type = RAFT_ENTRY_CONF_CHANGE, .data = add4, .len = 9};
    raft_message a = {
        .type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 1, .entries = &e, .n_entries = 1};
    assert_int_equal(raft_step(r, &a), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    for (uint32_t t = 0; t < 2 * c.election_tick && raft_term_of(r) == 1; t++) {
        raft_tick(r);
        while (raft_has_ready(r))
            ready_no_persist(r, &li, &lt);
    }
    assert_int_equal(raft_term_of(r), 2);
    raft_message m = {.type = RAFT_MSG_VOTE_RESP, .from = 3, .to = 1, .term = 2};
    assert_int_equal(raft_step(r, &m), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    assert_int_equal(st.last_index, 2); /* the no-op */
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 2, .index = 2};
    assert_int_equal(raft_step(r, &m), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 2);
    assert_int_equal(st.applied, 0);
    raft_conf_change cc = {.type = RAFT_CC_ADD_LEARNER, .node = 5};
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), -RAFT_EBUSY);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_status_get(r, &st);
    assert_int_equal(st.config.n_learners, 1);
    assert_int_equal(raft_propose_conf_change(r, &cc, NULL), 0);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* A leader that steps down drops the appends it queued but has not handed out (raft.c
 * raft_drop_outbox_leader_msgs): they point at its memory log, which the new leader's entries
 * may overwrite before the next Ready. Leader 1 of term 1 queues appends of X and Y to 2 (an
 * answer to its probe), then, before its Ready, an APPEND of term 2 from 3 replaces X and Y by
 * one entry of term 2. The Ready carries no APPEND (and no entry of term 2 under term 1). */
static void test_deposed_leader_drops_queued_appends(void **state)
{
    (void)state;
    uint64_t li = 0, lt = 0;
    raft *r = elected(three_voters(1), &li, &lt);
    raft_message m;
    assert_int_equal(raft_propose(r, "X", 1, NULL), 0);
    assert_int_equal(raft_propose(r, "Y", 1, NULL), 0);
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP,
                       .from = 2,
                       .to = 1,
                       .term = 1,
                       .index = 0,
                       .reject = true,
                       .reject_hint = 1};
    assert_int_equal(raft_step(r, &m), 0); /* the probe went before X and Y: resend from 1 */
    raft_entry e = {.index = 2, .term = 2, .type = RAFT_ENTRY_NORMAL};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 3,
                      .to = 1,
                      .term = 2,
                      .index = 1,
                      .log_term = 1,
                      .entries = &e,
                      .n_entries = 1};
    assert_int_equal(raft_step(r, &a), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_FOLLOWER);
    assert_int_equal(st.last_index, 2);
    raft_ready rd;
    raft_ready_get(r, &rd);
    for (size_t i = 0; i < rd.n_messages; i++)
        assert_int_not_equal(rd.messages[i].type, RAFT_MSG_APPEND);
    raft_advance(r, &rd);
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    raft_destroy(r);
}

/* What drain() saw in the Readies it handled. */
static raft_read_state seen_reads[16];
static size_t n_seen_reads;
static uint64_t seen_hb_ctx;         /* ctx of the last HEARTBEAT to node 2 */
static int64_t seen_read_index_resp; /* index of the last READ_INDEX_RESP, -1 if none */
static int seen_appends_to_2;        /* APPENDs to node 2 */
static uint64_t seen_append_index;   /* prev index of the last of them */

/* Handles every Ready of r (no async persistence), noting read states and messages. */
static void drain(raft *r)
{
    while (raft_has_ready(r)) {
        raft_ready rd;
        raft_ready_get(r, &rd);
        for (size_t i = 0; i < rd.n_messages; i++) {
            const raft_message *m = &rd.messages[i];
            if (m->type == RAFT_MSG_HEARTBEAT && m->to == 2) seen_hb_ctx = m->ctx;
            if (m->type == RAFT_MSG_READ_INDEX_RESP && !m->reject)
                seen_read_index_resp = (int64_t)m->index;
            if (m->type == RAFT_MSG_APPEND && m->to == 2) {
                seen_appends_to_2++;
                seen_append_index = m->index;
            }
        }
        for (size_t i = 0; i < rd.n_read_states && n_seen_reads < 16; i++)
            seen_reads[n_seen_reads++] = rd.read_states[i];
        raft_advance(r, &rd);
    }
}

/* Node 1 of voters {1,2,3} becomes leader of term 1 with node 2's vote and commits its no-op. */
static raft *lead_three(raft_config c)
{
    c.pre_vote = false;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    for (int i = 0; i < 40 && raft_term_of(r) == 0; i++) {
        raft_tick(r);
        drain(r);
    }
    raft_message m = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 1};
    assert_int_equal(raft_step(r, &m), 0);
    drain(r);
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = 1};
    assert_int_equal(raft_step(r, &m), 0);
    drain(r);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.role, RAFT_LEADER);
    assert_int_equal(st.applied, 1);
    return r;
}

/* The read index is the leader's COMMIT index when the read came (§6.4 step 1), not what it has
 * applied: a write committed (and maybe acknowledged by an earlier leader that applied it)
 * must be visible to a read that starts after. X commits at 2 while the leader has applied 1
 * (its Ready not taken yet); a ReadIndex read, one forwarded by follower 3 and a lease read
 * taken then all get read index 2, and the local ones are released once 2 is applied. */
static void test_read_index_is_commit_not_applied(void **state)
{
    (void)state;
    raft_config c = three_voters(1);
    c.lease_reads = true;
    raft *r = lead_three(c);
    n_seen_reads = 0, seen_read_index_resp = -1;
    raft_tick(r);
    drain(r);
    raft_message hb = {
        .type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 1, .ctx = seen_hb_ctx};
    assert_int_equal(raft_step(r, &hb), 0); /* the lease holds */
    uint64_t x = 0;
    assert_int_equal(raft_propose(r, "x", 1, &x), 0);
    drain(r);
    raft_message ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = x};
    assert_int_equal(raft_step(r, &ack), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, x);
    assert_int_equal(st.applied, x - 1);
    assert_int_equal(raft_read_index(r, 10), 0);
    raft_message fwd = {.type = RAFT_MSG_READ_INDEX, .from = 3, .to = 1, .term = 1, .ctx = 11};
    assert_int_equal(raft_step(r, &fwd), 0);
    assert_int_equal(raft_read_lease(r, 12), 0);
    drain(r); /* applies x, sends the read round */
    hb.ctx = seen_hb_ctx;
    assert_int_equal(raft_step(r, &hb), 0);
    drain(r);
    assert_int_equal(seen_read_index_resp, (int64_t)x);
    assert_int_equal(n_seen_reads, 2);
    for (size_t i = 0; i < n_seen_reads; i++) {
        assert_int_equal(seen_reads[i].err, 0);
        assert_int_equal(seen_reads[i].index, x);
    }
    raft_destroy(r);
}

/* Each read waits for the first heartbeat round sent after it, not for the latest one: read A
 * goes with round k, read B with round k+1; the acknowledgement of k confirms A at once (under a
 * steady stream of reads, moving A to every newer round would confirm it never). */
static void test_read_confirmed_by_its_own_round(void **state)
{
    (void)state;
    raft *r = lead_three(three_voters(1));
    n_seen_reads = 0;
    assert_int_equal(raft_read_index(r, 1), 0);
    drain(r);
    uint64_t round_a = seen_hb_ctx;
    assert_int_equal(raft_read_index(r, 2), 0);
    drain(r);
    assert_true(seen_hb_ctx > round_a);
    raft_message hb = {
        .type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 1, .ctx = round_a};
    assert_int_equal(raft_step(r, &hb), 0);
    drain(r);
    assert_int_equal(n_seen_reads, 1);
    assert_int_equal(seen_reads[0].ctx, 1);
    hb.ctx = seen_hb_ctx;
    assert_int_equal(raft_step(r, &hb), 0);
    drain(r);
    assert_int_equal(n_seen_reads, 2);
    assert_int_equal(seen_reads[1].ctx, 2);
    raft_destroy(r);
}

/* Steps one SNAPSHOT chunk into follower r without taking a Ready. */
static void step_chunk(raft *r, uint64_t offset, const uint8_t *data, uint32_t len, bool done)
{
    raft_message m = {.type = RAFT_MSG_SNAPSHOT,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .snap_offset = offset,
                      .snap_len = len,
                      .snap_data = data,
                      .snap_done = done};
    m.snapshot.index = 10;
    m.snapshot.term = 1;
    m.snapshot.config.n_voters = 3;
    m.snapshot.config.voters[0] = 1, m.snapshot.config.voters[1] = 2;
    m.snapshot.config.voters[2] = 3;
    assert_int_equal(raft_step(r, &m), 0);
}

/* Takes one Ready: the chunk it hands out (offset, or -1 if none) and the SNAPSHOT_RESP it sends
 * (*resp_offset, *rejected; *resp_offset = -1 if none). */
static int64_t ready_chunk(raft *r, int64_t *resp_offset, bool *rejected)
{
    raft_ready rd;
    raft_ready_get(r, &rd);
    int64_t off = rd.snapshot.present ? (int64_t)rd.snapshot.offset : -1;
    *resp_offset = -1;
    for (size_t i = 0; i < rd.n_messages; i++)
        if (rd.messages[i].type == RAFT_MSG_SNAPSHOT_RESP) {
            *resp_offset = (int64_t)rd.messages[i].snap_offset;
            *rejected = rd.messages[i].reject;
        }
    raft_advance(r, &rd);
    return off;
}

/* InstallSnapshot chunks are taken strictly in order and one per Ready (raft.h, step 1: every
 * chunk but the first starts where the previous one ended): a chunk that skips ahead is refused
 * with the offset the follower expects, and a second chunk before the first was handed out is
 * ignored (the leader sends it again) instead of replacing it. */
static void test_snapshot_chunks_in_order(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    const uint8_t data[12] = "abcdefghijkl";
    int64_t resp = 0;
    bool rej = false;
    step_chunk(r, 0, data, 4, false);
    step_chunk(r, 4, data + 4, 4, false); /* before the first was handed out: ignored */
    assert_int_equal(ready_chunk(r, &resp, &rej), 0);
    assert_int_equal(resp, 4);
    assert_false(rej);
    assert_false(raft_has_ready(r));
    step_chunk(r, 8, data + 8, 4, true); /* skips 4..8 */
    assert_int_equal(ready_chunk(r, &resp, &rej), -1);
    assert_int_equal(resp, 4);
    assert_true(rej);
    step_chunk(r, 4, data + 4, 4, false);
    assert_int_equal(ready_chunk(r, &resp, &rej), 4);
    assert_int_equal(resp, 8);
    assert_false(rej);
    step_chunk(r, 8, data + 8, 4, true);
    assert_int_equal(ready_chunk(r, &resp, &rej), 8);
    assert_int_equal(resp, 12);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.snapshot_index, 10);
    assert_int_equal(st.commit, 10);
    raft_destroy(r);
}

/* sync_may_wait (raft.h) is only a hint for entries the leader sent with sync_later; a Ready
 * that also changes the term or the vote must be synced at once (a candidate waits for that
 * vote). The first APPEND of term 1 carries such entries AND moves the term: no waiting; the
 * next one, in the same term, may wait. */
static void test_sync_may_wait_not_with_a_term_change(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_entry e[2] = {{.index = 1, .term = 1, .type = RAFT_ENTRY_NORMAL},
                       {.index = 2, .term = 1, .type = RAFT_ENTRY_NORMAL}};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .entries = e,
                      .n_entries = 1,
                      .sync_later = true};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(raft_step(r, &a), 0);
        raft_ready rd;
        raft_ready_get(r, &rd);
        assert_true(rd.must_sync);
        assert_int_equal(rd.n_entries, 1);
        assert_int_equal(rd.has_hard_state, k == 0);
        assert_int_equal(rd.sync_may_wait, k == 1);
        raft_advance(r, &rd);
        a.index = 1, a.log_term = 1, a.entries = &e[1];
    }
    raft_destroy(r);
}

/* Flow control ignores answers that are not about what is in flight (they only cost resends):
 * a rejection at or below the follower's match (replicating: an old probe's answer) or of
 * another index than the probe in flight, and a heartbeat answer for the round an APPEND went
 * out in (appends_lost: only an APPEND sent BEFORE that round and still unacknowledged was
 * lost; this one simply left after the heartbeat). */
static void test_stale_answers_cause_no_resend(void **state)
{
    (void)state;
    raft *r = lead_three(three_voters(1)); /* 2 replicating, match 1 */
    raft_message ok = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = 1};
    assert_int_equal(raft_step(r, &ok), 0); /* the append that carried commit 1 */
    drain(r);
    raft_tick(r);
    drain(r);
    uint64_t round = seen_hb_ctx;
    uint64_t x = 0;
    assert_int_equal(raft_propose(r, "x", 1, &x), 0);
    seen_appends_to_2 = 0;
    drain(r);
    assert_int_equal(seen_appends_to_2, 1); /* x, sent in round `round` */
    seen_appends_to_2 = 0;
    raft_message m = {
        .type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 1, .ctx = round, .index = 1};
    assert_int_equal(raft_step(r, &m), 0);
    drain(r);
    assert_int_equal(seen_appends_to_2, 0);
    m = (raft_message){.type = RAFT_MSG_APPEND_RESP,
                       .from = 2,
                       .to = 1,
                       .term = 1,
                       .index = 1,
                       .reject = true,
                       .reject_hint = 1};
    assert_int_equal(raft_step(r, &m), 0); /* at match: stale */
    drain(r);
    assert_int_equal(seen_appends_to_2, 0);
    /* probing (the link was lost): next = match + 1 = 2, x goes again */
    raft_report_unreachable(r, 2);
    raft_message hb = {
        .type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 1, .ctx = round, .index = 1};
    assert_int_equal(raft_step(r, &hb), 0);
    drain(r);
    assert_int_equal(seen_appends_to_2, 1);
    assert_int_equal(seen_append_index, x - 1);
    seen_appends_to_2 = 0;
    m.index = x + 3, m.reject_hint = x; /* not the probe in flight */
    assert_int_equal(raft_step(r, &m), 0);
    drain(r);
    assert_int_equal(seen_appends_to_2, 0);
    /* the probe's own rejection, with a hint at the match: retried after the match, never
     * below it (the follower holds 1) */
    m.index = x - 1, m.reject_hint = 1;
    assert_int_equal(raft_step(r, &m), 0);
    drain(r);
    assert_int_equal(seen_appends_to_2, 1);
    assert_int_equal(seen_append_index, 1);
    raft_destroy(r);
}

/* The majority question counts each voter once, however often a set names it (a vote recorded
 * twice, an id repeated): one voter of three named three times is not a quorum. */
static void test_quorum_counts_each_voter_once(void **state)
{
    (void)state;
    raft_membership m = {.n_voters = 3, .voters = {1, 2, 3}};
    raft_majority q;
    raft_majority_init(&q, &m);
    const raft_id same[3] = {2, 2, 2};
    assert_false(raft_majority_is_quorum(&q, same, 3));
    assert_int_equal(raft_majority_vote(&q, same, 3, NULL, 0), RAFT_VOTE_PENDING);
    const raft_id two[4] = {3, 1, 3, 1};
    assert_true(raft_majority_is_quorum(&q, two, 4));
}

/* raft_compact covers only what the application applied (its snapshot is of the applied state):
 * entries committed but not yet handed out for applying cannot be compacted away, or a restart
 * would restore a snapshot that claims entries the state machine never saw. */
static void test_compact_only_what_was_applied(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_entry e[3];
    for (int i = 0; i < 3; i++)
        e[i] = (raft_entry){.index = (uint64_t)i + 1, .term = 1, .type = RAFT_ENTRY_NORMAL};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .entries = e,
                      .n_entries = 3,
                      .commit = 3};
    assert_int_equal(raft_step(r, &a), 0);
    raft_status st;
    raft_status_get(r, &st);
    assert_int_equal(st.commit, 3);
    assert_int_equal(st.applied, 0);
    raft_snapshot_meta meta = {.index = 2, .term = 1, .config = c.members};
    assert_int_equal(raft_compact(r, &meta), -RAFT_EINVAL);
    uint64_t li = 0, lt = 0;
    while (raft_has_ready(r))
        ready_no_persist(r, &li, &lt);
    assert_int_equal(raft_compact(r, &meta), 0);
    raft_status_get(r, &st);
    assert_int_equal(st.snapshot_index, 2);
    raft_destroy(r);
}

/* An APPEND whose previous entry is just below the follower's snapshot (sent before the leader
 * learned it installed one) is taken: everything up to commit matches any leader (§5.4.1), so
 * the follower skips what it has and appends the rest instead of refusing it for an entry it
 * compacted. Node 2 restarted from a snapshot at 10; the APPEND has prev 9 and entries 10, 11. */
static void test_append_just_below_snapshot_taken(void **state)
{
    (void)state;
    raft_config c = three_voters(2);
    c.snapshot = (raft_snapshot_meta){.index = 10, .term = 1, .config = c.members};
    c.hard_state = (raft_hard_state){.term = 1, .commit = 10};
    c.last_index = 10;
    c.last_term = 1;
    raft *r = raft_create(&c, NULL);
    assert_non_null(r);
    raft_entry e[2] = {{.index = 10, .term = 1, .type = RAFT_ENTRY_NORMAL},
                       {.index = 11, .term = 1, .type = RAFT_ENTRY_NORMAL}};
    raft_message a = {.type = RAFT_MSG_APPEND,
                      .from = 1,
                      .to = 2,
                      .term = 1,
                      .index = 9,
                      .log_term = 1,
                      .entries = e,
                      .n_entries = 2};
    bool rej = true;
    assert_int_equal(step_get_append_resp(r, &a, &rej), 11);
    assert_false(rej);
    raft_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_config_after_lost_commit),
        cmocka_unit_test(test_one_unknown_change_may_campaign),
        cmocka_unit_test(test_stickiness_survives_higher_term),
        cmocka_unit_test(test_majority_model),
        cmocka_unit_test(test_term_jump_bounded),
        cmocka_unit_test(test_leader_counts_itself_only_when_persisted),
        cmocka_unit_test(test_follower_commits_only_matched_entries),
        cmocka_unit_test(test_vote_in_adopted_term_is_synced),
        cmocka_unit_test(test_older_term_messages_change_nothing),
        cmocka_unit_test(test_conf_change_waits_for_noop),
        cmocka_unit_test(test_leader_ignores_votes_while_leading),
        cmocka_unit_test(test_stickiness_lasts_an_election_timeout),
        cmocka_unit_test(test_prevote_for_current_term_refused),
        cmocka_unit_test(test_precandidate_concedes_to_leader),
        cmocka_unit_test(test_no_campaign_with_committed_unapplied_change),
        cmocka_unit_test(test_vote_repeated_to_same_candidate),
        cmocka_unit_test(test_candidate_rejected_by_majority_becomes_follower),
        cmocka_unit_test(test_late_prevote_grant_is_not_a_vote),
        cmocka_unit_test(test_rejected_prevote_of_higher_term_adopted),
        cmocka_unit_test(test_follower_acks_only_matched_prefix),
        cmocka_unit_test(test_heartbeat_commit_clamped_to_log),
        cmocka_unit_test(test_restarted_node_refuses_votes_for_an_election_timeout),
        cmocka_unit_test(test_uncommitted_bytes_bound_proposals),
        cmocka_unit_test(test_create_refuses_inconsistent_restart_state),
        cmocka_unit_test(test_may_send_early_only_in_durable_term),
        cmocka_unit_test(test_conf_change_bounds),
        cmocka_unit_test(test_removal_commits_with_the_smaller_quorum),
        cmocka_unit_test(test_inherited_change_applies_before_another),
        cmocka_unit_test(test_deposed_leader_drops_queued_appends),
        cmocka_unit_test(test_read_index_is_commit_not_applied),
        cmocka_unit_test(test_read_confirmed_by_its_own_round),
        cmocka_unit_test(test_snapshot_chunks_in_order),
        cmocka_unit_test(test_compact_only_what_was_applied),
        cmocka_unit_test(test_sync_may_wait_not_with_a_term_change),
        cmocka_unit_test(test_stale_answers_cause_no_resend),
        cmocka_unit_test(test_quorum_counts_each_voter_once),
        cmocka_unit_test(test_append_just_below_snapshot_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
