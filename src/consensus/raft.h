/* raft.h — an I/O-free Raft library (leader-based Multi-Paxos) in the etcd "Ready" style.
 *
 * The core does no I/O, reads no clock and keeps no global state: each `raft` instance is an
 * independent value driven by its caller. Inputs: raft_tick (logical time), raft_step (a message
 * from a peer), raft_propose, raft_read_index / raft_read_lease, raft_transfer_leader,
 * raft_propose_conf_change, raft_compact, raft_report_*. Outputs: one raft_ready batch at a time.
 * All randomness (election timeouts) comes from a PRNG inside the instance, seeded by the caller
 * (raft_config.seed), so a run is a pure function of its inputs.
 *
 * Features: election with randomized timeouts (Raft §5.2), Pre-Vote and CheckQuorum (§9.6 of
 * Ongaro's dissertation), pipelined + batched AppendEntries with fast backtracking by conflict
 * term/index hints, commit only on a current-term entry (§5.4.2) with a no-op at the start of
 * every term, ReadIndex (batched, §6.4), leader leases under a clock-drift bound (§6.4.1),
 * leadership transfer (§3.10), log compaction + chunked InstallSnapshot (§7), single-server
 * membership change with learners (§4.1, §4.2.1).
 *
 * ---------------------------------------------------------------------------------------------
 * THE READY CONTRACT (read this before driving an instance)
 *
 *   loop:
 *     feed inputs (raft_tick / raft_step / raft_propose / ...)
 *     if (raft_has_ready(r)) {
 *         raft_ready rd; raft_ready_get(r, &rd);
 *         1. if rd.snapshot.present: store the chunk (rd.snapshot.data at rd.snapshot.offset);
 *            if rd.snapshot.done the whole snapshot is complete: make it durable and restore the
 *            state machine from it (it replaces everything up to rd.snapshot.meta.index) and
 *            discard the WHOLE stored log: the core's log is now empty after meta.index, and
 *            on restart cfg.snapshot = that meta, cfg.last_index = meta.index.
 *            Chunks come in order: offset 0 starts a snapshot (drop any partial one), every
 *            other chunk has the meta of the previous one and starts where it ended. When the
 *            done chunk is handed out the core has ALREADY installed the snapshot (and answers
 *            the leader after step 4): a chunk the caller cannot store or does not expect must
 *            stop the node (never skip it and go on), since the core's state no longer
 *            matches the state machine's.
 *         2. append rd.entries to the log. rd.entries[0].index may be <= the last index already
 *            stored: delete every stored entry with index >= rd.entries[0].index first (a
 *            conflicting suffix being overwritten, Raft §5.3).
 *         3. if rd.has_hard_state: store rd.hard_state.
 *         4. make 1-3 durable (fsync) if rd.must_sync.
 *         5. only now send rd.messages (in any order; they may be dropped/reordered/duplicated).
 *            Exception (optional): messages for which raft_may_send_early(m, durable_term) is
 *            true may leave before step 4 (see below).
 *         6. apply rd.committed in order (entries of type NORMAL carry the application's data;
 *            NOOP and CONF_CHANGE entries are applied by the core itself at step 7, the
 *            application may just note them).
 *         7. serve rd.read_states (see raft_read_state).
 *         8. raft_advance(r, &rd).
 *     }
 *
 * Durability rule: everything of a Ready (entries, hard state, snapshot chunk) is durable BEFORE
 * any message of the same Ready leaves the node. This is stricter than etcd (whose leader may
 * send appends before its own fsync) and it covers votes: a vote is never granted on the wire
 * before the vote is on disk. The leader counts its own log as replicated only once it is
 * durable (after the raft_advance of the Ready that carried those entries, or with
 * async_persist after raft_persisted reported them), so its own fsync is just another ack.
 *
 * The one exception, dissertation §10.2.1 (etcd does the same): a leader's APPEND, HEARTBEAT,
 * SNAPSHOT and TIMEOUT_NOW messages may be sent BEFORE the fsync of their Ready, so that its own
 * disk write overlaps the followers' - provided the message's term is already durable on this
 * node (durable_term = the term of the last hard state that step 4 made durable). Safe because
 * the leader's own entries count toward commit only after its fsync;
 * votes and every response still wait for step 4. raft_may_send_early says which messages.
 *
 * ASYNCHRONOUS PERSISTENCE (raft_config.async_persist; what src/node does). Step 4 need not
 * block the caller: it may write 1-3 (to the OS), start the fsync on a storage thread, call
 * raft_advance at once and go on with the next Readies while the disk works. Then:
 *   - the messages of a Ready that may not go early are HELD until every sync started for this
 *     Ready and all earlier ones returned (messages leave in Ready order; a Ready without
 *     must_sync still waits behind the syncs of earlier Readies, because its messages may
 *     depend on their hard state or entries);
 *   - durable_term (for raft_may_send_early) is the term of the last hard state a RETURNED
 *     sync covered;
 *   - when a sync returns, the caller reports raft_persisted(r, index, term) with the last
 *     entry (index, term) that sync covered, outside a Ready. Only then does the core count
 *     that entry as durable: the leader counts itself in a commit quorum up to there, and
 *     committed entries are handed out for applying only up to there (so a snapshot of the
 *     state machine never covers entries a crash could still take from this log).
 * raft_advance no longer means "persisted", only "written and handed to the disk". Reports may
 * come late, be coalesced (one sync covering several Readies: report the last entry), or be
 * stale (the entry was since truncated and replaced): the core ignores a report whose (index,
 * term) is not in its log up to what was handed out. Without async_persist, raft_advance
 * implies step 4 (the blocking contract above) and raft_persisted must not be called.
 *
 * Between raft_ready_get and raft_advance the caller must make no other call on that instance
 * except the const getters (raft_status, raft_id_of ...). Other instances are independent.
 *
 * Ownership: every pointer inside a raft_ready (entries, committed, messages and the entry
 * arrays and data they point to, snapshot chunk data, read states) is owned by the instance and
 * stays valid until raft_advance on that instance returns; copy what you need longer.
 * Pointers passed IN (raft_step's message and its entries/data, proposal data) need only stay
 * valid during the call: the core copies what it keeps.
 *
 * Untrusted input: raft_step validates every message (it may come from a decoder fed by the
 * network) and returns -RAFT_EINVAL for malformed ones without changing state. Messages from
 * unknown nodes or stale terms are ignored (return 0).
 *
 * Log storage: the core keeps in memory every entry not yet persisted or not yet applied, plus a
 * bounded tail of recent entries (raft_config.mem_retain_entries / mem_retain_bytes) to feed
 * followers. Older entries (and everything stored before a restart) are read back through
 * raft_storage, a small set of callbacks the caller implements over its WAL (tests use an
 * in-memory one).
 *
 * Time: one raft_tick is the caller's unit (e.g. 10 ms). Timeouts are counted in ticks, and
 * ticks must follow real time: a caller whose loop stalls must give the ticks it missed before
 * anything else once it runs again (a timer that simply fires late loses them, and a lease
 * measured in lost ticks outlives the followers' election timeout).
 * ------------------------------------------------------------------------------------------- */
