/* raft_election.c — roles, timers, elections (Raft §5.2), Pre-Vote and CheckQuorum
 * (dissertation §9.6), and the entry point raft_step that routes messages by role. */
#include "consensus/raft_internal.h"

#include <string.h>

void raft_reset_election_timer(raft *r)
{
    r->election_elapsed = 0;
    /* Raft §5.2: randomized in [election_tick, 2 * election_tick) to break split votes. */
    r->randomized_timeout = r->cfg.election_tick + (uint32_t)(raft_rand(r) % r->cfg.election_tick);
}

static void reset_term_state(raft *r, uint64_t term)
{
    if (r->term != term) {
        SYN_ASSERT_CMP(term, >, r->term);
        r->term = term;
        r->vote = 0;
    }
    r->leader = 0;
    r->n_granted = r->n_rejected = 0;
    raft_reset_election_timer(r);
    r->heartbeat_elapsed = 0;
    r->transfer_to = 0;
    r->transfer_elapsed = 0;
    r->transfer_sent = false;
    r->need_bcast = r->need_round = r->need_bcast_commit = false;
}

void raft_become_follower(raft *r, uint64_t term, raft_id leader)
{
    bool was_leader = r->role == RAFT_LEADER;
    reset_term_state(r, term);
    r->leader = leader;
    r->role = raft_is_voter(r, r->cfg.id) ? RAFT_FOLLOWER : RAFT_LEARNER;
    if (was_leader) {
        raft_drop_outbox_leader_msgs(r);
        r->uncommitted_bytes = 0;
    }
    /* Reads waiting on this node's leadership can no longer be confirmed. */
    raft_reads_fail_all(r, -RAFT_ENOTLEADER);
}

void raft_become_leader(raft *r)
{
    SYN_ASSERT(r->role == RAFT_CANDIDATE);
    reset_term_state(r, r->term);
    r->role = RAFT_LEADER;
    r->leader = r->cfg.id;
    r->lease_disabled = false;
    r->uncommitted_bytes = 0;
    for (uint32_t i = 0; i < r->n_prs; i++)
        raft_pr_reset(r, &r->prs[i], false);
    raft_sync_pick_reset(r);
    progress *self = raft_progress_of(r, r->cfg.id);
    if (self) self->match = r->durable;
    /* Changes already in the log must be applied before another may be proposed. */
    r->pending_conf_index = r->last_index;
    /* Raft §5.4.2 / §8: commit an entry of the new term at once; reads wait for it. */
    int rc = raft_log_append(r, r->term, RAFT_ENTRY_NOOP, NULL, 0);
    SYN_ASSERT(rc == 0);
    r->noop_index = r->last_index;
    r->need_bcast = true;
    raft_maybe_commit(r); /* single voter */
}

static void send_votes(raft *r, bool pre, bool transfer)
{
    uint64_t term = pre ? r->term + 1 : r->term;
    for (uint32_t i = 0; i < r->conf.n_voters; i++) {
        raft_id id = r->conf.voters[i];
        if (id == r->cfg.id) continue;
        raft_message *m = raft_send(r, pre ? RAFT_MSG_PRE_VOTE : RAFT_MSG_VOTE, id);
        m->term = term;
        m->index = r->last_index;
        m->log_term = r->last_term;
        m->transfer = transfer;
    }
}

static raft_vote_result tally(raft *r)
{
    return raft_majority_vote(&r->quorum, r->votes_granted, r->n_granted, r->votes_rejected,
                              r->n_rejected);
}

static void record_vote(raft *r, raft_id from, bool granted)
{
    if (!raft_is_voter(r, from)) return;
    for (uint32_t i = 0; i < r->n_granted; i++)
        if (r->votes_granted[i] == from) return;
    for (uint32_t i = 0; i < r->n_rejected; i++)
        if (r->votes_rejected[i] == from) return;
    if (granted)
        r->votes_granted[r->n_granted++] = from;
    else
        r->votes_rejected[r->n_rejected++] = from;
}

