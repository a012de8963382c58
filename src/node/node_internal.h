/* node_internal.h — state of the replication driver shared by the files of src/node. */
#ifndef SYNOD_NODE_NODE_INTERNAL_H
#define SYNOD_NODE_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/raft.h"
#include "node/node.h"
#include "node/peer.h"
#include "storage/identity.h"
#include "storage/wal.h"
#include "util/log.h"

#define NODE_ADDRS_MAX       (2 * RAFT_MAX_MEMBERS)
#define NODE_ADDR_MAX        256
#define NODE_TICK_MS         20 /* election timeout 12..24 ticks: 240..480 ms */
#define NODE_ELECTION_TICKS  12
#define NODE_HEARTBEAT_TICKS 2
/* A follower outside the leader's commit quorum (raft_ready.sync_may_wait) delays its fsync by
 * up to this much, so that one covers more entries (node_sync.c). */
#define NODE_SYNC_LATER_US   2000
#define NODE_PENDING_MAX     (1u << 20)  /* proposals awaiting apply */
#define NODE_ENTRY_MAX_BYTES (64u << 20) /* < PEER_FRAME_MAX of peer.c */
/* Applying what was committed does not hold the loop for long (node_process): one Ready hands
 * out this many bytes of entries at most (one entry at least), and a loop pass takes no new
 * Ready once NODE_APPLY_PASS_MS went by since it began; the rest waits for the next pass, which
 * comes at once, after clients and peers had their turn. */
#define NODE_APPLY_READY_BYTES (4u << 20)
#define NODE_APPLY_PASS_MS     50

/* Entry payloads: a command (leader's now_ms + rewritten argv), a peer address, or an expiry
 * decision (leader's now_ms + key, applied with data_expire_key: deletes only if the key is
 * still expired then, so a value written after the decision survives). */
enum {
    NENTRY_CMD = 1,
    NENTRY_ADDR = 2,
    NENTRY_EXPIRE = 3,
    NENTRY_MULTI = 4,
    NENTRY_EVICT = 5,
    NENTRY_CMD_OOM = 6, /* as NENTRY_CMD: a script the leader logged under OOM (script_env.oom) */
    NENTRY_DB = 7,      /* u32 db, then any other entry: it applies to that database (SELECT) */
    NENTRY_REPEAT = 8,  /* u32 count, then a NENTRY_CMD blocking pop: count identical pipelined
                           commands, run in order until one would block (node_block.c) */
    NENTRY_READ = 9,    /* as NENTRY_CMD: a read pipelined behind writes of its client, answered
                           at its place in the log by the leader that has the client; nothing
                           anywhere else (node.c route_log_read) */
    NENTRY_ORIGIN = 10, /* u64 node run token, u64 connection id, u64 request number, then any
                           other entry but itself: made for that request of that connection of
                           that run of a node (a follower's relayed request) */
};
#define NODE_REPEAT_MAX 1024 /* commands in one NENTRY_REPEAT */
/* Lists of keys with their database (evictions in flight, keys made ready for blocked
 * clients): u32 db, u32 len, key, repeated. dbkey_next reads the one at *off and advances it;
 * false at the end. */
void dbkey_put(resp_buf *b, int db, const char *key, size_t len);
bool dbkey_next(const resp_buf *b, size_t *off, int *db, const char **key, size_t *len);

/* NENTRY_ORIGIN around the entry of len bytes at data, into b; unwrap: the ids and the entry
 * inside (0 and nothing changed if it has no origin; -1 if malformed). */
void nentry_wrap_origin(resp_buf *b, const uint64_t origin[3], const void *data, size_t len);
int nentry_unwrap_origin(const uint8_t **p, size_t *len, uint64_t origin[3]);
/* An entry of database 0 carries no NENTRY_DB prefix (logs from before databases read alike). */
void nentry_wrap_db(resp_buf *b, int db);
/* The database of an entry and its payload without the prefix: -1 if malformed. */
int nentry_unwrap_db(const uint8_t **p, size_t *len);
/* NENTRY_REPEAT around the NENTRY_CMD entry in b; unwrap: its count and the command entry
 * (-1 if malformed: no NENTRY_CMD inside, count 0 or above NODE_REPEAT_MAX). */