#ifndef SYNOD_CONSENSUS_RAFT_H
#define SYNOD_CONSENSUS_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- error codes (functions return 0 or a negative RAFT_E*) ---------------------------- */
#define RAFT_ERRORS(X)                                                                             \
    X(RAFT_ENOTLEADER, 1, "not the leader")                                                        \
    X(RAFT_ETRANSFER, 2, "leadership transfer in progress")                                        \
    X(RAFT_EBUSY, 3, "too many pending requests (back-pressure) or a conf change is pending")      \
    X(RAFT_EINVAL, 4, "invalid argument or malformed message")                                     \
    X(RAFT_ENOMEM, 5, "out of memory")                                                             \
    X(RAFT_ECOMPACTED, 6, "requested entries were compacted into a snapshot")                      \
    X(RAFT_EUNAVAIL, 7, "requested entries or snapshot are not available")                         \
    X(RAFT_ENOTREADY, 8, "leader not ready (no-op not committed / lease expired / lagging)")       \
    X(RAFT_ETOOBIG, 9, "entry larger than max_batch_bytes")                                        \
    X(RAFT_ESTOPPED, 10, "node was removed from the cluster")

enum {
#define RAFT_ERR_ENUM_(name, num, msg) name = num,
    RAFT_ERRORS(RAFT_ERR_ENUM_)
#undef RAFT_ERR_ENUM_
};