void raft_campaign(raft *r, bool pre, bool transfer)
{
    if (!raft_promotable(r) || raft_has_unapplied_conf(r) || raft_config_unknown(r)) {
        raft_reset_election_timer(r);
        return;
    }
    if (pre) {
        /* Pre-Vote: ask whether we could win term + 1 without touching our term or vote, so a
         * node coming back from a partition cannot depose a healthy leader (§9.6). It forgets
         * its leader so that it grants pre-votes to others too (no deadlock of pre-votes). */
        r->role = RAFT_PRE_CANDIDATE;
        r->leader = 0;
        r->n_granted = r->n_rejected = 0;
        raft_reset_election_timer(r);
    } else {
        raft_become_follower(r, r->term + 1, 0);
        r->role = RAFT_CANDIDATE;
        r->vote = r->cfg.id;
    }
    record_vote(r, r->cfg.id, true);
    if (tally(r) == RAFT_VOTE_WON) {
        if (pre)
            raft_campaign(r, false, transfer);
        else
            raft_become_leader(r);
        return;
    }
    send_votes(r, pre, transfer);
}

/* Leader stickiness (§9.6 with CheckQuorum): a node that heard from a live leader within the
 * minimum election timeout ignores (pre-)votes, unless the leader asked for it (TimeoutNow). This
 * is also what makes leases safe (§6.4.1). */
static bool in_lease(const raft *r)
{
    if (!r->cfg.check_quorum) return false;
    if (r->role == RAFT_LEADER) return true;
    return r->leader_contact_elapsed < r->cfg.election_tick;
}

