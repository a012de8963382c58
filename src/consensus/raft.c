/* raft.c — instance lifecycle, the Ready/Advance cycle, proposals, and shared helpers. */
#include "consensus/raft_internal.h"

#include <stdlib.h>
#include <string.h>

const char *raft_strerror(int err)
{
    if (err < 0) err = -err;
    switch (err) {
    case 0: return "ok";
#define RAFT_ERR_STR_(name, num, msg)                                                              \
    case num: return msg;
        RAFT_ERRORS(RAFT_ERR_STR_)
#undef RAFT_ERR_STR_
    default: return "unknown error";
    }
}

const char *raft_role_name(raft_role role)
{
    switch (role) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_PRE_CANDIDATE: return "pre-candidate";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    case RAFT_LEARNER: return "learner";
    }
    return "unknown";
}

void raft_config_default(raft_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->election_tick = 10;
    cfg->heartbeat_tick = 1;
    cfg->max_inflight = 256;
    cfg->max_batch_bytes = 1u << 20;
    cfg->max_uncommitted_bytes = 64u << 20;
    cfg->mem_retain_entries = 4096;
    cfg->mem_retain_bytes = 1u << 20;
    cfg->promote_max_lag = 1024;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->lease_reads = false;
    cfg->max_clock_drift_ticks = 2;
}

/* splitmix64: the instance's only source of randomness, seeded by the caller. */
uint64_t raft_rand(raft *r)
{
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void *raft_scratch(raft *r, size_t bytes)
{
    if (r->scratch_n == r->scratch_cap) {
        size_t cap = r->scratch_cap ? r->scratch_cap * 2 : 16;
        void **s = realloc(r->scratch, cap * sizeof(void *));
        SYN_ASSERT(s != NULL);
        r->scratch = s;
        r->scratch_cap = cap;
    }
    void *p = malloc(bytes ? bytes : 1);
    SYN_ASSERT(p != NULL);
    r->scratch[r->scratch_n++] = p;
    return p;
}

out_msg *raft_send_out(raft *r, raft_msg_type type, raft_id to)
{
    SYN_ASSERT(to != 0 && to != r->cfg.id);
    if (r->out_n == r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap * 2 : 64;
        out_msg *o = realloc(r->outbox, cap * sizeof(out_msg));
        SYN_ASSERT(o != NULL);
        r->outbox = o;
        r->out_cap = cap;
    }
    out_msg *o = &r->outbox[r->out_n++];
    memset(o, 0, sizeof(*o));
    o->m.type = type;
    o->m.from = r->cfg.id;
    o->m.to = to;
    o->m.term = r->term;
    return o;
}

raft_message *raft_send(raft *r, raft_msg_type type, raft_id to)
{
    return &raft_send_out(r, type, to)->m;
}

/* A leader that steps down drops the appends it has not handed out yet: they may point at
 * memory entries a new leader will overwrite, and the network may lose them anyway. */
int raft_drop_outbox_leader_msgs(raft *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->out_n; i++) {
        raft_msg_type t = r->outbox[i].m.type;
        if (t == RAFT_MSG_APPEND || t == RAFT_MSG_SNAPSHOT || t == RAFT_MSG_HEARTBEAT) continue;
        r->outbox[k++] = r->outbox[i];
    }
    int dropped = (int)(r->out_n - k);
    r->out_n = k;
    return dropped;
}

bool raft_is_voter(const raft *r, raft_id id)
{
    for (uint32_t i = 0; i < r->conf.n_voters; i++)
        if (r->conf.voters[i] == id) return true;
    return false;
}

bool raft_is_learner(const raft *r, raft_id id)
{
    for (uint32_t i = 0; i < r->conf.n_learners; i++)
        if (r->conf.learners[i] == id) return true;
    return false;
}

progress *raft_progress_of(raft *r, raft_id id)
{
    for (uint32_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == id) return &r->prs[i];
    return NULL;
}

/* The largest value that a quorum of voters has reached (vals indexed like prs). */
uint64_t raft_quorum_value(const raft *r, const uint64_t *vals_by_pr)
{
    raft_id ids[RAFT_MAX_MEMBERS];
    for (uint32_t i = 0; i < r->n_prs; i++)
        ids[i] = r->prs[i].id;
    return raft_majority_value(&r->quorum, ids, vals_by_pr, r->n_prs);
}

/* May this node start an election? Voters of its applied configuration only; a removed node
 * stops being one when it applies its removal (one that never learns of it is kept out by
 * Pre-Vote and stickiness). raft_campaign adds the checks that need the log. */
