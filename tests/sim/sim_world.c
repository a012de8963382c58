/* sim_world.c — what happens to the simulated cluster: a KV client workload (writes, incrs,
 * ReadIndex and lease reads) whose history is checked by lincheck, the fault schedule
 * (crashes, partitions, lossy network, slow disks, leadership transfers, membership changes),
 * healing and the liveness probe. */
#include "sim_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CMD_WRITE = 1, CMD_INCR = 2, CMD_MARKER = 3 };
#define CMD_BYTES 16

static void encode_cmd(uint8_t *b, int kind, int key, int client, uint32_t req, int64_t value)
{
    memset(b, 0, CMD_BYTES);
    b[0] = (uint8_t)kind;
    b[1] = (uint8_t)key;
    b[2] = (uint8_t)client;
    memcpy(b + 4, &req, 4);
    memcpy(b + 8, &value, 8);
}

static sim_node *up_node(sim *s, int id)
{
    if (id < 1 || id > SIM_MAX_NODES) return NULL;
    sim_node *n = &s->nodes[id];
    return n->exists && n->up ? n : NULL;
}

/* The up node that believes it leads the highest term, or NULL. */
static sim_node *find_leader(sim *s)
{
    sim_node *best = NULL;
    uint64_t best_term = 0;
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *n = up_node(s, i);
        if (!n) continue;
        raft_status st;
        raft_status_get(n->r, &st);
        if (st.role == RAFT_LEADER && st.term >= best_term) best = n, best_term = st.term;
    }
    return best;
}

static sim_node *random_up_node(sim *s)
{
    int ids[SIM_MAX_NODES], k = 0;
    for (int i = 1; i <= SIM_MAX_NODES; i++)
        if (up_node(s, i)) ids[k++] = i;
    return k ? &s->nodes[ids[sim_rng_below(&s->rng, (uint64_t)k)]] : NULL;
}

/* ---- the lease phase (see lease_phase_start) ---- */

static bool lease_phase_on(const sim *s)
{
    return s->lease_node != 0 && s->now_us < s->lease_until_us;
}

/* The isolated leader, if it is still the incarnation the phase cut off. */
static sim_node *lease_phase_node(sim *s)
{
    sim_node *n = up_node(s, s->lease_node);
    return n && n->gen == s->lease_gen ? n : NULL;
}

/* The majority side: its leader if one is known, else any up node but the isolated one. */
static sim_node *majority_node(sim *s)
{
    int ids[SIM_MAX_NODES], k = 0;
    sim_node *best = NULL;
    uint64_t best_term = 0;
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *n = up_node(s, i);
        if (!n || i == s->lease_node) continue;
        ids[k++] = i;
        raft_status st;
        raft_status_get(n->r, &st);
        if (st.role == RAFT_LEADER && st.term >= best_term) best = n, best_term = st.term;
    }
    if (best) return best;
    return k ? &s->nodes[ids[sim_rng_below(&s->rng, (uint64_t)k)]] : NULL;
}

/* ---- history ---- */

static void record(sim *s, const sim_client *c, int ci, bool pending, lincheck_value out)
{
    if (c->op == LINCHECK_READ && pending) return; /* no effect, nothing to check */
    if (s->n_history == s->cap_history) {
        size_t ncap = s->cap_history ? s->cap_history * 2 : 1024;
        lincheck_op *n = realloc(s->history, ncap * sizeof *n);
        if (!n) {
            sim_fail(s, "out of memory (history)");
            return;
        }
        s->history = n;
        s->cap_history = ncap;
    }
    lincheck_op op = {.client = ci,
                      .key = c->key,
                      .op = c->op,
                      .pending = pending,
                      .call = c->call,
                      .ret = (int64_t)s->step,
                      .out = out};
    if (c->op == LINCHECK_WRITE) op.arg = lincheck_int(c->value);
    if (c->op == LINCHECK_INCR) op.arg = lincheck_int(1);
    s->history[s->n_history++] = op;
    if (pending)
        s->ops_pending++;
    else
        s->ops_ok++;
}

static void client_next(sim *s, int ci, int64_t delay_us)
{
    sim_schedule(s, (sim_event){.t = s->now_us + delay_us, .kind = EV_CLIENT, .arg = (uint64_t)ci});
}

