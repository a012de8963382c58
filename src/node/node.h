/* node.h — the replication driver: one raft instance per process, driven over the event loop.
 *
 * node.c runs THE READY CONTRACT of consensus/raft.h in the loop's before-sleep hook: persist
 * (WAL append + hard state, one wal_sync per pass: group commit), send, apply committed entries
 * to the data store, serve read states, answer clients. Client commands are routed here first
 * (node_route): writes become log entries (leader's now_ms + the data_rewrite'd argv) and are
 * answered when applied on this node; reads are linearizable (ReadIndex) by default; a follower
 * forwards to the leader over a client connection (fwd.c). A single node (no --cluster or a
 * cluster of one) is a one-voter raft group: same path, durable through the WAL.
 *
 * The driver knows nothing of the server's client sessions (DESIGN.md, Layout: the arrow runs
 * from server to node only). The host (src/server) embeds a node_client in each connection and
 * hands the driver a node_host callback table at start: replies go out through its
 * data_reply_ops (ctx = node_client.conn), and the driver asks the host to re-run a
 * connection's requests, to flush output, for CLIENT PAUSE and for a MULTI queue. */
#ifndef SYNOD_NODE_NODE_H
#define SYNOD_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/data.h"
#include "net/net.h"
#include "net/tls.h"
#include "resp/resp.h"
#include "script/script.h"

typedef struct node node;

/* Per-connection read consistency (SYNOD CONSISTENCY, DESIGN.md "Consistency levels"). */
enum { CONS_LINEARIZABLE = 0, CONS_LEASE = 1, CONS_STALE = 2 };
/* Kinds of asynchronous requests in flight for a connection. */
enum { ASYNC_NONE = 0, ASYNC_LOG = 1, ASYNC_READ = 2, ASYNC_FWD = 3, ASYNC_BLOCK = 4 };

/* What the driver keeps per client connection; embedded in the host's connection and registered
 * with node_client_attach for its lifetime. */
