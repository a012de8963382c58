/* cmd_keys.c — generic key commands: DEL, EXISTS, TYPE, expiry, KEYS, SCAN, RENAME, DBSIZE. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "data/data_internal.h"
#include "data/set_internal.h"
#include "data/stream_internal.h"
#include "data/zset_internal.h"
#include "util/strconv.h"
#include "util/assert.h"

void cmd_del(data_call *c)
{
    long long n = 0;
    int lazy = (c->ds->lazy_policy & DATA_LAZY_USER_DEL) != 0; /* lazyfree-lazy-user-del */
    for (int i = 1; i < c->argc; i++) {
        dpos pos;
        if (ks_write(c, &c->argv[i], &pos)) {
            ks_delete_as(c, pos, lazy);
            n++;
        }
    }
    reply_int(c, n);
}

/* UNLINK: DEL whose big values are freed off the loop (lazyfree.c) */
void cmd_unlink(data_call *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        dpos pos;
        if (ks_write(c, &c->argv[i], &pos)) {
            ks_delete_lazy(c, pos);
            n++;
        }
    }
    reply_int(c, n);
}

/* EXISTS and TOUCH: the keys that exist; only TOUCH counts as an access (LRU/LFU) */
static void count_existing(data_call *c, int touch)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += (touch ? ks_read(c, &c->argv[i]) : ks_read_notouch(c, &c->argv[i])) != NULL;
    reply_int(c, n);
}

void cmd_exists(data_call *c)
{
    count_existing(c, 0);
}

void cmd_touch(data_call *c)
{
    count_existing(c, 1);
}

static const char *type_name(const dentry *e)
{
    switch (e->type) {
    case DT_STRING: return "string";
    case DT_LIST: return "list";
    case DT_SET: return "set";
    case DT_ZSET: return "zset";
    case DT_STREAM: return "stream";
    default: return "hash";
    }
}

/* Redis 7.0's names for the representation OBJECT ENCODING reports. Strings: "raw" for one a
 * command edited in place or built as a raw string (DE_RAW: APPEND to a key, SETRANGE, the bit
 * commands, the HyperLogLog commands; kept by RENAME, MOVE and COPY, as Redis keeps the object),
 * else "int" when the value is an integer Redis would store as one (not one INCRBYFLOAT stored:
 * DE_STR), "embstr" up to 44 bytes and
 * "raw" above, as Redis encodes a value a command stores whole (SET, GETSET, INCRBYFLOAT ...). */
static const char *encoding_name(dentry *e)
{
    switch (e->type) {
    case DT_STRING: {
        long long v;
        if (e->flags & DE_RAW) return "raw";
        if (!(e->flags & DE_STR) && e->vlen <= 20 && syn_string2ll(dentry_val(e), e->vlen, &v))
            return "int";
        return e->vlen <= 44 ? "embstr" : "raw";
    }
    case DT_LIST: return "quicklist";
    case DT_SET: return set_encoding(e);
    case DT_ZSET: return zset_encoding(e);
    case DT_STREAM: return "stream";
    case DT_HASH: return (e->flags & DE_HASH_TABLE) ? "hashtable" : "listpack";
    default: return "unknown";
    }
}

static const char *const object_help[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

void cmd_object(data_call *c)
{
    const data_arg *sub = &c->argv[1];
    static const char *const subs[] = {"encoding", "freq", "idletime", "refcount"};
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (arg_eq(sub, subs[i])) which = i;
    if (arg_eq(sub, "help") && c->argc == 2) {
        size_t n = sizeof(object_help) / sizeof(object_help[0]);
        c->ops->array(c->rctx, n);
        for (size_t i = 0; i < n; i++)
            c->ops->status(c->rctx, object_help[i], strlen(object_help[i]));
        return;
    }
    char msg[256];
    if (which < 0 && !arg_eq(sub, "help")) {
        snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try OBJECT HELP.",
                 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
        reply_err(c, msg);
        return;
    }
    if (which < 0 || c->argc != 3) {
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for 'object|%s' command",
                 which < 0 ? "help" : subs[which]);
        reply_err(c, msg);
        return;
    }
    dentry *e = ks_read_notouch(c, &c->argv[2]);
    if (!e) {
        reply_null(c);
        return;
    }
    switch (which) {
    case 0: {
        const char *enc = encoding_name(e);
        reply_bulk(c, enc, strlen(enc));
        return;
    }
    case 1:
        if (c->ds->evict_policy != DATA_EVICT_ALLKEYS_LFU &&
            c->ds->evict_policy != DATA_EVICT_VOLATILE_LFU) {
            reply_err(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                         "tracked. Please note that when switching between policies at runtime "
                         "LRU and LFU data will take some time to adjust.");
            return;
        }
        reply_int(c, ks_lfu_freq(c->ds, e, c->now_ms));
        return;
    case 2:
        if (c->ds->evict_policy == DATA_EVICT_ALLKEYS_LFU ||
            c->ds->evict_policy == DATA_EVICT_VOLATILE_LFU) {
            reply_err(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please "
                         "note that when switching between policies at runtime LRU and LFU data "
                         "will take some time to adjust.");
            return;
        }
        reply_int(c, ks_idle_seconds(e, c->now_ms));
        return;
    default: {
        /* Redis shares the integers 0..9999 and reports them with INT_MAX references */
        long long v;
        int shared = e->type == DT_STRING && e->vlen <= 4 &&
                     syn_string2ll(dentry_val(e), e->vlen, &v) && v >= 0 && v < 10000;
        reply_int(c, shared ? 2147483647 : 1);
        return;
    }
    }
}

