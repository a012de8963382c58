/* raft_quorum.c — majority configurations: the one place that knows what a quorum is.
 *
 * Every decision that needs "a majority of the voters" goes through here: winning an election,
 * the commit index, confirming a ReadIndex round, the lease, CheckQuorum. Joint consensus
 * (dissertation §4.3) will need the same answers from two majorities at once (a quorum of the
 * old AND of the new configuration); with the question asked in one place that is one more
 * function here, not an edit of every caller. */
#include "consensus/raft_internal.h"

#include <string.h>

void raft_majority_init(raft_majority *q, const raft_membership *m)
{
    SYN_ASSERT_CMP(m->n_voters, <=, RAFT_MAX_MEMBERS);
    q->n = m->n_voters;
    memcpy(q->ids, m->voters, sizeof(raft_id) * m->n_voters);
}

static bool contains(const raft_id *ids, uint32_t n, raft_id id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

uint32_t raft_majority_size(const raft_majority *q)
{
    return q->n / 2 + 1;
}

bool raft_majority_is_quorum(const raft_majority *q, const raft_id *set, uint32_t n_set)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < q->n; i++)
        if (contains(set, n_set, q->ids[i])) k++;
    return q->n > 0 && k >= raft_majority_size(q);
}

raft_vote_result raft_majority_vote(const raft_majority *q, const raft_id *granted,
                                    uint32_t n_granted, const raft_id *rejected,
                                    uint32_t n_rejected)
{
    if (raft_majority_is_quorum(q, granted, n_granted)) return RAFT_VOTE_WON;
    /* lost once the voters that have not rejected can no longer form a majority */
    uint32_t open = 0;
    for (uint32_t i = 0; i < q->n; i++)
        if (!contains(rejected, n_rejected, q->ids[i])) open++;
    return open < raft_majority_size(q) ? RAFT_VOTE_LOST : RAFT_VOTE_PENDING;
}

uint64_t raft_majority_value(const raft_majority *q, const raft_id *ids, const uint64_t *vals,
                             uint32_t n)
{
    if (q->n == 0) return 0;
    /* the voters' values, sorted descending by insertion (at most RAFT_MAX_MEMBERS of them: no
     * qsort call on the commit path); a voter missing from ids counts as 0 */
    uint64_t v[RAFT_MAX_MEMBERS];
    for (uint32_t i = 0; i < q->n; i++) {
        uint64_t x = 0;
        for (uint32_t j = 0; j < n; j++)
            if (ids[j] == q->ids[i]) {
                x = vals[j];
                break;
            }
        uint32_t k = i;
        while (k > 0 && v[k - 1] < x) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = x;
    }
    /* the largest value that raft_majority_size(q) voters have reached */
    return v[raft_majority_size(q) - 1];
}