static void client_done(sim *s, int ci, bool pending, lincheck_value out, bool record_it)
{
    sim_client *c = &s->clients[ci];
    if (record_it) record(s, c, ci, pending, out);
    sim_trace(s, "client %d %s op %d key %d -> %s %" PRId64, ci, pending ? "GAVE UP" : "done",
              c->op, c->key, out.kind == LINCHECK_NIL ? "nil" : "", out.v);
    c->active = false;
    client_next(s, ci,
                lease_phase_on(s) ? sim_rng_range(&s->rng, 1000, 10000)
                                  : sim_rng_range(&s->rng, 2000, 60000));
}

static void client_start(sim *s, int ci)
{
    sim_client *c = &s->clients[ci];
    sim_node *n = NULL;
    /* lease phase: half the clients read the phase's key by lease at the isolated leader, the
     * others write it on the majority side */
    bool phase = lease_phase_on(s), phase_read = phase && ci < SIM_CLIENTS / 2;
    if (phase) n = phase_read ? lease_phase_node(s) : majority_node(s);
    if (!n && s->leader_hint && sim_rng_chance(&s->rng, 800000)) n = up_node(s, s->leader_hint);
    if (!n) n = random_up_node(s);
    if (!n) {
        client_next(s, ci, 20000);
        return;
    }
    if (n->busy || sim_node_stalled(s, n)) {
        int64_t t = n->busy ? n->busy_until_us : n->stalled_until_us;
        sim_schedule(s, (sim_event){.t = t + 1, .kind = EV_CLIENT, .arg = (uint64_t)ci});
        return;
    }
    uint32_t req = ++s->next_req;
    c->key = (uint8_t)sim_rng_below(&s->rng, SIM_KEYS);
    c->req = req;
    c->node = n->idx;
    c->node_gen = n->gen;
    c->call = (int64_t)s->step;
    c->lease = false;
    uint64_t pick = sim_rng_below(&s->rng, 100);
    if (phase) {
        c->key = s->lease_key;
        pick = phase_read ? 90 : pick % 60; /* lease read / write or incr */
    }
    int rc;
    if (pick < 60) {
        c->op = pick < 35 ? LINCHECK_WRITE : LINCHECK_INCR;
        c->value = (int64_t)req;
        uint8_t cmd[CMD_BYTES];
        encode_cmd(cmd, c->op == LINCHECK_WRITE ? CMD_WRITE : CMD_INCR, c->key, ci, req, c->value);
        rc = raft_propose(n->r, cmd, CMD_BYTES, NULL);
    } else if (s->opt.stale_reads) {
        c->op = LINCHECK_READ;
        c->active = true;
        sim_kv kv = n->kv[c->key];
        s->step++; /* the answer comes back after the invocation */
        client_done(s, ci, false, (lincheck_value){kv.kind, kv.kind == LINCHECK_NIL ? 0 : kv.v},
                    true);
        return;
    } else {
        c->op = LINCHECK_READ;
        c->lease = pick >= 85;
        uint64_t ctx = ((uint64_t)ci << 32) | req;
        rc = c->lease ? raft_read_lease(n->r, ctx) : raft_read_index(n->r, ctx);
        if (rc == 0 && c->lease) {
            raft_status st;
            raft_status_get(n->r, &st);
            if (phase && n->idx == s->lease_node) s->lease_reads_in_phase++;
            /* the lease's promise (§6.4.1): no other node leads while it is valid */
            if (st.term < s->max_leader_term) {
                s->lease_deposed_grants++;
                sim_trace(s,
                          "LEASE READ GRANTED by deposed leader %d of term %" PRIu64
                          " (newest leader term %" PRIu64 ")",
                          n->idx, st.term, s->max_leader_term);
                if (!s->opt.no_lease_check)
                    sim_fail(s,
                             "LEASE (§6.4.1): leader %d of term %" PRIu64
                             " granted a lease read while a leader of term %" PRIu64 " exists",
                             n->idx, st.term, s->max_leader_term);
            }
        }
    }
    if (rc != 0) { /* refused, no effect: try elsewhere soon */
        raft_status st;
        raft_status_get(n->r, &st);
        if (st.leader) s->leader_hint = (int)st.leader;
        client_next(s, ci,
                    phase ? sim_rng_range(&s->rng, 1000, 5000)
                          : sim_rng_range(&s->rng, 5000, 30000));
        return;
    }
    c->active = true;
    c->deadline_us = s->now_us + SIM_OP_TIMEOUT_US;
    sim_trace(s, "client %d -> node %d: op %d key %d req %u%s", ci, n->idx, c->op, c->key, req,
              c->lease ? " (lease)" : "");
    sim_schedule(
        s, (sim_event){.t = c->deadline_us, .kind = EV_CLIENT, .arg = (uint64_t)ci, .gen = req});
    sim_process_ready(s, n);
}

