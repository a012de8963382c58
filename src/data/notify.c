/* notify.c — PUBLISH / SPUBLISH and keyspace notifications (docs/server.md "Pub/sub").
 *
 * The data layer holds no subscribers: PUBLISH hands its message to the publish hook and
 * replies the count the hook returns; a write that changed the dataset reports Redis's event
 * names (`set`, `lpush`, `del`, `expired`, ...) to the event hook, filtered by the classes of
 * notify-keyspace-events. Both run inside data_exec, so on a replicated node they fire as an
 * entry is applied, in log order, on every replica (the node decides whether anyone hears).
 *
 * Events are derived from the command and what it did, not raised inside each type's code:
 * before a command the keys it names are looked up (existence, and for pops the element
 * count), after it the same keys again; the per-command table below says which key gets which
 * event. This costs nothing while notifications are off (flags without K or E). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"
#include "data/stream_internal.h"
#include "util/assert.h"

/* ---- PUBLISH ---- */

static void publish(data_call *c, int shard)
{
    long long n = 0;
    if (c->ds->publish_cb)
        n = c->ds->publish_cb(c->ds->pubsub_ctx, shard, c->argv[1].ptr, c->argv[1].len,
                              c->argv[2].ptr, c->argv[2].len);
    reply_int(c, n);
}

void cmd_publish(data_call *c)
{
    publish(c, 0);
}

void cmd_spublish(data_call *c)
{
    publish(c, 1);
}

void data_set_pubsub_hooks(data_store *ds, data_publish_cb pub, data_event_cb ev, void *ctx)
{
    ds->publish_cb = pub;
    ds->event_cb = ev;
    ds->pubsub_ctx = ctx;
}

void data_set_notify_flags(data_store *ds, int flags)
{
    ds->notify_flags = flags;
}

int data_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    return glob_match(pat, plen, s, slen, 0);
}

/* ---- notify-keyspace-events ---- */

static const struct {
    char ch;
    int flag;
} flag_chars[] = {
    {'g', DATA_NOTIFY_GENERIC},  {'$', DATA_NOTIFY_STRING},   {'l', DATA_NOTIFY_LIST},
    {'s', DATA_NOTIFY_SET},      {'h', DATA_NOTIFY_HASH},     {'z', DATA_NOTIFY_ZSET},
    {'x', DATA_NOTIFY_EXPIRED},  {'e', DATA_NOTIFY_EVICTED},  {'t', DATA_NOTIFY_STREAM},
    {'d', DATA_NOTIFY_MODULE},   {'n', DATA_NOTIFY_NEW},      {'K', DATA_NOTIFY_KEYSPACE},
    {'E', DATA_NOTIFY_KEYEVENT}, {'m', DATA_NOTIFY_KEY_MISS},
};
#define N_FLAG_CHARS (sizeof(flag_chars) / sizeof(flag_chars[0]))

int data_notify_parse(const char *s, size_t len)
{
    int flags = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 'A') {
            flags |= DATA_NOTIFY_ALL;
            continue;
        }
        size_t j = 0;
        while (j < N_FLAG_CHARS && flag_chars[j].ch != s[i])
            j++;
        if (j == N_FLAG_CHARS) return -1;
        flags |= flag_chars[j].flag;
    }
    return flags;
}

size_t data_notify_format(int flags, char *out, size_t cap)
{
    SYN_ASSERT(cap >= N_FLAG_CHARS + 1);
    size_t n = 0;
    size_t first = 0;
    if ((flags & DATA_NOTIFY_ALL) == DATA_NOTIFY_ALL) {
        out[n++] = 'A';
        first = 11; /* Redis prints n only without A; then K E m */
    }
    for (size_t j = first; j < N_FLAG_CHARS; j++)
        if (flags & flag_chars[j].flag) out[n++] = flag_chars[j].ch;
    out[n] = '\0';
    return n;
}

static int notify_on(const data_store *ds, int cls)
{
    return ds->event_cb && (ds->notify_flags & cls) &&
           (ds->notify_flags & (DATA_NOTIFY_KEYSPACE | DATA_NOTIFY_KEYEVENT));
}

void notify_event(data_store *ds, int cls, const char *event, const char *key, size_t klen)
{
    if (notify_on(ds, cls)) ds->event_cb(ds->pubsub_ctx, cls, event, key, klen);
}

