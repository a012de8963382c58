/* identity.h — who a data directory belongs to: the IDENTITY file.
 *
 * Written when a node first starts on an empty data directory and checked at every start, so
 * that flags cannot silently turn a member into something else: another node id, another
 * cluster, or (with a mistyped --cluster) a second cluster inside the first. It also records a
 * random data id made with the directory, and the data id of every peer this node has talked
 * to: a member whose data directory was wiped comes back with a new data id, and its peers
 * refuse it until it is removed and added again (it may have voted or acknowledged entries it
 * no longer remembers).
 *
 * Text, one "key value" a line, written to IDENTITY.tmp, fsync'd, renamed, directory fsync'd. */
#ifndef SYNOD_STORAGE_IDENTITY_H
#define SYNOD_STORAGE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENT_CLUSTER_MAX   1024 /* the bootstrap member list as given ("1=h:p,2=h:p,...") */
#define IDENT_NAME_MAX      64
#define IDENT_PEERS_MAX     32
#define IDENT_DATA_ID_BYTES 16

struct ident_peer {
    uint64_t node_id;
    uint8_t data_id[IDENT_DATA_ID_BYTES];
};

struct identity {
    uint64_t node_id;
    char cluster_id[IDENT_NAME_MAX + 1];
    char cluster[IDENT_CLUSTER_MAX + 1]; /* bootstrap membership; "" = a single node */
    bool joined;                         /* started with --join (not a bootstrap member) */
    uint8_t data_id[IDENT_DATA_ID_BYTES];
    struct ident_peer peers[IDENT_PEERS_MAX];
    size_t n_peers;
};

/* Loads dir/IDENTITY. 0 = loaded, STORAGE_ENOENT = no file (a new or pre-identity directory),
 * STORAGE_ECORRUPT / STORAGE_EIO with a message naming the file and line in err. */
int ident_load(const char *dir, struct identity *out, char *err, size_t err_len);

/* Writes dir/IDENTITY atomically and durably. 0 or a negative STORAGE_* with a message. io:
 * the fault hook its write, fsyncs and the directory fsync go through (tests), or NULL. */
struct storage_io;
int ident_save(const char *dir, const struct identity *id, const struct storage_io *io, char *err,
               size_t err_len);

/* The recorded data id of peer node_id, NULL if none. */
const uint8_t *ident_peer_data_id(const struct identity *id, uint64_t node_id);
/* Records (or replaces) a peer's data id; false if the table is full. */
bool ident_set_peer(struct identity *id, uint64_t node_id, const uint8_t *data_id);
/* Forgets a peer (removed from the cluster: it may come back with new data). */
void ident_forget_peer(struct identity *id, uint64_t node_id);

#endif