typedef struct node_client {
    void *conn; /* the host's connection: ctx of every reply op and callback */
    /* requests whose replies are still to come, all of kind async_kind (replies leave in
     * request order, so a request of another kind waits) */
    int n_async;
    int async_kind;
    /* not consumed yet (waits for a leader, for earlier replies, CLIENT PAUSE): the host's
     * requests are re-run from node_before_sleep. The host sets it too. */
    bool stalled;
    int64_t stall_since_ms; /* waiting for a leader since (monotonic); 0 = not waiting */
    int64_t after_since_ms; /* SYNOD AFTER: waiting for its mark since (monotonic); 0 = not */
    int64_t info_gate_ms;   /* INFO on a follower: waiting for the ReadIndex gate since; 0 = not */
    int consistency;        /* CONS_* */
    int readonly;           /* READONLY: stale reads allowed on this connection */
    int forwarded;          /* SYNOD FORWARDED: a follower's relay; never relayed again */
    /* the connection's ACL user, NULL = default: a follower's relay names it to the leader
     * (fwd.c). Owned by the host, valid until the host changes it. */
    const char *user;
    int db;                 /* SELECT: its database (entries and reads carry it) */
    uint64_t read_pass;     /* serve_reads: an earlier read of this client is pending */
    struct nblock *blocked; /* blocked on the leader (node_block.c); NULL = not */
    struct fconn *relay;    /* follower: its own relay connection for blocking commands */
    struct nwatch *watch;   /* WATCHed keys (node_watch.c) */
    int n_watch, cap_watch;
    uint64_t last_write_index; /* leader: log index of this client's latest write (WAIT) */
    bool waiting;              /* in WAIT (node_wait.c), answered as replicas acknowledge */
    int wait_want;
    int64_t wait_deadline_ms; /* monotonic; 0 = none */
    /* set by the host's OOM gate for the request being routed: the leader is over maxmemory
     * with nothing to evict, and it is a script without shebang; its entry carries that
     * (script_env.oom), so every replica fails the same first deny-oom command */
    bool oom_script;
    /* set by the host's OOM gate on a follower over maxmemory: a script's prelude may not be
     * its final run here (the leader's OOM gate judges it: it is relayed and logged even so) */
    bool over_memory;
    long long over_bytes; /* ... by this much (set with it) */
    /* follower over maxmemory: the leader's evictions this tracking read waits for (node.c
     * evictions_wait): its ask's number on the relay connection, since evict_ask_ms; passed */
    uint64_t evict_ask;
    int64_t evict_ask_ms;
    bool evict_passed;
    bool prelude_passed;   /* the request being routed had its script prelude (node.c) */
    bool prelude_whole;    /* ... which ran the whole script (fwd.c: relayed without origin) */
    char prelude_err[512]; /* ... and the error it ended with, logged in its place */
    bool relay_prelude;    /* follower: relay it behind SYNOD PRELUDE (an unknown EVALSHA) */
    bool prelude_wanted;   /* leader: a relayed request whose prelude is to run here */
    int unblock_pending;   /* leader: SYNOD UNBLOCK-SELF before its pop blocked: 1 / 2 (error) */
    uint64_t gate_ctx;     /* follower: its FCALL waits for this ReadIndex (node.c fcall_gate) */
    bool gate_passed;      /* ... which it passed: this node has applied what it must see */
    /* SCRIPT DEBUG YES: its EVALs run in a debugging session on this node (server/ldb.c), after
     * the ReadIndex gate on a follower; nothing of them is logged */
    bool ldb;
    bool noreplicas_run;  /* served as a read because min-replicas-to-write is not met */
    struct nmigrate *mig; /* leader: its MIGRATE in progress (node_migrate.c); NULL = none */
    uint64_t id;          /* the host's connection id (set by the host; CLIENT ID) */
    /* follower: its relayed requests (set by the host: CLIENT TRACKING; and always its script
     * calls) go as SYNOD ORIGIN <this node> <id> <request number> <request...>, and the entries
     * they make name it, so this node knows them as that connection's when it applies them
     * (NOLOOP, tracked script keys; a script's calls counted and shown to MONITOR here) */
    bool wants_origin;
    /* follower: its requests relayed (numbered from 1) and answered so far (fwd.c), and the
     * number of one whose entry this node applied before its reply came: the host holds the
     * connection's own invalidations until then (they follow the reply, as in Redis) */
    uint64_t relay_sent, relay_answered, hold_until;
    /* follower: the connection's own commands in its relayed MULTI (SUBSCRIBE, AUTH, CLIENT
     * SETNAME ...), run here as EXEC's reply comes, and the receivers of its PUBLISHes here
     * (fwd.c "A relayed transaction's own commands"); NULL = none */
    struct nexec_plan *exec_plan;
    /* follower: a SELECT inside its relayed MULTI: the database the client is in after EXEC if
     * the transaction ran (not if the leader aborted it), decided when EXEC's reply (request
     * number exec_db_seq; 0 = none) comes; the client's next command waits for it */
    int exec_db;
    uint64_t exec_db_seq;
    uint64_t exec_seq;  /* follower: the request number of its last relayed EXEC */
    bool read_deferred; /* the read just routed runs later here (after its ReadIndex, or at
                           its place in the log): the host's stats time it then (exec_step) */
    bool exec_relayed;  /* follower: the EXEC just routed was relayed (the host's stats take it:
                           its commands are timed and logged here as its reply comes) */
    /* follower: a relayed change of replicated state it reads itself (CONFIG SET of the
     * cluster's settings, ACL SETUSER, SCRIPT LOAD, FUNCTION LOAD ...: fwd.c awaits_apply; its
     * request number) is answered once this node has applied its entry too (applied_seq: the
     * latest of its entries applied here), so the client's next request here sees it: the reply
     * waits in held_reply meanwhile (at most NODE_HELD_REPLY_MS) */
    uint64_t await_seq, applied_seq;
    uint64_t await_first; /* the first of the awaited requests outstanding (up to await_seq) */
    bool await_own;       /* the request being relayed is such a write (hears_own, observed) */
    uint64_t whole_seq;   /* the request number of a script that ran whole here, relayed with
                             its origin: applying its entry counts its calls no more */
    char *held_reply;     /* what is held, in order (held_n pieces: held_replies replies and the
                             messages between them), each reply until the entry of its request
                             number (held_marks[i].need; 0: none) is applied here */
    size_t held_len, held_cap;
    int held_n, held_replies, held_marks_cap;
    struct nheld_mark {
        size_t end;    /* where the piece ends in held_reply */
        uint64_t need; /* applied_seq it waits for */
        bool reply;    /* a reply (else messages: answer no request) */
    } * held_marks;
    int64_t held_since_ms;
    /* follower, hears_own: messages its own entries pushed to it while replies to its earlier
     * requests were still to come (request number, bytes), in order: each goes out just before
     * the reply to its request */
    struct npend_push {
        uint64_t seq;
        char *p;
        size_t len;
    } * pend;
    int pend_n, pend_cap;
    /* follower: CLIENT TRACKING of reads (not BCAST), set by the host: a read waits for the
     * ReadIndex gate and is served here, so the host tracks its keys on the state it reads
     * (an entry acknowledged before and applied after would invalidate them again) */
    bool tracks_reads;
    /* leader, a relay: the origin (node, connection id, request number) of the request being
     * routed (set by the host while it runs it), written around every entry proposed for it
     * (NENTRY_ORIGIN); 0 = none */
    uint64_t origin_node, origin_conn, origin_seq;
    bool migrating; /* a MIGRATE of it waits (here or relayed): CLIENT UNBLOCK cannot end it */
    /* Set by the host for the request being routed: its raw bytes (raw_len) and how many bytes
     * of input follow from there (raw_avail >= raw_len; 0 = not offered). The node may take
     * identical requests that follow with it (pipelined blocking pops: node_block.c) and says
     * how many in repeat_used; the host then consumes them too, as answered asynchronously. */
    const uint8_t *raw;
    size_t raw_len, raw_avail;
    int repeat_used;
    struct node_client *prev, *next; /* the node's clients */
} node_client;

