/* cmd_string.c — string commands (GET, SET and friends, counters, ranges). */
#include <limits.h>
#include <math.h>

#include "data/data_internal.h"
#include "util/assert.h"

enum {
    SO_NX = 1 << 0,
    SO_XX = 1 << 1,
    SO_GET = 1 << 2,
    SO_KEEPTTL = 1 << 3,
    SO_PERSIST = 1 << 4,
    SO_EX = 1 << 5,
    SO_PX = 1 << 6,
    SO_EXAT = 1 << 7,
    SO_PXAT = 1 << 8,
};
#define SO_ANY_EXPIRE (SO_EX | SO_PX | SO_EXAT | SO_PXAT)

static int is_opt2(const data_arg *a, char x, char y)
{
    return a->len == 2 && (a->ptr[0] | 0x20) == x && (a->ptr[1] | 0x20) == y;
}

/* Redis parseExtendedStringArgumentsOrReply for SET (is_set) and GETEX (!is_set). */
static int parse_set_opts(data_call *c, int from, int is_set, int *flags, const data_arg **expire)
{
    *flags = 0;
    *expire = NULL;
    for (int j = from; j < c->argc; j++) {
        const data_arg *o = &c->argv[j];
        const data_arg *next = j == c->argc - 1 ? NULL : &c->argv[j + 1];
        int f = *flags;
        if (is_opt2(o, 'n', 'x') && !(f & SO_XX) && is_set) {
            *flags |= SO_NX;
        } else if (is_opt2(o, 'x', 'x') && !(f & SO_NX) && is_set) {
            *flags |= SO_XX;
        } else if (arg_eq(o, "get") && is_set) {
            *flags |= SO_GET;
        } else if (arg_eq(o, "keepttl") && !(f & (SO_PERSIST | SO_ANY_EXPIRE)) && is_set) {
            *flags |= SO_KEEPTTL;
        } else if (arg_eq(o, "persist") && !is_set && !(f & (SO_ANY_EXPIRE | SO_KEEPTTL))) {
            *flags |= SO_PERSIST;
        } else if (is_opt2(o, 'e', 'x') &&
                   !(f & (SO_KEEPTTL | SO_PERSIST | SO_EXAT | SO_PX | SO_PXAT)) && next) {
            *flags |= SO_EX;
            *expire = next;
            j++;
        } else if (is_opt2(o, 'p', 'x') &&
                   !(f & (SO_KEEPTTL | SO_PERSIST | SO_EX | SO_EXAT | SO_PXAT)) && next) {
            *flags |= SO_PX;
            *expire = next;
            j++;
        } else if (arg_eq(o, "exat") &&
                   !(f & (SO_KEEPTTL | SO_PERSIST | SO_EX | SO_PX | SO_PXAT)) && next) {
            *flags |= SO_EXAT;
            *expire = next;
            j++;
        } else if (arg_eq(o, "pxat") &&
                   !(f & (SO_KEEPTTL | SO_PERSIST | SO_EX | SO_EXAT | SO_PX)) && next) {
            *flags |= SO_PXAT;
            *expire = next;
            j++;
        } else {
            reply_syntax(c);
            return -1;
        }
    }
    return 0;
}

static void reply_expire_time(data_call *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "ERR invalid expire time in '%s' command", c->name);
    c->ops->error(c->rctx, buf, (size_t)n);
}

/* Redis getExpireMillisecondsOrReply: a positive time; relative units are added to now. */
static int expire_ms_or_reply(data_call *c, const data_arg *a, int seconds, int relative,
                              int64_t *out)
{
    long long v;
    if (arg_ll_or_reply(c, a, &v) < 0) return -1;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        reply_expire_time(c);
        return -1;
    }
    if (seconds) v *= 1000;
    if (relative) {
        if (v > LLONG_MAX - c->now_ms) {
            reply_expire_time(c);
            return -1;
        }
        v += c->now_ms;
    }
    if (v <= 0) {
        reply_expire_time(c);
        return -1;
    }
    *out = v;
    return 0;
}

static int set_expire_or_reply(data_call *c, int flags, const data_arg *expire, int64_t *ms)
{
    *ms = -1;
    if (!expire) return 0;
    return expire_ms_or_reply(c, expire, (flags & (SO_EX | SO_EXAT)) != 0,
                              (flags & (SO_EX | SO_PX)) != 0, ms);
}

