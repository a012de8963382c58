/* stream_group.c — consumer groups and the reads that serve them, as Redis 7.0: XREAD
 * XREADGROUP XGROUP XACK XPENDING XCLAIM XAUTOCLAIM XINFO.
 *
 * Every time a group command stores (a delivery time, a consumer's seen time, an idle time
 * turned into a delivery time) is the call's now_ms: on a replica that is the log entry's time,
 * decided by the leader, so XREADGROUP / XCLAIM / XAUTOCLAIM apply identically everywhere.
 * Reads (XPENDING, XINFO) measure idle times against the serving node's clock, as Redis. */
#include <limits.h>
#include <stdlib.h>

#include "data/stream_internal.h"
#include "util/assert.h"

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* ---- groups and consumers ---- */

static size_t group_slot(const stream *s, const char *name, size_t len, int *found)
{
    size_t lo = 0, hi = s->ngroups;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = name_cmp(s->groups[mid]->name, s->groups[mid]->nlen, name, len);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sgroup *stream_group_find(stream *s, const char *name, size_t len)
{
    int found;
    size_t i = group_slot(s, name, len, &found);
    return found ? s->groups[i] : NULL;
}

sgroup *stream_group_create(stream *s, const char *name, size_t len, sid last, int64_t er)
{
    int found;
    size_t at = group_slot(s, name, len, &found);
    if (found) return NULL;
    sgroup *g = dmem_alloc(s->mem, sizeof(*g) + len);
    memset(g, 0, sizeof(*g));
    g->last_id = last;
    g->entries_read = er;
    sidx_init(&g->pel, s->mem);
    g->nlen = (uint32_t)len;
    if (len) memcpy(g->name, name, len);
    if (s->ngroups == s->gcap) {
        s->gcap = s->gcap ? 2 * s->gcap : 4;
        s->groups = dmem_realloc(s->mem, s->groups, s->gcap * sizeof(*s->groups));
    }
    memmove(s->groups + at + 1, s->groups + at, (s->ngroups - at) * sizeof(*s->groups));
    s->groups[at] = g;
    s->ngroups++;
    return g;
}

static void consumer_free(size_t *mem, sconsumer *sc)
{
    sidx_deinit(&sc->pel);
    dmem_free(mem, sc);
}

void stream_group_free(size_t *mem, sgroup *g)
{
    for (size_t ci = 0; ci < g->pel.n; ci++) {
        schunk *ch = sidx_chunk(&g->pel, ci);
        for (uint32_t i = 0; i < ch->n; i++)
            dmem_free(mem, ch->val[i]);
    }
    sidx_deinit(&g->pel);
    for (size_t i = 0; i < g->ncons; i++)
        consumer_free(mem, g->cons[i]);
    dmem_free(mem, g->cons);
    dmem_free(mem, g);
}

static size_t consumer_slot(const sgroup *g, const char *name, size_t len, int *found)
{
    size_t lo = 0, hi = g->ncons;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = name_cmp(g->cons[mid]->name, g->cons[mid]->nlen, name, len);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static sconsumer *consumer_find(const sgroup *g, const data_arg *name)
{
    int found;
    size_t i = consumer_slot(g, name->ptr, name->len, &found);
    return found ? g->cons[i] : NULL;
}

sconsumer *stream_consumer_add(stream *s, sgroup *g, const char *name, size_t len)
{
    int found;
    size_t at = consumer_slot(g, name, len, &found);
    if (found) return NULL;
    sconsumer *sc = consumer_alloc(s->mem, name, len);
    if (g->ncons == g->ccap) {
        g->ccap = g->ccap ? 2 * g->ccap : 4;
        g->cons = dmem_realloc(s->mem, g->cons, g->ccap * sizeof(*g->cons));
    }
    memmove(g->cons + at + 1, g->cons + at, (g->ncons - at) * sizeof(*g->cons));
    g->cons[at] = sc;
    g->ncons++;
    return sc;
}

/* Creates the consumer (seen now); NULL if it exists. */
static sconsumer *consumer_create(data_call *c, stream *s, sgroup *g, const data_arg *name)
{
    sconsumer *sc = stream_consumer_add(s, g, name->ptr, name->len);
    if (!sc) return NULL;
    sc->seen_ms = c->now_ms;
    c->dirty = 1;
    return sc;
}

/* Finds (refreshing its seen time) or creates the consumer. */
static sconsumer *consumer_get(data_call *c, stream *s, sgroup *g, const data_arg *name)
{
    sconsumer *sc = consumer_find(g, name);
    if (sc) {
        sc->seen_ms = c->now_ms;
        c->dirty = 1;
        return sc;
    }
    return consumer_create(c, s, g, name);
}

static void consumer_delete(stream *s, sgroup *g, sconsumer *sc)
{
    for (spos p = sidx_first(&sc->pel); spos_valid(&sc->pel, p); sidx_next(&sc->pel, &p)) {
        snack *nk = sidx_delete(&g->pel, spos_key(&sc->pel, p));
        SYN_ASSERT(nk == spos_val(&sc->pel, p));
        dmem_free(s->mem, nk);
    }
    int found;
    size_t at = consumer_slot(g, sc->name, sc->nlen, &found);
    SYN_ASSERT(found);
    memmove(g->cons + at, g->cons + at + 1, (g->ncons - at - 1) * sizeof(*g->cons));
    g->ncons--;
    consumer_free(s->mem, sc);
}

/* Removes the pending entry id of g (both lists) and frees it. */
static void nack_drop(stream *s, sgroup *g, sid id)
{
    snack *nk = sidx_delete(&g->pel, id);
    SYN_ASSERT(nk != NULL);
    snack *again = sidx_delete(&nk->owner->pel, id);
    SYN_ASSERT(again == nk);
    dmem_free(s->mem, nk);
}

/* Moves nk (pending id) to consumer sc. */
static void nack_give(sgroup *g, snack *nk, sid id, sconsumer *sc)
{
    (void)g;
    if (nk->owner == sc) return;
    if (nk->owner) {
        snack *was = sidx_delete(&nk->owner->pel, id);
        SYN_ASSERT(was == nk);
    }
    sidx_insert(&sc->pel, id, nk);
    nk->owner = sc;
}

static stream *stream_write_only(data_call *c, const data_arg *key, int *wrong)
{
    dpos pos;
    *wrong = 0;
    if (!ks_write(c, key, &pos)) return NULL;
    dentry *e = *pos.slot;
    if (e->type != DT_STREAM) {
        reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }
    return stream_of(e);
}

static void reply_errf_names(data_call *c, const char *fmt, const data_arg *a, const data_arg *b)
{
    char msg[600];
    int na = (int)(a->len > 256 ? 256 : a->len), nb = (int)(b->len > 256 ? 256 : b->len);
    snprintf(msg, sizeof msg, fmt, na, a->ptr, nb, b->ptr);
    reply_err(c, msg);
}

void reply_sub_syntax(data_call *c, const char *cmd)
{
    char msg[300];
    const data_arg *a = &c->argv[1];
    snprintf(msg, sizeof msg,
             "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
             (int)(a->len > 128 ? 128 : a->len), a->ptr, cmd);
    reply_err(c, msg);
}

static void reply_help(data_call *c, const char *cmd, const char *const *lines, size_t n)
{
    char head[96];
    int hl = snprintf(head, sizeof head,
                      "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    c->ops->array(c->rctx, n + 3);
    c->ops->status(c->rctx, head, (size_t)hl);
    for (size_t i = 0; i < n; i++)
        c->ops->status(c->rctx, lines[i], strlen(lines[i]));
    c->ops->status(c->rctx, "HELP", 4);
    c->ops->status(c->rctx, "    Prints this help.", 21);
}

/* A container command's subcommand: its index in subs (arity checked as Redis's table does:
 * "name|sub"), or -1 after an error reply. */
static int subcommand_or_reply(data_call *c, const char *cmd, const char *const *subs,
                               const int *arity, int n)
{
    const data_arg *a = &c->argv[1];
    char msg[300];
    for (int i = 0; i < n; i++) {
        if (!arg_eq(a, subs[i])) continue;
        if ((arity[i] > 0 && c->argc != arity[i]) || (arity[i] < 0 && c->argc < -arity[i])) {
            snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s|%s' command", c->name,
                     subs[i]);
            reply_err(c, msg);
            return -1;
        }
        return i;
    }
    snprintf(msg, sizeof msg, "ERR unknown subcommand '%.*s'. Try %s HELP.",
             (int)(a->len > 128 ? 128 : a->len), a->ptr, cmd);
    reply_err(c, msg);
    return -1;
}

/* ---- XGROUP ---- */

static const char *const xgroup_help[] = {
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
};

enum { XG_CREATE, XG_SETID, XG_DESTROY, XG_CREATECONSUMER, XG_DELCONSUMER, XG_HELP };

void cmd_xgroup(data_call *c)
{
    static const char *const subs[] = {"create",         "setid",       "destroy",
                                       "createconsumer", "delconsumer", "help"};
    static const int arity[] = {-5, -5, 4, 5, 5, 2};
    int sub = subcommand_or_reply(c, "XGROUP", subs, arity, 6);
    if (sub < 0) return;
    if (sub == XG_HELP) {
        reply_help(c, "XGROUP", xgroup_help, sizeof xgroup_help / sizeof xgroup_help[0]);
        return;
    }
    int mkstream = 0;
    long long er = -1;
    for (int i = 5; i < c->argc;) {
        if (sub == XG_CREATE && arg_eq(&c->argv[i], "mkstream")) {
            mkstream = 1;
            i++;
        } else if ((sub == XG_CREATE || sub == XG_SETID) && arg_eq(&c->argv[i], "entriesread") &&
                   i + 1 < c->argc) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &er) < 0) return;
            if (er < 0 && er != -1) {
                reply_err(c, "ERR value for ENTRIESREAD must be positive or -1");
                return;
            }
            i += 2;
        } else {
            reply_sub_syntax(c, "XGROUP");
            return;
        }
    }
    const data_arg *key = &c->argv[2], *gname = &c->argv[3];
    int wrong;
    stream *s = stream_write_only(c, key, &wrong);
    if (wrong) return;
    sgroup *g = NULL;
    if (!mkstream) {
        if (!s) {
            reply_err(c, "ERR The XGROUP subcommand requires the key to exist. Note that for "
                         "CREATE you may want to use the MKSTREAM option to create an empty "
                         "stream automatically.");
            return;
        }
        g = stream_group_find(s, gname->ptr, gname->len);
        if (!g && (sub == XG_SETID || sub == XG_CREATECONSUMER || sub == XG_DELCONSUMER)) {
            reply_errf_names(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'", gname,
                             key);
            return;
        }
    }
    switch (sub) {
    case XG_CREATE: {
        if (c->argc > 8) break;
        sid id;
        if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') {
            id = s ? s->last_id : SID_MIN;
        } else if (sid_parse_or_reply(c, &c->argv[4], &id, 0, 1) < 0) {
            return;
        }
        if (!s) {
            dentry *e = stream_new_entry(&c->ds->mem, key->ptr, key->len, -1);
            ks_insert(c, e);
            s = stream_of(e);
        }
        if (!stream_group_create(s, gname->ptr, gname->len, id, er)) {
            reply_err(c, "BUSYGROUP Consumer Group name already exists");
            return;
        }
        c->dirty = 1;
        reply_ok(c);
        return;
    }
    case XG_SETID: {
        if (c->argc != 5 && c->argc != 7) break;
        sid id;
        if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') {
            id = s->last_id;
        } else if (sid_parse_or_reply(c, &c->argv[4], &id, 0, 0) < 0) {
            return;
        }
        g->last_id = id;
        g->entries_read = er;
        c->dirty = 1;
        reply_ok(c);
        return;
    }
    case XG_DESTROY: {
        int found;
        size_t at = group_slot(s, gname->ptr, gname->len, &found);
        if (!found) {
            reply_int(c, 0);
            return;
        }
        stream_group_free(s->mem, s->groups[at]);
        memmove(s->groups + at, s->groups + at + 1, (s->ngroups - at - 1) * sizeof(*s->groups));
        s->ngroups--;
        c->dirty = 1;
        reply_int(c, 1);
        return;
    }
    case XG_CREATECONSUMER: reply_int(c, consumer_create(c, s, g, &c->argv[4]) ? 1 : 0); return;
    case XG_DELCONSUMER: {
        sconsumer *sc = consumer_find(g, &c->argv[4]);
        long long pending = 0;
        if (sc) {
            pending = (long long)sc->pel.count;
            consumer_delete(s, g, sc);
            c->dirty = 1;
        }
        reply_int(c, pending);
        return;
    }
    default: break;
    }
    reply_sub_syntax(c, "XGROUP");
}

