/* sim.c — the simulated cluster: nodes, network, event loop, Ready processing (see sim.h).
 * The client workload and the fault schedule live in sim_world.c. */
#include "sim_internal.h"
#include "util/assert.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tracing and failure ---- */

void sim_trace(sim *s, const char *fmt, ...)
{
    if (!s->opt.verbose) return;
    printf("[%8" PRIu64 " t=%9.3fms] ", s->step, (double)s->now_us / 1000.0);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void sim_fail(sim *s, const char *fmt, ...)
{
    if (s->failed) return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    sim_trace(s, "FAILURE: %s", s->why);
}

/* ---- event heap, ordered by (time, seq) so equal times keep insertion order ---- */

static bool ev_less(const sim_event *a, const sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_schedule(sim *s, sim_event ev)
{
    if (s->n_events == s->cap_events) {
        size_t ncap = s->cap_events ? s->cap_events * 2 : 1024;
        sim_event *n = realloc(s->events, ncap * sizeof *n);
        if (!n) {
            sim_fail(s, "out of memory (event queue)");
            free(ev.msg);
            return;
        }
        s->events = n;
        s->cap_events = ncap;
    }
    ev.seq = s->next_seq++;
    size_t i = s->n_events++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&ev, &s->events[p])) break;
        s->events[i] = s->events[p];
        i = p;
    }
    s->events[i] = ev;
}

static sim_event pop_event(sim *s)
{
    sim_event top = s->events[0], last = s->events[--s->n_events];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_event *mv = &last;
        if (l < s->n_events && ev_less(&s->events[l], mv)) m = l, mv = &s->events[l];
        if (r < s->n_events && ev_less(&s->events[r], mv)) m = r;
        if (m == i) break;
        s->events[i] = s->events[m];
        i = m;
    }
    if (s->n_events) s->events[i] = last;
    return top;
}

/* ---- network ---- */

static const char *msg_name(raft_msg_type t)
{
    static const char *n[] = {"?",          "APPEND",         "APPEND_RESP",   "VOTE",
                              "VOTE_RESP",  "PRE_VOTE",       "PRE_VOTE_RESP", "HEARTBEAT",
                              "HB_RESP",    "SNAPSHOT",       "SNAPSHOT_RESP", "TIMEOUT_NOW",
                              "READ_INDEX", "READ_INDEX_RESP"};
    return t <= RAFT_MSG_TYPE_MAX ? n[t] : "?";
}

/* Deep copy: the message, its entries and their data in one block. */
static sim_msg *msg_copy(const raft_message *m)
{
    size_t bytes = sizeof(sim_msg) + m->n_entries * sizeof(raft_entry) + m->snap_len;
    for (uint32_t i = 0; i < m->n_entries; i++)
        bytes += m->entries[i].len;
    sim_msg *c = malloc(bytes);
    if (!c) return NULL;
    c->m = *m;
    raft_entry *ents = (raft_entry *)(c + 1);
    uint8_t *p = (uint8_t *)(ents + m->n_entries);
    for (uint32_t i = 0; i < m->n_entries; i++) {
        ents[i] = m->entries[i];
        if (ents[i].len) {
            memcpy(p, m->entries[i].data, ents[i].len);
            ents[i].data = p;
            p += ents[i].len;
        } else {
            ents[i].data = NULL;
        }
    }
    c->m.entries = m->n_entries ? ents : NULL;
    if (m->snap_len) {
        memcpy(p, m->snap_data, m->snap_len);
        c->m.snap_data = p;
    } else {
        c->m.snap_data = NULL;
    }
    return c;
}

/* ---- link outages (see sim_internal.h) ---- */

/* 0: from->to is not affected by the outage; 1: lost; 2: held until link_flush_us (written
 * before the stopped receiver resumed and read its socket; after that the link is gone). */
static int link_closed(const sim *s, int from, int to)
{
    if (!s->link_a || s->now_us >= s->link_until_us) return 0;
    bool held = s->now_us < s->link_flush_us;
    if (from == s->link_a && to == s->link_b) return held && s->link_held[0] ? 2 : 1;
    if (from == s->link_b && to == s->link_a) return held && s->link_held[1] ? 2 : 1;
    return 0;
}

void sim_link_outage_start(sim *s, int a, int b, int64_t dur_us)
{
    sim_link_outage_end(s);
    s->link_a = a;
    s->link_b = b;
    s->link_until_us = s->now_us + dur_us;
    /* 0 (half the time): a->b held, 1: b->a held, 2: both lost */
    int held = (int)sim_rng_below(&s->link_rng, 4);
    if (held == 3) held = 0;
    s->link_held[0] = held == 0;
    s->link_held[1] = held == 1;
    int64_t lead = sim_rng_range(&s->link_rng, 1000, dur_us / 2 > 50000 ? 50000 : dur_us / 2);
    s->link_flush_us = s->link_until_us - lead;
    s->link_outages++;
    /* what was in flight: already in the receiver's socket buffer, or lost with the link */
    int lost = 0;
    for (size_t i = 0; i < s->n_events; i++) {
        sim_event *ev = &s->events[i];
        if (ev->kind != EV_DELIVER) continue;
        int f = (int)ev->msg->m.from;
        if (!((f == a && ev->node == b) || (f == b && ev->node == a))) continue;
        if (!sim_rng_chance(&s->link_rng, 500000)) continue;
        free(ev->msg);
        ev->msg = NULL;
        ev->kind = EV_NONE;
        lost++;
    }
    sim_trace(s,
              "LINK %d<->%d closed for %" PRId64 " ms (%s), %d messages in flight lost; held "
              "messages arrive at t=%" PRId64 " ms",
              a, b, dur_us / 1000,
              held == 0   ? "a->b held"
              : held == 1 ? "b->a held"
                          : "both lost",
              lost, s->link_flush_us / 1000);
    sim_schedule(s, (sim_event){.t = s->link_until_us, .kind = EV_LINK_UP, .arg = s->link_outages});
}

