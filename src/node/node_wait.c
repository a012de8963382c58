/* node_wait.c — WAIT numreplicas timeout (docs/cluster.md "WAIT").
 *
 * In Redis, WAIT blocks until `numreplicas` replicas acknowledged every write the connection
 * made, or the timeout (ms, 0 = for ever) passed, and replies with the number that did. In
 * synod a write is answered only once it is committed, so when WAIT runs the connection's
 * writes are already on a majority's disk; WAIT tells how many voters other than the leader
 * hold them, which can grow to all of them.
 *
 * On the leader the count is the number of other voters whose match index (highest entry
 * they acknowledged, and a follower acknowledges only entries it synced) reaches the index
 * of the connection's latest write — or index 1 when it wrote nothing: every voter that
 * replicated anything. A WAIT that is not satisfied at once blocks the connection (like a
 * blocking command: later requests wait for its reply) and is re-judged on every loop pass,
 * since a pass follows every acknowledgement from a peer; the timeout is checked on ticks.
 * If the node stops being the leader while a client waits, the client is answered with
 * what is known for certain: its writes were committed, so at least quorum - 1 others hold
 * them.
 *
 * On a follower the connection's writes were relayed to the leader and their indexes are
 * not known here: WAIT answers at once with that same lower bound, quorum - 1 (1 of 3,
 * 2 of 5). Inside MULTI (an applied EXEC) WAIT never blocks, as in Redis. */
#include <string.h>

#include "node/node_internal.h"
#include "util/strconv.h"

static int lower_bound(const node *n)
{
    int others = raft_other_voters(n->r);
    return (others + 1) / 2; /* quorum - 1 of others + 1 voters */
}

static long long count_now(node *n, const client *c)
{
    int k = raft_replicated_to(n->r, c->last_write_index ? c->last_write_index : 1);
    int lb = lower_bound(n);
    if (k < 0) return lb; /* not the leader */
    /* a committed write of this client is on a quorum even before the leader learnt it */
    if (c->last_write_index && k < lb && c->last_write_index <= n->applied) return lb;
    return k;
}

long long node_wait_count(node *n, node_client *c)
{
    return count_now(n, c);
}

static void answer(node *n, client *c, long long k)
{
    c->waiting = false;
    n->n_waiting--;
    nreply_int(n, c, k);
    node_client_done(n, c);
}

int nwait_unblock(node *n, client *c, int error)
{
    if (error) {
        c->waiting = false;
        n->n_waiting--;
        nreply_error(n, c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        node_client_done(n, c);
    } else {
        answer(n, c, count_now(n, c));
    }
    return 1;
}

void nwait_drop(node *n, client *c)
{
    if (!c->waiting) return;
    c->waiting = false;
    n->n_waiting--;
}

void nwait_cmd(node *n, client *c, int argc, const data_arg *argv)
{
    if (argc != 3) {
        nreply_error(n, c, "ERR wrong number of arguments for 'wait' command");
        return;
    }
    long long want, timeout;
    if (!syn_string2ll(argv[1].ptr, argv[1].len, &want)) {
        nreply_error(n, c, "ERR value is not an integer or out of range");
        return;
    }
    if (!syn_string2ll(argv[2].ptr, argv[2].len, &timeout)) {
        nreply_error(n, c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        nreply_error(n, c, "ERR timeout is negative");
        return;
    }
    long long k = count_now(n, c);
    if (k >= want || n->role != RAFT_LEADER) {
        nreply_int(n, c, k);
        return;
    }
    c->waiting = true;
    c->wait_want = want > RAFT_MAX_MEMBERS ? RAFT_MAX_MEMBERS : (int)want;
    c->wait_deadline_ms = timeout ? net_mono_ms() + timeout : 0;
    if (timeout && c->wait_deadline_ms == 0) c->wait_deadline_ms = 1;
    c->n_async++;
    c->async_kind = ASYNC_BLOCK;
    n->n_waiting++;
}

void nwait_poll(node *n)
{
    if (!n->n_waiting) return;
    int64_t now = net_mono_ms();
    for (client *c = n->clients; c && n->n_waiting; c = c->next) {
        if (!c->waiting) continue;
        long long k = count_now(n, c);
        if (k >= c->wait_want || n->role != RAFT_LEADER ||
            (c->wait_deadline_ms && now >= c->wait_deadline_ms))
            answer(n, c, k);
    }
}