void cmd_type(data_call *c)
{
    dentry *e = ks_read_notouch(c, &c->argv[1]);
    const char *t = e ? type_name(e) : "none";
    c->ops->status(c->rctx, t, strlen(t));
}

void cmd_dbsize(data_call *c)
{
    reply_int(c, (long long)dict_size(&c->ds->keys));
}

static void flush_generic(data_call *c, int all)
{
    if (c->argc > 2 ||
        (c->argc == 2 && !arg_eq(&c->argv[1], "sync") && !arg_eq(&c->argv[1], "async"))) {
        reply_syntax(c);
        return;
    }
    data_store *ds = c->ds;
    int async = c->argc == 2 ? arg_eq(&c->argv[1], "async")
                             : (ds->lazy_policy & DATA_LAZY_USER_FLUSH) != 0; /* as Redis 7.0 */
    int cur = ds->cur;
    for (int db = all ? 0 : cur; db < (all ? ds->ndb : cur + 1); db++) {
        data_select(ds, db);
        if (ds->touched_cb && dict_size(&ds->keys))
            ds->touched_cb(ds->touched_ctx, NULL, 0); /* every key of the database goes */
        if (async)
            ks_flush_async(ds);
        else
            ks_flush(ds);
    }
    data_select(ds, cur);
    /* client-side caching drops every cached key, even of an empty dataset (as Redis) */
    if (ds->event_cb) ds->event_cb(ds->pubsub_ctx, 0, "flush", NULL, 0);
    c->dirty = 1;
    reply_ok(c);
}

void cmd_flushdb(data_call *c)
{
    flush_generic(c, 0);
}

void cmd_flushall(data_call *c)
{
    flush_generic(c, 1);
}

/* A database index argument as Redis's getIntFromObjectOrReply + selectDb check it: -1 after
 * replying. */