void nentry_wrap_repeat(resp_buf *b, uint32_t count);
int nentry_unwrap_repeat(const uint8_t **p, size_t *len, uint32_t *count);
/* NENTRY_EVICT: as NENTRY_EXPIRE (now_ms + key), applied with data_evict_key: deleted whatever
 * its state, the leader's maxmemory decision (node_evict). */
/* NENTRY_MULTI (EXEC): leader's now_ms (8), count (4), then per command argc (4) and its
 * arguments as len (4) + bytes: applied as one unit, replies gathered into one array. */

typedef struct node_client client; /* the driver's view of a client connection */

typedef struct {
    uint64_t index, term;
    client *c;       /* NULL once the client is gone */
    uint32_t n_cmds; /* requests of c it answers (a NENTRY_REPEAT: several; else 1) */
} node_prop;

typedef struct {
    uint64_t ctx;
    client *c;
    char *cmd; /* encoded command (nentry_encode_cmd format), malloc'd */
    size_t cmd_len;
    int db;    /* the client's database (SELECT) */
    bool done; /* its read state arrived (err: the core's error, 0 = confirmed) */
    int err;
    bool migrate;    /* MIGRATE's read of its keys (node_migrate.c), cmd NULL */
    int64_t gate_ms; /* a follower's FCALL gate (node.c fcall_gate): when asked; 0 = not one */
} node_read;

/* fwd.c: relaying commands to the leader's client port. */
typedef struct fwd fwd;
fwd *fwd_create(struct node *n);
void fwd_destroy(fwd *f);
/* Sends argv to the leader at addr for client c; its reply is appended to c's output when it
 * arrives (c->n_async is decremented). 0, or -EAGAIN: a connection to another address still has
 * replies to relay (retry later), -ENOMEM. */
int fwd_send(fwd *f, const char *addr, client *c, int argc, const data_arg *argv);
/* A request sent on the connection that relays c's, as c's user, whose reply is dropped (c is
 * not waiting for it) */
int fwd_send_quiet(fwd *f, const char *addr, client *c, int argc, const data_arg *argv);
/* SYNOD EVICTIONS <bytes> to the leader on the connection that relays c's requests: the leader
 * evicts for its own memory (its OOM gate runs for every request) or to free `bytes` (this
 * node's excess: its clients' buffers are not the leader's), whichever is more, and answers the
 * index of its last eviction entry, given to node_evictions_answer. Returns the ask's number
 * on that connection (> 0), or -EAGAIN, -ENOMEM; fwd_evictions_answered tells when it was
 * answered (or lost with the connection). */
long long fwd_ask_evictions(fwd *f, const char *addr, client *c, long long bytes);
bool fwd_evictions_answered(fwd *f, client *c, uint64_t ask);
void node_evictions_answer(node *n, uint64_t index);
/* CLIENT PAUSE / UNPAUSE on a follower (run here for its clients): sent to the leader too (reply
 * dropped), whose writes, expiry and eviction are the cluster's: one server paused, as Redis */
void node_pause_share(node *n, client *c, int argc, const data_arg *argv);
/* fwd_send of a PUBLISH / SPUBLISH: its integer reply becomes `receivers` (this node's) */
int fwd_send_publish(fwd *f, const char *addr, client *c, int argc, const data_arg *argv,
                     long long receivers);
/* fwd_send behind SYNOD PRELUDE: the leader runs the script's prelude (node.c) */
int fwd_send_prelude(fwd *f, const char *addr, client *c, int argc, const data_arg *argv);
void fwd_client_freed(fwd *f, client *c);
/* c's queued transaction as one contiguous MULTI ... EXEC; only EXEC's reply reaches c. */
int fwd_send_multi(fwd *f, const char *addr, client *c);
/* A blocking command, on c's own connection to the leader (c->relay): it may wait there for
 * ever without holding up anyone else's replies. With `repeats` identical requests pipelined
 * behind it, sent together (the leader takes them as one entry). */
int fwd_send_blocking(fwd *f, const char *addr, client *c, int argc, const data_arg *argv,
                      int repeats);
/* CLIENT UNBLOCK of a client whose blocking command is relayed: SYNOD UNBLOCK-SELF goes to the
 * leader on its own connection (node_block.c). 1 if it was waiting (and not asked already). */