/* The link reopens; each side's transport may report the other unreachable (it saw the link
 * close), as the driver does (node.c, peer_net_take_unreachable). */
void sim_link_outage_end(sim *s)
{
    if (!s->link_a) return;
    int ends[2] = {s->link_a, s->link_b};
    sim_trace(s, "LINK %d<->%d reopens", ends[0], ends[1]);
    s->link_a = s->link_b = 0;
    for (int k = 0; k < 2; k++) {
        sim_node *n = &s->nodes[ends[k]];
        if (!n->up || !sim_rng_chance(&s->link_rng, 500000)) continue;
        sim_schedule(s, (sim_event){.t = s->now_us,
                                    .kind = EV_UNREACHABLE,
                                    .node = n->idx,
                                    .gen = n->gen,
                                    .arg = (uint64_t)ends[1 - k]});
    }
}

void sim_report_unreachable(sim *s, sim_node *n, int peer)
{
    if (n->busy || sim_node_stalled(s, n)) { /* the driver reports before its next Ready */
        int64_t t = n->busy ? n->busy_until_us : 0;
        if (n->stalled_until_us > t) t = n->stalled_until_us;
        sim_schedule(s, (sim_event){.t = t + 1,
                                    .kind = EV_UNREACHABLE,
                                    .node = n->idx,
                                    .gen = n->gen,
                                    .arg = (uint64_t)peer});
        return;
    }
    sim_trace(s, "node %d: transport reports %d unreachable", n->idx, peer);
    raft_report_unreachable(n->r, (raft_id)peer);
    sim_process_ready(s, n);
}

static void net_send(sim *s, const raft_message *m)
{
    int from = (int)m->from, to = (int)m->to;
    if (to < 1 || to > SIM_MAX_NODES || !s->nodes[to].exists) return;
    int link = link_closed(s, from, to);
    if (link == 1 || s->cut[from][to] || sim_rng_chance(&s->rng, s->drop_ppm)) {
        sim_trace(s, "drop %s %d->%d", msg_name(m->type), from, to);
        return;
    }
    int copies = sim_rng_chance(&s->rng, s->dup_ppm) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        sim_msg *mc = msg_copy(m);
        if (!mc) {
            sim_fail(s, "out of memory (message)");
            return;
        }
        int64_t delay = sim_rng_range(&s->rng, s->lat_min_us, s->lat_max_us);
        if (sim_rng_chance(&s->rng, s->slow_msg_ppm))
            delay += sim_rng_range(&s->rng, 5000, s->slow_msg_max_us);
        int64_t base = link == 2 ? s->link_flush_us : s->now_us; /* held: read on resume */
        sim_schedule(s, (sim_event){.t = base + delay,
                                    .kind = EV_DELIVER,
                                    .node = to,
                                    .gen = s->nodes[to].gen,
                                    .msg = mc});
    }
}

/* ---- nodes ---- */

static void on_durable_hs(void *ud, const raft_hard_state *hs)
{
    sim_node *n = ud;
    if (inv_durable_hard_state(n->s->inv, n->idx, hs->term, hs->vote, hs->commit) != 0)
        sim_fail(n->s, "%s", inv_message(n->s->inv));
}

static uint32_t durable_holders(sim *s, const raft_membership *m, uint64_t index, uint64_t term)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->n_voters; i++) {
        raft_id id = m->voters[i];
        if (id < 1 || id > SIM_MAX_NODES) continue;
        const sim_disk_image *img = &s->nodes[id].disk.durable;
        const sim_disk_entry *e = sim_disk_at(img, index);
        if ((e && e->term == term) || (img->snap.index >= index && index > 0)) k++;
    }
    return k;
}

/* DURABLE_QUORUM: when a leader's commit index moves (within its term) to c, a majority of the
 * voters hold entry c on their DURABLE disk image: what the leader counted (its own log and
 * the followers' acknowledgements) was fsync'd. A majority of its membership now or at the
 * previous check (a membership change may be applied in between). Catches a leader counting
 * its own unsynced entries (RAFT_TEST_BUG_SELF_UNSYNCED) and followers acknowledging before
 * their fsync (RAFT_TEST_BUG_ACK_BEFORE_FSYNC, --skip-fsync) when they happen, not only when a
 * crash at the wrong moment turns them into a lost entry. */
static void check_durable_quorum(sim *s, sim_node *n, const raft_status *st)
{
    uint64_t c = st->commit, t = 0;
    if (c <= n->disk.vol.snap.index) return; /* compacted here: was checked when committed */
    const sim_disk_entry *e = sim_disk_at(&n->disk.vol, c);
    if (!e) return;
    t = e->term;
    uint32_t now = durable_holders(s, &st->config, c, t);
    uint32_t before = durable_holders(s, &n->last_conf, c, t);
    if (now >= st->config.n_voters / 2 + 1 || before >= n->last_conf.n_voters / 2 + 1) return;
    sim_fail(s,
             "DURABLE_QUORUM: leader %d of term %" PRIu64 " advanced its commit to %" PRIu64
             " but only %u of its %u voters hold that entry on disk (fsync'd)",
             n->idx, st->term, c, now, st->config.n_voters);
}