/* The host's side: how the driver reaches client connections and server state. */
typedef struct {
    const data_reply_ops *reply; /* replies (ctx = node_client.conn); is_resp3 must be set */
    /* complete RESP replies relayed from the leader, appended to conn's output unchanged */
    void (*reply_raw)(void *conn, const char *p, size_t len);
    void (*mark_pending)(void *conn);     /* conn has output to write */
    void (*process)(void *conn);          /* re-run conn's unconsumed requests */
    void (*flush)(void *host);            /* end of node_before_sleep: write every pending reply */
    int (*paused)(void *host, int write); /* CLIENT PAUSE in force for (write) commands? */
    /* conn's MULTI queue: how many commands; the next one from *off into a growing argv
     * (argc, or <= 0 at the end); drop it (after EXEC was proposed or answered) */
    int (*multi_count)(void *conn);
    int (*multi_next)(void *conn, size_t *off, data_arg **argv, int *cap);
    void (*multi_reset)(void *conn);
    /* follower: whether a command queued in conn's MULTI belongs to the connection rather
     * than to the data (SUBSCRIBE, AUTH, CLIENT SETNAME ...): the leader runs PING in its
     * place and `dispatch` runs it here as EXEC's reply comes, its replies in PING's place in
     * EXEC's array, the rest of which goes through reply_part (as reply_raw, but the pieces
     * of one reply: nothing else may come between them). May be NULL. */
    bool (*multi_local)(void *conn, int argc, const data_arg *argv);
    void (*reply_part)(void *conn, const char *p, size_t len);
    /* a command of an applied EXEC that is not a data command (PING, ...): runs for conn only */
    void (*dispatch)(void *conn, int argc, const data_arg *argv);
    void *host;
    /* the scripting engine scripts in applied entries run on (EVAL, FCALL, FUNCTION LOAD ...);
     * it must exist before node_create, which replays the log */
    script_engine *scripts;
    /* counters the host reports (INFO): writes applied, keys expired */
    uint64_t *applied_writes, *expired_keys;
    uint64_t *evicted_keys; /* may be NULL */
    /* Pub/sub (docs/server.md "Pub/sub"): a PUBLISH (shard: SPUBLISH) and a keyspace event
     * (class DATA_NOTIFY_*, Redis's event name, key) of an entry this node applies, in log
     * order, to be delivered to the host's local subscribers: publish returns how many
     * received it. Never called for entries replayed at restart. May be NULL. */
    long long (*publish)(void *host, int shard, const char *channel, size_t clen, const char *msg,
                         size_t mlen);
    void (*keyspace_event)(void *host, int cls, const char *event, const char *key, size_t klen);
    /* How many of the host's clients a PUBLISH (shard: SPUBLISH) to channel would reach now
     * (what publish would return): a follower answers a relayed PUBLISH with it. May be NULL. */
    long long (*receivers)(void *host, int shard, const char *channel, size_t clen);
    /* Whether conn may be pushed messages by its own writes (RESP3 with subscriptions: its
     * PUBLISH, a keyspace event): Redis sends them before the reply, so a follower answers such
     * a connection's relayed write once it has applied the entry. May be NULL. */
    bool (*hears_own)(void *conn);
    /* Whether a client of this node is told of other clients' changes (CLIENT TRACKING): a
     * follower then answers every relayed write once it has applied the entry, so the
     * invalidations it raises here come before the writer's reply, as on one Redis (a tracking
     * client told of the write by its writer then never reads its stale cache). May be NULL. */
    bool (*observed)(void *host);
    /* conn's output not written yet: its length, and the bytes from `from` on taken out of it
     * (malloc'd, *len of them; NULL if none): the messages an entry of conn's own pushed to it
     * wait for the replies before that entry's (fwd.c deliver). May be NULL (with hears_own). */
    size_t (*out_len)(void *conn);
    char *(*out_take)(void *conn, size_t from, size_t *len);
    /* Client-side caching: a key a live entry modified (key NULL: every key, FLUSHALL), writer =
     * the connection that proposed the entry on this node, NULL if none is known (a follower's
     * relayed writes, expiry); then, after the entry's reply, entry_applied. May be NULL. */
    void (*key_touched)(void *host, const char *key, size_t len, void *writer);
    void (*entry_applied)(void *host);
    /* A script run for conn (argv: its EVAL / FCALL ...) called a read-only command: client-side
     * caching tracks its declared keys. May be NULL. */
    void (*script_read)(void *host, void *conn, int argc, const data_arg *argv);
    /* Diagnostics (the host's SLOWLOG and LATENCY). exec_step: a command of an applied EXEC,
     * in its logged form, runs for conn (the client that proposed it): called before (end 0)
     * and after (end 1) it runs. latency: a driver event of this node that lasted duration_us
     * ("expire-del": the apply of one expiry entry, "eviction-del": of an eviction, "wal-fsync":
     * the longest WAL fdatasync of a pass, on the storage thread or the loop). May be NULL. */
    void (*exec_step)(void *conn, int argc, const data_arg *argv, int end);
    /* A write conn proposed, applied here: phase 0 before it runs, 1 after (true: it was slow,
     * then phase 2 with its arguments as logged). May be NULL. */
    bool (*write_ran)(void *conn, int argc, const data_arg *argv, int phase);
    void (*latency)(void *host, const char *event, int64_t duration_us);
} node_host;

