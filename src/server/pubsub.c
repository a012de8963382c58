/* pubsub.c — client subscriptions and local delivery (docs/server.md "Pub/sub").
 *
 * SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBEs, PUBSUB introspection: all local
 * to the node the client is connected to, replies as Redis 7.0's (RESP2 arrays, RESP3 pushes).
 * Messages arrive from the replication driver (node_host.publish / keyspace_event) as each node
 * applies a PUBLISH entry or a write, so every subscriber on every node sees one channel's
 * messages in log order; PUBLISH itself is a data command that goes through the log.
 *
 * Tables: channel name -> subscribers (in subscription order, as Redis's lists), one table for
 * channels, one for shard channels, one for patterns; a client keeps the entries it is in, in
 * subscription order (UNSUBSCRIBE without arguments answers in that order). Everything is
 * bounded by the clients' own input: an entry lives while it has a subscriber. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/assert.h"

enum { PS_CHAN = 0, PS_PAT = 1, PS_SHARD = 2, PS_KINDS = 3 };

typedef struct ps_entry {
    struct ps_entry *next; /* bucket chain */
    uint64_t hash;
    client **subs; /* in subscription order */
    size_t n, cap;
    size_t len;
    char name[];
} ps_entry;

typedef struct {
    ps_entry **b;
    size_t nb; /* power of two, or 0 */
    size_t n;
} ps_table;

typedef struct {
    resp_buf b;
} ps_msg;

struct srv_pubsub {
    ps_table t[PS_KINDS];
    uint64_t seed;
    ps_msg msg; /* the message being delivered, encoded once (srv_pubsub_publish) */
};

/* what a client is subscribed to, in order */
struct srv_client_subs {
    ps_entry **e[PS_KINDS];
    size_t n[PS_KINDS], cap[PS_KINDS];
};

static uint64_t hash_bytes(uint64_t seed, const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed; /* FNV-1a, keyed */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static ps_entry *t_find(const ps_table *t, uint64_t h, const char *p, size_t len)
{
    if (!t->nb) return NULL;
    for (ps_entry *e = t->b[h & (t->nb - 1)]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->name, p, len) == 0) return e;
    return NULL;
}

