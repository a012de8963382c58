/* raft_readonly.c — linearizable reads without log writes: ReadIndex (dissertation §6.4),
 * batched so that every read requested before a Ready shares one heartbeat round, forwarded
 * from followers to the leader; and leader leases under a clock-drift bound (§6.4.1). */
#include "consensus/raft_internal.h"

int raft_reads_push(read_queue *q, const pending_read *p)
{
    if (q->n >= RAFT_MAX_PENDING_READS) return -RAFT_EBUSY;
    q->items[(q->head + q->n) % RAFT_MAX_PENDING_READS] = *p;
    q->n++;
    return 0;
}

static pending_read *q_at(read_queue *q, uint32_t i)
{
    return &q->items[(q->head + i) % RAFT_MAX_PENDING_READS];
}

/* Hand a confirmed (or failed) read to its requester: locally as a read state released once
 * applied >= index, or as a READ_INDEX_RESP to the follower that forwarded it. err > 0 is
 * stored in `round` of the confirmed queue (0 = success). */
static void complete(raft *r, const pending_read *p, int err)
{
    if (p->from != 0) {
        raft_message *m = raft_send(r, RAFT_MSG_READ_INDEX_RESP, p->from);
        m->ctx = p->ctx;
        m->index = p->index;
        m->reject = err != 0;
        return;
    }
    pending_read c = {.ctx = p->ctx, .index = p->index, .round = (uint64_t)(-err), .from = 0};
    /* confirmed has the same capacity as reads; a full queue only happens if the application
     * stops calling advance, then the read fails by being dropped (it will time out). */
    (void)raft_reads_push(&r->confirmed, &c);
}

void raft_reads_fail_all(raft *r, int err)
{
    while (r->reads.n > 0) {
        pending_read p = *q_at(&r->reads, 0);
        r->reads.head = (r->reads.head + 1) % RAFT_MAX_PENDING_READS;
        r->reads.n--;
        if (p.from == 0) complete(r, &p, err);
        /* forwarded reads: the follower's request times out or is retried */
    }
}

static bool noop_committed(const raft *r)
{
    return r->role == RAFT_LEADER && r->commit >= r->noop_index;
}

bool raft_leader_current(const raft *r)
{
    return noop_committed(r);
}

/* Reads waiting for this term's no-op get their read index once it commits (a new leader does
 * not know the commit index of its predecessor before that, §6.4 step 1). */
void raft_reads_on_commit(raft *r)
{
    if (!noop_committed(r)) return;
    bool any = false;
    for (uint32_t i = 0; i < r->reads.n; i++) {
        pending_read *p = q_at(&r->reads, i);
        if (p->index == 0) {
            p->index = r->commit;
            p->round = 0;
            any = true;
        }
    }
    if (any) r->need_round = true;
}

void raft_reads_assign_round(raft *r)
{
    for (uint32_t i = 0; i < r->reads.n; i++) {
        pending_read *p = q_at(&r->reads, i);
        if (p->index != 0 && p->round == 0) p->round = r->round;
    }
}

void raft_reads_on_round_ack(raft *r)
{
    if (r->role != RAFT_LEADER || r->reads.n == 0) return;
    uint64_t vals[RAFT_MAX_MEMBERS];
    for (uint32_t i = 0; i < r->n_prs; i++)
        vals[i] = r->prs[i].ack_round;
    uint64_t acked = raft_quorum_value(r, vals);
    /* FIFO: rounds are assigned in order, so confirmed reads form a prefix. */
    while (r->reads.n > 0) {
        pending_read *p = q_at(&r->reads, 0);
        if (p->index == 0 || p->round == 0 || p->round > acked) break;
        pending_read c = *p;
        r->reads.head = (r->reads.head + 1) % RAFT_MAX_PENDING_READS;
        r->reads.n--;
        complete(r, &c, 0);
    }
}

int raft_read_index(raft *r, uint64_t ctx)
{
    SYN_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER) {
        if (r->leader == 0) return -RAFT_ENOTLEADER;
        raft_message *m = raft_send(r, RAFT_MSG_READ_INDEX, r->leader);
        m->ctx = ctx;
        return 0;
    }
    pending_read p = {.ctx = ctx, .index = 0, .round = 0, .from = 0};
    if (noop_committed(r)) {
        p.index = r->commit;
        r->need_round = true;
    }
    return raft_reads_push(&r->reads, &p);
}

void raft_handle_read_index(raft *r, const raft_message *m)
{
    pending_read p = {.ctx = m->ctx, .index = 0, .round = 0, .from = m->from};
    if (noop_committed(r)) {
        p.index = r->commit;
        r->need_round = true;
    }
    if (raft_reads_push(&r->reads, &p) < 0) {
        raft_message *resp = raft_send(r, RAFT_MSG_READ_INDEX_RESP, m->from);
        resp->ctx = m->ctx;
        resp->reject = true;
    }
}

void raft_handle_read_index_resp(raft *r, const raft_message *m)
{
    pending_read c = {.ctx = m->ctx, .index = m->reject ? 0 : m->index, .from = 0};
    c.round = m->reject ? (uint64_t)RAFT_ENOTREADY : 0;
    (void)raft_reads_push(&r->confirmed, &c);
}

/* The lease: followers that acked a heartbeat round sent at tick T will not grant a vote before
 * they count election_tick ticks after receiving it (in_lease in raft_election.c); their clocks
 * may run faster by at most max_clock_drift_ticks per election timeout, and their first tick may
 * come right after the heartbeat (one tick of granularity), so no other leader can exist before
 * T + election_tick - drift - 1 on our clock. */
bool raft_lease_valid(const raft *r)
{
    if (!r->cfg.lease_reads || r->role != RAFT_LEADER || r->lease_disabled || r->transfer_to)
        return false;
    if (r->commit < r->noop_index) return false;
#ifdef RAFT_TEST_BUG_LEASE_NEVER_EXPIRES
    /* Deliberate bug for the simulator's self-test only (mk/sim.mk, sim-lease-bug-test): the
     * lease never expires while this node leads. Never defined in a real build. */
    return true;
#endif
    uint64_t vals[RAFT_MAX_MEMBERS];
    for (uint32_t i = 0; i < r->n_prs; i++)
        vals[i] = r->prs[i].id == r->cfg.id ? r->now_tick : r->prs[i].ack_tick;
    uint64_t t = raft_quorum_value(r, vals);
    if (t == 0) return false;
    return r->now_tick + 1 < t + r->cfg.election_tick - r->cfg.max_clock_drift_ticks;
}

int raft_read_lease(raft *r, uint64_t ctx)
{
    SYN_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER) return -RAFT_ENOTLEADER;
    if (!raft_lease_valid(r)) return -RAFT_ENOTREADY;
    pending_read c = {.ctx = ctx, .index = r->commit, .round = 0, .from = 0};
    return raft_reads_push(&r->confirmed, &c);
}