#define NODE_MEMBERS_MAX 9
#define NODE_HOST_MAX    256
#define NODE_SECRET_MAX  512
enum { NODE_FSYNC_ALWAYS = 0, NODE_FSYNC_BATCH = 1, NODE_FSYNC_NEVER = 2 };

typedef struct {
    long long id; /* this node's id, >= 1 */
    char host[NODE_HOST_MAX];
    int port;
} node_member;

/* The settings the driver reads (copied by the host from its configuration). */
typedef struct {
    long long id;
    char data_dir[4096];
    int fsync;                             /* NODE_FSYNC_* */
    node_member members[NODE_MEMBERS_MAX]; /* --cluster; n_members == 0: just this node */
    int n_members;
    long long join; /* 1: joining an existing cluster (SYNOD MEMBER ADD) */
    char peer_host[NODE_HOST_MAX];
    int peer_port;
    char cluster_id[65];
    char cluster_secret[NODE_SECRET_MAX + 1];
    char client_addr[NODE_HOST_MAX + 16]; /* this node's client address, as clients reach it */
    /* tls-cluster: TLS contexts for accepted and dialled peer links (the dial context also for
     * the relays to the leader), borrowed from the host, which keeps them for the node's life;
     * NULL: plain TCP. relay_addr: this node's TLS client address, where followers relay. */
    net_tls_ctx *tls_accept, *tls_dial;
    char relay_addr[NODE_HOST_MAX + 16];
    /* may change at runtime (node_set_config) */
    char requirepass[NODE_SECRET_MAX + 1]; /* a follower's relay AUTHs with it */
    long long cluster_down_timeout_ms;     /* a command waits this long for a leader */
    long long snapshot_count;              /* applied entries between automatic snapshots */
    long long min_replicas_to_write;       /* 0 = off; else writes need this many good voters */
    long long min_replicas_max_lag;        /* seconds: a voter heard from within it is good */
    long long hold_ms; /* a held loop's keepalives are sent this long (peer.h; 0: 5 s) */
} node_config;