/* Replies with the string value (or nil); -1 after a WRONGTYPE reply. */
static int get_generic(data_call *c, const data_arg *key)
{
    dentry *e = ks_read(c, key);
    if (!e) {
        reply_null(c);
        return 0;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return -1;
    }
    reply_bulk(c, dentry_val(e), e->vlen);
    return 0;
}

void cmd_get(data_call *c)
{
    (void)get_generic(c, &c->argv[1]);
}

/* Redis setGenericCommand. nx_reply: reply 1/0 (SETNX) instead of OK/nil. */
static void set_generic(data_call *c, int flags, const data_arg *key, const data_arg *val,
                        int64_t expire_ms, int int_reply)
{
    if ((flags & SO_GET) && get_generic(c, key) < 0) return;
    dpos pos;
    int found = ks_write(c, key, &pos);
    if (((flags & SO_NX) && found) || ((flags & SO_XX) && !found)) {
        if (flags & SO_GET) return;
        if (int_reply)
            reply_int(c, 0);
        else
            reply_null(c);
        return;
    }
    ks_set_string_at(c, key, found, pos, val->ptr, val->len, expire_ms, (flags & SO_KEEPTTL) != 0);
    if (flags & SO_GET) return;
    if (int_reply)
        reply_int(c, 1);
    else
        reply_ok(c);
}

void cmd_set(data_call *c)
{
    int flags;
    const data_arg *expire;
    int64_t ms;
    if (parse_set_opts(c, 3, 1, &flags, &expire) < 0) return;
    if (set_expire_or_reply(c, flags, expire, &ms) < 0) return;
    set_generic(c, flags, &c->argv[1], &c->argv[2], ms, 0);
}

void cmd_setnx(data_call *c)
{
    set_generic(c, SO_NX, &c->argv[1], &c->argv[2], -1, 1);
}

static void setex_generic(data_call *c, int seconds)
{
    int64_t ms;
    if (expire_ms_or_reply(c, &c->argv[2], seconds, 1, &ms) < 0) return;
    set_generic(c, 0, &c->argv[1], &c->argv[3], ms, 0);
}

void cmd_setex(data_call *c)
{
    setex_generic(c, 1);
}

void cmd_psetex(data_call *c)
{
    setex_generic(c, 0);
}

void cmd_getset(data_call *c)
{
    set_generic(c, SO_GET, &c->argv[1], &c->argv[2], -1, 0);
}

void cmd_getdel(data_call *c)
{
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) {
        reply_null(c);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    reply_bulk(c, dentry_val(e), e->vlen);
    ks_delete(c, pos);
}

void cmd_getex(data_call *c)
{
    int flags;
    const data_arg *expire;
    int64_t ms;
    if (parse_set_opts(c, 2, 0, &flags, &expire) < 0) return;
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    if (set_expire_or_reply(c, flags, expire, &ms) < 0) return;
    reply_bulk(c, dentry_val(e), e->vlen);
    dpos pos;
    if (!ks_write(c, &c->argv[1], &pos)) return; /* cannot happen: read it just now */
    if ((flags & (SO_EXAT | SO_PXAT)) && ms <= c->now_ms)
        ks_delete(c, pos);
    else if (expire)
        (void)ks_set_expire(c, pos, ms);
    else if ((flags & SO_PERSIST) && ((*pos.slot)->flags & DE_EXPIRE))
        (void)ks_set_expire(c, pos, -1);
}

void cmd_mget(data_call *c)
{
    c->ops->array(c->rctx, (size_t)(c->argc - 1));
    for (int i = 1; i < c->argc; i++) {
        dentry *e = ks_read(c, &c->argv[i]);
        if (e && e->type == DT_STRING)
            reply_bulk(c, dentry_val(e), e->vlen);
        else
            reply_null(c);
    }
}