static int db_arg(data_call *c, const data_arg *a)
{
    long long db;
    if (!syn_string2ll(a->ptr, a->len, &db)) {
        reply_err(c, "ERR value is not an integer or out of range");
        return -1;
    }
    if (db < INT_MIN || db > INT_MAX) {
        reply_err(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return -1;
    }
    if (db < 0 || db >= c->ds->ndb) {
        reply_err(c, "ERR DB index is out of range");
        return -1;
    }
    return (int)db;
}

/* The key in the selected database as a write finds it (an expired one is deleted first): its
 * entry or NULL. For the database a MOVE / COPY writes to, which is not the command's. */
static dentry *other_db_lookup(data_call *c, const data_arg *key)
{
    dpos pos;
    if (!dict_find(&c->ds->keys, key->ptr, key->len, &pos)) return NULL;
    if (!ks_is_expired(*pos.slot, c->now_ms)) return *pos.slot;
    ks_delete(c, pos);
    notify_event(c->ds, DATA_NOTIFY_EXPIRED, "expired", key->ptr, key->len);
    return NULL;
}

void cmd_move(data_call *c)
{
    data_store *ds = c->ds;
    const data_arg *key = &c->argv[1];
    int dst = db_arg(c, &c->argv[2]);
    if (dst < 0) return;
    int src = ds->cur;
    if (dst == src) {
        reply_err(c, "ERR source and destination objects are the same");
        return;
    }
    dpos pos;
    if (!ks_write(c, key, &pos)) {
        reply_int(c, 0);
        return;
    }
    data_select(ds, dst);
    dentry *there = other_db_lookup(c, key);
    data_select(ds, src);
    if (there) {
        reply_int(c, 0);
        return;
    }
    dentry *e = dict_unlink(&ds->keys, pos);
    if (e->flags & DE_EXPIRE) ds->expires--;
    if (ds->touched_cb) ds->touched_cb(ds->touched_ctx, dentry_key(e), e->klen);
    notify_event(ds, DATA_NOTIFY_GENERIC, "move_from", key->ptr, key->len);
    data_select(ds, dst);
    if (e->flags & DE_EXPIRE) ds->expires++;
    dict_insert(&ds->keys, e);
    if (ds->created_cb && (e->type == DT_LIST || e->type == DT_ZSET))
        ds->created_cb(ds->created_ctx, dentry_key(e), e->klen);
    if (ds->touched_cb) ds->touched_cb(ds->touched_ctx, dentry_key(e), e->klen);
    notify_event(ds, DATA_NOTIFY_GENERIC, "move_to", key->ptr, key->len);
    data_select(ds, src);
    c->dirty = 1;
    reply_int(c, 1);
}

static void announce_cb(void *ctx, dentry *e)
{
    data_store *ds = ctx;
    if (e->type == DT_LIST || e->type == DT_ZSET || e->type == DT_STREAM)
        ds->created_cb(ds->created_ctx, dentry_key(e), e->klen);
}

void cmd_swapdb(data_call *c)
{
    data_store *ds = c->ds;
    long long a, b;
    if (!syn_string2ll(c->argv[1].ptr, c->argv[1].len, &a) || a < INT_MIN || a > INT_MAX) {
        reply_err(c, "ERR invalid first DB index");
        return;
    }
    if (!syn_string2ll(c->argv[2].ptr, c->argv[2].len, &b) || b < INT_MIN || b > INT_MAX) {
        reply_err(c, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= ds->ndb || b < 0 || b >= ds->ndb) {
        reply_err(c, "ERR DB index is out of range");
        return;
    }
    c->dirty = 1;
    reply_ok(c);
    if (a == b) return;
    int cur = ds->cur;
    data_select(ds, 0); /* both out of the live copy */
    if (ds->touched_cb)
        for (int i = 0; i < 2; i++) {
            data_select(ds, i ? b : a);
            ds->touched_cb(ds->touched_ctx, NULL, 0); /* watched keys of both change */
        }
    data_select(ds, 0);
    /* dbs[] holds every database but the selected one: park on one that is neither */
    int park = 0;
    while (park == a || park == b)
        park++;
    if (park < ds->ndb) {
        data_select(ds, park);
        data_db t = ds->dbs[a];
        ds->dbs[a] = ds->dbs[b];
        ds->dbs[b] = t;
    } else { /* databases 2: swap the live copy with the other */
        data_select(ds, a);
        data_db t = ds->dbs[b];
        ds->dbs[b] = (data_db){ds->keys, ds->expires, ds->expire_cursor};
        ds->keys = t.keys;
        ds->expires = t.expires;
        ds->expire_cursor = t.expire_cursor;
    }
    /* clients blocked on keys that exist now are served (Redis scanDatabaseForReadyKeys) */
    if (ds->created_cb)
        for (int i = 0; i < 2; i++) {
            data_select(ds, i ? b : a);
            dict_each(&ds->keys, announce_cb, ds);
        }
    data_select(ds, cur);
}

/* Redis addReplyErrorFormat: the text is cut at a NUL and newlines become spaces. */
static void reply_unsupported(data_call *c, const data_arg *opt)
{
    char buf[128];
    size_t n = (size_t)snprintf(buf, sizeof buf, "ERR Unsupported option ");
    for (size_t i = 0; i < opt->len && n + 1 < sizeof buf && opt->ptr[i]; i++)
        buf[n++] = (opt->ptr[i] == '\r' || opt->ptr[i] == '\n') ? ' ' : opt->ptr[i];
    c->ops->error(c->rctx, buf, n);
}

enum { EX_NX = 1, EX_XX = 2, EX_GT = 4, EX_LT = 8 };

static int parse_expire_flags(data_call *c, int *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const data_arg *o = &c->argv[j];
        if (arg_eq(o, "nx"))
            *flags |= EX_NX;
        else if (arg_eq(o, "xx"))
            *flags |= EX_XX;
        else if (arg_eq(o, "gt"))
            *flags |= EX_GT;
        else if (arg_eq(o, "lt"))
            *flags |= EX_LT;
        else {
            reply_unsupported(c, o);
            return -1;
        }
    }
    if ((*flags & EX_NX) && (*flags & (EX_XX | EX_GT | EX_LT))) {
        reply_err(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EX_GT) && (*flags & EX_LT)) {
        reply_err(c, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

static void reply_expire_time(data_call *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "ERR invalid expire time in '%s' command", c->name);
    c->ops->error(c->rctx, buf, (size_t)n);
}

/* Redis expireGenericCommand; basetime is now (relative forms) or 0 (absolute forms). */
static void expire_generic(data_call *c, long long basetime, int seconds)
{
    int flags;
    long long when;
    if (parse_expire_flags(c, &flags) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[2], &when) < 0) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_expire_time(c);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_expire_time(c);
        return;
    }
    when += basetime;
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_int(c, 0);
        return;
    }
    long long cur = dentry_expire(*pos.slot);
    if (((flags & EX_NX) && cur != -1) || ((flags & EX_XX) && cur == -1) ||
        ((flags & EX_GT) && (cur == -1 || when <= cur)) ||
        ((flags & EX_LT) && cur != -1 && when >= cur)) {
        reply_int(c, 0);
        return;
    }
    if (when <= c->now_ms)
        ks_delete(c, pos);
    else
        (void)ks_set_expire(c, pos, when);
    reply_int(c, 1);
}

