/* geo.c — the GEO commands (Redis 7.0 semantics, replies and error texts): GEOADD GEODIST
 * GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER and the _RO forms.
 *
 * A geo set is a sorted set whose scores are 52-bit geohashes (geo_internal.h), so every sorted
 * set command works on it. GEOADD is ZADD with the scores computed; a search scans the score
 * ranges of the cells covering the shape (geo_cover) and keeps the members inside it.
 *
 * Replication: the STORE forms are writes and run on every replica from the same dataset and
 * argv; nothing here draws a random number or reads a clock, and the order of equal distances
 * is fixed (the order found), so every replica stores the same set. The float functions used
 * (sin, cos, asin, sqrt, llrint) are those of the one libm every node of a cluster runs. */
#include <math.h>
#include <stdlib.h>

#include "data/geo_internal.h"
#include "data/zset_internal.h"

/* ---- argument helpers (Redis's extract*OrReply) ---- */

/* A float argument, or the reply "ERR <msg>" (default: not a valid float). 0 ok, -1 replied. */
static int dbl_or_reply(data_call *c, const data_arg *a, double *out, const char *msg)
{
    if (zset_parse_double(a, out)) return 0;
    char buf[96];
    snprintf(buf, sizeof buf, "ERR %s", msg ? msg : "value is not a valid float");
    reply_err(c, buf);
    return -1;
}