void sim_check_node(sim *s, sim_node *n)
{
    if (!n->up || s->failed) return;
    raft_status st;
    raft_status_get(n->r, &st);
    if (inv_state(s->inv, n->idx, st.role == RAFT_LEADER, st.term, st.commit) != 0) {
        sim_fail(s, "%s", inv_message(s->inv));
        return;
    }
    if (st.role == RAFT_LEADER) {
        if (st.term > s->max_leader_term) {
            s->elections++;
            s->max_leader_term = st.term;
            sim_world_new_leader(s, n, st.term);
        }
        s->leader_hint = n->idx;
    }
    if (st.commit > s->max_commit) s->max_commit = st.commit;
    if (st.role == RAFT_LEADER && st.term == n->lead_term && st.commit > n->last_commit &&
        !s->opt.no_durable_check)
        check_durable_quorum(s, n, &st);
    if (s->failed) return;
    if (st.role == RAFT_LEADER && st.commit > n->last_commit)
        sim_world_leader_commit(s, n, st.term);
    n->last_commit = st.commit;
    n->lead_term = st.role == RAFT_LEADER ? st.term : 0;
    n->last_conf = st.config;
}

bool sim_node_stalled(const sim *s, const sim_node *n)
{
    return n->stalled_until_us > s->now_us;
}

/* Stalls an idle node's event loop until until_us (see sim_internal.h). */
void sim_node_stall(sim *s, sim_node *n, int64_t until_us)
{
    if (!n->up || n->busy || until_us <= s->now_us) return;
    n->stalled_until_us = until_us;
    n->stall_lost_tick = false;
    n->stall_keepalive = (until_us / SIM_TICK_US) % 2 == 0; /* no draw: seeds replay as before */
    sim_trace(s, "node %d STALLS until t=%.3fms", n->idx, (double)until_us / 1000.0);
    sim_schedule(s, (sim_event){.t = until_us, .kind = EV_THAW, .node = n->idx, .gen = n->gen});
}

/* KV snapshot: applied index, applied chain, then each key's value. */
static uint32_t kv_encode(const sim_node *n, uint64_t chain, uint8_t *buf)
{
    uint8_t *p = buf;
    memcpy(p, &n->applied, 8), p += 8;
    memcpy(p, &chain, 8), p += 8;
    for (int k = 0; k < SIM_KEYS; k++) {
        *p++ = n->kv[k].kind;
        memcpy(p, &n->kv[k].v, 8), p += 8;
    }
    return (uint32_t)(p - buf);
}

static int kv_decode(sim_node *n, const uint8_t *buf, uint32_t len, uint64_t *chain)
{
    if (len != SIM_SNAP_BYTES) return -1;
    const uint8_t *p = buf;
    memcpy(&n->applied, p, 8), p += 8;
    memcpy(chain, p, 8), p += 8;
    for (int k = 0; k < SIM_KEYS; k++) {
        n->kv[k].kind = *p++;
        memcpy(&n->kv[k].v, p, 8), p += 8;
    }
    return 0;
}

/* The invariant checker's view of this node's log = the volatile disk image. */
static void inv_reload_log(sim *s, sim_node *n)
{
    const sim_disk_image *img = &n->disk.vol;
    uint64_t chain = 0;
    if (img->snap.index) {
        sim_node tmp;
        if (kv_decode(&tmp, img->snap_data, img->snap_len, &chain) != 0)
            sim_fail(s, "node %d: bad snapshot on disk", n->idx);
    }
    inv_log_reset(s->inv, n->idx, img->log.base, img->snap.term, chain);
    for (size_t i = 0; i < img->log.len; i++) {
        const sim_disk_entry *e = &img->log.e[i];
        if (inv_log_append(s->inv, n->idx, e->index, e->term,
                           inv_entry_hash(e->term, e->type, e->data, e->len)) != 0) {
            sim_fail(s, "%s", inv_message(s->inv));
            return;
        }
    }
}

int sim_node_start(sim *s, sim_node *n)
{
    raft_config cfg;
    raft_config_default(&cfg);
    cfg.id = (raft_id)n->idx;
    cfg.members = s->bootstrap;
    cfg.election_tick = SIM_ELECTION_TICK;
    cfg.heartbeat_tick = SIM_HEARTBEAT_TICK;
    cfg.seed = sim_rng_next(&s->rng);
    cfg.max_inflight = s->max_inflight;
    cfg.max_batch_bytes = s->batch_bytes;
    /* in half the seeds committed entries are handed out one per Ready (node.c bounds them by
     * NODE_APPLY_READY_BYTES): read states and replies must wait for what was applied */
    cfg.max_apply_bytes = s->opt.seed % 2 ? 1 : 0;
    cfg.mem_retain_entries = 64;
    cfg.promote_max_lag = 16;
    cfg.lease_reads = true;
    cfg.max_clock_drift_ticks = 2;
    cfg.async_persist = !s->opt.blocking_disk;
    const sim_disk_image *img = &n->disk.durable;
    n->durable_term = img->hs.term;
    cfg.hard_state = img->hs;
    /* A snapshot the node made is durable at once while the hard state carrying the commit
     * index that covered it may have been lost with unsynced writes: what a snapshot holds is
     * committed, so the restart raises commit to it (as the server must). */
    if (cfg.hard_state.commit < img->snap.index) cfg.hard_state.commit = img->snap.index;
    if (s->opt.torn_prefix) {
        /* the old WAL kept entries whose hard state was lost; the server then clamped as here
         * (a durable vote in a term needs a durable hard state of that term, so none is lost) */
        uint64_t last = sim_disk_last_index(img), last_term = sim_disk_last_term(img);
        if (cfg.hard_state.commit > last) cfg.hard_state.commit = last;
        if (cfg.hard_state.term < last_term) {
            cfg.hard_state.term = last_term;
            cfg.hard_state.vote = 0;
        }
    }
    cfg.snapshot = img->snap;
    cfg.last_index = sim_disk_last_index(img);
    cfg.last_term = sim_disk_last_term(img);
    cfg.storage = sim_disk_storage(&n->disk);
    int err = 0;
    n->r = raft_create(&cfg, &err);
    if (!n->r) {
        sim_fail(s, "node %d: raft_create failed: %s", n->idx, raft_strerror(err));
        return -1;
    }
    n->up = true;
    n->busy = false;
    n->gen++;
    n->missed_ticks = 0;
    n->catching_up = false;
    n->stalled_until_us = 0;
    memset(n->kv, 0, sizeof n->kv);
    n->applied = 0;
    uint64_t chain = 0;
    if (img->snap.index && kv_decode(n, img->snap_data, img->snap_len, &chain) != 0) {
        sim_fail(s, "node %d: bad snapshot on disk", n->idx);
        return -1;
    }
    if (img->snap.index) n->applied = img->snap.index;
    inv_apply_reset(s->inv, n->idx, n->applied, chain);
    inv_reload_log(s, n);
    /* tick periods differ slightly per node: clocks drift, within the configured bound */
    n->tick_us = SIM_TICK_US + sim_rng_range(&s->rng, -SIM_TICK_US / 40, SIM_TICK_US / 40);
    if (s->opt.clock_drift_pct)
        n->tick_us = sim_rng_range(
            &s->rng, SIM_TICK_US - SIM_TICK_US * (int64_t)s->opt.clock_drift_pct / 100,
            SIM_TICK_US);
    if (s->opt.clock_skew) n->tick_us = sim_rng_range(&s->rng, SIM_TICK_US, 10 * SIM_TICK_US);
    sim_schedule(s, (sim_event){.t = s->now_us + sim_rng_range(&s->rng, 1, n->tick_us),
                                .kind = EV_TICK,
                                .node = n->idx,
                                .gen = n->gen});
    sim_trace(s,
              "node %d starts: term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64 " snap %" PRIu64
              " last %" PRIu64,
              n->idx, img->hs.term, img->hs.vote, img->hs.commit, img->snap.index, cfg.last_index);
    sim_check_node(s, n);
    return 0;
}

