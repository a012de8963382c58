/* node.h — the replicated node: one raft instance per process driven over the event loop.
 *
 * node.c runs THE READY CONTRACT of consensus/raft.h in the loop's before-sleep hook: persist
 * (WAL append + hard state, one wal_sync per pass: group commit), send, apply committed entries
 * to the data store, serve read states, answer clients. Client commands are routed here first
 * (node_route): writes become log entries (leader's now_ms + the data_rewrite'd argv) and are
 * answered when applied on this node; reads are linearizable (ReadIndex) by default; a follower
 * forwards to the leader over a client connection (fwd.c). A single node (no --cluster or a
 * cluster of one) is a one-voter raft group: same path, durable through the WAL. */
#ifndef SYNOD_SERVER_NODE_H
#define SYNOD_SERVER_NODE_H

#include "server/server.h"

/* Opens the data directory (snapshot + WAL replay), creates the raft instance, the peer
 * transport and the tick timer; sets s->node. -1 on a fatal error (logged: corrupt WAL, ...). */
int node_create(server *s);
void node_destroy(server *s);

/* The loop's before-sleep hook (ctx = server): re-runs stalled clients, drives raft, then
 * srv_before_sleep flushes the replies. */
void node_before_sleep(net_loop *l, void *ctx);

/* Outcome of node_route. */
enum { NODE_LOCAL = 0, NODE_DONE = 1, NODE_STALL = 2 };
/* Called for each parsed request. NODE_LOCAL: execute it as a single server would (server
 * commands, stale reads); NODE_DONE: handled (proposed, forwarded, queued or answered);
 * NODE_STALL: not consumed — the client waits (no leader yet, or replies of earlier requests
 * must come first); it is re-run from node_before_sleep. */
int node_route(server *s, client *c, int argc, const data_arg *argv);

void node_client_freed(server *s, client *c); /* drops references to c */
/* EXEC of c's queued transaction (multi.c): one log entry on the leader, relayed whole by a
 * follower. NODE_DONE (answered or on its way) or NODE_STALL (re-run later). */
int node_exec(server *s, client *c);
void node_expire_cycle(server *s);              /* leader: propose DELs of expired keys */
void node_info(server *s, resp_buf *b);         /* the "# Consensus" INFO section */
const char *node_leader_client_addr(server *s); /* "" while no leader is known */

/* node_log.c: a command's arguments as log entries (and MULTI's queue) hold them: argc (u32),
 * then len (u32) + bytes for each, big-endian. nentry_put_args appends to b; nentry_get_args
 * decodes the command at *off into a growing argv (pointing into p): argc, 0 at the end, -1 if
 * malformed. */
void nentry_put_args(resp_buf *b, int argc, const data_arg *argv);
int nentry_get_args(const uint8_t *p, size_t len, size_t *off, data_arg **argv, int *cap);

/* fwd.c: relaying commands to the leader's client port. */
typedef struct fwd fwd;
fwd *fwd_create(server *s);
void fwd_destroy(fwd *f);
/* Sends argv to the leader at addr for client c; its reply is appended to c's output when it
 * arrives (c->n_async is decremented). 0, or -EAGAIN: a connection to another address still has
 * replies to relay (retry later), -ENOMEM. */
int fwd_send(fwd *f, const char *addr, client *c, int argc, const data_arg *argv);
void fwd_client_freed(fwd *f, client *c);
/* c's queued transaction as one contiguous MULTI ... EXEC; only EXEC's reply reaches c. */
int fwd_send_multi(fwd *f, const char *addr, client *c);

#endif