bool raft_promotable(const raft *r)
{
    return raft_is_voter(r, r->cfg.id);
}

bool raft_membership_valid(const raft_membership *m)
{
    if (m->n_voters > RAFT_MAX_MEMBERS || m->n_learners > RAFT_MAX_MEMBERS ||
        m->n_voters + m->n_learners > RAFT_MAX_MEMBERS)
        return false;
    raft_id all[2 * RAFT_MAX_MEMBERS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->n_voters; i++)
        all[n++] = m->voters[i];
    for (uint32_t i = 0; i < m->n_learners; i++)
        all[n++] = m->learners[i];
    for (uint32_t i = 0; i < n; i++) {
        if (all[i] == 0) return false;
        for (uint32_t j = i + 1; j < n; j++)
            if (all[i] == all[j]) return false;
    }
    return true;
}

raft *raft_create(const raft_config *cfg, int *err_out)
{
    int dummy;
    if (!err_out) err_out = &dummy;
    *err_out = -RAFT_EINVAL;
    if (!cfg || cfg->id == 0 || cfg->election_tick < 2 || cfg->heartbeat_tick == 0 ||
        cfg->heartbeat_tick >= cfg->election_tick || cfg->max_inflight == 0 ||
        cfg->max_batch_bytes == 0 || !cfg->storage.entries || !cfg->storage.term ||
        !cfg->storage.snapshot_chunk)
        return NULL;
    if (cfg->lease_reads && (!cfg->check_quorum || cfg->max_clock_drift_ticks == 0 ||
                             cfg->max_clock_drift_ticks + 1 >= cfg->election_tick))
        return NULL;
    const raft_snapshot_meta *s = &cfg->snapshot;
    const raft_hard_state *hs = &cfg->hard_state;
    if (!raft_membership_valid(&cfg->members) || !raft_membership_valid(&s->config)) return NULL;
    if (cfg->last_index < s->index || hs->commit > cfg->last_index ||
        (cfg->last_index == s->index && cfg->last_term != s->term) || cfg->last_term > hs->term ||
        (s->index > 0 && s->term == 0))
        return NULL;

    *err_out = -RAFT_ENOMEM;
    raft *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->cfg = *cfg;
    if (r->cfg.mem_retain_entries == 0) r->cfg.mem_retain_entries = 1;
    for (uint32_t i = 0; i < RAFT_MAX_MEMBERS; i++) {
        r->prs[i].inflight = calloc(2 * (size_t)cfg->max_inflight, sizeof(uint64_t));
        if (!r->prs[i].inflight) {
            raft_destroy(r);
            return NULL;
        }
    }
    r->chunk_buf = NULL;
    r->rng = cfg->seed ^ (cfg->id * 0x9e3779b97f4a7c15ull);
    r->term = hs->term;
    r->vote = hs->vote;
    r->snap = *s;
    r->conf = s->index > 0 ? s->config : cfg->members;
    r->last_index = cfg->last_index;
    r->last_term = cfg->last_term;
    r->stable = r->durable = cfg->last_index;
    /* A snapshot only holds committed entries, and it may be durable while the hard state
     * that advanced commit past it (a Ready without must_sync) was lost: commit >= snapshot. */
    r->commit = hs->commit > s->index ? hs->commit : s->index;
    r->applied = s->index;
    r->mem_first = r->last_index + 1;
    r->prev_hs = *hs;
    r->leader_contact_elapsed = cfg->lease_reads ? 0 : cfg->election_tick;
    r->role = RAFT_FOLLOWER;
    raft_conf_rebuild_progress(r);
    raft_become_follower(r, r->term, 0);
    r->prev_ss.role = r->role;
    r->prev_ss.leader = 0;
    raft_check_invariants(r);
    *err_out = 0;
    return r;
}

static void scratch_free(raft *r)
{
    for (size_t i = 0; i < r->scratch_n; i++)
        free(r->scratch[i]);
    r->scratch_n = 0;
}

void raft_destroy(raft *r)
{
    if (!r) return;
    for (uint32_t i = 0; i < RAFT_MAX_MEMBERS; i++)
        free(r->prs[i].inflight);
    raft_log_free(r);
    scratch_free(r);
    free(r->scratch);
    free(r->outbox);
    free(r->rd_msgs);
    free(r->rd_reads);
    free(r->chunk_buf);
    free(r);
}

