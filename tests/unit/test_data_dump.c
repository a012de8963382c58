/* test_data_dump.c — DUMP/RESTORE (dump.c, dump_load.c):
 * - crc64_jones: Redis's test vector, and the table against the bitwise definition;
 * - round trip of every type and encoding (strings int/short/long/binary/empty, packed and table
 *   hashes, intsets of every width and table sets, listpack and skiplist sorted sets, one- and
 *   many-node lists), seeded random contents: the restored value reads the same, has the same
 *   encoding, and (for every encoding but the tables) DUMPs to the same bytes;
 * - payloads only other writers make, built by hand: LZF strings, ziplist lists/hashes/zsets,
 *   quicklist 1, plain quicklist-2 nodes, old lists/sets/hashes/zsets with string doubles;
 * - streams: seeded streams with groups round-trip (XINFO FULL, XPENDING, XRANGE, the next
 *   deliveries, the bytes); redis-server 7.0.15's and Redis 5's payloads restore with the values
 *   Redis reads from them (and 7.0's DUMPs back byte for byte); edited payloads are refused;
 * - RESTORE's semantics: BUSYKEY, REPLACE, relative and absolute TTLs, a TTL in the past, and the
 *   leader's rewrite of a relative TTL to ABSTTL;
 * - corruption: seeded byte flips, truncations, insertions and length edits of valid payloads,
 *   with the CRC recomputed so the decoder sees them: never a crash (ASan), and a payload that
 *   is accepted yields a value that reads and DUMPs again. DATA_SEED=n replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "test_data_helpers.h"
#include "test_data_recorder.h"
#include "util/crc64.h"

/* ---- payload capture ---- */

typedef struct {
    unsigned char *p;
    size_t n;
} blob;

static blob t_blob;
static int t_blob_set;

static void cap_bulk(void *ctx, const char *p, size_t n)
{
    free(t_blob.p);
    t_blob.p = malloc(n ? n : 1);
    memcpy(t_blob.p, p, n);
    t_blob.n = n;
    t_blob_set = 1;
    rec_bulk(ctx, "<payload>", 9);
}

static const data_reply_ops cap_ops = {rec_status, rec_error,      rec_integer, cap_bulk,
                                       rec_null,   rec_null_array, rec_array,   rec_map,
                                       rec_set,    rec_dbl,        NULL,        NULL};

/* DUMP key -> a copy of the payload (the caller frees p). */
static blob dump_key(data_store *ds, const char *key)
{
    data_arg argv[2] = {{"DUMP", 4}, {key, strlen(key)}};
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    t_blob_set = 0;
    (void)data_exec(ds, data_cmd_lookup("dump", 4), 2, argv, t_now_ms, &cap_ops, &t_rec);
    if (!t_blob_set) fail_msg("DUMP %s: %s", key, t_rec.buf);
    blob b = t_blob;
    t_blob = (blob){0};
    return b;
}

/* RESTORE key ttl payload [extra...]; returns the rendered reply. */
static const char *restore(data_store *ds, const char *key, const char *ttl, const void *p,
                           size_t n, const char *extra1, const char *extra2)
{
    data_arg argv[6] = {{"RESTORE", 7}, {key, strlen(key)}, {ttl, strlen(ttl)}, {p, n}};
    int argc = 4;
    if (extra1) argv[argc++] = (data_arg){extra1, strlen(extra1)};
    if (extra2) argv[argc++] = (data_arg){extra2, strlen(extra2)};
    return rec_exec_argv(ds, argc, argv, NULL);
}

/* Redis's footer on a hand-made body. */
static blob with_footer(const void *body, size_t n, unsigned version)
{
    blob b = {malloc(n + 10), n + 10};
    memcpy(b.p, body, n);
    b.p[n] = (unsigned char)version;
    b.p[n + 1] = (unsigned char)(version >> 8);
    uint64_t crc = crc64_jones(0, b.p, n + 2);
    for (int i = 0; i < 8; i++)
        b.p[n + 2 + i] = (unsigned char)(crc >> (8 * i));
    return b;
}

/* Everything a key reads as: type, expiry, encoding, contents (unordered replies sorted). */
static char *contents(data_store *ds, const char *key)
{
    static const char *const reads[] = {"TYPE",    "PEXPIRETIME", "OBJECT ENCODING", "GET",
                                        "HGETALL", "SMEMBERS",    "ZRANGE",          "LRANGE"};
    size_t cap = 4 * REC_MAX, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    int is_hash = 0;
    for (int i = 0; i < 8; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s %s%s", reads[i], key,
                 i == 6   ? " 0 -1 WITHSCORES"
                 : i == 7 ? " 0 -1"
                          : "");
        char *r = strdup(rec_run(ds, line, NULL));
        if (i == 4 || i == 5) rec_sort_tokens(r);
        /* a string edited in place (SETRANGE, SETBIT) is "raw" in Redis too, but it loads
         * from a payload encoded afresh (embstr / int): the encoding of a string is no part
         * of its value */
        if (i == 2 && strcmp(r, "\"raw\"") == 0) {
            free(r);
            r = strdup("\"embstr or raw\"");
        }
        if (i == 2 && strcmp(r, "\"embstr\"") == 0) {
            free(r);
            r = strdup("\"embstr or raw\"");
        }
        /* a hash that went to a table once (a long value since overwritten) loads packed if
         * it fits, in Redis too (RDB_TYPE_HASH of few, short fields; 1 seed in ~70 here): the
         * encoding of a hash is checked by the canonical re-DUMP below instead */
        if (i == 2 && is_hash) {
            free(r);
            r = strdup("\"a hash encoding\"");
        }
        if (i == 0) is_hash = strcmp(r, "+hash") == 0;
        size_t k = strlen(r);
        if (len + k + 2 < cap) {
            memcpy(out + len, r, k);
            len += k;
            out[len++] = '\n';
            out[len] = '\0';
        }
        free(r);
    }
    return out;
}