/* Static string for a (negative or positive) error code; "ok" for 0. */
const char *raft_strerror(int err);

/* ---- basic types ------------------------------------------------------------------------ */
typedef uint64_t raft_id; /* node id; 0 means "none" and is never a valid member */

/* Upper bound on voters + learners of one cluster (all arrays below are fixed-size). */
#define RAFT_MAX_MEMBERS 16

typedef enum {
    RAFT_ENTRY_NORMAL = 0,      /* application data */
    RAFT_ENTRY_NOOP = 1,        /* appended by every new leader (Raft §5.4.2, §6.4) */
    RAFT_ENTRY_CONF_CHANGE = 2, /* data = encoded raft_conf_change (raft_conf_change_decode) */
} raft_entry_type;

typedef struct raft_entry {
    uint64_t term;
    uint64_t index; /* > 0 */
    raft_entry_type type;
    uint32_t len;        /* bytes at data; 0 allowed */
    const uint8_t *data; /* NULL iff len == 0; ownership: see THE READY CONTRACT */
} raft_entry;

/* Membership. A node id appears at most once across both arrays. */
typedef struct raft_membership {
    uint32_t n_voters;
    uint32_t n_learners;
    raft_id voters[RAFT_MAX_MEMBERS];
    raft_id learners[RAFT_MAX_MEMBERS]; /* replicate to them, never count them in a quorum */
} raft_membership;

/* Durable state (Raft Figure 2 "persistent state", plus commit so restarts re-apply less). */
typedef struct raft_hard_state {
    uint64_t term;
    raft_id vote; /* candidate voted for in `term`, 0 = none */
    uint64_t commit;
} raft_hard_state;

typedef struct raft_snapshot_meta {
    uint64_t index;         /* last entry covered by the snapshot; 0 = no snapshot */
    uint64_t term;          /* term of that entry */
    raft_membership config; /* membership as of `index` */
} raft_snapshot_meta;

typedef enum {
    RAFT_FOLLOWER = 0,
    RAFT_PRE_CANDIDATE = 1,
    RAFT_CANDIDATE = 2,
    RAFT_LEADER = 3,
    RAFT_LEARNER = 4, /* follower that is not a voter (a learner, or not a member at all) */
} raft_role;

const char *raft_role_name(raft_role role); /* "follower", "candidate", "leader", ... */

/* Volatile state, reported in a Ready when it changes. */
typedef struct raft_soft_state {
    raft_role role;
    raft_id leader; /* 0 = unknown */
} raft_soft_state;

/* ---- messages -------------------------------------------------------------------------- */
typedef enum {
    RAFT_MSG_APPEND = 1,      /* AppendEntries (Raft §5.3): index/log_term = prev entry */
    RAFT_MSG_APPEND_RESP = 2, /* index = new last matching index, or reject + hints */
    RAFT_MSG_VOTE = 3,        /* RequestVote (§5.2): index/log_term = candidate's last entry */
    RAFT_MSG_VOTE_RESP = 4,
    RAFT_MSG_PRE_VOTE = 5, /* Pre-Vote (dissertation §9.6): term = the term it would use */
    RAFT_MSG_PRE_VOTE_RESP = 6,
    RAFT_MSG_HEARTBEAT = 7,      /* commit = min(leader commit, follower match), ctx = round */
    RAFT_MSG_HEARTBEAT_RESP = 8, /* ctx echoed; index/log_term = follower last entry */
    RAFT_MSG_SNAPSHOT = 9,       /* InstallSnapshot chunk (§7): snapshot, snap_* fields */
    RAFT_MSG_SNAPSHOT_RESP = 10, /* snap_offset = bytes received so far; reject => restart at it */
    RAFT_MSG_TIMEOUT_NOW = 11,   /* leadership transfer (§3.10): campaign now, skip pre-vote */
    RAFT_MSG_READ_INDEX = 12,    /* follower -> leader: ctx = the follower's read request */
    RAFT_MSG_READ_INDEX_RESP = 13, /* index = read index for ctx; reject = leader not ready */
} raft_msg_type;

