/* test_data_set.c — sets against trivially correct models, seeded and printed (DATA_SEED=n):
 * - intset.c against an array of flags over a fixed pool of values of every width;
 * - the set commands against bitmasks over a pool of members, with encoding checks (intset
 *   exactly while all members are integers and the set never outgrew set-max-intset-entries);
 * - replica determinism: every write is rewritten by store A (the leader: SPOP is drawn there
 *   and logged as SPOP_EFFECT), sometimes applied only after later commands (the leader's state
 *   lags its log), and applied to A and to B, a store with another hash seed and another
 *   set-max-intset-entries: both must reply alike and end with the same sets;
 *   Both stores are reloaded from their own snapshots now and then (sets rebuilt from bytes).
 * - SRANDMEMBER's counts: distinct members for a positive count, any for a negative one.
 * SET_TRACE=1 prints the model test's commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "data/set_internal.h"
#include "test_data_recorder.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static void seed_for(const char *test)
{
    uint64_t seed = getenv("DATA_SEED") ? strtoull(getenv("DATA_SEED"), NULL, 10)
                                        : (uint64_t)time(NULL) % 1000000;
    printf("%s: DATA_SEED=%llu\n", test, (unsigned long long)seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    rng_state = seed * 2654435761u + 88172645463325252ull;
}

/* ---- intset ---- */

static const int64_t pool_i[] = {
    0,
    1,
    -1,
    2,
    100,
    -100,
    32767,
    -32768,
    32768,
    -32769,
    70000,
    -70000,
    2147483647,
    -2147483648,
    2147483648ll,
    -2147483649ll,
    1ll << 40,
    -(1ll << 40),
    INT64_MAX,
    INT64_MIN,
    12345,
    -12345,
    7,
    8,
};
#define N_POOL_I ((int)(sizeof pool_i / sizeof pool_i[0]))

static void intset_matches_model(void **state)
{
    (void)state;
    seed_for("intset_matches_model");
    size_t mem = 0;
    for (int round = 0; round < 50; round++) {
        intset *is = intset_new(&mem);
        int has[N_POOL_I] = {0};
        /* a round may stay within small values, so narrow widths are exercised too */
        int span = 1 + rn(N_POOL_I);
        for (int step = 0; step < 200; step++) {
            int i = rn(span), done;
            if (rn(3)) {
                is = intset_add(&mem, is, pool_i[i], &done);
                assert_int_equal(done, !has[i]);
                has[i] = 1;
            } else {
                is = intset_remove(&mem, is, pool_i[i], &done);
                assert_int_equal(done, has[i]);
                has[i] = 0;
            }
            uint32_t n = 0;
            for (int k = 0; k < N_POOL_I; k++) {
                n += (uint32_t)has[k];
                assert_int_equal(intset_find(is, pool_i[k]), has[k]);
            }
            assert_int_equal(intset_len(is), n);
            for (uint32_t k = 1; k < n; k++)
                assert_true(intset_get(is, k - 1) < intset_get(is, k));
            assert_true(intset_bytes(is) <= 8 + (size_t)n * 8);
        }
        dmem_free(&mem, is);
    }
    assert_int_equal(mem, 0);
}

/* ---- set commands vs a model ---- */

#define N_KEYS 4
static const char *pool_m[] = {"0",  "1",  "2",  "3",  "-7", "70000", "9223372036854775807",
                               "11", "12", "13", "14", "a",  "b",     "c",
                               "d",  "01", "",   "-0", "+1", "e",     "f"};
#define N_POOL_M  ((int)(sizeof pool_m / sizeof pool_m[0]))
#define FIRST_STR 11 /* pool_m[0..11) are integers */

typedef struct {
    uint32_t bits; /* members, as bits over pool_m; 0 = no key */
    int table;     /* 1 table, 0 intset, -1 unknown (a STORE result) */
} mset;

static mset model[N_KEYS];
static const long long MAX_INTSET_A = 4, MAX_INTSET_B = 512;

static int popcount(uint32_t v)
{
    return __builtin_popcount(v);
}

static void after_add(mset *m, long long max)
{
    if (m->table == 0 && ((m->bits >> FIRST_STR) || popcount(m->bits) > max)) m->table = 1;
}

