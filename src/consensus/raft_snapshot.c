/* raft_snapshot.c — log compaction and InstallSnapshot in chunks (Raft §7). The leader streams
 * the application's latest snapshot (read through storage.snapshot_chunk) one chunk of at most
 * max_batch_bytes at a time; the follower hands each chunk to its application in a Ready and
 * installs the snapshot with the last one.
 *
 * Flow control: one chunk in flight per follower. The next one goes when its SNAPSHOT_RESP
 * arrives; a chunk (or its answer) that was lost is resent only after SNAP_RESEND_ELECTIONS
 * election timeouts without any SNAPSHOT_RESP, doubling up to SNAP_RESEND_MAX_ELECTIONS while
 * nothing answers — never on heartbeat responses, which would resend a chunk of up to
 * max_batch_bytes (64 MiB in the server) every heartbeat round to a follower that is merely
 * busy writing or installing the previous one. The timeout is generous because loss is rare
 * (peer links are ordered streams: a chunk is lost only with its connection) while a slow
 * answer is normal: the last chunk is answered only after the follower loaded and fsync'd the
 * whole snapshot. In the server (20 ms ticks, election_tick 12) that is ~1 s, then ~1.9 s,
 * capped at ~3.8 s. */
#include "consensus/raft_internal.h"

#include <stdlib.h>
#include <string.h>

#define SNAP_RESEND_ELECTIONS     4
#define SNAP_RESEND_MAX_ELECTIONS 16

static uint32_t resend_base(const raft *r)
{
    return SNAP_RESEND_ELECTIONS * r->cfg.election_tick;
}

int raft_compact(raft *r, const raft_snapshot_meta *meta)
{
    SYN_ASSERT(!r->in_ready);
    if (!meta || meta->index > r->applied || meta->index <= r->snap.index) return -RAFT_EINVAL;
    uint64_t t = 0;
    int rc = raft_log_term(r, meta->index, &t);
    if (rc < 0) return rc;
    if (t != meta->term) return -RAFT_EINVAL;
    r->snap = *meta;
    /* Memory entries <= meta->index go at the next trim (Ready messages may still point at
     * them); lookups below the snapshot already answer ECOMPACTED. */
    if (r->mem_n > 0 && r->out_n == 0) raft_log_trim(r);
    return 0;
}

void raft_send_snapshot(raft *r, progress *pr)
{
    if (pr->state != PR_SNAPSHOT) {
        pr->state = PR_SNAPSHOT;
        pr->n_inflight = pr->inflight_head = 0;
        pr->snap_index = 0;
        pr->snap_acked = 0;
        pr->paused = false;
        pr->snap_wait_ticks = resend_base(r);
    }
    if (pr->paused) return;
    uint32_t cap =
        r->cfg.max_batch_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)r->cfg.max_batch_bytes;
    uint8_t *buf = raft_scratch(r, cap);
    raft_snapshot_meta meta;
    uint32_t len = 0;
    bool done = false;
    memset(&meta, 0, sizeof(meta));
    uint64_t off = pr->snap_acked;
    int rc = r->cfg.storage.snapshot_chunk(r->cfg.storage.ud, off, buf, cap, &meta, &len, &done);
    if (rc < 0 || meta.index == 0 || len > cap) return; /* retried at the next tick */
    if (pr->snap_index != meta.index) {
        /* A newer snapshot replaced the one being sent: start it from the beginning. */
        if (off != 0) {
            pr->snap_acked = 0;
            pr->snap_index = meta.index;
            raft_send_snapshot(r, pr);
            return;
        }
        pr->snap_index = meta.index;
    }
    raft_message *m = raft_send(r, RAFT_MSG_SNAPSHOT, pr->id);
    m->snapshot = meta;
    m->snap_offset = off;
    m->snap_len = len;
    m->snap_data = len ? buf : NULL;
    m->snap_done = done;
    m->commit = r->commit;
    pr->paused = true;
    pr->snap_sent_tick = r->now_tick;
}

void raft_snapshot_tick(raft *r)
{
    SYN_ASSERT(r->role == RAFT_LEADER);
    for (uint32_t i = 0; i < r->n_prs; i++) {
        progress *pr = &r->prs[i];
        if (pr->state != PR_SNAPSHOT || pr->id == r->cfg.id) continue;
        if (pr->paused) {
            if (r->now_tick - pr->snap_sent_tick < pr->snap_wait_ticks) continue;
            /* no answer in time: the chunk or its answer was lost; wait longer next time */
            uint32_t cap = SNAP_RESEND_MAX_ELECTIONS * r->cfg.election_tick;
            pr->snap_wait_ticks = pr->snap_wait_ticks > cap / 2 ? cap : 2 * pr->snap_wait_ticks;
            pr->paused = false;
        }
        /* not paused: nothing in flight (storage could not read the chunk, or the transport
         * reported a failed send): try again now */
        raft_send_snapshot(r, pr);
    }
}