/* ---- crc64 ---- */

static uint64_t crc64_bitwise(const unsigned char *p, size_t n)
{
    uint64_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ull : crc >> 1;
    }
    return crc;
}

static void crc64_matches_definition(void **state)
{
    (void)state;
    seed_for("crc64_matches_definition");
    assert_true(crc64_jones(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
    unsigned char buf[600];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)rn(sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rnd();
        assert_true(crc64_jones(0, buf, n) == crc64_bitwise(buf, n));
        size_t cut = n ? (size_t)rn((int)n) : 0; /* extends across calls */
        assert_true(crc64_jones(crc64_jones(0, buf, cut), buf + cut, n - cut) ==
                    crc64_bitwise(buf, n));
    }
}

/* ---- round trips ---- */

static void rand_word(char *out, int integers)
{
    static const char *const fixed[] = {"0",
                                        "-1",
                                        "127",
                                        "128",
                                        "-4096",
                                        "4095",
                                        "-32768",
                                        "32767",
                                        "8388607",
                                        "-8388609",
                                        "2147483647",
                                        "-2147483649",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "01",
                                        "-0",
                                        "1e3",
                                        "+5",
                                        "18446744073709551616",
                                        "abc",
                                        "\\x00\\xff"};
    int k = rn(10);
    if (integers || k < 3) {
        snprintf(out, 64, "%lld", (long long)(rnd() >> rn(64)) * (rn(2) ? 1 : -1));
    } else if (k < 6) {
        snprintf(out, 64, "%s", fixed[rn((int)(sizeof fixed / sizeof fixed[0]))]);
    } else {
        int n = rn(k == 9 ? 90 : 12), o = 0;
        for (int i = 0; i < n; i++)
            out[o++] = (char)('a' + rn(26));
        if (n == 0) {
            out[o++] = '"';
            out[o++] = '"';
        }
        out[o] = '\0';
    }
}

/* Fills `key` of the given kind with seeded contents; returns 1 if its DUMP bytes are
 * canonical (no table encoding: the same value DUMPs to the same bytes). */
static int make_value(data_store *ds, const char *key, int kind)
{
    char line[1024], w1[128], w2[128];
    int n;
    switch (kind) {
    case 0: /* strings */
        rand_word(w1, rn(2));
        snprintf(line, sizeof line, "SET %s %s", key, w1);
        assert_reply(ds, line, "+OK");
        if (rn(3) == 0) {
            snprintf(line, sizeof line, "SETRANGE %s %d x", key, rn(20000));
            (void)rec_run(ds, line, NULL);
        }
        return 1;
    case 1: /* hash, packed or table */
        n = 1 + rn(rn(4) == 0 ? 700 : 20);
        for (int i = 0; i < n; i++) {
            rand_word(w1, 0);
            rand_word(w2, 0);
            snprintf(line, sizeof line, "HSET %s %s %s", key, w1, w2);
            (void)rec_run(ds, line, NULL);
        }
        snprintf(line, sizeof line, "OBJECT ENCODING %s", key);
        return strcmp(rec_run(ds, line, NULL), "\"listpack\"") == 0;
    case 2: /* set: intset (of some width) or table */
        n = 1 + rn(rn(4) == 0 ? 700 : 30);
        for (int i = 0; i < n; i++) {
            rand_word(w1, rn(4) != 0);
            snprintf(line, sizeof line, "SADD %s %s", key, w1);
            (void)rec_run(ds, line, NULL);
        }
        snprintf(line, sizeof line, "OBJECT ENCODING %s", key);
        return strcmp(rec_run(ds, line, NULL), "\"intset\"") == 0;
    case 3: /* zset: listpack or skiplist */
        n = 1 + rn(rn(4) == 0 ? 300 : 30);
        for (int i = 0; i < n; i++) {
            static const char *const scores[] = {"0",
                                                 "2",
                                                 "1.5",
                                                 "inf",
                                                 "-inf",
                                                 "1e300",
                                                 "-2.25e-10",
                                                 "4611686018427387904",
                                                 "123456789012",
                                                 "3"};
            rand_word(w1, 0);
            snprintf(line, sizeof line, "ZADD %s %s %s", key,
                     scores[rn((int)(sizeof scores / sizeof scores[0]))], w1);
            (void)rec_run(ds, line, NULL);
        }
        return 1;
    default: /* list: small or many nodes */
        n = 1 + rn(rn(3) == 0 ? 3000 : 40);
        for (int i = 0; i < n; i++) {
            rand_word(w1, 0);
            snprintf(line, sizeof line, "%s %s %s", rn(2) ? "RPUSH" : "LPUSH", key, w1);
            (void)rec_run(ds, line, NULL);
        }
        return n <= 40; /* one node: node boundaries are the restoring store's own */
    }
}

static void round_trip_every_encoding(void **state)
{
    (void)state;
    seed_for("round_trip_every_encoding");
    for (int round = 0; round < 60; round++) {
        data_store *a = data_create(), *b = data_create();
        (void)data_set_hash_seed(b, 7, 9); /* another table order on the restoring side */
        int kind = round % 5;
        int canonical = make_value(a, "k", kind);
        if (rn(3) == 0) assert_reply(a, "PEXPIREAT k 1800000000000", ":1");
        blob p = dump_key(a, "k");
        char *want = contents(a, "k");
        /* the expiry travels as RESTORE's ABSTTL argument, as a client copying a key does */
        char *pt = strdup(rec_run(a, "PEXPIRETIME k", NULL));
        const char *ttl = pt[1] == '-' ? "0" : pt + 1;
        const char *r = restore(b, "k", ttl, p.p, p.n, strcmp(ttl, "0") ? "ABSTTL" : NULL, NULL);
        if (strcmp(r, "+OK") != 0) fail_msg("round %d kind %d: RESTORE: %s", round, kind, r);
        char *got = contents(b, "k");
        if (strcmp(want, got) != 0)
            fail_msg("round %d kind %d:\nwant %.300s\n got %.300s", round, kind, want, got);
        if (canonical) {
            blob q = dump_key(b, "k");
            assert_int_equal(q.n, p.n);
            assert_memory_equal(q.p, p.p, p.n);
            free(q.p);
        }
        free(want);
        free(got);
        free(pt);
        free(p.p);
        data_destroy(a);
        data_destroy(b);
    }
}

/* Byte-exact DUMPs of values whose encoding we can write out by hand (same bytes as Redis 7.0
 * with rdbcompression no, checked against redis-server in test_compat_dump.py). */
static void dump_bytes_known(void **state)
{
    (void)state;
    data_store *ds = data_create();
    assert_reply(ds, "SET s hello", "+OK");
    assert_reply(ds, "SET i -300", "+OK");
    assert_reply(ds, "RPUSH l a 1000", ":2");
    assert_reply(ds, "SADD si 1 2", ":2");
    blob b = dump_key(ds, "s");
    static const unsigned char s_body[] = {0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
    blob want = with_footer(s_body, sizeof s_body, 10);
    assert_int_equal(b.n, want.n);
    assert_memory_equal(b.p, want.p, b.n);
    free(b.p);
    free(want.p);
    b = dump_key(ds, "i");
    static const unsigned char i_body[] = {0x00, 0xc1, 0xd4, 0xfe}; /* RDB int16 -300 */
    want = with_footer(i_body, sizeof i_body, 10);
    assert_memory_equal(b.p, want.p, b.n);
    free(b.p);
    free(want.p);
    /* quicklist 2: one packed node: listpack {"a", 1000 (13-bit int)} */
    static const unsigned char l_body[] = {0x12, 0x01, 0x02, 0x0d, 0x0d, 0,    0,    0,   0x02,
                                           0,    0x81, 'a',  0x02, 0xc3, 0xe8, 0x02, 0xff};
    b = dump_key(ds, "l");
    want = with_footer(l_body, sizeof l_body, 10);
    assert_int_equal(b.n, want.n);
    assert_memory_equal(b.p, want.p, b.n);
    free(b.p);
    free(want.p);
    static const unsigned char si_body[] = {0x0b, 0x0c, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0};
    b = dump_key(ds, "si");
    want = with_footer(si_body, sizeof si_body, 10);
    assert_memory_equal(b.p, want.p, b.n);
    free(b.p);
    free(want.p);
    data_destroy(ds);
}

/* ---- hand-made payloads of other writers ---- */

typedef struct {
    const char *name;
    const unsigned char *body;
    size_t n;
    const char *read; /* command whose rendered reply is checked */
    const char *want;
} handmade;

/* "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (30 a): literal 'a', then a back-reference of 29 at 1 */
static const unsigned char lzf_body[] = {0x00, 0xc3, 0x05, 0x1e, 0x00, 'a', 0xe0, 0x14, 0x00};
/* a ziplist list {"x", 5 (immediate), 300 (int16)} */
static const unsigned char zl_list_body[] = {0x0a, 0x14, 0x14, 0,    0,    0,    0x0f, 0,
                                             0,    0,    3,    0,    0x00, 0x01, 'x',  0x03,
                                             0xf6, 0x02, 0xc0, 0x2c, 0x01, 0xff};
/* quicklist 1: two ziplist nodes {"a"} and {"b"} */
static const unsigned char ql1_body[] = {0x0e, 0x02, 0x0e, 0x0e, 0,   0,    0,    0x0a, 0,   0,   0,
                                         1,    0,    0x00, 0x01, 'a', 0xff, 0x0e, 0x0e, 0,   0,   0,
                                         0x0a, 0,    0,    0,    1,   0,    0x00, 0x01, 'b', 0xff};
/* quicklist 2: a plain node "big" and a packed node {"c"} */
static const unsigned char ql2_plain_body[] = {
    0x12, 0x02, 0x01, 0x03, 'b', 'i', 'g', 0x02, 0x0a, 0x0a, 0, 0, 0, 1, 0, 0x81, 'c', 0x02, 0xff};
/* old types: list, set, hash, zset with string doubles (253 would be NaN), zset 2 */
static const unsigned char old_list_body[] = {0x01, 0x02, 0x01, 'a', 0xc0, 0x07};
static const unsigned char old_set_body[] = {0x02, 0x02, 0x01, 'a', 0xc2, 0x40, 0x0d, 0x03, 0x00};
static const unsigned char old_hash_body[] = {0x04, 0x01, 0x01, 'f', 0x02, 'v', 'v'};
static const unsigned char old_zset_body[] = {0x03, 0x02, 0x01, 'a', 0x03, '1',
                                              '.',  '5',  0x01, 'b', 0xff};
static const unsigned char zset2_body[] = {0x05, 0x01, 0x01, 'z', 0, 0, 0, 0, 0, 0, 0xf8, 0x3f};

static void handmade_payloads(void **state)
{
    (void)state;
    static const handmade cases[] = {
        {"lzf", lzf_body, sizeof lzf_body, "GET k", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
        {"ziplist list", zl_list_body, sizeof zl_list_body, "LRANGE k 0 -1",
         "*3 \"x\" \"5\" \"300\""},
        {"quicklist 1", ql1_body, sizeof ql1_body, "LRANGE k 0 -1", "*2 \"a\" \"b\""},
        {"quicklist 2 plain", ql2_plain_body, sizeof ql2_plain_body, "LRANGE k 0 -1",
         "*2 \"big\" \"c\""},
        {"old list", old_list_body, sizeof old_list_body, "LRANGE k 0 -1", "*2 \"a\" \"7\""},
        {"old set", old_set_body, sizeof old_set_body, "SISMEMBER k 200000", ":1"},
        {"old hash", old_hash_body, sizeof old_hash_body, "HGET k f", "\"vv\""},
        {"old zset", old_zset_body, sizeof old_zset_body, "ZRANGE k 0 -1 WITHSCORES",
         "*4 \"b\" ,-inf \"a\" ,1.5"},
        {"zset 2", zset2_body, sizeof zset2_body, "ZSCORE k z", ",1.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        data_store *ds = data_create();
        blob p = with_footer(cases[i].body, cases[i].n, 9);
        const char *r = restore(ds, "k", "0", p.p, p.n, NULL, NULL);
        if (strcmp(r, "+OK") != 0) fail_msg("%s: RESTORE: %s", cases[i].name, r);
        r = rec_run(ds, cases[i].read, NULL);
        if (strcmp(r, cases[i].want) != 0)
            fail_msg("%s: %s\n got %s\nwant %s", cases[i].name, cases[i].read, r, cases[i].want);
        free(p.p);
        data_destroy(ds);
    }
}

/* ---- RESTORE semantics ---- */

static void restore_semantics(void **state)
{
    (void)state;
    data_store *ds = data_create();
    assert_reply(ds, "SET src hello", "+OK");
    blob p = dump_key(ds, "src");
    assert_string_equal(restore(ds, "src", "0", p.p, p.n, NULL, NULL),
                        "-BUSYKEY Target key name already exists.");
    assert_string_equal(restore(ds, "src", "0", p.p, p.n, "REPLACE", NULL), "+OK");
    assert_string_equal(restore(ds, "t", "5000", p.p, p.n, NULL, NULL), "+OK");
    assert_reply(ds, "PTTL t", ":5000");
    assert_string_equal(restore(ds, "a", "1800000000000", p.p, p.n, "ABSTTL", NULL), "+OK");
    assert_reply(ds, "PEXPIRETIME a", ":1800000000000");
    /* an absolute TTL in the past: nothing created, and REPLACE still removes the old value */
    assert_string_equal(restore(ds, "past", "1", p.p, p.n, "ABSTTL", NULL), "+OK");
    assert_reply(ds, "EXISTS past", ":0");
    assert_string_equal(restore(ds, "a", "1", p.p, p.n, "ABSTTL", "REPLACE"), "+OK");
    assert_reply(ds, "EXISTS a", ":0");
    assert_string_equal(restore(ds, "x", "-1", p.p, p.n, NULL, NULL),
                        "-ERR Invalid TTL value, must be >= 0");
    assert_string_equal(restore(ds, "x", "9223372036854775807", p.p, p.n, NULL, NULL),
                        "-ERR Invalid TTL value, must be >= 0");
    p.p[p.n - 1] ^= 1;
    assert_string_equal(restore(ds, "x", "0", p.p, p.n, NULL, NULL),
                        "-ERR DUMP payload version or checksum are wrong");
    assert_reply(ds, "EXISTS x", ":0");
    /* COPY of a sorted set (Redis's unit/keyspace COPY tests come right after RESTORE's) */
    assert_reply(ds, "ZADD z 1 a 2.5 b", ":2");
    assert_reply(ds, "PEXPIREAT z 1800000000000", ":1");
    assert_reply(ds, "COPY z z2", ":1");
    assert_reply(ds, "ZRANGE z2 0 -1 WITHSCORES", "*4 \"a\" ,1 \"b\" ,2.5");
    assert_reply(ds, "PEXPIRETIME z2", ":1800000000000");
    assert_reply(ds, "XADD st 1-1 f v", "\"1-1\"");
    assert_reply(ds, "TYPE st", "+stream"); /* streams: stream_round_trip */

    /* the leader's rewrite: a relative TTL becomes now + ttl with ABSTTL */
    p.p[p.n - 1] ^= 1;
    data_arg argv[5] = {{"RESTORE", 7}, {"k", 1}, {"1500", 4}, {(char *)p.p, p.n}, {"REPLACE", 7}};
    data_arg out[8];
    char scratch[64];
    const data_cmd *cmd = data_cmd_lookup("restore", 7);
    int n = data_rewrite(ds, cmd, 5, argv, t_now_ms, out, 8, scratch, sizeof scratch);
    assert_int_equal(n, 6);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)t_now_ms + 1500);
    assert_int_equal(out[2].len, strlen(want));
    assert_memory_equal(out[2].ptr, want, strlen(want));
    assert_int_equal(out[5].len, 6);
    assert_memory_equal(out[5].ptr, "ABSTTL", 6);
    assert_true(out[3].ptr == argv[3].ptr && out[4].ptr == argv[4].ptr);
    /* applied later (another now_ms), the rewritten form gives the same expiry */
    int dirty = 0;
    const char *r = rec_exec_argv(ds, n, out, &dirty);
    assert_string_equal(r, "+OK");
    assert_int_equal(dirty, 1);
    snprintf(want, sizeof want, ":%lld", (long long)t_now_ms + 1500);
    assert_reply(ds, "PEXPIRETIME k", want);
    /* RESTORE-ASKING, RESTORE under another name, is logged the same way */
    argv[0] = (data_arg){"RESTORE-ASKING", 14};
    assert_int_equal(data_rewrite(ds, data_cmd_lookup("restore-asking", 14), 5, argv, t_now_ms, out,
                                  8, scratch, sizeof scratch),
                     6);
    assert_memory_equal(out[0].ptr, "RESTORE-ASKING", 14);
    assert_memory_equal(out[5].ptr, "ABSTTL", 6);
    argv[0] = (data_arg){"RESTORE", 7};
    /* no rewrite: ttl 0, ABSTTL given, invalid options */
    argv[2] = (data_arg){"0", 1};
    assert_int_equal(data_rewrite(ds, cmd, 5, argv, t_now_ms, out, 8, scratch, sizeof scratch), 0);
    argv[2] = (data_arg){"10", 2};
    argv[4] = (data_arg){"ABSTTL", 6};
    assert_int_equal(data_rewrite(ds, cmd, 5, argv, t_now_ms, out, 8, scratch, sizeof scratch), 0);
    argv[4] = (data_arg){"BOGUS", 5};
    assert_int_equal(data_rewrite(ds, cmd, 5, argv, t_now_ms, out, 8, scratch, sizeof scratch), 0);
    free(p.p);
    data_destroy(ds);
}

/* ---- streams (stream_dump.c) ---- */

/* A stream with groups in every state: > 100 entries (two chunks), entries of other fields than
 * their chunk's first, deletions in the middle and at a chunk's end, a group with pending
 * entries split over consumers (one claimed), a consumer with nothing pending, a group with
 * entries-read unknown. Random contents from the seed. */
static void make_stream(data_store *ds, const char *key)
{
    char line[512], w1[128], w2[128];
    int n = 1 + rn(rn(2) ? 250 : 20);
    for (int i = 1; i <= n; i++) {
        rand_word(w1, rn(2));
        rand_word(w2, rn(2));
        if (rn(5) == 0)
            snprintf(line, sizeof line, "XADD %s %d-%d f %s other %s", key, i, rn(3), w1, w2);
        else
            snprintf(line, sizeof line, "XADD %s %d-%d f %s g %s", key, i, rn(3), w1, w2);
        (void)rec_run(ds, line, NULL);
    }
    for (int d = rn(6); d > 0; d--) {
        snprintf(line, sizeof line, "XDEL %s %d-0 %d-1 %d-2", key, 1 + rn(n), 1 + rn(n), 1 + rn(n));
        (void)rec_run(ds, line, NULL);
    }
    snprintf(line, sizeof line, "XGROUP CREATE %s g1 0", key);
    assert_reply(ds, line, "+OK");
    snprintf(line, sizeof line, "XGROUP CREATE %s g0 $ ENTRIESREAD %d", key, rn(3) - 1);
    (void)rec_run(ds, line, NULL);
    snprintf(line, sizeof line, "XREADGROUP GROUP g1 alice COUNT %d STREAMS %s >", 1 + rn(8), key);
    (void)rec_run(ds, line, NULL);
    snprintf(line, sizeof line, "XREADGROUP GROUP g1 bob COUNT %d STREAMS %s >", 1 + rn(8), key);
    (void)rec_run(ds, line, NULL);
    snprintf(line, sizeof line, "XGROUP CREATECONSUMER %s g1 carol", key);
    (void)rec_run(ds, line, NULL);
    snprintf(line, sizeof line, "XAUTOCLAIM %s g1 carol 0 0 COUNT 1", key);
    (void)rec_run(ds, line, NULL);
}

/* Everything XINFO, XPENDING and XRANGE say about a stream. */
static char *stream_contents(data_store *ds, const char *key)
{
    static const char *const reads[] = {"XINFO STREAM %s FULL", "XINFO GROUPS %s",
                                        "XPENDING %s g1 - + 1000", "XRANGE %s - +",
                                        "PEXPIRETIME %s"};
    size_t cap = 6 * REC_MAX, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, reads[i], key);
        const char *r = rec_run(ds, line, NULL);
        size_t k = strlen(r);
        if (len + k + 2 < cap) {
            memcpy(out + len, r, k);
            len += k;
            out[len++] = '\n';
            out[len] = '\0';
        }
    }
    return out;
}