void cmd_expire(data_call *c)
{
    expire_generic(c, c->now_ms, 1);
}

void cmd_pexpire(data_call *c)
{
    expire_generic(c, c->now_ms, 0);
}

void cmd_expireat(data_call *c)
{
    expire_generic(c, 0, 1);
}

void cmd_pexpireat(data_call *c)
{
    expire_generic(c, 0, 0);
}

static void ttl_generic(data_call *c, int ms, int absolute)
{
    dentry *e = ks_read_notouch(c, &c->argv[1]);
    if (!e) {
        reply_int(c, -2);
        return;
    }
    long long ex = dentry_expire(e);
    if (ex == -1) {
        reply_int(c, -1);
        return;
    }
    long long t = absolute ? ex : ex - c->now_ms;
    if (t < 0) t = 0;
    reply_int(c, ms ? t : (t + 500) / 1000);
}

void cmd_ttl(data_call *c)
{
    ttl_generic(c, 0, 0);
}

void cmd_pttl(data_call *c)
{
    ttl_generic(c, 1, 0);
}

void cmd_expiretime(data_call *c)
{
    ttl_generic(c, 0, 1);
}

void cmd_pexpiretime(data_call *c)
{
    ttl_generic(c, 1, 1);
}

void cmd_persist(data_call *c)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos) || !((*pos.slot)->flags & DE_EXPIRE)) {
        reply_int(c, 0);
        return;
    }
    (void)ks_set_expire(c, pos, -1);
    reply_int(c, 1);
}

/* A growable array of entry pointers, for replies whose length must be known first. */
typedef struct {
    dentry **v;
    size_t n, cap;
    const data_arg *pattern; /* NULL = everything */
    const data_arg *type;    /* NULL = any type */
    int64_t now_ms;
} entry_list;

static void list_push(entry_list *l, dentry *e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = dmem_realloc(NULL, l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = e;
}

static void keys_cb(void *ctx, dentry *e)
{
    entry_list *l = ctx;
    if (ks_is_expired(e, l->now_ms)) return;
    if (l->pattern && !glob_match(l->pattern->ptr, l->pattern->len, dentry_key(e), e->klen, 0))
        return;
    list_push(l, e);
}

static void reply_keys(data_call *c, entry_list *l)
{
    c->ops->array(c->rctx, l->n);
    for (size_t i = 0; i < l->n; i++)
        reply_bulk(c, dentry_key(l->v[i]), l->v[i]->klen);
    dmem_free(NULL, l->v);
}

void cmd_keys(data_call *c)
{
    const data_arg *p = &c->argv[1];
    entry_list l = {.now_ms = c->now_ms, .pattern = (p->len == 1 && p->ptr[0] == '*') ? NULL : p};
    dict_each(&c->ds->keys, keys_cb, &l);
    reply_keys(c, &l);
}

static void scan_collect_cb(void *ctx, dentry *e)
{
    list_push(ctx, e);
}

/* Redis parseScanCursorOrReply: strtoul over the whole argument, so "-1" wraps around. */
int scan_cursor_or_reply(data_call *c, const data_arg *a, uint64_t *out)
{
    char buf[128];
    if (a->len >= sizeof buf) {
        reply_err(c, "ERR invalid cursor");
        return -1;
    }
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || errno == ERANGE) {
        reply_err(c, "ERR invalid cursor");
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses SCAN/HSCAN options from argv[from]; -1 after an error reply. */
int scan_opts_or_reply(data_call *c, int from, int allow_type, long long *count,
                       const data_arg **pattern, const data_arg **type)
{
    *count = 10;
    *pattern = NULL;
    *type = NULL;
    for (int i = from; i < c->argc;) {
        int left = c->argc - i;
        const data_arg *o = &c->argv[i];
        if (arg_eq(o, "count") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], count) < 0) return -1;
            if (*count < 1) {
                reply_syntax(c);
                return -1;
            }
        } else if (arg_eq(o, "match") && left >= 2) {
            const data_arg *p = &c->argv[i + 1];
            *pattern = (p->len == 1 && p->ptr[0] == '*') ? NULL : p;
        } else if (arg_eq(o, "type") && allow_type && left >= 2) {
            *type = &c->argv[i + 1];
        } else {
            reply_syntax(c);
            return -1;
        }
        i += 2;
    }
    return 0;
}

/* HSCAN/SSCAN/ZSCAN's shared start: cursor, key (missing: an empty scan), its type, options.
 * The entry to scan, or NULL once a reply was given. */
dentry *scan_key_or_reply(data_call *c, uint8_t type, uint64_t *cursor, long long *count,
                          const data_arg **pattern)
{
    const data_arg *type_opt;
    if (scan_cursor_or_reply(c, &c->argv[2], cursor) < 0) return NULL;
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_cursor(c, 0);
        c->ops->array(c->rctx, 0);
        return NULL;
    }
    if (e->type != type) {
        reply_wrongtype(c);
        return NULL;
    }
    if (scan_opts_or_reply(c, 3, 0, count, pattern, &type_opt) < 0) return NULL;
    return e;
}

