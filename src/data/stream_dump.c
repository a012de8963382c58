/* stream_dump.c — a stream in a DUMP payload, as Redis 7.0 writes it (RDB_TYPE_STREAM_LISTPACKS_2)
 * and reads it (that, and RDB_TYPE_STREAM_LISTPACKS from Redis 5 to 6.2). Part of the payload
 * codec of dump_internal.h.
 *
 * Layout (all lengths RDB lengths, "id" = two of them, "raw id" = 16 bytes big-endian, "ms" = 8
 * bytes little-endian):
 *   nodes, per node: RDB string of its raw master id, RDB string of its listpack
 *   length, last id, [2: first id, max deleted id, entries added]
 *   groups, per group: name, last id, [2: entries read (-1 as 2^64-1)],
 *     PEL size, per entry: raw id, delivery ms, delivery count
 *     consumers, per consumer: name, seen ms, PEL size, raw ids (each in the group's PEL)
 * A node's listpack: count, deleted, master field count, master fields, 0, then per entry
 * flags (1 deleted, 2 same fields as the master), ms and seq as differences from the master id,
 * [field count, field/value pairs | values], and the entry's element count.
 *
 * Writing. One node per chunk, master = its first live entry, so a stream built by XADDs alone
 * DUMPs to the bytes redis-server writes for it (both start a node every 100 entries; synod
 * ignores stream-node-max-bytes, so entries of thousands of bytes differ in node boundaries).
 * synod keeps no tombstones: a chunk whose last appended entry was deleted gets one tombstone
 * with that id (empty values), so the node ends where it ended and the listpack passes Redis's
 * deep sanitization (sanitize-dump-payload yes); other deleted entries are not written.
 *
 * Reading. Untrusted: every listpack element is checked (kinds, counts, each entry's element
 * count), ids must strictly ascend over the whole stream, the stream length must equal the live
 * entries read, every pending entry must belong to exactly one consumer (Redis checks that only
 * with deep sanitization; synod relies on it). A node of more than 100 entries (Redis with a
 * larger stream-node-max-entries) is split into chunks of 100; tombstones count towards a
 * chunk's appends, so the next XADD opens a new chunk where Redis would open a new node. */
#include "data/dump_internal.h"
#include "data/stream_internal.h"
#include "util/assert.h"

enum { SF_DELETED = 1, SF_SAMEFIELDS = 2 };

/* ---- writing ---- */

/* Field i of se (0-based, 2*i = field, 2*i+1 = value). */
static const char *se_piece(const sentry *se, uint32_t i, uint32_t *len)
{
    const char *p = se->data;
    for (;;) {
        uint32_t l;
        memcpy(&l, p, 4);
        if (i-- == 0) {
            *len = l;
            return p + 4;
        }
        p += 4 + l;
    }
}

static int same_fields(const sentry *a, const sentry *m)
{
    if (a->nfields != m->nfields) return 0;
    const char *pa = a->data, *pm = m->data;
    for (uint32_t i = 0; i < 2 * a->nfields; i++) {
        uint32_t la, lm;
        memcpy(&la, pa, 4);
        memcpy(&lm, pm, 4);
        if (i % 2 == 0 && (la != lm || memcmp(pa + 4, pm + 4, la) != 0)) return 0;
        pa += 4 + la;
        pm += 4 + lm;
    }
    return 1;
}

static void put_raw_id(dump_buf *b, sid id)
{
    dump_put_be(b, id.ms, 8);
    dump_put_be(b, id.seq, 8);
}

static void put_id(dump_buf *b, sid id)
{
    dump_put_len(b, id.ms);
    dump_put_len(b, id.seq);
}

/* se's fields and values in order, or its values only. */
static void lp_pieces(dump_lpw *w, const sentry *se, int values_only)
{
    const char *p = se->data;
    for (uint32_t i = 0; i < 2 * se->nfields; i++) {
        uint32_t l;
        memcpy(&l, p, 4);
        if (!values_only || i % 2 == 1) dump_lp_str(w, p + 4, l);
        p += 4 + l;
    }
}