static void client_event(sim *s, const sim_event *ev)
{
    int ci = (int)ev->arg;
    sim_client *c = &s->clients[ci];
    if (ev->gen) { /* a timeout */
        if (c->active && c->req == ev->gen) client_done(s, ci, true, lincheck_nil(), true);
        return;
    }
    if (!c->active) client_start(s, ci);
}

void sim_world_apply(sim *s, sim_node *n, const raft_entry *e)
{
    if (e->type != RAFT_ENTRY_NORMAL) return;
    if (e->len != CMD_BYTES) {
        sim_fail(s, "node %d applied a NORMAL entry %" PRIu64 " of %u bytes the sim never proposed",
                 n->idx, e->index, e->len);
        return;
    }
    int kind = e->data[0], key = e->data[1], ci = e->data[2];
    uint32_t req;
    int64_t value;
    memcpy(&req, e->data + 4, 4);
    memcpy(&value, e->data + 8, 8);
    if (kind == CMD_MARKER) {
        if (!s->live) {
            sim_trace(s, "liveness: marker %u committed at %" PRIu64, req, e->index);
            s->marker_index = e->index;
        }
        s->live = true;
        return;
    }
    if (key >= SIM_KEYS || ci >= SIM_CLIENTS) {
        sim_fail(s, "node %d applied a corrupt entry %" PRIu64, n->idx, e->index);
        return;
    }
    sim_kv *kv = &n->kv[key];
    if (kind == CMD_WRITE) {
        kv->kind = LINCHECK_INT;
        kv->v = value;
    } else {
        kv->v = (kv->kind == LINCHECK_INT ? kv->v : 0) + 1;
        kv->kind = LINCHECK_INT;
    }
    sim_client *c = &s->clients[ci];
    if (c->active && c->req == req && c->node == n->idx && c->node_gen == n->gen)
        client_done(s, ci, false, lincheck_int(kv->v), true);
}

void sim_world_read_state(sim *s, sim_node *n, const raft_read_state *rs)
{
    int ci = (int)(rs->ctx >> 32);
    uint32_t req = (uint32_t)rs->ctx;
    if (ci >= SIM_CLIENTS) {
        sim_fail(s, "node %d released a read with unknown ctx %" PRIu64, n->idx, rs->ctx);
        return;
    }
    if (rs->err == 0 && n->applied < rs->index) {
        sim_fail(s,
                 "node %d released read %" PRIu64 " at index %" PRIu64
                 " before applying it (applied %" PRIu64 ")",
                 n->idx, rs->ctx, rs->index, n->applied);
        return;
    }
    sim_client *c = &s->clients[ci];
    if (!c->active || c->req != req || c->node != n->idx || c->node_gen != n->gen) return;
    if (rs->err) {
        client_done(s, ci, false, lincheck_nil(), false); /* refused: no result, retry */
        return;
    }
    sim_kv kv = n->kv[c->key];
    if (s->opt.verbose && c->lease) {
        raft_status st;
        raft_status_get(n->r, &st);
        sim_trace(s, "lease read served by %d in term %" PRIu64 " (newest leader term %" PRIu64 ")",
                  n->idx, st.term, s->max_leader_term);
    }
    lincheck_value out = {kv.kind, kv.kind == LINCHECK_NIL ? 0 : kv.v};
    client_done(s, ci, false, out, true);
}

/* ---- membership and transfers ---- */

static bool in_config(const raft_membership *m, int id, bool *learner)
{
    for (uint32_t i = 0; i < m->n_voters; i++)
        if (m->voters[i] == (raft_id)id) return *learner = false, true;
    for (uint32_t i = 0; i < m->n_learners; i++)
        if (m->learners[i] == (raft_id)id) return *learner = true, true;
    return false;
}

