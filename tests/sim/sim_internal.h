/* sim_internal.h — state shared by sim.c (cluster, network, Ready loop) and sim_world.c
 * (client workload, faults, membership, liveness, history check). */
#ifndef SYNOD_SIM_SIM_INTERNAL_H
#define SYNOD_SIM_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/raft.h"
#include "invariants.h"
#include "lincheck.h"
#include "sim.h"
#include "sim_disk.h"
#include "sim_rng.h"

#define SIM_MAX_NODES       12 /* node ids 1..12: initial voters, then replacements */
#define SIM_KEYS            3
#define SIM_CLIENTS         4
#define SIM_SNAP_BYTES      (16 + SIM_KEYS * 9)
#define SIM_SNAP_MAX        4096
#define SIM_INBOX_MAX       1024
#define SIM_TICK_US         10000 /* one raft tick = 10 ms of virtual time */
#define SIM_ELECTION_TICK   10
#define SIM_HEARTBEAT_TICK  2
#define SIM_KEEPALIVE_TICKS SIM_HEARTBEAT_TICK /* a held leader's keepalives, as busy.c's */
#define SIM_OP_TIMEOUT_US   400000
#define SIM_LIVENESS_US     10000000 /* after healing: a leader and a new commit within 10 s */
/* after a link phase's reopen: the follower catches up within this (the snapshot resend
 * timeout's cap, 16 election timeouts = 1.6 s, plus the transfer) */
#define SIM_LINK_QUIET_US 2500000

typedef struct sim sim;

typedef struct {
    raft_message m; /* entries and data follow in the same allocation */
} sim_msg;

struct sim_sync_req {
    uint64_t ticket, index, term, hs_term;
};
struct sim_held {
    uint64_t ticket;
    sim_msg *msg;
};

typedef enum {
    EV_TICK = 1,
    EV_DELIVER,
    EV_DISK_DONE,
    EV_CLIENT,      /* node = 0, arg = client */
    EV_FAULT,       /* the fault schedule */
    EV_RESTART,     /* node comes back */
    EV_HEAL,        /* end of the fault phase */
    EV_LIVENESS,    /* liveness probe */
    EV_CHURN,       /* crash node if it still leads term arg (leader churn) */
    EV_LEASE_END,   /* end of the lease phase: the isolated leader's links come back */
    EV_THAW,        /* a stalled node's event loop runs again */
    EV_LINK_UP,     /* end of a link outage (arg = its number) */
    EV_LINK_CHECK,  /* end of the link phase: the cut-off follower must have caught up */
    EV_UNREACHABLE, /* the transport tells node that peer arg lost messages */
    EV_NONE         /* cancelled in place (e.g. a message lost with its sender's send buffer) */
} sim_event_kind;

typedef struct {
    int64_t t;
    uint64_t seq; /* tie-break: insertion order */
    uint8_t kind;
    int node;
    uint32_t gen; /* node incarnation the event belongs to (stale events are ignored) */
    uint64_t arg;
    sim_msg *msg; /* EV_DELIVER, owned by the event */
} sim_event;

typedef struct {
    uint8_t kind; /* lincheck_vkind */
    int64_t v;
} sim_kv;