#define RAFT_MSG_TYPE_MAX 13

/* raft_step refuses (-RAFT_EINVAL) a message whose term exceeds this node's by more. */
#define RAFT_MAX_TERM_JUMP (1ull << 32)

/* One message. Unused fields are zero. Caps on untrusted input: n_entries <= RAFT_MAX_MSG_ENTRIES,
 * snap_len <= UINT32_MAX; raft_step checks entry indexes are consecutive from index + 1. */
#define RAFT_MAX_MSG_ENTRIES 65536
typedef struct raft_message {
    raft_msg_type type;
    raft_id from;
    raft_id to;
    uint64_t term; /* sender's current term (pre-vote: the term it would campaign in) */

    uint64_t log_term; /* APPEND: term of entry `index`; (PRE_)VOTE: candidate's last log term */
    uint64_t index;    /* APPEND: prev log index; APPEND_RESP: match index (or rejected index);
                          (PRE_)VOTE: candidate's last index; READ_INDEX_RESP: read index */
    uint64_t commit;   /* APPEND/HEARTBEAT: leader's commit (clamped for heartbeats) */
    uint32_t n_entries;
    const raft_entry *entries; /* APPEND: entries index+1 .. index+n_entries */

    bool reject;          /* *_RESP: request refused */
    uint64_t reject_hint; /* APPEND_RESP reject: follower's conflict index (first index of the
                             conflicting term, or last index + 1 if the log is too short) */
    uint64_t reject_term; /* APPEND_RESP reject: the follower's term at reject_hint (the
                             conflicting term; 0 if its log was too short), for fast
                             backtracking (Raft §5.3, last paragraphs) */
    bool transfer;        /* VOTE: sent because of TimeoutNow (bypasses leader stickiness) */

    raft_snapshot_meta snapshot; /* SNAPSHOT: which snapshot the chunk belongs to */
    uint64_t snap_offset;        /* SNAPSHOT: byte offset of this chunk; _RESP: bytes received */
    uint32_t snap_len;
    const uint8_t *snap_data;
    bool snap_done; /* SNAPSHOT: last chunk */

    uint64_t ctx;    /* HEARTBEAT(_RESP): read/lease round; READ_INDEX(_RESP): caller's ctx */
    bool sync_later; /* APPEND: the leader's commit quorum does not wait for this follower now
                        (raft_ready.sync_may_wait) */
} raft_message;

/* ---- read states ------------------------------------------------------------------------ */
/* A linearizable read request (raft_read_index / raft_read_lease) that became servable.
 * It is released only once this node has APPLIED at least `index`, so the application can serve
 * the read from its state machine right away. err != 0: the read failed (leadership lost, leader
 * not ready, ...) and must be retried or answered with an error. */
typedef struct raft_read_state {
    uint64_t ctx;   /* the caller's request id, as passed in */
    uint64_t index; /* the read index (commit index when the read was confirmed) */
    int err;        /* 0 or -RAFT_E* */
} raft_read_state;

/* Bound on pending reads per instance; raft_read_* return -RAFT_EBUSY beyond it. */
#define RAFT_MAX_PENDING_READS 4096

/* ---- snapshot chunk handed to the application (follower side) --------------------------- */
typedef struct raft_snapshot_chunk {
    bool present;
    raft_snapshot_meta meta;
    uint64_t offset; /* byte offset of data in the snapshot; 0 = a new snapshot starts */
    uint32_t len;
    const uint8_t *data;
    bool done; /* last chunk: install the snapshot (restore the state machine from it) */
} raft_snapshot_chunk;

