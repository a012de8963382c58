/* raft_internal.h — the instance layout and the functions the raft_*.c files share. */
#ifndef SYNOD_CONSENSUS_RAFT_INTERNAL_H
#define SYNOD_CONSENSUS_RAFT_INTERNAL_H

#include "consensus/raft.h"

#include "util/assert.h"

/* Progress of one follower as seen by the leader (etcd's tracker.Progress). */
typedef enum {
    PR_PROBE = 0,     /* next unknown: one APPEND in flight, then wait (paused) */
    PR_REPLICATE = 1, /* steady state: pipeline up to max_inflight APPENDs */
    PR_SNAPSHOT = 2,  /* sending the snapshot in chunks, one chunk in flight */
} pr_state;

typedef struct progress {
    raft_id id;
    bool voter;
    uint64_t match; /* highest index known replicated there; match < next */
    uint64_t next;  /* next index to send */
    pr_state state;
    bool paused;         /* PROBE/SNAPSHOT: a message is in flight, wait for a reply */
    bool recent_active;  /* heard from it since the last check-quorum period */
    uint32_t n_inflight; /* REPLICATE: entries of inflight[] in use, <= cfg.max_inflight */
    uint32_t inflight_head;
    uint64_t *inflight;       /* ring of 2 * cfg.max_inflight: [i] last index of each APPEND in
                                 flight (ascending), [max_inflight + i] the heartbeat round
                                 (`round`) current when it was sent */
    uint64_t ack_round;       /* highest heartbeat round it acknowledged (this term) */
    uint64_t ack_tick;        /* leader tick at which that round was sent (lease) */
    uint64_t ack_seq;         /* order of that acknowledgement among all (r->ack_seq) */
    bool sync_pick;           /* the commit quorum waits for it (raft_replication.c) */
    uint32_t eval_acks;       /* match advances in the current evaluation window */
    uint64_t match_at_tick;   /* match at the last tick (a picked follower gone silent) */
    uint64_t snap_index;      /* SNAPSHOT: index of the snapshot being sent */
    uint64_t snap_acked;      /* SNAPSHOT: bytes acknowledged */
    uint64_t snap_sent_tick;  /* SNAPSHOT: now_tick when the chunk in flight was sent */
    uint32_t snap_wait_ticks; /* SNAPSHOT: resend it if no SNAPSHOT_RESP within this */
    bool snap_lost;           /* SNAPSHOT: the transport lost the chunk in flight (its link
                                 closed): resend it at the next heartbeat response */
} progress;

/* A majority configuration (raft_quorum.c): the voters of one membership. */
typedef struct raft_majority {
    uint32_t n;
    raft_id ids[RAFT_MAX_MEMBERS];
} raft_majority;

typedef enum { RAFT_VOTE_PENDING = 0, RAFT_VOTE_WON, RAFT_VOTE_LOST } raft_vote_result;

typedef struct pending_read {
    uint64_t ctx;
    uint64_t index; /* read index; 0 = not assigned yet (waiting for this term's no-op) */
    uint64_t round; /* heartbeat round that confirms it; 0 = needs a new round */
    raft_id from;   /* 0 = local request, else the follower that forwarded it */
} pending_read;

typedef struct read_queue { /* bounded FIFO ring */
    uint32_t head, n;
    pending_read items[RAFT_MAX_PENDING_READS];
} read_queue;

typedef struct out_msg {
    raft_message m;
    uint64_t lazy_lo; /* != 0: entries lazy_lo.. are in the memory log, resolved at Ready */
} out_msg;

#define ROUND_RING 1024 /* send ticks of the last heartbeat rounds (lease) */

struct raft {
    raft_config cfg;
    uint64_t rng;

    /* durable state */
    uint64_t term;
    raft_id vote;

    raft_role role;
    raft_id leader;
    raft_membership conf; /* membership as of `applied` */
    raft_majority
        quorum; /* conf's voters; rebuilt with the progress (raft_conf_rebuild_progress) */

