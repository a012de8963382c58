/* node_watch.c — WATCH / UNWATCH / EXEC with watched keys on a replicated store (issue 11;
 * docs/cluster.md "WATCH").
 *
 * Every node stamps each key a write modifies with the log index of the entry that did it
 * (data_set_key_touched_hook; FLUSHALL/FLUSHDB stamp "every key"). WATCH is answered by the node
 * the client is connected to, with no network: it records, per key, that node's applied index W
 * and the key's state then (absent, live, stale). A key is modified since the WATCH if its stamp
 * is above W (stamps compare across nodes: they are log indexes).
 *
 * The EXEC decision is the leader's alone, and is not re-made by the replicas: the leader waits
 * until it has applied every entry of its log (a barrier holds other writes back meanwhile, so
 * it cannot starve), checks the watched keys against its stamps, and either answers nil at once
 * (nothing is logged) or proposes the transaction in the same loop pass — nothing can come
 * between the check and the transaction's place in the log. A follower relays its client's
 * watched keys (SYNOD WATCHED) ahead of the relayed MULTI ... EXEC.
 *
 * Stamps are kept in memory only, by the leader only, for keys modified since it became leader
 * (or installed a snapshot): below that horizon a watched key counts as modified, so a WATCH
 * taken before a leader change fails its EXEC (a follower saves the stamping: ~7% of its CPU
 * at pipeline 16). They are kept in a fixed
 * sketch, not per key (a table of every written key cost ~80 bytes a key, as much as the data of
 * a small key): NODE_STAMP_ROWS rows of NODE_STAMP_SLOTS log indexes; a write of key k raises
 * slot h_r(k) of every row r to the entry's index, and k's stamp is the minimum over its slots.
 * That minimum is never below k's true last modification (no change is missed); it is above it
 * only if every one of k's slots was also written, after the WATCH, by other keys: about
 * (1 - e^(-m/NODE_STAMP_SLOTS))^NODE_STAMP_ROWS for m distinct keys written meanwhile (m = 1,000:
 * 1e-6; m = 10,000: 5e-3). Either way that only makes EXEC fail where it might have succeeded,
 * and only the leader decides, so replicas never disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/node_internal.h"
#include "util/assert.h"
#include "util/strconv.h"

/* 4 rows x 32K slots x 8 bytes = 1 MiB, allocated at the first write */
#define NODE_STAMP_ROWS  4
#define NODE_STAMP_SLOTS (1u << 15)

struct nwatch {
    char *key;
    size_t len;
    uint64_t w; /* the watching node's applied index at WATCH time */
    int state;  /* DATA_KEY_* then */
    int db;     /* the key's database */
};