static void put_chunk(dump_buf *b, const schunk *ch)
{
    sid master = ch->key[0];
    const sentry *m = ch->val[0];
    int tomb = sid_cmp(ch->last, ch->key[ch->n - 1]) > 0;
    dump_buf key = {0};
    put_raw_id(&key, master);
    dump_put_string(b, (const char *)key.p, key.len);
    dump_buf_free(&key);
    dump_lpw w;
    dump_lp_begin(&w, b);
    dump_lp_int(&w, ch->n);
    dump_lp_int(&w, tomb);
    dump_lp_int(&w, m->nfields);
    for (uint32_t i = 0; i < m->nfields; i++) {
        uint32_t l;
        const char *f = se_piece(m, 2 * i, &l);
        dump_lp_str(&w, f, l);
    }
    dump_lp_int(&w, 0);
    for (uint32_t i = 0; i < ch->n + (uint32_t)tomb; i++) {
        sid id = i < ch->n ? ch->key[i] : ch->last;
        const sentry *se = i < ch->n ? ch->val[i] : m;
        int same = i == ch->n || same_fields(se, m);
        dump_lp_int(&w, (same ? SF_SAMEFIELDS : 0) | (i == ch->n ? SF_DELETED : 0));
        dump_lp_int(&w, (int64_t)(id.ms - master.ms)); /* differences wrap as in Redis */
        dump_lp_int(&w, (int64_t)(id.seq - master.seq));
        if (i == ch->n) {
            for (uint32_t f = 0; f < m->nfields; f++)
                dump_lp_str(&w, "", 0);
        } else if (same) {
            lp_pieces(&w, se, 1);
        } else {
            dump_lp_int(&w, se->nfields);
            lp_pieces(&w, se, 0);
        }
        dump_lp_int(&w, same ? (int64_t)se->nfields + 3 : 2 * (int64_t)se->nfields + 4);
    }
    dump_lp_end(&w);
}

void stream_dump_encode(dentry *e, dump_buf *b)
{
    stream *s = stream_of(e);
    dump_put_byte(b, RDB_T_STREAM_LISTPACKS_2);
    dump_put_len(b, s->entries.n);
    for (size_t ci = 0; ci < s->entries.n; ci++)
        put_chunk(b, sidx_chunk(&s->entries, ci));
    dump_put_len(b, s->entries.count);
    put_id(b, s->last_id);
    put_id(b, stream_first_id(s));
    put_id(b, s->max_deleted);
    dump_put_len(b, s->entries_added);
    dump_put_len(b, s->ngroups);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const sgroup *g = s->groups[gi];
        dump_put_string(b, g->name, g->nlen);
        put_id(b, g->last_id);
        dump_put_len(b, (uint64_t)g->entries_read);
        dump_put_len(b, g->pel.count);
        for (spos p = sidx_first(&g->pel); spos_valid(&g->pel, p); sidx_next(&g->pel, &p)) {
            const snack *nk = spos_val(&g->pel, p);
            put_raw_id(b, spos_key(&g->pel, p));
            dump_put_le(b, (uint64_t)nk->delivery_ms, 8);
            dump_put_len(b, nk->delivery_count);
        }
        dump_put_len(b, g->ncons);
        for (size_t i = 0; i < g->ncons; i++) {
            const sconsumer *sc = g->cons[i];
            dump_put_string(b, sc->name, sc->nlen);
            dump_put_le(b, (uint64_t)sc->seen_ms, 8);
            dump_put_len(b, sc->pel.count);
            for (spos p = sidx_first(&sc->pel); spos_valid(&sc->pel, p); sidx_next(&sc->pel, &p))
                put_raw_id(b, spos_key(&sc->pel, p));
        }
    }
}

/* ---- reading ---- */

typedef struct {
    stream *s;
    schunk *cur;      /* chunk being filled (not linked yet), or NULL */
    uint32_t pending; /* tombstones read since cur was closed */
    sid prev;         /* the last id so far, live or a tombstone */
    int any;
    uint64_t live;
} sload;

static void close_chunk(sload *l)
{
    if (l->cur) sidx_push_chunk(&l->s->entries, l->cur);
    l->cur = NULL;
}

static void add_live(sload *l, sid id, sentry *se)
{
    if (l->cur &&
        (l->cur->n == STREAM_NODE_MAX_ENTRIES || l->cur->added >= STREAM_NODE_MAX_ENTRIES))
        close_chunk(l);
    if (!l->cur) {
        l->cur = dmem_alloc(l->s->mem, sizeof(*l->cur));
        l->cur->n = 0;
        l->cur->added =
            l->pending < STREAM_NODE_MAX_ENTRIES ? l->pending : STREAM_NODE_MAX_ENTRIES - 1;
        l->pending = 0;
    }
    schunk *ch = l->cur;
    ch->key[ch->n] = id;
    ch->val[ch->n] = se;
    ch->n++;
    ch->added++;
    ch->last = id;
    l->live++;
}

static void add_tombstone(sload *l, sid id)
{
    if (l->cur && l->cur->added < STREAM_NODE_MAX_ENTRIES) {
        l->cur->added++;
        l->cur->last = id;
    } else {
        l->pending++;
    }
}