static void drop_sync_state(sim_node *n);

void sim_node_crash(sim *s, sim_node *n)
{
    if (!n->up) return;
    sim_trace(s, "node %d CRASHES (%zu unsynced writes)", n->idx, n->disk.n_pending);
    raft_destroy(n->r);
    n->r = NULL;
    n->up = false;
    while (n->inbox_len > 0) {
        free(n->inbox[n->inbox_head]);
        n->inbox_head = (n->inbox_head + 1) % SIM_INBOX_MAX;
        n->inbox_len--;
    }
    n->busy = false;
    drop_sync_state(n); /* what was not synced is the disk's to keep or lose (below) */
    n->gen++;
    inv_crash(s->inv, n->idx);
    n->last_commit = 0;
    /* what it sent but the kernel had not transmitted yet dies with it */
    for (size_t i = 0; i < s->n_events; i++) {
        sim_event *ev = &s->events[i];
        if (ev->kind == EV_DELIVER && ev->msg->m.from == (raft_id)n->idx &&
            sim_rng_chance(&s->rng, 300000)) {
            free(ev->msg);
            ev->msg = NULL;
            ev->kind = EV_NONE;
        }
    }
    size_t kept = 0, pending = n->disk.n_pending;
    if (sim_disk_crash(&n->disk, &s->rng, s->opt.torn_prefix, &kept) != 0)
        sim_fail(s, "node %d: disk crash failed", n->idx);
    sim_trace(s, "node %d: %zu of %zu unsynced records survive", n->idx, kept, pending);
    inv_reload_log(s, n);
    s->crashes++;
}

/* Removed from the cluster: stop it and delete its data. */
void sim_node_stop(sim *s, sim_node *n)
{
    sim_node_crash(s, n);
    s->crashes--;
    sim_disk_wipe(&n->disk);
    n->exists = false;
    sim_trace(s, "node %d stopped and wiped", n->idx);
}

/* ---- the Ready loop (THE READY CONTRACT in raft.h) ---- */

static void take_snapshot_if_due(sim *s, sim_node *n)
{
    if (n->applied < n->disk.vol.snap.index + s->snap_every) return;
    raft_snapshot_meta meta;
    if (raft_snapshot_meta_applied(n->r, &meta) != 0 || meta.index != n->applied) {
        sim_fail(s, "node %d: raft_snapshot_meta_applied disagrees with applied %" PRIu64, n->idx,
                 n->applied);
        return;
    }
    uint8_t buf[SIM_SNAP_BYTES];
    uint32_t len = kv_encode(n, inv_applied_chain(s->inv, n->idx), buf);
    if (sim_disk_local_snapshot(&n->disk, &meta, buf, len) != 0) {
        sim_fail(s, "node %d: snapshot write failed", n->idx);
        return;
    }
    int rc = raft_compact(n->r, &meta);
    if (rc != 0) {
        sim_fail(s, "node %d: raft_compact(%" PRIu64 ") failed: %s", n->idx, meta.index,
                 raft_strerror(rc));
        return;
    }
    inv_log_compact(s->inv, n->idx, meta.index);
    s->snapshots++;
    sim_trace(s, "node %d snapshot at %" PRIu64, n->idx, meta.index);
}

/* Step 5 for one message (a vote granted must be durable by now: the checker knows). */
static void send_msg(sim *s, sim_node *n, const raft_message *m)
{
    if (m->type == RAFT_MSG_VOTE_RESP && !m->reject &&
        inv_vote_granted(s->inv, n->idx, m->term, m->to) != 0) {
        sim_fail(s, "%s", inv_message(s->inv));
        return;
    }
    if (s->opt.verbose)
        sim_trace(s, "send %s %d->%d term %" PRIu64 " idx %" PRIu64 " n=%u commit %" PRIu64 "%s",
                  msg_name(m->type), (int)m->from, (int)m->to, m->term, m->index, m->n_entries,
                  m->commit, m->reject ? " REJECT" : "");
    net_send(s, m);
}

static void apply_ready(sim *s, sim_node *n);