/* ---- the Ready batch -------------------------------------------------------------------- */
typedef struct raft_ready {
    bool has_soft_state; /* role or leader changed since the last Ready */
    raft_soft_state soft_state;

    bool has_hard_state; /* term, vote or commit changed: store hard_state */
    raft_hard_state hard_state;

    bool must_sync; /* entries, vote/term or snapshot changed: fsync before sending messages */
    /* must_sync, and all it has to sync are entries the leader sent with sync_later (it has
     * enough other voters for its commit quorum): the caller may delay the fsync a little so
     * that one covers more (the messages still wait for it). A hint; false when the term or
     * vote changed, a snapshot chunk came, or any entry came without sync_later. */
    bool sync_may_wait;

    raft_snapshot_chunk snapshot; /* step 1 of the contract */

    size_t n_entries; /* to persist (step 2); consecutive indexes */
    const raft_entry *entries;

    size_t n_committed; /* to apply (step 6); consecutive, starting at applied + 1 */
    const raft_entry *committed;

    size_t n_messages; /* to send after persisting (step 5) */
    const raft_message *messages;

    size_t n_read_states; /* reads ready to be served (step 7) */
    const raft_read_state *read_states;
} raft_ready;

/* ---- storage callbacks ------------------------------------------------------------------ */
/* Read access to what the caller persisted (its WAL and its latest snapshot). All callbacks
 * return 0 or a negative RAFT_E* (-RAFT_ECOMPACTED for indexes covered by the snapshot,
 * -RAFT_EUNAVAIL otherwise). Pointers returned need only stay valid until the next callback
 * on the same storage: the core copies what it keeps. */
typedef struct raft_storage {
    void *ud; /* passed back to every callback */
    /* Fill out[0..n) with entries lo, lo+1, ... (lo <= hi, entries < hi), at most `cap` of them
     * and, after the first, stopping before the total data bytes would exceed max_bytes.
     * *n_out = number filled (>= 1 on success). */
    int (*entries)(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, raft_entry *out,
                   size_t cap, size_t *n_out);
    /* Term of the entry at `index` (index == snapshot index gives the snapshot's term). */
    int (*term)(void *ud, uint64_t index, uint64_t *term_out);
    /* first_index / last_index are optional (may be NULL) and not consulted by the core today:
     * it tracks both itself from cfg and from what it hands out. */
    /* Index of the first entry still stored (snapshot index + 1 when the log is empty). */
    uint64_t (*first_index)(void *ud);
    /* Index of the last entry stored (snapshot index when the log is empty). */
    uint64_t (*last_index)(void *ud);
    /* Read the latest snapshot: copy up to `cap` bytes from `offset` into buf, set *len_out and
     * *done_out (true when offset + len reaches the end), *meta_out = its metadata. */
    int (*snapshot_chunk)(void *ud, uint64_t offset, uint8_t *buf, uint32_t cap,
                          raft_snapshot_meta *meta_out, uint32_t *len_out, bool *done_out);
} raft_storage;

