/* raft_replication.c — log replication (Raft §5.3): per-follower progress with probe /
 * replicate / snapshot states, pipelined and batched AppendEntries with an in-flight window,
 * fast backtracking by conflict term/index, heartbeats, the commit rule (§5.4.2) and
 * leadership transfer (§3.10). */
#include "consensus/raft_internal.h"

void raft_pr_reset(raft *r, progress *pr, bool keep_match)
{
    if (!keep_match) pr->match = 0;
    pr->next = r->last_index + 1;
    pr->state = PR_PROBE;
    pr->paused = false;
    pr->recent_active = true; /* a fresh leader gives everyone one check-quorum period */
    pr->n_inflight = 0;
    pr->inflight_head = 0;
    pr->ack_round = 0;
    pr->ack_seq = 0;
    pr->sync_pick = false;
    pr->eval_acks = 0;
    pr->match_at_tick = pr->match;
    pr->ack_tick = 0;
    pr->snap_index = 0;
    pr->snap_acked = 0;
    pr->snap_lost = false;
}

static bool inflight_full(const raft *r, const progress *pr)
{
    return pr->n_inflight >= r->cfg.max_inflight;
}

/* The ring holds, for each APPEND in flight, its last index at [slot] and at
 * [max_inflight + slot] the heartbeat round last sent before it (raft_internal.h). */
static void inflight_add(raft *r, progress *pr, uint64_t last)
{
    SYN_ASSERT(!inflight_full(r, pr));
    uint32_t slot = (pr->inflight_head + pr->n_inflight) % r->cfg.max_inflight;
    pr->inflight[slot] = last;
    pr->inflight[r->cfg.max_inflight + slot] = r->round;
    pr->n_inflight++;
}

static void inflight_free_to(raft *r, progress *pr, uint64_t index)
{
    while (pr->n_inflight > 0 && pr->inflight[pr->inflight_head] <= index) {
        pr->inflight_head = (pr->inflight_head + 1) % r->cfg.max_inflight;
        pr->n_inflight--;
    }
}

static void become_probe(raft *r, progress *pr)
{
    pr->state = PR_PROBE;
    pr->paused = false;
    pr->snap_lost = false;
    pr->n_inflight = pr->inflight_head = 0;
    pr->next = pr->match + 1;
    (void)r;
}

static void become_replicate(progress *pr)
{
    pr->state = PR_REPLICATE;
    pr->paused = false;
    pr->snap_lost = false;
    pr->n_inflight = pr->inflight_head = 0;
    pr->next = pr->match + 1;
}

static bool pr_blocked(const raft *r, const progress *pr)
{
    switch (pr->state) {
    case PR_PROBE: return pr->paused;
    case PR_REPLICATE: return inflight_full(r, pr);
    case PR_SNAPSHOT: return true;
    }
    return true;
}

/* Followers the commit quorum waits for (§ "sync_later" in raft.h). The leader picks as many
 * voters as a quorum needs besides itself: those that acknowledged appends most often during
 * an evaluation window of SYNC_EVAL_TICKS ticks in which every append went without sync_later
 * (ties: the higher match, then the order of prs). Appends to the others (and to learners)
 * carry sync_later. A window opens when this node becomes leader, when the voters change, every
 * SYNC_EVAL_PERIOD ticks (a follower that became faster is found again), and at once when a
 * picked follower lagged behind the log for a whole tick without acknowledging anything (it is
 * down, stopped or cut off: the others, no longer told to wait, form the quorum). */
#define SYNC_EVAL_TICKS  2
#define SYNC_EVAL_PERIOD 250

/* Sets pick[i] for as many voters as a quorum needs besides this node, the best first by
 * `before` (for read rounds and for the followers the commit quorum waits for). */
static void pick_voters(const raft *r, bool (*before)(const progress *, const progress *),
                        bool *pick)
{
    uint32_t need = raft_majority_size(&r->quorum);
    for (uint32_t i = 0; i < r->n_prs; i++) {
        pick[i] = r->prs[i].id == r->cfg.id;
        if (pick[i] && r->prs[i].voter) need--;
    }
    for (; need > 0; need--) {
        int best = -1;
        for (uint32_t i = 0; i < r->n_prs; i++) {
            if (pick[i] || !r->prs[i].voter) continue;
            if (best < 0 || before(&r->prs[i], &r->prs[best])) best = (int)i;
        }
        if (best < 0) break;
        pick[best] = true;
    }
}

