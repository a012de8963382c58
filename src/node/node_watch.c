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
 * Stamps are kept in memory only, for keys modified since the node started (or installed a
 * snapshot, or since the table was last reset at NODE_STAMPS_MAX keys): below that horizon a
 * watched key counts as modified. That only makes EXEC fail where it might have succeeded, and
 * only the leader decides, so replicas never disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/node_internal.h"
#include "util/assert.h"
#include "util/strconv.h"

#define NODE_STAMPS_MAX (1u << 20)

typedef struct stamp {
    struct stamp *next;
    uint64_t index;
    int db;
    size_t len;
    char key[];
} stamp;

struct nwatch {
    char *key;
    size_t len;
    uint64_t w; /* the watching node's applied index at WATCH time */
    int state;  /* DATA_KEY_* then */
    int db;     /* the key's database */
};

static uint64_t hash_key(int db, const char *p, size_t n)
{
    /* FNV-1a: the table is reset when it grows large */
    uint64_t h = (1469598103934665603ull ^ (uint64_t)db) * 1099511628211ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static void stamps_reset(node *n, uint64_t horizon)
{
    for (size_t i = 0; i < n->stamps_cap; i++)
        for (stamp *s = n->stamps[i], *next; s; s = next) {
            next = s->next;
            free(s);
        }
    free(n->stamps);
    n->stamps = NULL;
    n->stamps_cap = n->stamps_n = 0;
    n->stamp_horizon = horizon;
    free(n->flush_stamps);
    n->flush_stamps = NULL;
    n->flush_stamps_n = 0;
}

static stamp **slot_of(node *n, int db, const char *key, size_t len)
{
    stamp **pp = &n->stamps[hash_key(db, key, len) & (n->stamps_cap - 1)];
    while (*pp && ((*pp)->db != db || (*pp)->len != len || memcmp((*pp)->key, key, len) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void grow(node *n)
{
    size_t ncap = n->stamps_cap ? 2 * n->stamps_cap : 1024;
    stamp **nt = calloc(ncap, sizeof(*nt));
    SYN_ASSERT(nt != NULL);
    for (size_t i = 0; i < n->stamps_cap; i++)
        for (stamp *s = n->stamps[i], *next; s; s = next) {
            next = s->next;
            stamp **head = &nt[hash_key(s->db, s->key, s->len) & (ncap - 1)];
            s->next = *head;
            *head = s;
        }
    free(n->stamps);
    n->stamps = nt;
    n->stamps_cap = ncap;
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
    if (n->stamps_n >= NODE_STAMPS_MAX) stamps_reset(n, idx ? idx - 1 : 0);
    if (n->stamps_n >= n->stamps_cap / 2) grow(n);
    stamp **pp = slot_of(n, db, key, len);
    if (*pp) {
        (*pp)->index = idx;
        return;
    }
    stamp *s = malloc(sizeof(*s) + len);
    SYN_ASSERT(s != NULL);
    s->next = NULL;
    s->index = idx;
    s->db = db;
    s->len = len;
    memcpy(s->key, key, len);
    *pp = s;
    n->stamps_n++;
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
    stamp **pp = n->stamps_cap ? slot_of(n, w->db, w->key, w->len) : NULL;
    return pp && *pp && (*pp)->index > w->w;
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
