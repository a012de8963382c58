/* invariants.c — incremental Raft safety checks (see invariants.h). */
#include "invariants.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t term, chain;
} log_slot;

/* growable array of uint64, zero-filled */
typedef struct {
    uint64_t *v;
    size_t cap;
} u64vec;

static int vec_set(u64vec *a, size_t i, uint64_t x)
{
    if (i >= a->cap) {
        size_t ncap = a->cap ? a->cap : 64;
        while (ncap <= i)
            ncap *= 2;
        uint64_t *nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv) return -1;
        memset(nv + a->cap, 0, (ncap - a->cap) * sizeof *nv);
        a->v = nv;
        a->cap = ncap;
    }
    a->v[i] = x;
    return 0;
}

static uint64_t vec_get(const u64vec *a, size_t i)
{
    return i < a->cap ? a->v[i] : 0;
}

typedef struct {
    /* log: base = snapshot point; slots[k] is entry base + 1 + k */
    uint64_t base_index, base_term, base_chain;
    log_slot *slots;
    size_t len, cap;
    bool leader;
    uint64_t term;
    uint64_t commit;         /* this lifetime's commit: never decreases */
    uint64_t durable_commit; /* never decreases, across restarts */
    uint64_t applied, applied_chain;
    u64vec votes; /* term -> candidate granted (0 = none) */
} node_state;

/* (index, term) -> chain, open addressing */
typedef struct {
    uint64_t index, term, chain;
} entry_key;

struct inv_checker {
    int max_nodes;
    node_state *nodes; /* 1-based */
    u64vec leader_of_term;
    entry_key *entries;
    size_t entries_cap, entries_len;
    u64vec committed_chain;    /* index -> chain of the committed prefix (0 = unknown) */
    u64vec committed_term_min; /* index -> smallest term a node was in when seeing it committed */
    uint64_t committed_max;
    u64vec applied_chain; /* index -> chain of the applied prefix */
    inv_kind violation;
    char msg[512];
    uint32_t disabled; /* bit per inv_kind */
};

void inv_disable(inv_checker *c, inv_kind k)
{
    c->disabled |= 1u << k;
}

