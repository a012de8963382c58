/* bench_raft.c — entries committed per second through a fault-free 3-node in-process Raft
 * cluster on one core (no disk: persistence is the caller's cost, measured elsewhere).
 * 64-byte entries, batch sizes 1 and 64 (entries proposed per Ready cycle of the leader).
 * Usage: bench_raft [entries_per_run]  (default 2,000,000 for batch 64, a tenth for batch 1) */
#include "consensus/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 3

static int st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, raft_entry *out,
                      size_t cap, size_t *n_out)
{
    (void)ud, (void)lo, (void)hi, (void)max_bytes, (void)out, (void)cap, (void)n_out;
    return -RAFT_EUNAVAIL; /* the in-memory tail always suffices without faults */
}
static int st_term(void *ud, uint64_t index, uint64_t *t)
{
    (void)ud, (void)index, (void)t;
    return -RAFT_EUNAVAIL;
}
static int st_snap(void *ud, uint64_t off, uint8_t *buf, uint32_t cap, raft_snapshot_meta *meta,
                   uint32_t *len, bool *done)
{
    (void)ud, (void)off, (void)buf, (void)cap, (void)meta, (void)len, (void)done;
    return -RAFT_EUNAVAIL;
}

static raft *nodes[N];
static uint64_t applied[N];

static raft *node_by_id(raft_id id)
{
    return nodes[id - 1];
}

/* One Ready of node i: "persist" (nothing), deliver messages straight into their targets (their
 * pointers stay valid until our advance), apply committed entries. */
static void cycle(int i)
{
    raft_ready rd;
    raft_ready_get(nodes[i], &rd);
    for (size_t k = 0; k < rd.n_messages; k++) {
        int rc = raft_step(node_by_id(rd.messages[k].to), &rd.messages[k]);
        if (rc != 0) {
            fprintf(stderr, "step: %s\n", raft_strerror(rc));
            exit(1);
        }
    }
    for (size_t k = 0; k < rd.n_committed; k++)
        if (rd.committed[k].type == RAFT_ENTRY_NORMAL) applied[i]++;
    raft_advance(nodes[i], &rd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(int batch, uint64_t total)
{
    for (int i = 0; i < N; i++) {
        raft_config c;
        raft_config_default(&c);
        c.id = (raft_id)(i + 1);
        c.seed = 1;
        c.members.n_voters = N;
        for (int k = 0; k < N; k++)
            c.members.voters[k] = (raft_id)(k + 1);
        c.max_inflight = 512;
        c.mem_retain_entries = 256;
        c.storage.entries = st_entries;
        c.storage.term = st_term;
        c.storage.snapshot_chunk = st_snap;
        int err = 0;
        nodes[i] = raft_create(&c, &err);
        if (!nodes[i]) {
            fprintf(stderr, "raft_create: %s\n", raft_strerror(err));
            exit(1);
        }
        applied[i] = 0;
    }
    /* elect node 1 */
    for (int t = 0; t < 100; t++) {
        raft_status st;
        raft_status_get(nodes[0], &st);
        if (st.role == RAFT_LEADER) break;
        for (int i = 0; i < N; i++)
            raft_tick(nodes[i]);
        for (int round = 0; round < 10; round++)
            for (int i = 0; i < N; i++)
                while (raft_has_ready(nodes[i]))
                    cycle(i);
    }
    raft *leader = NULL;
    int li = 0;
    for (int i = 0; i < N; i++) {
        raft_status st;
        raft_status_get(nodes[i], &st);
        if (st.role == RAFT_LEADER) leader = nodes[i], li = i;
    }
    if (!leader) {
        fprintf(stderr, "no leader\n");
        exit(1);
    }
    uint8_t payload[64];
    memset(payload, 'x', sizeof(payload));
    uint64_t proposed = 0;
    double t0 = now_s();
    while (applied[li] < total) {
        for (int b = 0; b < batch && proposed < total; b++) {
            memcpy(payload, &proposed, sizeof(proposed));
            int rc = raft_propose(leader, payload, sizeof(payload), NULL);
            if (rc == -RAFT_EBUSY) break;
            if (rc != 0) {
                fprintf(stderr, "propose: %s\n", raft_strerror(rc));
                exit(1);
            }
            proposed++;
        }
        for (int i = 0; i < N; i++)
            if (raft_has_ready(nodes[i])) cycle(i);
    }
    double dt = now_s() - t0;
    for (int i = 0; i < N; i++)
        raft_destroy(nodes[i]);
    return (double)total / dt;
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    double r1 = run(1, total / 10);
    double r64 = run(64, total);
    printf("bench_raft: 3 nodes in one process, 64-byte entries, one core\n");
    printf("bench_raft: batch  1: %10.0f entries/s committed\n", r1);
    printf("bench_raft: batch 64: %10.0f entries/s committed (target > 1,000,000)\n", r64);
    return 0;
}