/* ---- XREAD / XREADGROUP ---- */

static int resp3(data_call *c)
{
    return c->ops->is_resp3 && c->ops->is_resp3(c->rctx);
}

/* Delivers new entries (ids > g->last_id) to consumer sc: the reply's entries, the group's
 * last id and read counter, and (without noack) pending entries. */
static void serve_group_new(data_call *c, stream *s, sgroup *g, sconsumer *sc, size_t count,
                            int noack)
{
    sidx *x = &s->entries;
    sid start = g->last_id;
    sid_incr(&start);
    spos p = sidx_ge(x, start), q = p;
    size_t n = 0;
    while (spos_valid(x, q) && (!count || n < count)) {
        n++;
        sidx_next(x, &q);
    }
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++, sidx_next(x, &p)) {
        sid id = spos_key(x, p);
        if (sid_cmp(id, g->last_id) > 0) {
            if (g->entries_read != -1 && !stream_range_has_tombstones(s, id)) {
                if (g->entries_read < INT64_MAX) g->entries_read++;
            } else if (s->entries_added)
                g->entries_read = stream_estimate_read(s, id);
            g->last_id = id;
        }
        reply_entry(c, id, spos_val(x, p));
        if (noack) continue;
        snack *nk = sidx_find(&g->pel, id);
        if (nk) {
            nack_give(g, nk, id, sc);
        } else {
            nk = dmem_alloc(s->mem, sizeof(*nk));
            nk->owner = sc;
            sidx_insert(&g->pel, id, nk);
            sidx_insert(&sc->pel, id, nk);
        }
        nk->delivery_ms = c->now_ms;
        nk->delivery_count = 1;
    }
    if (n) sc->active_ms = c->now_ms;
    c->dirty = 1;
}