/* Opens the data directory (snapshot + WAL replay into ds), creates the raft instance, the peer
 * transport and the tick timer. NULL on a fatal error (logged: corrupt WAL, ...). The host table
 * must outlive the node. */
node *node_create(net_loop *loop, data_store *ds, const node_config *cfg, const node_host *host);
void node_destroy(node *n);
/* The runtime fields of cfg (requirepass, cluster_down_timeout_ms, snapshot_count). */
void node_set_config(node *n, const node_config *cfg);

/* The loop's before-sleep hook (ctx = node): re-runs stalled clients, drives raft, then the
 * host's flush writes the replies. */
void node_before_sleep(net_loop *l, void *ctx);

/* A connection's lifetime: attach at accept (conn = the host's connection), detach before it
 * is freed (drops every reference the driver holds to it). */
void node_client_attach(node *n, node_client *nc, void *conn, int consistency);
void node_client_detach(node *n, node_client *nc);

/* Outcome of node_route. */
enum { NODE_LOCAL = 0, NODE_DONE = 1, NODE_STALL = 2 };
/* Called for each parsed request. NODE_LOCAL: execute it as a single server would (server
 * commands, stale reads); NODE_DONE: handled (proposed, forwarded, queued or answered);
 * NODE_STALL: not consumed — the client waits (no leader yet, or replies of earlier requests
 * must come first); it is re-run from node_before_sleep. */
int node_route(node *n, node_client *c, int argc, const data_arg *argv);

/* A follower's relay c sent a blocking command as SYNOD MARK <token> <mark> <command...> on its
 * own connection (fwd.c "Blocking commands keep their place"): returns the argument count of
 * the command, which moves to argv[0] (as take_origin), and remembers the mark as taken, for the
 * SYNOD AFTER that the follower sent behind it on its shared relay. Any other request: argc. */
int node_take_mark(node *n, node_client *c, int argc, data_arg *argv);
/* A relay's SYNOD AFTER <token> <mark>: NODE_STALL while that mark was not taken (at most
 * NODE_AFTER_WAIT_MS), then NODE_DONE (it has no reply: the replies the relay is owed keep their
 * order). Run before the ACL and other gates (the relay may run as a user without SYNOD),
 * uncounted. Any other request: NODE_LOCAL. */
int node_take_after(node *n, node_client *c, int argc, const data_arg *argv);

