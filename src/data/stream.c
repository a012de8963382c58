/* stream.c — stream values and the commands on entries: XADD XRANGE XREVRANGE XLEN XDEL XTRIM
 * XREAD XSETID, as Redis 7.0 (replies and error strings), plus the value's snapshot codec.
 * Consumer groups are in stream_group.c, the ordered index in stream_idx.c.
 *
 * Determinism (DESIGN.md "Replicating effects"): an id generated for `*` or `ms-*` depends only
 * on the stream's last id and the entry's now_ms (the leader's clock, carried by the log entry),
 * so XADD is logged as it came: a concrete id chosen by the leader from its applied state would
 * collide with XADDs proposed but not applied yet. A new leader whose clock is behind still
 * generates increasing ids: the sequence continues from the last id. `~` trimming removes whole
 * chunks, whose boundaries are stream state (stream_internal.h). */
#include <errno.h>
#include <stdlib.h>

#include "data/stream_internal.h"

static int node_max(const data_store *ds);
#include "util/assert.h"

/* ---- ids ---- */

/* Redis's string2ull: string2ll rules for non-negative values, else strtoull's (which also
 * takes leading spaces and a sign). */
static int parse_ull(const char *s, size_t len, uint64_t *out)
{
    long long v;
    if (syn_string2ll(s, len, &v)) {
        if (v < 0) return 0;
        *out = (uint64_t)v;
        return 1;
    }
    char buf[128];
    if (len == 0 || len >= sizeof buf || memchr(s, 0, len)) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end = NULL;
    errno = 0;
    unsigned long long u = strtoull(buf, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *end != 0) return 0;
    *out = u;
    return 1;
}

int sid_parse(const data_arg *a, sid *id, uint64_t missing_seq, int strict, int *seq_given)
{
    if (a->len > 127) return -1;
    const char *p = a->ptr;
    size_t n = a->len;
    if (strict && n == 1 && (p[0] == '-' || p[0] == '+')) return -1;
    if (seq_given) *seq_given = 1;
    if (n == 1 && p[0] == '-') {
        *id = SID_MIN;
        return 0;
    }
    if (n == 1 && p[0] == '+') {
        *id = SID_MAX;
        return 0;
    }
    const char *dash = memchr(p, '-', n);
    uint64_t ms, seq = missing_seq;
    size_t msl = dash ? (size_t)(dash - p) : n;
    /* an embedded NUL ends the C string Redis parses */
    const char *nul = memchr(p, 0, n);
    if (nul && (!dash || nul < dash)) msl = (size_t)(nul - p), dash = NULL;
    if (!parse_ull(p, msl, &ms)) return -1;
    if (dash) {
        const char *s = dash + 1;
        size_t sl = n - (size_t)(s - p);
        const char *nul2 = memchr(s, 0, sl);
        if (nul2) sl = (size_t)(nul2 - s);
        if (seq_given && sl == 1 && s[0] == '*') {
            seq = 0;
            *seq_given = 0;
        } else if (!parse_ull(s, sl, &seq)) {
            return -1;
        }
    }
    id->ms = ms;
    id->seq = seq;
    return 0;
}

int sid_parse_or_reply(data_call *c, const data_arg *a, sid *id, uint64_t missing_seq, int strict)
{
    if (sid_parse(a, id, missing_seq, strict, NULL) == 0) return 0;
    reply_err(c, "ERR Invalid stream ID specified as stream command argument");
    return -1;
}

int sid_parse_interval_or_reply(data_call *c, const data_arg *a, sid *id, int *excl,
                                uint64_t missing_seq)
{
    *excl = a->len > 1 && a->ptr[0] == '(';
    if (!*excl) return sid_parse_or_reply(c, a, id, missing_seq, 0);
    data_arg t = {a->ptr + 1, a->len - 1};
    return sid_parse_or_reply(c, &t, id, missing_seq, 1);
}

void reply_sid(data_call *c, sid id)
{
    char buf[48];
    size_t n = sid_fmt(buf, id);
    reply_bulk(c, buf, n);
}

/* ---- values ---- */

stream *stream_of(dentry *e)
{
    return dentry_ptr(e);
}

dentry *stream_new_entry(size_t *mem, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = dentry_new(mem, DT_STREAM, key, klen, NULL, 0, sizeof(void *), expire_ms);
    stream *s = dmem_calloc(mem, 1, sizeof(*s));
    s->mem = mem;
    sidx_init(&s->entries, mem);
    dentry_set_ptr(e, s);
    return e;
}

static void free_entries(stream *s)
{
    for (size_t ci = 0; ci < s->entries.n; ci++) {
        schunk *ch = sidx_chunk(&s->entries, ci);
        for (uint32_t i = 0; i < ch->n; i++)
            dmem_free(s->mem, ch->val[i]);
    }
    sidx_deinit(&s->entries);
}

void stream_free(size_t *mem, dentry *e)
{
    stream *s = stream_of(e);
    free_entries(s);
    for (size_t i = 0; i < s->ngroups; i++)
        stream_group_free(mem, s->groups[i]);
    dmem_free(mem, s->groups);
    dmem_free(mem, s);
}