static int conf_change(sim *s, sim_node *l, raft_cc_type type, int id)
{
    raft_conf_change cc = {.type = type, .node = (raft_id)id};
    int rc = raft_propose_conf_change(l->r, &cc, NULL);
    sim_trace(s, "leader %d proposes conf change %d node %d: %s", l->idx, type, id,
              raft_strerror(rc));
    if (rc == 0) s->conf_changes++;
    sim_process_ready(s, l);
    return rc;
}

/* Voters cycle between N and N+1: add a fresh learner, promote it, remove a random voter
 * (possibly the leader). Removed nodes are stopped and wiped; ids are never reused. */
static void membership_step(sim *s, sim_node *l)
{
    raft_status st;
    raft_status_get(l->r, &st);
    const raft_membership *m = &st.config;
    bool learner;
    if (s->removing) {
        if (in_config(m, s->removing, &learner)) {
            conf_change(s, l, RAFT_CC_REMOVE, s->removing);
        } else {
            if (s->removing != l->idx && s->nodes[s->removing].exists)
                sim_node_stop(s, &s->nodes[s->removing]);
            s->removing = 0;
        }
        return;
    }
    if (m->n_learners > 0) {
        conf_change(s, l, RAFT_CC_PROMOTE, (int)m->learners[0]);
        return;
    }
    if (s->joining && in_config(m, s->joining, &learner)) s->joining = 0;
    if ((int)m->n_voters > s->opt.nodes) {
        int victim = (int)m->voters[sim_rng_below(&s->rng, m->n_voters)];
        if (conf_change(s, l, RAFT_CC_REMOVE, victim) == 0) s->removing = victim;
        return;
    }
    if (!s->joining) {
        if (s->next_id > SIM_MAX_NODES) return;
        sim_node *n = &s->nodes[s->next_id];
        n->exists = true;
        if (sim_node_start(s, n) != 0) return;
        s->joining = s->next_id++;
    }
    conf_change(s, l, RAFT_CC_ADD_LEARNER, s->joining);
}

static void transfer_step(sim *s, sim_node *l)
{
    raft_status st;
    raft_status_get(l->r, &st);
    if (st.config.n_voters < 2) return;
    raft_id to = st.config.voters[sim_rng_below(&s->rng, st.config.n_voters)];
    if (to == (raft_id)l->idx) return;
    int rc = raft_transfer_leader(l->r, to);
    sim_trace(s, "leader %d transfers to %d: %s", l->idx, (int)to, raft_strerror(rc));
    if (rc == 0) s->transfers++;
    sim_process_ready(s, l);
}

/* ---- faults ---- */

static void clear_cuts(sim *s)
{
    memset(s->cut, 0, sizeof s->cut);
}

static void crash_node(sim *s, sim_node *n)
{
    if (!n) return;
    sim_node_crash(s, n);
    sim_schedule(s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 20000, 1500000),
                                .kind = EV_RESTART,
                                .node = n->idx,
                                .gen = n->gen});
}

static void heal(sim *s)
{
    sim_trace(s, "HEAL: network repaired, disks fast, every node up");
    clear_cuts(s);
    sim_link_outage_end(s);
    s->link_phase_us = 0;
    s->lease_node = 0;
    s->drop_ppm = s->dup_ppm = s->slow_msg_ppm = 0;
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *n = &s->nodes[i];
        n->slow_disk_until_us = 0;
        if (n->exists && !n->up) sim_node_start(s, n);
    }
    s->healed = true;
    s->healed_at_us = s->now_us;
    sim_schedule(s, (sim_event){.t = s->now_us + 1000, .kind = EV_LIVENESS});
}

/* The lease phase: the leader L is cut off from everyone (both ways, or it cannot send, or it
 * cannot hear) while clients keep asking L for lease reads and give the other side writes of
 * the same key. The other side elects L' and commits the writes. A correct lease has expired
 * before L' can win (followers refuse votes while they may still count as L's lease), so L
 * grants no lease read once L' exists; a lease that outlives L's quorum answers with the old
 * value after a write on L' completed, and lincheck rejects the history. Other faults wait
 * until the phase ends; L's links come back at lease_until_us. */