typedef struct {
    sim *s;
    int idx;     /* == raft id */
    bool exists; /* a member (or joining); false = never started or removed */
    bool up;
    uint32_t gen;
    raft *r;
    sim_disk disk;
    bool busy; /* between raft_ready_get and raft_advance, waiting for the disk */
    int64_t busy_until_us;
    raft_ready rd;
    uint8_t *sent_early; /* rd.messages[i] already left before the fsync (raft_may_send_early) */
    size_t sent_early_cap;
    uint32_t missed_ticks;
    /* The node's event loop is stalled (a long fsync, a fork, a stop signal) until then: it
     * handles nothing; messages wait in its inbox and its clock keeps going. Whether the ticks
     * that fell in the stall reach the core before its I/O (the driver catches up on the
     * monotonic clock) or are lost (--lose-stalled-ticks: a tick timer re-armed without
     * catch-up) is what the lease depends on (issue 8, bug 2). */
    int64_t stalled_until_us;
    bool stall_lost_tick; /* --lose-stalled-ticks: the one tick the timer delivers late */
    /* this stall holds the loop as a long script does (every other stall): a leader sends
     * raft_keepalive's heartbeats every SIM_KEEPALIVE_TICKS meanwhile, as server/busy.c does */
    bool stall_keepalive;
    bool catching_up; /* delivering missed ticks: capped once, as node_catch_up does */
    bool stall_noted; /* this catch-up began with raft_note_stall: it ends with one too */
    int64_t tick_us;
    int64_t slow_disk_until_us;
    sim_kv kv[SIM_KEYS];
    uint64_t applied;
    uint64_t last_commit;      /* commit seen after the last step (churn trigger) */
    uint64_t lead_term;        /* term it led at the last check (0: not leading) */
    raft_membership last_conf; /* its membership at the last check */
    /* The storage thread (the default; --blocking-disk: the old driver, busy in step 4). A Ready
     * with must_sync asks for a sync (a ticket) and goes on; one fdatasync at a time runs, for
     * the newest ticket, covering the records written before it began (sim_disk_mark). The
     * loop learns of its return when it runs (a stalled loop later), then reports
     * raft_persisted and sends the messages held for it. */
    uint64_t sync_req;    /* last ticket requested */
    uint64_t sync_disk;   /* last ticket whose fdatasync returned on the disk */
    uint64_t sync_done;   /* ... and that the loop handled */
    uint64_t sync_flight; /* ticket of the fdatasync running (0: none) */
    uint64_t sync_flight_mark;
    bool sync_urgent;          /* a ticket since the last fdatasync began had no sync_may_wait */
    uint64_t durable_term;     /* the loop's view: term of the last hard state a sync covered */
    struct sim_sync_req *sreq; /* requested, not yet handled: {ticket, last entry, hs term} */
    size_t sreq_n, sreq_cap;
    struct sim_held *held; /* messages waiting for a ticket, in Ready order */
    size_t held_n, held_cap;
    sim_msg *inbox[SIM_INBOX_MAX]; /* messages that arrived while busy, FIFO, owned */
    size_t inbox_head, inbox_len;
    uint8_t recv[SIM_SNAP_MAX]; /* snapshot being received */
    uint32_t recv_len;
} sim_node;

typedef struct {
    bool active;
    uint8_t op; /* lincheck_opkind */
    uint8_t key;
    bool lease;
    int node;
    uint32_t node_gen;
    uint32_t req;
    int64_t value;
    int64_t call; /* history time (step number) */
    int64_t deadline_us;
} sim_client;

struct sim {
    sim_options opt;
    sim_rng rng;
    int64_t now_us;
    uint64_t step;
    bool failed;
    char why[600];

    sim_event *events; /* binary heap */
    size_t n_events, cap_events;
    uint64_t next_seq;

    sim_node nodes[SIM_MAX_NODES + 1]; /* 1-based */
    raft_membership bootstrap;
    int next_id;
    inv_checker *inv;

    /* network faults */
    bool cut[SIM_MAX_NODES + 1][SIM_MAX_NODES + 1]; /* cut[a][b]: a cannot send to b */
    uint32_t drop_ppm, dup_ppm, slow_msg_ppm;
    int64_t lat_min_us, lat_max_us, slow_msg_max_us;
    uint64_t snap_every;
    uint64_t batch_bytes;  /* raft max_batch_bytes for this run */
    uint32_t max_inflight; /* raft max_inflight for this run */

    /* workload */
    sim_client clients[SIM_CLIENTS];
    lincheck_op *history;
    size_t n_history, cap_history;
    uint32_t next_req;

    /* phases */
    bool healed;
    int64_t healed_at_us;
    bool live;             /* liveness proven after healing */
    uint64_t marker_index; /* index of the first marker committed after healing */
    bool caught_up;        /* every member of the leader's config applied it */
    uint32_t marker_req;
    int marker_node;
    uint32_t marker_gen;