static void stream_round_trip(void **state)
{
    (void)state;
    seed_for("stream_round_trip");
    for (int round = 0; round < 20; round++) {
        data_store *ds = data_create();
        make_stream(ds, "x");
        blob b = dump_key(ds, "x");
        assert_int_equal(b.p[0], 19); /* RDB_TYPE_STREAM_LISTPACKS_2, as Redis 7.0 */
        assert_string_equal(restore(ds, "y", "0", b.p, b.n, NULL, NULL), "+OK");
        char *cx = stream_contents(ds, "x"), *cy = stream_contents(ds, "y");
        assert_string_equal(cx, cy);
        blob again = dump_key(ds, "y");
        assert_int_equal(again.n, b.n);
        assert_memory_equal(again.p, b.p, b.n);
        /* the restored group goes on as the original: the next deliveries are the same */
        assert_string_equal(
            strcpy(cx, rec_run(ds, "XREADGROUP GROUP g1 dave COUNT 5 STREAMS x >", NULL)),
            rec_run(ds, "XREADGROUP GROUP g1 dave COUNT 5 STREAMS y >", NULL));
        free(cx);
        free(cy);
        free(b.p);
        free(again.p);
        data_destroy(ds);
    }
    /* an empty stream (all deleted) with a group restores as it was */
    data_store *ds = data_create();
    assert_reply(ds, "XADD e 5-5 a 1", "\"5-5\"");
    assert_reply(ds, "XGROUP CREATE e g1 $", "+OK");
    assert_reply(ds, "XDEL e 5-5", ":1");
    blob b = dump_key(ds, "e");
    assert_string_equal(restore(ds, "e2", "0", b.p, b.n, NULL, NULL), "+OK");
    char *ce = stream_contents(ds, "e"), *ce2 = stream_contents(ds, "e2");
    assert_string_equal(ce, ce2);
    free(ce);
    free(ce2);
    free(b.p);
    data_destroy(ds);
}