/* The instance's own invariants (Raft Figure 2 and our log layout); on after every input. */
void raft_check_invariants(const raft *r)
{
    SYN_ASSERT_CMP(r->snap.index, <=, r->applied);
    SYN_ASSERT_CMP(r->applied, <=, r->commit);
    SYN_ASSERT_CMP(r->commit, <=, r->last_index);
    SYN_ASSERT_CMP(r->stable, <=, r->last_index);
    SYN_ASSERT_CMP(r->durable, <=, r->stable);
    SYN_ASSERT_CMP(r->snap.index, <=, r->durable);
    SYN_ASSERT_CMP(r->mem_first, <=, r->durable + 1); /* unpersisted entries are in memory */
    SYN_ASSERT(!r->cfg.async_persist || r->applied <= r->durable);
    SYN_ASSERT(r->mem_n == 0 || r->mem_first + r->mem_n == r->last_index + 1);
    SYN_ASSERT_CMP(r->last_term, <=, r->term);
    SYN_ASSERT(r->role != RAFT_LEADER || r->leader == r->cfg.id);
    SYN_ASSERT(r->role != RAFT_CANDIDATE || r->vote == r->cfg.id);
    SYN_ASSERT_CMP(r->reads.n, <=, RAFT_MAX_PENDING_READS);
    SYN_ASSERT_CMP(r->confirmed.n, <=, RAFT_MAX_PENDING_READS);
}

raft_id raft_id_of(const raft *r)
{
    return r->cfg.id;
}

uint64_t raft_term_of(const raft *r)
{
    return r->term;
}

uint64_t raft_last_index_of(const raft *r)
{
    return r->last_index;
}

uint64_t raft_commit_of(const raft *r)
{
    return r->commit;
}

bool raft_may_send_early(const raft_message *m, uint64_t durable_term)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
    case RAFT_MSG_TIMEOUT_NOW: return m->term == durable_term && durable_term > 0;
#ifdef RAFT_TEST_BUG_ACK_BEFORE_FSYNC
    case RAFT_MSG_APPEND_RESP: return true; /* followers acknowledge what is not on disk yet */
#endif
    default: return false;
    }
}

bool raft_sole_voter(const raft *r)
{
    return r->conf.n_voters == 1 && r->conf.voters[0] == r->cfg.id && r->conf.n_learners == 0;
}

int raft_replicated_to(const raft *r, uint64_t index)
{
    if (r->role != RAFT_LEADER) return -1;
    int k = 0;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        const progress *pr = &r->prs[i];
        if (pr->id != r->cfg.id && pr->voter && pr->match >= index) k++;
    }
    return k;
}

int raft_other_voters(const raft *r)
{
    int k = 0;
    for (uint32_t i = 0; i < r->conf.n_voters; i++)
        k += r->conf.voters[i] != r->cfg.id;
    return k;
}

int raft_propose(raft *r, const void *data, size_t len, uint64_t *index_out)
{
    SYN_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER) return -RAFT_ENOTLEADER;
    if (r->transfer_to) return -RAFT_ETRANSFER;
    if (len > r->cfg.max_batch_bytes || len > UINT32_MAX) return -RAFT_ETOOBIG;
    if (len > 0 && !data) return -RAFT_EINVAL;
    if (r->uncommitted_bytes > 0 && r->uncommitted_bytes + len > r->cfg.max_uncommitted_bytes)
        return -RAFT_EBUSY;
    int rc = raft_log_append(r, r->term, RAFT_ENTRY_NORMAL, data, (uint32_t)len);
    if (rc < 0) return rc;
    r->uncommitted_bytes += len;
    r->need_bcast = true;
    if (index_out) *index_out = r->last_index;
    return 0;
}

static raft_hard_state hard_state_now(const raft *r)
{
    raft_hard_state hs = {.term = r->term, .vote = r->vote, .commit = r->commit};
    return hs;
}

static uint64_t committed_upto(const raft *r)
{
    /* Apply only what this Ready also persists or has persisted (follower commit may run ahead
     * of its own log only within the entries it just received); with async_persist only what
     * is durable here, so that a snapshot of the state machine never covers entries a crash
     * could take back from this node's log. */
    uint64_t top = r->cfg.async_persist ? r->durable : r->last_index;
    uint64_t hi = r->commit < top ? r->commit : top;
    const uint64_t max_n = 65536;
    if (hi > r->applied + max_n) hi = r->applied + max_n;
    return hi;
}

static bool read_releasable(const raft *r, uint64_t upto)
{
    if (r->confirmed.n == 0) return false;
    const pending_read *p = &r->confirmed.items[r->confirmed.head];
    return p->index <= upto;
}