void raft_sync_pick_reset(raft *r)
{
    r->sync_eval_left = SYNC_EVAL_TICKS;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        r->prs[i].sync_pick = false;
        r->prs[i].eval_acks = 0;
    }
}

static bool acked_more(const progress *a, const progress *b)
{
    if (a->eval_acks != b->eval_acks) return a->eval_acks > b->eval_acks;
    return a->match > b->match;
}

static void sync_eval_close(raft *r)
{
    bool pick[RAFT_MAX_MEMBERS];
    pick_voters(r, acked_more, pick);
    for (uint32_t i = 0; i < r->n_prs; i++)
        r->prs[i].sync_pick = pick[i] && r->prs[i].id != r->cfg.id;
    r->sync_eval_left = 0;
    r->sync_eval_next = r->now_tick + SYNC_EVAL_PERIOD;
}

/* Leader, every tick. */
void raft_sync_pick_tick(raft *r)
{
    bool stale = false;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        progress *pr = &r->prs[i];
        if (pr->sync_pick && pr->match == pr->match_at_tick && r->last_index > pr->match)
            stale = true;
        pr->match_at_tick = pr->match;
    }
    if (r->sync_eval_left > 0) {
        if (--r->sync_eval_left == 0) sync_eval_close(r);
    } else if (stale || r->now_tick >= r->sync_eval_next) {
        raft_sync_pick_reset(r);
    }
}

static bool waits_for(const raft *r, const progress *pr)
{
    return pr->voter && (r->sync_eval_left > 0 || pr->sync_pick);
}

/* Send one APPEND to pr if flow control allows. allow_empty: also when there is nothing new
 * (to carry the commit index, or to probe). */
void raft_send_append(raft *r, progress *pr, bool allow_empty)
{
    if (pr->id == r->cfg.id || pr_blocked(r, pr)) return;
    uint64_t prev = pr->next - 1, prev_term = 0;
    int rc = raft_log_term(r, prev, &prev_term);
    if (rc == -RAFT_ECOMPACTED) {
        raft_send_snapshot(r, pr);
        return;
    }
    if (rc < 0) return; /* storage trouble: retry on the next heartbeat response */
    const raft_entry *ents = NULL;
    bool lazy = false;
    int n = 0;
    if (pr->next <= r->last_index) {
        n = raft_log_slice(r, pr->next, r->last_index, r->cfg.max_batch_bytes, &ents, &lazy);
        if (n == -RAFT_ECOMPACTED) {
            raft_send_snapshot(r, pr);
            return;
        }
        if (n < 0) return;
    } else if (!allow_empty) {
        return;
    }
    out_msg *o = raft_send_out(r, RAFT_MSG_APPEND, pr->id);
    o->m.index = prev;
    o->m.log_term = prev_term;
    o->m.commit = r->commit;
    o->m.n_entries = (uint32_t)n;
    o->m.sync_later = n > 0 && !waits_for(r, pr);
    if (n > 0) {
        if (lazy)
            o->lazy_lo = pr->next;
        else
            o->m.entries = ents;
    }
    uint64_t last = prev + (uint64_t)n;
    if (pr->state == PR_REPLICATE) {
        /* Pipelining: assume success and move on; the window bounds what is in flight. */
        pr->next = last + 1;
        inflight_add(r, pr, last);
    } else {
        pr->paused = true; /* PROBE: one message at a time until we hear back */
    }
}

static void send_all(raft *r, progress *pr, bool allow_empty)
{
    /* Batching + pipelining: fill the window with max_batch_bytes messages. */
    bool first = allow_empty;
    while (!pr_blocked(r, pr) && (pr->next <= r->last_index || first)) {
        uint32_t before = pr->n_inflight;
        uint64_t next_before = pr->next;
        raft_send_append(r, pr, first);
        first = false;
        if (pr->state != PR_REPLICATE || (pr->n_inflight == before && pr->next == next_before))
            break;
    }
}

void raft_bcast_append(raft *r, bool allow_empty)
{
    for (uint32_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id != r->cfg.id) send_all(r, &r->prs[i], allow_empty);
}

/* Does a answer read rounds before b? The later round acknowledged first; for the same round,
 * the one whose acknowledgement came first. */
static bool answers_before(const progress *a, const progress *b)
{
    if (a->ack_round != b->ack_round) return a->ack_round > b->ack_round;
    return a->ack_seq < b->ack_seq;
}