uint64_t stream_len(dentry *e)
{
    return stream_of(e)->entries.count;
}

void stream_set_mem(dentry *e, size_t *mem)
{
    stream *s = stream_of(e);
    s->mem = mem;
    s->entries.mem = mem;
    for (size_t i = 0; i < s->ngroups; i++) {
        sgroup *g = s->groups[i];
        g->pel.mem = mem;
        for (size_t j = 0; j < g->ncons; j++)
            g->cons[j]->pel.mem = mem;
    }
}

sid stream_first_id(const stream *s)
{
    if (s->entries.count == 0) return SID_MIN;
    return spos_key(&s->entries, sidx_first(&s->entries));
}

static sid last_live_id(const stream *s)
{
    if (s->entries.count == 0) return SID_MIN;
    return spos_key(&s->entries, sidx_last(&s->entries));
}

sentry *stream_lookup(stream *s, sid id)
{
    return sidx_find(&s->entries, id);
}

static sentry *sentry_new(size_t *mem, const data_arg *fv, int nfields)
{
    size_t bytes = 0;
    for (int i = 0; i < 2 * nfields; i++)
        bytes += 4 + fv[i].len;
    sentry *se = dmem_alloc(mem, sizeof(*se) + bytes);
    se->nfields = (uint32_t)nfields;
    se->bytes = (uint32_t)bytes;
    char *p = se->data;
    for (int i = 0; i < 2 * nfields; i++) {
        uint32_t l = (uint32_t)fv[i].len;
        memcpy(p, &l, 4);
        if (l) memcpy(p + 4, fv[i].ptr, l);
        p += 4 + l;
    }
    return se;
}

/* Calls cb for each field and value of se, in order. */
typedef void (*sentry_cb)(void *ctx, const char *p, size_t n);
static void sentry_each(const sentry *se, sentry_cb cb, void *ctx)
{
    const char *p = se->data;
    for (uint32_t i = 0; i < 2 * se->nfields; i++) {
        uint32_t l;
        memcpy(&l, p, 4);
        cb(ctx, p + 4, l);
        p += 4 + l;
    }
}

static void reply_piece(void *ctx, const char *p, size_t n)
{
    reply_bulk(ctx, p, n);
}

void reply_entry(data_call *c, sid id, const sentry *se)
{
    c->ops->array(c->rctx, 2);
    reply_sid(c, id);
    c->ops->array(c->rctx, 2 * (size_t)se->nfields);
    sentry_each(se, reply_piece, c);
}

stream *stream_read_or_reply(data_call *c, const data_arg *key, int *wrong)
{
    *wrong = 0;
    dentry *e = ks_read(c, key);
    if (!e) return NULL;
    if (e->type != DT_STREAM) {
        reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }
    return stream_of(e);
}

/* The stream at key for writing (created if absent and create is set); NULL with *wrong set
 * after a WRONGTYPE reply, or NULL when absent. */
static stream *stream_write(data_call *c, const data_arg *key, int create, int *wrong)
{
    dpos pos;
    *wrong = 0;
    if (ks_write(c, key, &pos)) {
        dentry *e = *pos.slot;
        if (e->type != DT_STREAM) {
            reply_wrongtype(c);
            *wrong = 1;
            return NULL;
        }
        return stream_of(e);
    }
    if (!create) return NULL;
    dentry *e = stream_new_entry(&c->ds->mem, key->ptr, key->len, -1);
    ks_insert(c, e);
    return stream_of(e);
}

/* ---- lag and read counters (Redis 7.0's rules) ---- */

int stream_range_has_tombstones(const stream *s, sid start)
{
    if (s->entries.count == 0 || sid_is_zero(s->max_deleted)) return 0;
    if (sid_cmp(stream_first_id(s), s->max_deleted) > 0) return 0;
    return sid_cmp(start, s->max_deleted) <= 0;
}

int64_t stream_estimate_read(const stream *s, sid id)
{
    if (!s->entries_added) return 0;
    if (s->entries.count == 0 && sid_cmp(id, s->last_id) < 1) return (int64_t)s->entries_added;
    int cmp_last = sid_cmp(id, s->last_id);
    if (cmp_last == 0) return (int64_t)s->entries_added;
    if (cmp_last > 0) return -1;
    sid first = stream_first_id(s);
    int cmp_first = sid_cmp(id, first);
    if (sid_is_zero(s->max_deleted) || sid_cmp(s->max_deleted, first) < 0) {
        if (cmp_first < 0) return (int64_t)(s->entries_added - s->entries.count);
        if (cmp_first == 0) return (int64_t)(s->entries_added - s->entries.count + 1);
    }
    return -1;
}