int fwd_unblock(fwd *f, client *c, int error);

typedef struct nblock nblock;
typedef struct nwatch nwatch;

/* node_sync.c: a sync asked for by one Ready (what it makes durable), a message held for one */
typedef struct nsync_pending {
    uint64_t ticket;
    uint64_t index, term; /* last entry written by that Ready (0: none) */
    uint64_t hs_term;     /* term of the hard state it wrote (0: none) */
} nsync_pending;
typedef struct nsync_held {
    uint64_t ticket; /* sent once this sync returned */
    raft_message *m; /* deep copy (one allocation) */
} nsync_held;

#define NODE_MARKS         256 /* node.marks: the latest blocking commands relayed, kept */
#define NODE_AFTER_WAIT_MS 250 /* SYNOD AFTER waits for its mark this long at most */
#define NODE_INFO_GATE_MS  500 /* INFO on a follower waits for the ReadIndex gate this long */

struct node {
    net_loop *loop;
    data_store *ds;
    node_config cfg;
    const node_host *host;
    client *clients; /* attached connections (node_client_attach) */
    raft *r;
    struct wal *wal;
    struct identity ident; /* the data directory's IDENTITY (node_ident.c) */
    peer_net *pn;
    fwd *fw;
    uint64_t tick_timer;
    int64_t tick_due_ms;    /* monotonic time of the next raft tick (node_catch_up) */
    uint64_t completions;   /* client requests answered asynchronously (progress counter) */
    uint64_t log_reads;     /* reads logged behind their client's writes (route_log_read) */
    uint64_t snap_installs; /* the leader's snapshots installed (INFO snapshots_installed) */
    bool failed;            /* storage failed: raft frozen, writes refused */
    char fail_msg[512];
    const char *failpoint_path;       /* test failpoint (node_init.c), NULL in production */
    const char *failpoint_stall_path; /* fsyncs wait while it exists (node_init.c) */
    uint32_t sync_later_us;           /* NODE_SYNC_LATER_US, or SYNOD_TEST_SYNC_LATER_US (tests) */
    uint64_t deferred_syncs;          /* sync requests allowed to wait (INFO wal_deferred_syncs) */
    int64_t pass_start_ms; /* node_before_sleep: when this pass began (0: outside a pass) */
    bool apply_more;       /* a Ready was left for the next pass (NODE_APPLY_PASS_MS) */
    uint64_t ka_term; /* the keepalives the peer watcher has (node_keepalives_sync): their term */
    size_t ka_n;      /* and count (0: none) */
    bool failpoint_armed; /* ... active once the WAL is open */
    raft_role role;
    raft_id leader;
    uint64_t applied;
    uint64_t applied_since_snap;       /* entries applied since the last snapshot */
    uint64_t applied_bytes_since_snap; /* and their payload bytes */
    uint64_t dirty_since_snap;         /* applied commands that changed the dataset, since */
    uint64_t coord_wait_index;         /* leader: lease ends proposed up to here (coord.c) */
    uint64_t expire_wait_index;        /* leader: DELs proposed up to here, wait until applied */
    uint64_t durable_term; /* term of the last hard state written + synced (raft_may_send_early) */
    uint8_t *sent_early;   /* per message of the current Ready: already sent */
    size_t sent_early_cap;
    /* fsync off the event loop (node_sync.c), fsync always only */
    bool async;        /* the WAL's storage thread syncs; the core runs with async_persist */
    nsync_pending *sp; /* syncs requested and not yet returned, in ticket order */
    size_t sp_head, sp_n, sp_cap;
    nsync_held *held; /* messages waiting for a sync, in Ready order */
    size_t held_head, held_n, held_cap;
    uint64_t sync_req;        /* last ticket requested (wal_async_request) */
    uint64_t sync_done;       /* last ticket whose fdatasync returned */
    uint64_t sync_batches;    /* Readies that asked the storage thread for a sync (INFO) */
    uint64_t entries_written; /* log entries handed to the WAL (INFO: entries per fsync) */
    struct wal_entry *rd_tmp; /* entries read back from the WAL for the core */
    size_t rd_cap;
    raft_snapshot_meta snap_meta; /* latest durable snapshot (index 0: none) */
    int snap_fd;                  /* its file, to serve followers (-1: none) */
    uint64_t snap_off, snap_len;  /* where its dataset bytes are in the file */
    uint8_t *snap_conf;           /* its conf blob (nconf_encode), served ahead of the dataset */
    uint32_t snap_conf_len;
    int bg_pid;                 /* background snapshot child (0: none) */
    bool bg_scheduled;          /* BGSAVE SCHEDULE: start another when this one ends */
    long long last_save_unix;   /* LASTSAVE: the last snapshot taken, or the start */
    raft_snapshot_meta bg_meta; /* what it is writing */
    uint8_t *bg_conf;           /* ... and its conf blob (taken at the fork) */
    uint32_t bg_conf_len;
    /* snapshot stream being received from the leader (nsnap_* format), in chunk order */
    resp_buf in_snap;
    raft_snapshot_meta in_snap_meta;
    /* peer addresses (bootstrap --cluster + ADDR entries) */
    struct {
        raft_id id;
        char addr[NODE_ADDR_MAX];
    } addrs[NODE_ADDRS_MAX];
    /* proposals in index order */
    node_prop *props;
    size_t props_head, props_n, props_cap; /* ring */
    node_read *reads; /* in arrival order: a client's reads are answered in that order */
    size_t reads_n, reads_cap;
    uint64_t read_pass; /* serve_reads pass number (client.read_pass marks a blocked client) */
    uint64_t next_ctx;
    /* this process's name in the origins of its relayed requests (NENTRY_ORIGIN): random, so
     * an entry proposed for a client of an earlier run of this node (whose ids start again at
     * 1) is never taken for a client of this one */
    uint64_t origin_token;
    /* the latest blocking commands followers relayed on their own connections, as (their
     * origin token, mark), once taken here: SYNOD AFTER waits for one (fwd.c "Blocking commands
     * keep their place") */
    struct {
        uint64_t token, mark;
    } marks[NODE_MARKS];
    unsigned marks_next;
    int n_held_replies; /* clients with a held_reply (node.h) */
    int promote_ticks;
    data_arg *argv;
    int argv_cap;
    resp_buf scratch;
    resp_buf origin_buf; /* propose: an entry wrapped in its relayed request's origin */
    char cluster_id[65];
    /* blocked clients (node_block.c), FIFO; keys created since the last serve pass */
    nblock *blk_head, *blk_tail;
    size_t blk_n;
    size_t blk_streams; /* ... of them blocked on streams (XREAD, XREADGROUP) */
    size_t blk_tails;   /* ... of them answered, with identical requests left (node_block.c) */
    uint64_t latest_fork_us, total_forks; /* background snapshots' fork() (INFO stats) */
    bool blk_flushed; /* FLUSHALL / FLUSHDB applied while clients wait on streams */
    resp_buf blk_ready;
    uint64_t blk_retry_index; /* last index when retries were last proposed (nblock_serve) */
    /* WATCH (node_watch.c): a sketch of the last-modification log index of each key, from
     * applied entries (NULL until the first write) */
    uint64_t *stamps;
    uint64_t stamp_horizon; /* stamps at or below this index are unknown */
    struct {
        raft_id id;
        int64_t ms;          /* monotonic */
    } heard[NODE_ADDRS_MAX]; /* when each peer's last message came (min-replicas-to-write) */
    uint64_t *flush_stamps;  /* per database: last FLUSHALL / FLUSHDB / SWAPDB */
    int flush_stamps_n;
    uint64_t applying_index; /* index of the entry being applied */
    /* pub/sub and keyspace notifications (node_pubsub.c): entries up to replayed_index were in
     * the log when this process started (a previous life may have delivered them); only an
     * entry after it, while being applied, delivers (deliver) */
    uint64_t replayed_index;
    bool deliver;
    void *applying_conn;   /* the host connection whose entry is being applied, NULL if none */
    bool applying_counted; /* ... a script whose calls were counted there already (whole_seq) */
    uint64_t applying_origin[3]; /* the origin (SYNOD ORIGIN) of the entry being applied, or 0s */
    client *barrier;             /* a watched EXEC waits for the log to be applied: writes wait */
    size_t n_waiting;            /* clients in WAIT (node_wait.c) */
    /* leader: evictions proposed up to evict_wait_index, their estimated bytes (node_evict) */
    uint64_t evict_wait_index;
    long long evict_pending_bytes;
    /* follower: the highest index an answer to SYNOD EVICTIONS named (node.c evictions_wait) */
    uint64_t evict_follow_index;
    resp_buf evict_keys;   /* ... and their keys (len u32 + bytes): unmarked when it ends */
    struct nmigrate *migs; /* MIGRATEs in progress on this leader (node_migrate.c) */
};

