/* sort.c — SORT and SORT_RO, with Redis 7.0's options, replies and errors:
 *
 *   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
 *            [STORE destination]
 *
 * Elements of a list, set or sorted set are sorted as numbers (strtod: anything else is "One or
 * more scores can't be converted into double") or, with ALPHA, as byte strings; BY pattern
 * sorts by the values of other keys (`*` replaced by the element; `key->field` reads a hash
 * field; a missing value counts as 0, or sorts first with ALPHA); a BY pattern without `*`
 * skips sorting (lists and sorted sets keep their order). GET pattern returns other keys'
 * values (`#` is the element itself). STORE writes the result as a list (deleting the
 * destination if it is empty) and replies its length.
 *
 * Determinism (SORT ... STORE is applied on every replica): equal sort values are ordered by
 * the elements' bytes, always (Redis leaves ties under ALPHA BY unordered, which would make a
 * stored result depend on a replica's hash order); a set sorted with a constant BY and STORE is
 * sorted with ALPHA, as Redis does for the same reason. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/set_internal.h"
#include "data/zset_internal.h"
#include "util/strconv.h"

typedef struct {
    char *p; /* the element (owned copy: STORE may overwrite the source) */
    size_t n;
    double score;
    char *cmp; /* ALPHA BY: the value sorted by (owned), NULL if missing */
    size_t cmp_n;
} sitem;

typedef struct {
    sitem *v;
    size_t n, cap;
} svec;

static void sv_push(void *ctx, const char *p, size_t n)
{
    svec *sv = ctx;
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? 2 * sv->cap : 16;
        sv->v = dmem_realloc(NULL, sv->v, sv->cap * sizeof(*sv->v));
    }
    char *cp = dmem_alloc(NULL, n ? n : 1);
    memcpy(cp, p, n);
    sv->v[sv->n++] = (sitem){cp, n, 0, NULL, 0};
}

static void sv_push_z(void *ctx, const char *m, size_t ml, double score)
{
    (void)score;
    sv_push(ctx, m, ml);
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

typedef struct {
    int alpha, by, desc;
} sort_mode;

static int item_cmp(const void *x, const void *y, void *ctx)
{
    const sitem *a = x, *b = y;
    sort_mode g_mode = *(const sort_mode *)ctx;
    int c = 0;
    if (!g_mode.alpha) {
        c = a->score > b->score ? 1 : a->score < b->score ? -1 : 0;
    } else if (g_mode.by) {
        if (!a->cmp || !b->cmp)
            c = a->cmp == b->cmp ? 0 : a->cmp ? 1 : -1;
        else
            c = bytes_cmp(a->cmp, a->cmp_n, b->cmp, b->cmp_n);
    }
    if (c == 0) c = bytes_cmp(a->p, a->n, b->p, b->n); /* ties: the elements themselves */
    return g_mode.desc ? -c : c;
}

/* The value pattern `pat` names for element el (Redis lookupKeyByPattern): "#" is the element;
 * else `*` is replaced by it (the first `*`; none: no value) and `...->field` reads a hash
 * field. Patterns end at a NUL byte, as Redis reads them. 1 and the value, or 0. The value is
 * valid until the dataset changes. */
static int by_pattern(data_call *c, const data_arg *pat, const char *el, size_t el_n,
                      const char **v, size_t *vn)
{
    size_t plen = strnlen(pat->ptr, pat->len);
    const char *p = pat->ptr;
    if (plen == 1 && p[0] == '#') {
        *v = el;
        *vn = el_n;
        return 1;
    }
    const char *star = memchr(p, '*', plen);
    if (!star) return 0;
    const char *field = NULL;
    size_t field_n = 0;
    for (const char *f = star + 1; f + 2 < p + plen; f++) {
        if (f[0] == '-' && f[1] == '>') {
            field = f + 2;
            field_n = (size_t)(p + plen - field);
            break;
        }
    }
    size_t pre = (size_t)(star - p);
    size_t post = plen - pre - 1 - (field ? field_n + 2 : 0);
    size_t kn = pre + el_n + post;
    char stackbuf[256];
    char *k = kn <= sizeof(stackbuf) ? stackbuf : dmem_alloc(NULL, kn);
    memcpy(k, p, pre);
    memcpy(k + pre, el, el_n);
    memcpy(k + pre + el_n, star + 1, post);
    data_arg key = {k, kn};
    dentry *e = ks_read(c, &key);
    int found = 0;
    if (e && field && e->type == DT_HASH) {
        found = hash_get(e, field, field_n, v, vn);
    } else if (e && !field && e->type == DT_STRING) {
        *v = dentry_val(e);
        *vn = e->vlen;
        found = 1;
    }
    if (k != stackbuf) dmem_free(NULL, k);
    return found;
}

/* Redis's strtod check: the whole string, no overflow, not NaN. */
static int to_score(const char *p, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof(buf)) {
        if (n == 0) {
            *out = 0; /* strtod("") consumes nothing: Redis accepts it as 0 */
            return 1;
        }
        return 0;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (strlen(buf) != n) return 0;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end != '\0' || errno == ERANGE || isnan(d)) return 0;
    *out = d;
    return 1;
}

static int arg_long(const data_arg *a, long long *out)
{
    return syn_string2ll(a->ptr, a->len, out) ? 0 : -1;
}

void data_set_in_script(data_store *ds, int on)
{
    ds->in_script = on;
}