bool raft_has_ready(const raft *r)
{
    if (r->out_n > 0 || r->need_bcast || r->need_round || r->chunk.present) return true;
    if (r->last_index > r->stable) return true;
    if (r->commit > r->applied && r->applied < (r->cfg.async_persist ? r->durable : r->last_index))
        return true;
    raft_hard_state hs = hard_state_now(r);
    if (memcmp(&hs, &r->prev_hs, sizeof(hs)) != 0) return true;
    if (r->role != r->prev_ss.role || r->leader != r->prev_ss.leader) return true;
    return read_releasable(r, r->applied);
}

void raft_ready_get(raft *r, raft_ready *rd)
{
    SYN_ASSERT(!r->in_ready);
    memset(rd, 0, sizeof(*rd));
    if (r->role == RAFT_LEADER) {
        if (r->need_round) raft_bcast_heartbeat_to(r, true);
        if (r->need_bcast) raft_bcast_append(r, r->need_bcast_commit);
    }
    r->need_bcast = r->need_round = r->need_bcast_commit = false;
    r->in_ready = true;

    if (r->role != r->prev_ss.role || r->leader != r->prev_ss.leader) {
        rd->has_soft_state = true;
        rd->soft_state.role = r->role;
        rd->soft_state.leader = r->leader;
    }
    raft_hard_state hs = hard_state_now(r);
    if (memcmp(&hs, &r->prev_hs, sizeof(hs)) != 0) {
        rd->has_hard_state = true;
        rd->hard_state = hs;
        if (hs.term != r->prev_hs.term || hs.vote != r->prev_hs.vote) rd->must_sync = true;
    }
    bool urgent = rd->must_sync; /* a term or vote */
    if (r->chunk.present) {
        rd->snapshot = r->chunk;
        rd->must_sync = true;
    }
    /* Entries to persist: everything after `stable` is in memory (invariant). */
    r->rd_stable_to = r->stable;
    if (r->last_index > r->stable) {
        SYN_ASSERT_CMP(r->mem_first, <=, r->stable + 1);
        rd->entries = raft_log_mem_at(r, r->stable + 1);
        rd->n_entries = (size_t)(r->last_index - r->stable);
        r->rd_stable_to = r->last_index;
        rd->must_sync = true;
    }
    rd->sync_may_wait = rd->must_sync && !urgent && !r->chunk.present && r->sync_hint == 1;
    r->sync_hint = 0;
    /* Committed entries to apply, in order. */
    r->rd_applied_to = r->applied;
    uint64_t hi = committed_upto(r);
    if (hi > r->applied) {
        const raft_entry *ents = NULL;
        bool lazy = false;
        uint64_t max = r->cfg.max_apply_bytes ? r->cfg.max_apply_bytes : UINT64_MAX;
        int n = raft_log_slice(r, r->applied + 1, hi, max, &ents, &lazy);
        if (n > 0) {
            rd->committed = ents;
            rd->n_committed = (size_t)n;
            r->rd_applied_to = r->applied + (uint64_t)n;
        }
    }
    /* Messages: resolve lazy entry pointers now that the memory log is frozen until advance. */
    if (r->out_n > r->rd_msgs_cap) {
        raft_message *m = realloc(r->rd_msgs, r->out_n * sizeof(raft_message));
        SYN_ASSERT(m != NULL);
        r->rd_msgs = m;
        r->rd_msgs_cap = r->out_n;
    }
    for (size_t i = 0; i < r->out_n; i++) {
        raft_message *m = &r->rd_msgs[i];
        *m = r->outbox[i].m;
        if (r->outbox[i].lazy_lo) {
            m->entries = raft_log_mem_at(r, r->outbox[i].lazy_lo);
            SYN_ASSERT(m->entries != NULL);
            SYN_ASSERT(raft_log_mem_at(r, r->outbox[i].lazy_lo + m->n_entries - 1) != NULL);
        }
    }
    rd->messages = r->rd_msgs;
    rd->n_messages = r->out_n;
    r->out_n = 0;
    /* Read states servable once this Ready's committed entries are applied. */
    uint32_t nr = 0;
    if (!r->rd_reads) {
        r->rd_reads = malloc(RAFT_MAX_PENDING_READS * sizeof(raft_read_state));
        SYN_ASSERT(r->rd_reads != NULL);
    }
    while (nr < r->confirmed.n) {
        const pending_read *p =
            &r->confirmed.items[(r->confirmed.head + nr) % RAFT_MAX_PENDING_READS];
        if (p->index > r->rd_applied_to && p->round == 0) break;
        r->rd_reads[nr].ctx = p->ctx;
        r->rd_reads[nr].index = p->index;
        r->rd_reads[nr].err = p->round == 0 ? 0 : (int)-(int64_t)p->round;
        nr++;
    }
    r->rd_n_reads = nr;
    rd->read_states = r->rd_reads;
    rd->n_read_states = nr;
}

