/* invariants.h — Raft safety invariants, checked incrementally from observations of a cluster.
 *
 * The simulator reports what it sees (log writes, role/term/commit after each step, applied
 * entries, granted votes, durable hard states, restarts); each call checks the invariants the
 * observation could break and returns -1 with a message on the first violation. The checker
 * knows nothing of the raft library, so tests can feed it hand-made broken histories.
 *
 * Entries are identified by a chain hash: chain(i) = H(chain(i-1), hash of entry i), so equal
 * chains at index i mean equal logs up to i (Log Matching, Raft §5.3, checked for all time:
 * an (index, term) pair names one entry forever, as only one leader per term creates it).
 *
 * Checked:
 *   ELECTION_SAFETY     at most one leader per term (§5.2)
 *   LOG_MATCHING        same (index, term) => same log prefix, on every node, at any time
 *   LEADER_COMPLETENESS a leader of term T holds every entry committed in a term < T (§5.4)
 *   STATE_MACHINE       no two nodes apply different entries at an index; committed entries
 *                       never change (§5.4.3)
 *   COMMIT_MONOTONIC    a node's commit index never decreases, nor its durable commit across
 *                       restarts; commit never exceeds the node's log
 *   ONE_VOTE_PER_TERM   a node grants at most one candidate per term, even across restarts
 *   LEADER_COMMIT_RULE  a leader advances its commit index only to an entry of its own term
 *                       (§5.4.2; older entries are committed indirectly, Figure 8) */
#ifndef SYNOD_SIM_INVARIANTS_H
#define SYNOD_SIM_INVARIANTS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct inv_checker inv_checker;

typedef enum {
    INV_OK = 0,
    INV_ELECTION_SAFETY,
    INV_LOG_MATCHING,
    INV_LEADER_COMPLETENESS,
    INV_STATE_MACHINE,
    INV_COMMIT_MONOTONIC,
    INV_ONE_VOTE_PER_TERM,
    INV_LEADER_COMMIT_RULE,
} inv_kind;

const char *inv_kind_name(inv_kind k);

/* Turns one check off (to show the others catch the consequences of the bug it would catch
 * first). All checks are on after inv_create. */
void inv_disable(inv_checker *c, inv_kind k);

/* max_nodes bounds node ids: 1 <= node <= max_nodes. NULL on no memory. */
inv_checker *inv_create(int max_nodes);
void inv_destroy(inv_checker *c);

/* The first violation found (INV_OK if none) and its message (valid until destroy). */
inv_kind inv_violation(const inv_checker *c);
const char *inv_message(const inv_checker *c);

/* Hash of one entry's identity (term, type, payload). */
uint64_t inv_entry_hash(uint64_t term, int type, const void *data, uint32_t len);

/* Log writes (the node's storage, as the simulator stores it). */
/* The node's log is now empty after a snapshot at (index, term) whose chain is `chain`
 * (a new node: 0, 0, 0). Used on snapshot install and on restart before re-feeding the log. */
int inv_log_reset(inv_checker *c, int node, uint64_t index, uint64_t term, uint64_t chain);
/* Entry `index` of `term` is written; every entry >= index is replaced (Raft §5.3). */
int inv_log_append(inv_checker *c, int node, uint64_t index, uint64_t term, uint64_t entry_hash);
/* Entries <= index were compacted into a snapshot (index <= the node's last index). */
int inv_log_compact(inv_checker *c, int node, uint64_t index);
/* Chain at `index` of the node's current log: false if compacted past or beyond its end. */
bool inv_log_chain(const inv_checker *c, int node, uint64_t index, uint64_t *chain);

/* The node's volatile state after a step. */
int inv_state(inv_checker *c, int node, bool leader, uint64_t term, uint64_t commit);
/* The node applied entry `index` (the next after its last applied) with this entry hash. */
int inv_apply(inv_checker *c, int node, uint64_t index, uint64_t entry_hash);
/* The node's state machine was restored from a snapshot at index with this chain. */
void inv_apply_reset(inv_checker *c, int node, uint64_t index, uint64_t chain);
/* Applied chain of the node (for snapshots the simulator makes). */
uint64_t inv_applied_chain(const inv_checker *c, int node);
/* The node granted its vote to candidate in term (a non-rejecting VOTE_RESP left it). */
int inv_vote_granted(inv_checker *c, int node, uint64_t term, uint64_t candidate);
/* A hard state became durable on the node. */
int inv_durable_hard_state(inv_checker *c, int node, uint64_t term, uint64_t vote, uint64_t commit);
/* The node crashed; it will restart from its durable state (its volatile commit is forgotten,
 * the durable commit is kept as the floor). */
void inv_crash(inv_checker *c, int node);

#endif