/* ---- configuration ---------------------------------------------------------------------- */
typedef struct raft_config {
    raft_id id; /* this node, != 0 */
    /* Bootstrap membership: the membership at log index 0 (every node of a cluster, and every
     * node that joins later, gets the SAME value here; a joining node is not in it and learns
     * its role from the log or a snapshot). Ignored when snapshot.index > 0. */
    raft_membership members;

    uint32_t election_tick;  /* randomized timeout in [election_tick, 2*election_tick) */
    uint32_t heartbeat_tick; /* leader heartbeat period, < election_tick */
    uint64_t seed;           /* PRNG seed for election timeouts */

    uint32_t max_inflight;          /* in-flight APPEND messages per follower (pipelining) */
    uint64_t max_batch_bytes;       /* max entry bytes per APPEND, also snapshot chunk size */
    uint64_t max_uncommitted_bytes; /* leader: proposals beyond this get -RAFT_EBUSY */
    /* committed entry bytes one Ready hands out to apply (at least one entry; the rest in the
     * next Ready, and read states only up to what was handed out); 0 = no bound */
    uint64_t max_apply_bytes;
    uint32_t mem_retain_entries; /* applied+persisted entries kept in memory for followers */
    /* ... and at most this many bytes of entry data in the memory log as a whole: applied and
     * persisted entries beyond it are dropped even inside mem_retain_entries (a lagging
     * follower reads them back from storage). Entries not yet applied or persisted never are. */
    uint64_t mem_retain_bytes;
    uint64_t promote_max_lag; /* PROMOTE refused while learner's match + this < last */

    bool pre_vote;     /* dissertation §9.6 */
    bool check_quorum; /* leader steps down without a quorum heard within election_tick;
                          followers ignore (pre-)votes while they hear from a leader */
    /* Lease reads (dissertation §6.4.1). Needs check_quorum. The lease lasts
     * election_tick - max_clock_drift_ticks - 1 ticks (the 1 covers tick granularity) from the
     * send of the last heartbeat round a quorum acknowledged; max_clock_drift_ticks bounds how
     * many ticks any follower's clock may gain on the leader's during one election_tick.
     * 0 < drift < election_tick - 1. Followers (and restarted nodes, for their first
     * election_tick) refuse votes during that window; only a TimeoutNow overrides it, and a
     * leader that sent one serves no lease read for the rest of its term. */
    bool lease_reads;
    uint32_t max_clock_drift_ticks;

    /* The caller persists asynchronously and reports it with raft_persisted (see THE READY
     * CONTRACT, "ASYNCHRONOUS PERSISTENCE"). Off: raft_advance means the Ready is durable. */
    bool async_persist;

    /* Restart: what the caller restored from disk (all zero for a brand-new node). The core
     * re-delivers committed entries from snapshot.index + 1 (the state machine is restored from
     * the snapshot, then entries are re-applied), reading them through `storage`.
     * Requirements (else -RAFT_EINVAL): snapshot.index <= last_index, hard_state.commit <=
     * last_index, last_term <= hard_state.term — they hold when the entries and the hard state
     * of one Ready are made durable together (one WAL batch; a torn batch is dropped whole).
     * The core does not rely on that for safety: a node whose log holds two membership changes
     * above its restored commit index (the hard state saying the first was committed was lost)
     * does not campaign until a leader tells it the commit index.
     * hard_state.commit < snapshot.index is fine (a Ready that only moved commit has
     * must_sync == false and may be lost while the snapshot survived): the core raises commit
     * to snapshot.index itself. */
    raft_hard_state hard_state;
    raft_snapshot_meta snapshot;
    uint64_t last_index; /* last entry in the persisted log (>= snapshot.index) */
    uint64_t last_term;  /* its term */

    raft_storage storage; /* callbacks; entries, term and snapshot_chunk must be set */
} raft_config;

/* Fill *cfg with defaults: election_tick 10, heartbeat_tick 1, max_inflight 256,
 * max_batch_bytes 1 MiB, max_uncommitted_bytes 64 MiB, mem_retain_entries 4096,
 * mem_retain_bytes 1 MiB (Redis's default repl-backlog-size),
 * promote_max_lag 1024, pre_vote and check_quorum on, lease_reads off, drift 2; the rest 0. */
void raft_config_default(raft_config *cfg);

/* ---- lifecycle -------------------------------------------------------------------------- */
typedef struct raft raft; /* opaque */

/* Create an instance. Returns NULL on invalid config (*err_out = -RAFT_EINVAL) or no memory
 * (-RAFT_ENOMEM). err_out may be NULL. cfg is copied. */
raft *raft_create(const raft_config *cfg, int *err_out);
void raft_destroy(raft *r); /* NULL is fine */

/* ---- inputs ----------------------------------------------------------------------------- */
/* Advance logical time by one tick (election/heartbeat timers, check-quorum, lease, transfer
 * timeout). */
void raft_tick(raft *r);
/* The driver's loop could not run for a while (the ticks it missed are about to be given at
 * once, before any message that waited meanwhile). A leader gives every follower one more
 * CheckQuorum period, as a fresh leader does: it could not read their messages. A whole one:
 * the period restarts (the server calls it again after the catch-up's ticks, so the followers
 * get a full period of running time to answer; they may have been held too). Liveness only: the
 * lease counts the ticks of acknowledged rounds, not this. No effect on other roles. */
void raft_note_stall(raft *r);
/* The transport heard from id's process without a message of the core: the keepalive of a node
 * whose own loop is held (a follower applying a long entry cannot answer). A leader counts id
 * as active for this CheckQuorum period, as if it had answered. Liveness only: no lease, no read
 * round, no progress comes of it. No effect on other roles or unknown ids. */