static int member_index(const char *tok, size_t len)
{
    /* a rendered bulk: "..." */
    for (int i = 0; i < N_POOL_M; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"%s\"", pool_m[i]);
        if (strlen(want) == len && memcmp(want, tok, len) == 0) return i;
    }
    return -1;
}

static int pool_index(const data_arg *a)
{
    for (int j = 0; j < N_POOL_M; j++)
        if (a->len == strlen(pool_m[j]) && memcmp(a->ptr, pool_m[j], a->len) == 0) return j;
    fail_msg("not a pool member: %.*s", (int)a->len, a->ptr);
    return -1;
}

/* Executes argv on ds; returns a malloc'd copy of the reply. */
static char *exec_copy(data_store *ds, int argc, const data_arg *argv)
{
    return strdup(rec_exec_argv(ds, argc, argv, NULL));
}

/* What the leader logs: argv rewritten against `leader`, copied into owned memory. */
typedef struct {
    int argc;
    data_arg argv[64];
    char store[8192];
} entry;

static void make_entry(data_store *leader, const char *line, entry *en)
{
    data_arg argv[64], out[64];
    char tmp[1024], scratch[256];
    int argc = rec_split(line, tmp, argv);
    const data_cmd *cmd = data_cmd_lookup(argv[0].ptr, argv[0].len);
    assert_non_null(cmd);
    int n = data_rewrite(leader, cmd, argc, argv, t_now_ms, out, 64, scratch, sizeof scratch);
    const data_arg *src = n ? out : argv;
    en->argc = n ? n : argc;
    size_t o = 0;
    for (int i = 0; i < en->argc; i++) {
        assert_true(o + src[i].len <= sizeof en->store);
        memcpy(en->store + o, src[i].ptr, src[i].len);
        en->argv[i] = (data_arg){en->store + o, src[i].len};
        o += src[i].len;
    }
}

static void key_name(int k, char *out)
{
    snprintf(out, 8, "k%d", k);
}

static const char *enc_of(data_store *ds, int k)
{
    char key[8];
    key_name(k, key);
    dpos pos;
    if (!dict_find(&ds->keys, key, strlen(key), &pos)) return "none";
    return set_encoding(*pos.slot);
}

static void check_model(data_store *a, data_store *b, int step)
{
    for (int k = 0; k < N_KEYS; k++) {
        char line[64], want[1024] = "";
        snprintf(line, sizeof line, "SMEMBERS k%d", k);
        char *ga = strdup(rec_run(a, line, NULL));
        char *gb = strdup(rec_run(b, line, NULL));
        rec_sort_tokens(ga);
        rec_sort_tokens(gb);
        size_t o = (size_t)snprintf(want, sizeof want, "~%d", popcount(model[k].bits));
        for (int i = 0; i < N_POOL_M; i++)
            if (model[k].bits >> i & 1)
                o += (size_t)snprintf(want + o, sizeof want - o, " \"%s\"", pool_m[i]);
        rec_sort_tokens(want);
        if (strcmp(ga, want) != 0) fail_msg("step %d k%d: A has %s, model %s", step, k, ga, want);
        if (strcmp(gb, want) != 0) fail_msg("step %d k%d: B has %s, model %s", step, k, gb, want);
        free(ga);
        free(gb);
        const char *ea = enc_of(a, k), *eb = enc_of(b, k);
        if (!model[k].bits) {
            assert_string_equal(ea, "none");
            continue;
        }
        if (model[k].table >= 0)
            if (strcmp(ea, model[k].table ? "hashtable" : "intset") != 0)
                fail_msg("step %d k%d: encoding %s, model %d", step, k, ea, model[k].table);
        /* whatever the history: a non-integer member or too many forces a table */
        if ((model[k].bits >> FIRST_STR) || popcount(model[k].bits) > MAX_INTSET_A)
            assert_string_equal(ea, "hashtable");
        if (model[k].bits >> FIRST_STR) assert_string_equal(eb, "hashtable");
    }
}