/* node_log.c */
void nlog_deinit(node *n);
void nlog_storage(node *n, raft_storage *st);

/* Conf blob (stored in snapshot files, and sent to followers inside InstallSnapshot): the
 * membership plus every peer address the node knows, so a node restored from a snapshot knows
 * the addresses of members whose ADDR entries the snapshot compacted away. NCONF_MAX_BYTES
 * bounds it. nconf_decode only parses (no side effect): *addrs gets up to NODE_ADDRS_MAX
 * addresses; the caller applies them with node_set_addr once it accepted the snapshot. */
#define NCONF_MAX_BYTES                                                                            \
    (8 + 8 * 2 * RAFT_MAX_MEMBERS + 4 + NODE_ADDRS_MAX * (8 + 2 + NODE_ADDR_MAX))
typedef struct {
    raft_id id;
    char addr[NODE_ADDR_MAX];
} nconf_addr;
size_t nconf_encode(const node *n, const raft_membership *m, uint8_t *out, size_t cap);
int nconf_decode(const uint8_t *p, size_t len, raft_membership *m, nconf_addr *addrs,
                 size_t *n_addrs);
void nconf_apply_addrs(node *n, const nconf_addr *addrs, size_t n_addrs);

/* The InstallSnapshot stream a leader serves (storage.snapshot_chunk) and a follower reassembles:
 * "SYN1", conf blob length (4, big-endian), the conf blob, the dataset image (the same bytes as
 * in the snapshot file). nsnap_parse checks the framing: -1 if malformed. */