static void finish_ready(sim *s, sim_node *n)
{
    raft_ready *rd = &n->rd;
    for (size_t i = 0; i < rd->n_messages && !s->failed; i++)
        if (!n->sent_early[i]) send_msg(s, n, &rd->messages[i]);
    apply_ready(s, n);
}

/* Steps 6-8: apply, serve reads, advance; then maybe snapshot. */
static void apply_ready(sim *s, sim_node *n)
{
    raft_ready *rd = &n->rd;
    for (size_t i = 0; i < rd->n_committed && !s->failed; i++) {
        const raft_entry *e = &rd->committed[i];
        if (inv_apply(s->inv, n->idx, e->index,
                      inv_entry_hash(e->term, e->type, e->data, e->len)) != 0) {
            sim_fail(s, "%s", inv_message(s->inv));
            break;
        }
        n->applied = e->index;
        sim_world_apply(s, n, e);
    }
    for (size_t i = 0; i < rd->n_read_states && !s->failed; i++)
        sim_world_read_state(s, n, &rd->read_states[i]);
    raft_advance(n->r, rd);
    n->busy = false;
    if (!s->failed) take_snapshot_if_due(s, n);
}

/* Steps 1-3 of the contract: the writes (volatile until a sync covers them). */
static bool write_ready(sim *s, sim_node *n)
{
    raft_ready *rd = &n->rd;
    if (rd->snapshot.present) {
        const raft_snapshot_chunk *c = &rd->snapshot;
        if (c->offset == 0) n->recv_len = 0;
        if (c->offset != n->recv_len || c->offset + c->len > SIM_SNAP_MAX) {
            sim_fail(s, "node %d: snapshot chunk at %" PRIu64 " but %u bytes received", n->idx,
                     c->offset, n->recv_len);
            return false;
        }
        if (c->len) memcpy(n->recv + c->offset, c->data, c->len);
        n->recv_len += c->len;
        if (c->done) {
            uint64_t chain = 0;
            if (kv_decode(n, n->recv, n->recv_len, &chain) != 0 || n->applied != c->meta.index) {
                sim_fail(s, "node %d: received a malformed snapshot", n->idx);
                return false;
            }
            if (sim_disk_install_snapshot(&n->disk, &c->meta, n->recv, n->recv_len) != 0)
                sim_fail(s, "node %d: snapshot write failed", n->idx);
            inv_apply_reset(s->inv, n->idx, c->meta.index, chain);
            inv_log_reset(s->inv, n->idx, c->meta.index, c->meta.term, chain);
            sim_trace(s, "node %d installs snapshot at %" PRIu64, n->idx, c->meta.index);
        }
    }
    for (size_t i = 0; i < rd->n_entries && !s->failed; i++) {
        const raft_entry *e = &rd->entries[i];
        if (sim_disk_append(&n->disk, e) != 0) {
            sim_fail(s, "node %d: entry %" PRIu64 " does not follow its log (last %" PRIu64 ")",
                     n->idx, e->index, sim_disk_last_index(&n->disk.vol));
            return false;
        }
        if (inv_log_append(s->inv, n->idx, e->index, e->term,
                           inv_entry_hash(e->term, e->type, e->data, e->len)) != 0) {
            sim_fail(s, "%s", inv_message(s->inv));
            return false;
        }
    }
    if (rd->has_hard_state && sim_disk_set_hs(&n->disk, &rd->hard_state) != 0)
        sim_fail(s, "node %d: hard state write failed", n->idx);
    return !s->failed;
}

static int64_t disk_latency(sim *s, sim_node *n)
{
    if (n->slow_disk_until_us > s->now_us) return sim_rng_range(&s->rng, 2000, 60000);
    return sim_rng_chance(&s->rng, 500000) ? 0 : sim_rng_range(&s->rng, 50, 400);
}

/* Steps 1-4 of the contract, blocking driver; returns true if the node waits for its disk. */
static bool start_ready(sim *s, sim_node *n)
{
    raft_ready *rd = &n->rd;
    raft_ready_get(n->r, rd);
    n->busy = true;
    if (!write_ready(s, n)) return false;
    /* the leader's appends overlap its own disk write (raft_may_send_early) */
    if (rd->n_messages > n->sent_early_cap) {
        n->sent_early = realloc(n->sent_early, rd->n_messages);
        SYN_ASSERT(n->sent_early != NULL);
        n->sent_early_cap = rd->n_messages;
    }
    for (size_t i = 0; i < rd->n_messages; i++) {
        const raft_message *m = &rd->messages[i];
        n->sent_early[i] =
            rd->must_sync && !s->opt.skip_fsync && raft_may_send_early(m, n->disk.durable.hs.term);
        if (!n->sent_early[i]) continue;
        if (s->opt.verbose)
            sim_trace(s, "send early %s %d->%d term %" PRIu64 " idx %" PRIu64 " n=%u",
                      msg_name(m->type), (int)m->from, (int)m->to, m->term, m->index, m->n_entries);
        net_send(s, m);
    }
    if (!rd->must_sync || s->opt.skip_fsync) return false;
    if (sim_disk_end_batch(&n->disk) != 0) sim_fail(s, "node %d: batch end failed", n->idx);
    int64_t lat = disk_latency(s, n);
    if (lat == 0) {
        if (sim_disk_sync(&n->disk) != 0) sim_fail(s, "node %d: sync failed", n->idx);
        return false;
    }
    n->busy_until_us = s->now_us + lat;
    sim_schedule(
        s, (sim_event){.t = n->busy_until_us, .kind = EV_DISK_DONE, .node = n->idx, .gen = n->gen});
    return true;
}

/* ---- the storage-thread driver (default; raft.h ASYNCHRONOUS PERSISTENCE, node_sync.c) ---- */