static void lease_phase_start(sim *s, sim_node *l)
{
    clear_cuts(s);
    sim_link_outage_end(s);
    s->drop_ppm = s->dup_ppm = s->slow_msg_ppm = 0;
    s->churn_until_us = 0;
    uint64_t how = sim_rng_below(&s->lease_rng, 10);
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        if (i == l->idx) continue;
        if (how < 6 || how == 8) s->cut[l->idx][i] = true; /* L cannot send */
        if (how < 6 || how == 9) s->cut[i][l->idx] = true; /* L cannot hear */
    }
    s->lease_node = l->idx;
    s->lease_gen = l->gen;
    s->lease_key = (uint8_t)sim_rng_below(&s->lease_rng, SIM_KEYS);
    s->lease_until_us = s->now_us + sim_rng_range(&s->lease_rng, 300000, 800000);
    s->lease_phases++;
    /* one phase in three the leader's event loop also stalls for 1.5 to 4 election timeouts
     * from the start (its last acks are fresh, its clock must keep counting meanwhile) */
    if (sim_rng_below(&s->lease_rng, 3) == 0)
        sim_node_stall(s, l,
                       s->now_us + sim_rng_range(&s->lease_rng, 15, 40) * SIM_ELECTION_TICK *
                                       SIM_TICK_US / 10);
    /* one phase in three the other nodes stall too, from the start, each for 0.2 to 4 election
     * timeouts: a stalled follower's clock only runs slower once it runs again (the driver's
     * catch-up gives it one tick), which must delay the majority's election, never let it
     * overlap the old leader's lease */
    if (!s->opt.lose_stalled_ticks && sim_rng_below(&s->lease_rng, 3) == 0)
        for (int i = 1; i <= SIM_MAX_NODES; i++) {
            sim_node *x = &s->nodes[i];
            if (x == l || !x->up || !x->exists) continue;
            sim_node_stall(s, x,
                           s->now_us + sim_rng_range(&s->lease_rng, 2, 40) * SIM_ELECTION_TICK *
                                           SIM_TICK_US / 10);
        }
    sim_trace(s, "LEASE PHASE: leader %d cut off (%s) until t=%" PRId64 " ms, key %d", l->idx,
              how < 6    ? "both ways"
              : how == 8 ? "cannot send"
                         : "cannot hear",
              s->lease_until_us / 1000, s->lease_key);
    sim_schedule(s, (sim_event){.t = s->lease_until_us, .kind = EV_LEASE_END});
}

static void lease_phase_end(sim *s)
{
    if (!s->lease_node || s->healed) return;
    sim_trace(s, "LEASE PHASE ends: node %d reconnected", s->lease_node);
    clear_cuts(s);
    s->lease_node = 0;
}

/* The link phase: the peer link between the leader L and a follower F closes for 100 ms ..
 * 1.5 s (sim_link_outage_start: messages in flight lost or not, L's appends possibly held
 * and delivered just before the reopen while F's answers die, as with a stopped follower
 * whose links the transport closed as silent), alone: other faults wait, the network is
 * otherwise clean. After the reopen (where each transport may report the other unreachable),
 * SIM_LINK_QUIET_US of quiet: if L still leads its term, F (same incarnation) must have
 * applied L's commit index of the reopen. A leader that never replicates to F again (issue 8:
 * a full window whose acknowledgements were lost) fails here. */
static void link_phase_start(sim *s, sim_node *l)
{
    int ids[SIM_MAX_NODES], k = 0;
    for (int i = 1; i <= SIM_MAX_NODES; i++)
        if (i != l->idx && up_node(s, i)) ids[k++] = i;
    if (!k) return;
    sim_node *f = &s->nodes[ids[sim_rng_below(&s->link_rng, (uint64_t)k)]];
    clear_cuts(s);
    s->drop_ppm = s->dup_ppm = s->slow_msg_ppm = 0;
    s->churn_until_us = 0;
    raft_status st;
    raft_status_get(l->r, &st);
    s->link_leader = l->idx;
    s->link_leader_gen = l->gen;
    s->link_follower = f->idx;
    s->link_follower_gen = f->gen;
    s->link_term = st.term;
    s->link_commit = 0;
    int64_t dur = sim_rng_range(&s->link_rng, 100000, 1500000);
    s->link_phase_us = s->now_us + dur + SIM_LINK_QUIET_US;
    sim_link_outage_start(s, l->idx, f->idx, dur);
    sim_schedule(s, (sim_event){.t = s->link_phase_us, .kind = EV_LINK_CHECK});
}