/* A listpack element that must be an integer. */
static int lp_ll(dump_esrc *es, long long *v)
{
    const char *p;
    size_t n;
    if (dump_es_next(es, &p, &n) != 1) return -1;
    return syn_string2ll(p, n, v) ? 0 : -1;
}

/* Appends the next element to b as (u32 len, bytes), sentry's layout. */
static int lp_piece(dump_esrc *es, dump_buf *b)
{
    const char *p;
    size_t n;
    if (dump_es_next(es, &p, &n) != 1 || n > UINT32_MAX) return -1;
    uint32_t l = (uint32_t)n;
    dump_buf_put(b, &l, 4);
    dump_buf_put(b, p, n);
    return 0;
}

/* One node: its listpack's entries into chunks. */
static int load_node(sload *l, sid master, const dump_rstr *blob)
{
    dump_esrc es;
    dump_buf mf = {0}, ent = {0}; /* master fields; the entry being read */
    long long count, deleted, nmf, zero;
    int r = -1;
    if (dump_es_lp(&es, blob) < 0) goto out;
    if (lp_ll(&es, &count) < 0 || lp_ll(&es, &deleted) < 0 || lp_ll(&es, &nmf) < 0) goto out;
    if (count < 1 || deleted < 0 || nmf < 1) goto out;
    for (long long i = 0; i < nmf; i++)
        if (lp_piece(&es, &mf) < 0) goto out;
    if (lp_ll(&es, &zero) < 0 || zero != 0) goto out;
    long long seen_live = 0, seen_deleted = 0;
    for (;;) {
        const char *p;
        size_t n;
        int more = dump_es_next(&es, &p, &n);
        if (more < 0) goto out;
        if (more == 0) break;
        long long flags, dms, dseq, nf = nmf, elems;
        if (!syn_string2ll(p, n, &flags) || (flags & ~(long long)(SF_DELETED | SF_SAMEFIELDS)))
            goto out;
        if (lp_ll(&es, &dms) < 0 || lp_ll(&es, &dseq) < 0) goto out;
        sid id = {master.ms + (uint64_t)dms, master.seq + (uint64_t)dseq};
        if (sid_is_zero(id) || (l->any && sid_cmp(id, l->prev) <= 0)) goto out;
        l->prev = id;
        l->any = 1;
        ent.len = 0;
        const unsigned char *f = mf.p;
        if (flags & SF_SAMEFIELDS) {
            for (long long i = 0; i < nf; i++) {
                uint32_t fl;
                memcpy(&fl, f, 4);
                dump_buf_put(&ent, f, 4 + (size_t)fl);
                f += 4 + fl;
                if (lp_piece(&es, &ent) < 0) goto out;
            }
        } else {
            if (lp_ll(&es, &nf) < 0 || nf < 1) goto out;
            for (long long i = 0; i < 2 * nf; i++)
                if (lp_piece(&es, &ent) < 0) goto out;
        }
        long long want = flags & SF_SAMEFIELDS ? nf + 3 : 2 * nf + 4;
        if (lp_ll(&es, &elems) < 0 || elems != want) goto out;
        if (flags & SF_DELETED) {
            seen_deleted++;
            add_tombstone(l, id);
            continue;
        }
        if (ent.len > UINT32_MAX) goto out;
        sentry *se = dmem_alloc(l->s->mem, sizeof(*se) + ent.len);
        se->nfields = (uint32_t)nf;
        se->bytes = (uint32_t)ent.len;
        memcpy(se->data, ent.p, ent.len);
        add_live(l, id, se);
        seen_live++;
    }
    if (seen_live != count || seen_deleted != deleted) goto out;
    close_chunk(l); /* a node ends a chunk: Redis starts its next node there */
    r = 0;
out:
    dump_es_free(&es);
    dump_buf_free(&mf);
    dump_buf_free(&ent);
    return r;
}

static int rd_id(dump_rin *in, sid *id)
{
    return dump_rd_count(in, &id->ms) < 0 || dump_rd_count(in, &id->seq) < 0 ? -1 : 0;
}

static int rd_raw_id(dump_rin *in, sid *id)
{
    const unsigned char *q;
    if (dump_rd_bytes(in, 16, &q) < 0) return -1;
    *id = (sid){dump_get_be(q, 8), dump_get_be(q + 8, 8)};
    return 0;
}

static int rd_ms(dump_rin *in, int64_t *ms)
{
    const unsigned char *q;
    if (dump_rd_bytes(in, 8, &q) < 0) return -1;
    *ms = (int64_t)dump_get_le(q, 8);
    return 0;
}