/* The thread starts an fdatasync for the newest ticket: it covers what was written so far. */
static void sync_start(sim *s, sim_node *n)
{
    n->sync_flight = n->sync_req;
    n->sync_flight_mark = sim_disk_mark(&n->disk);
    /* never 0: the answer always comes through the loop, out of step with it */
    int64_t lat = disk_latency(s, n) + sim_rng_range(&s->rng, 1, 30);
    /* only entries the leader's commit quorum does not wait for (raft_ready.sync_may_wait):
     * the server's storage thread lets that fdatasync wait up to 2 ms for more */
    if (!n->sync_urgent) lat += sim_rng_range(&s->rng, 200, 2000);
    n->sync_urgent = false;
    /* fdatasync jitter: one in ten takes milliseconds, longer than a replication round trip,
     * so the followers' acknowledgements often come before the leader's own sync returns */
    if (sim_rng_chance(&s->rng, 100000)) lat += sim_rng_range(&s->rng, 1000, 5000);
    sim_schedule(
        s, (sim_event){.t = s->now_us + lat, .kind = EV_DISK_DONE, .node = n->idx, .gen = n->gen});
}

static void hold_msg(sim *s, sim_node *n, uint64_t ticket, const raft_message *m)
{
    if (n->held_n == n->held_cap) {
        n->held_cap = n->held_cap ? 2 * n->held_cap : 64;
        n->held = realloc(n->held, n->held_cap * sizeof(*n->held));
        SYN_ASSERT(n->held != NULL);
    }
    sim_msg *c = msg_copy(m);
    if (!c) {
        sim_fail(s, "out of memory (held message)");
        return;
    }
    n->held[n->held_n++] = (struct sim_held){ticket, c};
}

static void drop_sync_state(sim_node *n)
{
    for (size_t i = 0; i < n->held_n; i++)
        free(n->held[i].msg);
    n->held_n = n->sreq_n = 0;
    n->sync_req = n->sync_disk = n->sync_done = n->sync_flight = 0;
}

/* One Ready with the storage thread: write, ask for a sync, send what may go, hold the rest
 * behind the syncs still running, apply, advance: the loop never waits for the disk. */
static void async_ready(sim *s, sim_node *n)
{
    raft_ready *rd = &n->rd;
    raft_ready_get(n->r, rd);
    if (!write_ready(s, n)) return;
    if (s->opt.skip_fsync) {
        /* deliberately broken: no batch end, no fsync, everything sent at once and the writes
         * reported durable (as the blocking driver's --skip-fsync advanced without a sync) */
        uint64_t idx = rd->n_entries ? rd->entries[rd->n_entries - 1].index : 0;
        uint64_t term = rd->n_entries ? rd->entries[rd->n_entries - 1].term : 0;
        if (rd->has_hard_state) n->durable_term = rd->hard_state.term;
        for (size_t i = 0; i < rd->n_messages && !s->failed; i++)
            send_msg(s, n, &rd->messages[i]);
        if (s->failed) return;
        apply_ready(s, n);
        if (idx && n->up && !s->failed) raft_persisted(n->r, idx, term);
        return;
    }
    if (rd->must_sync) {
        if (sim_disk_end_batch(&n->disk) != 0) sim_fail(s, "node %d: batch end failed", n->idx);
        if (n->sreq_n == n->sreq_cap) {
            n->sreq_cap = n->sreq_cap ? 2 * n->sreq_cap : 64;
            n->sreq = realloc(n->sreq, n->sreq_cap * sizeof(*n->sreq));
            SYN_ASSERT(n->sreq != NULL);
        }
        if (!rd->sync_may_wait) n->sync_urgent = true;
        struct sim_sync_req q = {.ticket = ++n->sync_req};
        if (rd->n_entries) {
            q.index = rd->entries[rd->n_entries - 1].index;
            q.term = rd->entries[rd->n_entries - 1].term;
        }
        if (rd->has_hard_state) q.hs_term = rd->hard_state.term;
        n->sreq[n->sreq_n++] = q;
        if (!n->sync_flight) sync_start(s, n);
    }
    uint64_t wait = n->sync_req > n->sync_done ? n->sync_req : 0;
    for (size_t i = 0; i < rd->n_messages && !s->failed; i++) {
        const raft_message *m = &rd->messages[i];
        if (!wait || raft_may_send_early(m, n->durable_term)) {
            send_msg(s, n, m);
        } else {
            hold_msg(s, n, wait, m);
        }
    }
    if (s->failed) return;
    apply_ready(s, n);
}

/* The loop handles the syncs that returned: durable_term, raft_persisted, held messages. */
static void async_sync_done(sim *s, sim_node *n)
{
    uint64_t done = n->sync_disk;
    size_t k = 0;
    for (; k < n->sreq_n && n->sreq[k].ticket <= done; k++) {
        const struct sim_sync_req *q = &n->sreq[k];
        if (q->hs_term) n->durable_term = q->hs_term;
        if (q->index) {
            if (s->opt.verbose)
                sim_trace(s, "node %d: synced up to %" PRIu64 " (term %" PRIu64 ")", n->idx,
                          q->index, q->term);
            raft_persisted(n->r, q->index, q->term);
        }
    }
    if (k) memmove(n->sreq, n->sreq + k, (n->sreq_n - k) * sizeof(*n->sreq));
    n->sreq_n -= k;
    size_t h = 0;
    for (; h < n->held_n && n->held[h].ticket <= done; h++) {
        if (!s->failed) send_msg(s, n, &n->held[h].msg->m);
        free(n->held[h].msg);
    }
    if (h) memmove(n->held, n->held + h, (n->held_n - h) * sizeof(*n->held));
    n->held_n -= h;
    n->sync_done = done;
}

