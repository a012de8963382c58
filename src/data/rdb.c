/* rdb.c — the whole dataset as one Redis 7.0 RDB file (RDB version 10), what `redis-cli --rdb`
 * receives from SYNC (server/cmd_persist.c), so a backup taken from synod loads into
 * redis-server (and `redis-check-rdb` accepts it).
 *
 * Layout, as Redis's rdbSaveRio writes it: "REDIS0010"; auxiliary fields (0xFA key value); one
 * function library's code per 0xF5 record; then per database with keys 0xFE db, 0xFB (resize
 * hint: keys, keys with an expiry), and per key [0xFC expiry ms, 8 bytes LE] type key value;
 * then 0xFF and the CRC-64/Jones of every byte before it (LE). Values are DUMP's encodings
 * (dump.c: uncompressed, Redis's compact forms). Keys already expired are left out. */
#include "data/data.h"
#include "data/dump_internal.h"
#include "util/crc64.h"

enum {
    RDB_OP_FUNCTION2 = 0xF5,
    RDB_OP_EXPIRETIME_MS = 0xFC,
    RDB_OP_AUX = 0xFA,
    RDB_OP_RESIZEDB = 0xFB,
    RDB_OP_SELECTDB = 0xFE,
    RDB_OP_EOF = 0xFF,
};

/* Built this far, a streamed file goes to its sink (data_rdb_stream). */
#define RDB_SPILL_BYTES (1u << 20)

typedef struct {
    dump_buf *out;
    dump_buf val; /* one value's DUMP payload, reused */
    int64_t now_ms;
    uint64_t keys, expires; /* counted by a first pass */
    /* streaming: out is handed to sink (and emptied) once it holds RDB_SPILL_BYTES, crc covers
     * what was handed; NULL sink: the whole file stays in out */
    int (*sink)(void *ctx, const void *p, size_t len);
    void *sink_ctx;
    uint64_t crc;
    int failed; /* the sink failed: nothing more is built */
} rdb_walk;

static void spill(rdb_walk *w, size_t at_least)
{
    if (!w->sink || w->failed || w->out->len < at_least) return;
    w->crc = crc64_jones(w->crc, w->out->p, w->out->len);
    if (w->sink(w->sink_ctx, w->out->p, w->out->len) < 0) w->failed = 1;
    w->out->len = 0;
}

static void count_cb(void *ctx, dentry *e)
{
    rdb_walk *w = ctx;
    if (ks_is_expired(e, w->now_ms)) return;
    w->keys++;
    w->expires += dentry_expire(e) >= 0;
}

static void key_cb(void *ctx, dentry *e)
{
    rdb_walk *w = ctx;
    if (w->failed || ks_is_expired(e, w->now_ms)) return;
    int64_t at = dentry_expire(e);
    if (at >= 0) {
        dump_put_byte(w->out, RDB_OP_EXPIRETIME_MS);
        dump_put_le(w->out, (uint64_t)at, 8);
    }
    w->val.len = 0;
    dump_encode(e, &w->val); /* type, value, then the footer left out here */
    dump_put_byte(w->out, w->val.p[0]);
    dump_put_string(w->out, dentry_key(e), e->klen);
    dump_buf_put(w->out, w->val.p + 1, w->val.len - 1 - DUMP_FOOTER);
    spill(w, RDB_SPILL_BYTES);
}

/* The file into b, or through sink (see rdb_walk); 0, or -1 once the sink failed. */
static int build(data_store *ds, int64_t now_ms, const data_arg *aux, size_t naux,
                 const data_arg *libs, size_t nlibs, int with_keys, dump_buf *b,
                 int (*sink)(void *ctx, const void *p, size_t len), void *ctx)
{
    rdb_walk w = {b, {0}, now_ms, 0, 0, sink, ctx, 0, 0};
    dump_buf_put(b, "REDIS0010", 9);
    for (size_t i = 0; i + 1 < naux; i += 2) {
        dump_put_byte(b, RDB_OP_AUX);
        dump_put_string(b, aux[i].ptr, aux[i].len);
        dump_put_string(b, aux[i + 1].ptr, aux[i + 1].len);
    }
    for (size_t i = 0; i < nlibs; i++) {
        dump_put_byte(b, RDB_OP_FUNCTION2);
        dump_put_string(b, libs[i].ptr, libs[i].len);
        spill(&w, RDB_SPILL_BYTES);
    }
    for (int db = 0; with_keys && db < ds->ndb && !w.failed; db++) {
        w.keys = w.expires = 0;
        dict_each(ks_db_keys(ds, db), count_cb, &w);
        if (!w.keys) continue;
        dump_put_byte(b, RDB_OP_SELECTDB);
        dump_put_len(b, (uint64_t)db);
        dump_put_byte(b, RDB_OP_RESIZEDB);
        dump_put_len(b, w.keys);
        dump_put_len(b, w.expires);
        dict_each(ks_db_keys(ds, db), key_cb, &w);
    }
    dump_buf_free(&w.val);
    dump_put_byte(b, RDB_OP_EOF);
    w.crc = crc64_jones(w.crc, b->p, b->len);
    dump_put_le(b, w.crc, 8);
    spill(&w, 0);
    return w.failed ? -1 : 0;
}

char *data_rdb(data_store *ds, int64_t now_ms, const data_arg *aux, size_t naux,
               const data_arg *libs, size_t nlibs, int with_keys, size_t *len)
{
    dump_buf b = {0};
    (void)build(ds, now_ms, aux, naux, libs, nlibs, with_keys, &b, NULL, NULL);
    *len = b.len;
    return (char *)b.p;
}

int data_rdb_stream(data_store *ds, int64_t now_ms, const data_arg *aux, size_t naux,
                    const data_arg *libs, size_t nlibs, int with_keys,
                    int (*sink)(void *ctx, const void *p, size_t len), void *ctx)
{
    dump_buf b = {0};
    int rc = build(ds, now_ms, aux, naux, libs, nlibs, with_keys, &b, sink, ctx);
    dump_buf_free(&b);
    return rc;
}