static void sort_generic(data_call *c, int readonly)
{
    int desc = 0, alpha = 0, dontsort = 0;
    long long lstart = 0, lcount = -1;
    const data_arg *by = NULL, *store = NULL;
    const data_arg **gets = dmem_alloc(NULL, sizeof(*gets) * (size_t)c->argc);
    int ngets = 0;
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const data_arg *a = &c->argv[j];
        if (arg_eq(a, "asc")) {
            desc = 0;
        } else if (arg_eq(a, "desc")) {
            desc = 1;
        } else if (arg_eq(a, "alpha")) {
            alpha = 1;
        } else if (arg_eq(a, "limit") && left >= 2) {
            if (arg_long(&c->argv[j + 1], &lstart) < 0 || arg_long(&c->argv[j + 2], &lcount) < 0) {
                reply_not_int(c);
                dmem_free(NULL, gets);
                return;
            }
            j += 2;
        } else if (!readonly && arg_eq(a, "store") && left >= 1) {
            store = &c->argv[++j];
        } else if (arg_eq(a, "by") && left >= 1) {
            by = &c->argv[++j];
            if (!memchr(by->ptr, '*', strnlen(by->ptr, by->len))) dontsort = 1;
        } else if (arg_eq(a, "get") && left >= 1) {
            gets[ngets++] = &c->argv[++j];
        } else {
            reply_syntax(c);
            dmem_free(NULL, gets);
            return;
        }
    }
    dentry *e = ks_read(c, &c->argv[1]);
    if (e && e->type != DT_LIST && e->type != DT_SET && e->type != DT_ZSET) {
        reply_wrongtype(c);
        dmem_free(NULL, gets);
        return;
    }
    /* a set's hash order, stored or seen by a script: sorted (Redis's rule; replicas agree) */
    if (dontsort && e && e->type == DT_SET && (store || c->ds->in_script)) {
        dontsort = 0;
        alpha = 1;
        by = NULL;
    }
    /* Redis converts a sorted set it sorts to a skiplist for good (a layout change) */
    if (e && e->type == DT_ZSET) zset_make_big(c->ds, e);
    svec sv = {0};
    if (e && e->type == DT_LIST) list_each(e, sv_push, &sv);
    if (e && e->type == DT_SET) set_each(e, sv_push, &sv);
    if (e && e->type == DT_ZSET) zset_each(e, sv_push_z, &sv); /* ascending score order */
    long long len = (long long)sv.n;
    long long start = lstart < 0 ? 0 : lstart > len ? len : lstart;
    long long count = lcount < -1 ? -1 : lcount > len ? len : lcount;
    long long end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len) end = len - 1;
    int conv_error = 0;
    if (dontsort) {
        /* lists and sorted sets keep their order; DESC walks it backwards */
        if (desc && e && e->type != DT_SET)
            for (size_t i = 0; i < sv.n / 2; i++) {
                sitem t = sv.v[i];
                sv.v[i] = sv.v[sv.n - 1 - i];
                sv.v[sv.n - 1 - i] = t;
            }
    } else {
        for (size_t i = 0; i < sv.n; i++) {
            sitem *it = &sv.v[i];
            const char *v = it->p;
            size_t vn = it->n;
            if (by && !by_pattern(c, by, it->p, it->n, &v, &vn)) continue; /* 0 / first */
            if (alpha) {
                if (by) {
                    it->cmp = dmem_alloc(NULL, vn ? vn : 1);
                    memcpy(it->cmp, v, vn);
                    it->cmp_n = vn;
                }
            } else if (!to_score(v, vn, &it->score)) {
                conv_error = 1;
            }
        }
        sort_mode mode = {alpha, by != NULL, desc};
        if (sv.n > 1) qsort_r(sv.v, sv.n, sizeof(*sv.v), item_cmp, &mode);
    }
    long long outlen = end >= start ? (end - start + 1) * (ngets ? ngets : 1) : 0;
    if (conv_error) {
        reply_err(c, "ERR One or more scores can't be converted into double");
    } else if (!store) {
        c->ops->array(c->rctx, (size_t)outlen);
        for (long long j = start; j <= end; j++) {
            sitem *it = &sv.v[j];
            if (!ngets) reply_bulk(c, it->p, it->n);
            for (int g = 0; g < ngets; g++) {
                const char *v;
                size_t vn;
                if (by_pattern(c, gets[g], it->p, it->n, &v, &vn))
                    reply_bulk(c, v, vn);
                else
                    reply_null(c);
            }
        }
    } else {
        /* the result first (GET values are copied), then the destination is replaced */
        svec out = {0};
        for (long long j = start; j <= end; j++) {
            sitem *it = &sv.v[j];
            if (!ngets) sv_push(&out, it->p, it->n);
            for (int g = 0; g < ngets; g++) {
                const char *v = "";
                size_t vn = 0;
                (void)by_pattern(c, gets[g], it->p, it->n, &v, &vn);
                sv_push(&out, v, vn);
            }
        }
        dpos pos;
        if (ks_write(c, store, &pos)) ks_delete(c, pos); /* sets dirty */
        if (out.n) {
            dentry *le = list_new_entry(&c->ds->mem, c->ds->list_fill, store->ptr, store->len, -1);
            for (size_t i = 0; i < out.n; i++)
                list_push_tail(le, out.v[i].p, out.v[i].n);
            ks_insert(c, le);
        }
        for (size_t i = 0; i < out.n; i++)
            dmem_free(NULL, out.v[i].p);
        dmem_free(NULL, out.v);
        reply_int(c, outlen);
    }
    for (size_t i = 0; i < sv.n; i++) {
        dmem_free(NULL, sv.v[i].p);
        dmem_free(NULL, sv.v[i].cmp);
    }
    dmem_free(NULL, sv.v);
    dmem_free(NULL, gets);
}

void cmd_sort(data_call *c)
{
    sort_generic(c, 0);
}

void cmd_sort_ro(data_call *c)
{
    sort_generic(c, 1);
}
