/* list.c — list values and the list commands, with Redis 7.0's arguments, replies and errors.
 *
 * A list is always a quicklist (quicklist.c), reported by OBJECT ENCODING as "quicklist" as in
 * Redis 7.0 (the listpack encoding of small lists arrived in Redis 7.2). A list key never
 * holds an empty list: every command that removes elements deletes the key when the last one
 * goes. Every command here is deterministic, so the plain command is its own log entry.
 * The blocking pops (BLPOP ...) run here as their non-blocking form; blocking the client is the
 * driver's (data_exec_block, src/node/node_block.c). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "data/data_internal.h"
#include "data/quicklist.h"
#include "data/zset_internal.h"
#include "util/assert.h"

enum { HEAD = 0, TAIL = 1 };

static qlist *lq(dentry *e)
{
    return dentry_ptr(e);
}

void list_free(size_t *mem, dentry *e)
{
    (void)mem; /* the qlist carries its counter */
    ql_free(lq(e));
}

uint64_t list_len(dentry *e)
{
    return ql_len(lq(e));
}

dentry *list_new_entry(size_t *mem, int fill, const char *key, size_t klen, int64_t expire_ms)
{
    dentry *e = dentry_new(mem, DT_LIST, key, klen, NULL, 0, sizeof(void *), expire_ms);
    dentry_set_ptr(e, ql_create(mem, fill));
    return e;
}

void list_push_tail(dentry *e, const char *p, size_t n)
{
    ql_push(lq(e), TAIL, p, n);
}

void list_each(dentry *e, list_each_cb cb, void *ctx)
{
    ql_iter it;
    if (!ql_at(lq(e), 0, &it)) return;
    do {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        cb(ctx, p, n);
    } while (ql_next(&it));
}

void list_set_mem(dentry *e, size_t *mem)
{
    ql_set_mem(lq(e), mem);
}

void data_set_list_max_listpack_size(data_store *ds, long long fill)
{
    if (fill < QL_FILL_MIN) fill = QL_FILL_MIN;
    if (fill > QL_FILL_MAX) fill = QL_FILL_MAX;
    ds->list_fill = (int)fill;
}

int data_list_ready(const data_store *ds, const char *key, size_t len, int64_t now_ms)
{
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos) || ks_is_expired(*pos.slot, now_ms)) return 0;
    return (*pos.slot)->type == DT_LIST ? 1 : -1;
}

/* ---- lookups ---- */

/* The live list at key for reading: NULL if absent; sets *wrong (after replying) on another
 * type. */
static dentry *list_read(data_call *c, const data_arg *key, int *wrong)
{
    dentry *e = ks_read(c, key);
    *wrong = e && e->type != DT_LIST;
    if (*wrong) reply_wrongtype(c);
    return *wrong ? NULL : e;
}

/* The live list at key for writing: 1 found (*e set), 0 absent, -1 another type (replied). */
static int list_lookup_write(data_call *c, const data_arg *key, dentry **e)
{
    dpos pos;
    if (!ks_write(c, key, &pos)) return 0;
    *e = *pos.slot;
    if ((*e)->type != DT_LIST) {
        reply_wrongtype(c);
        return -1;
    }
    return 1;
}

static dentry *list_create(data_call *c, const data_arg *key)
{
    dentry *e = list_new_entry(&c->ds->mem, c->ds->list_fill, key->ptr, key->len, -1);
    ks_insert(c, e);
    return e;
}

/* Deletes key if its list has become empty (looked up again: positions go stale on inserts). */
static void drop_if_empty(data_call *c, const data_arg *key)
{
    dpos pos;
    if (!dict_find(&c->ds->keys, key->ptr, key->len, &pos)) return;
    if ((*pos.slot)->type == DT_LIST && list_len(*pos.slot) == 0) ks_delete(c, pos);
}

static int arg_is(const data_arg *a, const char *p, size_t n)
{
    return a->len == n && memcmp(a->ptr, p, n) == 0;
}

/* LEFT/RIGHT, or a syntax error reply (-1). */
static int where_or_reply(data_call *c, const data_arg *a)
{
    if (arg_eq(a, "right")) return TAIL;
    if (arg_eq(a, "left")) return HEAD;
    reply_syntax(c);
    return -1;
}

/* Redis getPositiveLongFromObjectOrReply / getRangeLongFromObjectOrReply: one message (by
 * default Redis's "must be positive") for both a non-integer and a value below min. */
static int range_ll_or_reply(data_call *c, const data_arg *a, long long min, long long *out,
                             const char *msg)
{
    if (!syn_string2ll(a->ptr, a->len, out) || *out < min) {
        reply_err(c, msg ? msg : "ERR value is out of range, must be positive");
        return -1;
    }
    return 0;
}