/* DUMP x from redis-server 7.0.15 (rdbcompression no): XADD x 1-1 a 1 b hello, XADD x 1-2 a 2 b
 * world, XADD x 5-0 c -70000, XGROUP CREATE x grp 0, XREADGROUP GROUP grp alice COUNT 2
 * STREAMS x >, XGROUP CREATECONSUMER x grp bob, XCLAIM x grp bob 0 1-2. */
static const unsigned char redis_stream[] =
    "\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x40\x4a\x4a\x00"
    "\x00\x00\x19\x00\x03\x01\x00\x01\x02\x01\x81\x61\x02\x81\x62\x02\x00\x01\x02\x01\x00\x01\x00"
    "\x01\x01\x01\x85\x68\x65\x6c\x6c\x6f\x06\x05\x01\x02\x01\x00\x01\x01\x01\x02\x01\x85\x77\x6f"
    "\x72\x6c\x64\x06\x05\x01\x00\x01\x04\x01\xdf\xff\x02\x01\x01\x81\x63\x02\xf2\x90\xee\xfe\x04"
    "\x06\x01\xff\x03\x05\x00\x01\x01\x00\x00\x03\x01\x03\x67\x72\x70\x01\x02\x02\x02\x00\x00\x00"
    "\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x60\x4a\x7a\x45\xa2\x01\x00\x00\x01\x00"
    "\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x60\x4a\x7a\x45\xa2\x01\x00\x00"
    "\x02\x02\x05\x61\x6c\x69\x63\x65\x60\x4a\x7a\x45\xa2\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x03\x62\x6f\x62\x60\x4a\x7a\x45\xa2\x01\x00\x00\x01"
    "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x0a\x00\xe6\xd8\xb9\x60\x33"
    "\xf2\x97\xb7";