/* ---- events of a command ---- */

enum {
    EV_FIRST,    /* the event on the first key, "del" after it if the key went away */
    EV_DELS,     /* "del" for every named key that went away (DEL, UNLINK, GETDEL) */
    EV_MSET,     /* the event on every key of key/value pairs */
    EV_STORE,    /* the event on the destination, or "del" if it went away (empty result) */
    EV_POP,      /* pops from one of several lists / sorted sets: the key that shrank */
    EV_EXPIRE,   /* "expire", or "del" when the time was in the past */
    EV_SET,      /* SET: "set", then "expire" with an expiry option */
    EV_GETEX,    /* "expire" / "persist" by option, or "del" */
    EV_LMOVE,    /* lists: lpop/rpop on the source, lpush/rpush on the destination */
    EV_TWO,      /* ev on the source, ev2 on the destination (SMOVE, RENAME, COPY) */
    EV_XGROUP,   /* "xgroup-<subcommand>" on the stream (consumers: by their count) */
    EV_CONSUMER, /* XREADGROUP, XCLAIM, XAUTOCLAIM: "xgroup-createconsumer" if one was made */
    EV_XADD,     /* "xadd", then "xtrim" if its MAXLEN / MINID removed entries (by the count) */
};

typedef struct {
    const char *name;
    int cls;
    int kind;
    const char *ev, *ev2;
    int dest; /* EV_STORE: argv index of the destination (-1: after STORE) */
} ev_spec;

#define G  DATA_NOTIFY_GENERIC
#define S  DATA_NOTIFY_STRING
#define L  DATA_NOTIFY_LIST
#define ST DATA_NOTIFY_SET
#define H  DATA_NOTIFY_HASH
#define Z  DATA_NOTIFY_ZSET
#define T  DATA_NOTIFY_STREAM

/* Redis 7.0's event names per command (its notifyKeyspaceEvent calls, as documented on
 * redis.io "Keyspace notifications"). Sorted by name for bsearch. */
