/* node_sync.c — fsync off the event loop (fsync always): the WAL's storage thread syncs batch k
 * while the loop parses, proposes, sends and receives for batch k+1.
 *
 * Per Ready with must_sync the loop writes the entries and hard state to the kernel and asks the
 * storage thread for an fdatasync (wal_async_request: a ticket). The Ready is then advanced at
 * once; what must not leave before the disk has it waits here:
 *   - messages: a leader's APPEND/HEARTBEAT/SNAPSHOT/TIMEOUT_NOW of a durable term go at once
 *     (raft_may_send_early, as before); every other message is held, in Ready order, until the
 *     sync of its own Ready and of all earlier ones returned (a Ready without must_sync waits
 *     behind the syncs still running: its messages may depend on their entries or hard state).
 *     So a follower acknowledges an entry only after its fsync, and a vote or any message of a
 *     new term leaves only once that term and vote are on disk.
 *   - the leader's own vote in the commit quorum: the core counts its own log only up to what
 *     raft_persisted reported (raft.h, ASYNCHRONOUS PERSISTENCE), i.e. after its fsync.
 *   - durable_term moves when the sync that covered the hard state returned.
 * The thread always syncs for the newest ticket, so tickets requested while a sync runs share
 * the next fdatasync: one fsync per write when idle, many writes per fsync under load, no timer.
 * docs/storage.md "Asynchronous group commit" and docs/consensus.md describe the protocol. */
#include "node/node_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util/assert.h"
#include "util/log.h"

/* One allocation: the message, then its entries, then their data and the snapshot chunk. */
static raft_message *msg_clone(const raft_message *m)
{
    size_t sz = sizeof(raft_message) + (size_t)m->n_entries * sizeof(raft_entry) + m->snap_len;
    for (uint32_t i = 0; i < m->n_entries; i++)
        sz += m->entries[i].len;
    raft_message *c = malloc(sz);
    if (!c) return NULL;
    *c = *m;
    raft_entry *ents = (raft_entry *)(c + 1);
    uint8_t *p = (uint8_t *)(ents + m->n_entries);
    for (uint32_t i = 0; i < m->n_entries; i++) {
        ents[i] = m->entries[i];
        if (m->entries[i].len) {
            memcpy(p, m->entries[i].data, m->entries[i].len);
            ents[i].data = p;
            p += m->entries[i].len;
        } else {
            ents[i].data = NULL;
        }
    }
    c->entries = m->n_entries ? ents : NULL;
    if (m->snap_len) {
        memcpy(p, m->snap_data, m->snap_len);
        c->snap_data = p;
    } else {
        c->snap_data = NULL;
    }
    return c;
}

static int hold(node *n, uint64_t ticket, const raft_message *m)
{
    if (n->held_n == n->held_cap) {
        if (n->held_head > 0) {
            memmove(n->held, n->held + n->held_head, (n->held_n - n->held_head) * sizeof(*n->held));
            n->held_n -= n->held_head;
            n->held_head = 0;
        }
        if (n->held_n == n->held_cap) {
            size_t cap = n->held_cap ? n->held_cap * 2 : 64;
            nsync_held *h = realloc(n->held, cap * sizeof(*h));
            if (!h) return -1;
            n->held = h;
            n->held_cap = cap;
        }
    }
    raft_message *c = msg_clone(m);
    if (!c) return -1;
    n->held[n->held_n++] = (nsync_held){ticket, c};
    return 0;
}

static int push_pending(node *n, const nsync_pending *p)
{
    if (n->sp_n == n->sp_cap) {
        if (n->sp_head > 0) {
            memmove(n->sp, n->sp + n->sp_head, (n->sp_n - n->sp_head) * sizeof(*n->sp));
            n->sp_n -= n->sp_head;
            n->sp_head = 0;
        }
        if (n->sp_n == n->sp_cap) {
            size_t cap = n->sp_cap ? n->sp_cap * 2 : 64;
            nsync_pending *q = realloc(n->sp, cap * sizeof(*q));
            if (!q) return -1;
            n->sp = q;
            n->sp_cap = cap;
        }
    }
    n->sp[n->sp_n++] = *p;
    return 0;
}