/* Redis 7.0.15's "Loading from legacy (Redis <= v6.2.x, rdb_ver < 10) persistence" payload: a
 * Redis 5 stream (RDB_TYPE_STREAM_LISTPACKS, LZF-compressed listpack with tombstones) after
 * XADD 1-0 .. 6-0 data a..f, XDEL 3-0, groups g1 and g2 at 0, XREADGROUP g1 c11 COUNT 4,
 * XTRIM MAXLEN = 2. */
static const unsigned char redis5_stream[] =
    "\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xC3\x40\x4A\x40"
    "\x57\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03"
    "\x01\x00\x20\x01\x03\x81\x61\x02\x04\x20\x0A\x00\x01\x40\x0A\x00\x62\x60\x0A\x00\x02\x40\x0A"
    "\x00\x63\x60\x0A\x40\x22\x01\x81\x64\x20\x0A\x40\x39\x20\x0A\x00\x65\x60\x0A\x00\x05\x40\x0A"
    "\x00\x66\x20\x0A\x00\xFF\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00"
    "\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00"
    "\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00"
    "\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00"
    "\x01\x01\x03\x63\x31\x31\x3E\xF7\x83\x43\x7A\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02\x67\x32\x00\x00\x00\x00\x09\x00\x3D\x52\xEF\x68"
    "\x67\x52\x1D\xFA";