#define NSNAP_MAGIC     "SYN1"
#define NSNAP_HDR_BYTES 8
void nsnap_header(uint8_t out[NSNAP_HDR_BYTES], uint32_t conf_len);
int nsnap_parse(const uint8_t *p, size_t len, const uint8_t **conf, uint32_t *conf_len,
                const uint8_t **data, size_t *data_len);
/* b = type byte + leader's now_ms (the common entry header; b is reset first). */
void nentry_put_header(resp_buf *b, uint8_t type, int64_t now_ms);
int nentry_encode_cmd(resp_buf *b, int64_t now_ms, int argc, const data_arg *argv);
int nentry_decode_cmd(node *n, const uint8_t *p, size_t len, int64_t *now_ms, int *argc);
/* The first `max` arguments of a command entry (an expiry entry reads as "expire" KEY) without
 * decoding the rest; how many (0 if malformed). */
int nentry_head(const uint8_t *p, size_t len, data_arg *out, int max);
void nentry_encode_addr(resp_buf *b, raft_id id, const char *addr);
int nentry_decode_addr(const uint8_t *p, size_t len, raft_id *id, char *addr, size_t cap);

/* node.c */
#define NODE_EFAILED (-1000)       /* node_propose*: storage failed, the raft instance is frozen */
const char *node_strerror(int rc); /* NODE_EFAILED or a -RAFT_E* code */
void node_set_addr(node *n, raft_id id, const char *addr);
const char *node_get_addr(const node *n, raft_id id);
int node_propose(node *n, client *c, const void *data, size_t len);
/* A blocked client's retry: tracked for c like node_propose, without counting a new request;
 * its entry names `origin` (the blocking command's SYNOD ORIGIN, all 0: none) */
int node_propose_retry(node *n, client *c, const uint64_t origin[3], const void *data, size_t len);
int node_propose_cc(node *n, client *c, const raft_conf_change *cc);
void node_fail(node *n, const char *what);

/* node_sync.c: fsync off the event loop (fsync always) */
int nsync_start(node *n); /* the WAL's storage thread + its eventfd on the loop; -1: failed */
void nsync_stop(node *n); /* before wal_close; drops what is still held */
/* Step 4-5 of a Ready: ask for its fsync (must_sync), send what may go now, hold the rest until
 * the syncs of this and earlier Readies returned. -1: storage failed (node_fail called). */