/* ---- replies over ranges ---- */

/* Redis addListRangeReply: elements start..end (negative from the tail, clamped), reversed
 * when asked (a tail pop of several elements lists them last first). */
static void reply_range(data_call *c, qlist *q, long long start, long long end, int reverse)
{
    long long len = (long long)ql_len(q);
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        c->ops->array(c->rctx, 0);
        return;
    }
    if (end >= len) end = len - 1;
    long long n = end - start + 1;
    c->ops->array(c->rctx, (size_t)n);
    ql_iter it;
    int found = ql_at(q, reverse ? end : start, &it);
    SYN_ASSERT(found);
    for (long long i = 0; i < n; i++) {
        const char *p;
        size_t pl;
        ql_get(&it, &p, &pl);
        reply_bulk(c, p, pl);
        if (i + 1 < n) {
            int moved = reverse ? ql_prev(&it) : ql_next(&it);
            SYN_ASSERT(moved);
        }
    }
}

/* Pops min(count, len) elements from one end, replying with them as an array (in pop order).
 * The caller deletes the key if the list is now empty. */
static void pop_range_reply(data_call *c, qlist *q, int where, long long count)
{
    long long len = (long long)ql_len(q), n = count > len ? len : count;
    if (where == HEAD)
        reply_range(c, q, 0, n - 1, 0);
    else
        reply_range(c, q, -n, -1, 1);
    ql_del_range(q, where == HEAD ? 0 : (uint64_t)(len - n), (uint64_t)n);
    c->dirty = 1;
}

/* ---- commands ---- */

static void push_generic(data_call *c, int where, int xx)
{
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st < 0) return;
    if (st == 0) {
        if (xx) {
            reply_int(c, 0);
            return;
        }
        e = list_create(c, &c->argv[1]);
    }
    for (int i = 2; i < c->argc; i++)
        ql_push(lq(e), where, c->argv[i].ptr, c->argv[i].len);
    c->dirty = 1;
    reply_int(c, (long long)list_len(e));
}

void cmd_lpush(data_call *c)
{
    push_generic(c, HEAD, 0);
}

void cmd_rpush(data_call *c)
{
    push_generic(c, TAIL, 0);
}

void cmd_lpushx(data_call *c)
{
    push_generic(c, HEAD, 1);
}

void cmd_rpushx(data_call *c)
{
    push_generic(c, TAIL, 1);
}

void cmd_linsert(data_call *c)
{
    int after;
    if (arg_eq(&c->argv[2], "after"))
        after = 1;
    else if (arg_eq(&c->argv[2], "before"))
        after = 0;
    else {
        reply_syntax(c);
        return;
    }
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st <= 0) {
        if (st == 0) reply_int(c, 0);
        return;
    }
    ql_iter it;
    int more = ql_at(lq(e), 0, &it);
    for (; more; more = ql_next(&it)) {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        if (arg_is(&c->argv[3], p, n)) break;
    }
    if (!more) {
        reply_int(c, -1);
        return;
    }
    ql_insert(lq(e), &it, after, c->argv[4].ptr, c->argv[4].len);
    c->dirty = 1;
    reply_int(c, (long long)list_len(e));
}

void cmd_llen(data_call *c)
{
    int wrong;
    dentry *e = list_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_int(c, e ? (long long)list_len(e) : 0);
}

void cmd_lindex(data_call *c)
{
    int wrong;
    dentry *e = list_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        reply_null(c);
        return;
    }
    long long index;
    if (arg_ll_or_reply(c, &c->argv[2], &index) < 0) return;
    ql_iter it;
    if (!ql_at(lq(e), index, &it)) {
        reply_null(c);
        return;
    }
    const char *p;
    size_t n;
    ql_get(&it, &p, &n);
    reply_bulk(c, p, n);
}

void cmd_lset(data_call *c)
{
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st <= 0) {
        if (st == 0) reply_err(c, "ERR no such key");
        return;
    }
    long long index;
    if (arg_ll_or_reply(c, &c->argv[2], &index) < 0) return;
    ql_iter it;
    if (!ql_at(lq(e), index, &it)) {
        reply_err(c, "ERR index out of range");
        return;
    }
    ql_replace(lq(e), &it, c->argv[3].ptr, c->argv[3].len);
    c->dirty = 1;
    reply_ok(c);
}