void reply_cursor(data_call *c, uint64_t cursor)
{
    char buf[24];
    size_t n = 0;
    char tmp[24];
    do {
        tmp[n++] = (char)('0' + cursor % 10);
        cursor /= 10;
    } while (cursor);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    c->ops->array(c->rctx, 2);
    reply_bulk(c, buf, n);
}

void cmd_scan(data_call *c)
{
    uint64_t cursor;
    long long count;
    const data_arg *pattern, *type;
    if (scan_cursor_or_reply(c, &c->argv[1], &cursor) < 0) return;
    if (scan_opts_or_reply(c, 2, 1, &count, &pattern, &type) < 0) return;
    entry_list l = {0};
    long long iters = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(&c->ds->keys, cursor, scan_collect_cb, &l);
    } while (cursor && iters-- && l.n < (unsigned long long)count);
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++) {
        dentry *e = l.v[i];
        if (pattern && !glob_match(pattern->ptr, pattern->len, dentry_key(e), e->klen, 0)) continue;
        if (ks_is_expired(e, c->now_ms)) continue;
        if (type && !arg_eq(type, type_name(e))) continue;
        l.v[kept++] = e;
    }
    l.n = kept;
    reply_cursor(c, cursor);
    reply_keys(c, &l);
}

/* Moves the entry's value (and expiry) under a new key name; frees the old shell. */
static dentry *rekey(size_t *mem, dentry *e, const data_arg *key)
{
    int64_t ex = dentry_expire(e);
    dentry *ne;
    if (e->type == DT_STRING) {
        ne = dentry_new(mem, DT_STRING, key->ptr, key->len, dentry_val(e), e->vlen, e->vlen, ex);
        ne->flags |= e->flags & (DE_RAW | DE_STR);
    } else {
        ne = dentry_new(mem, e->type, key->ptr, key->len, NULL, 0, sizeof(void *), ex);
        ne->vlen = e->vlen;
        ne->flags |= e->flags & (uint8_t)~DE_EXPIRE; /* encoding flags move with the value */
        dentry_set_ptr(ne, dentry_ptr(e));
    }
    dmem_free(mem, e);
    return ne;
}

static void rename_generic(data_call *c, int nx)
{
    const data_arg *src = &c->argv[1], *dst = &c->argv[2];
    dpos pos;
    if (!ks_write(c, src, &pos)) {
        reply_err(c, "ERR no such key");
        return;
    }
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        if (nx)
            reply_int(c, 0);
        else
            reply_ok(c);
        return;
    }
    dpos dpos_;
    if (ks_write(c, dst, &dpos_)) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
        ks_delete(c, dpos_);
    }
    /* positions are stale after the deletes above: look the source up again */
    int found = dict_find(&c->ds->keys, src->ptr, src->len, &pos);
    SYN_ASSERT(found);
    dentry *e = dict_unlink(&c->ds->keys, pos);
    if (e->flags & DE_EXPIRE) c->ds->expires--;
    uint16_t access = e->access; /* the value keeps its access clock, as Redis's object does */
    uint8_t lfu = e->flags & DE_LFU;
    dentry *ne = rekey(&c->ds->mem, e, dst);
    ks_insert(c, ne);
    ne->access = access;
    ne->flags = (uint8_t)((ne->flags & ~DE_LFU) | lfu);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

/* ---- RANDOMKEY: a read, drawn by the node that serves it ---- */

void cmd_randomkey(data_call *c)
{
    for (int tries = 0; tries < 100 && dict_size(&c->ds->keys) > 0; tries++) {
        dentry *e = dict_random(&c->ds->keys, c->ds);
        data_arg k = {dentry_key(e), e->klen};
        if (!ks_read(c, &k)) continue; /* logically expired: its expiry is logged, try again */
        reply_bulk(c, k.ptr, k.len);
        return;
    }
    reply_null(c);
}

/* ---- MEMORY USAGE: an estimate of a key's bytes (entry, value, per-element overhead) ---- */

typedef struct {
    size_t bytes, per;
    long long left; /* elements still to sample; < 0 = all */
    uint64_t seen;
    int packed_hash; /* per-pair overhead is the packed entry's two length headers */
} usage_ctx;

static void usage_pair(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    usage_ctx *u = ctx;
    (void)f, (void)v;
    if (u->left == 0) return;
    if (u->left > 0) u->left--;
    u->bytes += fl + vl + (u->packed_hash ? hash_packed_overhead(fl, vl) : u->per);
    u->seen++;
}

static void usage_one(void *ctx, const char *p, size_t n)
{
    usage_pair(ctx, p, n, NULL, 0);
}

static void usage_scored(void *ctx, const char *m, size_t ml, double score)
{
    (void)score;
    usage_pair(ctx, m, ml, NULL, 8); /* the score */
}