    /* leader churn: until churn_until_us every new leader is crashed soon after it wins,
     * which leaves partly replicated entries of many terms behind (Raft Figure 8) */
    int64_t churn_until_us;
    uint64_t churned_term;

    /* lease phase: lease_node (a leader when the phase began) is cut off from the majority
     * until lease_until_us; clients send lease reads of lease_key to it and writes of that key
     * to the other side, which elects a new leader. A lease that outlives the old leader's
     * quorum shows up as a stale read. 0 = no phase running. */
    sim_rng lease_rng; /* the phase's own draws (seeded from the seed too) */
    int lease_node;
    uint32_t lease_gen;
    int64_t lease_until_us;
    uint8_t lease_key;
    uint64_t lease_phases, lease_reads_in_phase, lease_deposed_grants;
    uint64_t keepalives; /* raft_keepalive heartbeats sent by held leaders */
    uint64_t pings;      /* held nodes' pings (raft_peer_alive at a running node) */

    /* link outage: the peer link between link_a and link_b closed (as the real transport closes
     * a link silent for 1.5 s, e.g. to a stopped process) until link_until_us. Messages in
     * flight when it closes are lost or not (already in the receiver's socket buffer); sent
     * meanwhile, one direction's are lost, the other's are lost too or held (written to a
     * stopped peer's socket) and delivered at link_flush_us, shortly before the reopen, while
     * the answers still die. At the reopen each side's transport may report the other
     * unreachable (raft_report_unreachable). link_a == 0: none. */
    sim_rng link_rng; /* the outages' own draws (seeded from the seed) */
    int link_a, link_b;
    bool link_held[2]; /* [0]: a->b held (else lost), [1]: b->a */
    int64_t link_until_us, link_flush_us;
    uint64_t link_outages;
    /* the link phase (sim_world.c, link_phase_start): an outage between the leader and a
     * follower, alone, then SIM_LINK_QUIET_US of quiet; link_phase_us = its end, 0 = none */
    int64_t link_phase_us;
    int link_leader, link_follower;
    uint32_t link_leader_gen, link_follower_gen;
    uint64_t link_term, link_commit; /* the leader's term, its commit at the reopen */
    uint64_t link_checks;            /* phases whose catch-up was checked */

    /* membership */
    int joining;  /* id being added as learner, 0 = none */
    int removing; /* id whose removal was proposed, 0 = none */

    /* stats */
    int leader_hint;
    uint64_t max_leader_term, elections, max_commit, crashes, snapshots, conf_changes, transfers;
    uint64_t ops_ok, ops_pending;
    bool lin_unknown;
};

/* sim.c */
void sim_trace(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_fail(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_schedule(sim *s, sim_event ev);
int sim_node_start(sim *s, sim_node *n);
void sim_node_crash(sim *s, sim_node *n);
void sim_node_stop(sim *s, sim_node *n);
void sim_process_ready(sim *s, sim_node *n);
void sim_check_node(sim *s, sim_node *n);
bool sim_node_stalled(const sim *s, const sim_node *n);
void sim_node_stall(sim *s, sim_node *n, int64_t until_us);
void sim_link_outage_start(sim *s, int a, int b, int64_t dur_us);
void sim_link_outage_end(sim *s);
void sim_report_unreachable(sim *s, sim_node *n, int peer);

/* sim_world.c */
void sim_world_init(sim *s);
void sim_world_deinit(sim *s);
void sim_world_event(sim *s, sim_event *ev);
void sim_world_new_leader(sim *s, sim_node *n, uint64_t term);
void sim_world_leader_commit(sim *s, sim_node *n, uint64_t term);
void sim_world_apply(sim *s, sim_node *n, const raft_entry *e);
void sim_world_read_state(sim *s, sim_node *n, const raft_read_state *rs);
bool sim_world_done(sim *s);   /* may the run stop (liveness proven)? */
void sim_world_finish(sim *s); /* end of run: liveness verdict, history check */

#endif