/* One heartbeat round: renews the lease and confirms pending ReadIndex requests (§6.4).
 * The periodic round (every heartbeat_tick) goes to every follower and learner. A round sent
 * only for pending reads (reads_only) goes to just enough voters for a quorum, those that
 * answered the last rounds first: half the messages and follower wake-ups per read on three
 * nodes. A chosen voter that went silent costs the reads waiting on it at most one heartbeat
 * period: the next periodic round confirms them through the others, which then answer first. */
void raft_bcast_heartbeat_to(raft *r, bool reads_only)
{
    bool want[RAFT_MAX_MEMBERS];
    if (reads_only) pick_voters(r, answers_before, want);
    r->round++;
    r->round_tick[r->round % ROUND_RING] = r->now_tick;
    raft_reads_assign_round(r);
    r->need_round = false;
    progress *self = raft_progress_of(r, r->cfg.id);
    if (self) {
        self->ack_round = r->round;
        self->ack_tick = r->now_tick;
    }
    for (uint32_t i = 0; i < r->n_prs; i++) {
        progress *pr = &r->prs[i];
        if (pr->id == r->cfg.id || (reads_only && !want[i])) continue;
        raft_message *m = raft_send(r, RAFT_MSG_HEARTBEAT, pr->id);
        /* Never tell a follower to commit past what it is known to hold. */
        m->commit = pr->match < r->commit ? pr->match : r->commit;
        m->ctx = r->round;
    }
    raft_reads_on_round_ack(r); /* single voter: confirmed at once */
}

size_t raft_keepalive(const raft *r, raft_message *out, size_t cap)
{
    size_t n = 0;
    if (r->role != RAFT_LEADER) return 0;
    for (uint32_t i = 0; i < r->n_prs && n < cap; i++) {
        if (r->prs[i].id == r->cfg.id) continue;
        out[n] = (raft_message){
            .type = RAFT_MSG_HEARTBEAT, .from = r->cfg.id, .to = r->prs[i].id, .term = r->term};
#ifdef RAFT_TEST_BUG_KEEPALIVE_COMMIT
        /* PLANTED BUG (sim-bug-test): the leader's commit unclamped, as if the follower held
         * every entry up to it: one with a stale suffix commits that suffix */
        out[n].commit = r->commit;
#endif
        n++;
    }
    return n;
}

void raft_bcast_heartbeat(raft *r)
{
    raft_bcast_heartbeat_to(r, false);
}

void raft_set_commit(raft *r, uint64_t commit)
{
    if (commit <= r->commit) return;
    SYN_ASSERT_CMP(commit, <=, r->last_index);
    if (r->role == RAFT_LEADER) {
        for (uint64_t i = r->commit + 1; i <= commit; i++) {
            raft_entry *e = raft_log_mem_at(r, i);
            if (e) r->uncommitted_bytes -= e->len <= r->uncommitted_bytes ? e->len : 0;
        }
    }
    r->commit = commit;
    raft_reads_on_commit(r);
}

/* Raft §5.4.2: the leader commits an index once a majority stores it AND it is from the current
 * term; earlier entries are then committed indirectly (Figure 8). */
bool raft_maybe_commit(raft *r)
{
    uint64_t vals[RAFT_MAX_MEMBERS];
    for (uint32_t i = 0; i < r->n_prs; i++)
        vals[i] = r->prs[i].match;
    uint64_t q = raft_quorum_value(r, vals);
    if (q <= r->commit) return false;
    uint64_t t = 0;
    if (raft_log_term(r, q, &t) < 0) return false;
#ifndef RAFT_TEST_BUG_COMMIT_OLD_TERM
    if (t != r->term) return false;
#endif
    raft_set_commit(r, q);
    return true;
}

