/* sim_disk.h — a fake disk for one simulated node: a log, a hard state and a snapshot, with
 * fsync modelled as the real WAL does it (src/storage/wal.c, docs/storage.md). Writes land in a
 * volatile image at once (what the node reads back) and in a queue of pending records, one per
 * entry / hard state / snapshot, in the order the driver writes them. sim_disk_end_batch writes
 * the batch-end record that wal_sync writes before its fdatasync; sim_disk_sync makes
 * everything durable.
 *
 * Power loss: each pending record reaches the disk or not, either as a prefix (the kernel wrote
 * the buffer in order) or scattered (sectors of an unsynced write persisted out of order).
 * Recovery then keeps the intact prefix of the pending records and, as the WAL does, cuts it
 * back to the last batch end: an unfinished batch is dropped whole. With torn_prefix (the WAL
 * before batch ends existed) the intact prefix is kept record by record, so a Ready's entries
 * can survive without its hard state. */
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

typedef enum { SIM_DISK_APPEND, SIM_DISK_HS, SIM_DISK_SNAPSHOT, SIM_DISK_END } sim_disk_op_kind;

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
    uint64_t batch;    /* current batch number */
    uint64_t ops_base; /* records ever written before pending[0] (synced or lost) */
    /* called for every hard state that becomes durable (sync or crash) */
    void (*on_durable_hs)(void *ud, const raft_hard_state *hs);
    void *ud;
} sim_disk;

void sim_disk_init(sim_disk *d);
void sim_disk_deinit(sim_disk *d);
/* The batch-end record (wal_sync writes it before the fdatasync): the records since the
 * previous one survive a crash together or not at all. */
int sim_disk_end_batch(sim_disk *d);
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
/* Position after the last record written so far (a storage thread's fdatasync that starts now
 * covers up to here; records written while it runs may or may not be covered, and recovery
 * would keep them only with their batch end, so they count as not covered). */
uint64_t sim_disk_mark(const sim_disk *d);
/* The fdatasync that began at `mark` returned: the records before it are durable. */
int sim_disk_sync_upto(sim_disk *d, uint64_t mark);
/* Power loss (see above); vol = durable afterwards. *kept_records (may be NULL) = pending
 * records that survived. */
int sim_disk_crash(sim_disk *d, sim_rng *rng, bool torn_prefix, size_t *kept_records);
/* Wipes everything (a node removed and its data directory deleted). */
void sim_disk_wipe(sim_disk *d);

uint64_t sim_disk_last_index(const sim_disk_image *img);
uint64_t sim_disk_last_term(const sim_disk_image *img);
const sim_disk_entry *sim_disk_at(const sim_disk_image *img, uint64_t index); /* NULL if absent */

/* raft_storage over the volatile image. */
raft_storage sim_disk_storage(sim_disk *d);

#endif