static void link_phase_reopen(sim *s)
{
    sim_link_outage_end(s);
    sim_node *l = up_node(s, s->link_leader);
    if (!s->link_phase_us || !l || l->gen != s->link_leader_gen) return;
    raft_status st;
    raft_status_get(l->r, &st);
    s->link_commit = st.commit;
}

static void link_phase_check(sim *s)
{
    if (!s->link_phase_us) return;
    s->link_phase_us = 0;
    sim_node *l = up_node(s, s->link_leader), *f = up_node(s, s->link_follower);
    if (!l || !f || l->gen != s->link_leader_gen || f->gen != s->link_follower_gen ||
        !s->link_commit)
        return;
    raft_status st;
    raft_status_get(l->r, &st);
    if (st.role != RAFT_LEADER || st.term != s->link_term) return;
    bool learner;
    if (!in_config(&st.config, f->idx, &learner)) return;
    s->link_checks++;
    if (f->applied < s->link_commit)
        sim_fail(s,
                 "CATCH-UP: %.1f s after its link to leader %d reopened, follower %d has applied "
                 "%" PRIu64 ", below the leader's commit %" PRIu64
                 " of the reopen (leader commit now %" PRIu64 ")",
                 (double)SIM_LINK_QUIET_US / 1e6, l->idx, f->idx, f->applied, s->link_commit,
                 st.commit);
}

static void fault_event(sim *s)
{
    if (s->healed) return;
    if (s->lease_node) { /* the lease phase runs alone */
        sim_schedule(s, (sim_event){.t = s->lease_until_us + 1, .kind = EV_FAULT});
        return;
    }
    if (s->link_phase_us) { /* so does the link phase */
        sim_schedule(s, (sim_event){.t = s->link_phase_us + 1, .kind = EV_FAULT});
        return;
    }
    if (s->step >= s->opt.steps * 7 / 10) {
        heal(s);
        return;
    }
    sim_schedule(
        s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 20000, 300000), .kind = EV_FAULT});
    sim_node *l = find_leader(s);
    /* one fault in 16 starts a lease phase; drawn from a stream of its own, so with
     * --no-lease-phase a seed runs exactly as it did before the phase existed */
    if (l && !s->opt.no_lease_phase && sim_rng_chance(&s->lease_rng, 62500)) {
        lease_phase_start(s, l);
        return;
    }
    /* one fault in 12 starts a link phase; its own stream too */
    if (l && sim_rng_chance(&s->link_rng, 83333)) {
        link_phase_start(s, l);
        return;
    }
    int pick = (int)sim_rng_below(&s->rng, 15);
    sim_trace(s, "fault %d (leader %d)", pick, l ? l->idx : 0);
    switch (pick) {
    case 0: crash_node(s, random_up_node(s)); break;
    case 1: crash_node(s, l); break;
    case 2: /* isolate the leader (or a random node) both ways */
    case 3: {
        sim_node *x = l ? l : random_up_node(s);
        if (!x) break;
        for (int i = 1; i <= SIM_MAX_NODES; i++)
            if (i != x->idx) s->cut[x->idx][i] = s->cut[i][x->idx] = true;
        break;
    }
    case 4: { /* asymmetric: the leader can send but not hear, or hear but not send */
        sim_node *x = l ? l : random_up_node(s);
        if (!x) break;
        bool out = sim_rng_below(&s->rng, 2);
        for (int i = 1; i <= SIM_MAX_NODES; i++)
            if (i != x->idx) {
                if (out)
                    s->cut[x->idx][i] = true;
                else
                    s->cut[i][x->idx] = true;
            }
        break;
    }
    case 5: { /* a node that can reach only one other */
        sim_node *x = random_up_node(s), *y = random_up_node(s);
        if (!x || !y || x == y) break;
        for (int i = 1; i <= SIM_MAX_NODES; i++)
            if (i != x->idx && i != y->idx) s->cut[x->idx][i] = s->cut[i][x->idx] = true;
        break;
    }
    case 6: { /* one random link, one direction */
        int a = (int)sim_rng_range(&s->rng, 1, SIM_MAX_NODES);
        int b = (int)sim_rng_range(&s->rng, 1, SIM_MAX_NODES);
        if (a != b) s->cut[a][b] = true;
        break;
    }
    case 7:
    case 8: clear_cuts(s); break;
    case 9: { /* network quality */
        static const uint32_t drops[] = {0, 0, 10000, 50000, 200000};
        s->drop_ppm = drops[sim_rng_below(&s->rng, 5)];
        s->dup_ppm = sim_rng_below(&s->rng, 2) ? 0 : 20000;
        s->slow_msg_ppm = sim_rng_below(&s->rng, 2) ? 0 : 50000;
        break;
    }
    case 10: {
        sim_node *x = random_up_node(s);
        if (x) x->slow_disk_until_us = s->now_us + sim_rng_range(&s->rng, 50000, 1000000);
        break;
    }
    case 11:
        if (l && !l->busy && !sim_node_stalled(s, l)) transfer_step(s, l);
        break;
    case 12: s->churn_until_us = s->now_us + sim_rng_range(&s->rng, 200000, 1500000); break;
    default:
        if (l && !l->busy && !sim_node_stalled(s, l)) membership_step(s, l);
        break;
    }
}