void stream_reply_lag(data_call *c, const stream *s, const sgroup *g)
{
    if (!s->entries_added) {
        reply_int(c, 0);
        return;
    }
    if (g->entries_read != -1 && !stream_range_has_tombstones(s, g->last_id)) {
        /* both are in [0, 2^63) after load and commands; unsigned so no value can overflow */
        reply_int(c, (long long)(s->entries_added - (uint64_t)g->entries_read));
        return;
    }
    int64_t r = stream_estimate_read(s, g->last_id);
    if (r != -1)
        reply_int(c, (long long)(s->entries_added - (uint64_t)r));
    else
        reply_null(c);
}

/* ---- trimming ---- */

enum { TRIM_NONE = 0, TRIM_MAXLEN = 1, TRIM_MINID = 2 };

typedef struct {
    int strategy, approx;
    long long maxlen, limit;
    sid minid;
    int nomkstream, id_given, seq_given;
    sid id;
} xadd_args;

/* Removes entries from the head as Redis's streamTrim does; returns how many. */
static long long stream_trim(stream *s, const xadd_args *a)
{
    if (a->strategy == TRIM_NONE) return 0;
    sidx *x = &s->entries;
    long long deleted = 0;
    while (x->n > 0) {
        if (a->strategy == TRIM_MAXLEN && x->count <= (uint64_t)a->maxlen) break;
        schunk *ch = sidx_chunk(x, 0);
        long long entries = ch->n;
        if (a->limit && deleted + entries > a->limit) break;
        int remove;
        if (a->strategy == TRIM_MAXLEN)
            remove = x->count - (uint64_t)entries >= (uint64_t)a->maxlen;
        else
            remove = sid_cmp(ch->last, a->minid) < 0;
        if (remove) {
            for (uint32_t i = 0; i < ch->n; i++)
                dmem_free(s->mem, ch->val[i]);
            sidx_drop_first_chunk(x);
            deleted += entries;
            continue;
        }
        if (a->approx) break;
        spos p = sidx_first(x);
        while (spos_valid(x, p) && p.ci == 0) {
            int stop = a->strategy == TRIM_MAXLEN ? x->count <= (uint64_t)a->maxlen
                                                  : sid_cmp(spos_key(x, p), a->minid) >= 0;
            if (stop) break;
            dmem_free(s->mem, spos_val(x, p));
            sidx_remove(x, &p);
            deleted++;
        }
        break;
    }
    return deleted;
}

/* XADD / XTRIM options (Redis's streamParseAddOrTrimArgsOrReply); returns the index of the id
 * argument (XADD) or argc, -1 after an error reply. */