/* Replays the consumer's own pending entries with ids >= start. */
static void serve_group_history(data_call *c, stream *s, sconsumer *sc, sid start, size_t count)
{
    sidx *pel = &sc->pel;
    spos p = sidx_ge(pel, start), q = p;
    size_t n = 0;
    while (spos_valid(pel, q) && (!count || n < count)) {
        n++;
        sidx_next(pel, &q);
    }
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++, sidx_next(pel, &p)) {
        sid id = spos_key(pel, p);
        sentry *se = stream_lookup(s, id);
        if (!se) {
            c->ops->array(c->rctx, 2);
            reply_sid(c, id);
            c->ops->null_array(c->rctx);
            continue;
        }
        reply_entry(c, id, se);
        snack *nk = spos_val(pel, p);
        nk->delivery_ms = c->now_ms;
        nk->delivery_count++;
    }
    c->dirty = 1;
}

/* Entries of s with ids > after (XREAD), at most count. */
static void serve_plain(data_call *c, stream *s, sid after, size_t count)
{
    sidx *x = &s->entries;
    sid start = after;
    sid_incr(&start);
    spos p = sidx_ge(x, start), q = p;
    size_t n = 0;
    while (spos_valid(x, q) && (!count || n < count)) {
        n++;
        sidx_next(x, &q);
    }
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++, sidx_next(x, &p))
        reply_entry(c, spos_key(x, p), spos_val(x, p));
}

static sid last_live(const stream *s)
{
    return s->entries.count ? spos_key(&s->entries, sidx_last(&s->entries)) : SID_MIN;
}

/* woken: XREADGROUP_WOKEN, the retry of a blocked XREADGROUP (data_block_retry_args). Redis 7.0
 * serves a woken group reader when the stream's last id (not its last live entry) is past the
 * group's: an entry added and gone at once (XADD MAXLEN 0, XADD + XDEL in MULTI) gets the reply
 * [key, []] and, as any served read, creates the consumer. */