static void mset_generic(data_call *c, int nx)
{
    if (c->argc % 2 == 0) {
        reply_arity(c);
        return;
    }
    if (nx) {
        for (int i = 1; i < c->argc; i += 2) {
            dpos pos;
            if (ks_write(c, &c->argv[i], &pos)) {
                reply_int(c, 0);
                return;
            }
        }
    }
    for (int i = 1; i < c->argc; i += 2)
        ks_set_string(c, &c->argv[i], c->argv[i + 1].ptr, c->argv[i + 1].len, -1, 0);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

void cmd_mset(data_call *c)
{
    mset_generic(c, 0);
}

void cmd_msetnx(data_call *c)
{
    mset_generic(c, 1);
}

/* Stores a new string value for the key at pos (found) or inserts it, keeping any TTL; the
 * value's encoding flags become `enc` (a counter's new value is encoded afresh, as Redis). */
static void store_keep_ttl(data_call *c, int found, dpos pos, const char *v, size_t n, uint8_t enc)
{
    dentry *e;
    if (found) {
        e = ks_string_resize(c, pos, n, 0);
        memcpy(dentry_val(e), v, n);
        e->flags &= (uint8_t) ~(DE_RAW | DE_STR);
    } else {
        e = dentry_new(&c->ds->mem, DT_STRING, c->argv[1].ptr, c->argv[1].len, v, n, n, -1);
        ks_insert(c, e);
    }
    e->flags |= enc;
}

static void incr_generic(data_call *c, long long incr)
{
    dpos pos;
    int found = ks_write(c, &c->argv[1], &pos);
    long long v = 0;
    if (found) {
        dentry *e = *pos.slot;
        if (e->type != DT_STRING) {
            reply_wrongtype(c);
            return;
        }
        if (!syn_string2ll(dentry_val(e), e->vlen, &v)) {
            reply_not_int(c);
            return;
        }
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_err(c, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    char buf[24];
    size_t n = syn_ll2string(buf, v);
    store_keep_ttl(c, found, pos, buf, n, 0);
    reply_int(c, v);
}

void cmd_incr(data_call *c)
{
    incr_generic(c, 1);
}

void cmd_decr(data_call *c)
{
    incr_generic(c, -1);
}

void cmd_incrby(data_call *c)
{
    long long incr;
    if (arg_ll_or_reply(c, &c->argv[2], &incr) < 0) return;
    incr_generic(c, incr);
}

void cmd_decrby(data_call *c)
{
    long long incr;
    if (arg_ll_or_reply(c, &c->argv[2], &incr) < 0) return;
    if (incr == LLONG_MIN) {
        reply_err(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

void cmd_incrbyfloat(data_call *c)
{
    dpos pos;
    int found = ks_write(c, &c->argv[1], &pos);
    long double v = 0, incr;
    if (found) {
        dentry *e = *pos.slot;
        if (e->type != DT_STRING) {
            reply_wrongtype(c);
            return;
        }
        if (!parse_ld(dentry_val(e), e->vlen, &v)) {
            reply_err(c, "ERR value is not a valid float");
            return;
        }
    }
    if (!parse_ld(c->argv[2].ptr, c->argv[2].len, &incr)) {
        reply_err(c, "ERR value is not a valid float");
        return;
    }
    v += incr;
    if (isnan(v) || isinf(v)) {
        reply_err(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5 * 1024];
    size_t n = fmt_ld(buf, sizeof buf, v);
    if (n == 0) {
        reply_err(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    store_keep_ttl(c, found, pos, buf, n, DE_STR);
    reply_bulk(c, buf, n);
}

/* size and add are >= 0; compared without computing size + add, which may overflow (SETRANGE
 * with an offset near LLONG_MAX). */
static int check_len_or_reply(data_call *c, long long size, long long add)
{
    SYN_ASSERT(size >= 0 && add >= 0);
    if (size > c->ds->max_string_bytes || add > c->ds->max_string_bytes - size) {
        reply_err(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

void cmd_append(data_call *c)
{
    dpos pos;
    const data_arg *a = &c->argv[2];
    if (!ks_write(c, &c->argv[1], &pos)) {
        ks_insert(c, dentry_new(&c->ds->mem, DT_STRING, c->argv[1].ptr, c->argv[1].len, a->ptr,
                                a->len, a->len, -1));
        reply_int(c, (long long)a->len);
        return;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    if (check_len_or_reply(c, e->vlen, (long long)a->len) < 0) return;
    size_t old = e->vlen;
    e = ks_string_resize(c, pos, old + a->len, 1);
    e->flags |= DE_RAW;
    memcpy(dentry_val(e) + old, a->ptr, a->len);
    reply_int(c, (long long)e->vlen);
}

void cmd_strlen(data_call *c)
{
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    reply_int(c, e->vlen);
}

void cmd_getrange(data_call *c)
{
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[3], &end) < 0) return;
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_bulk(c, "", 0);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    long long len = e->vlen;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, dentry_val(e) + start, (size_t)(end - start + 1));
}

void cmd_setrange(data_call *c)
{
    long long off;
    const data_arg *a = &c->argv[3];
    if (arg_ll_or_reply(c, &c->argv[2], &off) < 0) return;
    if (off < 0) {
        reply_err(c, "ERR offset is out of range");
        return;
    }
    dpos pos;
    dentry *e;
    if (!ks_write(c, &c->argv[1], &pos)) {
        if (a->len == 0) {
            reply_int(c, 0);
            return;
        }
        if (check_len_or_reply(c, off, (long long)a->len) < 0) return;
        size_t n = (size_t)off + a->len;
        e = dentry_new(&c->ds->mem, DT_STRING, c->argv[1].ptr, c->argv[1].len, NULL, 0, n, -1);
        memset(dentry_val(e), 0, (size_t)off);
        memcpy(dentry_val(e) + off, a->ptr, a->len);
        e->vlen = (uint32_t)n;
        e->flags |= DE_RAW;
        ks_insert(c, e);
        reply_int(c, (long long)n);
        return;
    }
    e = *pos.slot;
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    if (a->len == 0) {
        reply_int(c, e->vlen);
        return;
    }
    if (check_len_or_reply(c, off, (long long)a->len) < 0) return;
    size_t old = e->vlen, need = (size_t)off + a->len;
    if (need > old) {
        e = ks_string_resize(c, pos, need, 1);
        if ((size_t)off > old) memset(dentry_val(e) + old, 0, (size_t)off - old);
    }
    memcpy(dentry_val(e) + off, a->ptr, a->len);
    e->flags |= DE_RAW;
    c->dirty = 1;
    reply_int(c, e->vlen);
}

/* ---- LCS ---- */

/* One common run found by the walk back through the table: [a0, a1] in the first string,
 * [b0, b1] in the second. */
typedef struct {
    uint32_t a0, a1, b0, b1;
    int open;
} lcs_run;

static void lcs_emit_run(data_call *c, const lcs_run *r, long long minlen, int withlen,
                         size_t *emitted, int emit)
{
    uint32_t len = r->a1 - r->a0 + 1;
    if (minlen > 0 && (long long)len < minlen) return;
    (*emitted)++;
    if (!emit) return;
    c->ops->array(c->rctx, 2 + (size_t)withlen);
    c->ops->array(c->rctx, 2);
    reply_int(c, r->a0);
    reply_int(c, r->a1);
    c->ops->array(c->rctx, 2);
    reply_int(c, r->b0);
    reply_int(c, r->b1);
    if (withlen) reply_int(c, len);
}

/* Walks the table back from (alen, blen) as Redis 7.0 does (on a tie it steps in the second
 * string), collecting the common string into out (if not NULL) and the runs of consecutive
 * matches, each reported when it ends (emit = 0: only counted). */
static size_t lcs_walk(data_call *c, const uint32_t *t, const char *a, uint32_t alen, const char *b,
                       uint32_t blen, char *out, long long minlen, int withlen, int emit)
{
    size_t emitted = 0;
    uint32_t i = alen, j = blen, k = t[(size_t)alen * (blen + 1) + blen];
    lcs_run r = {0, 0, 0, 0, 0};
    while (i > 0 && j > 0) {
        int end_run = 0;
        if (a[i - 1] == b[j - 1]) {
            if (out) out[k - 1] = a[i - 1];
            if (!r.open) {
                r = (lcs_run){i - 1, i - 1, j - 1, j - 1, 1};
            } else if (r.a0 == i && r.b0 == j) {
                r.a0--; /* the run grows backwards */
                r.b0--;
            } else {
                end_run = 1;
            }
            if (r.a0 == 0 || r.b0 == 0) end_run = 1;
            k--;
            i--;
            j--;
        } else {
            if (t[(size_t)(i - 1) * (blen + 1) + j] > t[(size_t)i * (blen + 1) + j - 1])
                i--;
            else
                j--;
            if (r.open) end_run = 1;
        }
        if (end_run) {
            lcs_emit_run(c, &r, minlen, withlen, &emitted, emit);
            r.open = 0;
        }
    }
    return emitted;
}

void cmd_lcs(data_call *c)
{
    dentry *ea = ks_read(c, &c->argv[1]), *eb = ks_read(c, &c->argv[2]);
    if ((ea && ea->type != DT_STRING) || (eb && eb->type != DT_STRING)) {
        reply_err(c, "ERR The specified keys must contain string values");
        return;
    }
    int getlen = 0, getidx = 0, withlen = 0;
    long long minlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const data_arg *o = &c->argv[j];
        if (arg_eq(o, "idx")) {
            getidx = 1;
        } else if (arg_eq(o, "len")) {
            getlen = 1;
        } else if (arg_eq(o, "withmatchlen")) {
            withlen = 1;
        } else if (arg_eq(o, "minmatchlen") && j + 1 < c->argc) {
            if (arg_ll_or_reply(c, &c->argv[++j], &minlen) < 0) return;
            if (minlen < 0) minlen = 0;
        } else {
            reply_syntax(c);
            return;
        }
    }
    if (getlen && getidx) {
        reply_err(c, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    const char *a = ea ? dentry_val(ea) : "", *b = eb ? dentry_val(eb) : "";
    uint32_t alen = ea ? ea->vlen : 0, blen = eb ? eb->vlen : 0;
    /* the table: (alen + 1) x (blen + 1) lengths of common subsequences of prefixes */
    unsigned long long cells = (unsigned long long)(alen + 1ull) * (blen + 1ull);
    if (cells * sizeof(uint32_t) > (unsigned long long)c->ds->max_string_bytes) {
        reply_err(c, "ERR Insufficient memory, transient memory for LCS exceeds "
                     "proto-max-bulk-len");
        return;
    }
    uint32_t *t = dmem_alloc(NULL, (size_t)cells * sizeof(uint32_t));
    for (uint32_t i = 0; i <= alen; i++) {
        uint32_t *row = t + (size_t)i * (blen + 1), *up = i ? row - (blen + 1) : row;
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                row[j] = 0;
            else if (a[i - 1] == b[j - 1])
                row[j] = up[j - 1] + 1;
            else
                row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
        }
    }
    uint32_t total = t[cells - 1];
    if (getidx) {
        c->ops->map(c->rctx, 2);
        reply_bulk(c, "matches", 7);
        c->ops->array(c->rctx, lcs_walk(c, t, a, alen, b, blen, NULL, minlen, withlen, 0));
        (void)lcs_walk(c, t, a, alen, b, blen, NULL, minlen, withlen, 1);
        reply_bulk(c, "len", 3);
        reply_int(c, total);
    } else if (getlen) {
        reply_int(c, total);
    } else {
        char *out = dmem_alloc(NULL, total ? total : 1);
        (void)lcs_walk(c, t, a, alen, b, blen, out, 0, 0, 0);
        reply_bulk(c, out, total);
        dmem_free(NULL, out);
    }
    dmem_free(NULL, t);
}

/* ---- deterministic rewrite (see data_rewrite) ---- */

/* Copies argv without its EX/PX options (and their values) and appends PXAT ms. The command
 * was validated, so any other expiry option cannot be present. */
static int rewrite_pxat(const data_call *c, int from, int64_t ms, data_arg *out, int out_cap,
                        char *scratch, size_t scratch_cap)
{
    SYN_ASSERT(out_cap >= c->argc && scratch_cap >= 24);
    int n = 0;
    for (int j = 0; j < c->argc; j++) {
        if (j >= from && (is_opt2(&c->argv[j], 'e', 'x') || is_opt2(&c->argv[j], 'p', 'x'))) {
            j++;
            continue;
        }
        out[n++] = c->argv[j];
    }
    SYN_ASSERT(n + 2 <= c->argc);
    out[n++] = (data_arg){"PXAT", 4};
    out[n++] = (data_arg){scratch, syn_ll2string(scratch, ms)};
    return n;
}

int string_rewrite(data_call *c, data_arg *out, int out_cap, char *scratch, size_t scratch_cap)
{
    int flags;
    const data_arg *expire;
    int64_t ms;
    if (strcmp(c->name, "set") == 0 || strcmp(c->name, "getex") == 0) {
        int is_set = c->name[0] == 's';
        if (c->argc < (is_set ? 3 : 2)) return 0;
        if (parse_set_opts(c, is_set ? 3 : 2, is_set, &flags, &expire) < 0) return 0;
        if (!(flags & (SO_EX | SO_PX))) return 0;
        if (set_expire_or_reply(c, flags, expire, &ms) < 0) return 0;
        return rewrite_pxat(c, is_set ? 3 : 2, ms, out, out_cap, scratch, scratch_cap);
    }
    if (strcmp(c->name, "setex") == 0 || strcmp(c->name, "psetex") == 0) {
        if (c->argc != 4) return 0;
        if (expire_ms_or_reply(c, &c->argv[2], c->name[0] == 's', 1, &ms) < 0) return 0;
        SYN_ASSERT(out_cap >= 5 && scratch_cap >= 24);
        out[0] = (data_arg){"SET", 3};
        out[1] = c->argv[1];
        out[2] = c->argv[3];
        out[3] = (data_arg){"PXAT", 4};
        out[4] = (data_arg){scratch, syn_ll2string(scratch, ms)};
        return 5;
    }
    return 0;
}