/* After the marker committed: has every member of the leader's configuration applied it? A
 * follower the leader stopped replicating to (issue 8) never does. Returns the first one
 * behind (0 = all caught up, -1 = no leader to ask). */
static int behind_member(sim *s, uint64_t *applied)
{
    sim_node *l = find_leader(s);
    if (!l) return -1;
    raft_status st;
    raft_status_get(l->r, &st);
    const raft_membership *m = &st.config;
    for (uint32_t i = 0; i < m->n_voters + m->n_learners; i++) {
        int id = (int)(i < m->n_voters ? m->voters[i] : m->learners[i - m->n_voters]);
        if (id < 1 || id > SIM_MAX_NODES || !s->nodes[id].exists) continue;
        sim_node *n = &s->nodes[id];
        if (!n->up || n->applied < s->marker_index) {
            *applied = n->up ? n->applied : 0;
            return id;
        }
    }
    return 0;
}

static void liveness_event(sim *s)
{
    if (s->caught_up) return;
    if (s->live) {
        uint64_t applied = 0;
        int behind = behind_member(s, &applied);
        if (behind == 0) {
            s->caught_up = true;
            sim_trace(s, "liveness: every member applied marker index %" PRIu64, s->marker_index);
            return;
        }
        if (s->now_us > s->healed_at_us + SIM_LIVENESS_US) {
            sim_fail(s,
                     "LIVENESS: %.1f s after the faults healed, %s%d has applied %" PRIu64
                     ", behind the committed marker at %" PRIu64,
                     (double)(s->now_us - s->healed_at_us) / 1e6,
                     behind < 0 ? "no leader; node " : "member ", behind < 0 ? 0 : behind, applied,
                     s->marker_index);
            return;
        }
        sim_schedule(s, (sim_event){.t = s->now_us + 100000, .kind = EV_LIVENESS});
        return;
    }
    if (s->now_us > s->healed_at_us + SIM_LIVENESS_US) {
        sim_node *l = find_leader(s);
        sim_fail(s, "LIVENESS: %.1f s after the faults healed, no new entry committed (leader: %d)",
                 (double)(s->now_us - s->healed_at_us) / 1e6, l ? l->idx : 0);
        return;
    }
    sim_schedule(s, (sim_event){.t = s->now_us + 100000, .kind = EV_LIVENESS});
    sim_node *l = find_leader(s);
    if (!l || l->busy || sim_node_stalled(s, l)) return;
    uint8_t cmd[CMD_BYTES];
    encode_cmd(cmd, CMD_MARKER, 0, 0, ++s->marker_req, 0);
    int rc = raft_propose(l->r, cmd, CMD_BYTES, NULL);
    sim_trace(s, "liveness probe: propose marker on %d: %s", l->idx, raft_strerror(rc));
    sim_process_ready(s, l);
}

void sim_world_new_leader(sim *s, sim_node *n, uint64_t term)
{
    if (s->healed || s->now_us >= s->churn_until_us || term <= s->churned_term) return;
    s->churned_term = term;
    sim_schedule(s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 500, 30000),
                                .kind = EV_CHURN,
                                .node = n->idx,
                                .gen = n->gen,
                                .arg = term});
}

/* A leader's commit index advanced: during churn, sometimes crash it right there, before the
 * followers learn of the commit (the window Raft Figure 8 is about). */