static void deliver(sim *s, sim_node *n, sim_msg *msg)
{
    const raft_message *m = &msg->m;
    sim_trace(s, "recv %s %d->%d term %" PRIu64 " idx %" PRIu64 " n=%u%s", msg_name(m->type),
              (int)m->from, (int)m->to, m->term, m->index, m->n_entries,
              m->reject ? " REJECT" : "");
    int rc = raft_step(n->r, m);
    if (rc != 0 && rc != -RAFT_ESTOPPED)
        sim_fail(s, "node %d: raft_step(%s) of a well-formed message failed: %s", n->idx,
                 msg_name(m->type), raft_strerror(rc));
    free(msg);
}

/* Runs the node until it waits for its disk or has nothing left: Readies, then ticks that fired
 * while it was busy, then messages that queued in its inbox meanwhile. */
void sim_process_ready(sim *s, sim_node *n)
{
    for (int rounds = 0; n->up && !n->busy && !sim_node_stalled(s, n) && !s->failed; rounds++) {
        if (rounds > 100000) {
            sim_fail(s, "node %d keeps producing Readies without input", n->idx);
            return;
        }
        if (n->sync_done < n->sync_disk) {
            async_sync_done(s, n);
        } else if (raft_has_ready(n->r) && !s->opt.blocking_disk) {
            async_ready(s, n);
            if (s->failed) return;
            sim_check_node(s, n);
        } else if (raft_has_ready(n->r)) {
            if (start_ready(s, n)) return; /* resumes at EV_DISK_DONE */
            if (s->failed) return;
            finish_ready(s, n);
            sim_check_node(s, n);
        } else if (n->missed_ticks > 0) {
            /* ticks that fired while the disk was busy or the node stalled: the clock went on.
             * The server's driver (node_catch_up) gives a leader an election timeout of them at
             * most, a follower or candidate one (its clock only runs slower) */
            if (!s->opt.lose_stalled_ticks && !n->catching_up) {
                raft_status st;
                raft_status_get(n->r, &st);
                uint32_t cap = st.role == RAFT_LEADER ? SIM_ELECTION_TICK : 1;
                if (n->missed_ticks > cap) n->missed_ticks = cap;
                n->stall_noted = n->missed_ticks > 1;
                if (n->stall_noted) raft_note_stall(n->r);
                n->catching_up = true; /* one decision per catch-up, as node_catch_up */
            }
            if (n->missed_ticks == 1) n->catching_up = false;
            n->missed_ticks--;
            raft_tick(n->r);
            if (!n->missed_ticks && n->stall_noted) { /* and again after, as node_catch_up */
                n->stall_noted = false;
                raft_note_stall(n->r);
            }
        } else if (n->inbox_len > 0) {
            sim_msg *m = n->inbox[n->inbox_head];
            n->inbox_head = (n->inbox_head + 1) % SIM_INBOX_MAX;
            n->inbox_len--;
            if (s->cut[m->m.from][n->idx])
                free(m);
            else
                deliver(s, n, m);
        } else {
            break;
        }
    }
    sim_check_node(s, n);
}

/* ---- the event loop ---- */

/* What a held node's peer watcher sends (node/peer.c): a leader's heartbeats, from outside the
 * core's Ready cycle, only of a durable term, and they must change nothing a lease or a read
 * round relies on; and, from any role, pings that a running leader takes as raft_peer_alive
 * (here at once, where the link is not cut: CheckQuorum only). */
static void send_keepalives(sim *s, sim_node *n)
{
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *o = &s->nodes[i];
        if (o == n || !o->exists || !o->up || o->busy || sim_node_stalled(s, o) ||
            s->cut[n->idx][i])
            continue;
        raft_peer_alive(o->r, (raft_id)n->idx);
        s->pings++;
    }
    raft_message m[SIM_MAX_NODES];
    size_t k = raft_keepalive(n->r, m, SIM_MAX_NODES);
    uint64_t durable = s->opt.blocking_disk ? n->disk.durable.hs.term : n->durable_term;
    for (size_t i = 0; i < k && !s->failed; i++)
        if (raft_may_send_early(&m[i], durable)) {
            send_msg(s, n, &m[i]);
            s->keepalives++;
        }
}

static void handle_event(sim *s, sim_event *ev)
{
    sim_node *n = ev->node ? &s->nodes[ev->node] : NULL;
    switch (ev->kind) {
    case EV_TICK:
        if (!n->up || ev->gen != n->gen) break;
        sim_schedule(
            s, (sim_event){
                   .t = s->now_us + n->tick_us, .kind = EV_TICK, .node = n->idx, .gen = n->gen});
        if (sim_node_stalled(s, n) && s->opt.lose_stalled_ticks) {
            n->stall_lost_tick = true; /* the timer fires once when the loop runs again */
            break;
        }
        if (n->busy || sim_node_stalled(s, n)) {
            n->missed_ticks++; /* delivered before any message once it runs: the clock went on */
            if (!n->busy && n->stall_keepalive && n->missed_ticks % SIM_KEEPALIVE_TICKS == 0)
                send_keepalives(s, n);
            break;
        }
        raft_tick(n->r);
        sim_process_ready(s, n);
        break;
    case EV_DELIVER: {
        if (!n->up || !n->exists || s->cut[ev->msg->m.from][ev->node]) {
            free(ev->msg);
            break;
        }
        if (n->busy || sim_node_stalled(s, n)) { /* waits in the node's socket buffer */
            if (n->inbox_len == SIM_INBOX_MAX) {
                free(ev->msg); /* buffer full: lost, like an overflowing socket */
                break;
            }
            n->inbox[(n->inbox_head + n->inbox_len) % SIM_INBOX_MAX] = ev->msg;
            n->inbox_len++;
            break;
        }
        deliver(s, n, ev->msg);
        sim_process_ready(s, n);
        break;
    }
    case EV_DISK_DONE:
        if (!s->opt.blocking_disk) {
            if (!n->up || ev->gen != n->gen || !n->sync_flight) break;
            /* on the disk now, whatever the loop is doing; it learns of it when it runs */
            if (sim_disk_sync_upto(&n->disk, n->sync_flight_mark) != 0)
                sim_fail(s, "node %d: sync failed", n->idx);
            n->sync_disk = n->sync_flight;
            n->sync_flight = 0;
            if (n->sync_req > n->sync_disk) sync_start(s, n); /* the requests made meanwhile */
            sim_process_ready(s, n);
            break;
        }
        if (!n->up || ev->gen != n->gen || !n->busy) break;
        if (sim_disk_sync(&n->disk) != 0) sim_fail(s, "node %d: sync failed", n->idx);
        finish_ready(s, n);
        sim_process_ready(s, n);
        break;
    case EV_THAW:
        if (!n->up || ev->gen != n->gen || sim_node_stalled(s, n)) break;
        sim_trace(s, "node %d runs again (%u ticks to catch up%s)", n->idx, n->missed_ticks,
                  n->stall_lost_tick ? ", the others lost" : "");
        if (n->stall_lost_tick) n->missed_ticks++;
        n->stall_lost_tick = false;
        sim_process_ready(s, n);
        break;
    case EV_NONE: break;
    default: sim_world_event(s, ev); break;
    }
}

