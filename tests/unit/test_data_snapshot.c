/* test_data_snapshot.c — snapshot round trip, and rejection of every corrupted or truncated
 * snapshot with the dataset left unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data_recorder.h"
#include "util/crc32c.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int chunks;
} sbuf;

static int sbuf_write(void *ctx, const void *buf, size_t len)
{
    sbuf *b = ctx;
    assert_true(len > 0 && len <= 64 * 1024);
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    b->chunks++;
    return 0;
}

static sbuf save(data_store *ds)
{
    sbuf b = {0};
    assert_int_equal(data_snapshot_save(ds, sbuf_write, &b), 0);
    return b;
}

/* A canonical text of the whole dataset: keys sorted, with type, expiry and contents. */
static char *dump(data_store *ds)
{
    char *keys = strdup(rec_run(ds, "KEYS *", NULL));
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    /* tokens after "*n" are the quoted key names, with no spaces in these tests */
    char *save_ptr;
    char *tok[4096];
    int n = 0;
    for (char *t = strtok_r(keys, " ", &save_ptr); t; t = strtok_r(NULL, " ", &save_ptr))
        if (t[0] == '"' && n < 4096) tok[n++] = t;
    qsort(tok, (size_t)n, sizeof tok[0], rec_cmp_tok);
    for (int i = 0; i < n; i++) {
        char line[512];
        const char *cmds[] = {"TYPE", "PEXPIRETIME", "GET", "HGETALL", "SMEMBERS"};
        for (int c = 0; c < 5; c++) {
            snprintf(line, sizeof line, "%s %s", cmds[c], tok[i]);
            char *r = strdup(rec_run(ds, line, NULL));
            if (c >= 3) rec_sort_tokens(r);
            size_t need = strlen(tok[i]) + strlen(r) + 8;
            if (len + need >= cap) {
                cap = (len + need) * 2;
                out = realloc(out, cap);
            }
            len += (size_t)sprintf(out + len, "%s %s\n", tok[i], r);
            free(r);
        }
    }
    free(keys);
    return out;
}

static void fill(data_store *ds)
{
    assert_reply(ds, "SET s1 hello", "+OK");
    assert_reply(ds, "SET empty \"\"", "+OK");
    assert_reply(ds, "SET \"bin\\x00key\" \"\\x00\\x01\\xff\"", "+OK");
    assert_reply(ds, "SET ttl v PXAT 1800000000000", "+OK");
    assert_reply(ds, "SET gone v PXAT 1", "+OK"); /* logically expired, still stored */
    assert_reply(ds, "HSET h a 1 b 2", ":2");
    assert_reply(ds, "HSET ht f v", ":1");
    assert_reply(ds, "PEXPIREAT ht 1900000000000", ":1");
    assert_reply(ds, "INCRBY n -42", ":-42");
    assert_reply(ds, "SADD si 3 -70000 1", ":3"); /* intset */
    assert_reply(ds, "SADD st a \"\" 7", ":3");   /* table */
    assert_reply(ds, "SADD sx x", ":1");
    assert_reply(ds, "PEXPIREAT sx 1900000000000", ":1");
}

static void fill_big(data_store *ds)
{
    char line[256];
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line, "HSET big field:%d value:%d", i, i);
        assert_reply(ds, line, ":1");
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(line, sizeof line, "SET key:%d 0123456789abcdef0123456789abcdef%d", i, i);
        assert_reply(ds, line, "+OK");
    }
    assert_reply(ds, "SETRANGE large 100000 x", ":100001");
    for (int i = 0; i < 600; i++) { /* an intset that became a table at 513 members */
        snprintf(line, sizeof line, "SADD bigset %d", i * 1000);
        assert_reply(ds, line, ":1");
    }
}