static int parse_add_trim(data_call *c, xadd_args *a, int xadd)
{
    memset(a, 0, sizeof(*a));
    int i = 2, limit_given = 0;
    for (; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const data_arg *o = &c->argv[i];
        if (xadd && o->len == 1 && o->ptr[0] == '*') break;
        int is_maxlen = arg_eq(o, "maxlen"), is_minid = arg_eq(o, "minid");
        if ((is_maxlen || is_minid) && more) {
            if (a->strategy != TRIM_NONE) {
                reply_err(c, "ERR syntax error, MAXLEN and MINID options at the same time are "
                             "not compatible");
                return -1;
            }
            a->approx = 0;
            const data_arg *nx = &c->argv[i + 1];
            if (more >= 2 && nx->len == 1 && nx->ptr[0] == '~') {
                a->approx = 1;
                i++;
            } else if (more >= 2 && nx->len == 1 && nx->ptr[0] == '=') {
                i++;
            }
            if (is_maxlen) {
                if (arg_ll_or_reply(c, &c->argv[i + 1], &a->maxlen) < 0) return -1;
                if (a->maxlen < 0) {
                    reply_err(c, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->strategy = TRIM_MAXLEN;
            } else {
                if (sid_parse_or_reply(c, &c->argv[i + 1], &a->minid, 0, 1) < 0) return -1;
                a->strategy = TRIM_MINID;
            }
            i++;
        } else if (arg_eq(o, "limit") && more) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &a->limit) < 0) return -1;
            if (a->limit < 0) {
                reply_err(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && arg_eq(o, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (sid_parse(o, &a->id, 0, 1, &a->seq_given) < 0) {
                reply_err(c, "ERR Invalid stream ID specified as stream command argument");
                return -1;
            }
            a->id_given = 1;
            break;
        } else {
            reply_syntax(c);
            return -1;
        }
    }
    if (a->limit && a->strategy == TRIM_NONE) {
        reply_err(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming "
                     "strategy");
        return -1;
    }
    if (!xadd && a->strategy == TRIM_NONE) {
        reply_err(c, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!a->approx) {
            reply_err(c, "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else {
        a->limit = a->approx ? 100LL * node_max(c->ds) : 0;
    }
    return i;
}

/* ---- stream-node-max-entries ---- */

/* Entries per chunk for the command being applied: what its log entry says (XADD_EFFECT /
 * XTRIM_EFFECT), else the default; never this node's own setting. */
static int node_max(const data_store *ds)
{
    return ds->stream_node_max_apply ? ds->stream_node_max_apply : STREAM_NODE_MAX_ENTRIES;
}

void data_set_stream_node_max_entries(data_store *ds, long long n)
{
    ds->stream_node_max = n >= 1 && n < STREAM_NODE_MAX_ENTRIES ? (int)n : 0;
}

int stream_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    int n = c->ds->stream_node_max;
    int xadd = strcmp(c->name, "xadd") == 0;
    if (!n || (!xadd && strcmp(c->name, "xtrim") != 0) || c->argc + 1 > out_cap || scratch_cap < 24)
        return 0;
    out[0] = xadd ? (data_arg){"XADD_EFFECT", 11} : (data_arg){"XTRIM_EFFECT", 12};
    out[1] = (data_arg){scratch, syn_ll2string(scratch, n)};
    for (int i = 1; i < c->argc; i++)
        out[i + 1] = c->argv[i];
    return c->argc + 1;
}

/* XADD_EFFECT / XTRIM_EFFECT n key ...: XADD / XTRIM with n entries per chunk (the leader's
 * setting when it logged them: stream_rewrite). */
static void with_node_max(data_call *c, void (*fn)(data_call *), const char *name)
{
    long long n;
    if (!syn_string2ll(c->argv[1].ptr, c->argv[1].len, &n) || n < 1 ||
        n > STREAM_NODE_MAX_ENTRIES) {
        reply_err(c, "ERR stream-node-max-entries must be 1..100");
        return;
    }
    data_call sub = *c;
    sub.argc = c->argc - 1;
    sub.argv = c->argv + 1; /* argv[0] is not read: errors use the name */
    sub.name = name;
    c->ds->stream_node_max_apply = (int)n;
    fn(&sub);
    c->ds->stream_node_max_apply = 0;
    c->dirty = sub.dirty;
}

void cmd_xadd_effect(data_call *c)
{
    with_node_max(c, cmd_xadd, "xadd");
}

void cmd_xtrim_effect(data_call *c)
{
    with_node_max(c, cmd_xtrim, "xtrim");
}

/* ---- XADD ---- */

void cmd_xadd(data_call *c)
{
    xadd_args a;
    int idpos = parse_add_trim(c, &a, 1);
    if (idpos < 0) return;
    int fpos = idpos + 1;
    if (c->argc - fpos < 2 || (c->argc - fpos) % 2 == 1) {
        reply_arity(c);
        return;
    }
    if (a.id_given && a.seq_given && sid_is_zero(a.id)) {
        reply_err(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    int wrong;
    stream *s = stream_write(c, &c->argv[1], !a.nomkstream, &wrong);
    if (!s) {
        if (!wrong) reply_null(c);
        return;
    }
    if (sid_cmp(s->last_id, SID_MAX) == 0) {
        reply_err(c, "ERR The stream has exhausted the last possible ID, unable to add more "
                     "items");
        return;
    }
    sid id;
    if (a.id_given) {
        id = a.id;
        if (!a.seq_given && s->last_id.ms == a.id.ms) {
            if (s->last_id.seq == UINT64_MAX) goto smaller;
            id = s->last_id;
            id.seq++;
        }
    } else {
        uint64_t now = c->now_ms > 0 ? (uint64_t)c->now_ms : 0;
        if (now > s->last_id.ms) {
            id = (sid){now, 0};
        } else {
            id = s->last_id;
            sid_incr(&id);
        }
    }
    if (sid_cmp(id, s->last_id) <= 0) goto smaller;
    size_t total = 0;
    for (int i = fpos; i < c->argc; i++)
        total += c->argv[i].len;
    if (total > (1ull << 30)) {
        reply_err(c, "ERR Elements are too large to be stored");
        return;
    }
    sidx_append(&s->entries, id, sentry_new(s->mem, c->argv + fpos, (c->argc - fpos) / 2),
                node_max(c->ds));
    s->entries_added++;
    s->last_id = id;
    s->last_by_setid = 0;
    c->dirty = 1;
    reply_sid(c, id);
    stream_trim(s, &a);
    return;
smaller:
    reply_err(c, "ERR The ID specified in XADD is equal or smaller than the target stream top "
                 "item");
}

/* ---- XRANGE / XREVRANGE ---- */

/* Replies the live entries in [start, end] (ascending or, with rev, descending); at most count
 * (0 = all). Returns how many. */
static size_t reply_range(data_call *c, stream *s, sid start, sid end, size_t count, int rev)
{
    sidx *x = &s->entries;
    size_t n = 0;
    if (sid_cmp(start, end) > 0) {
        c->ops->array(c->rctx, 0);
        return 0;
    }
    /* count first: the reply's length leads */
    spos p = rev ? sidx_le(x, end) : sidx_ge(x, start);
    spos q = p;
    while (spos_valid(x, q) && (!count || n < count)) {
        sid k = spos_key(x, q);
        if (rev ? sid_cmp(k, start) < 0 : sid_cmp(k, end) > 0) break;
        n++;
        if (rev)
            sidx_prev(x, &q);
        else
            sidx_next(x, &q);
    }
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++) {
        reply_entry(c, spos_key(x, p), spos_val(x, p));
        if (rev)
            sidx_prev(x, &p);
        else
            sidx_next(x, &p);
    }
    return n;
}

static void xrange_generic(data_call *c, int rev)
{
    const data_arg *sa = &c->argv[rev ? 3 : 2], *ea = &c->argv[rev ? 2 : 3];
    sid start, end;
    int sx, ex;
    long long count = -1;
    if (sid_parse_interval_or_reply(c, sa, &start, &sx, 0) < 0) return;
    if (sx && sid_incr(&start) < 0) {
        reply_err(c, "ERR invalid start ID for the interval");
        return;
    }
    if (sid_parse_interval_or_reply(c, ea, &end, &ex, UINT64_MAX) < 0) return;
    if (ex && sid_decr(&end) < 0) {
        reply_err(c, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < c->argc; j++) {
        if (arg_eq(&c->argv[j], "count") && c->argc - j - 1 >= 1) {
            if (arg_ll_or_reply(c, &c->argv[++j], &count) < 0) return;
            if (count < 0) count = 0;
        } else {
            reply_syntax(c);
            return;
        }
    }
    int wrong;
    stream *s = stream_read_or_reply(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!s) {
        c->ops->array(c->rctx, 0);
        return;
    }
    if (count == 0) {
        c->ops->null_array(c->rctx);
        return;
    }
    reply_range(c, s, start, end, count < 0 ? 0 : (size_t)count, rev);
}

void cmd_xrange(data_call *c)
{
    xrange_generic(c, 0);
}

void cmd_xrevrange(data_call *c)
{
    xrange_generic(c, 1);
}

void cmd_xlen(data_call *c)
{
    int wrong;
    stream *s = stream_read_or_reply(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_int(c, s ? (long long)s->entries.count : 0);
}

/* ---- XDEL / XTRIM ---- */

void cmd_xdel(data_call *c)
{
    int wrong;
    stream *s = stream_write(c, &c->argv[1], 0, &wrong);
    if (!s) {
        if (!wrong) reply_int(c, 0);
        return;
    }
    int n = c->argc - 2;
    sid *ids = dmem_alloc(NULL, (size_t)n * sizeof(sid));
    for (int j = 0; j < n; j++) {
        if (sid_parse_or_reply(c, &c->argv[2 + j], &ids[j], 0, 1) < 0) {
            dmem_free(NULL, ids);
            return;
        }
    }
    long long deleted = 0;
    for (int j = 0; j < n; j++) {
        sentry *se = sidx_delete(&s->entries, ids[j]);
        if (!se) continue;
        dmem_free(s->mem, se);
        if (sid_cmp(ids[j], s->max_deleted) > 0) s->max_deleted = ids[j];
        deleted++;
    }
    dmem_free(NULL, ids);
    if (deleted) c->dirty = 1;
    reply_int(c, deleted);
}

void cmd_xtrim(data_call *c)
{
    xadd_args a;
    if (parse_add_trim(c, &a, 0) < 0) return;
    int wrong;
    stream *s = stream_write(c, &c->argv[1], 0, &wrong);
    if (!s) {
        if (!wrong) reply_int(c, 0);
        return;
    }
    long long n = stream_trim(s, &a);
    if (n) c->dirty = 1;
    reply_int(c, n);
}

/* ---- XSETID ---- */

void cmd_xsetid(data_call *c)
{
    sid id, maxdel = SID_MIN;
    long long added = -1;
    if (sid_parse_or_reply(c, &c->argv[2], &id, 0, 1) < 0) return;
    for (int i = 3; i < c->argc;) {
        int more = c->argc - 1 - i;
        if (arg_eq(&c->argv[i], "entriesadded") && more) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &added) < 0) return;
            if (added < 0) {
                reply_err(c, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (arg_eq(&c->argv[i], "maxdeletedid") && more) {
            if (sid_parse_or_reply(c, &c->argv[i + 1], &maxdel, 0, 1) < 0) return;
            if (sid_cmp(id, maxdel) < 0) {
                reply_err(c, "ERR The ID specified in XSETID is smaller than the provided "
                             "max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            reply_syntax(c);
            return;
        }
    }
    int wrong;
    stream *s = stream_write(c, &c->argv[1], 0, &wrong);
    if (!s) {
        if (!wrong) reply_err(c, "ERR no such key");
        return;
    }
    if (s->entries.count > 0) {
        if (sid_cmp(id, last_live_id(s)) < 0) {
            reply_err(c, "ERR The ID specified in XSETID is smaller than the target stream top "
                         "item");
            return;
        }
        if (added != -1 && s->entries.count > (uint64_t)added) {
            reply_err(c, "ERR The entries_added specified in XSETID is smaller than the target "
                         "stream length");
            return;
        }
    }
    s->last_id = id;
    s->last_by_setid = 1;
    if (added != -1) s->entries_added = (uint64_t)added;
    if (!sid_is_zero(maxdel)) s->max_deleted = maxdel;
    c->dirty = 1;
    reply_ok(c);
}

/* ---- snapshot codec ----
 * body: last_id (2 x u64) | max_deleted (2 x u64) | u64 entries_added | u64 nchunks |
 *   chunk: u32 added | last (2 x u64) | u32 n (1..added) | n x (id | u32 nfields (>= 1) |
 *          nfields x (u32 len | field | u32 len | value))
 *   | u32 ngroups | group: u32 len | name | last_id | i64 entries_read (>= -1) | u32 nconsumers
 *   | consumer: u32 len | name | i64 seen_ms | i64 active_ms | ... | u64 npending |
 *   nack: id | i64 delivery_ms | u64 delivery_count | u32 consumer index
 * Ids strictly ascend (entries across chunks, pending per group); names strictly ascend. */

typedef struct {
    stream_out_fn out;
    void *ctx;
} sout;

static void put_u(sout *o, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    o->out(o->ctx, b, (size_t)bytes);
}
static void put_sid(sout *o, sid id)
{
    put_u(o, id.ms, 8);
    put_u(o, id.seq, 8);
}
static void put_str(sout *o, const char *p, size_t n)
{
    put_u(o, n, 4);
    o->out(o->ctx, p, n);
}

static size_t consumer_index(const sgroup *g, const sconsumer *sc)
{
    for (size_t i = 0; i < g->ncons; i++)
        if (g->cons[i] == sc) return i;
    SYN_ASSERT(0 && "nack owner not in its group");
    return 0;
}

size_t stream_usage(dentry *e, long long samples)
{
    stream *s = stream_of(e);
    size_t bytes = sizeof(*s) + s->entries.cap * sizeof(schunk *);
    uint64_t seen = 0, seen_bytes = 0;
    for (size_t ci = 0; ci < s->entries.n && (samples <= 0 || (long long)ci < samples); ci++) {
        schunk *ch = sidx_chunk(&s->entries, ci);
        for (uint32_t i = 0; i < ch->n; i++) {
            const sentry *se = ch->val[i];
            seen++;
            seen_bytes += sizeof(*se) + se->bytes;
        }
    }
    /* the entries not sampled: as many bytes each as the sampled ones; chunks all counted */
    uint64_t len = s->entries.count;
    bytes += (size_t)(seen && seen < len ? (double)seen_bytes / (double)seen * (double)len
                                         : (double)seen_bytes);
    bytes += s->entries.n * sizeof(schunk);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const sgroup *g = s->groups[gi];
        bytes += sizeof(*g) + g->nlen + g->ncons * (sizeof(sconsumer *) + 64) +
                 g->pel.count * (sizeof(snack) + sizeof(sid) + sizeof(void *));
    }
    return bytes;
}

void stream_save(dentry *e, stream_out_fn out, void *ctx)
{
    stream *s = stream_of(e);
    sout o = {out, ctx};
    put_sid(&o, s->last_id);
    put_sid(&o, s->max_deleted);
    put_u(&o, s->entries_added, 8);
    put_u(&o, s->entries.n, 8);
    for (size_t ci = 0; ci < s->entries.n; ci++) {
        schunk *ch = sidx_chunk(&s->entries, ci);
        put_u(&o, ch->added, 4);
        put_sid(&o, ch->last);
        put_u(&o, ch->n, 4);
        for (uint32_t i = 0; i < ch->n; i++) {
            const sentry *se = ch->val[i];
            put_sid(&o, ch->key[i]);
            put_u(&o, se->nfields, 4);
            out(ctx, se->data, se->bytes); /* already u32 len | bytes pairs */
        }
    }
    put_u(&o, s->ngroups, 4);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        sgroup *g = s->groups[gi];
        put_str(&o, g->name, g->nlen);
        put_sid(&o, g->last_id);
        put_u(&o, (uint64_t)g->entries_read, 8);
        put_u(&o, g->ncons, 4);
        for (size_t i = 0; i < g->ncons; i++) {
            sconsumer *sc = g->cons[i];
            put_str(&o, sc->name, sc->nlen);
            put_u(&o, (uint64_t)sc->seen_ms, 8);
            put_u(&o, (uint64_t)sc->active_ms, 8);
        }
        put_u(&o, g->pel.count, 8);
        /* consumer indexes: owners looked up through a sorted walk would be faster; groups
         * have few consumers in practice, and the lookup is linear only per pending entry */
        for (spos p = sidx_first(&g->pel); spos_valid(&g->pel, p); sidx_next(&g->pel, &p)) {
            const snack *nk = spos_val(&g->pel, p);
            put_sid(&o, spos_key(&g->pel, p));
            put_u(&o, (uint64_t)nk->delivery_ms, 8);
            put_u(&o, nk->delivery_count, 8);
            put_u(&o, consumer_index(g, nk->owner), 4);
        }
    }
}

typedef struct {
    const unsigned char *p;
    size_t left;
} sin;

static int get_u(sin *in, int bytes, uint64_t *v)
{
    if (in->left < (size_t)bytes) return -1;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)in->p[i] << (8 * i);
    in->p += bytes;
    in->left -= (size_t)bytes;
    return 0;
}
static int get_sid(sin *in, sid *id)
{
    return get_u(in, 8, &id->ms) < 0 || get_u(in, 8, &id->seq) < 0 ? -1 : 0;
}
static int get_str(sin *in, const char **s, size_t *n)
{
    uint64_t len;
    if (get_u(in, 4, &len) < 0 || len > DATA_STRING_MAX_BYTES || len > in->left) return -1;
    *s = (const char *)in->p;
    *n = (size_t)len;
    in->p += len;
    in->left -= (size_t)len;
    return 0;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* One chunk of entries; 0 ok. *prev is the last id seen so far (ids strictly ascend). */
static int load_chunk(sin *in, stream *s, sid *prev, int *any)
{
    uint64_t added, n, nf;
    sid last;
    if (get_u(in, 4, &added) < 0 || get_sid(in, &last) < 0 || get_u(in, 4, &n) < 0) return -1;
    if (n == 0 || n > added || added > STREAM_NODE_MAX_ENTRIES || n > in->left / 24) return -1;
    schunk *ch = dmem_alloc(s->mem, sizeof(*ch));
    ch->n = 0;
    ch->added = (uint32_t)added;
    ch->last = last;
    for (uint64_t i = 0; i < n; i++) {
        sid id;
        if (get_sid(in, &id) < 0 || get_u(in, 4, &nf) < 0 || nf == 0 || nf > in->left / 8) goto bad;
        if (*any && sid_cmp(id, *prev) <= 0) goto bad;
        const unsigned char *start = in->p;
        for (uint64_t f = 0; f < 2 * nf; f++) {
            const char *x;
            size_t xl;
            if (get_str(in, &x, &xl) < 0) goto bad;
        }
        size_t bytes = (size_t)(in->p - start);
        if (bytes > UINT32_MAX) goto bad;
        sentry *se = dmem_alloc(s->mem, sizeof(*se) + bytes);
        se->nfields = (uint32_t)nf;
        se->bytes = (uint32_t)bytes;
        memcpy(se->data, start, bytes);
        ch->key[ch->n] = id;
        ch->val[ch->n] = se;
        ch->n++;
        *prev = id;
        *any = 1;
    }
    if (sid_cmp(last, *prev) < 0) goto bad;
    sidx_push_chunk(&s->entries, ch);
    return 0;
bad:
    for (uint32_t i = 0; i < ch->n; i++)
        dmem_free(s->mem, ch->val[i]);
    dmem_free(s->mem, ch);
    return -1;
}

sconsumer *consumer_alloc(size_t *mem, const char *name, size_t nlen)
{
    sconsumer *sc = dmem_alloc(mem, sizeof(*sc) + nlen);
    sc->seen_ms = 0;
    sc->active_ms = -1;
    sidx_init(&sc->pel, mem);
    sc->nlen = (uint32_t)nlen;
    if (nlen) memcpy(sc->name, name, nlen);
    return sc;
}

static int load_group(sin *in, stream *s)
{
    const char *name;
    size_t nlen;
    uint64_t er, ncons, npel, v;
    sid last;
    if (get_str(in, &name, &nlen) < 0 || get_sid(in, &last) < 0 || get_u(in, 8, &er) < 0 ||
        (int64_t)er < -1 || get_u(in, 4, &ncons) < 0 || ncons > in->left / 20)
        return -1;
    if (s->ngroups &&
        name_cmp(s->groups[s->ngroups - 1]->name, s->groups[s->ngroups - 1]->nlen, name, nlen) >= 0)
        return -1;
    sgroup *g = dmem_alloc(s->mem, sizeof(*g) + nlen);
    memset(g, 0, sizeof(*g));
    g->last_id = last;
    g->entries_read = (int64_t)er;
    sidx_init(&g->pel, s->mem);
    g->nlen = (uint32_t)nlen;
    if (nlen) memcpy(g->name, name, nlen);
    /* linked at once, so a failure below frees it with the stream */
    if (s->ngroups == s->gcap) {
        s->gcap = s->gcap ? 2 * s->gcap : 4;
        s->groups = dmem_realloc(s->mem, s->groups, s->gcap * sizeof(*s->groups));
    }
    s->groups[s->ngroups++] = g;
    if (ncons) g->cons = dmem_alloc(s->mem, ncons * sizeof(*g->cons));
    g->ccap = ncons;
    for (uint64_t i = 0; i < ncons; i++) {
        const char *cn;
        size_t cl;
        uint64_t seen, active;
        if (get_str(in, &cn, &cl) < 0 || get_u(in, 8, &seen) < 0 || get_u(in, 8, &active) < 0)
            return -1;
        if (i && name_cmp(g->cons[i - 1]->name, g->cons[i - 1]->nlen, cn, cl) >= 0) return -1;
        sconsumer *sc = consumer_alloc(s->mem, cn, cl);
        sc->seen_ms = (int64_t)seen;
        sc->active_ms = (int64_t)active;
        g->cons[g->ncons++] = sc;
    }
    if (get_u(in, 8, &npel) < 0 || npel > in->left / 36) return -1;
    sid prev = SID_MIN;
    for (uint64_t i = 0; i < npel; i++) {
        sid id;
        uint64_t dms, cnt;
        if (get_sid(in, &id) < 0 || get_u(in, 8, &dms) < 0 || get_u(in, 8, &cnt) < 0 ||
            get_u(in, 4, &v) < 0 || v >= g->ncons || (i && sid_cmp(id, prev) <= 0))
            return -1;
        prev = id;
        snack *nk = dmem_alloc(s->mem, sizeof(*nk));
        nk->delivery_ms = (int64_t)dms;
        nk->delivery_count = cnt;
        nk->owner = g->cons[v];
        sidx_insert(&g->pel, id, nk);
        sidx_insert(&nk->owner->pel, id, nk);
    }
    return 0;
}

dentry *stream_load(size_t *mem, const char *key, size_t klen, int64_t expire_ms,
                    const unsigned char **p, size_t *left)
{
    sin in = {*p, *left};
    dentry *e = stream_new_entry(mem, key, klen, expire_ms);
    stream *s = stream_of(e);
    uint64_t nchunks, ngroups;
    if (get_sid(&in, &s->last_id) < 0 || get_sid(&in, &s->max_deleted) < 0 ||
        get_u(&in, 8, &s->entries_added) < 0 || get_u(&in, 8, &nchunks) < 0 ||
        nchunks > in.left / 48)
        goto bad;
    sid prev = SID_MIN;
    int any = 0;
    for (uint64_t i = 0; i < nchunks; i++)
        if (load_chunk(&in, s, &prev, &any) < 0) goto bad;
    /* every entry is at or below the last id, and was counted when added */
    if (any && sid_cmp(sidx_chunk(&s->entries, s->entries.n - 1)->last, s->last_id) > 0) goto bad;
    if (s->entries_added < s->entries.count) goto bad;
    if (get_u(&in, 4, &ngroups) < 0 || ngroups > in.left / 40) goto bad;
    for (uint64_t i = 0; i < ngroups; i++)
        if (load_group(&in, s) < 0) goto bad;
    *p = in.p;
    *left = in.left;
    return e;
bad:
    dentry_free(mem, e);
    return NULL;
}

/* ---- COPY ---- */

dentry *stream_copy(size_t *mem, dentry *src, const char *key, size_t klen)
{
    stream *from = stream_of(src);
    dentry *e = stream_new_entry(mem, key, klen, dentry_expire(src));
    stream *s = stream_of(e);
    s->last_id = from->last_id;
    s->max_deleted = from->max_deleted;
    s->entries_added = from->entries_added;
    for (size_t ci = 0; ci < from->entries.n; ci++) {
        const schunk *fc = sidx_chunk(&from->entries, ci);
        schunk *ch = dmem_alloc(mem, sizeof(*ch));
        *ch = *fc;
        for (uint32_t i = 0; i < ch->n; i++) {
            const sentry *se = fc->val[i];
            sentry *ne = dmem_alloc(mem, sizeof(*ne) + se->bytes);
            memcpy(ne, se, sizeof(*ne) + se->bytes);
            ch->val[i] = ne;
        }
        sidx_push_chunk(&s->entries, ch);
    }
    if (from->ngroups) {
        s->groups = dmem_alloc(mem, from->ngroups * sizeof(*s->groups));
        s->gcap = from->ngroups;
    }
    for (size_t gi = 0; gi < from->ngroups; gi++) {
        const sgroup *fg = from->groups[gi];
        sgroup *g = dmem_alloc(mem, sizeof(*g) + fg->nlen);
        memset(g, 0, sizeof(*g));
        g->last_id = fg->last_id;
        g->entries_read = fg->entries_read;
        sidx_init(&g->pel, mem);
        g->nlen = fg->nlen;
        memcpy(g->name, fg->name, fg->nlen);
        if (fg->ncons) g->cons = dmem_alloc(mem, fg->ncons * sizeof(*g->cons));
        g->ccap = fg->ncons;
        for (size_t i = 0; i < fg->ncons; i++) {
            sconsumer *sc = consumer_alloc(mem, fg->cons[i]->name, fg->cons[i]->nlen);
            sc->seen_ms = fg->cons[i]->seen_ms;
            sc->active_ms = fg->cons[i]->active_ms;
            g->cons[g->ncons++] = sc;
        }
        for (spos p = sidx_first(&fg->pel); spos_valid(&fg->pel, p); sidx_next(&fg->pel, &p)) {
            const snack *fn = spos_val(&fg->pel, p);
            snack *nk = dmem_alloc(mem, sizeof(*nk));
            *nk = *fn;
            nk->owner = g->cons[consumer_index(fg, fn->owner)];
            sidx_append(&g->pel, spos_key(&fg->pel, p), nk, SIDX_CHUNK);
            sidx_append(&nk->owner->pel, spos_key(&fg->pel, p), nk, SIDX_CHUNK);
        }
        s->groups[s->ngroups++] = g;
    }
    return e;
}