int nsync_ready(node *n, const raft_ready *rd)
{
    if (rd->must_sync) {
        nsync_pending p = {0};
        /* entries the leader's commit quorum does not wait for: the fsync may wait a little
         * for more of them (fewer fsyncs on this disk; its acknowledgement comes that much
         * later, and nobody waits for it) */
        uint32_t within = rd->sync_may_wait ? n->sync_later_us : 0;
        n->deferred_syncs += within > 0;
        if (wal_async_request_within(n->wal, within, &p.ticket) < 0) {
            node_fail(n, wal_last_error(n->wal));
            return -1;
        }
        if (rd->n_entries) {
            p.index = rd->entries[rd->n_entries - 1].index;
            p.term = rd->entries[rd->n_entries - 1].term;
        }
        if (rd->has_hard_state) p.hs_term = rd->hard_state.term;
        if (push_pending(n, &p) < 0) {
            node_fail(n, "out of memory (sync queue)");
            return -1;
        }
        n->sync_req = p.ticket;
        n->sync_batches++;
    }
    if (!n->pn) return 0;
    uint64_t wait = n->sync_req > n->sync_done ? n->sync_req : 0;
    bool sent = false;
    for (size_t i = 0; i < rd->n_messages; i++) {
        const raft_message *m = &rd->messages[i];
        if (!wait || raft_may_send_early(m, n->durable_term)) {
            peer_net_send(n->pn, m);
            sent = true;
        } else if (hold(n, wait, m) < 0) {
            node_fail(n, "out of memory (held messages)");
            return -1;
        }
    }
    if (sent) peer_net_flush(n->pn); /* the leader's appends overlap its own fsync */
    return 0;
}

/* A follower's loop has nothing to overlap with its fsync: it holds the acknowledgement until
 * the sync returns, and the leader's next appends wait in the socket meanwhile (the next read
 * takes them all: one batch). Syncing in the loop saves the hand-off to the storage thread and
 * back (a futex wake, the thread's switch in and out, an eventfd write and an epoll wake-up: two
 * context switches on the path of every write's quorum round trip). The ordering rules are the
 * same as wal_sync's: the Ready's messages leave after its fdatasync returned. Only when no
 * sync is in flight (so the thread's and the loop's syncs do not interleave) and never on a
 * leader (its loop overlaps its own fsync with the followers'). */
bool nsync_idle_follower(const node *n)
{
    return n->role != RAFT_LEADER && n->sync_req == n->sync_done && n->held_head == n->held_n;
}

/* A sync returned: what it covered counts as durable, and what waited for it leaves. */
static void on_done(node *n)
{
    if (n->failed) return;
    uint64_t done = 0;
    if (wal_async_poll(n->wal, &done) < 0) {
        node_fail(n, wal_last_error(n->wal));
        return;
    }
    if (done <= n->sync_done) return;
    n->sync_done = done;
    while (n->sp_head < n->sp_n && n->sp[n->sp_head].ticket <= done) {
        const nsync_pending *p = &n->sp[n->sp_head++];
        if (p->hs_term) n->durable_term = p->hs_term;
        if (p->index) raft_persisted(n->r, p->index, p->term);
    }
    if (n->sp_head == n->sp_n) n->sp_head = n->sp_n = 0;
    bool sent = false;
    while (n->held_head < n->held_n && n->held[n->held_head].ticket <= done) {
        raft_message *m = n->held[n->held_head++].m;
        if (n->pn) peer_net_send(n->pn, m);
        free(m);
        sent = true;
    }
    if (n->held_head == n->held_n) n->held_head = n->held_n = 0;
    if (sent) peer_net_flush(n->pn);
}

static void on_event(net_loop *l, int fd, int events, void *ctx)
{
    (void)l, (void)fd, (void)events;
    on_done(ctx); /* node_before_sleep runs node_process next: commits, applies, replies */
}

int nsync_start(node *n)
{
    if (wal_async_start(n->wal) < 0) {
        syn_log(SYN_LOG_WARN, "%s", wal_last_error(n->wal));
        return -1;
    }
    int rc = net_loop_watch(n->loop, wal_async_fd(n->wal), NET_READABLE, on_event, n);
    if (rc < 0) {
        syn_log(SYN_LOG_WARN, "storage thread: cannot watch its eventfd: %s", strerror(-rc));
        return -1;
    }
    n->async = true;
    return 0;
}

void nsync_wait(node *n)
{
    while (n->async && !n->failed && n->sync_done < n->sync_req) {
        struct pollfd p = {wal_async_fd(n->wal), POLLIN, 0};
        if (poll(&p, 1, 1000) < 0 && errno != EINTR) break;
        on_done(n);
    }
}

void nsync_stop(node *n)
{
    if (n->async) (void)net_loop_watch(n->loop, wal_async_fd(n->wal), 0, NULL, NULL);
    n->async = false;
    for (size_t i = n->held_head; i < n->held_n; i++)
        free(n->held[i].m);
    free(n->held);
    free(n->sp);
    n->held = NULL;
    n->sp = NULL;
    n->held_head = n->held_n = n->held_cap = n->sp_head = n->sp_n = n->sp_cap = 0;
}