static void xread_generic(data_call *c, int xreadgroup, int woken)
{
    long long timeout = -1, count = 0;
    int streams_arg = 0, nstreams = 0, noack = 0;
    const data_arg *gname = NULL, *cname = NULL;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        const data_arg *o = &c->argv[i];
        if (arg_eq(o, "block") && more) {
            i++;
            if (!syn_string2ll(c->argv[i].ptr, c->argv[i].len, &timeout)) {
                reply_err(c, "ERR timeout is not an integer or out of range");
                return;
            }
            if (timeout < 0) {
                reply_err(c, "ERR timeout is negative");
                return;
            }
        } else if (arg_eq(o, "count") && more) {
            if (arg_ll_or_reply(c, &c->argv[++i], &count) < 0) return;
            if (count < 0) count = 0;
        } else if (arg_eq(o, "streams") && more) {
            streams_arg = i + 1;
            nstreams = c->argc - streams_arg;
            if (nstreams % 2) {
                reply_err(c, "ERR Unbalanced XREAD list of streams: for each stream key an ID or "
                             "'$' must be specified.");
                return;
            }
            nstreams /= 2;
            break;
        } else if (arg_eq(o, "group") && more >= 2) {
            if (!xreadgroup) {
                reply_err(c, "ERR The GROUP option is only supported by XREADGROUP. You called "
                             "XREAD instead.");
                return;
            }
            gname = &c->argv[i + 1];
            cname = &c->argv[i + 2];
            i += 2;
        } else if (arg_eq(o, "noack")) {
            if (!xreadgroup) {
                reply_err(c, "ERR The NOACK option is only supported by XREADGROUP. You called "
                             "XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            reply_syntax(c);
            return;
        }
    }
    if (streams_arg == 0) {
        reply_syntax(c);
        return;
    }
    if (xreadgroup && !gname) {
        reply_err(c, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    size_t ns = (size_t)nstreams;
    sid *ids = dmem_alloc(NULL, (ns ? ns : 1) * sizeof(sid));
    stream **ss = dmem_alloc(NULL, (ns ? ns : 1) * sizeof(stream *));
    sgroup **gs = dmem_alloc(NULL, (ns ? ns : 1) * sizeof(sgroup *));
    int *serve = dmem_alloc(NULL, (ns ? ns : 1) * sizeof(int));
    for (size_t i = 0; i < ns; i++) {
        const data_arg *key = &c->argv[streams_arg + (int)i];
        const data_arg *ida = &c->argv[streams_arg + nstreams + (int)i];
        int wrong;
        stream *s =
            xreadgroup ? stream_write_only(c, key, &wrong) : stream_read_or_reply(c, key, &wrong);
        if (wrong) goto done;
        ss[i] = s;
        gs[i] = NULL;
        if (gname) {
            if (!s || !(gs[i] = stream_group_find(s, gname->ptr, gname->len))) {
                reply_errf_names(c,
                                 "NOGROUP No such key '%.*s' or consumer group '%.*s' in "
                                 "XREADGROUP with GROUP option",
                                 key, gname);
                goto done;
            }
        }
        if (ida->len == 1 && ida->ptr[0] == '$') {
            if (xreadgroup) {
                reply_err(c, "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                             "want to read the history of this consumer by specifying a proper "
                             "ID, or use the > ID to get new messages. The $ ID would just "
                             "return an empty result set.");
                goto done;
            }
            ids[i] = s ? s->last_id : SID_MIN;
            continue;
        }
        if (ida->len == 1 && ida->ptr[0] == '>') {
            if (!xreadgroup) {
                reply_err(c, "ERR The > ID can be specified only when calling XREADGROUP using "
                             "the GROUP <group> <consumer> option.");
                goto done;
            }
            ids[i] = SID_MAX;
            continue;
        }
        if (sid_parse_or_reply(c, ida, &ids[i], 0, 1) < 0) goto done;
    }
    size_t nserve = 0;
    for (size_t i = 0; i < ns; i++) {
        stream *s = ss[i];
        serve[i] = 0;
        if (!s) continue;
        if (gs[i]) {
            if (sid_cmp(ids[i], SID_MAX) != 0)
                serve[i] = 2; /* history */
            else if (woken && sid_cmp(s->last_id, gs[i]->last_id) > 0)
                serve[i] = 1;
            else if (s->entries.count && sid_cmp(last_live(s), gs[i]->last_id) > 0)
                serve[i] = 1;
        } else if (woken ? sid_cmp(s->last_id, ids[i]) > 0
                         : s->entries.count && sid_cmp(last_live(s), ids[i]) > 0) {
            serve[i] = 1; /* woken: XREAD_WOKEN, see data_block_woken_args */
        }
        nserve += serve[i] != 0;
    }
    if (nserve == 0) {
        if (timeout != -1) /* block (data_exec_block), or the timeout's null */
            block_or_timeout(c, timeout, streams_arg, nstreams, DATA_BLOCK_STREAM, 0);
        else
            c->ops->null_array(c->rctx);
        goto done;
    }
    int r3 = resp3(c);
    if (r3)
        c->ops->map(c->rctx, nserve);
    else
        c->ops->array(c->rctx, nserve);
    for (size_t i = 0; i < ns; i++) {
        if (!serve[i]) continue;
        const data_arg *key = &c->argv[streams_arg + (int)i];
        if (!r3) c->ops->array(c->rctx, 2);
        reply_bulk(c, key->ptr, key->len);
        if (!gs[i]) {
            serve_plain(c, ss[i], ids[i], (size_t)count);
            continue;
        }
#ifdef QUEUE_BUG_DELIVERY_NOT_REPLICATED /* planted for the checker (scripts/build_queue_bug.sh):  \
                                            only the node serving the client records deliveries */
        if (!c->block && serve[i] == 1) {
            serve_plain(c, ss[i], gs[i]->last_id, (size_t)count);
            continue;
        }
#endif
        sconsumer *sc = consumer_get(c, ss[i], gs[i], cname);
        if (serve[i] == 2) {
            sid start = ids[i];
            sid_incr(&start);
            serve_group_history(c, ss[i], sc, start, (size_t)count);
        } else {
            serve_group_new(c, ss[i], gs[i], sc, (size_t)count, noack);
        }
    }
done:
    dmem_free(NULL, ids);
    dmem_free(NULL, ss);
    dmem_free(NULL, gs);
    dmem_free(NULL, serve);
}

/* ---- blocked XREAD / XREADGROUP (the driver's questions: data.h) ---- */

/* Where argv's STREAMS keys start (0: none) and, for XREADGROUP, its GROUP name; whether a
 * BLOCK option is given. The arguments were checked when the command blocked. */
static int xread_layout(int argc, const data_arg *argv, const data_arg **group, int *block)
{
    *group = NULL;
    *block = 0;
    for (int i = 1; i < argc; i++) {
        const data_arg *o = &argv[i];
        int more = argc - i - 1;
        if (arg_eq(o, "streams") && more) return i + 1;
        if (arg_eq(o, "block") && more) {
            *block = 1;
            i++;
        } else if (arg_eq(o, "count") && more) {
            i++;
        } else if (arg_eq(o, "group") && more >= 2) {
            *group = &argv[i + 1];
            i += 2;
        }
    }
    return 0;
}

int stream_may_block(int argc, const data_arg *argv)
{
    const data_arg *g;
    int block;
    (void)xread_layout(argc, argv, &g, &block);
    return block;
}

static stream *stream_peek(const data_store *ds, const data_arg *key, int64_t now_ms, int *other)
{
    dpos pos;
    *other = 0;
    if (!dict_find(&ds->keys, key->ptr, key->len, &pos) || ks_is_expired(*pos.slot, now_ms))
        return NULL;
    if ((*pos.slot)->type != DT_STREAM) {
        *other = 1;
        return NULL;
    }
    return stream_of(*pos.slot);
}

int data_block_stream_wake(const data_store *ds, int argc, const data_arg *argv, const char *key,
                           size_t klen, int64_t now_ms, const char **err)
{
    const data_arg *gname;
    int block;
    int first = xread_layout(argc, argv, &gname, &block);
    if (!first) return DATA_WAKE_NONE;
    int ns = (argc - first) / 2;
    for (int i = 0; i < ns; i++) {
        /* the key that was written only (its first occurrence), as Redis serves it */
        if (argv[first + i].len != klen || memcmp(argv[first + i].ptr, key, klen) != 0) continue;
        int other;
        stream *s = stream_peek(ds, &argv[first + i], now_ms, &other);
        const data_arg *ida = &argv[first + ns + i];
        if (gname) { /* Redis 7.0's errors for a client blocked in a group that went away */
            if (!s) {
                *err = "UNBLOCKED the stream key no longer exists";
                return DATA_WAKE_ERROR;
            }
            sgroup *g = stream_group_find(s, gname->ptr, gname->len);
            if (!g) {
                *err = "NOGROUP the consumer group this client was blocked on no longer exists";
                return DATA_WAKE_ERROR;
            }
            /* xread_generic's woken rule */
            return sid_cmp(s->last_id, g->last_id) > 0 ? DATA_WAKE_CONSUME : DATA_WAKE_NONE;
        }
        sid after;
        if (s && sid_parse(ida, &after, 0, 1, NULL) == 0 && sid_cmp(s->last_id, after) > 0 &&
            (!s->last_by_setid || (s->entries.count && sid_cmp(last_live(s), after) > 0)))
            return DATA_WAKE_READ;
        return DATA_WAKE_NONE;
    }
    return DATA_WAKE_NONE;
}

int data_block_woken_args(int argc, const data_arg *argv, const char *key, size_t klen,
                          data_arg *out)
{
    const data_arg *gname;
    int block;
    int first = xread_layout(argc, argv, &gname, &block);
    for (int i = 0; i < argc; i++)
        out[i] = argv[i];
    int plain = arg_eq(&argv[0], "xread") || arg_eq(&argv[0], "xread_woken");
    int group = arg_eq(&argv[0], "xreadgroup") || arg_eq(&argv[0], "xreadgroup_woken");
    if (!first || (gname ? !group : !plain)) return argc;
    int ns = (argc - first) / 2;
    for (int i = 0; i < ns; i++)
        if (argv[first + i].len == klen && memcmp(argv[first + i].ptr, key, klen) == 0) {
            out[0] = gname ? (data_arg){"XREADGROUP_WOKEN", 16} : (data_arg){"XREAD_WOKEN", 11};
            out[first] = argv[first + i];
            out[first + 1] = argv[first + ns + i];
            return first + 2;
        }
    return argc;
}

int data_block_retry_args(const data_store *ds, int argc, const data_arg *argv, int64_t now_ms,
                          data_arg *out, char *scratch, size_t cap)
{
    const data_arg *gname;
    int block;
    int first = xread_layout(argc, argv, &gname, &block);
    size_t used = 0;
    for (int i = 0; i < argc; i++)
        out[i] = argv[i];
    if (first && gname && arg_eq(&argv[0], "xreadgroup"))
        out[0] = (data_arg){"XREADGROUP_WOKEN", 16}; /* xread_generic: Redis's woken rule */
    if (!first || gname) return argc;
    int ns = (argc - first) / 2;
    for (int i = 0; i < ns; i++) {
        const data_arg *ida = &argv[first + ns + i];
        if (ida->len != 1 || ida->ptr[0] != '$') continue;
        int other;
        stream *s = stream_peek(ds, &argv[first + i], now_ms, &other);
        if (cap - used < 44) return -1;
        size_t k = sid_fmt(scratch + used, s ? s->last_id : SID_MIN);
        out[first + ns + i] = (data_arg){scratch + used, k};
        used += k;
    }
    return argc;
}

void cmd_xread(data_call *c)
{
    xread_generic(c, 0, 0);
}

void cmd_xread_woken(data_call *c)
{
    xread_generic(c, 0, 1);
}

void cmd_xreadgroup(data_call *c)
{
    xread_generic(c, 1, 0);
}

void cmd_xreadgroup_woken(data_call *c)
{
    xread_generic(c, 1, 1);
}

/* ---- XACK ---- */

static sid *parse_ids_or_reply(data_call *c, int from, int to)
{
    int n = to - from;
    sid *ids = dmem_alloc(NULL, (size_t)(n > 0 ? n : 1) * sizeof(sid));
    for (int j = 0; j < n; j++) {
        if (sid_parse_or_reply(c, &c->argv[from + j], &ids[j], 0, 1) < 0) {
            dmem_free(NULL, ids);
            return NULL;
        }
    }
    return ids;
}

void cmd_xack(data_call *c)
{
    int wrong;
    stream *s = stream_write_only(c, &c->argv[1], &wrong);
    if (wrong) return;
    sgroup *g = s ? stream_group_find(s, c->argv[2].ptr, c->argv[2].len) : NULL;
    if (!g) {
        reply_int(c, 0);
        return;
    }
    sid *ids = parse_ids_or_reply(c, 3, c->argc);
    if (!ids) return;
    long long acked = 0;
    for (int j = 0; j < c->argc - 3; j++) {
        if (!sidx_find(&g->pel, ids[j])) continue;
        nack_drop(s, g, ids[j]);
        acked++;
    }
    dmem_free(NULL, ids);
    if (acked) c->dirty = 1;
    reply_int(c, acked);
}

/* ---- XPENDING ---- */

static void reply_nogroup(data_call *c, const data_arg *key, const data_arg *g)
{
    reply_errf_names(c, "NOGROUP No such key '%.*s' or consumer group '%.*s'", key, g);
}

static void xpending_summary(data_call *c, sgroup *g)
{
    c->ops->array(c->rctx, 4);
    reply_int(c, (long long)g->pel.count);
    if (g->pel.count == 0) {
        reply_null(c);
        reply_null(c);
        c->ops->null_array(c->rctx);
        return;
    }
    reply_sid(c, spos_key(&g->pel, sidx_first(&g->pel)));
    reply_sid(c, spos_key(&g->pel, sidx_last(&g->pel)));
    size_t n = 0;
    for (size_t i = 0; i < g->ncons; i++)
        n += g->cons[i]->pel.count > 0;
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < g->ncons; i++) {
        sconsumer *sc = g->cons[i];
        if (!sc->pel.count) continue;
        char buf[24];
        c->ops->array(c->rctx, 2);
        reply_bulk(c, sc->name, sc->nlen);
        reply_bulk(c, buf, syn_ll2string(buf, (long long)sc->pel.count));
    }
}

void cmd_xpending(data_call *c)
{
    const data_arg *key = &c->argv[1], *gname = &c->argv[2], *cname = NULL;
    sid start = SID_MIN, end = SID_MAX;
    long long count = 0, minidle = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_syntax(c);
        return;
    }
    if (c->argc >= 6) {
        int si = 3, sx, ex;
        if (arg_eq(&c->argv[3], "idle")) {
            if (arg_ll_or_reply(c, &c->argv[4], &minidle) < 0) return;
            if (c->argc < 8) {
                reply_syntax(c);
                return;
            }
            si += 2;
        }
        if (arg_ll_or_reply(c, &c->argv[si + 2], &count) < 0) return;
        if (count < 0) count = 0;
        if (sid_parse_interval_or_reply(c, &c->argv[si], &start, &sx, 0) < 0) return;
        if (sx && sid_incr(&start) < 0) {
            reply_err(c, "ERR invalid start ID for the interval");
            return;
        }
        if (sid_parse_interval_or_reply(c, &c->argv[si + 1], &end, &ex, UINT64_MAX) < 0) return;
        if (ex && sid_decr(&end) < 0) {
            reply_err(c, "ERR invalid end ID for the interval");
            return;
        }
        if (si + 3 < c->argc) cname = &c->argv[si + 3];
    }
    int wrong;
    stream *s = stream_read_or_reply(c, key, &wrong);
    if (wrong) return;
    sgroup *g = s ? stream_group_find(s, gname->ptr, gname->len) : NULL;
    if (!g) {
        reply_nogroup(c, key, gname);
        return;
    }
    if (c->argc == 3) {
        xpending_summary(c, g);
        return;
    }
    sidx *pel = &g->pel;
    if (cname) {
        sconsumer *sc = consumer_find(g, cname);
        if (!sc) {
            c->ops->array(c->rctx, 0);
            return;
        }
        pel = &sc->pel;
    }
    int64_t now = c->now_ms;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        long long left = count;
        for (spos p = sidx_ge(pel, start); left && spos_valid(pel, p); sidx_next(pel, &p)) {
            sid id = spos_key(pel, p);
            if (sid_cmp(id, end) > 0) break;
            snack *nk = spos_val(pel, p);
            if (minidle && ms_sub(now, nk->delivery_ms) < minidle) continue;
            n++;
            left--;
            if (pass == 0) continue;
            int64_t idle = ms_sub(now, nk->delivery_ms);
            c->ops->array(c->rctx, 4);
            reply_sid(c, id);
            reply_bulk(c, nk->owner->name, nk->owner->nlen);
            reply_int(c, idle < 0 ? 0 : idle);
            reply_int(c, (long long)nk->delivery_count);
        }
        if (pass == 0) c->ops->array(c->rctx, n);
    }
}

