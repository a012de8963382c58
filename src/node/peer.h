/* peer.h — the peer transport: persistent TCP connections between synod nodes carrying
 * checksummed frames (src/net/frame.h), inside TLS with certificates verified both ways under
 * tls-cluster (src/net/tls.h), after a version + cluster-id + node-id handshake in
 * which, with a cluster secret, both ends prove the secret (src/net/peerauth.h) before any
 * consensus frame is read. Only members are admitted (a node id this node has an address for,
 * connecting from that address); a second live process with a connected member's id is
 * refused. Before the handshake completes a connection may send frames of a few KiB, has 2 s
 * to finish, and the oldest unauthenticated connection is evicted when 16 are open.
 *
 * Each node dials every peer it knows and sends its raft messages on that outbound link only;
 * it receives a peer's messages on the link that peer dialled. So a pair of nodes uses two
 * connections, one per direction, and no tie-breaking is needed. Messages queued for a link that
 * is not connected are dropped (Raft tolerates loss; the core retries; peer_net_take_unreachable
 * names the peers that lost messages, for raft_report_unreachable). Links reconnect with
 * exponential backoff (100 ms .. 2 s); both ends send a PING frame every 200 ms and close a
 * link silent for 1.5 s, so a half-open connection (peer frozen, partition) is noticed without
 * waiting for TCP's retransmission timers. Messages sent during one loop pass are batched into
 * one frame per link (peer_net_flush). Malformed frames or messages close the connection. */
#ifndef SYNOD_SERVER_PEER_H
#define SYNOD_SERVER_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/raft.h"
#include "net/net.h"
#include "net/tls.h"

typedef struct peer_net peer_net;

/* A message received from a peer (already decoded, not yet validated by raft_step). Pointers in
 * m are valid during the call only. */
typedef void (*peer_msg_cb)(void *ctx, const raft_message *m);

typedef struct {
    raft_id self;
    const char *cluster_id;  /* copied */
    const char *client_addr; /* this node's client address, told to peers in the hello */
    const char *bind_host;   /* this node's peer host: outbound links leave from it (NULL: any) */
    const char *secret;      /* cluster secret both ends prove (NULL or "": none), copied */
    const uint8_t *data_id;  /* FRAME_DATA_ID_BYTES identifying this node's data (copied) */
    /* tls-cluster: every connection is TLS, the accepted side with tls_accept (client
     * certificate required), the dialled side with tls_dial (the server's certificate verified);
     * both NULL: plain TCP. Borrowed: they outlive the peer_net. */
    net_tls_ctx *tls_accept, *tls_dial;
    const char *relay_addr; /* told to peers in the hello: where relays reach us (NULL: none) */
    /* Is id a member of this node's current configuration? (inbound admission) */
    bool (*is_member)(void *ctx, raft_id id);
    /* An authenticated peer's data id: 0 = known or now recorded, -1 = not the data the cluster
     * knew (reason in err): the connection is refused. */
    int (*check_peer)(void *ctx, raft_id id, const uint8_t *data_id, char *err, size_t err_len);
    peer_msg_cb on_msg;
    /* Member id's loop is held but its process lives: its watcher's PING came (peer.c, "the
     * held-loop watcher"). NULL: not wanted. */
    void (*on_alive)(void *ctx, raft_id id);
    void *ctx;
} peer_net_config;

/* Takes ownership of listen_fd (a listening TCP socket for peers). NULL on out-of-memory. */
peer_net *peer_net_create(net_loop *l, const peer_net_config *cfg, int listen_fd);
void peer_net_destroy(peer_net *pn);

/* Adds or updates the peer address of node id ("host:port"); 0 or -EINVAL. */
int peer_net_set_addr(peer_net *pn, raft_id id, const char *hostport);
void peer_net_remove(peer_net *pn, raft_id id);
/* The peer address of id, NULL if unknown. Valid until the next call that changes it. */
const char *peer_net_addr(const peer_net *pn, raft_id id);

/* Queues m for its destination (m->to); sent at the next peer_net_flush. */
void peer_net_send(peer_net *pn, const raft_message *m);
/* Writes every queued batch. Call once per loop pass, after the WAL sync. */
void peer_net_flush(peer_net *pn);
/* A held loop (peer.c, "the held-loop watcher"): while nothing of this module has run for a
 * while, a thread keeps the links alive and sends a leader's keepalives, for at most ms of the
 * hold (5000 until set). The keepalives are the k messages given (raft_keepalive's, of a durable
 * term; k = 0: none, not the leader), kept until the next call: call it whenever the core's
 * role or term may have changed. */
void peer_net_set_keepalives(peer_net *pn, const raft_message *m, size_t k);
void peer_net_set_hold_ms(peer_net *pn, int64_t ms); /* ms <= 0: unchanged */
uint64_t peer_net_keepalives(const peer_net *pn);    /* keepalives sent by the watcher */

/* Ids (at most max, into out) of the peers that lost messages since the last call: a link to
 * or from it closed (what was queued or unread is gone), or messages to it were dropped (link
 * down, send queue full). The driver reports them to the core (raft_report_unreachable), which
 * stops pipelining to them and probes; Raft recovers without it, only later. Returns the count. */
size_t peer_net_take_unreachable(peer_net *pn, raft_id *out, size_t max);

/* Client address node id announced in its hello ("" if never heard). */
const char *peer_net_client_addr(const peer_net *pn, raft_id id);
/* The relay address announced by the node whose client address is client_addr ("" if none). */
const char *peer_net_relay_addr(const peer_net *pn, const char *client_addr);

#endif