void raft_peer_alive(raft *r, raft_id id);

/* Process a message from a peer (m->to must be this node). */
int raft_step(raft *r, const raft_message *m);

/* Leader only: append application data. *index_out (may be NULL) = the entry's index; the entry
 * is committed once it shows up in Ready.committed with that index and the same term.
 * Errors: -RAFT_ENOTLEADER, -RAFT_ETRANSFER (transfer in progress), -RAFT_EBUSY (too much
 * uncommitted), -RAFT_ETOOBIG (len > max_batch_bytes). */
int raft_propose(raft *r, const void *data, size_t len, uint64_t *index_out);

/* Linearizable reads: ReadIndex, dissertation §6.4. On the leader the read is confirmed by one
 * heartbeat round (shared by every read requested before the next Ready) and only once this
 * term's no-op committed; on a follower it is forwarded to the leader. The result arrives as a
 * raft_read_state with the same ctx. -RAFT_ENOTLEADER if no leader is known, -RAFT_EBUSY if
 * RAFT_MAX_PENDING_READS are pending. */
int raft_read_index(raft *r, uint64_t ctx);

/* Lease reads, leader only, need cfg.lease_reads: if the lease is valid and this term's
 * no-op committed, the read state (index = commit) is produced in the next Ready (once applied)
 * with no round trip. Else -RAFT_ENOTLEADER / -RAFT_ENOTREADY (fall back to raft_read_index). */
int raft_read_lease(raft *r, uint64_t ctx);

/* Leader only: hand leadership to `to` (§3.10): catch it up, then send TimeoutNow. Proposals
 * get -RAFT_ETRANSFER meanwhile; aborted after election_tick ticks. Transferring to self or to a
 * non-voter is -RAFT_EINVAL. */
int raft_transfer_leader(raft *r, raft_id to);

/* Single-server membership change (dissertation §4.1), applied when the entry is APPLIED
 * (raft_advance of the Ready whose committed entries contain it). One at a time: -RAFT_EBUSY
 * while a previous change is not applied or this term's no-op is not committed. PROMOTE is
 * refused (-RAFT_ENOTREADY) until the learner caught up (match + promote_max_lag >= last).
 * A change that does not fit the membership (adding a member, removing a stranger or the last
 * voter) is -RAFT_EINVAL; during a leadership transfer -RAFT_ETRANSFER.
 * Removing the leader itself: it keeps leading until the change is applied, then steps down
 * (and sends TimeoutNow to the most up-to-date remaining voter). */
typedef enum {
    RAFT_CC_ADD_VOTER = 1,
    RAFT_CC_ADD_LEARNER = 2,
    RAFT_CC_PROMOTE = 3, /* learner -> voter */
    RAFT_CC_REMOVE = 4,
} raft_cc_type;

typedef struct raft_conf_change {
    raft_cc_type type;
    raft_id node;
} raft_conf_change;

int raft_propose_conf_change(raft *r, const raft_conf_change *cc, uint64_t *index_out);
/* Decode a CONF_CHANGE entry's data. -RAFT_EINVAL if malformed. */
int raft_conf_change_decode(const raft_entry *e, raft_conf_change *out);

/* Snapshots (§7). The application snapshots its state machine at its applied index:
 * raft_snapshot_meta_applied gives the metadata for that point (index = applied, its term and
 * the membership as of it). Once the snapshot is durable and readable through
 * storage.snapshot_chunk, call raft_compact with that metadata: the core then serves lagging
 * followers from it and forgets entries <= meta->index; the caller may drop them from its WAL
 * afterwards. -RAFT_EINVAL if meta->index > applied or older than the current snapshot. */
int raft_snapshot_meta_applied(const raft *r, raft_snapshot_meta *out);
int raft_compact(raft *r, const raft_snapshot_meta *meta);

