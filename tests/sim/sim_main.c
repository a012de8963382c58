/* sim_main.c — runs simulator seeds.
 *
 *   sim [--seed N] [--seeds COUNT] [--nodes 3|5|0] [--steps S] [--verbose] [--expect-fail]
 *
 * Runs seeds N .. N+COUNT-1 (--nodes 0: odd seeds with 5 nodes, even seeds with 3). Every
 * failure prints its seed and the command that replays it. Exit 0 if every seed passed;
 * with --expect-fail, exit 0 only if some seed FAILED (for builds with a deliberate bug).
 * --stale-reads breaks the simulated server on purpose (reads answered from the local state
 * machine of whatever node the client picked, no ReadIndex): lincheck must catch it.
 * --skip-fsync breaks it differently: messages leave before the writes they depend on are
 * durable (the Ready contract ignored), so crashes lose votes and acknowledged entries.
 * --clock-skew lets node clocks run up to 10x apart, far past the lease's drift bound: lease
 * reads on a slow-clocked deposed leader return stale values, which lincheck must catch.
 * --clock-drift PCT draws each node's tick period from [10 ms * (1 - PCT/100), 10 ms]: the
 * lease allows followers to gain max_clock_drift_ticks (2) per election_tick (10), i.e. clocks
 * up to 20% fast, so PCT < 16 stays inside the bound and PCT >= 17 can leave it.
 * --no-lease-phase never runs the lease phase (an isolated leader asked for lease reads while
 * the others elect a new leader and commit writes), to compare what it catches.
 * A lease read granted by a deposed leader (one whose term is older than the newest leader's)
 * fails the run (LEASE); --no-lease-check only counts it and leaves the stale read it may
 * cause to lincheck.
 * --blocking-disk runs the old driver, whose event loop waits in step 4 for each fsync; by
 * default a storage thread syncs while the loop goes on (raft.h, ASYNCHRONOUS PERSISTENCE). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: sim [--seed N] [--seeds COUNT] [--nodes 3|5|0] [--steps S] "
            "[--verbose] [--expect-fail] [--no-commit-rule] [--stale-reads] [--skip-fsync]\n"
            "           [--clock-skew] [--no-lease-phase] [--no-lease-check] [--torn-prefix]\n"
            "           [--blocking-disk] [--no-durable-check]\n"
            "           [--lose-stalled-ticks]\n"
            "           [--clock-drift PCT]\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, count = 1, steps = 10000;
    int nodes = 0;
    uint32_t drift_pct = 0;
    bool verbose = false, expect_fail = false, no_commit_rule = false, stale_reads = false;
    bool torn_prefix = false, lose_stalled_ticks = false;
    bool blocking_disk = false, no_durable_check = false;
    bool skip_fsync = false, clock_skew = false, no_lease_phase = false, no_lease_check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--seed") && has)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--seeds") && has)
            count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--steps") && has)
            steps = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--nodes") && has)
            nodes = atoi(argv[++i]);
        else if (!strcmp(a, "--verbose"))
            verbose = true;
        else if (!strcmp(a, "--expect-fail"))
            expect_fail = true;
        else if (!strcmp(a, "--no-commit-rule"))
            no_commit_rule = true;
        else if (!strcmp(a, "--stale-reads"))
            stale_reads = true;
        else if (!strcmp(a, "--skip-fsync"))
            skip_fsync = true;
        else if (!strcmp(a, "--clock-skew"))
            clock_skew = true;
        else if (!strcmp(a, "--no-lease-phase"))
            no_lease_phase = true;
        else if (!strcmp(a, "--clock-drift") && has)
            drift_pct = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--lose-stalled-ticks"))
            lose_stalled_ticks = true;
        else if (!strcmp(a, "--no-durable-check"))
            no_durable_check = true;
        else if (!strcmp(a, "--blocking-disk"))
            blocking_disk = true;
        else if (!strcmp(a, "--torn-prefix"))
            torn_prefix = true;
        else if (!strcmp(a, "--no-lease-check"))
            no_lease_check = true;
        else
            return usage();
    }
    if (nodes != 0 && nodes != 3 && nodes != 5) return usage();
    if (count == 0 || steps < 100 || drift_pct > 90) return usage();

    setvbuf(stdout, NULL, _IOLBF, 0); /* failures show up at once in long runs */
    double t0 = now_s();
    uint64_t failed = 0, unknown = 0, total_steps = 0, ops = 0, pend = 0, crashes = 0, snaps = 0,
             ccs = 0, transfers = 0, elections = 0, lphases = 0, lreads = 0, ldeposed = 0,
             keepalives = 0, pings = 0, links = 0, link_checks = 0;
    uint64_t ran = 0;
    for (uint64_t k = 0; k < count; k++, ran++) {
        uint64_t sd = seed + k;
        sim_options opt = {.seed = sd,
                           .nodes = nodes ? nodes : (sd % 2 ? 5 : 3),
                           .steps = steps,
                           .verbose = verbose,
                           .quiet = expect_fail,
                           .no_commit_rule = no_commit_rule,
                           .stale_reads = stale_reads,
                           .skip_fsync = skip_fsync,
                           .blocking_disk = blocking_disk,
                           .no_durable_check = no_durable_check,
                           .torn_prefix = torn_prefix,
                           .lose_stalled_ticks = lose_stalled_ticks,
                           .clock_skew = clock_skew,
                           .no_lease_phase = no_lease_phase,
                           .no_lease_check = no_lease_check,
                           .clock_drift_pct = drift_pct};
        sim_result r;
        if (sim_run(&opt, &r) != 0) {
            printf("seed %" PRIu64 ": setup failed: %s\n", sd, r.why);
            return 2;
        }
        total_steps += r.steps;
        ops += r.ops_ok;
        pend += r.ops_pending;
        crashes += r.crashes;
        snaps += r.snapshots;
        ccs += r.conf_changes;
        transfers += r.transfers;
        elections += r.elections;
        lphases += r.lease_phases;
        links += r.link_outages;
        link_checks += r.link_checks;
        lreads += r.lease_reads_in_phase;
        ldeposed += r.lease_deposed_grants;
        keepalives += r.keepalives;
        pings += r.pings;
        if (r.lin_unknown) unknown++;
        if (!r.ok) {
            failed++;
            printf("FAIL seed=%" PRIu64 " nodes=%d: %s\n", sd, opt.nodes, r.why);
            printf("  replay: make sim SEED=%" PRIu64 " NODES=%d STEPS=%" PRIu64 " VERBOSE=1\n", sd,
                   opt.nodes, steps);
            if (expect_fail) {
                ran++;
                break;
            }
        } else if (verbose || count == 1) {
            printf("ok seed=%" PRIu64 " nodes=%d: %" PRIu64
                   " steps, %.1f virtual s, commit %" PRIu64 ", %" PRIu64 " leader terms, %" PRIu64
                   " ops (+%" PRIu64 " indeterminate), %" PRIu64 " crashes, %" PRIu64
                   " snapshots, %" PRIu64 " conf changes, %" PRIu64 " transfers%s\n",
                   sd, opt.nodes, r.steps, (double)r.virtual_us / 1e6, r.commits, r.elections,
                   r.ops_ok, r.ops_pending, r.crashes, r.snapshots, r.conf_changes, r.transfers,
                   r.lin_unknown ? ", lincheck UNKNOWN" : "");
        }
    }
    double dt = now_s() - t0;
    printf("sim: seeds %" PRIu64 "..%" PRIu64 ", %" PRIu64 " failed, %" PRIu64
           " steps in %.1f s (%.0f steps/s); %" PRIu64 " client ops (+%" PRIu64
           " indeterminate), %" PRIu64 " leader terms, %" PRIu64 " crashes, %" PRIu64
           " snapshots, %" PRIu64 " conf changes, %" PRIu64 " transfers, %" PRIu64
           " lincheck unknown\n",
           seed, seed + ran - 1, failed, total_steps, dt, (double)total_steps / (dt > 0 ? dt : 1),
           ops, pend, elections, crashes, snaps, ccs, transfers, unknown);
    printf("sim: %" PRIu64 " lease phases, %" PRIu64
           " lease reads granted by the isolated leader, %" PRIu64
           " granted by a deposed leader, %" PRIu64 " keepalives sent by held leaders, %" PRIu64
           " held nodes' pings\n",
           lphases, lreads, ldeposed, keepalives, pings);
    printf("sim: %" PRIu64 " link outages, %" PRIu64 " followers checked to catch up after one\n",
           links, link_checks);
    if (expect_fail) {
        if (failed) {
            printf("sim: the deliberately broken build was caught, as it must be\n");
            return 0;
        }
        printf("sim: FAILED to detect the deliberately broken build in %" PRIu64 " seeds\n", count);
        return 1;
    }
    return failed ? 1 : 0;
}