    /* log. Invariants: snap.index <= applied <= commit <= last_index (SYN_ASSERT'd);
     * snap.index <= durable <= stable <= last_index; every entry > durable is in memory
     * (mem_first <= durable + 1); with cfg.async_persist, applied <= durable too. */
    raft_snapshot_meta snap;
    uint64_t last_index, last_term;
    uint64_t stable;  /* entries <= stable were handed to the caller to persist (advance'd) */
    uint64_t durable; /* entries <= durable are on disk: = stable at advance, or (async_persist)
                         what raft_persisted reported; the leader counts itself up to here */
    uint64_t commit;  /* highest index known committed */
    uint64_t applied; /* highest index the application applied (advance'd) */
    raft_entry *mem;  /* entries mem[mem_off .. mem_off + mem_n) have indexes mem_first.. */
    size_t mem_cap, mem_off, mem_n;
    uint64_t mem_first;
    uint64_t mem_bytes; /* sum of the data lengths of the entries in mem */
    /* where entries' data live (raft_log.c): carved in order from blocks, each freed when its
     * last entry goes; one emptied block is kept for reuse */
    struct raft_lblock *lb_cur, *lb_spare;

    /* timers (ticks) */
    uint64_t now_tick;
    uint32_t election_elapsed;
    uint32_t heartbeat_elapsed;
    uint32_t randomized_timeout;
    /* Ticks since this node last heard from a leader of its term (APPEND, HEARTBEAT or
     * SNAPSHOT), kept apart from `leader`: a higher-term message that is not from a leader
     * clears `leader` but must not end the stickiness that protects that leader's lease (§9.6,
     * §6.4.1). Starts at 0 with lease reads (a restarted node may have acked a heartbeat just
     * before it went down), else at election_tick. */
    uint32_t leader_contact_elapsed;

    /* election */
    raft_id votes_granted[RAFT_MAX_MEMBERS];
    raft_id votes_rejected[RAFT_MAX_MEMBERS];
    uint32_t n_granted, n_rejected;

    /* leader */
    progress prs[RAFT_MAX_MEMBERS];
    uint32_t n_prs;
    uint64_t noop_index; /* this term's no-op; reads and conf changes wait for its commit */
    uint64_t pending_conf_index;
    uint64_t uncommitted_bytes;
    raft_id transfer_to;
    uint32_t transfer_elapsed;
    bool transfer_sent;      /* TimeoutNow already sent for this transfer */
    bool lease_disabled;     /* a TimeoutNow went out this term: never serve lease reads again */
    uint64_t round;          /* last heartbeat round sent */
    uint64_t ack_seq;        /* round acknowledgements counted so far (progress.ack_seq) */
    uint32_t sync_eval_left; /* ticks left in the window that picks the followers to wait for */
    uint64_t sync_eval_next; /* now_tick at which the next window opens */
    uint64_t round_tick[ROUND_RING];
    bool need_bcast;        /* send appends to everyone at the next Ready */
    bool need_bcast_commit; /* ... even empty ones: the commit index moved */
    bool need_round;        /* send a heartbeat round at the next Ready (pending reads) */
    uint8_t sync_hint;      /* entries appended since the last Ready: 1 all sync_later, 2 not */

    /* reads */
    read_queue reads;     /* leader: waiting for a round / for the no-op */
    read_queue confirmed; /* confirmed, waiting for applied >= index (or failed) */

    /* follower: snapshot being received */
    raft_snapshot_meta recv_snap;
    uint64_t recv_offset;
    bool recv_active;
    raft_snapshot_chunk chunk; /* handed out in the next Ready */
    uint8_t *chunk_buf;

    /* output */
    out_msg *outbox;
    size_t out_n, out_cap;
    raft_message *rd_msgs;
    size_t rd_msgs_cap;
    raft_read_state *rd_reads;
    raft_hard_state prev_hs;
    raft_soft_state prev_ss;
    bool in_ready;
    uint64_t rd_stable_to;  /* what the Ready being processed persists */
    uint64_t rd_applied_to; /* ... applies */
    uint32_t rd_n_reads;    /* ... releases from `confirmed` */
    void **scratch;         /* blocks freed at advance */
    size_t scratch_n, scratch_cap;
    bool oom; /* an allocation failed while producing output: fatal */
};

/* raft.c */
uint64_t raft_rand(raft *r);
void *raft_scratch(raft *r, size_t bytes); /* freed at the next advance; aborts on OOM */
raft_message *raft_send(raft *r, raft_msg_type type, raft_id to);
out_msg *raft_send_out(raft *r, raft_msg_type type, raft_id to);
uint64_t raft_quorum_value(const raft *r, const uint64_t *vals_by_pr);
bool raft_is_voter(const raft *r, raft_id id);
bool raft_is_learner(const raft *r, raft_id id);
progress *raft_progress_of(raft *r, raft_id id);
bool raft_promotable(const raft *r);
bool raft_membership_valid(const raft_membership *m);
void raft_check_invariants(const raft *r);
int raft_drop_outbox_leader_msgs(raft *r);

