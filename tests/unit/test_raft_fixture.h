/* test_raft_fixture.h — an in-process cluster for the Raft unit tests: N instances, in-memory
 * storage (durable at once), a message queue with cuttable links, and a tiny state machine that
 * records every applied entry (its snapshot is the serialized record). Header-only so each
 * test_raft*.c binary can include it. */
#ifndef TEST_RAFT_FIXTURE_H
#define TEST_RAFT_FIXTURE_H

#include "consensus/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX 8

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

typedef struct fx_ent {
    uint64_t term, index;
    raft_entry_type type;
    uint32_t len;
    uint8_t *data;
} fx_ent;

typedef struct fx_node {
    raft *r;
    raft_id id;
    bool down;
    /* storage: log entries log[0..n_log) have indexes snap.index + 1 .. */
    fx_ent *log;
    size_t n_log, cap_log;
    raft_snapshot_meta snap;
    uint8_t *snap_data;
    size_t snap_len;
    raft_hard_state hs;
    uint8_t *recv;
    size_t recv_len;
    /* state machine: applied entries, in order */
    fx_ent *sm;
    size_t n_sm, cap_sm;
    uint64_t applied;
    /* outputs seen */
    raft_read_state reads[1024];
    size_t n_reads;
    raft_soft_state ss;
    uint64_t msgs_sent;
} fx_node;

typedef struct fx_msg {
    raft_message m;
    raft_entry *ents;
    uint32_t n_ents; /* copies owned (a filter may shorten m.n_entries) */
    uint8_t *snap;
} fx_msg;

typedef struct fx {
    fx_node nodes[FX_MAX];
    int n;
    fx_msg *q;
    size_t nq, capq;
    bool cut[FX_MAX + 1][FX_MAX + 1]; /* cut[from][to] by id */
    raft_config base;
    uint64_t delivered;
    /* optional: inspect/modify a message copy before it is queued; false drops it */
    bool (*filter)(struct fx *f, raft_message *m);
    int filter_arg;
} fx;

static void *fx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static uint8_t *fx_dup(const uint8_t *d, uint32_t len)
{
    if (!len) return NULL;
    uint8_t *p = fx_xmalloc(len);
    memcpy(p, d, len);
    return p;
}

/* ---- storage callbacks ---- */
static uint64_t fx_storage_reads; /* calls of the entries callback (tests check the path) */
static int fx_st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, raft_entry *out,
                         size_t cap, size_t *n_out)
{
    fx_node *nd = ud;
    fx_storage_reads++;
    if (lo <= nd->snap.index) return -RAFT_ECOMPACTED;
    uint64_t last = nd->snap.index + nd->n_log;
    if (hi > last + 1 || lo >= hi) return -RAFT_EUNAVAIL;
    size_t n = 0;
    uint64_t bytes = 0;
    for (uint64_t i = lo; i < hi && n < cap; i++) {
        fx_ent *e = &nd->log[i - nd->snap.index - 1];
        if (n > 0 && bytes + e->len > max_bytes) break;
        bytes += e->len;
        out[n].term = e->term;
        out[n].index = e->index;
        out[n].type = e->type;
        out[n].len = e->len;
        out[n].data = e->data;
        n++;
    }
    *n_out = n;
    return 0;
}

static int fx_st_term(void *ud, uint64_t index, uint64_t *t)
{
    fx_node *nd = ud;
    if (index == nd->snap.index) {
        *t = nd->snap.term;
        return 0;
    }
    if (index < nd->snap.index) return -RAFT_ECOMPACTED;
    if (index > nd->snap.index + nd->n_log) return -RAFT_EUNAVAIL;
    *t = nd->log[index - nd->snap.index - 1].term;
    return 0;
}

static uint64_t fx_st_first(void *ud)
{
    fx_node *nd = ud;
    return nd->snap.index + 1;
}

static uint64_t fx_st_last(void *ud)
{
    fx_node *nd = ud;
    return nd->snap.index + nd->n_log;
}

static int fx_st_snap(void *ud, uint64_t off, uint8_t *buf, uint32_t cap, raft_snapshot_meta *meta,
                      uint32_t *len, bool *done)
{
    fx_node *nd = ud;
    if (nd->snap.index == 0) return -RAFT_EUNAVAIL;
    if (off > nd->snap_len) return -RAFT_EINVAL;
    size_t n = nd->snap_len - off;
    if (n > cap) n = cap;
    memcpy(buf, nd->snap_data + off, n);
    *meta = nd->snap;
    *len = (uint32_t)n;
    *done = off + n == nd->snap_len;
    return 0;
}