/* Checks an SPOP reply against the model at apply time and removes the popped members. */
static void model_spop(int k, int has_count, long long count, const char *reply, int step)
{
    mset *m = &model[k];
    int size = popcount(m->bits);
    long long want = has_count ? (count < size ? count : size) : (size ? 1 : 0);
    char *r = strdup(reply), *save;
    int got = 0;
    for (char *t = strtok_r(r, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (t[0] == '~' || strcmp(t, "(nil)") == 0) continue;
        int i = member_index(t, strlen(t));
        if (i < 0 || !(m->bits >> i & 1))
            fail_msg("step %d: SPOP k%d popped %s, not a member (reply %s)", step, k, t, reply);
        m->bits &= ~(1u << i);
        got++;
    }
    if (got != want)
        fail_msg("step %d: SPOP k%d popped %d, want %lld: %s", step, k, got, want, reply);
    if (has_count && reply[0] != '~') fail_msg("step %d: SPOP with count replied %s", step, reply);
    free(r);
    if (!m->bits) m->table = 0;
}

typedef struct {
    unsigned char *p;
    size_t len, cap;
} sbuf;

static int sbuf_write(void *ctx, const void *buf, size_t len)
{
    sbuf *b = ctx;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

/* Saves ds and loads it back: every set is rebuilt from its members. */
static void reload(data_store *ds)
{
    sbuf b = {0};
    assert_int_equal(data_snapshot_save(ds, sbuf_write, &b), 0);
    assert_int_equal(data_snapshot_load(ds, b.p, b.len), 0);
    free(b.p);
}

static void random_members(char *line, size_t cap, int n)
{
    size_t o = strlen(line);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(line + o, cap - o, " \"%s\"", pool_m[rn(N_POOL_M)]);
}

static void set_commands_match_model(void **state)
{
    (void)state;
    seed_for("set_commands_match_model");
    data_store *a = data_create(), *b = data_create();
    assert_int_equal(data_set_hash_seed(b, 12345, rnd()), 0);
    data_set_max_intset_entries(a, MAX_INTSET_A);
    data_set_max_intset_entries(b, MAX_INTSET_B);
    memset(model, 0, sizeof model);
    static entry pending, en;
    int has_pending = 0, p_key = 0, p_has_count = 0;
    long long p_count = 0;
    for (int step = 0; step < 6000; step++) {
        char line[512];
        int k = rn(N_KEYS), k2 = rn(N_KEYS), k3 = rn(N_KEYS), op = rn(10);
        mset *m = &model[k];
        int spop = 0, has_count = 0;
        long long count = 0;
        if (op <= 2) {
            snprintf(line, sizeof line, "SADD k%d", k);
            random_members(line, sizeof line, 1 + rn(op == 0 ? 8 : 3));
        } else if (op <= 4) {
            snprintf(line, sizeof line, "SREM k%d", k);
            random_members(line, sizeof line, 1 + rn(3));
        } else if (op == 5) {
            snprintf(line, sizeof line, "SMOVE k%d k%d \"%s\"", k, k2, pool_m[rn(N_POOL_M)]);
        } else if (op <= 7) {
            spop = 1;
            has_count = rn(2);
            count = rn(8);
            if (has_count)
                snprintf(line, sizeof line, "SPOP k%d %lld", k, count);
            else
                snprintf(line, sizeof line, "SPOP k%d", k);
        } else if (op == 8) {
            static const char *ops[] = {"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"};
            snprintf(line, sizeof line, "%s k%d k%d k%d", ops[rn(3)], k, k2, k3);
        } else {
            snprintf(line, sizeof line, "DEL k%d", k);
        }
        make_entry(a, line, &en);
        if (getenv("SET_TRACE")) printf("%d: %s\n", step, line);
        if (spop && !has_pending && rn(3) == 0) {
            /* this SPOP is drawn now but applied after the next command (a lagging leader) */
            pending = en;
            for (int i = 0; i < en.argc; i++)
                pending.argv[i].ptr = pending.store + (en.argv[i].ptr - en.store);
            has_pending = 1, p_key = k, p_has_count = has_count, p_count = count;
            continue;
        }
        char *ra = exec_copy(a, en.argc, en.argv), *rb = exec_copy(b, en.argc, en.argv);
        char sa[4096], sb[4096];
        snprintf(sa, sizeof sa, "%s", ra);
        snprintf(sb, sizeof sb, "%s", rb);
        rec_sort_tokens(sa);
        rec_sort_tokens(sb);
        if (strcmp(sa, sb) != 0) fail_msg("step %d %s: A replied %s, B %s", step, line, ra, rb);
        /* the model */
        const char *w = en.argv[0].ptr;
        if (spop) {
            model_spop(k, has_count, count, ra, step);
        } else if (w[1] == 'A') { /* SADD */
            if (!m->bits) m->table = 0;
            for (int i = 2; i < en.argc; i++)
                m->bits |= 1u << pool_index(&en.argv[i]);
            after_add(m, MAX_INTSET_A);
        } else if (w[1] == 'R') { /* SREM */
            for (int i = 2; i < en.argc; i++)
                m->bits &= ~(1u << pool_index(&en.argv[i]));
            if (!m->bits) m->table = 0;
        } else if (w[1] == 'M') { /* SMOVE */
            int j = pool_index(&en.argv[3]);
            if (k != k2 && (m->bits >> j & 1)) { /* SMOVE k k m changes nothing */
                m->bits &= ~(1u << j);
                if (!m->bits) m->table = 0;
                if (!model[k2].bits) model[k2].table = 0;
                model[k2].bits |= 1u << j;
                after_add(&model[k2], MAX_INTSET_A);
            }
        } else if (w[1] == 'I' || w[1] == 'U' || w[2] == 'I') { /* SINTERSTORE SUNION.. SDIFF.. */
            uint32_t x = model[k2].bits, y = model[k3].bits;
            uint32_t r = w[1] == 'I' ? (x & y) : w[1] == 'U' ? (x | y) : (x & ~y);
            m->bits = r;
            m->table = r ? -1 : 0;
        } else { /* DEL */
            m->bits = 0;
            m->table = 0;
        }
        free(ra);
        free(rb);
        if (has_pending) {
            ra = exec_copy(a, pending.argc, pending.argv);
            rb = exec_copy(b, pending.argc, pending.argv);
            snprintf(sa, sizeof sa, "%s", ra);
            snprintf(sb, sizeof sb, "%s", rb);
            rec_sort_tokens(sa);
            rec_sort_tokens(sb);
            if (strcmp(sa, sb) != 0) fail_msg("step %d lagging SPOP: A %s, B %s", step, ra, rb);
            model_spop(p_key, p_has_count, p_count, ra, step);
            free(ra);
            free(rb);
            has_pending = 0;
        }
        if (step % 700 == 699) {
            /* a snapshot reload rebuilds every set: the encoding now follows the contents */
            reload(a);
            reload(b);
            for (int i = 0; i < N_KEYS; i++)
                model[i].table =
                    (model[i].bits >> FIRST_STR) || popcount(model[i].bits) > MAX_INTSET_A;
        }
        check_model(a, b, step);
    }
    data_destroy(a);
    data_destroy(b);
}

/* ---- the rewrite itself ---- */

static const char *rewrite_line(data_store *ds, const char *line, int *argc_out)
{
    static entry en;
    static char out[8192];
    make_entry(ds, line, &en);
    size_t o = 0;
    for (int i = 0; i < en.argc; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", i ? " " : "", (int)en.argv[i].len,
                              en.argv[i].ptr);
    *argc_out = en.argc;
    return out;
}

static void spop_rewrite_names_members(void **state)
{
    (void)state;
    data_store *ds = data_create();
    char line[64];
    int argc;
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "SADD t m%d", i);
        assert_reply(ds, line, ":1");
    }
    assert_reply(ds, "SADD i 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", ":20");
    /* a table: 3 distinct members of t, named */
    const char *r = rewrite_line(ds, "spop t 3", &argc);
    assert_int_equal(argc, 7);
    assert_memory_equal(r, "SPOP_EFFECT t 3 ", 16);
    entry en;
    make_entry(ds, "SPOP t 3", &en);
    for (int i = 4; i < 7; i++) {
        char q[64];
        snprintf(q, sizeof q, "SISMEMBER t %.*s", (int)en.argv[i].len, en.argv[i].ptr);
        assert_reply(ds, q, ":1");
        for (int j = 4; j < i; j++)
            assert_false(en.argv[i].len == en.argv[j].len &&
                         memcmp(en.argv[i].ptr, en.argv[j].ptr, en.argv[i].len) == 0);
    }
    /* the rewrite changed nothing */
    assert_reply(ds, "SCARD t", ":100");
    (void)rewrite_line(ds, "SPOP t", &argc);
    assert_int_equal(argc, 5);
    (void)rewrite_line(ds, "SPOP i 2", &argc); /* intset members fit the scratch */
    assert_int_equal(argc, 6);
    (void)rewrite_line(ds, "SPOP i 19", &argc); /* ... these do not: the apply picks */
    assert_int_equal(argc, 4);
    (void)rewrite_line(ds, "SPOP t 61", &argc); /* more than the argv holds */
    assert_int_equal(argc, 4);
    (void)rewrite_line(ds, "SPOP t 100", &argc); /* the whole set: no names needed */
    assert_int_equal(argc, 4);
    r = rewrite_line(ds, "SPOP none", &argc);
    assert_int_equal(argc, 4);
    assert_memory_equal(r, "SPOP_EFFECT none  ", 18);
    /* invalid: executed as is, for its error */
    assert_string_equal(rewrite_line(ds, "SPOP t -1", &argc), "SPOP t -1");
    assert_string_equal(rewrite_line(ds, "SPOP t 1 2", &argc), "SPOP t 1 2");
    /* the effect pops the named members that are there, then picks by the seed */
    assert_reply(ds, "SPOP_EFFECT t 2 7 m5 nosuch m5 m6", "~2 \"m5\" \"m6\"");
    /* ... and a pick by the seed is the same on a store with another hash seed and layout */
    data_store *other = data_create();
    assert_int_equal(data_set_hash_seed(other, 99, 77), 0);
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "SADD t m%d", i);
        assert_reply(other, line, ":1");
    }
    assert_reply(other, "SREM t m5 m6", ":2");
    char *mine = strdup(rec_run(ds, "SPOP_EFFECT t \"\" 7 m5", NULL));
    assert_reply(other, "SPOP_EFFECT t \"\" 7 m5", mine);
    free(mine);
    mine = strdup(rec_run(ds, "SPOP_EFFECT t 10 12345", NULL));
    assert_reply(other, "SPOP_EFFECT t 10 12345", mine);
    free(mine);
    assert_reply(ds, "SCARD t", ":87");
    assert_reply(other, "SCARD t", ":87");
    /* a client may send the effect form too: it is checked like any input */
    assert_reply(ds, "SPOP_EFFECT t -1 7", "-ERR syntax error");
    assert_reply(ds, "SPOP_EFFECT t 1 x", "-ERR syntax error");
    data_destroy(other);
    data_destroy(ds);
}