size_t ks_key_usage(dentry *e, long long samples)
{
    size_t base = (DENTRY_HDR + ((e->flags & DE_EXPIRE) ? 8 : 0) + e->klen + e->vcap + 7) / 8 * 8;
    base += 16; /* the bucket slot and the allocator's chunk header */
    usage_ctx u = {0, (e->flags & DE_HASH_TABLE) ? 40 : 2, samples > 0 ? samples : -1, 0, 0};
    u.packed_hash = e->type == DT_HASH && !(e->flags & DE_HASH_TABLE);
    uint64_t len = 0;
    switch (e->type) {
    case DT_HASH:
        len = hash_len(e);
        hash_each(e, usage_pair, &u);
        break;
    case DT_LIST:
        len = list_len(e);
        u.per = 3;
        list_each(e, usage_one, &u);
        break;
    case DT_SET:
        len = set_len(e);
        set_each(e, usage_one, &u);
        break;
    case DT_ZSET: /* packed: member and score with their headers; else a table entry and a
                     skiplist node (levels average 1.33 pointers pairs) */
        len = zset_len(e);
        u.per = strcmp(zset_encoding(e), "listpack") == 0 ? 4 : 64;
        zset_each(e, usage_scored, &u);
        break;
    case DT_STREAM: return base + stream_usage(e, samples > 0 ? samples : 0);
    default: return base;
    }
    /* sampled: scale the elements seen to the whole value, as Redis does */
    if (u.seen && u.seen < len) u.bytes = (size_t)((double)u.bytes / (double)u.seen * (double)len);
    return base + u.bytes;
}

static const char *const memory_help[] = {
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
};

static void kv_int(data_call *c, const char *k, long long v)
{
    c->ops->bulk(c->rctx, k, strlen(k));
    c->ops->integer(c->rctx, v);
}

static void kv_ratio(data_call *c, const char *k, double num, double den)
{
    c->ops->bulk(c->rctx, k, strlen(k));
    c->ops->dbl(c->rctx, (double)(float)(den > 0 ? num / den : 0)); /* Redis: a float */
}

/* MEMORY STATS as Redis 7.0 (object.c, with libc's allocator: the allocator's figures are the
 * used memory and the RSS). Fields synod has no counterpart for (replication backlog, replicas,
 * cluster bus links, AOF buffer, script caches outside the VM) are 0. */
static void memory_stats(data_call *c)
{
    data_store *ds = c->ds;
    data_mem_host h = {0};
    if (ds->mem_cb) ds->mem_cb(ds->mem_ctx, &h);
    data_stats st;
    data_get_stats(ds, &st);
    uint64_t total = st.memory_bytes + h.clients;
    if (h.peak < total) h.peak = total;
    int ndb = data_databases(ds), used_dbs = 0;
    uint64_t keys = 0, overhead = h.startup + h.clients;
    for (int db = 0; db < ndb; db++) {
        uint64_t k, e, om, oe;
        data_db_sizes(ds, db, &k, &e);
        if (!k) continue;
        used_dbs++;
        keys += k;
        data_db_overhead(ds, db, &om, &oe);
        overhead += om + oe;
    }
    uint64_t dataset = total > overhead ? total - overhead : 0;
    uint64_t net = total > h.startup ? total - h.startup : 1;
    uint64_t resident = h.rss > h.lua ? h.rss - h.lua : h.rss;
    c->ops->map(c->rctx, 27 + (size_t)used_dbs);
    kv_int(c, "peak.allocated", (long long)h.peak);
    kv_int(c, "total.allocated", (long long)total);
    kv_int(c, "startup.allocated", (long long)h.startup);
    kv_int(c, "replication.backlog", 0);
    kv_int(c, "clients.slaves", 0);
    kv_int(c, "clients.normal", (long long)h.clients);
    kv_int(c, "cluster.links", 0);
    kv_int(c, "aof.buffer", 0);
    kv_int(c, "lua.caches", 0);
    kv_int(c, "functions.caches", 0);
    for (int db = 0; db < ndb; db++) {
        uint64_t k, e, om, oe;
        data_db_sizes(ds, db, &k, &e);
        if (!k) continue;
        data_db_overhead(ds, db, &om, &oe);
        char name[32];
        snprintf(name, sizeof(name), "db.%d", db);
        c->ops->bulk(c->rctx, name, strlen(name));
        c->ops->map(c->rctx, 3);
        kv_int(c, "overhead.hashtable.main", (long long)om);
        kv_int(c, "overhead.hashtable.expires", (long long)oe);
        kv_int(c, "overhead.hashtable.slot-to-keys", 0);
    }
    kv_int(c, "overhead.total", (long long)overhead);
    kv_int(c, "keys.count", (long long)keys);
    kv_int(c, "keys.bytes-per-key", keys ? (long long)(net / keys) : 0);
    kv_int(c, "dataset.bytes", (long long)dataset);
    kv_ratio(c, "dataset.percentage", (double)dataset * 100, (double)net);
    kv_ratio(c, "peak.percentage", (double)total * 100, (double)h.peak);
    /* libc: allocated = the used memory, active = resident = RSS less the Lua VMs (Redis's
     * fallback when the allocator reports nothing) */
    kv_int(c, "allocator.allocated", (long long)total);
    kv_int(c, "allocator.active", (long long)resident);
    kv_int(c, "allocator.resident", (long long)resident);
    kv_ratio(c, "allocator-fragmentation.ratio", (double)resident, (double)total);
    kv_int(c, "allocator-fragmentation.bytes", (long long)resident - (long long)total);
    kv_ratio(c, "allocator-rss.ratio", (double)resident, (double)resident);
    kv_int(c, "allocator-rss.bytes", 0);
    kv_ratio(c, "rss-overhead.ratio", (double)h.rss, (double)resident);
    kv_int(c, "rss-overhead.bytes", (long long)h.rss - (long long)resident);
    kv_ratio(c, "fragmentation", (double)h.rss, (double)total);
    kv_int(c, "fragmentation.bytes", (long long)h.rss - (long long)total);
}