int nsync_ready(node *n, const raft_ready *rd);
/* A follower (or candidate, learner) with no sync in flight and nothing held syncs a Ready in
 * the loop instead of on the storage thread (node_sync.c says why). */
bool nsync_idle_follower(const node *n);
void nsync_wait(node *n); /* block until every requested sync returned (startup only) */
void node_process(node *n);
int64_t node_tick_cb(net_loop *l, uint64_t id, void *ctx);
/* node_ident.c: check (or record) the data directory's identity against the flags; fresh = no
 * log or snapshot found. 0, or -1 after printing why. */
int node_ident_check(node *n, bool fresh);
/* A peer's data id seen in a handshake: recorded the first time; -1 (reason in err) if it is
 * not the one recorded (the member's data was lost). */
int node_ident_peer(node *n, raft_id peer, const uint8_t *data_id, char *err, size_t err_len);
/* A member was removed: it may come back with new data. */
void node_ident_forget(node *n, raft_id peer);
void node_catch_up(node *n);
/* The peer watcher's keepalives follow the core's role and term (node.c); force: hand them over
 * even if neither changed. */
void node_keepalives_sync(node *n, bool force);
void node_on_peer_msg(void *ctx, const raft_message *m);
void node_on_peer_alive(void *ctx, raft_id id);

/* node_snap.c */
int node_snapshot(node *n, char *err, size_t cap); /* in the foreground (SYNOD SNAPSHOT) */
void node_snap_maybe_start(node *n);               /* background, every snapshot-count entries */
void node_snap_poll(node *n);                      /* background snapshot finished? */
void node_snap_stop(node *n);                      /* kill a running background snapshot */
int node_snap_install(node *n, const raft_snapshot_chunk *ch); /* follower: leader's chunk */
int node_snap_open(node *n); /* open the snapshot file of snap_meta for serving followers */

/* node_cmd.c */
void node_cmd_synod(node *n, client *c, int argc, const data_arg *argv);

/* node_pubsub.c: the data store's publish / event hooks, forwarded to the host while an entry
 * is applied live (node.deliver). */
void npubsub_init(node *n);
void npubsub_touched(node *n, const char *key, size_t len);           /* from node_watch's hook */
long long npubsub_receivers(node *n, int argc, const data_arg *argv); /* relayed PUBLISH */
#ifdef SYNOD_BUG_PUBSUB_LOCAL
void npubsub_bug_receipt(node *n, int argc, const data_arg *argv, int forwarded);
#endif

/* node_block.c: blocking commands (see there). nblock_apply runs a blocking command proposed
 * by c as its entry is applied: true if c got its reply (false: blocked, or answered by
 * CLIENT UNBLOCK already); *dirty as data_exec returns. */
void nblock_init(node *n);
void nblock_deinit(node *n);
/* SYNOD UNBLOCK-SELF (a follower's CLIENT UNBLOCK, on the relay connection c): as CLIENT
 * UNBLOCK of c, or of its request in flight once that blocks; how: 1 timeout, 2 error. */
void nblock_unblock_self(node *n, client *c, int how);
bool nblock_apply(node *n, client *c, const data_cmd *dc, int argc, const data_arg *argv,
                  int64_t now_ms, bool *dirty, uint32_t left);
/* A NENTRY_REPEAT entry (after its database prefix) applied, for c (NULL on a replica or when
 * the client is gone): true if every command of it got its reply. */
bool nblock_apply_repeat(node *n, client *c, const uint8_t *data, size_t len);
/* The leader routes a blocking pop for c: how many identical requests after it (raw bytes,
 * node.h) may go in the same entry (0: none). */
int nblock_repeats(node *n, client *c, const data_cmd *dc);
/* Answers the client of the last proposal for: it was n_cmds requests. */
void node_prop_set_cmds(node *n, uint32_t n_cmds);
void nblock_serve(node *n); /* outside a Ready: propose retries for keys that became ready */
/* leader: blocked clients' retries are in the log unapplied, or keys are ready and not yet
 * served: a read must wait (it would miss pops Redis makes before the next command) */