static void round_trip(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    fill(a);
    fill_big(a);
    sbuf s = save(a);
    assert_true(s.chunks > 1); /* more than one 64 KB chunk */
    assert_reply(b, "SET old v", "+OK");
    assert_int_equal(data_snapshot_load(b, s.p, s.len), 0);
    char *da = dump(a), *db = dump(b);
    assert_string_equal(da, db);
    assert_reply(b, "EXISTS old", ":0");
    assert_reply(b, "DBSIZE", ":2014");
    assert_reply(b, "GET gone", "(nil)");
    assert_reply(b, "PEXPIRETIME ttl", ":1800000000000");
    data_stats sa, sb;
    data_get_stats(a, &sa);
    data_get_stats(b, &sb);
    assert_int_equal(sa.keys, sb.keys);
    assert_int_equal(sa.expires, sb.expires);
    /* the loaded dataset is fully usable (hash tables re-pointed to the new store) */
    assert_reply(b, "HSET big field:1 changed", ":0");
    assert_reply(b, "HDEL big field:2", ":1");
    assert_reply(b, "HLEN big", ":299");
    assert_reply(b, "SADD bigset 1 x", ":2");
    assert_reply(b, "SREM bigset 0 1000", ":2");
    assert_reply(b, "SCARD bigset", ":600");
    assert_reply(b, "SMEMBERS si", "~3 \"-70000\" \"1\" \"3\"");
    assert_reply(b, "PEXPIRETIME sx", ":1900000000000");
    /* an empty dataset round-trips too */
    data_store *e = data_create();
    sbuf s2 = save(e);
    assert_int_equal(data_snapshot_load(b, s2.p, s2.len), 0);
    assert_reply(b, "DBSIZE", ":0");
    free(da);
    free(db);
    free(s.p);
    free(s2.p);
    data_destroy(a);
    data_destroy(b);
    data_destroy(e);
}

static void every_corruption_is_rejected(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    fill(a);
    sbuf s = save(a);
    assert_reply(b, "SET keep me", "+OK");
    char *before = dump(b);
    unsigned char *copy = malloc(s.len);
    for (size_t i = 0; i < s.len; i++) {
        for (int m = 0; m < 3; m++) {
            static const unsigned char masks[] = {0x01, 0x80, 0xff};
            memcpy(copy, s.p, s.len);
            copy[i] ^= masks[m];
            int rc = data_snapshot_load(b, copy, s.len);
            if (rc >= 0) fail_msg("flip of byte %zu with mask %#x was accepted", i, masks[m]);
        }
    }
    for (size_t n = 0; n < s.len; n++) {
        int rc = data_snapshot_load(b, s.p, n);
        if (rc >= 0) fail_msg("truncation to %zu bytes was accepted", n);
    }
    /* trailing garbage */
    unsigned char *longer = malloc(s.len + 1);
    memcpy(longer, s.p, s.len);
    longer[s.len] = 0;
    assert_true(data_snapshot_load(b, longer, s.len + 1) < 0);
    char *after = dump(b);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(copy);
    free(longer);
    free(s.p);
    data_destroy(a);
    data_destroy(b);
}

/* Hand-built snapshots with a valid CRC but malformed content. */
typedef struct {
    unsigned char b[512];
    size_t n;
} craft;

static void c_u(craft *c, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        c->b[c->n++] = (unsigned char)(v >> (8 * i));
}
static void c_s(craft *c, const char *s)
{
    c_u(c, strlen(s), 4);
    memcpy(c->b + c->n, s, strlen(s));
    c->n += strlen(s);
}
static void c_hdr(craft *c, uint32_t version)
{
    c->n = 0;
    memcpy(c->b, "SYNODDS", 8);
    c->n = 8;
    c_u(c, version, 4);
    c_u(c, 0, 4);
}
static void c_end(craft *c, uint64_t count)
{
    c_u(c, 0xff, 1);
    c_u(c, count, 8);
    c_u(c, crc32c(0, c->b, c->n), 4);
}

/* The aux state (the function library) travels in the snapshot: a load replaces it (an absent
 * record empties it) and moves its generation; it is accepted once, first, from version 5. */