static const ev_spec specs[] = {
    {"append", S, EV_FIRST, "append", NULL, 0},
    {"bitfield", S, EV_FIRST, "setbit", NULL, 0},
    {"bitop", S, EV_STORE, "set", NULL, 2},
    {"blmove", L, EV_LMOVE, NULL, NULL, 0},
    {"blmpop", L, EV_POP, NULL, NULL, 0},
    {"blpop", L, EV_POP, "lpop", NULL, 0},
    {"brpop", L, EV_POP, "rpop", NULL, 0},
    {"brpoplpush", L, EV_LMOVE, "rpop", "lpush", 0},
    {"bzmpop", Z, EV_POP, NULL, NULL, 0},
    {"bzpopmax", Z, EV_POP, "zpopmax", NULL, 0},
    {"bzpopmin", Z, EV_POP, "zpopmin", NULL, 0},
    {"copy", G, EV_TWO, NULL, "copy_to", 0},
    {"decr", S, EV_FIRST, "incrby", NULL, 0},
    {"decrby", S, EV_FIRST, "incrby", NULL, 0},
    {"del", G, EV_DELS, "del", NULL, 0},
    {"expire", G, EV_EXPIRE, NULL, NULL, 0},
    {"expireat", G, EV_EXPIRE, NULL, NULL, 0},
    {"geoadd", Z, EV_FIRST, "zadd", NULL, 0},
    {"georadius", Z, EV_STORE, "georadiusstore", NULL, -1},
    {"georadiusbymember", Z, EV_STORE, "georadiusstore", NULL, -1},
    {"geosearchstore", Z, EV_STORE, "geosearchstore", NULL, 1},
    {"getdel", G, EV_DELS, "del", NULL, 0},
    {"getex", G, EV_GETEX, NULL, NULL, 0},
    {"getset", S, EV_FIRST, "set", NULL, 0},
    {"hdel", H, EV_FIRST, "hdel", NULL, 0},
    {"hincrby", H, EV_FIRST, "hincrby", NULL, 0},
    {"hincrbyfloat", H, EV_FIRST, "hincrbyfloat", NULL, 0},
    {"hmset", H, EV_FIRST, "hset", NULL, 0},
    {"hset", H, EV_FIRST, "hset", NULL, 0},
    {"hsetnx", H, EV_FIRST, "hset", NULL, 0},
    {"incr", S, EV_FIRST, "incrby", NULL, 0},
    {"incrby", S, EV_FIRST, "incrby", NULL, 0},
    {"incrbyfloat", S, EV_FIRST, "incrbyfloat", NULL, 0},
    {"linsert", L, EV_FIRST, "linsert", NULL, 0},
    {"lmove", L, EV_LMOVE, NULL, NULL, 0},
    {"lmpop", L, EV_POP, NULL, NULL, 0},
    {"lpop", L, EV_FIRST, "lpop", NULL, 0},
    {"lpush", L, EV_FIRST, "lpush", NULL, 0},
    {"lpushx", L, EV_FIRST, "lpush", NULL, 0},
    {"lrem", L, EV_FIRST, "lrem", NULL, 0},
    {"lset", L, EV_FIRST, "lset", NULL, 0},
    {"ltrim", L, EV_FIRST, "ltrim", NULL, 0},
    {"migrate_del", G, EV_DELS, "del", NULL, 0},
    {"mset", S, EV_MSET, "set", NULL, 0},
    {"msetnx", S, EV_MSET, "set", NULL, 0},
    {"persist", G, EV_FIRST, "persist", NULL, 0},
    {"pexpire", G, EV_EXPIRE, NULL, NULL, 0},
    {"pexpireat", G, EV_EXPIRE, NULL, NULL, 0},
    {"pfadd", S, EV_FIRST, "pfadd", NULL, 0},
    {"pfmerge", S, EV_STORE, "pfadd", NULL, 1},
    {"psetex", S, EV_SET, NULL, NULL, 0},
    {"rename", G, EV_TWO, "rename_from", "rename_to", 0},
    {"renamenx", G, EV_TWO, "rename_from", "rename_to", 0},
    {"restore", G, EV_FIRST, "restore", NULL, 0},
    {"restore-asking", G, EV_FIRST, "restore", NULL, 0},
    {"rpop", L, EV_FIRST, "rpop", NULL, 0},
    {"rpoplpush", L, EV_LMOVE, "rpop", "lpush", 0},
    {"rpush", L, EV_FIRST, "rpush", NULL, 0},
    {"rpushx", L, EV_FIRST, "rpush", NULL, 0},
    {"sadd", ST, EV_FIRST, "sadd", NULL, 0},
    {"sdiffstore", ST, EV_STORE, "sdiffstore", NULL, 1},
    {"set", S, EV_SET, NULL, NULL, 0},
    {"setbit", S, EV_FIRST, "setbit", NULL, 0},
    {"setex", S, EV_SET, NULL, NULL, 0},
    {"setnx", S, EV_FIRST, "set", NULL, 0},
    {"setrange", S, EV_FIRST, "setrange", NULL, 0},
    {"sinterstore", ST, EV_STORE, "sinterstore", NULL, 1},
    {"smove", ST, EV_TWO, "srem", "sadd", 0},
    {"sort", L, EV_STORE, "sortstore", NULL, -1},
    {"spop", ST, EV_FIRST, "spop", NULL, 0},
    {"spop_effect", ST, EV_FIRST, "spop", NULL, 0},
    {"srem", ST, EV_FIRST, "srem", NULL, 0},
    {"sunionstore", ST, EV_STORE, "sunionstore", NULL, 1},
    {"unlink", G, EV_DELS, "del", NULL, 0},
    {"xadd", T, EV_XADD, "xadd", NULL, 0},
    {"xadd_effect", T, EV_XADD, "xadd", NULL, 0}, /* XADD as logged (stream.c) */
    {"xautoclaim", T, EV_CONSUMER, NULL, NULL, 0},
    {"xclaim", T, EV_CONSUMER, NULL, NULL, 0},
    {"xdel", T, EV_FIRST, "xdel", NULL, 0},
    {"xgroup", T, EV_XGROUP, NULL, NULL, 0},
    {"xreadgroup", T, EV_CONSUMER, NULL, NULL, 0},
    {"xreadgroup_woken", T, EV_CONSUMER, NULL, NULL, 0},
    {"xsetid", T, EV_FIRST, "xsetid", NULL, 0},
    {"xtrim", T, EV_FIRST, "xtrim", NULL, 0},
    {"xtrim_effect", T, EV_FIRST, "xtrim", NULL, 0}, /* XTRIM as logged (stream.c) */
    {"zadd", Z, EV_FIRST, "zadd", NULL, 0},
    {"zdiffstore", Z, EV_STORE, "zdiffstore", NULL, 1},
    {"zincrby", Z, EV_FIRST, "zincr", NULL, 0},
    {"zinterstore", Z, EV_STORE, "zinterstore", NULL, 1},
    {"zmpop", Z, EV_POP, NULL, NULL, 0},
    {"zpopmax", Z, EV_FIRST, "zpopmax", NULL, 0},
    {"zpopmin", Z, EV_FIRST, "zpopmin", NULL, 0},
    {"zrangestore", Z, EV_STORE, "zrangestore", NULL, 1},
    {"zrem", Z, EV_FIRST, "zrem", NULL, 0},
    {"zremrangebylex", Z, EV_FIRST, "zremrangebylex", NULL, 0},
    {"zremrangebyrank", Z, EV_FIRST, "zremrangebyrank", NULL, 0},
    {"zremrangebyscore", Z, EV_FIRST, "zremrangebyscore", NULL, 0},
    {"zunionstore", Z, EV_STORE, "zunionstore", NULL, 1},
};
#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