void cmd_memory(data_call *c)
{
    const data_arg *sub = &c->argv[1];
    char msg[256];
    if (arg_eq(sub, "help") && c->argc == 2) {
        size_t n = sizeof(memory_help) / sizeof(memory_help[0]);
        c->ops->array(c->rctx, n);
        for (size_t i = 0; i < n; i++)
            c->ops->status(c->rctx, memory_help[i], strlen(memory_help[i]));
        return;
    }
    if ((arg_eq(sub, "doctor") || arg_eq(sub, "malloc-stats") || arg_eq(sub, "purge")) &&
        c->argc != 2) {
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for 'memory|%s' command",
                 arg_eq(sub, "doctor")  ? "doctor"
                 : arg_eq(sub, "purge") ? "purge"
                                        : "malloc-stats");
        reply_err(c, msg);
        return;
    }
    if (arg_eq(sub, "doctor")) {
        /* Redis's report when it finds no issue; its issues (RSS overhead, fragmentation, big
         * client buffers) are allocator and replication matters it measures and synod does not:
         * INFO memory has what there is */
        const char *t = c->ds->mem < 5u * 1024 * 1024
                            ? "Hi Sam, this instance is empty or is using very little memory, my "
                              "issues detector can't be used in these conditions. Please, leave "
                              "for your mission on Earth and fill it with some data. The new Sam "
                              "and I will be back to our programming as soon as I finished "
                              "rebooting.\n"
                            : "Hi Sam, I can't find any memory issue in your instance. I can only "
                              "account for what occurs on this base.\n";
        c->ops->bulk(c->rctx, t, strlen(t)); /* Redis: verbatim text (the same in RESP2) */
        return;
    }
    if (arg_eq(sub, "malloc-stats")) {
        const char *t = "Stats not supported for the current allocator";
        c->ops->bulk(c->rctx, t, strlen(t));
        return;
    }
    if (arg_eq(sub, "purge")) { /* jemalloc's purge: nothing to do with libc's */
        reply_ok(c);
        return;
    }
    if (arg_eq(sub, "stats")) {
        if (c->argc != 2) {
            reply_err(c, "ERR wrong number of arguments for 'memory|stats' command");
            return;
        }
        memory_stats(c);
        return;
    }
    if (!arg_eq(sub, "usage")) {
        snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try MEMORY HELP.",
                 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
        reply_err(c, msg);
        return;
    }
    if (c->argc < 3) {
        reply_err(c, "ERR wrong number of arguments for 'memory|usage' command");
        return;
    }
    long long samples = 5;
    for (int i = 3; i < c->argc; i++) {
        if (arg_eq(&c->argv[i], "samples") && i + 1 < c->argc) {
            if (arg_ll_or_reply(c, &c->argv[++i], &samples) < 0) return;
            if (samples < 0) {
                reply_syntax(c);
                return;
            }
        } else {
            reply_syntax(c);
            return;
        }
    }
    dentry *e = ks_read(c, &c->argv[2]);
    if (!e) {
        reply_null(c);
        return;
    }
    reply_int(c, (long long)ks_key_usage(e, samples));
}

/* ---- COPY: a deep copy of any value, its expiry included ---- */

typedef struct {
    data_call *c;
    dentry *e;
} copy_ctx;

static void copy_field(void *ctx, const char *f, size_t fl, const char *v, size_t vl)
{
    copy_ctx *x = ctx;
    data_store *ds = x->c->ds;
    hash_set_limited(&ds->mem, ds->hash_seed, ds->hash_max_fields, ds->hash_max_value, x->e, f, fl,
                     v, vl);
}

static void copy_element(void *ctx, const char *p, size_t n)
{
    list_push_tail(((copy_ctx *)ctx)->e, p, n);
}