/* ---- state machine (serialized record of applied entries) ---- */
static void fx_sm_push(fx_node *nd, const fx_ent *e)
{
    if (nd->n_sm == nd->cap_sm) {
        nd->cap_sm = nd->cap_sm ? nd->cap_sm * 2 : 64;
        nd->sm = realloc(nd->sm, nd->cap_sm * sizeof(fx_ent));
        if (!nd->sm) abort();
    }
    fx_ent *x = &nd->sm[nd->n_sm++];
    *x = *e;
    x->data = fx_dup(e->data, e->len);
}

static void fx_sm_clear(fx_node *nd)
{
    for (size_t i = 0; i < nd->n_sm; i++)
        free(nd->sm[i].data);
    nd->n_sm = 0;
}

static uint8_t *fx_sm_serialize(fx_node *nd, size_t *len)
{
    size_t n = 8;
    for (size_t i = 0; i < nd->n_sm; i++)
        n += 24 + nd->sm[i].len;
    uint8_t *b = fx_xmalloc(n), *p = b;
    memcpy(p, &nd->n_sm, 8);
    p += 8;
    for (size_t i = 0; i < nd->n_sm; i++) {
        fx_ent *e = &nd->sm[i];
        uint32_t t = (uint32_t)e->type;
        memcpy(p, &e->index, 8);
        memcpy(p + 8, &e->term, 8);
        memcpy(p + 16, &t, 4);
        memcpy(p + 20, &e->len, 4);
        if (e->len) memcpy(p + 24, e->data, e->len);
        p += 24 + e->len;
    }
    *len = n;
    return b;
}

static void fx_sm_restore(fx_node *nd, const uint8_t *b, size_t len)
{
    fx_sm_clear(nd);
    if (len < 8) abort();
    size_t n;
    memcpy(&n, b, 8);
    const uint8_t *p = b + 8;
    for (size_t i = 0; i < n; i++) {
        fx_ent e;
        uint32_t t;
        memcpy(&e.index, p, 8);
        memcpy(&e.term, p + 8, 8);
        memcpy(&t, p + 16, 4);
        memcpy(&e.len, p + 20, 4);
        e.type = (raft_entry_type)t;
        e.data = (uint8_t *)(p + 24);
        fx_sm_push(nd, &e);
        p += 24 + e.len;
    }
}

/* ---- lifecycle ---- */
static void fx_log_truncate(fx_node *nd, uint64_t from)
{
    uint64_t last = nd->snap.index + nd->n_log;
    while (last >= from && nd->n_log > 0) {
        free(nd->log[nd->n_log - 1].data);
        nd->n_log--;
        last--;
    }
}

static void fx_start(fx *f, int i)
{
    fx_node *nd = &f->nodes[i];
    raft_config c = f->base;
    c.id = nd->id;
    c.seed = f->base.seed * 31 + nd->id;
    c.hard_state = nd->hs;
    c.snapshot = nd->snap;
    c.last_index = nd->snap.index + nd->n_log;
    c.last_term = nd->n_log ? nd->log[nd->n_log - 1].term : nd->snap.term;
    c.storage.ud = nd;
    c.storage.entries = fx_st_entries;
    c.storage.term = fx_st_term;
    c.storage.first_index = fx_st_first;
    c.storage.last_index = fx_st_last;
    c.storage.snapshot_chunk = fx_st_snap;
    int err = 0;
    nd->r = raft_create(&c, &err);
    if (!nd->r) {
        fprintf(stderr, "raft_create: %s\n", raft_strerror(err));
        abort();
    }
    /* the state machine restarts from the snapshot; the core re-delivers the rest */
    if (nd->snap.index > 0)
        fx_sm_restore(nd, nd->snap_data, nd->snap_len);
    else
        fx_sm_clear(nd);
    nd->applied = nd->snap.index;
    nd->down = false;
}

/* n_voters voters with ids 1..n_voters; ids n_voters+1..n_voters+n_learners are learners;
 * `extra` more nodes exist but are not members (to be added later). */