/* lon lat at a[0], a[1]: valid floats within the limits. */
static int lonlat_or_reply(data_call *c, const data_arg *a, double xy[2])
{
    for (int i = 0; i < 2; i++)
        if (dbl_or_reply(c, &a[i], &xy[i], NULL) < 0) return -1;
    if (xy[0] < GEO_LON_MIN || xy[0] > GEO_LON_MAX || xy[1] < GEO_LAT_MIN || xy[1] > GEO_LAT_MAX) {
        char buf[720]; /* two %f of +-DBL_MAX: 317 bytes each, as Redis writes them whole */
        snprintf(buf, sizeof buf, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        reply_err(c, buf);
        return -1;
    }
    return 0;
}

/* Metres per unit, or -1 after the reply. */
static double unit_or_reply(data_call *c, const data_arg *a)
{
    if (arg_eq(a, "m")) return 1;
    if (arg_eq(a, "km")) return 1000;
    if (arg_eq(a, "ft")) return 0.3048;
    if (arg_eq(a, "mi")) return 1609.34;
    reply_err(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* radius unit at a[0], a[1] */
static int radius_or_reply(data_call *c, const data_arg *a, geo_shape *s)
{
    double r;
    if (dbl_or_reply(c, &a[0], &r, "need numeric radius") < 0) return -1;
    if (r < 0) {
        reply_err(c, "ERR radius cannot be negative");
        return -1;
    }
    s->radius = r;
    double to_m = unit_or_reply(c, &a[1]);
    if (to_m < 0) return -1;
    s->to_m = to_m;
    s->box = 0;
    return 0;
}

/* width height unit at a[0..2] */
static int box_or_reply(data_call *c, const data_arg *a, geo_shape *s)
{
    double w, h;
    if (dbl_or_reply(c, &a[0], &w, "need numeric width") < 0 ||
        dbl_or_reply(c, &a[1], &h, "need numeric height") < 0)
        return -1;
    if (h < 0 || w < 0) {
        reply_err(c, "ERR height or width cannot be negative");
        return -1;
    }
    s->width = w;
    s->height = h;
    double to_m = unit_or_reply(c, &a[2]);
    if (to_m < 0) return -1;
    s->to_m = to_m;
    s->box = 1;
    return 0;
}

/* The position of member in the zset e; 0 if absent. */
static int member_pos(dentry *e, const data_arg *m, double xy[2])
{
    double score;
    if (!zset_score(e, m->ptr, m->len, &score)) return 0;
    geo_score_lonlat(score, xy);
    return 1;
}

/* The live zset at key for reading, NULL if absent; *wrong after a WRONGTYPE reply. */
static dentry *geo_read(data_call *c, const data_arg *key, int *wrong)
{
    dentry *e = ks_read(c, key);
    *wrong = e && e->type != DT_ZSET;
    if (*wrong) reply_wrongtype(c);
    return *wrong ? NULL : e;
}

static void reply_distance(data_call *c, double d)
{
    char buf[64];
    size_t n = geo_fmt_distance(buf, sizeof buf, d);
    reply_bulk(c, buf, n);
}

/* A coordinate as Redis's addReplyHumanLongDouble: %.17Lf without trailing zeros; a RESP3
 * double, a bulk string in RESP2. */
static void reply_coord(data_call *c, double v)
{
    char buf[128];
    size_t n = fmt_ld(buf, sizeof buf, (long double)v);
    if (c->ops->dbl_str)
        c->ops->dbl_str(c->rctx, buf, n);
    else
        reply_bulk(c, buf, n);
}

/* ---- GEOADD ---- */

/* GEOADD key [NX|XX] [CH] lon lat member [...]: ZADD with the geohashes as scores. */
void cmd_geoadd(data_call *c)
{
    int nx = 0, xx = 0, first = 2;
    for (; first < c->argc; first++) {
        const data_arg *a = &c->argv[first];
        if (arg_eq(a, "nx"))
            nx = 1;
        else if (arg_eq(a, "xx"))
            xx = 1;
        else if (!arg_eq(a, "ch")) /* CH is ZADD's */
            break;
    }
    if ((c->argc - first) % 3 || (xx && nx)) {
        reply_syntax(c);
        return;
    }
    int n = (c->argc - first) / 3, zargc = first + 2 * n;
    data_arg *zargv = dmem_alloc(NULL, (size_t)zargc * sizeof *zargv);
    char(*scores)[24] = dmem_alloc(NULL, (size_t)(n ? n : 1) * sizeof *scores);
    zargv[0] = (data_arg){"zadd", 4};
    for (int i = 1; i < first; i++)
        zargv[i] = c->argv[i];
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const data_arg *t = &c->argv[first + 3 * i];
        double xy[2];
        ok = lonlat_or_reply(c, t, xy) == 0;
        if (!ok) break;
        int len = snprintf(scores[i], sizeof scores[i], "%llu",
                           (unsigned long long)geo_score_bits_of(xy[0], xy[1]));
        zargv[first + 2 * i] = (data_arg){scores[i], (size_t)len};
        zargv[first + 2 * i + 1] = t[2];
    }
    if (ok) {
        data_call z = *c;
        z.argc = zargc;
        z.argv = zargv;
        cmd_zadd(&z);
        c->dirty = z.dirty;
    }
    dmem_free(NULL, scores);
    dmem_free(NULL, zargv);
}

/* ---- GEODIST GEOHASH GEOPOS ---- */

void cmd_geodist(data_call *c)
{
    double to_m = 1;
    if (c->argc == 5) {
        to_m = unit_or_reply(c, &c->argv[4]);
        if (to_m < 0) return;
    } else if (c->argc > 5) {
        reply_syntax(c);
        return;
    }
    int wrong;
    dentry *e = geo_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    double a[2], b[2];
    if (!e || !member_pos(e, &c->argv[2], a) || !member_pos(e, &c->argv[3], b)) {
        reply_null(c);
        return;
    }
    reply_distance(c, geo_distance(a[0], a[1], b[0], b[1]) / to_m);
}

void cmd_geohash(data_call *c)
{
    int wrong;
    dentry *e = geo_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    c->ops->array(c->rctx, (size_t)(c->argc - 2));
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (!e || !zset_score(e, c->argv[j].ptr, c->argv[j].len, &score)) {
            reply_null(c);
            continue;
        }
        char h[11];
        geo_hash_string(score, h);
        reply_bulk(c, h, sizeof h);
    }
}

void cmd_geopos(data_call *c)
{
    int wrong;
    dentry *e = geo_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    c->ops->array(c->rctx, (size_t)(c->argc - 2));
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        if (!e || !member_pos(e, &c->argv[j], xy)) {
            c->ops->null_array(c->rctx);
            continue;
        }
        c->ops->array(c->rctx, 2);
        reply_coord(c, xy[0]);
        reply_coord(c, xy[1]);
    }
}