static int spec_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const ev_spec *)e)->name);
}

/* What a key looked like before the command. */
struct notify_key {
    data_arg key;
    int live;       /* present and not expired */
    uint64_t count; /* EV_POP: elements; EV_CONSUMER, EV_XGROUP: consumers of the group */
};

/* The consumers of group in the stream at key (0: no such stream or group). */
static uint64_t consumers(data_store *ds, const data_arg *key, const data_arg *group)
{
    dpos pos;
    if (!group || !dict_find(&ds->keys, key->ptr, key->len, &pos) || (*pos.slot)->type != DT_STREAM)
        return 0;
    sgroup *g = stream_group_find(stream_of(*pos.slot), group->ptr, group->len);
    return g ? g->ncons : 0;
}

/* The group an EV_CONSUMER / EV_XGROUP command names, NULL if none. */
static const data_arg *group_arg(const ev_spec *sp, int argc, const data_arg *argv)
{
    if (sp->kind == EV_XGROUP) return argc >= 4 ? &argv[3] : NULL;
    if (sp->kind != EV_CONSUMER || argc < 3) return NULL;
    return &argv[2]; /* XREADGROUP GROUP g c; XCLAIM / XAUTOCLAIM key g c */
}

/* The entries of the stream at key (0: none, or not a stream). */
static uint64_t stream_entries(data_store *ds, const data_arg *key)
{
    dpos pos;
    if (!dict_find(&ds->keys, key->ptr, key->len, &pos) || (*pos.slot)->type != DT_STREAM) return 0;
    return stream_of(*pos.slot)->entries.count;
}

static int pop_type(const ev_spec *sp)
{
    return sp->cls == DATA_NOTIFY_LIST ? DATA_BLOCK_LIST : DATA_BLOCK_ZSET;
}

static void track(data_store *ds, const ev_spec *sp, const data_arg *key, int64_t now_ms,
                  const data_arg *group)
{
    if (ds->ntrack_n == ds->ntrack_cap) {
        size_t cap = ds->ntrack_cap ? 2 * ds->ntrack_cap : 16;
        struct notify_key *nk = realloc(ds->ntrack, cap * sizeof(*nk));
        SYN_ASSERT(nk != NULL);
        ds->ntrack = nk;
        ds->ntrack_cap = cap;
    }
    struct notify_key *k = &ds->ntrack[ds->ntrack_n++];
    k->key = *key;
    k->live = data_key_state(ds, key->ptr, key->len, now_ms) == DATA_KEY_LIVE;
    if (sp->kind == EV_POP)
        k->count = data_block_available(ds, pop_type(sp), key->ptr, key->len, now_ms);
    else if (sp->kind == EV_XADD)
        k->count = stream_entries(ds, key);
    else
        k->count = consumers(ds, key, group);
}

static int live_now(data_store *ds, const data_arg *key, int64_t now_ms)
{
    return data_key_state(ds, key->ptr, key->len, now_ms) == DATA_KEY_LIVE;
}