static void aux_state(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    assert_int_equal(data_set_aux(a, "libs\0bytes", 10), 0);
    assert_reply(a, "SET k v", "+OK");
    assert_int_equal(data_set_aux(b, "old", 3), 0);
    uint64_t g0, g1;
    size_t n;
    (void)data_get_aux(b, NULL, &g0);
    sbuf s = save(a);
    assert_int_equal(data_snapshot_load(b, s.p, s.len), 0);
    const char *p = data_get_aux(b, &n, &g1);
    assert_int_equal(n, 10);
    assert_memory_equal(p, "libs\0bytes", 10);
    assert_true(g1 != g0);
    assert_reply(b, "GET k", "\"v\"");
    free(s.p);
    data_store *e = data_create();
    s = save(e); /* no aux: loading it empties b's */
    assert_int_equal(data_snapshot_load(b, s.p, s.len), 0);
    (void)data_get_aux(b, &n, &g0);
    assert_int_equal(n, 0);
    assert_true(g0 != g1);
    free(s.p);
    craft c;
    c_hdr(&c, 4); /* before version 5 there is no aux record */
    c_u(&c, 6, 1), c_s(&c, "x");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 5); /* twice */
    c_u(&c, 6, 1), c_s(&c, "x"), c_u(&c, 6, 1), c_s(&c, "y");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 5); /* once */
    c_u(&c, 6, 1), c_s(&c, "x");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), 0);
    p = data_get_aux(b, &n, NULL);
    assert_int_equal(n, 1);
    assert_memory_equal(p, "x", 1);
    data_destroy(a);
    data_destroy(b);
    data_destroy(e);
}