int raft_step_vote(raft *r, const raft_message *m)
{
    bool pre = m->type == RAFT_MSG_PRE_VOTE;
    /* May vote: already voted for it, or no vote and no leader this term; a pre-vote for a later
     * term is granted whenever the log check passes. */
    bool can = r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
    bool ok = can && raft_log_up_to_date(r, m->index, m->log_term);
    raft_message *resp = raft_send(r, pre ? RAFT_MSG_PRE_VOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
    if (ok) {
        /* The granted pre-vote carries the candidate's future term so it is not taken as
         * stale; a real vote is recorded (and made durable before the reply is sent). */
        resp->term = m->term;
        if (!pre) {
            r->vote = m->from;
            raft_reset_election_timer(r);
        }
    } else {
        resp->reject = true;
    }
    return 0;
}

void raft_step_vote_resp(raft *r, const raft_message *m)
{
    bool pre = m->type == RAFT_MSG_PRE_VOTE_RESP;
    if ((pre && r->role != RAFT_PRE_CANDIDATE) || (!pre && r->role != RAFT_CANDIDATE)) return;
    record_vote(r, m->from, !m->reject);
    raft_vote_result t = tally(r);
    if (t == RAFT_VOTE_WON) {
        if (pre)
            raft_campaign(r, false, false);
        else
            raft_become_leader(r);
    } else if (t == RAFT_VOTE_LOST) {
        raft_become_follower(r, r->term, 0);
    }
}

static bool quorum_active(raft *r)
{
    raft_id active[RAFT_MAX_MEMBERS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        progress *pr = &r->prs[i];
        if (pr->recent_active || pr->id == r->cfg.id) active[n++] = pr->id;
        if (pr->id != r->cfg.id) pr->recent_active = false;
    }
    return raft_majority_is_quorum(&r->quorum, active, n);
}

void raft_note_stall(raft *r)
{
    if (r->role != RAFT_LEADER) return;
    r->election_elapsed = 0; /* a whole period, not what was left of the one it stalled in */
    for (uint32_t i = 0; i < r->n_prs; i++)
        r->prs[i].recent_active = true;
}

void raft_peer_alive(raft *r, raft_id id)
{
    if (r->role != RAFT_LEADER || id == r->cfg.id) return;
    progress *pr = raft_progress_of(r, id);
    if (pr) pr->recent_active = true;
}

void raft_tick(raft *r)
{
    SYN_ASSERT(!r->in_ready);
    r->now_tick++;
    if (r->leader_contact_elapsed < UINT32_MAX) r->leader_contact_elapsed++;
    if (r->role != RAFT_LEADER) {
        if (r->election_elapsed < UINT32_MAX) r->election_elapsed++;
        if (r->election_elapsed >= r->randomized_timeout && raft_promotable(r)) {
            raft_campaign(r, r->cfg.pre_vote, false);
        }
        return;
    }
    r->election_elapsed++;
    if (r->election_elapsed >= r->cfg.election_tick) {
        r->election_elapsed = 0;
        /* CheckQuorum: a leader cut off from a majority steps down (§6.2). */
        if (r->cfg.check_quorum && !quorum_active(r)) {
            raft_become_follower(r, r->term, 0);
            return;
        }
    }
    raft_sync_pick_tick(r);
    if (r->transfer_to && ++r->transfer_elapsed >= r->cfg.election_tick) raft_abort_transfer(r);
    if (++r->heartbeat_elapsed >= r->cfg.heartbeat_tick) {
        r->heartbeat_elapsed = 0;
        raft_bcast_heartbeat(r);
    }
    raft_snapshot_tick(r);
    raft_check_invariants(r);
}

static int validate(const raft *r, const raft_message *m)
{
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TYPE_MAX) return -RAFT_EINVAL;
    if (m->to != r->cfg.id || m->from == 0 || m->from == r->cfg.id) return -RAFT_EINVAL;
    if (m->n_entries > RAFT_MAX_MSG_ENTRIES || (m->n_entries > 0 && !m->entries))
        return -RAFT_EINVAL;
    if (m->n_entries > 0 && m->type != RAFT_MSG_APPEND) return -RAFT_EINVAL;
    /* Terms and indexes near 2^64 could only come from a broken or hostile peer; refusing them
     * keeps every term + 1 and index + n below overflow. */
    const uint64_t sane = UINT64_MAX >> 2;
    if (m->term > sane || m->index > sane || m->log_term > sane || m->snapshot.index > sane ||
        m->snapshot.term > sane)
        return -RAFT_EINVAL;
    /* No single message moves this node's term by more than RAFT_MAX_TERM_JUMP: real terms grow
     * by one per election (2^32 of them take a century at one a second), while a forged term
     * near the bound above would leave every node unable to campaign (term + 1 fails it). */
    if (m->term > r->term && m->term - r->term > RAFT_MAX_TERM_JUMP) return -RAFT_EINVAL;
    uint64_t prev_term = m->log_term;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const raft_entry *e = &m->entries[i];
        if (e->index != m->index + 1 + i || e->term < prev_term || e->term > m->term)
            return -RAFT_EINVAL;
        if (e->type > RAFT_ENTRY_CONF_CHANGE || (e->len > 0 && !e->data)) return -RAFT_EINVAL;
        prev_term = e->term;
    }
    if (m->type == RAFT_MSG_APPEND && m->log_term > m->term) return -RAFT_EINVAL;
    if (m->type == RAFT_MSG_SNAPSHOT) {
        const raft_snapshot_meta *s = &m->snapshot;
        if (s->index == 0 || s->term == 0 || s->term > m->term) return -RAFT_EINVAL;
        if (!raft_membership_valid(&s->config) || s->config.n_voters == 0) return -RAFT_EINVAL;
        if (m->snap_len > 0 && !m->snap_data) return -RAFT_EINVAL;
        if (m->snap_offset > UINT64_MAX - m->snap_len) return -RAFT_EINVAL;
    }
    return 0;
}

static void step_leader(raft *r, const raft_message *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND_RESP: raft_handle_append_resp(r, m); break;
    case RAFT_MSG_HEARTBEAT_RESP: raft_handle_heartbeat_resp(r, m); break;
    case RAFT_MSG_SNAPSHOT_RESP: raft_handle_snapshot_resp(r, m); break;
    case RAFT_MSG_READ_INDEX: raft_handle_read_index(r, m); break;
    default: break; /* stale votes, responses of earlier roles */
    }
}