static int load_consumers(dump_rin *in, stream *s, sgroup *g)
{
    uint64_t ncons, npel;
    if (dump_rd_count(in, &ncons) < 0) return -1;
    for (uint64_t i = 0; i < ncons; i++) {
        dump_rstr name;
        int64_t seen;
        if (dump_rd_string(in, &name) < 0) return -1;
        sconsumer *sc = stream_consumer_add(s, g, name.p, name.n);
        dump_rstr_free(&name);
        if (!sc || rd_ms(in, &seen) < 0 || dump_rd_count(in, &npel) < 0) return -1;
        sc->seen_ms = seen;
        sc->active_ms = seen; /* 7.0 keeps no active time: Redis 7.2 takes the seen time too */
        for (uint64_t j = 0; j < npel; j++) {
            sid id;
            if (rd_raw_id(in, &id) < 0) return -1;
            snack *nk = sidx_find(&g->pel, id);
            if (!nk || nk->owner) return -1; /* not pending, or owned twice */
            nk->owner = sc;
            sidx_insert(&sc->pel, id, nk);
        }
    }
    for (spos p = sidx_first(&g->pel); spos_valid(&g->pel, p); sidx_next(&g->pel, &p))
        if (!((snack *)spos_val(&g->pel, p))->owner) return -1;
    return 0;
}

static int load_group(dump_rin *in, stream *s, int v2)
{
    dump_rstr name;
    sid last;
    uint64_t er, npel;
    if (dump_rd_string(in, &name) < 0) return -1;
    if (rd_id(in, &last) < 0 || (v2 && dump_rd_count(in, &er) < 0)) {
        dump_rstr_free(&name);
        return -1;
    }
    int64_t read = v2 ? (int64_t)er : stream_estimate_read(s, last);
    sgroup *g = read >= -1 ? stream_group_create(s, name.p, name.n, last, read) : NULL;
    dump_rstr_free(&name);
    if (!g || dump_rd_count(in, &npel) < 0) return -1;
    for (uint64_t i = 0; i < npel; i++) {
        sid id;
        int64_t ms;
        uint64_t cnt;
        if (rd_raw_id(in, &id) < 0 || rd_ms(in, &ms) < 0 || dump_rd_count(in, &cnt) < 0) return -1;
        if (sidx_find(&g->pel, id)) return -1;
        snack *nk = dmem_alloc(s->mem, sizeof(*nk));
        *nk = (snack){ms, cnt, NULL}; /* owner set by its consumer's PEL */
        sidx_insert(&g->pel, id, nk);
    }
    return load_consumers(in, s, g);
}

static int load_stream(dump_rin *in, stream *s, unsigned type)
{
    sload l = {.s = s};
    uint64_t nodes, len;
    int v2 = type == RDB_T_STREAM_LISTPACKS_2;
    if (dump_rd_count(in, &nodes) < 0) return -1;
    for (uint64_t i = 0; i < nodes; i++) {
        dump_rstr key, lp;
        int r = -1;
        if (dump_rd_string(in, &key) < 0) return -1;
        if (key.n == 16 && dump_rd_string(in, &lp) == 0) {
            const unsigned char *k = (const unsigned char *)key.p;
            r = load_node(&l, (sid){dump_get_be(k, 8), dump_get_be(k + 8, 8)}, &lp);
            dump_rstr_free(&lp);
        }
        dump_rstr_free(&key);
        if (r < 0) {
            close_chunk(&l); /* linked, so freed with the stream */
            return -1;
        }
    }
    sid first;
    if (dump_rd_count(in, &len) < 0 || rd_id(in, &s->last_id) < 0) return -1;
    if (v2 && (rd_id(in, &first) < 0 || rd_id(in, &s->max_deleted) < 0 ||
               dump_rd_count(in, &s->entries_added) < 0))
        return -1;
    if (!v2) s->entries_added = len; /* Redis's own guess for a stream from before 7.0 */
    if (len != l.live || s->entries_added < len) return -1;
    if (l.any && sid_cmp(l.prev, s->last_id) > 0) return -1;
    uint64_t ngroups;
    if (dump_rd_count(in, &ngroups) < 0) return -1;
    for (uint64_t i = 0; i < ngroups; i++)
        if (load_group(in, s, v2) < 0) return -1;
    return 0;
}

dentry *stream_dump_decode(data_store *ds, const char *key, size_t klen, int64_t expire_ms,
                           dump_rin *in, unsigned type)
{
    SYN_ASSERT(type == RDB_T_STREAM_LISTPACKS || type == RDB_T_STREAM_LISTPACKS_2);
    dentry *e = stream_new_entry(&ds->mem, key, klen, expire_ms);
    if (load_stream(in, stream_of(e), type) < 0) {
        dentry_free(&ds->mem, e);
        return NULL;
    }
    return e;
}