void sim_world_leader_commit(sim *s, sim_node *n, uint64_t term)
{
    if (s->healed || s->now_us >= s->churn_until_us || !sim_rng_chance(&s->rng, 250000)) return;
    sim_schedule(
        s,
        (sim_event){.t = s->now_us, .kind = EV_CHURN, .node = n->idx, .gen = n->gen, .arg = term});
}

static void churn_event(sim *s, const sim_event *ev)
{
    sim_node *n = &s->nodes[ev->node];
    if (s->healed || !n->up || n->gen != ev->gen) return;
    raft_status st;
    raft_status_get(n->r, &st);
    if (st.role != RAFT_LEADER || st.term != ev->arg) return;
    sim_trace(s, "churn: crash leader %d of term %" PRIu64, n->idx, st.term);
    sim_node_crash(s, n);
    sim_schedule(s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 5000, 300000),
                                .kind = EV_RESTART,
                                .node = n->idx,
                                .gen = n->gen});
    /* Sometimes a power loss takes the followers whose disk writes are in flight too: what they
     * acknowledged must already be durable, so the entry just committed survives on a majority
     * (a driver that acks before its fsync loses it here). */
    if (!sim_rng_chance(&s->rng, 500000)) return;
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *f = &s->nodes[i];
        /* busy: the blocking driver waits for its fsync; or the storage thread has one due */
        if (!f->up || !(f->busy || f->sync_req > f->sync_disk) || f == n) continue;
        sim_trace(s, "churn: power loss on busy follower %d", f->idx);
        sim_node_crash(s, f);
        sim_schedule(s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 5000, 300000),
                                    .kind = EV_RESTART,
                                    .node = f->idx,
                                    .gen = f->gen});
    }
}

void sim_world_event(sim *s, sim_event *ev)
{
    switch (ev->kind) {
    case EV_CLIENT: client_event(s, ev); break;
    case EV_FAULT: fault_event(s); break;
    case EV_RESTART: {
        sim_node *n = &s->nodes[ev->node];
        if (n->exists && !n->up && n->gen == ev->gen) sim_node_start(s, n);
        break;
    }
    case EV_LIVENESS: liveness_event(s); break;
    case EV_CHURN: churn_event(s, ev); break;
    case EV_LEASE_END: lease_phase_end(s); break;
    case EV_LINK_UP:
        if (s->link_a && ev->arg == s->link_outages) link_phase_reopen(s);
        break;
    case EV_LINK_CHECK: link_phase_check(s); break;
    case EV_UNREACHABLE: {
        sim_node *n = &s->nodes[ev->node];
        if (n->up && n->gen == ev->gen) sim_report_unreachable(s, n, (int)ev->arg);
        break;
    }
    default: sim_fail(s, "unknown event %d", ev->kind);
    }
}

void sim_world_init(sim *s)
{
    for (int i = 0; i < SIM_CLIENTS; i++)
        client_next(s, i, sim_rng_range(&s->rng, 1000, 50000));
    sim_schedule(s, (sim_event){.t = sim_rng_range(&s->rng, 100000, 500000), .kind = EV_FAULT});
}

void sim_world_deinit(sim *s)
{
    free(s->history);
}

bool sim_world_done(sim *s)
{
    return s->healed && s->live && s->caught_up;
}

void sim_world_finish(sim *s)
{
    if (!s->live) {
        sim_fail(s, "LIVENESS: the run ended without a commit after healing");
        return;
    }
    if (!s->caught_up) {
        sim_fail(s, "LIVENESS: the run ended before every member applied the marker");
        return;
    }
    for (int i = 0; i < SIM_CLIENTS; i++)
        if (s->clients[i].active) record(s, &s->clients[i], i, true, lincheck_nil());
    lincheck_report rep;
    if (lincheck_check(s->history, s->n_history, NULL, &rep) != 0) {
        sim_fail(s, "lincheck: out of memory");
        return;
    }
    if (rep.result == LINCHECK_UNKNOWN) s->lin_unknown = true;
    if (rep.result == LINCHECK_FAIL) {
        if (!s->opt.quiet) lincheck_print_report(stdout, s->history, &rep, NULL, NULL);
        sim_fail(s,
                 "LINEARIZABILITY: the client history of key %u is not linearizable "
                 "(op at step %" PRId64 ")",
                 rep.key, s->history[rep.stuck_op].call);
    }
}