/* The leader's own log counts toward the commit quorum up to `upto` (its durable index). */
static void self_ack(raft *r, uint64_t upto)
{
    if (r->role != RAFT_LEADER) return;
    progress *self = raft_progress_of(r, r->cfg.id);
    if (self && self->match < upto) {
        self->match = upto;
        self->next = r->last_index + 1;
        if (raft_maybe_commit(r)) r->need_bcast = r->need_bcast_commit = true;
    }
}

void raft_advance(raft *r, const raft_ready *rd)
{
    SYN_ASSERT(r->in_ready);
    r->in_ready = false;
    if (rd->has_soft_state) r->prev_ss = rd->soft_state;
    if (rd->has_hard_state) r->prev_hs = rd->hard_state;
    if (rd->snapshot.present) r->chunk.present = false;
    SYN_ASSERT_CMP(r->rd_stable_to, <=, r->last_index);
    if (r->rd_stable_to > r->stable) r->stable = r->rd_stable_to;
    if (!r->cfg.async_persist) r->durable = r->stable; /* step 4 made them durable */
    /* Membership changes take effect when applied (dissertation §4.1, etcd's ApplyConfChange). */
    for (size_t i = 0; i < rd->n_committed; i++)
        if (rd->committed[i].type == RAFT_ENTRY_CONF_CHANGE) {
            r->applied = rd->committed[i].index;
            raft_conf_apply(r, &rd->committed[i]);
        }
    if (r->rd_applied_to > r->applied) r->applied = r->rd_applied_to;
    SYN_ASSERT_CMP(r->applied, <=, r->commit);
    SYN_ASSERT_CMP(r->commit, <=, r->last_index);
    r->confirmed.head = (r->confirmed.head + r->rd_n_reads) % RAFT_MAX_PENDING_READS;
    r->confirmed.n -= r->rd_n_reads;
    r->rd_n_reads = 0;
    scratch_free(r);
#ifdef RAFT_TEST_BUG_SELF_UNSYNCED
    /* planted: the leader counts what it only handed out (written, not yet fsync'd) */
    self_ack(r, r->stable);
#else
    self_ack(r, r->durable);
#endif
    raft_log_trim(r);
    raft_check_invariants(r);
}

void raft_persisted(raft *r, uint64_t index, uint64_t term)
{
    SYN_ASSERT(!r->in_ready);
    SYN_ASSERT(r->cfg.async_persist);
    /* Stale reports are ignored: index no longer handed out (a truncation lowered `stable`), or
     * the entry there was replaced since the write the sync covered (its term differs; terms
     * only grow along a log, so a replaced (index, term) never comes back). */
    if (index <= r->durable || index > r->stable) return;
    uint64_t t = 0;
    if (raft_log_term(r, index, &t) != 0 || t != term) return;
    r->durable = index;
    self_ack(r, r->durable);
    raft_check_invariants(r);
}

int raft_snapshot_meta_applied(const raft *r, raft_snapshot_meta *out)
{
    memset(out, 0, sizeof(*out));
    out->index = r->applied;
    out->config = r->conf;
    return raft_log_term((raft *)r, r->applied, &out->term);
}

void raft_status_get(const raft *r, raft_status *st)
{
    memset(st, 0, sizeof(*st));
    st->id = r->cfg.id;
    st->role = r->role;
    st->leader = r->leader;
    st->term = r->term;
    st->vote = r->vote;
    st->commit = r->commit;
    st->applied = r->applied;
    st->first_index = r->snap.index + 1;
    st->last_index = r->last_index;
    st->last_term = r->last_term;
    st->snapshot_index = r->snap.index;
    st->config = r->conf;
    st->lease_valid = raft_lease_valid(r);
    st->transferring = r->transfer_to != 0;
    st->transfer_to = r->transfer_to;
    if (r->role == RAFT_LEADER)
        for (uint32_t i = 0; i < r->n_prs; i++) {
            const progress *pr = &r->prs[i];
            if (pr->voter && pr->id != r->cfg.id && (r->sync_eval_left > 0 || pr->sync_pick))
                st->waited[st->n_waited++] = pr->id;
        }
}