const char *inv_kind_name(inv_kind k)
{
    static const char *names[] = {"ok",
                                  "ELECTION_SAFETY (two leaders in one term)",
                                  "LOG_MATCHING",
                                  "LEADER_COMPLETENESS",
                                  "STATE_MACHINE_SAFETY",
                                  "COMMIT_MONOTONIC",
                                  "ONE_VOTE_PER_TERM",
                                  "LEADER_COMMIT_RULE (§5.4.2)"};
    return k <= INV_LEADER_COMMIT_RULE ? names[k] : "?";
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t inv_entry_hash(uint64_t term, int type, const void *data, uint32_t len)
{
    uint64_t h = mix(term * 31 + (uint64_t)type + 0x51ed);
    const uint8_t *p = data;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return mix(h ^ len);
}

static uint64_t chain_next(uint64_t prev, uint64_t entry_hash)
{
    uint64_t c = mix(prev * 0x2545f4914f6cdd1dull ^ entry_hash);
    return c ? c : 1;
}

static int fail(inv_checker *c, inv_kind k, const char *fmt, ...)
{
    if (c->violation != INV_OK) return -1;
    c->violation = k;
    int n = snprintf(c->msg, sizeof c->msg, "%s: ", inv_kind_name(k));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg + n, sizeof c->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

inv_checker *inv_create(int max_nodes)
{
    inv_checker *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->max_nodes = max_nodes;
    c->nodes = calloc((size_t)max_nodes + 1, sizeof *c->nodes);
    if (!c->nodes) {
        free(c);
        return NULL;
    }
    return c;
}

void inv_destroy(inv_checker *c)
{
    if (!c) return;
    for (int i = 0; i <= c->max_nodes; i++) {
        free(c->nodes[i].slots);
        free(c->nodes[i].votes.v);
    }
    free(c->nodes);
    free(c->leader_of_term.v);
    free(c->entries);
    free(c->committed_chain.v);
    free(c->committed_term_min.v);
    free(c->applied_chain.v);
    free(c);
}

inv_kind inv_violation(const inv_checker *c)
{
    return c->violation;
}

const char *inv_message(const inv_checker *c)
{
    return c->violation == INV_OK ? "ok" : c->msg;
}

static node_state *node_of(inv_checker *c, int node)
{
    if (node < 1 || node > c->max_nodes) {
        fprintf(stderr, "invariants: node id %d out of range\n", node);
        abort();
    }
    return &c->nodes[node];
}

/* ---- log matching table ---- */

static int entries_put(inv_checker *c, uint64_t index, uint64_t term, uint64_t chain,
                       uint64_t *existing)
{
    if ((c->entries_len + 1) * 2 > c->entries_cap) {
        size_t ncap = c->entries_cap ? c->entries_cap * 2 : 4096;
        entry_key *ne = calloc(ncap, sizeof *ne);
        if (!ne) return -1;
        for (size_t i = 0; i < c->entries_cap; i++) {
            if (!c->entries[i].chain) continue;
            size_t j = mix(c->entries[i].index * 0x9e37 + c->entries[i].term) & (ncap - 1);
            while (ne[j].chain)
                j = (j + 1) & (ncap - 1);
            ne[j] = c->entries[i];
        }
        free(c->entries);
        c->entries = ne;
        c->entries_cap = ncap;
    }
    size_t j = mix(index * 0x9e37 + term) & (c->entries_cap - 1);
    while (c->entries[j].chain) {
        if (c->entries[j].index == index && c->entries[j].term == term) {
            *existing = c->entries[j].chain;
            return 0;
        }
        j = (j + 1) & (c->entries_cap - 1);
    }
    c->entries[j] = (entry_key){index, term, chain};
    c->entries_len++;
    *existing = chain;
    return 0;
}

static uint64_t last_index(const node_state *n)
{
    return n->base_index + n->len;
}

bool inv_log_chain(const inv_checker *c, int node, uint64_t index, uint64_t *chain)
{
    const node_state *n = &c->nodes[node];
    if (index == n->base_index) {
        *chain = n->base_chain;
        return true;
    }
    if (index < n->base_index || index > last_index(n)) return false;
    *chain = n->slots[index - n->base_index - 1].chain;
    return true;
}

int inv_log_reset(inv_checker *c, int node, uint64_t index, uint64_t term, uint64_t chain)
{
    node_state *n = node_of(c, node);
    n->base_index = index;
    n->base_term = term;
    n->base_chain = chain;
    n->len = 0;
    return c->violation ? -1 : 0;
}

int inv_log_append(inv_checker *c, int node, uint64_t index, uint64_t term, uint64_t entry_hash)
{
    node_state *n = node_of(c, node);
    if (index <= n->base_index || index > last_index(n) + 1)
        return fail(c, INV_LOG_MATCHING,
                    "node %d wrote entry %" PRIu64 " outside its log (%" PRIu64 "..%" PRIu64 ")",
                    node, index, n->base_index + 1, last_index(n));
    uint64_t prev =
        index - 1 == n->base_index ? n->base_chain : n->slots[index - n->base_index - 2].chain;
    uint64_t prev_term =
        index - 1 == n->base_index ? n->base_term : n->slots[index - n->base_index - 2].term;
    if (term < prev_term)
        return fail(c, INV_LOG_MATCHING,
                    "node %d: entry %" PRIu64 " has term %" PRIu64 " < term %" PRIu64
                    " of the entry before it",
                    node, index, term, prev_term);
    uint64_t chain = chain_next(prev, entry_hash), existing;
    n->len = index - n->base_index - 1;
    if (n->len == n->cap) {
        size_t ncap = n->cap ? n->cap * 2 : 256;
        log_slot *ns = realloc(n->slots, ncap * sizeof *ns);
        if (!ns) return fail(c, INV_LOG_MATCHING, "out of memory");
        n->slots = ns;
        n->cap = ncap;
    }
    n->slots[n->len++] = (log_slot){term, chain};
    if (entries_put(c, index, term, chain, &existing) != 0)
        return fail(c, INV_LOG_MATCHING, "out of memory");
    if (existing != chain)
        return fail(c, INV_LOG_MATCHING,
                    "node %d holds entry (index %" PRIu64 ", term %" PRIu64
                    ") with a log prefix different from another node's entry with the same "
                    "index and term",
                    node, index, term);
    if (index <= c->committed_max && vec_get(&c->committed_chain, index) &&
        vec_get(&c->committed_chain, index) != chain && index <= n->commit)
        return fail(c, INV_STATE_MACHINE,
                    "node %d overwrote committed entry %" PRIu64 " (its commit is %" PRIu64 ")",
                    node, index, n->commit);
    return 0;
}

int inv_log_compact(inv_checker *c, int node, uint64_t index)
{
    node_state *n = node_of(c, node);
    if (index <= n->base_index) return 0;
    if (index > last_index(n)) {
        /* compacted past the end: the log is empty after the snapshot */
        uint64_t chain = n->applied_chain;
        n->base_index = index;
        n->base_term = 0;
        n->base_chain = chain;
        n->len = 0;
        return 0;
    }
    size_t drop = index - n->base_index;
    n->base_term = n->slots[drop - 1].term;
    n->base_chain = n->slots[drop - 1].chain;
    memmove(n->slots, n->slots + drop, (n->len - drop) * sizeof *n->slots);
    n->len -= drop;
    n->base_index = index;
    return 0;
}

/* ---- state after each step ---- */

static int check_leader_complete(inv_checker *c, int node, node_state *n)
{
    /* largest index known committed in a term below this leader's */
    uint64_t k = c->committed_max;
    while (k > 0 &&
           (!vec_get(&c->committed_chain, k) || vec_get(&c->committed_term_min, k) >= n->term))
        k--;
    if (k == 0) return 0;
    if (k > last_index(n))
        return fail(c, INV_LEADER_COMPLETENESS,
                    "node %d leads term %" PRIu64 " but its log ends at %" PRIu64
                    ", before entry %" PRIu64 " committed in term %" PRIu64,
                    node, n->term, last_index(n), k, vec_get(&c->committed_term_min, k));
    uint64_t chain;
    if (!inv_log_chain(c, node, k, &chain)) return 0; /* compacted: covered by STATE_MACHINE */
    if (chain != vec_get(&c->committed_chain, k))
        return fail(c, INV_LEADER_COMPLETENESS,
                    "node %d leads term %" PRIu64 " but its log differs from the entries committed "
                    "up to index %" PRIu64 " (committed in term %" PRIu64 ")",
                    node, n->term, k, vec_get(&c->committed_term_min, k));
    return 0;
}

int inv_state(inv_checker *c, int node, bool leader, uint64_t term, uint64_t commit)
{
    node_state *n = node_of(c, node);
    bool new_leader = leader && (!n->leader || n->term != term);
    if (!(c->disabled & (1u << INV_LEADER_COMMIT_RULE)) && leader && !new_leader &&
        commit > n->commit && commit > n->base_index && commit <= last_index(n) &&
        n->slots[commit - n->base_index - 1].term != term)
        return fail(c, INV_LEADER_COMMIT_RULE,
                    "leader %d of term %" PRIu64 " advanced its commit to %" PRIu64
                    ", an entry of term %" PRIu64,
                    node, term, commit, n->slots[commit - n->base_index - 1].term);
    n->leader = leader;
    n->term = term;
    if (leader) {
        uint64_t other = vec_get(&c->leader_of_term, term);
        if (other && other != (uint64_t)node)
            return fail(c, INV_ELECTION_SAFETY, "nodes %" PRIu64 " and %d both lead term %" PRIu64,
                        other, node, term);
        if (vec_set(&c->leader_of_term, term, (uint64_t)node) != 0)
            return fail(c, INV_ELECTION_SAFETY, "out of memory");
    }
    if (commit < n->commit)
        return fail(c, INV_COMMIT_MONOTONIC, "node %d commit went from %" PRIu64 " to %" PRIu64,
                    node, n->commit, commit);
    if (commit > last_index(n))
        return fail(c, INV_COMMIT_MONOTONIC,
                    "node %d commit %" PRIu64 " is beyond its last stored entry %" PRIu64, node,
                    commit, last_index(n));
    for (uint64_t i = n->commit + 1; i <= commit; i++) {
        uint64_t chain;
        if (!inv_log_chain(c, node, i, &chain)) continue; /* below its snapshot */
        uint64_t known = vec_get(&c->committed_chain, i);
        if (known && known != chain)
            return fail(c, INV_STATE_MACHINE,
                        "node %d committed entry %" PRIu64 " (term %" PRIu64
                        ") different from the entry committed there before",
                        node, i, i > n->base_index ? n->slots[i - n->base_index - 1].term : 0);
        uint64_t tmin = vec_get(&c->committed_term_min, i);
        if (vec_set(&c->committed_chain, i, chain) != 0 ||
            vec_set(&c->committed_term_min, i, tmin && tmin < term ? tmin : term) != 0)
            return fail(c, INV_STATE_MACHINE, "out of memory");
        if (i > c->committed_max) c->committed_max = i;
    }
    if (commit > n->commit) n->commit = commit;
    if (new_leader) return check_leader_complete(c, node, n);
    return c->violation ? -1 : 0;
}

int inv_apply(inv_checker *c, int node, uint64_t index, uint64_t entry_hash)
{
    node_state *n = node_of(c, node);
    if (index != n->applied + 1)
        return fail(c, INV_STATE_MACHINE, "node %d applied entry %" PRIu64 " after %" PRIu64, node,
                    index, n->applied);
    n->applied = index;
    n->applied_chain = chain_next(n->applied_chain, entry_hash);
    uint64_t known = vec_get(&c->applied_chain, index);
    if (known && known != n->applied_chain)
        return fail(c, INV_STATE_MACHINE,
                    "node %d applied a different entry at index %" PRIu64
                    " than another node did (or its earlier history differs)",
                    node, index);
    if (!known && vec_set(&c->applied_chain, index, n->applied_chain) != 0)
        return fail(c, INV_STATE_MACHINE, "out of memory");
    return 0;
}

void inv_apply_reset(inv_checker *c, int node, uint64_t index, uint64_t chain)
{
    node_state *n = node_of(c, node);
    n->applied = index;
    n->applied_chain = chain;
}

uint64_t inv_applied_chain(const inv_checker *c, int node)
{
    return c->nodes[node].applied_chain;
}

int inv_vote_granted(inv_checker *c, int node, uint64_t term, uint64_t candidate)
{
    node_state *n = node_of(c, node);
    uint64_t prev = vec_get(&n->votes, term);
    if (prev && prev != candidate)
        return fail(c, INV_ONE_VOTE_PER_TERM,
                    "node %d granted its vote in term %" PRIu64 " to %" PRIu64 " and to %" PRIu64,
                    node, term, prev, candidate);
    if (vec_set(&n->votes, term, candidate) != 0)
        return fail(c, INV_ONE_VOTE_PER_TERM, "out of memory");
    return 0;
}

int inv_durable_hard_state(inv_checker *c, int node, uint64_t term, uint64_t vote, uint64_t commit)
{
    node_state *n = node_of(c, node);
    if (commit < n->durable_commit)
        return fail(c, INV_COMMIT_MONOTONIC,
                    "node %d durable commit went from %" PRIu64 " to %" PRIu64, node,
                    n->durable_commit, commit);
    n->durable_commit = commit;
    if (vote) return inv_vote_granted(c, node, term, vote);
    return 0;
}

void inv_crash(inv_checker *c, int node)
{
    node_state *n = node_of(c, node);
    n->leader = false;
    n->commit = n->durable_commit;
}