/* Follower side of AppendEntries. */
void raft_handle_append(raft *r, const raft_message *m)
{
    if (m->index < r->commit) {
        /* Everything up to commit matches any current leader; skip what we already have. */
        uint64_t skip = r->commit - m->index;
        if (skip >= m->n_entries) {
            raft_message *resp = raft_send(r, RAFT_MSG_APPEND_RESP, m->from);
            resp->index = r->commit;
            return;
        }
        raft_message sub = *m;
        sub.index = r->commit;
        sub.entries = m->entries + skip;
        sub.n_entries = m->n_entries - (uint32_t)skip;
        sub.log_term = m->entries[skip - 1].term;
        raft_handle_append(r, &sub);
        return;
    }
    raft_message *resp = raft_send(r, RAFT_MSG_APPEND_RESP, m->from);
    uint64_t t = 0;
    int rc = raft_log_term(r, m->index, &t);
    if (rc < 0 || t != m->log_term) {
        resp->reject = true;
        resp->index = m->index;
        if (rc < 0 || m->index > r->last_index) {
            resp->reject_hint = r->last_index + 1;
            resp->reject_term = 0;
        } else {
            /* Fast backtracking: the first index of the conflicting term (never below commit
             * + 1, those match). */
            uint64_t i = m->index;
            while (i - 1 > r->commit) {
                uint64_t pt = 0;
                if (raft_log_term(r, i - 1, &pt) < 0 || pt != t) break;
                i--;
            }
            resp->reject_hint = i;
            resp->reject_term = t;
        }
        return;
    }
    for (uint32_t k = 0; k < m->n_entries; k++) {
        const raft_entry *e = &m->entries[k];
        if (e->index <= r->last_index) {
            uint64_t et = 0;
            if (raft_log_term(r, e->index, &et) == 0 && et == e->term) continue;
            raft_log_truncate_from(r, e->index); /* conflict: Raft §5.3 step 3 */
        }
        rc = raft_log_append(r, e->term, e->type, e->data, e->len);
        SYN_ASSERT(rc == 0);
        uint8_t hint = m->sync_later ? 1 : 2;
        if (r->sync_hint < hint) r->sync_hint = hint;
    }
    uint64_t last_new = m->index + m->n_entries;
    resp->index = last_new;
    uint64_t c = m->commit < last_new ? m->commit : last_new;
    raft_set_commit(r, c);
}