static void stream_redis_payloads(void **state)
{
    (void)state;
    data_store *ds = data_create();
    /* Redis 7.0's bytes restore, and DUMP back to the same bytes */
    size_t n = sizeof redis_stream - 1;
    assert_string_equal(restore(ds, "x", "0", redis_stream, n, NULL, NULL), "+OK");
    assert_reply(ds, "XRANGE x - +",
                 "*3 *2 \"1-1\" *4 \"a\" \"1\" \"b\" \"hello\" *2 \"1-2\" *4 \"a\" \"2\" "
                 "\"b\" \"world\" *2 \"5-0\" *2 \"c\" \"-70000\"");
    assert_reply(ds, "XPENDING x grp - + 10 bob", "*1 *4 \"1-2\" \"bob\" :0 :2");
    blob b = dump_key(ds, "x");
    assert_int_equal(b.n, n);
    assert_memory_equal(b.p, redis_stream, n);
    free(b.p);
    /* Redis 5's: the values Redis 7.0's test expects */
    n = sizeof redis5_stream - 1;
    assert_string_equal(restore(ds, "l", "0", redis5_stream, n, NULL, NULL), "+OK");
    assert_reply(ds, "XRANGE l - +",
                 "*2 *2 \"5-0\" *2 \"data\" \"e\" *2 \"6-0\" *2 \"data\" \"f\"");
    assert_reply(ds, "XINFO GROUPS l",
                 "*2 %6 \"name\" \"g1\" \"consumers\" :1 \"pending\" :4 \"last-delivered-id\" "
                 "\"5-0\" \"entries-read\" :1 \"lag\" :1 %6 \"name\" \"g2\" \"consumers\" :0 "
                 "\"pending\" :0 \"last-delivered-id\" \"0-0\" \"entries-read\" :0 \"lag\" :2");
    data_destroy(ds);
}