static void step_follower(raft *r, const raft_message *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        /* A candidate seeing a leader of its own term concedes (Raft §5.2). */
        if (r->role == RAFT_CANDIDATE || r->role == RAFT_PRE_CANDIDATE)
            raft_become_follower(r, r->term, m->from);
        r->leader = m->from;
        r->election_elapsed = 0;
        r->leader_contact_elapsed = 0;
        if (m->type == RAFT_MSG_APPEND)
            raft_handle_append(r, m);
        else if (m->type == RAFT_MSG_HEARTBEAT)
            raft_handle_heartbeat(r, m);
        else
            raft_handle_snapshot(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        /* Leadership transfer (§3.10): skip pre-vote, the leader asked for it. */
        if (raft_promotable(r)) raft_campaign(r, false, true);
        break;
    case RAFT_MSG_READ_INDEX: {
        raft_message *resp = raft_send(r, RAFT_MSG_READ_INDEX_RESP, m->from);
        resp->ctx = m->ctx;
        resp->reject = true; /* not the leader (any more) */
        break;
    }
    case RAFT_MSG_READ_INDEX_RESP: raft_handle_read_index_resp(r, m); break;
    case RAFT_MSG_PRE_VOTE_RESP:
    case RAFT_MSG_VOTE_RESP: raft_step_vote_resp(r, m); break;
    default: break;
    }
}

int raft_step(raft *r, const raft_message *m)
{
    SYN_ASSERT(!r->in_ready);
    int rc = validate(r, m);
    if (rc < 0) return rc;
    bool vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PRE_VOTE;

    /* Leader stickiness: while this node may still count toward a leader's lease it ignores
     * (pre-)votes for a term above the leader's; checked on the vote request itself, not on
     * `leader`, which any higher-term message clears (a delayed vote response, an append
     * response from a node whose term grew in a failed campaign). A vote already granted in
     * this term may be repeated. */
#ifndef RAFT_TEST_BUG_STICKINESS
    if (vote_req && !m->transfer && m->term >= r->term && in_lease(r) &&
        !(m->term == r->term && r->vote == m->from))
        return 0;
#else
    /* Deliberate bug for the unit test's self-check only (mk/consensus.mk): the old rule, on
     * higher terms only and keyed on `leader`, which any higher-term message clears. */
    if (vote_req && !m->transfer && m->term > r->term && r->leader != 0 && in_lease(r)) return 0;
#endif
    if (m->term > r->term) {
        if (m->type == RAFT_MSG_PRE_VOTE) {
            /* never changes our term */
        } else if (m->type == RAFT_MSG_PRE_VOTE_RESP && !m->reject) {
            /* a granted pre-vote carries the term we would campaign in */
        } else {
            bool from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
                               m->type == RAFT_MSG_SNAPSHOT;
            raft_become_follower(r, m->term, from_leader ? m->from : 0);
        }
    } else if (m->term < r->term) {
        if ((r->cfg.check_quorum || r->cfg.pre_vote) &&
            (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT)) {
            /* A leader of an older term still talks to us. Maybe we bumped our term in a
             * partition and can now neither win (our log may be behind, our pre-votes fail)
             * nor rejoin (we ignore it): tell it our term so it steps down and a fresh election
             * can include us. This is etcd's fix for the Pre-Vote + CheckQuorum pitfall. */
            raft_send(r, RAFT_MSG_APPEND_RESP, m->from);
        } else if (m->type == RAFT_MSG_PRE_VOTE) {
            raft_message *resp = raft_send(r, RAFT_MSG_PRE_VOTE_RESP, m->from);
            resp->reject = true;
        }
        return 0;
    }

    if (vote_req) {
        raft_step_vote(r, m);
    } else if (r->role == RAFT_LEADER) {
        step_leader(r, m);
    } else {
        step_follower(r, m);
    }
    raft_check_invariants(r);
    return 0;
}