/* log.c */
int raft_log_term(raft *r, uint64_t index, uint64_t *term_out);
raft_entry *raft_log_mem_at(raft *r, uint64_t index); /* NULL if not in memory */
int raft_log_append(raft *r, uint64_t term, raft_entry_type type, const void *data, uint32_t len);
void raft_log_truncate_from(raft *r, uint64_t index);
void raft_log_trim(raft *r);
void raft_log_reset(raft *r, uint64_t index, uint64_t term);
void raft_log_free(raft *r);
/* Entries [lo, hi] for a message or for applying: from memory (lazy, stable until advance) or
 * copied from storage. Returns count (>= 1) or negative error; *lazy set if from memory. */
int raft_log_slice(raft *r, uint64_t lo, uint64_t hi, uint64_t max_bytes, const raft_entry **out,
                   bool *lazy);
bool raft_log_up_to_date(const raft *r, uint64_t last_index, uint64_t last_term);

/* election.c */
void raft_become_follower(raft *r, uint64_t term, raft_id leader);
void raft_become_leader(raft *r);
void raft_campaign(raft *r, bool pre, bool transfer);
void raft_reset_election_timer(raft *r);
int raft_step_vote(raft *r, const raft_message *m);
void raft_step_vote_resp(raft *r, const raft_message *m);

/* replication.c */
void raft_pr_reset(raft *r, progress *pr, bool keep_match);
void raft_sync_pick_reset(raft *r);
void raft_sync_pick_tick(raft *r);
void raft_send_append(raft *r, progress *pr, bool allow_empty);
void raft_bcast_append(raft *r, bool allow_empty);
void raft_bcast_heartbeat(raft *r);
void raft_bcast_heartbeat_to(raft *r, bool reads_only);
bool raft_maybe_commit(raft *r);
void raft_handle_append(raft *r, const raft_message *m);
void raft_handle_append_resp(raft *r, const raft_message *m);
void raft_handle_heartbeat(raft *r, const raft_message *m);
void raft_handle_heartbeat_resp(raft *r, const raft_message *m);
void raft_transfer_check(raft *r, progress *pr);
void raft_abort_transfer(raft *r);
void raft_set_commit(raft *r, uint64_t commit);

/* quorum.c */
void raft_majority_init(raft_majority *q, const raft_membership *m);
uint32_t raft_majority_size(const raft_majority *q); /* voters needed for a quorum */
/* Do the voters among set[0..n_set) form a quorum? (ids outside q are ignored) */
bool raft_majority_is_quorum(const raft_majority *q, const raft_id *set, uint32_t n_set);
/* An election's state given the voters that granted and those that rejected. */
raft_vote_result raft_majority_vote(const raft_majority *q, const raft_id *granted,
                                    uint32_t n_granted, const raft_id *rejected,
                                    uint32_t n_rejected);
/* The largest v such that a quorum of voters has a value >= v; vals[i] belongs to ids[i] and a
 * voter not listed counts as 0 (commit index: match indexes; reads: acked rounds). */
uint64_t raft_majority_value(const raft_majority *q, const raft_id *ids, const uint64_t *vals,
                             uint32_t n);

/* readonly.c */
void raft_reads_fail_all(raft *r, int err);
void raft_reads_on_commit(raft *r);
void raft_reads_on_round_ack(raft *r);
void raft_reads_assign_round(raft *r);
void raft_handle_read_index(raft *r, const raft_message *m);
void raft_handle_read_index_resp(raft *r, const raft_message *m);
bool raft_lease_valid(const raft *r);
int raft_reads_push(read_queue *q, const pending_read *pr);

/* membership.c */
void raft_conf_rebuild_progress(raft *r);
void raft_conf_apply(raft *r, const raft_entry *e);
bool raft_has_unapplied_conf(raft *r);
bool raft_config_unknown(raft *r);

/* snapshot.c */
void raft_send_snapshot(raft *r, progress *pr);
void raft_snapshot_tick(raft *r); /* leader: resend a chunk whose answer did not come */
void raft_handle_snapshot(raft *r, const raft_message *m);
void raft_handle_snapshot_resp(raft *r, const raft_message *m);

#endif