/* ---- XCLAIM / XAUTOCLAIM ---- */

static int ll_or_reply_msg(data_call *c, const data_arg *a, long long *v, const char *msg)
{
    if (syn_string2ll(a->ptr, a->len, v)) return 0;
    reply_err(c, msg);
    return -1;
}

/* Replies the claimed ids (JUSTID) or their entries. */
static void reply_claimed(data_call *c, stream *s, const sid *ids, size_t n, int justid)
{
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++) {
        if (justid) {
            reply_sid(c, ids[i]);
        } else {
            sentry *se = stream_lookup(s, ids[i]);
            SYN_ASSERT(se != NULL);
            reply_entry(c, ids[i], se);
        }
    }
}

void cmd_xclaim(data_call *c)
{
    const data_arg *key = &c->argv[1], *gname = &c->argv[2];
    int wrong;
    stream *s = stream_write_only(c, key, &wrong);
    if (wrong) return;
    sgroup *g = s ? stream_group_find(s, gname->ptr, gname->len) : NULL;
    if (!g) {
        reply_nogroup(c, key, gname);
        return;
    }
    long long minidle, retry = -1, dtime = -1;
    int force = 0, justid = 0;
    if (ll_or_reply_msg(c, &c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM") <
        0)
        return;
    if (minidle < 0) minidle = 0;
    int nids = c->argc - 5, j;
    sid *ids = dmem_alloc(NULL, (size_t)(nids > 0 ? nids : 1) * sizeof(sid));
    for (j = 5; j < c->argc; j++)
        if (sid_parse(&c->argv[j], &ids[j - 5], 0, 1, NULL) < 0) break;
    int last_arg = j - 1;
    int64_t now = c->now_ms;
    sid lastid = SID_MIN;
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const data_arg *o = &c->argv[j];
        if (arg_eq(o, "force")) {
            force = 1;
        } else if (arg_eq(o, "justid")) {
            justid = 1;
        } else if (arg_eq(o, "idle") && more) {
            if (ll_or_reply_msg(c, &c->argv[++j], &dtime,
                                "ERR Invalid IDLE option argument for XCLAIM") < 0)
                goto out;
            dtime = ms_sub(now, dtime);
        } else if (arg_eq(o, "time") && more) {
            if (ll_or_reply_msg(c, &c->argv[++j], &dtime,
                                "ERR Invalid TIME option argument for XCLAIM") < 0)
                goto out;
        } else if (arg_eq(o, "retrycount") && more) {
            if (ll_or_reply_msg(c, &c->argv[++j], &retry,
                                "ERR Invalid RETRYCOUNT option argument for XCLAIM") < 0)
                goto out;
        } else if (arg_eq(o, "lastid") && more) {
            if (sid_parse_or_reply(c, &c->argv[++j], &lastid, 0, 1) < 0) goto out;
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "ERR Unrecognized XCLAIM option '%.*s'",
                     (int)(o->len > 128 ? 128 : o->len), o->ptr);
            reply_err(c, msg);
            goto out;
        }
    }
    if (sid_cmp(lastid, g->last_id) > 0) {
        g->last_id = lastid;
        c->dirty = 1;
    }
    if (dtime != -1) {
        if (dtime < 0 || dtime > now) dtime = now;
    } else {
        dtime = now;
    }
    sconsumer *sc = NULL;
    size_t nclaimed = 0;
    for (int k = 5; k <= last_arg; k++) {
        sid id = ids[k - 5];
        snack *nk = sidx_find(&g->pel, id);
        if (!stream_lookup(s, id)) {
            if (nk) {
                nack_drop(s, g, id);
                c->dirty = 1;
            }
            continue;
        }
        if (force && !nk) {
            nk = dmem_alloc(s->mem, sizeof(*nk));
            nk->owner = NULL;
            nk->delivery_ms = now;
            nk->delivery_count = 1;
            sidx_insert(&g->pel, id, nk);
        }
        if (!nk) continue;
        if (nk->owner && minidle && ms_sub(now, nk->delivery_ms) < minidle) continue;
        if (!sc) sc = consumer_get(c, s, g, &c->argv[3]);
        nk->delivery_ms = dtime;
        if (retry >= 0)
            nk->delivery_count = (uint64_t)retry;
        else if (!justid)
            nk->delivery_count++;
        nack_give(g, nk, id, sc);
        sc->active_ms = now;
        ids[nclaimed++] = id; /* k - 5 >= nclaimed: read before overwritten */
        c->dirty = 1;
    }
    reply_claimed(c, s, ids, nclaimed, justid);
