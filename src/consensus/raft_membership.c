/* raft_membership.c — single-server membership changes (dissertation §4.1) with learners
 * (§4.2.1). A change is an ordinary log entry; it takes effect on a node when that node applies
 * it (like etcd's ApplyConfChange). Safety comes from changing one voter at a time and from
 * allowing one unapplied change at a time, proposed only after the leader committed an entry of
 * its own term (the fix for the single-server bug Ongaro described on raft-dev in 2015). */
#include "consensus/raft_internal.h"

#include <string.h>

#define CC_ENCODED_LEN 9 /* type (1 byte) + node id (8 bytes, little endian) */

int raft_conf_change_decode(const raft_entry *e, raft_conf_change *out)
{
    if (e->type != RAFT_ENTRY_CONF_CHANGE || e->len != CC_ENCODED_LEN || !e->data)
        return -RAFT_EINVAL;
    uint8_t t = e->data[0];
    if (t < RAFT_CC_ADD_VOTER || t > RAFT_CC_REMOVE) return -RAFT_EINVAL;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id |= (uint64_t)e->data[1 + i] << (8 * i);
    if (id == 0) return -RAFT_EINVAL;
    out->type = (raft_cc_type)t;
    out->node = id;
    return 0;
}

static void encode(const raft_conf_change *cc, uint8_t *buf)
{
    buf[0] = (uint8_t)cc->type;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)(cc->node >> (8 * i));
}

/* Keep a progress entry for every member; keep existing ones (the leader's knowledge). */
void raft_conf_rebuild_progress(raft *r)
{
    progress old[RAFT_MAX_MEMBERS];
    uint32_t n_old = r->n_prs;
    memcpy(old, r->prs, sizeof(progress) * n_old);
    uint64_t *spare[RAFT_MAX_MEMBERS];
    uint32_t n_spare = 0;
    for (uint32_t i = n_old; i < RAFT_MAX_MEMBERS; i++)
        spare[n_spare++] = r->prs[i].inflight;
    bool used[RAFT_MAX_MEMBERS] = {false};
    uint32_t n = 0;
    progress fresh[RAFT_MAX_MEMBERS];
    for (uint32_t k = 0; k < r->conf.n_voters + r->conf.n_learners; k++) {
        bool voter = k < r->conf.n_voters;
        raft_id id = voter ? r->conf.voters[k] : r->conf.learners[k - r->conf.n_voters];
        progress *p = &fresh[n++];
        uint32_t j = 0;
        for (; j < n_old; j++)
            if (!used[j] && old[j].id == id) break;
        if (j < n_old) {
            *p = old[j];
            used[j] = true;
        } else {
            memset(p, 0, sizeof(*p));
            p->id = id;
            p->inflight = NULL;
            raft_pr_reset(r, p, false);
            if (id == r->cfg.id) p->match = r->durable;
        }
        p->voter = voter;
    }
    for (uint32_t j = 0; j < n_old; j++)
        if (!used[j]) spare[n_spare++] = old[j].inflight;
    for (uint32_t i = 0; i < n; i++)
        if (!fresh[i].inflight) fresh[i].inflight = spare[--n_spare];
    for (uint32_t i = 0; i < n; i++)
        r->prs[i] = fresh[i];
    for (uint32_t i = n; i < RAFT_MAX_MEMBERS; i++) {
        memset(&r->prs[i], 0, sizeof(progress));
        r->prs[i].inflight = spare[--n_spare];
    }
    SYN_ASSERT(n_spare == 0);
    r->n_prs = n;
    raft_majority_init(&r->quorum, &r->conf);
    if (r->role == RAFT_LEADER) raft_sync_pick_reset(r); /* new voters: pick again */
}

static int find(const raft_id *ids, uint32_t n, raft_id id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id) return (int)i;
    return -1;
}

static void del(raft_id *ids, uint32_t *n, int at)
{
    ids[at] = ids[*n - 1];
    (*n)--;
}

/* Apply to a membership; false if the change does not fit it (then it is a no-op). */
static bool change(raft_membership *m, const raft_conf_change *cc)
{
    int v = find(m->voters, m->n_voters, cc->node), l = find(m->learners, m->n_learners, cc->node);
    uint32_t total = m->n_voters + m->n_learners;
    switch (cc->type) {
    case RAFT_CC_ADD_VOTER:
        if (v >= 0) return false;
        if (l >= 0)
            del(m->learners, &m->n_learners, l);
        else if (total >= RAFT_MAX_MEMBERS)
            return false;
        m->voters[m->n_voters++] = cc->node;
        return true;
    case RAFT_CC_ADD_LEARNER:
        if (v >= 0 || l >= 0 || total >= RAFT_MAX_MEMBERS) return false;
        m->learners[m->n_learners++] = cc->node;
        return true;
    case RAFT_CC_PROMOTE:
        if (l < 0) return false;
        del(m->learners, &m->n_learners, l);
        m->voters[m->n_voters++] = cc->node;
        return true;
    case RAFT_CC_REMOVE:
        if (v >= 0) {
            if (m->n_voters == 1) return false; /* never remove the last voter */
            del(m->voters, &m->n_voters, v);
            return true;
        }
        if (l >= 0) {
            del(m->learners, &m->n_learners, l);
            return true;
        }
        return false;
    }
    return false;
}