/* Hand edits of Redis's payload that a decoder must refuse (with a valid CRC). */
static void stream_bad_payloads(void **state)
{
    (void)state;
    data_store *ds = data_create();
    size_t n = sizeof redis_stream - 1 - 10;
    /* offsets: 1 node count, 2 node key length, 27 / 29 the master entry's live / deleted
     * counts, 95 the stream length, 96 last id ms, 103 group count, 177 alice's PEL size, 193
     * the last byte of alice's pending id, 206 bob's PEL size, 222 the last byte of bob's id */
    struct {
        size_t at;
        unsigned char v;
        const char *what;
    } edits[] = {
        {1, 0x02, "two nodes announced, one present"},
        {2, 0x0f, "node key of 15 bytes"},
        {27, 0x04, "master entry: 4 live entries, 3 present"},
        {29, 0x01, "master entry: 1 deleted entry, none present"},
        {95, 0x04, "stream length 4, 3 entries"},
        {96, 0x04, "last id 4-0, below the entry 5-0"},
        {103, 0x03, "three groups announced, one present"},
        {177, 0x02, "alice owns a second entry, not pending"},
        {193, 0x09, "alice's pending entry is not in the group's PEL"},
        {222, 0x01, "bob's entry is alice's too"},
        {206, 0x00, "bob owns nothing: 1-2 pending with no owner (payload cut after)"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        unsigned char body[sizeof redis_stream];
        memcpy(body, redis_stream, n);
        body[edits[i].at] = edits[i].v;
        blob b = with_footer(body, edits[i].at == 206 ? 207 : n, 10);
        const char *r = restore(ds, "x", "0", b.p, b.n, "REPLACE", NULL);
        if (strcmp(r, "-ERR Bad data format") != 0)
            fail_msg("edit %zu (%s): %s", i, edits[i].what, r);
        free(b.p);
    }
    /* unedited, it is fine */
    blob ok = with_footer(redis_stream, n, 10);
    assert_string_equal(restore(ds, "ok", "0", ok.p, ok.n, NULL, NULL), "+OK");
    free(ok.p);
    assert_reply(ds, "EXISTS x", ":0");
    data_destroy(ds);
}

/* ---- corruption ---- */

static void mutate(blob *b)
{
    size_t body = b->n - 10;
    switch (rn(6)) {
    case 0: /* flip bits */
        for (int k = 1 + rn(3); k > 0 && body; k--)
            b->p[rn((int)body)] ^= (unsigned char)(1u << rn(8));
        break;
    case 1: /* set a byte to an edge value */
        if (body) {
            static const unsigned char v[] = {0,    0x3f, 0x40, 0x7f, 0x80, 0x81,
                                              0xc3, 0xf0, 0xf4, 0xfe, 0xff};
            b->p[rn((int)body)] = v[rn((int)sizeof v)];
        }
        break;
    case 2: /* truncate the body */ body = body ? (size_t)rn((int)body) : 0; break;
    case 3: /* insert a byte */
        b->p = realloc(b->p, b->n + 1);
        {
            size_t at = body ? (size_t)rn((int)body + 1) : 0;
            memmove(b->p + at + 1, b->p + at, body - at);
            b->p[at] = (unsigned char)rnd();
            body++;
        }
        break;
    case 4: /* delete a byte */
        if (body) {
            size_t at = (size_t)rn((int)body);
            memmove(b->p + at, b->p + at + 1, body - at - 1);
            body--;
        }
        break;
    default: /* overwrite a 4-byte little-endian length-like field */
        if (body >= 4) {
            size_t at = (size_t)rn((int)body - 3);
            uint32_t v = (uint32_t)rnd() >> rn(32);
            memcpy(b->p + at, &v, 4);
        }
        break;
    }
    /* re-frame with a valid footer so the decoder, not the CRC, must catch it */
    blob f = with_footer(b->p, body, 10);
    free(b->p);
    *b = f;
}

static void corrupted_payloads_rejected(void **state)
{
    (void)state;
    seed_for("corrupted_payloads_rejected");
    data_store *src = data_create();
    blob base[20];
    int nb = 0;
    const char *keys[] = {"s", "h", "s2", "z", "l"};
    for (int round = 0; round < 3; round++) {
        for (int kind = 0; kind < 5; kind++) {
            char key[16];
            snprintf(key, sizeof key, "%s%d", keys[kind], round);
            (void)make_value(src, key, kind);
            base[nb++] = dump_key(src, key);
        }
        char key[16];
        snprintf(key, sizeof key, "x%d", round);
        make_stream(src, key);
        base[nb++] = dump_key(src, key);
    }
    blob extra[] = {with_footer(zl_list_body, sizeof zl_list_body, 9),
                    with_footer(ql1_body, sizeof ql1_body, 9),
                    with_footer(lzf_body, sizeof lzf_body, 9)};
    int accepted = 0, iters = 6000;
    data_store *ds = data_create();
    for (int i = 0; i < iters; i++) {
        int which = rn(nb + 3);
        blob src_b = which < nb ? base[which] : extra[which - nb];
        blob b = {malloc(src_b.n), src_b.n};
        memcpy(b.p, src_b.p, b.n);
        for (int m = 1 + rn(3); m > 0; m--)
            mutate(&b);
        const char *r = restore(ds, "k", "0", b.p, b.n, "REPLACE", NULL);
        if (strcmp(r, "+OK") == 0) {
            accepted++;
            /* whatever was accepted is a well-formed value: it reads and DUMPs again */
            free(contents(ds, "k"));
            free(stream_contents(ds, "k"));
            blob again = dump_key(ds, "k");
            free(again.p);
        } else if (strncmp(r, "-ERR", 4) != 0) {
            fail_msg("iteration %d: unexpected reply %s", i, r);
        }
        free(b.p);
    }
    printf("corrupted_payloads_rejected: %d of %d mutated payloads still decoded\n", accepted,
           iters);
    assert_true(accepted < iters);
    for (int i = 0; i < nb; i++)
        free(base[i].p);
    for (int i = 0; i < 3; i++)
        free(extra[i].p);
    data_destroy(ds);
    data_destroy(src);
}

/* data_rdb (rdb.c): a one-key dataset byte for byte, as Redis 7.0 writes it (magic, an aux
 * field, database 0's SELECTDB and RESIZEDB, the key, EOF and the CRC-64 of all before it);
 * then expired keys left out, the expiry opcode, a second database, functions only. */
static void rdb_file_layout(void **state)
{
    (void)state;
    data_store *ds = data_create();
    rec_run(ds, "SET a 1", NULL);
    data_arg aux[2] = {{"x", 1}, {"y", 1}};
    size_t len;
    unsigned char *p = (unsigned char *)data_rdb(ds, t_now_ms, aux, 2, NULL, 0, 1, &len);
    static const unsigned char want[] = {
        'R', 'E',  'D',  'I',  'S',  '0',  '0', '1',  '0', 0xFA, 0x01, 'x', 0x01,
        'y', 0xFE, 0x00, 0xFB, 0x01, 0x00, 0,   0x01, 'a', 0xC0, 0x01, 0xFF}; /* then the CRC: "1"
                                                                                 is an RDB int8 */
    assert_int_equal(len, sizeof want + 8);
    assert_memory_equal(p, want, sizeof want);
    uint64_t crc = crc64_jones(0, p, sizeof want);
    for (int i = 0; i < 8; i++)
        assert_int_equal(p[sizeof want + i], (unsigned char)(crc >> (8 * i)));
    free(p);

    rec_run(ds, "SET b hello PX 100000", NULL);
    rec_run(ds, "SET gone x PX 100", NULL);
    (void)data_select(ds, 2);
    rec_run(ds, "SET c d", NULL);
    (void)data_select(ds, 0);
    data_arg lib = {"#!lua name=l\n", 13}; /* the code is the script engine's: bytes here */
    p = (unsigned char *)data_rdb(ds, t_now_ms + 1000, NULL, 0, &lib, 1, 1, &len);
    assert_memory_equal(p, "REDIS0010\xF5", 10); /* the library right after the magic */
    assert_memory_equal(p + 11, lib.ptr, lib.len);
    const unsigned char *db0 = p + 11 + lib.len;
    /* database 0: two live keys, one with an expiry ("gone" expired at now: left out) */
    static const unsigned char head0[] = {0xFE, 0x00, 0xFB, 0x02, 0x01};
    assert_memory_equal(db0, head0, sizeof head0);
    int saw_gone = 0, saw_expiry = 0, saw_db2 = 0;
    for (size_t i = 0; i + 4 <= len; i++) {
        saw_gone |= memcmp(p + i, "gone", 4) == 0;
        saw_expiry |= p[i] == 0xFC && i + 9 < len &&
                      (int64_t)(p[i + 1] | (uint64_t)p[i + 2] << 8 | (uint64_t)p[i + 3] << 16 |
                                (uint64_t)p[i + 4] << 24 | (uint64_t)p[i + 5] << 32 |
                                (uint64_t)p[i + 6] << 40) == t_now_ms + 100000;
        saw_db2 |= p[i] == 0xFE && p[i + 1] == 0x02 && p[i + 2] == 0xFB && p[i + 3] == 0x01;
    }
    assert_false(saw_gone);
    assert_true(saw_expiry);
    assert_true(saw_db2);
    assert_int_equal(p[len - 9], 0xFF);
    free(p);

    p = (unsigned char *)data_rdb(ds, t_now_ms, NULL, 0, &lib, 1, 0, &len); /* functions only */
    assert_int_equal(len, 9 + 1 + 1 + lib.len + 1 + 8);
    assert_int_equal(p[9 + 2 + lib.len], 0xFF);
    free(p);
    data_destroy(ds);
}

/* data_rdb_stream hands the same bytes as data_rdb in pieces, several for a file over 1 MB, and
 * stops building once its sink fails. */
typedef struct {
    unsigned char *p;
    size_t len, cap, pieces, max_piece;
    int fail_at; /* the piece that fails (0: none) */
} sink_buf;

static int sink_cb(void *ctx, const void *p, size_t n)
{
    sink_buf *b = ctx;
    b->pieces++;
    if (b->fail_at && (int)b->pieces == b->fail_at) return -1;
    if (n > b->max_piece) b->max_piece = n;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void rdb_stream_same_bytes(void **state)
{
    (void)state;
    data_store *ds = data_create();
    static char cmd[1200];
    for (int i = 0; i < 3000; i++) { /* ~3 MB: several pieces */
        snprintf(cmd, sizeof cmd, "SET key:%d %01000d%s", i, i, i % 7 ? "" : " PX 100000");
        rec_run(ds, cmd, NULL);
    }
    rec_run(ds, "RPUSH l a b c", NULL);
    data_arg aux[2] = {{"x", 1}, {"y", 1}};
    data_arg lib = {"#!lua name=l\n", 13};
    size_t len;
    unsigned char *whole = (unsigned char *)data_rdb(ds, t_now_ms, aux, 2, &lib, 1, 1, &len);
    sink_buf b = {0};
    assert_int_equal(data_rdb_stream(ds, t_now_ms, aux, 2, &lib, 1, 1, sink_cb, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.p, whole, len); /* the CRC at the end included */
    assert_true(b.pieces >= 3);
    assert_true(b.max_piece < (1u << 20) + 4096);
    size_t pieces = b.pieces;
    free(b.p);
    sink_buf f = {.fail_at = 2};
    assert_int_equal(data_rdb_stream(ds, t_now_ms, aux, 2, &lib, 1, 1, sink_cb, &f), -1);
    assert_int_equal(f.pieces, 2); /* nothing handed after the failure */
    assert_true(pieces > 2);
    free(f.p);
    free(whole);
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc64_matches_definition),    cmocka_unit_test(dump_bytes_known),
        cmocka_unit_test(round_trip_every_encoding),   cmocka_unit_test(handmade_payloads),
        cmocka_unit_test(restore_semantics),           cmocka_unit_test(stream_round_trip),
        cmocka_unit_test(stream_redis_payloads),       cmocka_unit_test(stream_bad_payloads),
        cmocka_unit_test(corrupted_payloads_rejected), cmocka_unit_test(rdb_file_layout),
        cmocka_unit_test(rdb_stream_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