/* Pops one element from e's end, replying it as a bulk. */
static void pop_one_reply(data_call *c, dentry *e, int where)
{
    ql_iter it;
    int found = ql_at(lq(e), where == HEAD ? 0 : -1, &it);
    SYN_ASSERT(found);
    const char *p;
    size_t n;
    ql_get(&it, &p, &n);
    reply_bulk(c, p, n); /* the reply copies it before the delete below */
    (void)ql_delete(lq(e), &it, 1);
    c->dirty = 1;
}

static void pop_generic(data_call *c, int where)
{
    if (c->argc > 3) {
        reply_arity(c);
        return;
    }
    int has_count = c->argc == 3;
    long long count = 0;
    if (has_count && range_ll_or_reply(c, &c->argv[2], 0, &count, NULL) < 0) return;
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st <= 0) {
        if (st == 0 && has_count) c->ops->null_array(c->rctx);
        if (st == 0 && !has_count) reply_null(c);
        return;
    }
    if (has_count && count == 0) {
        c->ops->array(c->rctx, 0);
        return;
    }
    if (has_count)
        pop_range_reply(c, lq(e), where, count);
    else
        pop_one_reply(c, e, where);
    drop_if_empty(c, &c->argv[1]);
}

void cmd_lpop(data_call *c)
{
    pop_generic(c, HEAD);
}

void cmd_rpop(data_call *c)
{
    pop_generic(c, TAIL);
}

void cmd_lrange(data_call *c)
{
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start) < 0 || arg_ll_or_reply(c, &c->argv[3], &end) < 0)
        return;
    int wrong;
    dentry *e = list_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        c->ops->array(c->rctx, 0);
        return;
    }
    reply_range(c, lq(e), start, end, 0);
}

void cmd_ltrim(data_call *c)
{
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start) < 0 || arg_ll_or_reply(c, &c->argv[3], &end) < 0)
        return;
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st <= 0) {
        if (st == 0) reply_ok(c);
        return;
    }
    long long len = (long long)list_len(e), ltrim, rtrim;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        ltrim = len;
        rtrim = 0;
    } else {
        if (end >= len) end = len - 1;
        ltrim = start;
        rtrim = len - end - 1;
    }
    ql_del_range(lq(e), 0, (uint64_t)ltrim);
    ql_del_range(lq(e), list_len(e) - (uint64_t)rtrim, (uint64_t)rtrim);
    if (ltrim || rtrim) c->dirty = 1;
    drop_if_empty(c, &c->argv[1]);
    reply_ok(c);
}

void cmd_lpos(data_call *c)
{
    long long rank = 1, count = -1, maxlen = 0; /* count -1: no COUNT option */
    for (int j = 3; j < c->argc; j++) {
        const data_arg *o = &c->argv[j];
        int more = c->argc - 1 - j;
        if (arg_eq(o, "rank") && more) {
            if (arg_ll_or_reply(c, &c->argv[++j], &rank) < 0) return;
            if (rank == 0) {
                reply_err(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from "
                             "the second ... or use negative to start from the end of the list");
                return;
            }
        } else if (arg_eq(o, "count") && more) {
            if (range_ll_or_reply(c, &c->argv[++j], 0, &count, "ERR COUNT can't be negative") < 0)
                return;
        } else if (arg_eq(o, "maxlen") && more) {
            if (range_ll_or_reply(c, &c->argv[++j], 0, &maxlen, "ERR MAXLEN can't be negative") < 0)
                return;
        } else {
            reply_syntax(c);
            return;
        }
    }
    int forward = 1, count_bounded = 1;
    if (rank == LLONG_MIN) {
        /* Redis negates it into itself (two's complement): every match then ranks high enough
         * and matches - rank + 1 wraps negative, so COUNT never stops the walk */
        rank = 1;
        forward = 0;
        count_bounded = 0;
    } else if (rank < 0) {
        rank = -rank;
        forward = 0;
    }
    int wrong;
    dentry *e = list_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        if (count != -1)
            c->ops->array(c->rctx, 0);
        else
            reply_null(c);
        return;
    }
    qlist *q = lq(e);
    long long len = (long long)ql_len(q), index = 0, matches = 0, found = -1;
    long long *hits = NULL;
    size_t nhits = 0, cap = 0;
    ql_iter it;
    int more = ql_at(q, forward ? 0 : -1, &it);
    for (; more && (maxlen == 0 || index < maxlen); index++) {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        if (arg_is(&c->argv[2], p, n) && ++matches >= rank) {
            found = forward ? index : len - index - 1;
            if (count == -1) break;
            if (nhits == cap) {
                cap = cap ? cap * 2 : 16;
                hits = dmem_realloc(NULL, hits, cap * sizeof *hits);
            }
            hits[nhits++] = found;
            if (count && count_bounded && matches - rank + 1 >= count) break;
        }
        more = forward ? ql_next(&it) : ql_prev(&it);
    }
    if (count != -1) {
        c->ops->array(c->rctx, nhits);
        for (size_t i = 0; i < nhits; i++)
            reply_int(c, hits[i]);
        dmem_free(NULL, hits);
    } else if (found >= 0) {
        reply_int(c, found);
    } else {
        reply_null(c);
    }
}