const void *notify_before(data_store *ds, const data_cmd *cmd, int argc, const data_arg *argv,
                          int64_t now_ms)
{
    if (!ds->event_cb || !(ds->notify_flags & (DATA_NOTIFY_KEYSPACE | DATA_NOTIFY_KEYEVENT)))
        return NULL;
    const ev_spec *sp =
        bsearch(data_cmd_describe(cmd)->name, specs, N_SPECS, sizeof(specs[0]), spec_cmp);
    if (!sp || argc < 2) return NULL;
    ds->ntrack_n = 0;
    int pos[64];
    int nk = data_cmd_getkeys(cmd, argc, argv, pos, 64);
    if (nk < 0) return NULL;
    const data_arg *group = group_arg(sp, argc, argv);
    if (nk > 64 || sp->kind == EV_DELS || sp->kind == EV_MSET) { /* every key argument */
        int step = sp->kind == EV_MSET ? 2 : 1;
        for (int i = 1; i < argc; i += step)
            track(ds, sp, &argv[i], now_ms, group);
    } else if (sp->kind == EV_STORE) {
        int d = sp->dest;
        if (d < 0) /* SORT / GEORADIUS ... STORE|STOREDIST dest */
            for (int i = 2; i + 1 < argc; i++)
                if (arg_eq(&argv[i], "store") || arg_eq(&argv[i], "storedist")) d = i + 1;
        if (d <= 0 || d >= argc) return NULL;
        track(ds, sp, &argv[d], now_ms, group);
    } else {
        for (int i = 0; i < nk; i++)
            track(ds, sp, &argv[pos[i]], now_ms, group);
        if (nk == 0) return NULL;
    }
    return sp;
}

static void ev(data_store *ds, int cls, const char *event, const data_arg *key)
{
    notify_event(ds, cls, event, key->ptr, key->len);
}

/* "new" for a key that appeared, the command's event, "del" for one that went (not for a
 * command whose event is the deletion itself). */
static void key_events(data_store *ds, const struct notify_key *k, int cls, const char *event,
                       int64_t now_ms)
{
    int live = live_now(ds, &k->key, now_ms);
    if (!k->live && !live) return; /* nothing there before or after (an expired key removed) */
    if (!k->live && live) ev(ds, DATA_NOTIFY_NEW, "new", &k->key);
    if (event) ev(ds, cls, event, &k->key);
    if (k->live && !live) ev(ds, DATA_NOTIFY_GENERIC, "del", &k->key);
}

static int has_opt(int argc, const data_arg *argv, int from, const char *const *opts)
{
    for (int i = from; i < argc; i++)
        for (int j = 0; opts[j]; j++)
            if (arg_eq(&argv[i], opts[j])) return 1;
    return 0;
}