static void respond(raft *r, raft_id to, uint64_t offset, uint64_t index, bool reject)
{
    raft_message *m = raft_send(r, RAFT_MSG_SNAPSHOT_RESP, to);
    m->snap_offset = offset;
    m->index = index;
    m->reject = reject;
}

static void install(raft *r, const raft_snapshot_meta *meta)
{
    /* §7: the snapshot replaces the whole log (we only get here if ours does not contain it). */
    raft_log_reset(r, meta->index, meta->term);
    r->snap = *meta;
    r->commit = meta->index;
    r->applied = meta->index;
    r->conf = meta->config;
    raft_conf_rebuild_progress(r);
    bool voter = raft_is_voter(r, r->cfg.id);
    if (r->role == RAFT_FOLLOWER || r->role == RAFT_LEARNER)
        r->role = voter ? RAFT_FOLLOWER : RAFT_LEARNER;
    raft_reads_fail_all(r, -RAFT_ENOTLEADER);
}

void raft_handle_snapshot(raft *r, const raft_message *m)
{
    const raft_snapshot_meta *meta = &m->snapshot;
    if (meta->index <= r->commit) {
        /* Already have all of it: report our commit so the leader moves on. */
        r->recv_active = false;
        respond(r, m->from, 0, r->commit, false);
        return;
    }
    uint64_t t = 0;
    if (m->snap_offset == 0 && raft_log_term(r, meta->index, &t) == 0 && t == meta->term) {
        /* Our log contains the snapshot's last entry: keep it, it matches the leader (§7). */
        r->recv_active = false;
        raft_set_commit(r, meta->index);
        respond(r, m->from, 0, meta->index, false);
        return;
    }
    if (r->chunk.present) return; /* one chunk per Ready; the leader resends */
    bool same =
        r->recv_active && r->recv_snap.index == meta->index && r->recv_snap.term == meta->term;
    if (m->snap_offset == 0) {
        r->recv_active = true;
        r->recv_snap = *meta;
        r->recv_offset = 0;
    } else if (!same || m->snap_offset != r->recv_offset) {
        respond(r, m->from, same ? r->recv_offset : 0, 0, true);
        return;
    }
    if (m->snap_len > 0) {
        uint8_t *d = malloc(m->snap_len);
        SYN_ASSERT(d != NULL);
        memcpy(d, m->snap_data, m->snap_len);
        free(r->chunk_buf);
        r->chunk_buf = d;
    }
    r->chunk.present = true;
    r->chunk.meta = *meta;
    r->chunk.offset = m->snap_offset;
    r->chunk.len = m->snap_len;
    r->chunk.data = m->snap_len ? r->chunk_buf : NULL;
    r->chunk.done = m->snap_done;
    r->recv_offset += m->snap_len;
    if (m->snap_done) {
        r->recv_active = false;
        install(r, meta);
        respond(r, m->from, r->recv_offset, meta->index, false);
    } else {
        respond(r, m->from, r->recv_offset, 0, false);
    }
}

void raft_handle_snapshot_resp(raft *r, const raft_message *m)
{
    progress *pr = raft_progress_of(r, m->from);
    if (!pr) return;
    pr->recent_active = true;
    if (m->index > 0 && !m->reject) {
        /* Installed (or not needed): continue with entries after it. */
        if (m->index <= r->last_index && m->index > pr->match) pr->match = m->index;
        pr->state = PR_PROBE;
        pr->paused = false;
        pr->next = pr->match + 1;
        if (raft_maybe_commit(r)) r->need_bcast = r->need_bcast_commit = true;
        raft_send_append(r, pr, true);
        return;
    }
    if (pr->state != PR_SNAPSHOT) return;
    pr->snap_wait_ticks = resend_base(r); /* it answers: back to the normal timeout */
    pr->snap_acked = m->reject
                         ? m->snap_offset
                         : (m->snap_offset > pr->snap_acked ? m->snap_offset : pr->snap_acked);
    pr->paused = false;
    raft_send_snapshot(r, pr);
}

void raft_report_snapshot(raft *r, raft_id id, bool ok)
{
    SYN_ASSERT(!r->in_ready);
    progress *pr = raft_progress_of(r, id);
    if (r->role != RAFT_LEADER || !pr || pr->state != PR_SNAPSHOT) return;
    if (!ok) {
        pr->snap_acked = 0;
        pr->paused = false;
    }
}