void cmd_lrem(data_call *c)
{
    long long toremove, removed = 0;
    if (arg_ll_or_reply(c, &c->argv[2], &toremove) < 0) return;
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st <= 0) {
        if (st == 0) reply_int(c, 0);
        return;
    }
    int forward = toremove >= 0;
    /* |LLONG_MIN| is no list's length: removing "all but never more than that" is all */
    unsigned long long limit = toremove == LLONG_MIN ? 0 : (unsigned long long)llabs(toremove);
    ql_iter it;
    int more = ql_at(lq(e), forward ? 0 : -1, &it);
    while (more) {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        if (arg_is(&c->argv[3], p, n)) {
            more = ql_delete(lq(e), &it, forward);
            removed++;
            if (limit && (unsigned long long)removed == limit) break;
        } else {
            more = forward ? ql_next(&it) : ql_prev(&it);
        }
    }
    if (removed) c->dirty = 1;
    drop_if_empty(c, &c->argv[1]);
    reply_int(c, removed);
}

static void lmove_generic(data_call *c, int from, int to)
{
    const data_arg *src = &c->argv[1], *dst = &c->argv[2];
    dentry *se, *de = NULL;
    int st = list_lookup_write(c, src, &se);
    if (st <= 0) {
        if (st == 0) reply_null(c);
        return;
    }
    if (list_lookup_write(c, dst, &de) < 0) return;
    /* copy the element out: with src == dst the push below may move its bytes */
    ql_iter it;
    int found = ql_at(lq(se), from == HEAD ? 0 : -1, &it);
    SYN_ASSERT(found);
    const char *p;
    size_t n;
    ql_get(&it, &p, &n);
    char *v = dmem_alloc(NULL, n ? n : 1);
    memcpy(v, p, n);
    (void)ql_delete(lq(se), &it, 1);
    if (!de) de = list_create(c, dst);
    ql_push(lq(de), to, v, n);
    c->dirty = 1;
    reply_bulk(c, v, n);
    dmem_free(NULL, v);
    drop_if_empty(c, src);
}

void cmd_lmove(data_call *c)
{
    int from = where_or_reply(c, &c->argv[3]);
    if (from < 0) return;
    int to = where_or_reply(c, &c->argv[4]);
    if (to < 0) return;
    lmove_generic(c, from, to);
}

void cmd_rpoplpush(data_call *c)
{
    lmove_generic(c, TAIL, HEAD);
}

/* LMPOP (numkeys at argv[1]) and BLMPOP (timeout at argv[1], numkeys at argv[2]). */
static void lmpop_generic(data_call *c, int nk)
{
    long long numkeys, count = -1;
    if (range_ll_or_reply(c, &c->argv[nk], 1, &numkeys, "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys >= c->argc - nk - 1) { /* the keys and LEFT|RIGHT must all be there */
        reply_syntax(c);
        return;
    }
    int where_idx = (int)numkeys + nk + 1;
    int where = where_or_reply(c, &c->argv[where_idx]);
    if (where < 0) return;
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_eq(&c->argv[j], "count") && j + 1 < c->argc) {
            if (range_ll_or_reply(c, &c->argv[++j], 1, &count,
                                  "ERR count should be greater than 0") < 0)
                return;
        } else {
            reply_syntax(c);
            return;
        }
    }
    if (count == -1) count = 1;
    int64_t timeout = 0;
    if (nk == 2 && block_timeout_or_reply(c, &c->argv[1], &timeout) < 0) return;
    for (int k = nk + 1; k < where_idx; k++) {
        dentry *e;
        int st = list_lookup_write(c, &c->argv[k], &e);
        if (st < 0) return;
        if (st == 0) continue;
        c->ops->array(c->rctx, 2);
        reply_bulk(c, c->argv[k].ptr, c->argv[k].len);
        pop_range_reply(c, lq(e), where, count);
        drop_if_empty(c, &c->argv[k]);
        return;
    }
    if (nk == 2)
        block_or_timeout(c, timeout, nk + 1, (int)numkeys, DATA_BLOCK_LIST, 0);
    else
        c->ops->null_array(c->rctx);
}

