/* tracking.c — client-side caching: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
 * (docs/cluster.md "Client-side caching").
 *
 * As Redis 7.0: in the default mode the node remembers, per key, the clients that read it (read
 * commands of tracking clients, as they are routed: the node the client is connected to keeps
 * the table, whatever node serves the read) and sends each of them one invalidation when the key
 * is next modified, then forgets the key; in BCAST mode a client gets every modified key that
 * starts with one of its prefixes. Modifications are reported by the replication driver as this
 * node applies each entry (node_host.key_touched), so invalidations come from applied entries on
 * every node, in log order; they are sent once the entry is applied, after its reply.
 *
 * Invalidations: RESP3 `>2 invalidate [keys]` (null for FLUSHALL/FLUSHDB) to the client or to
 * its REDIRECT target; a RESP2 target gets them as `message __redis__:invalidate [keys]` if it
 * is in pub/sub mode. A gone redirect target makes a RESP3 client get `tracking-redir-broken`.
 *
 * Bounds: tracking-table-max-keys (0 = unbounded): past it, keys are dropped from the table with
 * an invalidation, as Redis evicts them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/assert.h"
#include "util/strconv.h"

enum {
    TRK_BCAST = 1u << 0,
    TRK_OPTIN = 1u << 1,
    TRK_OPTOUT = 1u << 2,
    TRK_NOLOOP = 1u << 3,
    TRK_CACHING = 1u << 4,      /* CLIENT CACHING yes/no for the next command */
    TRK_BROKEN_REDIR = 1u << 5, /* the redirect target went away */
};

struct srv_client_tracking {
    unsigned flags;
    uint64_t redirect; /* client id, 0 = none */
    char **prefixes;   /* BCAST */
    size_t *plen;
    size_t n_prefixes;
    /* BCAST: per prefix, the keys to send at the end of the entry (encoded bulks, count) */
    resp_buf *pending;
    size_t *n_pending;
    bool script_ok; /* the last scripting call routed may be tracked (OPTIN / OPTOUT rules) */
    /* through a follower: invalidations held until the reply of a relayed request of this
     * connection whose entry was applied before the reply came (node.h hold_until), as queue()
     * encodes them (the id left out): they follow that reply, as in Redis */
    resp_buf held;
    size_t n_held;
};

typedef struct trk_key {
    struct trk_key *next;
    uint64_t hash;
    uint64_t *ids;
    size_t n, cap;
    size_t len;
    char key[];
} trk_key;

struct srv_tracking {
    trk_key **b;
    size_t nb, n; /* buckets (power of two), keys */
    size_t items; /* sum of ids over keys */
    client **trk; /* clients with tracking on */
    size_t n_trk, cap_trk;
    size_t n_prefixes;
    /* invalidations of the entry being applied, sent at its end: (client id, key) pairs */
    resp_buf out;
    size_t n_out;
    size_t n_holding; /* clients with invalidations held (srv_client_tracking.held) */
};