bool nblock_reads_wait(const node *n);
void nblock_timeouts(node *n);        /* answer the blocked clients whose timeout passed */
void nblock_drop(node *n, client *c); /* c leaves or its retry failed: forget it */
/* an applied entry wrote key (NULL: every key): clients blocked on streams may read now */
void nblock_touched(node *n, const char *key, size_t len);
void nblock_fail_all(node *n, const char *msg); /* leadership lost */

/* node_wait.c: WAIT numreplicas timeout (see there). nwait_poll answers the waiting clients
 * whose count was reached, whose timeout passed, or whose node lost leadership. */
void nwait_cmd(node *n, client *c, int argc, const data_arg *argv);
void nwait_poll(node *n);
void nwait_drop(node *n, client *c);
int nwait_unblock(node *n, client *c, int error); /* CLIENT UNBLOCK */

/* node_migrate.c: MIGRATE (see there). nmigrate_parse checks the arguments (replies Redis's
 * error and returns NULL) and holds a copy of them; nmigrate_discard drops one not attached (a
 * follower relays the command instead); nmigrate_attach makes it c's (c waits for its reply);
 * nmigrate_dump runs once the leader's log is applied up to a confirmed read index (reads the
 * keys, connects to the target). Its deletion is a MIGRATE_DEL entry proposed for c:
 * nmigrate_deleting tells exec_cmd that this entry answers with MIGRATE's reply
 * (nmigrate_answer). nmigrate_drop forgets c's migration without a reply (c answered
 * otherwise, or gone). */
typedef struct nmigrate nmigrate;
nmigrate *nmigrate_parse(node *n, client *c, int argc, const data_arg *argv);
void nmigrate_discard(node *n, nmigrate *m);
void nmigrate_attach(node *n, client *c, nmigrate *m);
void nmigrate_dump(node *n, client *c);
bool nmigrate_deleting(const client *c);
void nmigrate_answer(node *n, client *c);
void nmigrate_drop(node *n, client *c);
void nmigrate_deinit(node *n);

/* node_watch.c: WATCH (see there). nwatch_exec_check: -1 = not yet (entries still to apply;
 * re-run), 1 = a watched key was modified (EXEC answers nil), 0 = go. nwatch_horizon: stamps
 * up to index are unknown (a snapshot was installed). */
void nwatch_init(node *n);
void nwatch_deinit(node *n);
void nwatch_horizon(node *n, uint64_t index);
/* The node became leader: it stamps from its applied index on (followers keep no stamps). */
void nwatch_became_leader(node *n);
/* Memory hint: the stamps a write of key (in the selected database) will update. */
void nwatch_prefetch(const node *n, const char *key, size_t len);
void nwatch_cmd(node *n, client *c, int argc, const data_arg *argv);
void nwatch_relayed(node *n, client *c, int argc, const data_arg *argv);
int nwatch_encode(const client *c, data_arg **out, char **buf);
int nwatch_exec_check(node *n, client *c);

/* Replies to a connection through the host's reply ops (node.c). */
void nreply_status(node *n, client *c, const char *s);
void nreply_error(node *n, client *c, const char *s); /* "ERR ..." without the '-' */
void nreply_errorf(node *n, client *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void nreply_int(node *n, client *c, long long v);
void nreply_array(node *n, client *c, size_t len);
void nreply_cstr(node *n, client *c, const char *s); /* bulk */
/* The host's data_exec reply ops for c (a table that discards for NULL). */
const data_reply_ops *nreply_ops(node *n, client *c);
/* One of c's asynchronous requests was answered: c may run more. */
void node_client_done(node *n, client *c);
/* when this node last received any message from the leader it knows (monotonic ms; 0: none) */
int64_t node_leader_heard_ms(const node *n);
/* fwd.c: c's relayed reply kept until this node has applied the entry of request number need
 * (fwd.c awaits_apply; 0: only behind an earlier held one), or NODE_HELD_REPLY_MS passed while
 * this node hears from a leader (cluster-down-timeout while it does not), or c goes: then
 * delivered, with every reply held behind it, in order */
#define NODE_HELD_REPLY_MS 1000
void node_hold_reply(node *n, client *c, const char *p, size_t len, uint64_t need);
void node_release_reply(node *n, client *c);
/* c's messages kept for its requests up to number upto (node.h pend) go out (or are held). */
void node_pend_out(node *n, client *c, uint64_t upto);

#endif