static void t_grow(ps_table *t)
{
    size_t nb = t->nb ? 2 * t->nb : 16;
    ps_entry **b = calloc(nb, sizeof(*b));
    SYN_ASSERT(b != NULL);
    for (size_t i = 0; i < t->nb; i++)
        for (ps_entry *e = t->b[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static ps_entry *t_add(ps_table *t, uint64_t h, const char *p, size_t len)
{
    if (t->n + 1 > t->nb) t_grow(t);
    ps_entry *e = calloc(1, sizeof(*e) + len + 1);
    SYN_ASSERT(e != NULL);
    e->hash = h;
    e->len = len;
    memcpy(e->name, p, len);
    e->next = t->b[h & (t->nb - 1)];
    t->b[h & (t->nb - 1)] = e;
    t->n++;
    return e;
}

static void t_del(ps_table *t, ps_entry *e)
{
    ps_entry **pp = &t->b[e->hash & (t->nb - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    t->n--;
    free(e->subs);
    free(e);
}

void srv_pubsub_init(server *s)
{
    s->pubsub = calloc(1, sizeof(*s->pubsub));
    SYN_ASSERT(s->pubsub != NULL);
    resp_buf_init_soft(&s->pubsub->msg.b);
    s->pubsub->seed = (uint64_t)srv_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)s;
}

void srv_pubsub_deinit(server *s)
{
    if (!s->pubsub) return;
    for (int k = 0; k < PS_KINDS; k++) {
        ps_table *t = &s->pubsub->t[k];
        for (size_t i = 0; i < t->nb; i++)
            for (ps_entry *e = t->b[i], *nx; e; e = nx) {
                nx = e->next;
                free(e->subs);
                free(e);
            }
        free(t->b);
    }
    resp_buf_deinit(&s->pubsub->msg.b);
    free(s->pubsub);
    s->pubsub = NULL;
}

static size_t n_subs(const client *c, int kind)
{
    return c->subs ? c->subs->n[kind] : 0;
}

/* Redis's count in (un)subscribe replies: channels + patterns, or shard channels. */
static long long sub_count(const client *c, int kind)
{
    return kind == PS_SHARD ? (long long)n_subs(c, PS_SHARD)
                            : (long long)(n_subs(c, PS_CHAN) + n_subs(c, PS_PAT));
}

int srv_pubsub_subscribed(const client *c)
{
    return n_subs(c, PS_CHAN) + n_subs(c, PS_PAT) + n_subs(c, PS_SHARD) > 0;
}

void srv_pubsub_counts(const client *c, size_t *sub, size_t *psub, size_t *ssub)
{
    *sub = n_subs(c, PS_CHAN);
    *psub = n_subs(c, PS_PAT);
    *ssub = n_subs(c, PS_SHARD);
}

static const char *const kind_sub[PS_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const kind_unsub[PS_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* `kind name count` as a RESP2 array or a RESP3 push; name NULL: a null */
static void reply_confirm(client *c, const char *what, const char *name, size_t len,
                          long long count)
{
    if (!srv_client_reply_begin(c)) return;
    c->flags |= CLIENT_REPLY_FORCE; /* gets through CLIENT REPLY OFF (Redis 7.0) */
    resp_add_push(&c->out, 3, c->proto);
    resp_add_bulk(&c->out, what, strlen(what));
    if (name)
        resp_add_bulk(&c->out, name, len);
    else
        resp_add_null(&c->out, c->proto);
    resp_add_int(&c->out, count);
    srv_client_reply_end(c);
    c->flags &= ~CLIENT_REPLY_FORCE;
}

static int subscribe_one(server *s, client *c, int kind, const data_arg *a)
{
    ps_table *t = &s->pubsub->t[kind];
    uint64_t h = hash_bytes(s->pubsub->seed, a->ptr, a->len);
    ps_entry *e = t_find(t, h, a->ptr, a->len);
    if (e)
        for (size_t i = 0; i < e->n; i++)
            if (e->subs[i] == c) return 0; /* already */
    if (!c->subs) {
        c->subs = calloc(1, sizeof(*c->subs));
        SYN_ASSERT(c->subs != NULL);
    }
    if (!e) e = t_add(t, h, a->ptr, a->len);
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 4;
        client **ns = realloc(e->subs, e->cap * sizeof(*ns));
        SYN_ASSERT(ns != NULL);
        e->subs = ns;
    }
    e->subs[e->n++] = c;
    struct srv_client_subs *cs = c->subs;
    if (cs->n[kind] == cs->cap[kind]) {
        cs->cap[kind] = cs->cap[kind] ? 2 * cs->cap[kind] : 4;
        ps_entry **ne = realloc(cs->e[kind], cs->cap[kind] * sizeof(*ne));
        SYN_ASSERT(ne != NULL);
        cs->e[kind] = ne;
    }
    cs->e[kind][cs->n[kind]++] = e;
    return 1;
}

/* Removes c from the entry at position i of its kind list. */
static void unsubscribe_at(server *s, client *c, int kind, size_t i)
{
    struct srv_client_subs *cs = c->subs;
    ps_entry *e = cs->e[kind][i];
    memmove(&cs->e[kind][i], &cs->e[kind][i + 1], (cs->n[kind] - i - 1) * sizeof(ps_entry *));
    cs->n[kind]--;
    size_t j = 0;
    while (j < e->n && e->subs[j] != c)
        j++;
    SYN_ASSERT(j < e->n);
    memmove(&e->subs[j], &e->subs[j + 1], (e->n - j - 1) * sizeof(client *));
    if (--e->n == 0) t_del(&s->pubsub->t[kind], e);
}

static void unsubscribe_named(server *s, client *c, int kind, const data_arg *a)
{
    size_t n = n_subs(c, kind);
    for (size_t i = 0; i < n; i++) {
        ps_entry *e = c->subs->e[kind][i];
        if (e->len == a->len && memcmp(e->name, a->ptr, a->len) == 0) {
            unsubscribe_at(s, c, kind, i);
            break;
        }
    }
    reply_confirm(c, kind_unsub[kind], a->ptr, a->len, sub_count(c, kind));
}

/* notify: answer one confirmation per name (and one with a null name if there was none) */
static void unsubscribe_all(server *s, client *c, int kind, int notify)
{
    if (notify && n_subs(c, kind) == 0) {
        reply_confirm(c, kind_unsub[kind], NULL, 0, sub_count(c, kind));
        return;
    }
    while (n_subs(c, kind)) {
        ps_entry *e = c->subs->e[kind][0];
        char *name = NULL;
        size_t len = e->len;
        if (notify) { /* the entry may go away with its last subscriber */
            name = malloc(len + 1);
            SYN_ASSERT(name != NULL);
            memcpy(name, e->name, len);
        }
        unsubscribe_at(s, c, kind, 0);
        if (notify) {
            reply_confirm(c, kind_unsub[kind], name, len, sub_count(c, kind));
            free(name);
        }
    }
}

void srv_pubsub_drop(server *s, client *c)
{
    if (!c->subs) return;
    for (int k = 0; k < PS_KINDS; k++) {
        unsubscribe_all(s, c, k, 0);
        free(c->subs->e[k]);
    }
    free(c->subs);
    c->subs = NULL;
}

static void subscribe_cmd(server *s, client *c, int argc, const data_arg *argv, int kind)
{
    for (int i = 1; i < argc; i++) {
        subscribe_one(s, c, kind, &argv[i]);
        reply_confirm(c, kind_sub[kind], argv[i].ptr, argv[i].len, sub_count(c, kind));
    }
}

static void unsubscribe_cmd(server *s, client *c, int argc, const data_arg *argv, int kind)
{
    if (argc == 1) {
        unsubscribe_all(s, c, kind, 1);
        return;
    }
    for (int i = 1; i < argc; i++)
        unsubscribe_named(s, c, kind, &argv[i]);
}

void srv_cmd_subscribe(server *s, client *c, int argc, const data_arg *argv)
{
    subscribe_cmd(s, c, argc, argv, PS_CHAN);
}
void srv_cmd_psubscribe(server *s, client *c, int argc, const data_arg *argv)
{
    subscribe_cmd(s, c, argc, argv, PS_PAT);
}
void srv_cmd_ssubscribe(server *s, client *c, int argc, const data_arg *argv)
{
    subscribe_cmd(s, c, argc, argv, PS_SHARD);
}
void srv_cmd_unsubscribe(server *s, client *c, int argc, const data_arg *argv)
{
    unsubscribe_cmd(s, c, argc, argv, PS_CHAN);
}
void srv_cmd_punsubscribe(server *s, client *c, int argc, const data_arg *argv)
{
    unsubscribe_cmd(s, c, argc, argv, PS_PAT);
}
void srv_cmd_sunsubscribe(server *s, client *c, int argc, const data_arg *argv)
{
    unsubscribe_cmd(s, c, argc, argv, PS_SHARD);
}

/* ---- delivery ---- */

/* c's message, encoded into its output (the fallback of msg_push) */
static void push_message(client *c, const char *type, const ps_entry *pat, const char *ch,
                         size_t clen, const char *msg, size_t mlen)
{
    if (!srv_client_reply_begin(c)) return;
    unsigned was = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING; /* answers no request, gets through CLIENT REPLY OFF (Redis 7.0) */
    resp_add_push(&c->out, pat ? 4 : 3, c->proto);
    resp_add_bulk(&c->out, type, strlen(type));
    if (pat) resp_add_bulk(&c->out, pat->name, pat->len);
    resp_add_bulk(&c->out, ch, clen);
    resp_add_bulk(&c->out, msg, mlen);
    srv_client_reply_end(c);
    c->flags = (c->flags & ~CLIENT_PUSHING) | was;
    srv_client_mark_pending(c); /* not necessarily the client being served */
}

/* The message being delivered. It is encoded once (msg_encode) and copied to every subscriber:
 * RESP2's array and RESP3's push differ only in their first byte ('*' / '>'). ok 0: there was no
 * memory for that copy (m->b is a soft buffer), so each subscriber's is encoded in its output. */
typedef struct {
    const char *type, *ch, *msg;
    size_t clen, mlen;
    const ps_entry *pat;
    int ok;
} ps_cur;

static void msg_encode(ps_msg *m, ps_cur *cur)
{
    if (m->b.failed) resp_buf_deinit(&m->b);
    m->b.len = 0;
    resp_add_push(&m->b, cur->pat ? 4 : 3, 2);
    resp_add_bulk(&m->b, cur->type, strlen(cur->type));
    if (cur->pat) resp_add_bulk(&m->b, cur->pat->name, cur->pat->len);
    resp_add_bulk(&m->b, cur->ch, cur->clen);
    resp_add_bulk(&m->b, cur->msg, cur->mlen);
    cur->ok = !m->b.failed;
}

static void msg_push(ps_msg *m, const ps_cur *cur, client *c)
{
    if (!cur->ok) {
        push_message(c, cur->type, cur->pat, cur->ch, cur->clen, cur->msg, cur->mlen);
        return;
    }
    m->b.data[0] = c->proto == 3 ? '>' : '*';
    srv_client_push_raw(c, m->b.data, m->b.len);
}

static void msg_done(ps_msg *m)
{
    if (m->b.cap > 4096) resp_buf_deinit(&m->b); /* keep a small buffer for the next message */
}

long long srv_pubsub_publish(server *s, int shard, const char *ch, size_t clen, const char *msg,
                             size_t mlen)
{
    long long n = 0;
    int kind = shard ? PS_SHARD : PS_CHAN;
    ps_msg *m = &s->pubsub->msg;
    ps_table *t = &s->pubsub->t[kind];
    ps_entry *e = t->n ? t_find(t, hash_bytes(s->pubsub->seed, ch, clen), ch, clen) : NULL;
    ps_cur cur = {shard ? "smessage" : "message", ch, msg, clen, mlen, NULL, 0};
    if (e) {
        msg_encode(m, &cur);
        for (size_t i = 0; i < e->n; i++)
            msg_push(m, &cur, e->subs[i]);
        n += (long long)e->n;
    }
    if (shard) {
        msg_done(m);
        return n; /* shard channels ignore patterns, as in Redis */
    }
    ps_table *pt = &s->pubsub->t[PS_PAT];
    for (size_t b = 0; pt->n && b < pt->nb; b++)
        for (ps_entry *p = pt->b[b]; p; p = p->next) {
            if (!data_glob_match(p->name, p->len, ch, clen)) continue;
            cur.type = "pmessage";
            cur.pat = p;
            msg_encode(m, &cur);
            for (size_t i = 0; i < p->n; i++)
                msg_push(m, &cur, p->subs[i]);
            n += (long long)p->n;
        }
    msg_done(m);
    return n;
}

long long srv_pubsub_receivers(const server *s, int shard, const char *ch, size_t clen)
{
    int kind = shard ? PS_SHARD : PS_CHAN;
    const ps_table *t = &s->pubsub->t[kind];
    const ps_entry *e = t->n ? t_find(t, hash_bytes(s->pubsub->seed, ch, clen), ch, clen) : NULL;
    long long n = e ? (long long)e->n : 0;
    if (shard) return n;
    const ps_table *pt = &s->pubsub->t[PS_PAT];
    for (size_t b = 0; pt->n && b < pt->nb; b++)
        for (const ps_entry *p = pt->b[b]; p; p = p->next)
            if (data_glob_match(p->name, p->len, ch, clen)) n += (long long)p->n;
    return n;
}

/* __keyspace@<db>__:<key> <event> and __keyevent@<db>__:<event> <key>, as
 * notify-keyspace-events asks (the data layer has already filtered by class); db is the one the
 * data layer has selected for the event's key. */
void srv_pubsub_keyspace_event(server *s, int cls, const char *event, const char *key, size_t klen)
{
    (void)cls;
    int flags = s->cfg.notify_keyspace_events;
    size_t elen = strlen(event);
    char pre[40];
    size_t pl = (size_t)snprintf(pre, sizeof(pre), "__keyspace@%d__:", data_selected(s->ds));
    if (flags & DATA_NOTIFY_KEYSPACE) {
        size_t n = pl + klen;
        char small[256];
        char *ch = n <= sizeof(small) ? small : malloc(n);
        SYN_ASSERT(ch != NULL);
        memcpy(ch, pre, pl);
        memcpy(ch + pl, key, klen);
        srv_pubsub_publish(s, 0, ch, n, event, elen);
        if (ch != small) free(ch);
    }
    if (flags & DATA_NOTIFY_KEYEVENT) {
        char ch[96];
        memcpy(pre + 5, "event", 5); /* __keyspace@ -> __keyevent@ */
        size_t n = pl + (elen < 40 ? elen : 40);
        memcpy(ch, pre, pl);
        memcpy(ch + pl, event, n - pl);
        srv_pubsub_publish(s, 0, ch, n, key, klen);
    }
}

/* ---- PUBSUB ---- */

static void reply_channels(server *s, client *c, int kind, int argc, const data_arg *argv)
{
    if (argc > 3) {
        srv_reply_errorf(c,
                         "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                         "PUBSUB HELP.",
                         (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr);
        return;
    }
    const ps_table *t = &s->pubsub->t[kind];
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) srv_reply_array(c, n);
        for (size_t b = 0; b < t->nb; b++)
            for (ps_entry *e = t->b[b]; e; e = e->next) {
                if (argc == 3 && !data_glob_match(argv[2].ptr, argv[2].len, e->name, e->len))
                    continue;
                if (pass)
                    srv_reply_bulk(c, e->name, e->len);
                else
                    n++;
            }
    }
}

static void reply_numsub(server *s, client *c, int kind, int argc, const data_arg *argv)
{
    const ps_table *t = &s->pubsub->t[kind];
    srv_reply_array(c, (size_t)(argc - 2) * 2);
    for (int i = 2; i < argc; i++) {
        ps_entry *e = t_find(t, hash_bytes(s->pubsub->seed, argv[i].ptr, argv[i].len), argv[i].ptr,
                             argv[i].len);
        srv_reply_bulk(c, argv[i].ptr, argv[i].len);
        srv_reply_int(c, e ? (long long)e->n : 0);
    }
}

void srv_cmd_pubsub_channels(server *s, client *c, int argc, const data_arg *argv)
{
    reply_channels(s, c, PS_CHAN, argc, argv);
}
void srv_cmd_pubsub_shardchannels(server *s, client *c, int argc, const data_arg *argv)
{
    reply_channels(s, c, PS_SHARD, argc, argv);
}
void srv_cmd_pubsub_numsub(server *s, client *c, int argc, const data_arg *argv)
{
    reply_numsub(s, c, PS_CHAN, argc, argv);
}
void srv_cmd_pubsub_shardnumsub(server *s, client *c, int argc, const data_arg *argv)
{
    reply_numsub(s, c, PS_SHARD, argc, argv);
}
void srv_cmd_pubsub_numpat(server *s, client *c, int argc, const data_arg *argv)
{
    (void)argc, (void)argv;
    srv_reply_int(c, (long long)s->pubsub->t[PS_PAT].n);
}

void srv_cmd_pubsub_help(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s, (void)argc, (void)argv;
    static const char *const help[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(help) / sizeof(help[0]);
    srv_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        srv_reply_status(c, help[i]);
}

void srv_pubsub_stats(const server *s, size_t *channels, size_t *patterns, size_t *shard)
{
    *channels = s->pubsub->t[PS_CHAN].n;
    *patterns = s->pubsub->t[PS_PAT].n;
    *shard = s->pubsub->t[PS_SHARD].n;
}

/* Redis 7.0's processCommand: a RESP2 connection with a subscription may only (un)subscribe,
 * PING, QUIT and RESET (RESP3 has pushes, so it may run anything). Unknown commands and bad
 * arities get their own errors first. */
int srv_pubsub_gate(server *s, client *c, int argc, const data_arg *argv)
{
    (void)s;
    if (c->proto != 2 || !srv_pubsub_subscribed(c)) return 0;
    const char *name = srv_cmd_fullname(argc, argv);
    if (!name) return 0;
    static const char *const allowed[] = {"ping",         "subscribe",    "ssubscribe",
                                          "unsubscribe",  "sunsubscribe", "psubscribe",
                                          "punsubscribe", "quit",         "reset"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strcmp(name, allowed[i]) == 0) return 0;
    srv_reply_errorf(c,
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     "QUIT / RESET are allowed in this context",
                     name);
    return 1;
}

int srv_pubsub_each(const client *c, int (*ok)(void *ctx, const char *ch, size_t len, int pattern),
                    void *ctx)
{
    const struct srv_client_subs *cs = c->subs;
    if (!cs) return 1;
    for (int k = 0; k < PS_KINDS; k++)
        for (size_t i = 0; i < cs->n[k]; i++)
            if (!ok(ctx, cs->e[k][i]->name, cs->e[k][i]->len, k == PS_PAT)) return 0;
    return 1;
}