static uint64_t key_hash(const char *p, size_t len)
{
    uint64_t h = 0x84222325cbf29ce4ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

void srv_tracking_init(server *s)
{
    s->tracking = calloc(1, sizeof(*s->tracking));
    SYN_ASSERT(s->tracking != NULL);
    resp_buf_init(&s->tracking->out);
}

static void table_clear(struct srv_tracking *t)
{
    for (size_t i = 0; i < t->nb; i++)
        for (trk_key *k = t->b[i], *nx; k; k = nx) {
            nx = k->next;
            free(k->ids);
            free(k);
        }
    free(t->b);
    t->b = NULL;
    t->nb = t->n = t->items = 0;
}

void srv_tracking_deinit(server *s)
{
    if (!s->tracking) return;
    table_clear(s->tracking);
    free(s->tracking->trk);
    resp_buf_deinit(&s->tracking->out);
    free(s->tracking);
    s->tracking = NULL;
}

static trk_key *find_key(struct srv_tracking *t, const char *p, size_t len, uint64_t h)
{
    if (!t->nb) return NULL;
    for (trk_key *k = t->b[h & (t->nb - 1)]; k; k = k->next)
        if (k->hash == h && k->len == len && memcmp(k->key, p, len) == 0) return k;
    return NULL;
}

static void unlink_key(struct srv_tracking *t, trk_key *k)
{
    trk_key **pp = &t->b[k->hash & (t->nb - 1)];
    while (*pp != k)
        pp = &(*pp)->next;
    *pp = k->next;
    t->n--;
    t->items -= k->n;
    free(k->ids);
    free(k);
}

static void grow(struct srv_tracking *t)
{
    size_t nb = t->nb ? 2 * t->nb : 64;
    trk_key **b = calloc(nb, sizeof(*b));
    SYN_ASSERT(b != NULL);
    for (size_t i = 0; i < t->nb; i++)
        for (trk_key *k = t->b[i], *nx; k; k = nx) {
            nx = k->next;
            k->next = b[k->hash & (nb - 1)];
            b[k->hash & (nb - 1)] = k;
        }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static client *tracker(server *s, uint64_t id)
{
    struct srv_tracking *t = s->tracking;
    for (size_t i = 0; i < t->n_trk; i++)
        if (t->trk[i]->id == id) return t->trk[i];
    return NULL;
}

static client *client_by_id(server *s, uint64_t id)
{
    for (client *c = s->clients; c; c = c->next)
        if (c->id == id && !(c->flags & CLIENT_CLOSE_ASAP)) return c;
    return NULL;
}

/* ---- sending ---- */

/* One invalidation for c's tracking: keys is a RESP array (or null) already encoded for the
 * target's protocol by the caller through emit(). */
typedef void (*emit_fn)(resp_buf *b, int proto, void *arg);

static void send_to(server *s, client *c, emit_fn emit, void *arg)
{
    client *dst = c;
    int redirected = 0;
    if (c->trk->redirect) {
        dst = client_by_id(s, c->trk->redirect);
        if (!dst) {
            c->trk->flags |= TRK_BROKEN_REDIR;
            if (c->proto == 3) {
                c->flags |= CLIENT_PUSHING;
                int ok = srv_client_reply_begin(c);
                c->flags &= ~CLIENT_PUSHING;
                if (ok) {
                    resp_add_push(&c->out, 2, 3);
                    resp_add_bulk(&c->out, "tracking-redir-broken", 21);
                    resp_add_int(&c->out, (long long)c->trk->redirect);
                    srv_client_reply_end(c);
                    srv_client_mark_pending(c);
                }
            }
            return;
        }
        redirected = 1;
    }
    if (dst->proto != 3 && !(redirected && srv_pubsub_subscribed(dst))) return;
    dst->flags |= CLIENT_PUSHING;
    int ok = srv_client_reply_begin(dst);
    dst->flags &= ~CLIENT_PUSHING;
    if (!ok) return;
    if (dst->proto == 3) {
        resp_add_push(&dst->out, 2, 3);
        resp_add_bulk(&dst->out, "invalidate", 10);
    } else {
        resp_add_array(&dst->out, 3);
        resp_add_bulk(&dst->out, "message", 7);
        resp_add_bulk(&dst->out, "__redis__:invalidate", 20);
    }
    emit(&dst->out, dst->proto, arg);
    srv_client_reply_end(dst);
    srv_client_mark_pending(dst);
}

struct one_key {
    const char *p;
    size_t len;
};

static void emit_one(resp_buf *b, int proto, void *arg)
{
    (void)proto;
    struct one_key *k = arg;
    resp_add_array(b, 1);
    resp_add_bulk(b, k->p, k->len);
}

static void emit_null(resp_buf *b, int proto, void *arg)
{
    (void)arg;
    resp_add_null(b, proto);
}

/* BCAST batch of one prefix: its pending keys, already encoded as bulks */
struct batch {
    resp_buf *keys;
    size_t n;
};

static void emit_pending(resp_buf *b, int proto, void *arg)
{
    (void)proto;
    struct batch *bt = arg;
    resp_add_array(b, bt->n);
    resp_buf_append(b, bt->keys->data, bt->keys->len);
}

/* Queues an invalidation of key for client id (sent by srv_tracking_flush). */
static void queue(struct srv_tracking *t, uint64_t id, const char *key, size_t len)
{
    uint8_t hdr[16];
    uint64_t l = key ? len : UINT64_MAX; /* no key: a null (FLUSHALL) */
    memcpy(hdr, &id, 8);
    memcpy(hdr + 8, &l, 8);
    resp_buf_append(&t->out, hdr, sizeof(hdr));
    if (key) resp_buf_append(&t->out, key, len);
    t->n_out++;
}

/* Does c wait for the reply of a request whose entry is applied (its own pushes follow it)?
 * Replies held by the driver (node.h held_reply) have not reached it yet. */
static int holding(const client *c)
{
    return !c->trk->redirect &&
           c->nc.hold_until > c->nc.relay_answered - (uint64_t)c->nc.held_replies;
}

static void emit_entry(server *s, client *c, const char *key, uint64_t len)
{
    if (len == UINT64_MAX) {
        send_to(s, c, emit_null, NULL);
        return;
    }
    struct one_key k = {key, (size_t)len};
    if (!(c->trk->flags & TRK_BCAST)) send_to(s, c, emit_one, &k);
}

void srv_tracking_release(server *s, client *c)
{
    struct srv_client_tracking *ct = c->trk;
    if (!ct || !ct->n_held || holding(c)) return;
    size_t off = 0;
    for (size_t i = 0; i < ct->n_held; i++) {
        uint64_t len;
        memcpy(&len, ct->held.data + off, 8);
        off += 8;
        emit_entry(s, c, (const char *)ct->held.data + off, len);
        if (len != UINT64_MAX) off += len;
    }
    ct->held.len = 0;
    ct->n_held = 0;
    s->tracking->n_holding--;
}

void srv_tracking_flush(server *s)
{
    struct srv_tracking *t = s->tracking;
    for (size_t i = 0; t->n_holding && i < t->n_trk; i++) /* replies that came in meanwhile */
        srv_tracking_release(s, t->trk[i]);
    size_t off = 0;
    for (size_t i = 0; i < t->n_out; i++) {
        uint64_t id, len;
        memcpy(&id, t->out.data + off, 8);
        memcpy(&len, t->out.data + off + 8, 8);
        off += 16;
        const char *key = (const char *)t->out.data + off;
        if (len != UINT64_MAX) off += len;
        client *c = tracker(s, id);
        if (!c) continue;
        if (holding(c)) {
            struct srv_client_tracking *ct = c->trk;
            if (!ct->n_held) t->n_holding++;
            resp_buf_append(&ct->held, &len, 8);
            if (len != UINT64_MAX) resp_buf_append(&ct->held, key, (size_t)len);
            ct->n_held++;
            continue;
        }
        emit_entry(s, c, key, len);
    }
    t->out.len = 0;
    t->n_out = 0;
    for (size_t i = 0; t->n_prefixes && i < t->n_trk; i++) {
        struct srv_client_tracking *ct = t->trk[i]->trk;
        for (size_t j = 0; j < ct->n_prefixes; j++) {
            if (!ct->n_pending[j]) continue;
            struct batch bt = {&ct->pending[j], ct->n_pending[j]};
            send_to(s, t->trk[i], emit_pending, &bt); /* one message per prefix, as Redis */
            ct->pending[j].len = 0;
            ct->n_pending[j] = 0;
        }
    }
}

/* Is key among the bulks of b already (one entry reports a key more than once)? */
static int pending_has(const resp_buf *b, const char *key, size_t len)
{
    const char *p = (const char *)b->data, *end = p + b->len;
    while (p < end) {
        size_t n = 0;
        for (p++; *p != '\r'; p++)
            n = n * 10 + (size_t)(*p - '0');
        p += 2;
        if (n == len && memcmp(p, key, len) == 0) return 1;
        p += n + 2;
    }
    return 0;
}

/* A key modified by an applied entry (key NULL: every key, FLUSHALL/FLUSHDB); writer: the
 * connection whose entry it is, if it is one of this node's (NOLOOP), else NULL. */
void srv_tracking_touched(server *s, const char *key, size_t len, client *writer)
{
    struct srv_tracking *t = s->tracking;
    if (!t->n_trk && !t->n) return;
    if (!key) { /* every tracking client gets a null invalidation after the entry */
        for (size_t i = 0; i < t->n_trk; i++)
            queue(t, t->trk[i]->id, NULL, 0);
        table_clear(t);
        return;
    }
    for (size_t i = 0; t->n_prefixes && i < t->n_trk; i++) {
        client *c = t->trk[i];
        struct srv_client_tracking *ct = c->trk;
        if (!(ct->flags & TRK_BCAST) || ((ct->flags & TRK_NOLOOP) && c == writer)) continue;
        for (size_t j = 0; j < ct->n_prefixes; j++)
            if (ct->plen[j] <= len && memcmp(ct->prefixes[j], key, ct->plen[j]) == 0) {
                if (pending_has(&ct->pending[j], key, len)) break;
                resp_add_bulk(&ct->pending[j], key, len);
                ct->n_pending[j]++;
                break; /* prefixes of one client never overlap */
            }
    }
    uint64_t h = key_hash(key, len);
    trk_key *k = find_key(t, key, len, h);
    if (!k) return;
    for (size_t i = 0; i < k->n; i++) {
        client *c = tracker(s, k->ids[i]);
        if (!c || (c->trk->flags & TRK_BCAST)) continue;
        if ((c->trk->flags & TRK_NOLOOP) && c == writer) continue;
        queue(t, k->ids[i], key, len);
    }
    unlink_key(t, k);
}

/* tracking-table-max-keys: drop keys (with their invalidation) until under the bound */
void srv_tracking_bound(server *s)
{
    struct srv_tracking *t = s->tracking;
    long long max = s->cfg.tracking_table_max_keys;
    for (size_t b = 0; max > 0 && t->n > (size_t)max && b < t->nb; b++)
        while (t->b[b] && t->n > (size_t)max) {
            trk_key *k = t->b[b];
            for (size_t i = 0; i < k->n; i++) {
                client *c = tracker(s, k->ids[i]);
                struct one_key ok = {k->key, k->len};
                if (c) send_to(s, c, emit_one, &ok);
            }
            unlink_key(t, k);
        }
}

static void remember(server *s, client *c, const char *key, size_t len)
{
    struct srv_tracking *t = s->tracking;
    uint64_t h = key_hash(key, len);
    trk_key *k = find_key(t, key, len, h);
    if (!k) {
        if (t->n + 1 > t->nb) grow(t);
        k = calloc(1, sizeof(*k) + len + 1);
        SYN_ASSERT(k != NULL);
        k->hash = h;
        k->len = len;
        memcpy(k->key, key, len);
        k->next = t->b[h & (t->nb - 1)];
        t->b[h & (t->nb - 1)] = k;
        t->n++;
    }
    for (size_t i = 0; i < k->n; i++)
        if (k->ids[i] == c->id) return;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 2;
        uint64_t *ni = realloc(k->ids, k->cap * sizeof(*ni));
        SYN_ASSERT(ni != NULL);
        k->ids = ni;
    }
    k->ids[k->n++] = c->id;
    t->items++;
}

static int arg_is(const data_arg *a, const char *s);

/* A request of a tracking client, as it is routed: a read's keys are remembered (default mode,
 * OPTIN after CLIENT CACHING yes, OPTOUT unless CLIENT CACHING no). Called before MULTI / EXEC /
 * DISCARD act (EXEC itself tracks nothing: its reads were tracked as they were queued). */
void srv_tracking_request(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_client_tracking *ct = c->trk;
    int is_client = arg_is(&argv[0], "client");
    unsigned caching = ct->flags & TRK_CACHING;
    /* CLIENT CACHING holds for one command, or a whole transaction (as Redis: the flag goes
     * after a command that leaves the client outside MULTI, CLIENT commands aside) */
    int multi_after = c->in_multi
                          ? !arg_is(&argv[0], "exec") && !(arg_is(&argv[0], "discard") && argc == 1)
                          : arg_is(&argv[0], "multi") && argc == 1;
    if (!is_client && !multi_after) ct->flags &= ~TRK_CACHING;
    if (c->in_multi && arg_is(&argv[0], "exec")) return;
    if (ct->flags & TRK_BCAST) return;
    bool ok = !(((ct->flags & TRK_OPTIN) && !caching) || ((ct->flags & TRK_OPTOUT) && caching));
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (!dc) ct->script_ok = ok; /* a script's keys are tracked once it has run */
    if (!ok || !dc || !(data_cmd_describe(dc)->flags & DATA_CMD_READONLY)) return;
    int pos[64];
    int nk = data_cmd_getkeys(dc, argc, argv, pos, 64);
    for (int i = 0; i < nk && i < 64; i++)
        remember(s, c, argv[pos[i]].ptr, argv[pos[i]].len);
    srv_tracking_bound(s);
}

/* A script run for c called a read-only command: its declared keys are tracked (Redis 7.0);
 * argv is its EVAL / EVALSHA / FCALL (and _RO) call, possibly behind an ACL_AS prefix. */
void srv_tracking_script(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_client_tracking *ct = c->trk;
    if (!ct || (ct->flags & TRK_BCAST) || !ct->script_ok) return;
    if (argc >= 3 && arg_is(&argv[0], "acl_as")) {
        argc -= 2;
        argv += 2;
    }
    long long numkeys;
    if (argc < 3 || !syn_string2ll(argv[2].ptr, argv[2].len, &numkeys) || numkeys < 0 ||
        numkeys > argc - 3)
        return;
    for (long long i = 0; i < numkeys; i++)
        remember(s, c, argv[3 + i].ptr, argv[3 + i].len);
    srv_tracking_bound(s);
}

/* ---- commands ---- */

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

static void tracking_off(server *s, client *c)
{
    struct srv_tracking *t = s->tracking;
    struct srv_client_tracking *ct = c->trk;
    if (!ct) return;
    for (size_t i = 0; i < t->n_trk; i++)
        if (t->trk[i] == c) {
            t->trk[i] = t->trk[--t->n_trk];
            break;
        }
    t->n_prefixes -= ct->n_prefixes;
    for (size_t i = 0; i < ct->n_prefixes; i++) {
        free(ct->prefixes[i]);
        resp_buf_deinit(&ct->pending[i]);
    }
    free(ct->prefixes);
    free(ct->plen);
    free(ct->pending);
    free(ct->n_pending);
    if (ct->n_held) t->n_holding--;
    resp_buf_deinit(&ct->held);
    free(ct);
    c->trk = NULL; /* its ids in the table are skipped (tracker() no longer finds it) */
    c->nc.wants_origin = false;
    c->nc.tracks_reads = false;
}

void srv_tracking_drop(server *s, client *c)
{
    tracking_off(s, c);
}

static int overlap(const char *a, size_t al, const char *b, size_t bl)
{
    return memcmp(a, b, al < bl ? al : bl) == 0;
}

static const data_arg every_key = {"", 0};

void srv_cmd_client_tracking(server *s, client *c, int argc, const data_arg *argv)
{
    long long redir = 0;
    unsigned opts = 0;
    const data_arg *pfx[64];
    size_t npfx = 0;
    for (int j = 3; j < argc; j++) {
        int more = j + 1 < argc;
        if (arg_is(&argv[j], "redirect") && more) {
            j++;
            if (redir != 0) {
                srv_reply_error(c, "ERR A client can only redirect to a single other client");
                return;
            }
            if (!syn_string2ll(argv[j].ptr, argv[j].len, &redir)) { /* " 5", "+5", "05" too */
                srv_reply_error(c, "ERR value is not an integer or out of range");
                return;
            }
            if (redir <= 0 || !client_by_id(s, (uint64_t)redir)) {
                srv_reply_error(c, "ERR The client ID you want redirect to does not exist");
                return;
            }
        } else if (arg_is(&argv[j], "bcast")) {
            opts |= TRK_BCAST;
        } else if (arg_is(&argv[j], "optin")) {
            opts |= TRK_OPTIN;
        } else if (arg_is(&argv[j], "optout")) {
            opts |= TRK_OPTOUT;
        } else if (arg_is(&argv[j], "noloop")) {
            opts |= TRK_NOLOOP;
        } else if (arg_is(&argv[j], "prefix") && more && npfx < 64) {
            pfx[npfx++] = &argv[++j];
        } else {
            srv_reply_error(c, "ERR syntax error");
            return;
        }
    }
    if (arg_is(&argv[2], "off")) {
        tracking_off(s, c);
        srv_reply_status(c, "OK");
        return;
    }
    if (!arg_is(&argv[2], "on")) {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    struct srv_client_tracking *ct = c->trk;
    if (!(opts & TRK_BCAST) && npfx) {
        srv_reply_error(c, "ERR PREFIX option requires BCAST mode to be enabled");
        return;
    }
    if (ct && !!(ct->flags & TRK_BCAST) != !!(opts & TRK_BCAST)) {
        srv_reply_error(c, "ERR You can't switch BCAST mode on/off before disabling tracking for "
                           "this client, and then re-enabling it with a different mode.");
        return;
    }
    if ((opts & TRK_BCAST) && (opts & (TRK_OPTIN | TRK_OPTOUT))) {
        srv_reply_error(c, "ERR OPTIN and OPTOUT are not compatible with BCAST");
        return;
    }
    if ((opts & TRK_OPTIN) && (opts & TRK_OPTOUT)) {
        srv_reply_error(c, "ERR You can't specify both OPTIN mode and OPTOUT mode");
        return;
    }
    if (ct && (((opts & TRK_OPTIN) && (ct->flags & TRK_OPTOUT)) ||
               ((opts & TRK_OPTOUT) && (ct->flags & TRK_OPTIN)))) {
        srv_reply_error(c, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                           "this client, and then re-enabling it with a different mode.");
        return;
    }
    if (opts & TRK_BCAST) {
        for (size_t i = 0; i < npfx; i++) {
            for (size_t e = 0; ct && e < ct->n_prefixes; e++)
                if (overlap(ct->prefixes[e], ct->plen[e], pfx[i]->ptr, pfx[i]->len)) {
                    srv_reply_errorf(c,
                                     "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                                     "Prefixes for a single client must not overlap.",
                                     (int)pfx[i]->len, pfx[i]->ptr, (int)ct->plen[e],
                                     ct->prefixes[e]);
                    return;
                }
            for (size_t j = i + 1; j < npfx; j++)
                if (overlap(pfx[i]->ptr, pfx[i]->len, pfx[j]->ptr, pfx[j]->len)) {
                    srv_reply_errorf(c,
                                     "ERR Prefix '%.*s' overlaps with another provided prefix "
                                     "'%.*s'. Prefixes for a single client must not overlap.",
                                     (int)pfx[i]->len, pfx[i]->ptr, (int)pfx[j]->len, pfx[j]->ptr);
                    return;
                }
        }
    }
    struct srv_tracking *t = s->tracking;
    if (!ct) {
        ct = calloc(1, sizeof(*ct));
        SYN_ASSERT(ct != NULL);
        c->trk = ct;
        if (t->n_trk == t->cap_trk) {
            t->cap_trk = t->cap_trk ? 2 * t->cap_trk : 8;
            client **nt = realloc(t->trk, t->cap_trk * sizeof(*nt));
            SYN_ASSERT(nt != NULL);
            t->trk = nt;
        }
        t->trk[t->n_trk++] = c;
    }
    /* as Redis's enableTracking: the mode flags are replaced, the redirect set */
    ct->flags = (ct->flags & TRK_CACHING) | opts;
    ct->redirect = (uint64_t)redir;
    /* through a follower: its relayed requests name it, so its own node knows their entries as
     * its when it applies them (NOLOOP; the keys of a script that read: node.c "origin"), and
     * its reads are served there after the ReadIndex gate (node.c: tracked on what they see) */
    c->nc.wants_origin = true;
    c->nc.tracks_reads = !(opts & TRK_BCAST);
    if ((opts & TRK_BCAST) && npfx == 0)
        pfx[npfx++] = &every_key; /* BCAST without PREFIX: every key */
    for (size_t i = 0; i < npfx; i++) {
        int have = 0;
        for (size_t e = 0; e < ct->n_prefixes; e++)
            have |= ct->plen[e] == pfx[i]->len &&
                    memcmp(ct->prefixes[e], pfx[i]->ptr, pfx[i]->len) == 0;
        if (have) continue;
        size_t m = ct->n_prefixes + 1;
        char **np = realloc(ct->prefixes, m * sizeof(*np));
        SYN_ASSERT(np != NULL);
        ct->prefixes = np;
        size_t *nl = realloc(ct->plen, m * sizeof(*nl));
        SYN_ASSERT(nl != NULL);
        ct->plen = nl;
        resp_buf *pb = realloc(ct->pending, m * sizeof(*pb));
        SYN_ASSERT(pb != NULL);
        ct->pending = pb;
        resp_buf_init(&pb[m - 1]);
        size_t *npd = realloc(ct->n_pending, m * sizeof(*npd));
        SYN_ASSERT(npd != NULL);
        ct->n_pending = npd;
        npd[m - 1] = 0;
        np[ct->n_prefixes] = malloc(pfx[i]->len + 1);
        SYN_ASSERT(np[ct->n_prefixes] != NULL);
        memcpy(np[ct->n_prefixes], pfx[i]->ptr, pfx[i]->len);
        nl[ct->n_prefixes++] = pfx[i]->len;
        t->n_prefixes++;
    }
    srv_reply_status(c, "OK");
}

void srv_cmd_client_caching(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc;
    struct srv_client_tracking *ct = c->trk;
    if (!ct) {
        srv_reply_error(c, "ERR CLIENT CACHING can be called only when the client is in tracking "
                           "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(&argv[2], "yes")) {
        if (!(ct->flags & TRK_OPTIN)) {
            srv_reply_error(
                c, "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if (arg_is(&argv[2], "no")) {
        if (!(ct->flags & TRK_OPTOUT)) {
            srv_reply_error(
                c, "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        srv_reply_error(c, "ERR syntax error");
        return;
    }
    ct->flags |= TRK_CACHING;
    srv_reply_status(c, "OK");
}

void srv_cmd_client_getredir(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    srv_reply_int(c, c->trk ? (long long)c->trk->redirect : -1);
}

void srv_cmd_client_trackinginfo(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    struct srv_client_tracking *ct = c->trk;
    unsigned f = ct ? ct->flags : 0;
    const char *flags[8];
    size_t n = 0;
    flags[n++] = ct ? "on" : "off";
    if (f & TRK_BCAST) flags[n++] = "bcast";
    if (f & TRK_OPTIN) {
        flags[n++] = "optin";
        if (f & TRK_CACHING) flags[n++] = "caching-yes";
    }
    if (f & TRK_OPTOUT) {
        flags[n++] = "optout";
        if (f & TRK_CACHING) flags[n++] = "caching-no";
    }
    if (f & TRK_NOLOOP) flags[n++] = "noloop";
    if (f & TRK_BROKEN_REDIR) flags[n++] = "broken_redirect";
    srv_reply_map(c, 3);
    srv_reply_cstr(c, "flags");
    srv_reply_set(c, n);
    for (size_t i = 0; i < n; i++)
        srv_reply_cstr(c, flags[i]);
    srv_reply_cstr(c, "redirect");
    srv_reply_int(c, ct ? (long long)ct->redirect : -1);
    srv_reply_cstr(c, "prefixes");
    srv_reply_array(c, ct ? ct->n_prefixes : 0);
    for (size_t i = 0; ct && i < ct->n_prefixes; i++)
        srv_reply_bulk(c, ct->prefixes[i], ct->plen[i]);
}

void srv_tracking_stats(const server *s, size_t *clients, size_t *keys, size_t *items,
                        size_t *prefixes)
{
    const struct srv_tracking *t = s->tracking;
    *clients = t->n_trk;
    *keys = t->n;
    *items = t->items;
    *prefixes = t->n_prefixes;
}