static void fx_init(fx *f, int n_voters, int n_learners, int extra, raft_config *base)
{
    memset(f, 0, sizeof(*f));
    raft_config_default(&f->base);
    if (base) f->base = *base;
    f->n = n_voters + n_learners + extra;
    for (int i = 0; i < n_voters; i++)
        f->base.members.voters[i] = (raft_id)(i + 1);
    f->base.members.n_voters = (uint32_t)n_voters;
    for (int i = 0; i < n_learners; i++)
        f->base.members.learners[i] = (raft_id)(n_voters + i + 1);
    f->base.members.n_learners = (uint32_t)n_learners;
    for (int i = 0; i < f->n; i++) {
        f->nodes[i].id = (raft_id)(i + 1);
        fx_start(f, i);
    }
}

static void fx_node_free(fx_node *nd)
{
    raft_destroy(nd->r);
    nd->r = NULL;
}

static void fx_destroy(fx *f)
{
    for (int i = 0; i < f->n; i++) {
        fx_node *nd = &f->nodes[i];
        fx_node_free(nd);
        fx_log_truncate(nd, 0);
        free(nd->log);
        free(nd->snap_data);
        free(nd->recv);
        fx_sm_clear(nd);
        free(nd->sm);
    }
    for (size_t i = 0; i < f->nq; i++) {
        free(f->q[i].snap);
        if (f->q[i].ents)
            for (uint32_t k = 0; k < f->q[i].n_ents; k++)
                free((void *)f->q[i].ents[k].data);
        free(f->q[i].ents);
    }
    free(f->q);
}

static fx_node *fx_node_of(fx *f, raft_id id)
{
    return &f->nodes[id - 1];
}

static void fx_enqueue(fx *f, const raft_message *m)
{
    if (f->nq == f->capq) {
        f->capq = f->capq ? f->capq * 2 : 256;
        f->q = realloc(f->q, f->capq * sizeof(fx_msg));
        if (!f->q) abort();
    }
    fx_msg *x = &f->q[f->nq++];
    memset(x, 0, sizeof(*x));
    x->m = *m;
    if (m->n_entries) {
        x->ents = fx_xmalloc(m->n_entries * sizeof(raft_entry));
        for (uint32_t k = 0; k < m->n_entries; k++) {
            x->ents[k] = m->entries[k];
            x->ents[k].data = fx_dup(m->entries[k].data, m->entries[k].len);
        }
        x->m.entries = x->ents;
        x->n_ents = m->n_entries;
    }
    if (m->snap_len) {
        x->snap = fx_dup(m->snap_data, m->snap_len);
        x->m.snap_data = x->snap;
    }
    if (f->filter && !f->filter(f, &x->m)) {
        f->nq--;
        free(x->snap);
        if (x->ents)
            for (uint32_t k = 0; k < x->n_ents; k++)
                free((void *)x->ents[k].data);
        free(x->ents);
    }
}

/* Process one Ready of node i following the contract in raft.h. */
/* Called after each Ready a node handled (NULL: none): rd as it was, before raft_advance. */
static void (*fx_ready_hook)(fx *f, int i, const raft_ready *rd);