/* ---- searches ---- */

enum {
    GS_COORDS = 1 << 0,  /* GEORADIUS: centre from lon lat */
    GS_MEMBER = 1 << 1,  /* GEORADIUSBYMEMBER: centre from a member */
    GS_NOSTORE = 1 << 2, /* the _RO forms: no STORE / STOREDIST */
    GS_SEARCH = 1 << 3,  /* GEOSEARCH syntax */
    GS_SEARCHSTORE = 1 << 4
};
enum { SORT_NONE, SORT_ASC, SORT_DESC };

typedef struct {
    double xy[2];
    double dist; /* metres, then units once sorted */
    double score;
    const char *m; /* the source zset's bytes: valid until it changes */
    size_t ml;
    size_t idx; /* order found: the tie-break of equal distances */
} geo_point;

typedef struct {
    const geo_shape *shape;
    geo_point *v;
    size_t n, cap;
    size_t limit; /* COUNT ANY: stop once this many are found; 0 = all */
} geo_found;

static int found_cb(void *ctx, const char *m, size_t ml, double score)
{
    geo_found *f = ctx;
    geo_point p;
    geo_score_lonlat(score, p.xy);
    if (geo_in_shape(f->shape, p.xy, &p.dist)) {
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 16;
            f->v = dmem_realloc(NULL, f->v, f->cap * sizeof *f->v);
        }
        p.score = score;
        p.m = m;
        p.ml = ml;
        p.idx = f->n;
        f->v[f->n++] = p;
    }
    return f->limit && f->n >= f->limit;
}

/* Every member of e inside the shape, in the order Redis finds them: cell by cell (skipping a
 * cell equal to the last one scanned), ascending score within a cell. */
static void geo_collect(dentry *e, const geo_shape *s, geo_found *f)
{
    geo_hash cells[9];
    geo_cover(s, cells);
    int last = 0; /* index of the last cell scanned, 0 until a neighbour is (as Redis's) */
    for (int i = 0; i < 9; i++) {
        if (cells[i].step == 0 && cells[i].bits == 0) continue;
        if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step)
            continue;
        if (f->n && f->limit && f->n >= f->limit) break;
        uint64_t lo, hi;
        geo_cell_scores(cells[i], &lo, &hi);
        zset_each_in(e, (double)lo, (double)hi, found_cb, f);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b)
{
    const geo_point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist > y->dist ? 1 : -1;
    return x->idx > y->idx ? 1 : x->idx < y->idx ? -1 : 0;
}

static int by_dist_desc(const void *a, const void *b)
{
    const geo_point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? 1 : -1;
    return x->idx > y->idx ? 1 : x->idx < y->idx ? -1 : 0;
}

typedef struct {
    geo_shape shape;
    int withdist, withhash, withcoord, any, sort, storedist;
    long long count;
    const data_arg *store;
    int frommember, fromloc, byradius, bybox;
} geo_opts;

/* The options after argv[base] (Redis's georadiusGeneric loop, same checks in the same order:
 * the first failing one answers). e is the source (may be NULL). 0 ok, -1 replied. */