/* Transport feedback: messages to or from `id` were lost (its link closed, a send was dropped).
 * A replicating follower falls back to probing (no more pipelining into a dead link; the probe
 * goes out at its next heartbeat response); a snapshot chunk in flight is resent at its next
 * heartbeat response instead of after the resend timeout. The driver calls it outside a Ready
 * (node.c, from peer_net_take_unreachable). */
void raft_report_unreachable(raft *r, raft_id id);
/* Transport feedback on a snapshot send to `id` (ok=false: restart it from offset 0 at the next
 * tick). Without feedback a chunk whose SNAPSHOT_RESP does not come is resent after 4 election
 * timeouts, doubling up to 16 while nothing answers (never on heartbeat responses: a chunk is up
 * to max_batch_bytes). */
void raft_report_snapshot(raft *r, raft_id id, bool ok);

/* The exception to the durability rule (see THE READY CONTRACT): m may leave before the fsync
 * of its Ready when it is a leader's APPEND/HEARTBEAT/SNAPSHOT/TIMEOUT_NOW of a term that is
 * already durable on this node. */
bool raft_may_send_early(const raft_message *m, uint64_t durable_term);

/* A leader whose caller cannot run the core for a while (its event loop is held by a long
 * script, possibly in the middle of a Ready) may send these at once, from anywhere: one HEARTBEAT
 * per other member with no commit index and no read round (commit 0, ctx 0). A follower takes
 * one as contact from its leader (its election timer restarts; it promises not to vote for
 * another within an election timeout, as for any heartbeat) and answers it; the answer counts
 * for CheckQuorum only, never for a lease or a read round. Writes up to cap messages to out and
 * returns how many (0 unless leader). Reads r only; send them with raft_may_send_early's rule. */
size_t raft_keepalive(const raft *r, raft_message *out, size_t cap);

/* async_persist only, outside a Ready: every entry up to `index` (whose term is `term`) that
 * was handed out in a Ready is now durable on this node (its fsync returned). Stale or repeated
 * reports are ignored. On the leader this may advance the commit index (a new Ready). */
void raft_persisted(raft *r, uint64_t index, uint64_t term);

/* ---- outputs ---------------------------------------------------------------------------- */
bool raft_has_ready(const raft *r);
/* Take the next batch (may be empty if !raft_has_ready). See THE READY CONTRACT. */
void raft_ready_get(raft *r, raft_ready *rd);
/* The caller persisted, sent and applied everything in rd (steps 1-7). Frees rd's memory. */
void raft_advance(raft *r, const raft_ready *rd);

/* ---- introspection ---------------------------------------------------------------------- */
typedef struct raft_status {
    raft_id id;
    raft_role role;
    raft_id leader;
    uint64_t term;
    raft_id vote;
    uint64_t commit;
    uint64_t applied;
    uint64_t first_index; /* first entry in the log (snapshot index + 1) */
    uint64_t last_index;
    uint64_t last_term;
    uint64_t snapshot_index;
    raft_membership config; /* as of the applied index */
    bool lease_valid;       /* leader: a lease read would be served now */
    bool transferring;      /* leader: a transfer is in progress */
    raft_id transfer_to;
    /* leader: the followers its commit quorum waits for (its appends to the others carry
     * sync_later; every voter while it evaluates which to pick) */
    uint32_t n_waited;
    raft_id waited[RAFT_MAX_MEMBERS];
} raft_status;

void raft_status_get(const raft *r, raft_status *st);
raft_id raft_id_of(const raft *r);
uint64_t raft_term_of(const raft *r);       /* current term (cheap; raft_status_get copies a lot) */
uint64_t raft_last_index_of(const raft *r); /* index of the last entry in the log (cheap) */
uint64_t raft_commit_of(const raft *r);     /* commit index (cheap) */
bool raft_sole_voter(const raft *r);        /* the membership is this node alone, no learners */
/* Leader whose no-op of this term is committed: it knows every entry committed before it. */
bool raft_leader_current(const raft *r);
/* Leader: how many voters other than itself have the entry at index in their log (match index
 * >= index; a follower acknowledges only entries it has synced, so they are durable there).
 * -1 when not the leader. */
int raft_replicated_to(const raft *r, uint64_t index);
int raft_other_voters(const raft *r); /* voters of the applied membership, not counting itself */

#endif