/* EXEC of c's queued transaction: one log entry on the leader, relayed whole by a follower.
 * NODE_DONE (answered or on its way) or NODE_STALL (re-run later). */
int node_exec(node *n, node_client *c);
void node_expire_cycle(node *n); /* leader: propose DELs of expired keys */
/* The leader under min-replicas-to-write without enough good replicas, and argv a write (a data
 * write, a declared write script): Redis refuses it with -NOREPLICAS (queued in MULTI too). */
bool node_refuses_write(node *n, int argc, const data_arg *argv);
/* maxmemory (docs/data.md "Eviction"): the leader evicts keys by the data store's policy, each
 * deletion a log entry, until `over` bytes are freed or on their way. 0: done or in progress;
 * -1: nothing can be evicted (noeviction, no candidate, storage failed): the caller answers a
 * write with -OOM; 1: not the leader (it judges the writes a follower relays). */
int node_evict(node *n, long long over);
/* CLIENT UNBLOCK: a client blocked in BLPOP & co. (on this leader, or relayed to the leader by
 * this follower) is answered as by a timeout (error = 0) or with -UNBLOCKED (error = 1).
 * Returns 1 if it was blocked. */
int node_unblock(node *n, node_client *c, int error);
size_t node_blocked_clients(const node *n); /* INFO blocked_clients */
/* UNWATCH: forget c's watched keys (also after DISCARD, and an EXEC that did not run). */
void node_unwatch(node *n, node_client *c);
/* WAIT inside an applied EXEC: the count of replicas known to hold c's writes, at once. */
long long node_wait_count(node *n, node_client *c);
void node_info(node *n, resp_buf *b);         /* the "# Consensus" INFO section */
const char *node_leader_client_addr(node *n); /* "" while no leader is known */
/* A single-node cluster's client listener moved (CONFIG SET port). Members of a larger cluster
 * tell their peers their address in the handshake, so theirs never changes (asserted). */
void node_set_client_addr(node *n, const char *addr);
/* INFO persistence: commands that changed the dataset since the last snapshot (Redis's
 * rdb_changes_since_last_save), and whether a background snapshot is being written. */
uint64_t node_changes_since_snapshot(const node *n);
int node_snapshot_in_progress(const node *n);
/* The last background snapshot's fork(): how long the parent waited (us), and how many. */
void node_fork_stats(const node *n, uint64_t *latest_us, uint64_t *total);
/* Another fork of this process (redis-cli --rdb's writer, server/rdb_xfer.c): counted in those
 * stats; node_forget_in_child, in that child, closes its copies of the WAL's descriptors (the
 * data directory's lock among them) as the snapshot writer does. */
void node_count_fork(node *n, uint64_t us);
void node_forget_in_child(node *n);

/* SAVE / BGSAVE [SCHEDULE] / BGREWRITEAOF / LASTSAVE (docs/cluster.md "Snapshots"): a snapshot
 * of this node's applied state, which also compacts its WAL behind it. node_save writes it in
 * the foreground (-1 with err, e.g. while a background one runs); node_bgsave forks the writer
 * (0 started, or nothing applied since the last snapshot; 1 one is already running, and with
 * schedule another starts when it ends; -1 failed); node_lastsave is the unix time of the last
 * snapshot taken, or of the start. */
int node_save(node *n, char *err, size_t cap);
int node_bgsave(node *n, bool schedule, char *err, size_t cap);
long long node_lastsave(const node *n);

/* node_log.c: a command's arguments as log entries (and MULTI's queue) hold them: argc (u32),
 * then len (u32) + bytes for each, big-endian. nentry_put_args appends to b; nentry_get_args
 * decodes the command at *off into a growing argv (pointing into p): argc, 0 at the end, -1 if
 * malformed. */
void nentry_put_args(resp_buf *b, int argc, const data_arg *argv);
int nentry_get_args(const uint8_t *p, size_t len, size_t *off, data_arg **argv, int *cap);

#endif