static void copy_member(void *ctx, const char *m, size_t ml)
{
    copy_ctx *x = ctx;
    set_add(x->c->ds, x->e, m, ml);
}

static void copy_zelement(void *ctx, const char *m, size_t ml, double score)
{
    copy_ctx *x = ctx;
    zset_put(x->c->ds, x->e, m, ml, score);
}

/* A new entry named key holding a copy of src's value; NULL for a type COPY cannot handle. */
static dentry *copy_value(data_call *c, dentry *src, const data_arg *key)
{
    size_t *mem = &c->ds->mem;
    int64_t ex = dentry_expire(src);
    copy_ctx x = {c, NULL};
    switch (src->type) {
    case DT_STRING:
        x.e = dentry_new(mem, DT_STRING, key->ptr, key->len, dentry_val(src), src->vlen, src->vlen,
                         ex);
        x.e->flags |= src->flags & (DE_RAW | DE_STR);
        return x.e;
    case DT_HASH:
        x.e = hash_new_entry(mem, key->ptr, key->len, ex);
        hash_each(src, copy_field, &x);
        return x.e;
    case DT_LIST:
        x.e = list_new_entry(mem, c->ds->list_fill, key->ptr, key->len, ex);
        list_each(src, copy_element, &x);
        return x.e;
    case DT_SET:
        x.e = set_new_entry(mem, key->ptr, key->len, ex);
        set_each(src, copy_member, &x);
        return x.e;
    case DT_ZSET:
        /* Redis copies a skiplist as a skiplist: its scores of -0 stay -0 */
        x.e = strcmp(zset_encoding(src), "skiplist") == 0
                  ? zset_new_loading(c->ds, key->ptr, key->len, ex)
                  : zset_new_entry(c->ds, key->ptr, key->len, ex);
        zset_each(src, copy_zelement, &x);
        return x.e;
    case DT_STREAM: return stream_copy(mem, src, key->ptr, key->len);
    default: return NULL;
    }
}

void cmd_copy(data_call *c)
{
    data_store *ds = c->ds;
    const data_arg *src = &c->argv[1], *dst = &c->argv[2];
    int replace = 0, src_db = ds->cur, dst_db = ds->cur;
    for (int i = 3; i < c->argc; i++) {
        if (arg_eq(&c->argv[i], "replace")) {
            replace = 1;
        } else if (arg_eq(&c->argv[i], "db") && i + 1 < c->argc) {
            if ((dst_db = db_arg(c, &c->argv[++i])) < 0) return;
        } else {
            reply_syntax(c);
            return;
        }
    }
    if (src_db == dst_db && src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        reply_err(c, "ERR source and destination objects are the same");
        return;
    }
    dentry *e = ks_read(c, src);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    dpos pos;
    int result = 0;
    if (dst_db != src_db) {
        data_select(ds, dst_db);
        if (other_db_lookup(c, dst) && !replace) goto out;
        if (dict_find(&ds->keys, dst->ptr, dst->len, &pos)) ks_delete(c, pos);
    } else if (ks_write(c, dst, &pos)) {
        if (!replace) goto out;
        ks_delete(c, pos); /* the source entry itself is untouched by this */
    }
    dentry *copy = copy_value(c, e, dst);
    if (!copy) {
        data_select(ds, src_db);
        reply_err(c, "ERR COPY does not support this type yet");
        return;
    }
    ks_insert(c, copy);
    c->dirty++;
    result = 1;
    if (dst_db != src_db) { /* the event is the destination database's (not the command's) */
        notify_event(ds, DATA_NOTIFY_GENERIC, "copy_to", dst->ptr, dst->len);
        ds->ntrack_n = 0;
    }
out:
    data_select(ds, src_db);
    reply_int(c, result);
}

void cmd_rename(data_call *c)
{
    rename_generic(c, 0);
}

void cmd_renamenx(data_call *c)
{
    rename_generic(c, 1);
}

/* EXPIRE/PEXPIRE k t [flags] -> PEXPIREAT k now+t [flags], when the command is valid. */
int expire_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    int seconds = strcmp(c->name, "expire") == 0;
    if (!seconds && strcmp(c->name, "pexpire") != 0) return 0;
    if (c->argc < 3) return 0;
    int flags;
    long long when;
    if (parse_expire_flags(c, &flags) < 0) return 0;
    if (arg_ll_or_reply(c, &c->argv[2], &when) < 0) return 0;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) return 0;
        when *= 1000;
    }
    if (when > LLONG_MAX - c->now_ms) return 0;
    when += c->now_ms;
    SYN_ASSERT(out_cap >= c->argc && scratch_cap >= 24);
    for (int i = 0; i < c->argc; i++)
        out[i] = c->argv[i];
    out[0] = (data_arg){"PEXPIREAT", 9};
    out[2] = (data_arg){scratch, syn_ll2string(scratch, when)};
    return c->argc;
}
