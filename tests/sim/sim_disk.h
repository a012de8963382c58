/* sim_disk.h — a fake disk for one simulated node: a log, a hard state and a snapshot, with
 * fsync modelled. Writes land in a volatile image at once (what the node reads back) and in a
 * queue of pending operations; sim_disk_sync makes them durable. Writes are grouped in batches
 * (one per Ready: one WAL record group under one checksum). A crash keeps a random prefix of
 * the pending batches (the torn tail of an append-only WAL: restart truncates at the first torn
 * batch, so a batch survives whole or not at all) and drops the rest. */
#ifndef SYNOD_SIM_DISK_H
#define SYNOD_SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/raft.h"
#include "sim_rng.h"

typedef struct {
    uint64_t index, term;
    uint8_t type;
    uint32_t len;
    uint8_t *data; /* owned; NULL iff len == 0 */
} sim_disk_entry;

typedef struct {
    sim_disk_entry *e; /* e[k] is entry base + 1 + k */
    size_t len, cap;
    uint64_t base; /* == snapshot index */
} sim_disk_log;

typedef struct {
    raft_hard_state hs;
    raft_snapshot_meta snap; /* snap.index == 0: none */
    uint8_t *snap_data;      /* owned */
    uint32_t snap_len;
    sim_disk_log log;
} sim_disk_image;

typedef enum { SIM_DISK_APPEND, SIM_DISK_HS, SIM_DISK_SNAPSHOT } sim_disk_op_kind;

typedef struct {
    sim_disk_op_kind kind;
    sim_disk_entry entry;    /* APPEND (owns its data) */
    raft_hard_state hs;      /* HS */
    raft_snapshot_meta snap; /* SNAPSHOT */
    uint8_t *snap_data;      /* SNAPSHOT (owned) */
    uint32_t snap_len;
    uint64_t batch;
} sim_disk_op;

typedef struct {
    sim_disk_image durable, vol; /* vol = durable + pending, what the node sees */
    sim_disk_op *pending;
    size_t n_pending, cap_pending;
    uint64_t batch; /* current batch number */
    /* called for every hard state that becomes durable (sync or crash) */
    void (*on_durable_hs)(void *ud, const raft_hard_state *hs);
    void *ud;
} sim_disk;

void sim_disk_init(sim_disk *d);
void sim_disk_deinit(sim_disk *d);
/* Starts a new batch: the writes that follow survive a crash together or not at all. */
void sim_disk_begin_batch(sim_disk *d);
/* Volatile writes (pending until sync). Return 0 or -1 on no memory. */
int sim_disk_append(sim_disk *d, const raft_entry *e);
int sim_disk_set_hs(sim_disk *d, const raft_hard_state *hs);
int sim_disk_install_snapshot(sim_disk *d, const raft_snapshot_meta *m, const uint8_t *data,
                              uint32_t len);
/* A snapshot the node made itself: written to a temporary file, fsync'd and renamed, so it is
 * durable at once; the log up to m->index is then dropped from both images. */
int sim_disk_local_snapshot(sim_disk *d, const raft_snapshot_meta *m, const uint8_t *data,
                            uint32_t len);
int sim_disk_sync(sim_disk *d);
/* Power loss: a random prefix of the pending writes survives (torn), vol = durable. */
int sim_disk_crash(sim_disk *d, sim_rng *rng);
/* Wipes everything (a node removed and its data directory deleted). */
void sim_disk_wipe(sim_disk *d);

uint64_t sim_disk_last_index(const sim_disk_image *img);
uint64_t sim_disk_last_term(const sim_disk_image *img);
const sim_disk_entry *sim_disk_at(const sim_disk_image *img, uint64_t index); /* NULL if absent */

/* raft_storage over the volatile image. */
raft_storage sim_disk_storage(sim_disk *d);

#endif