static int sim_setup(sim *s, const sim_options *opt)
{
    memset(s, 0, sizeof *s);
    s->opt = *opt;
    sim_rng_seed(&s->rng, opt->seed);
    sim_rng_seed(&s->lease_rng, opt->seed ^ 0x6c65617365ULL); /* "lease" */
    sim_rng_seed(&s->link_rng, opt->seed ^ 0x6c696e6bULL);    /* "link" */
    /* small windows fill (flow control, lost acknowledgements of a full window); from the
     * link stream, so the main stream's draws stay as they were */
    static const uint32_t windows[] = {4, 8, 64, 64};
    s->max_inflight = windows[sim_rng_below(&s->link_rng, 4)];
    s->inv = inv_create(SIM_MAX_NODES);
    if (!s->inv) return -1;
    if (opt->no_commit_rule) inv_disable(s->inv, INV_LEADER_COMMIT_RULE);
    s->bootstrap.n_voters = (uint32_t)opt->nodes;
    for (int i = 1; i <= opt->nodes; i++)
        s->bootstrap.voters[i - 1] = (raft_id)i;
    s->next_id = opt->nodes + 1;
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node *n = &s->nodes[i];
        n->idx = i;
        n->s = s;
        sim_disk_init(&n->disk);
        n->disk.on_durable_hs = on_durable_hs;
        n->disk.ud = n;
    }
    s->lat_min_us = 100;
    s->lat_max_us = 2000;
    s->slow_msg_max_us = 50000;
    s->snap_every = (uint64_t)sim_rng_range(&s->rng, 20, 200);
    /* small batches split appends (and snapshots, chunked by the same bound) into many messages */
    static const uint64_t batch_bytes[] = {16, 40, 100, 4096};
    s->batch_bytes = batch_bytes[sim_rng_below(&s->rng, 4)];
    for (int i = 1; i <= opt->nodes; i++) {
        s->nodes[i].exists = true;
        if (sim_node_start(s, &s->nodes[i]) != 0) return -1;
    }
    sim_world_init(s);
    return 0;
}

static void sim_teardown(sim *s)
{
    for (int i = 1; i <= SIM_MAX_NODES; i++) {
        sim_node_crash(s, &s->nodes[i]);
        sim_disk_deinit(&s->nodes[i].disk);
        free(s->nodes[i].sent_early);
        free(s->nodes[i].held);
        free(s->nodes[i].sreq);
    }
    for (size_t i = 0; i < s->n_events; i++)
        free(s->events[i].msg);
    free(s->events);
    sim_world_deinit(s);
    inv_destroy(s->inv);
}

int sim_run(const sim_options *opt, sim_result *res)
{
    sim *s = calloc(1, sizeof *s);
    if (!s) return -1;
    memset(res, 0, sizeof *res);
    if (sim_setup(s, opt) != 0) {
        memcpy(res->why, s->why, sizeof res->why);
        sim_teardown(s);
        free(s);
        return -1;
    }
    while (!s->failed && s->n_events > 0) {
        if (s->step >= opt->steps && sim_world_done(s)) break;
        sim_event ev = pop_event(s);
        s->now_us = ev.t;
        s->step++;
        handle_event(s, &ev);
        /* a livelock never ends; a slow catch-up does: the network here reorders freely, and
         * with tiny batches a follower catching up through reordered single-entry appends
         * (each gap a rejection and a probe) needed up to ~25x in seeds 8547, 12401, 13085 */
        if (s->step > opt->steps * 40) {
            sim_fail(s, "run did not end (step bound)");
            break;
        }
    }
    if (!s->failed) sim_world_finish(s);
    res->ok = !s->failed;
    res->steps = s->step;
    res->virtual_us = s->now_us;
    res->commits = s->max_commit;
    res->elections = s->elections;
    res->crashes = s->crashes;
    res->snapshots = s->snapshots;
    res->conf_changes = s->conf_changes;
    res->transfers = s->transfers;
    res->ops_ok = s->ops_ok;
    res->ops_pending = s->ops_pending;
    res->lin_unknown = s->lin_unknown;
    res->lease_phases = s->lease_phases;
    res->link_outages = s->link_outages;
    res->link_checks = s->link_checks;
    res->lease_reads_in_phase = s->lease_reads_in_phase;
    res->lease_deposed_grants = s->lease_deposed_grants;
    res->keepalives = s->keepalives;
    res->pings = s->pings;
    snprintf(res->why, sizeof res->why, "%s", s->why);
    sim_teardown(s);
    free(s);
    return 0;
}