void notify_after(data_store *ds, const void *spec, int argc, const data_arg *argv, int64_t now_ms,
                  int dirty)
{
    const ev_spec *sp = spec;
    /* a consumer made by a read that delivered nothing changes no key: judged by its count */
    if (!dirty && sp->kind != EV_CONSUMER) {
        ds->ntrack_n = 0;
        return;
    }
    struct notify_key *k = ds->ntrack;
    size_t n = ds->ntrack_n;
    static const char *const expiry_opts[] = {"ex", "px", "exat", "pxat", NULL};
    switch (sp->kind) {
    case EV_FIRST: key_events(ds, &k[0], sp->cls, sp->ev, now_ms); break;
    case EV_XADD: /* one entry added: fewer than count + 1 after it means the trim removed some */
        key_events(ds, &k[0], sp->cls, sp->ev, now_ms);
        if (stream_entries(ds, &k[0].key) < k[0].count + 1)
            ev(ds, DATA_NOTIFY_STREAM, "xtrim", &k[0].key);
        break;
    case EV_DELS:
        for (size_t i = 0; i < n; i++)
            if (k[i].live && !live_now(ds, &k[i].key, now_ms))
                ev(ds, DATA_NOTIFY_GENERIC, "del", &k[i].key);
        break;
    case EV_MSET:
        for (size_t i = 0; i < n; i++)
            key_events(ds, &k[i], sp->cls, sp->ev, now_ms);
        break;
    case EV_STORE:
        if (live_now(ds, &k[0].key, now_ms))
            key_events(ds, &k[0], sp->cls, sp->ev, now_ms);
        else if (k[0].live)
            ev(ds, DATA_NOTIFY_GENERIC, "del", &k[0].key);
        break;
    case EV_POP: {
        const char *e = sp->ev;
        if (!e) { /* LMPOP / ZMPOP: by direction */
            int left = has_opt(argc, argv, 2, (const char *const[]){"left", "min", NULL});
            e = sp->cls == DATA_NOTIFY_LIST ? (left ? "lpop" : "rpop")
                                            : (left ? "zpopmin" : "zpopmax");
        }
        for (size_t i = 0; i < n; i++)
            if (data_block_available(ds, pop_type(sp), k[i].key.ptr, k[i].key.len, now_ms) <
                k[i].count) {
                key_events(ds, &k[i], sp->cls, e, now_ms);
                break;
            }
        break;
    }
    case EV_EXPIRE:
        if (live_now(ds, &k[0].key, now_ms))
            ev(ds, DATA_NOTIFY_GENERIC, "expire", &k[0].key);
        else if (k[0].live)
            ev(ds, DATA_NOTIFY_GENERIC, "del", &k[0].key);
        break;
    case EV_SET:
        key_events(ds, &k[0], DATA_NOTIFY_STRING, "set", now_ms);
        if (live_now(ds, &k[0].key, now_ms) &&
            (has_opt(argc, argv, 3, expiry_opts) || arg_eq(&argv[0], "setex") ||
             arg_eq(&argv[0], "psetex")))
            ev(ds, DATA_NOTIFY_GENERIC, "expire", &k[0].key);
        break;
    case EV_GETEX:
        if (!live_now(ds, &k[0].key, now_ms)) {
            if (k[0].live) ev(ds, DATA_NOTIFY_GENERIC, "del", &k[0].key);
        } else if (has_opt(argc, argv, 2, expiry_opts)) {
            ev(ds, DATA_NOTIFY_GENERIC, "expire", &k[0].key);
        } else if (has_opt(argc, argv, 2, (const char *const[]){"persist", NULL})) {
            ev(ds, DATA_NOTIFY_GENERIC, "persist", &k[0].key);
        }
        break;
    case EV_LMOVE: {
        if (n < 2 || (!sp->ev && argc < 5)) break;
        const char *pop = sp->ev ? sp->ev : arg_eq(&argv[3], "left") ? "lpop" : "rpop";
        const char *push = sp->ev2 ? sp->ev2 : arg_eq(&argv[4], "left") ? "lpush" : "rpush";
        /* as Redis: the push is reported before the pop */
        key_events(ds, &k[1], sp->cls, push, now_ms);
        key_events(ds, &k[0], sp->cls, pop, now_ms);
        break;
    }
    case EV_TWO:
        if (n < 2) break;
        if (sp->ev) { /* the source: its event, and "del" if it went (not after a rename) */
            int cls = sp->cls;
            ev(ds, cls, sp->ev, &k[0].key);
            if (cls != DATA_NOTIFY_GENERIC && !live_now(ds, &k[0].key, now_ms))
                ev(ds, DATA_NOTIFY_GENERIC, "del", &k[0].key);
        }
        key_events(ds, &k[1], sp->cls, sp->ev2, now_ms);
        break;
    case EV_CONSUMER: {
        const data_arg *g = group_arg(sp, argc, argv);
        for (size_t i = 0; i < n; i++)
            if (consumers(ds, &k[i].key, g) > k[i].count)
                ev(ds, sp->cls, "xgroup-createconsumer", &k[i].key);
        break;
    }
    case EV_XGROUP: {
        if (argc < 3) break;
        if (arg_eq(&argv[1], "createconsumer") || arg_eq(&argv[1], "delconsumer")) {
            uint64_t now = consumers(ds, &k[0].key, group_arg(sp, argc, argv));
            if (now != k[0].count)
                ev(ds, sp->cls, now > k[0].count ? "xgroup-createconsumer" : "xgroup-delconsumer",
                   &k[0].key);
            break;
        }
        char e[40] = "xgroup-";
        size_t l = argv[1].len < 24 ? argv[1].len : 24;
        for (size_t i = 0; i < l; i++)
            e[7 + i] = (char)(argv[1].ptr[i] >= 'A' && argv[1].ptr[i] <= 'Z' ? argv[1].ptr[i] + 32
                                                                             : argv[1].ptr[i]);
        e[7 + l] = '\0';
        key_events(ds, &k[0], sp->cls, e, now_ms);
        break;
    }
    default: SYN_ASSERT(0);
    }
    ds->ntrack_n = 0;
}