static int parse_opts(data_call *c, int base, int flags, dentry *e, geo_opts *o)
{
    int left = c->argc - base;
    for (int i = 0; i < left; i++) {
        const data_arg *a = &c->argv[base + i], *next = a + 1;
        int search = (flags & GS_SEARCH) != 0;
        int can_store = !(flags & GS_NOSTORE) && !search;
        if (arg_eq(a, "withdist")) {
            o->withdist = 1;
        } else if (arg_eq(a, "withhash")) {
            o->withhash = 1;
        } else if (arg_eq(a, "withcoord")) {
            o->withcoord = 1;
        } else if (arg_eq(a, "any")) {
            o->any = 1;
        } else if (arg_eq(a, "asc")) {
            o->sort = SORT_ASC;
        } else if (arg_eq(a, "desc")) {
            o->sort = SORT_DESC;
        } else if (arg_eq(a, "count") && i + 1 < left) {
            if (arg_ll_or_reply(c, next, &o->count) < 0) return -1;
            if (o->count <= 0) {
                reply_err(c, "ERR COUNT must be > 0");
                return -1;
            }
            i++;
        } else if (arg_eq(a, "store") && i + 1 < left && can_store) {
            o->store = next;
            o->storedist = 0;
            i++;
        } else if (arg_eq(a, "storedist") && i + 1 < left && can_store) {
            o->store = next;
            o->storedist = 1;
            i++;
        } else if (arg_eq(a, "storedist") && search && (flags & GS_SEARCHSTORE)) {
            o->storedist = 1;
        } else if (arg_eq(a, "frommember") && i + 1 < left && search && !o->fromloc) {
            /* with no source key the search answers empty, after the whole parse */
            if (e && !member_pos(e, next, o->shape.xy)) {
                reply_err(c, "ERR could not decode requested zset member");
                return -1;
            }
            o->frommember = 1;
            i++;
        } else if (arg_eq(a, "fromlonlat") && i + 2 < left && search && !o->frommember) {
            if (lonlat_or_reply(c, next, o->shape.xy) < 0) return -1;
            o->fromloc = 1;
            i += 2;
        } else if (arg_eq(a, "byradius") && i + 2 < left && search && !o->bybox) {
            if (radius_or_reply(c, next, &o->shape) < 0) return -1;
            o->byradius = 1;
            i += 2;
        } else if (arg_eq(a, "bybox") && i + 3 < left && search && !o->byradius) {
            if (box_or_reply(c, next, &o->shape) < 0) return -1;
            o->bybox = 1;
            i += 3;
        } else {
            reply_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* Checks after the parse, in Redis's order. 0 ok, -1 replied. */
static int check_opts(data_call *c, int flags, const geo_opts *o)
{
    char buf[160];
    const data_arg *name = &c->argv[0];
    if (o->store && (o->withdist || o->withhash || o->withcoord)) {
        snprintf(buf, sizeof buf,
                 "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                 (flags & GS_SEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        reply_err(c, buf);
        return -1;
    }
    if ((flags & GS_SEARCH) && !(o->frommember || o->fromloc)) {
        snprintf(buf, sizeof buf,
                 "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                 (int)(name->len < 64 ? name->len : 64), name->ptr);
        reply_err(c, buf);
        return -1;
    }
    if ((flags & GS_SEARCH) && !(o->byradius || o->bybox)) {
        snprintf(buf, sizeof buf, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                 (int)(name->len < 64 ? name->len : 64), name->ptr);
        reply_err(c, buf);
        return -1;
    }
    if (o->any && !o->count) {
        reply_err(c, "ERR the ANY argument requires COUNT argument");
        return -1;
    }
    return 0;
}

/* The STORE forms: dst becomes a zset of the first n points (score: geohash, or distance with
 * STOREDIST), or is deleted when there are none. Built before dst goes: dst may be the source. */
static void store_points(data_call *c, const data_arg *dst, const geo_point *v, size_t n,
                         int storedist)
{
    dentry *res = NULL;
    if (n) {
        res = zset_new_entry(c->ds, dst->ptr, dst->len, -1);
        for (size_t i = 0; i < n; i++)
            (void)zset_put(c->ds, res, v[i].m, v[i].ml, storedist ? v[i].dist : v[i].score);
    }
    dpos pos;
    if (ks_write(c, dst, &pos)) {
        ks_delete(c, pos);
        c->dirty = 1;
    }
    if (res) {
        ks_insert(c, res);
        c->dirty = 1;
    }
    reply_int(c, (long long)n);
}

static void reply_points(data_call *c, const geo_opts *o, const geo_point *v, size_t n)
{
    int extra = o->withdist + o->withhash + o->withcoord;
    c->ops->array(c->rctx, n);
    for (size_t i = 0; i < n; i++) {
        if (extra) c->ops->array(c->rctx, (size_t)extra + 1);
        reply_bulk(c, v[i].m, v[i].ml);
        if (o->withdist) reply_distance(c, v[i].dist);
        if (o->withhash) reply_int(c, (long long)v[i].score);
        if (o->withcoord) {
            c->ops->array(c->rctx, 2);
            reply_coord(c, v[i].xy[0]);
            reply_coord(c, v[i].xy[1]);
        }
    }
}

/* Redis's georadiusGeneric: the source key at argv[src]. */
static void geo_search(data_call *c, int src, int flags)
{
    int wrong;
    dentry *e = geo_read(c, &c->argv[src], &wrong);
    if (wrong) return;
    geo_opts o;
    memset(&o, 0, sizeof o);
    int base;
    if (flags & GS_COORDS) {
        base = 6;
        if (lonlat_or_reply(c, &c->argv[2], o.shape.xy) < 0 ||
            radius_or_reply(c, &c->argv[4], &o.shape) < 0)
            return;
    } else if (flags & GS_MEMBER) {
        base = 5;
        if (e) { /* with no source the arguments are not checked: the reply is empty anyway */
            if (!member_pos(e, &c->argv[2], o.shape.xy)) {
                reply_err(c, "ERR could not decode requested zset member");
                return;
            }
            if (radius_or_reply(c, &c->argv[3], &o.shape) < 0) return;
        }
    } else {
        base = (flags & GS_SEARCHSTORE) ? 3 : 2;
        if (flags & GS_SEARCHSTORE) o.store = &c->argv[1];
    }
    if (parse_opts(c, base, flags, e, &o) < 0 || check_opts(c, flags, &o) < 0) return;
    if (!e) {
        if (o.store)
            store_points(c, o.store, NULL, 0, 0);
        else
            c->ops->array(c->rctx, 0);
        return;
    }
    /* COUNT without ANY means the nearest ones */
    if (o.count && o.sort == SORT_NONE && !o.any) o.sort = SORT_ASC;
    geo_found f = {&o.shape, NULL, 0, 0, o.any ? (size_t)o.count : 0};
    geo_collect(e, &o.shape, &f);
    size_t n = o.count && (size_t)o.count < f.n ? (size_t)o.count : f.n;
    if (o.sort != SORT_NONE && f.n > 1)
        qsort(f.v, f.n, sizeof *f.v, o.sort == SORT_ASC ? by_dist_asc : by_dist_desc);
    for (size_t i = 0; i < n; i++)
        f.v[i].dist /= o.shape.to_m;
    if (o.store)
        store_points(c, o.store, f.v, n, o.storedist);
    else
        reply_points(c, &o, f.v, n);
    dmem_free(NULL, f.v);
}

void cmd_georadius(data_call *c)
{
    geo_search(c, 1, GS_COORDS);
}

void cmd_georadiusbymember(data_call *c)
{
    geo_search(c, 1, GS_MEMBER);
}

void cmd_georadius_ro(data_call *c)
{
    geo_search(c, 1, GS_COORDS | GS_NOSTORE);
}

void cmd_georadiusbymember_ro(data_call *c)
{
    geo_search(c, 1, GS_MEMBER | GS_NOSTORE);
}

void cmd_geosearch(data_call *c)
{
    geo_search(c, 1, GS_SEARCH);
}

void cmd_geosearchstore(data_call *c)
{
    geo_search(c, 2, GS_SEARCH | GS_SEARCHSTORE);
}