static uint64_t hash_key(int db, const char *p, size_t n)
{
    /* FNV-1a, then a 64-bit finaliser (splitmix64) so every 15-bit slice is well mixed */
    uint64_t h = (1469598103934665603ull ^ (uint64_t)db) * 1099511628211ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* Slot of key hash h in row r: rows use disjoint 15-bit slices of h. */
static size_t slot_of(uint64_t h, int r)
{
    return (size_t)r * NODE_STAMP_SLOTS + (size_t)((h >> (15 * r)) & (NODE_STAMP_SLOTS - 1));
}

static void stamps_reset(node *n, uint64_t horizon)
{
    free(n->stamps);
    n->stamps = NULL;
    n->stamp_horizon = horizon;
    free(n->flush_stamps);
    n->flush_stamps = NULL;
    n->flush_stamps_n = 0;
}

/* The key's stamp: >= the index of the last entry that modified it (0: none since the horizon). */
static uint64_t stamp_of(const node *n, int db, const char *key, size_t len)
{
    if (!n->stamps) return 0;
    uint64_t h = hash_key(db, key, len), st = UINT64_MAX;
    for (int r = 0; r < NODE_STAMP_ROWS; r++) {
        uint64_t v = n->stamps[slot_of(h, r)];
        if (v < st) st = v;
    }
    return st;
}

static void on_touched(void *ctx, const char *key, size_t len)
{
    node *n = ctx;
    npubsub_touched(n, key, len); /* client-side caching (node_pubsub.c) */
    uint64_t idx = n->applying_index;
    nblock_touched(n, key, len);   /* clients blocked on streams (node_block.c) */
    int db = data_selected(n->ds); /* the entry's */
    if (!key) { /* FLUSHALL / FLUSHDB / SWAPDB: every key of the database that existed */
        if (db >= n->flush_stamps_n) {
            int nn = data_databases(n->ds);
            uint64_t *fs = realloc(n->flush_stamps, (size_t)nn * sizeof(*fs));
            SYN_ASSERT(fs != NULL);
            for (int i = n->flush_stamps_n; i < nn; i++)
                fs[i] = 0;
            n->flush_stamps = fs;
            n->flush_stamps_n = nn;
        }
        n->flush_stamps[db] = idx;
        return;
    }
    /* only the leader decides a watched EXEC: a follower keeps no stamps, and the horizon
     * moves to its applied index when it becomes leader (nwatch_became_leader) */
    if (n->role != RAFT_LEADER) return;
    if (!n->stamps) {
        n->stamps = calloc((size_t)NODE_STAMP_ROWS * NODE_STAMP_SLOTS, sizeof(*n->stamps));
        SYN_ASSERT(n->stamps != NULL);
    }
    uint64_t h = hash_key(db, key, len);
    for (int r = 0; r < NODE_STAMP_ROWS; r++) {
        uint64_t *v = &n->stamps[slot_of(h, r)];
        if (*v < idx) *v = idx;
    }
}

void nwatch_prefetch(const node *n, const char *key, size_t len)
{
    if (!n->stamps || n->role != RAFT_LEADER) return;
    uint64_t h = hash_key(data_selected(n->ds), key, len);
    for (int r = 0; r < NODE_STAMP_ROWS; r++)
        __builtin_prefetch(&n->stamps[slot_of(h, r)], 1);
}

void nwatch_init(node *n)
{
    data_set_key_touched_hook(n->ds, on_touched, n);
}

void nwatch_deinit(node *n)
{
    stamps_reset(n, 0);
}

void nwatch_horizon(node *n, uint64_t index)
{
    stamps_reset(n, index);
}

void nwatch_became_leader(node *n)
{
    stamps_reset(n, n->applied); /* what it applied as a follower was not stamped */
}

void node_unwatch(node *n, client *c)
{
    (void)n;
    for (int i = 0; i < c->n_watch; i++)
        free(c->watch[i].key);
    free(c->watch);
    c->watch = NULL;
    c->n_watch = c->cap_watch = 0;
    if (n->barrier == c) n->barrier = NULL;
}

static int add_watch(client *c, int db, const char *key, size_t len, uint64_t w, int state)
{
    for (int i = 0; i < c->n_watch; i++)
        if (c->watch[i].db == db && c->watch[i].len == len &&
            memcmp(c->watch[i].key, key, len) == 0)
            return 0;
    if (c->n_watch == c->cap_watch) {
        int ncap = c->cap_watch ? 2 * c->cap_watch : 4;
        nwatch *nw = realloc(c->watch, (size_t)ncap * sizeof(*nw));
        if (!nw) return -1;
        c->watch = nw;
        c->cap_watch = ncap;
    }
    char *k = malloc(len ? len : 1);
    if (!k) return -1;
    memcpy(k, key, len);
    c->watch[c->n_watch++] = (nwatch){k, len, w, state, db};
    return 0;
}

void nwatch_cmd(node *n, client *c, int argc, const data_arg *argv)
{
    if (argc < 2) {
        nreply_error(n, c, "ERR wrong number of arguments for 'watch' command");
        return;
    }
    int64_t now = net_wall_ms();
    if (data_select(n->ds, c->db) < 0) {
        nreply_error(n, c, "ERR DB index is out of range");
        return;
    }
    for (int i = 1; i < argc; i++) {
        int st = data_key_state(n->ds, argv[i].ptr, argv[i].len, now);
        if (add_watch(c, c->db, argv[i].ptr, argv[i].len, n->applied, st) < 0) {
            data_select(n->ds, 0);
            nreply_error(n, c, "OOM out of memory watching keys");
            return;
        }
    }
    data_select(n->ds, 0);
    nreply_status(n, c, "OK");
}

/* SYNOD WATCHED <key> <w> <state> ...: a follower's watched keys, ahead of a relayed EXEC. */
void nwatch_relayed(node *n, client *c, int argc, const data_arg *argv)
{
    if (!c->forwarded || argc < 5 || (argc - 2) % 3 != 0) {
        nreply_error(n, c, "ERR syntax: SYNOD WATCHED <key> <index> <state> ...");
        return;
    }
    for (int i = 2; i + 2 < argc; i += 3) {
        char buf[32];
        uint64_t w = 0;
        int st = 0;
        size_t l = argv[i + 1].len < sizeof(buf) - 1 ? argv[i + 1].len : sizeof(buf) - 1;
        memcpy(buf, argv[i + 1].ptr, l);
        buf[l] = '\0';
        w = strtoull(buf, NULL, 10);
        /* state: one digit, then ",db" (the key's database; the connection's if absent) */
        st = argv[i + 2].len >= 1 ? argv[i + 2].ptr[0] - '0' : 0;
        if (st < DATA_KEY_ABSENT || st > DATA_KEY_STALE) st = DATA_KEY_LIVE;
        long long db = c->db;
        if (argv[i + 2].len > 2 && argv[i + 2].ptr[1] == ',' &&
            (!syn_string2ll(argv[i + 2].ptr + 2, argv[i + 2].len - 2, &db) || db < 0 ||
             db >= data_databases(n->ds))) {
            nreply_error(n, c, "ERR DB index is out of range");
            return;
        }
        if (add_watch(c, (int)db, argv[i].ptr, argv[i].len, w, st) < 0) {
            nreply_error(n, c, "OOM out of memory watching keys");
            return;
        }
    }
    nreply_status(n, c, "OK");
}

/* Encodes c's watched keys as the arguments of SYNOD WATCHED into out (argv pointing into buf,
 * a buffer the caller frees). Returns argc. */
int nwatch_encode(const client *c, data_arg **out, char **buf)
{
    int argc = 2 + 3 * c->n_watch;
    data_arg *a = malloc((size_t)argc * sizeof(*a));
    char *b = malloc((size_t)c->n_watch * 40 + 1);
    SYN_ASSERT(a && b);
    a[0] = (data_arg){"SYNOD", 5};
    a[1] = (data_arg){"WATCHED", 7};
    char *p = b;
    for (int i = 0; i < c->n_watch; i++) {
        const nwatch *w = &c->watch[i];
        int k = snprintf(p, 22, "%llu", (unsigned long long)w->w);
        a[2 + 3 * i] = (data_arg){w->key, w->len};
        a[3 + 3 * i] = (data_arg){p, (size_t)k};
        int k2 = snprintf(p + k + 1, 16, "%c,%d", '0' + w->state, w->db);
        a[4 + 3 * i] = (data_arg){p + k + 1, (size_t)k2};
        p += k + 2 + k2;
    }
    *out = a;
    *buf = b;
    return argc;
}

static bool modified(node *n, const nwatch *w, int64_t now)
{
    if (data_select(n->ds, w->db) < 0) return true;
    int st = data_key_state(n->ds, w->key, w->len, now);
    data_select(n->ds, 0);
    /* a key already expired when watched and deleted since: no change (Redis 7.0) */
    if (w->state == DATA_KEY_STALE && st == DATA_KEY_ABSENT) return false;
    /* watched live, expired since: EXEC fails (Redis 7.0) */
    if (w->state == DATA_KEY_LIVE && st == DATA_KEY_STALE) return true;
    if (w->w < n->stamp_horizon) return true; /* stamps below the horizon are unknown */
    /* FLUSHDB / FLUSHALL / SWAPDB since: a key that was live changed; one that was absent or
     * stale changed only if it is live now (Redis touchAllWatchedKeysInDb) */
    if (w->db < n->flush_stamps_n && n->flush_stamps[w->db] > w->w &&
        (w->state == DATA_KEY_LIVE || st == DATA_KEY_LIVE))
        return true;
    return stamp_of(n, w->db, w->key, w->len) > w->w;
}

int nwatch_exec_check(node *n, client *c)
{
    if (raft_last_index_of(n->r) > n->applied) {
        if (!n->barrier) n->barrier = c; /* hold other writes back until the log is applied */
        return -1;
    }
    if (n->barrier == c) n->barrier = NULL;
    int64_t now = net_wall_ms();
    for (int i = 0; i < c->n_watch; i++)
        if (modified(n, &c->watch[i], now)) return 1;
    return 0;
}