void raft_handle_heartbeat(raft *r, const raft_message *m)
{
    uint64_t c = m->commit < r->last_index ? m->commit : r->last_index;
    raft_set_commit(r, c);
    raft_message *resp = raft_send(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
    resp->ctx = m->ctx;
    resp->index = r->last_index; /* lets the leader notice lost appends */
    resp->log_term = r->last_term;
}

/* Where to resume after a rejection: Raft §5.3's optimisation with the follower's conflict
 * term and index. */
static uint64_t backtrack_next(raft *r, const raft_message *m)
{
    uint64_t hint = m->reject_hint;
    if (m->reject_term != 0) {
        uint64_t i = m->index < r->last_index ? m->index : r->last_index;
        while (i > r->snap.index) {
            uint64_t t = 0;
            if (raft_log_term(r, i, &t) < 0 || t < m->reject_term) break;
            if (t == m->reject_term) return i + 1 < m->index ? i + 1 : m->index;
            i--;
        }
    }
    if (hint == 0) hint = 1;
    return hint < m->index ? hint : m->index;
}

void raft_handle_append_resp(raft *r, const raft_message *m)
{
    progress *pr = raft_progress_of(r, m->from);
    if (!pr) return;
    pr->recent_active = true;
    if (m->reject) {
        if (pr->state == PR_REPLICATE) {
            if (m->index <= pr->match) return; /* stale */
            become_probe(r, pr);
        } else if (pr->state == PR_PROBE) {
            if (m->index != pr->next - 1) return; /* stale: not the probe we sent */
        } else {
            return;
        }
        uint64_t next = backtrack_next(r, m);
        if (next <= pr->match) next = pr->match + 1;
        pr->next = next;
        pr->paused = false;
        raft_send_append(r, pr, true);
        return;
    }
    if (m->index > r->last_index) return; /* not ours (a stale term's log) */
    bool advanced = m->index > pr->match;
    if (advanced) {
        pr->match = m->index;
        if (r->sync_eval_left > 0) pr->eval_acks++;
        if (pr->next <= m->index) pr->next = m->index + 1;
    }
    switch (pr->state) {
    case PR_PROBE:
        if (advanced || pr->match + 1 == pr->next) become_replicate(pr);
        break;
    case PR_REPLICATE: inflight_free_to(r, pr, m->index); break;
    case PR_SNAPSHOT:
        if (pr->match >= pr->snap_index) {
            become_probe(r, pr);
            become_replicate(pr);
        }
        break;
    }
    if (advanced && raft_maybe_commit(r)) {
        r->need_bcast = r->need_bcast_commit = true; /* tell followers the new commit */
    }
    send_all(r, pr, false);
    if (pr->id == r->transfer_to) raft_transfer_check(r, pr);
}

/* A heartbeat response (m) from a replicating follower: were APPENDs to it lost? One sent before
 * heartbeat round m->ctx and still unacknowledged was lost, or its acknowledgement was: the link
 * carries both directions in order, so its answer would have come before this one. Judged by
 * rounds, not by the follower's last index: a follower that holds every APPEND of a full window
 * whose acknowledgements were lost (a link closed while it was stopped) reports last index ==
 * next - 1 and was never sent to again (issue 8); and APPENDs sent after round m->ctx are simply
 * still in flight. -DRAFT_TEST_BUG_LOST_ACKS_STUCK keeps the old rule (the simulator's broken
 * build). */
static bool appends_lost(const raft *r, const progress *pr, const raft_message *m)
{
    if (pr->n_inflight == 0) return false;
#ifdef RAFT_TEST_BUG_LOST_ACKS_STUCK
    (void)r;
    return m->index + 1 < pr->next;
#else
    uint64_t oldest_round = pr->inflight[r->cfg.max_inflight + pr->inflight_head];
    return m->ctx <= r->round && oldest_round < m->ctx;
#endif
}

void raft_handle_heartbeat_resp(raft *r, const raft_message *m)
{
    progress *pr = raft_progress_of(r, m->from);
    if (!pr) return;
    pr->recent_active = true;
    if (m->ctx > pr->ack_round && m->ctx <= r->round) {
        pr->ack_round = m->ctx;
        pr->ack_seq = ++r->ack_seq;
        if (r->round - m->ctx < ROUND_RING) {
            uint64_t t = r->round_tick[m->ctx % ROUND_RING];
            if (t > pr->ack_tick) pr->ack_tick = t;
        }
        raft_reads_on_round_ack(r);
    }
    if (pr->state == PR_SNAPSHOT && m->index >= pr->snap_index) {
        /* Its log reaches the snapshot: it installed it and the answer was lost. Probe from
         * the snapshot on (a wrong guess costs one rejected append) instead of waiting for the
         * resend timeout. */
        become_probe(r, pr);
        pr->next = pr->snap_index + 1;
        raft_send_append(r, pr, true);
        return;
    }
    if (pr->state == PR_SNAPSHOT) {
        /* A lost chunk is resent on a timeout (snapshot.c), or at once when the transport said
         * it was lost (raft_report_unreachable) and the follower answers again. */
        if (pr->snap_lost) {
            pr->snap_lost = false;
            pr->paused = false;
            raft_send_snapshot(r, pr);
        }
        return;
    }
    if (pr->state == PR_REPLICATE && appends_lost(r, pr, m)) become_probe(r, pr);
    pr->paused = false;
    if (pr->match < r->last_index) send_all(r, pr, pr->state == PR_PROBE);
}

void raft_transfer_check(raft *r, progress *pr)
{
    if (r->transfer_to != pr->id || pr->match != r->last_index || r->transfer_sent) return;
    raft_send(r, RAFT_MSG_TIMEOUT_NOW, pr->id);
    r->transfer_sent = true;  /* once: a second one could make it campaign twice */
    r->lease_disabled = true; /* the target may win before our lease would end */
}

void raft_abort_transfer(raft *r)
{
    r->transfer_to = 0;
    r->transfer_elapsed = 0;
    r->transfer_sent = false;
}

int raft_transfer_leader(raft *r, raft_id to)
{
    SYN_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER) return -RAFT_ENOTLEADER;
    if (to == r->cfg.id || !raft_is_voter(r, to)) return -RAFT_EINVAL;
    progress *pr = raft_progress_of(r, to);
    if (!pr) return -RAFT_EINVAL;
    if (r->transfer_to == to) return 0;
    r->transfer_to = to;
    r->transfer_elapsed = 0;
    r->transfer_sent = false;
    if (pr->match == r->last_index)
        raft_transfer_check(r, pr);
    else
        send_all(r, pr, false);
    return 0;
}

void raft_report_unreachable(raft *r, raft_id id)
{
    SYN_ASSERT(!r->in_ready);
    progress *pr = raft_progress_of(r, id);
    if (r->role != RAFT_LEADER || !pr || id == r->cfg.id) return;
    if (pr->state == PR_REPLICATE) become_probe(r, pr);
    if (pr->state == PR_SNAPSHOT && pr->paused) pr->snap_lost = true;
}