static void step_down_removed(raft *r)
{
    /* The removed leader hands over to the most up-to-date remaining voter so the cluster does
     * not wait for an election timeout. */
    progress *best = NULL;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        progress *pr = &r->prs[i];
        if (pr->voter && pr->id != r->cfg.id && (!best || pr->match > best->match)) best = pr;
    }
    raft_id target = best && best->match == r->last_index ? best->id : 0;
    raft_become_follower(r, r->term, 0);
    if (target) raft_send(r, RAFT_MSG_TIMEOUT_NOW, target);
}

void raft_conf_apply(raft *r, const raft_entry *e)
{
    raft_conf_change cc;
    if (raft_conf_change_decode(e, &cc) < 0) return; /* the leader validated it; ignore junk */
    bool was_voter = raft_is_voter(r, r->cfg.id);
    if (!change(&r->conf, &cc)) return;
    raft_conf_rebuild_progress(r);
    bool is_voter = raft_is_voter(r, r->cfg.id);
    if (r->role == RAFT_LEADER) {
        if (!is_voter) {
            step_down_removed(r);
            return;
        }
        if (r->transfer_to && !raft_is_voter(r, r->transfer_to)) raft_abort_transfer(r);
        /* A smaller quorum may commit more right away; new members need entries. */
        if (raft_maybe_commit(r)) r->need_bcast_commit = true;
        r->need_bcast = true;
    } else if (was_voter != is_voter) {
        if (r->role == RAFT_CANDIDATE || r->role == RAFT_PRE_CANDIDATE)
            raft_become_follower(r, r->term, r->leader);
        else
            r->role = is_voter ? RAFT_FOLLOWER : RAFT_LEARNER;
    }
}

/* Is a committed but unapplied conf change in the log? Unknown (not in memory) counts as yes. */
bool raft_has_unapplied_conf(raft *r)
{
    for (uint64_t i = r->applied + 1; i <= r->commit; i++) {
        raft_entry *e = raft_log_mem_at(r, i);
        if (!e) return true;
        if (e->type == RAFT_ENTRY_CONF_CHANGE) return true;
    }
    return false;
}

/* Does this node's log hold two or more configuration changes above its commit index?
 *
 * Changes take effect when applied, so a node counts votes in the configuration as of its
 * applied index. That is safe while it is at most one change behind the newest one in its log:
 * a leader proposes change k+1 only after k committed, and two configurations one voter apart
 * share a voter in every pair of majorities (§4.1). A node that holds k AND k+1 above its commit
 * index may be two changes behind the real configuration (it lost the hard state that said k
 * was committed: a crash kept the entries but not the commit, or the commit-only hard state was
 * never synced), and the majorities of configurations two voters apart need not overlap: such a
 * node must not campaign until a leader tells it the commit index (issue 8, bug 1). Reads the
 * tail from storage when it is not in memory (after a restart); a read error counts as yes. */
bool raft_config_unknown(raft *r)
{
#ifdef RAFT_TEST_BUG_STALE_CONFIG
    /* Deliberate bug for the simulator's self-test only (mk/sim.mk): campaign with a
     * configuration that may be two changes old. Never defined in a real build. */
    return false;
#endif
    uint32_t n = 0;
    uint64_t i = r->commit + 1;
    while (i <= r->last_index && n < 2) {
        const raft_entry *e = raft_log_mem_at(r, i);
        if (e) {
            if (e->type == RAFT_ENTRY_CONF_CHANGE) n++;
            i++;
            continue;
        }
        uint64_t hi = r->mem_n > 0 && r->mem_first > i ? r->mem_first : r->last_index + 1;
        raft_entry buf[64];
        size_t got = 0;
        int rc = r->cfg.storage.entries(r->cfg.storage.ud, i, hi, 1u << 20, buf, 64, &got);
        if (rc < 0 || got == 0) return true;
        for (size_t k = 0; k < got; k++)
            if (buf[k].type == RAFT_ENTRY_CONF_CHANGE) n++;
        i += got;
    }
    return n >= 2;
}

int raft_propose_conf_change(raft *r, const raft_conf_change *cc, uint64_t *index_out)
{
    SYN_ASSERT(!r->in_ready);
    if (r->role != RAFT_LEADER) return -RAFT_ENOTLEADER;
    if (r->transfer_to) return -RAFT_ETRANSFER;
    if (!cc || cc->node == 0) return -RAFT_EINVAL;
    if (r->pending_conf_index > r->applied || r->commit < r->noop_index) return -RAFT_EBUSY;
    raft_membership m = r->conf;
    if (!change(&m, cc)) return -RAFT_EINVAL;
    if (cc->type == RAFT_CC_PROMOTE || cc->type == RAFT_CC_ADD_VOTER) {
        /* Learners first catch up (§4.2.1), so the new quorum is not stalled by a laggard. */
        progress *pr = raft_progress_of(r, cc->node);
        if (cc->type == RAFT_CC_PROMOTE &&
            (!pr || pr->match + r->cfg.promote_max_lag < r->last_index))
            return -RAFT_ENOTREADY;
    }
    uint8_t buf[CC_ENCODED_LEN];
    encode(cc, buf);
    int rc = raft_log_append(r, r->term, RAFT_ENTRY_CONF_CHANGE, buf, CC_ENCODED_LEN);
    if (rc < 0) return rc;
    r->pending_conf_index = r->last_index;
    r->need_bcast = true;
    if (index_out) *index_out = r->last_index;
    return 0;
}