static void crafted_snapshots(void **state)
{
    (void)state;
    data_store *ds = data_create();
    assert_reply(ds, "SET keep me", "+OK");
    craft c;
    /* valid: one string, one hash */
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_u(&c, 2, 1), c_u(&c, 1, 1), c_u(&c, 1800000000000ull, 8), c_s(&c, "h"), c_u(&c, 1, 4);
    c_s(&c, "f"), c_s(&c, "x");
    c_end(&c, 2);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), 0);
    assert_reply(ds, "GET k", "\"v\"");
    assert_reply(ds, "HGET h f", "\"x\"");
    assert_reply(ds, "PEXPIRETIME h", ":1800000000000");
    /* unsupported versions */
    c_hdr(&c, 11); /* the first version this build does not know */
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_EVERSION);
    c_hdr(&c, 0);
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_EVERSION);
    /* version 2: a list (head to tail) next to a string */
    c_hdr(&c, 2);
    c_u(&c, 3, 1), c_u(&c, 1, 1), c_u(&c, 1800000000000ull, 8), c_s(&c, "l"), c_u(&c, 3, 8);
    c_s(&c, "a"), c_s(&c, ""), c_s(&c, "c");
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_end(&c, 2);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), 0);
    assert_reply(ds, "LRANGE l 0 -1", "*3 \"a\" \"\" \"c\"");
    assert_reply(ds, "PEXPIRETIME l", ":1800000000000");
    assert_reply(ds, "TYPE l", "+list");
    /* a list record in a version 1 file, an empty list, a count past the bytes left */
    c_hdr(&c, 1);
    c_u(&c, 3, 1), c_u(&c, 0, 1), c_s(&c, "l"), c_u(&c, 1, 8), c_s(&c, "a");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 2);
    c_u(&c, 3, 1), c_u(&c, 0, 1), c_s(&c, "l"), c_u(&c, 0, 8);
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 2);
    c_u(&c, 3, 1), c_u(&c, 0, 1), c_s(&c, "l"), c_u(&c, 2, 8), c_s(&c, "a");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 2);
    c_u(&c, 3, 1), c_u(&c, 0, 1), c_s(&c, "l"), c_u(&c, 1ull << 62, 8), c_s(&c, "a");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    assert_reply(ds, "LRANGE l 0 -1", "*3 \"a\" \"\" \"c\""); /* unchanged by failures */
    /* version 3 carries sets; versions 1 and 2 have none */
    c_hdr(&c, 3);
    c_u(&c, 4, 1), c_u(&c, 0, 1), c_s(&c, "s"), c_u(&c, 2, 4), c_s(&c, "10"), c_s(&c, "m");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), 0);
    assert_reply(ds, "SMISMEMBER s 10 m x", "*3 :1 :1 :0");
    for (int v = 1; v <= 2; v++) { /* the same bytes as a version 1 or 2 snapshot */
        c.b[8] = (unsigned char)v;
        c.n -= 4;
        c_u(&c, crc32c(0, c.b, c.n), 4);
        assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    }
    /* an empty set, a repeated member (also across encodings: 5 then "5") */
    c_hdr(&c, 3);
    c_u(&c, 4, 1), c_u(&c, 0, 1), c_s(&c, "s"), c_u(&c, 0, 4);
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 3);
    c_u(&c, 4, 1), c_u(&c, 0, 1), c_s(&c, "s"), c_u(&c, 3, 4);
    c_s(&c, "5"), c_s(&c, "x"), c_s(&c, "5");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1); /* back to the first valid load's contents */
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_u(&c, 2, 1), c_u(&c, 1, 1), c_u(&c, 1800000000000ull, 8), c_s(&c, "h"), c_u(&c, 1, 4);
    c_s(&c, "f"), c_s(&c, "x");
    c_end(&c, 2);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), 0);
    /* duplicate key */
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "w");
    c_end(&c, 2);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    /* empty hash, duplicate field, unknown kind, unknown flag, negative expiry, bad count */
    c_hdr(&c, 1);
    c_u(&c, 2, 1), c_u(&c, 0, 1), c_s(&c, "h"), c_u(&c, 0, 4);
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1);
    c_u(&c, 2, 1), c_u(&c, 0, 1), c_s(&c, "h"), c_u(&c, 2, 4);
    c_s(&c, "f"), c_s(&c, "1"), c_s(&c, "f"), c_s(&c, "2");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1);
    c_u(&c, 9, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 2, 1), c_s(&c, "k"), c_s(&c, "v");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 1, 1), c_u(&c, (uint64_t)-5, 8), c_s(&c, "k"), c_s(&c, "v");
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_s(&c, "k"), c_s(&c, "v");
    c_end(&c, 2);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    /* a length running past the end */
    c_hdr(&c, 1);
    c_u(&c, 1, 1), c_u(&c, 0, 1), c_u(&c, 1000, 4);
    c_end(&c, 1);
    assert_int_equal(data_snapshot_load(ds, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    /* the last valid load is still in place */
    assert_reply(ds, "DBSIZE", ":2");
    assert_reply(ds, "GET k", "\"v\"");
    data_destroy(ds);
}

static int failing_write(void *ctx, const void *buf, size_t len)
{
    (void)buf, (void)len;
    int *calls = ctx;
    return ++*calls == 2 ? -7 : 0;
}

/* Databases (SELECT): each key comes back in its own database, the digest tells databases
 * apart, and select records are checked (ascending, within this store's `databases`, v9+). */
static void databases_round_trip(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    assert_reply(a, "SET k zero", "+OK");
    assert_int_equal(data_select(a, 3), 0);
    assert_reply(a, "SET k three", "+OK");
    assert_reply(a, "RPUSH l x y", ":2");
    assert_int_equal(data_select(a, 15), 3);
    assert_reply(a, "SET k fifteen", "+OK");
    assert_reply(a, "PEXPIREAT k 4102444800000", ":1");
    assert_int_equal(data_select(a, 16), -1); /* out of range: nothing changes */
    assert_int_equal(data_selected(a), 15);
    assert_int_equal(data_select(a, 0), 15);
    char da[33], db[33];
    data_digest(a, da);
    sbuf s = save(a);
    assert_int_equal(data_snapshot_load(b, s.p, s.len), 0);
    data_digest(b, db);
    assert_string_equal(da, db);
    assert_reply(b, "GET k", "\"zero\"");
    assert_int_equal(data_select(b, 3), 0);
    assert_reply(b, "GET k", "\"three\"");
    assert_reply(b, "LRANGE l 0 -1", "*2 \"x\" \"y\"");
    assert_int_equal(data_select(b, 15), 3);
    assert_reply(b, "PEXPIRETIME k", ":4102444800000");
    assert_int_equal(data_select(b, 0), 15);
    uint64_t keys, expires;
    data_db_sizes(b, 15, &keys, &expires);
    assert_int_equal(keys, 1);
    assert_int_equal(expires, 1);
    /* the same keys in another database are another dataset */
    assert_reply(b, "MOVE k 7", ":1");
    data_digest(b, db);
    assert_string_not_equal(da, db);
    /* a store with fewer databases refuses the snapshot, and keeps its data */
    data_store *c = data_create();
    assert_int_equal(data_set_databases(c, 4), 0);
    assert_reply(c, "SET mine v", "+OK");
    assert_int_equal(data_snapshot_load(c, s.p, s.len), DATA_SNAPSHOT_ECORRUPT);
    assert_reply(c, "GET mine", "\"v\"");
    assert_int_equal(data_set_databases(c, 8), -1); /* only while empty */
    free(s.p);
    /* crafted: select records ascending, 1..databases-1, from version 9 */
    craft cr;
    static const struct {
        uint32_t version;
        uint32_t dbs[2];
        int ok;
    } t[] = {{9, {2, 5}, 0},  {9, {5, 2}, -1},  {9, {2, 2}, -1},
             {9, {0, 1}, -1}, {9, {1, 16}, -1}, {8, {1, 2}, -1}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        c_hdr(&cr, t[i].version);
        for (int j = 0; j < 2; j++) {
            c_u(&cr, 10, 1), c_u(&cr, t[i].dbs[j], 4);
            c_u(&cr, 1, 1), c_u(&cr, 0, 1), c_s(&cr, "k"), c_s(&cr, "v");
        }
        c_end(&cr, 2);
        int rc = data_snapshot_load(b, cr.b, cr.n);
        assert_int_equal(rc == 0 ? 0 : -1, t[i].ok);
    }
    data_db_sizes(b, 1, &keys, &expires);
    assert_int_equal(keys, 0); /* the failed loads left the last good one: 2 and 5 */
    data_db_sizes(b, 2, &keys, &expires);
    assert_int_equal(keys, 1);
    data_db_sizes(b, 5, &keys, &expires);
    assert_int_equal(keys, 1);
    data_destroy(a);
    data_destroy(b);
    data_destroy(c);
}

/* MOVE / SWAPDB / COPY DB / FLUSHDB / FLUSHALL as Redis 7.0 (replies checked byte for byte
 * against redis-server in compat/test_compat_db.py; here: the state each leaves). */
static void database_commands(void **state)
{
    (void)state;
    data_store *ds = data_create();
    assert_reply(ds, "SET a 1", "+OK");
    assert_reply(ds, "PEXPIREAT a 4102444800000", ":1");
    assert_reply(ds, "MOVE a 2", ":1");
    assert_reply(ds, "EXISTS a", ":0");
    uint64_t keys, expires;
    data_db_sizes(ds, 2, &keys, &expires);
    assert_int_equal(keys, 1);
    assert_int_equal(expires, 1);
    data_db_sizes(ds, 0, &keys, &expires);
    assert_int_equal(expires, 0);
    assert_reply(ds, "SWAPDB 0 2", "+OK");
    assert_reply(ds, "PEXPIRETIME a", ":4102444800000");
    assert_reply(ds, "COPY a b DB 5", ":1");
    assert_reply(ds, "COPY a b DB 5", ":0");
    data_select(ds, 5);
    assert_reply(ds, "PEXPIRETIME b", ":4102444800000");
    assert_reply(ds, "FLUSHDB", "+OK");
    data_select(ds, 0);
    assert_reply(ds, "DBSIZE", ":1");
    data_select(ds, 9);
    assert_reply(ds, "SET z 1", "+OK");
    assert_reply(ds, "FLUSHALL", "+OK");
    assert_int_equal(data_selected(ds), 9);
    for (int i = 0; i < 16; i++) {
        data_db_sizes(ds, i, &keys, &expires);
        assert_int_equal(keys + expires, 0);
    }
    /* databases: 2 (SWAPDB has no third database to park on) */
    data_store *two = data_create();
    assert_int_equal(data_set_databases(two, 2), 0);
    assert_reply(two, "SET k zero", "+OK");
    assert_reply(two, "SWAPDB 1 0", "+OK");
    assert_reply(two, "EXISTS k", ":0");
    assert_reply(two, "SWAPDB 0 1", "+OK");
    assert_reply(two, "GET k", "\"zero\"");
    assert_reply(two, "MOVE k 2", "-ERR DB index is out of range");
    data_destroy(ds);
    data_destroy(two);
}

static void writer_error_is_returned(void **state)
{
    (void)state;
    data_store *ds = data_create();
    fill_big(ds);
    int calls = 0;
    assert_int_equal(data_snapshot_save(ds, failing_write, &calls), -7);
    assert_int_equal(calls, 2); /* stops at the first error */
    data_destroy(ds);
}

/* data_prefetch is a hint: every stage, on every kind of key (missing, string, packed hash,
 * table hash, while a table rehashes), leaves the dataset byte for byte as it was. Under ASan
 * this also catches a stage that reads freed or unowned memory. */
static void prefetch_changes_nothing(void **state)
{
    (void)state;
    data_store *ds = data_create();
    fill(ds);
    fill_big(ds);
    char line[128];
    for (int i = 0; i < 300; i++) { /* grow "big" past 512 fields: a rehash is crossed */
        snprintf(line, sizeof line, "HSET big more:%d x", i);
        assert_reply(ds, line, ":1");
        sbuf before = save(ds);
        const char *keys[] = {"big", "h", "s1", "nokey", "key:7", "big"};
        const char *fields[] = {"field:3", "a", "x", "y", "z", "more:0"};
        const char *cmds[] = {"HSET", "hget", "SET", "GET", "HINCRBY", "HDEL"};
        for (int k = 0; k < 6; k++) {
            data_arg argv[3] = {{cmds[k], strlen(cmds[k])},
                                {keys[k], strlen(keys[k])},
                                {fields[k], strlen(fields[k])}};
            data_prefetch_state st;
            for (int stage = 0; stage < 4; stage++)
                data_prefetch(ds, 3, argv, stage, &st);
            for (int stage = 0; stage < 4; stage++) /* two-argument form */
                data_prefetch(ds, 2, argv, stage, &st);
        }
        sbuf after = save(ds);
        assert_int_equal(before.len, after.len);
        assert_memory_equal(before.p, after.p, before.len);
        free(before.p);
        free(after.p);
    }
    data_destroy(ds);
}

/* ---- the cluster's settings (CONFIG_EFFECT, settings.c) ---- */

typedef struct {
    char calls[1024]; /* "c:name=value a:name=value ..." (check / apply), "reload" */
} settings_rec;

static int settings_hook(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen,
                         int apply, char *err, size_t cap)
{
    settings_rec *r = ctx;
    size_t used = strlen(r->calls);
    if (!name) {
        snprintf(r->calls + used, sizeof(r->calls) - used, "reload ");
        return 0;
    }
    snprintf(r->calls + used, sizeof(r->calls) - used, "%s:%.*s=%.*s ", apply ? "a" : "c",
             (int)nlen, name, (int)vlen, value);
    if (nlen == 3 && memcmp(name, "bad", 3) == 0) {
        snprintf(err, cap, "ERR bad is refused");
        return -1;
    }
    return 0;
}

static void setting_text(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *out = ctx;
    size_t used = strlen(out);
    snprintf(out + used, 512 - used, "%.*s=%.*s ", (int)nlen, name, (int)vlen, value);
}

static void settings_table(const data_store *ds, char out[512])
{
    out[0] = '\0';
    data_settings_each(ds, setting_text, out);
}

static void cluster_settings(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    settings_rec ra = {{0}}, rb = {{0}};
    data_set_settings_hook(a, settings_hook, &ra);
    data_set_settings_hook(b, settings_hook, &rb);
    char d0[33], d1[33], t[512];
    data_digest(a, d0);
    /* every pair checked, then every pair stored and applied; names kept sorted */
    assert_reply(a, "CONFIG_EFFECT zz 1 aa 2", "+OK");
    assert_string_equal(ra.calls, "c:zz=1 c:aa=2 a:zz=1 a:aa=2 ");
    settings_table(a, t);
    assert_string_equal(t, "aa=2 zz=1 ");
    /* one refused pair: the hook's error, nothing stored or applied */
    ra.calls[0] = '\0';
    assert_reply(a, "CONFIG_EFFECT aa 3 bad 1", "-ERR bad is refused");
    assert_string_equal(ra.calls, "c:aa=3 c:bad=1 ");
    settings_table(a, t);
    assert_string_equal(t, "aa=2 zz=1 ");
    assert_reply(a, "CONFIG_EFFECT aa 3 zz",
                 "-ERR wrong number of arguments for 'config_effect' "
                 "command");
    /* at most 256 settings: a new name past that is refused whole, a known one still changes */
    for (int i = 0; i < 254; i++) {
        char line[64];
        snprintf(line, sizeof line, "CONFIG_EFFECT n%03d v", i);
        assert_reply(a, line, "+OK");
    }
    assert_int_equal(data_settings_count(a), 256);
    ra.calls[0] = '\0';
    assert_reply(a, "CONFIG_EFFECT aa 4 new 1", "-ERR CONFIG_EFFECT: too many cluster settings");
    assert_string_equal(ra.calls, "c:aa=4 c:new=1 "); /* checked, nothing applied */
    assert_int_equal(data_settings_count(a), 256);
    data_store *big = data_create();
    sbuf sb = save(a);
    assert_int_equal(data_snapshot_load(big, sb.p, sb.len), 0); /* the bound loads back */
    assert_int_equal(data_settings_count(big), 256);
    free(sb.p);
    data_destroy(big);
    data_destroy(a);
    a = data_create();
    data_set_settings_hook(a, settings_hook, &ra);
    assert_reply(a, "CONFIG_EFFECT aa 2 zz 1", "+OK");
    assert_reply(a, "CONFIG_EFFECT zz 5", "+OK"); /* replaced */
    settings_table(a, t);
    assert_string_equal(t, "aa=2 zz=5 ");
    data_digest(a, d1);
    assert_string_not_equal(d0, d1); /* in the digest */
    /* a snapshot carries them; the loader's hook hears "reload" */
    sbuf s = save(a);
    assert_int_equal(data_snapshot_load(b, s.p, s.len), 0);
    free(s.p);
    settings_table(b, t);
    assert_string_equal(t, "aa=2 zz=5 ");
    assert_string_equal(rb.calls, "reload ");
    char d2[33];
    data_digest(b, d2);
    assert_string_equal(d1, d2);
    /* malformed records: before version 10, unsorted, twice, empty: refused, b unchanged */
    craft c;
    c_hdr(&c, 9);
    c_u(&c, 11, 1), c_u(&c, 1, 4), c_s(&c, "a"), c_s(&c, "1");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 10);
    c_u(&c, 11, 1), c_u(&c, 2, 4), c_s(&c, "b"), c_s(&c, "1"), c_s(&c, "a"), c_s(&c, "1");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 10);
    c_u(&c, 11, 1), c_u(&c, 1, 4), c_s(&c, "a"), c_s(&c, "1");
    c_u(&c, 11, 1), c_u(&c, 1, 4), c_s(&c, "b"), c_s(&c, "1");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    c_hdr(&c, 10);
    c_u(&c, 11, 1), c_u(&c, 0, 4);
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), DATA_SNAPSHOT_ECORRUPT);
    settings_table(b, t);
    assert_string_equal(t, "aa=2 zz=5 ");
    /* a valid one replaces the table; an older snapshot (none) empties it */
    c_hdr(&c, 10);
    c_u(&c, 11, 1), c_u(&c, 1, 4), c_s(&c, "n"), c_s(&c, "v");
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), 0);
    settings_table(b, t);
    assert_string_equal(t, "n=v ");
    c_hdr(&c, 9);
    c_end(&c, 0);
    assert_int_equal(data_snapshot_load(b, c.b, c.n), 0);
    assert_int_equal(data_settings_count(b), 0);
    data_destroy(a);
    data_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(every_corruption_is_rejected),
        cmocka_unit_test(crafted_snapshots),
        cmocka_unit_test(aux_state),
        cmocka_unit_test(databases_round_trip),
        cmocka_unit_test(database_commands),
        cmocka_unit_test(writer_error_is_returned),
        cmocka_unit_test(prefetch_changes_nothing),
        cmocka_unit_test(cluster_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
