/* sim.h — deterministic simulator of a synod consensus cluster.
 *
 * One run = one seed: 3 or 5 raft instances in one process, virtual time, a fake network
 * (drop, duplicate, reorder, delay, symmetric and asymmetric partitions, peer links closed and
 * reopened with messages lost both ways), fake disks with
 * fsync (crash loses unsynced writes, possibly torn), slow disks, crashes and restarts,
 * membership changes, leadership transfers, snapshots; a KV workload whose history is checked
 * by lincheck; safety invariants (invariants.h) after every step; liveness after the faults
 * heal. All randomness comes from the seed, so a seed replays a run step for step. */
#ifndef SYNOD_SIM_SIM_H
#define SYNOD_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;
    int nodes;           /* 3 or 5 voters at the start */
    uint64_t steps;      /* events to process (the run continues past it only to prove liveness) */
    bool verbose;        /* trace every event to stdout */
    bool quiet;          /* no output on success */
    bool no_commit_rule; /* skip LEADER_COMMIT_RULE: catch that bug by its consequences */
    bool stale_reads;    /* deliberately broken: serve reads from the local state at once */
    bool skip_fsync;     /* deliberately broken: ignore must_sync (send before durable) */
    bool clock_skew;     /* deliberately broken: node clocks differ up to 10x, past the lease's
                            drift bound */
    uint32_t clock_drift_pct; /* 0: tick periods 10 ms +-2.5%; else drawn from
                                 [10 ms * (1 - pct/100), 10 ms] per node (probe the drift bound) */
    bool no_lease_phase;      /* never run the lease phase (to compare what it catches) */
    bool lose_stalled_ticks;  /* deliberately broken: ticks that fall in a stalled event loop
                                 are lost but one (a timer re-armed without catch-up) */
    bool torn_prefix;         /* the WAL before batch ends: a crash keeps any record prefix, so a
                                 Ready's entries may survive without its hard state */
    bool no_lease_check;      /* don't fail a lease read granted by a deposed leader (leave
                                 the stale read it may cause to lincheck) */
    bool no_durable_check;    /* skip DURABLE_QUORUM: catch those bugs by their consequences */
    bool blocking_disk;       /* the old driver: the event loop waits in step 4 for the fsync
                                 (default: a storage thread syncs, raft_config.async_persist) */
} sim_options;

typedef struct {
    bool ok;
    uint64_t steps;               /* events processed */
    int64_t virtual_us;           /* virtual time at the end */
    uint64_t ops_ok, ops_pending; /* client operations completed / indeterminate */
    uint64_t commits;             /* highest commit index seen */
    uint64_t elections;           /* distinct leader terms */
    uint64_t crashes, snapshots, conf_changes, transfers;
    uint64_t lease_phases;         /* lease phases run (an isolated leader, see sim_world.c) */
    uint64_t lease_reads_in_phase; /* lease reads the isolated leader granted during them */
    uint64_t lease_deposed_grants; /* lease reads granted by a leader whose term is older than
                                      the newest leader's: must stay 0 with a correct lease */
    uint64_t keepalives;           /* heartbeats sent by leaders held in a stall */
    uint64_t pings;                /* held nodes' pings taken by a running node (peer_alive) */
    uint64_t link_outages;         /* link phases run (a closed leader-follower link) */
    uint64_t link_checks;          /* ... whose follower's catch-up was checked */
    bool lin_unknown;              /* the linearizability search hit its limit */
    char why[600];                 /* first failure */
} sim_result;

/* Runs one seed. Returns 0 (result filled; result->ok says pass/fail) or -1 on setup error. */
int sim_run(const sim_options *opt, sim_result *result);

#endif