static void srandmember_counts(void **state)
{
    (void)state;
    data_store *ds = data_create();
    char line[64];
    for (int i = 0; i < 600; i++) {
        snprintf(line, sizeof line, "SADD big m%03d", i);
        assert_reply(ds, line, ":1");
    }
    assert_reply(ds, "SADD small 1 2 3", ":3");
    const char *tests[] = {"SRANDMEMBER big 10",  "SRANDMEMBER big 300",  "SRANDMEMBER big 599",
                           "SRANDMEMBER big 600", "SRANDMEMBER big 1000", "SRANDMEMBER small 2"};
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        char *r = strdup(rec_run(ds, tests[t], NULL));
        rec_sort_tokens(r);
        long long want = strtoll(strrchr(tests[t], ' ') + 1, NULL, 10);
        if (want > 600) want = 600;
        int n = 0;
        char *save, *prev = NULL;
        for (char *tok = strtok_r(r, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (tok[0] == '*') continue;
            if (prev) assert_true(strcmp(prev, tok) != 0); /* distinct */
            prev = tok;
            n++;
        }
        assert_int_equal(n, want < 600 && t == 5 ? 2 : want);
        free(r);
    }
    /* negative: repeats allowed; over many draws every member comes up */
    char *r = strdup(rec_run(ds, "SRANDMEMBER small -3000", NULL));
    assert_non_null(strstr(r, "\"1\""));
    assert_non_null(strstr(r, "\"2\""));
    assert_non_null(strstr(r, "\"3\""));
    assert_memory_equal(r, "*3000 ", 6);
    free(r);
    int seen[600] = {0}, distinct = 0;
    for (int i = 0; i < 20000; i++) {
        const char *one = rec_run(ds, "SRANDMEMBER big", NULL);
        int v = atoi(one + 2);
        if (!seen[v]++) distinct++;
    }
    assert_int_equal(distinct, 600);
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intset_matches_model),
        cmocka_unit_test(spop_rewrite_names_members),
        cmocka_unit_test(srandmember_counts),
        cmocka_unit_test(set_commands_match_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