void cmd_lmpop(data_call *c)
{
    lmpop_generic(c, 1);
}

void cmd_blmpop(data_call *c)
{
    lmpop_generic(c, 2);
}

/* ---- blocking pops: run here without blocking (see data_exec_block) ---- */

int block_timeout_or_reply(data_call *c, const data_arg *a, int64_t *ms)
{
    long double v;
    if (!parse_ld(a->ptr, a->len, &v) || isnan(v)) {
        reply_err(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    /* as Redis 7.0: milliseconds rounded up (0.001 s waits 1 ms, not for ever); beyond the
     * long long range the x86 conversion gives LLONG_MIN, so a huge timeout reads as negative */
    v = ceill(v * 1000.0L);
    long long t =
        v >= 9223372036854775808.0L || v < -9223372036854775808.0L ? LLONG_MIN : (long long)v;
    if (t < 0) {
        reply_err(c, "ERR timeout is negative");
        return -1;
    }
    if (t > 0 && t > LLONG_MAX - c->now_ms) { /* Redis adds the time now to it */
        reply_err(c, "ERR timeout is out of range");
        return -1;
    }
    *ms = t;
    return 0;
}

void block_or_timeout(data_call *c, int64_t timeout_ms, int first_key, int n_keys, int type,
                      int null_bulk)
{
    if (c->block) {
        *c->block = (data_block){1, first_key, n_keys, type, timeout_ms};
        return;
    }
    if (null_bulk)
        reply_null(c);
    else
        c->ops->null_array(c->rctx);
}

/* Redis 7.0 answers every timed-out list or sorted-set pop, BLMOVE and BRPOPLPUSH included,
 * with a null array (a run that may not block, in MULTI or on a replica, with a null bulk for
 * those two: block_or_timeout). */
void data_reply_timeout(const data_block *blk, const data_reply_ops *ops, void *ctx)
{
    (void)blk;
    ops->null_array(ctx);
}

uint64_t data_block_available(const data_store *ds, int type, const char *key, size_t len,
                              int64_t now_ms)
{
    if (type == DATA_BLOCK_LOCK || type == DATA_BLOCK_ELECTION)
        return coord_block_available(ds, type, key, len);
    dpos pos;
    if (!dict_find(&ds->keys, key, len, &pos) || ks_is_expired(*pos.slot, now_ms)) return 0;
    const dentry *e = *pos.slot;
    if (type == DATA_BLOCK_LIST && e->type == DT_LIST) return list_len((dentry *)e);
    if (type == DATA_BLOCK_ZSET && e->type == DT_ZSET) return zset_len((dentry *)e);
    return 0;
}

/* BLPOP / BRPOP key [key ...] timeout */
static void bpop_generic(data_call *c, int where)
{
    int64_t timeout;
    if (block_timeout_or_reply(c, &c->argv[c->argc - 1], &timeout) < 0) return;
    for (int k = 1; k < c->argc - 1; k++) {
        dentry *e;
        int st = list_lookup_write(c, &c->argv[k], &e);
        if (st < 0) return;
        if (st == 0) continue;
        c->ops->array(c->rctx, 2);
        reply_bulk(c, c->argv[k].ptr, c->argv[k].len);
        pop_one_reply(c, e, where);
        drop_if_empty(c, &c->argv[k]);
        return;
    }
    block_or_timeout(c, timeout, 1, c->argc - 2, DATA_BLOCK_LIST, 0);
}

void cmd_blpop(data_call *c)
{
    bpop_generic(c, HEAD);
}

void cmd_brpop(data_call *c)
{
    bpop_generic(c, TAIL);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout / BRPOPLPUSH source destination
 * timeout */
static void bmove_generic(data_call *c, int from, int to, const data_arg *timeout_arg)
{
    int64_t timeout;
    if (block_timeout_or_reply(c, timeout_arg, &timeout) < 0) return;
    dentry *e;
    int st = list_lookup_write(c, &c->argv[1], &e);
    if (st < 0) return;
    if (st == 0) {
        block_or_timeout(c, timeout, 1, 1, DATA_BLOCK_LIST, 1);
        return;
    }
    lmove_generic(c, from, to);
}

void cmd_blmove(data_call *c)
{
    int from = where_or_reply(c, &c->argv[3]);
    if (from < 0) return;
    int to = where_or_reply(c, &c->argv[4]);
    if (to < 0) return;
    bmove_generic(c, from, to, &c->argv[5]);
}

void cmd_brpoplpush(data_call *c)
{
    bmove_generic(c, TAIL, HEAD, &c->argv[3]);
}