out:
    dmem_free(NULL, ids);
}

void cmd_xautoclaim(data_call *c)
{
    const data_arg *key = &c->argv[1], *gname = &c->argv[2];
    long long minidle, count = 100;
    int justid = 0, sx;
    sid start;
    if (ll_or_reply_msg(c, &c->argv[4], &minidle,
                        "ERR Invalid min-idle-time argument for XAUTOCLAIM") < 0)
        return;
    if (minidle < 0) minidle = 0;
    if (sid_parse_interval_or_reply(c, &c->argv[5], &start, &sx, 0) < 0) return;
    if (sx && sid_incr(&start) < 0) {
        reply_err(c, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_eq(&c->argv[j], "count") && more) {
            if (!syn_string2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &count) || count < 1 ||
                count > LONG_MAX / 16) {
                reply_err(c, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (arg_eq(&c->argv[j], "justid")) {
            justid = 1;
        } else {
            reply_syntax(c);
            return;
        }
    }
    int wrong;
    stream *s = stream_write_only(c, key, &wrong);
    if (wrong) return;
    sgroup *g = s ? stream_group_find(s, gname->ptr, gname->len) : NULL;
    if (!g) {
        reply_nogroup(c, key, gname);
        return;
    }
    if (count > (long long)g->pel.count + 1) count = (long long)g->pel.count + 1;
    sid *claimed = dmem_alloc(NULL, (size_t)count * sizeof(sid));
    sid *deleted = dmem_alloc(NULL, (size_t)count * sizeof(sid));
    size_t nclaimed = 0, ndeleted = 0;
    long long attempts = count * 10;
    int64_t now = c->now_ms;
    sconsumer *sc = NULL;
    sidx *pel = &g->pel;
    spos p = sidx_ge(pel, start);
    while (attempts-- > 0 && count > 0 && spos_valid(pel, p)) {
        sid id = spos_key(pel, p);
        snack *nk = spos_val(pel, p);
        if (!stream_lookup(s, id)) {
            sidx_remove(pel, &p); /* p moves to the next pending entry */
            snack *again = sidx_delete(&nk->owner->pel, id);
            SYN_ASSERT(again == nk);
            dmem_free(s->mem, nk);
            deleted[ndeleted++] = id;
            count--;
            c->dirty = 1;
            continue;
        }
        if (minidle && ms_sub(now, nk->delivery_ms) < minidle) {
            sidx_next(pel, &p);
            continue;
        }
        if (!sc) sc = consumer_get(c, s, g, &c->argv[3]);
        nk->delivery_ms = now;
        if (!justid) nk->delivery_count++;
        nack_give(g, nk, id, sc);
        sc->active_ms = now;
        claimed[nclaimed++] = id;
        count--;
        c->dirty = 1;
        sidx_next(pel, &p);
    }
    c->ops->array(c->rctx, 3);
    reply_sid(c, spos_valid(pel, p) ? spos_key(pel, p) : SID_MIN);
    reply_claimed(c, s, claimed, nclaimed, justid);
    c->ops->array(c->rctx, ndeleted);
    for (size_t i = 0; i < ndeleted; i++)
        reply_sid(c, deleted[i]);
    dmem_free(NULL, claimed);
    dmem_free(NULL, deleted);
}

/* ---- XINFO ---- */

static const char *const xinfo_help[] = {
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
};

static void reply_cstr(data_call *c, const char *s)
{
    reply_bulk(c, s, strlen(s));
}

static void reply_entries_read(data_call *c, const sgroup *g)
{
    if (g->entries_read != -1)
        reply_int(c, g->entries_read);
    else
        reply_null(c);
}

/* Redis counts its radix tree's nodes; this is the count a tree of these keys has when each
 * key was appended in order and none shares more than the prefix bytes the tree would split
 * on: an estimate (the layout differs), exact for empty and one-chunk streams. */
static long long rax_nodes_estimate(const stream *s)
{
    return s->entries.n == 0 ? 1 : (long long)(2 * s->entries.n);
}

static void reply_pel_full(data_call *c, const sidx *pel, long long count, int with_owner)
{
    size_t n = pel->count;
    if (count && (uint64_t)count < n) n = (size_t)count;
    c->ops->array(c->rctx, n);
    spos p = sidx_first(pel);
    for (size_t i = 0; i < n; i++, sidx_next(pel, &p)) {
        const snack *nk = spos_val(pel, p);
        c->ops->array(c->rctx, with_owner ? 4 : 3);
        reply_sid(c, spos_key(pel, p));
        if (with_owner) reply_bulk(c, nk->owner->name, nk->owner->nlen);
        reply_int(c, nk->delivery_ms);
        reply_int(c, (long long)nk->delivery_count);
    }
}

static void xinfo_stream(data_call *c, stream *s)
{
    int full = 0;
    long long count = 10;
    int optc = c->argc - 3;
    if (optc) {
        if ((optc != 1 && optc != 3) || !arg_eq(&c->argv[3], "full") ||
            (optc == 3 && !arg_eq(&c->argv[4], "count"))) {
            reply_sub_syntax(c, "XINFO");
            return;
        }
        if (optc == 3) {
            if (arg_ll_or_reply(c, &c->argv[5], &count) < 0) return;
            if (count < 0) count = 10;
        }
        full = 1;
    }
    c->ops->map(c->rctx, full ? 9 : 10);
    reply_cstr(c, "length");
    reply_int(c, (long long)s->entries.count);
    reply_cstr(c, "radix-tree-keys");
    reply_int(c, (long long)s->entries.n);
    reply_cstr(c, "radix-tree-nodes");
    reply_int(c, rax_nodes_estimate(s));
    reply_cstr(c, "last-generated-id");
    reply_sid(c, s->last_id);
    reply_cstr(c, "max-deleted-entry-id");
    reply_sid(c, s->max_deleted);
    reply_cstr(c, "entries-added");
    reply_int(c, (long long)s->entries_added);
    reply_cstr(c, "recorded-first-entry-id");
    reply_sid(c, stream_first_id(s));
    sidx *x = &s->entries;
    if (!full) {
        reply_cstr(c, "groups");
        reply_int(c, (long long)s->ngroups);
        reply_cstr(c, "first-entry");
        if (x->count)
            reply_entry(c, spos_key(x, sidx_first(x)), spos_val(x, sidx_first(x)));
        else
            reply_null(c);
        reply_cstr(c, "last-entry");
        if (x->count)
            reply_entry(c, spos_key(x, sidx_last(x)), spos_val(x, sidx_last(x)));
        else
            reply_null(c);
        return;
    }
    reply_cstr(c, "entries");
    size_t n = x->count;
    if (count && (uint64_t)count < n) n = (size_t)count;
    c->ops->array(c->rctx, n);
    spos p = sidx_first(x);
    for (size_t i = 0; i < n; i++, sidx_next(x, &p))
        reply_entry(c, spos_key(x, p), spos_val(x, p));
    reply_cstr(c, "groups");
    c->ops->array(c->rctx, s->ngroups);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        sgroup *g = s->groups[gi];
        c->ops->map(c->rctx, 7);
        reply_cstr(c, "name");
        reply_bulk(c, g->name, g->nlen);
        reply_cstr(c, "last-delivered-id");
        reply_sid(c, g->last_id);
        reply_cstr(c, "entries-read");
        reply_entries_read(c, g);
        reply_cstr(c, "lag");
        stream_reply_lag(c, s, g);
        reply_cstr(c, "pel-count");
        reply_int(c, (long long)g->pel.count);
        reply_cstr(c, "pending");
        reply_pel_full(c, &g->pel, count, 1);
        reply_cstr(c, "consumers");
        c->ops->array(c->rctx, g->ncons);
        for (size_t i = 0; i < g->ncons; i++) {
            sconsumer *sc = g->cons[i];
            c->ops->map(c->rctx, 4);
            reply_cstr(c, "name");
            reply_bulk(c, sc->name, sc->nlen);
            reply_cstr(c, "seen-time");
            reply_int(c, sc->seen_ms);
            reply_cstr(c, "pel-count");
            reply_int(c, (long long)sc->pel.count);
            reply_cstr(c, "pending");
            reply_pel_full(c, &sc->pel, count, 0);
        }
    }
}

void cmd_xinfo(data_call *c)
{
    static const char *const subs[] = {"consumers", "groups", "stream", "help"};
    static const int arity[] = {4, 3, -3, 2};
    int sub = subcommand_or_reply(c, "XINFO", subs, arity, 4);
    if (sub < 0) return;
    if (sub == 3) {
        reply_help(c, "XINFO", xinfo_help, sizeof xinfo_help / sizeof xinfo_help[0]);
        return;
    }
    const data_arg *key = &c->argv[2];
    int wrong;
    stream *s = stream_read_or_reply(c, key, &wrong);
    if (wrong) return;
    if (!s) {
        reply_err(c, "ERR no such key");
        return;
    }
    if (sub == 2) {
        xinfo_stream(c, s);
        return;
    }
    if (sub == 1) {
        c->ops->array(c->rctx, s->ngroups);
        for (size_t gi = 0; gi < s->ngroups; gi++) {
            sgroup *g = s->groups[gi];
            c->ops->map(c->rctx, 6);
            reply_cstr(c, "name");
            reply_bulk(c, g->name, g->nlen);
            reply_cstr(c, "consumers");
            reply_int(c, (long long)g->ncons);
            reply_cstr(c, "pending");
            reply_int(c, (long long)g->pel.count);
            reply_cstr(c, "last-delivered-id");
            reply_sid(c, g->last_id);
            reply_cstr(c, "entries-read");
            reply_entries_read(c, g);
            reply_cstr(c, "lag");
            stream_reply_lag(c, s, g);
        }
        return;
    }
    sgroup *g = stream_group_find(s, c->argv[3].ptr, c->argv[3].len);
    if (!g) {
        reply_errf_names(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                         &c->argv[3], key);
        return;
    }
    c->ops->array(c->rctx, g->ncons);
    for (size_t i = 0; i < g->ncons; i++) {
        sconsumer *sc = g->cons[i];
        int64_t idle = ms_sub(c->now_ms, sc->seen_ms);
        c->ops->map(c->rctx, 3);
        reply_cstr(c, "name");
        reply_bulk(c, sc->name, sc->nlen);
        reply_cstr(c, "pending");
        reply_int(c, (long long)sc->pel.count);
        reply_cstr(c, "idle");
        reply_int(c, idle < 0 ? 0 : idle);
    }
}