static void fx_ready(fx *f, int i)
{
    fx_node *nd = &f->nodes[i];
    raft_ready rd;
    raft_ready_get(nd->r, &rd);
    if (rd.has_soft_state) nd->ss = rd.soft_state;
    if (rd.snapshot.present) {
        const raft_snapshot_chunk *c = &rd.snapshot;
        if (c->offset == 0) nd->recv_len = 0;
        if (c->offset != nd->recv_len) abort();
        nd->recv = realloc(nd->recv, nd->recv_len + c->len + 1);
        memcpy(nd->recv + nd->recv_len, c->data, c->len);
        nd->recv_len += c->len;
        if (c->done) {
            free(nd->snap_data);
            nd->snap_data = fx_dup(nd->recv, (uint32_t)nd->recv_len);
            nd->snap_len = nd->recv_len;
            nd->snap = c->meta;
            fx_log_truncate(nd, 0);
            fx_sm_restore(nd, nd->snap_data, nd->snap_len);
            nd->applied = c->meta.index;
        }
    }
    if (rd.n_entries) {
        fx_log_truncate(nd, rd.entries[0].index);
        if (rd.entries[0].index != nd->snap.index + nd->n_log + 1) abort();
        for (size_t k = 0; k < rd.n_entries; k++) {
            if (nd->n_log == nd->cap_log) {
                nd->cap_log = nd->cap_log ? nd->cap_log * 2 : 64;
                nd->log = realloc(nd->log, nd->cap_log * sizeof(fx_ent));
            }
            const raft_entry *e = &rd.entries[k];
            fx_ent *x = &nd->log[nd->n_log++];
            x->term = e->term;
            x->index = e->index;
            x->type = e->type;
            x->len = e->len;
            x->data = fx_dup(e->data, e->len);
        }
    }
    if (rd.has_hard_state) nd->hs = rd.hard_state;
    for (size_t k = 0; k < rd.n_messages; k++) {
        const raft_message *m = &rd.messages[k];
        nd->msgs_sent++;
        if (!f->cut[m->from][m->to]) fx_enqueue(f, m);
    }
    for (size_t k = 0; k < rd.n_committed; k++) {
        const raft_entry *e = &rd.committed[k];
        if (e->index != nd->applied + 1) abort();
        fx_ent x = {.term = e->term,
                    .index = e->index,
                    .type = e->type,
                    .len = e->len,
                    .data = (uint8_t *)e->data};
        fx_sm_push(nd, &x);
        nd->applied = e->index;
    }
    for (size_t k = 0; k < rd.n_read_states && nd->n_reads < 1024; k++)
        nd->reads[nd->n_reads++] = rd.read_states[k];
    if (fx_ready_hook) fx_ready_hook(f, i, &rd);
    raft_advance(nd->r, &rd);
}

static void fx_process_all_ready(fx *f)
{
    for (int i = 0; i < f->n; i++)
        if (!f->nodes[i].down)
            for (int k = 0; k < 100 && raft_has_ready(f->nodes[i].r); k++)
                fx_ready(f, i);
}

/* Deliver every queued message (and what they cause) until the cluster is quiet. */
static void fx_flush(fx *f)
{
    for (int round = 0; round < 10000; round++) {
        fx_process_all_ready(f);
        if (f->nq == 0) return;
        fx_msg *batch = f->q;
        size_t n = f->nq;
        f->q = NULL;
        f->nq = f->capq = 0;
        for (size_t k = 0; k < n; k++) {
            fx_msg *x = &batch[k];
            fx_node *to = fx_node_of(f, x->m.to);
            if (!to->down && !f->cut[x->m.from][x->m.to]) {
                int rc = raft_step(to->r, &x->m);
                if (rc != 0) {
                    fprintf(stderr, "raft_step(%d) -> %s\n", (int)x->m.type, raft_strerror(rc));
                    abort();
                }
                f->delivered++;
            }
            free(x->snap);
            if (x->ents)
                for (uint32_t e = 0; e < x->n_ents; e++)
                    free((void *)x->ents[e].data);
            free(x->ents);
        }
        free(batch);
    }
    abort(); /* never quiet: a message loop */
}

/* Drop every queued message (a lossy network moment). */
static void fx_drop_queue(fx *f)
{
    fx_msg *batch = f->q;
    size_t n = f->nq;
    f->q = NULL;
    f->nq = f->capq = 0;
    for (size_t k = 0; k < n; k++) {
        free(batch[k].snap);
        if (batch[k].ents)
            for (uint32_t e = 0; e < batch[k].n_ents; e++)
                free((void *)batch[k].ents[e].data);
        free(batch[k].ents);
    }
    free(batch);
}

static void fx_tick(fx *f, int ticks)
{
    for (int t = 0; t < ticks; t++) {
        for (int i = 0; i < f->n; i++)
            if (!f->nodes[i].down) raft_tick(f->nodes[i].r);
        fx_flush(f);
    }
}

static raft_status fx_status(fx *f, raft_id id)
{
    raft_status st;
    raft_status_get(fx_node_of(f, id)->r, &st);
    return st;
}

/* The leader with the highest term among live nodes, 0 if none. */
static raft_id fx_leader(fx *f)
{
    raft_id best = 0;
    uint64_t term = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->nodes[i].down) continue;
        raft_status st = fx_status(f, f->nodes[i].id);
        if (st.role == RAFT_LEADER && st.term >= term) {
            best = st.id;
            term = st.term;
        }
    }
    return best;
}

static int fx_count_leaders(fx *f)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        if (!f->nodes[i].down && fx_status(f, f->nodes[i].id).role == RAFT_LEADER) n++;
    return n;
}

/* Tick until some node leads (bounded). */
static raft_id fx_elect_any(fx *f, int max_ticks)
{
    for (int t = 0; t < max_ticks; t++) {
        raft_id l = fx_leader(f);
        if (l) return l;
        fx_tick(f, 1);
    }
    return fx_leader(f);
}

/* Make node `id` campaign now (as if its leader sent TimeoutNow). */
static void fx_campaign(fx *f, raft_id id)
{
    fx_node *nd = fx_node_of(f, id);
    raft_status st = fx_status(f, id);
    raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_TIMEOUT_NOW;
    m.from = id == 1 ? 2 : 1;
    m.to = id;
    m.term = st.term;
    if (raft_step(nd->r, &m) != 0) abort();
    fx_flush(f);
}

/* Campaign (several times if a higher term answers) until `id` leads; false if it cannot. */
static bool fx_campaign_win(fx *f, raft_id id)
{
    for (int i = 0; i < 5; i++) {
        fx_campaign(f, id);
        if (fx_status(f, id).role == RAFT_LEADER) return true;
    }
    return false;
}

static int fx_propose(fx *f, raft_id id, const char *s, uint64_t *index)
{
    int rc = raft_propose(fx_node_of(f, id)->r, s, strlen(s), index);
    fx_flush(f);
    return rc;
}

static void fx_isolate(fx *f, raft_id id)
{
    for (int j = 1; j <= FX_MAX; j++) {
        f->cut[id][j] = true;
        f->cut[j][id] = true;
    }
}

static void fx_heal(fx *f)
{
    memset(f->cut, 0, sizeof(f->cut));
}

static void fx_crash(fx *f, raft_id id)
{
    fx_node *nd = fx_node_of(f, id);
    fx_node_free(nd);
    nd->down = true;
}

static void fx_restart(fx *f, raft_id id)
{
    fx_start(f, (int)id - 1);
}

/* Application snapshot of node id at its applied index + compaction. */
static void fx_snapshot(fx *f, raft_id id)
{
    fx_node *nd = fx_node_of(f, id);
    raft_snapshot_meta meta;
    if (raft_snapshot_meta_applied(nd->r, &meta) != 0) abort();
    if (meta.index <= nd->snap.index) return; /* nothing new to snapshot */
    free(nd->snap_data);
    nd->snap_data = fx_sm_serialize(nd, &nd->snap_len);
    /* drop log entries <= meta.index from storage */
    uint64_t drop = meta.index - nd->snap.index;
    for (uint64_t k = 0; k < drop; k++)
        free(nd->log[k].data);
    memmove(nd->log, nd->log + drop, (nd->n_log - drop) * sizeof(fx_ent));
    nd->n_log -= drop;
    nd->snap = meta;
    if (raft_compact(nd->r, &meta) != 0) abort();
}

/* Do all live nodes' state machines agree on their common prefix? */
static bool fx_sm_consistent(fx *f)
{
    for (int i = 0; i < f->n; i++)
        for (int j = i + 1; j < f->n; j++) {
            fx_node *a = &f->nodes[i], *b = &f->nodes[j];
            size_t n = a->n_sm < b->n_sm ? a->n_sm : b->n_sm;
            for (size_t k = 0; k < n; k++) {
                fx_ent *x = &a->sm[k], *y = &b->sm[k];
                if (x->index != y->index || x->term != y->term || x->len != y->len ||
                    (x->len && memcmp(x->data, y->data, x->len) != 0))
                    return false;
            }
        }
    return true;
}

/* Index of the last applied NORMAL entry whose data equals s, 0 if none. */
static uint64_t fx_applied_find(fx *f, raft_id id, const char *s)
{
    fx_node *nd = fx_node_of(f, id);
    for (size_t k = nd->n_sm; k-- > 0;)
        if (nd->sm[k].type == RAFT_ENTRY_NORMAL && nd->sm[k].len == strlen(s) &&
            memcmp(nd->sm[k].data, s, nd->sm[k].len) == 0)
            return nd->sm[k].index;
    return 0;
}

#endif
